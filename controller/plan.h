/* SPDX-License-Identifier: PostgreSQL */
/*
 * plan.h — the ordered list of changes of one pass and its three
 * renderings: text (Terraform-like, for people), markdown (a pull-request
 * comment) and json (for machines; format_version below). The same inputs
 * always give byte-identical output: nothing time- or host-dependent is
 * rendered.
 */
#ifndef DBOPS_CTRL_PLAN_H
#define DBOPS_CTRL_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "dbops/diag.h"
#include "dbops/plugin.h"
#include "source.h"
#include "strbuf.h"

/* Bump the minor for additive changes, the major for breaking ones. */
#define PLAN_FORMAT_VERSION "1.0"

struct plan_change {
	struct dbops_change change; /* what plugins see; first member */
	size_t plugin_index;	    /* position of the plugin in the order */
};

struct plan {
	struct plan_change **changes;
	size_t n;
	size_t cap;
	const char *cluster;			/* spec `cluster:` or NULL */
	const char *spec_path;			/* cluster spec file */
	const struct source_revision *revision; /* may be NULL */
	const char *source_fingerprint;		/* commit or content hash */
	const char *live_fingerprint;		/* hash of observed state */
	const struct dbops_diag_list *diags;	/* warnings shown with it */
};

struct plan_counts {
	int add;
	int change;
	int destroy;
};

struct plan_change *plan_append(struct plan *p, struct arena *a,
				size_t plugin_index, const char *plugin,
				int phase, enum dbops_action action,
				const char *address);
void plan_attr(struct plan_change *c, struct arena *a, const char *name,
	       const char *before, const char *after, bool sensitive);
/* Order by the changes' phase, then plugin order (phase, after, name),
 * then address; number the ids. */
void plan_sort(struct plan *p);
struct plan_counts plan_count(const struct plan *p);

const char *plan_action_name(enum dbops_action action);	  /* "update" */
const char *plan_action_symbol(enum dbops_action action); /* "~" */

struct plan_render_opts {
	bool color;
	const char *saved_to; /* plan --out FILE, or NULL */
	bool show_sql;	      /* all of a long SQL text, not the first lines */
};

/* Lines of a change's SQL shown in text plans without --show-sql. */
#define PLAN_SQL_LINES 12

void plan_render_text(struct strbuf *sb, const struct plan *p,
		      const struct plan_render_opts *o);
void plan_render_markdown(struct strbuf *sb, const struct plan *p);
/* The json document; `extra` (may be NULL) is a json-c object whose
 * members are appended at top level (used for saved plans). */
void plan_render_json(struct strbuf *sb, const struct plan *p);
/* The json array of changes alone, canonical: what a saved plan is
 * compared with. */
char *plan_changes_json(const struct plan *p, struct arena *a);

#endif

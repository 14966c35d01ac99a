/* SPDX-License-Identifier: PostgreSQL */
/*
 * fake_host.h — a host table for plugin unit tests: everything a plugin
 * may ask of the controller, without a server.
 *
 * A struct fake_ctx starts with struct dbops_ctx_head, so that
 * fake_host_ctx(fc) can be handed to any plugin callback and
 * dbops_host(ctx) finds the fake table. It owns an arena (freed by
 * fake_host_free), the diagnostics raised, the changes planned, the log
 * lines, and canned query results: query() returns the first canned
 * result whose SQL substring occurs in the statement, records every
 * statement it is given, and fails with an error diagnostic when nothing
 * matches. Spec getters delegate to controller/spec.c; quoting follows
 * PostgreSQL's rules with standard_conforming_strings on.
 *
 * Not thread-safe; one fake_ctx per test.
 */
#ifndef DBOPS_FAKE_HOST_H
#define DBOPS_FAKE_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "dbops/diag.h"
#include "dbops/host.h"
#include "dbops/plugin.h"
#include "dbops/spec.h"

struct fake_result;
struct fake_query;
struct fake_change;
struct fake_file;

struct fake_ctx {
	struct dbops_ctx_head head; /* first: dbops_host() reads it */
	struct arena *arena;
	struct dbops_diag_list diags;
	const char *plugin; /* set as change->plugin */
	int phase;	    /* set as change->phase */

	struct fake_change **changes; /* in planning order */
	size_t nchanges;
	size_t changes_cap;

	struct fake_result *results; /* canned, in the order added */
	struct fake_query *queries;  /* every statement run, in order */
	size_t nqueries;
	size_t queries_cap;

	struct fake_file *files; /* for source_read */

	char *log; /* every log line, "LEVEL: text\n" */
	size_t log_len;

	int server_version; /* 150000 unless set */
	bool cancelled;
	void *state;

	/* ABI 1.1 */
	const char *mode;	 /* host->mode(); NULL unless set */
	const char *const *args; /* host->arg(): name, value, ... */
	size_t nargs;		 /* pairs */
	bool show_sql;		 /* host->flag("show-sql") */
	bool allow_destructive;	 /* host->flag("allow-destructive") */
	char *out;		 /* everything host->out() wrote */
	char *notes;		 /* every observe_note, "key=value\n" */

	/* ABI 1.2 and 1.3 */
	bool verbose;	    /* host->flag("verbose") */
	bool validate_only; /* host->flag("validate-only") */
	bool has_base;	    /* a lint base was given (fake_host_set_ids) */
#define FAKE_MAX_TRUST 64
	struct {
		const struct dbops_node *node;
		enum dbops_trust kind;
	} trust[FAKE_MAX_TRUST]; /* every host->spec_trust */
	size_t ntrust;
#define FAKE_MAX_FACTS 64
	struct dbops_fact facts[FAKE_MAX_FACTS]; /* every host->fact_put */
	size_t nfacts;
	char *metrics;	 /* every host->metric, "name{labels} value\n" */
	void *pass_data; /* host->set_pass_data's */
};

/* A recorded statement and its parameters (arena copies). */
struct fake_query {
	const char *sql;
	int nparams;
	const char *const *params;
};

/* A fresh context; `plugin` names the plugin in changes. Never NULL. */
struct fake_ctx *fake_host_new(const char *plugin);
/* Frees the arena and everything in it. Accepts NULL. */
void fake_host_free(struct fake_ctx *fc);

static inline struct dbops_ctx *fake_host_ctx(struct fake_ctx *fc)
{
	return (struct dbops_ctx *)(void *)fc;
}

/*
 * Can a result for every statement containing `sql_substring`: `ncols`
 * column names and `nrows` rows of `ncols` values, row-major, NULL for
 * SQL NULL (all copied). A result with no columns serves statements that
 * return nothing (ALTER SYSTEM).
 */
void fake_host_add_result(struct fake_ctx *fc, const char *sql_substring,
			  const char *const *colnames, int ncols,
			  const char *const *values, int nrows);
/* The same, served only `times` times; later matches fall through to the
 * next canned result. */
void fake_host_add_result_n(struct fake_ctx *fc, const char *sql_substring,
			    const char *const *colnames, int ncols,
			    const char *const *values, int nrows, int times);
/* Make statements containing `sql_substring` fail with a server error. */
void fake_host_add_error(struct fake_ctx *fc, const char *sql_substring,
			 const char *sqlstate, const char *message);
/* A file for source_read (path relative to the cluster directory). */
void fake_host_add_file(struct fake_ctx *fc, const char *path,
			const char *data);
/* The same with a length: the data may hold NUL bytes. */
void fake_host_add_file_len(struct fake_ctx *fc, const char *path,
			    const char *data, size_t len);

/* The source ids of a file added before: `id` at the revision, `base_id`
 * at the base (NULL: absent there); from then on a base is given. */
void fake_host_set_ids(struct fake_ctx *fc, const char *path, const char *id,
		       const char *base_id);

/* A fact as published by `plugin` (read back by host->facts). */
void fake_host_add_fact(struct fake_ctx *fc, const char *plugin,
			const char *name, const char *value);

/* How many recorded statements contain `sql_substring`. */
int fake_host_query_count(const struct fake_ctx *fc, const char *sql_substring);
/* The recorded statements, one per line, in order (arena). */
const char *fake_host_queries(struct fake_ctx *fc);

/* The change planned at `address`, or NULL. */
const struct dbops_change *fake_host_change(const struct fake_ctx *fc,
					    const char *address);
const struct dbops_change *fake_host_change_at(const struct fake_ctx *fc,
					       size_t i);

/* The log lines so far ("" when none). */
const char *fake_host_log(const struct fake_ctx *fc);

/*
 * A deterministic text dump of the planned changes (address, action,
 * reason, location, attributes, sql, flags) and then the diagnostics in
 * diag_print's form, for golden files (arena).
 */
const char *fake_host_render(struct fake_ctx *fc);

/* Parse YAML text into a spec tree in the context's arena (file name
 * "spec.yaml"); NULL when it does not parse (the diagnostics say why). */
const struct dbops_node *fake_host_spec(struct fake_ctx *fc, const char *yaml);

#endif

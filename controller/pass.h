/* SPDX-License-Identifier: PostgreSQL */
/*
 * pass.h — one reconcile pass up to the plan:
 *   source → spec → validate → connect → observe → diff → ordered plan.
 * Everything it builds lives in the pass arena. Applying the plan is
 * apply.c's business; the command line is main.c's.
 */
#ifndef DBOPS_CTRL_PASS_H
#define DBOPS_CTRL_PASS_H

#include <stdbool.h>
#include <stdio.h>

#include "arena.h"
#include "config.h"
#include "dbops/host.h"
#include "loader.h"
#include "pgconn.h"
#include "plan.h"
#include "source.h"
#include "spec.h"
#include "strbuf.h"
#include "trust.h"

enum pass_stage {
	PASS_STAGE_VALIDATE = 1,
	PASS_STAGE_OBSERVE,
	PASS_STAGE_DIFF,
	PASS_STAGE_APPLY,
	PASS_STAGE_VERIFY,
};

/* A plugin taking part in the pass: its section is in the spec. */
struct pass_plugin {
	struct loaded_plugin *lp;
	size_t index; /* position in the registry order */
	const struct dbops_node *section;
	struct dbops_ctx *ctx;
	void *live;  /* what observe returned */
	bool inited; /* init called in this pass */
	void *data;  /* host->set_pass_data's */
};

struct pass_opts {
	struct source_opts source;
	const char *cluster;	     /* --cluster */
	const char *conninfo;	     /* --conninfo, overrides the spec */
	const struct config *config; /* the trusted side; never NULL */
	const char *trusted_rev;     /* --trusted-rev, else the config's */
};

/* A fact a plugin published (host->fact_put). */
struct pass_fact {
	struct dbops_fact f;
	size_t index;	  /* the publisher's plugin order */
	bool at_validate; /* read by every plugin */
};

/* A measurement a plugin reported (host->metric). */
struct pass_metric {
	const char *name;
	const char *labels; /* or NULL */
	double value;
	const char *help;
};

struct pass {
	struct arena *a;
	struct dbops_diag_list diags;
	struct registry *reg;
	struct source *src;
	const char *cluster_dir; /* "" for the root */
	const char *spec_path;	 /* "clusters/prod/cluster.yaml" */
	const struct dbops_node *root;
	struct spec_cluster spec;
	struct pass_plugin *plugins;
	size_t nplugins;
	struct pgconn *conn;
	enum pass_stage stage;
	struct strbuf observed; /* everything observe read, for the hash */
	struct plan plan;
	int verbose;
	const char *mode_plugin; /* `dbops <plugin> <command>`, or NULL */
	const char *mode;	 /* that command */
	bool show_sql;		 /* --show-sql */
	bool allow_destructive;	 /* --allow-destructive */
	bool validate_only;	 /* `dbops validate`: nothing observed */
	const char *const *args; /* plugin command options: name, value... */
	size_t nargs;		 /* pairs */
	/* during a plugin's apply_many: where host->applied goes */
	void (*applied_fn)(void *arg, size_t k, int err);
	void *applied_arg;
	const struct config *config; /* the trusted side */
	struct trust_set trust;	     /* what the revision decides */
	struct pass_fact *facts;
	size_t nfacts, capfacts;
	struct pass_metric *metrics;
	size_t nmetrics, capmetrics;
	FILE *out; /* where host->out writes; NULL: stdout */
};

/* The context handed to plugin callbacks. */
struct dbops_ctx {
	struct dbops_ctx_head head; /* must stay first */
	struct pass *pass;
	struct pass_plugin *pp;
};

/* The host table the controller gives plugins. */
extern const struct dbops_host host_table;

void pass_init(struct pass *p, struct registry *reg);
void pass_dispose(struct pass *p);

/* Open the source, find the cluster spec, parse it, check the top level
 * and run every plugin's validate; then, with a trusted revision, refuse
 * a revision that decides otherwise where dbops connects or which
 * secrets it reads (trust.h). No connection. */
int pass_load(struct pass *p, const struct pass_opts *o);
/* pass_load without the trust comparison (the trusted revision's own). */
int pass_load_revision(struct pass *p, const struct pass_opts *o);
/* Connect with --conninfo, else the spec's connection, else libpq's
 * defaults (PG* variables...). */
int pass_connect(struct pass *p, const struct pass_opts *o);
/* Observe (one read-only repeatable-read snapshot), diff, order. */
int pass_plan(struct pass *p);

/* Call a plugin's apply / verify through the host wrappers. */
int pass_apply_change(struct pass *p, struct plan_change *c);
/* What a change's apply returned (err), with the diagnostics raised
 * since `mark`: a failure without a message gets one, every error gets
 * the change and plugin as context; errors raised with err == 0 make it
 * a failure. */
int pass_change_result(struct pass *p, const struct plan_change *c,
		       struct dbops_diag *mark, int nerrors_before, int err);
/* Whether the change's plugin applies several changes at once (ABI 1.2
 * apply_many), and the call: each host->applied(k, err) reaches
 * report(arg, k, err). */
bool pass_can_apply_many(struct pass *p, const struct plan_change *c);
int pass_apply_many(struct pass *p, struct plan_change *const *cs, size_t n,
		    void (*report)(void *arg, size_t k, int err), void *arg);
int pass_verify(struct pass *p);
/* `dbops status`: each plugin's status callback, after pass_plan's
 * observe (call pass_observe). */
int pass_observe(struct pass *p);
int pass_status(struct pass *p);

struct pass_plugin *pass_plugin_of(struct pass *p, const char *name);

#endif

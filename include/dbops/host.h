/* SPDX-License-Identifier: PostgreSQL */
/*
 * host.h — the table of functions the controller hands to plugins.
 *
 * Plugins call the controller only through this table, reached with
 * dbops_host(ctx). Unit tests hand a plugin a fake table (tests/unit/
 * fake_host.c). The table starts with the frozen ABI header; functions are
 * only ever appended.
 *
 * Ownership: every pointer a host function returns lives in the pass arena
 * of `ctx` and stays valid until the pass ends; plugins never free it.
 * Strings passed in are copied when the host keeps them.
 */
#ifndef DBOPS_HOST_H
#define DBOPS_HOST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "diag.h"
#include "plugin.h"
#include "spec.h"

enum dbops_log_level {
	DBOPS_LOG_ERROR = 0,
	DBOPS_LOG_WARNING,
	DBOPS_LOG_NOTICE,
	DBOPS_LOG_INFO,
	DBOPS_LOG_DEBUG,
};

/*
 * Rows of a query result, copied into the pass arena. values[row * ncols +
 * col] is the text of a field, or NULL for SQL NULL.
 */
struct dbops_rows {
	int nrows;
	int ncols;
	const char *const *colnames;
	const char *const *values;
};

/* Another connection of the pass (ABI 1.1); opaque. */
struct dbops_conn;

/*
 * What a spec node decides about trust (ABI 1.3, host->spec_trust): where
 * dbops connects, which local file it reads or writes, or which program
 * it runs and as whom. A revision being
 * planned may not change these (nor any secret reference) from the
 * trusted revision's (`--trusted-rev`): see the trust model in
 * specs/README.md.
 */
enum dbops_trust {
	DBOPS_TRUST_CONNECTION = 1, /* a host, port, conninfo, URL */
	DBOPS_TRUST_PATH,	    /* a local file or directory */
	DBOPS_TRUST_EXEC,	    /* a program's directory, an OS user */
};

/*
 * A fact one plugin publishes for the others (ABI 1.3, host->fact_put):
 * a name ("replicas.member.replica1.host"), its publisher, and a text
 * value or a secret reference (never a secret's value). Facts published
 * during validate are read by every plugin (what a plugin needs of
 * another: a setting); those published later are read by the plugins
 * after the publisher in plugin order (what a plugin found: its members'
 * addresses).
 */
enum dbops_fact_type {
	DBOPS_FACT_TEXT = 1,
	DBOPS_FACT_SECRET, /* secret is set; value is NULL */
};

struct dbops_fact {
	const char *name;
	const char *plugin; /* who published it */
	enum dbops_fact_type type;
	const char *value;		/* DBOPS_FACT_TEXT */
	struct dbops_secret_ref secret; /* DBOPS_FACT_SECRET */
	struct dbops_loc loc;		/* the spec node it comes from */
};

/* conn_open flags */
#define DBOPS_CONN_SAME_CLUSTER 0u	  /* conninfo overlays the target's */
#define DBOPS_CONN_STANDALONE	(1u << 0) /* conninfo alone (PgBouncer...) */
#define DBOPS_CONN_VOLATILE                                                    \
	(1u << 1) /* rows never enter the live-state
					   fingerprint (statistics) */

struct dbops_host {
	struct dbops_abi_header header; /* DBOPS_ABI_HEADER_INIT(...) */

	/* ---- ABI 1.0: memory (the pass arena; zeroed; aborts when out) */
	void *(*alloc)(struct dbops_ctx *ctx, size_t size);
	char *(*strdup)(struct dbops_ctx *ctx, const char *s);
	char *(*printf)(struct dbops_ctx *ctx, const char *fmt,
			...)DBOPS_PRINTF(2, 3);

	/* ---- diagnostics. diag() appends one to the pass and returns it so
	 * that detail and hint can be added; loc may be NULL. A callback that
	 * fails must have raised an error diagnostic. */
	struct dbops_diag *(*diag)(struct dbops_ctx *ctx,
				   enum dbops_severity sev, int code,
				   const struct dbops_loc *loc, const char *fmt,
				   ...)DBOPS_PRINTF(5, 6);
	void (*diag_detail)(struct dbops_ctx *ctx, struct dbops_diag *d,
			    const char *fmt, ...) DBOPS_PRINTF(3, 4);
	void (*diag_hint)(struct dbops_ctx *ctx, struct dbops_diag *d,
			  const char *fmt, ...) DBOPS_PRINTF(3, 4);

	/* ---- logging: one line on stderr; the host adds the plugin name */
	void (*log)(struct dbops_ctx *ctx, enum dbops_log_level level,
		    const char *fmt, ...) DBOPS_PRINTF(3, 4);

	/* ---- spec tree */
	/* The value under `key` in a map node, or NULL. */
	const struct dbops_node *(*spec_get)(const struct dbops_node *map,
					     const char *key);
	/* Report every key of `map` not in `allowed` (NULL-terminated) with a
	 * "did you mean" hint; `what` names the map in the message ("the
	 * connection section"). Also reports `map` not being a map.
	 * Returns 0 or DBOPS_ERR_INVALID. */
	int (*spec_check_keys)(struct dbops_ctx *ctx,
			       const struct dbops_node *map, const char *what,
			       const char *const *allowed);
	/* Typed reads of a scalar node, with a located error when the text
	 * does not fit; `what` names the value in messages. */
	int (*spec_string)(const char **out, struct dbops_ctx *ctx,
			   const struct dbops_node *node, const char *what);
	int (*spec_bool)(bool *out, struct dbops_ctx *ctx,
			 const struct dbops_node *node, const char *what);
	int (*spec_int)(int64_t *out, struct dbops_ctx *ctx,
			const struct dbops_node *node, const char *what,
			int64_t min, int64_t max);
	/* A secret reference {env: NAME} or {file: PATH}; a plain scalar is
	 * refused with a hint, so literal secrets never sit in a spec. */
	int (*spec_secret)(struct dbops_secret_ref *out, struct dbops_ctx *ctx,
			   const struct dbops_node *node, const char *what);
	/* Read a secret's value: during apply; during diff only to compare
	 * it with the live state (a password's stored verifier); during
	 * observe and status only to reach a live surface that needs it
	 * (an object store's keys); never during validate. The value must
	 * never be logged, rendered, put in a change or in a diagnostic. */
	int (*secret_read)(const char **out, struct dbops_ctx *ctx,
			   const struct dbops_secret_ref *ref);
	/* Read a file of the spec source (same revision as the spec), path
	 * relative to the cluster directory. */
	int (*source_read)(const char **data_out, size_t *len_out,
			   struct dbops_ctx *ctx, const char *path);

	/* ---- planning (diff only) */
	/* A new change appended to the plan, address copied. */
	struct dbops_change *(*change_new)(struct dbops_ctx *ctx,
					   enum dbops_action action,
					   const char *address);
	/* Append an attribute to a change; before/after copied, NULL absent. */
	void (*change_attr)(struct dbops_ctx *ctx, struct dbops_change *change,
			    const char *name, const char *before,
			    const char *after, bool sensitive);

	/* ---- PostgreSQL on the target cluster's connection */
	/* Run one statement with text parameters ($1…); rows copied to the
	 * arena (out may be NULL). Errors become diagnostics with SQLSTATE,
	 * detail and hint from the server. */
	int (*query)(struct dbops_rows **out, struct dbops_ctx *ctx,
		     const char *sql, int nparams, const char *const *params);
	/* The field `col` of row `row`, or NULL (absent column or SQL NULL). */
	const char *(*rows_get)(const struct dbops_rows *rows, int row,
				const char *col);
	/* Quoted with libpq's escaping, in the pass arena. */
	char *(*quote_ident)(struct dbops_ctx *ctx, const char *ident);
	char *(*quote_literal)(struct dbops_ctx *ctx, const char *literal);
	/* server_version_num of the target, e.g. 150018 */
	int (*server_version)(struct dbops_ctx *ctx);
	/* The raw PGconn, an escape hatch; NULL when not connected. */
	void *(*pgconn)(struct dbops_ctx *ctx);

	/* ---- control */
	bool (*cancelled)(struct dbops_ctx *ctx);
	/* Plugin-instance state kept across passes (init to fini). It is
	 * one per loaded plugin, shared by every pass of the process: the
	 * daemon runs passes of different clusters on several threads at
	 * once, so a plugin that keeps state here synchronises it. */
	void *(*state)(struct dbops_ctx *ctx);
	void (*set_state)(struct dbops_ctx *ctx, void *state);

	/* ---- ABI 1.1: more connections */
	/*
	 * Open a connection that lives until the pass ends (or conn_close).
	 * With DBOPS_CONN_SAME_CLUSTER, `conninfo` ("dbname=app") is laid
	 * over every parameter of the target connection (host, port, user,
	 * password, TLS...), to reach another database of the same cluster;
	 * with DBOPS_CONN_STANDALONE it is used alone, through libpq as
	 * usual (PG* variables still apply), e.g. PgBouncer's admin console.
	 * Errors become diagnostics; the password never appears in them.
	 */
	int (*conn_open)(struct dbops_conn **out, struct dbops_ctx *ctx,
			 const char *conninfo, unsigned flags);
	/* As query(), on that connection. Without parameters the statement
	 * goes through the simple query protocol (several statements in one
	 * string; the only protocol PgBouncer's console speaks) and `out`
	 * receives the last result's rows. During observe the rows enter the
	 * live-state fingerprint unless the connection is VOLATILE. */
	int (*conn_query)(struct dbops_rows **out, struct dbops_ctx *ctx,
			  struct dbops_conn *conn, const char *sql, int nparams,
			  const char *const *params);
	void (*conn_close)(struct dbops_ctx *ctx, struct dbops_conn *conn);
	/* The raw PGconn of that connection (pipeline mode, COPY...). */
	void *(*conn_pgconn)(struct dbops_conn *conn);

	/* ---- ABI 1.1: the command being run */
	/* NULL for plan/apply; the plugin command's name for
	 * `dbops <plugin> <command>` (to this plugin only). */
	const char *(*mode)(struct dbops_ctx *ctx);
	/* A command-line flag given to this run: "show-sql",
	 * "allow-destructive"; and (ABI 1.2) "validate-only", true under
	 * `dbops validate`, where nothing is observed: the time to check
	 * what a plan would only check when needed (parse every file). */
	bool (*flag)(struct dbops_ctx *ctx, const char *name);
	/* The regular files directly inside a directory of the spec source
	 * (same revision as the spec), path relative to the cluster
	 * directory; names only, sorted bytewise. A missing directory is
	 * DBOPS_ERR_NOTFOUND with a diagnostic. */
	int (*source_list)(const char *const **names_out, size_t *n_out,
			   struct dbops_ctx *ctx, const char *dir);
	/* The value of a plugin command's option (`--to replica1` gives
	 * "replica1" for "to"; a flag without value gives ""), or NULL. */
	const char *(*arg)(struct dbops_ctx *ctx, const char *name);
	/* Write to the command's standard output (`dbops status` tables,
	 * progress of a long change). Never a secret. */
	void (*out)(struct dbops_ctx *ctx, const char *fmt, ...)
	    DBOPS_PRINTF(2, 3);
	/* As secret_read, but a secret that is not available here (an unset
	 * variable, a missing file: a plan made in a pull request, say)
	 * returns DBOPS_ERR_NOTFOUND without a diagnostic, so the plugin can
	 * say the state it would compare is unknown. */
	int (*secret_try_read)(const char **out, struct dbops_ctx *ctx,
			       const struct dbops_secret_ref *ref);
	/* During observe: add a fact read outside the host's query helpers
	 * (a file, the stable values of a volatile console) to the
	 * live-state fingerprint, so a saved plan goes stale when it
	 * changes. Ignored in other stages. */
	void (*observe_note)(struct dbops_ctx *ctx, const char *key,
			     const char *value);
	/* The candidate closest to `word` (case-insensitive edit distance)
	 * when it is close enough to be a typo, else NULL: the "did you
	 * mean" every unknown name gets. Borrowed from `candidates`. */
	const char *(*suggest)(const char *word, const char *const *candidates,
			       size_t n);
	/* Replace a file atomically (temporary file in the same directory,
	 * fsync, rename, directory fsync): an existing file keeps its mode,
	 * owner and group, a new one gets `mode`. Errors are diagnostics. */
	int (*file_write)(struct dbops_ctx *ctx, const char *path,
			  const char *data, size_t len, unsigned mode);

	/* ---- ABI 1.2 */
	/* During apply_many: change k of the batch is done (err 0) or
	 * failed (err, its diagnostics already raised). Reports come in
	 * order of k; the host prints progress and writes the run log. */
	void (*applied)(struct dbops_ctx *ctx, size_t k, int err);
	/* As source_list, but every regular file below the directory, at
	 * any depth: paths relative to `dir` ("2024/V3__x.sql"), sorted
	 * bytewise. */
	int (*source_tree)(const char *const **names_out, size_t *n_out,
			   struct dbops_ctx *ctx, const char *dir);

	/* ---- ABI 1.3 */
	/* The id of a file of the spec source (path relative to the cluster
	 * directory) without reading it: its git blob id, 40 hex digits,
	 * which changes exactly when its content does. NULL when the source
	 * has no such ids (a directory) or no such file. */
	const char *(*source_id)(struct dbops_ctx *ctx, const char *path);
	/* The same at the base revision the run compares with (`--lint-base
	 * REV`): "" when the file does not exist there, NULL when no base
	 * was given. */
	const char *(*source_base_id)(struct dbops_ctx *ctx, const char *path);
	/* During validate: `node` (a scalar or a map) decides where dbops
	 * connects or which local file it touches; every plugin marks such
	 * nodes (secret references are marked by spec_secret itself). */
	void (*spec_trust)(struct dbops_ctx *ctx, const struct dbops_node *node,
			   enum dbops_trust kind);
	/* Publish a fact under `name` (copied), a text value or a secret
	 * reference (one of value and secret is NULL); loc may be NULL. */
	void (*fact_put)(struct dbops_ctx *ctx, const char *name,
			 const char *value,
			 const struct dbops_secret_ref *secret,
			 const struct dbops_loc *loc);
	/* The facts this plugin may read whose name starts with `prefix`, in
	 * the order they were published; *n_out is 0 when there are none. */
	void (*facts)(const struct dbops_fact *const **out, size_t *n_out,
		      struct dbops_ctx *ctx, const char *prefix);
	/* During status: a measurement for Prometheus, named in
	 * postgres_exporter's style ("dbops_replication_lag_seconds"), with
	 * labels as Prometheus writes them (`member="replica1"`, or NULL)
	 * and a one-line help text. The daemon exports them at /metrics;
	 * `dbops status --metrics` prints them. */
	void (*metric)(struct dbops_ctx *ctx, const char *name,
		       const char *labels, double value, const char *help);
	/* What the plugin computed in one stage of this pass for the later
	 * ones (the files validate listed, for observe): one pointer per
	 * plugin per pass, NULL at the start of every pass, never carried
	 * into the next (memory from alloc dies with the pass). */
	void *(*pass_data)(struct dbops_ctx *ctx);
	void (*set_pass_data)(struct dbops_ctx *ctx, void *data);
};

/*
 * The host table of a context. Defined in the controller (and in fake
 * hosts) as the first member of every context, so a plugin can find it
 * without linking against anything.
 */
struct dbops_ctx_head {
	const struct dbops_host *host;
};

static inline const struct dbops_host *dbops_host(struct dbops_ctx *ctx)
{
	return ((const struct dbops_ctx_head *)(const void *)ctx)->host;
}

#endif

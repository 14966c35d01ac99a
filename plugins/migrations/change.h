/* SPDX-License-Identifier: PostgreSQL */
/*
 * change.h — the private interface of expand/contract changes in the
 * migrations plugin: zero-downtime schema changes declared in the spec
 * (`changes:` of a migrations database), each moved between states
 * (expanded, contracted, rolled back) that are recorded in the migrated
 * database's `dbops` schema.
 *
 *   change.c     the spec model and its validation, the definition checksum
 *   expand.c     the SQL of each operation: expand, contract, rollback,
 *                the dual-write trigger, the backfill's assignments
 *   transition.c observe (state, catalog, evidence), diff (the transitions
 *                to plan), and the changes' part of `dbops status`
 *   chapply.c    apply: one step of a change
 *   gate.c       the evidence that old code is gone (pg_stat_statements,
 *                the trigger's counter of old-side writes)
 *   backfill.c   the resumable batched backfill
 *   lockddl.c    DDL with a short lock_timeout, retried with backoff and
 *                jitter; the sessions that would block it
 *
 * Everything here has the mig_ prefix; the hooks into the rest of the
 * plugin are the few functions at the end (mig_changes_*).
 */
#ifndef DBOPS_MIG_CHANGE_H
#define DBOPS_MIG_CHANGE_H

#include "migrations_int.h"

/* Comment put into every statement dbops runs for a change (and into the
 * dual-write trigger's expressions), so that the contract gate does not
 * take dbops' own backfill for old code (see gate.c). */
#define MIG_CH_MARK "/* dbops:expand */"

enum mig_chkind {
	MIG_CH_ADD_COLUMN = 1,
	MIG_CH_RENAME_COLUMN,
	MIG_CH_CHANGE_TYPE,
	MIG_CH_SPLIT_COLUMN,
	MIG_CH_MERGE_COLUMNS,
	MIG_CH_SET_NOT_NULL,
	MIG_CH_ADD_FOREIGN_KEY,
	MIG_CH_ADD_INDEX,
	MIG_CH_DROP_COLUMN,
};

/* A column an operation uses: its name, its type (new columns; NULL for
 * "the type of the column it replaces", found in the catalog) and the
 * SQL expression that derives it from the other side (up for a new
 * column, down for an old one; NULL when there is none). */
struct mig_chcol {
	const char *name;
	const char *type;
	const char *expr;
};

struct mig_chop {
	enum mig_chkind kind;
	struct dbops_loc loc;
	/* old columns (old code writes them; dropped at contract) and new
	 * columns (new code writes them), kept equal both ways while the
	 * change is expanded */
	struct mig_chcol *olds;
	size_t nolds;
	struct mig_chcol *news;
	size_t nnews;
	/* add_column: the default; set_not_null: the fill for NULLs */
	const char *dflt;
	bool not_null; /* add_column */
	/* set_not_null, add_column NOT NULL: the column; the constraint
	 * (CHECK, or the foreign key's) */
	const char *column;
	const char *constraint;
	/* add_foreign_key */
	const char *const *fk_cols;
	size_t nfk;
	const char *ref_table; /* as written, "schema.table" or "table" */
	const char *const *ref_cols;
	size_t nref;
	const char *on_delete; /* "CASCADE"... or NULL */
	/* add_index */
	const char *index;
	const char *const *index_cols; /* identifiers or expressions */
	size_t nindex_cols;
	bool unique;
	const char *where;
	const char *method;
};

enum mig_chstate {
	MIG_CS_NONE = 0,
	MIG_CS_EXPANDING, /* expand started and not finished */
	MIG_CS_EXPANDED,
	MIG_CS_CONTRACTED,
	MIG_CS_ROLLED_BACK,
};

/* The numbers of the lock-safe DDL runner (lockddl.c). */
struct mig_lockpolicy {
	int64_t lock_timeout_ms; /* SET LOCAL lock_timeout of each attempt */
	int64_t attempts;	 /* in all, the first one included */
	int64_t backoff_ms;	 /* the first wait; doubled after each */
	int64_t max_backoff_ms;
	bool migrations; /* plain transactional migrations use it too */
};

struct mig_bfopts {
	int64_t batch_ms; /* target time of one batch */
	int64_t pause_ms; /* between batches */
	int64_t batch_min, batch_max, batch_first;
	int64_t max_lag_bytes; /* standbys' replay lag; -1 = no limit */
	int64_t max_lag_ms;
	int64_t max_xact_ms; /* oldest open transaction; -1 = no limit */
};

/* One change of the spec. */
struct mig_chspec {
	const char *name;
	struct dbops_loc loc;
	const char *schema, *table;
	enum mig_chstate want; /* EXPANDED, CONTRACTED or ROLLED_BACK */
	struct mig_chop *ops;
	size_t nops;
	const char *checksum; /* of the operations and the table */
	int64_t quiet_ms;     /* the gate's quiet window */
	struct mig_bfopts bf;
	const char *key; /* the backfill's key column, or NULL: found */
};

/* ---- what observe finds */

struct mig_chcolumn {
	const char *name;
	const char *type; /* format_type() */
	bool not_null;
};

struct mig_chtable {
	bool exists;
	struct mig_chcolumn *cols;
	size_t ncols;
	const char *key;      /* the backfill key: single-column primary key
				 or unique not-null column, or NULL */
	const char *key_type; /* its format_type() */
	const char *why_no_key;
	double rows; /* pg_class.reltuples */
	bool has_trigger;
};

/* dbops.schema_changes and dbops.backfill_cursor. */
struct mig_chrow {
	const char *name;
	enum mig_chstate state;
	const char *checksum;
	const char *expanded_at, *contracted_at;
	const char *contract_sql, *rollback_sql;
	bool gated;
	const char *gate_at;
	double gate_age_s; /* now() - gate_at, read on the volatile side */
	const char *gate_reset;
	int64_t gate_dealloc;
	int64_t gate_writes;
	bool forced;
	/* the backfill */
	bool bf_present, bf_done;
	const char *bf_last, *bf_max, *bf_started;
	int64_t bf_rows, bf_total;
	double bf_rate; /* rows per second */
};

struct mig_chsnap {
	const char *queryid;
	int64_t calls;
	const char *query; /* cut, normalized by pg_stat_statements */
};

/* The evidence the gate compares with its snapshot (gate.c). */
struct mig_chgate {
	bool pgss; /* pg_stat_statements is there to read */
	const char *why_no_pgss;
	const char *stats_reset;
	int64_t dealloc;
	struct mig_chsnap *now; /* matching statements, now */
	size_t nnow;
	struct mig_chsnap *snap; /* as at gate_at */
	size_t nsnap;
	int64_t writes; /* the old-side counter, now; -1: none */
};

struct mig_chblocker {
	const char *table;
	const char *pid, *app, *state, *query, *modes;
	int64_t age_s;
};

/* What observe found for the changes of one database. */
struct mig_chlive {
	bool ready; /* dbops.schema_changes exists */
	struct mig_chrow *rows;
	size_t nrows;
	struct mig_chtable *tables; /* parallel to the spec's changes */
	struct mig_chgate *gates;   /* likewise */
	struct mig_chblocker *blockers;
	size_t nblockers;
	bool pgss_loaded;	 /* in shared_preload_libraries */
	bool pgss_installed;	 /* CREATE EXTENSION done here */
	const char *pgss_schema; /* where its view is */
	const char *now;	 /* the server's clock, volatile */
};

/* ---- what diff plans: a step of a change */

enum mig_chstep {
	MIG_STEP_EXPAND = 1,
	MIG_STEP_BACKFILL,
	MIG_STEP_GATE, /* a new snapshot: old code ran, the window restarts */
	MIG_STEP_CONTRACT,
	MIG_STEP_ROLLBACK,
};

/* A DDL statement for the runner (lockddl.c). */
struct mig_ddl {
	const char *sql;
	const char *skip_if; /* a query: a row means done already, or NULL */
	bool nontx;	     /* outside a transaction (CONCURRENTLY) */
	const char *index;   /* nontx: the index it builds, dropped when an
				interrupted build left it INVALID */
};

/* The backfill of a change: SET assignments and their condition. */
struct mig_bfplan {
	const char *sets;  /* "a = CASE WHEN ... END, b = ..." */
	const char *where; /* rows that still need it */
	const char *qtable;
	const char *key, *key_type;
};

struct mig_chplan {
	enum mig_chstep step;
	const struct mig_chspec *spec;
	const struct mig_db *db;
	const struct mig_chrow *row; /* NULL before the first expand */
	const struct mig_chtable *table;
	struct mig_ddl *ddl;
	size_t nddl;
	const char *contract_sql; /* kept at expand for contract */
	const char *rollback_sql; /* kept at expand for rollback */
	const struct mig_bfplan *bf;
	bool gated;	     /* contract waits for evidence */
	bool forced;	     /* --force-contract */
	const char *counter; /* the old-side writes sequence, or NULL */
	const char *pgss_schema;
};

/* ---- change.c */

/* Read `changes:` of a database (node may be NULL). */
int mig_changes_load(struct mig_db *db, struct dbops_ctx *ctx,
		     const struct dbops_node *node);
int mig_lockpolicy_load(struct mig_lockpolicy *out, struct dbops_ctx *ctx,
			const struct dbops_node *node);
const char *mig_chstate_name(enum mig_chstate s);
enum mig_chstate mig_chstate_parse(const char *s);
const char *mig_chkind_name(enum mig_chkind k);
/* "schema"."table", quoted. */
const char *mig_ch_qtable(struct dbops_ctx *ctx, const struct mig_chspec *c);
/* Whether the change has columns of old code to drop (its contract is
 * gated on evidence and destructive). */
bool mig_ch_has_old(const struct mig_chspec *c);
/* Whether the change keeps two sides equal with a trigger. */
bool mig_ch_has_trigger(const struct mig_chspec *c);

/* ---- expand.c */

/* The statements of a step, the backfill, the trigger, from the spec and
 * the observed table. NULL with a diagnostic when the table does not
 * allow it (a missing column, no key to backfill by). */
int mig_ch_expand_sql(struct mig_chplan *p, struct dbops_ctx *ctx);
int mig_ch_contract_sql(struct mig_chplan *p, struct dbops_ctx *ctx);
int mig_ch_rollback_sql(struct mig_chplan *p, struct dbops_ctx *ctx);
/* The backfill of the change, or NULL when it needs none. */
const struct mig_bfplan *mig_ch_backfill_plan(struct dbops_ctx *ctx,
					      const struct mig_chspec *c,
					      const struct mig_chtable *t);
/* The sequence counting old-side writes, quoted, or NULL. */
const char *mig_ch_counter(struct dbops_ctx *ctx, const struct mig_chspec *c);
/* Split stored SQL (statements separated by ";\n") into DDL steps. */
int mig_ch_stored_ddl(struct mig_ddl **out, size_t *n, struct dbops_ctx *ctx,
		      const char *sql);
/* The whole of a list of DDL, for the plan and for keeping. */
const char *mig_ch_ddl_text(struct dbops_ctx *ctx, const struct mig_ddl *d,
			    size_t n);

/* ---- gate.c */

/* The snapshot statements (one transaction) for change c. */
const char *mig_gate_snapshot_sql(struct dbops_ctx *ctx,
				  const struct mig_chspec *c,
				  const char *pgss_schema, const char *counter);
/* Read the evidence of change c on a volatile connection. */
int mig_gate_read(struct mig_chgate *out, struct dbops_ctx *ctx,
		  struct dbops_conn *conn, const struct mig_chspec *c,
		  const struct mig_chlive *l, const struct mig_chrow *row);

enum mig_verdict {
	MIG_GATE_PASS = 0,
	MIG_GATE_WAIT,	/* quiet so far, the window is not over */
	MIG_GATE_RENEW, /* old code ran, or no evidence: snapshot again */
	MIG_GATE_BLIND, /* no pg_stat_statements: no evidence at all */
};

/* The verdict, and why, in one sentence (*why). */
enum mig_verdict mig_gate_judge(const char **why, struct dbops_ctx *ctx,
				const struct mig_chspec *c,
				const struct mig_chrow *row,
				const struct mig_chgate *g);

/* ---- backfill.c */

int mig_backfill_run(struct dbops_ctx *ctx, struct mig_run *run,
		     const struct mig_chplan *p,
		     const struct mig_lockpolicy *lp);
/* "120000 of ~1000000 rows (12%), 45000 rows/s, ETA 20s" */
const char *mig_backfill_progress(struct dbops_ctx *ctx,
				  const struct mig_chrow *r);

/* ---- lockddl.c */

/* Run each statement with a short lock_timeout in a transaction of its
 * own (or alone, for nontx), retried on 55P03 and 40P01 with exponential
 * backoff and jitter; `what` names the change in messages. */
int mig_ddl_run(struct dbops_ctx *ctx, struct dbops_conn *conn,
		const struct mig_lockpolicy *lp, const struct mig_ddl *d,
		size_t n, const char *what, const struct dbops_loc *loc);
/* The sleep before attempt `k` (1-based, k >= 2) in ms: exponential,
 * capped, with jitter from `rnd` in [0, 1). */
int64_t mig_ddl_backoff(const struct mig_lockpolicy *lp, int k, double rnd);
/* The sessions holding locks on `tables` (their modes) that conflict with
 * the modes a plan needs there. */
int mig_blockers_read(struct mig_chlive *out, struct dbops_ctx *ctx,
		      struct dbops_conn *conn, const char *const *tables,
		      const enum mig_lockmode *modes, size_t n);
/* A transactional migration alone, its history row in the same
 * transaction, retried like DDL (lock_retries.migrations). */
int mig_ddl_migrate(struct dbops_ctx *ctx, struct mig_run *run,
		    const struct mig_payload *pl,
		    const struct mig_lockpolicy *lp);

/* ---- transition.c: the hooks */

/* observe: state, catalog and evidence of db's changes. */
int mig_changes_observe(struct mig_live_db *out, struct dbops_ctx *ctx,
			struct dbops_conn *conn, const struct mig_db *db);
/* diff: the steps of db's changes, numbered from *ordinal. */
int mig_changes_plan(struct dbops_ctx *ctx, const struct mig_db *db,
		     const struct mig_live_db *live, struct mig_run *run,
		     unsigned long *ordinal);
/* apply: one step (chapply.c). */
int mig_change_apply(struct dbops_ctx *ctx, const struct dbops_change *change);
/* status: the changes of every database. */
int mig_status(struct dbops_ctx *ctx, const struct dbops_node *section,
	       void *live);
/* The dbops tables of changes, created if missing. */
int mig_changes_ensure(struct dbops_ctx *ctx, struct dbops_conn *conn);
/* The rows of dbops.schema_changes with their backfill cursors (none
 * when the tables do not exist: l->ready false). */
int mig_changes_read_rows(struct mig_chlive *l, struct dbops_ctx *ctx,
			  struct dbops_conn *conn);
struct mig_chrow *mig_changes_find(const struct mig_chlive *l,
				   const char *name);

#endif

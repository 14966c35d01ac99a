/* SPDX-License-Identifier: PostgreSQL */
/*
 * monitoring_int.h — the private interface between the files of the
 * "monitoring" plugin: the parsed `monitoring:` section with every
 * threshold and its default, the live model plan needs (extensions and
 * snapshot tables per database), what status reads per database (the
 * statements of the window, the catalog facts the checks judge), the
 * results of the checks, N+1 suspects and index advice, and the
 * callbacks monitoring.c puts in the descriptor.
 *
 * Everything here has the mon_ prefix and hidden visibility; the unit
 * tests link these files directly. Nothing here changes a cluster but
 * apply.c (CREATE EXTENSION, the snapshot tables) and snapshot.c (the
 * snapshot rows status writes).
 */
#ifndef DBOPS_MON_INT_H
#define DBOPS_MON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbops/host.h"
#include "dbops/plugin.h"
#include "dbops/spec.h"

/* Query texts longer than this are not parsed (PgHero's limit too):
 * libpg_query's output recursion stays far from any thread's stack. */
#define MON_PARSE_MAX 10000
/* The layout of the snapshot tables, in their comment. */
#define MON_LAYOUT "dbops monitoring snapshots, layout 1"

enum mon_sev {
	MON_OK = 0,
	MON_WARNING,
	MON_ERROR,
};

/* The checks, in the order status shows them. */
enum mon_check_id {
	MON_CHK_SLOW = 0,
	MON_CHK_STATEMENTS, /* pg_stat_statements itself: evictions, reset */
	MON_CHK_N1,
	MON_CHK_LONG,
	MON_CHK_IDLE_TX,
	MON_CHK_CONN,
	MON_CHK_LAG,
	MON_CHK_CACHE,
	MON_CHK_WRAP,
	MON_CHK_SEQ,
	MON_CHK_UNUSED,
	MON_CHK_DUP,
	MON_CHK_INVALID,
	MON_CHK_SEQSCAN,
	MON_CHK_BLOAT,
	MON_CHK_SECURITY,
	MON_CHK_OBJECTIVES,
	MON_NCHECKS,
};

/* One check of `checks:`: on or off, its severity and where it is. */
struct mon_check {
	bool enabled;
	bool sev_set;	  /* severity written (security: else per finding) */
	enum mon_sev sev; /* what a finding raises */
	struct dbops_loc loc;
};

/* An objective: the target and where it comes from. */
struct mon_objective {
	double value;	    /* seconds or bytes; < 0: none */
	const char *source; /* "monitoring.objectives.rpo", a fact name */
	struct dbops_loc loc;
};

struct mon_spec {
	const char **databases; /* monitored databases, never empty */
	struct dbops_loc *db_locs;
	size_t ndatabases;
	bool default_db; /* databases not written: the connection's */

	/* statements: pg_stat_statements managed */
	bool statements;
	int64_t pgss_max;	/* -1: not set */
	const char *pgss_track; /* NULL: not set */
	int pgss_track_utility; /* -1: not set, else 0/1 */
	struct dbops_loc statements_loc;

	/* snapshots */
	double snap_interval;	 /* seconds */
	double snap_retention;	 /* seconds */
	int64_t snap_statements; /* kept per interval, by time and by calls */

	double window;		  /* seconds status looks back */
	double statement_timeout; /* seconds */
	int64_t top;		  /* offenders shown per check */

	struct mon_objective rpo, rto, lag_bytes, lag_time;

	/* advice */
	bool hypopg; /* create the extension (planned) */
	double advice_min_cost;
	double advice_min_savings; /* fraction */
	int64_t advice_queries;

	struct mon_check checks[MON_NCHECKS];
	/* thresholds, by check */
	double slow_mean; /* seconds */
	int64_t slow_min_calls;
	double long_max; /* seconds */
	double idle_max; /* seconds */
	int64_t idle_max_sessions;
	double conn_max_used;	  /* fraction */
	double cache_min;	  /* fraction */
	int64_t cache_min_blocks; /* traffic below this is not judged */
	double wrap_min_left;	  /* transactions */
	double seq_max_used;	  /* fraction */
	double unused_min_size;	  /* bytes */
	double seqscan_min_rows;
	double seqscan_min_scans;
	double seqscan_max_index_share; /* fraction: below it is heavy */
	double bloat_min_wasted;	/* bytes */
	int64_t n1_min_calls;
	double n1_min_ratio;
	double n1_min_r;
	int64_t n1_min_intervals;
	const char **superusers;
	size_t nsuperusers;
	bool password_expiry;
	const char **sec_ignore;
	size_t nsec_ignore;

	struct dbops_loc loc;
};

/* spec.c */
int mon_spec_parse(struct mon_spec **out, struct dbops_ctx *ctx,
		   const struct dbops_node *section);
int mon_validate(struct dbops_ctx *ctx, const struct dbops_node *section);
/* The objectives: the section's own, else the facts of the replicas and
 * backups plugins (replicas.max_lag.*, backups.objectives.*). */
void mon_objectives_resolve(struct mon_spec *spec, struct dbops_ctx *ctx);
const char *mon_check_name(enum mon_check_id id);

/* units.c — values as the spec writes them, and as output shows them */
/* "1s", "250ms", "5min", "5m", "2h", "7d"; a bare number is seconds.
 * Returns false when the text is not a duration. */
bool mon_parse_duration(double *out, const char *text);
/* "16MB", "10kB"; a bare number is bytes. */
bool mon_parse_size(double *out, const char *text);
/* "80%" or "0.8": a fraction between 0 and 1. */
bool mon_parse_ratio(double *out, const char *text);
bool mon_parse_number(double *out, const char *text);
const char *mon_fmt_ms(struct dbops_ctx *ctx, double ms);
const char *mon_fmt_seconds(struct dbops_ctx *ctx, double s);
const char *mon_fmt_bytes(struct dbops_ctx *ctx, double b);
const char *mon_fmt_count(struct dbops_ctx *ctx, double n);
const char *mon_fmt_pct(struct dbops_ctx *ctx, double fraction);
/* One line of at most `max` characters: blanks folded, cut with "...". */
const char *mon_oneline(struct dbops_ctx *ctx, const char *text, size_t max);
double mon_num(const char *v); /* NULL: 0 */
/* A PostgreSQL array literal of `items` ({"a","b\\"c"}; NULL items are
 * NULL), for a text[] or bigint[] parameter. */
const char *mon_array_literal(struct dbops_ctx *ctx, const char *const *items,
			      size_t n);

/* ---- the live model plan needs (observe.c) */

struct mon_live_db {
	const char *name;
	const char *pgss_installed; /* extversion, or NULL */
	const char *pgss_available; /* default_version, or NULL */
	const char *hypopg_installed;
	const char *hypopg_available;
	const char *layout; /* comment of the snapshot table, or NULL */
};

struct mon_live {
	struct mon_spec *spec;
	const char *current_db;	 /* the database dbops connects to */
	struct mon_live_db *dbs; /* parallel to spec->databases */
	size_t ndbs;
};

int mon_observe(void **live_out, struct dbops_ctx *ctx,
		const struct dbops_node *section);
/* "dbname='app'", quoted for a conninfo. */
const char *mon_conninfo(struct dbops_ctx *ctx, const char *database);

/* A connection of status and report: the database, statement_timeout
 * set, and every statement also written to $DBOPS_MONITORING_TRACE (as
 * psql would run it: the bench replays it with the real psql). */
struct mon_conn {
	struct dbops_conn *conn;
	const char *datname;
};

int mon_conn_open(struct mon_conn *out, struct dbops_ctx *ctx,
		  const char *datname, const struct mon_spec *spec);
int mon_exec(struct dbops_rows **out, struct dbops_ctx *ctx, struct mon_conn *c,
	     const char *sql, int nparams, const char *const *params);
/* As mon_exec, but a server error is returned as text in *error (for
 * statements that may fail for reasons of their own: EXPLAIN of a
 * recorded query); no diagnostic. */
int mon_try(struct dbops_rows **out, const char **error, struct dbops_ctx *ctx,
	    struct mon_conn *c, const char *sql);
int mon_try_params(struct dbops_rows **out, const char **error,
		   struct dbops_ctx *ctx, struct mon_conn *c, const char *sql,
		   int nparams, const char *const *params);

/* `sql` with every "@pgss@" replaced by `schema` (the quoted schema of
 * pg_stat_statements). */
const char *mon_with_schema(struct dbops_ctx *ctx, const char *sql,
			    const char *schema);

/* diff.c, apply.c */
int mon_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	     void *live);
int mon_apply(struct dbops_ctx *ctx, const struct dbops_change *change);
/* The statements that create the snapshot tables. */
const char *mon_snapshot_ddl(void);

/* ---- what status reads (snapshot.c, checks_*.c) */

/* One normalised statement over the window. */
struct mon_stmt {
	const char *queryid; /* as text: int8 */
	const char *userid;
	const char *rolname;
	const char
	    *query; /* as recorded, NULL when unknown: to parse and plan */
	const char *text; /* as shown: normalised, every literal a $n */
	double calls;
	double exec_ms;
	double plan_ms;
	double rows;
	double blks_hit, blks_read, temp_written;
};

/* The window of one database: from which snapshot, over how many
 * intervals, and what pg_stat_statements did meanwhile. */
struct mon_window {
	bool snapshots;		 /* from snapshots (else: since stats_reset) */
	const char *from;	 /* start of the window (timestamptz text) */
	const char *to;		 /* now */
	double seconds;		 /* its length */
	int intervals;		 /* stored intervals in it */
	const char *stats_reset; /* pg_stat_statements_info.stats_reset */
	const char *reset_in_window; /* a reset seen in the window, or NULL */
	double dealloc;		     /* now */
	double dealloc_delta;	     /* growth over the window; < 0 unknown */
	double evicted;		     /* statements gone between snapshots */
	double tracked;		     /* statements of this database now */
	double tracked_all;	     /* of every database */
	double max;		     /* pg_stat_statements.max */
	double calls, exec_ms;	     /* totals of every statement */
	const char *base_id;	     /* the baseline snapshot, or NULL */
};

/* The per-interval calls and rows of a statement (N+1). */
struct mon_series {
	const char *userid;
	const char *queryid;
	double *calls; /* [nintervals] */
	double *rows;
};

struct mon_db {
	const char *name;
	struct mon_conn c;
	const char *pgss_schema; /* quoted; NULL: not installed here */
	bool pgss_loaded;	 /* the library runs */
	const char *hypopg_schema;
	bool tables; /* snapshot tables present */
	bool wrote_snapshot;
	struct mon_window win;
	struct mon_stmt *stmts; /* top by time over the window */
	size_t nstmts;
	struct mon_series *series; /* top by calls, per interval */
	size_t nseries;
	int nintervals;
	struct dbops_rows *unused, *dup, *invalid, *seqscan, *seqs;
	struct dbops_rows *bloat_tables, *bloat_indexes;
	struct dbops_rows *cache;
	const char *stats_reset; /* pg_stat_database.stats_reset */
	bool public_create;	 /* PUBLIC may CREATE in schema public */
};

/* Cluster-wide facts, read in the first database's snapshot. */
struct mon_cluster {
	const char *current_user;
	const char *now; /* YYYYMMDDHH24MISS, for migration file names */
	bool in_recovery;
	struct dbops_rows *settings; /* name, setting */
	struct dbops_rows *activity; /* client backends */
	struct dbops_rows *replication;
	struct dbops_rows *archiver;
	struct dbops_rows *databases; /* datname, xid_age, mxid_age */
	struct dbops_rows *superusers;
	struct dbops_rows *hba; /* NULL: not readable */
	struct dbops_rows *md5; /* NULL: not readable */
	struct dbops_rows *no_expiry;
	double standby_lag; /* connected to a standby: its replay delay */
};

const char *mon_setting(const struct mon_cluster *cl, const char *name);

/* snapshot.c */
int mon_snapshot_write(struct dbops_ctx *ctx, struct mon_db *db,
		       const struct mon_spec *spec);
/* The window's statements; with all_texts, every statement's text (the
 * report), else only those a check may show. */
int mon_window_read(struct dbops_ctx *ctx, struct mon_db *db,
		    const struct mon_spec *spec, double window, bool all_texts);
int mon_series_read(struct dbops_ctx *ctx, struct mon_db *db);

/* checks_db.c, checks_cluster.c, security.c: reading */
/* What is installed in the database (pg_stat_statements, hypopg, the
 * snapshot tables): before the snapshot and its transaction. */
int mon_db_probe(struct dbops_ctx *ctx, struct mon_db *db);
bool mon_is_slow(const struct mon_spec *spec, const struct mon_stmt *s);
int mon_db_read(struct dbops_ctx *ctx, struct mon_db *db,
		const struct mon_spec *spec);
int mon_cluster_read(struct dbops_ctx *ctx, struct mon_cluster *cl,
		     struct mon_conn *c, const struct mon_spec *spec);

/* ---- results */

struct mon_finding {
	enum mon_sev sev;
	const char *id;	     /* security: the CIS-style id */
	const char *datname; /* NULL: cluster-wide */
	const char *text;    /* one line */
	double value;	     /* for ordering and metrics */
};

struct mon_result {
	enum mon_check_id id;
	bool enabled;
	bool measured;	       /* false: note says why not */
	enum mon_sev state;    /* worst finding */
	const char *summary;   /* one line */
	const char *note;      /* why not measured, or a remark */
	enum mon_sev note_sev; /* note raised as warning when MON_WARNING */
	const char *hint;
	struct mon_finding *findings;
	size_t n, cap;
};

/* One objective next to what was measured. */
struct mon_objective_row {
	const char *name;   /* "rpo", "rto", "replication_lag.bytes" */
	const char *target; /* shown */
	const char *actual; /* shown, "-" when not measured */
	const char *source;
	double value;	     /* measured, < 0 unknown */
	double target_value; /* seconds or bytes */
	bool measured;
	bool met;
	const char *note;
};

struct mon_n1 {
	const char *datname;
	const struct mon_stmt *parent, *child;
	double ratio;		/* child calls per parent call */
	double r;		/* Pearson correlation, or NAN */
	int intervals;		/* it was computed over */
	bool rows_match;	/* one child call per parent row */
	const char *confidence; /* high, medium, low */
	const char *fix;	/* the batched statement, or NULL */
	double saved_calls;	/* round trips a batch saves */
};

struct mon_report {
	struct mon_spec *spec;
	struct mon_cluster cl;
	struct mon_db *dbs;
	size_t ndbs;
	struct mon_result results[MON_NCHECKS];
	struct mon_objective_row objectives[4];
	size_t nobjectives;
	struct mon_n1 *n1;
	size_t nn1;
	struct mon_advice *advice;
	size_t nadvice;
	struct mon_skip *skipped; /* queries advice could not cost */
	size_t nskipped;
	const char *now;
};

void mon_finding_add(struct dbops_ctx *ctx, struct mon_result *r,
		     enum mon_sev sev, const char *id, const char *datname,
		     double value, const char *fmt, ...) DBOPS_PRINTF(7, 8);

/* checks_db.c, checks_cluster.c, security.c: judging what was read */
void mon_judge_db(struct dbops_ctx *ctx, struct mon_report *rep,
		  const struct mon_db *db);
void mon_judge_statements(struct dbops_ctx *ctx, struct mon_report *rep,
			  const struct mon_db *db);
void mon_judge_cluster(struct dbops_ctx *ctx, struct mon_report *rep);
void mon_judge_security(struct dbops_ctx *ctx, struct mon_report *rep);
void mon_judge_objectives(struct dbops_ctx *ctx, struct mon_report *rep);

/* nplus1.c */
/* Pearson's r of x and y over n points; NAN when either is constant. */
double mon_pearson(const double *x, const double *y, int n);
/* Whether a statement may be the lookup of an N+1 pair: enough calls,
 * about one row per call. */
bool mon_n1_candidate(const struct mon_spec *spec, const struct mon_stmt *s);
/* The N+1 pairs of one database, by the thresholds of the spec. */
void mon_n1_find(struct dbops_ctx *ctx, struct mon_report *rep,
		 const struct mon_db *db);

/* sqlparse.c — recorded statements through PostgreSQL's parser */

enum mon_cmp {
	MON_CMP_EQ = 1, /* =, IN, IS NULL */
	MON_CMP_RANGE,	/* <, >, BETWEEN, LIKE 'x%' */
	MON_CMP_SORT,	/* ORDER BY */
};

struct mon_colref {
	const char *qualifier; /* alias or table, or NULL */
	const char *column;
	enum mon_cmp cmp;
};

struct mon_relref {
	const char *schema; /* NULL: search_path */
	const char *name;
	const char *alias; /* NULL: the name */
};

struct mon_parsed {
	const char *kind; /* "select", "update", "delete", other: NULL */
	struct mon_relref *rels;
	size_t nrels;
	struct mon_colref *cols;
	size_t ncols;
	const char *error; /* why it was not read, or NULL */
};

int mon_sql_parse(struct mon_parsed *out, struct dbops_ctx *ctx,
		  const char *query);
/* `query` as it may be shown: libpg_query's normalisation turns every
 * literal into $n (pg_stat_statements keeps the literals of utility
 * statements: a role's PASSWORD '...', say); a placeholder sentence for
 * a text that is too long or does not parse; NULL for NULL. */
const char *mon_sql_shown(struct dbops_ctx *ctx, const char *query);
/* The same for pg_stat_activity.query, which may be cut short
 * (track_activity_query_size) and then not parse: the text up to its
 * first quote. */
const char *mon_sql_shown_activity(struct dbops_ctx *ctx, const char *query);
/* `query` with its first "col = $n" turned into "col = ANY($n)", for a
 * lookup run once per row; NULL when it has no such comparison. */
const char *mon_sql_batched(struct dbops_ctx *ctx, const char *query);

/* advice.c */
struct mon_advice {
	const char *datname;
	const char *schema, *table;
	const char **columns;
	size_t ncolumns;
	const char *queryid; /* the query it was costed for */
	const char *query;   /* as shown */
	double cost_before, cost_after;
	bool hypothetical; /* HypoPG; else estimated from EXPLAIN */
	const char *file;  /* migration file name */
	const char *body;  /* migration file content */
};

struct mon_skip {
	const char *datname;
	const char *queryid;
	const char *reason;
};

int mon_advise(struct dbops_ctx *ctx, struct mon_report *rep,
	       struct mon_db *db);
/* The cost an index would give a sequential scan that returns `rows` of
 * a table of `pages` pages and `tuples` tuples, by PostgreSQL's page
 * costs (no HypoPG: an estimate). */
double mon_index_cost_estimate(double rows, double tuples, double pages,
			       double random_page_cost);

/* status.c, report.c */
int mon_status(struct dbops_ctx *ctx, const struct dbops_node *section,
	       void *live);
int mon_collect(struct mon_report *rep, struct dbops_ctx *ctx,
		const struct dbops_node *section, struct mon_live *live,
		double window, bool advice);
void mon_status_render(struct dbops_ctx *ctx, struct mon_report *rep);
int mon_report_render(struct dbops_ctx *ctx, struct mon_report *rep,
		      const char *format);
void mon_metrics(struct dbops_ctx *ctx, const struct mon_report *rep);

#endif

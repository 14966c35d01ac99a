/* SPDX-License-Identifier: PostgreSQL */
/*
 * migrations_int.h — the private interface between the files of the
 * "migrations" plugin: the spec model (databases and their migration
 * files), Flyway's file naming, versions and checksum, statement
 * splitting and lint over libpg_query's parse tree, the observed
 * flyway_schema_history rows, and the callbacks migrations.c puts in the
 * descriptor.
 *
 * Everything here has the mig_ prefix and hidden visibility (the build
 * compiles plugins with -fvisibility=hidden); the unit tests link these
 * files directly. Only apply.c, resume.c and the files of expand/contract
 * changes (change.h) include libpq; only sql.c includes libpg_query.
 */
#ifndef DBOPS_MIG_INT_H
#define DBOPS_MIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbops/host.h"
#include "dbops/plugin.h"
#include "dbops/spec.h"
#include "../value.h"

#define MIG_DEFAULT_TABLE	      "flyway_schema_history"
#define MIG_DEFAULT_SCHEMA	      "public"
#define MIG_DEFAULT_LOCK_TIMEOUT      "5s"
#define MIG_DEFAULT_STATEMENT_TIMEOUT "0"
#define MIG_DEFAULT_LOCK_WAIT_S	      60

/* Expand/contract changes (change.h). */
struct mig_chspec;
struct mig_chlive;
struct mig_chplan;
struct mig_lockpolicy;

enum mig_kind {
	MIG_VERSIONED = 0,
	MIG_REPEATABLE,
	MIG_CALLBACK, /* beforeMigrate / afterMigrate: db->callbacks only */
};

/* The Flyway callback events dbops runs, in the order they run. */
enum mig_event {
	MIG_EV_BEFORE_MIGRATE = 0,
	MIG_EV_AFTER_MIGRATE,
};

/* A version: dotted text as stored in the history table, and its parts
 * without leading zeros, trailing zero parts dropped (Flyway's
 * MigrationVersion). */
struct mig_version {
	const char *text;
	const char *const *parts;
	size_t nparts;
};

/* What a file name says (mig_name_parse). */
struct mig_name {
	enum mig_kind kind;
	struct mig_version version; /* versioned only */
	const char *description;    /* "_" turned into spaces */
	const char *raw_description;
	enum mig_event event; /* callbacks only */
	const char *stem;     /* callbacks: "afterMigrate__grants" */
};

enum mig_txmode {
	MIG_TX_AUTO = 0, /* decided from the parse tree */
	MIG_TX_ON,	 /* executeInTransaction=true */
	MIG_TX_OFF,	 /* executeInTransaction=false */
};

/*
 * What running a statement that cannot run in a transaction block leaves
 * behind when it is interrupted, and so how a resumed migration finds out
 * whether it completed (apply.c). Statements that can run in a
 * transaction block need none: each runs in one with its progress row.
 */
enum mig_probe {
	MIG_PROBE_NONE = 0,	   /* runs in a transaction with its progress */
	MIG_PROBE_RERUN,	   /* VACUUM, ALTER SYSTEM...: run it again */
	MIG_PROBE_CREATE_INDEX,	   /* CREATE INDEX CONCURRENTLY */
	MIG_PROBE_DROP_INDEX,	   /* DROP INDEX CONCURRENTLY */
	MIG_PROBE_REINDEX,	   /* REINDEX ... CONCURRENTLY */
	MIG_PROBE_CREATE_DATABASE, /* done when it exists */
	MIG_PROBE_DROP_DATABASE,   /* done when it is gone */
	MIG_PROBE_CREATE_TABLESPACE,
	MIG_PROBE_DROP_TABLESPACE,
	MIG_PROBE_CREATE_SUBSCRIPTION,
	MIG_PROBE_DROP_SUBSCRIPTION,
	MIG_PROBE_DETACH, /* DETACH PARTITION ... CONCURRENTLY */
};

/* A transaction-control statement a non-transactional migration may
 * hold: its own BEGIN ... COMMIT blocks. */
enum mig_txctl {
	MIG_TXCTL_NONE = 0,
	MIG_TXCTL_OPEN,	    /* BEGIN, START TRANSACTION */
	MIG_TXCTL_COMMIT,   /* COMMIT, END */
	MIG_TXCTL_ROLLBACK, /* ROLLBACK, ABORT */
	MIG_TXCTL_PREPARE,  /* PREPARE TRANSACTION */
};

/*
 * Table lock modes, weakest first, as pg_locks names them without "Lock"
 * (locklevel.c). The values are PostgreSQL's own (lockdefs.h), so LOCK
 * TABLE's parsed mode maps directly.
 */
enum mig_lockmode {
	MIG_LOCK_NONE = 0,
	MIG_LOCK_ACCESS_SHARE,
	MIG_LOCK_ROW_SHARE,
	MIG_LOCK_ROW_EXCLUSIVE,
	MIG_LOCK_SHARE_UPDATE_EXCLUSIVE,
	MIG_LOCK_SHARE,
	MIG_LOCK_SHARE_ROW_EXCLUSIVE,
	MIG_LOCK_EXCLUSIVE,
	MIG_LOCK_ACCESS_EXCLUSIVE,
};

/* What a statement does to the rows of the table it locks, weakest
 * first: the strongest of its parts is the statement's. */
enum mig_work {
	MIG_WORK_NONE = 0,    /* takes no table lock worth showing */
	MIG_WORK_NEW,	      /* creates the table, or reads others */
	MIG_WORK_METADATA,    /* catalog only */
	MIG_WORK_ROWS,	      /* writes rows (DML) */
	MIG_WORK_SCAN,	      /* reads every row under the lock */
	MIG_WORK_INDEX,	      /* builds an index */
	MIG_WORK_MAY_REWRITE, /* rewrites unless the server proves otherwise */
	MIG_WORK_REWRITE,     /* rewrites the table (and its indexes) */
};

#define MIG_LOCK_TABLES 4

/* The locks one statement takes on tables, and the work it does. */
struct mig_lockinfo {
	struct {
		const char *table; /* as written: "orders", "s.orders" */
		enum mig_lockmode mode;
	} tables[MIG_LOCK_TABLES];
	size_t ntables;
	enum mig_work work;
	const char *note; /* a qualification, or NULL */
};

/* One statement of a migration. */
struct mig_stmt {
	size_t offset;	  /* byte offset of the statement's first token */
	size_t len;	  /* bytes, up to (not including) the semicolon */
	uint32_t line;	  /* 1-based, of the first token */
	uint32_t col;	  /* 1-based, in characters */
	const char *node; /* top node type, "IndexStmt" ("" when unparsed) */
	bool nontx;	  /* cannot run inside a transaction block */
	bool session;	  /* SET (not LOCAL), RESET, DISCARD ALL: outlives
			     the migration */
	bool unprepares;  /* DISCARD ALL/PLANS, DEALLOCATE */
	bool parsed;	  /* by PostgreSQL's parser; false: over MIG_PARSE_MAX,
			split by its scanner and checked by the server */
	enum mig_txctl txctl;
	enum mig_probe probe;
	/* what the probe looks for: an index, database, tablespace,
	 * subscription or partition (name), in the schema when given, and
	 * the table it belongs to */
	const char *schema;
	const char *name;
	const char *rel_schema;
	const char *rel_name;
	/* the table locks it takes (MIG_PARSE_LOCKS), or NULL */
	const struct mig_lockinfo *lock;
};

/* A lint finding. */
struct mig_finding {
	const char *rule;
	const char *message; /* one line: what and why */
	const char *hint;    /* the fix */
	const char *object;  /* what it is about: "column \"a\" of \"t\"" */
	uint32_t line, col;
	size_t stmt;   /* index of the statement */
	bool needs_tx; /* holds only when the migration runs in a
			  transaction */
};

/* A migration file found in a location. */
struct mig_file {
	struct mig_name name;
	const char *path;   /* relative to the cluster directory */
	const char *script; /* relative to its location (history "script") */
	const char *text;   /* file content, NUL-terminated */
	size_t len;
	int32_t checksum;	/* Flyway's, over the raw text (repeatable: over
			     the text after placeholder replacement) */
	enum mig_txmode txmode; /* from the sidecar .conf */
	bool placeholder_replacement; /* from the sidecar .conf */
	struct dbops_loc loc;	      /* file:1:1 in the spec source */
	const char *conf_path;	      /* its sidecar .conf, or NULL */
	const char *blob_id; /* git's id of its content, or NULL (--dir) */
	bool read;	     /* text, len, checksum and the .conf are read;
			      otherwise text is "" and only a checksum
			      known to match may be set (sources.c) */
};

enum mig_lint_level {
	MIG_LINT_WARNING = 0,
	MIG_LINT_ERROR,
	MIG_LINT_OFF,
};

/* One database of the spec, with its files (sorted: versioned by
 * version, then repeatables by description). */
struct mig_db {
	const char *database;
	struct dbops_loc loc;
	const char *hist_schema;
	const char *hist_table;
	bool out_of_order;
	bool mixed;
	const char *const *ph_names; /* placeholders */
	const char *const *ph_values;
	size_t nph;
	enum mig_lint_level lint_level;
	const char *const *lint_disabled;
	size_t nlint_disabled;
	const char *baseline_version; /* NULL: no baseline */
	const char *baseline_description;
	struct mig_version baseline;
	bool has_target; /* else "latest" */
	struct mig_version target;
	struct mig_file *files;
	size_t nfiles;
	struct mig_file *callbacks; /* by event, then name */
	size_t ncallbacks;
	struct mig_chspec *changes; /* expand/contract (change.h) */
	size_t nchanges;
};

struct mig_spec {
	const char *lock_timeout;
	const char *statement_timeout;
	int64_t lock_wait_s;
	struct mig_lockpolicy *lock_retries; /* change.h; never NULL */
	struct mig_db *dbs;
	size_t ndbs;
};

/* A row of the history table. */
struct mig_row {
	int rank;
	const char *version; /* NULL for repeatables */
	struct mig_version v;
	const char *description;
	const char *type;
	const char *script;
	bool has_checksum;
	int32_t checksum;
	bool success;
};

/*
 * A non-transactional migration part-way through: its row in
 * dbops.migration_progress, in the migrated database (resume.c).
 */
struct mig_progress {
	const char *migration; /* mig_progress_key() */
	const char *script;
	int32_t checksum;
	int statements;	   /* how many the file had */
	int done;	   /* statements completed */
	int running;	   /* started and not known done, or -1 */
	const char *probe; /* what was there before it ran, or NULL */
};

/* A row of dbops.migration_sources (sources.c). */
struct mig_source {
	int rank; /* the history row's installed_rank */
	const char *blob_id;
	int32_t checksum;
};

struct mig_live_db {
	bool table_exists;
	struct mig_row *rows; /* by installed_rank */
	size_t nrows;
	const char *const *invalid_indexes; /* "schema.index" */
	size_t ninvalid;
	struct mig_progress *progress; /* of this history table */
	size_t nprogress;
	struct mig_source *sources; /* of this history table, by rank */
	size_t nsources;
	struct mig_chlive *changes; /* change.h; NULL without changes */
};

struct mig_live {
	struct mig_live_db *dbs; /* parallel to mig_spec.dbs */
	struct dbops_conn **conns;
	size_t ndbs;
	struct mig_spec *spec;
};

/* Shared by the changes of one database during apply. */
struct mig_run {
	const struct mig_db *db;
	const struct mig_spec *spec;
	struct dbops_conn *conn;
	bool locked;
	bool prepared;		      /* the history insert, on conn */
	const char *insert_name;      /* its name */
	unsigned ninserts;	      /* how many times it was prepared */
	struct mig_live_db *hist;     /* re-read under the lock */
	const struct mig_row **byver; /* its versioned rows, by version */
	size_t nbyver;
	const char *qtable;  /* "schema"."table", quoted */
	bool progress_ready; /* dbops.migration_progress exists */
	bool sources;	     /* blob ids are recorded (sources.c) */
	double avg_ms;	     /* measured time per migration (pipeline) */
};

enum mig_op {
	MIG_OP_MIGRATE = 0,
	MIG_OP_BASELINE,
	MIG_OP_REPAIR_CHECKSUM, /* UPDATE checksum/description/type */
	MIG_OP_REPAIR_DELETE,	/* DELETE a failed row */
	MIG_OP_REPAIR_MISSING,	/* INSERT a DELETE row */
	MIG_OP_CALLBACK,	/* a callback file: no history row */
	MIG_OP_REPAIR_PROGRESS, /* DELETE a stale progress row */
	MIG_OP_CHANGE,		/* a step of an expand/contract change */
};

struct mig_payload {
	enum mig_op op;
	struct mig_run *run;
	const struct mig_file *file; /* MIGRATE, REPAIR_CHECKSUM */
	const char *sql;	     /* after placeholder replacement */
	const struct mig_stmt *stmts;
	size_t nstmts;
	bool in_tx;
	bool resets;	 /* changes session settings: restore them afterwards */
	bool unprepares; /* DISCARD ALL, DEALLOCATE: prepared statements go */
	const struct mig_row *row;	     /* repair */
	const struct mig_progress *progress; /* resumed, or to forget */
	const struct mig_chplan *chplan;     /* MIG_OP_CHANGE */
};

/* ---- files.c */

int mig_version_parse(struct mig_version *out, struct dbops_ctx *ctx,
		      const char *text);
int mig_version_cmp(const struct mig_version *a, const struct mig_version *b);
/* Parse a file name. Returns 1 for a migration, 0 for a name that is not
 * one (other files), -1 for a name that looks like a migration but does
 * not parse (*why says how). */
int mig_name_parse(struct mig_name *out, const char **why,
		   struct dbops_ctx *ctx, const char *name);
/* Flyway's checksum: CRC-32 over the lines without terminators, BOM
 * dropped, as a signed 32-bit integer. */
int32_t mig_checksum(const char *data, size_t len);
uint32_t mig_crc32(uint32_t crc, const void *data, size_t len);
/* Replace ${name} placeholders (names case-insensitive; flyway:database,
 * flyway:table, flyway:filename built in). NULL with *missing set when a
 * placeholder has no value. */
const char *mig_placeholders(struct dbops_ctx *ctx, const struct mig_db *db,
			     const struct mig_file *f, const char *text,
			     const char **missing);
/* The SQL the server runs for a file: placeholders replaced unless the
 * file turns them off. NULL, with the error raised (and in *error when
 * not NULL), when a placeholder has no value. */
const char *mig_file_sql(struct dbops_ctx *ctx, const struct mig_db *db,
			 const struct mig_file *f, struct dbops_diag **error);
/* The offset of the first byte of text[0..len) that does not start a
 * valid UTF-8 sequence, or len. */
size_t mig_utf8_invalid(const char *text, size_t len);
/* Copies in the pass arena without printf: n bytes of s; a, sep and b
 * joined. */
char *mig_strndup(struct dbops_ctx *ctx, const char *s, size_t n);
char *mig_join(struct dbops_ctx *ctx, const char *a, const char *sep,
	       const char *b);
/* Java's String.hashCode and the Flyway advisory lock key of a table. */
int64_t mig_lock_key(const char *schema, const char *table);
enum mig_load {
	MIG_LOAD_SPEC = 0, /* the section only */
	MIG_LOAD_NAMES,	   /* and the file names (validate) */
	MIG_LOAD_IDS,	   /* and their git ids, contents left unread
			      (observe: sources.c reads what it must) */
	MIG_LOAD_FILES,	   /* and their contents (dbops validate) */
};

/* Read a listed file: its text (UTF-8 and NUL checks), the sidecar .conf
 * and the checksum. 0, DBOPS_ERR_INVALID with a located error, or the
 * source's error. */
int mig_file_read(struct dbops_ctx *ctx, const struct mig_db *db,
		  struct mig_file *f);
/* List the files of every location of `db` and parse their names; then
 * what `load` says (their ids, or their contents: mig_file_read). Badly
 * named and duplicate migrations are errors. */
int mig_load_files(struct dbops_ctx *ctx, struct mig_db *db,
		   const struct dbops_node *locations, const char *cluster_dir,
		   enum mig_load load);

/* ---- sql.c */

/* What mig_sql_parse found. */
struct mig_parsed {
	struct mig_stmt *stmts;
	size_t n;
	struct mig_finding *findings; /* with MIG_PARSE_LINT */
	size_t nfindings;
	struct dbops_diag *error; /* the first error raised, or NULL */
};

#define MIG_PARSE_LINT		   (1u << 0) /* run lint too */
#define MIG_PARSE_LOCK_TIMEOUT_SET (1u << 1) /* the session has one */
#define MIG_PARSE_LOCKS		   (1u << 2) /* classify lock levels */

/*
 * Split and parse `sql` (see sql.c): every statement with its place,
 * classification and probe. A syntax error, COPY from or to the client,
 * or text outside any statement is DBOPS_ERR_INVALID with a diagnostic
 * at the file's line and column (file may be NULL); a failure of the
 * parser itself is DBOPS_ERR_GENERIC, never "no statements". With
 * MIG_PARSE_LINT, lint runs too, and a statement lint cannot read gets a
 * warning.
 */
int mig_sql_parse(struct mig_parsed *out, struct dbops_ctx *ctx,
		  const char *sql, const struct mig_file *file, unsigned flags);

/* Whether an SQL expression may be volatile (a function call outside a
 * short list of stable built-ins); one that does not parse counts as
 * volatile. */
bool mig_sql_volatile(struct dbops_ctx *ctx, const char *expr);

/* ---- jsonwalk.c */

#define MIG_JW_FIELDS 24

/* One element of the "stmts" array of libpg_query's JSON. */
struct mig_jstmt {
	size_t begin, end; /* the element's bytes in the JSON */
	size_t depth;	   /* the deepest nesting inside it */
	long location;	   /* stmt_location: byte offset in the input */
	long len;	   /* stmt_len; 0 means up to the end of the input */
	char type[64];	   /* the node type, "IndexStmt" */
	size_t nfields;
	struct {
		char key[32];
		char value[64]; /* a scalar as written (strings without
				   quotes); "" for an object or array */
		bool scalar;
	} fields[MIG_JW_FIELDS]; /* the node's direct fields */
};

struct mig_jwalk {
	const char *s;
	size_t n, i;
	size_t depth;
	char keys[8][64]; /* the current key of each object, to depth 7 */
	struct mig_jstmt *out;
	size_t nout, cap;
	bool bad;
};

/* Walk w->s[0..w->n) (set them, zero the rest). False when the text is
 * not libpg_query's shape. w->out is malloc'd: the caller frees it. */
bool mig_jwalk(struct mig_jwalk *w);
/* A direct field of the statement's node as written, or NULL. */
const char *mig_jfield(const struct mig_jstmt *st, const char *key);
bool mig_jtrue(const struct mig_jstmt *st, const char *key);
bool mig_jis(const struct mig_jstmt *st, const char *key, const char *want);

/* ---- locklevel.c */

struct json_object;

/* The locks statement `type` (its tree `node`, or NULL when only the
 * type is known) takes in PostgreSQL 15, and the work it does. */
void mig_lock_classify(struct mig_lockinfo *out, struct dbops_ctx *ctx,
		       const char *type, struct json_object *node);
/* Whether the node type takes locks lock_classify reads from its tree. */
bool mig_lock_reads(const char *type);
/* "AccessExclusive"; "" for MIG_LOCK_NONE. */
const char *mig_lock_name(enum mig_lockmode m);
/* A mode from pg_locks.mode ("RowExclusiveLock"), or MIG_LOCK_NONE. */
enum mig_lockmode mig_lock_parse(const char *pg_mode);
/* Whether a lock held in mode `held` blocks one requested in `want`
 * (PostgreSQL's conflict table). */
bool mig_lock_conflicts(enum mig_lockmode held, enum mig_lockmode want);
/* "metadata only", "full rewrite"... */
const char *mig_work_text(enum mig_work w);
/* One line for the plan: "AccessExclusive orders, metadata only". */
const char *mig_lock_text(struct dbops_ctx *ctx, const struct mig_lockinfo *l);
/* The strongest mode of a statement (over its tables). */
enum mig_lockmode mig_lock_max(const struct mig_lockinfo *l);
/* One plan attribute per statement ("lock.3" = "line 5: AccessExclusive
 * orders, metadata only"); a long migration lists only the statements
 * stronger than ROW EXCLUSIVE and counts the rest. */
void mig_lock_attrs(struct dbops_ctx *ctx, struct dbops_change *c,
		    const struct mig_stmt *stmts, size_t n);

/* ---- deep.c */

/* Run fn(arg) on the plugin's parser thread (a large stack) and wait
 * for it. 0, or an errno when the thread could not be started. */
int mig_deep_run(void (*fn)(void *arg), void *arg);

/* ---- lint.c */

/* Whether the migration disables `rule` with "dbops:disable rule". */
bool mig_rule_disabled_inline(const char *sql, const char *rule);
/* The rule ids, NULL-terminated. */
extern const char *const mig_rule_ids[];
bool mig_rule_known(const char *id);

/* json-c, without its header: the lint and classification helpers. */
struct json_object;
struct json_object *mig_j(struct json_object *o, const char *key);
const char *mig_js(struct json_object *o, const char *key);
bool mig_jb(struct json_object *o, const char *key);
bool mig_jeq(struct json_object *o, const char *key, const char *want);
size_t mig_jlen(struct json_object *array);
struct json_object *mig_jat(struct json_object *array, size_t i);
bool mig_expr_volatile(struct json_object *e);
/* The only key of a node wrapper {"IndexStmt": {...}}, and its value. */
const char *mig_node_type(struct json_object *wrapper,
			  struct json_object **inner);

/* The lint of one migration, statement after statement. */
struct mig_lint {
	struct dbops_ctx *ctx;
	const char **created; /* tables created by this migration: an
				 open-addressing set, capcreated a power
				 of two */
	size_t ncreated;
	size_t capcreated;
	struct mig_finding *findings;
	size_t n;
	size_t cap;
	bool lock_timeout_set;
	const struct mig_stmt *stmt;
	size_t stmt_index;
};

void mig_lint_init(struct mig_lint *l, struct dbops_ctx *ctx,
		   bool lock_timeout_set);
/* Lint statement `index` of type `type` with its tree `node`. */
void mig_lint_stmt(struct mig_lint *l, const struct mig_stmt *st, size_t index,
		   const char *type, struct json_object *node);
/* The findings, keeping the rules about transactions only when the
 * migration runs in one. */
void mig_lint_finish(struct mig_lint *l, bool in_tx, struct mig_finding **out,
		     size_t *n);

/* ---- report.c */

#define MIG_TALLY_RULES	 32
#define MIG_TALLY_ERRORS 20

/* What one database's lint found, for its summary. */
struct mig_tally {
	const struct mig_db *db;
	bool verbose;	    /* -v: every finding shown */
	size_t nmigrations; /* migrations linted */
	size_t nfindings;
	size_t unchanged; /* left out: unchanged since --lint-base */
	size_t nerrors;
	const char *errors[MIG_TALLY_ERRORS]; /* "file:line:col: message" */
	struct {
		const char *rule;
		size_t n;
		size_t shown;
	} rules[MIG_TALLY_RULES];
	size_t nrules;
};

void mig_tally_init(struct mig_tally *t, struct dbops_ctx *ctx,
		    const struct mig_db *db);
/* Whether a file is linted at all (lint off, or unchanged since the
 * lint base, say no). */
bool mig_tally_wants(struct mig_tally *t, struct dbops_ctx *ctx,
		     const struct mig_file *f);
/* Report the findings of one file, counted and collapsed by rule; the
 * number of them reported as errors (lint level "error"). */
size_t mig_tally_lint(struct mig_tally *t, struct dbops_ctx *ctx,
		      const struct mig_file *f, const char *sql,
		      const struct mig_finding *fs, size_t n);
/* Count an error raised for the database (NULL is ignored). */
void mig_tally_error(struct mig_tally *t, struct dbops_ctx *ctx,
		     const struct dbops_diag *d);
/* The summary notice, when there is anything to sum up. */
void mig_tally_summary(struct mig_tally *t, struct dbops_ctx *ctx);

/* ---- validate.c */

int mig_spec_load(struct mig_spec **out, struct dbops_ctx *ctx,
		  const struct dbops_node *section, enum mig_load load);
int mig_validate(struct dbops_ctx *ctx, const struct dbops_node *section);

/* ---- observe.c */

int mig_observe(void **live_out, struct dbops_ctx *ctx,
		const struct dbops_node *section);
/* Read the history table (and invalid indexes) on `conn`. */
int mig_history_read(struct mig_live_db *out, struct dbops_ctx *ctx,
		     struct dbops_conn *conn, const struct mig_db *db);
/* The indexes left INVALID in the database ("schema.index"). */
int mig_invalid_read(const char *const **names, size_t *n,
		     struct dbops_ctx *ctx, struct dbops_conn *conn);
const char *mig_qtable(struct dbops_ctx *ctx, const struct mig_db *db);
/* The conninfo of a connection to `database` of the cluster. */
const char *mig_conninfo(struct dbops_ctx *ctx, const char *database);

/* ---- diff.c */

int mig_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	     void *live);

/* ---- sources.c */

/* The recorded blob ids of a history table's rows, when the table
 * dbops.migration_sources exists and may be read. */
int mig_sources_read(struct mig_live_db *out, struct dbops_ctx *ctx,
		     struct dbops_conn *conn, const struct mig_db *db);
/* Read the files of db (listed with MIG_LOAD_IDS) that must be read:
 * all but the applied migrations whose recorded blob id is theirs. */
int mig_sources_resolve(struct dbops_ctx *ctx, struct mig_db *db,
			const struct mig_live_db *live);
/* Under the migration lock: whether this run records blob ids (a git
 * source), creating dbops.migration_sources when it may. */
int mig_sources_setup(struct dbops_ctx *ctx, struct mig_run *run);

/* ---- resume.c */

/* The key of a migration in dbops.migration_progress: its version, or
 * "R:" and its description. */
const char *mig_progress_key(struct dbops_ctx *ctx, const struct mig_file *f);
/* The progress rows of a history table, when dbops.migration_progress
 * exists in the database. */
int mig_progress_read(struct mig_live_db *out, struct dbops_ctx *ctx,
		      struct dbops_conn *conn, const struct mig_db *db);
/* The progress of file f, or NULL. */
const struct mig_progress *mig_progress_of(struct dbops_ctx *ctx,
					   const struct mig_live_db *l,
					   const struct mig_file *f);
/* Run a non-transactional migration statement by statement, each
 * statement's completion recorded on the same connection; resume one
 * that was interrupted, probing the statement that was running. */
int mig_run_nontx(struct dbops_ctx *ctx, struct mig_run *run,
		  const struct mig_payload *pl);

/* ---- apply.c */

int mig_apply(struct dbops_ctx *ctx, const struct dbops_change *change);
/* ABI 1.2: consecutive transactional migrations of a database go through
 * one pipeline; anything else one at a time, as mig_apply. */
int mig_apply_many(struct dbops_ctx *ctx,
		   const struct dbops_change *const *changes, size_t n);
/* What resume.c shares of apply.c. */
double mig_now_ms(void);
/* The error of statement k of a migration, located, with what happened
 * to the migration; DBOPS_ERR_GENERIC. */
struct pg_result;
int mig_fail(struct dbops_ctx *ctx, struct mig_run *run,
	     const struct mig_payload *pl, size_t k,
	     const struct pg_result *res, bool rolled_back);
/* The statements that put a session back as migrations find it, one
 * query each; NULL past the last. */
const char *mig_restore_sql(struct dbops_ctx *ctx, const struct mig_run *run,
			    size_t i);
/* The history row's values for a migration file: version, description,
 * script, checksum; then its blob id (or NULL) and the history table's
 * name, for dbops.migration_sources when the run records them. */
#define MIG_ROW_PARAMS 6
void mig_row_params(const char *params[MIG_ROW_PARAMS], struct dbops_ctx *ctx,
		    const struct mig_run *run, const struct mig_file *f);
/* The INSERT of a history row for f, with its values inline: execution
 * time (SQL) and success. */
const char *mig_history_insert(struct dbops_ctx *ctx, const struct mig_run *run,
			       const struct mig_file *f, const char *exec_time,
			       bool success);
/* The INVALID indexes of the database, comma-separated, or NULL. */
const char *mig_invalid_indexes(struct dbops_ctx *ctx, struct mig_run *run);

#endif

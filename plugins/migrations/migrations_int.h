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
 * files directly. Only apply.c includes libpq, only sql.c libpg_query.
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

/* One statement of a migration, from libpg_query. */
struct mig_stmt {
	size_t offset;	  /* byte offset of the statement's first token */
	size_t len;	  /* bytes, up to (not including) the semicolon */
	uint32_t line;	  /* 1-based, of the first token */
	uint32_t col;	  /* 1-based, in characters */
	const char *node; /* top node type, "IndexStmt" */
	bool nontx;	  /* cannot run inside a transaction block */
	bool session;	  /* SET (not LOCAL) or RESET: outlives the migration */
};

/* A lint finding. */
struct mig_finding {
	const char *rule;
	const char *message; /* one line: what and why */
	const char *hint;    /* the fix */
	uint32_t line, col;
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
};

struct mig_spec {
	const char *lock_timeout;
	const char *statement_timeout;
	int64_t lock_wait_s;
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

struct mig_live_db {
	bool table_exists;
	struct mig_row *rows; /* by installed_rank */
	size_t nrows;
	const char *const *invalid_indexes; /* "schema.index" */
	size_t ninvalid;
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
	struct mig_live_db *hist;     /* re-read under the lock */
	const struct mig_row **byver; /* its versioned rows, by version */
	size_t nbyver;
	const char *qtable; /* "schema"."table", quoted */
};

enum mig_op {
	MIG_OP_MIGRATE = 0,
	MIG_OP_BASELINE,
	MIG_OP_REPAIR_CHECKSUM, /* UPDATE checksum/description/type */
	MIG_OP_REPAIR_DELETE,	/* DELETE a failed row */
	MIG_OP_REPAIR_MISSING,	/* INSERT a DELETE row */
	MIG_OP_CALLBACK,	/* a callback file: no history row */
};

struct mig_payload {
	enum mig_op op;
	struct mig_run *run;
	const struct mig_file *file; /* MIGRATE, REPAIR_CHECKSUM */
	const char *sql;	     /* after placeholder replacement */
	const struct mig_stmt *stmts;
	size_t nstmts;
	bool in_tx;
	bool resets; /* changes session settings: restore them afterwards */
	const struct mig_row *row; /* repair */
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
 * file turns them off. NULL, with the error raised, when a placeholder
 * has no value. */
const char *mig_file_sql(struct dbops_ctx *ctx, const struct mig_db *db,
			 const struct mig_file *f);
/* Java's String.hashCode and the Flyway advisory lock key of a table. */
int64_t mig_lock_key(const char *schema, const char *table);
/* List the files of every location of `db` and parse their names; with
 * `contents`, read them and their sidecar .conf files and checksum them
 * too. Badly named and duplicate migrations are errors. */
int mig_load_files(struct dbops_ctx *ctx, struct mig_db *db,
		   const struct dbops_node *locations, const char *cluster_dir,
		   bool contents);

/* ---- sql.c */

/* Split and parse `sql`. On a syntax error, DBOPS_ERR_INVALID with a
 * diagnostic at the file's line and column (file may be NULL). When
 * `findings` is not NULL, lint runs too. */
int mig_sql_parse(struct mig_stmt **stmts_out, size_t *n_out,
		  struct mig_finding **findings_out, size_t *nfindings_out,
		  struct dbops_ctx *ctx, const char *sql,
		  const struct mig_file *file, bool lock_timeout_set);
/* Whether the migration disables `rule` with "dbops:disable rule". */
bool mig_rule_disabled_inline(const char *sql, const char *rule);
/* The rule ids, NULL-terminated. */
extern const char *const mig_rule_ids[];
bool mig_rule_known(const char *id);

/* ---- validate.c */

enum mig_load {
	MIG_LOAD_SPEC = 0, /* the section only */
	MIG_LOAD_NAMES,	   /* and the file names (validate) */
	MIG_LOAD_FILES,	   /* and their contents (observe) */
};

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

/* ---- diff.c */

int mig_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	     void *live);

/* ---- apply.c */

int mig_apply(struct dbops_ctx *ctx, const struct dbops_change *change);
/* ABI 1.2: consecutive transactional migrations of a database go through
 * one pipeline; anything else one at a time, as mig_apply. */
int mig_apply_many(struct dbops_ctx *ctx,
		   const struct dbops_change *const *changes, size_t n);

#endif

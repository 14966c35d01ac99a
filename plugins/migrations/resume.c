/* SPDX-License-Identifier: PostgreSQL */
/*
 * resume.c — non-transactional migrations that an interruption (kill -9,
 * a lost connection, a signal) never leaves to be repaired by hand.
 *
 * Such a migration runs statement by statement, and each statement's
 * completion is recorded in dbops.migration_progress, in the migrated
 * database, on the migration's own connection:
 *  - a statement that can run in a transaction block runs in one together
 *    with the row that records it done: both commit, or neither;
 *  - one of the migration's own BEGIN ... COMMIT blocks gets the record
 *    just before its COMMIT;
 *  - a statement that cannot run in a transaction block (CREATE INDEX
 *    CONCURRENTLY, VACUUM, ...) is marked running first — with what a
 *    probe needs, such as the indexes its table had — runs alone, and is
 *    then marked done.
 * The next apply starts after the last statement done. The SET statements
 * before that point are run again, so that names resolve as they did;
 * then a statement marked running is probed (enum mig_probe): an index
 * left INVALID by an interrupted concurrent build is dropped concurrently
 * and built again, a valid one means the statement completed, a database
 * or tablespace that exists was created, a partition left "detach
 * pending" is finalized, and statements that are harmless to repeat run
 * again. The history row is written, and the progress row deleted, in one
 * transaction at the end.
 *
 * The records are written as the session's authenticated user, with no
 * statement timeout (SET LOCAL in each record's transaction), whatever
 * role or timeout the migration SET for itself.
 */
#include "migrations_int.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

static const char mig_progress_ddl[] =
    "CREATE SCHEMA IF NOT EXISTS dbops; "
    "CREATE TABLE IF NOT EXISTS dbops.migration_progress ("
    "history_table text NOT NULL, migration text NOT NULL, "
    "script text NOT NULL, checksum integer NOT NULL, "
    "statements integer NOT NULL, done integer NOT NULL DEFAULT 0, "
    "running integer, probe text, "
    "started_at timestamptz NOT NULL DEFAULT now(), "
    "updated_at timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (history_table, migration)); "
    "COMMENT ON TABLE dbops.migration_progress IS 'dbops: the statements "
    "completed of each non-transactional migration in progress'";

/* Every record runs as the authenticated user, never timed out. */
static const char mig_as_dbops[] = "SET LOCAL SESSION AUTHORIZATION DEFAULT";
static const char mig_no_timeout[] = "SET LOCAL statement_timeout = 0";

const char *mig_progress_key(struct dbops_ctx *ctx, const struct mig_file *f)
{
	if (f->name.kind == MIG_VERSIONED)
		return f->name.version.text;
	return dbops_host(ctx)->printf(ctx, "%s:%s",
				       f->name.kind == MIG_CALLBACK ? "C" : "R",
				       f->name.description);
}

/* ---- reading */

int mig_progress_read(struct mig_live_db *out, struct dbops_ctx *ctx,
		      struct dbops_conn *conn, const struct mig_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *params[1];
	int err;

	out->progress = NULL;
	out->nprogress = 0;
	err =
	    h->conn_query(&rows, ctx, conn,
			  "SELECT pg_catalog.to_regclass("
			  "'dbops.migration_progress') IS NOT NULL AS present",
			  0, NULL);
	if (err != 0)
		return err;
	if (h->rows_get(rows, 0, "present") == NULL ||
	    h->rows_get(rows, 0, "present")[0] != 't')
		return 0;
	params[0] = mig_qtable(ctx, db);
	err = h->conn_query(
	    &rows, ctx, conn,
	    "SELECT migration, script, checksum, statements, done, running, "
	    "probe FROM dbops.migration_progress WHERE history_table = $1 "
	    "ORDER BY migration",
	    1, params);
	if (err != 0)
		return err;
	out->progress =
	    h->alloc(ctx, ((size_t)rows->nrows + 1) * sizeof(*out->progress));
	for (int i = 0; i < rows->nrows; i++) {
		struct mig_progress *p = &out->progress[i];
		const char *running = h->rows_get(rows, i, "running");

		p->migration = h->rows_get(rows, i, "migration");
		p->script = h->rows_get(rows, i, "script");
		p->checksum =
		    (int32_t)strtol(h->rows_get(rows, i, "checksum"), NULL, 10);
		p->statements =
		    (int)strtol(h->rows_get(rows, i, "statements"), NULL, 10);
		p->done = (int)strtol(h->rows_get(rows, i, "done"), NULL, 10);
		p->running = running ? (int)strtol(running, NULL, 10) : -1;
		p->probe = h->rows_get(rows, i, "probe");
	}
	out->nprogress = (size_t)rows->nrows;
	return 0;
}

const struct mig_progress *mig_progress_of(struct dbops_ctx *ctx,
					   const struct mig_live_db *l,
					   const struct mig_file *f)
{
	const char *key = mig_progress_key(ctx, f);

	for (size_t i = 0; i < l->nprogress; i++)
		if (strcmp(l->progress[i].migration, key) == 0)
			return &l->progress[i];
	return NULL;
}

/* ---- running queries on the migration's connection */

/* Run sqls[0..n) in one pipeline with one Sync; the first failure, its
 * index and result in *failed_at and *failed (the caller clears it). A
 * transaction the failure left open is rolled back. False when the
 * connection broke. */
static bool mig_pipe(PGconn *pg, const char *const *sqls, size_t n,
		     size_t *failed_at, PGresult **failed)
{
	PGresult *res;
	bool broken = false;

	*failed = NULL;
	*failed_at = n;
	if (PQenterPipelineMode(pg) != 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!PQsendQueryParams(pg, sqls[i], 0, NULL, NULL, NULL, NULL,
				       0))
			broken = true;
	if (broken || PQpipelineSync(pg) != 1) {
		PQexitPipelineMode(pg);
		return false;
	}
	for (size_t i = 0; i < n && !broken; i++) {
		if ((res = PQgetResult(pg)) == NULL) {
			broken = true;
			break;
		}
		do {
			if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
			    *failed == NULL) {
				*failed = res;
				*failed_at = i;
			} else {
				PQclear(res);
			}
		} while ((res = PQgetResult(pg)) != NULL);
	}
	while (!broken && (res = PQgetResult(pg)) != NULL) {
		bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;

		PQclear(res);
		if (sync)
			break;
	}
	PQexitPipelineMode(pg);
	if (broken || PQstatus(pg) == CONNECTION_BAD)
		return false;
	if (PQtransactionStatus(pg) == PQTRANS_INERROR ||
	    (*failed != NULL && PQtransactionStatus(pg) == PQTRANS_INTRANS))
		PQclear(PQexec(pg, "ROLLBACK"));
	return true;
}

static int mig_lost(struct dbops_ctx *ctx, const struct mig_payload *pl,
		    PGconn *pg)
{
	dbops_host(ctx)->diag(
	    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, &pl->file->loc,
	    "lost the connection while migration \"%s\" ran: %s",
	    pl->file->script, PQerrorMessage(pg));
	return DBOPS_ERR_TRANSIENT;
}

static int mig_record_failed(struct dbops_ctx *ctx,
			     const struct mig_payload *pl, const PGresult *res)
{
	dbops_host(ctx)->diag(
	    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &pl->file->loc,
	    "could not record the progress of migration \"%s\": %s",
	    pl->file->script, PQresultErrorMessage(res));
	return DBOPS_ERR_GENERIC;
}

/* The UPDATE of this migration's progress row. */
static const char *mig_progress_set(struct dbops_ctx *ctx,
				    const struct mig_run *run,
				    const struct mig_payload *pl,
				    const char *assignments)
{
	const struct dbops_host *h = dbops_host(ctx);

	return h->printf(
	    ctx,
	    "UPDATE dbops.migration_progress SET %s, updated_at = now() WHERE history_table = %s AND migration = %s",
	    assignments, h->quote_literal(ctx, run->qtable),
	    h->quote_literal(ctx, mig_progress_key(ctx, pl->file)));
}

/* A record in a transaction of its own. */
static int mig_record(struct dbops_ctx *ctx, struct mig_run *run,
		      const struct mig_payload *pl, const char *assignments)
{
	PGconn *pg = dbops_host(ctx)->conn_pgconn(run->conn);
	const char *sqls[] = {"BEGIN", mig_as_dbops, mig_no_timeout,
			      mig_progress_set(ctx, run, pl, assignments),
			      "COMMIT"};
	PGresult *failed;
	size_t at;
	int err = 0;

	if (!mig_pipe(pg, sqls, 5, &at, &failed))
		return mig_lost(ctx, pl, pg);
	if (failed != NULL)
		err = mig_record_failed(ctx, pl, failed);
	PQclear(failed);
	return err;
}

/* ---- starting, and where to start */

static int mig_progress_begin(const struct mig_progress **out,
			      struct dbops_ctx *ctx, struct mig_run *run,
			      const struct mig_payload *pl)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_live_db now;
	const struct mig_progress *p;
	int err;

	if (!run->progress_ready) {
		if ((err = h->conn_query(NULL, ctx, run->conn, mig_progress_ddl,
					 0, NULL)) != 0)
			return err;
		run->progress_ready = true;
	}
	memset(&now, 0, sizeof(now));
	if ((err = mig_progress_read(&now, ctx, run->conn, run->db)) != 0)
		return err;
	p = mig_progress_of(ctx, &now, pl->file);
	if (p != NULL && (p->checksum != pl->file->checksum ||
			  p->statements != (int)pl->nstmts)) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &pl->file->loc,
		    "migration \"%s\" was interrupted after statement %d of %d, and its file has changed since",
		    pl->file->script, p->done, p->statements);

		h->diag_hint(
		    ctx, d,
		    "Restore the file as it was, or finish or undo the migration by hand and run \"dbops migrations repair\" to forget the interrupted run.");
		return DBOPS_ERR_CONFLICT;
	}
	if (p == NULL) {
		const char *sql = h->printf(
		    ctx,
		    "INSERT INTO dbops.migration_progress (history_table, migration, script, checksum, statements) VALUES (%s, %s, %s, %d, %zu)",
		    h->quote_literal(ctx, run->qtable),
		    h->quote_literal(ctx, mig_progress_key(ctx, pl->file)),
		    h->quote_literal(ctx, pl->file->script), pl->file->checksum,
		    pl->nstmts);

		if ((err = h->conn_query(NULL, ctx, run->conn, sql, 0, NULL)))
			return err;
	}
	*out = p;
	return 0;
}

/* Run again the SET statements before statement `start`. */
static int mig_replay_session(struct dbops_ctx *ctx, struct mig_run *run,
			      const struct mig_payload *pl, size_t start)
{
	PGconn *pg = dbops_host(ctx)->conn_pgconn(run->conn);

	for (size_t k = 0; k < start; k++) {
		const struct mig_stmt *st = &pl->stmts[k];
		const char *sql;
		PGresult *res;
		int err = 0;

		if (!st->session)
			continue;
		sql = dbops_host(ctx)->printf(ctx, "%.*s", (int)st->len,
					      pl->sql + st->offset);
		res = PQexec(pg, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			err = mig_fail(ctx, run, pl, k, res, false);
		PQclear(res);
		if (err != 0)
			return err;
	}
	return 0;
}

/* ---- probing a statement that was running */

enum mig_outcome {
	MIG_RUN,  /* run it (again) */
	MIG_DONE, /* it completed */
};

static const char *mig_qualified(struct dbops_ctx *ctx, const char *schema,
				 const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (schema != NULL)
		return h->printf(ctx, "%s.%s", h->quote_ident(ctx, schema),
				 h->quote_ident(ctx, name));
	return h->quote_ident(ctx, name);
}

static int mig_probe_query(struct dbops_rows **rows, struct dbops_ctx *ctx,
			   struct mig_run *run, const char *sql, int nparams,
			   const char *const *params)
{
	return dbops_host(ctx)->conn_query(rows, ctx, run->conn, sql, nparams,
					   params);
}

/* Drop the indexes of `rows` (column "idx", regclass text) concurrently. */
static int mig_drop_leftovers(struct dbops_ctx *ctx, struct mig_run *run,
			      const struct mig_payload *pl,
			      const struct dbops_rows *rows)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (int i = 0; i < rows->nrows; i++) {
		const char *idx = h->rows_get(rows, i, "idx");
		int err;

		h->log(
		    ctx, DBOPS_LOG_INFO,
		    "migration \"%s\": dropping index %s, left INVALID by the interrupted statement",
		    pl->file->script, idx);
		err = h->conn_query(
		    NULL, ctx, run->conn,
		    h->printf(ctx, "DROP INDEX CONCURRENTLY IF EXISTS %s", idx),
		    0, NULL);
		if (err != 0)
			return err;
	}
	return 0;
}

static int mig_probe_index(enum mig_outcome *out, struct dbops_ctx *ctx,
			   struct mig_run *run, const struct mig_payload *pl,
			   const struct mig_stmt *st,
			   const struct mig_progress *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL, *invalid;
	const char *params[3];
	int err;

	params[0] = mig_qualified(ctx, st->rel_schema, st->rel_name);
	params[1] = st->name;
	params[2] = p->probe != NULL ? p->probe : "";
	/* the index the statement built: by name in its table's schema, or
	 * those the table has now and did not have before */
	err = mig_probe_query(
	    &rows, ctx, run,
	    "SELECT i.indexrelid::regclass::text AS idx, i.indisvalid AS valid "
	    "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = "
	    "i.indexrelid WHERE i.indrelid = pg_catalog.to_regclass($1) AND "
	    "CASE WHEN $2::text IS NOT NULL THEN c.relname = $2 ELSE NOT "
	    "(i.indexrelid::text = ANY (pg_catalog.string_to_array($3, ','))) "
	    "END ORDER BY i.indisvalid DESC",
	    3, params);
	if (err != 0)
		return err;
	if (rows->nrows > 0 && h->rows_get(rows, 0, "valid")[0] == 't') {
		*out = MIG_DONE;
		return 0;
	}
	/* left INVALID by the interrupted build: dropped, and built again */
	*out = MIG_RUN;
	invalid = rows;
	return mig_drop_leftovers(ctx, run, pl, invalid);
}

static int mig_probe_reindex(struct dbops_ctx *ctx, struct mig_run *run,
			     const struct mig_payload *pl,
			     const struct mig_progress *p)
{
	struct dbops_rows *rows = NULL;
	const char *params[1];
	int err;

	/* REINDEX CONCURRENTLY leaves "<index>_ccnew" (and, past the swap,
	 * "_ccold") INVALID when interrupted; running it again is harmless */
	params[0] = p->probe != NULL ? p->probe : "";
	err = mig_probe_query(
	    &rows, ctx, run,
	    "SELECT i.indexrelid::regclass::text AS idx FROM "
	    "pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = "
	    "i.indexrelid WHERE NOT i.indisvalid AND c.relname ~ "
	    "'_cc(new|old)[0-9]*$' AND NOT (i.indexrelid::text = ANY "
	    "(pg_catalog.string_to_array($1, ',')))",
	    1, params);
	if (err != 0)
		return err;
	return mig_drop_leftovers(ctx, run, pl, rows);
}

static int mig_probe_exists(enum mig_outcome *out, struct dbops_ctx *ctx,
			    struct mig_run *run, const char *sql,
			    const char *name, bool done_when_present)
{
	struct dbops_rows *rows = NULL;
	const char *params[1] = {name};
	int err = mig_probe_query(&rows, ctx, run, sql, 1, params);

	if (err != 0)
		return err;
	*out = (rows->nrows > 0) == done_when_present ? MIG_DONE : MIG_RUN;
	return 0;
}

static int mig_probe_detach(enum mig_outcome *out, struct dbops_ctx *ctx,
			    struct mig_run *run, const struct mig_stmt *st)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *params[2];
	int err;

	params[0] = mig_qualified(ctx, st->schema, st->name);
	params[1] = mig_qualified(ctx, st->rel_schema, st->rel_name);
	err = mig_probe_query(
	    &rows, ctx, run,
	    "SELECT inhdetachpending AS pending FROM pg_catalog.pg_inherits "
	    "WHERE inhrelid = pg_catalog.to_regclass($1) AND inhparent = "
	    "pg_catalog.to_regclass($2)",
	    2, params);
	if (err != 0)
		return err;
	*out = rows->nrows == 0 ? MIG_DONE : MIG_RUN;
	if (rows->nrows == 1 && h->rows_get(rows, 0, "pending")[0] == 't') {
		/* the first transaction of the detach committed */
		err = h->conn_query(
		    NULL, ctx, run->conn,
		    h->printf(ctx,
			      "ALTER TABLE %s DETACH PARTITION %s FINALIZE",
			      params[1], params[0]),
		    0, NULL);
		*out = MIG_DONE;
	}
	return err;
}

/* What became of statement k, which was running when the last apply
 * stopped. */
static int mig_probe(enum mig_outcome *out, struct dbops_ctx *ctx,
		     struct mig_run *run, const struct mig_payload *pl,
		     size_t k, const struct mig_progress *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_stmt *st = &pl->stmts[k];
	bool named = st->name != NULL;

	*out = MIG_RUN;
	switch (st->probe) {
	case MIG_PROBE_NONE:
	case MIG_PROBE_RERUN:
	case MIG_PROBE_DROP_INDEX:
		break;
	case MIG_PROBE_CREATE_INDEX:
		if (st->rel_name == NULL)
			break;
		return mig_probe_index(out, ctx, run, pl, st, p);
	case MIG_PROBE_REINDEX:
		return mig_probe_reindex(ctx, run, pl, p);
	case MIG_PROBE_CREATE_DATABASE:
	case MIG_PROBE_DROP_DATABASE:
		if (!named)
			break;
		return mig_probe_exists(
		    out, ctx, run,
		    "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
		    st->name, st->probe == MIG_PROBE_CREATE_DATABASE);
	case MIG_PROBE_CREATE_TABLESPACE:
	case MIG_PROBE_DROP_TABLESPACE:
		if (!named)
			break;
		return mig_probe_exists(
		    out, ctx, run,
		    "SELECT 1 FROM pg_catalog.pg_tablespace WHERE spcname = $1",
		    st->name, st->probe == MIG_PROBE_CREATE_TABLESPACE);
	case MIG_PROBE_CREATE_SUBSCRIPTION:
	case MIG_PROBE_DROP_SUBSCRIPTION:
		if (!named)
			break;
		return mig_probe_exists(
		    out, ctx, run,
		    "SELECT 1 FROM pg_catalog.pg_subscription WHERE subname = "
		    "$1 AND subdbid = (SELECT oid FROM pg_catalog.pg_database "
		    "WHERE datname = pg_catalog.current_database())",
		    st->name, st->probe == MIG_PROBE_CREATE_SUBSCRIPTION);
	case MIG_PROBE_DETACH:
		if (!named || st->rel_name == NULL)
			break;
		return mig_probe_detach(out, ctx, run, st);
	}
	if (st->probe == MIG_PROBE_DROP_INDEX && named)
		return mig_probe_exists(
		    out, ctx, run,
		    "SELECT 1 WHERE pg_catalog.to_regclass($1) IS NOT NULL",
		    mig_qualified(ctx, st->schema, st->name), false);
	h->log(
	    ctx, DBOPS_LOG_INFO,
	    "migration \"%s\": statement %zu was interrupted; running it again",
	    pl->file->script, k + 1);
	return 0;
}

/* What the probe of statement k will need: the indexes its table has
 * (an unnamed CREATE INDEX CONCURRENTLY), or the INVALID indexes there
 * are (REINDEX CONCURRENTLY), as a SQL expression. */
static const char *mig_probe_snapshot(struct dbops_ctx *ctx,
				      const struct mig_stmt *st)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (st->probe == MIG_PROBE_CREATE_INDEX && st->rel_name != NULL)
		return h->printf(
		    ctx,
		    "(SELECT pg_catalog.string_agg(indexrelid::text, ',') FROM pg_catalog.pg_index WHERE indrelid = pg_catalog.to_regclass(%s))",
		    h->quote_literal(
			ctx, mig_qualified(ctx, st->rel_schema, st->rel_name)));
	if (st->probe == MIG_PROBE_REINDEX)
		return "(SELECT pg_catalog.string_agg(indexrelid::text, ',') "
		       "FROM pg_catalog.pg_index WHERE NOT indisvalid)";
	return "NULL";
}

/* ---- the statements */

static const char *mig_stmt_text(struct dbops_ctx *ctx,
				 const struct mig_payload *pl, size_t k)
{
	return dbops_host(ctx)->printf(ctx, "%.*s", (int)pl->stmts[k].len,
				       pl->sql + pl->stmts[k].offset);
}

/* A statement that cannot run in a transaction block: marked running,
 * run alone, marked done. */
static int mig_run_alone(struct dbops_ctx *ctx, struct mig_run *run,
			 const struct mig_payload *pl, size_t k)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *pg = h->conn_pgconn(run->conn);
	PGresult *res;
	ExecStatusType st;
	int err;

	err = mig_record(ctx, run, pl,
			 h->printf(ctx, "running = %zu, probe = %s", k,
				   mig_probe_snapshot(ctx, &pl->stmts[k])));
	if (err != 0)
		return err;
	res = PQexec(pg, mig_stmt_text(ctx, pl, k));
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
	    st != PGRES_EMPTY_QUERY) {
		err = PQstatus(pg) == CONNECTION_BAD
			  ? mig_lost(ctx, pl, pg)
			  : mig_fail(ctx, run, pl, k, res, false);
		PQclear(res);
		return err;
	}
	PQclear(res);
	return mig_record(ctx, run, pl,
			  h->printf(ctx, "done = %zu, running = NULL", k + 1));
}

/* Statements [k, end) — one statement, or one of the migration's own
 * BEGIN ... COMMIT blocks — committed together with their record. */
static int mig_run_recorded(struct dbops_ctx *ctx, struct mig_run *run,
			    const struct mig_payload *pl, size_t k, size_t end)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *pg = h->conn_pgconn(run->conn);
	bool block = pl->stmts[k].txctl == MIG_TXCTL_OPEN;
	enum mig_txctl close =
	    block ? pl->stmts[end - 1].txctl : MIG_TXCTL_NONE;
	/* the record goes before a COMMIT, in the block's transaction; after
	 * a ROLLBACK or PREPARE TRANSACTION, in one of its own */
	bool closes = close == MIG_TXCTL_COMMIT;
	bool rollback =
	    close == MIG_TXCTL_ROLLBACK || close == MIG_TXCTL_PREPARE;
	const char *last = closes ? mig_stmt_text(ctx, pl, end - 1) : NULL;
	const char **sqls = h->alloc(ctx, (end - k + 8) * sizeof(*sqls));
	const char *record = mig_progress_set(
	    ctx, run, pl, h->printf(ctx, "done = %zu, running = NULL", end));
	size_t n = 0, first = 0, at;
	PGresult *failed;
	int err = 0;

	if (!block)
		sqls[n++] = "BEGIN";
	first = n;
	for (size_t i = k; i < end - (closes && !rollback ? 1 : 0); i++)
		sqls[n++] = mig_stmt_text(ctx, pl, i);
	if (rollback)
		sqls[n++] = "BEGIN";
	sqls[n++] = mig_as_dbops;
	sqls[n++] = mig_no_timeout;
	sqls[n++] = record;
	sqls[n++] = closes && !rollback ? last : "COMMIT";
	if (!mig_pipe(pg, sqls, n, &at, &failed))
		return mig_lost(ctx, pl, pg);
	if (failed == NULL)
		return 0;
	if (at >= first && at < first + (end - k))
		err = mig_fail(ctx, run, pl, k + (at - first), failed, true);
	else if (at == n - 1 && closes && !rollback)
		err = mig_fail(ctx, run, pl, end - 1, failed, true);
	else
		err = mig_record_failed(ctx, pl, failed);
	PQclear(failed);
	return err;
}

/* The end of the unit starting at statement k. */
static size_t mig_unit_end(const struct mig_payload *pl, size_t k)
{
	if (pl->stmts[k].txctl != MIG_TXCTL_OPEN)
		return k + 1;
	for (size_t i = k + 1; i < pl->nstmts; i++)
		if (pl->stmts[i].txctl == MIG_TXCTL_COMMIT ||
		    pl->stmts[i].txctl == MIG_TXCTL_ROLLBACK ||
		    pl->stmts[i].txctl == MIG_TXCTL_PREPARE)
			return i + 1;
	return pl->nstmts;
}

static int mig_stopped(struct dbops_ctx *ctx, const struct mig_payload *pl,
		       size_t k)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d = h->diag(
	    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CANCELLED, &pl->file->loc,
	    "migration \"%s\" stopped after statement %zu of %zu: the apply was interrupted",
	    pl->file->script, k, pl->nstmts);

	h->diag_detail(
	    ctx, d,
	    "The statements done are recorded; the next apply resumes the migration at statement %zu.",
	    k + 1);
	return DBOPS_ERR_CANCELLED;
}

/* Write the history row (success or not) — as dbops' own role, after the
 * session is put back — and, on success, forget the progress, in one
 * transaction. A callback has no history row. */
static int mig_finish(struct dbops_ctx *ctx, struct mig_run *run,
		      const struct mig_payload *pl, double t0, bool ok)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *pg = h->conn_pgconn(run->conn);
	const char *sqls[4];
	PGresult *failed = NULL;
	size_t at, n = 0;
	int err = 0;

	for (size_t i = 0; pl->resets && mig_restore_sql(ctx, run, i); i++)
		PQclear(PQexec(pg, mig_restore_sql(ctx, run, i)));
	sqls[n++] = "BEGIN";
	if (pl->op == MIG_OP_MIGRATE)
		sqls[n++] = mig_history_insert(
		    ctx, run, pl->file,
		    h->printf(ctx, "%d", (int)(mig_now_ms() - t0)), ok);
	if (ok)
		sqls[n++] = h->printf(
		    ctx,
		    "DELETE FROM dbops.migration_progress WHERE history_table = %s AND migration = %s",
		    h->quote_literal(ctx, run->qtable),
		    h->quote_literal(ctx, mig_progress_key(ctx, pl->file)));
	sqls[n++] = "COMMIT";
	if (!mig_pipe(pg, sqls, n, &at, &failed))
		return mig_lost(ctx, pl, pg);
	if (failed != NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &pl->file->loc,
			"could not record migration \"%s\": %s",
			pl->file->script, PQresultErrorMessage(failed));
		err = DBOPS_ERR_GENERIC;
	}
	PQclear(failed);
	return err;
}

int mig_run_nontx(struct dbops_ctx *ctx, struct mig_run *run,
		  const struct mig_payload *pl)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *pg = h->conn_pgconn(run->conn);
	const struct mig_progress *p = NULL;
	const char *before;
	double t0 = mig_now_ms();
	size_t k;
	int err;

	if (pg == NULL)
		return mig_lost(ctx, pl, pg);
	if ((err = mig_progress_begin(&p, ctx, run, pl)) != 0)
		return err;
	if (pl->unprepares)
		run->prepared = false; /* prepared again when next needed */
	k = p != NULL ? (size_t)p->done : 0;
	if (k > 0 || (p != NULL && p->running >= 0))
		h->log(ctx, DBOPS_LOG_INFO,
		       "migration \"%s\" resumes at statement %zu of %zu",
		       pl->file->script, k + 1, pl->nstmts);
	else if ((before = mig_invalid_indexes(ctx, run)) != NULL)
		h->log(
		    ctx, DBOPS_LOG_WARNING,
		    "database \"%s\" has INVALID indexes before migration \"%s\": %s",
		    run->db->database, pl->file->script, before);
	if ((err = mig_replay_session(ctx, run, pl, k)) != 0)
		return err;
	if (p != NULL && p->running >= 0 && (size_t)p->running == k &&
	    k < pl->nstmts) {
		enum mig_outcome o;

		if ((err = mig_probe(&o, ctx, run, pl, k, p)) != 0)
			return err;
		if (o == MIG_DONE) {
			h->log(ctx, DBOPS_LOG_INFO,
			       "migration \"%s\": statement %zu had completed",
			       pl->file->script, k + 1);
			err = mig_record(ctx, run, pl,
					 h->printf(ctx,
						   "done = %zu, running = NULL",
						   k + 1));
			if (err != 0)
				return err;
			k++;
		}
	}
	while (k < pl->nstmts) {
		size_t end = mig_unit_end(pl, k);

		if (h->cancelled(ctx))
			return mig_stopped(ctx, pl, k);
		err = pl->stmts[k].nontx && end == k + 1
			  ? mig_run_alone(ctx, run, pl, k)
			  : mig_run_recorded(ctx, run, pl, k, end);
		if (err == DBOPS_ERR_TRANSIENT)
			return err; /* the connection is gone */
		if (err != 0) {
			/* Flyway records the failure; the progress stays, so
			 * that after a repair the migration resumes here */
			mig_finish(ctx, run, pl, t0, false);
			return err;
		}
		k = end;
	}
	if (PQtransactionStatus(pg) == PQTRANS_INTRANS) {
		PQclear(PQexec(pg, "ROLLBACK"));
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &pl->file->loc,
			"migration \"%s\" left a transaction open",
			pl->file->script);
		mig_finish(ctx, run, pl, t0, false);
		return DBOPS_ERR_GENERIC;
	}
	return mig_finish(ctx, run, pl, t0, true);
}

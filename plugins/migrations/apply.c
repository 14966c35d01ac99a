/* SPDX-License-Identifier: PostgreSQL */
/*
 * apply.c — running one migration change on its database's connection.
 *
 * The first change of a database takes the migration lock, Flyway's
 * advisory lock key for the history table, by polling
 * pg_try_advisory_lock (a session blocked in pg_advisory_lock would
 * deadlock a CREATE INDEX CONCURRENTLY of the holder), keeps it until the
 * pass ends, sets lock_timeout and statement_timeout, creates the history
 * table if needed and reads the history again: a migration another
 * deployer applied meanwhile is skipped, so nothing runs twice.
 *
 * A transactional migration is sent in one libpq pipeline — BEGIN, each
 * statement, the history row, COMMIT — so it costs one round trip; on a
 * failure everything is rolled back and no row is written (Flyway on
 * PostgreSQL does the same). A non-transactional migration runs
 * statement by statement with its progress recorded, and resumes where
 * it stopped (resume.c); a failure part-way is recorded as a row with
 * success = false, as Flyway does, and INVALID indexes left by a failed
 * concurrent build are named in the error.
 */
#include "change.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double mig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void mig_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The history insert is prepared once per run, under a new name each
 * time a migration deallocated it (DISCARD ALL, DEALLOCATE ALL). */
#define MIG_INSERT_NAME "dbops_migrations_history_insert_%u"

/* The history row: table, version, description, script, checksum (SQL
 * expressions: parameters or literals), execution time, success, table. */
static const char mig_insert_fmt[] =
    "INSERT INTO %s (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) SELECT coalesce(max(installed_rank), 0) + 1, %s, %s, 'SQL', %s, %s::integer, current_user, %s, %s FROM %s";

/* Flyway cuts long descriptions to 197 characters plus "...", and long
 * scripts to 1,000 characters with "..." in front. */
static const char *mig_cut_description(struct dbops_ctx *ctx, const char *s)
{
	if (strlen(s) <= 200)
		return s;
	return dbops_host(ctx)->printf(ctx, "%.197s...", s);
}

static const char *mig_cut_script(struct dbops_ctx *ctx, const char *s)
{
	size_t n = strlen(s);

	if (n <= 1000)
		return s;
	return dbops_host(ctx)->printf(ctx, "...%s", s + n - 997);
}

static int mig_ensure_table(struct dbops_ctx *ctx, struct mig_run *run)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *t = run->qtable;
	const char *pk =
	    h->quote_ident(ctx, h->printf(ctx, "%s_pk", run->db->hist_table));
	const char *idx = h->quote_ident(
	    ctx, h->printf(ctx, "%s_s_idx", run->db->hist_table));
	const char *sql;

	if (run->hist->table_exists)
		return 0;
	/* Flyway's own DDL (PostgreSQLDatabase), in one implicit
	 * transaction */
	sql = h->printf(
	    ctx,
	    "CREATE SCHEMA IF NOT EXISTS %s; CREATE TABLE %s (installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL); ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY (installed_rank); CREATE INDEX %s ON %s (success)",
	    h->quote_ident(ctx, run->db->hist_schema), t, t, pk, idx, t);
	if (h->conn_query(NULL, ctx, run->conn, sql, 0, NULL) != 0)
		return DBOPS_ERR_GENERIC;
	run->hist->table_exists = true;
	return 0;
}

static int mig_row_cmp(const void *x, const void *y)
{
	const struct mig_row *a = *(const struct mig_row *const *)x;
	const struct mig_row *b = *(const struct mig_row *const *)y;
	int c = mig_version_cmp(&a->v, &b->v);

	return c != 0 ? c : (a->rank > b->rank) - (a->rank < b->rank);
}

/* Index the versioned rows of the history by version, then rank, so
 * that each precondition check costs O(log n) however long the history
 * is. */
static void mig_index_rows(struct dbops_ctx *ctx, struct mig_run *run)
{
	const struct mig_live_db *l = run->hist;
	const struct mig_row **v =
	    dbops_host(ctx)->alloc(ctx, (l->nrows + 1) * sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < l->nrows; i++)
		if (l->rows[i].version != NULL && l->rows[i].v.parts != NULL)
			v[n++] = &l->rows[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), mig_row_cmp);
	run->byver = v;
	run->nbyver = n;
}

/* The last row (highest rank) of a version, or NULL. */
static const struct mig_row *mig_last_of(const struct mig_run *run,
					 const struct mig_version *v)
{
	size_t lo = 0, hi = run->nbyver;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (mig_version_cmp(&run->byver[mid]->v, v) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || mig_version_cmp(&run->byver[lo - 1]->v, v) != 0)
		return NULL;
	return run->byver[lo - 1];
}

static int mig_lock(struct dbops_ctx *ctx, struct mig_run *run)
{
	const struct dbops_host *h = dbops_host(ctx);
	int64_t key = mig_lock_key(run->db->hist_schema, run->db->hist_table);
	const char *params[1];
	double deadline;
	bool said = false;
	int err;

	if (run->locked)
		return 0;
	params[0] = h->printf(ctx, "%lld", (long long)key);
	deadline = mig_now_ms() + (double)run->spec->lock_wait_s * 1000.0;
	for (;;) {
		struct dbops_rows *rows = NULL;
		const char *got;

		err = h->conn_query(
		    &rows, ctx, run->conn,
		    "SELECT pg_catalog.pg_try_advisory_lock($1::bigint) AS got",
		    1, params);
		if (err != 0)
			return err;
		got = h->rows_get(rows, 0, "got");
		if (got != NULL && got[0] == 't')
			break;
		if (mig_now_ms() >= deadline || h->cancelled(ctx)) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_LOCKED,
			    &run->db->loc,
			    "could not take the migration lock of database \"%s\" within %lld seconds",
			    run->db->database,
			    (long long)run->spec->lock_wait_s);

			h->diag_detail(
			    ctx, d,
			    "Another deployer (dbops or Flyway) holds advisory lock %lld.",
			    (long long)key);
			h->diag_hint(
			    ctx, d,
			    "Wait for it to finish, or raise migrations.lock_wait.");
			return DBOPS_ERR_LOCKED;
		}
		if (!said) {
			h->log(
			    ctx, DBOPS_LOG_INFO,
			    "waiting for the migration lock of database \"%s\"",
			    run->db->database);
			said = true;
		}
		mig_sleep_ms(100);
	}
	run->locked = true;
	/* the session every migration starts in (mig_restore_sql) */
	for (size_t i = 2; mig_restore_sql(ctx, run, i) != NULL; i++)
		if ((err = h->conn_query(NULL, ctx, run->conn,
					 mig_restore_sql(ctx, run, i), 0,
					 NULL)) != 0)
			return err;
	/* the history as it is now that nobody else can write it */
	run->hist = h->alloc(ctx, sizeof(*run->hist));
	if ((err = mig_history_read(run->hist, ctx, run->conn, run->db)) != 0)
		return err;
	mig_index_rows(ctx, run);
	if ((err = mig_ensure_table(ctx, run)) != 0)
		return err;
	return mig_sources_setup(ctx, run);
}

static int mig_run_open(struct dbops_ctx *ctx, struct mig_run *run)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (run->conn == NULL) {
		int err = h->conn_open(&run->conn, ctx,
				       mig_conninfo(ctx, run->db->database),
				       DBOPS_CONN_SAME_CLUSTER);

		if (err != 0)
			return err;
	}
	return mig_lock(ctx, run);
}

/* Whether the history (re-read under the lock) already holds the
 * migration; a failed row for it is an error. */
static int mig_already(bool *done, struct dbops_ctx *ctx,
		       const struct mig_run *run, const struct mig_file *f)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_live_db *l = run->hist;
	const struct mig_row *r = NULL;

	*done = false;
	if (f->name.kind == MIG_VERSIONED) {
		r = mig_last_of(run, &f->name.version);
	} else {
		for (size_t i = l->nrows; i > 0 && r == NULL; i--)
			if (l->rows[i - 1].version == NULL &&
			    strcmp(l->rows[i - 1].description,
				   f->name.description) == 0)
				r = &l->rows[i - 1];
	}
	if (r == NULL || strcmp(r->type, "DELETE") == 0)
		return 0;
	if (!r->success) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &f->loc,
			"migration \"%s\" is recorded as failed in the history",
			f->script);
		return DBOPS_ERR_CONFLICT;
	}
	*done = f->name.kind == MIG_VERSIONED ||
		(r->has_checksum && r->checksum == f->checksum);
	return 0;
}

/* Line and column in the file of a character position (1-based) inside
 * statement `s`. */
static void mig_error_loc(struct dbops_loc *loc, const char *sql,
			  const struct mig_stmt *s, const char *position)
{
	long pos = position ? strtol(position, NULL, 10) : 0;
	size_t i = s->offset;

	loc->line = s->line;
	loc->col = s->col;
	for (long chars = 1; pos > 0 && chars < pos && i < s->offset + s->len;
	     i++) {
		unsigned char c = (unsigned char)sql[i];

		if ((c & 0xC0) == 0x80)
			continue;
		chars++;
		if (c == '\n') {
			loc->line++;
			loc->col = 1;
		} else {
			loc->col++;
		}
	}
}

const char *mig_invalid_indexes(struct dbops_ctx *ctx, struct mig_run *run)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *const *names = NULL;
	const char *list = NULL;
	size_t n = 0;

	if (mig_invalid_read(&names, &n, ctx, run->conn) != 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		list =
		    list ? h->printf(ctx, "%s, %s", list, names[i]) : names[i];
	return list;
}

int mig_fail(struct dbops_ctx *ctx, struct mig_run *run,
	     const struct mig_payload *pl, size_t k, const PGresult *res,
	     bool rolled_back)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_stmt *s = &pl->stmts[k];
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	const char *invalid = NULL;
	struct dbops_loc loc = pl->file->loc;
	struct dbops_diag *d;
	int slen = (int)(s->len > 300 ? 300 : s->len);

	mig_error_loc(&loc, pl->sql, s,
		      PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION));
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &loc,
		    "%s \"%s\" failed at line %u: %s",
		    pl->op == MIG_OP_CALLBACK ? "callback" : "migration",
		    pl->file->script, loc.line,
		    msg ? msg : PQresultErrorMessage(res));
	if (state != NULL)
		memcpy(d->sqlstate, state,
		       strlen(state) < 6 ? strlen(state) : 5);
	if (!rolled_back)
		invalid = mig_invalid_indexes(ctx, run);
	h->diag_detail(
	    ctx, d, "%s%s%s%s%s The statement was: %.*s%s",
	    detail ? detail : "", detail ? " " : "",
	    rolled_back && !pl->in_tx
		? "The migration runs outside a transaction: this statement was rolled back, the statements before it are done and recorded."
	    : rolled_back
		? "The migration was rolled back; nothing of it was kept."
		: "The migration runs outside a transaction: the statements before this one are done and recorded, and the history records it as failed.",
	    invalid ? " INVALID indexes now in the database: " : "",
	    invalid ? h->printf(ctx, "%s.", invalid) : "", slen,
	    pl->sql + s->offset, (size_t)slen < s->len ? "..." : "");
	if (hint != NULL)
		h->diag_hint(ctx, d, "%s", hint);
	else if (!pl->in_tx)
		h->diag_hint(
		    ctx, d,
		    "Fix the cause, run \"dbops migrations repair\" to remove the failed row, and apply again: the migration resumes at this statement (an INVALID index it left is rebuilt).");
	return DBOPS_ERR_GENERIC;
}

static int mig_pipeline_error(struct dbops_ctx *ctx, PGconn *pg)
{
	dbops_host(ctx)->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
			      "could not send migration: %s",
			      PQerrorMessage(pg));
	return DBOPS_ERR_TRANSIENT;
}

/*
 * A migration that SETs something for the session (search_path, a role, a
 * timeout) would otherwise change the session every later migration of the
 * pass runs in, so the same migrations would behave differently applied
 * together or one run at a time. After it, the session is put back as the
 * migration found it (Flyway restores the role and search path too): the
 * statements below, one query each. NULL past the last.
 */
const char *mig_restore_sql(struct dbops_ctx *ctx, const struct mig_run *run,
			    size_t i)
{
	const struct dbops_host *h = dbops_host(ctx);

	switch (i) {
	case 0:
		return "SET SESSION AUTHORIZATION DEFAULT";
	case 1:
		return "RESET ALL";
	case 2:
		return h->printf(
		    ctx, "SET lock_timeout = %s",
		    h->quote_literal(ctx, run->spec->lock_timeout));
	case 3:
		return h->printf(
		    ctx, "SET statement_timeout = %s",
		    h->quote_literal(ctx, run->spec->statement_timeout));
	case 4:
		/* a backend whose dbops was killed stops its statement within
		 * a second and releases the migration lock (PostgreSQL 14) */
		return h->server_version(ctx) >= 140000
			   ? "SET client_connection_check_interval = '1s'"
			   : NULL;
	default:
		return NULL;
	}
}

/* The history row and, when the run records them, the blob it was read
 * from in the same statement (sources.c): v holds SQL expressions. */
static const char *mig_row_sql(struct dbops_ctx *ctx, const struct mig_run *run,
			       const char *const v[MIG_ROW_PARAMS],
			       const char *exec_time, const char *success)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *row =
	    h->printf(ctx, mig_insert_fmt, run->qtable, v[0], v[1], v[2], v[3],
		      exec_time, success, run->qtable);

	if (!run->sources)
		return row;
	return h->printf(
	    ctx,
	    "WITH h AS (%s RETURNING installed_rank, checksum) INSERT INTO dbops.migration_sources (history_table, installed_rank, blob_id, checksum) SELECT %s::text, installed_rank, %s::text, checksum FROM h WHERE %s::text IS NOT NULL AND checksum IS NOT NULL ON CONFLICT (history_table, installed_rank) DO UPDATE SET blob_id = EXCLUDED.blob_id, checksum = EXCLUDED.checksum, recorded_at = now()",
	    row, v[5], v[4], v[4]);
}

const char *mig_history_insert(struct dbops_ctx *ctx, const struct mig_run *run,
			       const struct mig_file *f, const char *exec_time,
			       bool success)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *v[MIG_ROW_PARAMS];

	mig_row_params(v, ctx, run, f);
	if (!success)
		v[4] = NULL; /* only what was applied is known by its id */
	for (int i = 0; i < MIG_ROW_PARAMS; i++)
		v[i] = v[i] != NULL ? h->quote_literal(ctx, v[i]) : "NULL";
	return mig_row_sql(ctx, run, v, exec_time, success ? "true" : "false");
}

static const char *mig_insert_sql(struct dbops_ctx *ctx,
				  const struct mig_run *run)
{
	static const char *const v[MIG_ROW_PARAMS] = {"$1", "$2", "$3",
						      "$4", "$5", "$6"};

	return mig_row_sql(
	    ctx, run, v,
	    "(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer",
	    "true");
}

/* How many parameters the prepared insert takes. */
static int mig_insert_nparams(const struct mig_run *run)
{
	return run->sources ? MIG_ROW_PARAMS : 4;
}

static const char *mig_insert_name(struct dbops_ctx *ctx, struct mig_run *run)
{
	run->insert_name =
	    dbops_host(ctx)->printf(ctx, MIG_INSERT_NAME, ++run->ninserts);
	return run->insert_name;
}

static int mig_prepare_insert(struct dbops_ctx *ctx, struct mig_run *run,
			      PGconn *pg)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGresult *res;

	if (run->prepared)
		return 0;
	/* parsed and planned once per run, not per migration */
	res = PQprepare(pg, mig_insert_name(ctx, run), mig_insert_sql(ctx, run),
			mig_insert_nparams(run), NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &run->db->loc,
			"could not prepare the history insert: %s",
			PQresultErrorMessage(res));
		PQclear(res);
		return DBOPS_ERR_GENERIC;
	}
	PQclear(res);
	run->prepared = true;
	return 0;
}

void mig_row_params(const char *params[MIG_ROW_PARAMS], struct dbops_ctx *ctx,
		    const struct mig_run *run, const struct mig_file *f)
{
	const struct dbops_host *h = dbops_host(ctx);

	params[0] = f->name.kind == MIG_VERSIONED ? f->name.version.text : NULL;
	params[1] = mig_cut_description(ctx, f->name.description);
	params[2] = mig_cut_script(ctx, f->script);
	params[3] = h->printf(ctx, "%d", f->checksum);
	params[4] = f->blob_id;
	params[5] = run->qtable;
}

/*
 * Transactional migrations in one libpq pipeline.
 *
 * Each migration is sent as BEGIN, its statements, the history row and
 * COMMIT, followed by a flush request, and up to MIG_WINDOW migrations
 * (or MIG_WINDOW_BYTES of SQL, or about MIG_WINDOW_MS of their measured
 * time) are in flight: the server runs one while
 * the client reads the result of the one before and sends the next, and
 * no round trip is paid per statement or per migration. There is one
 * Sync, at the end. When a statement fails, the server skips everything
 * after it up to that Sync, so the migrations sent after the failed one
 * never run, and those committed before it stay committed, exactly as if
 * they had been sent one at a time. Sending blocks only while the
 * server is busy; libpq reads what the server sends meanwhile, so a
 * migration raising many notices cannot deadlock the pipeline.
 */
#define MIG_WINDOW	 64
#define MIG_WINDOW_BYTES (4u << 20)
/* Work queued behind the running migration is limited to about this much
 * of measured time, so that after an interrupt dbops stops within the
 * running migration and at most this much more (issue: a signal must
 * stop an apply promptly, and sent migrations cannot be called back). */
#define MIG_WINDOW_MS 1000.0

/* How many migrations may be in flight: until one has been timed, one;
 * then as many as fit in MIG_WINDOW_MS at the pace measured, the slowest
 * of the average and the last one counting. */
static size_t mig_window(const struct mig_run *run, double last_ms)
{
	double pace = run->avg_ms > last_ms ? run->avg_ms : last_ms;
	double w;

	if (pace <= 0)
		return 1;
	w = MIG_WINDOW_MS / pace;
	if (w < 1)
		return 1;
	return w > MIG_WINDOW ? MIG_WINDOW : (size_t)w;
}

typedef void (*mig_report_fn)(struct dbops_ctx *ctx, void *arg, size_t k,
			      int err);

struct mig_flight {
	const struct mig_payload *pl;
	size_t nq;	/* queries sent: BEGIN, statements, row, COMMIT */
	size_t bytes;	/* of SQL */
	bool skip;	/* applied meanwhile: nothing sent */
	bool row;	/* the history row was sent (not for a callback) */
	size_t nrecord; /* queries of the record: a SET LOCAL, the row */
	int pre_err;	/* the history forbids it: nothing sent */
	double sent_ms;
};

/* The results of the next query of the pipeline; the first error result
 * is kept in *failed. False when there is none (the connection broke). */
static bool mig_next_result(PGconn *pg, PGresult **failed)
{
	PGresult *res = PQgetResult(pg);

	if (res == NULL)
		return false;
	do {
		if (PQresultStatus(res) == PGRES_FATAL_ERROR && *failed == NULL)
			*failed = res;
		else
			PQclear(res);
	} while ((res = PQgetResult(pg)) != NULL);
	return true;
}

/* End the pipeline: Sync, drain, leave pipeline mode; roll back the
 * transaction a failure left open. */
static bool mig_pipeline_end(PGconn *pg, bool failed)
{
	PGresult *res;
	bool synced = false;

	if (PQpipelineSync(pg) != 1)
		return false;
	for (int nulls = 0; nulls < 2 && !synced;) {
		res = PQgetResult(pg);
		if (res == NULL) {
			/* between the results of two queries; twice in a row
			 * when nothing more is coming */
			if (PQstatus(pg) == CONNECTION_BAD)
				break;
			nulls++;
			continue;
		}
		nulls = 0;
		synced = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
	}
	PQexitPipelineMode(pg);
	if (failed)
		PQclear(PQexec(pg, "ROLLBACK"));
	return synced;
}

/* Whether a migration sets anything (statement_timeout among what it
 * may set), SET or SET LOCAL. */
static bool mig_sets_timeouts(const struct mig_payload *pl)
{
	for (size_t k = 0; k < pl->nstmts; k++)
		if (pl->stmts[k].node != NULL &&
		    strcmp(pl->stmts[k].node, "VariableSetStmt") == 0)
			return true;
	return false;
}

static int mig_send(struct dbops_ctx *ctx, PGconn *pg, struct mig_flight *fl)
{
	const struct mig_payload *pl = fl->pl;
	const char *params[MIG_ROW_PARAMS];
	int nparams = mig_insert_nparams(pl->run);

	mig_row_params(params, ctx, pl->run, pl->file);
	if (!PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
		return -1;
	fl->nq = 1;
	for (size_t k = 0; k < pl->nstmts; k++) {
		const char *stmt = mig_strndup(
		    ctx, pl->sql + pl->stmts[k].offset, pl->stmts[k].len);

		if (!PQsendQueryParams(pg, stmt, 0, NULL, NULL, NULL, NULL, 0))
			return -1;
		fl->nq++;
		fl->bytes += pl->stmts[k].len;
	}
	fl->row = pl->op == MIG_OP_MIGRATE; /* a callback leaves no row */
	fl->nrecord = 0;
	if (fl->row && mig_sets_timeouts(pl)) {
		/* the migration's own statement_timeout (SET or SET LOCAL)
		 * must not cancel its record */
		if (!PQsendQueryParams(pg, "SET LOCAL statement_timeout = 0", 0,
				       NULL, NULL, NULL, NULL, 0))
			return -1;
		fl->nq++;
		fl->nrecord++;
	}
	if (fl->row && pl->unprepares) {
		/* the migration deallocated the prepared insert */
		if (!PQsendQueryParams(pg, mig_insert_sql(ctx, pl->run),
				       nparams, NULL, params, NULL, NULL, 0))
			return -1;
		fl->nq++;
		fl->nrecord++;
	} else if (fl->row) {
		if (!PQsendQueryPrepared(pg, pl->run->insert_name, nparams,
					 params, NULL, NULL, 0))
			return -1;
		fl->nq++;
		fl->nrecord++;
	}
	if (!PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
		return -1;
	fl->nq++;
	for (size_t i = 0; pl->resets && mig_restore_sql(ctx, pl->run, i);
	     i++) {
		if (!PQsendQueryParams(pg, mig_restore_sql(ctx, pl->run, i), 0,
				       NULL, NULL, NULL, NULL, 0))
			return -1;
		fl->nq++;
	}
	if (pl->unprepares) {
		/* for the migrations sent after it (a deallocation is not
		 * undone by a rollback) */
		if (!PQsendPrepare(pg, mig_insert_name(ctx, pl->run),
				   mig_insert_sql(ctx, pl->run), nparams, NULL))
			return -1;
		fl->nq++;
	}
	if (!PQsendFlushRequest(pg) || PQflush(pg) < 0)
		return -1;
	return 0;
}

/* Read the results of one migration in flight: 0, or its failure
 * (reported as a diagnostic). */
static int mig_receive(struct dbops_ctx *ctx, PGconn *pg,
		       const struct mig_flight *fl, bool *broken)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_payload *pl = fl->pl;
	PGresult *failed = NULL;
	size_t failed_at = 0;
	int err;

	for (size_t q = 0; q < fl->nq; q++) {
		bool had = failed != NULL;

		if (!mig_next_result(pg, &failed)) {
			*broken = true;
			break;
		}
		if (!had && failed != NULL)
			failed_at = q;
	}
	if (failed == NULL && !*broken)
		return 0;
	if (failed == NULL || PQstatus(pg) == CONNECTION_BAD) {
		*broken = true;
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT,
			&pl->file->loc,
			"lost the connection while migration \"%s\" ran: %s",
			pl->file->script, PQerrorMessage(pg));
		PQclear(failed);
		return DBOPS_ERR_TRANSIENT;
	}
	if (failed_at >= 1 && failed_at <= pl->nstmts) {
		err = mig_fail(ctx, pl->run, pl, failed_at - 1, failed, true);
	} else {
		/* BEGIN, statements, the record (a SET LOCAL, the row),
		 * COMMIT, restore */
		size_t commit_at = pl->nstmts + 1 + fl->nrecord;

		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &pl->file->loc,
		    failed_at > commit_at
			? "migration \"%s\" was applied, but the session could not be restored after it: %s"
		    : failed_at == commit_at
			? "could not commit migration \"%s\": %s"
			: "could not record migration \"%s\": %s",
		    pl->file->script, PQresultErrorMessage(failed));
		err = DBOPS_ERR_GENERIC;
	}
	PQclear(failed);
	return err;
}

/*
 * Run changes[0..n), transactional migrations of one run, reporting each
 * (k counted from `base`) in order. *ndone is how many were reported.
 */
static int mig_pipeline(struct dbops_ctx *ctx,
			const struct dbops_change *const *changes, size_t n,
			size_t base, mig_report_fn report, void *arg,
			size_t *ndone)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_run *run =
	    ((const struct mig_payload *)changes[0]->payload)->run;
	PGconn *pg = h->conn_pgconn(run->conn);
	struct mig_flight *fl = h->alloc(ctx, n * sizeof(*fl));
	size_t sent = 0, head = 0, inflight_bytes = 0;
	double t_prev = mig_now_ms(), last_ms = 0;
	bool broken = false, stop = false, open_tx = false;
	int err = 0;

	*ndone = 0;
	if (pg == NULL)
		return mig_pipeline_error(ctx, pg);
	if ((err = mig_prepare_insert(ctx, run, pg)) != 0)
		return err;
	if (PQenterPipelineMode(pg) != 1)
		return mig_pipeline_error(ctx, pg);
	for (;;) {
		struct mig_flight *f;

		while (sent < n && !stop &&
		       sent - head < mig_window(run, last_ms) &&
		       inflight_bytes < MIG_WINDOW_BYTES) {
			bool done = false;

			f = &fl[sent];
			if (h->cancelled(ctx)) {
				stop = true;
				break;
			}
			f->pl = changes[sent]->payload;
			if (f->pl->op == MIG_OP_MIGRATE)
				f->pre_err =
				    mig_already(&done, ctx, run, f->pl->file);
			sent++;
			if (f->pre_err != 0) {
				stop = true; /* reported when its turn comes */
				break;
			}
			if (done) {
				f->skip = true;
				continue;
			}
			f->sent_ms = mig_now_ms();
			if (mig_send(ctx, pg, f) != 0) {
				stop = true; /* mig_receive finds out */
				break;
			}
			inflight_bytes += f->bytes;
		}
		if (head == sent)
			break;
		f = &fl[head];
		if (f->pre_err != 0) {
			err = f->pre_err;
		} else if (f->skip) {
			h->log(
			    ctx, DBOPS_LOG_INFO,
			    "migration \"%s\" was applied meanwhile; skipped",
			    f->pl->file->script);
		} else {
			double now;

			err = mig_receive(ctx, pg, f, &broken);
			inflight_bytes -= f->bytes;
			/* the pace: time since the later of the previous
			 * result and this migration's send */
			now = mig_now_ms();
			last_ms =
			    now - (f->sent_ms > t_prev ? f->sent_ms : t_prev);
			t_prev = now;
			run->avg_ms = run->avg_ms > 0
					  ? 0.5 * run->avg_ms + 0.5 * last_ms
					  : last_ms;
			open_tx = err != 0;
		}
		report(ctx, arg, base + head, err);
		head++;
		if (err != 0)
			break; /* the server skipped everything sent after it */
	}
	*ndone = head;
	if (!mig_pipeline_end(pg, open_tx) && err == 0 && !broken) {
		/* whether the last COMMIT was done is unknown; the next pass
		 * re-reads the history and finds out */
		err = mig_pipeline_error(ctx, pg);
	}
	return err;
}

static void mig_report_one(struct dbops_ctx *ctx, void *arg, size_t k, int err)
{
	(void)ctx;
	(void)k;
	*(int *)arg = err;
}

static int mig_apply_migrate(struct dbops_ctx *ctx,
			     const struct dbops_change *change)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_payload *pl = change->payload;
	const struct mig_file *f = pl->file;
	bool done = false;
	size_t ndone;
	int err, reported = 0;

	if (pl->in_tx && pl->run->spec->lock_retries->migrations) {
		/* alone, with a short lock_timeout, retried (lockddl.c) */
		if (pl->op == MIG_OP_MIGRATE &&
		    (err = mig_already(&done, ctx, pl->run, f)) != 0)
			return err;
		if (done) {
			h->log(
			    ctx, DBOPS_LOG_INFO,
			    "migration \"%s\" was applied meanwhile; skipped",
			    f->script);
			return 0;
		}
		return mig_ddl_migrate(ctx, pl->run, pl,
				       pl->run->spec->lock_retries);
	}
	if (pl->in_tx) {
		err = mig_pipeline(ctx, &change, 1, 0, mig_report_one,
				   &reported, &ndone);
		if (err == 0 && ndone == 0) {
			/* interrupted before it was sent: not done, so it
			 * must not be reported as done */
			h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CANCELLED,
				&f->loc,
				"migration \"%s\" was not started: "
				"the apply was interrupted",
				f->script);
			return DBOPS_ERR_CANCELLED;
		}
		return err != 0 ? err : reported;
	}
	if (pl->op == MIG_OP_MIGRATE &&
	    (err = mig_already(&done, ctx, pl->run, f)) != 0)
		return err;
	if (done) {
		h->log(ctx, DBOPS_LOG_INFO,
		       "migration \"%s\" was applied meanwhile; skipped",
		       f->script);
		return 0;
	}
	return mig_run_nontx(ctx, pl->run, pl);
}

int mig_apply(struct dbops_ctx *ctx, const struct dbops_change *change)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_payload *pl = change->payload;
	int err;

	if (pl == NULL || pl->run == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &change->loc,
			"change \"%s\" has no migration to apply",
			change->address);
		return DBOPS_ERR_GENERIC;
	}
	if ((err = mig_run_open(ctx, pl->run)) != 0)
		return err;
	switch (pl->op) {
	case MIG_OP_MIGRATE:
	case MIG_OP_CALLBACK:
		return mig_apply_migrate(ctx, change);
	case MIG_OP_BASELINE:
		if (pl->run->hist->nrows > 0) {
			h->log(
			    ctx, DBOPS_LOG_INFO,
			    "the history of database \"%s\" is not empty; no baseline written",
			    pl->run->db->database);
			return 0;
		}
		return h->conn_query(NULL, ctx, pl->run->conn, change->sql, 0,
				     NULL);
	case MIG_OP_REPAIR_DELETE:
	case MIG_OP_REPAIR_CHECKSUM:
	case MIG_OP_REPAIR_MISSING:
	case MIG_OP_REPAIR_PROGRESS:
		return h->conn_query(NULL, ctx, pl->run->conn, change->sql, 0,
				     NULL);
	case MIG_OP_CHANGE:
		return mig_change_apply(ctx, change);
	}
	return 0;
}

static bool mig_pipelined(const struct dbops_change *c,
			  const struct mig_run *run)
{
	const struct mig_payload *pl = c->payload;

	return pl != NULL &&
	       (pl->op == MIG_OP_MIGRATE || pl->op == MIG_OP_CALLBACK) &&
	       pl->in_tx && pl->run != NULL &&
	       (run == NULL || pl->run == run) &&
	       !pl->run->spec->lock_retries->migrations;
}

static void mig_report_host(struct dbops_ctx *ctx, void *arg, size_t k, int err)
{
	(void)arg;
	dbops_host(ctx)->applied(ctx, k, err);
}

int mig_apply_many(struct dbops_ctx *ctx,
		   const struct dbops_change *const *changes, size_t n)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t k = 0;
	int err = 0;

	while (k < n && err == 0 && !h->cancelled(ctx)) {
		size_t m = k + 1, ndone = 0;
		struct mig_run *run;

		if (!mig_pipelined(changes[k], NULL)) {
			err = mig_apply(ctx, changes[k]);
			h->applied(ctx, k++, err);
			continue;
		}
		/* the transactional migrations that follow, same database */
		run = ((const struct mig_payload *)changes[k]->payload)->run;
		while (m < n && mig_pipelined(changes[m], run))
			m++;
		run = ((const struct mig_payload *)changes[k]->payload)->run;
		if ((err = mig_run_open(ctx, run)) != 0)
			return err;
		err = mig_pipeline(ctx, changes + k, m - k, k, mig_report_host,
				   NULL, &ndone);
		if (err == 0 && ndone < m - k)
			break; /* cancelled: the rest is not attempted */
		k += ndone;
	}
	return err;
}

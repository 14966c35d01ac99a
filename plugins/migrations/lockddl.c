/* SPDX-License-Identifier: PostgreSQL */
/*
 * lockddl.c — DDL that never queues a table's traffic behind it for long.
 *
 * A statement waiting for its lock blocks every later query on the table
 * (the lock queue), so each DDL statement of a change runs in a
 * transaction of its own with SET LOCAL lock_timeout short (100 ms by
 * default, change.c says why), and when the lock is not available
 * (55P03) or a deadlock was detected (40P01) the transaction is rolled
 * back and tried again after an exponential backoff with jitter; other
 * errors are not retried. A statement that cannot run in a transaction
 * (CREATE INDEX CONCURRENTLY) runs alone under the same timeout, and an
 * INVALID index an interrupted build left is dropped first. Each
 * statement may come with a query that says it is done already (a
 * constraint added by an interrupted run), so that everything can run
 * again.
 *
 * Also: the sessions that hold locks conflicting with those a plan needs
 * (pg_locks joined with pg_stat_activity), listed in the plan before
 * anything runs; and plain transactional migrations run the same way
 * when `lock_retries.migrations` asks for it.
 *
 * libpq is used directly, so that an attempt that will be retried raises
 * no diagnostic; the last failure does.
 */
#include "change.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t mig_ddl_backoff(const struct mig_lockpolicy *lp, int k, double rnd)
{
	int64_t wait = lp->backoff_ms;

	for (int i = 2; i < k && wait < lp->max_backoff_ms; i++)
		wait *= 2;
	if (wait > lp->max_backoff_ms)
		wait = lp->max_backoff_ms;
	/* up to half the wait again, so that deployers retrying at once
	 * drift apart (Reshape's jitter) */
	return wait + (int64_t)(rnd * (double)wait / 2.0);
}

static double mig_ddl_random(void)
{
	static unsigned state;
	struct timespec ts;

	if (state == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		state =
		    (unsigned)ts.tv_nsec ^ (unsigned)ts.tv_sec ^ 0x9e3779b9u;
	}
	state ^= state << 13;
	state ^= state >> 17;
	state ^= state << 5;
	return (double)(state % 1000000u) / 1000000.0;
}

static void mig_ddl_sleep(struct dbops_ctx *ctx, int64_t ms)
{
	const struct dbops_host *h = dbops_host(ctx);

	while (ms > 0 && !h->cancelled(ctx)) {
		int64_t step = ms > 100 ? 100 : ms;
		struct timespec ts = {0, (long)step * 1000000L};

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* The failure of one attempt: NULL when it succeeded. The caller clears
 * it. The transaction it left is rolled back. */
static PGresult *mig_ddl_exec(PGconn *pg, const char *sql, size_t *failed_at)
{
	PGresult *res, *failed = NULL;
	size_t i = 0;

	*failed_at = 0;
	if (!PQsendQuery(pg, sql))
		return PQmakeEmptyPGresult(pg, PGRES_FATAL_ERROR);
	while ((res = PQgetResult(pg)) != NULL) {
		if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
		    failed == NULL) {
			failed = res;
			*failed_at = i;
		} else {
			PQclear(res);
		}
		i++;
	}
	if (PQtransactionStatus(pg) == PQTRANS_INERROR ||
	    (failed != NULL && PQtransactionStatus(pg) == PQTRANS_INTRANS))
		PQclear(PQexec(pg, "ROLLBACK"));
	if (failed == NULL && PQstatus(pg) == CONNECTION_BAD)
		failed = PQmakeEmptyPGresult(pg, PGRES_FATAL_ERROR);
	return failed;
}

static bool mig_ddl_retryable(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return state != NULL &&
	       (strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0);
}

/* A query that says the step is done: true when it returns a row. */
static bool mig_ddl_done(PGconn *pg, const char *skip_if)
{
	PGresult *res;
	bool done;

	if (skip_if == NULL)
		return false;
	res = PQexec(pg, skip_if);
	done = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
	PQclear(res);
	return done;
}

static const char *mig_ddl_head(struct dbops_ctx *ctx, const char *sql)
{
	size_t n = strcspn(sql, "\n");

	return dbops_host(ctx)->printf(ctx, "%.*s%s", (int)(n > 100 ? 100 : n),
				       sql, n > 100 || sql[n] ? "..." : "");
}

/* One attempt of step d. */
static PGresult *mig_ddl_attempt(struct dbops_ctx *ctx, PGconn *pg,
				 const struct mig_lockpolicy *lp,
				 const struct mig_ddl *d)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t at;
	PGresult *res;
	char *before;

	if (!d->nontx)
		return mig_ddl_exec(
		    pg,
		    h->printf(
			ctx,
			"BEGIN; SET LOCAL lock_timeout = '%lldms'; %s; COMMIT",
			(long long)lp->lock_timeout_ms, d->sql),
		    &at);
	/* alone, under the short timeout, the session's put back after */
	res = PQexec(pg, "SELECT pg_catalog.current_setting('lock_timeout')");
	before = h->strdup(ctx, PQresultStatus(res) == PGRES_TUPLES_OK &&
					PQntuples(res) == 1
				    ? PQgetvalue(res, 0, 0)
				    : "0");
	PQclear(res);
	if (d->index != NULL) {
		/* an interrupted build left its index INVALID: drop it */
		const char *q = h->printf(
		    ctx,
		    "SELECT 1 FROM pg_catalog.pg_index WHERE indexrelid = pg_catalog.to_regclass(%s) AND NOT indisvalid",
		    h->quote_literal(ctx, d->index));

		if (mig_ddl_done(pg, q)) {
			h->log(
			    ctx, DBOPS_LOG_INFO,
			    "dropping index %s, left INVALID by an interrupted build",
			    d->index);
			res = mig_ddl_exec(
			    pg,
			    h->printf(
				ctx,
				"SET lock_timeout = '%lldms'; DROP INDEX CONCURRENTLY IF EXISTS %s",
				(long long)lp->lock_timeout_ms, d->index),
			    &at);
			if (res != NULL)
				goto restore;
		}
	}
	res = mig_ddl_exec(pg,
			   h->printf(ctx, "SET lock_timeout = '%lldms'",
				     (long long)lp->lock_timeout_ms),
			   &at);
	if (res == NULL)
		res = mig_ddl_exec(pg, d->sql, &at);
restore:
	PQclear(PQexec(pg, h->printf(ctx, "SET lock_timeout = %s",
				     h->quote_literal(ctx, before))));
	return res;
}

int mig_ddl_run(struct dbops_ctx *ctx, struct dbops_conn *conn,
		const struct mig_lockpolicy *lp, const struct mig_ddl *d,
		size_t n, const char *what, const struct dbops_loc *loc)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *pg = h->conn_pgconn(conn);

	for (size_t i = 0; i < n; i++) {
		PGresult *res = NULL;
		int k;

		if (mig_ddl_done(pg, d[i].skip_if)) {
			h->log(ctx, DBOPS_LOG_INFO, "%s: done already: %s",
			       what, mig_ddl_head(ctx, d[i].sql));
			continue;
		}
		for (k = 1; k <= lp->attempts; k++) {
			int64_t wait;

			if ((res = mig_ddl_attempt(ctx, pg, lp, &d[i])) == NULL)
				break;
			if (!mig_ddl_retryable(res) || k == lp->attempts ||
			    h->cancelled(ctx))
				break;
			wait = mig_ddl_backoff(lp, k + 1, mig_ddl_random());
			h->log(
			    ctx, DBOPS_LOG_INFO,
			    "%s: %s (attempt %d of %lld); again in %lld ms: %s",
			    what,
			    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), k,
			    (long long)lp->attempts, (long long)wait,
			    mig_ddl_head(ctx, d[i].sql));
			PQclear(res);
			res = NULL;
			mig_ddl_sleep(ctx, wait);
		}
		if (res != NULL) {
			const char *msg =
			    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			const char *state =
			    PQresultErrorField(res, PG_DIAG_SQLSTATE);
			struct dbops_diag *dg = h->diag(
			    ctx, DBOPS_SEV_ERROR,
			    PQstatus(pg) == CONNECTION_BAD ? DBOPS_ERR_TRANSIENT
							   : DBOPS_ERR_GENERIC,
			    loc, "%s: could not run %s: %s", what,
			    mig_ddl_head(ctx, d[i].sql),
			    msg != NULL ? msg : PQerrorMessage(pg));

			if (state != NULL)
				memcpy(dg->sqlstate, state,
				       strlen(state) < 6 ? strlen(state) : 5);
			if (mig_ddl_retryable(res))
				h->diag_detail(
				    ctx, dg,
				    "The lock was not available within %lld ms in any of %d attempts.",
				    (long long)lp->lock_timeout_ms, k);
			h->diag_hint(
			    ctx, dg,
			    mig_ddl_retryable(res)
				? "Find the sessions holding the table (the plan lists them) and let them finish; or raise lock_retries.attempts."
				: "The statements before it are done; fix the cause and apply again.");
			PQclear(res);
			return PQstatus(pg) == CONNECTION_BAD
				   ? DBOPS_ERR_TRANSIENT
				   : DBOPS_ERR_GENERIC;
		}
	}
	return 0;
}

/* ---- the sessions that would block */

static const char *mig_ddl_array(struct dbops_ctx *ctx,
				 const char *const *items, size_t n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = "{";

	for (size_t i = 0; i < n; i++) {
		const char *q = "";

		for (const char *p = items[i]; *p; p++)
			q = h->printf(ctx, "%s%s%c", q,
				      *p == '"' || *p == '\\' ? "\\" : "", *p);
		s = h->printf(ctx, "%s%s\"%s\"", s, i ? "," : "", q);
	}
	return h->printf(ctx, "%s}", s);
}

int mig_blockers_read(struct mig_chlive *out, struct dbops_ctx *ctx,
		      struct dbops_conn *conn, const char *const *tables,
		      const enum mig_lockmode *modes, size_t n)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *params[1];
	int err;

	out->blockers = NULL;
	out->nblockers = 0;
	if (n == 0)
		return 0;
	params[0] = mig_ddl_array(ctx, tables, n);
	/* the query head with its literals masked and cut short: enough to
	 * recognise a session, never a password someone typed */
	err = h->conn_query(
	    &rows, ctx, conn,
	    "SELECT n.nspname || '.' || c.relname AS tbl, a.pid::text AS pid, "
	    "coalesce(a.application_name, '') AS app, coalesce(a.state, '') "
	    "AS state, coalesce(extract(epoch FROM now() - coalesce("
	    "a.xact_start, a.query_start))::bigint, 0)::text AS age, "
	    "left(regexp_replace(regexp_replace(coalesce(a.query, ''), "
	    "'''[^'']*''', '''?''', 'g'), '\\s+', ' ', 'g'), 40) AS query, "
	    "string_agg(DISTINCT l.mode, ',' ORDER BY l.mode) AS modes "
	    "FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = "
	    "l.relation JOIN pg_catalog.pg_namespace n ON n.oid = "
	    "c.relnamespace JOIN pg_catalog.pg_stat_activity a ON a.pid = "
	    "l.pid WHERE l.locktype = 'relation' AND l.granted AND l.pid <> "
	    "pg_catalog.pg_backend_pid() AND (n.nspname || '.' || c.relname) "
	    "= ANY ($1::text[]) GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 5 DESC, 2",
	    1, params);
	if (err != 0)
		return err;
	out->blockers =
	    h->alloc(ctx, ((size_t)rows->nrows + 1) * sizeof(*out->blockers));
	for (int r = 0; r < rows->nrows; r++) {
		const char *tbl = h->rows_get(rows, r, "tbl");
		const char *held = h->rows_get(rows, r, "modes");
		enum mig_lockmode want = MIG_LOCK_NONE;
		bool blocks = false;
		struct mig_chblocker *b;

		for (size_t i = 0; i < n; i++)
			if (strcmp(tables[i], tbl) == 0 && modes[i] > want)
				want = modes[i];
		for (const char *p = held; p != NULL && *p;) {
			size_t len = strcspn(p, ",");

			blocks |= mig_lock_conflicts(
			    mig_lock_parse(h->printf(ctx, "%.*s", (int)len, p)),
			    want);
			p += len + (p[len] == ',');
		}
		if (!blocks)
			continue;
		b = &out->blockers[out->nblockers++];
		b->table = tbl;
		b->pid = h->rows_get(rows, r, "pid");
		b->app = h->rows_get(rows, r, "app");
		b->state = h->rows_get(rows, r, "state");
		b->query = h->rows_get(rows, r, "query");
		b->modes = held;
		b->age_s = strtoll(h->rows_get(rows, r, "age"), NULL, 10);
	}
	return 0;
}

/* ---- plain migrations */

int mig_ddl_migrate(struct dbops_ctx *ctx, struct mig_run *run,
		    const struct mig_payload *pl,
		    const struct mig_lockpolicy *lp)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *pg = h->conn_pgconn(run->conn);
	const char *sql =
	    h->printf(ctx, "BEGIN; SET LOCAL lock_timeout = '%lldms'",
		      (long long)lp->lock_timeout_ms);
	PGresult *res = NULL;
	size_t at = 0;
	int k, err = 0;

	for (size_t i = 0; i < pl->nstmts; i++)
		sql = h->printf(ctx, "%s;\n%.*s", sql, (int)pl->stmts[i].len,
				pl->sql + pl->stmts[i].offset);
	sql = h->printf(
	    ctx, "%s;\n%s;\nCOMMIT", sql,
	    mig_history_insert(
		ctx, run, pl->file,
		"(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer",
		true));
	for (k = 1; k <= lp->attempts; k++) {
		int64_t wait;

		if ((res = mig_ddl_exec(pg, sql, &at)) == NULL)
			break;
		if (!mig_ddl_retryable(res) || k == lp->attempts ||
		    h->cancelled(ctx))
			break;
		wait = mig_ddl_backoff(lp, k + 1, mig_ddl_random());
		h->log(
		    ctx, DBOPS_LOG_INFO,
		    "migration \"%s\": %s (attempt %d of %lld); again in %lld ms",
		    pl->file->script,
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), k,
		    (long long)lp->attempts, (long long)wait);
		PQclear(res);
		res = NULL;
		mig_ddl_sleep(ctx, wait);
	}
	if (res != NULL) {
		/* BEGIN, SET, the statements, the history row, COMMIT */
		if (PQstatus(pg) == CONNECTION_BAD) {
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT,
			    &pl->file->loc,
			    "lost the connection while migration \"%s\" ran: %s",
			    pl->file->script, PQerrorMessage(pg));
			err = DBOPS_ERR_TRANSIENT;
		} else if (at >= 2 && at < 2 + pl->nstmts) {
			err = mig_fail(ctx, run, pl, at - 2, res, true);
		} else {
			h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC,
				&pl->file->loc,
				"could not apply migration \"%s\": %s",
				pl->file->script, PQresultErrorMessage(res));
			err = DBOPS_ERR_GENERIC;
		}
		PQclear(res);
		return err;
	}
	for (size_t i = 0; pl->resets && mig_restore_sql(ctx, run, i); i++)
		PQclear(PQexec(pg, mig_restore_sql(ctx, run, i)));
	return 0;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * backfill.c — filling the new columns of an expanded change, in batches
 * that can be interrupted at any point and resumed.
 *
 * The table is walked in order of its key (a single-column primary key,
 * or a unique NOT NULL column) up to the greatest key it had when the
 * backfill started: rows inserted later are written by the dual-write
 * trigger, installed before that key was read, so the walk ends however
 * fast rows arrive. Each batch is one statement in one transaction:
 *
 *   the next keys, locked FOR NO KEY UPDATE (never SKIP LOCKED: a row
 *   skipped would stay empty), the UPDATE of those still empty, and the
 *   cursor in dbops.backfill_cursor moved past them
 *
 * so the cursor and the rows commit together: after kill -9 or a server
 * restart the next apply resumes after the last batch committed, nothing
 * skipped and nothing done twice. A row lock held by a long transaction
 * stops the batch at lock_timeout; the batch is then retried, halved,
 * after a backoff.
 *
 * The batch size adapts toward a target time per batch (+20% when a
 * batch is fast, -20% when slow, GitLab's optimizer's steps, within
 * bounds), a pause between batches lets the writers queued on its rows
 * through, and the backfill waits while a standby replays too far behind
 * or a transaction has been open too long (it keeps vacuum from removing
 * the row versions the backfill leaves behind). Progress, rate and an ETA
 * are in the cursor row, for `dbops status`.
 */
#include "change.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void mig_bf_sleep(struct dbops_ctx *ctx, int64_t ms)
{
	while (ms > 0 && !dbops_host(ctx)->cancelled(ctx)) {
		int64_t step = ms > 100 ? 100 : ms;
		struct timespec ts = {0, (long)step * 1000000L};

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static const char *mig_bf_count(struct dbops_ctx *ctx, double n)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (n >= 10e6)
		return h->printf(ctx, "%.1fM", n / 1e6);
	if (n >= 10e3)
		return h->printf(ctx, "%.0fk", n / 1e3);
	return h->printf(ctx, "%.0f", n);
}

const char *mig_backfill_progress(struct dbops_ctx *ctx,
				  const struct mig_chrow *r)
{
	const struct dbops_host *h = dbops_host(ctx);
	double total =
	    r->bf_total > r->bf_rows ? (double)r->bf_total : (double)r->bf_rows;
	const char *s;

	if (!r->bf_present)
		return "not started";
	s = h->printf(ctx, "%s of ~%s rows (%.0f%%)",
		      mig_bf_count(ctx, (double)r->bf_rows),
		      mig_bf_count(ctx, total),
		      total > 0 ? 100.0 * (double)r->bf_rows / total : 100.0);
	if (r->bf_done)
		return h->printf(ctx, "%s, done", s);
	if (r->bf_rate > 0)
		s = h->printf(ctx, "%s, %s rows/s, ETA %.0fs", s,
			      mig_bf_count(ctx, r->bf_rate),
			      (total - (double)r->bf_rows) / r->bf_rate);
	return s;
}

/* ---- one run */

struct mig_bf {
	struct dbops_ctx *ctx;
	PGconn *pg;
	const struct mig_chplan *p;
	const struct mig_lockpolicy *lp;
	const char *name; /* quoted literal */
	const char *key;  /* quoted */
	const char *kt;	  /* the key's type */
	int64_t batch;
	int64_t rows, changed; /* this run */
	double t0;
	double last_check;
	int64_t max_lag_bytes, max_lag_ms;
};

static double mig_bf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* One value of a one-row query, or NULL. */
static const char *mig_bf_value(struct mig_bf *b, const char *sql)
{
	PGresult *res = PQexec(b->pg, sql);
	const char *v = NULL;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0))
		v = dbops_host(b->ctx)->strdup(b->ctx, PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static int mig_bf_fail(struct mig_bf *b, const char *what, PGresult *res)
{
	const struct dbops_host *h = dbops_host(b->ctx);
	struct dbops_diag *d = h->diag(
	    b->ctx, DBOPS_SEV_ERROR,
	    PQstatus(b->pg) == CONNECTION_BAD ? DBOPS_ERR_TRANSIENT
					      : DBOPS_ERR_GENERIC,
	    &b->p->spec->loc, "backfill of change \"%s\": could not %s: %s",
	    b->p->spec->name, what,
	    res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(b->pg));

	h->diag_hint(
	    b->ctx, d,
	    "The rows done are kept with the cursor; the next apply resumes after them.");
	PQclear(res);
	return PQstatus(b->pg) == CONNECTION_BAD ? DBOPS_ERR_TRANSIENT
						 : DBOPS_ERR_GENERIC;
}

/* The cursor row: made at the start with the greatest key and the
 * estimate, kept on resume. */
static int mig_bf_begin(struct mig_bf *b)
{
	const struct dbops_host *h = dbops_host(b->ctx);
	struct dbops_ctx *ctx = b->ctx;
	const struct mig_bfplan *bf = b->p->bf;
	PGresult *res;
	const char *sql = h->printf(
	    ctx,
	    "INSERT INTO dbops.backfill_cursor (change, key_column, max_key, total_estimate) "
	    "SELECT %s, %s, (SELECT " MIG_CH_MARK " max(%s)::text FROM %s), "
	    "greatest((SELECT reltuples::bigint FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass(%s)), 0) "
	    "ON CONFLICT (change) DO NOTHING",
	    b->name, h->quote_literal(ctx, bf->key), b->key, bf->qtable,
	    h->quote_literal(ctx, bf->qtable));

	res = PQexec(b->pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return mig_bf_fail(b, "start", res);
	PQclear(res);
	return 0;
}

/* The standbys' replay lag and the oldest open transaction: a reason to
 * wait, or NULL. */
static const char *mig_bf_throttle(struct mig_bf *b)
{
	const struct dbops_host *h = dbops_host(b->ctx);
	const struct mig_bfopts *o = &b->p->spec->bf;
	const char *v;

	if (b->max_lag_bytes >= 0 || b->max_lag_ms >= 0) {
		v = mig_bf_value(
		    b,
		    "SELECT coalesce(max(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn)), 0)::bigint || ' ' || "
		    "coalesce(max(extract(epoch FROM replay_lag) * 1000), 0)::bigint "
		    "FROM pg_catalog.pg_stat_replication");
		if (v != NULL) {
			long long bytes = 0, ms = 0;
			char *end;

			bytes = strtoll(v, &end, 10);
			ms = strtoll(end, NULL, 10);
			if (b->max_lag_bytes >= 0 && bytes > b->max_lag_bytes)
				return h->printf(
				    b->ctx,
				    "a standby replays %lld bytes behind (max_lag.bytes %lld)",
				    bytes, (long long)b->max_lag_bytes);
			if (b->max_lag_ms >= 0 && ms > b->max_lag_ms)
				return h->printf(
				    b->ctx,
				    "a standby replays %.1fs behind (max_lag.time %.1fs)",
				    (double)ms / 1000.0,
				    (double)b->max_lag_ms / 1000.0);
		}
	}
	if (o->max_xact_ms >= 0) {
		v = mig_bf_value(
		    b,
		    h->printf(
			b->ctx,
			"SELECT pid || ' ' || coalesce(application_name, '') FROM pg_catalog.pg_stat_activity "
			"WHERE xact_start < now() - interval '%lld milliseconds' AND pid <> pg_catalog.pg_backend_pid() "
			"AND backend_type = 'client backend' AND backend_xmin IS NOT NULL ORDER BY xact_start LIMIT 1",
			(long long)o->max_xact_ms));
		if (v != NULL)
			return h->printf(
			    b->ctx,
			    "session %s has had a transaction open for more than %.0fs",
			    v, (double)o->max_xact_ms / 1000.0);
	}
	return NULL;
}

/* The statement of one batch after key `last` (NULL: from the start). */
static const char *mig_bf_sql(struct mig_bf *b, const char *last,
			      const char *max)
{
	const struct dbops_host *h = dbops_host(b->ctx);
	struct dbops_ctx *ctx = b->ctx;
	const struct mig_bfplan *bf = b->p->bf;
	const char *from = last != NULL
			       ? h->printf(ctx, "%s > %s::%s AND ", b->key,
					   h->quote_literal(ctx, last), b->kt)
			       : "";

	/* the keys are named dbops_k so that up's bare column names can
	 * only mean the table's */
	return h->printf(
	    ctx,
	    "BEGIN; SET LOCAL lock_timeout = '%lldms'; "
	    "SET LOCAL dbops.backfill = 'on'; "
	    "WITH " MIG_CH_MARK
	    " batch AS (SELECT %s AS dbops_k FROM %s WHERE %s%s <= %s::%s ORDER BY %s LIMIT %lld FOR NO KEY UPDATE), "
	    "upd AS (UPDATE %s SET %s FROM batch WHERE %s.%s = batch.dbops_k AND (%s) RETURNING 1), "
	    "cur AS (UPDATE dbops.backfill_cursor SET last_key = coalesce((SELECT max(dbops_k)::text FROM batch), last_key), "
	    "rows_done = rows_done + (SELECT count(*) FROM batch), rows_changed = rows_changed + (SELECT count(*) FROM upd), "
	    "batches = batches + 1, batch_size = %lld, rate = %s, updated_at = clock_timestamp() WHERE change = %s RETURNING last_key) "
	    "SELECT (SELECT count(*) FROM batch) AS n, (SELECT count(*) FROM upd) AS changed, last_key FROM cur; COMMIT",
	    (long long)b->lp->lock_timeout_ms, b->key, bf->qtable, from, b->key,
	    h->quote_literal(ctx, max), b->kt, b->key, (long long)b->batch,
	    bf->qtable, bf->sets, bf->qtable, b->key, bf->where,
	    (long long)b->batch,
	    b->rows > 0 ? h->printf(ctx, "%.1f",
				    (double)b->rows * 1000.0 /
					(mig_bf_now() - b->t0 + 1))
			: "rate",
	    b->name);
}

/* Run one batch: the rows it walked (0 at the end), the cursor now in
 * *last, or -1 with the failure in *failed (a lock not available is
 * retryable). */
static int64_t mig_bf_batch(struct mig_bf *b, const char **last,
			    const char *max, PGresult **failed)
{
	PGresult *res;
	int64_t n = -1;

	*failed = NULL;
	if (!PQsendQuery(b->pg, mig_bf_sql(b, *last, max))) {
		*failed = PQmakeEmptyPGresult(b->pg, PGRES_FATAL_ERROR);
		return -1;
	}
	while ((res = PQgetResult(b->pg)) != NULL) {
		if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
		    *failed == NULL) {
			*failed = res;
			continue;
		}
		if (PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1) {
			n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			b->changed += strtoll(PQgetvalue(res, 0, 1), NULL, 10);
			if (!PQgetisnull(res, 0, 2))
				*last = dbops_host(b->ctx)->strdup(
				    b->ctx, PQgetvalue(res, 0, 2));
		}
		PQclear(res);
	}
	if (PQtransactionStatus(b->pg) == PQTRANS_INERROR ||
	    PQtransactionStatus(b->pg) == PQTRANS_INTRANS)
		PQclear(PQexec(b->pg, "ROLLBACK"));
	if (*failed == NULL && (n < 0 || PQstatus(b->pg) == CONNECTION_BAD)) {
		*failed = PQmakeEmptyPGresult(b->pg, PGRES_FATAL_ERROR);
		n = -1;
	}
	return *failed != NULL ? -1 : n;
}

/* Toward the target time: +20% when well under it, -20% when over. */
static void mig_bf_adapt(struct mig_bf *b, double ms, int64_t walked)
{
	const struct mig_bfopts *o = &b->p->spec->bf;
	double target = (double)o->batch_ms;

	if (walked < b->batch)
		return; /* the last, short batch says nothing */
	if (ms < 0.8 * target)
		b->batch = (int64_t)ceil((double)b->batch * 1.2);
	else if (ms > 1.2 * target)
		b->batch = (int64_t)((double)b->batch * 0.8);
	if (b->batch < o->batch_min)
		b->batch = o->batch_min;
	if (b->batch > o->batch_max)
		b->batch = o->batch_max;
}

/* Replication lag limits: the replicas plugin's facts when it publishes
 * them, else the change's backfill settings. */
static void mig_bf_limits(struct mig_bf *b)
{
	const struct dbops_host *h = dbops_host(b->ctx);
	const struct dbops_fact *const *facts = NULL;
	size_t n = 0;

	b->max_lag_bytes = b->p->spec->bf.max_lag_bytes;
	b->max_lag_ms = b->p->spec->bf.max_lag_ms;
	if (h->header.size <
		offsetof(struct dbops_host, facts) + sizeof(h->facts) ||
	    h->facts == NULL)
		return;
	h->facts(&facts, &n, b->ctx, "replicas.max_lag.");
	for (size_t i = 0; i < n; i++) {
		if (facts[i]->value == NULL)
			continue;
		if (strcmp(facts[i]->name, "replicas.max_lag.bytes") == 0)
			b->max_lag_bytes = strtoll(facts[i]->value, NULL, 10);
		else if (strcmp(facts[i]->name, "replicas.max_lag.time") == 0)
			b->max_lag_ms = strtoll(facts[i]->value, NULL, 10);
	}
}

static int mig_bf_stopped(struct mig_bf *b, const char *last)
{
	const struct dbops_host *h = dbops_host(b->ctx);
	struct dbops_diag *d = h->diag(
	    b->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CANCELLED, &b->p->spec->loc,
	    "backfill of change \"%s\" stopped after key %s: the apply was interrupted",
	    b->p->spec->name, last ? last : "(none)");

	h->diag_detail(
	    b->ctx, d,
	    "The batches done are recorded; the next apply resumes after them.");
	return DBOPS_ERR_CANCELLED;
}

int mig_backfill_run(struct dbops_ctx *ctx, struct mig_run *run,
		     const struct mig_chplan *p,
		     const struct mig_lockpolicy *lp)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_bf b;
	const char *last, *max;
	int err, retries = 0;

	memset(&b, 0, sizeof(b));
	b.ctx = ctx;
	b.pg = h->conn_pgconn(run->conn);
	b.p = p;
	b.lp = lp;
	b.name = h->quote_literal(ctx, p->spec->name);
	b.key = h->quote_ident(ctx, p->bf->key);
	b.kt = p->bf->key_type;
	b.batch = p->spec->bf.batch_first;
	b.t0 = mig_bf_now();
	mig_bf_limits(&b);
	if ((err = mig_bf_begin(&b)) != 0)
		return err;
	last = mig_bf_value(
	    &b,
	    h->printf(
		ctx,
		"SELECT last_key FROM dbops.backfill_cursor WHERE change = %s",
		b.name));
	max = mig_bf_value(
	    &b,
	    h->printf(
		ctx,
		"SELECT max_key FROM dbops.backfill_cursor WHERE change = %s",
		b.name));
	if (last != NULL)
		h->log(ctx, DBOPS_LOG_INFO,
		       "backfill of change \"%s\" resumes after key %s",
		       p->spec->name, last);
	while (max != NULL) {
		PGresult *failed = NULL;
		double t = mig_bf_now();
		int64_t walked;
		const char *why;

		if (h->cancelled(ctx))
			return mig_bf_stopped(&b, last);
		if (t - b.last_check >= 1000.0 &&
		    (why = mig_bf_throttle(&b)) != NULL) {
			h->log(ctx, DBOPS_LOG_INFO,
			       "backfill of change \"%s\" waits: %s",
			       p->spec->name, why);
			mig_bf_sleep(ctx, 1000);
			continue;
		}
		if (t - b.last_check >= 1000.0)
			b.last_check = t;
		walked = mig_bf_batch(&b, &last, max, &failed);
		if (walked < 0) {
			const char *state =
			    PQresultErrorField(failed, PG_DIAG_SQLSTATE);

			if (state != NULL &&
			    (strcmp(state, "55P03") == 0 ||
			     strcmp(state, "40P01") == 0) &&
			    retries < lp->attempts) {
				/* a row locked by a long transaction:
				 * smaller, later */
				PQclear(failed);
				retries++;
				b.batch = b.batch / 2 > p->spec->bf.batch_min
					      ? b.batch / 2
					      : p->spec->bf.batch_min;
				mig_bf_sleep(
				    ctx, mig_ddl_backoff(lp, retries + 1, 0.5));
				continue;
			}
			return mig_bf_fail(&b, "run a batch", failed);
		}
		retries = 0;
		if (walked == 0)
			break;
		b.rows += walked;
		mig_bf_adapt(&b, mig_bf_now() - t, walked);
		mig_bf_sleep(ctx, p->spec->bf.pause_ms);
	}
	err = h->conn_query(
	    NULL, ctx, run->conn,
	    h->printf(
		ctx,
		"UPDATE dbops.backfill_cursor SET finished_at = now(), updated_at = now() WHERE change = %s",
		b.name),
	    0, NULL);
	if (err == 0)
		h->log(
		    ctx, DBOPS_LOG_INFO,
		    "backfill of change \"%s\": %lld rows walked, %lld written, in %.1fs",
		    p->spec->name, (long long)b.rows, (long long)b.changed,
		    (mig_bf_now() - b.t0) / 1000.0);
	return err;
}

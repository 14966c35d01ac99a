/* SPDX-License-Identifier: PostgreSQL */
/*
 * snapshot.c — pg_stat_statements over a window, without ever resetting
 * it (a reset wipes what every other consumer reads). The design is
 * pg_profile's:
 *
 *  - dbops.monitoring_last holds every statement's counters at the last
 *    snapshot (one copy, replaced each time);
 *  - a snapshot (at most every snapshots.interval, written by status over
 *    its own connection) stores, for the interval since the previous
 *    one, the differences of the top N statements by time and the top N
 *    by calls, plus the interval's totals over every statement, the
 *    evictions (statements of the last copy that are gone) and
 *    pg_stat_statements_info's dealloc and stats_reset;
 *  - a window is the intervals after a baseline snapshot (the newest one
 *    at least `window` old) plus the open interval: the live counters
 *    minus the last copy.
 *
 * A statement whose calls went down, or that is new, counts from zero
 * (it was evicted, or someone reset the statistics); a changed
 * stats_reset marks the interval as reset. Everything is computed by the
 * server in one statement per step, pg_stat_statements read once (a
 * data-modifying WITH sees one set of counters), so that the copy and
 * the differences agree. Retention deletes old snapshots and the query
 * texts no snapshot refers to any more.
 */
#include "monitoring_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MON_DBID                                                               \
	"(SELECT oid FROM pg_catalog.pg_database WHERE datname = "             \
	"pg_catalog.current_database())"

#define MON_BASE                                                               \
	"base AS (SELECT COALESCE((SELECT max(id) FROM "                       \
	"dbops.monitoring_snapshots WHERE taken_at <= now() - "                \
	"make_interval(secs => $1::float8)), (SELECT min(id) FROM "            \
	"dbops.monitoring_snapshots)) AS id)"

/* The counters of a statement, differences taken against `o`. */
#define MON_DELTAS(c, o, exec, plan)                                           \
	c ".calls - COALESCE(" o ".calls, 0) AS calls, " c "." exec            \
	  " - COALESCE(" o ".exec_time, 0) AS exec_time, " c "." plan          \
	  " - COALESCE(" o ".plan_time, 0) AS plan_time, " c                   \
	  ".rows - COALESCE(" o ".rows, 0) AS rows, " c                        \
	  ".shared_blks_hit - COALESCE(" o                                     \
	  ".shared_blks_hit, 0) AS shared_blks_hit, " c                        \
	  ".shared_blks_read - COALESCE(" o                                    \
	  ".shared_blks_read, 0) AS shared_blks_read, " c                      \
	  ".temp_blks_written - COALESCE(" o                                   \
	  ".temp_blks_written, 0) AS temp_blks_written"

static const char mon_q_snapshot[] =
    "WITH cur AS MATERIALIZED (SELECT userid, queryid, toplevel, calls, "
    "total_exec_time AS exec_time, total_plan_time AS plan_time, rows, "
    "shared_blks_hit, shared_blks_read, temp_blks_written "
    "FROM @pgss@.pg_stat_statements(false) WHERE dbid = " MON_DBID
    " AND queryid IS NOT NULL), "
    "info AS (SELECT dealloc, stats_reset FROM @pgss@.pg_stat_statements_info), "
    "prev AS (SELECT taken_at, stats_reset FROM dbops.monitoring_snapshots "
    "ORDER BY id DESC LIMIT 1), "
    "flags AS (SELECT EXISTS (SELECT FROM prev) AS has_prev, "
    "EXISTS (SELECT FROM prev) AND (SELECT stats_reset FROM prev) IS "
    "DISTINCT FROM (SELECT stats_reset FROM info) AS reset), "
    "old AS (DELETE FROM dbops.monitoring_last RETURNING *), "
    "keep AS (INSERT INTO dbops.monitoring_last SELECT * FROM cur), "
    "d AS (SELECT c.userid, c.queryid, c.toplevel, " MON_DELTAS(
	"c", "o", "exec_time",
	"plan_time") " FROM cur c LEFT JOIN old o ON o.userid = c.userid "
		     "AND o.queryid = c.queryid AND o.toplevel = c.toplevel "
		     "AND c.calls >= o.calls AND NOT (SELECT reset FROM "
		     "flags)), "
		     "ranked AS (SELECT d.*, row_number() OVER (ORDER BY exec_time DESC) AS "
		     "by_time, row_number() OVER (ORDER BY calls DESC) AS by_calls FROM d "
		     "WHERE calls > 0), "
		     "snap AS (INSERT INTO dbops.monitoring_snapshots (taken_at, "
		     "prev_taken_at, server_version_num, stats_reset, dealloc, reset, "
		     "tracked, evicted, calls, exec_time, kept) SELECT now(), (SELECT "
		     "taken_at FROM prev), pg_catalog.current_setting('server_version_num')"
		     "::int, (SELECT stats_reset FROM info), (SELECT dealloc FROM info), "
		     "(SELECT reset FROM flags), (SELECT count(*) FROM cur), (SELECT "
		     "count(*) FROM old o WHERE NOT EXISTS (SELECT FROM cur c WHERE "
		     "c.userid = o.userid AND c.queryid = o.queryid AND c.toplevel = "
		     "o.toplevel)), COALESCE((SELECT sum(calls) FROM d), 0), "
		     "COALESCE((SELECT sum(exec_time) FROM d), 0), CASE WHEN (SELECT "
		     "has_prev FROM flags) THEN (SELECT count(*) FROM ranked WHERE by_time "
		     "<= $1::int OR by_calls <= $1::int) ELSE 0 END RETURNING id, "
		     "prev_taken_at), "
		     "ins AS (INSERT INTO dbops.monitoring_statements SELECT snap.id, "
		     "r.userid, r.queryid, r.toplevel, r.calls, r.exec_time, r.plan_time, "
		     "r.rows, r.shared_blks_hit, r.shared_blks_read, r.temp_blks_written "
		     "FROM ranked r, snap WHERE snap.prev_taken_at IS NOT NULL AND "
		     "(r.by_time <= $1::int OR r.by_calls <= $1::int) RETURNING 1) "
		     "SELECT id, (SELECT count(*) FROM ins) AS kept FROM snap";

/* The texts of the statements a snapshot holds for the first time. */
static const char mon_q_texts[] =
    "WITH missing AS (SELECT DISTINCT m.queryid FROM "
    "dbops.monitoring_statements m WHERE m.snapshot_id = $1::bigint AND NOT "
    "EXISTS (SELECT FROM dbops.monitoring_queries q WHERE q.queryid = "
    "m.queryid)) SELECT DISTINCT ON (s.queryid) s.queryid::text AS "
    "queryid, s.query FROM @pgss@.pg_stat_statements(true) s WHERE EXISTS "
    "(SELECT FROM missing) AND s.dbid = " MON_DBID " AND s.queryid IN "
    "(SELECT queryid FROM missing) AND s.query IS NOT NULL";

/* ... kept normalised (mon_sql_shown): never a literal in the table. */
static const char mon_q_texts_keep[] =
    "INSERT INTO dbops.monitoring_queries (queryid, query) SELECT * FROM "
    "unnest($1::bigint[], $2::text[]) ON CONFLICT (queryid) DO NOTHING";

static const char mon_q_due[] =
    "SELECT pg_catalog.pg_try_advisory_xact_lock(1684172656, 80) AS locked, "
    "COALESCE(now() - (SELECT max(taken_at) FROM "
    "dbops.monitoring_snapshots) >= make_interval(secs => $1::float8), "
    "true) AS due";

static const char mon_q_retention[] =
    "DELETE FROM dbops.monitoring_snapshots WHERE taken_at < now() - "
    "make_interval(secs => $1::float8) AND id < (SELECT max(id) FROM "
    "dbops.monitoring_snapshots)";

static const char mon_q_orphans[] =
    "DELETE FROM dbops.monitoring_queries q WHERE NOT EXISTS (SELECT FROM "
    "dbops.monitoring_statements s WHERE s.queryid = q.queryid)";

static bool mon_true(const char *v)
{
	return v != NULL && v[0] == 't';
}

/* pg_stat_statements keeps the literals of utility statements (a role's
 * PASSWORD '...'): texts are normalised here, before they are stored. */
static int mon_texts_keep(struct dbops_ctx *ctx, struct mon_db *db,
			  const char *snapshot_id)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char **ids, **texts, *p[2];
	int err;

	p[0] = snapshot_id;
	if ((err = mon_exec(&rows, ctx, &db->c,
			    mon_with_schema(ctx, mon_q_texts, db->pgss_schema),
			    1, p)) != 0 ||
	    rows->nrows == 0)
		return err;
	ids = h->alloc(ctx, (size_t)rows->nrows * sizeof(*ids));
	texts = h->alloc(ctx, (size_t)rows->nrows * sizeof(*texts));
	for (int r = 0; r < rows->nrows; r++) {
		ids[r] = h->rows_get(rows, r, "queryid");
		texts[r] = mon_sql_shown(ctx, h->rows_get(rows, r, "query"));
	}
	p[0] = mon_array_literal(ctx, ids, (size_t)rows->nrows);
	p[1] = mon_array_literal(ctx, texts, (size_t)rows->nrows);
	return mon_exec(NULL, ctx, &db->c, mon_q_texts_keep, 2, p);
}

static int mon_snapshot_tx(struct dbops_ctx *ctx, struct mon_db *db,
			   const struct mon_spec *spec)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *p[1];
	int err;

	p[0] = h->printf(ctx, "%.3f", spec->snap_interval);
	if ((err = mon_exec(&rows, ctx, &db->c, mon_q_due, 1, p)) != 0)
		return err;
	if (!mon_true(h->rows_get(rows, 0, "locked")) ||
	    !mon_true(h->rows_get(rows, 0, "due")))
		return 0; /* another pass writes, or not yet due */
	p[0] = h->printf(ctx, "%lld", (long long)spec->snap_statements);
	if ((err =
		 mon_exec(&rows, ctx, &db->c,
			  mon_with_schema(ctx, mon_q_snapshot, db->pgss_schema),
			  1, p)) != 0)
		return err;
	p[0] = h->rows_get(rows, 0, "id");
	if (p[0] != NULL && mon_num(h->rows_get(rows, 0, "kept")) > 0 &&
	    (err = mon_texts_keep(ctx, db, p[0])) != 0)
		return err;
	p[0] = h->printf(ctx, "%.3f", spec->snap_retention);
	if ((err = mon_exec(&rows, ctx, &db->c, mon_q_retention, 1, p)) != 0)
		return err;
	db->wrote_snapshot = true;
	return 0;
}

int mon_snapshot_write(struct dbops_ctx *ctx, struct mon_db *db,
		       const struct mon_spec *spec)
{
	int err;

	if (!db->tables || db->pgss_schema == NULL || !db->pgss_loaded)
		return 0;
	if ((err = mon_exec(NULL, ctx, &db->c, "BEGIN", 0, NULL)) != 0)
		return err;
	err = mon_snapshot_tx(ctx, db, spec);
	if (err == 0)
		err = mon_exec(NULL, ctx, &db->c, "COMMIT", 0, NULL);
	else
		mon_try(NULL, NULL, ctx, &db->c, "ROLLBACK");
	/* texts of deleted snapshots: outside the snapshot's transaction,
	 * since the cascade to the statements runs at its end */
	if (err == 0 && db->wrote_snapshot)
		err = mon_exec(NULL, ctx, &db->c, mon_q_orphans, 0, NULL);
	return err;
}

/* ---- reading a window */

static const char mon_q_window[] =
    "WITH " MON_BASE " SELECT b.id AS base_id, s.taken_at::text AS base_at, "
    "now()::text AS now, EXTRACT(epoch FROM now() - s.taken_at)::float8 AS "
    "seconds, s.dealloc AS base_dealloc, (SELECT count(*) FROM "
    "dbops.monitoring_snapshots x WHERE x.id > b.id AND x.prev_taken_at IS "
    "NOT NULL) AS intervals, (SELECT max(x.stats_reset)::text FROM "
    "dbops.monitoring_snapshots x WHERE x.id > b.id AND x.reset) AS "
    "reset_at, (SELECT COALESCE(sum(x.evicted), 0) FROM "
    "dbops.monitoring_snapshots x WHERE x.id > b.id) AS evicted, (SELECT "
    "COALESCE(sum(x.calls), 0) FROM dbops.monitoring_snapshots x WHERE "
    "x.id > b.id AND x.prev_taken_at IS NOT NULL) AS calls, (SELECT "
    "COALESCE(sum(x.exec_time), 0) FROM dbops.monitoring_snapshots x WHERE "
    "x.id > b.id AND x.prev_taken_at IS NOT NULL) AS exec_time, (SELECT "
    "x.stats_reset::text FROM dbops.monitoring_snapshots x ORDER BY x.id "
    "DESC LIMIT 1) AS last_reset FROM base b LEFT JOIN "
    "dbops.monitoring_snapshots s ON s.id = b.id";

static const char mon_q_info[] =
    "SELECT i.dealloc, i.stats_reset::text AS stats_reset, now()::text AS "
    "now, c.tracked_all, c.tracked, "
    "pg_catalog.current_setting('pg_stat_statements.max') AS "
    "max FROM @pgss@.pg_stat_statements_info i, (SELECT count(*) AS "
    "tracked_all, count(*) FILTER (WHERE dbid = " MON_DBID ") AS tracked "
    "FROM @pgss@.pg_stat_statements(false)) c";

/* The window's statements: stored intervals after the baseline, plus the
 * open interval (live minus the last copy), top N by time and by calls.
 * Without snapshot tables: the live counters, since stats_reset. */
static const char *mon_q_statements(struct dbops_ctx *ctx,
				    const struct mon_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *live = h->printf(
	    ctx,
	    "live AS (SELECT c.userid, c.queryid, c.toplevel, %s FROM "
	    "%s.pg_stat_statements(false) c %s WHERE c.dbid = " MON_DBID
	    " AND c.queryid IS NOT NULL)",
	    MON_DELTAS("c", "l", "total_exec_time", "total_plan_time"),
	    db->pgss_schema,
	    db->tables
		? "LEFT JOIN dbops.monitoring_last l ON l.userid = c.userid "
		  "AND l.queryid = c.queryid AND l.toplevel = c.toplevel AND "
		  "c.calls >= l.calls"
		: "LEFT JOIN (SELECT NULL::bigint AS calls, NULL::float8 AS "
		  "exec_time, NULL::float8 AS plan_time, NULL::bigint AS "
		  "rows, NULL::bigint AS shared_blks_hit, NULL::bigint AS "
		  "shared_blks_read, NULL::bigint AS temp_blks_written) l ON "
		  "false");
	const char *hist =
	    db->tables
		? "hist AS (SELECT userid, queryid, toplevel, calls, "
		  "exec_time, plan_time, rows, shared_blks_hit, "
		  "shared_blks_read, temp_blks_written FROM "
		  "dbops.monitoring_statements WHERE snapshot_id > (SELECT id "
		  "FROM base)), "
		: "hist AS (SELECT * FROM live WHERE false), ";

	return h->printf(
	    ctx,
	    "WITH %s%s, %s"
	    "g AS (SELECT userid, queryid, toplevel, sum(calls) AS calls, "
	    "sum(exec_time) AS exec_time, sum(plan_time) AS plan_time, "
	    "sum(rows) AS rows, sum(shared_blks_hit) AS blks_hit, "
	    "sum(shared_blks_read) AS blks_read, sum(temp_blks_written) AS "
	    "temp_written FROM (SELECT * FROM hist UNION ALL SELECT * FROM live "
	    "WHERE calls > 0) u GROUP BY userid, queryid, toplevel), "
	    "r AS (SELECT g.*, row_number() OVER (ORDER BY exec_time DESC) AS "
	    "rt, row_number() OVER (ORDER BY calls DESC) AS rc FROM g) "
	    "SELECT r.userid::text AS userid, a.rolname, r.queryid::text AS "
	    "queryid, r.calls, r.exec_time, r.plan_time, r.rows, r.blks_hit, "
	    "r.blks_read, r.temp_written, %s AS query, (SELECT "
	    "COALESCE(sum(calls), 0) FROM live WHERE calls > 0) AS live_calls, "
	    "(SELECT COALESCE(sum(exec_time), 0) FROM live WHERE calls > 0) AS "
	    "live_exec "
	    "FROM r LEFT JOIN pg_catalog.pg_roles a ON a.oid = r.userid %s "
	    "WHERE r.rt <= %s::int OR r.rc <= %s::int ORDER BY r.exec_time "
	    "DESC",
	    db->tables ? MON_BASE ", " : "", live, hist,
	    db->tables ? "q.query" : "NULL::text",
	    db->tables ? "LEFT JOIN dbops.monitoring_queries q ON q.queryid = "
			 "r.queryid"
		       : "",
	    db->tables ? "$2" : "$1", db->tables ? "$2" : "$1");
}

static void mon_window_meta(struct mon_window *w, struct dbops_ctx *ctx,
			    const struct dbops_rows *meta,
			    const struct dbops_rows *info)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *last_reset = NULL;

	w->stats_reset = h->rows_get(info, 0, "stats_reset");
	w->to = h->rows_get(info, 0, "now");
	w->dealloc = mon_num(h->rows_get(info, 0, "dealloc"));
	w->tracked_all = mon_num(h->rows_get(info, 0, "tracked_all"));
	w->tracked = mon_num(h->rows_get(info, 0, "tracked"));
	w->max = mon_num(h->rows_get(info, 0, "max"));
	w->dealloc_delta = w->dealloc;
	w->from = w->stats_reset;
	if (meta == NULL || h->rows_get(meta, 0, "base_id") == NULL)
		return;
	w->snapshots = true;
	w->base_id = h->rows_get(meta, 0, "base_id");
	w->from = h->rows_get(meta, 0, "base_at");
	w->seconds = mon_num(h->rows_get(meta, 0, "seconds"));
	w->intervals = (int)mon_num(h->rows_get(meta, 0, "intervals"));
	w->reset_in_window = h->rows_get(meta, 0, "reset_at");
	w->evicted = mon_num(h->rows_get(meta, 0, "evicted"));
	w->calls = mon_num(h->rows_get(meta, 0, "calls"));
	w->exec_ms = mon_num(h->rows_get(meta, 0, "exec_time"));
	last_reset = h->rows_get(meta, 0, "last_reset");
	/* a reset after the last snapshot: the open interval starts there */
	if (w->reset_in_window == NULL && w->stats_reset != NULL &&
	    last_reset != NULL && strcmp(last_reset, w->stats_reset) != 0)
		w->reset_in_window = w->stats_reset;
	if (w->reset_in_window == NULL &&
	    h->rows_get(meta, 0, "base_dealloc") != NULL)
		w->dealloc_delta =
		    w->dealloc - mon_num(h->rows_get(meta, 0, "base_dealloc"));
}

/* Whether a statement's text is needed: every one for the report; for
 * status, those a check may show (slow, N+1 lookups and their lists). */
static bool mon_text_wanted(const struct mon_spec *spec,
			    const struct mon_db *db, size_t i, bool all)
{
	const struct mon_stmt *s = &db->stmts[i];

	if (all || mon_is_slow(spec, s) || mon_n1_candidate(spec, s))
		return true;
	for (size_t k = 0; k < db->nstmts; k++)
		if (k != i && mon_n1_candidate(spec, &db->stmts[k]) &&
		    strcmp(db->stmts[k].userid, s->userid) == 0 &&
		    s->calls > 0 &&
		    db->stmts[k].calls / s->calls >= spec->n1_min_ratio)
			return true;
	return false;
}

/* Texts of the statements not stored yet (new in the open interval):
 * pg_stat_statements(true) reads every text it keeps, so only those
 * wanted. */
static int mon_texts_fill(struct dbops_ctx *ctx, struct mon_db *db,
			  const struct mon_spec *spec, bool all)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *arr = NULL, *p[1];
	int err;

	for (size_t i = 0; i < db->nstmts; i++)
		if (db->stmts[i].query == NULL &&
		    mon_text_wanted(spec, db, i, all))
			arr = h->printf(ctx, "%s%s", arr ? arr : "{",
					h->printf(ctx, "%s%s", arr ? "," : "",
						  db->stmts[i].queryid));
	if (arr == NULL)
		return 0;
	p[0] = h->printf(ctx, "%s}", arr);
	err = mon_exec(
	    &rows, ctx, &db->c,
	    h->printf(
		ctx,
		"SELECT DISTINCT ON (queryid) queryid::text AS queryid, "
		"query FROM %s.pg_stat_statements(true) WHERE dbid = " MON_DBID
		" AND queryid = ANY ($1::bigint[])",
		db->pgss_schema),
	    1, p);
	if (err != 0)
		return err;
	for (int r = 0; r < rows->nrows; r++)
		for (size_t i = 0; i < db->nstmts; i++)
			if (db->stmts[i].query == NULL &&
			    strcmp(db->stmts[i].queryid,
				   h->rows_get(rows, r, "queryid")) == 0)
				db->stmts[i].query =
				    h->rows_get(rows, r, "query");
	return 0;
}

int mon_window_read(struct dbops_ctx *ctx, struct mon_db *db,
		    const struct mon_spec *spec, double window, bool all_texts)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *meta = NULL, *info = NULL, *rows = NULL;
	const char *p[2];
	int err;

	if (db->pgss_schema == NULL || !db->pgss_loaded)
		return 0;
	p[0] = h->printf(ctx, "%.3f", window);
	p[1] = h->printf(ctx, "%lld", (long long)spec->snap_statements);
	if (db->tables &&
	    (err = mon_exec(&meta, ctx, &db->c, mon_q_window, 1, p)) != 0)
		return err;
	if ((err = mon_exec(&info, ctx, &db->c,
			    mon_with_schema(ctx, mon_q_info, db->pgss_schema),
			    0, NULL)) != 0)
		return err;
	mon_window_meta(&db->win, ctx, meta, info);
	err = db->tables ? mon_exec(&rows, ctx, &db->c,
				    mon_q_statements(ctx, db), 2, p)
			 : mon_exec(&rows, ctx, &db->c,
				    mon_q_statements(ctx, db), 1, p + 1);
	if (err != 0)
		return err;
	db->stmts =
	    h->alloc(ctx, ((size_t)rows->nrows + 1) * sizeof(*db->stmts));
	db->nstmts = (size_t)rows->nrows;
	for (int r = 0; r < rows->nrows; r++) {
		struct mon_stmt *s = &db->stmts[r];

		s->userid = h->rows_get(rows, r, "userid");
		s->rolname = h->rows_get(rows, r, "rolname");
		s->queryid = h->rows_get(rows, r, "queryid");
		s->query = h->rows_get(rows, r, "query");
		s->calls = mon_num(h->rows_get(rows, r, "calls"));
		s->exec_ms = mon_num(h->rows_get(rows, r, "exec_time"));
		s->plan_ms = mon_num(h->rows_get(rows, r, "plan_time"));
		s->rows = mon_num(h->rows_get(rows, r, "rows"));
		s->blks_hit = mon_num(h->rows_get(rows, r, "blks_hit"));
		s->blks_read = mon_num(h->rows_get(rows, r, "blks_read"));
		s->temp_written = mon_num(h->rows_get(rows, r, "temp_written"));
		if (r == 0) {
			db->win.calls +=
			    mon_num(h->rows_get(rows, r, "live_calls"));
			db->win.exec_ms +=
			    mon_num(h->rows_get(rows, r, "live_exec"));
		}
	}
	if (!db->win.snapshots)
		db->win.dealloc_delta = -1; /* no baseline to compare with */
	if ((err = mon_texts_fill(ctx, db, spec, all_texts)) != 0)
		return err;
	for (size_t i = 0; i < db->nstmts; i++)
		db->stmts[i].text = mon_sql_shown(ctx, db->stmts[i].query);
	return 0;
}

/* ---- the per-interval series of the top statements by calls (N+1) */

static const char mon_q_series[] =
    "WITH ids AS (SELECT id FROM dbops.monitoring_snapshots "
    "WHERE id > $1::bigint AND prev_taken_at IS NOT NULL), "
    "top AS (SELECT userid, queryid FROM dbops.monitoring_statements WHERE "
    "snapshot_id IN (SELECT id FROM ids) GROUP BY userid, queryid ORDER BY "
    "sum(calls) DESC LIMIT 200) SELECT s.snapshot_id::text AS snapshot_id, "
    "s.userid::text AS userid, s.queryid::text AS queryid, sum(s.calls) AS "
    "calls, sum(s.rows) AS rows, (SELECT string_agg(id::text, ',' ORDER BY "
    "id) FROM ids) AS ids FROM dbops.monitoring_statements s JOIN top USING "
    "(userid, queryid) WHERE s.snapshot_id IN (SELECT id FROM ids) GROUP "
    "BY 1, 2, 3 ORDER BY 2, 3, 1";

static int mon_interval_index(const char *const *ids, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return i;
	return -1;
}

int mon_series_read(struct dbops_ctx *ctx, struct mon_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *p[1], **ids;
	char *list, *save = NULL, *tok;
	int err, n = 0;

	if (!db->tables || !db->win.snapshots || db->win.intervals < 2)
		return 0;
	p[0] = db->win.base_id;
	if ((err = mon_exec(&rows, ctx, &db->c, mon_q_series, 1, p)) != 0)
		return err;
	if (rows->nrows == 0)
		return 0;
	list = h->strdup(ctx, h->rows_get(rows, 0, "ids"));
	ids = h->alloc(ctx, (strlen(list) / 2 + 2) * sizeof(*ids));
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		ids[n++] = tok;
	db->nintervals = n;
	db->series =
	    h->alloc(ctx, ((size_t)rows->nrows + 1) * sizeof(*db->series));
	for (int r = 0; r < rows->nrows; r++) {
		const char *uid = h->rows_get(rows, r, "userid");
		const char *qid = h->rows_get(rows, r, "queryid");
		struct mon_series *s =
		    db->nseries > 0 ? &db->series[db->nseries - 1] : NULL;
		int k;

		if (s == NULL || strcmp(s->userid, uid) != 0 ||
		    strcmp(s->queryid, qid) != 0) {
			s = &db->series[db->nseries++];
			s->userid = uid;
			s->queryid = qid;
			s->calls = h->alloc(ctx, (size_t)n * sizeof(double));
			s->rows = h->alloc(ctx, (size_t)n * sizeof(double));
		}
		k = mon_interval_index(ids, n,
				       h->rows_get(rows, r, "snapshot_id"));
		if (k >= 0) {
			s->calls[k] = mon_num(h->rows_get(rows, r, "calls"));
			s->rows[k] = mon_num(h->rows_get(rows, r, "rows"));
		}
	}
	return 0;
}

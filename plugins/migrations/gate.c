/* SPDX-License-Identifier: PostgreSQL */
/*
 * gate.c — the evidence that old code is gone, before contract drops
 * what it uses.
 *
 * At expand (and each time old code is seen again) dbops takes a
 * snapshot: the calls of every statement pg_stat_statements keeps for
 * the database whose normalized text names the change's table and one of
 * its old columns (a case-insensitive match on word boundaries,
 * \m...\M), with pg_stat_statements_info's stats_reset and dealloc and
 * the dual-write trigger's counter of old-side writes. The gate passes
 * when, a quiet window after the snapshot, nothing of it has moved. It
 * is a different verdict when:
 *  - a matching statement ran more often, a new one appeared, or the
 *    counter moved: old code ran since the snapshot (RENEW: the plan
 *    takes a new snapshot, and the window starts again);
 *  - stats_reset changed or dealloc grew: statistics were reset or
 *    entries evicted, so a statement may have run unseen — "no evidence
 *    yet", never "safe" (RENEW too);
 *  - pg_stat_statements cannot be read in the database (BLIND: only
 *    --force-contract contracts).
 * Statements holding the marker comment dbops puts in its own (the
 * backfill, the trigger's expressions) are not old code.
 *
 * The limits, also in the README: the text is the first one seen of a
 * normalized statement, so a SELECT * or a view that reads the column
 * does not name it; statements inside functions count only with
 * pg_stat_statements.track = all; a word match can hit a string or
 * another table's column of the same name (a false "old code", which
 * only holds contract back).
 */
#include "change.h"

#include <stdlib.h>
#include <string.h>

/* A regular expression for a name on word boundaries, its specials
 * escaped. */
static const char *mig_gate_word(struct dbops_ctx *ctx, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = "\\m";

	for (const char *p = name; *p; p++)
		s = h->printf(ctx, "%s%s%c", s,
			      strchr(".^$*+?()[]{}|\\", *p) ? "\\" : "", *p);
	return h->printf(ctx, "%s\\M", s);
}

/* The WHERE clause that picks the statements naming c's table and an
 * old column (s: the pg_stat_statements row). */
static const char *mig_gate_match(struct dbops_ctx *ctx,
				  const struct mig_chspec *c)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *cols = NULL;

	for (size_t i = 0; i < c->nops; i++)
		for (size_t k = 0; k < c->ops[i].nolds; k++) {
			const char *one = h->printf(
			    ctx, "s.query ~* %s",
			    h->quote_literal(
				ctx,
				mig_gate_word(ctx, c->ops[i].olds[k].name)));

			cols =
			    cols ? h->printf(ctx, "%s OR %s", cols, one) : one;
		}
	return h->printf(
	    ctx,
	    "s.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) AND s.query ~* %s AND (%s) AND pg_catalog.strpos(s.query, %s) = 0",
	    h->quote_literal(ctx, mig_gate_word(ctx, c->table)),
	    cols ? cols : "false", h->quote_literal(ctx, "dbops:expand"));
}

static const char *mig_gate_counter_value(struct dbops_ctx *ctx,
					  const char *counter)
{
	if (counter == NULL)
		return "NULL::bigint";
	return dbops_host(ctx)->printf(
	    ctx,
	    "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM %s)",
	    counter);
}

const char *mig_gate_snapshot_sql(struct dbops_ctx *ctx,
				  const struct mig_chspec *c,
				  const char *pgss_schema, const char *counter)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *name = h->quote_literal(ctx, c->name);
	const char *pgss, *info;

	if (pgss_schema == NULL)
		return h->printf(
		    ctx,
		    "BEGIN; DELETE FROM dbops.pgss_snapshot WHERE change = %s; "
		    "UPDATE dbops.schema_changes SET gate_at = now(), "
		    "gate_stats_reset = NULL, gate_dealloc = NULL, "
		    "gate_old_writes = %s WHERE name = %s; COMMIT",
		    name, mig_gate_counter_value(ctx, counter), name);
	pgss = h->printf(ctx, "%s.pg_stat_statements",
			 h->quote_ident(ctx, pgss_schema));
	info = h->printf(ctx, "%s.pg_stat_statements_info",
			 h->quote_ident(ctx, pgss_schema));
	return h->printf(
	    ctx,
	    "BEGIN; DELETE FROM dbops.pgss_snapshot WHERE change = %s; "
	    "INSERT INTO dbops.pgss_snapshot (change, queryid, calls, query) "
	    "SELECT %s, s.queryid, sum(s.calls), left(min(s.query), 80) "
	    "FROM %s s WHERE %s GROUP BY s.queryid; "
	    "UPDATE dbops.schema_changes SET gate_at = now(), "
	    "gate_stats_reset = (SELECT stats_reset FROM %s), "
	    "gate_dealloc = (SELECT dealloc FROM %s), "
	    "gate_old_writes = %s WHERE name = %s; COMMIT",
	    name, name, pgss, mig_gate_match(ctx, c), info, info,
	    mig_gate_counter_value(ctx, counter), name);
}

static int mig_gate_snaps(struct mig_chsnap **out, size_t *n,
			  struct dbops_ctx *ctx, const struct dbops_rows *rows)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_chsnap *s =
	    h->alloc(ctx, ((size_t)rows->nrows + 1) * sizeof(*s));

	for (int r = 0; r < rows->nrows; r++) {
		s[r].queryid = h->rows_get(rows, r, "queryid");
		s[r].calls = strtoll(h->rows_get(rows, r, "calls"), NULL, 10);
		s[r].query = h->rows_get(rows, r, "query");
	}
	*out = s;
	*n = (size_t)rows->nrows;
	return 0;
}

int mig_gate_read(struct mig_chgate *out, struct dbops_ctx *ctx,
		  struct dbops_conn *conn, const struct mig_chspec *c,
		  const struct mig_chlive *l, const struct mig_chrow *row)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *counter = mig_ch_counter(ctx, c);
	struct dbops_rows *rows = NULL;
	const char *params[1] = {c->name};
	int err;

	memset(out, 0, sizeof(*out));
	out->writes = -1;
	err = h->conn_query(
	    &rows, ctx, conn,
	    "SELECT queryid::text AS queryid, calls::text AS calls, query "
	    "FROM dbops.pgss_snapshot WHERE change = $1 ORDER BY queryid",
	    1, params);
	if (err != 0)
		return err;
	mig_gate_snaps(&out->snap, &out->nsnap, ctx, rows);
	if (counter != NULL) {
		/* the sequence may be gone (rolled back, or not yet made) */
		err = h->conn_query(
		    &rows, ctx, conn,
		    h->printf(
			ctx,
			"SELECT CASE WHEN pg_catalog.to_regclass(%s) IS NULL THEN NULL ELSE 0 END AS present",
			h->quote_literal(ctx, counter)),
		    0, NULL);
		if (err != 0)
			return err;
		if (h->rows_get(rows, 0, "present") != NULL) {
			err = h->conn_query(
			    &rows, ctx, conn,
			    h->printf(ctx, "SELECT %s::text AS n",
				      mig_gate_counter_value(ctx, counter)),
			    0, NULL);
			if (err != 0)
				return err;
			out->writes =
			    strtoll(h->rows_get(rows, 0, "n"), NULL, 10);
		}
	}
	if (!l->pgss_loaded || !l->pgss_installed) {
		out->why_no_pgss =
		    !l->pgss_loaded
			? "pg_stat_statements is not in shared_preload_libraries"
			: "the pg_stat_statements extension is not installed in the database";
		return 0;
	}
	err = h->conn_query(
	    &rows, ctx, conn,
	    h->printf(
		ctx,
		"SELECT stats_reset::text AS stats_reset, dealloc::text AS dealloc FROM %s.pg_stat_statements_info",
		h->quote_ident(ctx, l->pgss_schema)),
	    0, NULL);
	if (err != 0)
		return err;
	out->stats_reset = h->rows_get(rows, 0, "stats_reset");
	out->dealloc = strtoll(h->rows_get(rows, 0, "dealloc"), NULL, 10);
	err = h->conn_query(
	    &rows, ctx, conn,
	    h->printf(
		ctx,
		"SELECT s.queryid::text AS queryid, sum(s.calls)::text AS calls, left(min(s.query), 80) AS query FROM %s.pg_stat_statements s WHERE %s GROUP BY s.queryid ORDER BY 1",
		h->quote_ident(ctx, l->pgss_schema), mig_gate_match(ctx, c)),
	    0, NULL);
	if (err != 0)
		return err;
	mig_gate_snaps(&out->now, &out->nnow, ctx, rows);
	out->pgss = true;
	(void)row;
	return 0;
}

static const struct mig_chsnap *mig_gate_find(const struct mig_chgate *g,
					      const char *queryid)
{
	for (size_t i = 0; i < g->nsnap; i++)
		if (strcmp(g->snap[i].queryid, queryid) == 0)
			return &g->snap[i];
	return NULL;
}

/* A statement's text for a message: one line, cut. */
static const char *mig_gate_text(struct dbops_ctx *ctx, const char *q)
{
	const struct dbops_host *h = dbops_host(ctx);
	char *s = h->printf(ctx, "%.60s", q != NULL ? q : "");

	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	return h->printf(ctx, "%s%s", s, q && strlen(q) > 60 ? "..." : "");
}

static const char *mig_gate_dur(struct dbops_ctx *ctx, double s)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (s < 120)
		return h->printf(ctx, "%.0fs", s);
	if (s < 7200)
		return h->printf(ctx, "%.0fmin", s / 60);
	if (s < 172800)
		return h->printf(ctx, "%.1fh", s / 3600);
	return h->printf(ctx, "%.1fd", s / 86400);
}

enum mig_verdict mig_gate_judge(const char **why, struct dbops_ctx *ctx,
				const struct mig_chspec *c,
				const struct mig_chrow *row,
				const struct mig_chgate *g)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *since = row->gate_at ? row->gate_at : "expand";

	if (!g->pgss) {
		*why = h->printf(ctx, "no evidence that old code is gone: %s",
				 g->why_no_pgss
				     ? g->why_no_pgss
				     : "pg_stat_statements cannot be read");
		return MIG_GATE_BLIND;
	}
	if (row->gate_reset == NULL || g->stats_reset == NULL ||
	    strcmp(row->gate_reset, g->stats_reset) != 0) {
		*why = h->printf(
		    ctx,
		    "no evidence yet: pg_stat_statements was reset since %s",
		    since);
		return MIG_GATE_RENEW;
	}
	if (g->dealloc > row->gate_dealloc) {
		*why = h->printf(
		    ctx,
		    "no evidence yet: pg_stat_statements evicted %lld entries since %s (raise pg_stat_statements.max)",
		    (long long)(g->dealloc - row->gate_dealloc), since);
		return MIG_GATE_RENEW;
	}
	for (size_t i = 0; i < g->nnow; i++) {
		const struct mig_chsnap *was =
		    mig_gate_find(g, g->now[i].queryid);
		int64_t d = g->now[i].calls - (was ? was->calls : 0);

		if (d > 0) {
			*why = h->printf(
			    ctx, "old code ran since %s: %lld call%s of \"%s\"",
			    since, (long long)d, d == 1 ? "" : "s",
			    mig_gate_text(ctx, g->now[i].query));
			return MIG_GATE_RENEW;
		}
	}
	if (g->writes >= 0 && g->writes > row->gate_writes) {
		*why = h->printf(
		    ctx,
		    "old code wrote %lld row%s through the old columns since %s",
		    (long long)(g->writes - row->gate_writes),
		    g->writes - row->gate_writes == 1 ? "" : "s", since);
		return MIG_GATE_RENEW;
	}
	if (row->gate_age_s * 1000.0 < (double)c->quiet_ms) {
		*why = h->printf(
		    ctx, "quiet since %s for %s of the %s quiet window", since,
		    mig_gate_dur(ctx, row->gate_age_s),
		    mig_gate_dur(ctx, (double)c->quiet_ms / 1000.0));
		return MIG_GATE_WAIT;
	}
	*why = h->printf(
	    ctx,
	    "no statement naming the old columns and no old-side write since %s (%s, quiet window %s)",
	    since, mig_gate_dur(ctx, row->gate_age_s),
	    mig_gate_dur(ctx, (double)c->quiet_ms / 1000.0));
	return MIG_GATE_PASS;
}

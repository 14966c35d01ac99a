/* SPDX-License-Identifier: PostgreSQL */
/*
 * chapply.c — running one step of an expand/contract change, under the
 * migration lock, on the database's migration connection. Every step
 * reads the change's row again first and does nothing when it finds the
 * step done (a pass killed at any point is finished by the next one):
 *   expand    records the change "expanding" with its rollback, runs the
 *             DDL (lockddl.c), records it "expanded" and takes the gate's
 *             first snapshot;
 *   backfill  backfill.c, resumed from its cursor;
 *   gate      a new snapshot;
 *   contract  checks the backfill finished and the gate again (unless
 *             --force-contract), runs the DDL, records "contracted" and
 *             whether it was forced;
 *   rollback  the rollback kept at expand, then "rolled_back".
 */
#include "change.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

static bool mig_cha_true(const char *v)
{
	return v != NULL && v[0] == 't';
}

/* The change's row as it is now (under the migration lock). */
static int mig_cha_reread(struct mig_chrow *out, bool *found,
			  struct dbops_ctx *ctx, struct mig_run *run,
			  const char *name)
{
	struct mig_chlive l;
	const struct mig_chrow *r;
	int err;

	memset(&l, 0, sizeof(l));
	*found = false;
	if ((err = mig_changes_read_rows(&l, ctx, run->conn)) != 0)
		return err;
	if ((r = mig_changes_find(&l, name)) != NULL) {
		*out = *r;
		*found = true;
	}
	return 0;
}

static int mig_cha_exec(struct dbops_ctx *ctx, struct mig_run *run,
			const char *sql)
{
	return dbops_host(ctx)->conn_query(NULL, ctx, run->conn, sql, 0, NULL);
}

/* The schema of pg_stat_statements in the database, installing it when
 * the library is loaded and it is not (the gate needs it). */
static const char *mig_cha_pgss(struct dbops_ctx *ctx, struct mig_run *run,
				const struct mig_chplan *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	PGresult *res;
	const char *q =
	    "SELECT n.nspname AS schema FROM pg_catalog.pg_extension e JOIN "
	    "pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE "
	    "e.extname = 'pg_stat_statements'";

	if (!p->gated || h->conn_query(&rows, ctx, run->conn, q, 0, NULL) != 0)
		return NULL;
	if (rows->nrows == 1)
		return h->rows_get(rows, 0, "schema");
	if (h->conn_query(
		&rows, ctx, run->conn,
		"SELECT pg_catalog.current_setting('shared_preload_libraries') ~ 'pg_stat_statements' AS loaded",
		0, NULL) != 0 ||
	    !mig_cha_true(h->rows_get(rows, 0, "loaded")))
		return NULL;
	/* without the right to create it, the gate has no evidence and
	 * contract waits (the plan says so): a warning, not a failure */
	res = PQexec(h->conn_pgconn(run->conn),
		     "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		h->log(
		    ctx, DBOPS_LOG_WARNING,
		    "could not create the extension pg_stat_statements in database \"%s\": %s",
		    p->db->database,
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	if (h->conn_query(&rows, ctx, run->conn, q, 0, NULL) != 0 ||
	    rows->nrows != 1)
		return NULL;
	h->log(
	    ctx, DBOPS_LOG_INFO,
	    "created the extension pg_stat_statements in database \"%s\" for the contract gate",
	    p->db->database);
	return h->rows_get(rows, 0, "schema");
}

static int mig_cha_expand(struct dbops_ctx *ctx, struct mig_run *run,
			  const struct mig_chplan *p, const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_chspec *s = p->spec;
	const char *name = h->quote_literal(ctx, s->name);
	int err;

	err = mig_cha_exec(
	    ctx, run,
	    h->printf(
		ctx,
		"BEGIN; INSERT INTO dbops.schema_changes (name, table_name, state, checksum, rollback_sql) "
		"VALUES (%s, %s, 'expanding', %s, %s) ON CONFLICT (name) DO UPDATE SET "
		"table_name = EXCLUDED.table_name, state = 'expanding', checksum = EXCLUDED.checksum, "
		"rollback_sql = EXCLUDED.rollback_sql, expanded_at = NULL, contracted_at = NULL, "
		"rolled_back_at = NULL, forced = false, updated_at = now(); "
		"DELETE FROM dbops.backfill_cursor WHERE change = %s; "
		"DELETE FROM dbops.pgss_snapshot WHERE change = %s; COMMIT",
		name, h->quote_literal(ctx, mig_ch_qtable(ctx, s)),
		h->quote_literal(ctx, s->checksum),
		h->quote_literal(ctx, p->rollback_sql), name, name));
	if (err != 0)
		return err;
	if ((err = mig_ddl_run(ctx, run->conn, run->spec->lock_retries, p->ddl,
			       p->nddl, what, &s->loc)) != 0)
		return err;
	err = mig_cha_exec(
	    ctx, run,
	    h->printf(
		ctx,
		"UPDATE dbops.schema_changes SET state = 'expanded', expanded_at = now(), updated_at = now() WHERE name = %s",
		name));
	if (err == 0 && p->gated)
		err = mig_cha_exec(
		    ctx, run,
		    mig_gate_snapshot_sql(ctx, s, mig_cha_pgss(ctx, run, p),
					  p->counter));
	return err;
}

/* The gate again, now: contract only when it still passes. */
static int mig_cha_recheck(struct dbops_ctx *ctx, struct mig_run *run,
			   const struct mig_chplan *p, struct mig_chrow *row)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_chlive l;
	struct mig_chgate g;
	struct dbops_rows *rows = NULL;
	const char *why = NULL, *params[1] = {row->gate_at};
	int err;

	memset(&l, 0, sizeof(l));
	l.pgss_schema = mig_cha_pgss(ctx, run, p);
	l.pgss_installed = l.pgss_loaded = l.pgss_schema != NULL;
	if ((err = mig_gate_read(&g, ctx, run->conn, p->spec, &l, row)) != 0)
		return err;
	if (row->gate_at != NULL) {
		err = h->conn_query(
		    &rows, ctx, run->conn,
		    "SELECT extract(epoch FROM now() - $1::timestamptz)::float8::text AS age",
		    1, params);
		if (err != 0)
			return err;
		row->gate_age_s = strtod(h->rows_get(rows, 0, "age"), NULL);
	}
	if (mig_gate_judge(&why, ctx, p->spec, row, &g) == MIG_GATE_PASS)
		return 0;
	h->diag_hint(
	    ctx,
	    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &p->spec->loc,
		    "contract of change \"%s\" no longer passes its gate: %s",
		    p->spec->name, why),
	    "Plan again: the gate is evaluated when the plan is made and again before contract runs.");
	return DBOPS_ERR_CONFLICT;
}

static int mig_cha_contract_apply(struct dbops_ctx *ctx, struct mig_run *run,
				  const struct mig_chplan *p,
				  struct mig_chrow *row, const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *name = h->quote_literal(ctx, p->spec->name);
	int err;

	if (strcmp(row->checksum, p->spec->checksum) != 0 ||
	    row->state != MIG_CS_EXPANDED) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &p->spec->loc,
		    "%s: the change is %s (definition %s), not the expanded change planned",
		    what, mig_chstate_name(row->state), row->checksum);
		return DBOPS_ERR_CONFLICT;
	}
	if (p->bf != NULL && !row->bf_done) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &p->spec->loc,
			"%s: its backfill is not finished", what);
		return DBOPS_ERR_CONFLICT;
	}
	if (p->gated && !p->forced &&
	    (err = mig_cha_recheck(ctx, run, p, row)) != 0)
		return err;
	if (p->forced)
		h->log(ctx, DBOPS_LOG_WARNING,
		       "%s: the gate is overridden by --force-contract", what);
	if ((err = mig_ddl_run(ctx, run->conn, run->spec->lock_retries, p->ddl,
			       p->nddl, what, &p->spec->loc)) != 0)
		return err;
	return mig_cha_exec(
	    ctx, run,
	    h->printf(
		ctx,
		"BEGIN; UPDATE dbops.schema_changes SET state = 'contracted', contracted_at = now(), forced = %s, updated_at = now() WHERE name = %s; "
		"DELETE FROM dbops.pgss_snapshot WHERE change = %s; COMMIT",
		p->forced ? "true" : "false", name, name));
}

static int mig_cha_rollback_apply(struct dbops_ctx *ctx, struct mig_run *run,
				  const struct mig_chplan *p,
				  const struct mig_chrow *row, const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *name = h->quote_literal(ctx, p->spec->name);
	struct mig_ddl *d = NULL;
	size_t n = 0;
	int err;

	/* the rollback kept when it was expanded, read again */
	if ((err = mig_ch_stored_ddl(&d, &n, ctx, row->rollback_sql)) != 0 ||
	    (err = mig_ddl_run(ctx, run->conn, run->spec->lock_retries, d, n,
			       what, &p->spec->loc)) != 0)
		return err;
	return mig_cha_exec(
	    ctx, run,
	    h->printf(
		ctx,
		"BEGIN; UPDATE dbops.schema_changes SET state = 'rolled_back', rolled_back_at = now(), updated_at = now() WHERE name = %s; "
		"DELETE FROM dbops.backfill_cursor WHERE change = %s; "
		"DELETE FROM dbops.pgss_snapshot WHERE change = %s; COMMIT",
		name, name, name));
}

int mig_change_apply(struct dbops_ctx *ctx, const struct dbops_change *change)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_payload *pl = change->payload;
	const struct mig_chplan *p = pl->chplan;
	struct mig_run *run = pl->run;
	const char *what = h->printf(ctx, "change \"%s\"", p->spec->name);
	struct mig_chrow row;
	bool found;
	int err;

	if ((err = mig_changes_ensure(ctx, run->conn)) != 0 ||
	    (err = mig_cha_reread(&row, &found, ctx, run, p->spec->name)) != 0)
		return err;
	switch (p->step) {
	case MIG_STEP_EXPAND:
		if (found && row.state == MIG_CS_EXPANDED &&
		    strcmp(row.checksum, p->spec->checksum) == 0) {
			h->log(ctx, DBOPS_LOG_INFO, "%s is expanded already",
			       what);
			return 0;
		}
		return mig_cha_expand(ctx, run, p, what);
	case MIG_STEP_BACKFILL:
		if (!found || row.state != MIG_CS_EXPANDED) {
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT,
			    &p->spec->loc,
			    "%s: cannot backfill a change that is not expanded",
			    what);
			return DBOPS_ERR_CONFLICT;
		}
		if (row.bf_done) {
			h->log(ctx, DBOPS_LOG_INFO, "%s: backfilled already",
			       what);
			return 0;
		}
		return mig_backfill_run(ctx, run, p, run->spec->lock_retries);
	case MIG_STEP_GATE:
		if (!found || row.state != MIG_CS_EXPANDED)
			return 0;
		return mig_cha_exec(
		    ctx, run,
		    mig_gate_snapshot_sql(
			ctx, p->spec, mig_cha_pgss(ctx, run, p), p->counter));
	case MIG_STEP_CONTRACT:
		if (found && row.state == MIG_CS_CONTRACTED) {
			h->log(ctx, DBOPS_LOG_INFO, "%s is contracted already",
			       what);
			return 0;
		}
		if (!found) {
			h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT,
				&p->spec->loc, "%s: it was never expanded",
				what);
			return DBOPS_ERR_CONFLICT;
		}
		return mig_cha_contract_apply(ctx, run, p, &row, what);
	case MIG_STEP_ROLLBACK:
		if (!found || (row.state != MIG_CS_EXPANDED &&
			       row.state != MIG_CS_EXPANDING)) {
			h->log(ctx, DBOPS_LOG_INFO, "%s: nothing to roll back",
			       what);
			return 0;
		}
		return mig_cha_rollback_apply(ctx, run, p, &row, what);
	}
	return 0;
}

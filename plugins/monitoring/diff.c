/* SPDX-License-Identifier: PostgreSQL */
/*
 * diff.c and apply — the only changes the monitoring plugin plans, once
 * per monitored database, never per pass: CREATE EXTENSION
 * pg_stat_statements (when the section has `statements`) and hypopg
 * (when `advice.hypopg` is true), ALTER EXTENSION ... UPDATE for an
 * older installed version, and the snapshot tables in the `dbops` schema
 * that status fills. shared_preload_libraries and the pg_stat_statements
 * settings are the parameters plugin's changes (spec.c publishes them).
 * Each change runs on a connection of its own to its database, and
 * re-checks its precondition first.
 */
#include "monitoring_int.h"

#include <stdlib.h>
#include <string.h>

static const char mon_ddl[] =
    "CREATE SCHEMA IF NOT EXISTS dbops;\n"
    "CREATE TABLE dbops.monitoring_snapshots (\n"
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
    "  taken_at timestamptz NOT NULL,\n"
    "  prev_taken_at timestamptz,\n"
    "  server_version_num integer NOT NULL,\n"
    "  stats_reset timestamptz,\n"
    "  dealloc bigint,\n"
    "  reset boolean NOT NULL,\n"
    "  tracked integer NOT NULL,\n"
    "  evicted integer NOT NULL,\n"
    "  calls bigint NOT NULL,\n"
    "  exec_time double precision NOT NULL,\n"
    "  kept integer NOT NULL\n"
    ");\n"
    "CREATE INDEX monitoring_snapshots_taken_at ON dbops.monitoring_snapshots (taken_at);\n"
    "CREATE TABLE dbops.monitoring_statements (\n"
    "  snapshot_id bigint NOT NULL REFERENCES dbops.monitoring_snapshots ON DELETE CASCADE,\n"
    "  userid oid NOT NULL,\n"
    "  queryid bigint NOT NULL,\n"
    "  toplevel boolean NOT NULL,\n"
    "  calls bigint NOT NULL,\n"
    "  exec_time double precision NOT NULL,\n"
    "  plan_time double precision NOT NULL,\n"
    "  rows bigint NOT NULL,\n"
    "  shared_blks_hit bigint NOT NULL,\n"
    "  shared_blks_read bigint NOT NULL,\n"
    "  temp_blks_written bigint NOT NULL,\n"
    "  PRIMARY KEY (snapshot_id, userid, queryid, toplevel)\n"
    ");\n"
    "CREATE INDEX monitoring_statements_queryid ON dbops.monitoring_statements (queryid);\n"
    "CREATE TABLE dbops.monitoring_last (\n"
    "  userid oid NOT NULL,\n"
    "  queryid bigint NOT NULL,\n"
    "  toplevel boolean NOT NULL,\n"
    "  calls bigint NOT NULL,\n"
    "  exec_time double precision NOT NULL,\n"
    "  plan_time double precision NOT NULL,\n"
    "  rows bigint NOT NULL,\n"
    "  shared_blks_hit bigint NOT NULL,\n"
    "  shared_blks_read bigint NOT NULL,\n"
    "  temp_blks_written bigint NOT NULL,\n"
    "  PRIMARY KEY (userid, queryid, toplevel)\n"
    ");\n"
    "CREATE TABLE dbops.monitoring_queries (\n"
    "  queryid bigint PRIMARY KEY,\n"
    "  query text NOT NULL\n"
    ");\n"
    "COMMENT ON TABLE dbops.monitoring_snapshots IS '" MON_LAYOUT "'";

const char *mon_snapshot_ddl(void)
{
	return mon_ddl;
}

enum mon_change_kind {
	MON_CH_EXTENSION = 1,
	MON_CH_EXTENSION_UPDATE,
	MON_CH_SNAPSHOTS,
};

struct mon_change {
	enum mon_change_kind kind;
	const char *datname;
	const char *extension;
};

/* Dotted version numbers compared part by part ("1.10" > "1.9"). */
static int mon_version_cmp(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		char *ea, *eb;
		long x = strtol(a, &ea, 10);
		long y = strtol(b, &eb, 10);

		a = ea;
		b = eb;
		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
		if ((*a != '\0' && (*a < '0' || *a > '9')) ||
		    (*b != '\0' && (*b < '0' || *b > '9')))
			return strcmp(a, b);
	}
	return 0;
}

static void mon_plan_extension(struct dbops_ctx *ctx,
			       const struct mon_spec *spec, size_t i,
			       const char *ext, const char *installed,
			       const char *available, const char *why)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *db = spec->databases[i];
	struct mon_change *p = h->alloc(ctx, sizeof(*p));
	struct dbops_change *c;
	struct dbops_diag *d;

	p->datname = db;
	p->extension = ext;
	if (available == NULL && installed == NULL) {
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_UNSUPPORTED,
			    &spec->db_locs[i],
			    "extension \"%s\" is not available on the server",
			    ext);
		h->diag_hint(
		    ctx, d,
		    strcmp(ext, "hypopg") == 0
			? "Install postgresql-15-hypopg on the server, or set advice.hypopg: false (index advice then uses EXPLAIN's estimates)."
			: "Install the server's contrib modules (postgresql-contrib).");
		return;
	}
	if (installed == NULL) {
		p->kind = MON_CH_EXTENSION;
		c = h->change_new(
		    ctx, DBOPS_ACTION_CREATE,
		    h->printf(ctx, "monitoring.%s.extension.%s", db, ext));
		c->sql =
		    h->printf(ctx, "CREATE EXTENSION IF NOT EXISTS %s", ext);
		h->change_attr(ctx, c, "database", NULL, db, false);
		h->change_attr(ctx, c, "version", NULL, available, false);
	} else if (available != NULL &&
		   mon_version_cmp(installed, available) < 0) {
		p->kind = MON_CH_EXTENSION_UPDATE;
		c = h->change_new(
		    ctx, DBOPS_ACTION_UPDATE,
		    h->printf(ctx, "monitoring.%s.extension.%s", db, ext));
		c->sql = h->printf(ctx, "ALTER EXTENSION %s UPDATE", ext);
		h->change_attr(ctx, c, "database", db, db, false);
		h->change_attr(ctx, c, "version", installed, available, false);
	} else {
		return;
	}
	c->reason = why;
	c->flags = DBOPS_CHANGE_NONTX;
	c->loc = spec->db_locs[i];
	c->payload = p;
}

static void mon_plan_snapshots(struct dbops_ctx *ctx,
			       const struct mon_spec *spec, size_t i,
			       const struct mon_live_db *ld)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *db = spec->databases[i];
	struct mon_change *p;
	struct dbops_change *c;
	struct dbops_diag *d;

	if (ld->layout != NULL) {
		if (strcmp(ld->layout, MON_LAYOUT) == 0)
			return;
		d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &spec->db_locs[i],
		    "the snapshot tables of database \"%s\" have another layout",
		    db);
		h->diag_detail(ctx, d,
			       "dbops.monitoring_snapshots says \"%s\"; this "
			       "dbops writes \"%s\".",
			       ld->layout, MON_LAYOUT);
		h->diag_hint(ctx, d,
			     "Drop the dbops.monitoring_* tables of that "
			     "database (history is lost), then plan again.");
		return;
	}
	p = h->alloc(ctx, sizeof(*p));
	p->kind = MON_CH_SNAPSHOTS;
	p->datname = db;
	c = h->change_new(ctx, DBOPS_ACTION_CREATE,
			  h->printf(ctx, "monitoring.%s.snapshots", db));
	c->reason = "the tables dbops status keeps pg_stat_statements "
		    "snapshots in, instead of ever resetting it";
	c->sql = mon_ddl;
	c->flags = DBOPS_CHANGE_NONTX;
	c->loc = spec->statements_loc;
	c->payload = p;
	h->change_attr(ctx, c, "database", NULL, db, false);
	h->change_attr(ctx, c, "schema", NULL, "dbops", false);
}

int mon_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	     void *live_arg)
{
	struct mon_live *live = live_arg;
	const struct mon_spec *spec = live->spec;

	(void)section;
	for (size_t i = 0; i < live->ndbs; i++) {
		const struct mon_live_db *ld = &live->dbs[i];

		if (spec->statements) {
			mon_plan_extension(
			    ctx, spec, i, "pg_stat_statements",
			    ld->pgss_installed, ld->pgss_available,
			    "makes pg_stat_statements readable in this database");
			mon_plan_snapshots(ctx, spec, i, ld);
		}
		if (spec->hypopg)
			mon_plan_extension(
			    ctx, spec, i, "hypopg", ld->hypopg_installed,
			    ld->hypopg_available,
			    "hypothetical indexes for the index advice; "
			    "nothing is built");
	}
	return 0;
}

int mon_apply(struct dbops_ctx *ctx, const struct dbops_change *change)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_change *p = change->payload;
	struct dbops_conn *conn = NULL;
	struct dbops_rows *rows = NULL;
	const char *params[1];
	bool done = false;
	int err;

	if ((err = h->conn_open(&conn, ctx, mon_conninfo(ctx, p->datname),
				DBOPS_CONN_SAME_CLUSTER)) != 0)
		return err;
	params[0] = p->extension;
	if (p->kind == MON_CH_SNAPSHOTS) {
		err = h->conn_query(
		    &rows, ctx, conn,
		    "SELECT pg_catalog.to_regclass('dbops.monitoring_snapshots') IS NOT NULL AS done",
		    0, NULL);
		done = err == 0 && h->rows_get(rows, 0, "done")[0] == 't';
		if (err == 0 && !done)
			err = h->conn_query(
			    NULL, ctx, conn,
			    h->printf(ctx, "BEGIN;\n%s;\nCOMMIT", mon_ddl), 0,
			    NULL);
	} else {
		err = h->conn_query(
		    &rows, ctx, conn,
		    "SELECT e.extversion = a.default_version AS done FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname WHERE e.extname = $1",
		    1, params);
		done = err == 0 && rows->nrows == 1 &&
		       (p->kind == MON_CH_EXTENSION ||
			h->rows_get(rows, 0, "done")[0] == 't');
		if (err == 0 && !done)
			err = h->conn_query(NULL, ctx, conn, change->sql, 0,
					    NULL);
	}
	if (err == 0 && done)
		h->log(ctx, DBOPS_LOG_INFO,
		       "%s is already done in database \"%s\"", change->address,
		       p->datname);
	h->conn_close(ctx, conn);
	return err;
}

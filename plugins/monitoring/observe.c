/* SPDX-License-Identifier: PostgreSQL */
/*
 * observe.c — what a plan needs to know, read-only: for each monitored
 * database, in a repeatable-read read-only transaction of its own
 * connection, whether pg_stat_statements and hypopg are installed (and
 * which version the server offers), and whether the snapshot tables
 * exist. These rows enter the live-state fingerprint: they are state,
 * not statistics.
 *
 * Also the connections status and the report use (mon_conn): opened
 * VOLATILE, so that statistics never enter a saved plan's fingerprint,
 * with statement_timeout and lock_timeout set; every statement they run
 * is also appended to $DBOPS_MONITORING_TRACE when that is set, in
 * psql's syntax, so that tests/bench/monitoring.sh replays exactly what a
 * pass ran with the real psql.
 */
#include "monitoring_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char mon_q_extensions[] =
    "SELECT current_database() AS db, "
    "(SELECT extversion FROM pg_catalog.pg_extension "
    "WHERE extname = 'pg_stat_statements') AS pgss_installed, "
    "(SELECT default_version FROM pg_catalog.pg_available_extensions "
    "WHERE name = 'pg_stat_statements') AS pgss_available, "
    "(SELECT extversion FROM pg_catalog.pg_extension "
    "WHERE extname = 'hypopg') AS hypopg_installed, "
    "(SELECT default_version FROM pg_catalog.pg_available_extensions "
    "WHERE name = 'hypopg') AS hypopg_available, "
    "pg_catalog.obj_description("
    "pg_catalog.to_regclass('dbops.monitoring_snapshots'), 'pg_class') "
    "AS layout";

const char *mon_conninfo(struct dbops_ctx *ctx, const char *database)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t n = strlen(database);
	char *q = h->alloc(ctx, 2 * n + 1), *o = q;

	for (const char *p = database; *p; p++) {
		if (*p == '\'' || *p == '\\')
			*o++ = '\\';
		*o++ = *p;
	}
	return h->printf(ctx, "dbname='%s' application_name='dbops monitoring'",
			 q);
}

static void mon_trace(struct dbops_ctx *ctx, const char *datname,
		      const char *sql, int nparams, const char *const *params);

static void mon_live_db_fill(struct mon_live_db *out, struct dbops_ctx *ctx,
			     const struct dbops_rows *rows)
{
	const struct dbops_host *h = dbops_host(ctx);

	out->pgss_installed = h->rows_get(rows, 0, "pgss_installed");
	out->pgss_available = h->rows_get(rows, 0, "pgss_available");
	out->hypopg_installed = h->rows_get(rows, 0, "hypopg_installed");
	out->hypopg_available = h->rows_get(rows, 0, "hypopg_available");
	out->layout = h->rows_get(rows, 0, "layout");
}

/* The database dbops connects to is read in the pass's own snapshot;
 * the others over a connection each. */
static int mon_observe_db(struct mon_live_db *out, struct dbops_ctx *ctx,
			  const char *database, const char *current)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_conn *conn = NULL;
	struct dbops_rows *rows = NULL;
	int err;

	out->name = database;
	if (strcmp(database, current) == 0) {
		mon_trace(ctx, database, NULL, 0, NULL);
		mon_trace(ctx, database, mon_q_extensions, 0, NULL);
		if ((err = h->query(&rows, ctx, mon_q_extensions, 0, NULL)))
			return err;
		mon_live_db_fill(out, ctx, rows);
		return 0;
	}
	if ((err = h->conn_open(&conn, ctx, mon_conninfo(ctx, database),
				DBOPS_CONN_SAME_CLUSTER)) != 0)
		return err;
	/* dbops' own statements do not belong in what it reports */
	PQclear(PQexec(h->conn_pgconn(conn),
		       "SET pg_stat_statements.track = none"));
	mon_trace(ctx, database, NULL, 0, NULL);
	mon_trace(ctx, database, "SET pg_stat_statements.track = none", 0,
		  NULL);
	mon_trace(ctx, database,
		  "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
	mon_trace(ctx, database, mon_q_extensions, 0, NULL);
	mon_trace(ctx, database, "COMMIT", 0, NULL);
	err = h->conn_query(NULL, ctx, conn,
			    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			    0, NULL);
	if (err == 0)
		err =
		    h->conn_query(&rows, ctx, conn, mon_q_extensions, 0, NULL);
	if (err == 0)
		err = h->conn_query(NULL, ctx, conn, "COMMIT", 0, NULL);
	h->conn_close(ctx, conn);
	if (err != 0)
		return err;
	mon_live_db_fill(out, ctx, rows);
	return 0;
}

int mon_observe(void **live_out, struct dbops_ctx *ctx,
		const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mon_live *live = h->alloc(ctx, sizeof(*live));
	struct dbops_rows *rows = NULL;
	struct mon_spec *spec;
	int err;

	if ((err = mon_spec_parse(&spec, ctx, section)) != 0)
		return err;
	live->spec = spec;
	if ((err = h->query(&rows, ctx, "SELECT current_database() AS db", 0,
			    NULL)) != 0)
		return err;
	live->current_db = h->rows_get(rows, 0, "db");
	if (spec->default_db) {
		spec->databases = h->alloc(ctx, sizeof(*spec->databases));
		spec->db_locs = h->alloc(ctx, sizeof(*spec->db_locs));
		spec->databases[0] = live->current_db;
		spec->db_locs[0] = spec->loc;
		spec->ndatabases = 1;
	}
	live->ndbs = spec->ndatabases;
	live->dbs = h->alloc(ctx, (live->ndbs + 1) * sizeof(*live->dbs));
	for (size_t i = 0; i < live->ndbs; i++)
		if ((err =
			 mon_observe_db(&live->dbs[i], ctx, spec->databases[i],
					live->current_db)) != 0)
			return err;
	*live_out = live;
	return 0;
}

const char *mon_with_schema(struct dbops_ctx *ctx, const char *sql,
			    const char *schema)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *out = "", *at;

	/* one pass: the schema's name may hold "@pgss@" itself */
	while ((at = strstr(sql, "@pgss@")) != NULL) {
		out = h->printf(ctx, "%s%.*s%s", out, (int)(at - sql), sql,
				schema);
		sql = at + 6;
	}
	return h->printf(ctx, "%s%s", out, sql);
}

/* ---- connections of status and the report */

static void mon_trace(struct dbops_ctx *ctx, const char *datname,
		      const char *sql, int nparams, const char *const *params)
{
	const char *path = getenv("DBOPS_MONITORING_TRACE");
	const struct dbops_host *h = dbops_host(ctx);
	FILE *f;

	if (path == NULL || path[0] == '\0')
		return;
	f = fopen(path, "a");
	if (f == NULL)
		return;
	if (sql == NULL) {
		fprintf(f, "\\connect %s\n", h->quote_ident(ctx, datname));
	} else {
		/* psql cannot bind: the parameters go in as literals, in
		 * one pass (a literal may hold "$2" itself) */
		const char *text = "";
		const char *p = sql;

		while (*p != '\0') {
			const char *q = p;
			long k = 0;

			while (*q != '\0' && *q != '$')
				q++;
			text = h->printf(ctx, "%s%.*s", text, (int)(q - p), p);
			if (*q == '\0')
				break;
			p = q + 1;
			while (*p >= '0' && *p <= '9' && k < 100000)
				k = k * 10 + (*p++ - '0');
			if (k >= 1 && k <= nparams)
				text = h->printf(
				    ctx, "%s%s", text,
				    params[k - 1] != NULL
					? h->quote_literal(ctx, params[k - 1])
					: "NULL");
			else
				text = h->printf(ctx, "%s%.*s", text,
						 (int)(p - q), q);
		}
		fprintf(f, "%s;\n", text);
	}
	fclose(f);
}

int mon_conn_open(struct mon_conn *out, struct dbops_ctx *ctx,
		  const char *datname, const struct mon_spec *spec)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *setup;
	int err;

	out->datname = datname;
	out->conn = NULL;
	err = h->conn_open(&out->conn, ctx, mon_conninfo(ctx, datname),
			   DBOPS_CONN_SAME_CLUSTER | DBOPS_CONN_VOLATILE);
	if (err != 0)
		return err;
	mon_trace(ctx, datname, NULL, 0, NULL);
	setup = h->printf(ctx,
			  "SET statement_timeout = %.0f; SET lock_timeout = "
			  "1000; SET search_path = pg_catalog",
			  spec->statement_timeout * 1000.0);
	if ((err = mon_exec(NULL, ctx, out, setup, 0, NULL)) != 0)
		return err;
	/* dbops' own statements do not belong in what it reports: off where
	 * the role may (a superuser, or GRANT SET ON PARAMETER); elsewhere
	 * they are counted, which is no reason to fail */
	(void)mon_try(NULL, NULL, ctx, out,
		      "SET pg_stat_statements.track = none");
	return 0;
}

int mon_exec(struct dbops_rows **out, struct dbops_ctx *ctx, struct mon_conn *c,
	     const char *sql, int nparams, const char *const *params)
{
	mon_trace(ctx, c->datname, sql, nparams, params);
	return dbops_host(ctx)->conn_query(out, ctx, c->conn, sql, nparams,
					   params);
}

int mon_try(struct dbops_rows **out, const char **error, struct dbops_ctx *ctx,
	    struct mon_conn *c, const char *sql)
{
	return mon_try_params(out, error, ctx, c, sql, 0, NULL);
}

int mon_try_params(struct dbops_rows **out, const char **error,
		   struct dbops_ctx *ctx, struct mon_conn *c, const char *sql,
		   int nparams, const char *const *params)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *pg = h->conn_pgconn(c->conn);
	PGresult *res;
	struct dbops_rows *rows;
	ExecStatusType st;

	mon_trace(ctx, c->datname, sql, nparams, params);
	if (error != NULL)
		*error = NULL;
	if (pg == NULL) {
		if (error != NULL)
			*error = "not connected";
		return DBOPS_ERR_GENERIC;
	}
	res = nparams > 0
		  ? PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0)
		  : PQexec(pg, sql);
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		const char *msg =
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		if (error != NULL)
			*error = h->strdup(
			    ctx, msg != NULL ? msg : PQerrorMessage(pg));
		PQclear(res);
		return DBOPS_ERR_GENERIC;
	}
	if (out != NULL) {
		int nr = PQntuples(res), nc = PQnfields(res);
		const char **names =
		    h->alloc(ctx, ((size_t)nc + 1) * sizeof(*names));
		const char **values = h->alloc(
		    ctx, ((size_t)nr * (size_t)nc + 1) * sizeof(*values));

		for (int k = 0; k < nc; k++)
			names[k] = h->strdup(ctx, PQfname(res, k));
		for (int r = 0; r < nr; r++)
			for (int k = 0; k < nc; k++)
				values[(size_t)r * (size_t)nc + (size_t)k] =
				    PQgetisnull(res, r, k)
					? NULL
					: h->strdup(ctx, PQgetvalue(res, r, k));
		rows = h->alloc(ctx, sizeof(*rows));
		rows->nrows = nr;
		rows->ncols = nc;
		rows->colnames = names;
		rows->values = values;
		*out = rows;
	}
	PQclear(res);
	return 0;
}

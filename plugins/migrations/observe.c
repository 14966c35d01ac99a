/* SPDX-License-Identifier: PostgreSQL */
/*
 * observe.c — the live side of migrations: for each database of the spec,
 * one connection (host->conn_open, same cluster), and in a repeatable-read
 * read-only transaction on it, the rows of the Flyway history table (when
 * it exists) and the indexes left INVALID by a failed concurrent build.
 * The migration files themselves are read here too (validate.c), since
 * diff must not do I/O. Nothing is written.
 */
#include "change.h"

#include <stdlib.h>
#include <string.h>

const char *mig_qtable(struct dbops_ctx *ctx, const struct mig_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);

	return h->printf(ctx, "%s.%s", h->quote_ident(ctx, db->hist_schema),
			 h->quote_ident(ctx, db->hist_table));
}

static int32_t mig_parse_int32(const char *s)
{
	return (int32_t)strtol(s, NULL, 10);
}

static int mig_rows_read(struct mig_live_db *out, struct dbops_ctx *ctx,
			 struct dbops_conn *conn, const struct mig_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *sql;
	int err;

	sql = h->printf(
	    ctx,
	    "SELECT installed_rank, version, description, type, script, checksum, success FROM %s ORDER BY installed_rank",
	    mig_qtable(ctx, db));
	if ((err = h->conn_query(&rows, ctx, conn, sql, 0, NULL)) != 0)
		return err;
	out->rows =
	    h->alloc(ctx, ((size_t)rows->nrows + 1) * sizeof(*out->rows));
	out->nrows = (size_t)rows->nrows;
	for (int i = 0; i < rows->nrows; i++) {
		const char *const *v = rows->values + (size_t)i * 7;
		struct mig_row *r = &out->rows[i];

		r->rank = (int)mig_parse_int32(v[0]);
		r->version = v[1];
		if (r->version != NULL &&
		    mig_version_parse(&r->v, ctx, r->version) != 0) {
			/* a version dbops cannot compare (Flyway accepts
			 * no others either); keep the text */
			r->v.text = r->version;
			r->v.parts = NULL;
			r->v.nparts = 0;
		}
		r->description = v[2] ? v[2] : "";
		r->type = v[3] ? v[3] : "";
		r->script = v[4] ? v[4] : "";
		r->has_checksum = v[5] != NULL;
		r->checksum = v[5] ? mig_parse_int32(v[5]) : 0;
		r->success = v[6] != NULL && v[6][0] == 't';
	}
	return 0;
}

int mig_history_read(struct mig_live_db *out, struct dbops_ctx *ctx,
		     struct dbops_conn *conn, const struct mig_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *params[1];
	int err;

	memset(out, 0, sizeof(*out));
	params[0] = mig_qtable(ctx, db);
	err = h->conn_query(
	    &rows, ctx, conn,
	    "SELECT pg_catalog.to_regclass($1) IS NOT NULL AS present", 1,
	    params);
	if (err != 0)
		return err;
	out->table_exists = rows->nrows == 1 &&
			    h->rows_get(rows, 0, "present") != NULL &&
			    h->rows_get(rows, 0, "present")[0] == 't';
	if (out->table_exists && (err = mig_rows_read(out, ctx, conn, db)) != 0)
		return err;
	return mig_invalid_read(&out->invalid_indexes, &out->ninvalid, ctx,
				conn);
}

int mig_invalid_read(const char *const **names, size_t *n,
		     struct dbops_ctx *ctx, struct dbops_conn *conn)
{
	struct dbops_rows *rows = NULL;
	int err;

	err = dbops_host(ctx)->conn_query(
	    &rows, ctx, conn,
	    "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid ORDER BY 1",
	    0, NULL);
	if (err != 0)
		return err;
	*names = rows->nrows > 0 ? rows->values : NULL; /* one column */
	*n = (size_t)rows->nrows;
	return 0;
}

const char *mig_conninfo(struct dbops_ctx *ctx, const char *database)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t n = strlen(database);
	char *q = h->alloc(ctx, 2 * n + 1), *o = q;

	for (const char *p = database; *p; p++) {
		if (*p == '\'' || *p == '\\')
			*o++ = '\\';
		*o++ = *p;
	}
	/* migration files are UTF-8, whatever the database's encoding */
	return h->printf(ctx, "dbname='%s' client_encoding='UTF8'", q);
}

int mig_observe(void **live_out, struct dbops_ctx *ctx,
		const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_live *live = h->alloc(ctx, sizeof(*live));
	struct mig_spec *spec = NULL;
	int err;

	/* the files validate listed in this pass, else a listing now */
	spec = h->pass_data(ctx);
	if (spec == NULL &&
	    (err = mig_spec_load(&spec, ctx, section, MIG_LOAD_IDS)) != 0)
		return err;
	live->spec = spec;
	live->ndbs = spec->ndbs;
	live->dbs = h->alloc(ctx, (spec->ndbs + 1) * sizeof(*live->dbs));
	live->conns = h->alloc(ctx, (spec->ndbs + 1) * sizeof(*live->conns));
	for (size_t i = 0; i < spec->ndbs; i++) {
		struct dbops_conn *conn = NULL;

		err = h->conn_open(&conn, ctx,
				   mig_conninfo(ctx, spec->dbs[i].database),
				   DBOPS_CONN_SAME_CLUSTER);
		if (err != 0)
			return err;
		live->conns[i] = conn;
		err = h->conn_query(
		    NULL, ctx, conn,
		    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
		if (err == 0)
			err = mig_history_read(&live->dbs[i], ctx, conn,
					       &spec->dbs[i]);
		if (err == 0)
			err = mig_progress_read(&live->dbs[i], ctx, conn,
						&spec->dbs[i]);
		if (err == 0)
			err = mig_sources_read(&live->dbs[i], ctx, conn,
					       &spec->dbs[i]);
		if (err == 0)
			err = mig_changes_observe(&live->dbs[i], ctx, conn,
						  &spec->dbs[i]);
		if (err != 0) {
			h->conn_query(NULL, ctx, conn, "ROLLBACK", 0, NULL);
			return err;
		}
		if ((err = h->conn_query(NULL, ctx, conn, "COMMIT", 0, NULL)))
			return err;
		err = mig_sources_resolve(ctx, &spec->dbs[i], &live->dbs[i]);
		if (err != 0)
			return err;
	}
	*live_out = live;
	return 0;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * sources.c — which git blob each applied migration was read from, so
 * that a plan reads only the files it must.
 *
 * git names every file by the hash of its content. When a migration is
 * applied from a git revision, its blob id is written beside the history
 * row, in the same transaction, into dbops.migration_sources of the
 * migrated database (Flyway's table keeps Flyway's shape). A later
 * observe lists the files with their ids only; a versioned migration
 * whose id equals the one its applied row was recorded with, and whose
 * recorded checksum is still the row's, has that checksum and is not
 * read (a file with the same id has the same bytes, so the same
 * checksum). Every other file is read: pending ones, repeatables and
 * callbacks, files of a history written by Flyway or from --dir (no id
 * recorded), changed files (a new id) and rows edited since.
 *
 * The table is optional: a role that may not create it, or read it,
 * costs reading every file, never an error.
 */
#include "migrations_int.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

static const char mig_sources_ddl[] =
    "CREATE SCHEMA IF NOT EXISTS dbops; "
    "CREATE TABLE IF NOT EXISTS dbops.migration_sources ("
    "history_table text NOT NULL, installed_rank integer NOT NULL, "
    "blob_id text NOT NULL, checksum integer NOT NULL, "
    "recorded_at timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (history_table, installed_rank)); "
    "COMMENT ON TABLE dbops.migration_sources IS 'dbops: the git blob "
    "each applied migration was read from'";

/* Whether the table exists and this session may read (or write) it. */
static const char mig_sources_usable[] =
    "SELECT c IS NOT NULL AND pg_catalog.has_table_privilege(c, $1) AS ok "
    "FROM (SELECT pg_catalog.to_regclass('dbops.migration_sources') AS c) "
    "s";

static int mig_sources_check(bool *ok, struct dbops_ctx *ctx,
			     struct dbops_conn *conn, const char *privilege)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *params[1] = {privilege};
	const char *v;
	int err;

	err = h->conn_query(&rows, ctx, conn, mig_sources_usable, 1, params);
	if (err != 0)
		return err;
	v = rows->nrows == 1 ? h->rows_get(rows, 0, "ok") : NULL;
	*ok = v != NULL && v[0] == 't';
	return 0;
}

/* ---- observe */

static int mig_source_cmp(const void *x, const void *y)
{
	const struct mig_source *a = x, *b = y;

	return (a->rank > b->rank) - (a->rank < b->rank);
}

int mig_sources_read(struct mig_live_db *out, struct dbops_ctx *ctx,
		     struct dbops_conn *conn, const struct mig_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *params[1];
	bool ok = false;
	int err;

	out->sources = NULL;
	out->nsources = 0;
	if ((err = mig_sources_check(&ok, ctx, conn, "SELECT")) != 0 || !ok)
		return err;
	params[0] = mig_qtable(ctx, db);
	err = h->conn_query(&rows, ctx, conn,
			    "SELECT installed_rank, blob_id, checksum FROM "
			    "dbops.migration_sources WHERE history_table = $1",
			    1, params);
	if (err != 0)
		return err;
	out->sources =
	    h->alloc(ctx, ((size_t)rows->nrows + 1) * sizeof(*out->sources));
	for (int i = 0; i < rows->nrows; i++) {
		struct mig_source *s = &out->sources[out->nsources];
		const char *rank = h->rows_get(rows, i, "installed_rank");
		const char *sum = h->rows_get(rows, i, "checksum");
		const char *id = h->rows_get(rows, i, "blob_id");

		/* the columns are NOT NULL: a NULL means the table is not
		 * ours; such a row is simply not used */
		if (rank == NULL || sum == NULL || id == NULL)
			continue;
		s->rank = (int)strtol(rank, NULL, 10);
		s->checksum = (int32_t)strtol(sum, NULL, 10);
		s->blob_id = id;
		out->nsources++;
	}
	if (out->nsources > 1)
		qsort(out->sources, out->nsources, sizeof(*out->sources),
		      mig_source_cmp);
	return 0;
}

static const struct mig_source *mig_source_at(const struct mig_live_db *l,
					      int rank)
{
	struct mig_source key = {.rank = rank};

	if (l->nsources == 0)
		return NULL;
	return bsearch(&key, l->sources, l->nsources, sizeof(key),
		       mig_source_cmp);
}

static int mig_row_vcmp(const void *x, const void *y)
{
	const struct mig_row *a = *(const struct mig_row *const *)x;
	const struct mig_row *b = *(const struct mig_row *const *)y;
	int c = mig_version_cmp(&a->v, &b->v);

	return c != 0 ? c : (a->rank > b->rank) - (a->rank < b->rank);
}

/* The successful SQL rows of versioned migrations, by version then
 * rank: the last one of a version is the row its file is checked
 * against. */
static const struct mig_row **mig_applied_index(struct dbops_ctx *ctx,
						const struct mig_live_db *l,
						size_t *n_out)
{
	const struct mig_row **v =
	    dbops_host(ctx)->alloc(ctx, (l->nrows + 1) * sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < l->nrows; i++) {
		const struct mig_row *r = &l->rows[i];

		if (r->version != NULL && r->v.parts != NULL && r->success &&
		    r->has_checksum && strcmp(r->type, "SQL") == 0)
			v[n++] = r;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), mig_row_vcmp);
	*n_out = n;
	return v;
}

static const struct mig_row *mig_applied_row(const struct mig_row **v, size_t n,
					     const struct mig_version *ver)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mig_version_cmp(&v[mid]->v, ver) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || mig_version_cmp(&v[lo - 1]->v, ver) != 0)
		return NULL;
	return v[lo - 1];
}

static int mig_read_one(struct dbops_ctx *ctx, const struct mig_db *db,
			struct mig_file *f, int *result)
{
	int err = mig_file_read(ctx, db, f);

	if (err == DBOPS_ERR_INVALID) {
		*result = DBOPS_ERR_INVALID;
		return 0;
	}
	return err;
}

int mig_sources_resolve(struct dbops_ctx *ctx, struct mig_db *db,
			const struct mig_live_db *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t napplied = 0, known = 0, read = 0;
	const struct mig_row **applied =
	    live->nsources > 0 ? mig_applied_index(ctx, live, &napplied) : NULL;
	int result = 0, err;

	for (size_t i = 0; i < db->nfiles; i++) {
		struct mig_file *f = &db->files[i];
		const struct mig_row *r;
		const struct mig_source *s;

		if (f->read)
			continue;
		if (f->name.kind == MIG_VERSIONED && f->blob_id != NULL &&
		    (r = mig_applied_row(applied, napplied,
					 &f->name.version)) != NULL &&
		    (s = mig_source_at(live, r->rank)) != NULL &&
		    s->checksum == r->checksum &&
		    strcmp(s->blob_id, f->blob_id) == 0) {
			f->checksum = r->checksum;
			known++;
			continue;
		}
		if ((err = mig_read_one(ctx, db, f, &result)) != 0)
			return err;
		read++;
	}
	for (size_t i = 0; i < db->ncallbacks; i++) {
		if (db->callbacks[i].read)
			continue;
		if ((err = mig_read_one(ctx, db, &db->callbacks[i], &result)))
			return err;
		read++;
	}
	if (h->flag(ctx, "verbose"))
		h->diag(ctx, DBOPS_SEV_NOTICE, 0, &db->loc,
			"database \"%s\": %zu migration file%s known by "
			"their git ids, %zu read",
			db->database, known, known == 1 ? "" : "s", read);
	return result;
}

/* ---- apply */

int mig_sources_setup(struct dbops_ctx *ctx, struct mig_run *run)
{
	const struct dbops_host *h = dbops_host(ctx);
	bool ok = false, any = false;
	int err;

	run->sources = false;
	for (size_t i = 0; i < run->db->nfiles && !any; i++)
		any = run->db->files[i].blob_id != NULL;
	if (!any)
		return 0; /* --dir: nothing to record */
	if ((err = mig_sources_check(&ok, ctx, run->conn, "INSERT")) != 0)
		return err;
	if (!ok) {
		PGconn *pg = h->conn_pgconn(run->conn);
		PGresult *res = PQexec(pg, mig_sources_ddl);

		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			/* optional: a role without CREATE on the database
			 * reads every file at each plan, and says so */
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_NOTICE, 0, &run->db->loc,
			    "the git ids of migrations are not recorded in database \"%s\"",
			    run->db->database);

			h->diag_detail(
			    ctx, d, "%s",
			    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
			h->diag_hint(
			    ctx, d,
			    "Plans read every migration file; to let them skip the applied ones, allow this role to create schema dbops (GRANT CREATE ON DATABASE).");
			PQclear(res);
			return 0;
		}
		PQclear(res);
		if ((err = mig_sources_check(&ok, ctx, run->conn, "INSERT")) !=
		    0)
			return err;
	}
	run->sources = ok;
	return 0;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * observe.c — the live side of backups: pg_stat_archiver and the
 * archiving settings as the server runs them, the last restore drill
 * recorded in the cluster, and the repository (its catalog of backups and
 * its newest WAL file). Statistics are read on a volatile connection, so
 * that they do not make a saved plan stale; the catalog's backup ids do
 * enter the fingerprint, since retention's changes depend on them. A
 * repository that cannot be read is not an error here: status reports
 * it, and the commands that need it fail with its reason.
 */
#include "backups_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char obs_sql[] =
    "SELECT a.archived_count, a.last_archived_wal, "
    "extract(epoch FROM a.last_archived_time)::bigint AS last_archived_time, "
    "a.failed_count, a.last_failed_wal, "
    "extract(epoch FROM a.last_failed_time)::bigint AS last_failed_time, "
    "pg_catalog.current_setting('archive_mode') AS archive_mode, "
    "pg_catalog.current_setting('archive_command') AS archive_command, "
    "pg_catalog.pg_is_in_recovery() AS in_recovery, "
    "CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL ELSE "
    "pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()) END AS current_wal, "
    "extract(epoch FROM pg_catalog.now())::bigint AS now, "
    "extract(epoch FROM pg_catalog.pg_postmaster_start_time())::bigint AS started, "
    "pg_catalog.current_setting('server_version_num') AS version, "
    "(SELECT system_identifier::text FROM pg_catalog.pg_control_system()) AS system_id, "
    "pg_catalog.to_regclass('" BAK_DRILL_TABLE "') IS NOT NULL AS has_drills "
    "FROM pg_catalog.pg_stat_archiver a";

static const char obs_drill_sql[] =
    "SELECT extract(epoch FROM finished_at)::bigint AS at, rto_seconds, ok "
    "FROM " BAK_DRILL_TABLE " ORDER BY id DESC LIMIT 1";

static int64_t obs_int(const char *s)
{
	return s != NULL ? strtoll(s, NULL, 10) : 0;
}

static int obs_server(struct bak_live *l, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_conn *c = NULL;
	struct dbops_rows *r = NULL;
	int err;

	if ((err = h->conn_open(&c, ctx, "application_name=dbops-backups",
				DBOPS_CONN_SAME_CLUSTER |
				    DBOPS_CONN_VOLATILE)) != 0)
		return err;
	if ((err = h->conn_query(&r, ctx, c, obs_sql, 0, NULL)) != 0)
		goto done;
	l->archived_count = obs_int(h->rows_get(r, 0, "archived_count"));
	l->last_archived_wal = h->rows_get(r, 0, "last_archived_wal");
	l->last_archived_time =
	    obs_int(h->rows_get(r, 0, "last_archived_time"));
	l->failed_count = obs_int(h->rows_get(r, 0, "failed_count"));
	l->last_failed_wal = h->rows_get(r, 0, "last_failed_wal");
	l->last_failed_time = obs_int(h->rows_get(r, 0, "last_failed_time"));
	l->archive_mode = h->rows_get(r, 0, "archive_mode");
	l->archive_command = h->rows_get(r, 0, "archive_command");
	l->in_recovery = h->rows_get(r, 0, "in_recovery") != NULL &&
			 strcmp(h->rows_get(r, 0, "in_recovery"), "t") == 0;
	l->current_wal = h->rows_get(r, 0, "current_wal");
	l->now = obs_int(h->rows_get(r, 0, "now"));
	l->started = obs_int(h->rows_get(r, 0, "started"));
	l->pg_version = (int)obs_int(h->rows_get(r, 0, "version"));
	l->system_id = h->rows_get(r, 0, "system_id");
	if (h->rows_get(r, 0, "has_drills") != NULL &&
	    strcmp(h->rows_get(r, 0, "has_drills"), "t") == 0 &&
	    (err = h->conn_query(&r, ctx, c, obs_drill_sql, 0, NULL)) == 0 &&
	    r->nrows > 0) {
		l->has_drill = true;
		l->drill_time = obs_int(h->rows_get(r, 0, "at"));
		l->drill_rto = strtod(h->rows_get(r, 0, "rto_seconds")
					  ? h->rows_get(r, 0, "rto_seconds")
					  : "0",
				      NULL);
		l->drill_ok = h->rows_get(r, 0, "ok") != NULL &&
			      strcmp(h->rows_get(r, 0, "ok"), "t") == 0;
	}
done:
	h->conn_close(ctx, c);
	return err;
}

/* Copy the catalog into the arena (the plan's changes point into it) and
 * free the heap copy. */
static void obs_catalog(struct bak_live *l, struct dbops_ctx *ctx,
			struct bak_catalog *cat)
{
	const struct dbops_host *h = dbops_host(ctx);

	l->cat.n = cat->n;
	l->cat.v = h->alloc(ctx, (cat->n + 1) * sizeof(*cat->v));
	for (size_t i = 0; i < cat->n; i++) {
		struct bak_backup *d = &l->cat.v[i];
		const struct bak_backup *s = &cat->v[i];

		*d = *s;
		d->id = h->strdup(ctx, s->id);
		d->type = h->strdup(ctx, s->type);
		d->parent = s->parent ? h->strdup(ctx, s->parent) : NULL;
		d->label = s->label ? h->strdup(ctx, s->label) : NULL;
		d->wal_start = h->strdup(ctx, s->wal_start);
		d->wal_stop = h->strdup(ctx, s->wal_stop);
		d->archive = h->strdup(ctx, s->archive);
		d->compression = h->strdup(ctx, s->compression);
		d->source = s->source ? h->strdup(ctx, s->source) : NULL;
		d->system_id =
		    s->system_id ? h->strdup(ctx, s->system_id) : NULL;
		d->files = NULL;
		d->nfiles = 0;
		h->observe_note(ctx, "backup", d->id);
	}
	bak_catalog_dispose(cat);
}

static void obs_repository(struct bak_live *l, struct dbops_ctx *ctx,
			   const struct bak_spec *spec)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct bak_repo *repo = NULL;
	struct bak_codec codec;
	struct bak_catalog cat;
	struct bak_err e = {0};
	char **keys = NULL;
	size_t n = 0;

	if (bak_repo_for(&repo, &codec, ctx, spec) != 0) {
		snprintf(l->repo_error, sizeof(l->repo_error),
			 "could not open the repository");
		return;
	}
	if (bak_catalog_load(&cat, repo, &codec, false, &e) != 0 ||
	    bak_repo_list(&keys, &n, repo, "wal/", &e) != 0) {
		snprintf(l->repo_error, sizeof(l->repo_error), "%s%s%s", e.msg,
			 e.detail[0] ? ": " : "", e.detail);
		bak_repo_close(repo);
		return;
	}
	obs_catalog(l, ctx, &cat);
	l->wal_keys = h->alloc(ctx, (n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *base = strrchr(keys[i], '/');

		base = base ? base + 1 : keys[i];
		l->wal_keys[l->nwal++] = h->strdup(ctx, keys[i]);
		if (bak_wal_is_segment(base) &&
		    (l->newest_wal == NULL ||
		     strcmp(base + 8, l->newest_wal + 8) > 0 ||
		     (strcmp(base + 8, l->newest_wal + 8) == 0 &&
		      strcmp(base, l->newest_wal) > 0)))
			l->newest_wal = h->strdup(ctx, base);
	}
	bak_strv_free(keys, n);
	bak_repo_close(repo);
	l->repo_ok = true;
}

int bak_observe(void **live_out, struct dbops_ctx *ctx,
		const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct bak_spec *spec = bak_spec_of(ctx, section);
	struct bak_live *l = h->alloc(ctx, sizeof(*l));
	int err;

	*live_out = l;
	if ((err = obs_server(l, ctx)) != 0)
		return err;
	if (l->now == 0)
		l->now = (int64_t)time(NULL);
	obs_repository(l, ctx, spec);
	return 0;
}

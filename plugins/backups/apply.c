/* SPDX-License-Identifier: PostgreSQL */
/*
 * apply.c — carry out one backups change: take a backup, expire a backup
 * or old WAL, restore, run a drill. Each re-checks what it can first: an
 * expired backup already gone is done; a restore refuses a directory in
 * use or not empty; a backup refuses to start while archiving does not
 * reach the repository.
 */
#include "backups_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ap_expire(struct dbops_ctx *ctx, const struct bak_spec *s,
		     const char *id)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct bak_repo *repo = NULL;
	struct bak_codec codec;
	struct bak_err e = {0};
	char prefix[256], key[512];
	char **keys = NULL;
	size_t n = 0;
	bool exists = false;
	int err;

	if ((err = bak_repo_for(&repo, &codec, ctx, s)) != 0)
		return err;
	snprintf(key, sizeof(key), "backups/%s/backup.json", id);
	snprintf(prefix, sizeof(prefix), "backups/%s/", id);
	if ((err = bak_repo_stat(&exists, NULL, repo, key, &e)) != 0)
		goto fail;
	if (!exists)
		h->log(ctx, DBOPS_LOG_INFO, "backup %s is already gone", id);
	/* the catalog entry first: the backup is gone at once, and a pass
	 * interrupted later leaves only files no catalog points to, which
	 * the next listing removes below */
	if (exists && (err = bak_repo_delete(repo, key, &e)) != 0)
		goto fail;
	if ((err = bak_repo_list(&keys, &n, repo, prefix, &e)) != 0)
		goto fail;
	for (size_t i = 0; i < n && err == 0; i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, keys[i]);
		err = bak_repo_delete(repo, key, &e);
	}
	bak_strv_free(keys, n);
	if (err != 0)
		goto fail;
	bak_repo_close(repo);
	return 0;
fail:
	bak_repo_close(repo);
	return bak_diag(ctx, &s->retention_loc, &e);
}

static int ap_expire_wal(struct dbops_ctx *ctx, const struct bak_spec *s,
			 const char *floor)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct bak_repo *repo = NULL;
	struct bak_codec codec;
	struct bak_err e = {0};
	char **keys = NULL;
	size_t n = 0, gone = 0;
	int err;

	if ((err = bak_repo_for(&repo, &codec, ctx, s)) != 0)
		return err;
	if ((err = bak_repo_list(&keys, &n, repo, "wal/", &e)) != 0)
		goto done;
	for (size_t i = 0; i < n && err == 0; i++) {
		const char *base = strrchr(keys[i], '/');
		char key[512];

		base = base ? base + 1 : keys[i];
		if (strlen(base) < 24 ||
		    strspn(base, "0123456789ABCDEF") < 24 ||
		    strncmp(base + 8, floor + 8, 16) >= 0)
			continue;
		snprintf(key, sizeof(key), "wal/%s", keys[i]);
		err = bak_repo_delete(repo, key, &e);
		gone++;
	}
	bak_strv_free(keys, n);
	h->log(ctx, DBOPS_LOG_INFO, "removed %zu WAL files before %s", gone,
	       floor);
done:
	bak_repo_close(repo);
	return err != 0 ? bak_diag(ctx, &s->retention_loc, &e) : 0;
}

static int ap_restore(struct dbops_ctx *ctx, const struct bak_spec *s,
		      const struct bak_payload *p)
{
	struct bak_restore_result res;

	return bak_restore_run(&res, ctx, s, p, false);
}

int bak_apply(struct dbops_ctx *ctx, const struct dbops_change *change)
{
	const struct bak_payload *p = change->payload;
	/* apply is not handed the section: diff put the parsed spec (in the
	 * pass arena) into the payload */
	const struct bak_spec *s = p->spec;

	switch (p->op) {
	case BAK_OP_BACKUP:
		return p->incremental
			   ? bak_backup_incremental(ctx, s, p->backup_id)
			   : bak_backup_full(ctx, s);
	case BAK_OP_EXPIRE:
		return ap_expire(ctx, s, p->backup_id);
	case BAK_OP_EXPIRE_WAL:
		return ap_expire_wal(ctx, s, p->wal_floor);
	case BAK_OP_RESTORE:
		return ap_restore(ctx, s, p);
	case BAK_OP_DRILL:
		return bak_drill(ctx, s);
	default:
		dbops_host(ctx)->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC,
				      NULL, "unknown backups change \"%s\"",
				      change->address);
		return DBOPS_ERR_GENERIC;
	}
}

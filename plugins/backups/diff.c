/* SPDX-License-Identifier: PostgreSQL */
/*
 * diff.c — what a pass plans for backups. In a plain plan: retention,
 * the backups and WAL the policy expires, each backup's deletion flagged
 * destructive (applied only when allowed) and the newest full backup
 * never among them. WAL older than every backup is of use to no restore:
 * its deletion is destructive only in a plan that also expires backups,
 * so that it is skipped with them (their WAL must stay while they do). Archiving itself is planned by the parameters plugin
 * from the settings validate published. Under a command: `backup run`
 * (one backup), `backup drill` (one drill), `restore` (the backup chosen
 * for the target, and the target). Pure: everything comes from the spec,
 * the live model and the command's options.
 */
#include "backups_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *df_time(struct dbops_ctx *ctx, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[40];

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	return dbops_host(ctx)->strdup(ctx, buf);
}

static struct bak_payload *df_payload(struct dbops_ctx *ctx, enum bak_op op,
				      const struct bak_spec *s)
{
	struct bak_payload *p = dbops_host(ctx)->alloc(ctx, sizeof(*p));

	p->op = op;
	p->spec = s;
	return p;
}

static int df_need_repo(struct dbops_ctx *ctx, const struct bak_spec *s,
			const struct bak_live *l)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d;

	if (l->repo_ok)
		return 0;
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, &s->loc,
		    "could not read the backup repository");
	h->diag_detail(ctx, d, "%s", l->repo_error);
	return DBOPS_ERR_TRANSIENT;
}

static void df_retention(struct dbops_ctx *ctx, const struct bak_spec *s,
			 const struct bak_live *l)
{
	const struct dbops_host *h = dbops_host(ctx);
	bool *keep;
	const char *floor;
	size_t nwal = 0, gone;

	if (s->retention.full <= 0 && s->retention.age_sec <= 0)
		return;
	if (!l->repo_ok) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, &s->retention_loc,
		    "retention not evaluated: could not read the backup repository");

		h->diag_detail(ctx, d, "%s", l->repo_error);
		return;
	}
	keep = h->alloc(ctx, (l->cat.n + 1) * sizeof(bool));
	gone = bak_retention_select(keep, &l->cat, &s->retention, l->now);
	for (size_t i = 0; i < l->cat.n; i++) {
		const struct bak_backup *b = &l->cat.v[i];
		struct dbops_change *c;
		struct bak_payload *p;

		if (keep[i])
			continue;
		c = h->change_new(ctx, DBOPS_ACTION_DELETE,
				  h->printf(ctx, "backups.backup.%s", b->id));
		c->reason = h->printf(
		    ctx, "expired by the retention policy (%s%s%s)",
		    s->retention.full ? h->printf(ctx, "full: %lld",
						  (long long)s->retention.full)
				      : "",
		    s->retention.full && s->retention.age_sec ? ", " : "",
		    s->retention.age_sec
			? h->printf(ctx, "age: %llds",
				    (long long)s->retention.age_sec)
			: "");
		c->flags = DBOPS_CHANGE_DESTRUCTIVE | DBOPS_CHANGE_NONTX |
			   DBOPS_CHANGE_IRREVERSIBLE;
		c->loc = s->retention_loc;
		c->order = i;
		h->change_attr(ctx, c, "type", b->type, NULL, false);
		h->change_attr(ctx, c, "stopped", df_time(ctx, b->stop_time),
			       NULL, false);
		h->change_attr(
		    ctx, c, "wal",
		    h->printf(ctx, "%s-%s", b->wal_start, b->wal_stop), NULL,
		    false);
		c->sql = h->printf(ctx, "remove backups/%s/ from %s", b->id,
				   s->repo.s3 ? "the bucket" : s->repo.path);
		p = df_payload(ctx, BAK_OP_EXPIRE, s);
		p->backup_id = b->id;
		c->payload = p;
	}
	floor = bak_retention_wal_floor(&l->cat, keep);
	if (floor == NULL)
		return;
	for (size_t i = 0; i < l->nwal; i++) {
		const char *base = strrchr(l->wal_keys[i], '/');

		base = base ? base + 1 : l->wal_keys[i];
		if (strlen(base) >= 24 &&
		    strspn(base, "0123456789ABCDEF") >= 24 &&
		    strncmp(base + 8, floor + 8, 16) < 0)
			nwal++;
	}
	if (nwal > 0) {
		struct dbops_change *c =
		    h->change_new(ctx, DBOPS_ACTION_DELETE, "backups.wal");
		struct bak_payload *p = df_payload(ctx, BAK_OP_EXPIRE_WAL, s);

		c->reason =
		    "WAL older than the oldest backup kept is of no use to any restore";
		/* with backups of the plan: the WAL goes only if they do */
		c->flags = (gone > 0 ? DBOPS_CHANGE_DESTRUCTIVE : 0) |
			   DBOPS_CHANGE_NONTX | DBOPS_CHANGE_IRREVERSIBLE;
		c->loc = s->retention_loc;
		c->order = l->cat.n;
		h->change_attr(ctx, c, "files", h->printf(ctx, "%zu", nwal),
			       NULL, false);
		h->change_attr(ctx, c, "before", floor, NULL, false);
		c->sql = h->printf(ctx, "remove wal/ files before %s", floor);
		p->wal_floor = floor;
		c->payload = p;
	}
}

static int df_backup_run(struct dbops_ctx *ctx, const struct bak_spec *s,
			 const struct bak_live *l)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *type = h->arg(ctx, "type");
	const struct bak_backup *parent = NULL;
	struct bak_payload *p = df_payload(ctx, BAK_OP_BACKUP, s);
	struct dbops_change *c;
	int err;

	if ((err = df_need_repo(ctx, s, l)) != 0)
		return err;
	if (type == NULL || *type == '\0')
		type = "full";
	if (strcmp(type, "full") != 0 && strcmp(type, "incremental") != 0 &&
	    strcmp(type, "incr") != 0) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "invalid backup type \"%s\"", type);

		h->diag_hint(ctx, d, "Use --type full or --type incremental.");
		return DBOPS_ERR_INVALID;
	}
	if (s->from != NULL) {
		const char *host, *port;

		/* the standby must be one the replicas plugin knows */
		if ((err = bak_member_address(&host, &port, ctx, s)) != 0)
			return err;
	}
	p->incremental = strcmp(type, "full") != 0;
	if (p->incremental) {
		for (size_t i = l->cat.n; i-- > 0 && parent == NULL;)
			if (l->cat.v[i].system_id == NULL ||
			    l->system_id == NULL ||
			    strcmp(l->cat.v[i].system_id, l->system_id) == 0)
				parent = &l->cat.v[i];
		if (parent == NULL) {
			h->diag(
			    ctx, DBOPS_SEV_NOTICE, 0, NULL,
			    "no backup to build an incremental backup on: taking a full backup");
			p->incremental = false;
		}
	}
	c = h->change_new(ctx, DBOPS_ACTION_RUN,
			  p->incremental ? "backups.backup.incremental"
					 : "backups.backup.full");
	c->reason =
	    p->incremental
		? "an incremental backup: the files changed since the parent backup"
		: "a full backup over the replication protocol";
	c->flags = DBOPS_CHANGE_NONTX;
	c->loc = s->loc;
	h->change_attr(ctx, c, "repository", NULL,
		       s->repo.s3 ? h->printf(ctx, "s3://%s/%s", s->repo.bucket,
					      s->repo.prefix)
				  : s->repo.path,
		       false);
	h->change_attr(ctx, c, "from", NULL, s->from ? s->from : "primary",
		       false);
	h->change_attr(ctx, c, "compression", NULL,
		       h->printf(ctx, "%s%s",
				 bak_compress_name(s->codec.compress),
				 s->codec.compress != BAK_COMP_NONE &&
					 s->server_compress && !p->incremental
				     ? " (on the server)"
				     : ""),
		       false);
	h->change_attr(ctx, c, "encryption", NULL,
		       s->codec.encrypt ? "aes-256-gcm" : "none", false);
	if (parent != NULL && p->incremental) {
		h->change_attr(ctx, c, "parent", NULL, parent->id, false);
		p->backup_id = parent->id;
		c->sql =
		    "SELECT pg_backup_start(...); copy the files changed since the parent; SELECT pg_backup_stop()";
	} else {
		c->sql = h->printf(
		    ctx,
		    "BASE_BACKUP (LABEL 'dbops', CHECKPOINT 'fast', MANIFEST 'yes', MANIFEST_CHECKSUMS 'CRC32C'%s, WAIT false); wait until its WAL is in the repository",
		    s->codec.compress != BAK_COMP_NONE && s->server_compress
			? h->printf(ctx, ", COMPRESSION '%s'",
				    bak_compress_name(s->codec.compress))
			: "");
	}
	c->payload = p;
	return 0;
}

/* The restore target: latest, a backup id, an LSN or a time. */
static int df_target(struct bak_payload *p, struct dbops_ctx *ctx,
		     const struct bak_live *l, const char *to)
{
	const struct dbops_host *h = dbops_host(ctx);
	uint64_t lsn;

	p->target = to;
	if (strcmp(to, "latest") == 0) {
		p->target_kind = "latest";
	} else if (bak_catalog_find(&l->cat, to) != NULL) {
		p->target_kind = "immediate";
		p->backup_id = to;
	} else if (bak_lsn_parse(&lsn, to)) {
		p->target_kind = "lsn";
	} else if (bak_time_parse(to) >= 0) {
		p->target_kind = "time";
	} else {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "invalid restore target \"%s\"", to);

		h->diag_hint(
		    ctx, d,
		    "Use --to latest, a time (\"2026-01-01 03:00:00.123456+00\"), an LSN (16/B374D848) or a backup id from \"dbops backup list\".");
		return DBOPS_ERR_INVALID;
	}
	return 0;
}

/* The newest backup from which the target can be reached. */
static const struct bak_backup *df_choose(struct dbops_ctx *ctx,
					  const struct bak_live *l,
					  const struct bak_payload *p)
{
	if (p->backup_id != NULL)
		return bak_catalog_find(&l->cat, p->backup_id);
	for (size_t i = l->cat.n; i-- > 0;) {
		const struct bak_backup *b = &l->cat.v[i];
		uint64_t lsn;

		if (strcmp(p->target_kind, "latest") == 0)
			return b;
		if (strcmp(p->target_kind, "lsn") == 0 &&
		    bak_lsn_parse(&lsn, p->target) && b->stop_lsn <= lsn)
			return b;
		if (strcmp(p->target_kind, "time") == 0 &&
		    b->stop_usec <= bak_time_parse_usec(p->target))
			return b;
	}
	(void)ctx;
	return NULL;
}

static int df_restore(struct dbops_ctx *ctx, const struct bak_spec *s,
		      const struct bak_live *l)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *to = h->arg(ctx, "to");
	const char *dir = h->arg(ctx, "data-dir");
	const char *port = h->arg(ctx, "port");
	struct bak_payload *p = df_payload(ctx, BAK_OP_RESTORE, s);
	const struct bak_backup *b;
	struct dbops_change *c;
	int err;

	if ((err = df_need_repo(ctx, s, l)) != 0)
		return err;
	if (dir == NULL || dir[0] != '/') {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL, "%s",
		    dir == NULL ? "restore needs --data-dir"
				: "--data-dir must be an absolute path");

		h->diag_hint(
		    ctx, d,
		    "Name a new or empty directory: --data-dir /var/lib/postgresql/restore.");
		return DBOPS_ERR_INVALID;
	}
	if ((err = df_target(p, ctx, l, to ? to : "latest")) != 0)
		return err;
	p->data_dir = dir;
	p->port = port ? (int)strtol(port, NULL, 10) : 0;
	if (port != NULL && (p->port <= 0 || p->port > 65535)) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			"invalid --port \"%s\"", port);
		return DBOPS_ERR_INVALID;
	}
	b = df_choose(ctx, l, p);
	if (b == NULL) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, NULL,
		    "no backup in the repository can reach the target \"%s\"",
		    p->target);

		h->diag_detail(
		    ctx, d, "%s",
		    l->cat.n
			? h->printf(ctx,
				    "The oldest backup ends at %s (LSN %X/%X).",
				    df_time(ctx, l->cat.v[0].stop_time),
				    (unsigned)(l->cat.v[0].stop_lsn >> 32),
				    (unsigned)l->cat.v[0].stop_lsn)
			: "The repository holds no backup.");
		return DBOPS_ERR_NOTFOUND;
	}
	p->backup_id = b->id;
	c = h->change_new(ctx, DBOPS_ACTION_RUN, "backups.restore");
	c->reason = "restore a backup into a new data directory and recover";
	c->flags = DBOPS_CHANGE_NONTX;
	h->change_attr(ctx, c, "backup", NULL, b->id, false);
	h->change_attr(ctx, c, "target", NULL,
		       strcmp(p->target_kind, "immediate") == 0
			   ? "the end of the backup"
			   : h->printf(ctx, "%s %s", p->target_kind,
				       strcmp(p->target_kind, "latest") == 0
					   ? "WAL in the repository"
					   : p->target),
		       false);
	h->change_attr(ctx, c, "data_dir", NULL, dir, false);
	if (p->port)
		h->change_attr(ctx, c, "port", NULL, port, false);
	c->sql = h->printf(
	    ctx,
	    "fetch %s, restore_command = '%s %%f %%p', recovery_target_action = 'promote', start, wait for promotion",
	    b->id, s->restore_command_base);
	c->payload = p;
	return 0;
}

static int df_drill(struct dbops_ctx *ctx, const struct bak_spec *s,
		    const struct bak_live *l)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_change *c;
	int err;

	if ((err = df_need_repo(ctx, s, l)) != 0)
		return err;
	if (l->cat.n == 0) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, &s->loc,
			    "there is no backup to drill");

		h->diag_hint(ctx, d, "Run \"dbops backup run\" first.");
		return DBOPS_ERR_NOTFOUND;
	}
	c = h->change_new(ctx, DBOPS_ACTION_RUN, "backups.drill");
	c->reason =
	    "restore the newest backup to a scratch cluster, check it, record the RTO, remove it";
	c->flags = DBOPS_CHANGE_NONTX;
	c->loc = s->loc;
	h->change_attr(ctx, c, "backup", NULL, l->cat.v[l->cat.n - 1].id,
		       false);
	h->change_attr(ctx, c, "checks", NULL,
		       h->printf(ctx, "%zu", s->nchecks), false);
	c->sql =
	    "restore to latest with archive_mode = off; run the checks; INSERT INTO " BAK_DRILL_TABLE;
	c->payload = df_payload(ctx, BAK_OP_DRILL, s);
	return 0;
}

int bak_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	     void *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct bak_spec *s = bak_spec_of(ctx, section);
	const struct bak_live *l = live;
	const char *mode = h->mode(ctx);

	if (mode == NULL) {
		df_retention(ctx, s, l);
		return 0;
	}
	if (strcmp(mode, "backup run") == 0)
		return df_backup_run(ctx, s, l);
	if (strcmp(mode, "restore") == 0)
		return df_restore(ctx, s, l);
	if (strcmp(mode, "backup drill") == 0)
		return df_drill(ctx, s, l);
	return 0;
}

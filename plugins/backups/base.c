/* SPDX-License-Identifier: PostgreSQL */
/*
 * base.c — a full backup over the replication protocol: BASE_BACKUP with
 * PostgreSQL's backup manifest (CRC-32C of every file), compressed by the
 * server itself when it can (PostgreSQL 15's COMPRESSION option, lz4 or
 * zstd), streamed as it arrives through encryption into the repository —
 * no local copy, a multipart upload on S3. The archive is stored as the
 * server sends it (a tar, its frames lz4's or zstd's own), the manifest
 * beside it, and backup.json last, once the WAL the backup needs is in
 * the repository. From a standby when the spec says `from: NAME`, found
 * through the replicas plugin's facts (replicas.member.NAME.host/port).
 *
 * The repository layout written here, and by incr.c:
 *
 *	backups/<id>/data.tar[.lz4|.zst][.enc]   the archive
 *	backups/<id>/backup_manifest[.enc]        PostgreSQL's manifest (full)
 *	backups/<id>/backup.json                  the catalog entry, last
 *	wal/<tli+log>/<segment>                   archived WAL (wal.c)
 */
#include "backups_int.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int bak_new_id(const char **out, struct dbops_ctx *ctx, struct bak_repo *r,
	       bool incremental, struct bak_err *e)
{
	for (int tries = 0; tries < 5; tries++) {
		time_t now = time(NULL);
		struct tm tm;
		char buf[32], prefix[64];
		char **keys = NULL;
		size_t n = 0;
		int err;

		gmtime_r(&now, &tm);
		strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(prefix, sizeof(prefix), "backups/%s%c/", buf,
			 incremental ? 'I' : 'F');
		if ((err = bak_repo_list(&keys, &n, r, prefix, e)) != 0)
			return err;
		bak_strv_free(keys, n);
		if (n == 0) {
			*out = dbops_host(ctx)->printf(ctx, "%s%c", buf,
						       incremental ? 'I' : 'F');
			return 0;
		}
		/* taken: wait for the next second, as ids are times */
		{
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec = 0;
			ts.tv_nsec = 1000000000L - ts.tv_nsec;
			nanosleep(&ts, NULL);
		}
	}
	e->code = DBOPS_ERR_CONFLICT;
	e->detail[0] = '\0';
	snprintf(e->msg, sizeof(e->msg),
		 "no free backup id: the repository has the ids of the last "
		 "5 seconds");
	return DBOPS_ERR_CONFLICT;
}

const char *bak_archive_name(struct dbops_ctx *ctx, enum bak_compress c,
			     bool encrypted)
{
	return dbops_host(ctx)->printf(ctx, "data.tar%s%s",
				       c == BAK_COMP_LZ4    ? ".lz4"
				       : c == BAK_COMP_ZSTD ? ".zst"
							    : "",
				       encrypted ? ".enc" : "");
}

/* The cluster's system identifier (malloc'd), or NULL. */
char *bak_system_id(struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *r = NULL;
	const char *v;

	if (h->query(
		&r, ctx,
		"SELECT system_identifier::text AS id FROM pg_catalog.pg_control_system()",
		0, NULL) != 0)
		return NULL;
	v = h->rows_get(r, 0, "id");
	return v ? strdup(v) : NULL;
}

/* Archiving must work before a backup is worth taking: its WAL goes
 * through the archive. */
int bak_check_archiving(struct dbops_ctx *ctx, const struct bak_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *r = NULL;
	const char *mode, *cmd;
	struct dbops_diag *d;
	int err;

	err = h->query(
	    &r, ctx,
	    "SELECT pg_catalog.current_setting('archive_mode') AS m, pg_catalog.current_setting('archive_command') AS c",
	    0, NULL);
	if (err != 0)
		return err;
	mode = h->rows_get(r, 0, "m");
	cmd = h->rows_get(r, 0, "c");
	if (mode != NULL && strcmp(mode, "off") != 0 && cmd != NULL &&
	    strcmp(cmd, s->archive_command) == 0)
		return 0;
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &s->loc,
		    "WAL archiving to the repository is not running");
	h->diag_detail(
	    ctx, d,
	    "archive_mode is %s and archive_command is \"%s\"; a backup needs the WAL it spans archived.",
	    mode ? mode : "?", cmd ? cmd : "");
	h->diag_hint(
	    ctx, d,
	    "Run \"dbops apply\" (it sets archive_mode and archive_command), restart the server if the plan says so, then take the backup.");
	return DBOPS_ERR_CONFLICT;
}

/* The connection parameters of the target, with `over` laid on top. */
static PGconn *base_connect(struct dbops_ctx *ctx, const char *const *over_k,
			    const char *const *over_v, int nover)
{
	const struct dbops_host *h = dbops_host(ctx);
	PQconninfoOption *opts = PQconninfo((PGconn *)h->pgconn(ctx));
	const char *keys[64], *vals[64];
	int n = 0;
	PGconn *c;

	for (PQconninfoOption *o = opts;
	     o != NULL && o->keyword != NULL && n < 60; o++) {
		bool replaced = false;

		if (o->val == NULL || o->val[0] == '\0')
			continue;
		for (int i = 0; i < nover; i++)
			if (strcmp(o->keyword, over_k[i]) == 0)
				replaced = true;
		if (replaced)
			continue;
		keys[n] = h->strdup(ctx, o->keyword);
		vals[n++] = h->strdup(ctx, o->val);
	}
	for (int i = 0; i < nover; i++) {
		keys[n] = over_k[i];
		vals[n++] = over_v[i];
	}
	keys[n] = vals[n] = NULL;
	PQconninfoFree(opts);
	c = PQconnectdbParams(keys, vals, 0);
	return c;
}

/* The host and port of the replicas member `name`. */
int bak_member_address(const char **host, const char **port,
		       struct dbops_ctx *ctx, const struct bak_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_fact *const *f = NULL;
	size_t n = 0;
	const char *hk = h->printf(ctx, "replicas.member.%s.host", s->from);
	const char *pk = h->printf(ctx, "replicas.member.%s.port", s->from);
	struct dbops_diag *d;

	*host = *port = NULL;
	h->facts(&f, &n, ctx, "replicas.member.");
	for (size_t i = 0; i < n; i++) {
		if (strcmp(f[i]->name, hk) == 0)
			*host = f[i]->value;
		if (strcmp(f[i]->name, pk) == 0)
			*port = f[i]->value;
	}
	if (*port != NULL)
		return 0;
	d = h->diag(
	    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, &s->loc,
	    "backups.from names \"%s\", which is not a member the replicas plugin knows",
	    s->from);
	h->diag_hint(
	    ctx, d,
	    "Name a member of the replicas section, or write from: primary.");
	return DBOPS_ERR_NOTFOUND;
}

int bak_replication_connect(void **out_conn, struct dbops_ctx *ctx,
			    const struct bak_spec *s, bool replication)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *k[4], *v[4];
	int n = 0, err;
	PGconn *c;

	if (replication) {
		k[n] = "replication";
		v[n++] = "true";
	}
	k[n] = "application_name";
	v[n++] = "dbops-backup";
	if (s->from != NULL) {
		const char *host, *port;

		if ((err = bak_member_address(&host, &port, ctx, s)) != 0)
			return err;
		k[n] = "port";
		v[n++] = port;
		if (host != NULL) {
			k[n] = "host";
			v[n++] = host;
		}
	}
	c = base_connect(ctx, k, v, n);
	if (PQstatus(c) != CONNECTION_OK) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, &s->loc,
			    "could not open a %sconnection for the backup",
			    replication ? "replication " : "");

		h->diag_detail(ctx, d, "%s", PQerrorMessage(c));
		PQfinish(c);
		return DBOPS_ERR_TRANSIENT;
	}
	*out_conn = c;
	return 0;
}

static int base_pqerr(struct dbops_ctx *ctx, PGconn *c, const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC,
				       NULL, "%s failed", what);

	h->diag_detail(ctx, d, "%s", PQerrorMessage(c));
	return DBOPS_ERR_GENERIC;
}

/* Wait until the segment the backup ends in is in the repository; on a
 * standby's backup, ask the primary to switch to a new segment. */
/* Whether the archiver's latest event is a failure (last_failed_time
 * after last_archived_time), and the file it failed on. */
static bool base_failing(struct dbops_ctx *ctx, const char **last)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *r = NULL;
	const char *v;

	if (h->query(
		&r, ctx,
		"SELECT last_failed_wal, coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failing FROM pg_catalog.pg_stat_archiver",
		0, NULL) != 0 ||
	    (v = h->rows_get(r, 0, "failing")) == NULL)
		return false;
	*last = h->rows_get(r, 0, "last_failed_wal");
	return strcmp(v, "t") == 0;
}

/*
 * Wait until the segment the backup ends in is in the repository (the
 * backup is not restorable before); on a standby's backup, ask the
 * primary to switch segments. Fails after 10 minutes, or once the
 * archiver has been failing for 10 seconds: a backup never hangs on
 * broken archiving the way BASE_BACKUP's own WAIT would.
 */
int bak_wait_wal(struct dbops_ctx *ctx, const struct bak_spec *s,
		 struct bak_repo *repo, const char *segment)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *last = NULL;
	char key[256];
	struct bak_err e = {0};
	bool switched = false;
	int failing_since = -1, i;
	struct dbops_diag *d;

	bak_wal_key(key, sizeof(key), segment);
	for (i = 0; i < 6000; i++) {
		bool exists = false;
		int err = bak_repo_stat(&exists, NULL, repo, key, &e);

		if (err != 0)
			return bak_diag(ctx, &s->loc, &e);
		if (exists)
			return 0;
		if (!switched && i >= 4) {
			h->query(NULL, ctx, "SELECT pg_catalog.pg_switch_wal()",
				 0, NULL);
			switched = true;
		}
		if (i % 10 == 9) {
			if (!base_failing(ctx, &last))
				failing_since = -1;
			else if (failing_since < 0)
				failing_since = i;
			else if (i - failing_since >= 100)
				break;
		}
		if (h->cancelled(ctx))
			break;
		usleep(100 * 1000);
	}
	d = h->diag(
	    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, &s->loc,
	    "WAL segment \"%s\" that the backup needs did not reach the repository",
	    segment);
	if (failing_since >= 0)
		h->diag_detail(
		    ctx, d,
		    "archive_command has been failing for %ds; the last failure was on \"%s\".",
		    (i - failing_since) / 10, last ? last : "?");
	h->diag_hint(
	    ctx, d,
	    "The backup is not kept. Look at the server log for archive_command's errors, fix them, and run the backup again.");
	return DBOPS_ERR_TRANSIENT;
}

/* The WAL segment names a backup spans. */
void bak_wal_range(struct bak_backup *b)
{
	char n[25];

	bak_wal_segment_name(n, b->timeline, b->start_lsn, BAK_WAL_SEG_SIZE);
	b->wal_start = strdup(n);
	/* the stop LSN may sit at a segment's very start: the record before
	 * it ends in the previous segment */
	bak_wal_segment_name(n, b->timeline,
			     b->stop_lsn > 0 ? b->stop_lsn - 1 : 0,
			     BAK_WAL_SEG_SIZE);
	b->wal_stop = strdup(n);
	if (b->wal_start == NULL || b->wal_stop == NULL)
		abort();
}

/* A backup that failed leaves nothing: its objects go (best effort). */
void bak_discard(struct bak_repo *repo, const char *id)
{
	char prefix[128], key[512];
	char **keys = NULL;
	size_t n = 0;

	if (repo == NULL || id == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "backups/%s/", id);
	if (bak_repo_list(&keys, &n, repo, prefix, NULL) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, keys[i]);
		bak_repo_delete(repo, key, NULL);
	}
	bak_strv_free(keys, n);
}

/* Write backup.json: the backup exists from now on. */
int bak_catalog_put(struct dbops_ctx *ctx, const struct bak_spec *s,
		    struct bak_repo *repo, const struct bak_backup *b)
{
	char *json = bak_backup_to_json(b);
	char key[256];
	struct bak_err e = {0};
	int err;

	snprintf(key, sizeof(key), "backups/%s/backup.json", b->id);
	err = bak_repo_put(repo, key, json, strlen(json), true, &e);
	free(json);
	return err != 0 ? bak_diag(ctx, &s->loc, &e) : 0;
}

struct base_stream {
	struct bak_sink *data; /* the archive's chain */
	struct bak_put *put;
	struct bak_buf manifest;
	bool in_manifest;
	int narchives;
	uint64_t bytes;
};

static int base_copy(struct dbops_ctx *ctx, PGconn *c, struct base_stream *bs,
		     const struct bak_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct bak_err e = {0};
	char *buf = NULL;
	int n, err;

	while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
		switch (buf[0]) {
		case 'n':
			if (++bs->narchives > 1) {
				PQfreemem(buf);
				h->diag(
				    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_UNSUPPORTED,
				    &s->loc,
				    "the cluster has tablespaces, which dbops does not back up yet");
				return DBOPS_ERR_UNSUPPORTED;
			}
			break;
		case 'm':
			bs->in_manifest = true;
			break;
		case 'd':
			if (bs->in_manifest) {
				bak_buf_add(&bs->manifest, buf + 1,
					    (size_t)n - 1);
			} else {
				bs->bytes += (uint64_t)n - 1;
				err = bs->data->write(bs->data, buf + 1,
						      (size_t)n - 1, false, &e);
				if (err != 0) {
					PQfreemem(buf);
					return bak_diag(ctx, &s->loc, &e);
				}
			}
			break;
		default: /* 'p': progress */
			break;
		}
		PQfreemem(buf);
		if (h->cancelled(ctx)) {
			h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CANCELLED, NULL,
				"the backup was cancelled");
			return DBOPS_ERR_CANCELLED;
		}
	}
	if (n == -2)
		return base_pqerr(ctx, c, "BASE_BACKUP");
	if ((err = bs->data->write(bs->data, NULL, 0, true, &e)) != 0)
		return bak_diag(ctx, &s->loc, &e);
	return 0;
}

/* After the COPY: the end position and timeline. */
static int base_finish(struct dbops_ctx *ctx, PGconn *c, struct bak_backup *b)
{
	PGresult *r;
	int err = 0;

	while ((r = PQgetResult(c)) != NULL) {
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		    PQnfields(r) >= 2) {
			if (!bak_lsn_parse(&b->stop_lsn, PQgetvalue(r, 0, 0)))
				err = base_pqerr(ctx, c,
						 "reading the backup's end");
			b->timeline =
			    (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
		} else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
			   err == 0) {
			err = base_pqerr(ctx, c, "BASE_BACKUP");
		}
		PQclear(r);
	}
	return err;
}

static const char *base_command(struct dbops_ctx *ctx, const struct bak_spec *s,
				const char *id, bool server)
{
	const struct dbops_host *h = dbops_host(ctx);

	return h->printf(
	    ctx,
	    "BASE_BACKUP (LABEL 'dbops %s', CHECKPOINT 'fast', MANIFEST 'yes', MANIFEST_CHECKSUMS 'CRC32C', WAIT false%s%s)",
	    id,
	    server ? h->printf(ctx, ", COMPRESSION '%s'",
			       bak_compress_name(s->codec.compress))
		   : "",
	    server && s->codec.compress == BAK_COMP_ZSTD && s->codec.level > 0
		? h->printf(ctx, ", COMPRESSION_DETAIL 'level=%d'",
			    s->codec.level)
		: "");
}

/* Start the backup: the start position, and the tablespaces. */
static int base_start(struct dbops_ctx *ctx, PGconn *c, const char *cmd,
		      struct bak_backup *b)
{
	PGresult *r;

	if (!PQsendQuery(c, cmd))
		return base_pqerr(ctx, c, "BASE_BACKUP");
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		return base_pqerr(ctx, c, "BASE_BACKUP");
	}
	bak_lsn_parse(&b->start_lsn, PQgetvalue(r, 0, 0));
	b->timeline = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	r = PQgetResult(c); /* the tablespaces */
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return base_pqerr(ctx, c, "BASE_BACKUP");
	}
	PQclear(r);
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		PQclear(r);
		return base_pqerr(ctx, c, "BASE_BACKUP");
	}
	PQclear(r);
	return 0;
}

int bak_backup_full(struct dbops_ctx *ctx, const struct bak_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct bak_repo *repo = NULL;
	struct bak_codec codec, data_codec;
	struct base_stream bs = {0};
	struct bak_backup b;
	struct bak_err e = {0};
	PGconn *c = NULL;
	bool server = s->codec.compress != BAK_COMP_NONE &&
		      s->server_compress && h->server_version(ctx) >= 150000;
	const char *id = NULL;
	char key[256];
	bool owned = false; /* the archive under this id is ours */
	int err;

	memset(&b, 0, sizeof(b));
	if ((err = bak_check_archiving(ctx, s)) != 0 ||
	    (err = bak_repo_for(&repo, &codec, ctx, s)) != 0)
		goto done;
	if ((err = bak_new_id(&id, ctx, repo, false, &e)) != 0) {
		err = bak_diag(ctx, &s->loc, &e);
		goto done;
	}
	if ((err = bak_replication_connect((void **)&c, ctx, s, true)) != 0)
		goto done;
	b.id = strdup(id);
	b.type = strdup("full");
	b.start_time = (int64_t)time(NULL);
	data_codec = codec;
	if (server)
		data_codec.compress = BAK_COMP_NONE; /* already compressed */
	b.archive =
	    strdup(bak_archive_name(ctx, codec.compress, codec.encrypt));
	snprintf(key, sizeof(key), "backups/%s/%s", id, b.archive);
	if ((err = bak_put_encoded(&bs.put, &bs.data, repo, key, true,
				   &data_codec, &e)) != 0) {
		err = bak_diag(ctx, &s->loc, &e);
		goto done;
	}
	h->log(ctx, DBOPS_LOG_INFO, "backup %s: streaming into %s", id,
	       bak_repo_describe(repo));
	if ((err = base_start(ctx, c, base_command(ctx, s, id, server), &b)) !=
		0 ||
	    (err = base_copy(ctx, c, &bs, s)) != 0 ||
	    (err = base_finish(ctx, c, &b)) != 0)
		goto done;
	if ((err = bak_put_end(bs.put, &e)) != 0) {
		bs.put = NULL;
		err = bak_diag(ctx, &s->loc, &e);
		goto done;
	}
	bs.put = NULL;
	owned = true;
	if ((err = bak_manifest_files(&b.files, &b.nfiles,
				      (const char *)bs.manifest.data,
				      bs.manifest.len, id, &e)) != 0) {
		err = bak_diag(ctx, &s->loc, &e);
		goto done;
	}
	snprintf(key, sizeof(key), "backups/%s/backup_manifest%s", id,
		 codec.encrypt ? ".enc" : "");
	{
		struct bak_codec mc = codec;
		struct bak_put *mp;
		struct bak_sink *ms;

		mc.compress = BAK_COMP_NONE;
		if ((err = bak_put_encoded(&mp, &ms, repo, key, true, &mc,
					   &e)) == 0) {
			err = ms->write(ms, bs.manifest.data, bs.manifest.len,
					true, &e);
			bak_sink_free_chain(ms);
			err = err == 0 ? bak_put_end(mp, &e)
				       : (bak_put_abort(mp), err);
		}
		if (err != 0) {
			err = bak_diag(ctx, &s->loc, &e);
			goto done;
		}
	}
	bak_stop_clock(&b, ctx);
	bak_wal_range(&b);
	for (size_t i = 0; i < b.nfiles; i++)
		b.size += b.files[i].size;
	snprintf(key, sizeof(key), "backups/%s/%s", id, b.archive);
	{
		bool exists;

		bak_repo_stat(&exists, &b.stored_size, repo, key, &e);
	}
	b.compression = strdup(bak_compress_name(codec.compress));
	b.server_compressed = server;
	b.encrypted = codec.encrypt;
	b.source = strdup(s->from ? s->from : "primary");
	b.pg_version = h->server_version(ctx);
	b.label = strdup(h->printf(ctx, "dbops %s", id));
	b.system_id = bak_system_id(ctx);
	if ((err = bak_wait_wal(ctx, s, repo, b.wal_stop)) != 0 ||
	    (err = bak_catalog_put(ctx, s, repo, &b)) != 0)
		goto done;
	h->log(ctx, DBOPS_LOG_INFO,
	       "backup %s: %llu bytes of data, %llu stored, LSN %X/%X to %X/%X",
	       id, (unsigned long long)b.size,
	       (unsigned long long)b.stored_size, (unsigned)(b.start_lsn >> 32),
	       (unsigned)b.start_lsn, (unsigned)(b.stop_lsn >> 32),
	       (unsigned)b.stop_lsn);
	h->out(ctx, "  backup %s: %s of data, %s stored\n", id,
	       h->printf(ctx, "%.1f MB", (double)b.size / 1048576.0),
	       h->printf(ctx, "%.1f MB", (double)b.stored_size / 1048576.0));
done:
	if (bs.put != NULL)
		bak_put_abort(bs.put);
	if (err != 0 && owned) /* never another backup's files */
		bak_discard(repo, id);
	bak_sink_free_chain(bs.data);
	bak_buf_free(&bs.manifest);
	bak_backup_dispose(&b);
	if (c != NULL)
		PQfinish(c);
	bak_repo_close(repo);
	return err;
}

/*
 * The primary's clock after the backup's stop LSN was written (the
 * connection of the pass is the primary's, also for a backup from a
 * standby, and commit timestamps are the primary's): every commit before
 * the stop LSN has a timestamp before it.
 */
void bak_stop_clock(struct bak_backup *b, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *r = NULL;
	const char *v = NULL;
	char *end = NULL;
	long long us = -1;

	if (h->query(&r, ctx,
		     "SELECT (EXTRACT(epoch FROM pg_catalog.clock_timestamp()) "
		     "* 1000000)::bigint AS us",
		     0, NULL) == 0 &&
	    (v = h->rows_get(r, 0, "us")) != NULL) {
		errno = 0;
		us = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || us <= 0)
			us = -1;
	}
	if (us < 0)
		us = ((long long)time(NULL) + 1) * 1000000;
	b->stop_usec = us;
	b->stop_time = (us + 999999) / 1000000;
}

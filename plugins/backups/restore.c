/* SPDX-License-Identifier: PostgreSQL */
/*
 * restore.c — `dbops restore` and the first half of a drill: fetch the
 * full backup and its incrementals straight from the repository into a
 * new data directory (every file's CRC-32C checked against the catalog
 * on the way, files the chain deleted removed), write the recovery
 * settings (restore_command through `dbops wal-fetch`, the target,
 * recovery_target_action = 'promote', archive_mode = off), start the
 * server, wait until it is promoted, and time each phase. It refuses a
 * data directory that is in use or not empty, and removes what it wrote
 * when a file fails its check.
 */
#include "backups_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double rs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- extraction --------------------------------------------------------- */

struct rs_extract {
	const char *dir;
	const struct bak_backup *archive_of; /* whose archive is read */
	const struct bak_backup *last;	     /* the file list that counts */
	uid_t uid;
	gid_t gid;
	int fd;
	char path[4096];
	const struct bak_file *want; /* the file's catalog entry, if checked */
	uint32_t crc;
	uint64_t got;
	size_t checked;
	struct bak_err *e;
	bool chain; /* more than one archive: write each file once */
};

static const struct bak_file *rs_find(const struct bak_backup *b,
				      const char *path)
{
	size_t lo = 0, hi = b->nfiles;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(b->files[mid].path, path);

		if (c == 0)
			return &b->files[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool rs_safe(const char *name)
{
	if (name[0] == '/' || name[0] == '\0')
		return false;
	for (const char *p = name; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == name || p[-1] == '/') &&
		    (p[2] == '/' || p[2] == '\0'))
			return false;
	return true;
}

static int rs_mkdirs(struct rs_extract *x, const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + strlen(x->dir) + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0700) == 0)
			(void)!chown(buf, x->uid, x->gid);
		*s = '/';
	}
	return 0;
}

static int rs_entry(void *arg, const struct bak_tar_entry *te,
		    struct bak_err *e)
{
	struct rs_extract *x = arg;
	char name[sizeof(te->name)];
	size_t len = strlen(te->name);

	snprintf(name, sizeof(name), "%s", te->name);
	while (len > 0 && name[len - 1] == '/')
		name[--len] = '\0';
	if (strncmp(name, "./", 2) == 0)
		memmove(name, name + 2, strlen(name + 2) + 1);
	if (!rs_safe(name))
		return bak_fail(e, DBOPS_ERR_INVALID,
				"the archive holds an unsafe path \"%s\"",
				te->name);
	snprintf(x->path, sizeof(x->path), "%s/%s", x->dir, name);
	rs_mkdirs(x, x->path);
	x->fd = -1;
	if (te->type == '5') {
		if (mkdir(x->path, 0700) != 0 && errno != EEXIST)
			return bak_fail(e, DBOPS_ERR_GENERIC,
					"could not create directory \"%s\": %s",
					x->path, strerror(errno));
		(void)!chown(x->path, x->uid, x->gid);
		return 0;
	}
	if (te->type != '0' && te->type != '7')
		return bak_fail(
		    e, DBOPS_ERR_UNSUPPORTED,
		    "the archive holds \"%s\" of type '%c', which dbops does not restore",
		    name, te->type);
	x->want = rs_find(x->last, name);
	/* in a chain, a file is written from the archive that holds its
	 * final version only: not written and replaced, nor written and
	 * deleted */
	if (x->chain && (x->want == NULL ||
			 strcmp(x->want->stored_in, x->archive_of->id) != 0))
		return 0;
	if (x->want != NULL &&
	    strcmp(x->want->stored_in, x->archive_of->id) != 0)
		x->want = NULL;
	x->fd = open(x->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (x->fd < 0)
		return bak_fail(e, DBOPS_ERR_GENERIC,
				"could not create file \"%s\": %s", x->path,
				strerror(errno));
	(void)!fchown(x->fd, x->uid, x->gid);
	x->crc = 0;
	x->got = 0;
	return 0;
}

static int rs_data(void *arg, const void *buf, size_t len, struct bak_err *e)
{
	struct rs_extract *x = arg;
	const char *p = buf;

	if (x->fd < 0)
		return 0;
	x->crc = bak_crc32c(x->crc, buf, len);
	x->got += len;
	while (len > 0) {
		ssize_t n = write(x->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bak_fail(e, DBOPS_ERR_GENERIC,
					"could not write file \"%s\": %s",
					x->path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int rs_end(void *arg, struct bak_err *e)
{
	struct rs_extract *x = arg;

	if (x->fd < 0)
		return 0;
	close(x->fd);
	x->fd = -1;
	if (x->want == NULL)
		return 0;
	x->checked++;
	if (x->want->size != x->got || x->want->crc != x->crc) {
		bak_fail(e, DBOPS_ERR_INVALID,
			 "file \"%s\" of backup %s does not match its checksum",
			 x->want->path, x->archive_of->id);
		bak_err_detail(
		    e,
		    "The catalog records %llu bytes with CRC-32C %08x; the archive holds %llu bytes with CRC-32C %08x. The repository copy is damaged.",
		    (unsigned long long)x->want->size, x->want->crc,
		    (unsigned long long)x->got, x->crc);
		return DBOPS_ERR_INVALID;
	}
	return 0;
}

/* Remove what is not in the final list (files deleted between the full
 * backup and the last incremental). */
static void rs_prune(const char *dir, const char *rel,
		     const struct bak_backup *last)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[4096], r[4096];
		struct stat st;

		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' ||
		     (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(r, sizeof(r), "%s%s%s", rel, rel[0] ? "/" : "",
			 de->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rs_prune(path, r, last);
		else if (rs_find(last, r) == NULL)
			unlink(path);
	}
	closedir(d);
}

int bak_extract_chain(struct dbops_ctx *ctx, struct bak_repo *repo,
		      const struct bak_codec *codec,
		      const struct bak_backup *const *chain, size_t n,
		      const char *data_dir, uid_t uid, gid_t gid,
		      struct bak_err *e)
{
	size_t checked = 0;

	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		struct rs_extract x = {.dir = data_dir,
				       .archive_of = chain[i],
				       .last = chain[n - 1],
				       .uid = uid,
				       .gid = gid,
				       .fd = -1,
				       .e = e,
				       .chain = n > 1};
		struct bak_tar_reader_cb cb = {rs_entry, rs_data, rs_end, &x};
		struct bak_sink *s =
		    bak_decoder_new(codec->encrypt ? codec->key : NULL,
				    bak_tar_reader_new(&cb));
		char key[512];
		int err;

		snprintf(key, sizeof(key), "backups/%s/%s", chain[i]->id,
			 chain[i]->archive);
		err = bak_repo_get(repo, key, s, e);
		if (err == 0)
			err = s->write(s, NULL, 0, true, e);
		if (x.fd >= 0)
			close(x.fd);
		bak_sink_free_chain(s);
		if (err != 0) {
			bak_err_detail(e, "%s%sIn %s of %s.", e->detail,
				       e->detail[0] ? " " : "", key,
				       bak_repo_describe(repo));
			return err;
		}
		checked += x.checked;
	}
	if (n > 1)
		rs_prune(data_dir, "", chain[n - 1]);
	/* every file of the list must have been checked once */
	if (checked != chain[n - 1]->nfiles)
		return bak_fail(
		    e, DBOPS_ERR_INVALID,
		    "backup %s is incomplete: %zu of its %zu files are in its archives",
		    chain[n - 1]->id, checked, chain[n - 1]->nfiles);
	return 0;
}

/* ---- the data directory --------------------------------------------------- */

static void rs_rmtree(const char *dir, bool self)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char path[4096];
			struct stat st;

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
				rs_rmtree(path, true);
			else
				unlink(path);
		}
		closedir(d);
	}
	if (self)
		rmdir(dir);
}

/* A new or empty directory, owned by the server's OS user. */
static int rs_prepare(struct dbops_ctx *ctx, const char *dir, uid_t uid,
		      gid_t gid, bool *created)
{
	const struct dbops_host *h = dbops_host(ctx);
	DIR *d;
	struct dirent *de;
	char pid[4096];
	struct dbops_diag *dg;

	*created = false;
	snprintf(pid, sizeof(pid), "%s/postmaster.pid", dir);
	if (access(pid, F_OK) == 0) {
		dg = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
			     "data directory \"%s\" is in use", dir);
		h->diag_detail(ctx, dg, "It holds a postmaster.pid file.");
		h->diag_hint(
		    ctx, dg,
		    "Restore into a new directory, or stop that server and empty its directory first.");
		return DBOPS_ERR_CONFLICT;
	}
	d = opendir(dir);
	if (d == NULL && errno == ENOENT) {
		char buf[4096];

		snprintf(buf, sizeof(buf), "%s", dir);
		for (char *s = buf + 1; *s; s++)
			if (*s == '/') {
				*s = '\0';
				mkdir(buf, 0755);
				*s = '/';
			}
		if (mkdir(dir, 0700) != 0) {
			h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
				"could not create directory \"%s\": %s", dir,
				strerror(errno));
			return DBOPS_ERR_GENERIC;
		}
		*created = true;
	} else if (d == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not open directory \"%s\": %s", dir,
			strerror(errno));
		return DBOPS_ERR_GENERIC;
	} else {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				break;
		closedir(d);
		if (de != NULL) {
			dg = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT,
				     NULL, "data directory \"%s\" is not empty",
				     dir);
			h->diag_hint(
			    ctx, dg,
			    "dbops restores only into a new or empty directory; it never overwrites a cluster.");
			return DBOPS_ERR_CONFLICT;
		}
	}
	if (chown(dir, uid, gid) != 0 || chmod(dir, 0700) != 0) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
		    "could not give directory \"%s\" to the server's OS user: %s",
		    dir, strerror(errno));
		return DBOPS_ERR_GENERIC;
	}
	return 0;
}

static const char *rs_quote(struct dbops_ctx *ctx, const char *s)
{
	struct bak_buf b = {0};
	const char *out;

	bak_buf_add(&b, "'", 1);
	for (; *s; s++)
		bak_buf_add(&b, *s == '\'' ? "''" : s, 1 + (*s == '\''));
	bak_buf_add(&b, "'", 1);
	out = dbops_host(ctx)->strdup(ctx, bak_buf_str(&b));
	bak_buf_free(&b);
	return out;
}

static int rs_settings(struct dbops_ctx *ctx, const struct bak_spec *s,
		       const struct bak_payload *p, uid_t uid, gid_t gid)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct bak_buf b = {0};
	char path[4096];
	int fd, err = 0;

	bak_buf_addf(&b, "\n# dbops restore\n");
	bak_buf_addf(&b, "restore_command = %s\n",
		     rs_quote(ctx, h->printf(ctx, "%s %%f %%p",
					     s->restore_command_base)));
	if (strcmp(p->target_kind, "time") == 0)
		bak_buf_addf(&b, "recovery_target_time = %s\n",
			     rs_quote(ctx, p->target));
	else if (strcmp(p->target_kind, "lsn") == 0)
		bak_buf_addf(&b, "recovery_target_lsn = %s\n",
			     rs_quote(ctx, p->target));
	else if (strcmp(p->target_kind, "immediate") == 0)
		bak_buf_addf(&b, "recovery_target = 'immediate'\n");
	bak_buf_addf(&b, "recovery_target_action = 'promote'\n");
	bak_buf_addf(&b, "recovery_target_timeline = 'latest'\n");
	bak_buf_addf(&b, "archive_mode = 'off'\n");
	if (p->port > 0)
		bak_buf_addf(&b, "port = %d\n", p->port);
	snprintf(path, sizeof(path), "%s/postgresql.auto.conf", p->data_dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len)
		err = DBOPS_ERR_GENERIC;
	if (fd >= 0) {
		(void)!fchown(fd, uid, gid);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/recovery.signal", p->data_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		err = DBOPS_ERR_GENERIC;
	else {
		(void)!fchown(fd, uid, gid);
		close(fd);
	}
	bak_buf_free(&b);
	if (err != 0)
		h->diag(ctx, DBOPS_SEV_ERROR, err, NULL,
			"could not write the recovery settings into \"%s\": %s",
			p->data_dir, strerror(errno));
	return err;
}

/* ---- start and wait -------------------------------------------------------- */

static void rs_copy(char *out, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		n = size - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* Lines 1, 4 and 5 of postmaster.pid: pid, port, socket directory. */
static bool rs_pidfile(long *pid, char *port, size_t plen, char *sock,
		       size_t slen, const char *dir)
{
	char path[4096], line[1024];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		n++;
		if (n == 1)
			*pid = strtol(line, NULL, 10);
		else if (n == 4)
			rs_copy(port, plen, line);
		else if (n == 5)
			rs_copy(sock, slen, line);
	}
	fclose(f);
	return n >= 5;
}

static const char *rs_log_tail(struct dbops_ctx *ctx, const char *log)
{
	FILE *f = fopen(log, "r");
	char buf[2048];
	size_t n;
	long size;

	if (f == NULL)
		return "";
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f,
	      size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0,
	      SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return dbops_host(ctx)->strdup(ctx, buf);
}

/* Connect to the restored server through its socket, as the target's
 * user. */
static PGconn *rs_connect(struct dbops_ctx *ctx, const char *sock,
			  const char *port, const char *db)
{
	PGconn *target = dbops_host(ctx)->pgconn(ctx);
	const char *keys[] = {
	    "host", "port", "user", "dbname", "connect_timeout", NULL};
	const char *vals[] = {
	    sock, port, target ? PQuser(target) : NULL, db ? db : "postgres",
	    "5",  NULL};

	return PQconnectdbParams(keys, vals, 0);
}

static int rs_wait(struct bak_restore_result *res, struct dbops_ctx *ctx,
		   const char *dir, const char *log, double deadline,
		   char *port, char *sock)
{
	const struct dbops_host *h = dbops_host(ctx);
	long pid = 0;
	struct dbops_diag *d;

	for (;;) {
		PGconn *c;

		if (!rs_pidfile(&pid, port, 16, sock, 1024, dir) ||
		    kill((pid_t)pid, 0) != 0) {
			d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			    "the restored server stopped before recovery ended");
			h->diag_detail(ctx, d, "The end of %s:\n%s", log,
				       rs_log_tail(ctx, log));
			return DBOPS_ERR_GENERIC;
		}
		c = rs_connect(ctx, sock, port, NULL);
		if (PQstatus(c) == CONNECTION_OK) {
			PGresult *r = PQexec(
			    c,
			    "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.pg_current_wal_lsn()::text");

			if (PQresultStatus(r) == PGRES_TUPLES_OK &&
			    strcmp(PQgetvalue(r, 0, 0), "f") == 0) {
				snprintf(res->recovered_lsn,
					 sizeof(res->recovered_lsn), "%s",
					 PQgetvalue(r, 0, 1));
				PQclear(r);
				PQfinish(c);
				return 0;
			}
			PQclear(r);
		}
		PQfinish(c);
		if (rs_now() > deadline || h->cancelled(ctx)) {
			d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CANCELLED, NULL,
			    "the restored server was not promoted in time");
			h->diag_detail(ctx, d, "The end of %s:\n%s", log,
				       rs_log_tail(ctx, log));
			return DBOPS_ERR_CANCELLED;
		}
		usleep(50 * 1000);
	}
}

int bak_restore_cleanup(struct dbops_ctx *ctx, const struct bak_spec *spec,
			const char *data_dir, bool remove)
{
	const char *out;
	const char *argv[] = {bak_program(ctx, spec, "pg_ctl"),
			      "stop",
			      "-D",
			      data_dir,
			      "-m",
			      "immediate",
			      "-w",
			      NULL};
	char pid[4096];

	snprintf(pid, sizeof(pid), "%s/postmaster.pid", data_dir);
	if (access(pid, F_OK) == 0)
		bak_run(&out, ctx, spec, argv);
	if (remove)
		rs_rmtree(data_dir, true);
	return 0;
}

static int rs_fetch(struct dbops_ctx *ctx, const struct bak_spec *s,
		    const struct bak_payload *p, uid_t uid, gid_t gid)
{
	const struct bak_backup *chain[256];
	struct bak_repo *repo = NULL;
	struct bak_codec codec;
	struct bak_catalog cat = {0};
	struct bak_err e = {0};
	const struct bak_backup *b;
	size_t n;
	int err;

	if ((err = bak_repo_for(&repo, &codec, ctx, s)) != 0)
		return err;
	if ((err = bak_catalog_load(&cat, repo, &codec, true, &e)) != 0) {
		err = bak_diag(ctx, &s->loc, &e);
		goto done;
	}
	b = bak_catalog_find(&cat, p->backup_id);
	n = b ? bak_catalog_chain(chain, 256, &cat, b) : 0;
	if (n == 0) {
		dbops_host(ctx)->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, NULL,
		    "backup \"%s\" or a backup it builds on is not in the repository",
		    p->backup_id);
		err = DBOPS_ERR_NOTFOUND;
		goto done;
	}
	err = bak_extract_chain(ctx, repo, &codec, chain, n, p->data_dir, uid,
				gid, &e);
	if (err != 0)
		err = bak_diag(ctx, &s->loc, &e);
done:
	bak_catalog_dispose(&cat);
	bak_repo_close(repo);
	return err;
}

int bak_restore_run(struct bak_restore_result *res, struct dbops_ctx *ctx,
		    const struct bak_spec *s, const struct bak_payload *p,
		    bool drill)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *log = h->printf(ctx, "%s.log", p->data_dir);
	const char *argv[] = {bak_program(ctx, s, "pg_ctl"),
			      "start",
			      "-D",
			      p->data_dir,
			      "-l",
			      log,
			      "-w",
			      "-t",
			      "3600",
			      NULL};
	double t0 = rs_now(), t1, t2;
	double limit = drill && s->drill_max > 0 ? (double)s->drill_max : 86400;
	char port[16] = "", sock[1024] = "";
	bool created;
	uid_t uid;
	gid_t gid;
	const char *out;
	int err, rc;

	memset(res, 0, sizeof(*res));
	if ((err = bak_os_user(&uid, &gid, ctx, s)) != 0 ||
	    (err = rs_prepare(ctx, p->data_dir, uid, gid, &created)) != 0)
		return err;
	h->out(ctx, "  restore: fetching %s into %s\n", p->backup_id,
	       p->data_dir);
	if ((err = rs_fetch(ctx, s, p, uid, gid)) != 0 ||
	    (err = rs_settings(ctx, s, p, uid, gid)) != 0) {
		rs_rmtree(p->data_dir, created);
		return err;
	}
	t1 = rs_now();
	res->fetch_s = t1 - t0;
	h->out(ctx, "  restore: fetched in %.2fs; starting the server\n",
	       res->fetch_s);
	{
		int fd =
		    open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0) {
			(void)!fchown(fd, uid, gid);
			close(fd);
		}
	}
	rc = bak_run(&out, ctx, s, argv);
	if (rc != 0 && rc != 1) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			    "could not start the restored server");

		h->diag_detail(ctx, d, "%s\nThe end of %s:\n%s", out, log,
			       rs_log_tail(ctx, log));
		return DBOPS_ERR_GENERIC;
	}
	t2 = rs_now();
	res->start_s = t2 - t1;
	if ((err = rs_wait(res, ctx, p->data_dir, log, t0 + limit, port,
			   sock)) != 0)
		return err;
	res->recover_s = rs_now() - t2;
	res->total_s = rs_now() - t0;
	h->out(
	    ctx,
	    "  restore: promoted at %s; fetch %.2fs, start %.2fs, recovery %.2fs, total %.2fs\n",
	    res->recovered_lsn, res->fetch_s, res->start_s, res->recover_s,
	    res->total_s);
	if (!drill)
		h->out(
		    ctx,
		    "  restore: the server runs on port %s (socket directory %s), log %s\n",
		    port, sock, log);
	rs_copy(res->port, sizeof(res->port), port);
	rs_copy(res->sock, sizeof(res->sock), sock);
	return 0;
}

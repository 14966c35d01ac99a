/* SPDX-License-Identifier: PostgreSQL */
/*
 * incr.c — an incremental backup: the files changed since the parent
 * backup, read from the data directory between pg_backup_start() and
 * pg_backup_stop(), and written as one tar (with the backup_label
 * pg_backup_stop returns) through compression and encryption into the
 * repository; backup.json lists every file of the data directory, each
 * with the backup whose archive holds it.
 *
 * PostgreSQL 15's replication protocol always sends every file, so an
 * incremental backup compares files itself, which needs dbops on the
 * database host (it reads the data directory PostgreSQL reports). A file
 * is copied again when its size or modification time differs from the
 * one recorded, and also when the recorded time falls within two seconds
 * of the start of the backup that read it (a write in the same second as
 * that read would leave the time unchanged). Unchanged files are neither
 * read nor checksummed: a change that keeps a file's size and sets its
 * modification time back would go unseen, which PostgreSQL never does.
 * WAL replay from the incremental's own start repairs pages written while
 * it ran, as for any base backup. Tablespaces are refused.
 */
#include "backups_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Directories whose contents a base backup leaves out (as BASE_BACKUP
 * does), and files it never copies. */
static const char *const incr_skip_dirs[] = {
    "pg_wal",	    "pg_replslot", "pg_stat_tmp", "pg_notify", "pg_serial",
    "pg_snapshots", "pg_subtrans", "pg_dynshmem", NULL};
static const char *const incr_skip_files[] = {
    "postmaster.pid",	"postmaster.opts",  "backup_label",
    "backup_label.old", "tablespace_map",   "standby.signal",
    "recovery.signal",	"current_logfiles", NULL};

struct incr {
	struct dbops_ctx *ctx;
	const struct bak_spec *spec;
	const char *id;
	const struct bak_backup *parent;
	struct bak_catalog *cat;
	struct bak_sink *out;
	struct bak_file *files;
	size_t nfiles, cap;
	uint64_t copied, total;
	size_t ncopied;
	struct bak_err e;
	unsigned char *buf;
};

static bool incr_in(const char *name, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

static const struct bak_file *incr_parent_file(const struct incr *in,
					       const char *path)
{
	size_t lo = 0, hi = in->parent->nfiles;

	while (lo < hi) { /* the parent's files are sorted by path */
		size_t mid = (lo + hi) / 2;
		int c = strcmp(in->parent->files[mid].path, path);

		if (c == 0)
			return &in->parent->files[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct bak_file *incr_add(struct incr *in)
{
	if (in->nfiles == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 1024;
		in->files = realloc(in->files, in->cap * sizeof(*in->files));
		if (in->files == NULL)
			abort();
	}
	memset(&in->files[in->nfiles], 0, sizeof(*in->files));
	return &in->files[in->nfiles++];
}

static bool incr_unchanged(const struct incr *in, const struct bak_file *pf,
			   const struct stat *st)
{
	const struct bak_backup *holder;

	if (pf == NULL || pf->size != (uint64_t)st->st_size ||
	    pf->mtime != (int64_t)st->st_mtime)
		return false;
	holder = bak_catalog_find(in->cat, pf->stored_in);
	return holder != NULL && pf->mtime < holder->start_time - 2;
}

static int incr_member(struct incr *in, const char *rel, char type,
		       const struct stat *st)
{
	struct bak_tar_entry te;
	unsigned char hdr[512];

	memset(&te, 0, sizeof(te));
	snprintf(te.name, sizeof(te.name), "%s", rel);
	te.type = type;
	te.size = type == '0' ? (uint64_t)st->st_size : 0;
	te.mtime = (int64_t)st->st_mtime;
	te.mode = st->st_mode & 07777;
	if (bak_tar_header(hdr, &te) != 0)
		return bak_fail(&in->e, DBOPS_ERR_UNSUPPORTED,
				"file name \"%s\" is too long for the archive",
				rel);
	return in->out->write(in->out, hdr, 512, false, &in->e);
}

/* Copy one file: exactly st_size bytes (a file that shrank meanwhile is
 * padded with zeros, as BASE_BACKUP does; WAL replay restores it). */
static int incr_copy(struct incr *in, const char *path, const char *rel,
		     const struct stat *st, struct bak_file *f)
{
	static const unsigned char zeros[512];
	uint64_t left = (uint64_t)st->st_size;
	uint32_t crc = 0;
	int fd, err;

	if ((err = incr_member(in, rel, '0', st)) != 0)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return bak_fail(&in->e, DBOPS_ERR_GENERIC,
				"could not open file \"%s\": %s", path,
				strerror(errno));
	while (left > 0) {
		size_t want = left > (1u << 20) ? (1u << 20) : (size_t)left;
		ssize_t n = fd >= 0 ? read(fd, in->buf, want) : 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = bak_fail(&in->e, DBOPS_ERR_GENERIC,
				       "could not read file \"%s\": %s", path,
				       strerror(errno));
			break;
		}
		if (n == 0) {
			memset(in->buf, 0, want);
			n = (ssize_t)want;
		}
		crc = bak_crc32c(crc, in->buf, (size_t)n);
		if ((err = in->out->write(in->out, in->buf, (size_t)n, false,
					  &in->e)) != 0)
			break;
		left -= (uint64_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (err == 0 && bak_tar_padding((uint64_t)st->st_size) > 0)
		err = in->out->write(in->out, zeros,
				     bak_tar_padding((uint64_t)st->st_size),
				     false, &in->e);
	f->crc = crc;
	in->copied += (uint64_t)st->st_size;
	in->ncopied++;
	return err;
}

static int incr_walk(struct incr *in, const char *dir, const char *rel)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	if (d == NULL)
		return bak_fail(&in->e, DBOPS_ERR_GENERIC,
				"could not open directory \"%s\": %s", dir,
				strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(char *));
			if (names == NULL)
				abort();
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < n && err == 0; i++) {
		char path[4096], r[4096];
		struct stat st;
		const char *name = names[i];

		snprintf(path, sizeof(path), "%s/%s", dir, name);
		snprintf(r, sizeof(r), "%s%s%s", rel, rel[0] ? "/" : "", name);
		if (lstat(path, &st) != 0)
			continue; /* removed meanwhile: WAL replay knows */
		if (S_ISLNK(st.st_mode)) {
			err = bak_fail(
			    &in->e, DBOPS_ERR_UNSUPPORTED,
			    "\"%s\" is a symbolic link (a tablespace or a linked directory), which dbops does not back up yet",
			    r);
		} else if (S_ISDIR(st.st_mode)) {
			err = incr_member(in, r, '5', &st);
			if (err == 0 &&
			    !(rel[0] == '\0' && incr_in(name, incr_skip_dirs)))
				err = incr_walk(in, path, r);
		} else if (S_ISREG(st.st_mode)) {
			struct bak_file *f;
			const struct bak_file *pf;

			if ((rel[0] == '\0' &&
			     incr_in(name, incr_skip_files)) ||
			    strcmp(name, "pg_internal.init") == 0 ||
			    strncmp(name, "pgsql_tmp", 9) == 0)
				continue;
			pf = incr_parent_file(in, r);
			f = incr_add(in);
			in->total += (uint64_t)st.st_size;
			if (incr_unchanged(in, pf, &st)) {
				f->path = strdup(pf->path);
				f->size = pf->size;
				f->mtime = pf->mtime;
				f->crc = pf->crc;
				f->stored_in = strdup(pf->stored_in);
				continue;
			}
			f->path = strdup(r);
			f->size = (uint64_t)st.st_size;
			f->mtime = (int64_t)st.st_mtime;
			f->stored_in = strdup(in->id);
			err = incr_copy(in, path, r, &st, f);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

static int incr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bak_file *)a)->path,
		      ((const struct bak_file *)b)->path);
}

/* backup_label, from pg_backup_stop, into the archive and the list. */
static int incr_label(struct incr *in, const char *label)
{
	static const unsigned char zeros[512];
	struct stat st;
	struct bak_file *f = incr_add(in);
	size_t len = strlen(label);
	int err;

	memset(&st, 0, sizeof(st));
	st.st_size = (off_t)len;
	st.st_mtime = time(NULL);
	st.st_mode = 0600;
	if ((err = incr_member(in, "backup_label", '0', &st)) != 0 ||
	    (err = in->out->write(in->out, label, len, false, &in->e)) != 0 ||
	    (err = in->out->write(in->out, zeros, bak_tar_padding(len), false,
				  &in->e)) != 0)
		return err;
	f->path = strdup("backup_label");
	f->size = len;
	f->mtime = (int64_t)st.st_mtime;
	f->crc = bak_crc32c(0, label, len);
	f->stored_in = strdup(in->id);
	return 0;
}

static int incr_query(PGresult **out, struct dbops_ctx *ctx, PGconn *c,
		      const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const struct dbops_host *h = dbops_host(ctx);
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			    "could not run \"%s\"", sql);

		h->diag_detail(ctx, d, "%s", PQerrorMessage(c));
		PQclear(r);
		return DBOPS_ERR_GENERIC;
	}
	*out = r;
	return 0;
}

static int incr_datadir(const char **out, struct dbops_ctx *ctx, PGconn *c,
			const struct bak_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGresult *r;
	char probe[4096];
	int err;

	if ((err = incr_query(
		 &r, ctx, c,
		 "SELECT pg_catalog.current_setting('data_directory')", 0,
		 NULL)) != 0)
		return err;
	*out = h->strdup(ctx, PQgetvalue(r, 0, 0));
	PQclear(r);
	snprintf(probe, sizeof(probe), "%s/PG_VERSION", *out);
	if (access(probe, R_OK) != 0) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_UNSUPPORTED, &s->loc,
		    "an incremental backup reads the data directory \"%s\", which dbops cannot read here",
		    *out);

		h->diag_detail(
		    ctx, d,
		    "PostgreSQL 15 sends every file over the replication protocol, so dbops compares files itself, on the database host.");
		h->diag_hint(
		    ctx, d,
		    "Run \"dbops backup run --type incremental\" on the database host as root or the postgres OS user, or take full backups.");
		return DBOPS_ERR_UNSUPPORTED;
	}
	return 0;
}

static int incr_run(struct incr *in, PGconn *c, const char *datadir,
		    struct bak_backup *b)
{
	struct dbops_ctx *ctx = in->ctx;
	const char *label = dbops_host(ctx)->printf(ctx, "dbops %s", in->id);
	const char *params[1] = {label};
	PGresult *r;
	int err;

	if ((err = incr_query(
		 &r, ctx, c,
		 "SELECT pg_catalog.pg_backup_start($1, true)::text, "
		 "(SELECT timeline_id FROM pg_catalog.pg_control_checkpoint())",
		 1, params)) != 0)
		return err;
	bak_lsn_parse(&b->start_lsn, PQgetvalue(r, 0, 0));
	b->timeline = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	b->start_time = (int64_t)time(NULL);
	err = incr_walk(in, datadir, "");
	if (err != 0) {
		PQclear(PQexec(c, "SELECT pg_catalog.pg_backup_stop(false)"));
		return bak_diag(ctx, &in->spec->loc, &in->e);
	}
	if ((err = incr_query(
		 &r, ctx, c,
		 "SELECT lsn::text, labelfile, spcmapfile FROM pg_catalog.pg_backup_stop(false)",
		 0, NULL)) != 0)
		return err;
	bak_lsn_parse(&b->stop_lsn, PQgetvalue(r, 0, 0));
	err = incr_label(in, PQgetvalue(r, 0, 1));
	PQclear(r);
	if (err == 0) {
		static const unsigned char end[1024];

		err = in->out->write(in->out, end, sizeof(end), true, &in->e);
	}
	return err != 0 ? bak_diag(ctx, &in->spec->loc, &in->e) : 0;
}

int bak_backup_incremental(struct dbops_ctx *ctx, const struct bak_spec *s,
			   const char *parent_id)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct bak_repo *repo = NULL;
	struct bak_codec codec;
	struct bak_catalog cat = {0};
	struct incr in;
	struct bak_backup b;
	struct bak_put *put = NULL;
	PGconn *c = NULL;
	const char *datadir;
	char key[256];
	bool owned = false; /* the archive under this id is ours */
	int err;

	memset(&in, 0, sizeof(in));
	memset(&b, 0, sizeof(b));
	in.ctx = ctx;
	in.spec = s;
	in.cat = &cat;
	if ((err = bak_check_archiving(ctx, s)) != 0 ||
	    (err = bak_repo_for(&repo, &codec, ctx, s)) != 0)
		goto done;
	if ((err = bak_new_id(&in.id, ctx, repo, true, &in.e)) != 0 ||
	    (err = bak_catalog_load(&cat, repo, &codec, true, &in.e)) != 0) {
		err = bak_diag(ctx, &s->loc, &in.e);
		goto done;
	}
	in.parent = bak_catalog_find(&cat, parent_id);
	if (in.parent == NULL) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &s->loc,
		    "the parent backup \"%s\" is no longer in the repository",
		    parent_id);
		err = DBOPS_ERR_CONFLICT;
		goto done;
	}
	if ((err = bak_replication_connect((void **)&c, ctx, s, false)) != 0 ||
	    (err = incr_datadir(&datadir, ctx, c, s)) != 0)
		goto done;
	b.archive =
	    strdup(bak_archive_name(ctx, codec.compress, codec.encrypt));
	snprintf(key, sizeof(key), "backups/%s/%s", in.id, b.archive);
	if ((err = bak_put_encoded(&put, &in.out, repo, key, true, &codec,
				   &in.e)) != 0) {
		err = bak_diag(ctx, &s->loc, &in.e);
		goto done;
	}
	in.buf = malloc(1u << 20);
	if (in.buf == NULL)
		abort();
	if ((err = incr_run(&in, c, datadir, &b)) != 0)
		goto done;
	if ((err = bak_put_end(put, &in.e)) != 0) {
		put = NULL;
		err = bak_diag(ctx, &s->loc, &in.e);
		goto done;
	}
	put = NULL;
	owned = true;
	qsort(in.files, in.nfiles, sizeof(*in.files), incr_cmp);
	b.id = strdup(in.id);
	b.type = strdup("incremental");
	b.parent = strdup(parent_id);
	b.label = strdup(h->printf(ctx, "dbops %s", in.id));
	b.files = in.files;
	b.nfiles = in.nfiles;
	in.files = NULL;
	b.size = in.total;
	bak_stop_clock(&b, ctx);
	bak_wal_range(&b);
	{
		bool exists;

		bak_repo_stat(&exists, &b.stored_size, repo, key, &in.e);
	}
	b.compression = strdup(bak_compress_name(codec.compress));
	b.encrypted = codec.encrypt;
	b.source = strdup(s->from ? s->from : "primary");
	b.pg_version = h->server_version(ctx);
	b.system_id = bak_system_id(ctx);
	if ((err = bak_wait_wal(ctx, s, repo, b.wal_stop)) != 0 ||
	    (err = bak_catalog_put(ctx, s, repo, &b)) != 0)
		goto done;
	h->out(
	    ctx,
	    "  backup %s: %zu of %zu files changed since %s, %.1f MB of %.1f MB copied\n",
	    b.id, in.ncopied, b.nfiles, parent_id,
	    (double)in.copied / 1048576.0, (double)in.total / 1048576.0);
done:
	if (put != NULL)
		bak_put_abort(put);
	if (err != 0 && owned) /* never another backup's files */
		bak_discard(repo, in.id);
	bak_sink_free_chain(in.out);
	for (size_t i = 0; in.files != NULL && i < in.nfiles; i++) {
		free((char *)(uintptr_t)in.files[i].path);
		free((char *)(uintptr_t)in.files[i].stored_in);
	}
	free(in.files);
	free(in.buf);
	bak_backup_dispose(&b);
	bak_catalog_dispose(&cat);
	if (c != NULL)
		PQfinish(c);
	bak_repo_close(repo);
	return err;
}

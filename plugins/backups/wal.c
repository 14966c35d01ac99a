/* SPDX-License-Identifier: PostgreSQL */
/*
 * wal.c — `dbops wal-push` (archive_command) and `dbops wal-fetch`
 * (restore_command): the fast paths the server runs for every WAL file.
 * They run with this plugin alone — no spec, no git, no connection — so
 * everything comes from their own arguments: the repository, the
 * compression, and references to secrets (the names of environment
 * variables or files, never values). Errors go to stderr in
 * PostgreSQL's style; the exit status is what the server reads.
 *
 * wal-push uploads atomically and exclusively: when the name exists
 * already, an identical file is success (a retry after a crash between
 * upload and report) and a different one an error that never overwrites
 * it. wal-fetch writes aside and renames, and exits 1 quietly when the
 * file is not in the repository (the server asks for files that may not
 * exist, such as the next timeline's history).
 */
#include "backups_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct tool_opts {
	struct bak_repo_opts repo;
	struct bak_codec codec;
	const char *args[2];
	int nargs;
	char *owned[3]; /* the bucket and the keys, freed by tool_opts_free */
};

static const char tool_usage[] =
    "Usage:\n"
    "  dbops wal-push  [OPTIONS] PATH        (archive_command: %p)\n"
    "  dbops wal-fetch [OPTIONS] NAME PATH   (restore_command: %f %p)\n"
    "\n"
    "Options:\n"
    "  --repo DIR | s3://BUCKET[/PREFIX]   the repository\n"
    "  --endpoint URL --region NAME        S3 endpoint and region\n"
    "  --uri-style path|virtual            S3 addressing (default virtual)\n"
    "  --no-verify-tls                     do not verify the S3 certificate\n"
    "  --part-size MB                      S3 multipart part size (default 16)\n"
    "  --access-key-env NAME | --access-key-file PATH\n"
    "  --secret-key-env NAME | --secret-key-file PATH\n"
    "  --compress lz4|zstd[:LEVEL]|none    wal-push only (default lz4)\n"
    "  --key-env NAME | --key-file PATH    AES-256-GCM key (64 hex digits)\n";

/* A secret from the environment variable or file named on the command
 * line; the value is never printed. */
static int tool_secret(char **out, const char *how, const char *ref,
		       struct bak_err *e)
{
	if (strcmp(how, "env") == 0) {
		const char *v = getenv(ref);

		if (v == NULL || *v == '\0')
			return bak_fail(
			    e, DBOPS_ERR_INVALID,
			    "environment variable \"%s\" is not set", ref);
		*out = strdup(v);
	} else {
		struct bak_buf b = {0};
		char chunk[4096];
		FILE *f = fopen(ref, "r");
		size_t n;

		if (f == NULL)
			return bak_fail(e, DBOPS_ERR_INVALID,
					"could not open file \"%s\": %s", ref,
					strerror(errno));
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
		       b.len < 65536)
			bak_buf_add(&b, chunk, n);
		fclose(f);
		while (b.len > 0 &&
		       (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
			b.len--;
		*out = strdup(bak_buf_str(&b));
		bak_buf_free(&b);
	}
	if (*out == NULL)
		abort();
	return 0;
}

/* Keep a secret for tool_opts_free; one given twice wipes the first. */
static void tool_own_secret(char **slot, char *s)
{
	if (*slot != NULL) {
		memset(*slot, 0, strlen(*slot));
		free(*slot);
	}
	*slot = s;
}

static int tool_parse(struct tool_opts *o, int argc, char **argv,
		      struct bak_err *e)
{
	char *enc = NULL;
	int err;

	memset(o, 0, sizeof(*o));
	o->repo.verify_tls = true;
	o->repo.retries = 3;
	o->repo.region = "us-east-1";
	o->codec.compress = BAK_COMP_LZ4;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;

		if (strncmp(a, "--", 2) != 0) {
			if (o->nargs == 2)
				return bak_fail(e, DBOPS_ERR_INVALID,
						"too many arguments");
			o->args[o->nargs++] = a;
			continue;
		}
		if (strcmp(a, "--no-verify-tls") == 0) {
			o->repo.verify_tls = false;
			continue;
		}
		if (v == NULL)
			return bak_fail(e, DBOPS_ERR_INVALID,
					"option \"%s\" needs a value", a);
		if (strcmp(a, "--repo") == 0) {
			if (strncmp(v, "s3://", 5) == 0) {
				char *b = strdup(v + 5), *slash;

				o->repo.s3 = true;
				slash = strchr(b, '/');
				o->repo.prefix = "";
				if (slash != NULL) {
					*slash = '\0';
					o->repo.prefix = slash + 1;
				}
				o->repo.bucket = b;
				free(o->owned[0]);
				o->owned[0] = b;
			} else {
				o->repo.path = v;
			}
		} else if (strcmp(a, "--endpoint") == 0) {
			o->repo.endpoint = v;
		} else if (strcmp(a, "--part-size") == 0) {
			char *end;
			unsigned long mb = strtoul(v, &end, 10);

			if (*end != '\0' || mb < 5 || mb > 5120)
				return bak_fail(e, DBOPS_ERR_INVALID,
						"invalid --part-size \"%s\"",
						v);
			o->repo.part_size = (size_t)mb << 20;
		} else if (strcmp(a, "--region") == 0) {
			o->repo.region = v;
		} else if (strcmp(a, "--uri-style") == 0) {
			if (strcmp(v, "path") != 0 && strcmp(v, "virtual") != 0)
				return bak_fail(e, DBOPS_ERR_INVALID,
						"invalid --uri-style \"%s\"",
						v);
			o->repo.virtual_style = strcmp(v, "virtual") == 0;
		} else if (strcmp(a, "--access-key-env") == 0 ||
			   strcmp(a, "--access-key-file") == 0) {
			char *s = NULL;

			if ((err = tool_secret(&s, a + 13, v, e)) != 0)
				return err;
			o->repo.access_key = s;
			tool_own_secret(&o->owned[1], s);
		} else if (strcmp(a, "--secret-key-env") == 0 ||
			   strcmp(a, "--secret-key-file") == 0) {
			char *s = NULL;

			if ((err = tool_secret(&s, a + 13, v, e)) != 0)
				return err;
			o->repo.secret_key = s;
			tool_own_secret(&o->owned[2], s);
		} else if (strcmp(a, "--compress") == 0) {
			if (bak_compress_parse(&o->codec.compress,
					       &o->codec.level, v) != 0)
				return bak_fail(e, DBOPS_ERR_INVALID,
						"invalid --compress \"%s\"", v);
		} else if (strcmp(a, "--key-env") == 0 ||
			   strcmp(a, "--key-file") == 0) {
			if ((err = tool_secret(&enc, a + 6, v, e)) != 0)
				return err;
			err = bak_key_parse(o->codec.key, enc, e);
			memset(enc, 0, strlen(enc));
			free(enc);
			if (err != 0)
				return err;
			o->codec.encrypt = true;
		} else {
			takes = false;
		}
		if (!takes)
			return bak_fail(e, DBOPS_ERR_INVALID,
					"invalid option \"%s\"", a);
		i++;
	}
	if (o->repo.path == NULL && !o->repo.s3)
		return bak_fail(e, DBOPS_ERR_INVALID, "no --repo given");
	if (o->repo.s3 && o->repo.endpoint == NULL)
		return bak_fail(e, DBOPS_ERR_INVALID,
				"an S3 repository needs --endpoint");
	return 0;
}

static int read_file(struct bak_buf *b, const char *path, struct bak_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return bak_fail(e, DBOPS_ERR_NOTFOUND,
				"could not open file \"%s\": %s", path,
				strerror(errno));
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		b->data = malloc((size_t)st.st_size + 1);
		if (b->data == NULL)
			abort();
		b->cap = (size_t)st.st_size + 1;
	}
	for (;;) {
		char chunk[65536];
		bool direct = b->cap > b->len + 1;
		ssize_t n =
		    direct ? read(fd, b->data + b->len, b->cap - b->len - 1)
			   : read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			close(fd);
			return bak_fail(e, DBOPS_ERR_GENERIC,
					"could not read file \"%s\": %s", path,
					strerror(saved));
		}
		if (n == 0)
			break;
		if (direct)
			b->len += (size_t)n;
		else
			bak_buf_add(b, chunk, (size_t)n);
	}
	close(fd);
	return 0;
}

/* The segment mapped read-only: the compressor reads the page cache
 * directly, without a copy (and the page faults a fresh buffer costs). */
struct mapped {
	const unsigned char *data;
	size_t len;
	void *map;
	struct bak_buf copy; /* an empty or unmappable file */
};

static int map_file(struct mapped *m, const char *path, struct bak_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int err;

	memset(m, 0, sizeof(*m));
	if (fd < 0)
		return bak_fail(e, DBOPS_ERR_NOTFOUND,
				"could not open file \"%s\": %s", path,
				strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		m->map = mmap(NULL, (size_t)st.st_size, PROT_READ,
			      MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (m->map != MAP_FAILED) {
			m->data = m->map;
			m->len = (size_t)st.st_size;
			close(fd);
			return 0;
		}
		m->map = NULL;
	}
	close(fd);
	err = read_file(&m->copy, path, e);
	m->data = m->copy.data;
	m->len = m->copy.len;
	return err;
}

static void unmap_file(struct mapped *m)
{
	if (m->map != NULL)
		munmap(m->map, m->len);
	bak_buf_free(&m->copy);
}

static int wal_push(struct tool_opts *o, struct bak_err *e)
{
	struct bak_repo *repo = NULL;
	struct mapped data;
	struct bak_buf old = {0};
	struct bak_put *put = NULL;
	struct bak_sink *head = NULL;
	const char *path = o->args[0];
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char key[512];
	int err;

	if (o->nargs != 1)
		return bak_fail(
		    e, DBOPS_ERR_INVALID,
		    "wal-push needs one argument, the path of the file (%%p)");
	bak_wal_key(key, sizeof(key), name);
	memset(&data, 0, sizeof(data));
	if ((err = map_file(&data, path, e)) != 0 ||
	    (err = bak_repo_open(&repo, &o->repo, e)) != 0)
		goto done;
	err = bak_put_encoded(&put, &head, repo, key, true, &o->codec, e);
	if (err == 0) {
		/* the tests' hook to kill a push half-way (see t_backups.sh) */
		const char *pause = getenv("DBOPS_TEST_WAL_PUSH_PAUSE_MS");
		size_t half = pause != NULL ? data.len / 2 : 0;

		err = head->write(head, data.data, half, false, e);
		if (err == 0 && pause != NULL)
			usleep((useconds_t)strtoul(pause, NULL, 10) * 1000u);
		if (err == 0)
			err = head->write(head, data.data + half,
					  data.len - half, true, e);
		bak_sink_free_chain(head);
		err =
		    err == 0 ? bak_put_end(put, e) : (bak_put_abort(put), err);
	}
	if (err != DBOPS_ERR_CONFLICT)
		goto done;
	/* the name exists: the same file is success, another an error */
	if ((err = bak_get_decoded(&old, repo, key, &o->codec, e)) != 0)
		goto done;
	if (old.len == data.len && memcmp(old.data, data.data, data.len) == 0)
		err = 0;
	else {
		err = bak_fail(
		    e, DBOPS_ERR_CONFLICT,
		    "WAL file \"%s\" is already archived in %s with different contents",
		    name, bak_repo_describe(repo));
		bak_err_detail(
		    e,
		    "The archived file was not replaced. Two clusters may be archiving to the same repository.");
	}
done:
	unmap_file(&data);
	bak_buf_free(&old);
	bak_repo_close(repo);
	return err;
}

static int wal_fetch(struct tool_opts *o, struct bak_err *e)
{
	struct bak_repo *repo = NULL;
	struct bak_buf data = {0};
	char key[512], tmp[4096];
	int err, fd = -1;

	if (o->nargs != 2)
		return bak_fail(
		    e, DBOPS_ERR_INVALID,
		    "wal-fetch needs two arguments, the file name (%%f) and the path to write (%%p)");
	if (strchr(o->args[0], '/') != NULL)
		return bak_fail(e, DBOPS_ERR_INVALID,
				"invalid WAL file name \"%s\"", o->args[0]);
	bak_wal_key(key, sizeof(key), o->args[0]);
	if ((err = bak_repo_open(&repo, &o->repo, e)) != 0 ||
	    (err = bak_get_decoded(&data, repo, key, &o->codec, e)) != 0)
		goto done;
	snprintf(tmp, sizeof(tmp), "%s.dbops.%ld", o->args[1], (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = bak_fail(e, DBOPS_ERR_GENERIC,
			       "could not create file \"%s\": %s", tmp,
			       strerror(errno));
		goto done;
	}
	for (size_t off = 0; off < data.len;) {
		ssize_t n = write(fd, data.data + off, data.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = bak_fail(e, DBOPS_ERR_GENERIC,
				       "could not write file \"%s\": %s", tmp,
				       strerror(errno));
			goto done;
		}
		off += (size_t)n;
	}
	if (close(fd) != 0 || rename(tmp, o->args[1]) != 0) {
		fd = -1;
		err = bak_fail(e, DBOPS_ERR_GENERIC,
			       "could not write file \"%s\": %s", o->args[1],
			       strerror(errno));
		goto done;
	}
	fd = -1;
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	bak_buf_free(&data);
	bak_repo_close(repo);
	return err;
}

/* What tool_parse allocated: the bucket, and the keys (wiped first). */
static void tool_opts_free(struct tool_opts *o)
{
	tool_own_secret(&o->owned[1], NULL);
	tool_own_secret(&o->owned[2], NULL);
	free(o->owned[0]);
	memset(o, 0, sizeof(*o));
}

int bak_tool(const char *name, int argc, char **argv)
{
	struct tool_opts o;
	struct bak_err e = {0};
	int err;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(tool_usage, stdout);
			return 0;
		}
	if ((err = tool_parse(&o, argc, argv, &e)) != 0) {
		tool_opts_free(&o);
		bak_err_print(&e);
		fprintf(stderr,
			"HINT:  Run \"dbops %s --help\" for the usage.\n",
			name);
		return 1;
	}
	if (strcmp(name, "wal-push") == 0)
		err = wal_push(&o, &e);
	else
		err = wal_fetch(&o, &e);
	tool_opts_free(&o);
	if (err == DBOPS_ERR_NOTFOUND && strcmp(name, "wal-fetch") == 0)
		return 1; /* the server asks for files that may not exist */
	if (err != 0) {
		bak_err_print(&e);
		return err == DBOPS_ERR_INVALID ? 2 : 1;
	}
	return 0;
}

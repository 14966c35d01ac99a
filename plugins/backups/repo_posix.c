/* SPDX-License-Identifier: PostgreSQL */
/*
 * repo_posix.c — a repository in a local (or mounted) directory. An
 * object is written aside under a hidden temporary name in its final
 * directory, fsync'd, then linked (exclusive) or renamed into place and
 * the directory fsync'd: a reader never sees a partial object, a killed
 * writer leaves only a hidden ".NAME.tmp.PID" file that listings skip,
 * and success is reported only once the data is durable.
 */
#include "backups_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct posix_put {
	struct bak_put p;
	int fd;
	char tmp[4096];
	char final[4096];
	bool exclusive;
};

static void posix_path(char *out, size_t size, const struct bak_repo *r,
		       const char *key)
{
	snprintf(out, size, "%s/%s", r->o.path, key);
}

static int posix_mkdirs(const char *path, struct bak_err *e)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return bak_fail(e, DBOPS_ERR_GENERIC,
					"could not create directory \"%s\": %s",
					buf, strerror(errno));
		*s = '/';
	}
	return 0;
}

static int posix_fsync_dir(const char *file, struct bak_err *e)
{
	char dir[4096];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd) != 0) {
		int saved = errno;

		if (fd >= 0)
			close(fd);
		return bak_fail(e, DBOPS_ERR_GENERIC,
				"could not fsync directory \"%s\": %s", dir,
				strerror(saved));
	}
	close(fd);
	return 0;
}

static int posix_write(struct bak_sink *s, const void *data, size_t len,
		       bool final, struct bak_err *e)
{
	struct posix_put *pp = (struct posix_put *)s;
	const char *p = data;

	(void) final;
	while (len > 0) {
		ssize_t n = write(pp->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return bak_fail(e, DBOPS_ERR_GENERIC,
					"could not write file \"%s\": %s",
					pp->tmp, strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void posix_abort(struct bak_put *p)
{
	struct posix_put *pp = (struct posix_put *)p;

	if (pp->fd >= 0)
		close(pp->fd);
	unlink(pp->tmp);
	free(pp);
}

static int posix_end(struct bak_put *p, struct bak_err *e)
{
	struct posix_put *pp = (struct posix_put *)p;
	int err = 0;

	if (fsync(pp->fd) != 0) {
		err = bak_fail(e, DBOPS_ERR_GENERIC,
			       "could not fsync file \"%s\": %s", pp->tmp,
			       strerror(errno));
		goto done;
	}
	if (close(pp->fd) != 0) {
		pp->fd = -1;
		err = bak_fail(e, DBOPS_ERR_GENERIC,
			       "could not close file \"%s\": %s", pp->tmp,
			       strerror(errno));
		goto done;
	}
	pp->fd = -1;
	if (pp->exclusive) {
		if (link(pp->tmp, pp->final) != 0) {
			err = errno == EEXIST
				  ? bak_fail(e, DBOPS_ERR_CONFLICT,
					     "file \"%s\" already exists",
					     pp->final)
				  : bak_fail(e, DBOPS_ERR_GENERIC,
					     "could not link file \"%s\": %s",
					     pp->final, strerror(errno));
			goto done;
		}
	} else if (rename(pp->tmp, pp->final) != 0) {
		err = bak_fail(e, DBOPS_ERR_GENERIC,
			       "could not rename file \"%s\": %s", pp->tmp,
			       strerror(errno));
		goto done;
	}
	err = posix_fsync_dir(pp->final, e);
done:
	if (pp->fd >= 0)
		close(pp->fd);
	unlink(pp->tmp);
	free(pp);
	return err;
}

static int posix_put_begin(struct bak_put **out, struct bak_repo *r,
			   const char *key, bool exclusive, struct bak_err *e)
{
	struct posix_put *pp = calloc(1, sizeof(*pp));
	const char *base;
	int err;

	if (pp == NULL)
		abort();
	posix_path(pp->final, sizeof(pp->final), r, key);
	if ((err = posix_mkdirs(pp->final, e)) != 0) {
		free(pp);
		return err;
	}
	base = strrchr(pp->final, '/') + 1;
	snprintf(pp->tmp, sizeof(pp->tmp), "%.*s.%s.tmp.%ld",
		 (int)(base - pp->final), pp->final, base, (long)getpid());
	pp->fd = open(pp->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (pp->fd < 0) {
		err = bak_fail(e, DBOPS_ERR_GENERIC,
			       "could not create file \"%s\": %s", pp->tmp,
			       strerror(errno));
		free(pp);
		return err;
	}
	pp->exclusive = exclusive;
	pp->p.sink.write = posix_write;
	pp->p.repo = r;
	pp->p.end = posix_end;
	pp->p.abort = posix_abort;
	*out = &pp->p;
	return 0;
}

static int posix_get(struct bak_repo *r, const char *key, struct bak_sink *sink,
		     struct bak_err *e)
{
	char path[4096];
	static __thread unsigned char buf[1u << 20];
	int fd, err = 0;

	posix_path(path, sizeof(path), r, key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			   ? bak_fail(e, DBOPS_ERR_NOTFOUND,
				      "file \"%s\" does not exist", path)
			   : bak_fail(e, DBOPS_ERR_GENERIC,
				      "could not open file \"%s\": %s", path,
				      strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = bak_fail(e, DBOPS_ERR_GENERIC,
				       "could not read file \"%s\": %s", path,
				       strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((err = sink->write(sink, buf, (size_t)n, false, e)) != 0)
			break;
	}
	close(fd);
	return err;
}

static int posix_stat(bool *exists, uint64_t *size, struct bak_repo *r,
		      const char *key, struct bak_err *e)
{
	char path[4096];
	struct stat st;

	posix_path(path, sizeof(path), r, key);
	*exists = false;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return bak_fail(e, DBOPS_ERR_GENERIC,
				"could not stat file \"%s\": %s", path,
				strerror(errno));
	}
	*exists = true;
	if (size != NULL)
		*size = (uint64_t)st.st_size;
	return 0;
}

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_add(struct strv *s, const char *str)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(char *));
		if (s->v == NULL)
			abort();
	}
	s->v[s->n] = strdup(str);
	if (s->v[s->n] == NULL)
		abort();
	s->n++;
}

static int posix_walk(struct strv *out, const char *dir, const char *rel,
		      struct bak_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int err = 0;

	if (d == NULL)
		return errno == ENOENT
			   ? 0
			   : bak_fail(e, DBOPS_ERR_GENERIC,
				      "could not open directory \"%s\": %s",
				      dir, strerror(errno));
	while ((de = readdir(d)) != NULL && err == 0) {
		char path[4096], name[4096];
		struct stat st;

		if (de->d_name[0] == '.')
			continue; /* ".", "..", unfinished uploads */
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(name, sizeof(name), "%s%s", rel, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			strncat(name, "/", sizeof(name) - strlen(name) - 1);
			err = posix_walk(out, path, name, e);
		} else if (S_ISREG(st.st_mode)) {
			strv_add(out, name);
		}
	}
	closedir(d);
	return err;
}

static int strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int posix_list(char ***keys_out, size_t *n_out, struct bak_repo *r,
		      const char *prefix, struct bak_err *e)
{
	char dir[4096];
	struct strv s = {0};
	int err;

	snprintf(dir, sizeof(dir), "%s/%s", r->o.path, prefix);
	if ((err = posix_walk(&s, dir, "", e)) != 0) {
		bak_strv_free(s.v, s.n);
		return err;
	}
	if (s.n > 1)
		qsort(s.v, s.n, sizeof(char *), strv_cmp);
	*keys_out = s.v;
	*n_out = s.n;
	return 0;
}

static int posix_del(struct bak_repo *r, const char *key, struct bak_err *e)
{
	char path[4096];
	char *slash;

	posix_path(path, sizeof(path), r, key);
	if (unlink(path) != 0 && errno != ENOENT)
		return bak_fail(e, DBOPS_ERR_GENERIC,
				"could not remove file \"%s\": %s", path,
				strerror(errno));
	/* empty directories go with their last object */
	while ((slash = strrchr(path, '/')) != NULL &&
	       (size_t)(slash - path) > strlen(r->o.path)) {
		*slash = '\0';
		if (rmdir(path) != 0)
			break;
	}
	return 0;
}

const struct bak_repo_ops bak_posix_ops = {
    .put_begin = posix_put_begin,
    .get = posix_get,
    .stat = posix_stat,
    .list = posix_list,
    .del = posix_del,
    .close = NULL,
};

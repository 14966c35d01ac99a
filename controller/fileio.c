/* SPDX-License-Identifier: PostgreSQL */
/*
 * fileio.c — atomic file replacement; see fileio.h.
 */
#include "fileio.h"

#include <errno.h>
#include <stdbool.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"

static int io_error(struct arena *a, struct dbops_diag_list *diags,
		    const char *what, const char *path, int err)
{
	diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
		 "could not %s \"%s\": %s", what, path, strerror(err));
	return DBOPS_ERR_GENERIC;
}

static int fsync_dir(struct arena *a, struct dbops_diag_list *diags,
		     const char *path)
{
	char *dir = dirname(arena_strdup(a, path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return io_error(a, diags, "open directory", dir, errno);
	if (fsync(fd) != 0 && errno != EINVAL) {
		int err = errno;

		close(fd);
		return io_error(a, diags, "fsync directory", dir, err);
	}
	close(fd);
	return 0;
}

int fileio_write_atomic(struct arena *a, struct dbops_diag_list *diags,
			const char *path, const void *data, size_t len,
			mode_t mode)
{
	char *tmp = arena_printf(a, "%s/.%s.dbops-XXXXXX",
				 dirname(arena_strdup(a, path)),
				 basename(arena_strdup(a, path)));
	const char *p = data;
	size_t done = 0;
	struct stat st;
	bool exists = stat(path, &st) == 0;
	int fd, err;

	fd = mkstemp(tmp);
	if (fd < 0)
		return io_error(a, diags, "create temporary file", tmp, errno);
	if (fchmod(fd, exists ? st.st_mode & 07777 : mode) != 0)
		goto fail;
	if (exists && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) != 0)
		goto fail;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		done += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return fsync_dir(a, diags, path);
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return io_error(a, diags, "write file", path, err);
}

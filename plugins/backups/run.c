/* SPDX-License-Identifier: PostgreSQL */
/*
 * run.c — the PostgreSQL programs a restore runs (pg_ctl), with fork and
 * execv, never a shell. PostgreSQL refuses to run as root, so when dbops
 * is root the child becomes the spec's os_user ("postgres" by default)
 * before exec; it keeps dbops' environment, which is how a restored
 * server's restore_command finds the secrets it names (the same
 * variables dbops itself was given). Output is captured for errors.
 */
#define _GNU_SOURCE /* pipe2 */
#include "backups_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAK_OUTPUT_MAX 4096

const char *bak_program(struct dbops_ctx *ctx, const struct bak_spec *spec,
			const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *path;

	if (spec->bindir != NULL)
		return h->printf(ctx, "%s/%s", spec->bindir, name);
	path = h->printf(ctx, "/usr/lib/postgresql/%d/bin/%s",
			 h->server_version(ctx) / 10000, name);
	if (access(path, X_OK) == 0)
		return path;
	return name;
}

static const char *bak_user_name(const struct bak_spec *spec)
{
	if (spec->os_user != NULL)
		return spec->os_user;
	return geteuid() == 0 ? "postgres" : NULL;
}

int bak_os_user(uid_t *uid, gid_t *gid, struct dbops_ctx *ctx,
		const struct bak_spec *spec)
{
	const char *user = bak_user_name(spec);
	struct passwd *pw;

	*uid = geteuid();
	*gid = getegid();
	if (user == NULL)
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		struct dbops_diag *d = dbops_host(ctx)->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &spec->loc,
		    "there is no OS user \"%s\" to run PostgreSQL as", user);

		dbops_host(ctx)->diag_hint(
		    ctx, d,
		    "Set backups.os_user to the user that owns the PostgreSQL files.");
		return DBOPS_ERR_INVALID;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static void bak_child(const char *const *argv, int out_fd, uid_t uid, gid_t gid,
		      bool switch_user, const char *user)
{
	int null_fd = open("/dev/null", O_RDONLY);

	if (null_fd >= 0)
		dup2(null_fd, 0);
	dup2(out_fd, 1);
	dup2(out_fd, 2);
	if (switch_user) {
		if (initgroups(user, gid) != 0 || setgid(gid) != 0 ||
		    setuid(uid) != 0) {
			fprintf(stderr, "could not become OS user \"%s\": %s\n",
				user, strerror(errno));
			_exit(126);
		}
	}
	if (chdir("/") != 0)
		_exit(126);
	if (strchr(argv[0], '/') != NULL)
		execv(argv[0], (char *const *)(uintptr_t)argv);
	else
		execvp(argv[0], (char *const *)(uintptr_t)argv);
	fprintf(stderr, "could not run \"%s\": %s\n", argv[0], strerror(errno));
	_exit(127);
}

int bak_run(const char **output_out, struct dbops_ctx *ctx,
	    const struct bak_spec *spec, const char *const *argv)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *user = bak_user_name(spec);
	char *buf = h->alloc(ctx, BAK_OUTPUT_MAX + 1);
	size_t len = 0;
	uid_t uid;
	gid_t gid;
	int fds[2], status, err;
	pid_t pid;

	*output_out = "";
	if ((err = bak_os_user(&uid, &gid, ctx, spec)) != 0)
		return -1;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not create a pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		bak_child(argv, fds[1], uid, gid,
			  user != NULL && uid != geteuid(), user);
	}
	close(fds[1]);
	for (;;) {
		char chunk[1024];
		ssize_t n = read(fds[0], chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + (size_t)n > BAK_OUTPUT_MAX) {
			size_t drop = len + (size_t)n - BAK_OUTPUT_MAX;

			memmove(buf, buf + drop, len - drop);
			len -= drop;
		}
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
				"could not wait for \"%s\": %s", argv[0],
				strerror(errno));
			return -1;
		}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	*output_out = buf;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

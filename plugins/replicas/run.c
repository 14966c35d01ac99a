/* SPDX-License-Identifier: PostgreSQL */
/*
 * run.c — the PostgreSQL programs the local provider runs (pg_basebackup,
 * pg_ctl, pg_rewind), with fork and execv, never a shell. PostgreSQL
 * refuses to run as root, so when dbops is root the child takes the
 * identity of the spec's os_user ("postgres" by default) before exec;
 * its output is captured for the error message. A password for
 * pg_basebackup travels in the child's environment only.
 */
#define _GNU_SOURCE /* pipe2 */
#include "replicas_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPL_OUTPUT_MAX 4096

const char *repl_program(struct dbops_ctx *ctx, const struct repl_spec *spec,
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
	return name; /* found on PATH */
}

/* The OS user to run as, or NULL for ourselves. */
static const char *repl_os_user(const struct repl_spec *spec)
{
	if (spec->os_user != NULL)
		return spec->os_user;
	return geteuid() == 0 ? "postgres" : NULL;
}

static void repl_child(const char *const *argv, int out_fd, const char *user,
		       uid_t uid, gid_t gid, const char *password)
{
	int null_fd = open("/dev/null", O_RDONLY);

	if (null_fd >= 0)
		dup2(null_fd, 0);
	/* the pipe itself is close-on-exec: a server that pg_ctl leaves
	 * running must not hold it open */
	dup2(out_fd, 1);
	dup2(out_fd, 2);
	if (user != NULL) {
		if (initgroups(user, gid) != 0 || setgid(gid) != 0 ||
		    setuid(uid) != 0) {
			fprintf(stderr, "could not become OS user \"%s\": %s\n",
				user, strerror(errno));
			_exit(126);
		}
		if (chdir("/") != 0)
			_exit(126);
	}
	if (password != NULL)
		setenv("PGPASSWORD", password, 1);
	if (strchr(argv[0], '/') != NULL)
		execv(argv[0], (char *const *)(uintptr_t)argv);
	else
		execvp(argv[0], (char *const *)(uintptr_t)argv);
	fprintf(stderr, "could not run \"%s\": %s\n", argv[0], strerror(errno));
	_exit(127);
}

int repl_run(const char **output_out, struct dbops_ctx *ctx,
	     const struct repl_spec *spec, const char *const *argv,
	     const char *password)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *user = repl_os_user(spec);
	struct passwd pwd, *pw = NULL;
	char pwbuf[4096];
	char *buf = h->alloc(ctx, REPL_OUTPUT_MAX + 1);
	size_t len = 0;
	int fds[2], status;
	pid_t pid;
	ssize_t n;
	char chunk[1024];

	*output_out = "";
	/* getpwnam_r: the daemon runs passes on several threads */
	if (user != NULL &&
	    (getpwnam_r(user, &pwd, pwbuf, sizeof(pwbuf), &pw) != 0 ||
	     pw == NULL)) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &spec->loc,
			    "there is no OS user \"%s\" to run \"%s\" as", user,
			    argv[0]);

		h->diag_hint(
		    ctx, d,
		    "Set replicas.os_user to the user that owns the PostgreSQL files.");
		return -1;
	}
	if (pw != NULL && pw->pw_uid == geteuid())
		user = NULL;
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
		repl_child(argv, fds[1], user, pw ? pw->pw_uid : 0,
			   pw ? pw->pw_gid : 0, password);
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* keep the last REPL_OUTPUT_MAX bytes (chunk is smaller) */
		if (len + (size_t)n > REPL_OUTPUT_MAX) {
			size_t drop = len + (size_t)n - REPL_OUTPUT_MAX;

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

/* SPDX-License-Identifier: PostgreSQL */
/*
 * source_int.h — what source.c (local repositories and directories) and
 * source_remote.c (cached mirrors of remote ones) share; not for use
 * outside those two files.
 */
#ifndef DBOPS_CTRL_SOURCE_INT_H
#define DBOPS_CTRL_SOURCE_INT_H

#include <git2.h>

#include "source.h"
#include "strbuf.h"

#define SOURCE_MAX_SECRETS 4

struct source {
	struct arena *a;
	struct source_revision rev;
	const char *secrets[SOURCE_MAX_SECRETS]; /* scrubbed from messages */
	int nsecrets;
	const char *subdir; /* a clean relative path, or NULL */
	/* git mode */
	git_repository *repo;
	git_tree *tree;
	git_tree *base_tree; /* --lint-base, or NULL */
	char short_id[8];
	/* dir mode */
	int dirfd;
	struct strbuf fp; /* (path, NUL, length, NUL, blob id) per read */
};

/* The one place libgit2 errors become diagnostics (secrets scrubbed). */
struct dbops_diag *source_git_diag(struct source *s,
				   struct dbops_diag_list *diags, int code,
				   const char *fmt, ...) DBOPS_PRINTF(4, 5);
/* The one place errno values become diagnostics: "...: reason". */
int source_errno_diag(struct source *s, struct dbops_diag_list *diags, int code,
		      int err, const char *fmt, ...) DBOPS_PRINTF(5, 6);
/* arena_defer destructor of a git_repository. */
void source_free_repository(void *p);
/* Mirror `url` into the cache (clone or fetch) and open the mirror into
 * s->repo; `shown` is the URL as messages may show it. */
int source_open_remote(struct source *s, struct dbops_diag_list *diags,
		       const char *url, const char *shown,
		       const struct source_opts *opts);

#endif

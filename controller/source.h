/* SPDX-License-Identifier: PostgreSQL */
/*
 * source.h — where specs come from: a git revision read straight from its
 * tree objects with libgit2 (no checkout), a remote repository cloned or
 * fetched into a cache directory first, or a plain directory (--dir) for
 * local editing. It knows nothing about YAML or clusters; it reads bytes
 * by path, relative to the repository (or directory) root.
 */
#ifndef DBOPS_CTRL_SOURCE_H
#define DBOPS_CTRL_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "dbops/diag.h"

struct source;

struct source_opts {
	const char *repo;      /* local path or URL (https://, ssh://, file://,
				  user@host:path); NULL with dir */
	const char *rev;       /* ref, tag or commit; NULL means HEAD */
	const char *dir;       /* a plain directory instead of a repository */
	const char *cache_dir; /* for remote clones; NULL: $DBOPS_CACHE_DIR,
				  else $XDG_CACHE_HOME/dbops, else
				  ~/.cache/dbops */
	const char *base;      /* a revision of the same repository that
				  files are compared with (--lint-base), or
				  NULL; git mode only */
	/* Remote repositories, for the daemon and `dbops review`: */
	bool no_fetch;		 /* use the cached mirror as it is (the daemon
				  fetches once per cycle, not per cluster) */
	const char *git_token;	 /* instead of $DBOPS_GIT_TOKEN (https) */
	const char *git_user;	 /* instead of $DBOPS_GIT_USER */
	const char *git_ssh_key; /* instead of $DBOPS_GIT_SSH_KEY (a path) */
	const char *git_ssh_passphrase; /* instead of
					   $DBOPS_GIT_SSH_KEY_PASSPHRASE */
	const char *subdir;		/* read below this directory of the
			       repository (the daemon's source.path) */
	const char *fetch_extra;	/* one more refspec to fetch, e.g.
				    "+refs/pull/7/head:refs/dbops/pr/7" */
};

/* What a plan was made from. Strings live in the arena. */
struct source_revision {
	const char *kind;    /* "git" or "dir" */
	const char *origin;  /* the repository path/URL or directory given,
				a password in a URL replaced by *** */
	const char *commit;  /* full commit id, or NULL for dir */
	const char *ref;     /* the ref/rev as given (or "HEAD"), or NULL */
	const char *subject; /* first line of the commit message, or NULL */
	const char *author;  /* "Name <email>", or NULL */
};

/* Limit on one file read through a source. */
#define SOURCE_MAX_FILE (8u * 1024 * 1024)

/*
 * Open a source. Remote URLs are cloned into the cache (bare) on first use
 * and fetched on later ones; https uses a token from DBOPS_GIT_TOKEN (user
 * from DBOPS_GIT_USER, default "git") and ssh a key from DBOPS_GIT_SSH_KEY
 * (else the ssh agent). Secrets never appear in diagnostics. Everything
 * the source holds is released with the arena.
 * Returns 0, DBOPS_ERR_NOTFOUND (no such repository, rev or directory),
 * DBOPS_ERR_INVALID (dir given with repo or rev) or DBOPS_ERR_GENERIC,
 * with a diagnostic.
 */
/* At exit: release what the git sources initialised (nothing when no
 * git source was opened). */
void source_global_cleanup(void);

int source_open(struct source **out, struct arena *a,
		struct dbops_diag_list *diags, const struct source_opts *opts);

/*
 * Read a file, path relative to the root ("clusters/prod/cluster.yaml"),
 * NUL-terminated copy in the arena. Paths with ".." components or absolute
 * paths are refused (DBOPS_ERR_INVALID), and so are a path that is not a
 * regular file and a file over SOURCE_MAX_FILE. A missing file is
 * DBOPS_ERR_NOTFOUND with a diagnostic naming the path and revision.
 */
int source_read(const char **data_out, size_t *len_out, struct source *s,
		struct dbops_diag_list *diags, const char *path);

/* true when the path exists as a file (no diagnostic). */
bool source_exists(struct source *s, const char *path);

/*
 * List the regular files directly inside a directory of the source or,
 * `recursive`, at any depth below it (paths relative to `dir`, with "/";
 * symbolic links are not followed), sorted bytewise, NULL-terminated, in
 * the arena. A missing directory is DBOPS_ERR_NOTFOUND.
 */
int source_list(const char *const **names_out, size_t *n_out, struct source *s,
		struct dbops_diag_list *diags, const char *dir, bool recursive);

const struct source_revision *source_revision(const struct source *s);

/*
 * The id of a file's content without reading it: its git blob id (40 hex
 * digits, in the arena), or NULL in directory mode or when there is no
 * such file.
 */
const char *source_id(struct source *s, const char *path);
/* The same at the base revision: "" when the file does not exist there,
 * NULL when no base was given. */
const char *source_base_id(struct source *s, const char *path);

/*
 * A stable identity of the content read so far: the commit id for git;
 * for a directory, a SHA-1 over the paths and bytes of every file read
 * through source_read, in order. Hex, in the arena.
 */
const char *source_fingerprint(struct source *s);

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * source_remote.c — remote spec repositories: a bare mirror (every branch
 * and tag) in a cache directory, built aside and renamed into place on
 * first use, fetched on every later one under a lock file; credentials
 * from the environment (a token for https, a key or the agent for ssh),
 * never written to the mirror's configuration.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobid.h"
#include "diag.h"
#include "source_int.h"
#include "strbuf.h"

#define SOURCE_MAX_AUTH_ATTEMPTS 3

/* What the credentials callback needs; lives for one clone or fetch. */
struct source_auth {
	int attempts;
	const char *token;
	const char *user;
	const char *ssh_key;
	const char *ssh_passphrase;
};

/* ---- cache directory ------------------------------------------------- */

static bool source_env_set(const char *name, const char **out)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
		return false;
	*out = v;
	return true;
}

static int source_cache_root(struct source *s, struct dbops_diag_list *diags,
			     const char *given, const char **out)
{
	const char *v;
	struct dbops_diag *d;

	if (given != NULL && given[0] != '\0')
		*out = given;
	else if (source_env_set("DBOPS_CACHE_DIR", &v))
		*out = v;
	else if (source_env_set("XDG_CACHE_HOME", &v))
		*out = arena_printf(s->a, "%s/dbops", v);
	else if (source_env_set("HOME", &v))
		*out = arena_printf(s->a, "%s/.cache/dbops", v);
	else {
		d = diag_add(diags, s->a, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC,
			     NULL, "could not determine the cache directory");
		diag_detail(
		    d, s->a,
		    "None of DBOPS_CACHE_DIR, XDG_CACHE_HOME and HOME is set.");
		diag_hint(d, s->a,
			  "Set DBOPS_CACHE_DIR to a writable directory.");
		return DBOPS_ERR_GENERIC;
	}
	return 0;
}

/* mkdir -p with mode 0700 for what it creates; errno on failure. */
static int source_mkdir_p(struct arena *a, const char *path)
{
	char *p = arena_strdup(a, path);
	struct stat st;

	for (char *q = p + 1;; q++) {
		bool last = *q == '\0';

		if (*q != '/' && !last)
			continue;
		*q = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return errno;
		if (stat(p, &st) != 0)
			return errno;
		if (!S_ISDIR(st.st_mode))
			return ENOTDIR;
		if (last)
			return 0;
		*q = '/';
	}
}

/* rm -rf below an open directory; for the temporary clone only. */
static void source_rm_at(int parent, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return;
	fd = openat(parent, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			source_rm_at(fd, de->d_name);
	closedir(d);
	(void)unlinkat(parent, name, AT_REMOVEDIR);
}

static void source_rm_rf(const char *path)
{
	source_rm_at(AT_FDCWD, path);
}

/* ---- remotes --------------------------------------------------------- */

static int source_credentials(git_credential **out, const char *url,
			      const char *username_from_url,
			      unsigned int allowed_types, void *payload)
{
	struct source_auth *auth = payload;
	const char *user;

	(void)url;
	if (++auth->attempts > SOURCE_MAX_AUTH_ATTEMPTS) {
		git_error_set_str(GIT_ERROR_NET,
				  "authentication failed after 3 attempts");
		return GIT_EAUTH;
	}
	user = username_from_url != NULL ? username_from_url : "git";
	if (allowed_types & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
		if (auth->token == NULL)
			return GIT_PASSTHROUGH;
		if (auth->user != NULL)
			user = auth->user;
		return git_credential_userpass_plaintext_new(out, user,
							     auth->token);
	}
	if (allowed_types & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	if (allowed_types & GIT_CREDENTIAL_SSH_KEY) {
		if (auth->ssh_key != NULL)
			return git_credential_ssh_key_new(out, user, NULL,
							  auth->ssh_key,
							  auth->ssh_passphrase);
		return git_credential_ssh_key_from_agent(out, user);
	}
	return GIT_PASSTHROUGH;
}

/* What the options give (the daemon's configuration), else the
 * environment. */
static const char *source_auth_value(const char *given, const char *env)
{
	const char *v;

	if (given != NULL && given[0] != '\0')
		return given;
	return source_env_set(env, &v) ? v : NULL;
}

static void source_auth_init(struct source_auth *auth,
			     const struct source_opts *o)
{
	memset(auth, 0, sizeof(*auth));
	auth->token = source_auth_value(o->git_token, "DBOPS_GIT_TOKEN");
	auth->user = source_auth_value(o->git_user, "DBOPS_GIT_USER");
	auth->ssh_key = source_auth_value(o->git_ssh_key, "DBOPS_GIT_SSH_KEY");
	auth->ssh_passphrase = source_auth_value(
	    o->git_ssh_passphrase, "DBOPS_GIT_SSH_KEY_PASSPHRASE");
}

static void source_auth_hint(struct source *s, struct dbops_diag *d, int gerr)
{
	if (gerr == GIT_EAUTH)
		diag_hint(
		    d, s->a,
		    "Set DBOPS_GIT_TOKEN for https, or DBOPS_GIT_SSH_KEY or an ssh agent for ssh.");
}

/*
 * Bring the mirror up to date: every branch onto the branch of the same
 * name, every tag, deleted ones pruned, and HEAD onto the remote's default
 * branch. The URL given now is used rather than one stored in the mirror,
 * so that a rotated token in the URL works and none is written to disk.
 */
static int source_fetch(struct source *s, struct dbops_diag_list *diags,
			git_repository *repo, const char *url,
			const char *shown, const char *what,
			const struct source_opts *o)
{
	static char heads[] = "+refs/heads/*:refs/heads/*";
	static char tags[] = "+refs/tags/*:refs/tags/*";
	char *specs[] = {heads, tags, NULL};
	git_strarray refspecs = {specs, 2};
	git_fetch_options opts;
	git_remote_create_options ropts;
	struct source_auth auth;
	git_remote *remote = NULL;
	git_buf head = {0};
	struct dbops_diag *d;
	int gerr, rc = 0;

	if (o->fetch_extra != NULL) {
		specs[2] = arena_strdup(s->a, o->fetch_extra);
		refspecs.count = 3;
	}
	git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
	source_auth_init(&auth, o);
	opts.prune = GIT_FETCH_PRUNE;
	opts.update_fetchhead = 0;
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	opts.callbacks.credentials = source_credentials;
	opts.callbacks.payload = &auth;
	/*
	 * An anonymous remote that skips url.*.insteadOf: libgit2 1.5 leaks
	 * PCRE2 match data on every config entry its insteadOf lookup does
	 * not match, which a daemon fetching every pass cannot afford.
	 */
	git_remote_create_options_init(&ropts,
				       GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ropts.repository = repo;
	ropts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
		      GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	gerr = git_remote_create_with_opts(&remote, url, &ropts);
	if (gerr >= 0)
		gerr =
		    git_remote_fetch(remote, &refspecs, &opts, "dbops fetch");
	if (gerr >= 0) {
		/* no default branch (an empty remote) leaves HEAD alone */
		if (git_remote_default_branch(&head, remote) >= 0)
			gerr = git_repository_set_head(repo, head.ptr);
		else
			git_error_clear();
	}
	if (gerr < 0) {
		d = source_git_diag(s, diags,
				    gerr == GIT_ENOTFOUND ? DBOPS_ERR_NOTFOUND
							  : DBOPS_ERR_GENERIC,
				    "could not %s repository \"%s\"", what,
				    shown);
		source_auth_hint(s, d, gerr);
		rc = d->code;
	}
	git_buf_dispose(&head);
	git_remote_free(remote);
	return rc;
}

/*
 * A new mirror is made in a temporary directory and renamed into place,
 * so that a clone that fails or is killed never looks like a mirror. (Not
 * git_clone(): with a branches-onto-branches refspec it leaves HEAD on
 * an unborn "master".)
 */
static int source_clone(struct source *s, struct dbops_diag_list *diags,
			const char *url, const char *shown, const char *path,
			const char *tmp, const struct source_opts *o)
{
	git_repository *repo = NULL;
	int gerr, rc;

	source_rm_rf(tmp); /* left by a clone that was killed */
	gerr = git_repository_init(&repo, tmp, 1);
	if (gerr < 0)
		return source_git_diag(s, diags, DBOPS_ERR_GENERIC,
				       "could not clone repository \"%s\"",
				       shown)
		    ->code;
	rc = source_fetch(s, diags, repo, url, shown, "clone", o);
	git_repository_free(repo);
	if (rc == 0 && rename(tmp, path) != 0) {
		int err = errno;

		rc = source_errno_diag(s, diags, DBOPS_ERR_GENERIC, err,
				       "could not rename \"%s\" to \"%s\"", tmp,
				       path);
	}
	if (rc < 0)
		source_rm_rf(tmp);
	return rc;
}

/*
 * Open (cloning first if needed) and fetch the cached mirror of url. A
 * lock file serialises processes and threads working on the same mirror.
 */
int source_open_remote(struct source *s, struct dbops_diag_list *diags,
		       const char *url, const char *shown,
		       const struct source_opts *o)
{
	const char *root, *path, *lock, *tmp;
	const char *hex;
	struct stat st;
	bool fresh = false;
	int fd, err, rc, gerr;

	rc = source_cache_root(s, diags, o->cache_dir, &root);
	if (rc < 0)
		return rc;
	/* keyed by the shown URL so that a new token keeps the same mirror */
	hex = blobid_hex(s->a, shown, strlen(shown));
	path = arena_printf(s->a, "%s/repos", root);
	err = source_mkdir_p(s->a, path);
	if (err != 0)
		return source_errno_diag(
		    s, diags, DBOPS_ERR_GENERIC, err,
		    "could not create cache directory \"%s\"", path);
	lock = arena_printf(s->a, "%s/%s.lock", path, hex);
	tmp = arena_printf(s->a, "%s/%s.tmp", path, hex);
	path = arena_printf(s->a, "%s/%s", path, hex);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		err = errno;
		if (fd >= 0)
			close(fd);
		return source_errno_diag(s, diags, DBOPS_ERR_GENERIC, err,
					 "could not lock \"%s\"", lock);
	}
	if (stat(path, &st) != 0) {
		rc = source_clone(s, diags, url, shown, path, tmp, o);
		fresh = true;
	}
	if (rc == 0) {
		gerr = git_repository_open_ext(&s->repo, path,
					       GIT_REPOSITORY_OPEN_NO_SEARCH |
						   GIT_REPOSITORY_OPEN_BARE,
					       NULL);
		if (gerr < 0) {
			struct dbops_diag *d = source_git_diag(
			    s, diags, DBOPS_ERR_GENERIC,
			    "could not open repository \"%s\"", path);

			diag_hint(
			    d, s->a,
			    "Remove the directory; it is a cache and will be cloned again.");
			rc = d->code;
		} else {
			arena_defer(s->a, source_free_repository, s->repo);
		}
	}
	if (rc == 0 && !fresh && !o->no_fetch)
		rc = source_fetch(s, diags, s->repo, url, shown, "fetch", o);
	close(fd); /* releases the lock */
	return rc;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * source.c — reading spec files from a git revision or a directory; see
 * source.h. Git files come straight from the commit's tree objects, never
 * from a checkout, so a work tree's uncommitted edits are invisible and any
 * revision can be read side by side. Remote repositories are mirrored
 * into a cache directory by source_remote.c. Directory mode reads plain
 * files with POSIX I/O and fingerprints what it read. This file does not
 * parse anything: it hands out bytes by path. libgit2 errors become
 * diagnostics in source_git_diag() and errno values in source_errno_diag();
 * secrets (URL passwords, tokens) are scrubbed from both.
 */
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <stdarg.h>
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

static pthread_once_t source_git_once = PTHREAD_ONCE_INIT;
static bool source_git_inited; /* set under source_git_once */

static void source_git_init_once(void)
{
	git_libgit2_init();
	source_git_inited = true;
	/* Keep trees in libgit2's object cache whatever their size: every
	 * file read by path walks its directory's tree, and a migrations
	 * directory of 10,000 files would be parsed again per file. */
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE,
			 (size_t)16 << 20);
}

/* libgit2 is initialised on the first git source only: its
 * initialisation parses the system's certificate bundle (mbedTLS in
 * Debian's build), a cost no other command should pay. */
static void source_git_init(void)
{
	pthread_once(&source_git_once, source_git_init_once);
}

void source_global_cleanup(void)
{
	if (source_git_inited)
		git_libgit2_shutdown();
}

void source_free_repository(void *p)
{
	git_repository_free(p);
}

static void source_free_object(void *p)
{
	git_object_free(p);
}

static void source_free_fp(void *p)
{
	strbuf_dispose(p);
}

static void source_close_dirfd(void *p)
{
	struct source *s = p;

	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = -1;
}

static void source_add_secret(struct source *s, const char *secret)
{
	if (secret == NULL || secret[0] == '\0' ||
	    s->nsecrets >= SOURCE_MAX_SECRETS)
		return;
	s->secrets[s->nsecrets++] = secret;
}

/*
 * Replace every secret in text with "***" and make the text a sentence
 * (capital first letter, final period), as a DETAIL must be.
 */
static char *source_scrub(struct source *s, const char *text)
{
	struct strbuf sb;
	size_t n;

	strbuf_init(&sb);
	for (const char *p = text; *p != '\0';) {
		size_t hit = 0;

		for (int i = 0; i < s->nsecrets && hit == 0; i++) {
			size_t len = strlen(s->secrets[i]);

			if (strncmp(p, s->secrets[i], len) == 0)
				hit = len;
		}
		if (hit > 0) {
			strbuf_puts(&sb, "***");
			p += hit;
		} else {
			strbuf_putc(&sb, *p++);
		}
	}
	while (sb.len > 0 &&
	       (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == ' '))
		sb.buf[--sb.len] = '\0';
	if (sb.len == 0) {
		strbuf_dispose(&sb);
		return NULL;
	}
	if (sb.buf[0] >= 'a' && sb.buf[0] <= 'z')
		sb.buf[0] = (char)(sb.buf[0] - 'a' + 'A');
	n = sb.len;
	if (sb.buf[n - 1] != '.')
		strbuf_putc(&sb, '.');
	return strbuf_finish(&sb, s->a);
}

/*
 * The one place libgit2 errors become diagnostics. git_error_last() is
 * read before anything else can reset it; its text (secrets scrubbed)
 * becomes the DETAIL.
 */
struct dbops_diag *source_git_diag(struct source *s,
				   struct dbops_diag_list *diags, int code,
				   const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char *raw = NULL;
	struct dbops_diag *d;
	va_list ap;

	if (e != NULL && e->message != NULL)
		raw = arena_strdup(s->a, e->message);
	git_error_clear();
	va_start(ap, fmt);
	d = diag_vadd(diags, s->a, DBOPS_SEV_ERROR, code, NULL, fmt, ap);
	va_end(ap);
	if (raw != NULL)
		d->detail = source_scrub(s, raw);
	return d;
}

/* The one place errno values become diagnostics: "...: reason". */
int source_errno_diag(struct source *s, struct dbops_diag_list *diags, int code,
		      int err, const char *fmt, ...)
{
	va_list ap;
	char *what;

	va_start(ap, fmt);
	what = arena_vprintf(s->a, fmt, ap);
	va_end(ap);
	diag_add(diags, s->a, DBOPS_SEV_ERROR, code, NULL, "%s: %s", what,
		 strerror(err));
	return code;
}

/*
 * A URL as it may be shown: "scheme://user:password@host" loses the
 * password ("user:***@host"), and an http(s) user name alone, which is
 * often a token, is hidden as a whole ("***@host"). When secret_out is
 * not NULL it receives what was hidden (or NULL). Other forms are kept.
 */
static char *source_redact_url(struct arena *a, const char *url,
			       const char **secret_out)
{
	const char *scheme_end = strstr(url, "://");
	const char *auth, *auth_end, *at = NULL, *colon;
	bool http;

	if (secret_out != NULL)
		*secret_out = NULL;
	if (scheme_end == NULL)
		return arena_strdup(a, url);
	auth = scheme_end + 3;
	auth_end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return arena_strdup(a, url);
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon != NULL) {
		if (secret_out != NULL)
			*secret_out = arena_strndup(a, colon + 1,
						    (size_t)(at - colon - 1));
		return arena_printf(a, "%.*s:***%s", (int)(colon - url), url,
				    at);
	}
	http =
	    strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
	if (!http)
		return arena_strdup(a, url);
	if (secret_out != NULL)
		*secret_out = arena_strndup(a, auth, (size_t)(at - auth));
	return arena_printf(a, "%.*s***%s", (int)(auth - url), url, at);
}

/* A remote URL, as opposed to a local path. */
static bool source_is_url(const char *repo)
{
	static const char *const schemes[] = {"https://", "http://", "ssh://",
					      "git://", "file://"};
	size_t colon, slash;

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(repo, schemes[i], strlen(schemes[i])) == 0)
			return true;
	/* scp-like user@host:path: a colon before any slash, after a '@' */
	colon = strcspn(repo, ":");
	slash = strcspn(repo, "/");
	return repo[colon] == ':' && colon < slash &&
	       memchr(repo, '@', colon) != NULL;
}

static int source_invalid_path(struct source *s, struct dbops_diag_list *diags,
			       const char *path)
{
	struct dbops_diag *d;

	d = diag_add(diags, s->a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		     "invalid path %s",
		     diag_value(s->a, path != NULL ? path : ""));
	diag_detail(
	    d, s->a,
	    "Paths are relative to the root of the source and may not contain \"..\" components.");
	return DBOPS_ERR_INVALID;
}

/*
 * Normalise a relative path: drop empty and "." components; refuse
 * absolute paths and "..". The root is "". Returns false when refused.
 */
static bool source_clean_path(struct arena *a, const char *path,
			      const char **out)
{
	struct strbuf sb;

	if (path == NULL || path[0] == '/')
		return false;
	strbuf_init(&sb);
	strbuf_puts(&sb, "");
	for (const char *p = path; *p != '\0';) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			strbuf_dispose(&sb);
			return false;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (sb.len > 0)
				strbuf_putc(&sb, '/');
			strbuf_add(&sb, p, n);
		}
		p += n;
		if (*p == '/')
			p++;
	}
	*out = strbuf_finish(&sb, a);
	return true;
}

/* A clean path below the source's subdirectory, if it has one. */
static const char *source_below(const struct source *s, const char *clean)
{
	if (s->subdir == NULL)
		return clean;
	if (clean[0] == '\0')
		return s->subdir;
	return arena_printf(s->a, "%s/%s", s->subdir, clean);
}

/* source_clean_path, then below the subdirectory. */
static bool source_path(struct source *s, const char *path, const char **out)
{
	if (!source_clean_path(s->a, path, out))
		return false;
	*out = source_below(s, *out);
	return true;
}

/* ---- git mode -------------------------------------------------------- */

static int source_resolve(struct source *s, struct dbops_diag_list *diags,
			  const char *rev)
{
	git_object *obj = NULL, *peeled = NULL;
	git_commit *commit;
	const git_signature *sig;
	const char *msg;
	char hex[GIT_OID_HEXSZ + 1];
	struct dbops_diag *d;
	int gerr;

	gerr = git_revparse_single(&obj, s->repo, rev);
	if (gerr >= 0) {
		gerr = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
		git_object_free(obj);
	}
	if (gerr < 0) {
		d = source_git_diag(
		    s, diags, DBOPS_ERR_NOTFOUND,
		    "could not resolve revision \"%s\" in repository \"%s\"",
		    rev, s->rev.origin);
		if (git_repository_head_unborn(s->repo) == 1)
			diag_hint(d, s->a,
				  "The repository has no commits yet.");
		else
			diag_hint(d, s->a,
				  "Check the branch, tag or commit name.");
		git_error_clear();
		return DBOPS_ERR_NOTFOUND;
	}
	arena_defer(s->a, source_free_object, peeled);
	commit = (git_commit *)peeled;
	gerr = git_commit_tree(&s->tree, commit);
	if (gerr < 0)
		return source_git_diag(
			   s, diags, DBOPS_ERR_GENERIC,
			   "could not read the tree of revision \"%s\"", rev)
		    ->code;
	arena_defer(s->a, source_free_object, s->tree);
	git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
	s->rev.commit = arena_strdup(s->a, hex);
	memcpy(s->short_id, hex, 7);
	s->short_id[7] = '\0';
	msg = git_commit_message(commit);
	if (msg != NULL)
		s->rev.subject = arena_strndup(s->a, msg, strcspn(msg, "\r\n"));
	sig = git_commit_author(commit);
	if (sig != NULL)
		s->rev.author =
		    arena_printf(s->a, "%s <%s>", sig->name, sig->email);
	return 0;
}

static bool source_entry_is_file(const git_tree_entry *e);
static int source_symlink(struct source *s, struct dbops_diag_list *diags,
			  const char *path);

/* The tree of the base revision files are compared with. */
static int source_resolve_base(struct source *s, struct dbops_diag_list *diags,
			       const char *rev)
{
	git_object *obj = NULL, *peeled = NULL;
	int gerr;

	gerr = git_revparse_single(&obj, s->repo, rev);
	if (gerr >= 0) {
		gerr = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
		git_object_free(obj);
	}
	if (gerr >= 0) {
		arena_defer(s->a, source_free_object, peeled);
		gerr = git_commit_tree(&s->base_tree, (git_commit *)peeled);
	}
	if (gerr < 0) {
		struct dbops_diag *d = source_git_diag(
		    s, diags, DBOPS_ERR_NOTFOUND,
		    "could not resolve base revision \"%s\" in repository \"%s\"",
		    rev, s->rev.origin);

		diag_hint(d, s->a, "Check the branch, tag or commit name.");
		git_error_clear();
		return DBOPS_ERR_NOTFOUND;
	}
	arena_defer(s->a, source_free_object, s->base_tree);
	return 0;
}

static const char *source_tree_id(struct source *s, git_tree *tree,
				  const char *path)
{
	git_tree_entry *e = NULL;
	char hex[GIT_OID_HEXSZ + 1];

	if (git_tree_entry_bypath(&e, tree, path) != 0) {
		git_error_clear();
		return NULL;
	}
	if (!source_entry_is_file(e)) {
		git_tree_entry_free(e);
		return NULL;
	}
	git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(e));
	git_tree_entry_free(e);
	return arena_strdup(s->a, hex);
}

const char *source_id(struct source *s, const char *path)
{
	const char *clean;

	if (s->tree == NULL || !source_path(s, path, &clean))
		return NULL;
	return source_tree_id(s, s->tree, clean);
}

const char *source_base_id(struct source *s, const char *path)
{
	const char *id;

	if (s->base_tree == NULL || !source_path(s, path, &path))
		return NULL;
	id = source_tree_id(s, s->base_tree, path);
	return id != NULL ? id : "";
}

static int source_open_git(struct source *s, struct dbops_diag_list *diags,
			   const struct source_opts *opts)
{
	const char *repo = opts->repo != NULL ? opts->repo : ".";
	const char *secret;
	int gerr, rc;

	source_git_init(); /* a directory source never pays for it */
	s->rev.kind = "git";
	s->rev.ref = arena_strdup(s->a, opts->rev != NULL ? opts->rev : "HEAD");
	s->rev.origin = source_redact_url(s->a, repo, &secret);
	source_add_secret(s, secret);
	source_add_secret(s, arena_strdup(s->a, getenv("DBOPS_GIT_TOKEN")));
	source_add_secret(
	    s, arena_strdup(s->a, getenv("DBOPS_GIT_SSH_KEY_PASSPHRASE")));
	source_add_secret(s, arena_strdup(s->a, opts->git_token));
	source_add_secret(s, arena_strdup(s->a, opts->git_ssh_passphrase));
	if (source_is_url(repo)) {
		rc = source_open_remote(s, diags, repo, s->rev.origin, opts);
		if (rc < 0)
			return rc;
	} else {
		gerr = git_repository_open_ext(&s->repo, repo, 0, NULL);
		if (gerr < 0)
			return source_git_diag(
				   s, diags,
				   gerr == GIT_ENOTFOUND ? DBOPS_ERR_NOTFOUND
							 : DBOPS_ERR_GENERIC,
				   "could not open repository \"%s\"",
				   s->rev.origin)
			    ->code;
		arena_defer(s->a, source_free_repository, s->repo);
	}
	if ((rc = source_resolve(s, diags, s->rev.ref)) != 0)
		return rc;
	return opts->base != NULL ? source_resolve_base(s, diags, opts->base)
				  : 0;
}

static bool source_entry_is_file(const git_tree_entry *e)
{
	git_filemode_t mode = git_tree_entry_filemode(e);

	return mode == GIT_FILEMODE_BLOB ||
	       mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

static int source_not_a_file(struct source *s, struct dbops_diag_list *diags,
			     const char *path)
{
	return diag_add(diags, s->a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			"\"%s\" is not a file", path)
	    ->code;
}

static int source_too_large(struct source *s, struct dbops_diag_list *diags,
			    const char *path, unsigned long long size)
{
	struct dbops_diag *d;

	d = diag_add(diags, s->a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		     "file \"%s\" is too large", path);
	diag_detail(d, s->a, "The file has %llu bytes; the limit is %u bytes.",
		    size, SOURCE_MAX_FILE);
	return DBOPS_ERR_INVALID;
}

static int source_read_git(const char **data_out, size_t *len_out,
			   struct source *s, struct dbops_diag_list *diags,
			   const char *path)
{
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	git_object_size_t size;
	char *buf;
	int gerr;

	if (path[0] == '\0')
		return source_not_a_file(s, diags, "");
	gerr = git_tree_entry_bypath(&e, s->tree, path);
	if (gerr == GIT_ENOTFOUND) {
		git_error_clear();
		return diag_add(diags, s->a, DBOPS_SEV_ERROR,
				DBOPS_ERR_NOTFOUND, NULL,
				"file %s does not exist at revision %s",
				diag_value(s->a, path), s->short_id)
		    ->code;
	}
	if (gerr < 0)
		return source_git_diag(
			   s, diags, DBOPS_ERR_GENERIC,
			   "could not read file \"%s\" at revision %s", path,
			   s->short_id)
		    ->code;
	if (!source_entry_is_file(e)) {
		git_tree_entry_free(e);
		return source_not_a_file(s, diags, path);
	}
	gerr = git_blob_lookup(&blob, s->repo, git_tree_entry_id(e));
	git_tree_entry_free(e);
	if (gerr < 0)
		return source_git_diag(
			   s, diags, DBOPS_ERR_GENERIC,
			   "could not read file \"%s\" at revision %s", path,
			   s->short_id)
		    ->code;
	size = git_blob_rawsize(blob);
	if (size > SOURCE_MAX_FILE) {
		git_blob_free(blob);
		return source_too_large(s, diags, path,
					(unsigned long long)size);
	}
	/* the bytes are copied: the blob need not live with the arena */
	buf = arena_alloc(s->a, (size_t)size + 1);
	memcpy(buf, git_blob_rawcontent(blob), (size_t)size);
	git_blob_free(blob);
	*data_out = buf;
	*len_out = (size_t)size;
	return 0;
}

static int source_names_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A bytewise sorted, NULL-terminated copy of names in the arena. */
static const char **source_names_finish(struct arena *a, const char **names,
					size_t n)
{
	const char **out = arena_alloc(a, (n + 1) * sizeof(*out));

	if (n > 0)
		memcpy(out, names, n * sizeof(*out));
	qsort(out, n, sizeof(*out), source_names_cmp);
	out[n] = NULL;
	return out;
}

static int source_no_directory(struct source *s, struct dbops_diag_list *diags,
			       const char *dir)
{
	if (s->repo != NULL)
		return diag_add(diags, s->a, DBOPS_SEV_ERROR,
				DBOPS_ERR_NOTFOUND, NULL,
				"directory %s does not exist at revision %s",
				diag_value(s->a, dir), s->short_id)
		    ->code;
	return diag_add(diags, s->a, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, NULL,
			"directory %s does not exist in \"%s\"",
			diag_value(s->a, dir), s->rev.origin)
	    ->code;
}

/* A growing list of names in the arena. */
struct name_vec {
	const char **v;
	size_t n, cap;
};

static void name_vec_push(struct name_vec *nv, struct arena *a,
			  const char *name)
{
	if (nv->n == nv->cap) {
		const char **bigger;

		nv->cap = nv->cap ? nv->cap * 2 : 16;
		bigger = arena_alloc(a, nv->cap * sizeof(*bigger));
		if (nv->n > 0)
			memcpy(bigger, nv->v, nv->n * sizeof(*nv->v));
		nv->v = bigger;
	}
	nv->v[nv->n++] = name;
}

/* Deeper than this, a source tree is not a migration layout but a
 * mistake (or a loop of symbolic links in a directory). */
#define SOURCE_MAX_DEPTH 32

static int source_collect_git(struct name_vec *nv, struct source *s,
			      struct dbops_diag_list *diags,
			      const git_tree *tree, const char *prefix,
			      bool recursive, int depth)
{
	size_t count = git_tree_entrycount(tree);

	for (size_t i = 0; i < count; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(te);
		git_tree *sub = NULL;
		int rc;

		if (source_entry_is_file(te)) {
			name_vec_push(nv, s->a,
				      arena_printf(s->a, "%s%s", prefix, name));
			continue;
		}
		if (git_tree_entry_filemode(te) == GIT_FILEMODE_LINK)
			return source_symlink(
			    s, diags, arena_printf(s->a, "%s%s", prefix, name));
		if (!recursive || git_tree_entry_type(te) != GIT_OBJECT_TREE ||
		    depth >= SOURCE_MAX_DEPTH)
			continue;
		if (git_tree_lookup(&sub, s->repo, git_tree_entry_id(te)) < 0)
			return source_git_diag(
				   s, diags, DBOPS_ERR_GENERIC,
				   "could not read directory \"%s%s\" at revision %s",
				   prefix, name, s->short_id)
			    ->code;
		rc = source_collect_git(
		    nv, s, diags, sub,
		    arena_printf(s->a, "%s%s/", prefix, name), true, depth + 1);
		git_tree_free(sub);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int source_list_git(struct name_vec *nv, struct source *s,
			   struct dbops_diag_list *diags, const char *dir,
			   bool recursive)
{
	git_tree_entry *e = NULL;
	git_tree *tree = s->tree;
	int gerr, rc;

	if (dir[0] != '\0') {
		gerr = git_tree_entry_bypath(&e, s->tree, dir);
		if (gerr == GIT_ENOTFOUND ||
		    (gerr >= 0 && git_tree_entry_type(e) != GIT_OBJECT_TREE)) {
			git_error_clear();
			git_tree_entry_free(e);
			return source_no_directory(s, diags, dir);
		}
		if (gerr >= 0)
			gerr = git_tree_lookup(&tree, s->repo,
					       git_tree_entry_id(e));
		git_tree_entry_free(e);
		if (gerr < 0)
			return source_git_diag(
				   s, diags, DBOPS_ERR_GENERIC,
				   "could not read directory \"%s\" at revision %s",
				   dir, s->short_id)
			    ->code;
	}
	rc = source_collect_git(nv, s, diags, tree, "", recursive, 0);
	if (tree != s->tree)
		git_tree_free(tree);
	return rc;
}

/* ---- directory mode -------------------------------------------------- */

static int source_open_dir(struct source *s, struct dbops_diag_list *diags,
			   const struct source_opts *opts)
{
	int err;

	s->rev.kind = "dir";
	s->rev.origin = arena_strdup(s->a, opts->dir);
	s->dirfd = open(opts->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		err = errno;
		return source_errno_diag(
		    s, diags,
		    err == ENOENT || err == ENOTDIR ? DBOPS_ERR_NOTFOUND
						    : DBOPS_ERR_GENERIC,
		    err, "could not open directory \"%s\"", opts->dir);
	}
	arena_defer(s->a, source_close_dirfd, s);
	arena_defer(s->a, source_free_fp, &s->fp);
	return 0;
}

/* Remember what was read, for source_fingerprint(). */
static void source_fp_add(struct source *s, const char *path, const char *data,
			  size_t len)
{
	unsigned char id[BLOBID_RAWSZ];
	char num[32];

	blobid_raw(id, data, len);
	snprintf(num, sizeof(num), "%zu", len);
	strbuf_add(&s->fp, path, strlen(path) + 1);
	strbuf_add(&s->fp, num, strlen(num) + 1);
	strbuf_add(&s->fp, id, sizeof(id));
}

/*
 * Open `path` below the source directory without following a symbolic
 * link anywhere on the way: openat2 with RESOLVE_BENEATH and
 * RESOLVE_NO_SYMLINKS where the kernel has it (Linux 5.6), otherwise one
 * component at a time with O_NOFOLLOW. A link met is ELOOP (or ENOTDIR
 * for an intermediate one in the fallback).
 */
static int source_open_beneath(const struct source *s, const char *path,
			       int flags)
{
	int fd, dir, err;
	const char *p = path;

#ifdef SYS_openat2
	{
		struct open_how how;

		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)(flags | O_CLOEXEC);
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
		fd = (int)syscall(SYS_openat2, s->dirfd, path, &how,
				  sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return fd;
	}
#endif
	dir = dup(s->dirfd);
	if (dir < 0)
		return -1;
	for (;;) {
		size_t n = strcspn(p, "/");
		char comp[NAME_MAX + 1];

		if (n > NAME_MAX) {
			close(dir);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (p[n] == '\0') {
			fd = openat(dir, comp, flags | O_NOFOLLOW | O_CLOEXEC);
			err = errno;
			close(dir);
			errno = err;
			return fd;
		}
		fd = openat(dir, comp,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		err = errno;
		close(dir);
		if (fd < 0) {
			errno = err;
			return -1;
		}
		dir = fd;
		p += n + 1;
	}
}

/* After a failed open: whether a component of `path` is a symbolic link
 * (O_NOFOLLOW with O_DIRECTORY reports one as ENOTDIR). */
static bool source_has_link(const struct source *s, const char *path)
{
	char prefix[PATH_MAX];
	struct stat st;
	size_t n = strlen(path);

	if (n >= sizeof(prefix))
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		if (fstatat(s->dirfd, prefix, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			return true;
	}
	return false;
}

static int source_symlink(struct source *s, struct dbops_diag_list *diags,
			  const char *path)
{
	struct dbops_diag *d =
	    diag_add(diags, s->a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		     "\"%s\" is, or passes through, a symbolic link", path);

	d->detail = "dbops reads nothing outside the spec directory and "
		    "follows no symbolic link in it.";
	d->hint = "Copy the file into the directory instead of linking it.";
	return DBOPS_ERR_INVALID;
}

static int source_read_fd(struct source *s, struct dbops_diag_list *diags,
			  int fd, const char *path, struct strbuf *sb)
{
	char chunk[65536];
	ssize_t got;

	while ((got = read(fd, chunk, sizeof(chunk))) != 0) {
		if (got < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			return source_errno_diag(
			    s, diags, DBOPS_ERR_GENERIC, err,
			    "could not read file \"%s\"", path);
		}
		strbuf_add(sb, chunk, (size_t)got);
		if (sb->len > SOURCE_MAX_FILE)
			return source_too_large(s, diags, path, sb->len);
	}
	return 0;
}

static int source_read_dir(const char **data_out, size_t *len_out,
			   struct source *s, struct dbops_diag_list *diags,
			   const char *path)
{
	struct strbuf sb;
	struct stat st;
	int fd, err, rc;

	if (path[0] == '\0')
		return source_not_a_file(s, diags, "");
	/* no symbolic link anywhere on the way: one would read outside the
	 * directory, which git mode cannot do either */
	fd = source_open_beneath(s, path, O_RDONLY);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT ||
		    (err == ENOTDIR && !source_has_link(s, path)))
			return diag_add(diags, s->a, DBOPS_SEV_ERROR,
					DBOPS_ERR_NOTFOUND, NULL,
					"file %s does not exist in \"%s\"",
					diag_value(s->a, path), s->rev.origin)
			    ->code;
		if (err == ELOOP || err == EXDEV ||
		    (err == ENOTDIR && source_has_link(s, path)))
			return source_symlink(s, diags, path);
		return source_errno_diag(s, diags, DBOPS_ERR_GENERIC, err,
					 "could not open file \"%s\"", path);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return source_not_a_file(s, diags, path);
	}
	if ((unsigned long long)st.st_size > SOURCE_MAX_FILE) {
		close(fd);
		return source_too_large(s, diags, path,
					(unsigned long long)st.st_size);
	}
	strbuf_init(&sb);
	strbuf_puts(&sb, "");
	rc = source_read_fd(s, diags, fd, path, &sb);
	close(fd);
	if (rc == 0) {
		source_fp_add(s, path, sb.buf, sb.len);
		*len_out = sb.len;
		*data_out = arena_memdup(s->a, sb.buf, sb.len + 1);
	}
	strbuf_dispose(&sb);
	return rc;
}

static int source_collect_dir(struct name_vec *nv, struct source *s,
			      struct dbops_diag_list *diags, int fd,
			      const char *shown, const char *prefix,
			      bool recursive, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int err, rc = 0;

	d = fdopendir(fd);
	if (d == NULL) {
		err = errno;
		close(fd);
		return source_errno_diag(s, diags, DBOPS_ERR_GENERIC, err,
					 "could not read directory \"%s\"",
					 shown);
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		int sub;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			/* never followed, never silently left out */
			rc = source_symlink(
			    s, diags,
			    arena_printf(s->a, "%s/%s", shown, de->d_name));
			break;
		}
		if (S_ISREG(st.st_mode)) {
			name_vec_push(
			    nv, s->a,
			    arena_printf(s->a, "%s%s", prefix, de->d_name));
			continue;
		}
		if (!recursive || !S_ISDIR(st.st_mode) ||
		    depth >= SOURCE_MAX_DEPTH)
			continue;
		sub = openat(fd, de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		rc = source_collect_dir(
		    nv, s, diags, sub,
		    arena_printf(s->a, "%s/%s", shown, de->d_name),
		    arena_printf(s->a, "%s%s/", prefix, de->d_name), true,
		    depth + 1);
	}
	closedir(d);
	return rc;
}

static int source_list_dir(struct name_vec *nv, struct source *s,
			   struct dbops_diag_list *diags, const char *dir,
			   bool recursive)
{
	int fd, err;

	fd = dir[0] != '\0'
		 ? source_open_beneath(s, dir, O_RDONLY | O_DIRECTORY)
		 : openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ELOOP || err == EXDEV ||
		    (err == ENOTDIR && source_has_link(s, dir)))
			return source_symlink(s, diags, dir);
		if (err == ENOENT || err == ENOTDIR)
			return source_no_directory(s, diags, dir);
		return source_errno_diag(s, diags, DBOPS_ERR_GENERIC, err,
					 "could not open directory \"%s\"",
					 dir);
	}
	return source_collect_dir(nv, s, diags, fd, dir, "", recursive, 0);
}

/* ---- public ---------------------------------------------------------- */

int source_open(struct source **out, struct arena *a,
		struct dbops_diag_list *diags, const struct source_opts *opts)
{
	struct source *s = arena_alloc(a, sizeof(*s));
	int rc;

	*out = NULL;
	s->a = a;
	s->dirfd = -1;
	strbuf_init(&s->fp);
	if (opts->subdir != NULL && opts->subdir[0] != '\0' &&
	    (!source_clean_path(a, opts->subdir, &s->subdir) ||
	     s->subdir[0] == '\0'))
		s->subdir = NULL;
	if (opts->dir != NULL && (opts->repo != NULL || opts->rev != NULL)) {
		struct dbops_diag *d;

		d = diag_add(
		    diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		    "a directory source cannot have a repository or a revision");
		diag_hint(
		    d, a,
		    "Use either a directory or a repository and revision.");
		return DBOPS_ERR_INVALID;
	}
	if (opts->dir != NULL && opts->base != NULL) {
		struct dbops_diag *d =
		    diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			     "a base revision needs a repository source");
		diag_hint(d, a,
			  "Use --repo PATH with --lint-base REV, not --dir.");
		return DBOPS_ERR_INVALID;
	}
	if (opts->dir != NULL)
		rc = source_open_dir(s, diags, opts);
	else
		rc = source_open_git(s, diags, opts);
	if (rc < 0)
		return rc;
	*out = s;
	return 0;
}

int source_read(const char **data_out, size_t *len_out, struct source *s,
		struct dbops_diag_list *diags, const char *path)
{
	const char *clean;

	if (!source_path(s, path, &clean))
		return source_invalid_path(s, diags, path);
	if (s->repo != NULL)
		return source_read_git(data_out, len_out, s, diags, clean);
	return source_read_dir(data_out, len_out, s, diags, clean);
}

bool source_exists(struct source *s, const char *path)
{
	const char *clean;
	git_tree_entry *e = NULL;
	struct stat st;
	bool found;

	if (!source_path(s, path, &clean) || clean[0] == '\0')
		return false;
	if (s->repo == NULL) {
		if (fstatat(s->dirfd, clean, &st, AT_SYMLINK_NOFOLLOW) != 0)
			return false;
		return S_ISREG(st.st_mode);
	}
	if (git_tree_entry_bypath(&e, s->tree, clean) < 0) {
		git_error_clear();
		return false;
	}
	found = source_entry_is_file(e);
	git_tree_entry_free(e);
	return found;
}

int source_list(const char *const **names_out, size_t *n_out, struct source *s,
		struct dbops_diag_list *diags, const char *dir, bool recursive)
{
	struct name_vec nv = {0};
	const char *clean;
	int rc;

	if (!source_path(s, dir, &clean))
		return source_invalid_path(s, diags, dir);
	if (s->repo != NULL)
		rc = source_list_git(&nv, s, diags, clean, recursive);
	else
		rc = source_list_dir(&nv, s, diags, clean, recursive);
	if (rc < 0)
		return rc;
	*names_out = source_names_finish(s->a, nv.v, nv.n);
	*n_out = nv.n;
	return 0;
}

const struct source_revision *source_revision(const struct source *s)
{
	return &s->rev;
}

const char *source_fingerprint(struct source *s)
{
	if (s->repo != NULL)
		return s->rev.commit;
	return blobid_hex(s->a, s->fp.len > 0 ? s->fp.buf : "", s->fp.len);
}

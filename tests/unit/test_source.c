/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_source.c — the spec source against real repositories: each test
 * builds what it needs in a mkdtemp directory with the git command line
 * (no user configuration needed), opens it through source_open and
 * removes the directory afterwards. Remote behaviour is checked with a
 * file:// URL and a private cache directory; nothing touches the network
 * except connections to a closed local port.
 */
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "diag.h"
#include "source.h"

#define T_MAX_ARGS 24

struct fixture {
	char root[64];
	char work[128];
	struct arena *a;
	struct dbops_diag_list diags;
};

static void child_env(void)
{
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("GIT_TERMINAL_PROMPT", "0", 1);
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_INDEX_FILE");
	unsetenv("GIT_OBJECT_DIRECTORY");
}

/* Run argv; stdout into out (when not NULL), stderr discarded. */
static bool run(char *out, size_t outsz, char *const argv[])
{
	int pipefd[2] = {-1, -1};
	size_t used = 0;
	int status;
	pid_t pid;

	if (out != NULL && pipe(pipefd) != 0)
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		child_env();
		dup2(out != NULL ? pipefd[1] : null, 1);
		dup2(null, 2);
		if (out != NULL) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (out != NULL) {
		ssize_t got;

		close(pipefd[1]);
		while (used + 1 < outsz &&
		       (got = read(pipefd[0], out + used, outsz - used - 1)) !=
			   0) {
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				break;
			used += (size_t)got;
		}
		out[used] = '\0';
		while (used > 0 && out[used - 1] == '\n')
			out[--used] = '\0';
		close(pipefd[0]);
	}
	if (waitpid(pid, &status, 0) < 0)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* git -C dir ARGS... NULL, with an identity and no user configuration. */
static bool git_out(char *out, size_t outsz, const char *dir, ...)
{
	const char *argv[T_MAX_ARGS] = {"git",
					"-C",
					dir,
					"-c",
					"user.name=Test Author",
					"-c",
					"user.email=test@example.com",
					"-c",
					"commit.gpgsign=false",
					"-c",
					"tag.gpgsign=false"};
	int n = 11;
	const char *arg;
	va_list ap;

	va_start(ap, dir);
	while ((arg = va_arg(ap, const char *)) != NULL && n < T_MAX_ARGS - 1)
		argv[n++] = arg;
	va_end(ap);
	argv[n] = NULL;
	return run(out, outsz, (char *const *)(void *)argv);
}

#define git(...) git_out(NULL, 0, __VA_ARGS__, (const char *)NULL)

static bool write_file(const char *dir, const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "wb");
	if (f == NULL)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static bool make_dir(const char *dir, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return mkdir(path, 0755) == 0;
}

/* Write one file of the work tree and commit everything. */
static bool commit_file(struct fixture *f, const char *rel, const char *text,
			const char *msg)
{
	return write_file(f->work, rel, text) && git(f->work, "add", "-A") &&
	       git(f->work, "commit", "-q", "-m", msg);
}

static bool rev_parse(const char *dir, const char *rev, char out[64])
{
	return git_out(out, 64, dir, "rev-parse", rev, (const char *)NULL);
}

/* `git hash-object --stdin` of text, written to out */
static bool hash_text(char *out, size_t outsz, const char *text)
{
	char path[PATH_MAX];
	char *argv[] = {"git", "hash-object", path, NULL};
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/dbops-source-hash-%ld",
		 (long)getpid());
	f = fopen(path, "wb");
	if (f == NULL)
		return false;
	fputs(text, f);
	fclose(f);
	if (!run(out, outsz, argv))
		out[0] = '\0';
	unlink(path);
	return strlen(out) == 40;
}

static bool fixture_begin(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/dbops-source-XXXXXX");
	if (mkdtemp(f->root) == NULL) {
		f->root[0] = '\0';
		t_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
		return false;
	}
	snprintf(f->work, sizeof(f->work), "%s/work", f->root);
	f->a = arena_new();
	if (!git(f->root, "init", "-q", "-b", "main", "work")) {
		t_fail(__FILE__, __LINE__, "git init failed");
		return false;
	}
	return true;
}

static void fixture_end(struct fixture *f)
{
	char *argv[] = {"rm", "-rf", f->root, NULL};

	/* on failure, show what the source said */
	for (const struct dbops_diag *d = f->diags.head; t_failed() && d;
	     d = d->next)
		printf("#   %s%s%s%s%s\n", d->message,
		       d->detail ? "\n#     DETAIL: " : "",
		       d->detail ? d->detail : "",
		       d->hint ? "\n#     HINT: " : "", d->hint ? d->hint : "");
	arena_free(f->a);
	f->a = NULL;
	if (f->root[0] != '\0')
		(void)run(NULL, 0, argv);
}

/* Open the work repository at rev (NULL: HEAD). */
static int open_work(struct source **s, struct fixture *f, const char *rev)
{
	struct source_opts o = {.repo = f->work, .rev = rev};

	return source_open(s, f->a, &f->diags, &o);
}

static int open_dir(struct source **s, struct fixture *f, const char *dir)
{
	struct source_opts o = {.dir = dir};

	return source_open(s, f->a, &f->diags, &o);
}

static const char *read_text(struct source *s, struct fixture *f,
			     const char *path)
{
	const char *data = NULL;
	size_t len = 0;

	if (source_read(&data, &len, s, &f->diags, path) != 0)
		return NULL;
	if (strlen(data) != len)
		return "(length mismatch)";
	return data;
}

static const char *last_message(struct fixture *f)
{
	return f->diags.tail != NULL ? f->diags.tail->message : NULL;
}

/* Run a check body between fixture_begin and fixture_end. */
#define WITH_FIXTURE(check)                                                    \
	do {                                                                   \
		struct fixture f_;                                             \
		if (fixture_begin(&f_))                                        \
			check(&f_);                                            \
		fixture_end(&f_);                                              \
	} while (0)

/* ---- git mode ---------------------------------------------------------- */

static void check_reads_file_at_head(struct fixture *f)
{
	struct source *s = NULL;

	T_ASSERT(make_dir(f->work, "clusters"));
	T_ASSERT(commit_file(f, "clusters/prod.yaml", "cluster: prod\n",
			     "add prod"));
	T_ASSERT_INT(open_work(&s, f, NULL), 0);
	T_ASSERT_STR(read_text(s, f, "clusters/prod.yaml"), "cluster: prod\n");
	T_ASSERT_STR(read_text(s, f, "./clusters//prod.yaml"),
		     "cluster: prod\n");
	T_ASSERT(source_exists(s, "clusters/prod.yaml"));
	T_ASSERT(!source_exists(s, "clusters/none.yaml"));
	T_ASSERT(!source_exists(s, "clusters"));
	T_ASSERT_INT(f->diags.nerrors, 0);
}

TEST(test_source__reads_file_at_head)
{
	WITH_FIXTURE(check_reads_file_at_head);
}

static void check_each_revision(struct fixture *f)
{
	char first[64], second[64];
	struct source *s = NULL;

	T_ASSERT(commit_file(f, "a.yaml", "version: 1\n", "first"));
	T_ASSERT(git(f->work, "tag", "-a", "v1", "-m", "release 1"));
	T_ASSERT(rev_parse(f->work, "HEAD", first));
	T_ASSERT(commit_file(f, "a.yaml", "version: 2\n", "second"));
	T_ASSERT(rev_parse(f->work, "HEAD", second));

	T_ASSERT_INT(open_work(&s, f, first), 0);
	T_ASSERT_STR(read_text(s, f, "a.yaml"), "version: 1\n");
	T_ASSERT_STR(source_revision(s)->commit, first);

	T_ASSERT_INT(open_work(&s, f, second), 0);
	T_ASSERT_STR(read_text(s, f, "a.yaml"), "version: 2\n");

	/* an annotated tag is peeled to its commit */
	T_ASSERT_INT(open_work(&s, f, "v1"), 0);
	T_ASSERT_STR(read_text(s, f, "a.yaml"), "version: 1\n");
	T_ASSERT_STR(source_revision(s)->commit, first);
	T_ASSERT_STR(source_revision(s)->ref, "v1");

	T_ASSERT_INT(open_work(&s, f, "main"), 0);
	T_ASSERT_STR(read_text(s, f, "a.yaml"), "version: 2\n");
	T_ASSERT_STR(source_revision(s)->commit, second);

	T_ASSERT_INT(open_work(&s, f, "main~1"), 0);
	T_ASSERT_STR(read_text(s, f, "a.yaml"), "version: 1\n");
}

TEST(test_source__reads_each_revision_by_commit_and_ref)
{
	WITH_FIXTURE(check_each_revision);
}

static void check_uncommitted(struct fixture *f)
{
	struct source *s = NULL;

	T_ASSERT(commit_file(f, "a.yaml", "committed\n", "add a"));
	T_ASSERT(write_file(f->work, "a.yaml", "edited\n"));
	T_ASSERT(write_file(f->work, "new.yaml", "untracked\n"));
	T_ASSERT(git(f->work, "add", "new.yaml")); /* staged, not committed */
	T_ASSERT_INT(open_work(&s, f, NULL), 0);
	T_ASSERT_STR(read_text(s, f, "a.yaml"), "committed\n");
	T_ASSERT(!source_exists(s, "new.yaml"));
}

TEST(test_source__ignores_uncommitted_work_tree_edits)
{
	WITH_FIXTURE(check_uncommitted);
}

static void check_revision_info(struct fixture *f)
{
	char head[64];
	struct source *s = NULL;
	const struct source_revision *r;

	T_ASSERT(commit_file(f, "a.yaml", "x: 1\n",
			     "add cluster prod\n\nLonger body text.\n"));
	T_ASSERT(rev_parse(f->work, "HEAD", head));
	T_ASSERT_INT(open_work(&s, f, NULL), 0);
	r = source_revision(s);
	T_ASSERT_STR(r->kind, "git");
	T_ASSERT_STR(r->origin, f->work);
	T_ASSERT_STR(r->commit, head);
	T_ASSERT_INT(strlen(r->commit), 40);
	T_ASSERT_STR(r->ref, "HEAD");
	T_ASSERT_STR(r->subject, "add cluster prod");
	T_ASSERT_STR(r->author, "Test Author <test@example.com>");
	T_ASSERT_STR(source_fingerprint(s), head);
}

TEST(test_source__revision_has_commit_subject_and_author)
{
	WITH_FIXTURE(check_revision_info);
}

static void check_bare(struct fixture *f)
{
	char bare[PATH_MAX];
	struct source_opts o = {0};
	struct source *s = NULL;

	T_ASSERT(commit_file(f, "a.yaml", "bare: true\n", "add a"));
	T_ASSERT(git(f->root, "clone", "-q", "--bare", "work", "bare.git"));
	snprintf(bare, sizeof(bare), "%s/bare.git", f->root);
	o.repo = bare;
	T_ASSERT_INT(source_open(&s, f->a, &f->diags, &o), 0);
	T_ASSERT_STR(read_text(s, f, "a.yaml"), "bare: true\n");
}

TEST(test_source__reads_a_bare_repository)
{
	WITH_FIXTURE(check_bare);
}

static void check_missing_file(struct fixture *f)
{
	char head[64], want[128];
	const char *data = NULL;
	size_t len = 0;
	struct source *s = NULL;

	T_ASSERT(commit_file(f, "a.yaml", "x\n", "add a"));
	T_ASSERT(rev_parse(f->work, "HEAD", head));
	T_ASSERT_INT(open_work(&s, f, NULL), 0);
	T_ASSERT_INT(source_read(&data, &len, s, &f->diags, "clusters/b.yaml"),
		     DBOPS_ERR_NOTFOUND);
	snprintf(want, sizeof(want),
		 "file \"clusters/b.yaml\" does not exist at revision %.7s",
		 head);
	T_ASSERT_STR(last_message(f), want);
	T_ASSERT_INT(f->diags.tail->code, DBOPS_ERR_NOTFOUND);
	T_ASSERT_INT(f->diags.nerrors, 1);
}

TEST(test_source__missing_file_names_path_and_revision)
{
	WITH_FIXTURE(check_missing_file);
}

static void check_not_a_file(struct fixture *f)
{
	const char *data = NULL;
	size_t len = 0;
	struct source *s = NULL;

	T_ASSERT(make_dir(f->work, "clusters"));
	T_ASSERT(write_file(f->work, "clusters/a.yaml", "x\n"));
	T_ASSERT(commit_file(f, "b.yaml", "y\n", "add"));
	T_ASSERT_INT(open_work(&s, f, NULL), 0);
	T_ASSERT_INT(source_read(&data, &len, s, &f->diags, "clusters"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(last_message(f), "\"clusters\" is not a file");
}

static void check_symlink_not_a_file(struct fixture *f)
{
	char link[PATH_MAX];
	const char *data = NULL;
	size_t len = 0;
	struct source *s = NULL;

	snprintf(link, sizeof(link), "%s/link.yaml", f->work);
	T_ASSERT(symlink("a.yaml", link) == 0);
	T_ASSERT(commit_file(f, "a.yaml", "x\n", "add"));
	T_ASSERT_INT(open_work(&s, f, NULL), 0);
	T_ASSERT_INT(source_read(&data, &len, s, &f->diags, "link.yaml"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(last_message(f), "\"link.yaml\" is not a file");
	T_ASSERT(!source_exists(s, "link.yaml"));
	{
		/* listed, it is refused rather than silently left out */
		const char *const *names = NULL;
		size_t n = 0;

		T_ASSERT_INT(source_list(&names, &n, s, &f->diags, "", false),
			     DBOPS_ERR_INVALID);
		T_ASSERT_STR(last_message(f), "\"link.yaml\" is, or passes "
					      "through, a symbolic link");
	}

	/* the same in directory mode */
	T_ASSERT_INT(open_dir(&s, f, f->work), 0);
	T_ASSERT_INT(source_read(&data, &len, s, &f->diags, "link.yaml"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(last_message(f),
		     "\"link.yaml\" is, or passes through, a symbolic link");
	T_ASSERT(!source_exists(s, "link.yaml"));
}

TEST(test_source__directory_is_not_a_file)
{
	WITH_FIXTURE(check_not_a_file);
}

TEST(test_source__symbolic_link_is_not_a_file)
{
	WITH_FIXTURE(check_symlink_not_a_file);
}

static void check_bad_rev(struct fixture *f)
{
	char want[PATH_MAX + 64];
	struct source *s = NULL;

	T_ASSERT(commit_file(f, "a.yaml", "x\n", "add a"));
	T_ASSERT_INT(open_work(&s, f, "no-such-branch"), DBOPS_ERR_NOTFOUND);
	T_ASSERT(s == NULL);
	snprintf(
	    want, sizeof(want),
	    "could not resolve revision \"no-such-branch\" in repository \"%s\"",
	    f->work);
	T_ASSERT_STR(last_message(f), want);
	T_ASSERT(f->diags.tail->detail != NULL);
	T_ASSERT_STR(f->diags.tail->hint,
		     "Check the branch, tag or commit name.");
}

TEST(test_source__bad_revision_is_not_found)
{
	WITH_FIXTURE(check_bad_rev);
}

static void check_empty_repository(struct fixture *f)
{
	struct source *s = NULL;

	T_ASSERT_INT(open_work(&s, f, NULL), DBOPS_ERR_NOTFOUND);
	T_ASSERT_CONTAINS(last_message(f),
			  "could not resolve revision \"HEAD\"");
	T_ASSERT_STR(f->diags.tail->hint, "The repository has no commits yet.");
}

TEST(test_source__empty_repository_has_no_head)
{
	WITH_FIXTURE(check_empty_repository);
}

static void check_missing_repository(struct fixture *f)
{
	char path[PATH_MAX], want[PATH_MAX + 64];
	struct source_opts o = {0};
	struct source *s = NULL;

	snprintf(path, sizeof(path), "%s/nothing-here", f->root);
	o.repo = path;
	T_ASSERT_INT(source_open(&s, f->a, &f->diags, &o), DBOPS_ERR_NOTFOUND);
	snprintf(want, sizeof(want), "could not open repository \"%s\"", path);
	T_ASSERT_STR(last_message(f), want);
	T_ASSERT(f->diags.tail->detail != NULL);
	/* a sentence: capital first letter, final period */
	T_ASSERT(f->diags.tail->detail[0] >= 'A' &&
		 f->diags.tail->detail[0] <= 'Z');
	T_ASSERT(f->diags.tail->detail[strlen(f->diags.tail->detail) - 1] ==
		 '.');
}

TEST(test_source__missing_repository_is_not_found)
{
	WITH_FIXTURE(check_missing_repository);
}

static void check_paths_refused(struct fixture *f)
{
	static const char *const bad[] = {"../a.yaml", "x/../a.yaml", "..",
					  "/etc/passwd", "x/.."};
	const char *const *names = NULL;
	const char *data = NULL;
	size_t len = 0, n = 0;
	struct source *s = NULL;
	char want[64];

	T_ASSERT(commit_file(f, "a.yaml", "x\n", "add a"));
	T_ASSERT_INT(open_work(&s, f, NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_ASSERT_INT(source_read(&data, &len, s, &f->diags, bad[i]),
			     DBOPS_ERR_INVALID);
		snprintf(want, sizeof(want), "invalid path \"%s\"", bad[i]);
		T_ASSERT_STR(last_message(f), want);
		T_ASSERT(!source_exists(s, bad[i]));
	}
	T_ASSERT_INT(source_list(&names, &n, s, &f->diags, "..", false),
		     DBOPS_ERR_INVALID);
	/* a name that merely starts with dots is fine */
	T_ASSERT(commit_file(f, "..a.yaml", "dots\n", "add dots"));
	T_ASSERT_INT(open_work(&s, f, NULL), 0);
	T_ASSERT_STR(read_text(s, f, "..a.yaml"), "dots\n");

	/* and directory mode refuses the same */
	T_ASSERT_INT(open_dir(&s, f, f->work), 0);
	T_ASSERT_INT(source_read(&data, &len, s, &f->diags, "../work/a.yaml"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(source_read(&data, &len, s, &f->diags, "/etc/passwd"),
		     DBOPS_ERR_INVALID);
}

TEST(test_source__refuses_dotdot_and_absolute_paths)
{
	WITH_FIXTURE(check_paths_refused);
}

static void check_list_git(struct fixture *f)
{
	const char *const *names = NULL;
	size_t n = 99;
	struct source *s = NULL;

	T_ASSERT(make_dir(f->work, "c"));
	T_ASSERT(make_dir(f->work, "c/sub"));
	T_ASSERT(write_file(f->work, "c/b.yaml", "b\n"));
	T_ASSERT(write_file(f->work, "c/a.yaml", "a\n"));
	T_ASSERT(write_file(f->work, "c/C.yaml", "C\n"));
	T_ASSERT(write_file(f->work, "c/sub/x.yaml", "x\n"));
	T_ASSERT(commit_file(f, "top.yaml", "t\n", "tree"));
	T_ASSERT_INT(open_work(&s, f, NULL), 0);
	T_ASSERT_INT(source_list(&names, &n, s, &f->diags, "c", false), 0);
	T_ASSERT_INT(n, 3);
	T_ASSERT_STR(names[0], "C.yaml");
	T_ASSERT_STR(names[1], "a.yaml");
	T_ASSERT_STR(names[2], "b.yaml");
	T_ASSERT(names[3] == NULL);

	T_ASSERT_INT(source_list(&names, &n, s, &f->diags, "", false), 0);
	T_ASSERT_INT(n, 1);
	T_ASSERT_STR(names[0], "top.yaml");

	T_ASSERT_INT(source_list(&names, &n, s, &f->diags, "c/none", false),
		     DBOPS_ERR_NOTFOUND);
	T_ASSERT_CONTAINS(last_message(f),
			  "directory \"c/none\" does not exist at revision ");
	T_ASSERT_INT(source_list(&names, &n, s, &f->diags, "top.yaml", false),
		     DBOPS_ERR_NOTFOUND);
}

TEST(test_source__list_gives_sorted_file_names)
{
	WITH_FIXTURE(check_list_git);
}

static void check_too_large(struct fixture *f)
{
	char path[PATH_MAX];
	const char *data = NULL;
	size_t len = 0;
	struct source *s = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/big.yaml", f->work);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	T_ASSERT(fd >= 0);
	T_ASSERT(ftruncate(fd, (off_t)SOURCE_MAX_FILE + 1) == 0);
	close(fd);
	T_ASSERT_INT(open_dir(&s, f, f->work), 0);
	T_ASSERT_INT(source_read(&data, &len, s, &f->diags, "big.yaml"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(last_message(f), "file \"big.yaml\" is too large");
}

TEST(test_source__refuses_files_over_the_limit)
{
	WITH_FIXTURE(check_too_large);
}

/* ---- directory mode ---------------------------------------------------- */

static void check_dir_reads(struct fixture *f)
{
	struct source *s = NULL;
	const struct source_revision *r;

	T_ASSERT(commit_file(f, "a.yaml", "committed\n", "add a"));
	T_ASSERT(write_file(f->work, "a.yaml", "edited\n"));
	T_ASSERT(write_file(f->work, "new.yaml", "untracked\n"));
	T_ASSERT_INT(open_dir(&s, f, f->work), 0);
	T_ASSERT_STR(read_text(s, f, "a.yaml"), "edited\n");
	T_ASSERT_STR(read_text(s, f, "new.yaml"), "untracked\n");
	T_ASSERT(source_exists(s, "new.yaml"));
	T_ASSERT(!source_exists(s, "none.yaml"));
	r = source_revision(s);
	T_ASSERT_STR(r->kind, "dir");
	T_ASSERT_STR(r->origin, f->work);
	T_ASSERT(r->commit == NULL);
	T_ASSERT(r->subject == NULL);
}

TEST(test_source__dir_mode_reads_uncommitted_files)
{
	WITH_FIXTURE(check_dir_reads);
}

static void check_dir_missing(struct fixture *f)
{
	char path[PATH_MAX];
	const char *data = NULL;
	size_t len = 0;
	struct source *s = NULL;

	T_ASSERT_INT(open_dir(&s, f, f->work), 0);
	T_ASSERT_INT(source_read(&data, &len, s, &f->diags, "none.yaml"),
		     DBOPS_ERR_NOTFOUND);
	T_ASSERT_CONTAINS(last_message(f), "file \"none.yaml\" does not exist");
	snprintf(path, sizeof(path), "%s/none", f->root);
	T_ASSERT_INT(open_dir(&s, f, path), DBOPS_ERR_NOTFOUND);
	T_ASSERT_CONTAINS(last_message(f), "could not open directory");
}

TEST(test_source__dir_mode_missing_file_and_directory)
{
	WITH_FIXTURE(check_dir_missing);
}

static const char *dir_fingerprint(struct fixture *f, const char *text)
{
	struct source *s = NULL;

	if (!write_file(f->work, "a.yaml", text) || open_dir(&s, f, f->work) ||
	    read_text(s, f, "a.yaml") == NULL)
		return NULL;
	return source_fingerprint(s);
}

static void check_dir_fingerprint(struct fixture *f)
{
	const char *one, *again, *two, *none;
	struct source *s = NULL;

	one = dir_fingerprint(f, "shared_buffers: 1GB\n");
	again = dir_fingerprint(f, "shared_buffers: 1GB\n");
	two = dir_fingerprint(f, "shared_buffers: 2GB\n");
	T_ASSERT(one != NULL && again != NULL && two != NULL);
	T_ASSERT_INT(strlen(one), 40);
	T_ASSERT_STR(one, again);
	T_ASSERT(strcmp(one, two) != 0);

	/* it covers what was read, not merely what exists */
	T_ASSERT_INT(open_dir(&s, f, f->work), 0);
	none = source_fingerprint(s);
	T_ASSERT(strcmp(none, two) != 0);
	T_ASSERT(read_text(s, f, "a.yaml") != NULL);
	T_ASSERT_STR(source_fingerprint(s), two);
}

TEST(test_source__dir_fingerprint_follows_content)
{
	WITH_FIXTURE(check_dir_fingerprint);
}

static void check_list_dir(struct fixture *f)
{
	char link[PATH_MAX];
	const char *const *names = NULL;
	size_t n = 0;
	struct source *s = NULL;

	T_ASSERT(make_dir(f->work, "c"));
	T_ASSERT(make_dir(f->work, "c/sub"));
	T_ASSERT(write_file(f->work, "c/b.yaml", "b\n"));
	T_ASSERT(write_file(f->work, "c/a.yaml", "a\n"));
	T_ASSERT_INT(open_dir(&s, f, f->work), 0);
	T_ASSERT_INT(source_list(&names, &n, s, &f->diags, "c", false), 0);
	T_ASSERT_INT(n, 2);
	T_ASSERT_STR(names[0], "a.yaml");
	T_ASSERT_STR(names[1], "b.yaml");
	T_ASSERT(names[2] == NULL);
	T_ASSERT_INT(source_list(&names, &n, s, &f->diags, "nope", false),
		     DBOPS_ERR_NOTFOUND);
	/* a symbolic link in a listed directory is refused, not skipped */
	snprintf(link, sizeof(link), "%s/c/l.yaml", f->work);
	T_ASSERT(symlink("a.yaml", link) == 0);
	T_ASSERT_INT(source_list(&names, &n, s, &f->diags, "c", false),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(last_message(f),
		     "\"c/l.yaml\" is, or passes through, a symbolic link");
}

/* A directory reached through a symbolic link reads nothing outside the
 * spec directory, listed or read. */
static void check_dir_symlinked_directory(struct fixture *f)
{
	char outside[PATH_MAX], link[PATH_MAX];
	const char *const *names = NULL;
	const char *data = NULL;
	size_t n = 0, len = 0;
	struct source *s = NULL;

	snprintf(outside, sizeof(outside), "%s/../outside", f->work);
	T_ASSERT(mkdir(outside, 0755) == 0 || errno == EEXIST);
	T_ASSERT(write_file(outside, "V1__evil.sql", "DROP TABLE t;\n"));
	snprintf(link, sizeof(link), "%s/m", f->work);
	T_ASSERT(symlink(outside, link) == 0);
	T_ASSERT_INT(open_dir(&s, f, f->work), 0);
	T_ASSERT_INT(source_list(&names, &n, s, &f->diags, "m", true),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(last_message(f),
		     "\"m\" is, or passes through, a symbolic link");
	T_ASSERT_INT(source_read(&data, &len, s, &f->diags, "m/V1__evil.sql"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(
	    last_message(f),
	    "\"m/V1__evil.sql\" is, or passes through, a symbolic link");
}

TEST(test_source__dir_mode_follows_no_symbolic_link)
{
	WITH_FIXTURE(check_dir_symlinked_directory);
}

TEST(test_source__dir_mode_list_gives_regular_files)
{
	WITH_FIXTURE(check_list_dir);
}

static void check_dir_with_rev(struct fixture *f)
{
	struct source_opts o = {.dir = f->work, .rev = "main"};
	struct source *s = NULL;

	T_ASSERT_INT(source_open(&s, f->a, &f->diags, &o), DBOPS_ERR_INVALID);
	T_ASSERT(s == NULL);
}

TEST(test_source__dir_mode_refuses_a_revision)
{
	WITH_FIXTURE(check_dir_with_rev);
}

/* ---- remotes ----------------------------------------------------------- */

static int open_url(struct source **s, struct fixture *f, struct arena *a,
		    const char *url, const char *rev)
{
	char cache[PATH_MAX];
	struct source_opts o = {.repo = url, .rev = rev, .cache_dir = cache};

	snprintf(cache, sizeof(cache), "%s/cache", f->root);
	return source_open(s, a, &f->diags, &o);
}

static void check_clone_and_fetch(struct fixture *f)
{
	char url[PATH_MAX], cache[PATH_MAX], mirror[PATH_MAX], head[64];
	struct source *s = NULL, *first = NULL;
	struct stat st;

	T_ASSERT(commit_file(f, "a.yaml", "version: 1\n", "first"));
	T_ASSERT(git(f->work, "branch", "other"));
	T_ASSERT(git(f->root, "clone", "-q", "--bare", "work", "origin.git"));
	snprintf(url, sizeof(url), "file://%s/origin.git", f->root);

	T_ASSERT_INT(open_url(&first, f, f->a, url, NULL), 0);
	T_ASSERT_STR(read_text(first, f, "a.yaml"), "version: 1\n");
	T_ASSERT_STR(source_revision(first)->origin, url);
	/* a branch other than the default one is mirrored too */
	T_ASSERT_INT(open_url(&s, f, f->a, url, "other"), 0);

	snprintf(cache, sizeof(cache), "%s/cache", f->root);
	T_ASSERT(stat(cache, &st) == 0);
	T_ASSERT_INT(st.st_mode & 0777, 0700);
	/* the mirror is named by the git blob id of the URL */
	snprintf(mirror, sizeof(mirror), "%s/cache/repos/", f->root);
	T_ASSERT(hash_text(mirror + strlen(mirror),
			   sizeof(mirror) - strlen(mirror), url));
	T_ASSERT(stat(mirror, &st) == 0 && S_ISDIR(st.st_mode));
	strncat(mirror, "/HEAD", sizeof(mirror) - strlen(mirror) - 1);
	T_ASSERT(stat(mirror, &st) == 0);

	/* a new commit and tag pushed to the origin */
	T_ASSERT(commit_file(f, "a.yaml", "version: 2\n", "second"));
	T_ASSERT(git(f->work, "tag", "v2"));
	T_ASSERT(git(f->work, "push", "-q", "../origin.git", "main", "v2"));
	T_ASSERT(rev_parse(f->work, "HEAD", head));

	T_ASSERT_INT(open_url(&s, f, f->a, url, "main"), 0);
	T_ASSERT_STR(read_text(s, f, "a.yaml"), "version: 2\n");
	T_ASSERT_STR(source_revision(s)->commit, head);
	T_ASSERT_INT(open_url(&s, f, f->a, url, NULL), 0);
	T_ASSERT_STR(source_revision(s)->commit, head);
	T_ASSERT_INT(open_url(&s, f, f->a, url, "v2"), 0);
	T_ASSERT_STR(source_revision(s)->commit, head);

	/* a branch deleted at the origin goes from the mirror too */
	T_ASSERT(git(f->root, "--git-dir=origin.git", "branch", "-D", "other"));
	T_ASSERT_INT(open_url(&s, f, f->a, url, "other"), DBOPS_ERR_NOTFOUND);
	f->diags.head = f->diags.tail = NULL;
	f->diags.nerrors = 0;

	/* the first source still reads its own revision */
	T_ASSERT_STR(read_text(first, f, "a.yaml"), "version: 1\n");
	T_ASSERT_INT(f->diags.nerrors, 0);
}

TEST(test_source__clones_a_remote_then_fetches_new_commits)
{
	WITH_FIXTURE(check_clone_and_fetch);
}

static void check_missing_remote(struct fixture *f)
{
	char url[PATH_MAX], out[4096];
	struct source *s = NULL;

	snprintf(url, sizeof(url), "file://%s/none.git", f->root);
	T_ASSERT(open_url(&s, f, f->a, url, NULL) < 0);
	T_ASSERT_CONTAINS(last_message(f), "could not clone repository");
	/* no half-made mirror is left behind */
	snprintf(url, sizeof(url), "%s/cache/repos", f->root);
	T_ASSERT(run(out, sizeof(out), (char *const[]){"ls", url, NULL}));
	T_ASSERT(strstr(out, ".tmp") == NULL);
	T_ASSERT(strlen(out) == 40 + strlen(".lock"));
}

TEST(test_source__failed_clone_leaves_no_mirror)
{
	WITH_FIXTURE(check_missing_remote);
}

static void check_fetch_failure(struct fixture *f)
{
	char url[PATH_MAX], origin[PATH_MAX], want[PATH_MAX + 64];
	char *argv[] = {"rm", "-rf", origin, NULL};
	struct source *s = NULL;

	T_ASSERT(commit_file(f, "a.yaml", "x\n", "add a"));
	T_ASSERT(git(f->root, "clone", "-q", "--bare", "work", "origin.git"));
	snprintf(origin, sizeof(origin), "%s/origin.git", f->root);
	snprintf(url, sizeof(url), "file://%s/origin.git", f->root);
	T_ASSERT_INT(open_url(&s, f, f->a, url, NULL), 0);
	T_ASSERT(run(NULL, 0, argv));
	/* a mirror that cannot be refreshed is an error, not stale data */
	T_ASSERT(open_url(&s, f, f->a, url, NULL) < 0);
	snprintf(want, sizeof(want), "could not fetch repository \"%s\"", url);
	T_ASSERT_STR(last_message(f), want);
	T_ASSERT(f->diags.tail->detail != NULL);
}

TEST(test_source__unreachable_mirror_origin_is_an_error)
{
	WITH_FIXTURE(check_fetch_failure);
}

static void check_cache_from_environment(struct fixture *f)
{
	char url[PATH_MAX], cache[PATH_MAX], out[4096];
	char *saved = getenv("DBOPS_CACHE_DIR");
	struct source_opts o = {0};
	struct source *s = NULL;
	int rc;

	if (saved != NULL)
		saved = strdup(saved);
	T_ASSERT(commit_file(f, "a.yaml", "x\n", "add a"));
	T_ASSERT(git(f->root, "clone", "-q", "--bare", "work", "origin.git"));
	snprintf(url, sizeof(url), "file://%s/origin.git", f->root);
	snprintf(cache, sizeof(cache), "%s/env-cache/nested", f->root);
	setenv("DBOPS_CACHE_DIR", cache, 1);
	o.repo = url;
	rc = source_open(&s, f->a, &f->diags, &o);
	if (saved != NULL)
		setenv("DBOPS_CACHE_DIR", saved, 1);
	else
		unsetenv("DBOPS_CACHE_DIR");
	free(saved);
	T_ASSERT_INT(rc, 0);
	strncat(cache, "/repos", sizeof(cache) - strlen(cache) - 1);
	T_ASSERT(run(out, sizeof(out), (char *const[]){"ls", cache, NULL}));
	T_ASSERT_CONTAINS(out, ".lock");
}

TEST(test_source__cache_dir_from_the_environment)
{
	WITH_FIXTURE(check_cache_from_environment);
}

static bool diags_mention(struct fixture *f, const char *word)
{
	for (const struct dbops_diag *d = f->diags.head; d != NULL; d = d->next)
		if (strstr(d->message, word) != NULL ||
		    (d->detail != NULL && strstr(d->detail, word) != NULL) ||
		    (d->hint != NULL && strstr(d->hint, word) != NULL))
			return true;
	return false;
}

static void check_redaction(struct fixture *f)
{
	struct source *s = NULL;

	/* port 1 on loopback is closed: the clone fails at once */
	T_ASSERT(open_url(&s, f, f->a, "http://alice:s3cr3t@127.0.0.1:1/r.git",
			  NULL) < 0);
	T_ASSERT_STR(
	    last_message(f),
	    "could not clone repository \"http://alice:***@127.0.0.1:1/r.git\"");
	T_ASSERT(!diags_mention(f, "s3cr3t"));

	/* an http user name alone is often a token */
	T_ASSERT(open_url(&s, f, f->a, "https://t0ken99@127.0.0.1:1/r.git",
			  NULL) < 0);
	T_ASSERT_STR(
	    last_message(f),
	    "could not clone repository \"https://***@127.0.0.1:1/r.git\"");
	T_ASSERT(!diags_mention(f, "t0ken99"));

	/* an ssh user is kept; there is nothing to hide */
	T_ASSERT(open_url(&s, f, f->a, "ssh://git@127.0.0.1:1/r.git", NULL) <
		 0);
	T_ASSERT_STR(
	    last_message(f),
	    "could not clone repository \"ssh://git@127.0.0.1:1/r.git\"");
}

TEST(test_source__redacts_url_passwords)
{
	WITH_FIXTURE(check_redaction);
}

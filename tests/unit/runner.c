/* SPDX-License-Identifier: PostgreSQL */
/*
 * runner.c — runs the registered unit tests in name order, TAP output, and
 * the closing line "N passed, N failed". Exit status 1 when any failed.
 */
#include "t.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct t_case *cases;
static bool current_failed;
static char srcdir[PATH_MAX / 2];
static char builddir[PATH_MAX];

void t_register(struct t_case *c)
{
	c->next = cases;
	cases = c;
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	current_failed = true;
	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

bool t_failed(void)
{
	return current_failed;
}

const char *t_path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *b = buf[next++ % 4];

	if (snprintf(b, PATH_MAX, "%s/%s", srcdir, rel) >= PATH_MAX)
		b[0] = '\0';
	return b;
}

const char *t_build(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *b = buf[next++ % 4];

	if (snprintf(b, PATH_MAX, "%s%s%s", builddir, rel[0] ? "/" : "", rel) >=
	    PATH_MAX)
		b[0] = '\0';
	return b;
}

/* The build directory is the runner's own: <build>/tests/unit-runner.
 * Falls back to <srcdir>/build. */
static void find_builddir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	snprintf(builddir, sizeof(builddir), "%s/build", srcdir);
	if (n <= 0)
		return;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) {
		slash = strrchr(exe, '/');
		if (slash == NULL)
			return;
		*slash = '\0';
	}
	if (strlen(exe) < sizeof(builddir))
		snprintf(builddir, sizeof(builddir), "%s", exe);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

bool t_golden(const char *file, int line, const char *name, const char *actual)
{
	char path[PATH_MAX];
	char *expected;
	const char *update = getenv("DBOPS_UPDATE_GOLDEN");
	bool same;

	if (strlen(name) > PATH_MAX / 4) {
		t_fail(file, line, "golden name too long");
		return false;
	}
	snprintf(path, sizeof(path), "%s/tests/golden/%.*s", srcdir,
		 PATH_MAX / 4, name);
	if (update != NULL && strcmp(update, "1") == 0) {
		FILE *f = fopen(path, "wb");

		if (f == NULL) {
			t_fail(file, line, "could not write golden file %s",
			       path);
			return false;
		}
		fputs(actual, f);
		fclose(f);
		return true;
	}
	expected = slurp(path);
	if (expected == NULL) {
		t_fail(file, line,
		       "golden file %s is missing (DBOPS_UPDATE_GOLDEN=1 "
		       "writes it)",
		       path);
		return false;
	}
	same = strcmp(expected, actual) == 0;
	if (!same)
		t_fail(file, line,
		       "output differs from golden %s\n--- expected\n%s--- "
		       "got\n%s---",
		       name, expected, actual);
	free(expected);
	return same;
}

static int cmp_case(const void *a, const void *b)
{
	const struct t_case *ca = *(struct t_case *const *)a;
	const struct t_case *cb = *(struct t_case *const *)b;

	return strcmp(ca->name, cb->name);
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc <= 1)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]) != NULL)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	size_t n = 0, i = 0;
	struct t_case **all;
	int passed = 0, failed = 0, num = 0;
	const char *env = getenv("DBOPS_SRCDIR");

	if (env != NULL)
		snprintf(srcdir, sizeof(srcdir), "%s", env);
	else if (getcwd(srcdir, sizeof(srcdir)) == NULL)
		snprintf(srcdir, sizeof(srcdir), ".");
	find_builddir();
	for (struct t_case *c = cases; c != NULL; c = c->next)
		n++;
	all = calloc(n ? n : 1, sizeof(*all));
	if (all == NULL)
		return 1;
	for (struct t_case *c = cases; c != NULL; c = c->next)
		all[i++] = c;
	qsort(all, n, sizeof(*all), cmp_case);
	for (i = 0; i < n; i++) {
		if (!selected(all[i]->name, argc, argv))
			continue;
		current_failed = false;
		all[i]->fn();
		num++;
		fflush(stdout);
		if (current_failed) {
			failed++;
			printf("not ok %d - %s\n", num, all[i]->name);
		} else {
			passed++;
			printf("ok %d - %s\n", num, all[i]->name);
		}
		fflush(stdout);
	}
	printf("1..%d\n", num);
	printf("%d passed, %d failed\n", passed, failed);
	free(all);
	return failed ? 1 : 0;
}

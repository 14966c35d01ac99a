/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_loader.c — the plugin loader: one test per refusal (return code and
 * the exact message, against a golden file), a good load, the search path,
 * shadowing across directories, ordering by phase, `after` and name, and
 * the frozen layout of the ABI header. The fixture plugins are built from
 * tests/fixtures/plugins/ into <build>/tests/plugins/ (<build> is the
 * runner's own build directory: build/, build-asan/); directory tests link
 * them into temporary directories under <build>/tests/tmp. Paths in golden
 * files are written as @BUILD@ (the build directory) and @TMP@ (the test's
 * temporary directory).
 */
#include "t.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "diag.h"
#include "loader.h"
#include "strbuf.h"

struct lt {
	struct arena *a;
	struct registry reg;
	struct dbops_diag_list diags;
	char tmp[PATH_MAX]; /* a temporary directory, or "" */
};

static void lt_begin(struct lt *t)
{
	memset(t, 0, sizeof(*t));
	t->a = arena_new();
}

/* Remove a directory tree made by a test (files and symlinks only). */
static void remove_tree(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;

	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		char path[PATH_MAX];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
	}
	closedir(dp);
	rmdir(dir);
}

static void lt_end(struct lt *t)
{
	loader_close(&t->reg);
	arena_free(t->a);
	if (t->tmp[0] != '\0')
		remove_tree(t->tmp);
}

/* A fresh directory under <build>/tests/tmp (so that a failed test,
 * which returns before its cleanup, leaves nothing outside the build
 * tree). */
static bool lt_mktemp(struct lt *t)
{
	const char *base = t_build("tests/tmp");

	if (mkdir(base, 0700) != 0 && errno != EEXIST)
		return false;
	snprintf(t->tmp, sizeof(t->tmp), "%s/loader-XXXXXX", base);
	if (mkdtemp(t->tmp) == NULL) {
		t->tmp[0] = '\0';
		return false;
	}
	return true;
}

/* <tmp>/<rel>, in the test's arena. */
static const char *lt_tmp(struct lt *t, const char *rel)
{
	return arena_printf(t->a, "%s/%s", t->tmp, rel);
}

static bool lt_mkdir(struct lt *t, const char *rel)
{
	return mkdir(lt_tmp(t, rel), 0700) == 0;
}

static const char *fixture(const char *stem)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *b = buf[next++ % 4];
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "tests/plugins/dbops_%s.so", stem);
	snprintf(b, PATH_MAX, "%s", t_build(rel));
	return b;
}

/* Link fixture dbops_<stem>.so as <tmp>/<dir>/dbops_<stem>.so. */
static bool lt_link(struct lt *t, const char *dir, const char *stem)
{
	const char *to =
	    arena_printf(t->a, "%s/%s/dbops_%s.so", t->tmp, dir, stem);

	return symlink(fixture(stem), to) == 0;
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (f == NULL)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static void replace_all(struct strbuf *out, const char *text, const char *from,
			const char *to)
{
	size_t flen = strlen(from);
	const char *p;

	strbuf_reset(out);
	if (flen == 0) {
		strbuf_puts(out, text);
		return;
	}
	while ((p = strstr(text, from)) != NULL) {
		strbuf_add(out, text, (size_t)(p - text));
		strbuf_puts(out, to);
		text = p + flen;
	}
	strbuf_puts(out, text);
}

/* The diagnostics as diag_print writes them, with portable paths. */
static const char *lt_text(struct lt *t)
{
	char *raw = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&raw, &len);
	struct strbuf a, b;

	if (f == NULL)
		return "(open_memstream failed)";
	diag_print_list(f, &t->diags);
	fclose(f);
	strbuf_init(&a);
	strbuf_init(&b);
	replace_all(&a, raw, t->tmp, "@TMP@");
	replace_all(&b, a.buf, t_build(""), "@BUILD@");
	free(raw);
	strbuf_dispose(&a);
	return strbuf_finish(&b, t->a);
}

/* Whether the file is still mapped into the process. */
static bool still_loaded(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);

	if (h == NULL)
		return false;
	dlclose(h);
	return true;
}

/*
 * Load one fixture and check that it is refused with `code`, leaves
 * nothing in the registry nor mapped, and reports exactly the golden
 * message.
 */
static void check_refusal(const char *stem, int code, const char *golden)
{
	struct lt t;
	int rc;

	lt_begin(&t);
	rc = loader_load_file(&t.reg, t.a, &t.diags, fixture(stem));
	T_ASSERT_INT(rc, code);
	T_ASSERT_INT(t.reg.n, 0);
	T_ASSERT_INT(t.diags.nerrors, 1);
	T_ASSERT_INT(t.diags.head->code, code);
	T_ASSERT(!still_loaded(fixture(stem)));
	T_ASSERT_GOLDEN(golden, lt_text(&t));
	lt_end(&t);
}

/* ------------------------------------------------------------------ */
/* the frozen header */

TEST(test_loader__abi_header_layout_is_frozen)
{
	_Static_assert(offsetof(struct dbops_abi_header, magic) == 0,
		       "magic at 0");
	_Static_assert(offsetof(struct dbops_abi_header, major) == 4,
		       "major at 4");
	_Static_assert(offsetof(struct dbops_abi_header, minor) == 6,
		       "minor at 6");
	_Static_assert(offsetof(struct dbops_abi_header, size) == 8,
		       "size at 8");
	_Static_assert(offsetof(struct dbops_abi_header, reserved) == 12,
		       "reserved at 12");
	_Static_assert(sizeof(struct dbops_abi_header) == 16,
		       "header is 16 bytes");
	_Static_assert(offsetof(struct dbops_plugin, header) == 0,
		       "the descriptor starts with the header");
	_Static_assert(offsetof(struct dbops_plugin, name) == 16,
		       "the descriptor's members follow the header");
	T_ASSERT_INT(DBOPS_ABI_MAGIC, 0x44424f50);
	T_ASSERT_INT(sizeof(struct dbops_abi_header), 16);
}

/* ------------------------------------------------------------------ */
/* loading one file */

TEST(test_loader__loads_good_plugin)
{
	struct lt t;
	const struct loaded_plugin *lp;
	int rc;

	lt_begin(&t);
	rc = loader_load_file(&t.reg, t.a, &t.diags, fixture("good"));
	T_ASSERT_INT(rc, 0);
	T_ASSERT(t.diags.head == NULL);
	T_ASSERT_INT(t.reg.n, 1);
	lp = loader_find(&t.reg, "good");
	T_ASSERT(lp != NULL);
	T_ASSERT_STR(lp->desc->name, "good");
	T_ASSERT_STR(lp->desc->spec_section, "good");
	T_ASSERT_INT(lp->desc->phase, DBOPS_PHASE_SETTINGS);
	T_ASSERT(lp->desc->validate != NULL && lp->desc->apply != NULL);
	T_ASSERT(lp->desc->verify == NULL);
	T_ASSERT_STR(lp->path, fixture("good"));
	T_ASSERT(lp->handle != NULL);
	T_ASSERT(lp->state == NULL);
	T_ASSERT(loader_find(&t.reg, "nosuch") == NULL);
	T_ASSERT(still_loaded(fixture("good")));
	loader_close(&t.reg);
	T_ASSERT_INT(t.reg.n, 0);
	T_ASSERT(!still_loaded(fixture("good")));
	lt_end(&t);
}

TEST(test_loader__takes_members_past_size_as_absent)
{
	struct lt t;
	const struct loaded_plugin *lp;

	lt_begin(&t);
	T_ASSERT_INT(loader_load_file(&t.reg, t.a, &t.diags, fixture("older")),
		     0);
	lp = loader_find(&t.reg, "older");
	T_ASSERT(lp != NULL);
	/* The file sets verify, but its header says it ends before it. */
	T_ASSERT(lp->desc->verify == NULL);
	T_ASSERT(lp->desc->apply != NULL);
	T_ASSERT_STR(lp->desc->spec_section, "older");
	lt_end(&t);
}

TEST(test_loader__refuses_missing_file)
{
	struct lt t;

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	T_ASSERT_INT(loader_load_file(&t.reg, t.a, &t.diags,
				      lt_tmp(&t, "dbops_gone.so")),
		     DBOPS_ERR_ABI);
	T_ASSERT_INT(t.reg.n, 0);
	T_ASSERT_GOLDEN("loader_missing_file.out", lt_text(&t));
	lt_end(&t);
}

TEST(test_loader__refuses_file_that_is_not_a_shared_object)
{
	struct lt t;
	const char *path;

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	path = lt_tmp(&t, "dbops_text.so");
	T_ASSERT(write_file(
	    path,
	    "This is a text file that merely has the name of a plugin; it is\nlong enough to be read as an ELF header, which it is not.\n"));
	T_ASSERT_INT(loader_load_file(&t.reg, t.a, &t.diags, path),
		     DBOPS_ERR_ABI);
	T_ASSERT_INT(t.reg.n, 0);
	T_ASSERT_GOLDEN("loader_not_shared_object.out", lt_text(&t));
	lt_end(&t);
}

TEST(test_loader__refuses_plugin_with_unresolved_symbol)
{
	check_refusal("unresolved", DBOPS_ERR_ABI, "loader_unresolved.out");
}

TEST(test_loader__refuses_file_without_entry_point)
{
	check_refusal("notplugin", DBOPS_ERR_ABI, "loader_no_entry.out");
}

TEST(test_loader__refuses_declining_plugin)
{
	check_refusal("declines", DBOPS_ERR_ABI, "loader_declines.out");
}

TEST(test_loader__refuses_bad_magic)
{
	check_refusal("badmagic", DBOPS_ERR_ABI, "loader_bad_magic.out");
}

TEST(test_loader__refuses_other_major)
{
	check_refusal("major", DBOPS_ERR_ABI, "loader_other_major.out");
}

TEST(test_loader__refuses_newer_minor)
{
	check_refusal("minor", DBOPS_ERR_ABI, "loader_newer_minor.out");
}

TEST(test_loader__refuses_truncated_descriptor)
{
	check_refusal("truncated", DBOPS_ERR_ABI, "loader_truncated.out");
}

TEST(test_loader__refuses_name_not_matching_file)
{
	check_refusal("misnamed", DBOPS_ERR_ABI, "loader_misnamed.out");
}

TEST(test_loader__refuses_plugin_without_name)
{
	check_refusal("noname", DBOPS_ERR_ABI, "loader_no_name.out");
}

TEST(test_loader__refuses_missing_required_callback)
{
	check_refusal("nocallback", DBOPS_ERR_ABI, "loader_no_callback.out");
}

TEST(test_loader__refuses_missing_spec_section)
{
	check_refusal("nosection", DBOPS_ERR_ABI, "loader_no_section.out");
}

TEST(test_loader__refuses_section_other_than_name)
{
	check_refusal("othersection", DBOPS_ERR_ABI,
		      "loader_section_not_name.out");
}

TEST(test_loader__refuses_file_named_otherwise)
{
	struct lt t;
	const char *path;

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	path = lt_tmp(&t, "good.so");
	T_ASSERT(symlink(fixture("good"), path) == 0);
	T_ASSERT_INT(loader_load_file(&t.reg, t.a, &t.diags, path),
		     DBOPS_ERR_ABI);
	T_ASSERT_INT(t.reg.n, 0);
	T_ASSERT_GOLDEN("loader_file_named_otherwise.out", lt_text(&t));
	lt_end(&t);
}

TEST(test_loader__refuses_duplicate_name)
{
	struct lt t;
	const char *copy;

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	copy = lt_tmp(&t, "dbops_good.so");
	T_ASSERT(symlink(fixture("good"), copy) == 0);
	T_ASSERT_INT(loader_load_file(&t.reg, t.a, &t.diags, fixture("good")),
		     0);
	T_ASSERT_INT(loader_load_file(&t.reg, t.a, &t.diags, copy),
		     DBOPS_ERR_ABI);
	T_ASSERT_INT(t.reg.n, 1);
	T_ASSERT_STR(t.reg.plugins[0].path, fixture("good"));
	T_ASSERT_INT(t.diags.nerrors, 1);
	T_ASSERT_GOLDEN("loader_duplicate.out", lt_text(&t));
	/* The first copy stays usable after the second was closed. */
	T_ASSERT(still_loaded(fixture("good")));
	T_ASSERT_STR(loader_find(&t.reg, "good")->desc->name, "good");
	lt_end(&t);
}

/* ------------------------------------------------------------------ */
/* the search path */

static char *save_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? strdup(v) : NULL;
}

static void restore_env(const char *name, char *saved)
{
	if (saved != NULL)
		setenv(name, saved, 1);
	else
		unsetenv(name);
	free(saved);
}

static size_t count_dirs(const char *const *v)
{
	size_t n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

/* The two directories beside the running binary, found independently. */
static bool exe_dirs(struct arena *a, const char **plugins,
		     const char **installed)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (len <= 0)
		return false;
	exe[len] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return false;
	*slash = '\0';
	*plugins = arena_printf(a, "%s/plugins", exe);
	if ((slash = strrchr(exe, '/')) == NULL)
		return false;
	*slash = '\0';
	*installed = arena_printf(a, "%s/lib/dbops/plugins", exe);
	return true;
}

TEST(test_loader__search_path_puts_env_entries_first)
{
	struct lt t;
	char *saved = save_env("DBOPS_PLUGIN_PATH");
	const char *const *v;
	const char *plugins, *installed;

	lt_begin(&t);
	setenv("DBOPS_PLUGIN_PATH", "/opt/one::/opt/two/:/opt/one:", 1);
	v = loader_search_path(t.a);
	restore_env("DBOPS_PLUGIN_PATH", saved);
	T_ASSERT(exe_dirs(t.a, &plugins, &installed));
	T_ASSERT_INT(count_dirs(v), 5);
	T_ASSERT_STR(v[0], "/opt/one");
	T_ASSERT_STR(v[1], "/opt/two");
	T_ASSERT_STR(v[2], DBOPS_PLUGINDIR);
	T_ASSERT_STR(v[3], plugins);
	T_ASSERT_STR(v[4], installed);
	lt_end(&t);
}

TEST(test_loader__search_path_without_env_and_deduplicated)
{
	struct lt t;
	char *saved = save_env("DBOPS_PLUGIN_PATH");
	const char *const *unset, *const *same;

	lt_begin(&t);
	unsetenv("DBOPS_PLUGIN_PATH");
	unset = loader_search_path(t.a);
	setenv("DBOPS_PLUGIN_PATH", DBOPS_PLUGINDIR, 1);
	same = loader_search_path(t.a);
	restore_env("DBOPS_PLUGIN_PATH", saved);
	T_ASSERT_STR(unset[0], DBOPS_PLUGINDIR);
	T_ASSERT_INT(count_dirs(unset), count_dirs(same));
	for (size_t i = 0; unset[i] != NULL; i++)
		T_ASSERT_STR(unset[i], same[i]);
	lt_end(&t);
}

/* ------------------------------------------------------------------ */
/* loading directories */

TEST(test_loader__earlier_directory_shadows_later_one)
{
	struct lt t;
	const char *dirs[4];
	const struct loaded_plugin *lp;

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	T_ASSERT(lt_mkdir(&t, "first") && lt_mkdir(&t, "second"));
	T_ASSERT(lt_link(&t, "first", "good"));
	T_ASSERT(lt_link(&t, "second", "older"));
	/* Opening this one would be refused: it must not be opened. */
	T_ASSERT(write_file(lt_tmp(&t, "second/dbops_good.so"), "not ELF\n"));
	T_ASSERT(write_file(lt_tmp(&t, "second/README"), "not a plugin\n"));
	dirs[0] = lt_tmp(&t, "missing");
	dirs[1] = lt_tmp(&t, "first");
	dirs[2] = lt_tmp(&t, "second");
	dirs[3] = NULL;
	T_ASSERT_INT(loader_load_dirs(&t.reg, t.a, &t.diags, dirs), 0);
	T_ASSERT(t.diags.head == NULL);
	T_ASSERT_INT(t.reg.n, 2);
	lp = loader_find(&t.reg, "good");
	T_ASSERT(lp != NULL);
	T_ASSERT_STR(lp->path, lt_tmp(&t, "first/dbops_good.so"));
	T_ASSERT(loader_find(&t.reg, "older") != NULL);
	lt_end(&t);
}

TEST(test_loader__reports_every_refusal_of_a_directory)
{
	struct lt t;
	const char *dirs[2];

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	T_ASSERT(lt_mkdir(&t, "d"));
	T_ASSERT(lt_link(&t, "d", "major"));
	T_ASSERT(lt_link(&t, "d", "good"));
	T_ASSERT(lt_link(&t, "d", "badmagic"));
	dirs[0] = lt_tmp(&t, "d");
	dirs[1] = NULL;
	T_ASSERT_INT(loader_load_dirs(&t.reg, t.a, &t.diags, dirs),
		     DBOPS_ERR_ABI);
	T_ASSERT_INT(t.reg.n, 1);
	T_ASSERT_STR(t.reg.plugins[0].desc->name, "good");
	T_ASSERT_INT(t.diags.nerrors, 2);
	/* In file name order: badmagic before major. */
	T_ASSERT_GOLDEN("loader_dir_refusals.out", lt_text(&t));
	lt_end(&t);
}

TEST(test_loader__no_plugins_found)
{
	struct lt t;
	const char *dirs[3];

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	T_ASSERT(lt_mkdir(&t, "empty"));
	T_ASSERT(write_file(lt_tmp(&t, "empty/libfoo.so"), "x\n"));
	T_ASSERT(write_file(lt_tmp(&t, "empty/dbops_.so"), "x\n"));
	dirs[0] = lt_tmp(&t, "empty");
	dirs[1] = lt_tmp(&t, "missing");
	dirs[2] = NULL;
	T_ASSERT_INT(loader_load_dirs(&t.reg, t.a, &t.diags, dirs),
		     DBOPS_ERR_NOTFOUND);
	T_ASSERT_INT(t.reg.n, 0);
	T_ASSERT_INT(t.diags.head->code, DBOPS_ERR_NOTFOUND);
	T_ASSERT_GOLDEN("loader_none_found.out", lt_text(&t));
	lt_end(&t);
}

TEST(test_loader__refuses_dependency_cycle)
{
	struct lt t;
	const char *dirs[2];

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	T_ASSERT(lt_mkdir(&t, "d"));
	T_ASSERT(lt_link(&t, "d", "cycb"));
	T_ASSERT(lt_link(&t, "d", "cyca"));
	T_ASSERT(lt_link(&t, "d", "good"));
	dirs[0] = lt_tmp(&t, "d");
	dirs[1] = NULL;
	T_ASSERT_INT(loader_load_dirs(&t.reg, t.a, &t.diags, dirs),
		     DBOPS_ERR_ABI);
	/* Both stay in the registry, after the plugin of an earlier phase. */
	T_ASSERT_INT(t.reg.n, 3);
	T_ASSERT_STR(t.reg.plugins[0].desc->name, "good");
	T_ASSERT_STR(t.reg.plugins[1].desc->name, "cyca");
	T_ASSERT_STR(t.reg.plugins[2].desc->name, "cycb");
	T_ASSERT_INT(t.diags.nerrors, 1);
	T_ASSERT_GOLDEN("loader_cycle.out", lt_text(&t));
	lt_end(&t);
}

TEST(test_loader__refuses_missing_dependency)
{
	struct lt t;
	const char *dirs[2];

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	T_ASSERT(lt_mkdir(&t, "d"));
	T_ASSERT(lt_link(&t, "d", "needsmissing"));
	dirs[0] = lt_tmp(&t, "d");
	dirs[1] = NULL;
	T_ASSERT_INT(loader_load_dirs(&t.reg, t.a, &t.diags, dirs),
		     DBOPS_ERR_NOTFOUND);
	T_ASSERT_INT(t.reg.n, 1);
	T_ASSERT_INT(t.diags.head->code, DBOPS_ERR_NOTFOUND);
	T_ASSERT_GOLDEN("loader_missing_dependency.out", lt_text(&t));
	lt_end(&t);
}

/* ------------------------------------------------------------------ */
/* ordering, on descriptors built here (no file behind them) */

struct fake {
	const char *name;
	int phase;
	const char *after[3];
};

static void fill_registry(struct registry *reg, struct arena *a,
			  const struct fake *f, size_t n)
{
	reg->plugins = calloc(n, sizeof(*reg->plugins));
	if (reg->plugins == NULL)
		arena_oom();
	reg->n = reg->cap = n;
	for (size_t i = 0; i < n; i++) {
		struct dbops_plugin *p = arena_alloc(a, sizeof(*p));

		p->header = (struct dbops_abi_header)DBOPS_ABI_HEADER_INIT(
		    struct dbops_plugin);
		p->name = f[i].name;
		p->spec_section = f[i].name;
		p->phase = f[i].phase;
		p->after = f[i].after[0] != NULL ? f[i].after : NULL;
		reg->plugins[i].desc = p;
		reg->plugins[i].path = f[i].name;
	}
}

static const char *order_of(struct lt *t)
{
	struct strbuf sb;

	strbuf_init(&sb);
	for (size_t i = 0; i < t->reg.n; i++)
		strbuf_printf(&sb, "%s%s", i > 0 ? " " : "",
			      t->reg.plugins[i].desc->name);
	return strbuf_finish(&sb, t->a);
}

static const struct fake sort_input[] = {
    {"mid", 20, {"beta", NULL}},   {"zeta", 10, {NULL}},
    {"gamma", 20, {NULL}},	   {"beta", 20, {"gamma", NULL}},
    {"delta", 20, {"zeta", NULL}}, /* an earlier phase: no constraint */
    {"omega", 5, {NULL}},	   {"alpha", 20, {NULL}},
};

TEST(test_loader__sorts_by_phase_then_after_then_name)
{
	static const char *const expected =
	    "omega zeta alpha delta gamma beta mid";
	size_t n = sizeof(sort_input) / sizeof(sort_input[0]);
	struct fake reversed[sizeof(sort_input) / sizeof(sort_input[0])];
	struct lt t, u;

	lt_begin(&t);
	fill_registry(&t.reg, t.a, sort_input, n);
	T_ASSERT_INT(loader_sort(&t.reg, t.a, &t.diags), 0);
	T_ASSERT(t.diags.head == NULL);
	T_ASSERT_STR(order_of(&t), expected);

	/* The same plugins given in another order sort the same. */
	for (size_t i = 0; i < n; i++)
		reversed[i] = sort_input[n - 1 - i];
	lt_begin(&u);
	fill_registry(&u.reg, u.a, reversed, n);
	T_ASSERT_INT(loader_sort(&u.reg, u.a, &u.diags), 0);
	T_ASSERT_STR(order_of(&u), expected);
	lt_end(&u);
	lt_end(&t);
}

TEST(test_loader__refuses_after_a_later_phase)
{
	static const struct fake in[] = {
	    {"early", 10, {"late", NULL}},
	    {"late", 20, {NULL}},
	};
	struct lt t;

	lt_begin(&t);
	fill_registry(&t.reg, t.a, in, 2);
	T_ASSERT_INT(loader_sort(&t.reg, t.a, &t.diags), DBOPS_ERR_ABI);
	T_ASSERT_STR(order_of(&t), "early late");
	T_ASSERT_GOLDEN("loader_later_phase.out", lt_text(&t));
	lt_end(&t);
}

TEST(test_loader__names_every_member_of_a_cycle)
{
	static const struct fake in[] = {
	    {"one", 30, {"three", NULL}}, {"two", 30, {"one", NULL}},
	    {"three", 30, {"two", NULL}}, {"after_two", 30, {"two", NULL}},
	    {"free", 30, {NULL}},	  {"self", 40, {"self", NULL}},
	};
	struct lt t;

	lt_begin(&t);
	fill_registry(&t.reg, t.a, in, 6);
	T_ASSERT_INT(loader_sort(&t.reg, t.a, &t.diags), DBOPS_ERR_ABI);
	T_ASSERT_INT(t.diags.nerrors, 2);
	/* Nothing is lost; the loop's members follow in name order. */
	T_ASSERT_STR(order_of(&t), "free one three two after_two self");
	T_ASSERT_GOLDEN("loader_cycle_of_three.out", lt_text(&t));
	lt_end(&t);
}

TEST(test_loader__close_and_find_accept_null)
{
	struct registry empty = {0};

	loader_close(NULL);
	loader_close(&empty);
	T_ASSERT(loader_find(NULL, "good") == NULL);
	T_ASSERT(loader_find(&empty, NULL) == NULL);
	T_ASSERT(loader_find(&empty, "good") == NULL);
	T_ASSERT_INT(empty.n, 0);
}

/* ------------------------------------------------------------------ */
/* opening only what a spec needs */

TEST(test_loader__scan_opens_nothing)
{
	struct lt t;
	const char *dirs[3];

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	T_ASSERT(lt_mkdir(&t, "first") && lt_mkdir(&t, "second"));
	T_ASSERT(lt_link(&t, "first", "good"));
	T_ASSERT(lt_link(&t, "second", "cyca"));
	/* would be refused if opened */
	T_ASSERT(lt_link(&t, "second", "badmagic"));
	T_ASSERT(write_file(lt_tmp(&t, "second/dbops_good.so"), "not ELF\n"));
	dirs[0] = lt_tmp(&t, "first");
	dirs[1] = lt_tmp(&t, "second");
	dirs[2] = NULL;
	T_ASSERT_INT(loader_scan(&t.reg, t.a, &t.diags, dirs), 0);
	T_ASSERT(t.diags.head == NULL);
	T_ASSERT_INT(t.reg.n, 0);
	T_ASSERT_INT(t.reg.nfiles, 3);
	T_ASSERT(loader_has_file(&t.reg, "badmagic"));
	T_ASSERT(loader_has_file(&t.reg, "cyca"));
	T_ASSERT(!loader_has_file(&t.reg, "cycb"));
	/* the first directory's file wins, as when loading everything */
	T_ASSERT_STR(t.reg.files[2].path, lt_tmp(&t, "first/dbops_good.so"));
	T_ASSERT(!still_loaded(fixture("badmagic")));
	lt_end(&t);
}

TEST(test_loader__require_opens_the_named_and_their_after)
{
	struct lt t;
	const char *dirs[2];
	const char *want[] = {"good", "nosuch"};
	const char *cyca[] = {"cyca"};
	size_t loaded = 9;

	lt_begin(&t);
	T_ASSERT(lt_mktemp(&t));
	T_ASSERT(lt_mkdir(&t, "d"));
	T_ASSERT(lt_link(&t, "d", "good"));
	T_ASSERT(lt_link(&t, "d", "older"));
	T_ASSERT(lt_link(&t, "d", "cyca"));
	T_ASSERT(lt_link(&t, "d", "cycb"));
	T_ASSERT(lt_link(&t, "d", "badmagic"));
	dirs[0] = lt_tmp(&t, "d");
	dirs[1] = NULL;
	T_ASSERT_INT(loader_scan(&t.reg, t.a, &t.diags, dirs), 0);
	/* an unknown name is skipped; the others are not opened. Asked for
	 * by a pass whose arena goes before the registry: what was loaded
	 * is still there after it (the registry keeps its own) */
	{
		struct arena *pass = arena_new();

		T_ASSERT_INT(
		    loader_require(&t.reg, pass, &t.diags, want, 2, &loaded),
		    0);
		arena_free(pass);
	}
	T_ASSERT_INT(loaded, 1);
	T_ASSERT_INT(t.reg.n, 1);
	T_ASSERT_STR(t.reg.plugins[0].desc->name, "good");
	T_ASSERT(strstr(t.reg.plugins[0].path, "dbops_good.so") != NULL);
	T_ASSERT(!still_loaded(fixture("older")));
	/* asked again: nothing more */
	T_ASSERT_INT(loader_require(&t.reg, t.a, &t.diags, want, 1, &loaded),
		     0);
	T_ASSERT_INT(loaded, 0);
	/* cyca runs after cycb: both are opened, and their cycle found */
	T_ASSERT_INT(loader_require(&t.reg, t.a, &t.diags, cyca, 1, &loaded),
		     DBOPS_ERR_ABI);
	T_ASSERT_INT(loaded, 2);
	T_ASSERT_INT(t.reg.n, 3);
	T_ASSERT(loader_find(&t.reg, "cycb") != NULL);
	T_ASSERT(t.diags.nerrors == 1);
	T_ASSERT(!still_loaded(fixture("badmagic")));
	lt_end(&t);
}

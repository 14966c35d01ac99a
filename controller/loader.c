/* SPDX-License-Identifier: PostgreSQL */
/*
 * loader.c — finding, opening, checking and ordering plugins.
 *
 * A plugin file is dlopen'd, its entry point called with the host's ABI
 * version, and the descriptor it returns checked member by member before
 * anything of it is kept: magic, ABI version, size, name against the file
 * name, required callbacks, duplicates. The accepted descriptor is copied
 * into the arena with every member the plugin did not compile (past its
 * header's `size`) set to NULL / 0, so the rest of the controller can read
 * any member without checking the size again. A refused file is closed
 * and leaves nothing behind. Ordering (phase, `after`, name) is Kahn's
 * algorithm with a name-ordered ready set. This file does not call any
 * plugin callback other than the entry point; init/fini belong to the host.
 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "strbuf.h"

#ifndef DBOPS_PLUGINDIR
#define DBOPS_PLUGINDIR "/usr/local/lib/dbops/plugins"
#endif

#define PLUGIN_PREFIX "dbops_"
#define PLUGIN_SUFFIX ".so"

/* ------------------------------------------------------------------ */
/* small helpers */

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		arena_oom();
	return p;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/*
 * The plugin name a file must hold: "roles" for ".../dbops_roles.so", or
 * NULL when the file name does not have that form.
 */
static bool is_plugin_file(const char *base)
{
	size_t len = strlen(base);
	size_t plen = strlen(PLUGIN_PREFIX), slen = strlen(PLUGIN_SUFFIX);

	return len > plen + slen && strncmp(base, PLUGIN_PREFIX, plen) == 0 &&
	       strcmp(base + len - slen, PLUGIN_SUFFIX) == 0;
}

static const char *file_stem(struct arena *a, const char *path)
{
	const char *base = base_name(path);

	if (!is_plugin_file(base))
		return NULL;
	return arena_strndup(a, base + strlen(PLUGIN_PREFIX),
			     strlen(base) - strlen(PLUGIN_PREFIX) -
				 strlen(PLUGIN_SUFFIX));
}

/* A name for a plugin whose descriptor cannot be trusted yet. */
static const char *plugin_label(struct arena *a, const char *path)
{
	const char *stem = file_stem(a, path);

	return stem != NULL ? stem : base_name(path);
}

/* ------------------------------------------------------------------ */
/* search path */

/* Append dir[0..len) unless empty or already present; trailing slashes
 * are dropped so that "a/" and "a" are one entry. */
static void path_add(const char **v, size_t *n, struct arena *a,
		     const char *dir, size_t len)
{
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 0)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strlen(v[i]) == len && memcmp(v[i], dir, len) == 0)
			return;
	v[(*n)++] = arena_strndup(a, dir, len);
}

const char *const *loader_search_path(struct arena *a)
{
	const char *env = getenv("DBOPS_PLUGIN_PATH");
	size_t max = 4, n = 0;
	const char **v;
	char exe[PATH_MAX];
	ssize_t len;

	if (env != NULL)
		for (const char *p = env; *p != '\0'; p++)
			max += *p == ':';
	max += env != NULL;
	v = arena_alloc(a, (max + 1) * sizeof(*v));

	while (env != NULL && *env != '\0') {
		const char *colon = strchr(env, ':');
		size_t elen =
		    colon != NULL ? (size_t)(colon - env) : strlen(env);

		path_add(v, &n, a, env, elen);
		env = colon != NULL ? colon + 1 : NULL;
	}
	path_add(v, &n, a, DBOPS_PLUGINDIR, strlen(DBOPS_PLUGINDIR));

	/* Beside the binary: build/plugins when running build/dbops, and
	 * PREFIX/lib/dbops/plugins for PREFIX/bin/dbops. /proc/self/exe is
	 * canonical, so its parent directories are found lexically. */
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0 && (size_t)len < sizeof(exe) - 1) {
		char *slash, *dir, *parent;

		exe[len] = '\0';
		slash = strrchr(exe, '/');
		if (slash != NULL) {
			dir = arena_strndup(a, exe, (size_t)(slash - exe));
			parent = arena_strdup(a, dir);
			slash = strrchr(parent, '/');
			if (slash != NULL)
				*slash = '\0';
			dir = arena_printf(a, "%s/plugins", dir);
			path_add(v, &n, a, dir, strlen(dir));
			parent =
			    arena_printf(a, "%s/lib/dbops/plugins", parent);
			path_add(v, &n, a, parent, strlen(parent));
		}
	}
	v[n] = NULL;
	return v;
}

/* ------------------------------------------------------------------ */
/* the descriptor */

struct desc_member {
	size_t off;
	size_t size;
};

#define DESC_SIZEOF(m) sizeof(((struct dbops_plugin *)0)->m)
#define DESC_MEMBER(m)                                                         \
	{                                                                      \
		offsetof(struct dbops_plugin, m), DESC_SIZEOF(m)               \
	}

/* Every member after the header, in order. Append with the struct. */
static const struct desc_member desc_members[] = {
    DESC_MEMBER(name),	     DESC_MEMBER(version),
    DESC_MEMBER(summary),    DESC_MEMBER(spec_section),
    DESC_MEMBER(phase),	     DESC_MEMBER(after),
    DESC_MEMBER(flags),	     DESC_MEMBER(init),
    DESC_MEMBER(fini),	     DESC_MEMBER(validate),
    DESC_MEMBER(observe),    DESC_MEMBER(diff),
    DESC_MEMBER(apply),	     DESC_MEMBER(verify),
    DESC_MEMBER(commands),   DESC_MEMBER(status),
    DESC_MEMBER(apply_many), DESC_MEMBER(readonly_commands),
    DESC_MEMBER(tools),	     DESC_MEMBER(tool),
};

/* The smallest descriptor ABI 1.0 accepts: up to the last required
 * callback. */
#define DESC_MIN_SIZE                                                          \
	(offsetof(struct dbops_plugin, apply) + DESC_SIZEOF(apply))

/*
 * A member of a descriptor as the plugin compiled it, or NULL when the
 * member lies past the plugin's header.size (an older minor): such a
 * member is absent.
 */
static const void *desc_member(const struct dbops_plugin *p, size_t off,
			       size_t size)
{
	if (off + size > p->header.size)
		return NULL;
	return (const unsigned char *)p + off;
}

/* The descriptor with every member the plugin does not have zeroed. */
static struct dbops_plugin *desc_copy(struct arena *a,
				      const struct dbops_plugin *p)
{
	struct dbops_plugin *copy = arena_alloc(a, sizeof(*copy));
	size_t n = sizeof(desc_members) / sizeof(desc_members[0]);

	copy->header = p->header;
	for (size_t i = 0; i < n; i++) {
		const struct desc_member *m = &desc_members[i];
		const void *src = desc_member(p, m->off, m->size);

		if (src != NULL)
			memcpy((unsigned char *)copy + m->off, src, m->size);
	}
	return copy;
}

/* ------------------------------------------------------------------ */
/* loading one file */

/* Whether the file starts like a shared object: then a failed dlopen is
 * most likely about its dependencies, and worth a hint. */
static bool is_elf_file(const char *path)
{
	static const char elf_magic[4] = {0x7f, 'E', 'L', 'F'};
	char buf[sizeof(elf_magic)];
	FILE *f = fopen(path, "rb");
	bool elf;

	if (f == NULL)
		return false;
	elf = fread(buf, 1, sizeof(buf), f) == sizeof(buf) &&
	      memcmp(buf, elf_magic, sizeof(buf)) == 0;
	fclose(f);
	return elf;
}

/* dlopen the file and call its entry point. */
static int open_plugin(void **handle_out, const struct dbops_plugin **out,
		       struct arena *a, struct dbops_diag_list *diags,
		       const char *path)
{
	struct dbops_diag *d;
	dbops_plugin_entry_fn entry;
	const char *dlpath = path;
	const char *err;
	void *sym;

	/* Without a slash dlopen would search the library path. */
	if (strchr(path, '/') == NULL)
		dlpath = arena_printf(a, "./%s", path);
	*handle_out = dlopen(dlpath, RTLD_NOW | RTLD_LOCAL);
	if (*handle_out == NULL) {
		err = dlerror();
		d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
			     "could not load plugin \"%s\"", path);
		diag_detail(d, a, "%s", err != NULL ? err : "unknown error");
		if (is_elf_file(path))
			diag_hint(
			    d, a,
			    "A missing shared library is the usual cause; check it with ldd.");
		return DBOPS_ERR_ABI;
	}
	(void)dlerror();
	sym = dlsym(*handle_out, DBOPS_PLUGIN_ENTRY_SYMBOL);
	if (sym == NULL) {
		d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
			     "file \"%s\" is not a dbops plugin", path);
		diag_detail(d, a, "It does not export the function \"%s\".",
			    DBOPS_PLUGIN_ENTRY_SYMBOL);
		return DBOPS_ERR_ABI;
	}
	memcpy(&entry, &sym, sizeof(entry));
	*out = entry(DBOPS_ABI_MAJOR, DBOPS_ABI_MINOR);
	if (*out == NULL) {
		d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
			     "plugin \"%s\" declined to load", path);
		diag_detail(
		    d, a,
		    "Its entry point returned no descriptor for ABI version %d.%d of this dbops.",
		    DBOPS_ABI_MAJOR, DBOPS_ABI_MINOR);
		return DBOPS_ERR_ABI;
	}
	return 0;
}

static int refuse_truncated(struct arena *a, struct dbops_diag_list *diags,
			    const char *path, const struct dbops_plugin *p)
{
	struct dbops_diag *d;

	d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
		     "plugin \"%s\" has a truncated descriptor", path);
	diag_detail(
	    d, a,
	    "Its header gives a size of %u bytes; ABI version %u.%u needs at least %zu.",
	    (unsigned)p->header.size, (unsigned)p->header.major,
	    (unsigned)p->header.minor, (size_t)DESC_MIN_SIZE);
	return DBOPS_ERR_ABI;
}

/* The frozen header: magic, version, size. Nothing past the header is
 * read before these pass. */
static int check_header(struct arena *a, struct dbops_diag_list *diags,
			const char *path, const struct dbops_plugin *p)
{
	const struct dbops_abi_header *h = &p->header;
	struct dbops_diag *d;

	if (h->magic != DBOPS_ABI_MAGIC) {
		d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
			     "plugin \"%s\" has a bad magic number", path);
		diag_detail(d, a, "Expected 0x%08x, found 0x%08x.",
			    (unsigned)DBOPS_ABI_MAGIC, (unsigned)h->magic);
		return DBOPS_ERR_ABI;
	}
	if (h->major != DBOPS_ABI_MAJOR) {
		d = diag_add(
		    diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
		    "plugin \"%s\" was built for ABI version %u.%u, but this dbops uses %d.%d",
		    plugin_label(a, path), (unsigned)h->major,
		    (unsigned)h->minor, DBOPS_ABI_MAJOR, DBOPS_ABI_MINOR);
		diag_detail(d, a, "The plugin was loaded from \"%s\".", path);
		diag_hint(d, a,
			  "Rebuild the plugin against this version of dbops.");
		return DBOPS_ERR_ABI;
	}
	if (h->minor > DBOPS_ABI_MINOR) {
		d = diag_add(
		    diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
		    "plugin \"%s\" needs ABI version %u.%u, but this dbops provides only %d.%d",
		    plugin_label(a, path), (unsigned)h->major,
		    (unsigned)h->minor, DBOPS_ABI_MAJOR, DBOPS_ABI_MINOR);
		diag_detail(d, a, "The plugin was loaded from \"%s\".", path);
		diag_hint(
		    d, a,
		    "Upgrade dbops, or rebuild the plugin against this version.");
		return DBOPS_ERR_ABI;
	}
	if (h->size < sizeof(struct dbops_abi_header) ||
	    h->size < DESC_MIN_SIZE)
		return refuse_truncated(a, diags, path, p);
	return 0;
}

/* Name, spec section and required callbacks of the (copied) descriptor. */
static int check_desc(struct arena *a, struct dbops_diag_list *diags,
		      const char *path, const struct dbops_plugin *p)
{
	const char *stem = file_stem(a, path);
	const char *missing = NULL;
	struct dbops_diag *d;

	if (p->name == NULL || p->name[0] == '\0') {
		d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
			     "plugin file \"%s\" holds a plugin without a name",
			     path);
		diag_hint(d, a,
			  "A plugin's file must be named dbops_<name>.so.");
		return DBOPS_ERR_ABI;
	}
	if (stem == NULL || strcmp(stem, p->name) != 0) {
		d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
			     "plugin file \"%s\" holds plugin \"%s\"", path,
			     p->name);
		diag_hint(d, a,
			  "A plugin's file must be named dbops_<name>.so.");
		return DBOPS_ERR_ABI;
	}

	/* The required callbacks; see the note in plugin.h. */
	if (p->validate == NULL)
		missing = "validate";
	else if (p->observe == NULL)
		missing = "observe";
	else if (p->diff == NULL)
		missing = "diff";
	else if (p->apply == NULL)
		missing = "apply";
	if (missing != NULL) {
		diag_add(
		    diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
		    "plugin \"%s\" does not provide the required callback \"%s\"",
		    p->name, missing);
		return DBOPS_ERR_ABI;
	}
	if (p->spec_section == NULL || p->spec_section[0] == '\0') {
		d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
			     "plugin \"%s\" does not name its spec section",
			     p->name);
		diag_detail(
		    d, a,
		    "The member \"spec_section\" of its descriptor is empty.");
		diag_hint(
		    d, a,
		    "Set \"spec_section\" to the top-level spec key the plugin owns.");
		return DBOPS_ERR_ABI;
	}
	if (strcmp(p->spec_section, p->name) != 0) {
		d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
			     "plugin \"%s\" names its spec section \"%s\"",
			     p->name, p->spec_section);
		diag_detail(
		    d, a,
		    "dbops loads a plugin when the spec has the section of "
		    "its name, without opening the others.");
		diag_hint(d, a,
			  "Set \"spec_section\" to \"%s\", the plugin's name.",
			  p->name);
		return DBOPS_ERR_ABI;
	}
	return 0;
}

static void registry_append(struct registry *reg,
			    const struct loaded_plugin *lp)
{
	if (reg->n == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 8;
		struct loaded_plugin *v;

		v = realloc(reg->plugins, cap * sizeof(*v));
		if (v == NULL)
			arena_oom();
		reg->plugins = v;
		reg->cap = cap;
	}
	reg->plugins[reg->n++] = *lp;
}

int loader_load_file(struct registry *reg, struct arena *a,
		     struct dbops_diag_list *diags, const char *path)
{
	void *handle = NULL;
	const struct dbops_plugin *raw = NULL;
	const struct dbops_plugin *desc = NULL;
	const struct loaded_plugin *other;
	struct loaded_plugin lp;
	struct dbops_diag *d;
	int rc;

	rc = open_plugin(&handle, &raw, a, diags, path);
	if (rc == 0)
		rc = check_header(a, diags, path, raw);
	if (rc == 0) {
		desc = desc_copy(a, raw);
		rc = check_desc(a, diags, path, desc);
	}
	if (rc == 0 && (other = loader_find(reg, desc->name)) != NULL) {
		d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
			     "plugin \"%s\" is loaded twice", desc->name);
		diag_detail(d, a,
			    "It was loaded from \"%s\" and again from \"%s\".",
			    other->path, path);
		rc = DBOPS_ERR_ABI;
	}
	if (rc != 0) {
		if (handle != NULL)
			dlclose(handle);
		return rc;
	}

	lp.desc = desc;
	lp.handle = handle;
	lp.path = arena_strdup(a, path);
	lp.state = NULL;
	registry_append(reg, &lp);
	return 0;
}

/* ------------------------------------------------------------------ */
/* loading directories */

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/*
 * The dbops_*.so names of a directory, sorted bytewise, in *names_out
 * (heap array of arena strings; free the array). A missing directory has
 * none; one that cannot be read gets a warning.
 */
static size_t list_dir(char ***names_out, struct arena *a,
		       struct dbops_diag_list *diags, const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	*names_out = NULL;
	if (dp == NULL) {
		if (errno != ENOENT && errno != ENOTDIR)
			diag_add(diags, a, DBOPS_SEV_WARNING, DBOPS_ERR_GENERIC,
				 NULL,
				 "could not open plugin directory \"%s\": %s",
				 dir, strerror(errno));
		return 0;
	}
	while ((de = readdir(dp)) != NULL) {
		if (!is_plugin_file(de->d_name))
			continue;
		if (n == cap) {
			char **v;

			cap = cap ? cap * 2 : 16;
			v = realloc(names, cap * sizeof(*v));
			if (v == NULL)
				arena_oom();
			names = v;
		}
		names[n++] = arena_strdup(a, de->d_name);
	}
	closedir(dp);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	*names_out = names;
	return n;
}

static void report_none_found(struct arena *a, struct dbops_diag_list *diags,
			      const char *const *dirs)
{
	struct dbops_diag *d;
	struct strbuf sb;
	size_t n = 0;

	while (dirs[n] != NULL)
		n++;
	d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, NULL,
		     "no plugins found");
	strbuf_init(&sb);
	if (n == 0)
		strbuf_puts(&sb, "No plugin directory was given.");
	else {
		strbuf_puts(&sb, "No file named dbops_<name>.so is in ");
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				strbuf_puts(&sb, i + 1 < n ? ", " : " or ");
			strbuf_printf(&sb, "\"%s\"", dirs[i]);
		}
		strbuf_putc(&sb, '.');
	}
	d->detail = strbuf_finish(&sb, a);
	diag_hint(
	    d, a,
	    "Set DBOPS_PLUGIN_PATH to the directory that holds the plugins.");
}

static int cmp_file(const void *x, const void *y)
{
	return strcmp(((const struct plugin_file *)x)->name,
		      ((const struct plugin_file *)y)->name);
}

static const struct plugin_file *file_find(const struct registry *reg,
					   const char *name)
{
	struct plugin_file key = {name, NULL};

	if (reg->nfiles == 0)
		return NULL;
	return bsearch(&key, reg->files, reg->nfiles, sizeof(key), cmp_file);
}

bool loader_has_file(const struct registry *reg, const char *name)
{
	return file_find(reg, name) != NULL;
}

int loader_scan(struct registry *reg, struct arena *a,
		struct dbops_diag_list *diags, const char *const *dirs)
{
	static const char *const none[] = {NULL};
	size_t cap = 0;

	if (dirs == NULL)
		dirs = none;
	if (reg->a == NULL)
		reg->a = a;
	for (size_t i = 0; dirs[i] != NULL; i++) {
		char **names;
		size_t n = list_dir(&names, a, diags, dirs[i]);

		for (size_t j = 0; j < n; j++) {
			const char *stem = file_stem(a, names[j]);
			bool seen = false;

			/* Like PATH: the first file of a name wins. */
			for (size_t k = 0; k < reg->nfiles && !seen; k++)
				seen = strcmp(reg->files[k].name, stem) == 0;
			if (seen)
				continue;
			if (reg->nfiles == cap) {
				struct plugin_file *v;

				cap = cap ? cap * 2 : 16;
				v = realloc(reg->files, cap * sizeof(*v));
				if (v == NULL)
					arena_oom();
				reg->files = v;
			}
			reg->files[reg->nfiles].name = stem;
			reg->files[reg->nfiles].path =
			    arena_printf(a, "%s/%s", dirs[i], names[j]);
			reg->nfiles++;
		}
		free(names);
	}
	if (reg->nfiles == 0) {
		report_none_found(a, diags, dirs);
		return DBOPS_ERR_NOTFOUND;
	}
	qsort(reg->files, reg->nfiles, sizeof(*reg->files), cmp_file);
	return 0;
}

/* Open `name`'s file unless it is loaded, then the targets of its
 * `after` list, recursively. */
static int require_one(struct registry *reg, struct arena *a,
		       struct dbops_diag_list *diags, const char *name,
		       size_t *loaded)
{
	const struct plugin_file *f;
	const struct dbops_plugin *desc;
	int rc, first = 0;

	if (loader_find(reg, name) != NULL ||
	    (f = file_find(reg, name)) == NULL)
		return 0;
	if ((rc = loader_load_file(reg, a, diags, f->path)) != 0)
		return rc;
	(*loaded)++;
	desc = reg->plugins[reg->n - 1].desc;
	for (size_t k = 0; desc->after != NULL && desc->after[k] != NULL; k++)
		if ((rc = require_one(reg, a, diags, desc->after[k], loaded)) &&
		    first == 0)
			first = rc;
	return first;
}

int loader_require(struct registry *reg, struct arena *a,
		   struct dbops_diag_list *diags, const char *const *names,
		   size_t n, size_t *loaded)
{
	size_t count = 0;
	int rc, first = 0;

	if (reg->a != NULL)
		a = reg->a; /* what is loaded outlives the caller's arena */
	for (size_t i = 0; i < n; i++)
		if ((rc = require_one(reg, a, diags, names[i], &count)) != 0 &&
		    first == 0)
			first = rc;
	if (loaded != NULL)
		*loaded = count;
	if (count > 0 && (rc = loader_sort(reg, a, diags)) != 0 && first == 0)
		first = rc;
	return first;
}

int loader_load_dirs(struct registry *reg, struct arena *a,
		     struct dbops_diag_list *diags, const char *const *dirs)
{
	int first = 0, rc;

	if ((rc = loader_scan(reg, a, diags, dirs)) != 0)
		return rc;
	for (size_t i = 0; i < reg->nfiles; i++)
		if (loader_find(reg, reg->files[i].name) == NULL &&
		    (rc =
			 loader_load_file(reg, a, diags, reg->files[i].path)) &&
		    first == 0)
			first = rc;
	if (reg->n == 0)
		return first != 0 ? first : DBOPS_ERR_NOTFOUND;
	rc = loader_sort(reg, a, diags);
	return first != 0 ? first : rc;
}

/* ------------------------------------------------------------------ */
/* ordering */

static int cmp_phase_name(const void *x, const void *y)
{
	const struct loaded_plugin *px = x, *py = y;

	if (px->desc->phase != py->desc->phase)
		return px->desc->phase < py->desc->phase ? -1 : 1;
	return strcmp(px->desc->name, py->desc->name);
}

static size_t find_index(const struct registry *reg, const char *name)
{
	for (size_t i = 0; i < reg->n; i++)
		if (strcmp(reg->plugins[i].desc->name, name) == 0)
			return i;
	return (size_t)-1;
}

/*
 * Fill dep[i * n + j] (plugin i must run after plugin j, same phase) from
 * the `after` lists, reporting targets that are missing, the plugin
 * itself, or in a later phase. Returns the first error.
 */
static int build_edges(bool *dep, const struct registry *reg, struct arena *a,
		       struct dbops_diag_list *diags)
{
	size_t n = reg->n;
	int first = 0;

	for (size_t i = 0; i < n; i++) {
		const struct dbops_plugin *p = reg->plugins[i].desc;
		struct dbops_diag *d;

		for (size_t k = 0; p->after != NULL && p->after[k] != NULL;
		     k++) {
			const char *t = p->after[k];
			size_t j = find_index(reg, t);
			int rc = 0;

			if (j == (size_t)-1) {
				d = diag_add(
				    diags, a, DBOPS_SEV_ERROR,
				    DBOPS_ERR_NOTFOUND, NULL,
				    "plugin \"%s\" must run after \"%s\", which is not loaded",
				    p->name, t);
				diag_hint(
				    d, a,
				    "Install the plugin \"%s\", or remove it from the \"after\" list of \"%s\".",
				    t, p->name);
				rc = DBOPS_ERR_NOTFOUND;
			} else if (j == i) {
				diag_add(diags, a, DBOPS_SEV_ERROR,
					 DBOPS_ERR_ABI, NULL,
					 "plugin \"%s\" must run after itself",
					 p->name);
				rc = DBOPS_ERR_ABI;
			} else if (reg->plugins[j].desc->phase > p->phase) {
				d = diag_add(
				    diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI,
				    NULL,
				    "plugin \"%s\" must run after \"%s\", which has a later phase",
				    p->name, t);
				diag_detail(
				    d, a,
				    "Plugin \"%s\" has phase %d and plugin \"%s\" has phase %d.",
				    p->name, p->phase, t,
				    reg->plugins[j].desc->phase);
				rc = DBOPS_ERR_ABI;
			} else if (reg->plugins[j].desc->phase == p->phase) {
				dep[i * n + j] = true;
			}
			if (rc != 0 && first == 0)
				first = rc;
		}
	}
	return first;
}

/* Whether plugin i still waits for a plugin not yet placed. */
static bool waits(const bool *dep, const bool *done, size_t n, size_t i)
{
	for (size_t j = 0; j < n; j++)
		if (dep[i * n + j] && !done[j])
			return true;
	return false;
}

/*
 * Every plugin left in the earliest unfinished phase waits for another one
 * of them: walk the `after` edges from the first of them until a plugin
 * repeats, report the loop found (starting at its first member by name)
 * and place its members.
 */
static void report_cycle(const struct registry *reg, struct arena *a,
			 struct dbops_diag_list *diags, const bool *dep,
			 bool *done, size_t *order, size_t *norder)
{
	size_t n = reg->n;
	size_t *walk = xcalloc(n + 1, sizeof(*walk));
	size_t *pos = xcalloc(n, sizeof(*pos)); /* 1-based place in walk */
	size_t len = 0, start, cur, min;
	struct strbuf msg, detail;
	struct dbops_diag *d;

	for (cur = 0; done[cur]; cur++)
		;
	while (pos[cur] == 0) {
		walk[len++] = cur;
		pos[cur] = len;
		for (size_t j = 0; j < n; j++)
			if (dep[cur * n + j] && !done[j]) {
				cur = j;
				break;
			}
	}
	start = pos[cur] - 1; /* the loop is walk[start..len) */
	min = start;
	for (size_t k = start; k < len; k++)
		if (walk[k] < walk[min])
			min = k;

	strbuf_init(&msg);
	strbuf_init(&detail);
	strbuf_puts(&msg, "plugins ");
	for (size_t k = 0; k < len - start; k++) {
		size_t at = start + (min - start + k) % (len - start);
		size_t next = start + (min - start + k + 1) % (len - start);
		const char *name = reg->plugins[walk[at]].desc->name;

		strbuf_printf(&msg, "%s\"%s\"", k > 0 ? ", " : "", name);
		if (k > 0)
			strbuf_puts(&detail,
				    k + 1 < len - start ? ", " : ", and ");
		strbuf_printf(&detail, "\"%s\" must run after \"%s\"", name,
			      reg->plugins[walk[next]].desc->name);
	}
	strbuf_putc(&detail, '.');
	d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_ABI, NULL,
		     "%s depend on each other in a cycle", msg.buf);
	d->detail = strbuf_finish(&detail, a);
	diag_hint(d, a, "Remove one of these names from an \"after\" list.");
	strbuf_dispose(&msg);

	/* Place the members of the loop, in name order. */
	for (size_t i = 0; i < n; i++)
		if (pos[i] != 0 && pos[i] - 1 >= start) {
			done[i] = true;
			order[(*norder)++] = i;
		}
	free(walk);
	free(pos);
}

int loader_sort(struct registry *reg, struct arena *a,
		struct dbops_diag_list *diags)
{
	size_t n = reg->n, norder = 0;
	bool *dep, *done;
	size_t *order;
	struct loaded_plugin *sorted;
	int first;

	if (n == 0)
		return 0;
	/* Names are unique, so (phase, name) is a total order. */
	qsort(reg->plugins, n, sizeof(*reg->plugins), cmp_phase_name);
	dep = xcalloc(n * n, sizeof(*dep));
	done = xcalloc(n, sizeof(*done));
	order = xcalloc(n, sizeof(*order));
	first = build_edges(dep, reg, a, diags);

	/*
	 * Kahn's algorithm, always taking the first ready plugin in (phase,
	 * name) order among those of the earliest phase not yet finished
	 * (edges only join plugins of one phase; a loop must not let a later
	 * phase overtake).
	 */
	while (norder < n) {
		size_t i, lo = 0;

		while (done[lo])
			lo++;
		for (i = lo; i < n; i++) {
			if (reg->plugins[i].desc->phase !=
			    reg->plugins[lo].desc->phase) {
				i = n;
				break;
			}
			if (!done[i] && !waits(dep, done, n, i))
				break;
		}
		if (i < n) {
			done[i] = true;
			order[norder++] = i;
			continue;
		}
		report_cycle(reg, a, diags, dep, done, order, &norder);
		if (first == 0)
			first = DBOPS_ERR_ABI;
	}

	sorted = xcalloc(n, sizeof(*sorted));
	for (size_t k = 0; k < n; k++)
		sorted[k] = reg->plugins[order[k]];
	memcpy(reg->plugins, sorted, n * sizeof(*sorted));
	free(sorted);
	free(order);
	free(done);
	free(dep);
	return first;
}

/* ------------------------------------------------------------------ */
/* lookup and teardown */

const struct loaded_plugin *loader_find(const struct registry *reg,
					const char *name)
{
	if (reg == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < reg->n; i++)
		if (strcmp(reg->plugins[i].desc->name, name) == 0)
			return &reg->plugins[i];
	return NULL;
}

void loader_close(struct registry *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = reg->n; i > 0; i--)
		if (reg->plugins[i - 1].handle != NULL)
			dlclose(reg->plugins[i - 1].handle);
	free(reg->plugins);
	reg->plugins = NULL;
	reg->n = 0;
	reg->cap = 0;
	free(reg->files);
	reg->files = NULL;
	reg->nfiles = 0;
}

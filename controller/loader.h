/* SPDX-License-Identifier: PostgreSQL */
/*
 * loader.h — finding, opening and ordering plugins.
 *
 * Each plugin file dbops_<name>.so is dlopen'd (RTLD_NOW|RTLD_LOCAL), its
 * entry point called with the host's ABI version, and the descriptor it
 * returns checked. Every refusal has its own diagnostic: not a dbops
 * plugin, declined, bad magic, other major, newer minor, descriptor too
 * small, name not matching the file, duplicate name, missing required
 * callback, missing dependency, dependency cycle. A refused file is closed
 * again and nothing it returned is kept.
 */
#ifndef DBOPS_CTRL_LOADER_H
#define DBOPS_CTRL_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "dbops/diag.h"
#include "dbops/plugin.h"

struct loaded_plugin {
	const struct dbops_plugin *desc; /* a copy in the loader's arena,
					    members past the plugin's size
					    NULL; the arena must outlive
					    the registry */
	void *handle;			 /* dlopen handle */
	const char *path;		 /* file it was loaded from */
	void *state;			 /* plugin-instance state (host) */
};

/* A plugin file found by loader_scan, not necessarily loaded. */
struct plugin_file {
	const char *name; /* the file's stem: the plugin's name and section */
	const char *path;
};

struct registry {
	struct loaded_plugin *plugins; /* sorted: phase, after, name */
	size_t n;
	size_t cap;
	struct plugin_file *files; /* loader_scan's, sorted by name */
	size_t nfiles;
	/* loader_scan's arena: the descriptors and paths of plugins that
	 * loader_require loads later live here, as long as the registry,
	 * not in the arena of the pass that asked for them */
	struct arena *a;
};

/*
 * The plugin directories to search, in order: every entry of
 * DBOPS_PLUGIN_PATH (colon-separated), the install directory
 * (DBOPS_PLUGINDIR, compiled in), and build/plugins beside the running
 * binary: <dir of /proc/self/exe>/plugins (build/plugins for
 * build/dbops) and <dir of exe>/../lib/dbops/plugins (an installed
 * prefix). NULL-terminated, in the arena.
 */
const char *const *loader_search_path(struct arena *a);

/*
 * Load every dbops_*.so of every directory of `dirs` (a missing directory
 * is skipped), then sort. Like PATH, a file stem already loaded from an
 * earlier directory shadows the later file, which is not opened. Every
 * refusal is reported; the return value is 0 or the first error
 * (DBOPS_ERR_ABI, ...). No plugin at all is DBOPS_ERR_NOTFOUND with a hint
 * naming the directories searched and DBOPS_PLUGIN_PATH.
 */
int loader_load_dirs(struct registry *reg, struct arena *a,
		     struct dbops_diag_list *diags, const char *const *dirs);

/*
 * Find the plugin files of `dirs` without opening any (first of a name
 * wins, as in loader_load_dirs): a command loads only the plugins whose
 * sections its spec has (loader_require), since opening a plugin costs
 * the relocation of its libraries. No file at all is DBOPS_ERR_NOTFOUND
 * as in loader_load_dirs.
 */
int loader_scan(struct registry *reg, struct arena *a,
		struct dbops_diag_list *diags, const char *const *dirs);

/*
 * Load the plugins named (those loader_scan found that are not loaded
 * yet; an unknown name is skipped), and the plugins their `after` lists
 * name, then sort. Indexes into reg->plugins change. Sets *loaded (may
 * be NULL) to the number opened. Returns 0 or the first error.
 */
int loader_require(struct registry *reg, struct arena *a,
		   struct dbops_diag_list *diags, const char *const *names,
		   size_t n, size_t *loaded);

/* Whether loader_scan found a plugin of that name. */
bool loader_has_file(const struct registry *reg, const char *name);

/* Load one file into the registry (not yet sorted); a name already in
 * the registry is refused as a duplicate. */
int loader_load_file(struct registry *reg, struct arena *a,
		     struct dbops_diag_list *diags, const char *path);

/* Order by phase, then `after` edges, then name; refuse a missing `after`
 * target or a cycle (naming its members). */
int loader_sort(struct registry *reg, struct arena *a,
		struct dbops_diag_list *diags);

const struct loaded_plugin *loader_find(const struct registry *reg,
					const char *name);

/* dlclose every plugin (after fini was called by the host) and free
 * reg->plugins and reg->files (heap memory, grown by the loader).
 * NULL-safe. */
void loader_close(struct registry *reg);

#endif

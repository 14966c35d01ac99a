/* SPDX-License-Identifier: PostgreSQL */
/*
 * spec_read.c — reading the spec tree: the typed getters behind the host
 * table (strings, booleans, integers, secret references, allowed keys
 * with "did you mean"), the top level of a cluster spec and the fleet
 * file. Every problem is a located diagnostic; readers collect them all.
 */
#include "spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "spec_int.h"
#include "strbuf.h"

/* ---- reading the tree */

const char *spec_kind_name(const struct dbops_node *node)
{
	if (node == NULL)
		return "null";
	switch (node->kind) {
	case DBOPS_NODE_NULL:
		return "null";
	case DBOPS_NODE_SCALAR:
		return "a string";
	case DBOPS_NODE_MAP:
		return "a map";
	case DBOPS_NODE_SEQ:
		return "a list";
	}
	return "null";
}

const struct dbops_node *spec_get(const struct dbops_node *map, const char *key)
{
	if (map == NULL || map->kind != DBOPS_NODE_MAP || key == NULL)
		return NULL;
	for (size_t i = 0; i < map->len; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

/* The error for an absent node handed to a getter. */
static int missing(struct dbops_diag_list *diags, struct arena *a,
		   const char *what)
{
	spec__err_at(diags, a, NULL, "%s is required", what);
	return DBOPS_ERR_INVALID;
}

int spec_check_keys(struct dbops_diag_list *diags, struct arena *a,
		    const struct dbops_node *map, const char *what,
		    const char *const *allowed)
{
	size_t nallowed = 0;
	int rc = 0;

	if (map == NULL)
		return missing(diags, a, what);
	if (map->kind != DBOPS_NODE_MAP) {
		spec__err_at(diags, a, &map->loc, "%s must be a map, got %s",
			     what, spec_kind_name(map));
		return DBOPS_ERR_INVALID;
	}
	while (allowed != NULL && allowed[nallowed] != NULL)
		nallowed++;
	for (size_t i = 0; i < map->len; i++) {
		const char *key = map->keys[i];
		const char *guess;
		struct dbops_diag *d;
		struct strbuf sb;
		size_t j;

		for (j = 0; j < nallowed; j++)
			if (strcmp(allowed[j], key) == 0)
				break;
		if (j < nallowed)
			continue;
		rc = DBOPS_ERR_INVALID;
		d = spec__err_at(diags, a, &map->key_nodes[i]->loc,
				 "unknown key %s in %s", diag_value(a, key),
				 what);
		guess = diag_suggest(key, allowed, nallowed);
		if (guess != NULL) {
			diag_hint(d, a, "Did you mean \"%s\"?", guess);
			continue;
		}
		if (nallowed == 0) {
			diag_hint(d, a, "No keys are allowed here.");
			continue;
		}
		strbuf_init(&sb);
		for (j = 0; j < nallowed; j++)
			strbuf_printf(&sb, "%s%s", j > 0 ? ", " : "",
				      allowed[j]);
		diag_hint(d, a, "Allowed keys are: %s.", sb.buf);
		strbuf_dispose(&sb);
	}
	return rc;
}

int spec_string(const char **out, struct dbops_diag_list *diags,
		struct arena *a, const struct dbops_node *node,
		const char *what)
{
	if (node == NULL)
		return missing(diags, a, what);
	if (node->kind != DBOPS_NODE_SCALAR) {
		spec__err_at(diags, a, &node->loc,
			     "%s must be a string, got %s", what,
			     spec_kind_name(node));
		return DBOPS_ERR_INVALID;
	}
	*out = node->scalar;
	return 0;
}

int spec_bool(bool *out, struct dbops_diag_list *diags, struct arena *a,
	      const struct dbops_node *node, const char *what)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};

	if (node == NULL)
		return missing(diags, a, what);
	if (node->kind != DBOPS_NODE_SCALAR) {
		spec__err_at(diags, a, &node->loc,
			     "%s must be a boolean, got %s", what,
			     spec_kind_name(node));
		return DBOPS_ERR_INVALID;
	}
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(node->scalar, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(node->scalar, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	spec__err_at(diags, a, &node->loc, "%s must be a boolean, got %s", what,
		     diag_value(a, node->scalar));
	return DBOPS_ERR_INVALID;
}

int spec_int(int64_t *out, struct dbops_diag_list *diags, struct arena *a,
	     const struct dbops_node *node, const char *what, int64_t min,
	     int64_t max)
{
	const char *s, *num;
	char *end;
	long long v;

	if (node == NULL)
		return missing(diags, a, what);
	if (node->kind != DBOPS_NODE_SCALAR) {
		spec__err_at(diags, a, &node->loc,
			     "%s must be an integer, got %s", what,
			     spec_kind_name(node));
		return DBOPS_ERR_INVALID;
	}
	s = node->scalar;
	num = s + (s[0] == '+' || s[0] == '-');
	if (num[0] == '\0' || !spec__only_chars(num, spec__digits, "", "")) {
		spec__err_at(diags, a, &node->loc,
			     "%s must be an integer, got %s", what,
			     diag_value(a, s));
		return DBOPS_ERR_INVALID;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || v < min || v > max) {
		spec__err_at(diags, a, &node->loc,
			     "%s must be between %lld and %lld, got %s", what,
			     (long long)min, (long long)max, diag_value(a, s));
		return DBOPS_ERR_INVALID;
	}
	*out = v;
	return 0;
}

static bool env_name_valid(const char *s)
{
	if (s[0] == '\0' ||
	    (strchr(spec__letters, s[0]) == NULL && s[0] != '_'))
		return false;
	return spec__only_chars(s, spec__letters, spec__digits, "_");
}

/* The messages of this function never quote the text of the spec: a
 * literal secret written where a reference belongs must not leak. */
int spec_secret(struct dbops_secret_ref *out, struct dbops_diag_list *diags,
		struct arena *a, const struct dbops_node *node,
		const char *what)
{
	static const char *const keys[] = {"env", "file", NULL};
	const char *name = NULL;
	const char *sub;
	struct dbops_diag *d;
	bool is_env;

	if (node == NULL)
		return missing(diags, a, what);
	if (node->kind != DBOPS_NODE_MAP) {
		if (node->kind == DBOPS_NODE_SCALAR)
			d = spec__err_at(
			    diags, a, &node->loc,
			    "%s must be a secret reference, not a literal value",
			    what);
		else
			d = spec__err_at(
			    diags, a, &node->loc,
			    "%s must be a secret reference, got %s", what,
			    spec_kind_name(node));
		diag_hint(d, a, "%s", spec__secret_hint);
		return DBOPS_ERR_INVALID;
	}
	if (spec_check_keys(diags, a, node, what, keys) < 0)
		return DBOPS_ERR_INVALID;
	if (node->len != 1) {
		d = spec__err_at(
		    diags, a, &node->loc,
		    "%s must have exactly one key, \"env\" or \"file\"", what);
		diag_hint(d, a, "%s", spec__secret_hint);
		return DBOPS_ERR_INVALID;
	}
	is_env = strcmp(node->keys[0], "env") == 0;
	sub = arena_printf(a, "%s.%s", what, node->keys[0]);
	if (spec_string(&name, diags, a, node->items[0], sub) < 0)
		return DBOPS_ERR_INVALID;
	if (is_env && !env_name_valid(name)) {
		d = spec__err_at(diags, a, &node->items[0]->loc,
				 "%s is not a valid environment variable name",
				 sub);
		diag_hint(
		    d, a,
		    "A variable name starts with a letter or \"_\" and has only letters, digits and \"_\".");
		return DBOPS_ERR_INVALID;
	}
	if (!is_env && name[0] == '\0') {
		spec__err_at(diags, a, &node->items[0]->loc,
			     "%s must not be empty", sub);
		return DBOPS_ERR_INVALID;
	}
	out->kind = is_env ? DBOPS_SECRET_ENV : DBOPS_SECRET_FILE;
	out->name = name;
	out->loc = node->loc;
	return 0;
}

/* ---- the top level of a cluster spec and of the fleet file */

static bool name_valid(const char *s)
{
	return s[0] != '\0' &&
	       spec__only_chars(s, spec__letters, spec__digits, "_.-");
}

static int name_check(struct dbops_diag_list *diags, struct arena *a,
		      const struct dbops_node *node, const char *name,
		      const char *what)
{
	struct dbops_diag *d;

	if (name_valid(name))
		return 0;
	d = spec__err_at(diags, a, &node->loc, "invalid %s %s", what,
			 diag_value(a, name));
	diag_detail(
	    d, a,
	    "A cluster name may contain only letters, digits, \"_\", \".\" and \"-\".");
	return DBOPS_ERR_INVALID;
}

/* apiVersion, present and supported; `kind` names the file's role. */
static int api_version_read(const char **out, struct dbops_diag_list *diags,
			    struct arena *a, const struct dbops_node *root)
{
	const struct dbops_node *v = spec_get(root, "apiVersion");
	struct dbops_diag *d;

	if (v == NULL) {
		d = spec__err_at(diags, a, &root->loc,
				 "missing required key \"apiVersion\"");
		diag_hint(d, a,
			  "Add \"apiVersion: %s\" at the top of the file.",
			  SPEC_API_VERSION);
		return DBOPS_ERR_INVALID;
	}
	if (spec_string(out, diags, a, v, "apiVersion") < 0)
		return DBOPS_ERR_INVALID;
	if (strcmp(*out, SPEC_API_VERSION) != 0) {
		d = spec__err_at(diags, a, &v->loc, "unsupported apiVersion %s",
				 diag_value(a, *out));
		diag_hint(d, a, "The supported version is \"%s\".",
			  SPEC_API_VERSION);
		return DBOPS_ERR_INVALID;
	}
	return 0;
}

/* The root must be a map; an empty document only lacks its apiVersion. */
static int root_check(struct dbops_diag_list *diags, struct arena *a,
		      const struct dbops_node *root, const char *what)
{
	const char *version;

	if (root == NULL) {
		spec__err_at(diags, a, NULL, "%s is empty", what);
		return DBOPS_ERR_INVALID;
	}
	if (root->kind == DBOPS_NODE_NULL)
		return api_version_read(&version, diags, a, root);
	if (root->kind != DBOPS_NODE_MAP) {
		spec__err_at(diags, a, &root->loc, "%s must be a map, got %s",
			     what, spec_kind_name(root));
		return DBOPS_ERR_INVALID;
	}
	return 0;
}

static void connection_read(struct spec_cluster *out,
			    struct dbops_diag_list *diags, struct arena *a,
			    const struct dbops_node *conn)
{
	static const char *const keys[] = {"conninfo", "password", NULL};
	const struct dbops_node *v;

	if (spec_check_keys(diags, a, conn, "connection", keys) < 0 &&
	    conn->kind != DBOPS_NODE_MAP)
		return;
	v = spec_get(conn, "conninfo");
	if (v != NULL)
		spec_string(&out->conninfo, diags, a, v, "connection.conninfo");
	v = spec_get(conn, "password");
	if (v != NULL && spec_secret(&out->password, diags, a, v,
				     "connection.password") == 0)
		out->has_password = true;
}

static void cluster_check(struct spec_cluster *out,
			  struct dbops_diag_list *diags, struct arena *a,
			  const struct dbops_node *root,
			  const char *const *sections, size_t nsections)
{
	static const char *const core[] = {"apiVersion", "cluster",
					   "connection", "allow_destructive"};
	const size_t ncore = sizeof(core) / sizeof(core[0]);
	const char **known;
	const struct dbops_node *v;

	if (root_check(diags, a, root, "the cluster spec") < 0)
		return;
	known = arena_alloc(a, (ncore + nsections + 1) * sizeof(*known));
	memcpy(known, core, sizeof(core));
	for (size_t i = 0; i < nsections; i++)
		known[ncore + i] = sections[i];
	spec_check_keys(diags, a, root, "the cluster spec", known);
	api_version_read(&out->api_version, diags, a, root);
	v = spec_get(root, "cluster");
	if (v != NULL && spec_string(&out->name, diags, a, v, "cluster") == 0 &&
	    name_check(diags, a, v, out->name, "cluster name") < 0)
		out->name = NULL;
	v = spec_get(root, "connection");
	if (v != NULL)
		connection_read(out, diags, a, v);
	v = spec_get(root, "allow_destructive");
	if (v != NULL)
		spec_bool(&out->allow_destructive, diags, a, v,
			  "allow_destructive");
}

int spec_cluster_read(struct spec_cluster *out, struct dbops_diag_list *diags,
		      struct arena *a, const struct dbops_node *root,
		      const char *const *sections, size_t nsections)
{
	struct dbops_diag_list found = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	out->root = root;
	cluster_check(out, &found, a, root, sections, nsections);
	rc = found.nerrors > 0 ? DBOPS_ERR_INVALID : 0;
	spec__diags_move_sorted(diags, &found, a);
	return rc;
}

/* A directory relative to the repository root, without "..". */
static int fleet_path_check(struct dbops_diag_list *diags, struct arena *a,
			    const struct dbops_node *node, const char *path,
			    const char *what)
{
	struct dbops_diag *d;
	const char *s = path;

	if (path[0] == '\0') {
		spec__err_at(diags, a, &node->loc, "%s must not be empty",
			     what);
		return DBOPS_ERR_INVALID;
	}
	if (path[0] == '/') {
		d = spec__err_at(diags, a, &node->loc,
				 "%s must be a relative path, got %s", what,
				 diag_value(a, path));
		diag_hint(
		    d, a,
		    "Give the cluster's directory relative to the repository root.");
		return DBOPS_ERR_INVALID;
	}
	while (*s != '\0') {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.') {
			d = spec__err_at(diags, a, &node->loc,
					 "%s must not contain \"..\", got %s",
					 what, diag_value(a, path));
			diag_hint(
			    d, a,
			    "Cluster directories must lie inside the repository.");
			return DBOPS_ERR_INVALID;
		}
		s += n;
		s += *s == '/';
	}
	return 0;
}

/* A required key of a fleet entry, or NULL after reporting it missing. */
static const struct dbops_node *fleet_key(struct dbops_diag_list *diags,
					  struct arena *a,
					  const struct dbops_node *item,
					  const char *key, const char *what)
{
	const struct dbops_node *v = spec_get(item, key);
	struct dbops_diag *d;

	if (v != NULL)
		return v;
	d = spec__err_at(diags, a, &item->loc,
			 "missing required key \"%s\" in %s", key, what);
	diag_hint(d, a,
		  "Each cluster is written {name: NAME, path: DIRECTORY}.");
	return NULL;
}

/*
 * One entry of `clusters:`. Entries are kept even when wrong so that a
 * later duplicate is still found; the caller drops them all on any error.
 */
static void fleet_member_read(struct spec_fleet *out,
			      struct dbops_diag_list *diags, struct arena *a,
			      const struct dbops_node *item, size_t idx)
{
	static const char *const keys[] = {"name", "path", NULL};
	const char *what = arena_printf(a, "clusters[%zu]", idx);
	const char *name = NULL, *path = NULL;
	const struct dbops_node *nn, *pn;
	struct dbops_diag *d;
	const char *w;

	if (spec_check_keys(diags, a, item, what, keys) < 0 &&
	    item->kind != DBOPS_NODE_MAP)
		return;
	nn = fleet_key(diags, a, item, "name", what);
	pn = fleet_key(diags, a, item, "path", what);
	w = arena_printf(a, "%s.name", what);
	if (nn != NULL && spec_string(&name, diags, a, nn, w) == 0 &&
	    name_check(diags, a, nn, name, "cluster name") < 0)
		name = NULL;
	w = arena_printf(a, "%s.path", what);
	if (pn != NULL && spec_string(&path, diags, a, pn, w) == 0)
		fleet_path_check(diags, a, pn, path, w);
	for (size_t i = 0; name != NULL && i < out->n; i++) {
		if (out->members[i].name == NULL ||
		    strcmp(out->members[i].name, name) != 0)
			continue;
		d = spec__err_at(diags, a, &nn->loc,
				 "duplicate cluster name %s",
				 diag_value(a, name));
		diag_detail(d, a,
			    "The cluster %s was first defined at line %u.",
			    diag_value(a, name), out->members[i].loc.line);
		return;
	}
	out->members[out->n].name = name;
	out->members[out->n].path = path;
	out->members[out->n].loc = item->loc;
	out->n++;
}

static void fleet_check(struct spec_fleet *out, struct dbops_diag_list *diags,
			struct arena *a, const struct dbops_node *root)
{
	static const char *const keys[] = {"apiVersion", "clusters", NULL};
	const struct dbops_node *list;
	const char *version;
	struct dbops_diag *d;

	if (root_check(diags, a, root, "the fleet file") < 0)
		return;
	spec_check_keys(diags, a, root, "the fleet file", keys);
	api_version_read(&version, diags, a, root);
	list = spec_get(root, "clusters");
	if (list == NULL) {
		d = spec__err_at(diags, a, &root->loc,
				 "missing required key \"clusters\"");
		diag_hint(
		    d, a,
		    "List the clusters as \"clusters: [{name: NAME, path: DIRECTORY}]\".");
	} else if (list->kind != DBOPS_NODE_SEQ || list->len == 0) {
		d = spec__err_at(diags, a, &list->loc,
				 "clusters must be a list of clusters, got %s",
				 list->kind == DBOPS_NODE_SEQ
				     ? "an empty list"
				     : spec_kind_name(list));
		diag_hint(
		    d, a,
		    "List the clusters as \"clusters: [{name: NAME, path: DIRECTORY}]\".");
	} else {
		out->members =
		    arena_alloc(a, list->len * sizeof(*out->members));
		for (size_t i = 0; i < list->len; i++)
			fleet_member_read(out, diags, a, list->items[i], i);
	}
}

int spec_fleet_read(struct spec_fleet *out, struct dbops_diag_list *diags,
		    struct arena *a, const struct dbops_node *root)
{
	struct dbops_diag_list found = {0};

	memset(out, 0, sizeof(*out));
	fleet_check(out, &found, a, root);
	if (found.nerrors == 0)
		return 0;
	out->n = 0;
	spec__diags_move_sorted(diags, &found, a);
	return DBOPS_ERR_INVALID;
}

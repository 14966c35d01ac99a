/* SPDX-License-Identifier: PostgreSQL */
/*
 * config.c — dbops' own configuration file; see config.h. The file is
 * trusted (it is not part of any revision), so it is read with plain
 * POSIX I/O from the path given; it goes through the spec parser for the
 * same limits and located errors.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "spec.h"

#define CONFIG_MAX_FILE (1024 * 1024)

static const char *const config_keys[] = {"apiVersion", "secrets",
					  "trusted_rev", "clusters", NULL};

static int config_read_file(const char **data, size_t *len, struct arena *a,
			    struct dbops_diag_list *diags, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		struct dbops_diag *d = diag_add(
		    diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, NULL,
		    "could not open configuration file \"%s\": %s", path,
		    strerror(errno));

		d->hint = "Give an existing file with --config or "
			  "$DBOPS_CONFIG, or neither for the defaults.";
		return DBOPS_ERR_NOTFOUND;
	}
	buf = arena_alloc(a, CONFIG_MAX_FILE + 1);
	n = fread(buf, 1, CONFIG_MAX_FILE + 1, f);
	fclose(f);
	if (n > CONFIG_MAX_FILE) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			 "configuration file \"%s\" is larger than 1 MiB",
			 path);
		return DBOPS_ERR_INVALID;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

static int config_strings(const char *const **out, size_t *n,
			  struct dbops_diag_list *diags, struct arena *a,
			  const struct dbops_node *node, const char *what)
{
	const char **v;
	int rc = 0;

	if (node->kind != DBOPS_NODE_SEQ) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			 &node->loc, "%s must be a list, got %s", what,
			 spec_kind_name(node));
		return DBOPS_ERR_INVALID;
	}
	v = arena_alloc(a, (node->len + 1) * sizeof(*v));
	for (size_t i = 0; i < node->len; i++)
		if (spec_string(&v[i], diags, a, node->items[i], what) != 0)
			rc = DBOPS_ERR_INVALID;
	*out = v;
	*n = node->len;
	return rc;
}

static int config_secrets(struct config *c, struct dbops_diag_list *diags,
			  struct arena *a, const struct dbops_node *node)
{
	static const char *const keys[] = {"env", "files", NULL};
	const struct dbops_node *v;
	const char **dirs;
	int rc = 0;

	if (spec_check_keys(diags, a, node, "secrets", keys) != 0)
		return DBOPS_ERR_INVALID;
	if ((v = spec_get(node, "env")) != NULL &&
	    config_strings(&c->secret_env, &c->nsecret_env, diags, a, v,
			   "secrets.env") != 0)
		rc = DBOPS_ERR_INVALID;
	if ((v = spec_get(node, "files")) == NULL)
		return rc;
	if (config_strings(&c->secret_dirs, &c->nsecret_dirs, diags, a, v,
			   "secrets.files") != 0)
		return DBOPS_ERR_INVALID;
	dirs = arena_alloc(a, (c->nsecret_dirs + 1) * sizeof(*dirs));
	for (size_t i = 0; i < c->nsecret_dirs; i++) {
		const char *dir = c->secret_dirs[i];
		size_t len = strlen(dir);

		if (dir[0] != '/' || strstr(dir, "/../") != NULL ||
		    (len >= 3 && strcmp(dir + len - 3, "/..") == 0)) {
			struct dbops_diag *d = diag_add(
			    diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			    &v->items[i]->loc,
			    "secrets.files must list absolute directories, got \"%s\"",
			    dir);

			d->hint = "Write the directory from the root, without "
				  "\"..\": /run/secrets.";
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		while (len > 1 && dir[len - 1] == '/')
			len--;
		dirs[i] = arena_strndup(a, dir, len);
	}
	c->secret_dirs = dirs;
	return rc;
}

static int config_clusters(struct config *c, struct dbops_diag_list *diags,
			   struct arena *a, const struct dbops_node *node)
{
	static const char *const ckeys[] = {"connection", NULL};
	static const char *const conn_keys[] = {"conninfo", "password", NULL};
	int rc = 0;

	if (node->kind != DBOPS_NODE_MAP) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			 &node->loc, "clusters must be a map, got %s",
			 spec_kind_name(node));
		return DBOPS_ERR_INVALID;
	}
	c->clusters = arena_alloc(a, (node->len + 1) * sizeof(*c->clusters));
	for (size_t i = 0; i < node->len; i++) {
		struct config_cluster *cc = &c->clusters[c->nclusters];
		const struct dbops_node *item = node->items[i], *conn, *v;

		cc->name = node->keys[i];
		cc->loc = item->loc;
		if (spec_check_keys(diags, a, item, "a cluster", ckeys) != 0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		if ((conn = spec_get(item, "connection")) == NULL) {
			c->nclusters++;
			continue;
		}
		if (spec_check_keys(diags, a, conn, "connection", conn_keys) !=
		    0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		if ((v = spec_get(conn, "conninfo")) != NULL &&
		    spec_string(&cc->conninfo, diags, a, v,
				"connection.conninfo") != 0)
			rc = DBOPS_ERR_INVALID;
		if ((v = spec_get(conn, "password")) != NULL) {
			if (spec_secret(&cc->password, diags, a, v,
					"connection.password") != 0)
				rc = DBOPS_ERR_INVALID;
			else
				cc->has_password = true;
		}
		c->nclusters++;
	}
	return rc;
}

int config_load(struct config *out, struct arena *a,
		struct dbops_diag_list *diags, const char *path,
		const char *const *extra)
{
	static const char *const default_env[] = {CONFIG_DEFAULT_SECRET_ENV,
						  NULL};
	const char *data;
	const char **keys;
	const struct dbops_node *v;
	size_t len, nkeys = 0, nextra = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->secret_env = default_env;
	out->nsecret_env = 1;
	if (path == NULL)
		path = getenv("DBOPS_CONFIG");
	if (path == NULL || path[0] == '\0')
		return 0;
	out->path = arena_strdup(a, path);
	if ((rc = config_read_file(&data, &len, a, diags, path)) != 0)
		return rc;
	rc = spec_parse(&out->root, a, diags, out->path, data, len,
			&spec_default_limits);
	if (out->root == NULL)
		return rc != 0 ? rc : DBOPS_ERR_INVALID;
	while (extra != NULL && extra[nextra] != NULL)
		nextra++;
	keys = arena_alloc(a, (nextra + 5) * sizeof(*keys));
	for (size_t i = 0; config_keys[i] != NULL; i++)
		keys[nkeys++] = config_keys[i];
	for (size_t i = 0; i < nextra; i++)
		keys[nkeys++] = extra[i];
	if (spec_check_keys(diags, a, out->root, "the configuration", keys))
		rc = DBOPS_ERR_INVALID;
	if ((v = spec_get(out->root, "apiVersion")) != NULL) {
		const char *api = NULL;

		if (spec_string(&api, diags, a, v, "apiVersion") != 0 ||
		    strcmp(api, SPEC_API_VERSION) != 0) {
			diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
				 &v->loc,
				 "unknown apiVersion in the configuration")
			    ->hint = "Write apiVersion: " SPEC_API_VERSION ".";
			rc = DBOPS_ERR_INVALID;
		}
	}
	if ((v = spec_get(out->root, "secrets")) != NULL &&
	    config_secrets(out, diags, a, v) != 0)
		rc = DBOPS_ERR_INVALID;
	if ((v = spec_get(out->root, "trusted_rev")) != NULL &&
	    spec_string(&out->trusted_rev, diags, a, v, "trusted_rev") != 0)
		rc = DBOPS_ERR_INVALID;
	if ((v = spec_get(out->root, "clusters")) != NULL &&
	    config_clusters(out, diags, a, v) != 0)
		rc = DBOPS_ERR_INVALID;
	return rc;
}

const struct config_cluster *config_cluster(const struct config *c,
					    const char *name)
{
	for (size_t i = 0; c != NULL && name != NULL && i < c->nclusters; i++)
		if (strcmp(c->clusters[i].name, name) == 0)
			return &c->clusters[i];
	return NULL;
}

/* Whether `path` (absolute, or relative to the working directory) lies
 * below `dir`: by its real directory, so that "..", and symbolic links
 * out of the directory, do not pass. */
static bool config_below(const char *path, const char *dir)
{
	char real[PATH_MAX], parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	size_t dlen = strlen(dir);

	if (strcmp(base, "..") == 0 || strcmp(base, ".") == 0 ||
	    base[0] == '\0')
		return false;
	if (slash == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == path)
		snprintf(parent, sizeof(parent), "/");
	else
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path),
			 path);
	if (realpath(parent, real) == NULL)
		return false;
	/* the file itself, when it is a symbolic link, is followed too */
	{
		char full[PATH_MAX + NAME_MAX + 2], target[PATH_MAX];
		int n = snprintf(full, sizeof(full), "%s/%s",
				 strcmp(real, "/") == 0 ? "" : real, base);

		if (n < 0 || (size_t)n >= sizeof(real))
			return false;
		if (realpath(full, target) != NULL)
			memcpy(real, target, strlen(target) + 1);
		else
			memcpy(real, full, (size_t)n + 1);
	}
	return strncmp(real, dir, dlen) == 0 &&
	       (real[dlen] == '/' || (dlen == 1 && dir[0] == '/'));
}

int config_secret_allowed(const struct config *c,
			  const struct dbops_secret_ref *ref,
			  struct dbops_diag_list *diags, struct arena *a)
{
	static const char *const default_env[] = {CONFIG_DEFAULT_SECRET_ENV,
						  NULL};
	static const struct config defaults = {
	    .secret_env = default_env,
	    .nsecret_env = 1,
	};
	struct dbops_diag *d;

	if (c == NULL)
		c = &defaults;
	if (ref->kind == DBOPS_SECRET_ENV) {
		for (size_t i = 0; i < c->nsecret_env; i++)
			if (fnmatch(c->secret_env[i], ref->name, 0) == 0)
				return 0;
		d = diag_add(
		    diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &ref->loc,
		    "secret reference {env: %s} is not allowed", ref->name);
		diag_detail(
		    d, a,
		    "A spec may reference only the environment variables the configuration of dbops allows (%s); the value was not read.",
		    c->path != NULL ? "secrets.env"
				    : CONFIG_DEFAULT_SECRET_ENV);
		d->hint = "Rename the variable to match, or allow it in "
			  "secrets.env of the configuration file (--config).";
		return DBOPS_ERR_INVALID;
	}
	for (size_t i = 0; i < c->nsecret_dirs; i++)
		if (config_below(ref->name, c->secret_dirs[i]))
			return 0;
	d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &ref->loc,
		     "secret reference {file: %s} is not allowed", ref->name);
	diag_detail(
	    d, a,
	    "A spec may reference files only below the directories the configuration of dbops allows (%s); the file was not read.",
	    c->nsecret_dirs > 0 ? "secrets.files" : "none by default");
	d->hint = "Put the file in an allowed directory, or allow its "
		  "directory in secrets.files of the configuration file "
		  "(--config).";
	return DBOPS_ERR_INVALID;
}

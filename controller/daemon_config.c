/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon_config.c — the daemon's sections of the configuration file; see
 * daemon_config.h. Each section has its reader; each reader reports every
 * problem it finds and goes on, so one run lists them all.
 */
#include "daemon_config.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "spec.h"

const char *const daemon_config_sections[] = {
    "source", "daemon", "fleet", "http", "notify", "forge", NULL};

struct dc_reader {
	struct daemon_config *c;
	struct arena *a;
	struct dbops_diag_list *diags;
	int rc;
};

static struct dbops_diag *dc_error(struct dc_reader *r,
				   const struct dbops_node *node,
				   const char *fmt, ...) DBOPS_PRINTF(3, 4);

static struct dbops_diag *dc_error(struct dc_reader *r,
				   const struct dbops_node *node,
				   const char *fmt, ...)
{
	va_list ap;
	struct dbops_diag *d;

	va_start(ap, fmt);
	d = diag_vadd(r->diags, r->a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		      node != NULL ? &node->loc : NULL, fmt, ap);
	va_end(ap);
	r->rc = DBOPS_ERR_INVALID;
	return d;
}

/* Unknown keys are reported and the known ones still read, so that one
 * run shows every problem; false only when `map` is no map at all. */
static bool dc_keys(struct dc_reader *r, const struct dbops_node *map,
		    const char *what, const char *const *keys)
{
	if (spec_check_keys(r->diags, r->a, map, what, keys) == 0)
		return true;
	r->rc = DBOPS_ERR_INVALID;
	return map != NULL && map->kind == DBOPS_NODE_MAP;
}

static const char *dc_string(struct dc_reader *r, const struct dbops_node *map,
			     const char *key, const char *what, const char *def)
{
	const struct dbops_node *v = spec_get(map, key);
	const char *s = NULL;

	if (v == NULL)
		return def;
	if (spec_string(&s, r->diags, r->a, v, what) != 0) {
		r->rc = DBOPS_ERR_INVALID;
		return def;
	}
	return s;
}

static bool dc_secret(struct dc_reader *r, struct dbops_secret_ref *out,
		      const struct dbops_node *map, const char *key,
		      const char *what)
{
	const struct dbops_node *v = spec_get(map, key);

	if (v == NULL)
		return false;
	if (spec_secret(out, r->diags, r->a, v, what) != 0) {
		r->rc = DBOPS_ERR_INVALID;
		return false;
	}
	return true;
}

/* "250ms", "10s", "5m", "2h", "1d"; a bare number is seconds. */
static bool dc_duration(struct dc_reader *r, double *out,
			const struct dbops_node *node, const char *what,
			double min, double max)
{
	const char *s = NULL;
	char *end;
	double v, unit = 1;

	if (node == NULL)
		return false;
	if (spec_string(&s, r->diags, r->a, node, what) != 0) {
		r->rc = DBOPS_ERR_INVALID;
		return false;
	}
	v = strtod(s, &end);
	if (end == s || !isfinite(v))
		end = NULL;
	else if (strcmp(end, "ms") == 0)
		unit = 0.001;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		unit = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		unit = 60;
	else if (strcmp(end, "h") == 0)
		unit = 3600;
	else if (strcmp(end, "d") == 0)
		unit = 86400;
	else
		end = NULL;
	if (end == NULL) {
		dc_error(r, node, "%s must be a duration, got \"%s\"", what, s)
		    ->hint = "Write a number and a unit: 500ms, 10s, 5m, 2h "
			     "or 1d.";
		return false;
	}
	v *= unit;
	if (v < min || v > max) {
		dc_error(r, node, "%s must be between %gs and %gs, got \"%s\"",
			 what, min, max, s);
		return false;
	}
	*out = v;
	return true;
}

static bool dc_int(struct dc_reader *r, int *out, const struct dbops_node *map,
		   const char *key, const char *what, int min, int max)
{
	const struct dbops_node *v = spec_get(map, key);
	int64_t n;

	if (v == NULL)
		return false;
	if (spec_int(&n, r->diags, r->a, v, what, min, max) != 0) {
		r->rc = DBOPS_ERR_INVALID;
		return false;
	}
	*out = (int)n;
	return true;
}

/* ---- source */

static void dc_source(struct dc_reader *r, const struct dbops_node *node)
{
	static const char *const keys[] = {"url",	  "branch",    "path",
					   "credentials", "cache_dir", NULL};
	static const char *const ckeys[] = {"token", "user", "ssh_key",
					    "ssh_passphrase", NULL};
	struct daemon_config *c = r->c;
	const struct dbops_node *cred;

	if (!dc_keys(r, node, "source", keys))
		return;
	c->has_source = true;
	c->url = dc_string(r, node, "url", "source.url", NULL);
	if (c->url == NULL && spec_get(node, "url") == NULL)
		dc_error(r, node, "source.url is required")->hint =
		    "Give the repository the daemon reconciles: a URL "
		    "(https://, ssh://, file://) or a local path.";
	c->branch = dc_string(r, node, "branch", "source.branch", "main");
	c->path = dc_string(r, node, "path", "source.path", "");
	if (strstr(c->path, "..") != NULL || c->path[0] == '/')
		dc_error(r, spec_get(node, "path"),
			 "source.path must be a directory of the repository, "
			 "got \"%s\"",
			 c->path)
		    ->hint = "Write it relative to the repository's root, "
			     "without \"..\".";
	c->cache_dir =
	    dc_string(r, node, "cache_dir", "source.cache_dir", NULL);
	if ((cred = spec_get(node, "credentials")) == NULL ||
	    !dc_keys(r, cred, "source.credentials", ckeys))
		return;
	c->has_token =
	    dc_secret(r, &c->token, cred, "token", "source.credentials.token");
	c->git_user =
	    dc_string(r, cred, "user", "source.credentials.user", NULL);
	if (spec_get(cred, "ssh_key") != NULL) {
		struct dbops_secret_ref key;

		if (dc_secret(r, &key, cred, "ssh_key",
			      "source.credentials.ssh_key")) {
			if (key.kind != DBOPS_SECRET_FILE)
				dc_error(r, spec_get(cred, "ssh_key"),
					 "source.credentials.ssh_key must be a "
					 "file reference")
				    ->hint = "Write {file: /path/to/key}: "
					     "libgit2 reads the key itself.";
			else
				c->ssh_key = key.name;
		}
	}
	c->has_ssh_passphrase =
	    dc_secret(r, &c->ssh_passphrase, cred, "ssh_passphrase",
		      "source.credentials.ssh_passphrase");
}

/* ---- drift policies and windows */

static bool dc_policy(struct dc_reader *r, enum drift_policy *out,
		      const struct dbops_node *node, const char *what)
{
	static const char *const names[] = {"enforce", "report", "ignore"};
	const char *s = NULL;

	if (spec_string(&s, r->diags, r->a, node, what) != 0) {
		r->rc = DBOPS_ERR_INVALID;
		return false;
	}
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum drift_policy)i;
			return true;
		}
	{
		struct dbops_diag *d = dc_error(
		    r, node, "unknown drift policy \"%s\" in %s", s, what);
		const char *best = diag_suggest(s, names, 3);

		d->hint = best != NULL
			      ? arena_printf(r->a, "Did you mean \"%s\"?", best)
			      : "Write enforce, report or ignore.";
	}
	return false;
}

static void dc_rules(struct dc_reader *r, struct drift_rule **out, size_t *n,
		     const struct dbops_node *map, const char *what)
{
	if (map->kind != DBOPS_NODE_MAP) {
		dc_error(r, map, "%s must be a map, got %s", what,
			 spec_kind_name(map));
		return;
	}
	*out = arena_alloc(r->a, (map->len + 1) * sizeof(**out));
	for (size_t i = 0; i < map->len; i++) {
		struct drift_rule *rule = &(*out)[*n];

		rule->pattern = map->keys[i];
		rule->loc = map->key_nodes[i]->loc;
		if (dc_policy(r, &rule->policy, map->items[i],
			      arena_printf(r->a, "%s.%s", what, map->keys[i])))
			(*n)++;
	}
}

static void dc_drift(struct dc_reader *r, struct drift_conf *d,
		     const struct dbops_node *node, const char *what)
{
	static const char *const keys[] = {"default", "plugins", "objects",
					   NULL};
	const struct dbops_node *v;

	if (node->kind == DBOPS_NODE_SCALAR) { /* drift: report */
		d->has_default = dc_policy(r, &d->def, node, what);
		return;
	}
	if (!dc_keys(r, node, what, keys))
		return;
	if ((v = spec_get(node, "default")) != NULL)
		d->has_default = dc_policy(
		    r, &d->def, v, arena_printf(r->a, "%s.default", what));
	if ((v = spec_get(node, "plugins")) != NULL)
		dc_rules(r, &d->plugins, &d->nplugins, v,
			 arena_printf(r->a, "%s.plugins", what));
	if ((v = spec_get(node, "objects")) != NULL)
		dc_rules(r, &d->objects, &d->nobjects, v,
			 arena_printf(r->a, "%s.objects", what));
}

static void dc_window(struct dc_reader *r, struct window *w,
		      const struct dbops_node *node, const char *what)
{
	static const char *const keys[] = {"allow", "deny", "duration",
					   "timezone", NULL};
	const struct dbops_node *allow, *deny, *sched;
	const char *error = NULL;
	char buf[200];
	double dur = 0;

	if (!dc_keys(r, node, what, keys))
		return;
	w->loc = node->loc;
	allow = spec_get(node, "allow");
	deny = spec_get(node, "deny");
	if ((allow == NULL) == (deny == NULL)) {
		dc_error(r, node, "%s needs exactly one of allow and deny",
			 what)
		    ->hint = "Write {allow: \"0 2 * * *\", duration: 2h, "
			     "timezone: Europe/Paris}.";
		return;
	}
	w->deny = deny != NULL;
	sched = deny != NULL ? deny : allow;
	if (spec_string(&w->schedule, r->diags, r->a, sched,
			arena_printf(r->a, "%s.%s", what,
				     w->deny ? "deny" : "allow")) != 0) {
		r->rc = DBOPS_ERR_INVALID;
		return;
	}
	if (cron_parse(&w->cron, w->schedule, &error, buf, sizeof(buf)) != 0)
		diag_detail(dc_error(r, sched,
				     "invalid cron expression \"%s\" in %s",
				     w->schedule, what),
			    r->a, "%s", error);
	if (spec_get(node, "duration") == NULL)
		dc_error(r, node, "%s.duration is required", what);
	else if (dc_duration(r, &dur, spec_get(node, "duration"),
			     arena_printf(r->a, "%s.duration", what), 60,
			     (double)WINDOW_MAX_DURATION))
		w->duration_s = (long)dur;
	w->zone = dc_string(r, node, "timezone",
			    arena_printf(r->a, "%s.timezone", what), NULL);
	if (spec_get(node, "timezone") == NULL)
		dc_error(r, node, "%s.timezone is required", what)->hint =
		    "Say which clock the schedule follows: timezone: UTC, or "
		    "a name such as Europe/Paris.";
	else if (w->zone != NULL && tz_load(&w->tz, r->a, w->zone, &error) != 0)
		diag_detail(dc_error(r, spec_get(node, "timezone"),
				     "unknown time zone \"%s\" in %s", w->zone,
				     what),
			    r->a, "%s", error);
}

static void dc_windows(struct dc_reader *r, struct window **out, size_t *n,
		       const struct dbops_node *node, const char *what)
{
	if (node->kind != DBOPS_NODE_SEQ) {
		dc_error(r, node, "%s must be a list, got %s", what,
			 spec_kind_name(node));
		return;
	}
	*out = arena_alloc(r->a, (node->len + 1) * sizeof(**out));
	for (size_t i = 0; i < node->len; i++)
		dc_window(r, &(*out)[i], node->items[i],
			  arena_printf(r->a, "%s[%zu]", what, i));
	*n = node->len;
}

/* ---- daemon, fleet */

static void dc_daemon(struct dc_reader *r, const struct dbops_node *node)
{
	static const char *const keys[] = {"interval", "jitter", "workers",
					   "identity", "drift",	 "windows",
					   NULL};
	struct daemon_config *c = r->c;
	const struct dbops_node *v;

	if (!dc_keys(r, node, "daemon", keys))
		return;
	dc_duration(r, &c->interval_s, spec_get(node, "interval"),
		    "daemon.interval", 1, 86400);
	if ((v = spec_get(node, "jitter")) != NULL) {
		const char *s = NULL;
		char *end;
		double j;

		if (spec_string(&s, r->diags, r->a, v, "daemon.jitter") != 0)
			r->rc = DBOPS_ERR_INVALID;
		else if ((j = strtod(s, &end)) < 0 || j > 50 || end == s ||
			 strcmp(end, "%") != 0)
			dc_error(r, v,
				 "daemon.jitter must be a percentage between "
				 "0%% and 50%%, got \"%s\"",
				 s);
		else
			c->jitter = j / 100.0;
	}
	dc_int(r, &c->workers, node, "workers", "daemon.workers", 1, 64);
	c->identity = dc_string(r, node, "identity", "daemon.identity", NULL);
	if ((v = spec_get(node, "drift")) != NULL)
		dc_drift(r, &c->drift, v, "daemon.drift");
	if ((v = spec_get(node, "windows")) != NULL)
		dc_windows(r, &c->windows, &c->nwindows, v, "daemon.windows");
}

static void dc_fleet(struct dc_reader *r, const struct dbops_node *node)
{
	static const char *const keys[] = {"clusters", NULL};
	static const char *const ckeys[] = {"drift", "windows", NULL};
	struct daemon_config *c = r->c;
	const struct dbops_node *cl;

	if (!dc_keys(r, node, "fleet", keys) ||
	    (cl = spec_get(node, "clusters")) == NULL)
		return;
	if (cl->kind != DBOPS_NODE_MAP) {
		dc_error(r, cl, "fleet.clusters must be a map, got %s",
			 spec_kind_name(cl))
		    ->hint = "List the clusters by name: "
			     "clusters: {prod: {drift: report}, staging: {}}.";
		return;
	}
	c->fleet_explicit = true;
	c->clusters = arena_alloc(r->a, (cl->len + 1) * sizeof(*c->clusters));
	for (size_t i = 0; i < cl->len; i++) {
		struct daemon_cluster *dc = &c->clusters[c->nclusters++];
		const struct dbops_node *item = cl->items[i], *v;
		const char *what =
		    arena_printf(r->a, "fleet.clusters.%s", cl->keys[i]);

		dc->name = cl->keys[i];
		dc->loc = cl->key_nodes[i]->loc;
		if (item->kind == DBOPS_NODE_NULL)
			continue;
		if (!dc_keys(r, item, what, ckeys))
			continue;
		if ((v = spec_get(item, "drift")) != NULL)
			dc_drift(r, &dc->drift, v,
				 arena_printf(r->a, "%s.drift", what));
		if ((v = spec_get(item, "windows")) != NULL) {
			dc->has_windows = true;
			dc_windows(r, &dc->windows, &dc->nwindows, v,
				   arena_printf(r->a, "%s.windows", what));
		}
	}
}

/* ---- http, notify, forge */

static void dc_http(struct dc_reader *r, const struct dbops_node *node)
{
	static const char *const keys[] = {"enabled",	     "listen",	 "tls",
					   "webhook_secret", "max_body", NULL};
	static const char *const tkeys[] = {"cert", "key", NULL};
	struct daemon_config *c = r->c;
	const struct dbops_node *v;

	if (!dc_keys(r, node, "http", keys))
		return;
	if ((v = spec_get(node, "enabled")) != NULL &&
	    spec_bool(&c->http_enabled, r->diags, r->a, v, "http.enabled"))
		r->rc = DBOPS_ERR_INVALID;
	if ((v = spec_get(node, "listen")) != NULL) {
		const char *s = NULL, *colon;
		char *end;
		long port;

		if (spec_string(&s, r->diags, r->a, v, "http.listen") != 0) {
			r->rc = DBOPS_ERR_INVALID;
		} else if ((colon = strrchr(s, ':')) == NULL ||
			   (port = strtol(colon + 1, &end, 10)) < 0 ||
			   port > 65535 || *end != '\0' || end == colon + 1) {
			dc_error(r, v,
				 "http.listen must be HOST:PORT, got \"%s\"", s)
			    ->hint = "For example 127.0.0.1:9187; port 0 "
				     "picks a free one.";
		} else {
			c->listen_host =
			    colon == s
				? "0.0.0.0"
				: arena_strndup(r->a, s, (size_t)(colon - s));
			c->listen_port = (int)port;
		}
	}
	if ((v = spec_get(node, "tls")) != NULL &&
	    dc_keys(r, v, "http.tls", tkeys)) {
		c->tls_cert = dc_string(r, v, "cert", "http.tls.cert", NULL);
		c->tls_key = dc_string(r, v, "key", "http.tls.key", NULL);
		if (c->tls_cert == NULL || c->tls_key == NULL)
			dc_error(r, v, "http.tls needs both cert and key");
	}
	c->has_webhook_secret =
	    dc_secret(r, &c->webhook_secret, node, "webhook_secret",
		      "http.webhook_secret");
	{
		int kib = 0;

		if (dc_int(r, &kib, node, "max_body", "http.max_body (KiB)", 1,
			   64 * 1024))
			c->max_body = (size_t)kib * 1024;
	}
}

static void dc_notify(struct dc_reader *r, const struct dbops_node *node)
{
	static const char *const keys[] = {"url", "format", "retries",
					   "backoff", NULL};
	struct daemon_config *c = r->c;

	if (node->kind != DBOPS_NODE_SEQ) {
		dc_error(r, node, "notify must be a list, got %s",
			 spec_kind_name(node))
		    ->hint = "Write notify: [{url: https://hooks.example/x}].";
		return;
	}
	c->notify = arena_alloc(r->a, (node->len + 1) * sizeof(*c->notify));
	for (size_t i = 0; i < node->len; i++) {
		struct notify_target *t = &c->notify[c->nnotify];
		const struct dbops_node *item = node->items[i];
		const char *what = arena_printf(r->a, "notify[%zu]", i);
		const char *fmt;

		if (!dc_keys(r, item, what, keys))
			continue;
		t->loc = item->loc;
		t->url = dc_string(r, item, "url",
				   arena_printf(r->a, "%s.url", what), NULL);
		if (t->url == NULL) {
			dc_error(r, item, "%s.url is required", what);
			continue;
		}
		if (strncmp(t->url, "http://", 7) != 0 &&
		    strncmp(t->url, "https://", 8) != 0)
			dc_error(r, spec_get(item, "url"),
				 "%s.url must be an http:// or https:// URL",
				 what);
		fmt = dc_string(r, item, "format",
				arena_printf(r->a, "%s.format", what), "json");
		if (strcmp(fmt, "slack") == 0)
			t->slack = true;
		else if (strcmp(fmt, "json") != 0)
			dc_error(r, spec_get(item, "format"),
				 "unknown notification format \"%s\"", fmt)
			    ->hint = "Write json or slack.";
		t->retries = 5;
		dc_int(r, &t->retries, item, "retries",
		       arena_printf(r->a, "%s.retries", what), 0, 20);
		t->backoff_s = 1;
		dc_duration(r, &t->backoff_s, spec_get(item, "backoff"),
			    arena_printf(r->a, "%s.backoff", what), 0.01, 600);
		c->nnotify++;
	}
}

static void dc_forge(struct dc_reader *r, const struct dbops_node *node)
{
	static const char *const keys[] = {"kind",  "url",     "repository",
					   "token", "context", NULL};
	struct daemon_config *c = r->c;
	const char *kind;

	if (!dc_keys(r, node, "forge", keys))
		return;
	kind = dc_string(r, node, "kind", "forge.kind", NULL);
	if (kind == NULL) {
		dc_error(r, node, "forge.kind is required")->hint =
		    "Write kind: github or kind: gitlab.";
		return;
	}
	if (strcmp(kind, "github") == 0)
		c->forge = FORGE_GITHUB;
	else if (strcmp(kind, "gitlab") == 0)
		c->forge = FORGE_GITLAB;
	else {
		dc_error(r, spec_get(node, "kind"), "unknown forge \"%s\"",
			 kind)
		    ->hint = "Write github or gitlab.";
		return;
	}
	c->forge_url =
	    dc_string(r, node, "url", "forge.url",
		      c->forge == FORGE_GITHUB ? "https://api.github.com"
					       : "https://gitlab.com/api/v4");
	c->forge_repo =
	    dc_string(r, node, "repository", "forge.repository", NULL);
	if (c->forge_repo == NULL)
		dc_error(r, node, "forge.repository is required")->hint =
		    c->forge == FORGE_GITHUB
			? "Write the repository as owner/name."
			: "Write the project's path (group/name) or id.";
	c->forge_context =
	    dc_string(r, node, "context", "forge.context", "dbops/plan");
	if (!dc_secret(r, &c->forge_token, node, "token", "forge.token") &&
	    spec_get(node, "token") == NULL)
		dc_error(r, node, "forge.token is required")->hint =
		    "Give the API token as a secret reference: "
		    "{env: DBOPS_FORGE_TOKEN}.";
}

int daemon_config_load(struct daemon_config *out, struct arena *a,
		       struct dbops_diag_list *diags, const char *path)
{
	struct dc_reader r = {out, a, diags, 0};
	const struct dbops_node *root, *v;
	int rc;

	memset(out, 0, sizeof(*out));
	out->branch = "main";
	out->path = "";
	out->interval_s = 60;
	out->jitter = 0.1;
	out->workers = 4;
	out->http_enabled = true;
	out->listen_host = "127.0.0.1";
	out->listen_port = 9187;
	out->max_body = 1024 * 1024;
	rc = config_load(&out->base, a, diags, path, daemon_config_sections);
	root = out->base.root;
	if (root == NULL || root->kind != DBOPS_NODE_MAP)
		return rc;
	if ((v = spec_get(root, "source")) != NULL)
		dc_source(&r, v);
	if ((v = spec_get(root, "daemon")) != NULL)
		dc_daemon(&r, v);
	if ((v = spec_get(root, "fleet")) != NULL)
		dc_fleet(&r, v);
	if ((v = spec_get(root, "http")) != NULL)
		dc_http(&r, v);
	if ((v = spec_get(root, "notify")) != NULL)
		dc_notify(&r, v);
	if ((v = spec_get(root, "forge")) != NULL)
		dc_forge(&r, v);
	return rc != 0 ? rc : r.rc;
}

const char *drift_policy_name(enum drift_policy p)
{
	switch (p) {
	case DRIFT_ENFORCE:
		return "enforce";
	case DRIFT_REPORT:
		return "report";
	case DRIFT_IGNORE:
		return "ignore";
	}
	return "enforce";
}

const struct daemon_cluster *
daemon_config_cluster(const struct daemon_config *c, const char *name)
{
	for (size_t i = 0; name != NULL && i < c->nclusters; i++)
		if (strcmp(c->clusters[i].name, name) == 0)
			return &c->clusters[i];
	return NULL;
}

static bool dc_match(const struct drift_rule *v, size_t n, const char *s,
		     bool glob, enum drift_policy *out)
{
	for (size_t i = 0; i < n; i++)
		if (glob ? fnmatch(v[i].pattern, s, 0) == 0
			 : strcmp(v[i].pattern, s) == 0) {
			*out = v[i].policy;
			return true;
		}
	return false;
}

enum drift_policy daemon_config_policy(const struct daemon_config *c,
				       const struct daemon_cluster *cl,
				       const char *plugin, const char *address)
{
	static const struct drift_conf none = {0};
	const struct drift_conf *own = cl != NULL ? &cl->drift : &none;
	enum drift_policy p;

	if (dc_match(own->objects, own->nobjects, address, true, &p) ||
	    dc_match(c->drift.objects, c->drift.nobjects, address, true, &p) ||
	    dc_match(own->plugins, own->nplugins, plugin, false, &p) ||
	    dc_match(c->drift.plugins, c->drift.nplugins, plugin, false, &p))
		return p;
	if (own->has_default)
		return own->def;
	if (c->drift.has_default)
		return c->drift.def;
	return DRIFT_ENFORCE;
}

void daemon_config_windows(const struct window **out, size_t *n,
			   const struct daemon_config *c,
			   const struct daemon_cluster *cl)
{
	if (cl != NULL && cl->has_windows) {
		*out = cl->windows;
		*n = cl->nwindows;
		return;
	}
	*out = c->windows;
	*n = c->nwindows;
}

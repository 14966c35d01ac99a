/* SPDX-License-Identifier: PostgreSQL */
/*
 * validate.c — the `replicas:` section read into a struct repl_spec, with
 * every problem that needs no server reported at its spec location:
 * unknown keys, member names that cannot be slot names, duplicate names
 * or ports, a synchronous count larger than the members that may be
 * synchronous, sizes and durations that do not parse. diff.c and
 * status.c parse the section again through the same function.
 */
#include "replicas_int.h"

#include <ctype.h>
#include <string.h>

static const char *const repl_keys[] = {
    "provider", "synchronous", "slots",	 "max_lag",	 "settings", "members",
    "remove",	"os_user",     "bindir", "wait_timeout", "patroni",  NULL,
};
static const char *const repl_sync_keys[] = {"mode", "count", "strict", NULL};
static const char *const repl_patroni_keys[] = {
    "urls", "username", "password", "cafile", "timeout", "restart", NULL,
};
static const char *const repl_lag_keys[] = {"bytes", "time", NULL};
static const char *const repl_remove_keys[] = {"delete_data", NULL};
static const char *const repl_member_keys[] = {
    "name",  "host",	   "port",	    "data_dir", "sync",
    "state", "nofailover", "noloadbalance", NULL,
};

bool repl_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > REPL_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!(islower((unsigned char)*p) ||
		      isdigit((unsigned char)*p) || *p == '_'))
			return false;
	return true;
}

/* A number followed by an optional unit from `units` (factor each). */
static int64_t repl_parse_unit(const char *text, const char *const *units,
			       const int64_t *factors, int64_t base)
{
	int64_t n = 0;
	const char *p = text;

	while (*p == ' ')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > INT64_MAX / 10 - 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return n > INT64_MAX / base ? -1 : n * base;
	for (size_t i = 0; units[i] != NULL; i++)
		if (strcmp(p, units[i]) == 0) {
			if (n > INT64_MAX / factors[i])
				return -1;
			return n * factors[i];
		}
	return -1;
}

int64_t repl_parse_bytes(const char *text)
{
	static const char *const u[] = {"B", "kB", "MB", "GB", "TB", NULL};
	static const int64_t f[] = {1, 1024, 1024 * 1024, 1024 * 1024 * 1024,
				    (int64_t)1024 * 1024 * 1024 * 1024};

	return repl_parse_unit(text, u, f, 1);
}

int64_t repl_parse_ms(const char *text)
{
	static const char *const u[] = {"ms", "s", "min", "h", NULL};
	static const int64_t f[] = {1, 1000, 60000, 3600000};

	/* a bare number is seconds, as in the rest of the spec */
	return repl_parse_unit(text, u, f, 1000);
}

static struct dbops_diag *repl_err(struct dbops_ctx *ctx,
				   const struct dbops_node *n, const char *msg)
{
	return dbops_host(ctx)->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
				     n != NULL ? &n->loc : NULL, "%s", msg);
}

static int repl_get_string(const char **out, struct dbops_ctx *ctx,
			   const struct dbops_node *map, const char *key,
			   const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *n = h->spec_get(map, key);

	if (n == NULL || n->kind == DBOPS_NODE_NULL)
		return 0;
	return h->spec_string(out, ctx, n, what);
}

static int repl_get_bool(bool *out, struct dbops_ctx *ctx,
			 const struct dbops_node *map, const char *key,
			 const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *n = h->spec_get(map, key);

	if (n == NULL || n->kind == DBOPS_NODE_NULL)
		return 0;
	return h->spec_bool(out, ctx, n, what);
}

static int repl_get_size(int64_t *out, struct dbops_ctx *ctx,
			 const struct dbops_node *map, const char *key,
			 bool time)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *n = h->spec_get(map, key);
	struct dbops_diag *d;
	const char *text;
	int err;

	if (n == NULL || n->kind == DBOPS_NODE_NULL)
		return 0;
	if ((err = h->spec_string(
		 &text, ctx, n, time ? "max_lag.time" : "max_lag.bytes")) != 0)
		return err;
	*out = time ? repl_parse_ms(text) : repl_parse_bytes(text);
	if (*out >= 0)
		return 0;
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &n->loc,
		    time ? "invalid duration %s for max_lag.time"
			 : "invalid size %s for max_lag.bytes",
		    plug_value(ctx, text));
	h->diag_hint(
	    ctx, d,
	    time
		? "Give a whole number with a unit: ms, s, min or h (10s)."
		: "Give a whole number with a unit: B, kB, MB, GB or TB (16MB).");
	return DBOPS_ERR_INVALID;
}

static int repl_parse_sync(struct repl_spec *s, struct dbops_ctx *ctx,
			   const struct dbops_node *node)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *n;
	const char *mode = "off";
	int64_t count = 1;
	int err;

	if (node == NULL || node->kind == DBOPS_NODE_NULL)
		return 0;
	s->sync_loc = node->loc;
	if ((err = h->spec_check_keys(ctx, node, "the synchronous section",
				      repl_sync_keys)) != 0)
		return err;
	if ((err = repl_get_string(&mode, ctx, node, "mode",
				   "synchronous.mode")) != 0)
		return err;
	if (strcmp(mode, "off") == 0 || strcmp(mode, "false") == 0)
		s->sync_mode = REPL_SYNC_OFF;
	else if (strcmp(mode, "any") == 0)
		s->sync_mode = REPL_SYNC_ANY;
	else if (strcmp(mode, "first") == 0)
		s->sync_mode = REPL_SYNC_FIRST;
	else {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		    &h->spec_get(node, "mode")->loc,
		    "invalid synchronous mode %s", plug_value(ctx, mode));

		h->diag_hint(ctx, d,
			     "Use off, any (quorum) or first (priority).");
		return DBOPS_ERR_INVALID;
	}
	n = h->spec_get(node, "count");
	if (n != NULL && n->kind != DBOPS_NODE_NULL &&
	    (err = h->spec_int(&count, ctx, n, "synchronous.count", 1, 100)))
		return err;
	s->sync_count = (int)count;
	if ((err = repl_get_bool(&s->sync_strict, ctx, node, "strict",
				 "synchronous.strict")) != 0)
		return err;
	if (s->sync_strict && s->provider != &repl_provider_patroni) {
		repl_err(ctx, h->spec_get(node, "strict"),
			 "synchronous.strict applies to the patroni provider");
		return DBOPS_ERR_INVALID;
	}
	if (s->sync_strict && s->sync_mode == REPL_SYNC_OFF) {
		repl_err(ctx, h->spec_get(node, "strict"),
			 "synchronous.strict needs a synchronous mode");
		return DBOPS_ERR_INVALID;
	}
	if (s->sync_mode == REPL_SYNC_ANY &&
	    s->provider == &repl_provider_patroni) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		    &h->spec_get(node, "mode")->loc,
		    "synchronous mode \"any\" is not available with the patroni provider");

		h->diag_detail(
		    ctx, d,
		    "Patroni 3.0 writes synchronous_standby_names with priority (FIRST) semantics only; quorum commit came with Patroni 4.");
		h->diag_hint(ctx, d, "Use mode: first.");
		return DBOPS_ERR_INVALID;
	}
	return 0;
}

static int repl_parse_settings(struct repl_spec *s, struct dbops_ctx *ctx,
			       const struct dbops_node *node)
{
	const struct dbops_host *h = dbops_host(ctx);
	int rc = 0;

	if (node == NULL || node->kind == DBOPS_NODE_NULL)
		return 0;
	if (node->kind != DBOPS_NODE_MAP) {
		repl_err(
		    ctx, node,
		    "replicas.settings must be a map of setting names to values");
		return DBOPS_ERR_INVALID;
	}
	s->settings = h->alloc(ctx, (node->len + 1) * sizeof(*s->settings));
	for (size_t i = 0; i < node->len; i++) {
		struct repl_setting_spec *st = &s->settings[s->nsettings];
		const struct dbops_node *v = node->items[i];

		if (!repl_setting_allowed(node->keys[i])) {
			struct dbops_diag *d =
			    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
				    &node->key_nodes[i]->loc,
				    "setting %s is not a replication setting",
				    plug_value(ctx, node->keys[i]));

			h->diag_hint(
			    ctx, d,
			    "replicas.settings takes wal_level, max_wal_senders, max_replication_slots, wal_keep_size, max_slot_wal_keep_size, hot_standby_feedback and wal_log_hints; put other settings under parameters.");
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		if (h->spec_string(&st->value, ctx, v, node->keys[i]) != 0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		st->name = node->keys[i];
		st->loc = v->loc;
		s->nsettings++;
	}
	return rc;
}

static int repl_parse_member(struct repl_member_spec *m, struct dbops_ctx *ctx,
			     const struct repl_spec *s,
			     const struct dbops_node *node)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *n;
	const char *state = "present";
	int64_t port = 5432;
	int err;

	/* the slot of a member refused before is reused: nothing of it may
	 * remain (an "absent" would remove the next member) */
	memset(m, 0, sizeof(*m));
	m->loc = node->loc;
	m->host = "127.0.0.1";
	m->sync = true;
	if ((err = h->spec_check_keys(ctx, node, "a replicas member",
				      repl_member_keys)) != 0)
		return err;
	n = h->spec_get(node, "name");
	if (n == NULL) {
		repl_err(ctx, node, "a replicas member has no name");
		return DBOPS_ERR_INVALID;
	}
	if ((err = h->spec_string(&m->name, ctx, n, "member name")) != 0)
		return err;
	if (!repl_name_valid(m->name)) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &n->loc,
			    "invalid member name %s", plug_value(ctx, m->name));

		h->diag_detail(
		    ctx, d,
		    "The name is also the member's replication slot and application_name.");
		h->diag_hint(
		    ctx, d,
		    "Use lower-case letters, digits and underscores, at most 63 characters.");
		return DBOPS_ERR_INVALID;
	}
	if ((err = repl_get_string(&m->host, ctx, node, "host", "host")) ||
	    (err = repl_get_string(&m->data_dir, ctx, node, "data_dir",
				   "data_dir")) ||
	    (err = repl_get_bool(&m->sync, ctx, node, "sync", "sync")) ||
	    (err = repl_get_bool(&m->nofailover, ctx, node, "nofailover",
				 "nofailover")) ||
	    (err = repl_get_bool(&m->noloadbalance, ctx, node, "noloadbalance",
				 "noloadbalance")) ||
	    (err = repl_get_string(&state, ctx, node, "state", "state")))
		return err;
	if (s->provider != &repl_provider_patroni &&
	    (h->spec_get(node, "nofailover") != NULL ||
	     h->spec_get(node, "noloadbalance") != NULL)) {
		repl_err(
		    ctx,
		    h->spec_get(node, "nofailover") != NULL
			? h->spec_get(node, "nofailover")
			: h->spec_get(node, "noloadbalance"),
		    "the nofailover and noloadbalance tags apply to the patroni provider");
		return DBOPS_ERR_INVALID;
	}
	n = h->spec_get(node, "port");
	if (n != NULL && (err = h->spec_int(&port, ctx, n, "port", 1, 65535)))
		return err;
	m->port = (int)port;
	if (strcmp(state, "absent") == 0)
		m->absent = true;
	else if (strcmp(state, "present") != 0) {
		repl_err(ctx, h->spec_get(node, "state"),
			 "a member's state must be present or absent");
		return DBOPS_ERR_INVALID;
	}
	if (m->absent && s->provider == &repl_provider_patroni) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			    &h->spec_get(node, "state")->loc,
			    "the patroni provider does not remove members");

		h->diag_hint(
		    ctx, d,
		    "A Patroni member leaves the cluster when its Patroni stops; remove it from the list.");
		return DBOPS_ERR_INVALID;
	}
	if (m->data_dir != NULL && s->provider == &repl_provider_patroni &&
	    (m->data_dir[0] != '/' || strlen(m->data_dir) > 900)) {
		repl_err(ctx, h->spec_get(node, "data_dir"),
			 "data_dir must be an absolute path");
		return DBOPS_ERR_INVALID;
	}
	if (s->provider == &repl_provider_local) {
		if (m->data_dir == NULL) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &node->loc,
			    "member \"%s\" has no data_dir", m->name);

			h->diag_hint(
			    ctx, d,
			    "The local provider creates the standby in data_dir; give an absolute path.");
			return DBOPS_ERR_INVALID;
		}
		if (m->data_dir[0] != '/' || strlen(m->data_dir) > 900) {
			repl_err(ctx, h->spec_get(node, "data_dir"),
				 "data_dir must be an absolute path");
			return DBOPS_ERR_INVALID;
		}
	}
	return 0;
}

static int repl_parse_members(struct repl_spec *s, struct dbops_ctx *ctx,
			      const struct dbops_node *node)
{
	const struct dbops_host *h = dbops_host(ctx);
	int rc = 0;

	if (node == NULL || node->kind == DBOPS_NODE_NULL)
		return 0;
	if (node->kind != DBOPS_NODE_SEQ) {
		repl_err(ctx, node, "replicas.members must be a list");
		return DBOPS_ERR_INVALID;
	}
	s->members = h->alloc(ctx, (node->len + 1) * sizeof(*s->members));
	for (size_t i = 0; i < node->len; i++) {
		struct repl_member_spec *m = &s->members[s->nmembers];

		if (repl_parse_member(m, ctx, s, node->items[i]) != 0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		for (size_t j = 0; j < s->nmembers; j++) {
			const struct repl_member_spec *o = &s->members[j];

			if (strcmp(o->name, m->name) == 0) {
				h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
					&m->loc,
					"member \"%s\" is listed twice",
					m->name);
				rc = DBOPS_ERR_INVALID;
			} else if (o->port == m->port &&
				   strcmp(o->host, m->host) == 0) {
				h->diag(
				    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
				    &m->loc,
				    "members \"%s\" and \"%s\" have the same host and port",
				    o->name, m->name);
				rc = DBOPS_ERR_INVALID;
			} else if (m->data_dir != NULL && o->data_dir != NULL &&
				   strcmp(o->data_dir, m->data_dir) == 0) {
				h->diag(
				    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
				    &m->loc,
				    "members \"%s\" and \"%s\" have the same data_dir",
				    o->name, m->name);
				rc = DBOPS_ERR_INVALID;
			}
		}
		s->nmembers++;
	}
	return rc;
}

static int repl_parse_urls(struct repl_patroni_spec *p, struct dbops_ctx *ctx,
			   const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char **urls;
	size_t count = n->kind == DBOPS_NODE_SEQ ? n->len : 1;
	int rc = 0;

	if (n->kind != DBOPS_NODE_SEQ && n->kind != DBOPS_NODE_SCALAR) {
		repl_err(ctx, n,
			 "replicas.patroni.urls must be a list of URLs");
		return DBOPS_ERR_INVALID;
	}
	if (count == 0 || count > 16) {
		repl_err(ctx, n, "replicas.patroni.urls needs 1 to 16 URLs");
		return DBOPS_ERR_INVALID;
	}
	urls = h->alloc(ctx, (count + 1) * sizeof(*urls));
	for (size_t i = 0; i < count; i++) {
		const struct dbops_node *u =
		    n->kind == DBOPS_NODE_SEQ ? n->items[i] : n;
		const char *why;

		if (h->spec_string(&urls[i], ctx, u, "a Patroni URL") != 0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		if (!patroni_url_valid(urls[i], &why)) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &u->loc,
			    "invalid Patroni URL %s", plug_value(ctx, urls[i]));

			h->diag_detail(ctx, d, "%c%s.", why[0] - ('a' - 'A'),
				       why + 1);
			h->diag_hint(
			    ctx, d,
			    "Give each member's REST API as http://host:8008 (or https://).");
			rc = DBOPS_ERR_INVALID;
		}
	}
	p->ep.urls = urls;
	p->ep.nurls = count;
	return rc;
}

static int repl_parse_patroni(struct repl_spec *s, struct dbops_ctx *ctx,
			      const struct dbops_node *section,
			      const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct repl_patroni_spec *p = &s->patroni;
	const char *timeout = NULL, *restart = "never";
	const struct dbops_node *v;
	int rc = 0;

	p->ep.timeout_ms = 5000;
	if (n == NULL || n->kind != DBOPS_NODE_MAP) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		    n != NULL ? &n->loc : &section->loc,
		    "the patroni provider needs a replicas.patroni section");

		h->diag_hint(
		    ctx, d,
		    "Name the REST API of every member: patroni: {urls: [http://10.0.0.1:8008, ...]}.");
		return DBOPS_ERR_INVALID;
	}
	p->loc = n->loc;
	if (h->spec_check_keys(ctx, n, "the patroni section",
			       repl_patroni_keys) != 0)
		return DBOPS_ERR_INVALID;
	v = h->spec_get(n, "urls");
	if (v == NULL) {
		repl_err(ctx, n, "replicas.patroni has no urls");
		rc = DBOPS_ERR_INVALID;
	} else if (repl_parse_urls(p, ctx, v) != 0)
		rc = DBOPS_ERR_INVALID;
	if (repl_get_string(&p->ep.username, ctx, n, "username",
			    "patroni.username") ||
	    repl_get_string(&p->ep.cafile, ctx, n, "cafile",
			    "patroni.cafile") ||
	    repl_get_string(&timeout, ctx, n, "timeout", "patroni.timeout") ||
	    repl_get_string(&restart, ctx, n, "restart", "patroni.restart"))
		rc = DBOPS_ERR_INVALID;
	if ((v = h->spec_get(n, "password")) != NULL) {
		if (h->spec_secret(&p->password, ctx, v, "patroni.password"))
			rc = DBOPS_ERR_INVALID;
		else {
			p->has_password = true;
			p->ep.password = &p->password;
		}
		if (p->ep.username == NULL) {
			repl_err(ctx, v,
				 "patroni.password needs patroni.username");
			rc = DBOPS_ERR_INVALID;
		}
	}
	if (p->ep.cafile != NULL && p->ep.cafile[0] != '/') {
		repl_err(ctx, h->spec_get(n, "cafile"),
			 "patroni.cafile must be an absolute path");
		rc = DBOPS_ERR_INVALID;
	}
	if (timeout != NULL) {
		int64_t ms = repl_parse_ms(timeout);

		if (ms < 1000 || ms > 300000) {
			repl_err(
			    ctx, h->spec_get(n, "timeout"),
			    "patroni.timeout must be a duration from 1s to 5min");
			rc = DBOPS_ERR_INVALID;
		} else
			p->ep.timeout_ms = (long)ms;
	}
	if (strcmp(restart, "rolling") == 0)
		p->restart_rolling = true;
	else if (strcmp(restart, "never") != 0) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		    &h->spec_get(n, "restart")->loc,
		    "invalid patroni.restart %s", plug_value(ctx, restart));

		h->diag_hint(
		    ctx, d,
		    "Use never (restarts are left to the operator) or rolling (replicas, then a switchover, then the old primary).");
		rc = DBOPS_ERR_INVALID;
	}
	return rc;
}

static int repl_parse_top(struct repl_spec *s, struct dbops_ctx *ctx,
			  const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *n;
	const char *provider = "local", *wait = NULL;
	int rc = 0, err;

	if ((err = repl_get_string(&provider, ctx, section, "provider",
				   "provider")) != 0)
		return err;
	if (strcmp(provider, "local") == 0)
		s->provider = &repl_provider_local;
	else if (strcmp(provider, "external") == 0)
		s->provider = &repl_provider_external;
	else if (strcmp(provider, "patroni") == 0)
		s->provider = &repl_provider_patroni;
	else {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		    &h->spec_get(section, "provider")->loc,
		    "unknown replicas provider %s", plug_value(ctx, provider));

		h->diag_hint(
		    ctx, d,
		    "Use local (dbops creates the standbys), external (they are created elsewhere) or patroni (Patroni manages them).");
		return DBOPS_ERR_INVALID;
	}
	if (repl_parse_sync(s, ctx, h->spec_get(section, "synchronous")))
		rc = DBOPS_ERR_INVALID;
	if (repl_get_bool(&s->slots, ctx, section, "slots", "slots"))
		rc = DBOPS_ERR_INVALID;
	s->slots_set = h->spec_get(section, "slots") != NULL;
	n = h->spec_get(section, "patroni");
	if (s->provider == &repl_provider_patroni) {
		if (repl_parse_patroni(s, ctx, section, n) != 0)
			rc = DBOPS_ERR_INVALID;
	} else if (n != NULL) {
		repl_err(ctx, n,
			 "replicas.patroni applies to the patroni provider");
		rc = DBOPS_ERR_INVALID;
	}
	n = h->spec_get(section, "max_lag");
	if (n != NULL && n->kind != DBOPS_NODE_NULL &&
	    (h->spec_check_keys(ctx, n, "the max_lag section", repl_lag_keys) !=
		 0 ||
	     repl_get_size(&s->max_lag_bytes, ctx, n, "bytes", false) != 0 ||
	     repl_get_size(&s->max_lag_ms, ctx, n, "time", true) != 0))
		rc = DBOPS_ERR_INVALID;
	if (repl_parse_settings(s, ctx, h->spec_get(section, "settings")))
		rc = DBOPS_ERR_INVALID;
	n = h->spec_get(section, "remove");
	if (n != NULL && n->kind != DBOPS_NODE_NULL &&
	    (h->spec_check_keys(ctx, n, "the remove section",
				repl_remove_keys) != 0 ||
	     repl_get_bool(&s->delete_data, ctx, n, "delete_data",
			   "remove.delete_data") != 0))
		rc = DBOPS_ERR_INVALID;
	if (repl_get_string(&s->os_user, ctx, section, "os_user", "os_user") ||
	    repl_get_string(&s->bindir, ctx, section, "bindir", "bindir") ||
	    repl_get_string(&wait, ctx, section, "wait_timeout",
			    "wait_timeout"))
		rc = DBOPS_ERR_INVALID;
	if (wait != NULL) {
		int64_t ms = repl_parse_ms(wait);

		if (ms < 1000 || ms > 86400000) {
			repl_err(
			    ctx, h->spec_get(section, "wait_timeout"),
			    "wait_timeout must be a duration from 1s to 24h");
			rc = DBOPS_ERR_INVALID;
		} else
			s->wait_seconds = (int)(ms / 1000);
	}
	return rc;
}

int repl_spec_parse(struct repl_spec **out, struct dbops_ctx *ctx,
		    const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct repl_spec *s = h->alloc(ctx, sizeof(*s));
	int rc, nsync = 0;

	*out = s;
	s->loc = section->loc;
	s->slots = true;
	s->max_lag_bytes = -1;
	s->max_lag_ms = -1;
	s->sync_count = 1;
	s->wait_seconds = 120;
	if (section->kind != DBOPS_NODE_MAP) {
		repl_err(ctx, section, "the replicas section must be a map");
		return DBOPS_ERR_INVALID;
	}
	if (h->spec_check_keys(ctx, section, "the replicas section",
			       repl_keys) != 0)
		return DBOPS_ERR_INVALID;
	rc = repl_parse_top(s, ctx, section);
	if (s->provider == NULL)
		return DBOPS_ERR_INVALID;
	if (repl_parse_members(s, ctx, h->spec_get(section, "members")))
		rc = DBOPS_ERR_INVALID;
	for (size_t i = 0; i < s->nmembers; i++)
		if (s->members[i].sync && !s->members[i].absent)
			nsync++;
	/* Patroni may know members the spec does not list */
	if (rc == 0 && s->sync_mode != REPL_SYNC_OFF && s->sync_count > nsync &&
	    (s->provider != &repl_provider_patroni || s->nmembers > 0)) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &s->sync_loc,
		    "synchronous.count is %d but only %d member%s may be synchronous",
		    s->sync_count, nsync, nsync == 1 ? "" : "s");

		h->diag_detail(
		    ctx, d,
		    "Every commit would wait for standbys that do not exist.");
		h->diag_hint(
		    ctx, d,
		    "Lower the count, or add members without sync: false.");
		rc = DBOPS_ERR_INVALID;
	}
	return rc;
}

/*
 * What a revision may not change unreviewed (the trust model): the
 * members' addresses, where their data lives, and which programs run as
 * whom.
 */
static void repl_mark_trust(struct dbops_ctx *ctx,
			    const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *members = h->spec_get(section, "members");

	const struct dbops_node *patroni = h->spec_get(section, "patroni");

	h->spec_trust(ctx, h->spec_get(section, "bindir"), DBOPS_TRUST_EXEC);
	h->spec_trust(ctx, h->spec_get(section, "os_user"), DBOPS_TRUST_EXEC);
	if (patroni != NULL && patroni->kind == DBOPS_NODE_MAP) {
		/* where the REST credentials go, and which CA vouches */
		h->spec_trust(ctx, h->spec_get(patroni, "urls"),
			      DBOPS_TRUST_CONNECTION);
		h->spec_trust(ctx, h->spec_get(patroni, "username"),
			      DBOPS_TRUST_CONNECTION);
		h->spec_trust(ctx, h->spec_get(patroni, "cafile"),
			      DBOPS_TRUST_PATH);
	}
	if (members == NULL || members->kind != DBOPS_NODE_SEQ)
		return;
	for (size_t i = 0; i < members->len; i++) {
		const struct dbops_node *m = members->items[i];

		h->spec_trust(ctx, h->spec_get(m, "host"),
			      DBOPS_TRUST_CONNECTION);
		h->spec_trust(ctx, h->spec_get(m, "port"),
			      DBOPS_TRUST_CONNECTION);
		h->spec_trust(ctx, h->spec_get(m, "data_dir"),
			      DBOPS_TRUST_PATH);
	}
}

static void repl_fact(struct dbops_ctx *ctx, const struct dbops_loc *loc,
		      const char *name, const char *value)
{
	dbops_host(ctx)->fact_put(ctx, name, value, NULL, loc);
}

static void repl_member_fact(struct dbops_ctx *ctx,
			     const struct repl_member_spec *m,
			     const char *field, const char *value)
{
	repl_fact(ctx, &m->loc,
		  dbops_host(ctx)->printf(ctx, "replicas.member.%s.%s", m->name,
					  field),
		  value);
}

/* How the other plugins reach Patroni (the parameters plugin routes its
 * changes through PATCH /config): the REST URLs, the credentials as a
 * secret reference, the CA file, the timeout and the restart policy. */
static void repl_publish_patroni(struct dbops_ctx *ctx,
				 const struct repl_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct repl_patroni_spec *p = &s->patroni;
	const char *urls = "";

	for (size_t i = 0; i < p->ep.nurls; i++)
		urls =
		    h->printf(ctx, "%s%s%s", urls, i ? "," : "", p->ep.urls[i]);
	repl_fact(ctx, &p->loc, "replicas.patroni.urls", urls);
	if (p->ep.username != NULL)
		repl_fact(ctx, &p->loc, "replicas.patroni.username",
			  p->ep.username);
	if (p->has_password)
		h->fact_put(ctx, "replicas.patroni.password", NULL,
			    &p->password, &p->password.loc);
	if (p->ep.cafile != NULL)
		repl_fact(ctx, &p->loc, "replicas.patroni.cafile",
			  p->ep.cafile);
	repl_fact(ctx, &p->loc, "replicas.patroni.timeout",
		  h->printf(ctx, "%ld", p->ep.timeout_ms));
	repl_fact(ctx, &p->loc, "replicas.patroni.restart",
		  p->restart_rolling ? "rolling" : "never");
}

/*
 * The facts other plugins read (plugins/replicas/README.md): the members
 * to be present, their addresses and data directories, the synchronous
 * settings and the lag limits (bytes, milliseconds).
 */
static void repl_publish(struct dbops_ctx *ctx, const struct repl_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	static const char *const modes[] = {
	    [REPL_SYNC_OFF] = "off",
	    [REPL_SYNC_ANY] = "any",
	    [REPL_SYNC_FIRST] = "first",
	};

	repl_fact(ctx, &s->loc, "replicas.provider", s->provider->name);
	repl_fact(ctx, &s->loc, "replicas.synchronous.mode",
		  modes[s->sync_mode]);
	repl_fact(ctx, &s->loc, "replicas.synchronous.count",
		  h->printf(ctx, "%d", s->sync_count));
	if (s->max_lag_bytes >= 0)
		repl_fact(ctx, &s->loc, "replicas.max_lag.bytes",
			  h->printf(ctx, "%lld", (long long)s->max_lag_bytes));
	if (s->max_lag_ms >= 0)
		repl_fact(ctx, &s->loc, "replicas.max_lag.time",
			  h->printf(ctx, "%lld", (long long)s->max_lag_ms));
	if (s->provider == &repl_provider_patroni)
		repl_publish_patroni(ctx, s);
	for (size_t i = 0; i < s->nmembers; i++) {
		const struct repl_member_spec *m = &s->members[i];

		if (m->absent)
			continue;
		repl_member_fact(ctx, m, "host", m->host);
		repl_member_fact(ctx, m, "port", h->printf(ctx, "%d", m->port));
		repl_member_fact(ctx, m, "sync", m->sync ? "true" : "false");
		if (m->data_dir != NULL)
			repl_member_fact(ctx, m, "data_dir", m->data_dir);
	}
}

int repl_validate(struct dbops_ctx *ctx, const struct dbops_node *section)
{
	struct repl_spec *s;
	int err = repl_spec_parse(&s, ctx, section);

	if (err != 0)
		return err;
	repl_mark_trust(ctx, section);
	repl_publish(ctx, s);
	return 0;
}

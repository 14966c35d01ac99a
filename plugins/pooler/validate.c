/* SPDX-License-Identifier: PostgreSQL */
/*
 * validate.c — the `pooler:` section read into a struct pool_desired, with
 * every problem reported at its place: unknown keys, setting names that
 * PgBouncer 1.18 does not have (with a "did you mean"), values of the
 * wrong type, [databases] entries without a target, the reserved name
 * "pgbouncer", auth users without a secret reference. Values that will
 * be written into the ini file may not hold characters that the file
 * syntax cannot carry. No I/O: whether the pooler runs, and what it runs,
 * is for observe and diff.
 */
#include "pooler_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const pool_section_keys[] = {
    "pgbouncer", "settings", "databases", "users", "auth_users", NULL,
};
static const char *const pool_instance_keys[] = {
    "config_file",
    "admin",
    "drain_timeout",
    NULL,
};
static const char *const pool_db_keys[] = {
    "target",	    "host",
    "hosts",	    "port",
    "dbname",	    "user",
    "pool_size",    "min_pool_size",
    "reserve_pool", "max_db_connections",
    "pool_mode",    NULL,
};
static const char *const pool_user_keys[] = {"pool_mode", NULL};
static const char *const pool_auth_keys[] = {"name", "password", NULL};

static int pool_err(struct dbops_ctx *ctx, const struct dbops_node *node,
		    const char *msg, const char *hint)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d;

	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		    node != NULL ? &node->loc : NULL, "%s", msg);
	if (hint != NULL)
		h->diag_hint(ctx, d, "%s", hint);
	return DBOPS_ERR_INVALID;
}

/* A word that can stand in a connection string of the ini file. */
static bool pool_plain_word(const char *s)
{
	if (*s == '\0')
		return false;
	for (const char *p = s; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\'' || *p == '"' ||
		    *p == '=' || *p == '\n' || *p == '\r' || *p == ';' ||
		    *p == '#')
			return false;
	return true;
}

static int pool_scalar(const char **out, struct dbops_ctx *ctx,
		       const struct dbops_node *node, const char *what)
{
	return dbops_host(ctx)->spec_string(out, ctx, node, what);
}

static int pool_word(const char **out, struct dbops_ctx *ctx,
		     const struct dbops_node *node, const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (pool_scalar(out, ctx, node, what) != 0)
		return DBOPS_ERR_INVALID;
	if (!pool_plain_word(*out))
		return pool_err(
		    ctx, node,
		    h->printf(ctx, "invalid %s %s", what,
			      plug_value(ctx, *out)),
		    "Blanks, quotes, \"=\", \";\" and \"#\" cannot be written into a PgBouncer connection string.");
	return 0;
}

static int pool_count(const char **out, struct dbops_ctx *ctx,
		      const struct dbops_node *node, const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	int64_t v;

	if (h->spec_int(&v, ctx, node, what, 0, 1000000) != 0)
		return DBOPS_ERR_INVALID;
	*out = h->printf(ctx, "%lld", (long long)v);
	return 0;
}

static int pool_mode_value(const char **out, struct dbops_ctx *ctx,
			   const struct dbops_node *node)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (pool_scalar(out, ctx, node, "pool_mode") != 0)
		return DBOPS_ERR_INVALID;
	if (strcmp(*out, "session") != 0 && strcmp(*out, "transaction") != 0 &&
	    strcmp(*out, "statement") != 0)
		return pool_err(
		    ctx, node,
		    h->printf(ctx, "invalid pool_mode %s",
			      plug_value(ctx, *out)),
		    "Available values: session, transaction, statement.");
	return 0;
}

static int pool_read_instance(struct pool_desired *d, struct dbops_ctx *ctx,
			      const struct dbops_node *inst)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *n;
	int rc = 0;
	int64_t v;

	d->drain_timeout = POOL_DRAIN_TIMEOUT_DEFAULT;
	if (inst == NULL)
		return 0;
	if (h->spec_check_keys(ctx, inst, "the pooler.pgbouncer section",
			       pool_instance_keys) != 0)
		return DBOPS_ERR_INVALID;
	if ((n = h->spec_get(inst, "config_file")) != NULL) {
		if (pool_scalar(&d->config_file, ctx, n, "config_file") != 0)
			rc = DBOPS_ERR_INVALID;
		else if (d->config_file[0] != '/')
			rc = pool_err(
			    ctx, n, "config_file must be an absolute path",
			    "Give the path of the ini file PgBouncer was started with, as SHOW CONFIG shows it in \"conffile\".");
	}
	if ((n = h->spec_get(inst, "admin")) != NULL &&
	    pool_scalar(&d->admin, ctx, n, "admin") != 0)
		rc = DBOPS_ERR_INVALID;
	if ((n = h->spec_get(inst, "drain_timeout")) != NULL) {
		if (h->spec_int(&v, ctx, n, "drain_timeout", 0, 86400) != 0)
			rc = DBOPS_ERR_INVALID;
		else
			d->drain_timeout = (int)v;
	}
	return rc;
}

static int pool_kv_cmp(const void *x, const void *y)
{
	const struct pool_kv *a = x, *b = y;

	return strcmp(a->key, b->key);
}

static int pool_read_settings(struct pool_desired *d, struct dbops_ctx *ctx,
			      const struct dbops_node *map)
{
	const struct dbops_host *h = dbops_host(ctx);
	int rc = 0;

	if (map == NULL || map->kind == DBOPS_NODE_NULL)
		return 0;
	if (map->kind != DBOPS_NODE_MAP)
		return pool_err(ctx, map, "pooler.settings must be a map",
				"Write one \"name: value\" line per setting.");
	d->settings = h->alloc(ctx, (map->len + 1) * sizeof(*d->settings));
	for (size_t i = 0; i < map->len; i++) {
		const struct dbops_node *key = map->key_nodes[i];
		const struct dbops_node *val = map->items[i];
		const struct pool_setting_def *def;
		const char *text, *why, *guess;
		struct dbops_diag *diag;

		def = pool_setting_find(map->keys[i]);
		if (def == NULL) {
			diag = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
				       &key->loc,
				       "unrecognized PgBouncer setting %s",
				       plug_value(ctx, map->keys[i]));
			{
				size_t nnames;
				const char *const *names =
				    pool_setting_names(&nnames);

				guess = h->suggest(map->keys[i], names, nnames);
			}
			if (strcmp(map->keys[i], "conffile") == 0)
				h->diag_hint(
				    ctx, diag,
				    "The ini file is named by pooler.pgbouncer.config_file.");
			else if (guess != NULL)
				h->diag_hint(ctx, diag, "Did you mean \"%s\"?",
					     guess);
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		if (pool_scalar(&text, ctx, val,
				h->printf(ctx, "setting \"%s\"", def->name)) !=
		    0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		if (!pool_setting_valid(def, text, &why)) {
			diag = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &val->loc,
			    "invalid value for PgBouncer setting \"%s\": %s",
			    def->name, plug_value(ctx, text));
			if (why != NULL)
				h->diag_hint(ctx, diag, "%s", why);
			else {
				const char *list = "";

				for (const char *p = def->enumvals; *p; p++)
					list = h->printf(
					    ctx, "%s%s", list,
					    *p == '|'
						? ", "
						: h->printf(ctx, "%c", *p));
				h->diag_hint(ctx, diag, "Available values: %s.",
					     list);
			}
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		for (size_t j = 0; j < d->nsettings; j++)
			if (strcmp(d->settings[j].key, def->name) == 0) {
				rc = pool_err(
				    ctx, key,
				    h->printf(
					ctx,
					"PgBouncer setting \"%s\" is set twice",
					def->name),
				    NULL);
				break;
			}
		d->settings[d->nsettings].key = def->name;
		d->settings[d->nsettings].value = text;
		d->settings[d->nsettings].loc = key->loc;
		d->nsettings++;
	}
	qsort(d->settings, d->nsettings, sizeof(*d->settings), pool_kv_cmp);
	return rc;
}

static int pool_read_hosts(struct pool_db *db, struct dbops_ctx *ctx,
			   const struct dbops_node *list)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *joined = "";

	if (list->kind != DBOPS_NODE_SEQ || list->len == 0)
		return pool_err(
		    ctx, list, "hosts must be a non-empty list of host names",
		    "PgBouncer 1.18 connects to them in turn (round robin); all take the same port.");
	for (size_t i = 0; i < list->len; i++) {
		const char *one;

		if (pool_word(&one, ctx, list->items[i], "host") != 0)
			return DBOPS_ERR_INVALID;
		if (strchr(one, ',') != NULL)
			return pool_err(ctx, list->items[i],
					"give one host per list item", NULL);
		joined = h->printf(ctx, "%s%s%s", joined, i ? "," : "", one);
	}
	db->host = joined;
	return 0;
}

/*
 * The hosts of an entry routed to replicas that lists none: the members
 * the replicas section declares (its published facts), which must listen
 * on one port unless the entry gives it — PgBouncer 1.18 takes one port
 * for all the hosts of an entry.
 */
static int pool_replica_hosts(struct pool_db *db, struct dbops_ctx *ctx,
			      const struct dbops_node *at)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_fact *const *v;
	const char *hosts = "", *port = NULL;
	size_t n, nhosts = 0;

	h->facts(&v, &n, ctx, "replicas.member.");
	for (size_t i = 0; i < n; i++) {
		const char *name = v[i]->name, *dot = strrchr(name, '.');

		if (v[i]->type != DBOPS_FACT_TEXT || dot == NULL)
			continue;
		if (strcmp(dot, ".host") == 0) {
			if (!pool_plain_word(v[i]->value))
				return pool_err(
				    ctx, at,
				    h->printf(
					ctx,
					"replica host %s cannot be written into a PgBouncer connection string",
					plug_value(ctx, v[i]->value)),
				    "List the hosts of this entry explicitly.");
			hosts = h->printf(ctx, "%s%s%s", hosts,
					  nhosts ? "," : "", v[i]->value);
			nhosts++;
		} else if (strcmp(dot, ".port") == 0 && db->port == NULL) {
			if (port != NULL && strcmp(port, v[i]->value) != 0)
				return pool_err(
				    ctx, at,
				    h->printf(
					ctx,
					"database entry %s routes to replicas that listen on different ports (%s and %s)",
					plug_value(ctx, db->name), port,
					v[i]->value),
				    "PgBouncer 1.18 takes one port for all the hosts of an entry: give port, or list the hosts.");
			port = v[i]->value;
		}
	}
	if (nhosts == 0)
		return pool_err(
		    ctx, at,
		    h->printf(
			ctx,
			"database entry %s routes to replicas but lists none",
			plug_value(ctx, db->name)),
		    "List the replicas as hosts: [host1, host2], with their port, or declare them under replicas.members.");
	db->host = hosts;
	if (db->port == NULL)
		db->port = port;
	return 0;
}

static int pool_read_db(struct pool_db *db, struct dbops_ctx *ctx,
			const char *name, const struct dbops_node *key,
			const struct dbops_node *map)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *n;
	int rc = 0;

	/* the slot of an entry refused before is reused: nothing of it may
	 * remain */
	memset(db, 0, sizeof(*db));
	db->name = name;
	db->loc = key->loc;
	if (strcmp(name, "pgbouncer") == 0)
		return pool_err(ctx, key,
				"database name \"pgbouncer\" is reserved",
				"PgBouncer's admin console uses it.");
	if (strcmp(name, "*") != 0 && !pool_plain_word(name))
		return pool_err(
		    ctx, key,
		    h->printf(ctx, "invalid database entry name %s",
			      plug_value(ctx, name)),
		    "Blanks, quotes, \"=\", \";\" and \"#\" cannot be written into the ini file.");
	if (map == NULL || map->kind == DBOPS_NODE_NULL)
		map = NULL;
	else if (h->spec_check_keys(
		     ctx, map,
		     h->printf(ctx, "database entry %s", plug_value(ctx, name)),
		     pool_db_keys) != 0)
		return DBOPS_ERR_INVALID;
#define POOL_FIELD(field, fn)                                                  \
	if ((n = h->spec_get(map, #field)) != NULL &&                          \
	    fn(&db->field, ctx, n, #field) != 0)                               \
		rc = DBOPS_ERR_INVALID;
	if (map != NULL) {
		POOL_FIELD(target, pool_scalar)
		POOL_FIELD(host, pool_word)
		POOL_FIELD(dbname, pool_word)
		POOL_FIELD(user, pool_word)
		POOL_FIELD(port, pool_count)
		POOL_FIELD(pool_size, pool_count)
		POOL_FIELD(min_pool_size, pool_count)
		POOL_FIELD(reserve_pool, pool_count)
		POOL_FIELD(max_db_connections, pool_count)
		if ((n = h->spec_get(map, "pool_mode")) != NULL &&
		    pool_mode_value(&db->pool_mode, ctx, n) != 0)
			rc = DBOPS_ERR_INVALID;
		if ((n = h->spec_get(map, "hosts")) != NULL) {
			if (db->host != NULL)
				rc = pool_err(
				    ctx, n,
				    "give either host or hosts, not both",
				    NULL);
			else if (pool_read_hosts(db, ctx, n) != 0)
				rc = DBOPS_ERR_INVALID;
		}
	}
#undef POOL_FIELD
	if (rc != 0)
		return rc;
	if (db->target == NULL && db->host == NULL)
		db->target = "primary";
	if (db->target == NULL)
		return 0;
	n = map != NULL ? h->spec_get(map, "target") : NULL;
	if (n == NULL)
		n = key;
	if (strcmp(db->target, "primary") == 0) {
		if (db->host != NULL)
			return pool_err(
			    ctx, n, "target primary takes no host",
			    "The primary's address is the one dbops connects to; give a host without a target to route elsewhere.");
		return 0;
	}
	if (strcmp(db->target, "replicas") == 0) {
		if (db->host == NULL)
			return pool_replica_hosts(db, ctx, n);
		return 0;
	}
	return pool_err(
	    ctx, n,
	    h->printf(ctx, "invalid target %s", plug_value(ctx, db->target)),
	    "Available values: primary, replicas.");
}

static int pool_db_cmp(const void *x, const void *y)
{
	const struct pool_db *a = x, *b = y;

	return strcmp(a->name, b->name);
}

static int pool_read_dbs(struct pool_desired *d, struct dbops_ctx *ctx,
			 const struct dbops_node *map)
{
	const struct dbops_host *h = dbops_host(ctx);
	int rc = 0;

	if (map == NULL)
		return 0;
	d->has_databases = true;
	if (map->kind == DBOPS_NODE_NULL)
		return 0;
	if (map->kind != DBOPS_NODE_MAP)
		return pool_err(
		    ctx, map, "pooler.databases must be a map",
		    "Write one entry per database: \"app: {target: primary, pool_size: 20}\".");
	d->dbs = h->alloc(ctx, (map->len + 1) * sizeof(*d->dbs));
	for (size_t i = 0; i < map->len; i++) {
		if (pool_read_db(&d->dbs[d->ndbs], ctx, map->keys[i],
				 map->key_nodes[i], map->items[i]) != 0)
			rc = DBOPS_ERR_INVALID;
		else
			d->ndbs++;
	}
	qsort(d->dbs, d->ndbs, sizeof(*d->dbs), pool_db_cmp);
	return rc;
}

static int pool_user_cmp(const void *x, const void *y)
{
	const struct pool_user *a = x, *b = y;

	return strcmp(a->name, b->name);
}

static int pool_read_users(struct pool_desired *d, struct dbops_ctx *ctx,
			   const struct dbops_node *map)
{
	const struct dbops_host *h = dbops_host(ctx);
	int rc = 0;

	if (map == NULL)
		return 0;
	d->has_users = true;
	if (map->kind == DBOPS_NODE_NULL)
		return 0;
	if (map->kind != DBOPS_NODE_MAP)
		return pool_err(
		    ctx, map, "pooler.users must be a map",
		    "Write one entry per user: \"app: {pool_mode: session}\".");
	d->users = h->alloc(ctx, (map->len + 1) * sizeof(*d->users));
	for (size_t i = 0; i < map->len; i++) {
		struct pool_user *u = &d->users[d->nusers];
		const struct dbops_node *n;

		u->name = map->keys[i];
		u->loc = map->key_nodes[i]->loc;
		if (!pool_plain_word(u->name)) {
			rc = pool_err(ctx, map->key_nodes[i],
				      h->printf(ctx, "invalid user name %s",
						plug_value(ctx, u->name)),
				      NULL);
			continue;
		}
		if (h->spec_check_keys(
			ctx, map->items[i],
			h->printf(ctx, "user %s", plug_value(ctx, u->name)),
			pool_user_keys) != 0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		n = h->spec_get(map->items[i], "pool_mode");
		if (n == NULL) {
			rc =
			    pool_err(ctx, map->items[i],
				     h->printf(ctx, "user %s sets no pool_mode",
					       plug_value(ctx, u->name)),
				     NULL);
			continue;
		}
		if (pool_mode_value(&u->pool_mode, ctx, n) != 0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		d->nusers++;
	}
	qsort(d->users, d->nusers, sizeof(*d->users), pool_user_cmp);
	return rc;
}

/* The password the roles section gives role `name` (its published
 * secret reference), for an auth user that names none. */
static int pool_role_secret(struct dbops_secret_ref *out, struct dbops_ctx *ctx,
			    const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *fact = h->printf(ctx, "roles.role.%s.password", name);
	const struct dbops_fact *const *v;
	size_t n;

	h->facts(&v, &n, ctx, fact);
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i]->name, fact) == 0 &&
		    v[i]->type == DBOPS_FACT_SECRET) {
			*out = v[i]->secret;
			return 0;
		}
	return DBOPS_ERR_NOTFOUND;
}

static int pool_auth_cmp(const void *x, const void *y)
{
	const struct pool_auth *a = x, *b = y;

	return strcmp(a->name, b->name);
}

static int pool_read_auth(struct pool_desired *d, struct dbops_ctx *ctx,
			  const struct dbops_node *seq)
{
	const struct dbops_host *h = dbops_host(ctx);
	int rc = 0;

	if (seq == NULL || seq->kind == DBOPS_NODE_NULL)
		return 0;
	if (seq->kind != DBOPS_NODE_SEQ)
		return pool_err(
		    ctx, seq, "pooler.auth_users must be a list",
		    "Write one item per user: \"- {name: app, password: {env: DBOPS_SECRET_APP_PASSWORD}}\".");
	d->auth = h->alloc(ctx, (seq->len + 1) * sizeof(*d->auth));
	for (size_t i = 0; i < seq->len; i++) {
		const struct dbops_node *item = seq->items[i];
		struct pool_auth *a = &d->auth[d->nauth];
		const struct dbops_node *n, *name_node;

		if (h->spec_check_keys(ctx, item, "an auth user",
				       pool_auth_keys) != 0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		a->loc = item->loc;
		n = h->spec_get(item, "name");
		if (n == NULL) {
			rc = pool_err(ctx, item, "auth user has no name", NULL);
			continue;
		}
		if (pool_scalar(&a->name, ctx, n, "name") != 0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		name_node = n;
		if (strchr(a->name, '"') != NULL || strchr(a->name, '\n')) {
			rc = pool_err(
			    ctx, n,
			    h->printf(ctx, "invalid user name %s",
				      plug_value(ctx, a->name)),
			    "A double quote cannot be written into the auth file.");
			continue;
		}
		n = h->spec_get(item, "password");
		if (n == NULL &&
		    pool_role_secret(&a->secret, ctx, a->name) != 0) {
			rc = pool_err(
			    ctx, item,
			    h->printf(ctx, "auth user %s has no password",
				      plug_value(ctx, a->name)),
			    "Name where the password comes from ({env: NAME} or {file: PATH}), or declare the role with a password under roles.");
			continue;
		}
		if (n != NULL &&
		    h->spec_secret(&a->secret, ctx, n, "password") != 0) {
			rc = DBOPS_ERR_INVALID;
			continue;
		}
		for (size_t j = 0; j < d->nauth; j++)
			if (strcmp(d->auth[j].name, a->name) == 0) {
				rc = pool_err(
				    ctx, name_node,
				    h->printf(ctx,
					      "auth user %s is listed twice",
					      plug_value(ctx, a->name)),
				    NULL);
				break;
			}
		d->nauth++;
	}
	qsort(d->auth, d->nauth, sizeof(*d->auth), pool_auth_cmp);
	return rc;
}

int pool_desired_read(struct pool_desired *out, struct dbops_ctx *ctx,
		      const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->drain_timeout = POOL_DRAIN_TIMEOUT_DEFAULT;
	if (section == NULL || section->kind == DBOPS_NODE_NULL)
		return 0;
	out->loc = section->loc;
	if (h->spec_check_keys(ctx, section, "the pooler section",
			       pool_section_keys) != 0)
		return DBOPS_ERR_INVALID;
	if (pool_read_instance(out, ctx, h->spec_get(section, "pgbouncer")) !=
	    0)
		rc = DBOPS_ERR_INVALID;
	if (pool_read_settings(out, ctx, h->spec_get(section, "settings")) != 0)
		rc = DBOPS_ERR_INVALID;
	if (pool_read_dbs(out, ctx, h->spec_get(section, "databases")) != 0)
		rc = DBOPS_ERR_INVALID;
	if (pool_read_users(out, ctx, h->spec_get(section, "users")) != 0)
		rc = DBOPS_ERR_INVALID;
	if (pool_read_auth(out, ctx, h->spec_get(section, "auth_users")) != 0)
		rc = DBOPS_ERR_INVALID;
	return rc;
}

const struct pool_kv *pool_desired_setting(const struct pool_desired *d,
					   const char *key)
{
	return pool_kv_find(d->settings, d->nsettings, key);
}

/* PgBouncer settings that name a local file or directory. */
static const char *const pool_path_settings[] = {
    "auth_file",
    "auth_hba_file",
    "client_tls_ca_file",
    "client_tls_cert_file",
    "client_tls_key_file",
    "logfile",
    "pidfile",
    "resolv_conf",
    "server_tls_ca_file",
    "server_tls_cert_file",
    "server_tls_key_file",
    "unix_socket_dir",
    NULL,
};

/*
 * What a revision may not change unreviewed (the trust model): the admin
 * console dbops connects to, and the files dbops reads and writes — the
 * ini file and the files its settings name.
 */
static void pool_mark_trust(struct dbops_ctx *ctx,
			    const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *inst = h->spec_get(section, "pgbouncer");
	const struct dbops_node *set = h->spec_get(section, "settings");

	h->spec_trust(ctx, h->spec_get(inst, "admin"), DBOPS_TRUST_CONNECTION);
	h->spec_trust(ctx, h->spec_get(inst, "config_file"), DBOPS_TRUST_PATH);
	for (size_t i = 0; pool_path_settings[i] != NULL; i++)
		h->spec_trust(ctx, h->spec_get(set, pool_path_settings[i]),
			      DBOPS_TRUST_PATH);
}

/*
 * The pools, for plugins that compare them with the server (monitoring:
 * connections per database against pool sizes), published during
 * validate: pooler.pool.<entry>.dbname, .pool_size (PgBouncer's default
 * 20 when neither the entry nor default_pool_size sets it) and .target
 * (primary, replicas, or host for an explicit one).
 */
static void pool_publish(struct dbops_ctx *ctx, const struct pool_desired *d)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct pool_kv *dflt =
	    pool_desired_setting(d, "default_pool_size");

	if (h->header.size <
	    offsetof(struct dbops_host, fact_put) + sizeof(h->fact_put))
		return;
	for (size_t i = 0; i < d->ndbs; i++) {
		const struct pool_db *db = &d->dbs[i];
		const char *size = db->pool_size ? db->pool_size
				   : dflt	 ? dflt->value
						 : "20";

		if (strcmp(db->name, "*") == 0)
			continue;
		h->fact_put(ctx,
			    h->printf(ctx, "pooler.pool.%s.dbname", db->name),
			    db->dbname ? db->dbname : db->name, NULL, &db->loc);
		h->fact_put(
		    ctx, h->printf(ctx, "pooler.pool.%s.pool_size", db->name),
		    size, NULL, &db->loc);
		h->fact_put(ctx,
			    h->printf(ctx, "pooler.pool.%s.target", db->name),
			    db->target ? db->target : "host", NULL, &db->loc);
	}
}

int pool_validate(struct dbops_ctx *ctx, const struct dbops_node *section)
{
	struct pool_desired d;
	int err = pool_desired_read(&d, ctx, section);

	if (err == 0) {
		pool_mark_trust(ctx, section);
		pool_publish(ctx, &d);
	}
	return err;
}

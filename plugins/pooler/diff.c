/* SPDX-License-Identifier: PostgreSQL */
/*
 * diff.c — the spec against the running PgBouncer. Settings are compared
 * with SHOW CONFIG after normalisation (numbers, booleans, modes), so a
 * value changed at run time with SET is seen as drift. Entries are
 * compared with SHOW DATABASES, whose pool columns are effective values:
 * an entry without pool_size runs with default_pool_size, so the spec's
 * effective value is worked out the same way. The "*" fallback entry is
 * not listed by SHOW DATABASES and is compared with the file.
 *
 * A restart-only setting (changeable = no) that differs is planned with
 * the needs-restart flag, unless the file holds the desired value
 * already: then it only waits for a restart, and a warning says so.
 * Entries of the file that the spec does not list are removed, drained
 * first (destructive: applied only when allowed). Pure: no I/O.
 */
#include "pooler_int.h"

#include <stdlib.h>
#include <string.h>

struct pool_acc {
	struct pool_delta *v;
	size_t n;
	size_t cap;
};

static struct pool_delta *pool_push(struct pool_acc *acc, struct dbops_ctx *ctx,
				    enum pool_kind kind,
				    enum dbops_action action, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct pool_delta *dl;

	if (acc->n == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 16;
		struct pool_delta *grown = h->alloc(ctx, cap * sizeof(*grown));

		if (acc->n > 0)
			memcpy(grown, acc->v, acc->n * sizeof(*grown));
		acc->v = grown;
		acc->cap = cap;
	}
	dl = &acc->v[acc->n++];
	memset(dl, 0, sizeof(*dl));
	dl->kind = kind;
	dl->action = action;
	dl->name = name;
	return dl;
}

static void pool_compare_settings(struct pool_acc *acc, struct dbops_ctx *ctx,
				  const struct pool_desired *d,
				  const struct pool_live *live, bool report)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t i = 0; i < d->nsettings; i++) {
		const struct pool_kv *want = &d->settings[i];
		const struct pool_setting_def *def =
		    pool_setting_find(want->key);
		const struct pool_conf *c = pool_live_conf(live, want->key);
		const struct pool_kv *file;
		struct pool_delta *dl;
		bool configured;

		if (c == NULL) {
			if (report)
				h->diag(
				    ctx, DBOPS_SEV_WARNING, 0, &want->loc,
				    "PgBouncer does not report setting \"%s\"",
				    want->key);
			continue;
		}
		if (pool_value_equal(def, want->value, c->value))
			continue;
		file = pool_kv_find(live->file.settings, live->file.nsettings,
				    want->key);
		configured =
		    file != NULL &&
		    (def->type == POOL_T_MODE
			 ? strtol(file->value, NULL, 8) ==
			       strtol(want->value, NULL, 8)
			 : pool_value_equal(def, want->value, file->value));
		dl = pool_push(acc, ctx, POOL_K_SETTING, DBOPS_ACTION_UPDATE,
			       want->key);
		dl->before = c->value;
		dl->after = want->value;
		dl->loc = want->loc;
		dl->restart = !c->changeable;
		dl->pending = dl->restart && configured;
	}
}

/* The value a global setting will have: the spec's, else the running. */
static const char *pool_global(const struct pool_desired *d,
			       const struct pool_live *live, const char *key)
{
	const struct pool_kv *kv = pool_desired_setting(d, key);
	const struct pool_conf *c;

	if (kv != NULL)
		return kv->value;
	c = pool_live_conf(live, key);
	return c != NULL ? c->value : NULL;
}

struct pool_fields {
	const char *name[12];
	const char *before[12];
	const char *after[12];
	size_t n;
};

static void pool_field(struct pool_fields *f, const char *name,
		       const char *before, const char *after, bool number)
{
	bool same;

	if (number && before != NULL && after != NULL)
		same = strtod(before, NULL) == strtod(after, NULL);
	else
		same = strcmp(before ? before : "", after ? after : "") == 0;
	if (same || f->n >= 12)
		return;
	f->name[f->n] = name;
	f->before[f->n] = before;
	f->after[f->n] = after;
	f->n++;
}

/*
 * A pool field of an entry: the entry's own value, else the global
 * setting's. An entry that follows the running global is right: when the
 * spec changes the global, that setting's change moves the entry too, and
 * saying it twice would be noise.
 */
static void pool_inherited(struct pool_fields *f, const struct pool_desired *d,
			   const struct pool_live *live, const char *name,
			   const char *running, const char *own,
			   const char *global)
{
	const struct pool_conf *c = pool_live_conf(live, global);

	if (own == NULL && c != NULL && running != NULL && c->value != NULL &&
	    strtod(running, NULL) == strtod(c->value, NULL))
		return;
	pool_field(f, name, running,
		   own != NULL ? own : pool_global(d, live, global), true);
}

static void pool_fields_set(struct pool_delta *dl, struct dbops_ctx *ctx,
			    const struct pool_fields *f)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char **names = h->alloc(ctx, (f->n + 1) * sizeof(char *));
	const char **bs = h->alloc(ctx, (f->n + 1) * sizeof(char *));
	const char **as = h->alloc(ctx, (f->n + 1) * sizeof(char *));

	memcpy(names, f->name, f->n * sizeof(char *));
	memcpy(bs, f->before, f->n * sizeof(char *));
	memcpy(as, f->after, f->n * sizeof(char *));
	dl->fields = names;
	dl->befores = bs;
	dl->afters = as;
	dl->nfields = f->n;
}

static void pool_compare_db(struct pool_acc *acc, struct dbops_ctx *ctx,
			    const struct pool_desired *d,
			    const struct pool_live *live,
			    const struct pool_db *db)
{
	const struct pool_live_db *ldb = pool_live_db(live, db->name);
	const struct pool_kv *file =
	    pool_kv_find(live->file.dbs, live->file.ndbs, db->name);
	const char *connstr = pool_db_connstr(ctx, db, live);
	bool primary = db->target != NULL && strcmp(db->target, "primary") == 0;
	struct pool_fields f;
	struct pool_delta *dl;
	const char *max;

	memset(&f, 0, sizeof(f));
	if (strcmp(db->name, "*") == 0 || ldb == NULL) {
		/* the fallback entry, or one PgBouncer does not run yet */
		if (file != NULL && strcmp(file->value, connstr) == 0 &&
		    (ldb != NULL || strcmp(db->name, "*") == 0))
			return;
		pool_field(&f, "connection", file ? file->value : NULL, connstr,
			   false);
		dl = pool_push(acc, ctx, POOL_K_DATABASE,
			       file != NULL ? DBOPS_ACTION_UPDATE
					    : DBOPS_ACTION_CREATE,
			       db->name);
		dl->loc = db->loc;
		pool_fields_set(dl, ctx, &f);
		return;
	}
	pool_field(&f, "host", ldb->host,
		   primary ? live->primary_host : db->host, false);
	pool_field(&f, "port", ldb->port,
		   db->port != NULL ? db->port
		   : primary	    ? live->primary_port
				    : "5432",
		   true);
	pool_field(&f, "dbname", ldb->database,
		   db->dbname != NULL ? db->dbname : db->name, false);
	pool_field(&f, "user", ldb->force_user, db->user, false);
	pool_inherited(&f, d, live, "pool_size", ldb->pool_size, db->pool_size,
		       "default_pool_size");
	pool_inherited(&f, d, live, "min_pool_size", ldb->min_pool_size,
		       db->min_pool_size, "min_pool_size");
	pool_inherited(&f, d, live, "reserve_pool", ldb->reserve_pool,
		       db->reserve_pool, "reserve_pool_size");
	max = db->max_db_connections;
	if (max != NULL && strcmp(max, "0") == 0)
		max = NULL;
	pool_inherited(&f, d, live, "max_db_connections", ldb->max_connections,
		       max, "max_db_connections");
	pool_field(&f, "pool_mode", ldb->pool_mode, db->pool_mode, false);
	if (ldb->disabled)
		pool_field(&f, "disabled", "yes", "no", false);
	if (f.n == 0)
		return;
	dl =
	    pool_push(acc, ctx, POOL_K_DATABASE, DBOPS_ACTION_UPDATE, db->name);
	dl->loc = db->loc;
	dl->enable = ldb->disabled;
	pool_fields_set(dl, ctx, &f);
}

static void pool_compare_dbs(struct pool_acc *acc, struct dbops_ctx *ctx,
			     const struct pool_desired *d,
			     const struct pool_live *live)
{
	if (!d->has_databases)
		return;
	for (size_t i = 0; i < d->ndbs; i++)
		pool_compare_db(acc, ctx, d, live, &d->dbs[i]);
	for (size_t i = 0; i < live->file.ndbs; i++) {
		const struct pool_kv *kv = &live->file.dbs[i];
		struct pool_delta *dl;
		struct pool_fields f;
		bool wanted = false;

		for (size_t j = 0; j < d->ndbs; j++)
			if (strcmp(d->dbs[j].name, kv->key) == 0)
				wanted = true;
		if (wanted)
			continue;
		memset(&f, 0, sizeof(f));
		pool_field(&f, "connection", kv->value, NULL, false);
		dl = pool_push(acc, ctx, POOL_K_DATABASE, DBOPS_ACTION_DELETE,
			       kv->key);
		dl->loc = d->loc;
		pool_fields_set(dl, ctx, &f);
	}
}

static void pool_compare_users(struct pool_acc *acc, struct dbops_ctx *ctx,
			       const struct pool_desired *d,
			       const struct pool_live *live)
{
	if (!d->has_users)
		return;
	for (size_t i = 0; i < d->nusers; i++) {
		const struct pool_user *u = &d->users[i];
		const struct pool_kv *kv =
		    pool_kv_find(live->users, live->nusers, u->name);
		struct pool_delta *dl;

		if (kv != NULL && strcmp(kv->value, u->pool_mode) == 0)
			continue;
		dl = pool_push(acc, ctx, POOL_K_USER,
			       kv ? DBOPS_ACTION_UPDATE : DBOPS_ACTION_CREATE,
			       u->name);
		dl->before = kv ? kv->value : NULL;
		dl->after = u->pool_mode;
		dl->loc = u->loc;
	}
	for (size_t i = 0; i < live->nusers; i++) {
		struct pool_delta *dl;
		bool wanted = false;

		for (size_t j = 0; j < d->nusers; j++)
			if (strcmp(d->users[j].name, live->users[i].key) == 0)
				wanted = true;
		if (wanted)
			continue;
		dl = pool_push(acc, ctx, POOL_K_USER, DBOPS_ACTION_DELETE,
			       live->users[i].key);
		dl->before = live->users[i].value;
		dl->loc = d->loc;
	}
}

static bool pool_is_scram(const char *secret)
{
	return strncmp(secret, "SCRAM-SHA-256$", 14) == 0;
}

static void pool_compare_auth(struct pool_acc *acc, struct dbops_ctx *ctx,
			      const struct pool_desired *d,
			      const struct pool_live *live, bool refresh)
{
	for (size_t i = 0; i < d->nauth; i++) {
		const struct pool_auth *a = &d->auth[i];
		const struct pool_kv *kv =
		    pool_kv_find(live->auth, live->nauth, a->name);
		struct pool_delta *dl;

		if (kv != NULL && pool_is_scram(kv->value) && !refresh)
			continue;
		dl = pool_push(acc, ctx, POOL_K_AUTH,
			       kv ? DBOPS_ACTION_UPDATE : DBOPS_ACTION_CREATE,
			       a->name);
		dl->before = kv ? "set" : NULL;
		dl->after = "set";
		dl->loc = a->loc;
	}
}

int pool_compare(struct pool_delta **out, size_t *nout, struct dbops_ctx *ctx,
		 const struct pool_desired *d, const struct pool_live *live,
		 bool refresh_auth, bool report)
{
	struct pool_acc acc = {NULL, 0, 0};
	bool rewrite = false;

	pool_compare_settings(&acc, ctx, d, live, report);
	pool_compare_dbs(&acc, ctx, d, live);
	pool_compare_users(&acc, ctx, d, live);
	pool_compare_auth(&acc, ctx, d, live, refresh_auth);
	for (size_t i = 0; i < acc.n; i++)
		if (acc.v[i].kind != POOL_K_AUTH && !acc.v[i].pending)
			rewrite = true;
	/* the running values match, but the file says otherwise (edited by
	 * hand, or written by something else): a restart would undo them */
	if (!rewrite && live->file.text != NULL &&
	    strcmp(pool_render(ctx, d, live, NULL), live->file.text) != 0) {
		struct pool_delta *dl =
		    pool_push(&acc, ctx, POOL_K_FILE, DBOPS_ACTION_UPDATE,
			      pool_config_path(d));

		dl->loc = d->loc;
	}
	*out = acc.v;
	*nout = acc.n;
	return 0;
}

static const char *pool_address(struct dbops_ctx *ctx,
				const struct pool_delta *dl)
{
	const struct dbops_host *h = dbops_host(ctx);

	switch (dl->kind) {
	case POOL_K_SETTING:
		return h->printf(ctx, "pooler.settings.%s", dl->name);
	case POOL_K_DATABASE:
		return h->printf(ctx, "pooler.databases.%s", dl->name);
	case POOL_K_USER:
		return h->printf(ctx, "pooler.users.%s", dl->name);
	case POOL_K_AUTH:
		return h->printf(ctx, "pooler.auth_users.%s", dl->name);
	case POOL_K_FILE:
		break;
	}
	return "pooler.config_file";
}

static void pool_warn_pending(struct dbops_ctx *ctx,
			      const struct pool_delta *dl)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *diag;

	diag = h->diag(ctx, DBOPS_SEV_WARNING, 0, &dl->loc,
		       "PgBouncer setting \"%s\" is waiting for a restart",
		       dl->name);
	h->diag_detail(ctx, diag,
		       "The running value is %s; the configured value is %s.",
		       plug_value(ctx, dl->before ? dl->before : ""),
		       plug_value(ctx, dl->after));
	h->diag_hint(
	    ctx, diag,
	    "PgBouncer reads this setting only when it starts: restart it (pgbouncer -R keeps client connections).");
}

static void pool_change_from(struct dbops_ctx *ctx, const struct pool_delta *dl,
			     const struct pool_desired *d)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct pool_payload *pl = h->alloc(ctx, sizeof(*pl));
	struct dbops_change *c;

	c = h->change_new(ctx, dl->action, pool_address(ctx, dl));
	c->loc = dl->loc;
	c->flags = DBOPS_CHANGE_NONTX;
	c->sql = "RELOAD";
	switch (dl->kind) {
	case POOL_K_SETTING:
		h->change_attr(ctx, c, "value", dl->before, dl->after, false);
		if (dl->restart) {
			c->flags |= DBOPS_CHANGE_NEEDS_RESTART;
			c->reason =
			    "PgBouncer applies this setting only when it starts";
		}
		break;
	case POOL_K_DATABASE:
		for (size_t i = 0; i < dl->nfields; i++)
			h->change_attr(ctx, c, dl->fields[i], dl->befores[i],
				       dl->afters[i], false);
		if (dl->action == DBOPS_ACTION_DELETE) {
			c->flags |= DBOPS_CHANGE_DESTRUCTIVE;
			c->sql = h->printf(ctx, "DISABLE %s; RELOAD", dl->name);
			c->reason = h->printf(
			    ctx,
			    "drained first: new clients are refused, and the entry is removed once its clients have left (at most %d s)",
			    d->drain_timeout);
		} else if (dl->enable) {
			c->sql = h->printf(ctx, "RELOAD; ENABLE %s", dl->name);
		}
		break;
	case POOL_K_USER:
		h->change_attr(ctx, c, "pool_mode", dl->before, dl->after,
			       false);
		break;
	case POOL_K_AUTH:
		h->change_attr(ctx, c, "password", dl->before, dl->after, true);
		c->sql = "RELOAD";
		c->reason = "a SCRAM verifier is written to the auth file";
		break;
	case POOL_K_FILE:
		c->reason =
		    "the file differs from the spec although the running values match";
		break;
	}
	pl->kind = dl->kind;
	pl->action = dl->action;
	pl->name = dl->name;
	pl->desired = d;
	c->payload = pl;
}

int pool_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	      void *live_model)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct pool_desired *d = h->alloc(ctx, sizeof(*d));
	const struct pool_live *live = live_model;
	struct pool_delta *dl = NULL;
	const char *mode = NULL;
	size_t n = 0;
	int err;

	if (live == NULL)
		return 0;
	err = pool_desired_read(d, ctx, section);
	if (err != 0)
		return err;
	if (h->header.size >=
		offsetof(struct dbops_host, mode) + sizeof(h->mode) &&
	    h->mode != NULL)
		mode = h->mode(ctx);
	err = pool_compare(&dl, &n, ctx, d, live,
			   mode != NULL && strcmp(mode, "refresh-auth") == 0,
			   true);
	if (err != 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (dl[i].pending)
			pool_warn_pending(ctx, &dl[i]);
		else
			pool_change_from(ctx, &dl[i], d);
	}
	return 0;
}

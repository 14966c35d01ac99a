/* SPDX-License-Identifier: PostgreSQL */
/*
 * render.c — the ini file and the auth file as dbops writes them. The ini
 * file is a pure function of the spec and the file it replaces: a header
 * saying dbops owns it, [databases] (the spec's entries, and the current
 * file's entries that still wait for their removal), [users], and
 * [pgbouncer] with the spec's settings and the current file's settings the
 * spec does not name (dbops manages the settings it names and leaves the
 * others as configured), each section sorted by name, so the same inputs
 * give the same bytes.
 */
#include "pooler_int.h"

#include <stdlib.h>
#include <string.h>

static const char pool_header[] =
    ";; This file is managed by dbops (plugin \"pooler\"): it is rewritten\n"
    ";; from the spec on every apply, and changes made here by hand are\n"
    ";; undone. Change the spec instead.\n";

const char *pool_db_connstr(struct dbops_ctx *ctx, const struct pool_db *db,
			    const struct pool_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *host = db->host, *port = db->port, *out;

	if (db->target != NULL && strcmp(db->target, "primary") == 0) {
		host = live != NULL ? live->primary_host : NULL;
		if (port == NULL && live != NULL)
			port = live->primary_port;
	}
	out = h->printf(ctx, "host=%s", host != NULL ? host : "");
	if (port != NULL)
		out = h->printf(ctx, "%s port=%s", out, port);
#define POOL_ADD(key, field)                                                   \
	if (db->field != NULL)                                                 \
		out = h->printf(ctx, "%s " key "=%s", out, db->field);
	POOL_ADD("dbname", dbname)
	POOL_ADD("user", user)
	POOL_ADD("pool_size", pool_size)
	POOL_ADD("min_pool_size", min_pool_size)
	POOL_ADD("reserve_pool", reserve_pool)
	POOL_ADD("max_db_connections", max_db_connections)
	POOL_ADD("pool_mode", pool_mode)
#undef POOL_ADD
	return out;
}

const char *pool_connstr_get(struct dbops_ctx *ctx, const char *connstr,
			     const char *key)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t klen = strlen(key);
	const char *p = connstr;

	while (p != NULL && *p) {
		const char *k, *v;
		size_t n;
		char *val, *o;

		while (*p == ' ' || *p == '\t')
			p++;
		k = p;
		while (*p && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		n = (size_t)(p - k);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			return NULL;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		v = p;
		val = h->alloc(ctx, strlen(v) + 1);
		o = val;
		if (*p == '\'') {
			for (p++; *p; p++) {
				if (*p == '\'') {
					if (p[1] != '\'')
						break;
					p++;
				}
				*o++ = *p;
			}
			if (*p == '\'')
				p++;
		} else {
			while (*p && *p != ' ' && *p != '\t')
				*o++ = *p++;
		}
		*o = '\0';
		if (n == klen && strncmp(k, key, n) == 0)
			return val;
	}
	return NULL;
}

static int pool_kvp_cmp(const void *x, const void *y)
{
	const struct pool_kv *const *a = x, *const *b = y;

	return strcmp((*a)->key, (*b)->key);
}

/* `n` entries of `kv` as "key = value" lines sorted by key. */
static const char *pool_lines(struct dbops_ctx *ctx, const char *out,
			      const struct pool_kv *const *kv, size_t n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct pool_kv **sorted;

	if (n == 0) /* kv may be NULL, which memcpy does not take */
		return out;
	sorted = h->alloc(ctx, n * sizeof(*sorted));
	memcpy(sorted, kv, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), pool_kvp_cmp);
	for (size_t i = 0; i < n; i++)
		out = h->printf(ctx, "%s%s = %s\n", out, sorted[i]->key,
				sorted[i]->value);
	return out;
}

static const char *pool_render_dbs(struct dbops_ctx *ctx, const char *out,
				   const struct pool_desired *d,
				   const struct pool_live *live,
				   const char *drop)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t nfile = live->file.ndbs, n = 0;
	const struct pool_kv **all =
	    h->alloc(ctx, (d->ndbs + nfile + 1) * sizeof(*all));

	if (d->has_databases)
		for (size_t i = 0; i < d->ndbs; i++) {
			struct pool_kv *kv = h->alloc(ctx, sizeof(*kv));

			kv->key = d->dbs[i].name;
			kv->value = pool_db_connstr(ctx, &d->dbs[i], live);
			all[n++] = kv;
		}
	for (size_t i = 0; i < nfile; i++) {
		const struct pool_kv *kv = &live->file.dbs[i];
		bool wanted = false;

		if (drop != NULL && strcmp(kv->key, drop) == 0)
			continue;
		for (size_t j = 0; d->has_databases && j < d->ndbs; j++)
			if (strcmp(d->dbs[j].name, kv->key) == 0)
				wanted = true;
		if (!wanted)
			all[n++] = kv;
	}
	return pool_lines(ctx, out, all, n);
}

static const char *pool_render_users(struct dbops_ctx *ctx, const char *out,
				     const struct pool_desired *d,
				     const struct pool_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t n = 0;
	const struct pool_kv **all;

	if (!d->has_users) {
		all = h->alloc(ctx, (live->file.nusers + 1) * sizeof(*all));
		for (size_t i = 0; i < live->file.nusers; i++)
			all[n++] = &live->file.users[i];
		return pool_lines(ctx, out, all, n);
	}
	all = h->alloc(ctx, (d->nusers + 1) * sizeof(*all));
	for (size_t i = 0; i < d->nusers; i++) {
		struct pool_kv *kv = h->alloc(ctx, sizeof(*kv));

		kv->key = d->users[i].name;
		kv->value =
		    h->printf(ctx, "pool_mode=%s", d->users[i].pool_mode);
		all[n++] = kv;
	}
	return pool_lines(ctx, out, all, n);
}

static const char *pool_render_settings(struct dbops_ctx *ctx, const char *out,
					const struct pool_desired *d,
					const struct pool_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t n = 0;
	const struct pool_kv **all = h->alloc(
	    ctx, (d->nsettings + live->file.nsettings + 1) * sizeof(*all));

	for (size_t i = 0; i < d->nsettings; i++)
		all[n++] = &d->settings[i];
	for (size_t i = 0; i < live->file.nsettings; i++)
		if (pool_desired_setting(d, live->file.settings[i].key) == NULL)
			all[n++] = &live->file.settings[i];
	return pool_lines(ctx, out, all, n);
}

const char *pool_render(struct dbops_ctx *ctx, const struct pool_desired *d,
			const struct pool_live *live, const char *drop)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *out = pool_header;

	out = h->printf(ctx, "%s\n[databases]\n", out);
	out = pool_render_dbs(ctx, out, d, live, drop);
	out = h->printf(ctx, "%s\n[users]\n", out);
	out = pool_render_users(ctx, out, d, live);
	out = h->printf(ctx, "%s\n[pgbouncer]\n", out);
	return pool_render_settings(ctx, out, d, live);
}

static const char *pool_auth_field(struct dbops_ctx *ctx, const char *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	char *out = h->alloc(ctx, 2 * strlen(s) + 3), *o = out;

	*o++ = '"';
	for (; *s; s++) {
		if (*s == '"')
			*o++ = '"';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

const char *pool_render_auth(struct dbops_ctx *ctx, const struct pool_kv *lines,
			     size_t nlines, const struct pool_kv *set,
			     size_t nset)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *out =
	    ";; This file is managed by dbops (plugin \"pooler\") for the users the spec lists.\n";

	for (size_t i = 0; i < nlines; i++) {
		const struct pool_kv *kv =
		    pool_kv_find(set, nset, lines[i].key);

		out = h->printf(
		    ctx, "%s%s %s\n", out, pool_auth_field(ctx, lines[i].key),
		    pool_auth_field(ctx,
				    kv != NULL ? kv->value : lines[i].value));
	}
	for (size_t i = 0; i < nset; i++)
		if (pool_kv_find(lines, nlines, set[i].key) == NULL)
			out = h->printf(ctx, "%s%s %s\n", out,
					pool_auth_field(ctx, set[i].key),
					pool_auth_field(ctx, set[i].value));
	return out;
}

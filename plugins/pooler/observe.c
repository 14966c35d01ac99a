/* SPDX-License-Identifier: PostgreSQL */
/*
 * observe.c — the live side of the "pooler" plugin: PgBouncer's admin
 * console (SHOW VERSION, SHOW CONFIG, SHOW DATABASES, SHOW USERS, over the
 * simple query protocol, result sets read by column name), the ini file
 * (which entries are configured rather than created by the "*" fallback,
 * the "*" entry itself, which SHOW DATABASES does not list, and values of
 * restart-only settings waiting for a restart), the auth file, and the
 * address of the primary (the target connection's host and port).
 *
 * The console connection is volatile (SHOW DATABASES counts connections);
 * the values that matter for a saved plan (settings, entries' pool
 * settings, users, the file) are put into the live-state fingerprint with
 * host->observe_note. It only reads.
 */
#include "pooler_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define POOL_FILE_MAX (1024 * 1024)

const char *pool_admin_conninfo(const struct pool_desired *d)
{
	const char *env = getenv("PGBOUNCER_ADMIN");

	if (d->admin != NULL)
		return d->admin;
	return env != NULL && *env ? env : NULL;
}

const char *pool_config_path(const struct pool_desired *d)
{
	const char *env = getenv("PGBOUNCER_INI");

	if (d->config_file != NULL)
		return d->config_file;
	return env != NULL && *env ? env : NULL;
}

const struct pool_kv *pool_kv_find(const struct pool_kv *kv, size_t n,
				   const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return &kv[i];
	return NULL;
}

const struct pool_conf *pool_live_conf(const struct pool_live *live,
				       const char *key)
{
	for (size_t i = 0; i < live->nconf; i++)
		if (strcmp(live->conf[i].key, key) == 0)
			return &live->conf[i];
	return NULL;
}

const struct pool_live_db *pool_live_db(const struct pool_live *live,
					const char *name)
{
	for (size_t i = 0; i < live->ndbs; i++)
		if (strcmp(live->dbs[i].name, name) == 0)
			return &live->dbs[i];
	return NULL;
}

static char *pool_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Append (or replace: the last line wins, as in PgBouncer) key = value. */
static void pool_kv_put(struct pool_kv **kv, size_t *n, size_t *cap,
			struct dbops_ctx *ctx, const char *key,
			const char *value)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*kv)[i].key, key) == 0) {
			(*kv)[i].value = h->strdup(ctx, value);
			return;
		}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct pool_kv *grown = h->alloc(ctx, ncap * sizeof(*grown));

		if (*n > 0)
			memcpy(grown, *kv, *n * sizeof(*grown));
		*kv = grown;
		*cap = ncap;
	}
	(*kv)[*n].key = h->strdup(ctx, key);
	(*kv)[*n].value = h->strdup(ctx, value);
	(*n)++;
}

void pool_file_parse(struct pool_file *out, struct dbops_ctx *ctx,
		     const char *text)
{
	const struct dbops_host *h = dbops_host(ctx);
	char *copy = h->strdup(ctx, text);
	size_t cap_s = 0, cap_d = 0, cap_u = 0;
	enum { SEC_NONE, SEC_PGB, SEC_DBS, SEC_USERS } sec = SEC_NONE;
	char *save = NULL;

	out->text = text;
	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *l = pool_trim(line), *eq, *key, *val;

		if (*l == '\0' || *l == ';' || *l == '#')
			continue;
		if (*l == '[') {
			char *close = strchr(l, ']');

			if (close != NULL)
				*close = '\0';
			l = pool_trim(l + 1);
			sec = strcasecmp(l, "pgbouncer") == 0	? SEC_PGB
			      : strcasecmp(l, "databases") == 0 ? SEC_DBS
			      : strcasecmp(l, "users") == 0	? SEC_USERS
								: SEC_NONE;
			continue;
		}
		eq = strchr(l, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		key = pool_trim(l);
		val = pool_trim(eq + 1);
		if (*key == '"' && strlen(key) >= 2 &&
		    key[strlen(key) - 1] == '"') {
			key[strlen(key) - 1] = '\0';
			key++;
		}
		switch (sec) {
		case SEC_PGB:
			for (char *p = key; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			pool_kv_put(&out->settings, &out->nsettings, &cap_s,
				    ctx, key, val);
			break;
		case SEC_DBS:
			pool_kv_put(&out->dbs, &out->ndbs, &cap_d, ctx, key,
				    val);
			break;
		case SEC_USERS:
			pool_kv_put(&out->users, &out->nusers, &cap_u, ctx, key,
				    val);
			break;
		case SEC_NONE:
			break;
		}
	}
}

/* One double-quoted field ("" inside is one "); NULL when there is none. */
static const char *pool_quoted(struct dbops_ctx *ctx, const char **p)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = *p;
	char *out, *o;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '"')
		return NULL;
	out = h->alloc(ctx, strlen(s) + 1);
	o = out;
	for (s++; *s; s++) {
		if (*s == '"') {
			if (s[1] != '"')
				break;
			s++;
		}
		*o++ = *s;
	}
	if (*s != '"')
		return NULL;
	*p = s + 1;
	return out;
}

size_t pool_auth_parse(struct pool_kv **out, struct dbops_ctx *ctx,
		       const char *text)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t n = 0, cap = 0;
	const char *p = text;

	*out = NULL;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		char *line = h->alloc(ctx, len + 1);
		const char *q = line, *user, *secret;

		memcpy(line, p, len);
		p += len + (eol != NULL);
		user = pool_quoted(ctx, &q);
		if (user == NULL)
			continue;
		secret = pool_quoted(ctx, &q);
		pool_kv_put(out, &n, &cap, ctx, user,
			    secret != NULL ? secret : "");
	}
	return n;
}

/* The contents of a file, or NULL with errno set. */
static const char *pool_read_file(struct dbops_ctx *ctx, const char *path,
				  struct stat *st)
{
	const struct dbops_host *h = dbops_host(ctx);
	char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, st) != 0 || st->st_size > POOL_FILE_MAX) {
		if (st->st_size > POOL_FILE_MAX)
			errno = EFBIG;
		close(fd);
		return NULL;
	}
	buf = h->alloc(ctx, (size_t)st->st_size + 1);
	while (got < (size_t)st->st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st->st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	return buf;
}

int pool_live_read_files(struct pool_live *live, struct dbops_ctx *ctx,
			 const struct pool_desired *d)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *path = pool_config_path(d);
	const struct pool_kv *kv;
	const struct pool_conf *c;
	struct stat st;
	const char *text;
	struct dbops_diag *diag;

	memset(&live->file, 0, sizeof(live->file));
	text = pool_read_file(ctx, path, &st);
	if (text == NULL) {
		diag = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
		    "could not read PgBouncer configuration file \"%s\": %s",
		    path, strerror(errno));
		h->diag_hint(
		    ctx, diag,
		    "dbops rewrites this file and needs to read it first; run dbops where the file is, as a user who may read and write it.");
		return DBOPS_ERR_GENERIC;
	}
	live->file.exists = true;
	live->file.uid = st.st_uid;
	live->file.gid = st.st_gid;
	live->file.mode = st.st_mode & 07777;
	pool_file_parse(&live->file, ctx, text);

	/* the auth file: the spec's, else the file's, else the running one */
	live->auth_path = NULL;
	if ((kv = pool_desired_setting(d, "auth_file")) != NULL)
		live->auth_path = kv->value;
	else if ((kv = pool_kv_find(live->file.settings, live->file.nsettings,
				    "auth_file")) != NULL)
		live->auth_path = kv->value;
	else if ((c = pool_live_conf(live, "auth_file")) != NULL &&
		 c->value != NULL && *c->value)
		live->auth_path = c->value;
	if (d->nauth == 0)
		return 0;
	if (live->auth_path == NULL) {
		diag = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &d->auth[0].loc,
		    "auth users are listed but PgBouncer has no auth_file");
		h->diag_hint(ctx, diag, "Set auth_file in pooler.settings.");
		return DBOPS_ERR_INVALID;
	}
	text = pool_read_file(ctx, live->auth_path, &st);
	if (text == NULL && errno != ENOENT) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not read PgBouncer auth file \"%s\": %s",
			live->auth_path, strerror(errno));
		return DBOPS_ERR_GENERIC;
	}
	live->auth_read = true;
	live->nauth = pool_auth_parse(&live->auth, ctx, text ? text : "");
	return 0;
}

static bool pool_flag(const char *v)
{
	return v != NULL && strcmp(v, "0") != 0 && *v != '\0';
}

static const char *pool_nonempty(const char *v)
{
	return v != NULL && *v != '\0' ? v : NULL;
}

int pool_live_read_console(struct pool_live *live, struct dbops_ctx *ctx,
			   struct dbops_conn *conn)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *r = NULL;
	size_t n = 0;
	int err;

	err = h->conn_query(&r, ctx, conn, "SHOW VERSION", 0, NULL);
	if (err != 0)
		return err;
	live->version = h->rows_get(r, 0, "version");

	err = h->conn_query(&r, ctx, conn, "SHOW CONFIG", 0, NULL);
	if (err != 0)
		return err;
	live->conf =
	    h->alloc(ctx, ((size_t)r->nrows + 1) * sizeof(*live->conf));
	for (int i = 0; i < r->nrows; i++) {
		struct pool_conf *c = &live->conf[i];
		const char *ch = h->rows_get(r, i, "changeable");

		c->key = h->rows_get(r, i, "key");
		c->value = h->rows_get(r, i, "value");
		c->def = h->rows_get(r, i, "default");
		c->changeable = ch != NULL && strcmp(ch, "yes") == 0;
	}
	live->nconf = (size_t)r->nrows;

	err = h->conn_query(&r, ctx, conn, "SHOW DATABASES", 0, NULL);
	if (err != 0)
		return err;
	live->dbs = h->alloc(ctx, ((size_t)r->nrows + 1) * sizeof(*live->dbs));
	for (int i = 0; i < r->nrows; i++) {
		struct pool_live_db *db = &live->dbs[n];

		db->name = h->rows_get(r, i, "name");
		if (db->name == NULL || strcmp(db->name, "pgbouncer") == 0)
			continue;
		db->host = pool_nonempty(h->rows_get(r, i, "host"));
		db->port = h->rows_get(r, i, "port");
		db->database = h->rows_get(r, i, "database");
		db->force_user = pool_nonempty(h->rows_get(r, i, "force_user"));
		db->pool_size = h->rows_get(r, i, "pool_size");
		db->min_pool_size = h->rows_get(r, i, "min_pool_size");
		db->reserve_pool = h->rows_get(r, i, "reserve_pool");
		db->pool_mode = pool_nonempty(h->rows_get(r, i, "pool_mode"));
		db->max_connections = h->rows_get(r, i, "max_connections");
		db->paused = pool_flag(h->rows_get(r, i, "paused"));
		db->disabled = pool_flag(h->rows_get(r, i, "disabled"));
		n++;
	}
	live->ndbs = n;

	err = h->conn_query(&r, ctx, conn, "SHOW USERS", 0, NULL);
	if (err != 0)
		return err;
	live->users =
	    h->alloc(ctx, ((size_t)r->nrows + 1) * sizeof(*live->users));
	live->nusers = 0;
	for (int i = 0; i < r->nrows; i++) {
		const char *mode =
		    pool_nonempty(h->rows_get(r, i, "pool_mode"));

		if (mode == NULL)
			continue;
		live->users[live->nusers].key = h->rows_get(r, i, "name");
		live->users[live->nusers].value = mode;
		live->nusers++;
	}
	return 0;
}

/* What a saved plan depends on, as one text: the settings, the entries'
 * configuration (not their connection counts), users, the files. */
static const char *pool_live_digest(struct dbops_ctx *ctx,
				    const struct pool_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *out = live->version ? live->version : "";

	for (size_t i = 0; i < live->nconf; i++)
		out = h->printf(ctx, "%s\n%s=%s", out, live->conf[i].key,
				live->conf[i].value ? live->conf[i].value : "");
	for (size_t i = 0; i < live->ndbs; i++) {
		const struct pool_live_db *db = &live->dbs[i];

		out = h->printf(ctx, "%s\ndb %s %s %s %s %s %s %s %s %s %s %d",
				out, db->name, db->host ? db->host : "",
				db->port ? db->port : "",
				db->database ? db->database : "",
				db->force_user ? db->force_user : "",
				db->pool_size ? db->pool_size : "",
				db->min_pool_size ? db->min_pool_size : "",
				db->reserve_pool ? db->reserve_pool : "",
				db->pool_mode ? db->pool_mode : "",
				db->max_connections ? db->max_connections : "",
				db->disabled);
	}
	for (size_t i = 0; i < live->nusers; i++)
		out = h->printf(ctx, "%s\nuser %s %s", out, live->users[i].key,
				live->users[i].value);
	for (size_t i = 0; i < live->nauth; i++)
		out = h->printf(ctx, "%s\nauth %s %s", out, live->auth[i].key,
				live->auth[i].value);
	return h->printf(ctx, "%s\n%s", out,
			 live->file.text ? live->file.text : "");
}

int pool_observe(void **live_out, struct dbops_ctx *ctx,
		 const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct pool_desired d;
	struct pool_live *live;
	struct dbops_conn *conn = NULL;
	const char *conninfo, *digest;
	struct dbops_diag *diag;
	PGconn *pg;
	int err;

	err = pool_desired_read(&d, ctx, section);
	if (err != 0)
		return err;
	conninfo = pool_admin_conninfo(&d);
	if (conninfo == NULL || pool_config_path(&d) == NULL) {
		diag = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &d.loc,
			       conninfo == NULL
				   ? "no admin connection for PgBouncer"
				   : "no configuration file for PgBouncer");
		h->diag_hint(
		    ctx, diag,
		    "Set pooler.pgbouncer.admin and pooler.pgbouncer.config_file, or the PGBOUNCER_ADMIN and PGBOUNCER_INI environment variables.");
		return DBOPS_ERR_INVALID;
	}
	live = h->alloc(ctx, sizeof(*live));
	err = h->conn_open(&conn, ctx, conninfo,
			   DBOPS_CONN_STANDALONE | DBOPS_CONN_VOLATILE);
	if (err != 0)
		return err;
	err = pool_live_read_console(live, ctx, conn);
	h->conn_close(ctx, conn);
	if (err != 0)
		return err;
	err = pool_live_read_files(live, ctx, &d);
	if (err != 0)
		return err;
	pg = h->pgconn(ctx);
	if (pg != NULL) {
		live->primary_host = h->strdup(ctx, PQhost(pg));
		live->primary_port = h->strdup(ctx, PQport(pg));
	}
	/* the stable part of what was read enters the fingerprint */
	digest = pool_live_digest(ctx, live);
	h->observe_note(ctx, "pooler", digest);
	*live_out = live;
	return 0;
}

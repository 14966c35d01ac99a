/* SPDX-License-Identifier: PostgreSQL */
/*
 * hba.c — the pg_hba rules of `roles.hba`: rendered into the file named by
 * the server's hba_file when dbops runs where it can read and write that
 * file. Before a new file is planned, the rules are evaluated in order
 * against dbops' own connection (connection type, database, user, client
 * address, SSL, whether a password was used) and a rule set that would
 * reject it, or match it with no rule at all, is refused. Apply writes the
 * file atomically (temporary file in the same directory, owner and mode
 * kept, rename), asks pg_hba_file_rules for errors, and puts the previous
 * file back when there is any (nothing was loaded: the postmaster only
 * reads the file on a reload); else pg_reload_conf() and a fresh
 * connection must succeed, or the previous file is restored and reloaded.
 */
#include "roles_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HBA_MAX (1024 * 1024)

static const char hba_header[] =
    "# pg_hba.conf written by dbops from the roles.hba section of the spec.\n"
    "# Edits made here are replaced on the next apply.\n";

static const char hba_session_sql[] =
    "SELECT pg_catalog.current_setting('hba_file') AS f, "
    "pg_catalog.host(pg_catalog.inet_client_addr()) AS addr, "
    "(SELECT ssl FROM pg_catalog.pg_stat_ssl "
    "WHERE pid = pg_catalog.pg_backend_pid()) AS ssl";

static const char hba_errors_sql[] =
    "SELECT line_number, error FROM pg_catalog.pg_hba_file_rules "
    "WHERE error IS NOT NULL ORDER BY line_number";

const char *role_hba_render(struct dbops_ctx *ctx, const struct role_spec *spec)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *out = hba_header;

	for (size_t i = 0; i < spec->nhba; i++) {
		const struct role_hba_rule *r = &spec->hba[i];

		out = h->printf(ctx, "%s%-8s %-16s %-16s %-24s %s%s%s\n", out,
				r->type, r->database, r->user,
				r->address ? r->address : "", r->method,
				r->options ? " " : "",
				r->options ? r->options : "");
	}
	return out;
}

static char *read_file(struct dbops_ctx *ctx, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = dbops_host(ctx)->alloc(ctx, HBA_MAX + 1);
	n = fread(buf, 1, HBA_MAX, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

int role_hba_observe(struct dbops_ctx *ctx, struct role_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *ssl;
	void *conn;
	int err;

	if (!live->superuser)
		return 0; /* diff says why nothing is planned */
	if ((err = h->query(&rows, ctx, hba_session_sql, 0, NULL)) != 0)
		return err;
	live->hba_file = h->rows_get(rows, 0, "f");
	live->client_addr = h->rows_get(rows, 0, "addr");
	ssl = h->rows_get(rows, 0, "ssl");
	live->client_ssl = ssl != NULL && ssl[0] == 't';
	conn = h->pgconn(ctx);
	live->used_password = conn != NULL && PQconnectionUsedPassword(conn);
	if (live->hba_file != NULL)
		live->hba_content = read_file(ctx, live->hba_file);
	return 0;
}

/* ---- matching dbops' own connection */

static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	while (*list) {
		size_t len = strcspn(list, ",");
		const char *item = list;

		if (len >= 2 && item[0] == '"' && item[len - 1] == '"') {
			item++;
			len -= 2;
		}
		if (len == n && strncmp(item, name, n) == 0)
			return true;
		list += strcspn(list, ",");
		if (*list == ',')
			list++;
	}
	return false;
}

static bool member_of(const struct role_live *live, const char *user,
		      const char *group)
{
	if (strcmp(user, group) == 0)
		return true;
	for (size_t i = 0; i < live->nmembers; i++)
		if (strcmp(live->members[i].member, user) == 0 &&
		    strcmp(live->members[i].role, group) == 0)
			return true;
	return false;
}

static bool user_matches(const struct role_live *live, const char *field,
			 const char *user)
{
	char item[128];

	while (*field) {
		size_t len = strcspn(field, ",");

		if (len < sizeof(item)) {
			memcpy(item, field, len);
			item[len] = '\0';
			if (strcmp(item, "all") == 0 ||
			    (item[0] == '+' &&
			     member_of(live, user, item + 1)) ||
			    list_has(item, user))
				return true;
		}
		field += len;
		if (*field == ',')
			field++;
	}
	return false;
}

static bool db_matches(const char *field, const char *db, const char *user)
{
	if (list_has(field, "all"))
		return true;
	if (list_has(field, "sameuser") && strcmp(db, user) == 0)
		return true;
	return list_has(field, db);
}

static int atoi_bits(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return end == s || *end != '\0' || v < 0 || v > 128 ? -1 : (int)v;
}

static bool addr_matches(const char *spec, const char *client)
{
	unsigned char a[16], b[16];
	char net[64];
	const char *slash;
	int family, bits, len;

	if (strcmp(spec, "all") == 0)
		return true;
	if ((slash = strchr(spec, '/')) == NULL ||
	    (size_t)(slash - spec) >= sizeof(net))
		return false; /* host names, samehost, samenet: not assumed */
	memcpy(net, spec, (size_t)(slash - spec));
	net[slash - spec] = '\0';
	family = strchr(net, ':') ? AF_INET6 : AF_INET;
	len = family == AF_INET6 ? 16 : 4;
	bits = atoi_bits(slash + 1);
	if (bits < 0 || bits > len * 8 || inet_pton(family, net, a) != 1 ||
	    inet_pton(family, client, b) != 1)
		return false;
	for (int i = 0; i < len; i++) {
		int keep = bits >= 8 * (i + 1) ? 8 : bits - 8 * i;
		unsigned char mask =
		    keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));

		if ((a[i] & mask) != (b[i] & mask))
			return false;
	}
	return true;
}

static bool type_matches(const char *type, const struct role_live *live)
{
	if (live->client_addr == NULL)
		return strcmp(type, "local") == 0;
	if (strcmp(type, "host") == 0)
		return true;
	if (strcmp(type, "hostssl") == 0)
		return live->client_ssl;
	if (strcmp(type, "hostnossl") == 0)
		return !live->client_ssl;
	return strcmp(type, "hostnogssenc") == 0;
}

static bool method_ok(const char *method, const struct role_live *live)
{
	static const char *const password[] = {
	    "md5", "scram-sha-256", "password", "ldap", "radius", "pam", "bsd"};

	if (strcmp(method, "trust") == 0)
		return true;
	if (strcmp(method, "peer") == 0 || strcmp(method, "ident") == 0)
		return live->client_addr == NULL ||
		       strcmp(method, "ident") == 0;
	if (strcmp(method, "cert") == 0)
		return live->client_ssl;
	for (size_t i = 0; i < sizeof(password) / sizeof(password[0]); i++)
		if (strcmp(method, password[i]) == 0)
			return live->used_password;
	return false;
}

/* The rule dbops' connection would match, or -1. */
static int own_rule(const struct role_spec *spec, const struct role_live *live)
{
	for (size_t i = 0; i < spec->nhba; i++) {
		const struct role_hba_rule *r = &spec->hba[i];

		if (type_matches(r->type, live) &&
		    db_matches(r->database, live->current_database,
			       live->current_user) &&
		    user_matches(live, r->user, live->current_user) &&
		    (r->address == NULL || live->client_addr == NULL ||
		     addr_matches(r->address, live->client_addr)))
			return (int)i;
	}
	return -1;
}

int role_hba_diff(struct dbops_ctx *ctx, const struct role_spec *spec,
		  const struct role_live *live, struct role_apply_state *st)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_loc *loc = spec->nhba ? &spec->hba[0].loc : NULL;
	struct role_payload *p;
	struct dbops_change *c;
	const char *want;
	struct dbops_diag *d;
	int rule;

	if (!spec->has_hba)
		return 0;
	if (live->hba_content == NULL) {
		d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, loc,
		    "pg_hba rules are not managed: the server's hba_file is not readable from here");
		h->diag_detail(
		    ctx, d,
		    "dbops must connect as a superuser and run on the server's host, with access to \"%s\".",
		    live->hba_file ? live->hba_file : "hba_file");
		return 0;
	}
	rule = own_rule(spec, live);
	if (rule < 0 || !method_ok(spec->hba[rule].method, live)) {
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			    rule < 0 ? loc : &spec->hba[rule].loc,
			    "the pg_hba rules would lock dbops out");
		if (rule < 0)
			h->diag_detail(
			    ctx, d,
			    "No rule matches dbops' own connection (user \"%s\", database \"%s\", address %s).",
			    live->current_user, live->current_database,
			    live->client_addr ? live->client_addr
					      : "local socket");
		else
			h->diag_detail(
			    ctx, d,
			    "Rule %d matches dbops' own connection (user \"%s\", database \"%s\") with method \"%s\", which it cannot satisfy.",
			    rule + 1, live->current_user,
			    live->current_database, spec->hba[rule].method);
		return DBOPS_ERR_INVALID;
	}
	want = role_hba_render(ctx, spec);
	if (strcmp(want, live->hba_content) == 0)
		return 0;
	p = h->alloc(ctx, sizeof(*p));
	p->op = ROLE_OP_HBA;
	p->state = st;
	p->password_at = -1;
	p->hba_file = live->hba_file;
	p->hba_content = want;
	c = h->change_new(ctx, DBOPS_ACTION_RELOAD, "roles.hba");
	c->phase = ROLE_PHASE_HBA;
	c->flags |= DBOPS_CHANGE_NONTX;
	c->loc = loc ? *loc : c->loc;
	c->payload = p;
	c->reason = h->printf(ctx, "%s differs from the %zu rules of the spec",
			      live->hba_file, spec->nhba);
	c->sql = "SELECT pg_reload_conf()";
	h->change_attr(ctx, c, "hba_file", NULL, live->hba_file, false);
	for (size_t i = 0; i < spec->nhba; i++) {
		const struct role_hba_rule *r = &spec->hba[i];

		h->change_attr(ctx, c, h->printf(ctx, "rule %zu", i + 1), NULL,
			       h->printf(ctx, "%s %s %s%s%s %s%s%s", r->type,
					 r->database, r->user,
					 r->address ? " " : "",
					 r->address ? r->address : "",
					 r->method, r->options ? " " : "",
					 r->options ? r->options : ""),
			       false);
	}
	return 0;
}

/* ---- apply */

static int write_atomic(struct dbops_ctx *ctx, const char *path,
			const char *content)
{
	return dbops_host(ctx)->file_write(ctx, path, content, strlen(content),
					   0600);
}

static int restore(struct dbops_ctx *ctx, const struct role_payload *p,
		   const char *old, bool reload)
{
	int err = write_atomic(ctx, p->hba_file, old);

	if (err == 0 && reload)
		err = dbops_host(ctx)->query(
		    NULL, ctx, "SELECT pg_catalog.pg_reload_conf()", 0, NULL);
	return err;
}

int role_hba_apply(struct dbops_ctx *ctx, const struct role_payload *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	struct dbops_conn *probe = NULL;
	const char *old = read_file(ctx, p->hba_file);
	struct dbops_diag *d;
	int err;

	if (old == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not read file \"%s\": %s", p->hba_file,
			strerror(errno));
		return DBOPS_ERR_GENERIC;
	}
	if (strcmp(old, p->hba_content) == 0) {
		h->log(ctx, DBOPS_LOG_INFO, "\"%s\" holds the rules already",
		       p->hba_file);
		return 0;
	}
	if ((err = write_atomic(ctx, p->hba_file, p->hba_content)) != 0)
		return err;
	if ((err = h->query(&rows, ctx, hba_errors_sql, 0, NULL)) != 0) {
		restore(ctx, p, old, false);
		return err;
	}
	if (rows->nrows > 0) {
		restore(ctx, p, old, false);
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "pg_hba rules rejected by the server: line %s: %s",
			    h->rows_get(rows, 0, "line_number"),
			    h->rows_get(rows, 0, "error"));
		h->diag_detail(
		    ctx, d,
		    "The previous \"%s\" was put back; nothing was reloaded.",
		    p->hba_file);
		return DBOPS_ERR_INVALID;
	}
	if ((err = h->query(NULL, ctx, "SELECT pg_catalog.pg_reload_conf()", 0,
			    NULL)) != 0)
		return err;
	/* the postmaster reloads asynchronously; a new session proves the
	 * rules let dbops in */
	usleep(200 * 1000);
	if ((err = h->conn_open(&probe, ctx, "", DBOPS_CONN_SAME_CLUSTER)) !=
	    0) {
		restore(ctx, p, old, true);
		return err;
	}
	h->conn_close(ctx, probe);
	return 0;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * diff.c — desired roles, memberships, privileges and default privileges
 * against the live model, as minimal changes: a role is created or
 * altered only in the attributes that differ, a password is set only when
 * the stored SCRAM verifier does not match the desired secret (recomputed
 * with the stored salt and iteration count), a GRANT is planned only for
 * privileges missing live and a REVOKE only for privileges held live and
 * not declared. Nothing here runs SQL; every identifier in a statement is
 * quoted with host->quote_ident, every literal with host->quote_literal.
 *
 * Managed roles (present in roles.members) are exact: their memberships
 * and, in the databases the spec names, their privileges and the default
 * privileges granted to them are what the spec says. Other grantees,
 * PUBLIC included, only get what is granted and lose what is revoked
 * explicitly.
 */
#include "roles_int.h"

#include <stdlib.h>
#include <string.h>

struct differ {
	struct dbops_ctx *ctx;
	const struct dbops_host *h;
	const struct role_spec *spec;
	const struct role_live *live;
	struct role_apply_state *state;
	int err;
};

#define REDACTED " PASSWORD '(redacted)'"

static const char *qi(struct differ *d, const char *ident)
{
	return d->h->quote_ident(d->ctx, ident);
}

static const char *ql(struct differ *d, const char *lit)
{
	return d->h->quote_literal(d->ctx, lit);
}

static const char *grantee_sql(struct differ *d, const char *g)
{
	return strcmp(g, "PUBLIC") == 0 ? "PUBLIC" : qi(d, g);
}

static struct role_payload *payload(struct differ *d, enum role_op op,
				    const char *role)
{
	struct role_payload *p = d->h->alloc(d->ctx, sizeof(*p));

	p->op = op;
	p->state = d->state;
	p->role = role;
	p->password_at = -1;
	return p;
}

/* Statements joined for display, the password redacted. */
static const char *display_sql(struct differ *d, const struct role_payload *p)
{
	const char *s = "";

	for (size_t i = 0; i < p->nsql; i++) {
		const char *stmt = p->sql[i];

		if ((int)i == p->password_at)
			stmt = d->h->printf(d->ctx, "%s%s", stmt, REDACTED);
		s = i == 0 ? d->h->printf(d->ctx, "%s;", stmt)
			   : d->h->printf(d->ctx, "%s\n%s;", s, stmt);
	}
	return s;
}

static void add_sql(struct differ *d, struct role_payload *p, const char *sql)
{
	const char **v = d->h->alloc(d->ctx, (p->nsql + 1) * sizeof(*v));

	if (p->nsql > 0)
		memcpy(v, p->sql, p->nsql * sizeof(*v));
	v[p->nsql++] = sql;
	p->sql = v;
}

static struct dbops_change *change(struct differ *d, enum dbops_action action,
				   const char *address, int phase,
				   const struct dbops_loc *loc,
				   struct role_payload *p)
{
	struct dbops_change *c = d->h->change_new(d->ctx, action, address);

	c->phase = phase;
	if (loc != NULL)
		c->loc = *loc;
	c->payload = p;
	c->sql = display_sql(d, p);
	return c;
}

#define ERROR(d, loc, ...)                                                     \
	((d)->err = DBOPS_ERR_INVALID,                                         \
	 (d)->h->diag((d)->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, (loc),     \
		      __VA_ARGS__))

/* ---- passwords */

enum role_pw_state role_password_compare(const char *secret, const char *stored)
{
	char want[200];
	uint8_t salt[80];
	const char *p, *q;
	unsigned long iter;
	char *end;
	int saltlen;
	unsigned char diff = 0;
	size_t n;

	if (stored == NULL || strncmp(stored, "SCRAM-SHA-256$", 14) != 0)
		return ROLE_PW_DIFFERENT;
	p = stored + 14;
	iter = strtoul(p, &end, 10);
	if (end == p || *end != ':' || iter == 0 || iter > 100000000)
		return ROLE_PW_UNKNOWN;
	p = end + 1;
	if ((q = strchr(p, '$')) == NULL)
		return ROLE_PW_UNKNOWN;
	saltlen = role_base64_decode(salt, sizeof(salt), p, (size_t)(q - p));
	if (saltlen <= 0)
		return ROLE_PW_UNKNOWN;
	if (role_scram_verifier(want, sizeof(want), salt, (size_t)saltlen,
				(unsigned)iter, secret) != 0)
		return ROLE_PW_UNKNOWN;
	n = strlen(want);
	if (strlen(stored) != n)
		return ROLE_PW_DIFFERENT;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(want[i] ^ stored[i]);
	memset(want, 0, sizeof(want));
	return diff == 0 ? ROLE_PW_SAME : ROLE_PW_DIFFERENT;
}

/* Whether the password must be set, with the reason; false also when
 * its state cannot be known (a warning says so). */
static bool password_needs_set(const char **why, struct differ *d,
			       const struct role_def *r,
			       const struct role_live_role *lr)
{
	const char *secret = NULL;
	enum role_pw_state st;
	struct dbops_diag *w;

	if (!d->live->authid_readable) {
		w = d->h->diag(d->ctx, DBOPS_SEV_WARNING, 0, &r->password.loc,
			       "password state of role \"%s\" is unknown",
			       r->name);
		d->h->diag_detail(
		    d->ctx, w,
		    "Only a superuser can read the stored verifier in pg_authid, so the password is neither compared nor set.");
		return false;
	}
	if (lr->password == NULL) {
		*why = "the role has no password";
		return true;
	}
	if (strncmp(lr->password, "md5", 3) == 0) {
		*why = "the password is stored as MD5";
		return true;
	}
	if (d->h->secret_try_read(&secret, d->ctx, &r->password) != 0) {
		struct dbops_diag *unk = d->h->diag(
		    d->ctx, DBOPS_SEV_WARNING, 0, &r->password.loc,
		    "password state of role \"%s\" is unknown: its secret is not available here",
		    r->name);

		d->h->diag_hint(
		    d->ctx, unk,
		    "A plan made without the secrets (in a pull request, say) cannot compare passwords; apply reads the secret and sets the password when it differs.");
		return false;
	}
	st = role_password_compare(secret, lr->password);
	if (st == ROLE_PW_SAME)
		return false;
	if (st == ROLE_PW_UNKNOWN) {
		d->h->diag(
		    d->ctx, DBOPS_SEV_WARNING, 0, &r->password.loc,
		    "password state of role \"%s\" is unknown: the stored verifier is not in a form dbops reads",
		    r->name);
		return false;
	}
	*why = "the password differs from the secret";
	return true;
}

/* ---- roles */

struct attr_flag {
	const char *name;
	const char *on, *off;
	size_t offset_def, offset_live;
};

#define DEF(f)	offsetof(struct role_def, f)
#define LIVE(f) offsetof(struct role_live_role, f)

static const struct attr_flag flags[] = {
    {"superuser", "SUPERUSER", "NOSUPERUSER", DEF(superuser), LIVE(superuser)},
    {"createdb", "CREATEDB", "NOCREATEDB", DEF(createdb), LIVE(createdb)},
    {"createrole", "CREATEROLE", "NOCREATEROLE", DEF(createrole),
     LIVE(createrole)},
    {"inherit", "INHERIT", "NOINHERIT", DEF(inherit), LIVE(inherit)},
    {"login", "LOGIN", "NOLOGIN", DEF(login), LIVE(login)},
    {"replication", "REPLICATION", "NOREPLICATION", DEF(replication),
     LIVE(replication)},
    {"bypassrls", "BYPASSRLS", "NOBYPASSRLS", DEF(bypassrls), LIVE(bypassrls)},
};

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static bool def_flag(const struct role_def *r, size_t i)
{
	return *(const bool *)(const void *)((const char *)r +
					     flags[i].offset_def);
}

static bool live_flag(const struct role_live_role *r, size_t i)
{
	return *(const bool *)(const void *)((const char *)r +
					     flags[i].offset_live);
}

static const char *tf(bool v)
{
	return v ? "true" : "false";
}

static const char *until_epoch(struct differ *d, const char *text)
{
	for (size_t i = 0; i < d->live->nuntil; i++)
		if (strcmp(d->live->until_text[i], text) == 0)
			return d->live->until_epoch[i];
	return NULL;
}

static void plan_create(struct differ *d, const struct role_def *r)
{
	struct role_payload *p = payload(d, ROLE_OP_CREATE, r->name);
	const char *sql =
	    d->h->printf(d->ctx, "CREATE ROLE %s WITH", qi(d, r->name));
	struct dbops_change *c;

	for (size_t i = 0; i < NFLAGS; i++)
		sql = d->h->printf(d->ctx, "%s %s", sql,
				   def_flag(r, i) ? flags[i].on : flags[i].off);
	sql = d->h->printf(d->ctx, "%s CONNECTION LIMIT %lld", sql,
			   (long long)r->connection_limit);
	if (r->valid_until != NULL)
		sql = d->h->printf(d->ctx, "%s VALID UNTIL %s", sql,
				   ql(d, r->valid_until));
	add_sql(d, p, sql);
	if (r->has_password) {
		p->password_at = 0;
		p->password = &r->password;
	}
	if (r->comment != NULL)
		add_sql(d, p,
			d->h->printf(d->ctx, "COMMENT ON ROLE %s IS %s",
				     qi(d, r->name), ql(d, r->comment)));
	c = change(d, DBOPS_ACTION_CREATE,
		   d->h->printf(d->ctx, "roles.role.%s", r->name),
		   ROLE_PHASE_ROLE, &r->loc, p);
	for (size_t i = 0; i < NFLAGS; i++)
		if (def_flag(r, i) != (strcmp(flags[i].name, "inherit") == 0))
			d->h->change_attr(d->ctx, c, flags[i].name, NULL,
					  tf(def_flag(r, i)), false);
	if (r->connection_limit != -1)
		d->h->change_attr(d->ctx, c, "connection_limit", NULL,
				  d->h->printf(d->ctx, "%lld",
					       (long long)r->connection_limit),
				  false);
	if (r->valid_until != NULL)
		d->h->change_attr(d->ctx, c, "valid_until", NULL,
				  r->valid_until, false);
	if (r->comment != NULL)
		d->h->change_attr(d->ctx, c, "comment", NULL, r->comment,
				  false);
	if (r->has_password)
		d->h->change_attr(d->ctx, c, "password", NULL, "(set)", true);
}

static void plan_alter(struct differ *d, const struct role_def *r,
		       const struct role_live_role *lr)
{
	struct role_payload *p = payload(d, ROLE_OP_ALTER, r->name);
	const char *opts = "", *why = NULL, *epoch = NULL;
	bool pw = false, until = false, comment = false;
	struct dbops_change *c;

	for (size_t i = 0; i < NFLAGS; i++)
		if (def_flag(r, i) != live_flag(lr, i))
			opts = d->h->printf(d->ctx, "%s %s", opts,
					    def_flag(r, i) ? flags[i].on
							   : flags[i].off);
	if (r->connection_limit != lr->connection_limit)
		opts = d->h->printf(d->ctx, "%s CONNECTION LIMIT %lld", opts,
				    (long long)r->connection_limit);
	if (r->valid_until != NULL) {
		epoch = until_epoch(d, r->valid_until);
		until = epoch == NULL || lr->valid_until == NULL ||
			strcmp(epoch, lr->valid_until) != 0;
		if (until)
			opts = d->h->printf(d->ctx, "%s VALID UNTIL %s", opts,
					    ql(d, r->valid_until));
	}
	if (r->has_password)
		pw = password_needs_set(&why, d, r, lr);
	comment = r->comment != NULL &&
		  (lr->comment == NULL || strcmp(r->comment, lr->comment) != 0);
	if (opts[0] == '\0' && !pw && !comment)
		return;
	if (opts[0] != '\0' || pw) {
		add_sql(d, p,
			d->h->printf(d->ctx, "ALTER ROLE %s%s%s",
				     qi(d, r->name), opts[0] ? " WITH" : "",
				     opts));
		if (pw) {
			p->password_at = 0;
			p->password = &r->password;
		}
	}
	if (comment)
		add_sql(d, p,
			d->h->printf(d->ctx, "COMMENT ON ROLE %s IS %s",
				     qi(d, r->name), ql(d, r->comment)));
	c = change(d, DBOPS_ACTION_UPDATE,
		   d->h->printf(d->ctx, "roles.role.%s", r->name),
		   ROLE_PHASE_ROLE, &r->loc, p);
	c->reason = pw && opts[0] == '\0' && !comment ? why : NULL;
	for (size_t i = 0; i < NFLAGS; i++)
		if (def_flag(r, i) != live_flag(lr, i))
			d->h->change_attr(d->ctx, c, flags[i].name,
					  tf(live_flag(lr, i)),
					  tf(def_flag(r, i)), false);
	if (r->connection_limit != lr->connection_limit)
		d->h->change_attr(d->ctx, c, "connection_limit",
				  d->h->printf(d->ctx, "%lld",
					       (long long)lr->connection_limit),
				  d->h->printf(d->ctx, "%lld",
					       (long long)r->connection_limit),
				  false);
	if (until)
		d->h->change_attr(d->ctx, c, "valid_until",
				  lr->valid_until ? lr->valid_until : "",
				  r->valid_until, false);
	if (comment)
		d->h->change_attr(d->ctx, c, "comment", lr->comment, r->comment,
				  false);
	if (pw)
		d->h->change_attr(d->ctx, c, "password",
				  lr->password ? "(set)" : NULL, "(set)", true);
}

static void plan_drop(struct differ *d, const char *name,
		      const struct dbops_loc *loc, const char *why)
{
	struct role_payload *p = payload(d, ROLE_OP_DROP, name);
	const char *to =
	    d->spec->reassign_to ? d->spec->reassign_to : d->live->current_user;
	struct dbops_change *c;

	p->reassign_to = to;
	add_sql(
	    d, p,
	    d->h->printf(d->ctx,
			 "REASSIGN OWNED BY %s TO %s /* in every database */",
			 qi(d, name), qi(d, to)));
	add_sql(d, p,
		d->h->printf(d->ctx, "DROP OWNED BY %s /* in every database */",
			     qi(d, name)));
	add_sql(d, p, d->h->printf(d->ctx, "DROP ROLE %s", qi(d, name)));
	c = change(d, DBOPS_ACTION_DELETE,
		   d->h->printf(d->ctx, "roles.role.%s", name), ROLE_PHASE_DROP,
		   loc, p);
	/* other databases see only committed roles: run after a commit */
	c->flags |= DBOPS_CHANGE_DESTRUCTIVE | DBOPS_CHANGE_NONTX;
	c->reason = why;
}

static bool is_self(struct differ *d, const char *name)
{
	return d->live->current_user != NULL &&
	       strcmp(name, d->live->current_user) == 0;
}

static void diff_roles(struct differ *d)
{
	const struct role_spec *s = d->spec;

	for (size_t i = 0; i < s->nroles; i++) {
		const struct role_def *r = &s->roles[i];
		const struct role_live_role *lr =
		    role_live_find(d->live, r->name);

		if (r->absent) {
			if (is_self(d, r->name) ||
			    strcmp(r->name, "postgres") == 0) {
				ERROR(
				    d, &r->loc,
				    "role \"%s\" cannot be dropped: dbops connects as it or it is the bootstrap superuser",
				    r->name);
				continue;
			}
			if (lr != NULL)
				plan_drop(d, r->name, &r->loc,
					  "state: absent in the spec");
			continue;
		}
		if (is_self(d, r->name) && lr != NULL &&
		    ((lr->login && !r->login) ||
		     (lr->superuser && !r->superuser))) {
			ERROR(
			    d, &r->loc,
			    "role \"%s\" is the role dbops connects as and must keep its LOGIN and SUPERUSER attributes",
			    r->name);
			continue;
		}
		if (lr == NULL)
			plan_create(d, r);
		else
			plan_alter(d, r, lr);
	}
	if (!s->prune)
		return;
	for (size_t i = 0; i < d->live->nroles; i++) {
		const char *name = d->live->roles[i].name;

		if (role_spec_find(s, name) != NULL ||
		    role_protected(s, d->live->current_user, name))
			continue;
		plan_drop(d, name, NULL, "not in the spec and prune is on");
	}
}

/* ---- memberships */

static bool role_known(struct differ *d, const char *name)
{
	const struct role_def *r = role_spec_find(d->spec, name);

	if (r != NULL)
		return !r->absent;
	return role_live_find(d->live, name) != NULL;
}

static const struct role_live_member *
live_member(struct differ *d, const char *member, const char *group)
{
	struct role_live_member key = {group, member, false};

	return bsearch(&key, d->live->members, d->live->nmembers, sizeof(key),
		       role_member_cmp);
}

static void plan_membership(struct differ *d, const char *member,
			    const char *group,
			    const struct role_live_member *lm,
			    const struct role_membership *want)
{
	struct role_payload *p =
	    payload(d, want ? ROLE_OP_GRANT_ROLE : ROLE_OP_REVOKE_ROLE, group);
	enum dbops_action action;
	struct dbops_change *c;

	p->member = member;
	p->admin = want && want->admin;
	if (want != NULL && (lm == NULL || want->admin)) {
		add_sql(d, p,
			d->h->printf(d->ctx, "GRANT %s TO %s%s", qi(d, group),
				     qi(d, member),
				     want->admin ? " WITH ADMIN OPTION" : ""));
		action = lm == NULL ? DBOPS_ACTION_CREATE : DBOPS_ACTION_UPDATE;
	} else if (want != NULL) {
		add_sql(d, p,
			d->h->printf(d->ctx,
				     "REVOKE ADMIN OPTION FOR %s FROM %s",
				     qi(d, group), qi(d, member)));
		action = DBOPS_ACTION_UPDATE;
	} else {
		add_sql(d, p,
			d->h->printf(d->ctx, "REVOKE %s FROM %s", qi(d, group),
				     qi(d, member)));
		action = DBOPS_ACTION_DELETE;
	}
	c = change(
	    d, action,
	    d->h->printf(d->ctx, "roles.membership.%s.%s", member, group),
	    ROLE_PHASE_MEMBERSHIP, want ? &want->loc : NULL, p);
	d->h->change_attr(d->ctx, c, "admin_option", lm ? tf(lm->admin) : NULL,
			  want ? tf(want->admin) : NULL, false);
}

static void diff_members(struct differ *d)
{
	const struct role_spec *s = d->spec;

	for (size_t i = 0; i < s->nroles; i++) {
		const struct role_def *r = &s->roles[i];

		if (r->absent)
			continue;
		for (size_t j = 0; j < r->nmember_of; j++) {
			const struct role_membership *m = &r->member_of[j];
			const struct role_live_member *lm =
			    live_member(d, r->name, m->role);

			if (!role_known(d, m->role)) {
				ERROR(
				    d, &m->loc,
				    "role \"%s\" named in member_of does not exist and is not declared",
				    m->role);
				continue;
			}
			if (lm == NULL || lm->admin != m->admin)
				plan_membership(d, r->name, m->role, lm, m);
		}
	}
	for (size_t i = 0; i < d->live->nmembers; i++) {
		const struct role_live_member *lm = &d->live->members[i];
		const struct role_def *r = role_spec_find(s, lm->member);
		bool wanted = false;

		if (r == NULL || r->absent)
			continue;
		for (size_t j = 0; j < r->nmember_of && !wanted; j++)
			wanted = strcmp(r->member_of[j].role, lm->role) == 0;
		if (!wanted)
			plan_membership(d, lm->member, lm->role, lm, NULL);
	}
}

/* ---- privileges */

struct want {
	const char *key;
	enum role_objkind kind;
	const char *schema, *object, *grantee;
	unsigned grant, revoke;
	const struct dbops_loc *loc;
};

struct wantset {
	struct want *v;
	size_t n, cap;
};

static void want_add(struct differ *d, struct wantset *ws,
		     enum role_objkind kind, const char *schema,
		     const char *object, const char *grantee, unsigned grant,
		     unsigned revoke, const struct dbops_loc *loc)
{
	struct want *w;

	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? ws->cap * 2 : 64;
		struct want *v = d->h->alloc(d->ctx, cap * sizeof(*v));

		if (ws->n > 0)
			memcpy(v, ws->v, ws->n * sizeof(*v));
		ws->v = v;
		ws->cap = cap;
	}
	w = &ws->v[ws->n++];
	w->kind = kind;
	w->schema = schema ? schema : "";
	w->object = object ? object : "";
	w->grantee = grantee;
	w->key = role_acl_key(d->ctx, kind, schema, object, grantee);
	w->grant = grant;
	w->revoke = revoke;
	w->loc = loc;
}

static int cmp_want(const void *a, const void *b)
{
	return strcmp(((const struct want *)a)->key,
		      ((const struct want *)b)->key);
}

/* Sort and merge entries of the same key. */
static void want_finish(struct differ *d, struct wantset *ws)
{
	size_t m = 0;

	qsort(ws->v, ws->n, sizeof(*ws->v), cmp_want);
	for (size_t i = 0; i < ws->n; i++) {
		if (m > 0 && strcmp(ws->v[m - 1].key, ws->v[i].key) == 0) {
			struct want *p = &ws->v[m - 1];

			p->grant |= ws->v[i].grant;
			p->revoke |= ws->v[i].revoke;
			if (p->grant & p->revoke) {
				ERROR(
				    d, ws->v[i].loc,
				    "privileges of \"%s\" are both granted and revoked on the same object",
				    p->grantee);
				p->revoke &= ~p->grant;
			}
			continue;
		}
		ws->v[m++] = ws->v[i];
	}
	ws->n = m;
}

static bool managed(struct differ *d, const char *grantee)
{
	const struct role_def *r = role_spec_find(d->spec, grantee);

	return r != NULL && !r->absent;
}

static bool dropped(struct differ *d, const char *grantee)
{
	const struct role_def *r = role_spec_find(d->spec, grantee);

	if (r != NULL)
		return r->absent;
	return d->spec->prune && strcmp(grantee, "PUBLIC") != 0 &&
	       !role_protected(d->spec, d->live->current_user, grantee);
}

static const char *object_sql(struct differ *d, const struct role_acl *a,
			      const char *db)
{
	const char *paren;

	switch (a->kind) {
	case ROLE_OBJ_DATABASE:
		return d->h->printf(d->ctx, "DATABASE %s", qi(d, db));
	case ROLE_OBJ_SCHEMA:
		return d->h->printf(d->ctx, "SCHEMA %s", qi(d, a->schema));
	case ROLE_OBJ_FUNCTION:
		paren = strchr(a->object, '(');
		return d->h->printf(
		    d->ctx, "FUNCTION %s.%s%s", qi(d, a->schema),
		    qi(d, d->h->printf(d->ctx, "%.*s", (int)(paren - a->object),
				       a->object)),
		    paren);
	default:
		return d->h->printf(d->ctx, "%s %s.%s", role_kind_sql(a->kind),
				    qi(d, a->schema), qi(d, a->object));
	}
}

static bool isalnum_ascii(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static int cmp_object_key(const void *a, const void *b)
{
	const struct role_object *x = a, *y = b;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = strcmp(x->schema, y->schema)) != 0)
		return c;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* Whether `grantee` owns the object: an owner's privileges are implicit
 * and never planned. */
static bool owns(const struct role_live_db *ldb, enum role_objkind kind,
		 const char *schema, const char *name, const char *grantee)
{
	struct role_object key = {kind, schema, name, NULL};
	const struct role_object *o;

	if (kind == ROLE_OBJ_SCHEMA)
		key.name = NULL;
	o = bsearch(&key, ldb->objects, ldb->nobjects, sizeof(key),
		    cmp_object_key);
	return o != NULL && o->owner != NULL && strcmp(o->owner, grantee) == 0;
}

/* Function argument lists come from the spec when the function does not
 * exist yet: only type names are allowed there. */
static bool args_safe(const char *object)
{
	const char *p = strchr(object, '(');

	if (p == NULL)
		return false;
	for (p++; *p && *p != ')'; p++)
		if (!(isalnum_ascii(*p) || strchr(" _,.[]\"", *p) != NULL))
			return false;
	return *p == ')' && p[1] == '\0';
}

static const char *priv_address(struct differ *d, const char *db,
				const struct role_acl *a)
{
	switch (a->kind) {
	case ROLE_OBJ_DATABASE:
		return d->h->printf(d->ctx, "roles.privilege.%s.database", db);
	case ROLE_OBJ_SCHEMA:
		return d->h->printf(d->ctx, "roles.privilege.%s.schema.%s", db,
				    a->schema);
	default:
		return d->h->printf(d->ctx, "roles.privilege.%s.%s.%s.%s", db,
				    role_kind_name(a->kind), a->schema,
				    a->object);
	}
}

/* What changes for one grantee of an object. */
struct item {
	const char *grantee;
	unsigned have, grant, revoke;
	const struct dbops_loc *loc;
};

/*
 * The statements for the items of one object: grantees that gain (or
 * lose) the same privileges share one GRANT (or REVOKE), so 100 roles
 * granted SELECT on a table cost one statement. `head` and `tail` frame
 * the privilege list: "GRANT " P " ON TABLE t TO " grantees.
 */
static void batch_sql(struct differ *d, struct role_payload *p, struct item *it,
		      size_t n, bool revoke, const char *head, const char *mid,
		      const char *word)
{
	bool *done = d->h->alloc(d->ctx, (n + 1) * sizeof(*done));

	for (size_t i = 0; i < n; i++) {
		unsigned bits = revoke ? it[i].revoke : it[i].grant;
		const char *who;

		if (bits == 0 || done[i])
			continue;
		who = grantee_sql(d, it[i].grantee);
		for (size_t j = i + 1; j < n; j++)
			if (!done[j] &&
			    (revoke ? it[j].revoke : it[j].grant) == bits) {
				who =
				    d->h->printf(d->ctx, "%s, %s", who,
						 grantee_sql(d, it[j].grantee));
				done[j] = true;
			}
		add_sql(d, p,
			d->h->printf(d->ctx, "%s%s %s%s %s %s", head,
				     revoke ? "REVOKE" : "GRANT",
				     role_privs_format(d->ctx, bits), mid, word,
				     who));
	}
}

/*
 * Privilege changes run outside the host's transaction, each committed on
 * its own: a GRANT locks every grantee role until the end of its
 * transaction, and 20,000 grants to 10,000 roles in one transaction
 * exhaust the lock table (max_locks_per_transaction). A change on another
 * database's connection could not join that transaction anyway, and must
 * see the roles committed before it.
 */
static void own_transaction(struct dbops_change *c)
{
	c->flags |= DBOPS_CHANGE_NONTX;
}

static struct dbops_change *plan_items(struct differ *d, const char *db,
				       const char *address, int phase,
				       struct role_payload *p, struct item *it,
				       size_t n)
{
	bool created = true, deleted = true;
	const struct dbops_loc *loc = NULL;
	struct dbops_change *c;

	for (size_t i = 0; i < n; i++) {
		unsigned after = (it[i].have | it[i].grant) & ~it[i].revoke;

		created = created && it[i].have == 0;
		deleted = deleted && after == 0;
		if (loc == NULL)
			loc = it[i].loc;
	}
	p->database = db;
	c = change(d,
		   created   ? DBOPS_ACTION_CREATE
		   : deleted ? DBOPS_ACTION_DELETE
			     : DBOPS_ACTION_UPDATE,
		   address, phase, loc, p);
	own_transaction(c);
	for (size_t i = 0; i < n; i++) {
		unsigned after = (it[i].have | it[i].grant) & ~it[i].revoke;

		d->h->change_attr(
		    d->ctx, c, it[i].grantee,
		    it[i].have ? role_privs_format(d->ctx, it[i].have) : NULL,
		    after ? role_privs_format(d->ctx, after) : NULL, false);
	}
	return c;
}

static void plan_privilege(struct differ *d, const char *db,
			   const struct role_acl *a, struct item *it, size_t n)
{
	struct role_payload *p = payload(d, ROLE_OP_PRIVILEGE, NULL);
	const char *obj = d->h->printf(d->ctx, " ON %s", object_sql(d, a, db));

	batch_sql(d, p, it, n, false, "", obj, "TO");
	batch_sql(d, p, it, n, true, "", obj, "FROM");
	plan_items(d, db, priv_address(d, db, a), ROLE_PHASE_PRIVILEGE, p, it,
		   n);
}

static void want_rules(struct differ *d, struct wantset *ws, const char *db,
		       const struct role_live_db *ldb)
{
	for (size_t i = 0; i < d->spec->nprivs; i++) {
		const struct role_priv_rule *r = &d->spec->privs[i];

		if (strcmp(r->database, db) != 0)
			continue;
		if (r->kind == ROLE_OBJ_DATABASE)
			want_add(d, ws, r->kind, "", db, r->grantee, r->grant,
				 r->revoke, &r->loc);
		else if (r->kind == ROLE_OBJ_SCHEMA) {
			if (!owns(ldb, r->kind, r->schema, NULL, r->grantee))
				want_add(d, ws, r->kind, r->schema, "",
					 r->grantee, r->grant, r->revoke,
					 &r->loc);
		} else if (r->all) {
			for (size_t j = 0; j < ldb->nobjects; j++) {
				const struct role_object *o = &ldb->objects[j];

				if (o->kind == r->kind &&
				    strcmp(o->schema, r->schema) == 0 &&
				    (o->owner == NULL ||
				     strcmp(o->owner, r->grantee) != 0))
					want_add(d, ws, r->kind, r->schema,
						 o->name, r->grantee, r->grant,
						 r->revoke, &r->loc);
			}
		} else {
			for (size_t j = 0; j < r->nobjects; j++) {
				if (r->kind == ROLE_OBJ_FUNCTION &&
				    !args_safe(r->objects[j])) {
					ERROR(
					    d, &r->loc,
					    "function \"%s\" has characters that are not part of type names in its argument list",
					    r->objects[j]);
					continue;
				}
				if (owns(ldb, r->kind, r->schema, r->objects[j],
					 r->grantee))
					continue;
				want_add(d, ws, r->kind, r->schema,
					 r->objects[j], r->grantee, r->grant,
					 r->revoke, &r->loc);
			}
		}
	}
}

/*
 * Walk the desired entries and the live ACL entries, both sorted by key
 * (object first, then grantee), and call `plan` once per object whose
 * privileges must change, with every grantee that changes.
 */
typedef void (*plan_fn)(struct differ *d, const char *db,
			const struct role_acl *a, struct item *it, size_t n);

static bool same_object(const struct role_acl *a, const struct role_acl *b)
{
	return a->kind == b->kind && strcmp(a->schema, b->schema) == 0 &&
	       strcmp(a->object ? a->object : "", b->object ? b->object : "") ==
		   0;
}

static void merge(struct differ *d, const char *db, struct wantset *ws,
		  const struct role_acl *live, size_t nlive, plan_fn plan)
{
	size_t i = 0, j = 0, n = 0, cap = 16;
	struct item *items = d->h->alloc(d->ctx, cap * sizeof(*items));
	struct role_acl cur = {0};

	for (;;) {
		int c = i >= ws->n && j >= nlive ? 0
			: i >= ws->n		 ? 1
			: j >= nlive		 ? -1
				     : strcmp(ws->v[i].key, live[j].key);
		bool end = i >= ws->n && j >= nlive;
		const struct want *w = !end && c <= 0 ? &ws->v[i] : NULL;
		const struct role_acl *l = !end && c >= 0 ? &live[j] : NULL;
		struct role_acl a = {0};
		unsigned have = l ? l->privs : 0, grant = 0, revoke = 0;

		if (w != NULL) {
			a.kind = w->kind;
			a.schema = w->schema;
			a.object = w->object;
			a.grantee = w->grantee;
			grant = w->grant & ~have;
			revoke = w->revoke & have;
		} else if (l != NULL) {
			a = *l;
		}
		if (n > 0 && (end || !same_object(&cur, &a))) {
			plan(d, db, &cur, items, n);
			n = 0;
		}
		if (end)
			break;
		if (managed(d, a.grantee))
			revoke |= have & ~(w ? w->grant : 0);
		if (dropped(d, a.grantee))
			grant = revoke = 0;
		if (grant != 0 || revoke != 0) {
			if (n == cap) {
				struct item *v =
				    d->h->alloc(d->ctx, 2 * cap * sizeof(*v));

				memcpy(v, items, n * sizeof(*v));
				items = v;
				cap *= 2;
			}
			cur = a;
			items[n++] = (struct item){a.grantee, have, grant,
						   revoke, w ? w->loc : NULL};
		}
		i += c <= 0;
		j += c >= 0;
	}
}

/* ---- default privileges */

static const char *defacl_address(struct differ *d, const char *db,
				  const struct role_acl *a)
{
	return d->h->printf(d->ctx, "roles.default_privilege.%s.%s.%s.%s", db,
			    a->object,
			    a->schema && a->schema[0] ? a->schema : "*",
			    role_kind_name(a->kind));
}

static void plan_defacl(struct differ *d, const char *db,
			const struct role_acl *a, struct item *it, size_t n)
{
	struct role_payload *p = payload(d, ROLE_OP_PRIVILEGE, NULL);
	const char *head = d->h->printf(
	    d->ctx, "ALTER DEFAULT PRIVILEGES FOR ROLE %s%s%s ",
	    qi(d, a->object), a->schema && a->schema[0] ? " IN SCHEMA " : "",
	    a->schema && a->schema[0] ? qi(d, a->schema) : "");
	const char *on =
	    d->h->printf(d->ctx, " ON %s", role_kind_sql_plural(a->kind));

	batch_sql(d, p, it, n, false, head, on, "TO");
	batch_sql(d, p, it, n, true, head, on, "FROM");
	plan_items(d, db, defacl_address(d, db, a), ROLE_PHASE_DEFACL, p, it,
		   n);
}

static void want_defacls(struct differ *d, struct wantset *ws, const char *db)
{
	for (size_t i = 0; i < d->spec->ndefacls; i++) {
		const struct role_defacl_rule *r = &d->spec->defacls[i];

		if (strcmp(r->database, db) != 0)
			continue;
		if (!role_known(d, r->owner)) {
			ERROR(
			    d, &r->loc,
			    "role \"%s\" named in for_role does not exist and is not declared",
			    r->owner);
			continue;
		}
		want_add(d, ws, r->kind, r->schema, r->owner, r->grantee,
			 r->grant, r->revoke, &r->loc);
	}
}

static void diff_database(struct differ *d, const char *db)
{
	const struct role_live_db *ldb = role_live_db(d->live, db);
	struct wantset ws = {0}, wd = {0};

	if (ldb == NULL || !ldb->exists) {
		const struct dbops_loc *loc = NULL;

		for (size_t i = 0; i < d->spec->nprivs && loc == NULL; i++)
			if (strcmp(d->spec->privs[i].database, db) == 0)
				loc = &d->spec->privs[i].loc;
		for (size_t i = 0; i < d->spec->ndefacls && loc == NULL; i++)
			if (strcmp(d->spec->defacls[i].database, db) == 0)
				loc = &d->spec->defacls[i].loc;
		ERROR(d, loc, "database \"%s\" does not exist", db);
		return;
	}
	want_rules(d, &ws, db, ldb);
	for (size_t i = 0; i < ws.n; i++)
		if (strcmp(ws.v[i].grantee, "PUBLIC") != 0 &&
		    !role_known(d, ws.v[i].grantee)) {
			ERROR(
			    d, ws.v[i].loc,
			    "role \"%s\" named in privileges does not exist and is not declared",
			    ws.v[i].grantee);
			return;
		}
	want_finish(d, &ws);
	merge(d, db, &ws, ldb->acls, ldb->nacls, plan_privilege);
	want_defacls(d, &wd, db);
	want_finish(d, &wd);
	merge(d, db, &wd, ldb->defacls, ldb->ndefacls, plan_defacl);
}

int role_diff_models(struct dbops_ctx *ctx, const struct role_spec *spec,
		     const struct role_live *live)
{
	struct differ d = {ctx, dbops_host(ctx), spec, live, NULL, 0};

	d.state = d.h->alloc(ctx, sizeof(*d.state));
	d.state->current_database = live->current_database;
	d.state->superuser = live->superuser;
	diff_roles(&d);
	diff_members(&d);
	for (size_t i = 0; i < spec->ndatabases; i++)
		diff_database(&d, spec->databases[i]);
	if (role_hba_diff(ctx, spec, live, d.state) != 0)
		d.err = DBOPS_ERR_INVALID;
	return d.err;
}

int role_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	      void *live)
{
	struct role_spec *spec = NULL;
	int err = role_spec_load(&spec, ctx, section);

	if (err != 0)
		return err;
	return role_diff_models(ctx, spec, live);
}

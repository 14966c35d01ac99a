/* SPDX-License-Identifier: PostgreSQL */
/*
 * diff.c — desired roles and memberships against the live model, as
 * minimal changes (privileges and default privileges: diff_privileges.c): a role is created or
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
#include "diff_int.h"

#include <stdlib.h>
#include <string.h>

#define REDACTED " PASSWORD '(redacted)'"

const char *role_d_qi(struct differ *d, const char *ident)
{
	return d->h->quote_ident(d->ctx, ident);
}

static const char *ql(struct differ *d, const char *lit)
{
	return d->h->quote_literal(d->ctx, lit);
}

const char *role_d_grantee_sql(struct differ *d, const char *g)
{
	return strcmp(g, "PUBLIC") == 0 ? "PUBLIC" : role_d_qi(d, g);
}

struct role_payload *role_d_payload(struct differ *d, enum role_op op,
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

void role_d_add_sql(struct differ *d, struct role_payload *p, const char *sql)
{
	const char **v = d->h->alloc(d->ctx, (p->nsql + 1) * sizeof(*v));

	if (p->nsql > 0)
		memcpy(v, p->sql, p->nsql * sizeof(*v));
	v[p->nsql++] = sql;
	p->sql = v;
}

struct dbops_change *role_d_change(struct differ *d, enum dbops_action action,
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

/* A change that sets a password runs in a transaction of its own, begun
 * after the settings that keep its statement out of the server's records
 * (guard.c): a transaction is sampled for logging when it begins. */
static void guard_password(struct differ *d, const struct role_def *r,
			   struct dbops_change *c, struct role_payload *p)
{
	role_guard_plan(d->ctx, d->live, r->name, &r->password.loc, p);
	c->flags |= DBOPS_CHANGE_NONTX;
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
	struct role_payload *p = role_d_payload(d, ROLE_OP_CREATE, r->name);
	const char *sql =
	    d->h->printf(d->ctx, "CREATE ROLE %s WITH", role_d_qi(d, r->name));
	struct dbops_change *c;

	for (size_t i = 0; i < NFLAGS; i++)
		sql = d->h->printf(d->ctx, "%s %s", sql,
				   def_flag(r, i) ? flags[i].on : flags[i].off);
	sql = d->h->printf(d->ctx, "%s CONNECTION LIMIT %lld", sql,
			   (long long)r->connection_limit);
	if (r->valid_until != NULL)
		sql = d->h->printf(d->ctx, "%s VALID UNTIL %s", sql,
				   ql(d, r->valid_until));
	role_d_add_sql(d, p, sql);
	if (r->has_password) {
		p->password_at = 0;
		p->password = &r->password;
	}
	if (r->comment != NULL)
		role_d_add_sql(d, p,
			       d->h->printf(d->ctx, "COMMENT ON ROLE %s IS %s",
					    role_d_qi(d, r->name),
					    ql(d, r->comment)));
	c = role_d_change(d, DBOPS_ACTION_CREATE,
			  d->h->printf(d->ctx, "roles.role.%s", r->name),
			  ROLE_PHASE_ROLE, &r->loc, p);
	if (r->has_password)
		guard_password(d, r, c, p);
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
	struct role_payload *p = role_d_payload(d, ROLE_OP_ALTER, r->name);
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
		role_d_add_sql(d, p,
			       d->h->printf(d->ctx, "ALTER ROLE %s%s%s",
					    role_d_qi(d, r->name),
					    opts[0] ? " WITH" : "", opts));
		if (pw) {
			p->password_at = 0;
			p->password = &r->password;
		}
	}
	if (comment)
		role_d_add_sql(d, p,
			       d->h->printf(d->ctx, "COMMENT ON ROLE %s IS %s",
					    role_d_qi(d, r->name),
					    ql(d, r->comment)));
	c = role_d_change(d, DBOPS_ACTION_UPDATE,
			  d->h->printf(d->ctx, "roles.role.%s", r->name),
			  ROLE_PHASE_ROLE, &r->loc, p);
	c->reason = pw && opts[0] == '\0' && !comment ? why : NULL;
	if (pw)
		guard_password(d, r, c, p);
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
	struct role_payload *p = role_d_payload(d, ROLE_OP_DROP, name);
	const char *to =
	    d->spec->reassign_to ? d->spec->reassign_to : d->live->current_user;
	struct dbops_change *c;

	p->reassign_to = to;
	role_d_add_sql(
	    d, p,
	    d->h->printf(d->ctx,
			 "REASSIGN OWNED BY %s TO %s /* in every database */",
			 role_d_qi(d, name), role_d_qi(d, to)));
	role_d_add_sql(d, p,
		       d->h->printf(d->ctx,
				    "DROP OWNED BY %s /* in every database */",
				    role_d_qi(d, name)));
	role_d_add_sql(
	    d, p, d->h->printf(d->ctx, "DROP ROLE %s", role_d_qi(d, name)));
	c = role_d_change(d, DBOPS_ACTION_DELETE,
			  d->h->printf(d->ctx, "roles.role.%s", name),
			  ROLE_PHASE_DROP, loc, p);
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

bool role_d_known(struct differ *d, const char *name)
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

	if (d->live->nmembers == 0)
		return NULL;
	return bsearch(&key, d->live->members, d->live->nmembers, sizeof(key),
		       role_member_cmp);
}

static void plan_membership(struct differ *d, const char *member,
			    const char *group,
			    const struct role_live_member *lm,
			    const struct role_membership *want)
{
	struct role_payload *p = role_d_payload(
	    d, want ? ROLE_OP_GRANT_ROLE : ROLE_OP_REVOKE_ROLE, group);
	enum dbops_action action;
	struct dbops_change *c;

	p->member = member;
	p->admin = want && want->admin;
	if (want != NULL && (lm == NULL || want->admin)) {
		role_d_add_sql(
		    d, p,
		    d->h->printf(d->ctx, "GRANT %s TO %s%s",
				 role_d_qi(d, group), role_d_qi(d, member),
				 want->admin ? " WITH ADMIN OPTION" : ""));
		action = lm == NULL ? DBOPS_ACTION_CREATE : DBOPS_ACTION_UPDATE;
	} else if (want != NULL) {
		role_d_add_sql(
		    d, p,
		    d->h->printf(d->ctx, "REVOKE ADMIN OPTION FOR %s FROM %s",
				 role_d_qi(d, group), role_d_qi(d, member)));
		action = DBOPS_ACTION_UPDATE;
	} else {
		role_d_add_sql(d, p,
			       d->h->printf(d->ctx, "REVOKE %s FROM %s",
					    role_d_qi(d, group),
					    role_d_qi(d, member)));
		action = DBOPS_ACTION_DELETE;
	}
	c = role_d_change(
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

			if (!role_d_known(d, m->role)) {
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

int role_diff_models(struct dbops_ctx *ctx, const struct role_spec *spec,
		     const struct role_live *live)
{
	struct differ d = {ctx, dbops_host(ctx), spec, live, NULL, 0};

	d.state = d.h->alloc(ctx, sizeof(*d.state));
	d.state->current_database = live->current_database;
	diff_roles(&d);
	diff_members(&d);
	for (size_t i = 0; i < spec->ndatabases; i++)
		role_d_database(&d, spec->databases[i]);
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

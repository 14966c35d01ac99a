/* SPDX-License-Identifier: PostgreSQL */
/*
 * diff_privileges.c — privileges and default privileges of the roles
 * plugin against the live ACLs of every database the spec names: a GRANT
 * only for privileges missing live, a REVOKE only for privileges held
 * live and not declared. Managed roles are exact; other grantees, PUBLIC
 * included, only gain what is granted and lose what is revoked
 * explicitly. Grantees needing the same privileges on one object share a
 * statement. Nothing here runs SQL.
 */
#include "roles_int.h"
#include "diff_int.h"

#include <stdlib.h>
#include <string.h>

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

	/* qsort wants an array even for nothing, and an empty set has none */
	if (ws->n > 1)
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

bool role_d_dropped(struct differ *d, const char *grantee)
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
		return d->h->printf(d->ctx, "DATABASE %s", role_d_qi(d, db));
	case ROLE_OBJ_SCHEMA:
		return d->h->printf(d->ctx, "SCHEMA %s",
				    role_d_qi(d, a->schema));
	case ROLE_OBJ_FUNCTION:
		paren = strchr(a->object, '(');
		return d->h->printf(
		    d->ctx, "FUNCTION %s.%s%s", role_d_qi(d, a->schema),
		    role_d_qi(d, d->h->printf(d->ctx, "%.*s",
					      (int)(paren - a->object),
					      a->object)),
		    paren);
	default:
		return d->h->printf(d->ctx, "%s %s.%s", role_kind_sql(a->kind),
				    role_d_qi(d, a->schema),
				    role_d_qi(d, a->object));
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
	if (ldb->nobjects == 0)
		return false;
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
		who = role_d_grantee_sql(d, it[i].grantee);
		for (size_t j = i + 1; j < n; j++)
			if (!done[j] &&
			    (revoke ? it[j].revoke : it[j].grant) == bits) {
				who = d->h->printf(
				    d->ctx, "%s, %s", who,
				    role_d_grantee_sql(d, it[j].grantee));
				done[j] = true;
			}
		role_d_add_sql(d, p,
			       d->h->printf(d->ctx, "%s%s %s%s %s %s", head,
					    revoke ? "REVOKE" : "GRANT",
					    role_privs_format(d->ctx, bits),
					    mid, word, who));
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
	c = role_d_change(d,
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
	struct role_payload *p = role_d_payload(d, ROLE_OP_PRIVILEGE, NULL);
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
					    "function %s has characters that are not part of type names in its argument list",
					    plug_value(d->ctx, r->objects[j]));
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
		if (role_d_dropped(d, a.grantee))
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
	struct role_payload *p = role_d_payload(d, ROLE_OP_PRIVILEGE, NULL);
	const char *head = d->h->printf(
	    d->ctx, "ALTER DEFAULT PRIVILEGES FOR ROLE %s%s%s ",
	    role_d_qi(d, a->object),
	    a->schema && a->schema[0] ? " IN SCHEMA " : "",
	    a->schema && a->schema[0] ? role_d_qi(d, a->schema) : "");
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
		if (!role_d_known(d, r->owner)) {
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

void role_d_database(struct differ *d, const char *db)
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
		ERROR(d, loc, "database %s does not exist",
		      plug_value(d->ctx, db));
		return;
	}
	want_rules(d, &ws, db, ldb);
	for (size_t i = 0; i < ws.n; i++)
		if (strcmp(ws.v[i].grantee, "PUBLIC") != 0 &&
		    !role_d_known(d, ws.v[i].grantee)) {
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

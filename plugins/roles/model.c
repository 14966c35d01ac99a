/* SPDX-License-Identifier: PostgreSQL */
/*
 * model.c — the `roles:` section read into the desired model (struct
 * role_spec), with every problem reported at its file:line:col. validate
 * runs it for the diagnostics; observe and diff run it again for the
 * model (the spec tree is immutable, so both see the same thing). No I/O.
 */
#include "roles_int.h"

#include <fnmatch.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct loader {
	struct dbops_ctx *ctx;
	const struct dbops_host *h;
	int err;
};

static void fail(struct loader *l, int err)
{
	if (err != 0)
		l->err = DBOPS_ERR_INVALID;
}

static struct dbops_diag *error_at(struct loader *l,
				   const struct dbops_loc *loc)
{
	(void)loc;
	l->err = DBOPS_ERR_INVALID;
	return NULL;
}

#define ERR(l, loc, ...)                                                       \
	(error_at((l), (loc)),                                                 \
	 (l)->h->diag((l)->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, (loc),     \
		      __VA_ARGS__))

static bool name_ok(struct loader *l, const struct dbops_node *node,
		    const char *what, const char *name)
{
	size_t len = strlen(name);

	if (len == 0) {
		ERR(l, &node->loc, "%s must not be empty", what);
		return false;
	}
	if (len > ROLE_NAME_MAX) {
		struct dbops_diag *d =
		    ERR(l, &node->loc, "%s is longer than %d bytes", what,
			ROLE_NAME_MAX);

		l->h->diag_detail(l->ctx, d,
				  "PostgreSQL would truncate the name.");
		return false;
	}
	return true;
}

static const char *str(struct loader *l, const struct dbops_node *map,
		       const char *key, const char *what, bool required)
{
	const struct dbops_node *n = l->h->spec_get(map, key);
	const char *out = NULL;
	const char *w = l->h->printf(l->ctx, "%s.%s", what, key);

	if (n == NULL && !required)
		return NULL;
	if (l->h->spec_string(&out, l->ctx, n, w) != 0) {
		l->err = DBOPS_ERR_INVALID;
		return NULL;
	}
	return out;
}

static bool flag(struct loader *l, const struct dbops_node *map,
		 const char *key, const char *what, bool dflt)
{
	const struct dbops_node *n = l->h->spec_get(map, key);
	bool v = dflt;

	if (n != NULL)
		fail(l,
		     l->h->spec_bool(&v, l->ctx, n,
				     l->h->printf(l->ctx, "%s.%s", what, key)));
	return v;
}

/*
 * A list of strings (a single scalar is taken as a list of one). Items
 * that are not strings are reported and left out; `nodes_out`, when not
 * NULL, receives the node of each string kept, for locating a later
 * problem with it.
 */
static const char *const *
strlist(size_t *n_out, const struct dbops_node *const **nodes_out,
	struct loader *l, const struct dbops_node *node, const char *what)
{
	const char **v;
	const struct dbops_node **nodes;

	*n_out = 0;
	if (nodes_out != NULL)
		*nodes_out = NULL;
	if (node == NULL)
		return NULL;
	if (node->kind == DBOPS_NODE_SCALAR) {
		v = l->h->alloc(l->ctx, sizeof(*v));
		v[0] = node->scalar;
		*n_out = 1;
		if (nodes_out != NULL) {
			nodes = l->h->alloc(l->ctx, sizeof(*nodes));
			nodes[0] = node;
			*nodes_out = nodes;
		}
		return v;
	}
	if (node->kind != DBOPS_NODE_SEQ) {
		ERR(l, &node->loc, "%s must be a list of strings", what);
		return NULL;
	}
	v = l->h->alloc(l->ctx, (node->len + 1) * sizeof(*v));
	nodes = l->h->alloc(l->ctx, (node->len + 1) * sizeof(*nodes));
	for (size_t i = 0; i < node->len; i++) {
		const char *w = l->h->printf(l->ctx, "%s[%zu]", what, i);

		if (l->h->spec_string(&v[*n_out], l->ctx, node->items[i], w) ==
		    0)
			nodes[(*n_out)++] = node->items[i];
		else
			l->err = DBOPS_ERR_INVALID;
	}
	if (nodes_out != NULL)
		*nodes_out = nodes;
	return v;
}

static bool is_public(const char *name)
{
	return strcasecmp(name, "public") == 0;
}

static int cmp_role(const void *a, const void *b)
{
	const struct role_def *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	/* stable for reports: file order */
	return x->loc.line < y->loc.line ? -1 : x->loc.line > y->loc.line;
}

static int cmp_role_name(const void *a, const void *b)
{
	return strcmp(((const struct role_def *)a)->name,
		      ((const struct role_def *)b)->name);
}

/* ---- members */

static void load_member_of(struct loader *l, struct role_def *r,
			   const struct dbops_node *node, const char *what)
{
	static const char *const keys[] = {"role", "admin", NULL};

	if (node == NULL)
		return;
	if (node->kind != DBOPS_NODE_SEQ) {
		ERR(l, &node->loc, "%s must be a list", what);
		return;
	}
	r->member_of =
	    l->h->alloc(l->ctx, (node->len + 1) * sizeof(*r->member_of));
	for (size_t i = 0; i < node->len; i++) {
		const struct dbops_node *it = node->items[i];
		const char *w = l->h->printf(l->ctx, "%s[%zu]", what, i);
		struct role_membership *m = &r->member_of[r->nmember_of];

		/* the slot of a membership refused before is reused */
		memset(m, 0, sizeof(*m));
		m->loc = it->loc;
		if (it->kind == DBOPS_NODE_MAP) {
			if (l->h->spec_check_keys(l->ctx, it, w, keys) != 0) {
				l->err = DBOPS_ERR_INVALID;
				continue;
			}
			m->role = str(l, it, "role", w, true);
			m->admin = flag(l, it, "admin", w, false);
		} else if (l->h->spec_string(&m->role, l->ctx, it, w) != 0) {
			l->err = DBOPS_ERR_INVALID;
		}
		if (m->role == NULL || !name_ok(l, it, w, m->role))
			continue;
		if (strcmp(m->role, r->name) == 0) {
			ERR(l, &it->loc,
			    "role \"%s\" cannot be a member of itself",
			    r->name);
			continue;
		}
		for (size_t j = 0; j < r->nmember_of; j++)
			if (strcmp(r->member_of[j].role, m->role) == 0) {
				ERR(l, &it->loc,
				    "role \"%s\" is listed twice in %s.member_of",
				    m->role, r->name);
				m->role = NULL;
				break;
			}
		if (m->role != NULL)
			r->nmember_of++;
	}
}

static void load_role(struct loader *l, struct role_def *r,
		      const struct dbops_node *it, const char *w,
		      const struct dbops_node *name_node, const char *name_what)
{
	static const char *const keys[] = {"name",
					   "names",
					   "state",
					   "login",
					   "superuser",
					   "createdb",
					   "createrole",
					   "replication",
					   "bypassrls",
					   "inherit",
					   "connection_limit",
					   "valid_until",
					   "comment",
					   "password",
					   "member_of",
					   NULL};
	const struct dbops_node *n;
	const char *state;

	r->loc = it->loc;
	r->connection_limit = -1;
	r->inherit = true;
	if (l->h->spec_check_keys(l->ctx, it, w, keys) != 0) {
		l->err = DBOPS_ERR_INVALID;
		return;
	}
	if (l->h->spec_string(&r->name, l->ctx, name_node, name_what) != 0) {
		l->err = DBOPS_ERR_INVALID;
		r->name = NULL;
		return;
	}
	if (!name_ok(l, name_node, name_what, r->name)) {
		r->name = NULL;
		return;
	}
	if (strncmp(r->name, "pg_", 3) == 0 || is_public(r->name)) {
		struct dbops_diag *d =
		    ERR(l, &name_node->loc, "role name \"%s\" is reserved",
			r->name);

		l->h->diag_detail(
		    l->ctx, d,
		    "Role names starting with \"pg_\" and the name \"public\" belong to PostgreSQL.");
	}
	state = str(l, it, "state", w, false);
	if (state != NULL && strcmp(state, "absent") == 0) {
		r->absent = true;
		if (it->len > 2)
			ERR(l, &it->loc,
			    "role \"%s\" has state \"absent\" and other keys",
			    r->name);
		return;
	}
	if (state != NULL && strcmp(state, "present") != 0)
		ERR(l, &l->h->spec_get(it, "state")->loc,
		    "%s.state must be \"present\" or \"absent\", got %s", w,
		    plug_value(l->ctx, state));
	r->login = flag(l, it, "login", w, false);
	r->superuser = flag(l, it, "superuser", w, false);
	r->createdb = flag(l, it, "createdb", w, false);
	r->createrole = flag(l, it, "createrole", w, false);
	r->replication = flag(l, it, "replication", w, false);
	r->bypassrls = flag(l, it, "bypassrls", w, false);
	r->inherit = flag(l, it, "inherit", w, true);
	if ((n = l->h->spec_get(it, "connection_limit")) != NULL)
		fail(l, l->h->spec_int(
			    &r->connection_limit, l->ctx, n,
			    l->h->printf(l->ctx, "%s.connection_limit", w), -1,
			    2147483647));
	r->valid_until = str(l, it, "valid_until", w, false);
	r->comment = str(l, it, "comment", w, false);
	if ((n = l->h->spec_get(it, "password")) != NULL) {
		if (l->h->spec_secret(&r->password, l->ctx, n,
				      l->h->printf(l->ctx, "%s.password", w)) ==
		    0)
			r->has_password = true;
		else
			l->err = DBOPS_ERR_INVALID;
	}
	load_member_of(l, r, l->h->spec_get(it, "member_of"),
		       l->h->printf(l->ctx, "%s.member_of", w));
}

static void load_roles(struct loader *l, struct role_spec *s,
		       const struct dbops_node *node)
{
	if (node == NULL)
		return;
	if (node->kind != DBOPS_NODE_SEQ) {
		ERR(l, &node->loc, "roles.members must be a list of roles");
		return;
	}
	{
		size_t total = 0;

		for (size_t i = 0; i < node->len; i++) {
			const struct dbops_node *names =
			    node->items[i]->kind == DBOPS_NODE_MAP
				? l->h->spec_get(node->items[i], "names")
				: NULL;

			total += names != NULL && names->kind == DBOPS_NODE_SEQ
				     ? names->len
				     : 1;
		}
		s->roles = l->h->alloc(l->ctx, (total + 1) * sizeof(*s->roles));
	}
	for (size_t i = 0; i < node->len; i++) {
		const struct dbops_node *it = node->items[i];
		const char *w = l->h->printf(l->ctx, "roles.members[%zu]", i);
		const struct dbops_node *one, *names;

		if (it->kind != DBOPS_NODE_MAP) {
			ERR(l, &it->loc, "%s must be a map", w);
			continue;
		}
		one = l->h->spec_get(it, "name");
		names = l->h->spec_get(it, "names");
		if ((one == NULL) == (names == NULL)) {
			ERR(l, &it->loc,
			    "%s needs either \"name\" or \"names\"", w);
			continue;
		}
		if (one != NULL) {
			load_role(l, &s->roles[s->nroles], it, w, one,
				  l->h->printf(l->ctx, "%s.name", w));
			s->nroles += s->roles[s->nroles].name != NULL;
			continue;
		}
		if (names->kind != DBOPS_NODE_SEQ) {
			ERR(l, &names->loc, "%s.names must be a list", w);
			continue;
		}
		/* one entry, many roles with the same attributes: the
		 * attributes are reported once, for the first name */
		for (size_t j = 0; j < names->len; j++) {
			int before = l->err;
			struct role_def *r = &s->roles[s->nroles];

			load_role(l, r, it, w, names->items[j],
				  l->h->printf(l->ctx, "%s.names[%zu]", w, j));
			if (r->name == NULL)
				continue;
			s->nroles++;
			if (j == 0 && l->err != before)
				break;
			if (j == 0)
				before = l->err;
		}
	}
	/* sorted by name for role_spec_find; duplicates are adjacent */
	qsort(s->roles, s->nroles, sizeof(*s->roles), cmp_role);
	for (size_t i = 1; i < s->nroles; i++)
		if (strcmp(s->roles[i].name, s->roles[i - 1].name) == 0)
			ERR(l, &s->roles[i].loc,
			    "role \"%s\" is declared twice", s->roles[i].name);
}

/* ---- privileges */

static unsigned load_privs(struct loader *l, const struct dbops_node *node,
			   const char *what, enum role_objkind kind)
{
	size_t n = 0;
	const struct dbops_node *const *at;
	const char *const *words = strlist(&n, &at, l, node, what);
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned b = role_priv_parse(words[i], kind);

		if (b == 0) {
			struct dbops_diag *d = ERR(
			    l, &at[i]->loc,
			    "privilege %s does not apply to a %s",
			    plug_value(l->ctx, words[i]), role_kind_name(kind));

			l->h->diag_hint(l->ctx, d, "A %s takes: %s, or ALL.",
					role_kind_name(kind),
					role_privs_format(
					    l->ctx, role_privs_allowed(kind)));
		}
		bits |= b;
	}
	return bits;
}

static const char *grantee_node(struct loader *l, const struct dbops_node *n,
				const char *what)
{
	const char *g = NULL;

	if (l->h->spec_string(&g, l->ctx, n, what) != 0) {
		l->err = DBOPS_ERR_INVALID;
		return NULL;
	}
	if (is_public(g))
		return "PUBLIC";
	return name_ok(l, n, what, g) ? g : NULL;
}

/* "role: NAME", or "roles: [NAME, ...]" (expanded by the caller: the
 * grantee is "" here). */
static const char *grantee(struct loader *l, const struct dbops_node *map,
			   const char *key, const char *w)
{
	const struct dbops_node *many = l->h->spec_get(map, "roles");

	if (many != NULL) {
		if (l->h->spec_get(map, key) != NULL)
			ERR(l, &many->loc, "%s has both \"role\" and \"roles\"",
			    w);
		else if (many->kind != DBOPS_NODE_SEQ || many->len == 0)
			ERR(l, &many->loc, "%s.roles must be a non-empty list",
			    w);
		return "";
	}
	return grantee_node(l, l->h->spec_get(map, key),
			    l->h->printf(l->ctx, "%s.%s", w, key));
}

/* The number of rules an entry stands for. */
static size_t grantee_count(struct loader *l, const struct dbops_node *it)
{
	const struct dbops_node *many =
	    it->kind == DBOPS_NODE_MAP ? l->h->spec_get(it, "roles") : NULL;

	return many != NULL && many->kind == DBOPS_NODE_SEQ && many->len > 0
		   ? many->len
		   : 1;
}

static void check_grant_revoke(struct loader *l, const struct dbops_node *it,
			       const char *w, unsigned grant, unsigned revoke)
{
	if (l->h->spec_get(it, "grant") == NULL &&
	    l->h->spec_get(it, "revoke") == NULL)
		ERR(l, &it->loc, "%s needs \"grant\" or \"revoke\"", w);
	if (grant & revoke)
		ERR(l, &it->loc, "%s both grants and revokes %s", w,
		    role_privs_format(l->ctx, grant & revoke));
}

static void load_priv(struct loader *l, struct role_priv_rule *p,
		      const struct dbops_node *it, const char *w)
{
	static const char *const keys[] = {
	    "role",	 "roles",     "database", "schema", "tables",
	    "sequences", "functions", "grant",	  "revoke", NULL};
	static const struct {
		const char *key;
		enum role_objkind kind;
	} objkeys[] = {{"tables", ROLE_OBJ_TABLE},
		       {"sequences", ROLE_OBJ_SEQUENCE},
		       {"functions", ROLE_OBJ_FUNCTION}};
	const struct dbops_node *objs = NULL;
	const struct dbops_node *const *objnodes = NULL;

	/* the slot of an entry refused before is reused */
	memset(p, 0, sizeof(*p));
	p->loc = it->loc;
	if (l->h->spec_check_keys(l->ctx, it, w, keys) != 0) {
		l->err = DBOPS_ERR_INVALID;
		return;
	}
	p->grantee = grantee(l, it, "role", w);
	p->database = str(l, it, "database", w, true);
	p->schema = str(l, it, "schema", w, false);
	p->kind = p->schema != NULL ? ROLE_OBJ_SCHEMA : ROLE_OBJ_DATABASE;
	for (size_t i = 0; i < 3; i++) {
		const struct dbops_node *n = l->h->spec_get(it, objkeys[i].key);

		if (n == NULL)
			continue;
		if (objs != NULL) {
			ERR(l, &n->loc, "%s names more than one kind of object",
			    w);
			continue;
		}
		objs = n;
		p->kind = objkeys[i].kind;
		if (p->schema == NULL)
			ERR(l, &n->loc, "%s.%s needs a \"schema\"", w,
			    objkeys[i].key);
	}
	if (objs != NULL) {
		const char *ow =
		    l->h->printf(l->ctx, "%s.%s", w, role_kind_name(p->kind));

		if (objs->kind == DBOPS_NODE_SCALAR &&
		    strcmp(objs->scalar, "all") == 0 && !objs->quoted)
			p->all = true;
		else if (objs->kind != DBOPS_NODE_SEQ)
			ERR(l, &objs->loc,
			    "%s must be \"all\" or a list of names", ow);
		else
			p->objects =
			    strlist(&p->nobjects, &objnodes, l, objs, ow);
		for (size_t i = 0; i < p->nobjects; i++)
			if (p->kind == ROLE_OBJ_FUNCTION &&
			    (strchr(p->objects[i], '(') == NULL ||
			     p->objects[i][strlen(p->objects[i]) - 1] != ')'))
				ERR(l, &objnodes[i]->loc,
				    "function %s must be written with its argument types, as in \"name(integer, text)\"",
				    plug_value(l->ctx, p->objects[i]));
	}
	p->grant = load_privs(l, l->h->spec_get(it, "grant"),
			      l->h->printf(l->ctx, "%s.grant", w), p->kind);
	p->revoke = load_privs(l, l->h->spec_get(it, "revoke"),
			       l->h->printf(l->ctx, "%s.revoke", w), p->kind);
	check_grant_revoke(l, it, w, p->grant, p->revoke);
}

static bool kind_word(enum role_objkind *out, const char *word)
{
	static const struct {
		const char *w;
		enum role_objkind k;
	} words[] = {{"tables", ROLE_OBJ_TABLE},
		     {"sequences", ROLE_OBJ_SEQUENCE},
		     {"functions", ROLE_OBJ_FUNCTION},
		     {"types", ROLE_OBJ_TYPE},
		     {"schemas", ROLE_OBJ_SCHEMA}};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(word, words[i].w) == 0) {
			*out = words[i].k;
			return true;
		}
	return false;
}

static void load_defacl(struct loader *l, struct role_defacl_rule *p,
			const struct dbops_node *it, const char *w)
{
	static const char *const keys[] = {"role",     "roles",	 "for_role",
					   "database", "schema", "on",
					   "grant",    "revoke", NULL};
	const char *on;

	/* the slot of an entry refused before is reused */
	memset(p, 0, sizeof(*p));
	p->loc = it->loc;
	if (l->h->spec_check_keys(l->ctx, it, w, keys) != 0) {
		l->err = DBOPS_ERR_INVALID;
		return;
	}
	p->grantee = grantee(l, it, "role", w);
	p->owner = str(l, it, "for_role", w, true);
	p->database = str(l, it, "database", w, true);
	p->schema = str(l, it, "schema", w, false);
	on = str(l, it, "on", w, true);
	if (on != NULL && !kind_word(&p->kind, on)) {
		ERR(l, &l->h->spec_get(it, "on")->loc,
		    "%s.on must be tables, sequences, functions, types or schemas, got %s",
		    w, plug_value(l->ctx, on));
		return;
	}
	if (p->kind == ROLE_OBJ_SCHEMA && p->schema != NULL)
		ERR(l, &it->loc,
		    "%s: default privileges on schemas cannot be limited to a schema",
		    w);
	p->grant = load_privs(l, l->h->spec_get(it, "grant"),
			      l->h->printf(l->ctx, "%s.grant", w), p->kind);
	p->revoke = load_privs(l, l->h->spec_get(it, "revoke"),
			       l->h->printf(l->ctx, "%s.revoke", w), p->kind);
	check_grant_revoke(l, it, w, p->grant, p->revoke);
}

/*
 * Copy the rule at `rule` (of `size` bytes) once per name of the entry's
 * "roles" list, setting the grantee at `offset`; returns the number of
 * rules written (the first overwrites `rule`).
 */
static size_t expand(struct loader *l, void *rule, size_t size, size_t offset,
		     const struct dbops_node *it, const char *w)
{
	const struct dbops_node *many = l->h->spec_get(it, "roles");
	char *base = rule;
	size_t n = 0;

	for (size_t i = 0; i < many->len; i++) {
		const char *g =
		    grantee_node(l, many->items[i],
				 l->h->printf(l->ctx, "%s.roles[%zu]", w, i));

		if (g == NULL)
			continue;
		if (n > 0)
			memcpy(base + n * size, base, size);
		memcpy(base + n * size + offset, &g, sizeof(g));
		n++;
	}
	return n;
}

static void load_privileges(struct loader *l, struct role_spec *s,
			    const struct dbops_node *node,
			    const struct dbops_node *defnode)
{
	if (node != NULL && node->kind != DBOPS_NODE_SEQ)
		ERR(l, &node->loc, "roles.privileges must be a list");
	else if (node != NULL) {
		size_t total = 1;

		for (size_t i = 0; i < node->len; i++)
			total += grantee_count(l, node->items[i]);
		s->privs = l->h->alloc(l->ctx, total * sizeof(*s->privs));
		for (size_t i = 0; i < node->len; i++) {
			int before = l->err;
			struct role_priv_rule *p = &s->privs[s->nprivs];
			const char *w =
			    l->h->printf(l->ctx, "roles.privileges[%zu]", i);

			l->err = 0;
			load_priv(l, p, node->items[i], w);
			if (l->err == 0 && p->grantee && p->database) {
				if (p->grantee[0] != '\0')
					s->nprivs++;
				else
					s->nprivs += expand(
					    l, p, sizeof(*p),
					    offsetof(struct role_priv_rule,
						     grantee),
					    node->items[i], w);
			}
			l->err = l->err != 0 ? l->err : before;
		}
	}
	if (defnode != NULL && defnode->kind != DBOPS_NODE_SEQ)
		ERR(l, &defnode->loc,
		    "roles.default_privileges must be a list");
	else if (defnode != NULL) {
		size_t total = 1;

		for (size_t i = 0; i < defnode->len; i++)
			total += grantee_count(l, defnode->items[i]);
		s->defacls = l->h->alloc(l->ctx, total * sizeof(*s->defacls));
		for (size_t i = 0; i < defnode->len; i++) {
			int before = l->err;
			struct role_defacl_rule *p = &s->defacls[s->ndefacls];
			const char *w = l->h->printf(
			    l->ctx, "roles.default_privileges[%zu]", i);

			l->err = 0;
			load_defacl(l, p, defnode->items[i], w);
			if (l->err == 0 && p->grantee != NULL) {
				if (p->grantee[0] != '\0')
					s->ndefacls++;
				else
					s->ndefacls += expand(
					    l, p, sizeof(*p),
					    offsetof(struct role_defacl_rule,
						     grantee),
					    defnode->items[i], w);
			}
			l->err = l->err != 0 ? l->err : before;
		}
	}
}

/* ---- hba */

static void load_hba(struct loader *l, struct role_spec *s,
		     const struct dbops_node *node)
{
	static const char *const keys[] = {
	    "type", "database", "user", "address", "method", "options", NULL};
	static const char *const types[] = {"local",	  "host",
					    "hostssl",	  "hostnossl",
					    "hostgssenc", "hostnogssenc"};

	if (node == NULL)
		return;
	s->has_hba = true;
	if (node->kind != DBOPS_NODE_SEQ) {
		ERR(l, &node->loc, "roles.hba must be a list of rules");
		return;
	}
	s->hba = l->h->alloc(l->ctx, (node->len + 1) * sizeof(*s->hba));
	for (size_t i = 0; i < node->len; i++) {
		const struct dbops_node *it = node->items[i];
		struct role_hba_rule *r = &s->hba[s->nhba];
		const char *w = l->h->printf(l->ctx, "roles.hba[%zu]", i);
		bool known = false;

		r->loc = it->loc;
		if (l->h->spec_check_keys(l->ctx, it, w, keys) != 0) {
			l->err = DBOPS_ERR_INVALID;
			continue;
		}
		r->type = str(l, it, "type", w, true);
		r->database = str(l, it, "database", w, true);
		r->user = str(l, it, "user", w, true);
		r->address = str(l, it, "address", w, false);
		r->method = str(l, it, "method", w, true);
		r->options = str(l, it, "options", w, false);
		if (r->type == NULL || r->database == NULL || r->user == NULL ||
		    r->method == NULL)
			continue;
		{
			const char *fields[] = {r->type,   r->database,
						r->user,   r->address,
						r->method, r->options};

			for (size_t j = 0; j < 6; j++)
				if (fields[j] != NULL &&
				    strpbrk(fields[j], "\n\r#") != NULL)
					ERR(l, &it->loc,
					    "%s holds a line break or \"#\", which pg_hba.conf cannot take",
					    w);
			for (size_t j = 0; j < 5; j++)
				if (fields[j] != NULL &&
				    (fields[j][0] == '\0' ||
				     strpbrk(fields[j], " \t") != NULL))
					ERR(l, &it->loc,
					    "%s has an empty value or one with blanks; write lists with commas",
					    w);
		}
		for (size_t j = 0; j < sizeof(types) / sizeof(types[0]); j++)
			known = known || strcmp(r->type, types[j]) == 0;
		if (!known)
			ERR(l, &it->loc,
			    "%s.type %s is not a pg_hba.conf connection type",
			    w, plug_value(l->ctx, r->type));
		if (strcmp(r->type, "local") != 0 && r->address == NULL)
			ERR(l, &it->loc, "%s needs an \"address\"", w);
		if (strcmp(r->type, "local") == 0 && r->address != NULL)
			ERR(l, &it->loc, "%s: a \"local\" rule has no address",
			    w);
		s->nhba++;
	}
}

/* ---- the section */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void collect_databases(struct dbops_ctx *ctx, struct role_spec *s)
{
	const char **v = dbops_host(ctx)->alloc(
	    ctx, (s->nprivs + s->ndefacls + 1) * sizeof(*v));
	size_t n = 0, m = 0;

	for (size_t i = 0; i < s->nprivs; i++)
		v[n++] = s->privs[i].database;
	for (size_t i = 0; i < s->ndefacls; i++)
		v[n++] = s->defacls[i].database;
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || strcmp(v[m - 1], v[i]) != 0)
			v[m++] = v[i];
	s->databases = v;
	s->ndatabases = m;
}

int role_spec_load(struct role_spec **out, struct dbops_ctx *ctx,
		   const struct dbops_node *section)
{
	static const char *const keys[] = {"prune",	  "ignore",
					   "reassign_to", "members",
					   "privileges",  "default_privileges",
					   "hba",	  NULL};
	struct loader l = {ctx, dbops_host(ctx), 0};
	struct role_spec *s = l.h->alloc(ctx, sizeof(*s));

	*out = s;
	if (section == NULL || section->kind == DBOPS_NODE_NULL)
		return 0;
	if (l.h->spec_check_keys(ctx, section, "the roles section", keys) != 0)
		return DBOPS_ERR_INVALID;
	s->prune = flag(&l, section, "prune", "roles", false);
	s->ignore = strlist(&s->nignore, NULL, &l,
			    l.h->spec_get(section, "ignore"), "roles.ignore");
	s->reassign_to = str(&l, section, "reassign_to", "roles", false);
	load_roles(&l, s, l.h->spec_get(section, "members"));
	load_privileges(&l, s, l.h->spec_get(section, "privileges"),
			l.h->spec_get(section, "default_privileges"));
	load_hba(&l, s, l.h->spec_get(section, "hba"));
	collect_databases(ctx, s);
	for (size_t i = 0; i < s->nroles; i++)
		if (s->roles[i].absent && s->reassign_to != NULL &&
		    strcmp(s->roles[i].name, s->reassign_to) == 0)
			ERR(&l, &s->roles[i].loc,
			    "role %s receives the objects of dropped roles and cannot be absent",
			    plug_value(ctx, s->reassign_to));
	return l.err;
}

const struct role_def *role_spec_find(const struct role_spec *spec,
				      const char *name)
{
	struct role_def key = {0};

	if (spec->nroles == 0)
		return NULL;
	key.name = name;
	return bsearch(&key, spec->roles, spec->nroles, sizeof(key),
		       cmp_role_name);
}

bool role_protected(const struct role_spec *spec, const char *current_user,
		    const char *name)
{
	if (strcmp(name, "postgres") == 0 || strncmp(name, "pg_", 3) == 0)
		return true;
	if (current_user != NULL && strcmp(name, current_user) == 0)
		return true;
	if (spec->reassign_to != NULL && strcmp(name, spec->reassign_to) == 0)
		return true;
	for (size_t i = 0; i < spec->nignore; i++)
		if (fnmatch(spec->ignore[i], name, 0) == 0)
			return true;
	return false;
}

/*
 * Publish each role's password reference (never its value) for the
 * plugins that log in as the role or check its password: the pooler's
 * auth users (plugins/roles/README.md, "Facts").
 */
int role_validate(struct dbops_ctx *ctx, const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct role_spec *s = NULL;
	int err = role_spec_load(&s, ctx, section);

	if (err != 0)
		return err;
	for (size_t i = 0; i < s->nroles; i++) {
		const struct role_def *r = &s->roles[i];

		if (r->absent || !r->has_password)
			continue;
		h->fact_put(ctx,
			    h->printf(ctx, "roles.role.%s.password", r->name),
			    NULL, &r->password, &r->loc);
	}
	return 0;
}

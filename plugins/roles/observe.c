/* SPDX-License-Identifier: PostgreSQL */
/*
 * observe.c — the live state of roles and privileges, read with a handful
 * of set-based catalog queries: roles (pg_authid when the connection is a
 * superuser, so that SCRAM verifiers can be compared, else pg_roles),
 * memberships, database ACLs, and per database named by the spec one query
 * over pg_class, pg_namespace and pg_proc with aclexplode() and one over
 * pg_default_acl. A database other than the connection's is read through
 * another connection inside its own repeatable-read read-only
 * transaction. Implicit privileges (NULL ACLs) are made explicit with
 * acldefault(); an owner's own privileges are not reported. When the spec
 * manages a password, the settings that could record a password statement
 * are read too (guard.c).
 */
#include "roles_int.h"

#include <stdlib.h>
#include <string.h>

static const char role_session_sql[] =
    "SELECT current_user AS cu, current_database() AS db, "
    "(SELECT rolsuper FROM pg_catalog.pg_roles "
    "WHERE rolname = current_user) AS su";

#define ROLE_COLS                                                              \
	"r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, "               \
	"r.rolcreatedb, r.rolcanlogin, r.rolreplication, r.rolbypassrls, "     \
	"r.rolconnlimit, "                                                     \
	"EXTRACT(epoch FROM r.rolvaliduntil)::text AS validuntil, "            \
	"d.description AS comment"
#define ROLE_JOIN                                                              \
	" LEFT JOIN pg_catalog.pg_shdescription d ON d.objoid = r.oid "        \
	"AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass"

static const char role_roles_sql[] =
    "SELECT " ROLE_COLS
    ", NULL::text AS pw FROM pg_catalog.pg_roles r" ROLE_JOIN;
static const char role_authid_sql[] =
    "SELECT " ROLE_COLS ", CASE WHEN r.rolname = ANY ($1::text[]) "
    "THEN r.rolpassword END AS pw FROM pg_catalog.pg_authid r" ROLE_JOIN;

static const char role_members_sql[] =
    "SELECT r.rolname AS role, m.rolname AS member, a.admin_option "
    "FROM pg_catalog.pg_auth_members a "
    "JOIN pg_catalog.pg_roles r ON r.oid = a.roleid "
    "JOIN pg_catalog.pg_roles m ON m.oid = a.member";

static const char role_until_sql[] =
    "SELECT v, EXTRACT(epoch FROM v::timestamptz)::text AS e "
    "FROM pg_catalog.unnest($1::text[]) v";

#define GRANTEE                                                                \
	"CASE WHEN a.grantee = 0 THEN 'PUBLIC' "                               \
	"ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee, "          \
	"pg_catalog.string_agg(a.privilege_type, ',') AS privs"

static const char role_dbacl_sql[] =
    "SELECT d.datname AS name, " GRANTEE
    " FROM pg_catalog.pg_database d LEFT JOIN LATERAL "
    "pg_catalog.aclexplode(COALESCE(d.datacl, "
    "pg_catalog.acldefault('d', d.datdba))) a ON a.grantee <> d.datdba "
    "WHERE d.datname = ANY ($1::text[]) GROUP BY d.datname, a.grantee";

#define USER_NS                                                                \
	"n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"

static const char role_objacl_sql[] =
    "WITH o AS ("
    "SELECT CASE WHEN c.relkind = 'S' THEN 3 ELSE 2 END AS kind, "
    "n.nspname AS schema, c.relname::text AS name, c.relowner AS owner, "
    "COALESCE(c.relacl, pg_catalog.acldefault(CASE WHEN c.relkind = 'S' "
    "THEN 's'::\"char\" ELSE 'r'::\"char\" END, c.relowner)) AS acl "
    "FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND " USER_NS
    " UNION ALL "
    "SELECT 1, n.nspname, NULL, n.nspowner, COALESCE(n.nspacl, "
    "pg_catalog.acldefault('n', n.nspowner)) "
    "FROM pg_catalog.pg_namespace n WHERE " USER_NS " UNION ALL "
    "SELECT 4, n.nspname, p.proname || '(' || "
    "pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', "
    "p.proowner, COALESCE(p.proacl, pg_catalog.acldefault('f', "
    "p.proowner)) FROM pg_catalog.pg_proc p "
    "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
    "WHERE p.prokind IN ('f', 'p') AND " USER_NS
    ") SELECT o.kind, o.schema, o.name, "
    "pg_catalog.pg_get_userbyid(o.owner) AS owner, " GRANTEE
    " FROM o LEFT JOIN LATERAL pg_catalog.aclexplode(o.acl) a "
    "ON a.grantee <> o.owner "
    "GROUP BY o.kind, o.schema, o.name, o.owner, a.grantee "
    "ORDER BY o.kind, o.schema, o.name";

static const char role_defacl_sql[] =
    "SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS owner, "
    "n.nspname AS schema, d.defaclobjtype AS objtype, " GRANTEE
    " FROM pg_catalog.pg_default_acl d "
    "LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace "
    "CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a "
    "WHERE a.grantee <> d.defaclrole "
    "GROUP BY d.defaclrole, n.nspname, d.defaclobjtype, a.grantee";

static const char role_databases_sql[] =
    "SELECT datname FROM pg_catalog.pg_database WHERE datname = ANY "
    "($1::text[])";

/* A text[] literal of `v` (arena). */
static const char *text_array(struct dbops_ctx *ctx, const char *const *v,
			      size_t n)
{
	size_t len = 3;
	char *out, *p;

	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(v[i]) + 3;
	out = dbops_host(ctx)->alloc(ctx, len);
	p = out;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		*p++ = '"';
		for (const char *s = v[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				*p++ = '\\';
			*p++ = *s;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}

const char *role_conninfo_db(struct dbops_ctx *ctx, const char *db)
{
	size_t len = strlen(db);
	char *out = dbops_host(ctx)->alloc(ctx, 2 * len + 12);
	char *p = out;

	memcpy(p, "dbname='", 8);
	p += 8;
	for (const char *s = db; *s; s++) {
		if (*s == '\'' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '\'';
	*p = '\0';
	return out;
}

static bool is_true(const char *v)
{
	return v != NULL && v[0] == 't';
}

const char *role_acl_key(struct dbops_ctx *ctx, enum role_objkind kind,
			 const char *schema, const char *object,
			 const char *grantee)
{
	return dbops_host(ctx)->printf(ctx, "%d\x1f%s\x1f%s\x1f%s", (int)kind,
				       schema ? schema : "",
				       object ? object : "", grantee);
}

static unsigned parse_privs(const char *list, enum role_objkind kind)
{
	unsigned bits = 0;
	char word[32];

	while (list != NULL && *list) {
		size_t n = strcspn(list, ",");

		if (n < sizeof(word)) {
			memcpy(word, list, n);
			word[n] = '\0';
			bits |= role_priv_parse(word, kind);
		}
		list += n;
		if (*list == ',')
			list++;
	}
	return bits;
}

static int cmp_live_role(const void *a, const void *b)
{
	return strcmp(((const struct role_live_role *)a)->name,
		      ((const struct role_live_role *)b)->name);
}

static int cmp_acl(const void *a, const void *b)
{
	return strcmp(((const struct role_acl *)a)->key,
		      ((const struct role_acl *)b)->key);
}

static int cmp_object(const void *a, const void *b)
{
	const struct role_object *x = a, *y = b;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = strcmp(x->schema, y->schema)) != 0)
		return c;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static int cmp_db(const void *a, const void *b)
{
	return strcmp(((const struct role_live_db *)a)->name,
		      ((const struct role_live_db *)b)->name);
}

int role_member_cmp(const void *a, const void *b)
{
	const struct role_live_member *x = a, *y = b;
	int c = strcmp(x->member, y->member);

	return c != 0 ? c : strcmp(x->role, y->role);
}

/* qsort wants an array even for nothing, and an empty list has none. */
static void role_sort(void *v, size_t n, size_t size,
		      int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, size, cmp);
}

void role_live_finish(struct dbops_ctx *ctx, struct role_live *live)
{
	role_sort(live->roles, live->nroles, sizeof(*live->roles),
		  cmp_live_role);
	role_sort(live->members, live->nmembers, sizeof(*live->members),
		  role_member_cmp);
	role_sort(live->dbs, live->ndbs, sizeof(*live->dbs), cmp_db);
	for (size_t i = 0; i < live->ndbs; i++) {
		struct role_live_db *d = &live->dbs[i];

		for (size_t j = 0; j < d->nacls; j++)
			d->acls[j].key = role_acl_key(
			    ctx, d->acls[j].kind, d->acls[j].schema,
			    d->acls[j].object, d->acls[j].grantee);
		for (size_t j = 0; j < d->ndefacls; j++)
			d->defacls[j].key = role_acl_key(
			    ctx, d->defacls[j].kind, d->defacls[j].schema,
			    d->defacls[j].object, d->defacls[j].grantee);
		role_sort(d->acls, d->nacls, sizeof(*d->acls), cmp_acl);
		role_sort(d->defacls, d->ndefacls, sizeof(*d->defacls),
			  cmp_acl);
		role_sort(d->objects, d->nobjects, sizeof(*d->objects),
			  cmp_object);
	}
}

const struct role_live_role *role_live_find(const struct role_live *live,
					    const char *name)
{
	struct role_live_role key = {0};

	if (live->nroles == 0)
		return NULL;
	key.name = name;
	return bsearch(&key, live->roles, live->nroles, sizeof(key),
		       cmp_live_role);
}

const struct role_live_db *role_live_db(const struct role_live *live,
					const char *name)
{
	struct role_live_db key = {0};

	if (live->ndbs == 0)
		return NULL;
	key.name = name;
	return bsearch(&key, live->dbs, live->ndbs, sizeof(key), cmp_db);
}

/* ---- reading */

struct reader {
	struct dbops_ctx *ctx;
	const struct dbops_host *h;
	struct dbops_conn *conn; /* NULL: the pass connection */
};

static int run(struct dbops_rows **out, struct reader *r, const char *sql,
	       int nparams, const char *const *params)
{
	if (r->conn == NULL)
		return r->h->query(out, r->ctx, sql, nparams, params);
	return r->h->conn_query(out, r->ctx, r->conn, sql, nparams, params);
}

static int load_roles(struct reader *r, struct role_live *live,
		      const struct role_spec *spec)
{
	const char **pwroles =
	    r->h->alloc(r->ctx, (spec->nroles + 1) * sizeof(*pwroles));
	size_t npw = 0;
	struct dbops_rows *rows = NULL;
	const char *params[1];
	int err;

	for (size_t i = 0; i < spec->nroles; i++)
		if (spec->roles[i].has_password)
			pwroles[npw++] = spec->roles[i].name;
	params[0] = text_array(r->ctx, pwroles, npw);
	if (live->authid_readable)
		err = run(&rows, r, role_authid_sql, 1, params);
	else
		err = run(&rows, r, role_roles_sql, 0, NULL);
	if (err != 0)
		return err;
	live->roles = r->h->alloc(r->ctx, ((size_t)rows->nrows + 1) *
					      sizeof(*live->roles));
	for (int i = 0; i < rows->nrows; i++) {
		struct role_live_role *x = &live->roles[live->nroles++];
		const char *const *v = rows->values + (size_t)i * 12;

		if (rows->ncols != 12)
			return DBOPS_ERR_GENERIC;
		x->name = v[0];
		x->superuser = is_true(v[1]);
		x->inherit = is_true(v[2]);
		x->createrole = is_true(v[3]);
		x->createdb = is_true(v[4]);
		x->login = is_true(v[5]);
		x->replication = is_true(v[6]);
		x->bypassrls = is_true(v[7]);
		x->connection_limit = v[8] ? strtoll(v[8], NULL, 10) : -1;
		x->valid_until = v[9];
		x->comment = v[10];
		x->password = v[11];
	}
	return 0;
}

static int load_members(struct reader *r, struct role_live *live)
{
	struct dbops_rows *rows = NULL;
	int err = run(&rows, r, role_members_sql, 0, NULL);

	if (err != 0)
		return err;
	live->members = r->h->alloc(r->ctx, ((size_t)rows->nrows + 1) *
						sizeof(*live->members));
	for (int i = 0; i < rows->nrows; i++) {
		struct role_live_member *m = &live->members[live->nmembers++];

		m->role = r->h->rows_get(rows, i, "role");
		m->member = r->h->rows_get(rows, i, "member");
		m->admin = is_true(r->h->rows_get(rows, i, "admin_option"));
	}
	return 0;
}

static int load_until(struct reader *r, struct role_live *live,
		      const struct role_spec *spec)
{
	const char **v = r->h->alloc(r->ctx, (spec->nroles + 1) * sizeof(*v));
	const char **e;
	struct dbops_rows *rows = NULL;
	const char *params[1];
	size_t n = 0;
	int err;

	for (size_t i = 0; i < spec->nroles; i++)
		if (!spec->roles[i].absent && spec->roles[i].valid_until)
			v[n++] = spec->roles[i].valid_until;
	if (n == 0)
		return 0;
	params[0] = text_array(r->ctx, v, n);
	if ((err = run(&rows, r, role_until_sql, 1, params)) != 0)
		return err;
	e = r->h->alloc(r->ctx, ((size_t)rows->nrows + 1) * sizeof(*e));
	v = r->h->alloc(r->ctx, ((size_t)rows->nrows + 1) * sizeof(*v));
	for (int i = 0; i < rows->nrows; i++) {
		v[i] = r->h->rows_get(rows, i, "v");
		e[i] = r->h->rows_get(rows, i, "e");
	}
	live->until_text = v;
	live->until_epoch = e;
	live->nuntil = (size_t)rows->nrows;
	return 0;
}

static void add_acl(struct dbops_ctx *ctx, struct role_acl **v, size_t *n,
		    size_t *cap, const struct role_acl *a)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct role_acl *nv =
		    dbops_host(ctx)->alloc(ctx, ncap * sizeof(*nv));

		if (*n > 0)
			memcpy(nv, *v, *n * sizeof(*nv));
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = *a;
}

static int load_objects(struct reader *r, struct role_live_db *d)
{
	struct dbops_rows *rows = NULL;
	size_t cap = (size_t)d->nacls;
	int err = run(&rows, r, role_objacl_sql, 0, NULL);

	if (err != 0)
		return err;
	d->objects = r->h->alloc(r->ctx, ((size_t)rows->nrows + 1) *
					     sizeof(*d->objects));
	for (int i = 0; i < rows->nrows; i++) {
		struct role_acl a = {0};
		struct role_object *o = &d->objects[d->nobjects];

		a.kind = (enum role_objkind)(
		    r->h->rows_get(rows, i, "kind")[0] - '0');
		a.schema = r->h->rows_get(rows, i, "schema");
		a.object = r->h->rows_get(rows, i, "name");
		a.grantee = r->h->rows_get(rows, i, "grantee");
		if (d->nobjects == 0 || o[-1].kind != a.kind ||
		    strcmp(o[-1].schema, a.schema) != 0 ||
		    strcmp(o[-1].name ? o[-1].name : "",
			   a.object ? a.object : "") != 0) {
			o->kind = a.kind;
			o->schema = a.schema;
			o->name = a.object;
			o->owner = r->h->rows_get(rows, i, "owner");
			d->nobjects++;
		}
		if (a.grantee == NULL)
			continue;
		a.privs = parse_privs(r->h->rows_get(rows, i, "privs"), a.kind);
		add_acl(r->ctx, &d->acls, &d->nacls, &cap, &a);
	}
	return 0;
}

static bool objtype_kind(enum role_objkind *out, const char *t)
{
	switch (t != NULL ? t[0] : 0) {
	case 'r':
		*out = ROLE_OBJ_TABLE;
		return true;
	case 'S':
		*out = ROLE_OBJ_SEQUENCE;
		return true;
	case 'f':
		*out = ROLE_OBJ_FUNCTION;
		return true;
	case 'T':
		*out = ROLE_OBJ_TYPE;
		return true;
	case 'n':
		*out = ROLE_OBJ_SCHEMA;
		return true;
	default:
		return false;
	}
}

static int load_defacls(struct reader *r, struct role_live_db *d)
{
	struct dbops_rows *rows = NULL;
	size_t cap = 0;
	int err = run(&rows, r, role_defacl_sql, 0, NULL);

	if (err != 0)
		return err;
	for (int i = 0; i < rows->nrows; i++) {
		struct role_acl a = {0};

		if (!objtype_kind(&a.kind, r->h->rows_get(rows, i, "objtype")))
			continue;
		a.schema = r->h->rows_get(rows, i, "schema");
		a.object = r->h->rows_get(rows, i, "owner");
		a.grantee = r->h->rows_get(rows, i, "grantee");
		a.privs = parse_privs(r->h->rows_get(rows, i, "privs"), a.kind);
		add_acl(r->ctx, &d->defacls, &d->ndefacls, &cap, &a);
	}
	return 0;
}

static int load_database(struct reader *main, struct role_live *live,
			 struct role_live_db *d)
{
	struct reader r = *main;
	int err;

	if (strcmp(d->name, live->current_database) != 0) {
		err = r.h->conn_open(&r.conn, r.ctx,
				     role_conninfo_db(r.ctx, d->name),
				     DBOPS_CONN_SAME_CLUSTER);
		if (err != 0)
			return err;
		err = run(NULL, &r,
			  "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
			  NULL);
		if (err != 0)
			goto done;
	}
	if ((err = load_objects(&r, d)) != 0 ||
	    (err = load_defacls(&r, d)) != 0)
		goto done;
	if (r.conn != NULL)
		err = run(NULL, &r, "COMMIT", 0, NULL);
done:
	if (r.conn != NULL)
		r.h->conn_close(r.ctx, r.conn);
	return err;
}

static int load_databases(struct reader *r, struct role_live *live,
			  const struct role_spec *spec)
{
	struct dbops_rows *rows = NULL;
	const char *params[1];
	int err;

	live->dbs =
	    r->h->alloc(r->ctx, (spec->ndatabases + 1) * sizeof(*live->dbs));
	live->ndbs = spec->ndatabases;
	for (size_t i = 0; i < spec->ndatabases; i++)
		live->dbs[i].name = spec->databases[i];
	if (spec->ndatabases == 0)
		return 0;
	params[0] = text_array(r->ctx, spec->databases, spec->ndatabases);
	if ((err = run(&rows, r, role_databases_sql, 1, params)) != 0)
		return err;
	for (int i = 0; i < rows->nrows; i++) {
		const char *name = r->h->rows_get(rows, i, "datname");

		for (size_t j = 0; j < live->ndbs; j++)
			if (strcmp(live->dbs[j].name, name) == 0)
				live->dbs[j].exists = true;
	}
	for (size_t i = 0; i < live->ndbs; i++)
		if (live->dbs[i].exists &&
		    (err = load_database(r, live, &live->dbs[i])) != 0)
			return err;
	/* database ACLs are shared: read them on the pass connection */
	if ((err = run(&rows, r, role_dbacl_sql, 1, params)) != 0)
		return err;
	for (int i = 0; i < rows->nrows; i++) {
		const char *name = r->h->rows_get(rows, i, "name");
		struct role_acl a = {0};

		a.kind = ROLE_OBJ_DATABASE;
		a.schema = "";
		a.object = name;
		a.grantee = r->h->rows_get(rows, i, "grantee");
		if (a.grantee == NULL)
			continue;
		a.privs = parse_privs(r->h->rows_get(rows, i, "privs"), a.kind);
		for (size_t j = 0; j < live->ndbs; j++) {
			struct role_live_db *d = &live->dbs[j];
			size_t cap = d->nacls;

			if (strcmp(d->name, name) == 0)
				add_acl(r->ctx, &d->acls, &d->nacls, &cap, &a);
		}
	}
	return 0;
}

static bool manages_password(const struct role_spec *spec)
{
	for (size_t i = 0; i < spec->nroles; i++)
		if (spec->roles[i].has_password && !spec->roles[i].absent)
			return true;
	return false;
}

int role_live_load(struct role_live **out, struct dbops_ctx *ctx,
		   const struct role_spec *spec)
{
	struct reader r = {ctx, dbops_host(ctx), NULL};
	struct role_live *live = r.h->alloc(ctx, sizeof(*live));
	struct dbops_rows *rows = NULL;
	int err;

	if ((err = run(&rows, &r, role_session_sql, 0, NULL)) != 0)
		return err;
	live->current_user = r.h->rows_get(rows, 0, "cu");
	live->current_database = r.h->rows_get(rows, 0, "db");
	live->superuser = is_true(r.h->rows_get(rows, 0, "su"));
	live->authid_readable = live->superuser;
	if ((err = load_roles(&r, live, spec)) != 0 ||
	    (err = load_members(&r, live)) != 0 ||
	    (err = load_until(&r, live, spec)) != 0 ||
	    (err = load_databases(&r, live, spec)) != 0)
		return err;
	if (manages_password(spec) &&
	    (err = role_guard_observe(ctx, live)) != 0)
		return err;
	if (spec->has_hba && (err = role_hba_observe(ctx, live)) != 0)
		return err;
	role_live_finish(ctx, live);
	*out = live;
	return 0;
}

int role_observe(void **live_out, struct dbops_ctx *ctx,
		 const struct dbops_node *section)
{
	struct role_spec *spec = NULL;
	struct role_live *live = NULL;
	int err;

	if ((err = role_spec_load(&spec, ctx, section)) != 0)
		return err;
	if ((err = role_live_load(&live, ctx, spec)) != 0)
		return err;
	*live_out = live;
	return 0;
}

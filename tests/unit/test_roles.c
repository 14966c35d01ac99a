/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_roles.c — the "roles" plugin against a fake host: SHA-256, HMAC,
 * PBKDF2 and SCRAM-SHA-256 verifiers against published vectors and a
 * verifier PostgreSQL 15 stored; validation with located errors; the diff
 * of roles, passwords, memberships, privileges and default privileges on
 * hand-built live models (create, alter, revoke, prune, protected roles,
 * hostile names); and the observe queries over canned catalog rows.
 */
#include "t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "../../plugins/roles/roles_int.h"

static const char *hex(const uint8_t *b, size_t n)
{
	static char out[2 * 64 + 1];

	for (size_t i = 0; i < n && i < 64; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return out;
}

TEST(test_roles__sha256_vectors)
{
	uint8_t out[ROLE_SHA256_LEN];
	char big[1000];

	role_sha256(out, "abc", 3);
	T_ASSERT_STR(
	    hex(out, sizeof(out)),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	memset(big, 'a', sizeof(big));
	role_sha256(out, big, sizeof(big));
	T_ASSERT_STR(
	    hex(out, sizeof(out)),
	    "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

TEST(test_roles__hmac_rfc4231_case2)
{
	uint8_t out[ROLE_SHA256_LEN];
	const char *msg = "what do ya want for nothing?";

	role_hmac_sha256(out, "Jefe", 4, msg, strlen(msg));
	T_ASSERT_STR(
	    hex(out, sizeof(out)),
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(test_roles__pbkdf2_vectors)
{
	uint8_t out[ROLE_SHA256_LEN];

	role_pbkdf2_sha256(out, "password", 8, "salt", 4, 1);
	T_ASSERT_STR(
	    hex(out, sizeof(out)),
	    "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
	role_pbkdf2_sha256(out, "password", 8, "salt", 4, 4096);
	T_ASSERT_STR(
	    hex(out, sizeof(out)),
	    "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
}

TEST(test_roles__base64_round_trip)
{
	uint8_t in[5] = {0xff, 0x00, 0x10, 0x80, 0x7f}, back[8];
	char enc[16];

	for (size_t n = 0; n <= sizeof(in); n++) {
		role_base64_encode(enc, in, n);
		T_ASSERT_INT(
		    role_base64_decode(back, sizeof(back), enc, strlen(enc)),
		    (int)n);
		T_ASSERT(memcmp(back, in, n) == 0);
	}
	role_base64_encode(enc, (const uint8_t *)"pencil", 6);
	T_ASSERT_STR(enc, "cGVuY2ls");
	T_ASSERT_INT(role_base64_decode(back, sizeof(back), "a*b=", 4), -1);
}

/* CREATE ROLE vtest PASSWORD 'pencil' on PostgreSQL 15 stored this. */
static const char pg_pencil[] = "SCRAM-SHA-256$4096:FGx1/pKe8h97YQawYXjlIw==$"
				"0JSQStLGRfZqdRtUPzI3kM1ai9YKD29b1/Rit582B2U=:"
				"9CLGWewyHEwEiXpLBLAmrQYpv4n9KLtXfLT4eA4Cz2E=";

TEST(test_roles__scram_matches_postgres_verifier)
{
	uint8_t salt[32];
	char out[200];
	int n = role_base64_decode(salt, sizeof(salt),
				   "FGx1/pKe8h97YQawYXjlIw==", 24);

	T_ASSERT_INT(n, 16);
	T_ASSERT_INT(role_scram_verifier(out, sizeof(out), salt, (size_t)n,
					 4096, "pencil"),
		     0);
	T_ASSERT_STR(out, pg_pencil);
	T_ASSERT_INT(role_password_compare("pencil", pg_pencil), ROLE_PW_SAME);
	T_ASSERT_INT(role_password_compare("pencil2", pg_pencil),
		     ROLE_PW_DIFFERENT);
	T_ASSERT_INT(role_password_compare(
			 "pencil", "md5a1b2c3d4e5f60718293a4b5c6d7e8f90"),
		     ROLE_PW_DIFFERENT);
	T_ASSERT_INT(role_password_compare("pencil", NULL), ROLE_PW_DIFFERENT);
	T_ASSERT_INT(role_password_compare("pencil", "SCRAM-SHA-256$x:y$z"),
		     ROLE_PW_UNKNOWN);
}

/* ---- helpers for diff tests */

static const struct role_spec *load(struct fake_ctx *fc, const char *yaml)
{
	const struct dbops_node *root = fake_host_spec(fc, yaml);
	struct role_spec *s = NULL;

	if (root == NULL)
		return NULL;
	if (role_spec_load(
		&s, fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "roles")) != 0)
		return NULL;
	return s;
}

static struct role_live *live_new(struct fake_ctx *fc)
{
	struct role_live *l = arena_alloc(fc->arena, sizeof(*l));

	l->current_user = "postgres";
	l->current_database = "app";
	l->superuser = true;
	l->authid_readable = true;
	l->roles = arena_alloc(fc->arena, 32 * sizeof(*l->roles));
	l->members = arena_alloc(fc->arena, 32 * sizeof(*l->members));
	l->dbs = arena_alloc(fc->arena, 4 * sizeof(*l->dbs));
	return l;
}

static struct role_live_role *live_role(struct role_live *l, const char *name)
{
	struct role_live_role *r = &l->roles[l->nroles++];

	r->name = name;
	r->inherit = true;
	r->connection_limit = -1;
	return r;
}

static struct role_live_db *live_db(struct fake_ctx *fc, struct role_live *l,
				    const char *name)
{
	struct role_live_db *d = &l->dbs[l->ndbs++];

	d->name = name;
	d->exists = true;
	d->objects = arena_alloc(fc->arena, 32 * sizeof(*d->objects));
	d->acls = arena_alloc(fc->arena, 32 * sizeof(*d->acls));
	d->defacls = arena_alloc(fc->arena, 32 * sizeof(*d->defacls));
	return d;
}

static void live_object(struct role_live_db *d, enum role_objkind kind,
			const char *schema, const char *name, const char *owner)
{
	struct role_object *o = &d->objects[d->nobjects++];

	o->kind = kind;
	o->schema = schema;
	o->name = name;
	o->owner = owner;
}

static void live_acl(struct role_live_db *d, enum role_objkind kind,
		     const char *schema, const char *object,
		     const char *grantee, unsigned privs)
{
	struct role_acl *a = &d->acls[d->nacls++];

	a->kind = kind;
	a->schema = schema;
	a->object = object;
	a->grantee = grantee;
	a->privs = privs;
}

static const char *diff(struct fake_ctx *fc, const struct role_spec *s,
			struct role_live *l, int want_err)
{
	role_live_finish(fake_host_ctx(fc), l);
	if (role_diff_models(fake_host_ctx(fc), s, l) != want_err)
		return NULL;
	return fake_host_render(fc);
}

TEST(test_roles__validate_refuses_literal_password_with_location)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct dbops_node *root = fake_host_spec(
	    fc,
	    "roles:\n  members:\n    - name: app\n      password: hunter2\n");
	const char *out;

	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    role_validate(
		fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "roles")),
	    DBOPS_ERR_INVALID);
	out = fake_host_render(fc);
	T_ASSERT_CONTAINS(out, "spec.yaml:4:17");
	T_ASSERT_CONTAINS(out, "must be a secret reference");
	T_ASSERT(strstr(out, "hunter2") == NULL);
	fake_host_free(fc);
}

TEST(test_roles__validate_reports_every_problem)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct dbops_node *root = fake_host_spec(
	    fc,
	    "roles:\n"
	    "  members:\n"
	    "    - {name: pg_evil}\n"
	    "    - {name: a, conection_limit: 3}\n"
	    "    - {name: b, member_of: [b]}\n"
	    "  privileges:\n"
	    "    - {role: a, database: app, schema: s, tables: all, grant: [EXECUTE]}\n"
	    "    - {role: a, database: app, tables: [t], grant: [SELECT]}\n");
	const char *out;

	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    role_validate(
		fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "roles")),
	    DBOPS_ERR_INVALID);
	out = fake_host_render(fc);
	T_ASSERT_CONTAINS(
	    out, "spec.yaml:3:14: ERROR:  role name \"pg_evil\" is reserved");
	T_ASSERT_CONTAINS(out, "conection_limit");
	T_ASSERT_CONTAINS(out, "cannot be a member of itself");
	T_ASSERT_CONTAINS(out,
			  "privilege \"EXECUTE\" does not apply to a table");
	T_ASSERT_CONTAINS(out, "needs a \"schema\"");
	fake_host_free(fc);
}

/* The model of a spec that has problems, and the diagnostics. */
static const struct role_spec *load_refused(struct fake_ctx *fc,
					    const char *yaml)
{
	const struct dbops_node *root = fake_host_spec(fc, yaml);
	struct role_spec *s = NULL;

	if (root == NULL ||
	    role_spec_load(
		&s, fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "roles")) !=
		DBOPS_ERR_INVALID)
		return NULL;
	return s;
}

TEST(test_roles__refused_membership_leaves_nothing_for_the_next)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s = load_refused(
	    fc, "roles:\n"
		"  members:\n"
		"    - {name: a, member_of: [{role: a, admin: true}, b]}\n");

	T_ASSERT(s != NULL);
	T_ASSERT_INT(fc->diags.nerrors, 1);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "role \"a\" cannot be a member of itself");
	T_ASSERT_INT(s->nroles, 1);
	T_ASSERT_INT(s->roles[0].nmember_of, 1);
	T_ASSERT_STR(s->roles[0].member_of[0].role, "b");
	T_ASSERT(!s->roles[0].member_of[0].admin);
	fake_host_free(fc);
}

TEST(test_roles__refused_privilege_leaves_nothing_for_the_next)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s = load_refused(
	    fc,
	    "roles:\n"
	    "  privileges:\n"
	    "    - {role: a, database: d, schema: s, tables: all, grant: [EXECUTE]}\n"
	    "    - {role: a, database: d, schema: s, grant: [USAGE]}\n");

	T_ASSERT(s != NULL);
	T_ASSERT_INT(fc->diags.nerrors, 1);
	T_ASSERT_INT(s->nprivs, 1);
	T_ASSERT_INT(s->privs[0].kind, ROLE_OBJ_SCHEMA);
	T_ASSERT(!s->privs[0].all);
	T_ASSERT_INT(s->privs[0].nobjects, 0);
	fake_host_free(fc);
}

TEST(test_roles__privilege_error_is_located_at_its_item)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s =
	    load_refused(fc, "roles:\n"
			     "  privileges:\n"
			     "    - role: a\n"
			     "      database: d\n"
			     "      schema: s\n"
			     "      tables: [t]\n"
			     "      grant: [[SELECT], BOGUS]\n");
	const char *out = fake_host_render(fc);

	T_ASSERT(s != NULL);
	T_ASSERT_CONTAINS(out, "spec.yaml:7:15: ERROR:  "
			       "roles.privileges[0].grant[0] must be a string");
	T_ASSERT_CONTAINS(out, "spec.yaml:7:25: ERROR:  privilege \"BOGUS\" "
			       "does not apply to a table");
	fake_host_free(fc);
}

TEST(test_roles__diff_creates_with_quoted_hostile_names)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s = load(
	    fc,
	    "roles:\n  members:\n"
	    "    - {name: 'x\"; DROP TABLE t; --', login: true, comment: \"it's\"}\n");
	struct role_live *l = live_new(fc);
	const struct dbops_change *c;

	T_ASSERT(s != NULL);
	T_ASSERT(diff(fc, s, l, 0) != NULL);
	c = fake_host_change(fc, "roles.role.x\"; DROP TABLE t; --");
	T_ASSERT(c != NULL);
	T_ASSERT_INT(c->action, DBOPS_ACTION_CREATE);
	T_ASSERT_CONTAINS(c->sql,
			  "CREATE ROLE \"x\"\"; DROP TABLE t; --\" WITH");
	T_ASSERT_CONTAINS(c->sql, "IS 'it''s'");
	T_ASSERT_INT(c->phase, DBOPS_PHASE_ROLES);
	fake_host_free(fc);
}

TEST(test_roles__diff_alters_only_what_differs)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s =
	    load(fc, "roles:\n  members:\n"
		     "    - {name: app, login: true, connection_limit: 50}\n"
		     "    - {name: same, login: true}\n");
	struct role_live *l = live_new(fc);
	const struct dbops_change *c;

	T_ASSERT(s != NULL);
	live_role(l, "app")->createdb = true;
	live_role(l, "same")->login = true;
	T_ASSERT(diff(fc, s, l, 0) != NULL);
	T_ASSERT_INT((int)fc->nchanges, 1);
	c = fake_host_change(fc, "roles.role.app");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(
	    c->sql,
	    "ALTER ROLE \"app\" WITH NOCREATEDB LOGIN CONNECTION LIMIT 50;");
	fake_host_free(fc);
}

TEST(test_roles__diff_password_compared_with_stored_verifier)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s;
	struct role_live *l;
	const struct dbops_change *c;

	setenv("ROLE_TEST_PW", "pencil", 1);
	s = load(fc, "roles:\n  members:\n"
		     "    - {name: app, password: {env: ROLE_TEST_PW}}\n");
	T_ASSERT(s != NULL);
	l = live_new(fc);
	live_role(l, "app")->password = pg_pencil;
	T_ASSERT(diff(fc, s, l, 0) != NULL);
	T_ASSERT_INT((int)fc->nchanges, 0);
	fake_host_free(fc);

	fc = fake_host_new("roles");
	setenv("ROLE_TEST_PW", "pencil-rotated", 1);
	s = load(fc, "roles:\n  members:\n"
		     "    - {name: app, password: {env: ROLE_TEST_PW}}\n");
	l = live_new(fc);
	live_role(l, "app")->password = pg_pencil;
	T_ASSERT(diff(fc, s, l, 0) != NULL);
	c = fake_host_change(fc, "roles.role.app");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->sql, "ALTER ROLE \"app\" PASSWORD '(redacted)';");
	T_ASSERT(c->nattrs == 1 && c->attrs[0].sensitive);
	T_ASSERT(strstr(fake_host_render(fc), "pencil-rotated") == NULL);
	fake_host_free(fc);
	unsetenv("ROLE_TEST_PW");
}

TEST(test_roles__diff_password_unknown_without_pg_authid)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s;
	struct role_live *l;

	s = load(fc, "roles:\n  members:\n"
		     "    - {name: app, password: {env: ROLE_TEST_UNSET}}\n");
	T_ASSERT(s != NULL);
	l = live_new(fc);
	l->authid_readable = false;
	live_role(l, "app");
	T_ASSERT(diff(fc, s, l, 0) != NULL);
	T_ASSERT_INT((int)fc->nchanges, 0);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "password state of role \"app\" is unknown");
	fake_host_free(fc);
}

TEST(test_roles__diff_memberships_exact_for_managed_roles)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s = load(
	    fc, "roles:\n  members:\n"
		"    - {name: app, member_of: [r1, {role: r2, admin: true}]}\n"
		"    - {name: r1}\n    - {name: r2}\n");
	struct role_live *l = live_new(fc);
	const struct dbops_change *c;

	T_ASSERT(s != NULL);
	live_role(l, "app");
	live_role(l, "r1");
	live_role(l, "r2");
	live_role(l, "old");
	live_role(l, "other");
	l->members[l->nmembers++] = (struct role_live_member){"r2", "app", 0};
	l->members[l->nmembers++] = (struct role_live_member){"old", "app", 0};
	/* a membership of an unmanaged role is left alone */
	l->members[l->nmembers++] = (struct role_live_member){"r1", "other", 0};
	T_ASSERT(diff(fc, s, l, 0) != NULL);
	T_ASSERT_INT((int)fc->nchanges, 3);
	c = fake_host_change(fc, "roles.membership.app.r1");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->sql, "GRANT \"r1\" TO \"app\";");
	T_ASSERT_INT(c->phase, ROLE_PHASE_MEMBERSHIP);
	c = fake_host_change(fc, "roles.membership.app.r2");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->sql, "GRANT \"r2\" TO \"app\" WITH ADMIN OPTION;");
	c = fake_host_change(fc, "roles.membership.app.old");
	T_ASSERT(c != NULL);
	T_ASSERT_INT(c->action, DBOPS_ACTION_DELETE);
	T_ASSERT_STR(c->sql, "REVOKE \"old\" FROM \"app\";");
	fake_host_free(fc);
}

TEST(test_roles__diff_privileges_grant_and_revoke_undeclared)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s = load(
	    fc,
	    "roles:\n  members:\n    - {name: rd}\n    - {name: own}\n"
	    "  privileges:\n"
	    "    - {role: rd, database: app, schema: public, tables: all, grant: [SELECT]}\n"
	    "    - {role: public, database: app, schema: public, revoke: [CREATE]}\n");
	struct role_live *l = live_new(fc);
	struct role_live_db *d;
	const struct dbops_change *c;

	T_ASSERT(s != NULL);
	live_role(l, "rd");
	live_role(l, "own");
	live_role(l, "someone");
	d = live_db(fc, l, "app");
	live_object(d, ROLE_OBJ_SCHEMA, "public", NULL, "pg_database_owner");
	live_object(d, ROLE_OBJ_TABLE, "public", "t1", "own");
	live_object(d, ROLE_OBJ_TABLE, "public", "t2", "own");
	live_object(d, ROLE_OBJ_TABLE, "public", "mine", "rd");
	live_object(d, ROLE_OBJ_TABLE, "other", "x", "own");
	/* t1: SELECT already, INSERT added by hand: revoked */
	live_acl(d, ROLE_OBJ_TABLE, "public", "t1", "rd",
		 ROLE_P_SELECT | ROLE_P_INSERT);
	/* a grant in another schema to a managed role: revoked */
	live_acl(d, ROLE_OBJ_TABLE, "other", "x", "rd", ROLE_P_SELECT);
	/* unmanaged grantee: left alone */
	live_acl(d, ROLE_OBJ_TABLE, "public", "t2", "someone", ROLE_P_SELECT);
	/* PUBLIC CREATE on the schema: revoked as declared */
	live_acl(d, ROLE_OBJ_SCHEMA, "public", NULL, "PUBLIC",
		 ROLE_P_USAGE | ROLE_P_CREATE);
	T_ASSERT(diff(fc, s, l, 0) != NULL);
	T_ASSERT_INT((int)fc->nchanges, 4);
	c = fake_host_change(fc, "roles.privilege.app.table.public.t1");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->sql,
		     "REVOKE INSERT ON TABLE \"public\".\"t1\" FROM \"rd\";");
	T_ASSERT_INT(c->phase, DBOPS_PHASE_PRIVILEGES);
	c = fake_host_change(fc, "roles.privilege.app.table.public.t2");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->sql,
		     "GRANT SELECT ON TABLE \"public\".\"t2\" TO \"rd\";");
	c = fake_host_change(fc, "roles.privilege.app.table.other.x");
	T_ASSERT(c != NULL);
	T_ASSERT_INT(c->action, DBOPS_ACTION_DELETE);
	c = fake_host_change(fc, "roles.privilege.app.schema.public");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->sql, "REVOKE CREATE ON SCHEMA \"public\" FROM PUBLIC;");
	/* the owner's own table is never granted to itself */
	T_ASSERT(fake_host_change(
		     fc, "roles.privilege.app.table.public.mine") == NULL);
	fake_host_free(fc);
}

TEST(test_roles__diff_default_privileges)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s = load(
	    fc,
	    "roles:\n  members:\n    - {name: rd}\n    - {name: own}\n"
	    "  default_privileges:\n"
	    "    - {role: rd, for_role: own, database: app, schema: public, on: tables, grant: [SELECT]}\n");
	struct role_live *l = live_new(fc);
	struct role_live_db *d;
	const struct dbops_change *c;

	T_ASSERT(s != NULL);
	live_role(l, "rd");
	live_role(l, "own");
	d = live_db(fc, l, "app");
	d->defacls[d->ndefacls++] = (struct role_acl){
	    NULL, ROLE_OBJ_SEQUENCE, NULL, "own", "rd", ROLE_P_USAGE};
	T_ASSERT(diff(fc, s, l, 0) != NULL);
	T_ASSERT_INT((int)fc->nchanges, 2);
	c = fake_host_change(fc,
			     "roles.default_privilege.app.own.public.table");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(
	    c->sql,
	    "ALTER DEFAULT PRIVILEGES FOR ROLE \"own\" IN SCHEMA \"public\" GRANT SELECT ON TABLES TO \"rd\";");
	T_ASSERT_STR(c->attrs[0].name, "rd");
	T_ASSERT_STR(c->attrs[0].after, "SELECT");
	c = fake_host_change(fc, "roles.default_privilege.app.own.*.sequence");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(
	    c->sql,
	    "ALTER DEFAULT PRIVILEGES FOR ROLE \"own\" REVOKE USAGE ON SEQUENCES FROM \"rd\";");
	fake_host_free(fc);
}

TEST(test_roles__diff_prune_spares_protected_roles)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s = load(
	    fc,
	    "roles:\n  prune: true\n  ignore: ['keep_*']\n"
	    "  reassign_to: heir\n"
	    "  members:\n    - {name: heir}\n    - {name: gone, state: absent}\n");
	struct role_live *l = live_new(fc);
	const struct dbops_change *c;

	T_ASSERT(s != NULL);
	l->current_user = "dbops";
	live_role(l, "heir");
	live_role(l, "gone");
	live_role(l, "stray");
	live_role(l, "postgres");
	live_role(l, "pg_monitor");
	live_role(l, "dbops");
	live_role(l, "keep_this");
	T_ASSERT(diff(fc, s, l, 0) != NULL);
	T_ASSERT_INT((int)fc->nchanges, 2);
	c = fake_host_change(fc, "roles.role.stray");
	T_ASSERT(c != NULL);
	T_ASSERT_INT(c->action, DBOPS_ACTION_DELETE);
	T_ASSERT(c->flags & DBOPS_CHANGE_DESTRUCTIVE);
	T_ASSERT_CONTAINS(c->sql, "REASSIGN OWNED BY \"stray\" TO \"heir\"");
	T_ASSERT_CONTAINS(c->sql, "DROP ROLE \"stray\";");
	T_ASSERT_INT(c->phase, ROLE_PHASE_DROP);
	c = fake_host_change(fc, "roles.role.gone");
	T_ASSERT(c != NULL && (c->flags & DBOPS_CHANGE_DESTRUCTIVE));
	fake_host_free(fc);
}

TEST(test_roles__diff_refuses_self_lockout)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s = load(
	    fc, "roles:\n  members:\n    - {name: postgres, login: false}\n");
	struct role_live *l = live_new(fc);
	struct role_live_role *r;

	T_ASSERT(s != NULL);
	r = live_role(l, "postgres");
	r->login = true;
	r->superuser = true;
	T_ASSERT(diff(fc, s, l, DBOPS_ERR_INVALID) != NULL);
	T_ASSERT_INT((int)fc->nchanges, 0);
	T_ASSERT_CONTAINS(fake_host_render(fc), "must keep its LOGIN");
	fake_host_free(fc);
}

TEST(test_roles__observe_reads_with_set_based_queries)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s = load(
	    fc,
	    "roles:\n  members:\n    - {name: rd}\n"
	    "  privileges:\n"
	    "    - {role: rd, database: app, schema: public, tables: all, grant: [SELECT]}\n");
	static const char *const sess_cols[] = {"cu", "db", "su"};
	static const char *const sess[] = {"postgres", "app", "t"};
	static const char *const role_cols[] = {
	    "rolname",	    "rolsuper",	   "rolinherit",     "rolcreaterole",
	    "rolcreatedb",  "rolcanlogin", "rolreplication", "rolbypassrls",
	    "rolconnlimit", "validuntil",  "comment",	     "pw"};
	static const char *const roles[] = {
	    "rd", "f",	"t",  "f",  "f",	"f",  "f",  "f",
	    "-1", NULL, NULL, NULL, "postgres", "t",  "t",  "t",
	    "t",  "t",	"t",  "t",  "-1",	NULL, NULL, NULL};
	static const char *const mem_cols[] = {"role", "member",
					       "admin_option"};
	static const char *const db_cols[] = {"datname"};
	static const char *const dbs[] = {"app"};
	static const char *const obj_cols[] = {"kind",	"schema",  "name",
					       "owner", "grantee", "privs"};
	static const char *const objs[] = {
	    "1", "public", NULL, "pg_database_owner", "PUBLIC", "USAGE",
	    "2", "public", "t1", "postgres",	      "rd",	"SELECT,INSERT",
	    "2", "public", "t2", "postgres",	      NULL,	NULL};
	static const char *const def_cols[] = {"owner", "schema", "objtype",
					       "grantee", "privs"};
	static const char *const dacl_cols[] = {"name", "grantee", "privs"};
	static const char *const dacl[] = {"app", "PUBLIC",
					   "CONNECT,TEMPORARY"};
	struct role_live *live = NULL;
	const struct role_live_db *d;

	T_ASSERT(s != NULL);
	fake_host_add_result(fc, "current_user AS cu", sess_cols, 3, sess, 1);
	fake_host_add_result(fc, "FROM pg_catalog.pg_authid r", role_cols, 12,
			     roles, 2);
	fake_host_add_result(fc, "pg_auth_members", mem_cols, 3, NULL, 0);
	fake_host_add_result(fc, "SELECT datname FROM", db_cols, 1, dbs, 1);
	fake_host_add_result(fc, "WITH o AS", obj_cols, 6, objs, 3);
	fake_host_add_result(fc, "pg_default_acl", def_cols, 5, NULL, 0);
	fake_host_add_result(fc, "d.datacl", dacl_cols, 3, dacl, 1);
	T_ASSERT_INT(role_live_load(&live, fake_host_ctx(fc), s), 0);
	T_ASSERT_INT((int)fc->nqueries, 7);
	T_ASSERT_INT((int)live->nroles, 2);
	T_ASSERT(role_live_find(live, "postgres")->superuser);
	d = role_live_db(live, "app");
	T_ASSERT(d != NULL && d->exists);
	T_ASSERT_INT((int)d->nobjects, 3);
	T_ASSERT_INT((int)d->nacls, 3);
	T_ASSERT_INT(role_diff_models(fake_host_ctx(fc), s, live), 0);
	T_ASSERT(fake_host_change(fc, "roles.privilege.app.table.public.t1") !=
		 NULL);
	T_ASSERT(fake_host_change(fc, "roles.privilege.app.table.public.t2") !=
		 NULL);
	T_ASSERT_INT((int)fc->nchanges, 2);
	fake_host_free(fc);
}

TEST(test_roles__diff_batches_grantees_of_one_object)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct role_spec *s = load(
	    fc,
	    "roles:\n  members:\n    - {names: [a, b, c]}\n"
	    "  privileges:\n"
	    "    - {roles: [a, b], database: app, schema: s, tables: [t], grant: [SELECT]}\n"
	    "    - {role: c, database: app, schema: s, tables: [t], grant: [SELECT, INSERT]}\n");
	struct role_live *l = live_new(fc);
	const struct dbops_change *c;

	T_ASSERT(s != NULL);
	T_ASSERT_INT((int)s->nroles, 3);
	T_ASSERT_INT((int)s->nprivs, 3);
	live_role(l, "a");
	live_role(l, "b");
	live_role(l, "c");
	live_db(fc, l, "app");
	T_ASSERT(diff(fc, s, l, 0) != NULL);
	T_ASSERT_INT((int)fc->nchanges, 1);
	c = fake_host_change(fc, "roles.privilege.app.table.s.t");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->sql,
		     "GRANT SELECT ON TABLE \"s\".\"t\" TO \"a\", \"b\";\n"
		     "GRANT SELECT, INSERT ON TABLE \"s\".\"t\" TO \"c\";");
	T_ASSERT_INT((int)c->nattrs, 3);
	T_ASSERT_INT(c->action, DBOPS_ACTION_CREATE);
	/* committed on its own: grants hold a lock per grantee role */
	T_ASSERT(c->flags & DBOPS_CHANGE_NONTX);
	fake_host_free(fc);
}

static int hba_plan(struct fake_ctx *fc, const char *rules, bool password,
		    const char *content)
{
	const struct role_spec *s;
	struct role_live *l;
	char *yaml = arena_printf(fc->arena, "roles:\n  hba:\n%s", rules);

	s = load(fc, yaml);
	if (s == NULL)
		return -100;
	l = live_new(fc);
	l->client_addr = "127.0.0.1";
	l->used_password = password;
	l->hba_file = "/data/pg_hba.conf";
	l->hba_content = content ? content : "# old\n";
	live_role(l, "postgres");
	l->members[l->nmembers++] =
	    (struct role_live_member){"admins", "postgres", false};
	role_live_finish(fake_host_ctx(fc), l);
	return role_diff_models(fake_host_ctx(fc), s, l);
}

TEST(test_roles__hba_refuses_self_lockout)
{
	struct fake_ctx *fc = fake_host_new("roles");

	T_ASSERT_INT(
	    hba_plan(
		fc,
		"    - {type: host, database: all, user: postgres, address: 127.0.0.1/32, method: reject}\n"
		"    - {type: host, database: all, user: all, address: 0.0.0.0/0, method: trust}\n",
		false, NULL),
	    DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "the pg_hba rules would lock dbops out");
	T_ASSERT_CONTAINS(fake_host_render(fc), "Rule 1 matches");
	T_ASSERT_INT((int)fc->nchanges, 0);
	fake_host_free(fc);

	fc = fake_host_new("roles");
	T_ASSERT_INT(
	    hba_plan(
		fc,
		"    - {type: host, database: all, user: all, address: 10.0.0.0/8, method: trust}\n",
		false, NULL),
	    DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(fake_host_render(fc), "No rule matches");
	fake_host_free(fc);

	/* a password method is fine only when dbops used a password */
	fc = fake_host_new("roles");
	T_ASSERT_INT(
	    hba_plan(
		fc,
		"    - {type: host, database: all, user: all, address: 127.0.0.1/32, method: scram-sha-256}\n",
		false, NULL),
	    DBOPS_ERR_INVALID);
	fake_host_free(fc);
	fc = fake_host_new("roles");
	T_ASSERT_INT(
	    hba_plan(
		fc,
		"    - {type: host, database: all, user: all, address: 127.0.0.1/32, method: scram-sha-256}\n",
		true, NULL),
	    0);
	T_ASSERT(fake_host_change(fc, "roles.hba") != NULL);
	fake_host_free(fc);
}

TEST(test_roles__hba_plans_rendered_file_once)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const char *rules =
	    "    - {type: local, database: all, user: all, method: peer}\n"
	    "    - {type: host, database: 'app,other', user: +admins, address: 127.0.0.0/8, method: trust}\n";
	const struct dbops_change *c;
	const struct role_payload *p;
	char *content;

	T_ASSERT_INT(hba_plan(fc, rules, false, NULL), 0);
	c = fake_host_change(fc, "roles.hba");
	T_ASSERT(c != NULL);
	T_ASSERT(c->flags & DBOPS_CHANGE_NONTX);
	p = c->payload;
	T_ASSERT_CONTAINS(
	    p->hba_content,
	    "host     app,other        +admins          127.0.0.0/8              trust\n");
	T_ASSERT_CONTAINS(p->hba_content, "local    all              all");
	content = strdup(p->hba_content);
	fake_host_free(fc);

	/* the file holds the rules already: nothing to do */
	fc = fake_host_new("roles");
	T_ASSERT_INT(hba_plan(fc, rules, false, content), 0);
	free(content);
	T_ASSERT_INT((int)fc->nchanges, 0);
	fake_host_free(fc);
}

TEST(test_roles__hba_refuses_line_breaks)
{
	struct fake_ctx *fc = fake_host_new("roles");

	T_ASSERT_INT(
	    hba_plan(
		fc,
		"    - {type: host, database: \"all\\nhost\", user: all, address: 0.0.0.0/0, method: trust}\n",
		false, NULL),
	    -100);
	T_ASSERT_CONTAINS(fake_host_render(fc), "line break");
	fake_host_free(fc);
}

TEST(test_roles__validate_publishes_password_references)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct dbops_node *root = fake_host_spec(
	    fc,
	    "roles:\n  members:\n"
	    "    - {name: app, login: true, password: {env: DBOPS_SECRET_APP}}\n"
	    "    - {name: plain, login: true}\n"
	    "    - {name: old, state: absent}\n");

	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    role_validate(
		fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "roles")),
	    0);
	/* the reference only, for the app role only */
	T_ASSERT_INT(fc->nfacts, 1);
	T_ASSERT_STR(fc->facts[0].name, "roles.role.app.password");
	T_ASSERT_INT(fc->facts[0].type, DBOPS_FACT_SECRET);
	T_ASSERT(fc->facts[0].value == NULL);
	T_ASSERT_STR(fc->facts[0].secret.name, "DBOPS_SECRET_APP");
	fake_host_free(fc);
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * roles_int.h — the private interface between the files of the "roles"
 * plugin: the desired model read from the `roles:` section (model.c), the
 * observed model of the catalogs (observe.c), the diff (diff.c), apply
 * (apply.c) and the client-side SCRAM-SHA-256 code (scram.c).
 *
 * Everything here has the role_ prefix and hidden visibility; the unit
 * tests link these files directly. Nothing here includes controller
 * headers; only apply.c and hba.c include libpq.
 */
#ifndef DBOPS_ROLE_INT_H
#define DBOPS_ROLE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbops/host.h"
#include "dbops/plugin.h"
#include "dbops/spec.h"
#include "../value.h"

/* Phases of the plugin's changes (plan order is phase, then address). */
#define ROLE_PHASE_ROLE	      DBOPS_PHASE_ROLES	      /* create, alter */
#define ROLE_PHASE_MEMBERSHIP (DBOPS_PHASE_ROLES + 1) /* GRANT role TO */
#define ROLE_PHASE_DROP	      (DBOPS_PHASE_ROLES + 2) /* DROP ROLE */
#define ROLE_PHASE_HBA	      (DBOPS_PHASE_ROLES + 3) /* pg_hba.conf */
#define ROLE_PHASE_PRIVILEGE  DBOPS_PHASE_PRIVILEGES
#define ROLE_PHASE_DEFACL     (DBOPS_PHASE_PRIVILEGES + 1)

#define ROLE_NAME_MAX 63 /* NAMEDATALEN - 1 */

/* Object kinds privileges are declared on. */
enum role_objkind {
	ROLE_OBJ_DATABASE = 0,
	ROLE_OBJ_SCHEMA,
	ROLE_OBJ_TABLE,
	ROLE_OBJ_SEQUENCE,
	ROLE_OBJ_FUNCTION,
	ROLE_OBJ_TYPE, /* default privileges only */
	ROLE_OBJ_NKINDS
};

/* Privilege bits, one per ACL letter. */
#define ROLE_P_SELECT	  (1u << 0)  /* r */
#define ROLE_P_INSERT	  (1u << 1)  /* a */
#define ROLE_P_UPDATE	  (1u << 2)  /* w */
#define ROLE_P_DELETE	  (1u << 3)  /* d */
#define ROLE_P_TRUNCATE	  (1u << 4)  /* D */
#define ROLE_P_REFERENCES (1u << 5)  /* x */
#define ROLE_P_TRIGGER	  (1u << 6)  /* t */
#define ROLE_P_EXECUTE	  (1u << 7)  /* X */
#define ROLE_P_USAGE	  (1u << 8)  /* U */
#define ROLE_P_CREATE	  (1u << 9)  /* C */
#define ROLE_P_CONNECT	  (1u << 10) /* c */
#define ROLE_P_TEMPORARY  (1u << 11) /* T */

struct role_membership {
	const char *role; /* the group the member belongs to */
	bool admin;
	struct dbops_loc loc;
};

/* One managed role of the spec. */
struct role_def {
	const char *name;
	bool absent; /* state: absent */
	bool login, superuser, createdb, createrole, replication, bypassrls;
	bool inherit;
	int64_t connection_limit;
	const char *valid_until; /* NULL: not managed */
	const char *comment;	 /* NULL: not managed */
	bool has_password;
	struct dbops_secret_ref password;
	struct role_membership *member_of;
	size_t nmember_of;
	struct dbops_loc loc;
};

/* A privileges entry: grants (and revocations) on objects of one kind. */
struct role_priv_rule {
	const char *grantee; /* a role name, or "PUBLIC" */
	const char *database;
	const char *schema; /* NULL for database privileges */
	enum role_objkind kind;
	bool all; /* every object of the kind in the schema */
	const char *const *objects;
	size_t nobjects;
	unsigned grant;
	unsigned revoke;
	struct dbops_loc loc;
};

/* A default_privileges entry. */
struct role_defacl_rule {
	const char *grantee; /* a role name, or "PUBLIC" */
	const char *owner;   /* for_role */
	const char *database;
	const char *schema; /* NULL: every schema */
	enum role_objkind kind;
	unsigned grant;
	unsigned revoke;
	struct dbops_loc loc;
};

struct role_hba_rule {
	const char *type, *database, *user, *address, *method, *options;
	struct dbops_loc loc;
};

/* The desired state. */
struct role_spec {
	bool prune;
	const char *const *ignore;
	size_t nignore;
	const char *reassign_to; /* NULL: the role dbops connects as */
	struct role_def *roles;
	size_t nroles;
	struct role_priv_rule *privs;
	size_t nprivs;
	struct role_defacl_rule *defacls;
	size_t ndefacls;
	const char *const *databases; /* named by the entries, sorted */
	size_t ndatabases;
	struct role_hba_rule *hba;
	size_t nhba;
	bool has_hba;
};

/* ---- live model */

struct role_live_role {
	const char *name;
	bool superuser, inherit, createrole, createdb, login, replication;
	bool bypassrls;
	int64_t connection_limit;
	const char *valid_until; /* epoch seconds as text, or NULL */
	const char *comment;
	const char *password; /* rolpassword, when readable */
};

struct role_live_member {
	const char *role, *member;
	bool admin;
};

/* An object of a database, with the privileges granted on it. */
struct role_acl {
	const char *key; /* role_acl_key(): kind, schema, object, grantee */
	enum role_objkind kind;
	const char *schema, *object, *grantee;
	unsigned privs;
};

struct role_object {
	enum role_objkind kind;
	const char *schema, *name, *owner;
};

struct role_live_db {
	const char *name;
	bool exists;
	struct role_object *objects; /* sorted by kind, schema, name */
	size_t nobjects;
	struct role_acl *acls; /* sorted by key */
	size_t nacls;
	struct role_acl *defacls; /* schema NULL for global, object = owner */
	size_t ndefacls;
};

/* A server setting that could record a password statement's text. */
struct role_live_setting {
	const char *name;
	const char *setting; /* pg_settings.setting */
	const char *shown;   /* current_setting(), with its unit */
	bool can_set;	     /* the role dbops connects as may SET it */
};

struct role_live {
	const char *current_user;
	const char *current_database;
	bool superuser;		      /* the role dbops connects as */
	bool authid_readable;	      /* pg_authid.rolpassword can be read */
	struct role_live_role *roles; /* sorted by name */
	size_t nroles;
	struct role_live_member *members;
	size_t nmembers;
	struct role_live_db *dbs; /* one per spec database, sorted */
	size_t ndbs;
	/* desired valid_until texts and their epoch value on the server */
	const char *const *until_text;
	const char *const *until_epoch;
	size_t nuntil;
	/* pg_hba */
	const char *hba_file;
	const char *hba_content; /* NULL: not readable */
	const char *client_addr; /* NULL: a Unix socket */
	bool client_ssl;
	bool used_password;
	/* settings that could record a password statement (guard.c), read
	 * when the spec manages a password */
	struct role_live_setting *settings;
	size_t nsettings;
	bool settings_read;
};

/* ---- privileges.c (names of privileges and kinds) */

/* Privileges allowed on a kind of object. */
unsigned role_privs_allowed(enum role_objkind kind);
/* Parse one privilege keyword (any case; ALL, TEMP) for `kind`; 0 when
 * unknown or not allowed there. */
unsigned role_priv_parse(const char *word, enum role_objkind kind);
/* "SELECT, INSERT" in canonical order, or "" (arena). */
const char *role_privs_format(struct dbops_ctx *ctx, unsigned privs);
/* The bits of an aclitem privilege letter, 0 when unknown. */
unsigned role_priv_letter(char c);
const char *role_kind_name(enum role_objkind kind); /* "table" */
/* The SQL object class: "TABLE", "SCHEMA", "FUNCTION"... */
const char *role_kind_sql(enum role_objkind kind);
/* Object type words of ALTER DEFAULT PRIVILEGES: "TABLES"... */
const char *role_kind_sql_plural(enum role_objkind kind);

/* ---- model.c */

/* Read the section into *out, reporting every problem with its location
 * (validation). Returns 0 or DBOPS_ERR_INVALID. */
int role_spec_load(struct role_spec **out, struct dbops_ctx *ctx,
		   const struct dbops_node *section);
const struct role_def *role_spec_find(const struct role_spec *spec,
				      const char *name);
/* Protected roles are never dropped by pruning: postgres, pg_*, the
 * current user, and the ignore patterns. */
bool role_protected(const struct role_spec *spec, const char *current_user,
		    const char *name);
int role_validate(struct dbops_ctx *ctx, const struct dbops_node *section);

/* ---- observe.c */

int role_observe(void **live_out, struct dbops_ctx *ctx,
		 const struct dbops_node *section);
/* Load the live model for `spec` (also used by apply to re-check). */
int role_live_load(struct role_live **out, struct dbops_ctx *ctx,
		   const struct role_spec *spec);
const struct role_live_role *role_live_find(const struct role_live *live,
					    const char *name);
const struct role_live_db *role_live_db(const struct role_live *live,
					const char *name);
/* Sort live arrays and build keys; observe and tests call it. */
void role_live_finish(struct dbops_ctx *ctx, struct role_live *live);
/* Order of live memberships: member, then role. */
int role_member_cmp(const void *a, const void *b);
/* "kind\x1fschema\x1fobject\x1fgrantee" (arena). */
const char *role_acl_key(struct dbops_ctx *ctx, enum role_objkind kind,
			 const char *schema, const char *object,
			 const char *grantee);
/* A conninfo string "dbname='...'" for another database (arena). */
const char *role_conninfo_db(struct dbops_ctx *ctx, const char *db);

/* ---- diff.c */

/* The result of comparing a secret with a stored verifier. */
enum role_pw_state {
	ROLE_PW_SAME = 0,
	ROLE_PW_DIFFERENT,
	ROLE_PW_UNKNOWN,
};

/* What apply needs, kept as a change's payload. */
enum role_op {
	ROLE_OP_CREATE = 1,
	ROLE_OP_ALTER,
	ROLE_OP_DROP,
	ROLE_OP_GRANT_ROLE,
	ROLE_OP_REVOKE_ROLE,
	ROLE_OP_PRIVILEGE,
	ROLE_OP_HBA,
};

/* State shared by the changes of one pass (diff allocates it). */
struct role_apply_state {
	bool roles_loaded;     /* existing role names read once per pass */
	const char **existing; /* sorted */
	size_t nexisting;
	const char *current_database;
	struct role_db_conn *conns; /* other databases, opened on demand */
	size_t nconns;
};

struct role_db_conn {
	const char *name;
	struct dbops_conn *conn;
};

struct role_payload {
	enum role_op op;
	struct role_apply_state *state;
	const char *role;
	const char *database; /* privileges: where the statements run */
	/* statements, run in order; the one at `password_at` gets the
	 * verifier appended (index -1: none) */
	const char *const *sql;
	size_t nsql;
	int password_at;
	const struct dbops_secret_ref *password;
	const char *reassign_to; /* ROLE_OP_DROP */
	const char *member;	 /* ROLE_OP_*_ROLE */
	bool admin;
	const char *hba_content; /* ROLE_OP_HBA: the new file */
	const char *hba_file;
	/* with a password: SETs run before the change's transaction and
	 * RESETs after it (guard.c); NULL when dbops may set none */
	const char *guard_set;
	const char *guard_reset;
};

/* Compare a secret with a stored verifier. Never logs the secret. */
enum role_pw_state role_password_compare(const char *secret,
					 const char *stored);

int role_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	      void *live);
/* The diff on loaded models (unit tests call this directly). */
int role_diff_models(struct dbops_ctx *ctx, const struct role_spec *spec,
		     const struct role_live *live);

/* ---- hba.c */

/* Render the rules as a pg_hba.conf file (arena). */
const char *role_hba_render(struct dbops_ctx *ctx,
			    const struct role_spec *spec);
/* hba_file, the connection's own address, and the file's content when
 * it can be read here (superuser only). */
int role_hba_observe(struct dbops_ctx *ctx, struct role_live *live);
/* Plan the new file, or refuse rules that lock dbops out. */
int role_hba_diff(struct dbops_ctx *ctx, const struct role_spec *spec,
		  const struct role_live *live, struct role_apply_state *st);
int role_hba_apply(struct dbops_ctx *ctx, const struct role_payload *p);

/* ---- guard.c */

/* Read the settings that could record a password statement's text, and
 * whether dbops' role may set them (observe). */
int role_guard_observe(struct dbops_ctx *ctx, struct role_live *live);
/* For a planned password change of `role`: the SETs and RESETs of its
 * payload, and a warning at `loc` for each setting that would record the
 * statement and that dbops may not set. */
void role_guard_plan(struct dbops_ctx *ctx, const struct role_live *live,
		     const char *role, const struct dbops_loc *loc,
		     struct role_payload *p);

/* ---- apply.c */

int role_apply(struct dbops_ctx *ctx, const struct dbops_change *change);

/* ---- scram.c */

#define ROLE_SHA256_LEN 32

void role_sha256(uint8_t out[ROLE_SHA256_LEN], const void *data, size_t len);
void role_hmac_sha256(uint8_t out[ROLE_SHA256_LEN], const void *key,
		      size_t keylen, const void *data, size_t len);
void role_pbkdf2_sha256(uint8_t out[ROLE_SHA256_LEN], const void *pass,
			size_t passlen, const void *salt, size_t saltlen,
			unsigned iterations);
/* Base64 (RFC 4648, with padding). encode writes a NUL-terminated string
 * of at most 4 * ((len + 2) / 3) + 1 bytes; decode returns the number of
 * bytes or -1. */
void role_base64_encode(char *out, const uint8_t *in, size_t len);
int role_base64_decode(uint8_t *out, size_t cap, const char *in, size_t len);
/* The stored form SCRAM-SHA-256$iter:salt$StoredKey:ServerKey of a
 * password with a given salt, in `out` (cap >= 160), its keys derived from
 * role_scram_prepare(password) as PostgreSQL derives them. 0, or -1. */
int role_scram_verifier(char *out, size_t cap, const uint8_t *salt,
			size_t saltlen, unsigned iterations,
			const char *password);

/* ---- saslprep.c */

enum role_saslprep_rc {
	ROLE_SASLPREP_OK = 0,	    /* *out holds the prepared password */
	ROLE_SASLPREP_INVALID_UTF8, /* PostgreSQL hashes the raw bytes */
	ROLE_SASLPREP_PROHIBITED,   /* likewise */
};

/* SASLprep of `in` as PostgreSQL's pg_saslprep(): on ROLE_SASLPREP_OK,
 * *out is a malloc'd string the caller frees with role_secret_free; else
 * *out is NULL. Aborts when out of memory. */
enum role_saslprep_rc role_saslprep(char **out, const char *in);
/* The bytes PostgreSQL derives SCRAM keys from: the SASLprep'd password,
 * or the password itself when SASLprep refuses it (malloc'd; free with
 * role_secret_free). */
char *role_scram_prepare(const char *password);
/* Wipe and free a string from the two functions above; NULL is fine. */
void role_secret_free(char *s);

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * pooler_int.h — the private interface between the files of the "pooler"
 * plugin: PgBouncer 1.18's setting list, the desired state read from the
 * `pooler:` section, the live state read from the admin console and the
 * ini file, the comparison of the two, the ini rendering, and the
 * callbacks that pooler.c puts in the descriptor.
 *
 * Everything here has the pool_ prefix and hidden visibility; the unit
 * tests link these files directly.
 */
#ifndef DBOPS_POOL_INT_H
#define DBOPS_POOL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "dbops/host.h"
#include "dbops/plugin.h"
#include "dbops/spec.h"
#include "../value.h"

/* ---- settings.c: the [pgbouncer] settings of PgBouncer 1.18 */

enum pool_type {
	POOL_T_STRING = 0,
	POOL_T_NUMBER, /* integers and times (seconds, fractions allowed) */
	POOL_T_BOOL,   /* 0/1, yes/no, on/off, true/false */
	POOL_T_ENUM,
	POOL_T_MODE, /* unix_socket_mode: octal in the file, decimal live */
};

struct pool_setting_def {
	const char *name;
	enum pool_type type;
	bool reload;	      /* SHOW CONFIG changeable = yes */
	const char *enumvals; /* POOL_T_ENUM: "a|b|c" */
};

const struct pool_setting_def *pool_setting_find(const char *name);
/* The closest known setting name to `word`, when close enough. */
const char *const *pool_setting_names(size_t *n_out);
/* Whether `text` is a valid value of `def`; *why is a static sentence. */
bool pool_setting_valid(const struct pool_setting_def *def, const char *text,
			const char **why);
/* Whether two texts mean the same value of `def` (NULL is ""). */
bool pool_value_equal(const struct pool_setting_def *def, const char *a,
		      const char *b);
/* The closest of `names` to `word` (ASCII case-insensitive), or NULL. */

/* ---- validate.c: the desired state */

struct pool_kv {
	const char *key;
	const char *value;
	struct dbops_loc loc;
};

/* One [databases] entry as the spec wants it. */
struct pool_db {
	const char *name;
	struct dbops_loc loc;
	const char *target; /* "primary", "replicas", or NULL (explicit) */
	const char *host;   /* explicit host, or the replicas' list "a,b" */
	const char *port;
	const char *dbname;
	const char *user;
	const char *pool_size;
	const char *min_pool_size;
	const char *reserve_pool;
	const char *max_db_connections;
	const char *pool_mode;
};

struct pool_user {
	const char *name;
	const char *pool_mode;
	struct dbops_loc loc;
};

struct pool_auth {
	const char *name;
	struct dbops_secret_ref secret;
	struct dbops_loc loc;
};

struct pool_desired {
	const char *config_file;  /* absolute path of the ini file */
	const char *admin;	  /* admin console conninfo */
	int drain_timeout;	  /* seconds */
	struct pool_kv *settings; /* sorted by key */
	size_t nsettings;
	bool has_databases;  /* the section lists [databases] completely */
	struct pool_db *dbs; /* sorted by name */
	size_t ndbs;
	bool has_users;
	struct pool_user *users; /* sorted by name */
	size_t nusers;
	struct pool_auth *auth; /* sorted by name */
	size_t nauth;
	struct dbops_loc loc; /* of the section */
};

#define POOL_DRAIN_TIMEOUT_DEFAULT 30

/* Read the section into *out, reporting every problem with its location.
 * Returns 0 or DBOPS_ERR_INVALID. */
int pool_desired_read(struct pool_desired *out, struct dbops_ctx *ctx,
		      const struct dbops_node *section);
const struct pool_kv *pool_desired_setting(const struct pool_desired *d,
					   const char *key);
int pool_validate(struct dbops_ctx *ctx, const struct dbops_node *section);

/* ---- observe.c: the live state */

/* The ini file as dbops found it. */
struct pool_file {
	bool exists;
	const char *text;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	struct pool_kv *settings; /* [pgbouncer], keys lower-cased */
	size_t nsettings;
	struct pool_kv *dbs; /* [databases]: name = connection string */
	size_t ndbs;
	struct pool_kv *users; /* [users] */
	size_t nusers;
};

struct pool_conf {
	const char *key;
	const char *value;
	const char *def;
	bool changeable;
};

struct pool_live_db {
	const char *name;
	const char *host;
	const char *port;
	const char *database;
	const char *force_user;
	const char *pool_size;
	const char *min_pool_size;
	const char *reserve_pool;
	const char *pool_mode; /* NULL when inherited */
	const char *max_connections;
	bool paused;
	bool disabled;
};

struct pool_live {
	const char *version; /* "PgBouncer 1.18.0" */
	struct pool_conf *conf;
	size_t nconf;
	struct pool_live_db *dbs;
	size_t ndbs;
	struct pool_kv *users; /* SHOW USERS with a pool_mode */
	size_t nusers;
	struct pool_file file;
	const char *auth_path; /* the auth file, or NULL */
	struct pool_kv *auth;  /* its lines: user -> secret */
	size_t nauth;
	bool auth_read;		  /* the auth file could be read */
	const char *primary_host; /* of the target connection */
	const char *primary_port;
};

/* Parse ini text into *out (settings, databases, users). */
void pool_file_parse(struct pool_file *out, struct dbops_ctx *ctx,
		     const char *text);
/* Parse auth file text: "user" "secret" lines. */
size_t pool_auth_parse(struct pool_kv **out, struct dbops_ctx *ctx,
		       const char *text);
/* Read the admin console (SHOW CONFIG, DATABASES, USERS, VERSION) into
 * `live` on `conn`. */
int pool_live_read_console(struct pool_live *live, struct dbops_ctx *ctx,
			   struct dbops_conn *conn);
/* Read the ini file and the auth file into `live`. */
int pool_live_read_files(struct pool_live *live, struct dbops_ctx *ctx,
			 const struct pool_desired *d);
/* The admin conninfo and the ini path, with the environment defaults. */
const char *pool_admin_conninfo(const struct pool_desired *d);
const char *pool_config_path(const struct pool_desired *d);
const struct pool_conf *pool_live_conf(const struct pool_live *live,
				       const char *key);
const struct pool_live_db *pool_live_db(const struct pool_live *live,
					const char *name);
const struct pool_kv *pool_kv_find(const struct pool_kv *kv, size_t n,
				   const char *key);
int pool_observe(void **live_out, struct dbops_ctx *ctx,
		 const struct dbops_node *section);

/* ---- render.c */

/* The connection string of a desired entry ("host=... port=..."). */
const char *pool_db_connstr(struct dbops_ctx *ctx, const struct pool_db *db,
			    const struct pool_live *live);
/* The value of `key` in a connection string, or NULL. */
const char *pool_connstr_get(struct dbops_ctx *ctx, const char *connstr,
			     const char *key);
/* The whole ini file for the spec: settings of the spec and the other
 * settings of the current file, entries of the spec plus those of the
 * current file that wait for their removal (except `drop`). */
const char *pool_render(struct dbops_ctx *ctx, const struct pool_desired *d,
			const struct pool_live *live, const char *drop);
/* The auth file with the lines of `users` replaced or added. */
const char *pool_render_auth(struct dbops_ctx *ctx, const struct pool_kv *lines,
			     size_t nlines, const struct pool_kv *set,
			     size_t nset);

/* ---- diff.c */

enum pool_kind {
	POOL_K_SETTING = 1,
	POOL_K_DATABASE,
	POOL_K_USER,
	POOL_K_AUTH,
	POOL_K_FILE,
};

/* One difference between the spec and the live state. */
struct pool_delta {
	enum pool_kind kind;
	enum dbops_action action;
	const char *name;
	bool restart;	    /* a setting applied only at start */
	bool pending;	    /* restart-only, configured already */
	bool enable;	    /* a disabled entry the spec wants */
	const char *before; /* settings, users: the values */
	const char *after;
	const char *const *fields; /* databases: changed fields, with */
	const char *const *befores;
	const char *const *afters;
	size_t nfields;
	struct dbops_loc loc;
};

/* Every difference, in a stable order; `refresh_auth` plans every auth
 * user again; `report` raises the warnings that need the live state. */
int pool_compare(struct pool_delta **out, size_t *nout, struct dbops_ctx *ctx,
		 const struct pool_desired *d, const struct pool_live *live,
		 bool refresh_auth, bool report);
/* What apply needs. */
struct pool_payload {
	enum pool_kind kind;
	enum dbops_action action;
	const char *name;
	const struct pool_desired *desired;
};

int pool_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	      void *live);

/* ---- apply.c */

/* Write `text` to `path` through a temporary file in the same directory,
 * fsync'd and renamed over it, with the owner and mode of the file it
 * replaces (or `mode` for a new file). */
int pool_write_atomic(struct dbops_ctx *ctx, const char *path, const char *text,
		      mode_t mode);
int pool_apply(struct dbops_ctx *ctx, const struct dbops_change *change);
int pool_verify(struct dbops_ctx *ctx, const struct dbops_node *section);

#endif

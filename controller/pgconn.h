/* SPDX-License-Identifier: PostgreSQL */
/*
 * pgconn.h — the controller's one libpq connection to a target cluster:
 * connect with any conninfo or URI (PG* variables, .pgpass and service
 * files work as libpq users expect), run statements with text parameters
 * into arena rows, quote, and turn every libpq error into a diagnostic in
 * one place (SQLSTATE, primary, detail, hint, context).
 */
#ifndef DBOPS_CTRL_PGCONN_H
#define DBOPS_CTRL_PGCONN_H

#include <stdbool.h>

#include "arena.h"
#include "dbops/diag.h"
#include "dbops/host.h"

struct pgconn;

/*
 * Connect. `conninfo` may be NULL (environment and defaults only);
 * `password` (may be NULL) is passed as libpq's password keyword and
 * never shown. application_name falls back to "dbops". The connection is
 * closed when the arena is freed, or earlier with pgconn_close().
 */
int pgconn_open(struct pgconn **out, struct arena *a,
		struct dbops_diag_list *diags, const char *conninfo,
		const char *password);
void pgconn_close(struct pgconn *c);
/* As pgconn_open, for a service that is not the target cluster
 * (PgBouncer's admin console): no session settings are sent. */
int pgconn_open_plain(struct pgconn **out, struct arena *a,
		      struct dbops_diag_list *diags, const char *conninfo);

/*
 * Connect with `conninfo` laid over every parameter of `base` (host, port,
 * user, password, sslmode...): "dbname=app" reaches another database of
 * the same cluster as the same user.
 */
int pgconn_open_overlay(struct pgconn **out, struct arena *a,
			struct dbops_diag_list *diags,
			const struct pgconn *base, const char *conninfo);

/* Run one statement; rows copied to `a`. Without parameters it goes
 * through the simple query protocol: `sql` may hold several statements
 * and `out` receives the last one's rows. */
int pgconn_query(struct dbops_rows **out, struct pgconn *c, struct arena *a,
		 struct dbops_diag_list *diags, const char *sql, int nparams,
		 const char *const *params);
int pgconn_exec(struct pgconn *c, struct arena *a,
		struct dbops_diag_list *diags, const char *sql);

/* The field of `rows` at (row, column name), or NULL. */
const char *pgconn_rows_get(const struct dbops_rows *rows, int row,
			    const char *col);

char *pgconn_quote_ident(struct pgconn *c, struct arena *a, const char *s);
char *pgconn_quote_literal(struct pgconn *c, struct arena *a, const char *s);
int pgconn_server_version(const struct pgconn *c);
/* "host=... port=... dbname=... user=..." — never the password. */
const char *pgconn_describe(const struct pgconn *c, struct arena *a);
/* The raw PGconn. */
void *pgconn_raw(const struct pgconn *c);
/* Backend pid of the session. */
int pgconn_pid(const struct pgconn *c);

/* Ask the server to cancel whatever every open connection is running
 * (PQcancel); safe in a signal handler. */
void pgconn_cancel_all(void);

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * apply.c — carrying out one change of the "roles" plugin.
 *
 * Role changes run on the pass connection, inside the transaction the host
 * opens for the plugin's changes. A password is turned into a SCRAM-SHA-256
 * verifier here, on the client, with libpq's PQencryptPasswordConn (a
 * fresh salt), so the cleartext never reaches the server, a log or the
 * plan; a change that sets one runs in a transaction of its own, after
 * the session settings that would record its text are turned off where
 * dbops may (guard.c). Privileges on a database other than the pass
 * connection's run on a connection to that database (opened once per
 * pass), in autocommit: GRANT and REVOKE are idempotent, so a pass killed
 * half-way is finished by the next one. Dropping a role reassigns and
 * drops what it owns in every database that accepts connections, then
 * drops the role.
 */
#include "roles_int.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

static const char role_names_sql[] =
    "SELECT rolname FROM pg_catalog.pg_roles ORDER BY rolname COLLATE \"C\"";
static const char role_exists_sql[] =
    "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1";
static const char role_dbs_sql[] =
    "SELECT datname FROM pg_catalog.pg_database WHERE datallowconn "
    "ORDER BY datname";

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Run `sql` in `db` (NULL or the pass connection's: the pass
 * connection). */
static int run_in(struct dbops_ctx *ctx, struct role_apply_state *st,
		  const char *db, const char *sql, struct dbops_rows **out)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct role_db_conn *c = NULL;
	int err;

	if (db == NULL || st == NULL || st->current_database == NULL ||
	    strcmp(db, st->current_database) == 0)
		return h->query(out, ctx, sql, 0, NULL);
	for (size_t i = 0; i < st->nconns; i++)
		if (strcmp(st->conns[i].name, db) == 0)
			c = &st->conns[i];
	if (c == NULL) {
		struct role_db_conn *v =
		    h->alloc(ctx, (st->nconns + 1) * sizeof(*v));

		if (st->nconns > 0)
			memcpy(v, st->conns, st->nconns * sizeof(*v));
		st->conns = v;
		c = &st->conns[st->nconns];
		c->name = h->strdup(ctx, db);
		err = h->conn_open(&c->conn, ctx, role_conninfo_db(ctx, db),
				   DBOPS_CONN_SAME_CLUSTER);
		if (err != 0)
			return err;
		st->nconns++;
	}
	return h->conn_query(out, ctx, c->conn, sql, 0, NULL);
}

/* Whether the role exists: the names are read once per pass (this pass
 * holds the cluster's lock; roles it creates are added as it goes). */
static int role_exists(bool *out, struct dbops_ctx *ctx,
		       struct role_apply_state *st, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *params[1] = {name};
	int err;

	if (st == NULL) {
		if ((err = h->query(&rows, ctx, role_exists_sql, 1, params)))
			return err;
		*out = rows->nrows > 0;
		return 0;
	}
	if (!st->roles_loaded) {
		if ((err = h->query(&rows, ctx, role_names_sql, 0, NULL)) != 0)
			return err;
		st->existing = h->alloc(ctx, ((size_t)rows->nrows + 1) *
						 sizeof(*st->existing));
		for (int i = 0; i < rows->nrows; i++)
			st->existing[i] = rows->values[i];
		st->nexisting = (size_t)rows->nrows;
		qsort(st->existing, st->nexisting, sizeof(*st->existing),
		      cmp_name);
		st->roles_loaded = true;
	}
	*out = bsearch(&name, st->existing, st->nexisting,
		       sizeof(*st->existing), cmp_name) != NULL;
	return 0;
}

/* The statement with the verifier of the role's secret appended. */
static int with_password(const char **out, struct dbops_ctx *ctx,
			 const struct role_payload *p, const char *stmt)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *secret = NULL;
	char *verifier;
	int err;

	if ((err = h->secret_read(&secret, ctx, p->password)) != 0)
		return err;
	verifier = PQencryptPasswordConn(h->pgconn(ctx), secret, p->role,
					 "scram-sha-256");
	if (verifier == NULL) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &p->password->loc,
		    "could not compute the password verifier of role \"%s\"",
		    p->role);
		return DBOPS_ERR_GENERIC;
	}
	*out = h->printf(ctx, "%s PASSWORD %s", stmt,
			 h->quote_literal(ctx, verifier));
	PQfreemem(verifier);
	return 0;
}

static int run_all(struct dbops_ctx *ctx, const struct role_payload *p)
{
	for (size_t i = 0; i < p->nsql; i++) {
		const char *sql = p->sql[i];
		int err;

		if ((int)i == p->password_at &&
		    (err = with_password(&sql, ctx, p, sql)) != 0)
			return err;
		if ((err = run_in(ctx, p->state, p->database, sql, NULL)) != 0)
			return err;
	}
	return 0;
}

/* A change that sets a password (flagged NONTX): the settings that keep
 * its statements out of the server's records for the session, then the
 * statements in a transaction of their own (a transaction is sampled by
 * log_transaction_sample_rate when it begins), then the settings back. */
static int run_guarded(struct dbops_ctx *ctx, const struct role_payload *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	int err, rerr;

	if (p->guard_set != NULL &&
	    (err = h->query(NULL, ctx, p->guard_set, 0, NULL)) != 0)
		return err;
	if ((err = h->query(NULL, ctx, "BEGIN", 0, NULL)) == 0 &&
	    (err = run_all(ctx, p)) == 0)
		err = h->query(NULL, ctx, "COMMIT", 0, NULL);
	else
		h->query(NULL, ctx, "ROLLBACK", 0, NULL);
	if (p->guard_reset != NULL &&
	    (rerr = h->query(NULL, ctx, p->guard_reset, 0, NULL)) != 0 &&
	    err == 0)
		err = rerr;
	return err;
}

static int run_change(struct dbops_ctx *ctx, const struct role_payload *p)
{
	return p->password_at >= 0 ? run_guarded(ctx, p) : run_all(ctx, p);
}

static int apply_create(struct dbops_ctx *ctx, const struct role_payload *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	bool exists = false;
	int err;

	if ((err = role_exists(&exists, ctx, p->state, p->role)) != 0)
		return err;
	if (exists) {
		h->log(
		    ctx, DBOPS_LOG_INFO,
		    "role \"%s\" exists already; the next plan compares its attributes",
		    p->role);
		return 0;
	}
	return run_change(ctx, p);
}

static int apply_drop(struct dbops_ctx *ctx, const struct role_payload *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *dbs = NULL;
	const char *role = h->quote_ident(ctx, p->role);
	const char *to = h->quote_ident(ctx, p->reassign_to);
	const char *owned;
	struct dbops_rows *rows = NULL;
	const char *params[1] = {p->role};
	int err;

	if ((err = h->query(&rows, ctx, role_exists_sql, 1, params)) != 0)
		return err;
	if (rows->nrows == 0) {
		h->log(ctx, DBOPS_LOG_INFO, "role \"%s\" is dropped already",
		       p->role);
		return 0;
	}
	if ((err = h->query(&dbs, ctx, role_dbs_sql, 0, NULL)) != 0)
		return err;
	owned = h->printf(ctx, "REASSIGN OWNED BY %s TO %s; DROP OWNED BY %s",
			  role, to, role);
	for (int i = 0; i < dbs->nrows; i++)
		if ((err = run_in(ctx, p->state, dbs->values[i], owned,
				  NULL)) != 0)
			return err;
	return h->query(NULL, ctx, h->printf(ctx, "DROP ROLE %s", role), 0,
			NULL);
}

int role_apply(struct dbops_ctx *ctx, const struct dbops_change *change)
{
	const struct role_payload *p = change->payload;

	if (p == NULL) {
		dbops_host(ctx)->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC,
				      NULL, "change \"%s\" has no payload",
				      change->address);
		return DBOPS_ERR_GENERIC;
	}
	switch (p->op) {
	case ROLE_OP_CREATE:
		return apply_create(ctx, p);
	case ROLE_OP_DROP:
		return apply_drop(ctx, p);
	case ROLE_OP_ALTER:
	case ROLE_OP_GRANT_ROLE:
	case ROLE_OP_REVOKE_ROLE:
	case ROLE_OP_PRIVILEGE:
		break;
	case ROLE_OP_HBA:
		return role_hba_apply(ctx, p);
	}
	return run_change(ctx, p);
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * pgconn.c — libpq wrapper; see pgconn.h. All libpq errors become
 * diagnostics in pgconn_result_diag(), SQLSTATEs that mean "try again"
 * map to DBOPS_ERR_TRANSIENT there too.
 */
#include "pgconn.h"

#include <libpq-fe.h>
#include <string.h>

#include "diag.h"

struct pgconn {
	PGconn *conn;
	PGcancel *cancel; /* also in cancel_slots[slot] */
	int slot;
};

/* The cancel handles of the open connections, for pgconn_cancel_all()
 * from a signal handler: a slot is filled only once its handle is
 * complete, and emptied before the handle is freed. The daemon opens
 * connections from several worker threads at once, so a slot is claimed
 * with a compare-and-swap (lock-free, hence still safe to read from a
 * signal handler). */
#define PGCONN_MAX_CANCEL 256
static PGcancel *volatile cancel_slots[PGCONN_MAX_CANCEL];

static void cancel_register(struct pgconn *c)
{
	c->slot = -1;
	c->cancel = PQgetCancel(c->conn);
	if (c->cancel == NULL)
		return;
	for (int i = 0; i < PGCONN_MAX_CANCEL; i++) {
		PGcancel *expected = NULL;

		if (__atomic_compare_exchange_n(
			&cancel_slots[i], &expected, c->cancel, false,
			__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			c->slot = i;
			return;
		}
	}
}

void pgconn_cancel_all(void)
{
	for (int i = 0; i < PGCONN_MAX_CANCEL; i++) {
		PGcancel *cancel =
		    __atomic_load_n(&cancel_slots[i], __ATOMIC_SEQ_CST);
		char errbuf[256];

		if (cancel != NULL)
			(void)PQcancel(cancel, errbuf, sizeof(errbuf));
	}
}

/* Server notices ("schema already exists, skipping") are not for the
 * user: dbops reports what it did itself. */
static void notice_ignore(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void close_deferred(void *p)
{
	pgconn_close(p);
}

void pgconn_close(struct pgconn *c)
{
	if (c == NULL || c->conn == NULL)
		return;
	if (c->cancel != NULL) {
		if (c->slot >= 0)
			__atomic_store_n(&cancel_slots[c->slot], NULL,
					 __ATOMIC_SEQ_CST);
		PQfreeCancel(c->cancel);
		c->cancel = NULL;
	}
	PQfinish(c->conn);
	c->conn = NULL;
}

/* libpq messages end with a newline and may span lines: keep them tidy. */
static char *tidy(struct arena *a, const char *msg)
{
	char *s = arena_strdup(a, msg != NULL ? msg : "");
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return s;
}

static bool sqlstate_transient(const char *st)
{
	static const char *const transient[] = {
	    "40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"};

	if (st == NULL)
		return false;
	if (strncmp(st, "08", 2) == 0)
		return true;
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		if (strcmp(st, transient[i]) == 0)
			return true;
	return false;
}

static int pgconn_result_diag(struct dbops_diag_list *diags, struct arena *a,
			      PGconn *conn, const PGresult *res)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary =
	    res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int code = sqlstate_transient(st) || PQstatus(conn) == CONNECTION_BAD
		       ? DBOPS_ERR_TRANSIENT
		       : DBOPS_ERR_GENERIC;
	struct dbops_diag *d;

	if (primary == NULL)
		primary = tidy(a, PQerrorMessage(conn));
	d = diag_add(diags, a, DBOPS_SEV_ERROR, code, NULL, "%s", primary);
	if (st != NULL)
		snprintf(d->sqlstate, sizeof(d->sqlstate), "%s", st);
	if (res != NULL) {
		const char *detail =
		    PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *hint =
		    PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		const char *ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);

		if (detail != NULL)
			d->detail = arena_strdup(a, detail);
		if (hint != NULL)
			d->hint = arena_strdup(a, hint);
		if (ctx != NULL)
			diag_context(d, a, "%s", tidy(a, ctx));
	}
	return code;
}

static int connect_params(struct pgconn **out, struct arena *a,
			  struct dbops_diag_list *diags,
			  const char *const *keys, const char *const *vals,
			  int expand, bool session_settings);

int pgconn_open_plain(struct pgconn **out, struct arena *a,
		      struct dbops_diag_list *diags, const char *conninfo)
{
	const char *keys[3] = {"dbname", "fallback_application_name", NULL};
	const char *vals[3] = {conninfo, "dbops", NULL};

	return connect_params(out, a, diags, keys, vals, 1, false);
}

int pgconn_open(struct pgconn **out, struct arena *a,
		struct dbops_diag_list *diags, const char *conninfo,
		const char *password)
{
	const char *keys[4], *vals[4];
	int n = 0;

	keys[n] = "dbname";
	vals[n++] = conninfo != NULL && conninfo[0] != '\0' ? conninfo : NULL;
	if (vals[0] == NULL)
		n = 0;
	keys[n] = "fallback_application_name";
	vals[n++] = "dbops";
	if (password != NULL) {
		keys[n] = "password";
		vals[n++] = password;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	return connect_params(out, a, diags, keys, vals, 1, true);
}

int pgconn_open_overlay(struct pgconn **out, struct arena *a,
			struct dbops_diag_list *diags,
			const struct pgconn *base, const char *conninfo)
{
	PQconninfoOption *cur = NULL, *over = NULL;
	char *errmsg = NULL;
	const char **keys, **vals;
	size_t n = 0, cap = 0;
	int err;

	over = PQconninfoParse(conninfo != NULL ? conninfo : "", &errmsg);
	if (over == NULL) {
		struct dbops_diag *d =
		    diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			     "invalid connection string");

		d->detail = tidy(a, errmsg != NULL ? errmsg : "out of memory");
		PQfreemem(errmsg);
		return DBOPS_ERR_INVALID;
	}
	if (base != NULL && base->conn != NULL)
		cur = PQconninfo(base->conn);
	for (PQconninfoOption *o = over; o->keyword != NULL; o++)
		cap++;
	keys = arena_alloc(a, (cap + 2) * sizeof(char *));
	vals = arena_alloc(a, (cap + 2) * sizeof(char *));
	for (PQconninfoOption *o = over; o->keyword != NULL; o++) {
		const char *v = o->val;

		if (v == NULL && cur != NULL)
			for (PQconninfoOption *b = cur; b->keyword != NULL; b++)
				if (strcmp(b->keyword, o->keyword) == 0) {
					v = b->val;
					break;
				}
		if (v == NULL)
			continue;
		keys[n] = o->keyword;
		vals[n++] = arena_strdup(a, v);
	}
	keys[n] = "fallback_application_name";
	vals[n++] = "dbops";
	keys[n] = NULL;
	vals[n] = NULL;
	/* the strings were copied: the option arrays can go now */
	for (size_t i = 0; i < n; i++)
		keys[i] = arena_strdup(a, keys[i]);
	PQconninfoFree(over);
	PQconninfoFree(cur);
	err = connect_params(out, a, diags, keys, vals, 0, true);
	return err;
}

static int connect_params(struct pgconn **out, struct arena *a,
			  struct dbops_diag_list *diags,
			  const char *const *keys, const char *const *vals,
			  int expand, bool session_settings)
{
	struct pgconn *c;
	struct dbops_diag *d;

	c = arena_alloc(a, sizeof(*c));
	c->conn = PQconnectdbParams(keys, vals, expand);
	if (c->conn == NULL)
		arena_oom();
	arena_defer(a, close_deferred, c);
	if (PQstatus(c->conn) != CONNECTION_OK) {
		d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT,
			     NULL, "could not connect to the cluster");
		d->detail = tidy(a, PQerrorMessage(c->conn));
		d->hint =
		    "Check the connection: --conninfo, connection.conninfo in the spec, the PG* environment variables, .pgpass and pg_service.conf are used in that order.";
		pgconn_close(c);
		return DBOPS_ERR_TRANSIENT;
	}
	PQsetNoticeProcessor(c->conn, notice_ignore, NULL);
	cancel_register(c);
	/* The controller's own statements must not be slowed or altered by
	 * per-role settings of the connecting user. */
	if (session_settings) {
		PGresult *r =
		    PQexec(c->conn, "SET statement_timeout = 0; SET "
				    "lock_timeout = 0; SET "
				    "idle_in_transaction_session_timeout = 0");

		PQclear(r);
	}
	*out = c;
	return 0;
}

int pgconn_query(struct dbops_rows **out, struct pgconn *c, struct arena *a,
		 struct dbops_diag_list *diags, const char *sql, int nparams,
		 const char *const *params)
{
	PGresult *res;
	ExecStatusType st;
	struct dbops_rows *rows;
	int err;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || c->conn == NULL) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			 "not connected to the cluster");
		return DBOPS_ERR_GENERIC;
	}
	/* Statements without parameters go through the simple query
	 * protocol, which takes several statements in one string and is the
	 * only one PgBouncer's admin console speaks. */
	if (nparams == 0)
		res = PQexec(c->conn, sql);
	else
		res = PQexecParams(c->conn, sql, nparams, NULL, params, NULL,
				   NULL, 0);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		err = pgconn_result_diag(diags, a, c->conn, res);
		PQclear(res);
		return err;
	}
	if (out == NULL) {
		PQclear(res);
		return 0;
	}
	rows = arena_alloc(a, sizeof(*rows));
	rows->nrows = PQntuples(res);
	rows->ncols = PQnfields(res);
	{
		const char **names =
		    arena_alloc(a, sizeof(char *) *
				       (size_t)(rows->ncols ? rows->ncols : 1));
		const char **vals =
		    arena_alloc(a, sizeof(char *) *
				       (size_t)(rows->nrows * rows->ncols + 1));

		for (int j = 0; j < rows->ncols; j++)
			names[j] = arena_strdup(a, PQfname(res, j));
		for (int i = 0; i < rows->nrows; i++)
			for (int j = 0; j < rows->ncols; j++)
				vals[i * rows->ncols + j] =
				    PQgetisnull(res, i, j)
					? NULL
					: arena_strdup(a,
						       PQgetvalue(res, i, j));
		rows->colnames = names;
		rows->values = vals;
	}
	PQclear(res);
	*out = rows;
	return 0;
}

int pgconn_exec(struct pgconn *c, struct arena *a,
		struct dbops_diag_list *diags, const char *sql)
{
	return pgconn_query(NULL, c, a, diags, sql, 0, NULL);
}

const char *pgconn_rows_get(const struct dbops_rows *rows, int row,
			    const char *col)
{
	if (rows == NULL || row < 0 || row >= rows->nrows)
		return NULL;
	for (int j = 0; j < rows->ncols; j++)
		if (strcmp(rows->colnames[j], col) == 0)
			return rows->values[row * rows->ncols + j];
	return NULL;
}

char *pgconn_quote_ident(struct pgconn *c, struct arena *a, const char *s)
{
	char *q = PQescapeIdentifier(c->conn, s, strlen(s));
	char *r;

	if (q == NULL)
		arena_oom();
	r = arena_strdup(a, q);
	PQfreemem(q);
	return r;
}

char *pgconn_quote_literal(struct pgconn *c, struct arena *a, const char *s)
{
	char *q = PQescapeLiteral(c->conn, s, strlen(s));
	char *r;

	if (q == NULL)
		arena_oom();
	r = arena_strdup(a, q);
	PQfreemem(q);
	return r;
}

int pgconn_server_version(const struct pgconn *c)
{
	return c != NULL && c->conn != NULL ? PQserverVersion(c->conn) : 0;
}

const char *pgconn_describe(const struct pgconn *c, struct arena *a)
{
	const char *host;

	if (c == NULL || c->conn == NULL)
		return "(not connected)";
	host = PQhost(c->conn);
	return arena_printf(a, "host=%s port=%s dbname=%s user=%s",
			    host && host[0] ? host : "(socket)",
			    PQport(c->conn), PQdb(c->conn), PQuser(c->conn));
}

void *pgconn_raw(const struct pgconn *c)
{
	return c != NULL ? c->conn : NULL;
}

int pgconn_pid(const struct pgconn *c)
{
	return c != NULL && c->conn != NULL ? PQbackendPID(c->conn) : 0;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * apply.c — carrying out one change of the "pooler" plugin, and the check
 * after a pass for settings that wait for a PgBouncer restart.
 *
 * Every change first reads the pooler again (console and files) and does
 * nothing when its difference is gone, so a pass killed half-way is
 * finished by the next one with nothing done twice. Otherwise the whole
 * ini file is rendered from the spec, written atomically when it differs
 * (temporary file, fsync, rename, same owner and mode), and RELOAD is
 * sent; then SHOW CONFIG, SHOW DATABASES and SHOW USERS are read back and
 * every reloadable value of the spec must be running. Entries waiting for
 * their removal stay in the file until their own change: it DISABLEs the
 * entry, waits until its clients have left (bounded by drain_timeout) and
 * only then writes the file without it. An auth user's change reads the
 * secret, computes a SCRAM verifier with libpq and rewrites the auth file
 * (mode 0600); the password itself is never written or shown.
 */
#include "pooler_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define POOL_POLL_MS 100

static void pool_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int pool_write_atomic(struct dbops_ctx *ctx, const char *path, const char *text,
		      mode_t mode)
{
	return dbops_host(ctx)->file_write(ctx, path, text, strlen(text),
					   (unsigned)mode);
}

/* The pooler as it is now. */
static int pool_reread(struct pool_live **out, struct dbops_ctx *ctx,
		       struct dbops_conn *conn, const struct pool_desired *d)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct pool_live *live = h->alloc(ctx, sizeof(*live));
	PGconn *pg = h->pgconn(ctx);
	int err;

	err = pool_live_read_console(live, ctx, conn);
	if (err == 0)
		err = pool_live_read_files(live, ctx, d);
	if (err != 0)
		return err;
	if (pg != NULL) {
		live->primary_host = h->strdup(ctx, PQhost(pg));
		live->primary_port = h->strdup(ctx, PQport(pg));
	}
	*out = live;
	return 0;
}

static bool pool_mode_refresh(struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *mode;

	if (h->header.size <
		offsetof(struct dbops_host, mode) + sizeof(h->mode) ||
	    h->mode == NULL)
		return false;
	mode = h->mode(ctx);
	return mode != NULL && strcmp(mode, "refresh-auth") == 0;
}

static const struct pool_delta *pool_find_delta(const struct pool_delta *dl,
						size_t n, enum pool_kind kind,
						const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (dl[i].kind == kind &&
		    (kind == POOL_K_FILE || strcmp(dl[i].name, name) == 0))
			return &dl[i];
	return NULL;
}

/* After RELOAD: every reloadable value of the spec must be running. */
static int pool_check_running(struct dbops_ctx *ctx, struct dbops_conn *conn,
			      const struct pool_desired *d)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct pool_live *live = NULL;
	struct pool_delta *dl = NULL;
	struct dbops_diag *diag;
	size_t n = 0;
	int err;

	err = pool_reread(&live, ctx, conn, d);
	if (err == 0)
		err = pool_compare(&dl, &n, ctx, d, live, false, false);
	if (err != 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		const struct pool_delta *x = &dl[i];

		if (x->restart || x->kind == POOL_K_AUTH ||
		    x->action == DBOPS_ACTION_DELETE || x->kind == POOL_K_FILE)
			continue;
		diag = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &x->loc,
		    "PgBouncer did not take the new value of %s \"%s\" after RELOAD",
		    x->kind == POOL_K_SETTING	 ? "setting"
		    : x->kind == POOL_K_DATABASE ? "database entry"
						 : "user",
		    x->name);
		if (x->kind == POOL_K_DATABASE && x->nfields > 0)
			h->diag_detail(
			    ctx, diag,
			    "Its %s is \"%s\"; the spec wants \"%s\".",
			    x->fields[0], x->befores[0] ? x->befores[0] : "",
			    x->afters[0] ? x->afters[0] : "");
		else
			h->diag_detail(ctx, diag,
				       "It is \"%s\"; the spec wants \"%s\".",
				       x->before ? x->before : "",
				       x->after ? x->after : "");
		h->diag_hint(ctx, diag,
			     "PgBouncer's log says why it refused the file.");
		return DBOPS_ERR_GENERIC;
	}
	/* entries the spec wants that an interrupted removal left disabled */
	for (size_t i = 0; i < d->ndbs; i++) {
		const struct pool_live_db *ldb =
		    pool_live_db(live, d->dbs[i].name);

		if (ldb != NULL && ldb->disabled) {
			const char *sql =
			    h->printf(ctx, "ENABLE %s", d->dbs[i].name);

			err = h->conn_query(NULL, ctx, conn, sql, 0, NULL);
			if (err != 0)
				return err;
		}
	}
	return 0;
}

/* Clients and busy servers of database entry `name`, from SHOW POOLS. */
static int pool_busy(long *out, struct dbops_ctx *ctx, struct dbops_conn *conn,
		     const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	static const char *const cols[] = {"cl_active", "cl_waiting",
					   "sv_active"};
	struct dbops_rows *r = NULL;
	int err;

	*out = 0;
	err = h->conn_query(&r, ctx, conn, "SHOW POOLS", 0, NULL);
	if (err != 0)
		return err;
	for (int i = 0; i < r->nrows; i++) {
		const char *db = h->rows_get(r, i, "database");

		if (db == NULL || strcmp(db, name) != 0)
			continue;
		for (size_t c = 0; c < 3; c++) {
			const char *v = h->rows_get(r, i, cols[c]);

			*out += v != NULL ? strtol(v, NULL, 10) : 0;
		}
	}
	return 0;
}

static int pool_drain(struct dbops_ctx *ctx, struct dbops_conn *conn,
		      const struct pool_desired *d,
		      const struct pool_live *live, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct pool_live_db *ldb = pool_live_db(live, name);
	long busy = 0, waited = 0;
	struct dbops_diag *diag;
	int err;

	if (ldb == NULL)
		return 0;
	if (!ldb->disabled) {
		err =
		    h->conn_query(NULL, ctx, conn,
				  h->printf(ctx, "DISABLE %s", name), 0, NULL);
		if (err != 0)
			return err;
	}
	for (;;) {
		err = pool_busy(&busy, ctx, conn, name);
		if (err != 0)
			return err;
		if (busy == 0)
			return 0;
		if (waited >= (long)d->drain_timeout * 1000 ||
		    h->cancelled(ctx))
			break;
		pool_sleep_ms(POOL_POLL_MS);
		waited += POOL_POLL_MS;
	}
	diag = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
		       "could not drain database entry \"%s\" within %d s",
		       name, d->drain_timeout);
	h->diag_detail(
	    ctx, diag,
	    "%ld client or server connections are still busy; the entry stays disabled and configured.",
	    busy);
	h->diag_hint(
	    ctx, diag,
	    "Let the clients disconnect and apply again, or raise pooler.pgbouncer.drain_timeout.");
	return DBOPS_ERR_TRANSIENT;
}

static int pool_reload(struct dbops_ctx *ctx, struct dbops_conn *conn)
{
	return dbops_host(ctx)->conn_query(NULL, ctx, conn, "RELOAD", 0, NULL);
}

/* Write the ini file for the spec (without `drop`) and RELOAD. */
static int pool_write_reload(struct dbops_ctx *ctx, struct dbops_conn *conn,
			     const struct pool_desired *d,
			     const struct pool_live *live, const char *drop)
{
	const char *text = pool_render(ctx, d, live, drop);
	int err;

	if (live->file.text == NULL || strcmp(text, live->file.text) != 0) {
		err = pool_write_atomic(ctx, pool_config_path(d), text, 0640);
		if (err != 0)
			return err;
	}
	return pool_reload(ctx, conn);
}

static int pool_apply_auth(struct dbops_ctx *ctx, struct dbops_conn *conn,
			   const struct pool_desired *d,
			   const struct pool_live *live, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct pool_auth *a = NULL;
	PGconn *pg = h->pgconn(ctx);
	struct pool_kv set;
	const char *pw = NULL;
	char *verifier;
	int err;

	for (size_t i = 0; i < d->nauth; i++)
		if (strcmp(d->auth[i].name, name) == 0)
			a = &d->auth[i];
	if (a == NULL || pg == NULL) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
		    "could not compute the SCRAM verifier of auth user \"%s\"",
		    name);
		return DBOPS_ERR_GENERIC;
	}
	err = h->secret_read(&pw, ctx, &a->secret);
	if (err != 0)
		return err;
	verifier = PQencryptPasswordConn(pg, pw, a->name, "scram-sha-256");
	if (verifier == NULL) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &a->loc,
		    "could not compute the SCRAM verifier of auth user \"%s\"",
		    name);
		return DBOPS_ERR_GENERIC;
	}
	set.key = a->name;
	set.value = h->strdup(ctx, verifier);
	set.loc = a->loc;
	PQfreemem(verifier);
	err = pool_write_atomic(
	    ctx, live->auth_path,
	    pool_render_auth(ctx, live->auth, live->nauth, &set, 1), 0600);
	if (err != 0)
		return err;
	return pool_reload(ctx, conn);
}

static int pool_apply_on(struct dbops_ctx *ctx, struct dbops_conn *conn,
			 const struct dbops_change *change)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct pool_payload *pl = change->payload;
	const struct pool_desired *d = pl->desired;
	struct pool_live *live = NULL;
	struct pool_delta *dl = NULL;
	size_t n = 0;
	int err;

	err = pool_reread(&live, ctx, conn, d);
	if (err == 0)
		err = pool_compare(&dl, &n, ctx, d, live,
				   pool_mode_refresh(ctx), false);
	if (err != 0)
		return err;
	if (pool_find_delta(dl, n, pl->kind, pl->name) == NULL) {
		h->log(ctx, DBOPS_LOG_INFO, "%s is done already",
		       change->address);
		return 0;
	}
	if (pl->kind == POOL_K_AUTH)
		return pool_apply_auth(ctx, conn, d, live, pl->name);
	if (pl->kind == POOL_K_DATABASE && pl->action == DBOPS_ACTION_DELETE) {
		err = pool_drain(ctx, conn, d, live, pl->name);
		if (err == 0)
			err = pool_write_reload(ctx, conn, d, live, pl->name);
		return err;
	}
	err = pool_write_reload(ctx, conn, d, live, NULL);
	if (err != 0)
		return err;
	return pool_check_running(ctx, conn, d);
}

int pool_apply(struct dbops_ctx *ctx, const struct dbops_change *change)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct pool_payload *pl = change->payload;
	struct dbops_conn *conn = NULL;
	int err;

	err = h->conn_open(&conn, ctx, pool_admin_conninfo(pl->desired),
			   DBOPS_CONN_STANDALONE | DBOPS_CONN_VOLATILE);
	if (err != 0)
		return err;
	err = pool_apply_on(ctx, conn, change);
	h->conn_close(ctx, conn);
	return err;
}

int pool_verify(struct dbops_ctx *ctx, const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct pool_desired d;
	struct pool_live *live = NULL;
	struct dbops_conn *conn = NULL;
	struct pool_delta *dl = NULL;
	size_t n = 0;
	int err;

	err = pool_desired_read(&d, ctx, section);
	if (err != 0 || pool_admin_conninfo(&d) == NULL ||
	    pool_config_path(&d) == NULL)
		return err;
	err = h->conn_open(&conn, ctx, pool_admin_conninfo(&d),
			   DBOPS_CONN_STANDALONE | DBOPS_CONN_VOLATILE);
	if (err != 0)
		return err;
	err = pool_reread(&live, ctx, conn, &d);
	h->conn_close(ctx, conn);
	if (err == 0)
		err = pool_compare(&dl, &n, ctx, &d, live, false, false);
	if (err != 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct dbops_diag *diag;

		if (!dl[i].restart)
			continue;
		diag = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, &dl[i].loc,
		    "PgBouncer setting \"%s\" needs a restart to take effect",
		    dl[i].name);
		h->diag_detail(
		    ctx, diag,
		    "The running value is \"%s\"; the configured value is \"%s\".",
		    dl[i].before ? dl[i].before : "", dl[i].after);
		h->diag_hint(
		    ctx, diag,
		    "Restart PgBouncer; pgbouncer -R keeps the client connections.");
	}
	return 0;
}

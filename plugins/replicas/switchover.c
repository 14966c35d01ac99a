/* SPDX-License-Identifier: PostgreSQL */
/*
 * switchover.c — `dbops switchover --to NAME` for the local provider, in
 * four changes applied one after the other:
 *
 *  1. check: the candidate is a standby that streams, and it catches up
 *     with the primary's current WAL position (bounded wait);
 *  2. stop: CHECKPOINT (so that the shutdown checkpoint is short), then
 *     pg_ctl stop -m fast on the old primary: a clean shutdown sends all
 *     WAL, the shutdown checkpoint included, to the connected standbys;
 *     the final checkpoint location is read with pg_controldata;
 *  3. promote: wait until the candidate replayed past that location (so
 *     nothing committed is lost), then pg_promote();
 *  4. rejoin: the old primary gets standby.signal and a primary_conninfo
 *     naming the new primary, and starts as its standby; if it cannot
 *     follow, pg_rewind brings it back first.
 *
 * The seconds without a writable primary (from the stop to the end of the
 * promotion) and the bytes of WAL the candidate had not replayed (must
 * be 0) are printed with host->out. The target connection dies at step 2;
 * later steps talk to the members only.
 */
#include "replicas_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One value of the first row of `sql` on `c`, or NULL with a diagnostic. */
static const char *repl_sw_value(struct dbops_ctx *ctx, struct dbops_conn *c,
				 const char *sql, const char *param)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *params[1] = {param};
	struct dbops_rows *rows;

	if (h->conn_query(&rows, ctx, c, sql, param ? 1 : 0,
			  param ? params : NULL) != 0 ||
	    rows->nrows == 0)
		return NULL;
	return h->rows_get(rows, 0, rows->colnames[0]);
}

static struct dbops_conn *repl_sw_conn(struct dbops_ctx *ctx,
				       const struct repl_member_spec *m)
{
	struct dbops_conn *c = repl_member_conn(ctx, m->host, m->port, false);

	if (c == NULL)
		dbops_host(ctx)->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, &m->loc,
		    "could not connect to member \"%s\" at %s:%d", m->name,
		    m->host, m->port);
	return c;
}

static int repl_sw_check(struct dbops_ctx *ctx, const struct repl_spec *spec,
			 struct repl_sw_state *sw)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct repl_member_spec *m = sw->to;
	const char *names[1] = {m->name};
	const char *params[1] = {m->name};
	double deadline = repl_now() + 30;
	struct dbops_conn *c;
	const char *v;
	int err;

	(void)spec;
	sw->old_host = repl_conn_param(ctx, "host");
	if (sw->old_host == NULL || sw->old_host[0] == '/')
		sw->old_host = "127.0.0.1";
	if ((c = repl_sw_conn(ctx, m)) == NULL)
		return DBOPS_ERR_TRANSIENT;
	v = repl_sw_value(ctx, c, "SELECT pg_is_in_recovery()::text", NULL);
	if (v == NULL || strcmp(v, "true") != 0) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &m->loc,
			"member \"%s\" is not a standby", m->name);
		return DBOPS_ERR_CONFLICT;
	}
	if ((err = repl_wait_streaming(ctx, names, 1, 1, 10, true)) != 0)
		return err;
	for (;;) {
		struct dbops_rows *rows;

		if ((err = h->query(
			 &rows, ctx,
			 "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), "
			 "replay_lsn)::bigint AS lag FROM pg_stat_replication "
			 "WHERE application_name = $1 AND state = 'streaming'",
			 1, params)) != 0)
			return err;
		if (rows->nrows > 0 && h->rows_get(rows, 0, "lag") != NULL &&
		    strtoll(h->rows_get(rows, 0, "lag"), NULL, 10) <=
			16 * 1024 * 1024) {
			repl_host_out(
			    ctx,
			    h->printf(ctx, "  %s streams, %s bytes behind",
				      m->name, h->rows_get(rows, 0, "lag")));
			return 0;
		}
		if (repl_now() > deadline)
			break;
		repl_sleep_ms(50);
	}
	h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &m->loc,
		"member \"%s\" did not catch up with the primary within 30s",
		m->name);
	return DBOPS_ERR_CONFLICT;
}

/* "Latest checkpoint location:" of a stopped cluster, from pg_controldata. */
static const char *repl_sw_checkpoint(struct dbops_ctx *ctx,
				      const struct repl_spec *spec,
				      const char *data_dir)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *argv[] = {repl_program(ctx, spec, "pg_controldata"), "-D",
			      data_dir, NULL};
	const char *out, *p, *key = "Latest checkpoint location:";

	if (repl_run(&out, ctx, spec, argv, NULL) != 0 ||
	    (p = strstr(out, key)) == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not read the final checkpoint of \"%s\"",
			data_dir);
		return NULL;
	}
	p += strlen(key);
	while (*p == ' ')
		p++;
	return h->printf(ctx, "%.*s", (int)strcspn(p, " \n"), p);
}

static int repl_sw_stop(struct dbops_ctx *ctx, const struct repl_spec *spec,
			struct repl_sw_state *sw)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *argv[] = {
	    repl_program(ctx, spec, "pg_ctl"),
	    "stop",
	    "-D",
	    sw->old_data_dir,
	    "-m",
	    "fast",
	    "-w",
	    "-t",
	    "120",
	    "-s",
	    NULL,
	};
	double t0 = repl_now();
	int err;

	if (sw->stopped) {
		h->log(ctx, DBOPS_LOG_INFO,
		       "the old primary is stopped already");
		return 0;
	}
	if ((err = h->query(NULL, ctx, "CHECKPOINT", 0, NULL)) != 0)
		return err;
	repl_host_out(
	    ctx, h->printf(ctx, "  CHECKPOINT took %.2fs", repl_now() - t0));
	sw->stopped_at = repl_now();
	if ((err = repl_local_run(ctx, spec, argv)) != 0)
		return err;
	sw->stopped = true;
	repl_host_out(ctx, h->printf(ctx, "  old primary stopped in %.2fs",
				     repl_now() - sw->stopped_at));
	sw->final_lsn = repl_sw_checkpoint(ctx, spec, sw->old_data_dir);
	if (sw->final_lsn == NULL)
		return DBOPS_ERR_GENERIC;
	repl_host_out(
	    ctx, h->printf(ctx, "  final checkpoint at %s", sw->final_lsn));
	return 0;
}

static int repl_sw_promote(struct dbops_ctx *ctx, const struct repl_spec *spec,
			   struct repl_sw_state *sw)
{
	const struct dbops_host *h = dbops_host(ctx);
	double deadline = repl_now() + 60;
	struct dbops_conn *c;
	const char *v, *behind = NULL;

	(void)spec;
	if ((c = repl_sw_conn(ctx, sw->to)) == NULL)
		return DBOPS_ERR_TRANSIENT;
	/* replay must pass the start of the shutdown checkpoint record */
	for (;;) {
		behind = repl_sw_value(
		    ctx, c,
		    "SELECT greatest(pg_wal_lsn_diff($1::pg_lsn, "
		    "pg_last_wal_replay_lsn()) + 1, 0)::bigint::text",
		    sw->final_lsn);
		if (behind == NULL)
			return DBOPS_ERR_GENERIC;
		if (strcmp(behind, "0") == 0)
			break;
		if (repl_now() > deadline) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT,
			    &sw->to->loc,
			    "member \"%s\" did not replay the old primary's last WAL within 60s",
			    sw->to->name);

			h->diag_detail(
			    ctx, d,
			    "It is %s bytes short of %s; it was not promoted, so nothing is lost. The old primary is stopped.",
			    behind, sw->final_lsn);
			h->diag_hint(
			    ctx, d,
			    "Start the old primary again with pg_ctl start -D %s.",
			    sw->old_data_dir);
			return DBOPS_ERR_CONFLICT;
		}
		repl_sleep_ms(50);
	}
	v = repl_sw_value(ctx, c, "SELECT pg_promote(true, 60)::text", NULL);
	if (v == NULL || strcmp(v, "true") != 0) {
		if (v != NULL)
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC,
			    &sw->to->loc,
			    "member \"%s\" did not finish its promotion within 60s",
			    sw->to->name);
		return DBOPS_ERR_GENERIC;
	}
	sw->promoted_at = repl_now();
	sw->promoted = true;
	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"  \"%s\" promoted; data lost: 0 bytes (it replayed past %s)",
		sw->to->name, sw->final_lsn));
	repl_host_out(ctx, h->printf(ctx, "  writes were unavailable for %.2fs",
				     sw->promoted_at - sw->stopped_at));
	return 0;
}

/* Append lines to a file of the old primary's data directory, owned like
 * the directory. */
static int repl_sw_write(struct dbops_ctx *ctx, const char *dir,
			 const char *name, const char *text)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *path = h->printf(ctx, "%s/%s", dir, name);
	struct stat st;
	int fd;
	size_t len = strlen(text);

	if (stat(dir, &st) != 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not open file \"%s\": %s", path,
			strerror(errno));
		return DBOPS_ERR_GENERIC;
	}
	if ((len > 0 && write(fd, text, len) != (ssize_t)len) ||
	    (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) != 0)) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not write file \"%s\": %s", path,
			strerror(errno));
		close(fd);
		return DBOPS_ERR_GENERIC;
	}
	return close(fd) == 0 ? 0 : DBOPS_ERR_GENERIC;
}

static int repl_sw_rewind(struct dbops_ctx *ctx, const struct repl_spec *spec,
			  struct repl_sw_state *sw, const char *source)
{
	const char *stop[] = {
	    repl_program(ctx, spec, "pg_ctl"),
	    "stop",
	    "-D",
	    sw->old_data_dir,
	    "-m",
	    "fast",
	    "-w",
	    "-s",
	    NULL,
	};
	const char *rewind[] = {
	    repl_program(ctx, spec, "pg_rewind"),
	    "-D",
	    sw->old_data_dir,
	    "--source-server",
	    source,
	    NULL,
	};
	const char *out;
	int err;

	repl_host_out(ctx, "  the old primary does not follow: pg_rewind");
	(void)repl_run(&out, ctx, spec, stop, NULL);
	if ((err = repl_local_run(ctx, spec, rewind)) != 0)
		return err;
	return 0;
}

static int repl_sw_rejoin(struct dbops_ctx *ctx, const struct repl_spec *spec,
			  struct repl_sw_state *sw)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct repl_member_spec *m = sw->to;
	const char *as = repl_host_arg(ctx, "as");
	const char *user = repl_conn_param(ctx, "user");
	const char *conninfo, *names[1];
	struct dbops_conn *c;
	int err;

	if (as == NULL || as[0] == '\0')
		as = "primary";
	names[0] = as;
	conninfo =
	    h->printf(ctx, "host=%s port=%d%s%s application_name=%s", m->host,
		      m->port, user ? " user=" : "", user ? user : "", as);
	if ((err = repl_sw_write(ctx, sw->old_data_dir, "standby.signal",
				 "")) != 0 ||
	    (err = repl_sw_write(
		 ctx, sw->old_data_dir, "postgresql.auto.conf",
		 h->printf(ctx,
			   "# dbops switchover: standby of \"%s\"\n"
			   "primary_conninfo = '%s'\n"
			   "synchronous_standby_names = ''\n",
			   m->name, conninfo))) != 0)
		return err;
	if ((err = repl_local_start(ctx, spec, sw->old_data_dir)) != 0)
		return err;
	if ((c = repl_sw_conn(ctx, m)) == NULL)
		return DBOPS_ERR_TRANSIENT;
	for (double deadline = repl_now() + 20;;) {
		const char *v = repl_sw_value(
		    ctx, c,
		    "SELECT count(*)::text FROM pg_stat_replication WHERE "
		    "application_name = $1 AND state = 'streaming'",
		    names[0]);

		if (v != NULL && strcmp(v, "0") != 0)
			break;
		if (repl_now() > deadline) {
			if ((err = repl_sw_rewind(
				 ctx, spec, sw,
				 h->printf(
				     ctx, "host=%s port=%d%s%s dbname=postgres",
				     m->host, m->port, user ? " user=" : "",
				     user ? user : ""))) != 0 ||
			    (err = repl_sw_write(ctx, sw->old_data_dir,
						 "standby.signal", "")) != 0 ||
			    (err = repl_local_start(ctx, spec,
						    sw->old_data_dir)) != 0)
				return err;
			deadline = repl_now() + 60;
		}
		repl_sleep_ms(50);
	}
	repl_host_out(
	    ctx,
	    h->printf(ctx,
		      "  the old primary (%s:%d) streams from \"%s\" as \"%s\"",
		      sw->old_host, sw->old_port, m->name, as));
	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"Switchover complete: \"%s\" (%s:%d) is the primary; data lost: 0 bytes; writes unavailable for %.2fs.",
		m->name, m->host, m->port, sw->promoted_at - sw->stopped_at));
	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"The spec still names the old primary: set connection.conninfo to \"host=%s port=%d\", and in replicas.members replace \"%s\" with the old primary (name %s, port %d, data_dir %s).",
		m->host, m->port, m->name, as, sw->old_port, sw->old_data_dir));
	return 0;
}

int repl_switchover_step(struct dbops_ctx *ctx, const struct repl_spec *spec,
			 const struct dbops_change *change)
{
	const struct repl_payload *p = change->payload;

	switch (p->step) {
	case REPL_SW_CHECK:
		return repl_sw_check(ctx, spec, p->sw);
	case REPL_SW_STOP:
		return repl_sw_stop(ctx, spec, p->sw);
	case REPL_SW_PROMOTE:
		return repl_sw_promote(ctx, spec, p->sw);
	case REPL_SW_REJOIN:
		return repl_sw_rejoin(ctx, spec, p->sw);
	}
	return DBOPS_ERR_GENERIC;
}

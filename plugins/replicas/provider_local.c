/* SPDX-License-Identifier: PostgreSQL */
/*
 * provider_local.c — the "local" and "external" providers. Local
 * standbys live on this machine: a standby is made by pg_basebackup -R
 * into its data directory (with application_name = the member's name in
 * primary_conninfo, so synchronous_standby_names can name it, and its
 * own port, listen address and socket directory appended to
 * postgresql.auto.conf), started with pg_ctl, and removed by stopping it
 * (its slot is dropped by apply.c; the data directory goes only when the
 * spec says so). External standbys are only observed: something else
 * creates them.
 */
#include "replicas_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPL_MARK "# dbops replicas: member"

static bool repl_file_exists(struct dbops_ctx *ctx, const char *dir,
			     const char *name)
{
	struct stat st;

	return stat(dbops_host(ctx)->printf(ctx, "%s/%s", dir, name), &st) == 0;
}

static int repl_observe_remote(struct repl_member_live *out,
			       struct dbops_ctx *ctx,
			       const struct repl_member_spec *m)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_conn *c;
	struct dbops_rows *rows;

	out->reachable = repl_ping(m->host, m->port);
	if (!out->reachable || m->absent)
		return 0;
	if ((c = repl_member_conn(ctx, m->host, m->port, true)) == NULL)
		return 0;
	if (h->conn_query(&rows, ctx, c,
			  "SELECT pg_is_in_recovery() AS r, (SELECT status "
			  "FROM pg_stat_wal_receiver) AS receiver, "
			  "pg_last_wal_replay_lsn()::text AS replay",
			  0, NULL) == 0) {
		const char *r = h->rows_get(rows, 0, "r");

		out->in_recovery = r != NULL && strcmp(r, "t") == 0;
		out->receiver = h->rows_get(rows, 0, "receiver");
		out->replay_lsn = h->rows_get(rows, 0, "replay");
	}
	h->conn_close(ctx, c);
	return 0;
}

static int repl_local_observe(struct repl_member_live *out,
			      struct dbops_ctx *ctx,
			      const struct repl_spec *spec,
			      const struct repl_member_spec *m)
{
	(void)spec;
	out->data_exists = repl_file_exists(ctx, m->data_dir, "PG_VERSION");
	out->data_standby =
	    repl_file_exists(ctx, m->data_dir, "standby.signal");
	out->running = repl_file_exists(ctx, m->data_dir, "postmaster.pid");
	if (!out->data_exists && !m->absent)
		out->port_busy = repl_port_busy(m->host, m->port);
	return repl_observe_remote(out, ctx, m);
}

static int repl_external_observe(struct repl_member_live *out,
				 struct dbops_ctx *ctx,
				 const struct repl_spec *spec,
				 const struct repl_member_spec *m)
{
	(void)spec;
	return repl_observe_remote(out, ctx, m);
}

/* Run a program; a failure becomes an error diagnostic with its output. */
static int repl_run_checked(struct dbops_ctx *ctx, const struct repl_spec *spec,
			    const char *const *argv, const char *password)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *output;
	int rc = repl_run(&output, ctx, spec, argv, password);
	struct dbops_diag *d;

	if (rc == 0)
		return 0;
	if (rc < 0)
		return DBOPS_ERR_GENERIC;
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
		    "\"%s\" failed with exit status %d", argv[0], rc);
	if (output[0] != '\0')
		h->diag_detail(ctx, d, "%s", output);
	return DBOPS_ERR_GENERIC;
}

static const char *repl_parent(struct dbops_ctx *ctx, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		return "/";
	return dbops_host(ctx)->printf(ctx, "%.*s", (int)(slash - path), path);
}

static int repl_write_conf(struct dbops_ctx *ctx,
			   const struct repl_member_spec *m)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *path =
	    h->printf(ctx, "%s/postgresql.auto.conf", m->data_dir);
	FILE *f = fopen(path, "a");

	if (f == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not open file \"%s\": %s", path,
			strerror(errno));
		return DBOPS_ERR_GENERIC;
	}
	/* the clone copied the primary's port, sockets and synchronous
	 * standbys; a standby needs its own */
	fprintf(f,
		"%s \"%s\"\nport = %d\nlisten_addresses = '%s'\n"
		"unix_socket_directories = '%s'\n"
		"synchronous_standby_names = ''\ncluster_name = '%s'\n",
		REPL_MARK, m->name, m->port, m->host,
		repl_parent(ctx, m->data_dir), m->name);
	if (fclose(f) != 0) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not write file \"%s\": %s", path,
			strerror(errno));
		return DBOPS_ERR_GENERIC;
	}
	return 0;
}

/* Whether a data directory holds a finished clone of ours. */
static bool repl_clone_complete(struct dbops_ctx *ctx,
				const struct repl_member_spec *m)
{
	const struct dbops_host *h = dbops_host(ctx);
	FILE *f =
	    fopen(h->printf(ctx, "%s/postgresql.auto.conf", m->data_dir), "r");
	char line[512];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strncmp(line, REPL_MARK, strlen(REPL_MARK)) == 0;
	fclose(f);
	return found;
}

static int repl_pg_ctl_start(struct dbops_ctx *ctx,
			     const struct repl_spec *spec, const char *data_dir)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *argv[] = {
	    repl_program(ctx, spec, "pg_ctl"),
	    "start",
	    "-D",
	    data_dir,
	    "-l",
	    h->printf(ctx, "%s.log", data_dir),
	    "-w",
	    "-t",
	    "120",
	    "-s",
	    NULL,
	};

	return repl_run_checked(ctx, spec, argv, NULL);
}

/* A conninfo value in single quotes, with \\ and ' escaped. */
static const char *repl_conn_quote(struct dbops_ctx *ctx, const char *v)
{
	char *out = dbops_host(ctx)->alloc(ctx, 2 * strlen(v) + 3);
	size_t n = 0;

	out[n++] = '\'';
	for (const char *p = v; *p; p++) {
		if (*p == '\'' || *p == '\\')
			out[n++] = '\\';
		out[n++] = *p;
	}
	out[n++] = '\'';
	return out;
}

static int repl_basebackup(struct dbops_ctx *ctx, const struct repl_spec *spec,
			   const struct repl_member_spec *m)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *host = repl_conn_param(ctx, "host");
	const char *port = repl_conn_param(ctx, "port");
	const char *user = repl_conn_param(ctx, "user");
	const char *conn = h->printf(ctx, "application_name=%s", m->name);
	const char *argv[16];
	size_t n = 0;

	if (host != NULL)
		conn = h->printf(ctx, "%s host=%s", conn,
				 repl_conn_quote(ctx, host));
	if (port != NULL)
		conn = h->printf(ctx, "%s port=%s", conn,
				 repl_conn_quote(ctx, port));
	if (user != NULL)
		conn = h->printf(ctx, "%s user=%s", conn,
				 repl_conn_quote(ctx, user));
	argv[n++] = repl_program(ctx, spec, "pg_basebackup");
	argv[n++] = "-D";
	argv[n++] = m->data_dir;
	argv[n++] = "-X";
	argv[n++] = "stream";
	argv[n++] = "-c";
	argv[n++] = "fast";
	argv[n++] = "-R";
	if (spec->slots) {
		argv[n++] = "-S";
		argv[n++] = m->name;
	}
	argv[n++] = "-d";
	argv[n++] = conn;
	argv[n] = NULL;
	return repl_run_checked(ctx, spec, argv,
				repl_conn_param(ctx, "password"));
}

static int repl_local_create(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     const struct repl_member_spec *m)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *mkdir_argv[] = {"mkdir", "-p",
				    repl_parent(ctx, m->data_dir), NULL};
	const char *names[1] = {m->name};
	double t0 = repl_now();
	int err;

	if (repl_file_exists(ctx, m->data_dir, "PG_VERSION")) {
		if (!repl_clone_complete(ctx, m)) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &m->loc,
			    "data directory \"%s\" exists but is not a standby made by dbops",
			    m->data_dir);

			h->diag_hint(
			    ctx, d,
			    "Remove it (an interrupted clone) or choose another data_dir.");
			return DBOPS_ERR_CONFLICT;
		}
		h->log(ctx, DBOPS_LOG_INFO, "standby \"%s\" exists already",
		       m->name);
	} else {
		if (repl_port_busy(m->host, m->port)) {
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &m->loc,
			    "something listens on %s:%d, the address of new standby \"%s\"",
			    m->host, m->port, m->name);
			return DBOPS_ERR_CONFLICT;
		}
		if ((err = repl_run_checked(ctx, spec, mkdir_argv, NULL)) != 0)
			return err;
		repl_host_out(ctx, h->printf(ctx, "  %s: pg_basebackup into %s",
					     m->name, m->data_dir));
		if ((err = repl_basebackup(ctx, spec, m)) != 0 ||
		    (err = repl_write_conf(ctx, m)) != 0)
			return err;
		repl_host_out(ctx, h->printf(ctx, "  %s: cloned in %.1fs",
					     m->name, repl_now() - t0));
	}
	if (!repl_ping(m->host, m->port) &&
	    (err = repl_pg_ctl_start(ctx, spec, m->data_dir)) != 0)
		return err;
	if ((err = repl_wait_streaming(ctx, names, 1, 1, spec->wait_seconds,
				       true)) != 0)
		return err;
	repl_host_out(
	    ctx, h->printf(
		     ctx, "  %s: streaming %.1fs after the start of the change",
		     m->name, repl_now() - t0));
	return 0;
}

static int repl_local_remove(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     const struct repl_member_spec *m)
{
	const char *stop_argv[] = {
	    repl_program(ctx, spec, "pg_ctl"),
	    "stop",
	    "-D",
	    m->data_dir,
	    "-m",
	    "fast",
	    "-w",
	    "-t",
	    "120",
	    "-s",
	    NULL,
	};
	const char *rm_argv[] = {"rm", "-rf", "--", m->data_dir, NULL};
	int err;

	if (repl_file_exists(ctx, m->data_dir, "postmaster.pid") &&
	    (err = repl_run_checked(ctx, spec, stop_argv, NULL)) != 0)
		return err;
	if (spec->delete_data &&
	    repl_file_exists(ctx, m->data_dir, "PG_VERSION") &&
	    (err = repl_run_checked(ctx, spec, rm_argv, NULL)) != 0)
		return err;
	return 0;
}

int repl_local_start(struct dbops_ctx *ctx, const struct repl_spec *spec,
		     const char *data_dir)
{
	return repl_pg_ctl_start(ctx, spec, data_dir);
}

int repl_local_run(struct dbops_ctx *ctx, const struct repl_spec *spec,
		   const char *const *argv)
{
	return repl_run_checked(ctx, spec, argv, NULL);
}

const struct repl_provider repl_provider_local = {
    .name = "local",
    .provisions = true,
    .observe_member = repl_local_observe,
    .create_member = repl_local_create,
    .remove_member = repl_local_remove,
    .switchover_step = repl_switchover_step,
};

const struct repl_provider repl_provider_external = {
    .name = "external",
    .provisions = false,
    .observe_member = repl_external_observe,
};

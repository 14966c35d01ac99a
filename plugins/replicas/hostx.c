/* SPDX-License-Identifier: PostgreSQL */
/*
 * hostx.c — the host functions added in ABI 1.1 (connections, the
 * command's mode and options, standard output), each checked against
 * the size of the host's table so that an older host (or the unit
 * tests' fake) reads as "absent"; plus the small libpq helpers the
 * plugin needs to reach members without raising diagnostics for a
 * member that is down (PQping), and a monotonic clock.
 */
#include "replicas_int.h"

#include <libpq-fe.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPL_HAS(h, member)                                                    \
	((h)->header.size >=                                                   \
	     offsetof(struct dbops_host, member) + sizeof((h)->member) &&      \
	 (h)->member != NULL)

const char *repl_host_mode(struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);

	return REPL_HAS(h, mode) ? h->mode(ctx) : NULL;
}

const char *repl_host_arg(struct dbops_ctx *ctx, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);

	return REPL_HAS(h, arg) ? h->arg(ctx, name) : NULL;
}

void repl_host_out(struct dbops_ctx *ctx, const char *line)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (REPL_HAS(h, out))
		h->out(ctx, "%s\n", line);
	else
		h->log(ctx, DBOPS_LOG_INFO, "%s", line);
}

int repl_host_conn_open(struct dbops_conn **out, struct dbops_ctx *ctx,
			const char *conninfo, unsigned flags)
{
	const struct dbops_host *h = dbops_host(ctx);

	*out = NULL;
	if (!REPL_HAS(h, conn_open)) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_UNSUPPORTED, NULL,
			"this dbops cannot open connections to the replicas");
		return DBOPS_ERR_UNSUPPORTED;
	}
	return h->conn_open(out, ctx, conninfo, flags);
}

void repl_host_note(struct dbops_ctx *ctx, const char *key, const char *value)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (REPL_HAS(h, observe_note))
		h->observe_note(ctx, key, value);
}

const char *repl_conn_param(struct dbops_ctx *ctx, const char *keyword)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *conn = h->pgconn(ctx);
	PQconninfoOption *opts;
	const char *v = NULL;

	if (conn == NULL || (opts = PQconninfo(conn)) == NULL)
		return NULL;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val != NULL &&
		    o->val[0] != '\0')
			v = h->strdup(ctx, o->val);
	PQconninfoFree(opts);
	return v;
}

bool repl_ping(const char *host, int port)
{
	char portbuf[16];
	const char *keys[] = {"host", "port", "dbname", "connect_timeout",
			      NULL};
	const char *vals[] = {host, portbuf, "postgres", "3", NULL};

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	return PQpingParams(keys, vals, 0) == PQPING_OK;
}

bool repl_port_busy(const char *host, int port)
{
	struct addrinfo hints = {0}, *res = NULL;
	char portbuf[16];
	bool busy = false;

	hints.ai_socktype = SOCK_STREAM;
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	if (getaddrinfo(host, portbuf, &hints, &res) != 0)
		return false;
	for (struct addrinfo *a = res; a != NULL && !busy; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);

		if (fd < 0)
			continue;
		busy = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
		close(fd);
	}
	freeaddrinfo(res);
	return busy;
}

struct dbops_conn *repl_member_conn(struct dbops_ctx *ctx, const char *host,
				    int port, bool volatile_rows)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_conn *c = NULL;

	if (!repl_ping(host, port))
		return NULL;
	if (repl_host_conn_open(
		&c, ctx,
		h->printf(ctx, "host=%s port=%d dbname=postgres", host, port),
		DBOPS_CONN_SAME_CLUSTER |
		    (volatile_rows ? DBOPS_CONN_VOLATILE : 0)) != 0)
		return NULL;
	return c;
}

void repl_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

double repl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void repl_host_reconnect(struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *conn = h->pgconn(ctx);
	PGresult *r;
	bool primary;

	if (conn == NULL)
		return;
	r = PQexec(conn, "SELECT pg_is_in_recovery()");
	primary = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		  strcmp(PQgetvalue(r, 0, 0), "f") == 0;
	PQclear(r);
	if (primary)
		return;
	PQreset(conn);
	if (PQstatus(conn) == CONNECTION_OK)
		h->log(ctx, DBOPS_LOG_INFO, "connected again, to %s:%s",
		       PQhost(conn), PQport(conn));
}

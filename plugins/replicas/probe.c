/* SPDX-License-Identifier: PostgreSQL */
/*
 * probe.c — a writer that runs beside a switchover or a failover drill,
 * in a thread of its own, through libpq directly (the host's connections
 * belong to the pass's thread): it writes again and again to whichever
 * server takes writes (a conninfo naming every member, with
 * target_session_attrs=read-write), and records what it saw — when each
 * server last and first took a write, the WAL position after the last
 * write of the old primary, and, as a drill's writer, the ids of the rows
 * whose INSERT was acknowledged. Outages and lost rows are computed from
 * that record, so they are what a client saw.
 *
 * Nothing here touches the pass arena or the host: the thread allocates
 * with malloc, and the pass reads the record only after
 * repl_writer_stop() joined it (or through the mutex).
 */
#include "replicas_int.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct repl_writer {
	pthread_t thread;
	pthread_mutex_t lock;
	char *conninfo;
	char *password;
	char *old_host; /* the primary when the writer started */
	int old_port;
	long long drill_id; /* > 0: INSERT rows of this drill */
	bool stop;
	/* the record, under `lock` */
	double last_old_ok; /* last write the old primary took */
	uint64_t last_old_lsn;
	double first_fail;     /* first failed write */
	double first_new_ok;   /* first write another server took */
	double first_ok_after; /* first write after `mark` on any server */
	double mark;
	char new_server[300];
	long long *acked; /* drill: acknowledged ids */
	size_t nacked, cap;
	long long next_id;
	long writes;
	double conn_at; /* when the writer's connection was made */
	bool unsafe;	/* the last write's synchronous wait was cancelled */
};

static double repl_writer_now(void)
{
	return repl_now();
}

/*
 * A write whose wait for the synchronous standbys was cancelled (a
 * statement_timeout, a terminated backend) reports success with a
 * WARNING: committed locally, perhaps not replicated. Such a write is not
 * counted as acknowledged.
 */
static void repl_writer_notice(void *arg, const PGresult *res)
{
	bool *unsafe = arg;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (msg != NULL &&
	    strstr(msg, "wait for synchronous replication") != NULL)
		*unsafe = true;
}

static PGconn *repl_writer_connect(struct repl_writer *w)
{
	const char *keys[] = {"dbname", "password", NULL};
	const char *vals[] = {w->conninfo, w->password, NULL};
	PGconn *c;

	if (w->password == NULL)
		keys[1] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (c != NULL && PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	if (c != NULL) {
		PQsetNoticeReceiver(c, repl_writer_notice, &w->unsafe);
		/* long enough for a failover; a cancelled wait is not
		 * counted (repl_writer_notice) */
		PQclear(PQexec(c, "SET statement_timeout = '60s'"));
	}
	return c;
}

/* One write; the WAL position after it, 0 on failure. */
static uint64_t repl_writer_write(struct repl_writer *w, PGconn *c,
				  long long id)
{
	char sql[256];
	PGresult *r;
	uint64_t lsn = 0;

	if (w->drill_id > 0)
		snprintf(
		    sql, sizeof(sql),
		    "INSERT INTO dbops.failover_drill_writes (drill_id, i) "
		    "VALUES (%lld, %lld) RETURNING "
		    "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint",
		    w->drill_id, id);
	else
		snprintf(sql, sizeof(sql),
			 "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), "
			 "'0/0')::bigint FROM txid_current()");
	w->unsafe = false;
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    !w->unsafe)
		lsn = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return lsn;
}

static bool repl_writer_is_old(const struct repl_writer *w, PGconn *c)
{
	const char *port = PQport(c);

	return port != NULL && strtol(port, NULL, 10) == w->old_port &&
	       strcmp(PQhost(c), w->old_host) == 0;
}

static void repl_writer_record(struct repl_writer *w, PGconn *c, long long id,
			       uint64_t lsn, double t)
{
	pthread_mutex_lock(&w->lock);
	w->writes++;
	if (repl_writer_is_old(w, c) && w->first_new_ok == 0) {
		w->last_old_ok = t;
		w->last_old_lsn = lsn;
	} else if (!repl_writer_is_old(w, c) && w->first_new_ok == 0) {
		w->first_new_ok = t;
		snprintf(w->new_server, sizeof(w->new_server), "%s:%s",
			 PQhost(c), PQport(c));
	}
	/* after a kill, only a connection made since counts: the killed
	 * postmaster's backends may still answer for a moment */
	if (w->mark > 0 && w->first_ok_after == 0 && w->conn_at > w->mark) {
		w->first_ok_after = t;
		snprintf(w->new_server, sizeof(w->new_server), "%s:%s",
			 PQhost(c), PQport(c));
	}
	if (w->drill_id > 0) {
		if (w->nacked == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 1024;
			w->acked =
			    realloc(w->acked, w->cap * sizeof(*w->acked));
			if (w->acked == NULL)
				abort();
		}
		w->acked[w->nacked++] = id;
	}
	pthread_mutex_unlock(&w->lock);
}

static void *repl_writer_main(void *arg)
{
	struct repl_writer *w = arg;
	struct timespec pause = {0, 10 * 1000000L};
	PGconn *c = NULL;

	for (;;) {
		uint64_t lsn;
		long long id;
		bool stop;

		pthread_mutex_lock(&w->lock);
		stop = w->stop;
		id = w->next_id;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			break;
		if (c == NULL && (c = repl_writer_connect(w)) != NULL) {
			pthread_mutex_lock(&w->lock);
			w->conn_at = repl_writer_now();
			pthread_mutex_unlock(&w->lock);
		}
		if (c == NULL) {
			pthread_mutex_lock(&w->lock);
			if (w->first_fail == 0)
				w->first_fail = repl_writer_now();
			pthread_mutex_unlock(&w->lock);
			nanosleep(&pause, NULL);
			continue;
		}
		lsn = repl_writer_write(w, c, id);
		/* an id is used once: a write that failed may still have
		 * committed, unacknowledged */
		pthread_mutex_lock(&w->lock);
		w->next_id++;
		pthread_mutex_unlock(&w->lock);
		if (lsn == 0) {
			/* the server went away or stopped taking writes:
			 * the next attempt connects again */
			pthread_mutex_lock(&w->lock);
			if (w->first_fail == 0)
				w->first_fail = repl_writer_now();
			pthread_mutex_unlock(&w->lock);
			PQfinish(c);
			c = NULL;
			nanosleep(&pause, NULL);
			continue;
		}
		repl_writer_record(w, c, id, lsn, repl_writer_now());
		if (w->drill_id == 0)
			nanosleep(&pause, NULL); /* a probe, not a load */
	}
	PQfinish(c);
	return NULL;
}

static char *repl_writer_dup(const char *s)
{
	char *d = s != NULL ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		abort();
	return d;
}

struct repl_writer *repl_writer_start(const char *conninfo,
				      const char *password,
				      const char *old_host, int old_port,
				      long long drill_id)
{
	struct repl_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		abort();
	pthread_mutex_init(&w->lock, NULL);
	w->conninfo = repl_writer_dup(conninfo);
	w->password = repl_writer_dup(password);
	w->old_host = repl_writer_dup(old_host);
	w->old_port = old_port;
	w->drill_id = drill_id;
	w->next_id = 1;
	if (pthread_create(&w->thread, NULL, repl_writer_main, w) != 0) {
		repl_writer_free(w);
		return NULL;
	}
	return w;
}

void repl_writer_mark(struct repl_writer *w)
{
	pthread_mutex_lock(&w->lock);
	w->mark = repl_writer_now();
	pthread_mutex_unlock(&w->lock);
}

void repl_writer_read(struct repl_writer_record *out, struct repl_writer *w)
{
	pthread_mutex_lock(&w->lock);
	out->last_old_ok = w->last_old_ok;
	out->last_old_lsn = w->last_old_lsn;
	out->first_fail = w->first_fail;
	out->first_new_ok = w->first_new_ok;
	out->first_ok_after = w->first_ok_after;
	out->mark = w->mark;
	snprintf(out->new_server, sizeof(out->new_server), "%s", w->new_server);
	out->writes = w->writes;
	out->nacked = w->nacked;
	pthread_mutex_unlock(&w->lock);
}

void repl_writer_stop(struct repl_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
}

const long long *repl_writer_acked(const struct repl_writer *w, size_t *n)
{
	*n = w->nacked;
	return w->acked;
}

void repl_writer_free(struct repl_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_destroy(&w->lock);
	free(w->conninfo);
	free(w->password);
	free(w->old_host);
	free(w->acked);
	free(w);
}

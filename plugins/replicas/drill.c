/* SPDX-License-Identifier: PostgreSQL */
/*
 * drill.c — `dbops replicas drill failover --i-understand-this-kills-the-primary`
 * with the patroni provider: a measured failover, meant for staging.
 *
 *  1. check: Patroni is not paused, some replica may be promoted (runs,
 *     no nofailover tag, within maximum_lag_on_failover; a synchronous
 *     standby in synchronous mode), and the leader's postmaster runs on
 *     this machine (its data directory's postmaster.pid names a live
 *     postgres process): the drill kills it, it cannot reach another
 *     host. The tables dbops.failover_drills and
 *     dbops.failover_drill_writes are made if missing.
 *  2. kill: a writer thread (probe.c) inserts numbered rows through a
 *     conninfo naming every member with target_session_attrs=read-write
 *     and keeps the ids acknowledged; after two seconds the leader's
 *     postmaster gets SIGKILL. GET /cluster is polled every 100 ms until
 *     a leader runs and the writer's first write after the kill is
 *     acknowledged. RTO is the time from the kill to that write; RPO the
 *     acknowledged ids missing on the new primary. Both go into
 *     dbops.failover_drills, with Patroni's timers.
 *  3. rejoin: wait (wait_timeout) until the killed member runs as a
 *     replica again.
 *
 * With primary_start_timeout above 0 Patroni restarts a crashed primary
 * in place first; the drill then measures that restart (the plan says
 * so). Without the explicit flag the drill is refused.
 */
#include "replicas_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#define REPL_DRILL_FLAG "i-understand-this-kills-the-primary"

enum {
	REPL_DRILL_CHECK = 1,
	REPL_DRILL_KILL,
	REPL_DRILL_REJOIN,
};

struct repl_drill {
	const char *leader;
	int64_t ttl, loop_wait, start_timeout;
	bool sync, strict;
	long long id;
	pid_t pid;
	const char *data_dir;
	double rto;
	long long acked, lost;
	const char *new_leader;
};

/* A replica Patroni may promote, or NULL. */
static const struct patroni_member *
repl_drill_candidate(const struct patroni_cluster *c,
		     const struct patroni_config *cfg)
{
	for (size_t i = 0; i < c->nmembers; i++) {
		const struct patroni_member *m = &c->members[i];

		if (strcmp(m->role, "leader") == 0 || m->nofailover ||
		    !patroni_state_running(m->state) || m->lag < 0 ||
		    m->lag > cfg->maximum_lag_on_failover)
			continue;
		if (cfg->synchronous_mode &&
		    strcmp(m->role, "sync_standby") != 0)
			continue;
		return m;
	}
	return NULL;
}

static int repl_drill_checks(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     const struct patroni_cluster *c,
			     const struct patroni_config *cfg)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d;

	if (c->pause) {
		d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT,
		    &spec->patroni.loc,
		    "Patroni is paused: it would not fail over, and the drill would leave the cluster without a primary");
		h->diag_hint(ctx, d,
			     "Resume Patroni (patronictl resume) first.");
		return DBOPS_ERR_CONFLICT;
	}
	if (patroni_leader(c) == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &spec->loc,
			"the Patroni cluster has no leader to kill");
		return DBOPS_ERR_CONFLICT;
	}
	if (repl_drill_candidate(c, cfg) == NULL) {
		d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &spec->loc,
		    "no replica could take over: the drill would end without a primary");
		h->diag_detail(
		    ctx, d,
		    "A candidate runs, has no nofailover tag, lags at most maximum_lag_on_failover%s.",
		    cfg->synchronous_mode ? " and is a synchronous standby"
					  : "");
		return DBOPS_ERR_CONFLICT;
	}
	return 0;
}

int repl_drill_plan(struct dbops_ctx *ctx, const struct repl_spec *spec,
		    const struct repl_live *live)
{
	static const struct {
		int step;
		const char *address;
		const char *reason;
	} steps[] = {
	    {REPL_DRILL_CHECK, "replicas.drill.1-check",
	     "a replica may be promoted, and the leader's postmaster runs on this machine"},
	    {REPL_DRILL_KILL, "replicas.drill.2-kill-primary",
	     "a writer inserts numbered rows; the leader's postmaster gets SIGKILL; Patroni promotes a replica"},
	    {REPL_DRILL_REJOIN, "replicas.drill.3-rejoin",
	     "the killed member runs again as a replica"},
	};
	const struct dbops_host *h = dbops_host(ctx);
	const struct patroni_config *cfg = live->ptn_config;
	const char *flag = repl_host_arg(ctx, REPL_DRILL_FLAG);
	const struct patroni_member *leader;
	struct repl_drill *dr;
	int err;

	if (flag == NULL) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		    "the failover drill kills the primary's postmaster and is refused without --%s",
		    REPL_DRILL_FLAG);

		h->diag_detail(
		    ctx, d,
		    "Writes stop until Patroni promotes a replica; in asynchronous mode acknowledged writes may be lost. It is meant for staging clusters.");
		h->diag_hint(ctx, d, "Run: dbops replicas drill failover --%s.",
			     REPL_DRILL_FLAG);
		return DBOPS_ERR_INVALID;
	}
	if ((err = repl_drill_checks(ctx, spec, live->ptn_cluster, cfg)) != 0)
		return err;
	leader = patroni_leader(live->ptn_cluster);
	if (cfg->primary_start_timeout > 0) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, &spec->patroni.loc,
		    "primary_start_timeout is %llds: Patroni first restarts a crashed primary in place",
		    (long long)cfg->primary_start_timeout);

		h->diag_detail(
		    ctx, d,
		    "The drill then measures that restart; it fails over only if the restart takes longer.");
		h->diag_hint(
		    ctx, d,
		    "Set primary_start_timeout: 0 in Patroni's dynamic configuration to fail over at once.");
	}
	dr = h->alloc(ctx, sizeof(*dr));
	dr->leader = leader->name;
	dr->ttl = cfg->ttl;
	dr->loop_wait = cfg->loop_wait;
	dr->start_timeout = cfg->primary_start_timeout;
	dr->sync = cfg->synchronous_mode;
	dr->strict = cfg->synchronous_mode_strict;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct dbops_change *c =
		    h->change_new(ctx, DBOPS_ACTION_RUN, steps[i].address);
		struct repl_payload *p = h->alloc(ctx, sizeof(*p));

		c->flags = DBOPS_CHANGE_NONTX;
		c->reason = steps[i].reason;
		c->loc = spec->patroni.loc;
		if (steps[i].step == REPL_DRILL_KILL)
			c->sql = h->printf(
			    ctx,
			    "kill -9 (postmaster of \"%s\", from its postmaster.pid)\n"
			    "poll GET /cluster every 100 ms until a leader runs and takes a write\n"
			    "INSERT INTO dbops.failover_drills (rto_seconds, lost_rows, ...)",
			    leader->name);
		p->op = REPL_OP_DRILL;
		p->spec = spec;
		p->pstep = steps[i].step;
		p->drill = dr;
		c->payload = p;
	}
	return 0;
}

static const char repl_drill_ddl[][400] = {
    "CREATE SCHEMA IF NOT EXISTS dbops",
    "CREATE TABLE IF NOT EXISTS dbops.failover_drills (id bigint PRIMARY "
    "KEY, started_at timestamptz NOT NULL DEFAULT now(), old_leader text "
    "NOT NULL, new_leader text, synchronous_mode boolean NOT NULL, "
    "synchronous_mode_strict boolean NOT NULL, ttl integer, loop_wait "
    "integer, primary_start_timeout integer, rto_seconds numeric(10,3), "
    "acknowledged_rows bigint NOT NULL, lost_rows bigint NOT NULL)",
    ("CREATE TABLE IF NOT EXISTS dbops.failover_drill_writes (drill_id "
     "bigint NOT NULL, i bigint NOT NULL, PRIMARY KEY (drill_id, i))"),
};

/* The postmaster of the leader: pid from its data directory's
 * postmaster.pid, a live postgres process of this machine. */
static int repl_drill_find_pid(struct repl_drill *dr, struct dbops_ctx *ctx,
			       const struct repl_spec *spec)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *path, *cmd;
	char line[64], comm[64] = "";
	struct dbops_rows *rows;
	FILE *f;
	long pid;
	int err;

	dr->data_dir = NULL;
	for (size_t i = 0; i < spec->nmembers; i++)
		if (strcmp(spec->members[i].name, dr->leader) == 0)
			dr->data_dir = spec->members[i].data_dir;
	if (dr->data_dir == NULL) {
		if ((err = h->query(&rows, ctx,
				    "SELECT current_setting('data_directory') "
				    "AS d, pg_is_in_recovery()::text AS r",
				    0, NULL)) != 0)
			return err;
		if (strcmp(h->rows_get(rows, 0, "r"), "false") != 0) {
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
			    "the server dbops connects to is not the primary");
			return DBOPS_ERR_CONFLICT;
		}
		dr->data_dir = h->rows_get(rows, 0, "d");
	}
	path = h->printf(ctx, "%s/postmaster.pid", dr->data_dir);
	if ((f = fopen(path, "r")) == NULL ||
	    fgets(line, sizeof(line), f) == NULL ||
	    (pid = strtol(line, NULL, 10)) <= 1) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_UNSUPPORTED, NULL,
		    "could not read the leader's postmaster.pid \"%s\": %s",
		    path, f == NULL ? strerror(errno) : "no process id");

		h->diag_hint(
		    ctx, d,
		    "The drill kills the leader's postmaster, so it runs on the leader's machine only (give the member's data_dir in the spec).");
		if (f != NULL)
			fclose(f);
		return DBOPS_ERR_UNSUPPORTED;
	}
	fclose(f);
	cmd = h->printf(ctx, "/proc/%ld/comm", pid);
	if ((f = fopen(cmd, "r")) != NULL) {
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
	}
	if (kill((pid_t)pid, 0) != 0 || strncmp(comm, "postgres", 8) != 0) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_UNSUPPORTED, NULL,
		    "process %ld of \"%s\" is not a postmaster running on this machine",
		    pid, path);
		return DBOPS_ERR_UNSUPPORTED;
	}
	dr->pid = (pid_t)pid;
	return 0;
}

static int repl_drill_check(struct dbops_ctx *ctx, const struct repl_spec *spec,
			    struct repl_drill *dr)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct patroni_cluster *c;
	struct patroni_config *cfg;
	const struct patroni_member *leader;
	int err;

	if ((err = patroni_get_cluster(&c, ctx, &spec->patroni.ep)) != 0 ||
	    (err = patroni_get_config(&cfg, ctx, &spec->patroni.ep)) != 0 ||
	    (err = repl_drill_checks(ctx, spec, c, cfg)) != 0)
		return err;
	leader = patroni_leader(c);
	if (strcmp(leader->name, dr->leader) != 0) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
			"the leader is \"%s\" now, not \"%s\" as planned",
			leader->name, dr->leader);
		return DBOPS_ERR_CONFLICT;
	}
	for (size_t i = 0;
	     i < sizeof(repl_drill_ddl) / sizeof(repl_drill_ddl[0]); i++)
		if ((err = h->query(NULL, ctx, repl_drill_ddl[i], 0, NULL)) !=
		    0)
			return err;
	if ((err = repl_drill_find_pid(dr, ctx, spec)) != 0)
		return err;
	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"  leader \"%s\": postmaster pid %ld, data %s; a candidate: \"%s\"",
		dr->leader, (long)dr->pid, dr->data_dir,
		repl_drill_candidate(c, cfg)->name));
	return 0;
}

/* The acknowledged ids the new primary lacks, and the drill's record. */
static int repl_drill_record(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     struct repl_drill *dr, const char *conninfo,
			     const long long *acked, size_t n)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_conn *c = NULL;
	struct dbops_rows *rows;
	const char *params[12];
	char *arr = h->alloc(ctx, n * 21 + 3), *p = arr;
	int err;

	(void)spec;
	*p++ = '{';
	for (size_t i = 0; i < n; i++)
		p += snprintf(p, 22, "%s%lld", i ? "," : "", acked[i]);
	*p++ = '}';
	*p = '\0';
	if ((err = repl_host_conn_open(&c, ctx, conninfo,
				       DBOPS_CONN_SAME_CLUSTER |
					   DBOPS_CONN_VOLATILE)) != 0)
		return err;
	params[0] = arr;
	params[1] = h->printf(ctx, "%lld", dr->id);
	if ((err = h->conn_query(&rows, ctx, c,
				 "SELECT count(*) AS lost FROM "
				 "unnest($1::bigint[]) a(i) WHERE NOT EXISTS "
				 "(SELECT 1 FROM dbops.failover_drill_writes w "
				 "WHERE w.drill_id = $2::bigint AND w.i = a.i)",
				 2, params)) != 0)
		goto done;
	dr->lost = strtoll(h->rows_get(rows, 0, "lost"), NULL, 10);
	dr->acked = (long long)n;
	params[0] = params[1];
	params[1] = dr->leader;
	params[2] = dr->new_leader;
	params[3] = dr->sync ? "true" : "false";
	params[4] = dr->strict ? "true" : "false";
	params[5] = h->printf(ctx, "%lld", (long long)dr->ttl);
	params[6] = h->printf(ctx, "%lld", (long long)dr->loop_wait);
	params[7] = h->printf(ctx, "%lld", (long long)dr->start_timeout);
	params[8] = h->printf(ctx, "%.3f", dr->rto);
	params[9] = h->printf(ctx, "%lld", dr->acked);
	params[10] = h->printf(ctx, "%lld", dr->lost);
	if ((err = h->conn_query(
		 NULL, ctx, c,
		 "INSERT INTO dbops.failover_drills (id, old_leader, "
		 "new_leader, synchronous_mode, synchronous_mode_strict, ttl, "
		 "loop_wait, primary_start_timeout, rto_seconds, "
		 "acknowledged_rows, lost_rows) VALUES ($1::bigint, $2, $3, "
		 "$4::boolean, $5::boolean, $6::int, $7::int, $8::int, "
		 "$9::numeric, $10::bigint, $11::bigint)",
		 11, params)) != 0)
		goto done;
	err = h->conn_query(NULL, ctx, c,
			    "DELETE FROM dbops.failover_drill_writes WHERE "
			    "drill_id = $1::bigint",
			    1, params);
done:
	h->conn_close(ctx, c);
	return err;
}

static int repl_drill_kill(struct dbops_ctx *ctx, const struct repl_spec *spec,
			   struct repl_drill *dr)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct repl_writer_record rec;
	struct patroni_cluster *c;
	const struct patroni_member *old, *l;
	struct repl_writer *w;
	const char *conninfo, *password, *rw;
	const long long *acked;
	double killed, seen = 0, deadline;
	struct timespec now;
	size_t n;
	int err;

	if ((err = patroni_get_cluster(&c, ctx, &spec->patroni.ep)) != 0)
		return err;
	old = patroni_member_find(c, dr->leader);
	if (old == NULL || old->host == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
			"Patroni does not give the address of \"%s\"",
			dr->leader);
		return DBOPS_ERR_CONFLICT;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	dr->id = (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	conninfo = repl_ptn_conninfo(&password, ctx, spec, c);
	if ((w = repl_writer_start(conninfo, password, old->host, old->port,
				   dr->id)) == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not start the drill's writer thread");
		return DBOPS_ERR_GENERIC;
	}
	repl_sleep_ms(2000);
	repl_writer_read(&rec, w);
	repl_host_out(
	    ctx,
	    h->printf(ctx,
		      "  writer: %zu rows acknowledged in 2s before the kill",
		      rec.nacked));
	if (rec.nacked == 0) {
		repl_writer_stop(w);
		repl_writer_free(w);
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
		    "the drill's writer could not write to the leader before the kill");
		return DBOPS_ERR_GENERIC;
	}
	repl_writer_mark(w);
	killed = repl_now();
	if (kill(dr->pid, SIGKILL) != 0) {
		repl_writer_stop(w);
		repl_writer_free(w);
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not kill process %ld: %s", (long)dr->pid,
			strerror(errno));
		return DBOPS_ERR_GENERIC;
	}
	repl_host_out(
	    ctx, h->printf(ctx, "  killed the postmaster of \"%s\" (pid %ld)",
			   dr->leader, (long)dr->pid));
	deadline = killed + spec->wait_seconds;
	for (;;) {
		repl_writer_read(&rec, w);
		if (seen == 0 &&
		    patroni_get_cluster(&c, ctx, &spec->patroni.ep) == 0 &&
		    (l = patroni_leader(c)) != NULL &&
		    patroni_state_running(l->state) &&
		    (strcmp(l->name, dr->leader) != 0 ||
		     rec.first_ok_after > 0)) {
			seen = repl_now();
			dr->new_leader = h->strdup(ctx, l->name);
		}
		if (seen > 0 && rec.first_ok_after > 0)
			break;
		if (repl_now() > deadline) {
			repl_writer_stop(w);
			repl_writer_free(w);
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
			    "no primary took a write within %ds of the kill",
			    spec->wait_seconds);
			return DBOPS_ERR_TRANSIENT;
		}
		repl_sleep_ms(100);
	}
	dr->rto = rec.first_ok_after - killed;
	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"  \"%s\" leads (GET /cluster after %.2fs); the first write after the kill was acknowledged after %.2fs by %s",
		dr->new_leader, seen - killed, dr->rto, rec.new_server));
	repl_sleep_ms(1000); /* writes on the new leader, too */
	repl_writer_stop(w);
	acked = repl_writer_acked(w, &n);
	rw = h->printf(ctx, "%s", conninfo);
	repl_host_reconnect(ctx);
	err = repl_drill_record(ctx, spec, dr, rw, acked, n);
	repl_writer_free(w);
	if (err != 0)
		return err;
	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"Failover drill %lld: RTO %.2fs without a writable primary; RPO %lld of %lld acknowledged rows lost (synchronous_mode %s%s, ttl %lld, loop_wait %lld); recorded in dbops.failover_drills.",
		dr->id, dr->rto, dr->lost, dr->acked, dr->sync ? "on" : "off",
		dr->strict ? " strict" : "", (long long)dr->ttl,
		(long long)dr->loop_wait));
	return 0;
}

static int repl_drill_rejoin(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     struct repl_drill *dr)
{
	const struct dbops_host *h = dbops_host(ctx);
	double t0 = repl_now();
	const struct patroni_member *m = NULL;
	int err;

	if (dr->new_leader != NULL && strcmp(dr->new_leader, dr->leader) == 0) {
		repl_host_out(
		    ctx,
		    h->printf(ctx,
			      "  \"%s\" was restarted in place and leads again",
			      dr->leader));
		return 0;
	}
	if ((err = repl_ptn_wait_replica(&m, ctx, spec, dr->leader,
					 "the killed member")) != 0)
		return err;
	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"  \"%s\" rejoined as a replica (%s, %lld bytes behind) %.1fs later",
		m->name, m->role, (long long)m->lag, repl_now() - t0));
	return 0;
}

int repl_drill_step(struct dbops_ctx *ctx, const struct repl_spec *spec,
		    const struct dbops_change *change)
{
	const struct repl_payload *p = change->payload;
	struct repl_drill *dr = p->drill;

	switch (p->pstep) {
	case REPL_DRILL_CHECK:
		return repl_drill_check(ctx, spec, dr);
	case REPL_DRILL_KILL:
		return repl_drill_kill(ctx, spec, dr);
	case REPL_DRILL_REJOIN:
		return repl_drill_rejoin(ctx, spec, dr);
	default:
		break;
	}
	return DBOPS_ERR_GENERIC;
}

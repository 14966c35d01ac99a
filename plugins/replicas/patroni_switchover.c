/* SPDX-License-Identifier: PostgreSQL */
/*
 * patroni_switchover.c — `dbops switchover --to NAME [--at TIME]` with the
 * patroni provider: Patroni does the switchover (POST /switchover); dbops
 * checks first what the local provider checks, and measures what a client
 * sees. Steps:
 *
 *  1. check: Patroni is not paused (a paused Patroni is refused, clearly),
 *     there is a leader, the candidate is a member that runs, has no
 *     nofailover tag, lags no more than max_lag.bytes (16MB without it),
 *     and is a synchronous standby when synchronous mode is on (Patroni
 *     requires that too);
 *  2. switchover: POST /switchover {leader, candidate}, while a writer
 *     thread (probe.c) commits every 10 ms through a conninfo naming every
 *     member with target_session_attrs=read-write. The seconds without a
 *     writable primary are those between the old primary's last write and
 *     the new one's first; the data lost is the old primary's WAL position
 *     after its last write beyond where the new timeline starts (GET
 *     /history), in bytes. With --at, Patroni schedules it (202) instead.
 *  3. rejoin: wait (wait_timeout) until the old leader runs as a replica.
 *
 * A switchover through Patroni leaves the spec as it is: the leader is
 * Patroni's to choose, and dbops' connection should name every member with
 * target_session_attrs=read-write.
 */
#include "replicas_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	REPL_PSW_CHECK = 1,
	REPL_PSW_SWITCH,
	REPL_PSW_REJOIN,
};

#define REPL_PSW_DEFAULT_LAG (16 * 1024 * 1024)

/* Every reason the cluster cannot switch over to `to` now, as errors. */
static int repl_psw_checks(struct dbops_ctx *ctx, const struct repl_spec *spec,
			   const struct patroni_cluster *c,
			   const struct patroni_config *cfg, const char *to)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct patroni_member *leader = patroni_leader(c);
	const struct patroni_member *m = patroni_member_find(c, to);
	int64_t limit = spec->max_lag_bytes >= 0 ? spec->max_lag_bytes
						 : REPL_PSW_DEFAULT_LAG;
	struct dbops_diag *d;

	if (c->pause) {
		d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT,
		    &spec->patroni.loc,
		    "Patroni is paused: dbops does not switch over a cluster in maintenance mode");
		h->diag_detail(
		    ctx, d,
		    "While paused, Patroni neither fails over nor restarts PostgreSQL, and nothing it would do after the switchover is assured.");
		h->diag_hint(
		    ctx, d,
		    "Resume Patroni (patronictl resume), then switch over.");
		return DBOPS_ERR_CONFLICT;
	}
	if (leader == NULL) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &spec->loc,
		    "the Patroni cluster has no leader to switch over from");
		return DBOPS_ERR_CONFLICT;
	}
	if (m == NULL) {
		d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, &spec->loc,
		    "there is no Patroni member \"%s\" to switch over to", to);
		h->diag_hint(ctx, d, "dbops status lists the members.");
		return DBOPS_ERR_NOTFOUND;
	}
	if (m == leader) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &spec->loc,
			"member \"%s\" is the leader already", to);
		return DBOPS_ERR_CONFLICT;
	}
	if (!patroni_state_running(m->state)) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &spec->loc,
			"member \"%s\" is %s, not streaming from the leader",
			to, m->state);
		return DBOPS_ERR_CONFLICT;
	}
	if (m->nofailover) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &spec->loc,
			"member \"%s\" is tagged nofailover", to);
		return DBOPS_ERR_CONFLICT;
	}
	if (m->lag < 0 || m->lag > limit) {
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT,
			    &spec->loc,
			    "member \"%s\" lags %s behind the leader", to,
			    m->lag < 0 ? "an unknown amount"
				       : h->printf(ctx, "%lld bytes",
						   (long long)m->lag));
		h->diag_detail(
		    ctx, d, "The limit is %lld bytes (%s).", (long long)limit,
		    spec->max_lag_bytes >= 0 ? "max_lag.bytes" : "the default");
		return DBOPS_ERR_CONFLICT;
	}
	if (cfg->synchronous_mode && strcmp(m->role, "sync_standby") != 0) {
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT,
			    &spec->loc,
			    "member \"%s\" is not a synchronous standby", to);
		h->diag_detail(
		    ctx, d,
		    "In synchronous mode only a synchronous standby is sure to hold every commit, and Patroni switches over only to one.");
		return DBOPS_ERR_CONFLICT;
	}
	return 0;
}

int repl_ptn_switchover_plan(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     const struct repl_live *live, const char *to)
{
	static const struct {
		int step;
		const char *address;
		const char *reason;
	} steps[] = {
	    {REPL_PSW_CHECK, "replicas.switchover.1-check",
	     "Patroni is not paused, the candidate streams, lags little and may be promoted"},
	    {REPL_PSW_SWITCH, "replicas.switchover.2-switchover",
	     "Patroni demotes the leader and promotes the candidate; writes stop meanwhile"},
	    {REPL_PSW_REJOIN, "replicas.switchover.3-rejoin",
	     "the old leader runs again as a replica"},
	};
	const struct dbops_host *h = dbops_host(ctx);
	const char *at = repl_host_arg(ctx, "at");
	const struct patroni_member *leader = patroni_leader(live->ptn_cluster);
	struct repl_ptn_state *ps;
	int err;

	if (to == NULL || to[0] == '\0') {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "switchover needs the member to promote");

		h->diag_hint(
		    ctx, d,
		    "Run: dbops switchover --to NAME [--at 2030-01-01T03:00+00:00].");
		return DBOPS_ERR_INVALID;
	}
	if (at != NULL && at[0] == '\0')
		at = NULL;
	if ((err = repl_psw_checks(ctx, spec, live->ptn_cluster,
				   live->ptn_config, to)) != 0)
		return err;
	ps = h->alloc(ctx, sizeof(*ps));
	ps->leader = leader->name;
	ps->candidate = to;
	ps->at = at;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct dbops_change *c;
		struct repl_payload *p;

		if (at != NULL && steps[i].step == REPL_PSW_REJOIN)
			break;
		c = h->change_new(ctx, DBOPS_ACTION_RUN, steps[i].address);
		p = h->alloc(ctx, sizeof(*p));
		c->flags = DBOPS_CHANGE_NONTX;
		c->reason = steps[i].reason;
		c->loc = spec->patroni.loc;
		if (steps[i].step == REPL_PSW_SWITCH)
			c->sql =
			    at != NULL
				? h->printf(
				      ctx,
				      "POST /switchover {\"leader\": \"%s\", \"candidate\": \"%s\", \"scheduled_at\": \"%s\"}",
				      leader->name, to, at)
				: h->printf(
				      ctx,
				      "POST /switchover {\"leader\": \"%s\", \"candidate\": \"%s\"}",
				      leader->name, to);
		if (at != NULL && steps[i].step == REPL_PSW_SWITCH)
			c->reason = h->printf(
			    ctx, "Patroni switches over at %s by itself", at);
		p->op = REPL_OP_PATRONI_SWITCHOVER;
		p->spec = spec;
		p->pstep = steps[i].step;
		p->ps = ps;
		c->payload = p;
	}
	return 0;
}

static int repl_psw_check(struct dbops_ctx *ctx, const struct repl_spec *spec,
			  struct repl_ptn_state *ps)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct patroni_cluster *c;
	struct patroni_config *cfg;
	const struct patroni_member *leader, *m;
	int err;

	if ((err = patroni_get_cluster(&c, ctx, &spec->patroni.ep)) != 0 ||
	    (err = patroni_get_config(&cfg, ctx, &spec->patroni.ep)) != 0 ||
	    (err = repl_psw_checks(ctx, spec, c, cfg, ps->candidate)) != 0)
		return err;
	leader = patroni_leader(c);
	if (strcmp(leader->name, ps->leader) != 0) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
			"the leader is \"%s\" now, not \"%s\" as planned",
			leader->name, ps->leader);
		return DBOPS_ERR_CONFLICT;
	}
	m = patroni_member_find(c, ps->candidate);
	repl_host_out(
	    ctx, h->printf(ctx, "  %s (%s) runs, %lld bytes behind %s", m->name,
			   m->role, (long long)m->lag, leader->name));
	return 0;
}

static int repl_psw_switch(struct dbops_ctx *ctx, const struct repl_spec *spec,
			   struct repl_ptn_state *ps)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct patroni_cluster *c;
	const struct patroni_member *old;
	struct patroni_switch *sw = NULL;
	struct repl_writer_record rec;
	struct repl_writer *w = NULL;
	const char *message, *conninfo, *password;
	double t0, deadline;
	int64_t old_tl;
	int status, err;

	if ((err = patroni_get_cluster(&c, ctx, &spec->patroni.ep)) != 0)
		return err;
	old = patroni_member_find(c, ps->leader);
	old_tl = old != NULL ? old->timeline : -1;
	if (ps->at == NULL && old != NULL && old->host != NULL) {
		conninfo = repl_ptn_conninfo(&password, ctx, spec, c);
		w = repl_writer_start(conninfo, password, old->host, old->port,
				      0);
		repl_sleep_ms(300); /* the probe's first writes */
	}
	t0 = repl_now();
	err = patroni_switchover(&message, &status, ctx, &spec->patroni.ep,
				 ps->leader, ps->candidate, ps->at);
	if (err != 0) {
		repl_writer_stop(w);
		repl_writer_free(w);
		return err;
	}
	repl_host_out(ctx, h->printf(ctx, "  Patroni (%d, %.1fs): %s", status,
				     repl_now() - t0, message));
	if (ps->at != NULL) {
		repl_host_out(
		    ctx,
		    h->printf(
			ctx,
			"Switchover scheduled: Patroni promotes \"%s\" at %s (cancel: DELETE /switchover, or patronictl flush).",
			ps->candidate, ps->at));
		return 0;
	}
	/* the new leader, and its first write */
	deadline = repl_now() + spec->wait_seconds;
	for (;;) {
		const struct patroni_member *l;

		memset(&rec, 0, sizeof(rec));
		if (w != NULL)
			repl_writer_read(&rec, w);
		if (patroni_get_cluster(&c, ctx, &spec->patroni.ep) == 0 &&
		    (l = patroni_leader(c)) != NULL &&
		    strcmp(l->name, ps->leader) != 0 &&
		    patroni_state_running(l->state) &&
		    (w == NULL || rec.first_new_ok > 0)) {
			ps->new_leader = l->name;
			break;
		}
		if (repl_now() > deadline) {
			repl_writer_stop(w);
			repl_writer_free(w);
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
			    "no new leader took writes within %ds of the switchover",
			    spec->wait_seconds);
			return DBOPS_ERR_TRANSIENT;
		}
		repl_sleep_ms(100);
	}
	repl_writer_stop(w);
	if (w != NULL)
		repl_writer_read(&rec, w);
	repl_writer_free(w);
	if (strcmp(ps->new_leader, ps->candidate) != 0)
		repl_host_out(
		    ctx, h->printf(ctx, "  Patroni promoted \"%s\", not \"%s\"",
				   ps->new_leader, ps->candidate));
	/* data lost: what the old primary had written past the point where
	 * the new timeline starts; the leader writes the switch into GET
	 * /history on its next loop */
	deadline = repl_now() + 30;
	while (patroni_get_last_switch(&sw, ctx, &spec->patroni.ep) == 0 &&
	       (sw == NULL || sw->timeline < old_tl) && repl_now() < deadline)
		repl_sleep_ms(200);
	if (sw == NULL || sw->timeline < old_tl) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
			"GET /history does not show the end of timeline %lld",
			(long long)old_tl);
		return DBOPS_ERR_TRANSIENT;
	}
	ps->lost_bytes = sw != NULL && rec.last_old_lsn > sw->lsn
			     ? (int64_t)(rec.last_old_lsn - sw->lsn)
			     : 0;
	ps->outage = rec.first_new_ok > 0 && rec.last_old_ok > 0
			 ? rec.first_new_ok - rec.last_old_ok
			 : -1;
	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"  \"%s\" leads timeline %lld; data lost: %lld bytes (the old primary's last write ended at %llX/%llX, the timeline switched at %llX/%llX)",
		ps->new_leader, (long long)sw->timeline + 1,
		(long long)ps->lost_bytes,
		(unsigned long long)(rec.last_old_lsn >> 32),
		(unsigned long long)(rec.last_old_lsn & 0xffffffffu),
		sw ? (unsigned long long)(sw->lsn >> 32) : 0ULL,
		sw ? (unsigned long long)(sw->lsn & 0xffffffffu) : 0ULL));
	if (ps->outage >= 0)
		repl_host_out(
		    ctx, h->printf(ctx, "  writes were unavailable for %.2fs",
				   ps->outage));
	repl_host_reconnect(ctx);
	return 0;
}

static int repl_psw_rejoin(struct dbops_ctx *ctx, const struct repl_spec *spec,
			   struct repl_ptn_state *ps)
{
	const struct dbops_host *h = dbops_host(ctx);
	double t0 = repl_now();
	const struct patroni_member *m = NULL;
	int err;

	if ((err = repl_ptn_wait_replica(&m, ctx, spec, ps->leader,
					 "the old leader")) != 0)
		return err;
	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"  \"%s\" runs as a replica (%s, %lld bytes behind), %.1fs after the switchover",
		m->name, m->role, (long long)m->lag, repl_now() - t0));
	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"Switchover complete: \"%s\" is the leader; data lost: %lld bytes; writes unavailable for %.2fs.",
		ps->new_leader, (long long)ps->lost_bytes, ps->outage));
	return 0;
}

int repl_ptn_switchover_step(struct dbops_ctx *ctx,
			     const struct repl_spec *spec,
			     const struct dbops_change *change)
{
	const struct repl_payload *p = change->payload;

	switch (p->pstep) {
	case REPL_PSW_CHECK:
		return repl_psw_check(ctx, spec, p->ps);
	case REPL_PSW_SWITCH:
		return repl_psw_switch(ctx, spec, p->ps);
	case REPL_PSW_REJOIN:
		return repl_psw_rejoin(ctx, spec, p->ps);
	default:
		break;
	}
	return DBOPS_ERR_GENERIC;
}

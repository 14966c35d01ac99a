/* SPDX-License-Identifier: PostgreSQL */
/*
 * patroni.c — the parameters plugin on a cluster under Patroni. When the
 * replicas plugin says so (fact replicas.provider = patroni, with the REST
 * endpoints and credentials in replicas.patroni.*), settings are not
 * written with ALTER SYSTEM — postgresql.auto.conf would silently beat
 * Patroni's postgresql.conf on one member only — but into Patroni's
 * dynamic configuration, PATCH /config {"postgresql": {"parameters":
 * ...}}, which Patroni writes on every member and reloads.
 *
 * The configured value of a setting is then the DCS's
 * (postgresql.parameters), else what the server reads from its files.
 * Settings Patroni sets itself (on the postmaster's command line, or
 * synchronous_standby_names and the recovery settings) are refused, and so
 * are values below the minimum Patroni enforces (it would replace them by
 * its default). A restart-only setting makes each member pending_restart;
 * with replicas.patroni.restart: rolling the plan restarts them — replicas
 * one by one (POST /restart), a switchover to a restarted replica, then
 * the old primary — and without it the plan says a restart is due.
 *
 * The REST client is plugins/patroni.c, shared with the replicas plugin.
 * Only this file of the plugin talks to Patroni; it uses libpq for one
 * thing, resetting the main connection after the rolling restart's
 * switchover so that the run is recorded on the new primary.
 */
#include "parameters_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAR_PTN_PHASE_RESTART (DBOPS_PHASE_MONITORING + 5)

static const struct dbops_fact *par_fact(struct dbops_ctx *ctx,
					 const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_fact *const *facts = NULL;
	size_t n = 0;

	if (h->header.size <
		offsetof(struct dbops_host, facts) + sizeof(h->facts) ||
	    h->facts == NULL)
		return NULL;
	h->facts(&facts, &n, ctx, name);
	for (size_t i = 0; i < n; i++)
		if (strcmp(facts[i]->name, name) == 0)
			return facts[i];
	return NULL;
}

static const char *par_fact_text(struct dbops_ctx *ctx, const char *name)
{
	const struct dbops_fact *f = par_fact(ctx, name);

	return f != NULL && f->type == DBOPS_FACT_TEXT ? f->value : NULL;
}

bool par_ptn_active(struct dbops_ctx *ctx)
{
	const char *p = par_fact_text(ctx, "replicas.provider");

	return p != NULL && strcmp(p, "patroni") == 0;
}

bool par_ptn_rolling(struct dbops_ctx *ctx)
{
	const char *p = par_fact_text(ctx, "replicas.patroni.restart");

	return p != NULL && strcmp(p, "rolling") == 0;
}

int par_ptn_endpoint(struct patroni_endpoint **out, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct patroni_endpoint *ep = h->alloc(ctx, sizeof(*ep));
	const char *urls = par_fact_text(ctx, "replicas.patroni.urls");
	const char *timeout = par_fact_text(ctx, "replicas.patroni.timeout");
	const struct dbops_fact *pw =
	    par_fact(ctx, "replicas.patroni.password");
	const char **list;
	size_t n = 1;

	*out = ep;
	if (urls == NULL || urls[0] == '\0') {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			"the replicas plugin names no Patroni endpoint");
		return DBOPS_ERR_INVALID;
	}
	for (const char *p = urls; *p; p++)
		n += *p == ',';
	list = h->alloc(ctx, (n + 1) * sizeof(*list));
	n = 0;
	for (const char *p = urls;;) {
		size_t len = strcspn(p, ",");

		list[n++] = h->printf(ctx, "%.*s", (int)len, p);
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	ep->urls = list;
	ep->nurls = n;
	ep->username = par_fact_text(ctx, "replicas.patroni.username");
	ep->cafile = par_fact_text(ctx, "replicas.patroni.cafile");
	ep->timeout_ms = timeout != NULL ? strtol(timeout, NULL, 10) : 5000;
	if (pw != NULL && pw->type == DBOPS_FACT_SECRET)
		ep->password = &pw->secret;
	return 0;
}

int par_ptn_observe(struct par_live *live, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct patroni_endpoint *ep;
	const char *note = "";
	int err;

	live->patroni = true;
	if ((err = par_ptn_endpoint(&ep, ctx)) != 0 ||
	    (err = patroni_get_config(&live->ptn_config, ctx, ep)) != 0 ||
	    (err = patroni_get_cluster(&live->ptn_cluster, ctx, ep)) != 0)
		return err;
	for (size_t i = 0; i < live->ptn_config->nparams; i++)
		note = h->printf(ctx, "%s %s=%s", note,
				 live->ptn_config->params[i].name,
				 live->ptn_config->params[i].value);
	if (h->header.size >= offsetof(struct dbops_host, observe_note) +
				  sizeof(h->observe_note) &&
	    h->observe_note != NULL)
		h->observe_note(ctx, "parameters.patroni", note);
	return 0;
}

/* Settings Patroni sets itself, and the minimums it enforces. */
static const char *const par_ptn_owned[] = {
    "listen_addresses",
    "port",
    "cluster_name",
    "hot_standby",
    "synchronous_standby_names",
    "primary_conninfo",
    "primary_slot_name",
    "recovery_target",
    "restore_command",
};

static const struct {
	const char *name;
	double min; /* in the setting's base unit */
	const char *shown;
} par_ptn_minimums[] = {
    {"max_connections", 25, "25"},     {"max_locks_per_transaction", 32, "32"},
    {"max_worker_processes", 2, "2"},  {"max_wal_senders", 3, "3"},
    {"max_replication_slots", 4, "4"}, {"wal_keep_size", 16, "16MB"},
};

int par_ptn_check(struct dbops_ctx *ctx, const struct par_setting *s,
		  const struct par_value *want, const struct dbops_loc *loc)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d;

	for (size_t i = 0; i < sizeof(par_ptn_owned) / sizeof(par_ptn_owned[0]);
	     i++) {
		if (par_name_cmp(s->name, par_ptn_owned[i]) != 0)
			continue;
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, loc,
			    "parameter \"%s\" is set by Patroni", s->name);
		h->diag_detail(
		    ctx, d,
		    par_name_cmp(s->name, "synchronous_standby_names") == 0
			? "With synchronous_mode Patroni writes it from the replicas it chooses; anything else would be overwritten."
			: "Patroni sets it from its local configuration (the postmaster's command line or the recovery settings); neither ALTER SYSTEM nor its dynamic configuration changes it.");
		h->diag_hint(
		    ctx, d,
		    par_name_cmp(s->name, "synchronous_standby_names") == 0
			? "Use replicas.synchronous (mode first, count, strict)."
			: "Change it in each member's Patroni YAML (postgresql section).");
		return DBOPS_ERR_INVALID;
	}
	if (par_name_cmp(s->name, "wal_log_hints") == 0 && !want->boolean) {
		d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, loc,
		    "parameter \"wal_log_hints\" is always on under Patroni");
		h->diag_detail(ctx, d, "Patroni needs it for pg_rewind.");
		return DBOPS_ERR_INVALID;
	}
	for (size_t i = 0;
	     i < sizeof(par_ptn_minimums) / sizeof(par_ptn_minimums[0]); i++)
		if (par_name_cmp(s->name, par_ptn_minimums[i].name) == 0 &&
		    want->number < par_ptn_minimums[i].min) {
			d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, loc,
			    "parameter \"%s\" must be at least %s under Patroni",
			    s->name, par_ptn_minimums[i].shown);
			h->diag_detail(
			    ctx, d,
			    "Patroni replaces a smaller value by its default.");
			return DBOPS_ERR_INVALID;
		}
	return 0;
}

const char *par_ptn_sql(struct dbops_ctx *ctx, const char *name,
			const char *value)
{
	struct patroni_patch *p = patroni_patch_new(ctx);

	patroni_patch_param(p, name, value);
	return dbops_host(ctx)->printf(ctx, "PATCH /config %s",
				       patroni_patch_text(p));
}

/* ---- the rolling restart */

enum par_rr_step {
	PAR_RR_REPLICA = 1, /* POST /restart on a replica */
	PAR_RR_SWITCHOVER,  /* to a restarted replica */
	PAR_RR_OLD_PRIMARY, /* POST /restart on the old primary */
};

struct par_rr_state {
	const char *leader;
	const char *new_leader;
};

struct par_rr_payload {
	struct par_payload base; /* first: par_apply reads it */
	enum par_rr_step step;
	const char *member;
	struct par_rr_state *st;
};

static int par_rr_member_cmp(const void *a, const void *b)
{
	const struct patroni_member *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void par_ptn_plan_restart(struct dbops_ctx *ctx, const struct par_live *live,
			  bool needed, const struct dbops_loc *loc)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct patroni_cluster *c = live->ptn_cluster;
	const struct patroni_member *leader = patroni_leader(c);
	struct patroni_member *sorted;
	struct par_rr_state *st;
	unsigned long order = 1;
	bool pending = false;
	size_t n = 0;

	for (size_t i = 0; c != NULL && i < c->nmembers; i++)
		pending |= c->members[i].pending_restart;
	if (!needed && !pending)
		return;
	if (!par_ptn_rolling(ctx) || leader == NULL) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, loc,
		    needed
			? "the plan changes settings that take effect only when each Patroni member restarts"
			: "Patroni members wait for a restart to take a changed setting");

		h->diag_detail(
		    ctx, d,
		    "replicas.patroni.restart is \"never\": dbops does not restart members.");
		h->diag_hint(
		    ctx, d,
		    "Restart them through Patroni, replicas first (patronictl restart --pending), or set replicas.patroni.restart: rolling.");
		return;
	}
	if (c->pause) {
		h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, loc,
		    "Patroni is paused: the rolling restart is not planned");
		return;
	}
	sorted = h->alloc(ctx, (c->nmembers + 1) * sizeof(*sorted));
	for (size_t i = 0; i < c->nmembers; i++)
		if (&c->members[i] != leader)
			sorted[n++] = c->members[i];
	qsort(sorted, n, sizeof(*sorted), par_rr_member_cmp);
	st = h->alloc(ctx, sizeof(*st));
	st->leader = leader->name;
	for (size_t i = 0; i <= n + 1; i++) {
		struct par_rr_payload *pl = h->alloc(ctx, sizeof(*pl));
		struct dbops_change *ch;

		pl->st = st;
		if (i < n) {
			pl->step = PAR_RR_REPLICA;
			pl->member = sorted[i].name;
		} else if (i == n) {
			pl->step = PAR_RR_SWITCHOVER;
		} else {
			pl->step = PAR_RR_OLD_PRIMARY;
			pl->member = leader->name;
		}
		ch = h->change_new(
		    ctx, DBOPS_ACTION_RESTART,
		    pl->step == PAR_RR_SWITCHOVER
			? h->printf(ctx, "parameters.restart.%lu-switchover",
				    order)
			: h->printf(ctx, "parameters.restart.%lu-%s", order,
				    pl->member));
		ch->phase = PAR_PTN_PHASE_RESTART;
		ch->order = order++;
		ch->flags = DBOPS_CHANGE_NONTX;
		ch->loc = *loc;
		ch->payload = pl;
		switch (pl->step) {
		case PAR_RR_REPLICA:
			ch->reason =
			    "restart a replica while the primary serves";
			ch->sql = h->printf(
			    ctx,
			    "POST /restart {\"restart_pending\": true} on \"%s\"\nwait until it runs and replicates again",
			    pl->member);
			break;
		case PAR_RR_SWITCHOVER:
			ch->reason =
			    "hand the primary to a restarted replica; writes stop for seconds";
			ch->sql = h->printf(
			    ctx,
			    "POST /switchover {\"leader\": \"%s\", \"candidate\": (a restarted %s)}",
			    leader->name,
			    live->ptn_config->synchronous_mode
				? "synchronous standby"
				: "replica");
			break;
		case PAR_RR_OLD_PRIMARY:
			ch->reason = "restart the old primary, now a replica";
			ch->sql = h->printf(
			    ctx,
			    "POST /restart {\"restart_pending\": true} on \"%s\"\nwait until it runs and replicates again",
			    pl->member);
			break;
		}
	}
}

static void par_rr_sleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static double par_rr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define PAR_RR_WAIT 180 /* seconds a member may take to come back */

/* Restart one member once Patroni says it is pending, and wait until it
 * runs and replicates again. */
static int par_rr_restart(struct dbops_ctx *ctx,
			  const struct patroni_endpoint *ep, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	double t0 = par_rr_now(), deadline = t0 + PAR_RR_WAIT;
	const struct patroni_member *m;
	struct patroni_cluster *c;
	bool restarted = false;
	int err;

	for (;;) {
		if ((err = patroni_get_cluster(&c, ctx, ep)) != 0)
			return err;
		if ((m = patroni_member_find(c, name)) == NULL) {
			h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, NULL,
				"Patroni member \"%s\" is gone", name);
			return DBOPS_ERR_NOTFOUND;
		}
		if (!restarted && m->pending_restart &&
		    patroni_state_running(m->state)) {
			if ((err = patroni_restart(ctx, ep, m)) != 0)
				return err;
			restarted = true;
			continue;
		}
		/* back: runs, replicates (a replica's lag is known), and no
		 * longer pending */
		if ((restarted || par_rr_now() - t0 > 10) &&
		    patroni_state_running(m->state) && !m->pending_restart &&
		    (strcmp(m->role, "leader") == 0 || m->lag >= 0))
			break;
		if (par_rr_now() > deadline) {
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
			    "Patroni member \"%s\" did not come back from its restart within %ds",
			    name, PAR_RR_WAIT);
			return DBOPS_ERR_TRANSIENT;
		}
		par_rr_sleep(200);
	}
	dbops_host(ctx)->out(ctx, "  %s %s in %.1fs\n", name,
			     restarted ? "restarted and replicates again"
				       : "needed no restart",
			     par_rr_now() - t0);
	return 0;
}

/* The main connection, again, after the primary moved. */
static void par_rr_reconnect(struct dbops_ctx *ctx)
{
	PGconn *conn = dbops_host(ctx)->pgconn(ctx);
	PGresult *r;
	bool primary;

	if (conn == NULL)
		return;
	r = PQexec(conn, "SELECT pg_is_in_recovery()");
	primary = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		  strcmp(PQgetvalue(r, 0, 0), "f") == 0;
	PQclear(r);
	if (!primary)
		PQreset(conn);
}

static int par_rr_switchover(struct dbops_ctx *ctx,
			     const struct patroni_endpoint *ep,
			     struct par_rr_state *st)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct patroni_member *leader, *to = NULL;
	struct patroni_cluster *c;
	struct patroni_config *cfg;
	const char *message;
	double deadline;
	int status, err;

	if ((err = patroni_get_cluster(&c, ctx, ep)) != 0 ||
	    (err = patroni_get_config(&cfg, ctx, ep)) != 0)
		return err;
	leader = patroni_leader(c);
	if (leader == NULL || strcmp(leader->name, st->leader) != 0) {
		h->log(ctx, DBOPS_LOG_INFO,
		       "\"%s\" is no longer the leader: no switchover",
		       st->leader);
		st->new_leader = leader != NULL ? leader->name : NULL;
		return 0;
	}
	for (size_t i = 0; i < c->nmembers && to == NULL; i++) {
		const struct patroni_member *m = &c->members[i];

		if (m != leader && !m->nofailover && !m->pending_restart &&
		    patroni_state_running(m->state) && m->lag >= 0 &&
		    (!cfg->synchronous_mode ||
		     strcmp(m->role, "sync_standby") == 0))
			to = m;
	}
	if (to == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
			"no restarted replica may take over from \"%s\"",
			leader->name);
		return DBOPS_ERR_CONFLICT;
	}
	if ((err = patroni_switchover(&message, &status, ctx, ep, leader->name,
				      to->name, NULL)) != 0)
		return err;
	h->out(ctx, "  Patroni: %s\n", message);
	deadline = par_rr_now() + PAR_RR_WAIT;
	for (;;) {
		const struct patroni_member *l;

		if (patroni_get_cluster(&c, ctx, ep) == 0 &&
		    (l = patroni_leader(c)) != NULL &&
		    strcmp(l->name, st->leader) != 0 &&
		    patroni_state_running(l->state)) {
			st->new_leader = l->name;
			break;
		}
		if (par_rr_now() > deadline) {
			h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
				"no new leader after the switchover");
			return DBOPS_ERR_TRANSIENT;
		}
		par_rr_sleep(200);
	}
	par_rr_reconnect(ctx);
	return 0;
}

bool par_ptn_is_restart(const struct dbops_change *change)
{
	return strncmp(change->address, "parameters.restart.", 19) == 0;
}

int par_ptn_apply_restart(struct dbops_ctx *ctx,
			  const struct dbops_change *change)
{
	const struct par_rr_payload *pl = change->payload;
	struct patroni_endpoint *ep;
	int err;

	if ((err = par_ptn_endpoint(&ep, ctx)) != 0)
		return err;
	switch (pl->step) {
	case PAR_RR_REPLICA:
	case PAR_RR_OLD_PRIMARY:
		return par_rr_restart(ctx, ep, pl->member);
	case PAR_RR_SWITCHOVER:
		return par_rr_switchover(ctx, ep, pl->st);
	}
	return DBOPS_ERR_GENERIC;
}

/* PATCH one setting, then wait until the primary runs it or waits for a
 * restart for it (Patroni reloads each member on its next loop). */
int par_ptn_apply(struct dbops_ctx *ctx, const struct par_setting *s,
		  const struct par_value *want, const char *value)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *params[1] = {s->name};
	struct patroni_endpoint *ep;
	struct patroni_config *cfg;
	struct patroni_patch *p = patroni_patch_new(ctx);
	double deadline;
	int err;

	if ((err = par_ptn_endpoint(&ep, ctx)) != 0 ||
	    (err = patroni_get_config(&cfg, ctx, ep)) != 0)
		return err;
	if (patroni_param(cfg, s->name) != NULL &&
	    strcmp(patroni_param(cfg, s->name), value) == 0) {
		h->log(
		    ctx, DBOPS_LOG_INFO,
		    "parameter \"%s\" is already %s in Patroni's configuration",
		    s->name, value);
	} else {
		patroni_patch_param(p, s->name, value);
		if ((err = patroni_patch_config(NULL, ctx, ep, p)) != 0)
			return err;
	}
	deadline = par_rr_now() + 60;
	for (;;) {
		struct dbops_rows *rows;
		struct par_value run;
		const char *setting, *pending;

		if ((err =
			 h->query(&rows, ctx,
				  "SELECT setting, pending_restart::text AS p "
				  "FROM pg_catalog.pg_settings WHERE name = $1",
				  1, params)) != 0)
			return err;
		setting = rows->nrows ? h->rows_get(rows, 0, "setting") : NULL;
		pending = rows->nrows ? h->rows_get(rows, 0, "p") : NULL;
		if ((setting != NULL &&
		     par_value_parse(&run, NULL, ctx, s, setting) == 0 &&
		     par_value_equal(s, &run, want, true)) ||
		    (pending != NULL && strcmp(pending, "true") == 0))
			return 0;
		if (par_rr_now() > deadline) {
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
			    "Patroni did not reload \"%s\" on the primary within 60s",
			    s->name);
			return DBOPS_ERR_TRANSIENT;
		}
		par_rr_sleep(200);
	}
}

void par_ptn_verify(struct dbops_ctx *ctx, const struct dbops_loc *loc)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct patroni_endpoint *ep;
	struct patroni_cluster *c;

	if (par_ptn_endpoint(&ep, ctx) != 0 ||
	    patroni_get_cluster(&c, ctx, ep) != 0)
		return;
	for (size_t i = 0; i < c->nmembers; i++)
		if (c->members[i].pending_restart)
			h->diag(
			    ctx, DBOPS_SEV_WARNING, 0, loc,
			    "Patroni member \"%s\" needs a restart for a changed setting",
			    c->members[i].name);
}

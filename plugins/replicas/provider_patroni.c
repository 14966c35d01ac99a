/* SPDX-License-Identifier: PostgreSQL */
/*
 * provider_patroni.c — the "patroni" provider: Patroni owns replication,
 * so the replication settings of the spec become keys of Patroni's
 * dynamic configuration, changed with PATCH /config and never with ALTER
 * SYSTEM (Patroni would overwrite both, and it owns
 * synchronous_standby_names):
 *
 *   synchronous.mode off|first  → synchronous_mode
 *   synchronous.count           → synchronous_node_count
 *   synchronous.strict          → synchronous_mode_strict
 *   max_lag.bytes               → maximum_lag_on_failover
 *   slots                       → postgresql.use_slots
 *   settings.NAME               → postgresql.parameters.NAME
 *
 * Observe reads GET /cluster and GET /config (plugins/patroni.c); diff
 * plans one change per key that differs; apply PATCHes it and waits
 * (wait_timeout) until the cluster shows the effect. Members' tags
 * (nofailover, noloadbalance, nosync) are Patroni's local configuration,
 * not dynamic: they are compared and reported, not written. Status shows
 * the leader, the members, pause and the failover readiness, and exports
 * them as metrics. Switchover and the failover drill are in
 * patroni_switchover.c and drill.c.
 */
#include "replicas_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	REPL_PTN_PHASE_SETTINGS = DBOPS_PHASE_REPLICAS,
	REPL_PTN_PHASE_SYNC = DBOPS_PHASE_REPLICAS + 3,
};

int repl_ptn_wait_replica(const struct patroni_member **out,
			  struct dbops_ctx *ctx, const struct repl_spec *spec,
			  const char *name, const char *who)
{
	const struct dbops_host *h = dbops_host(ctx);
	double deadline = repl_now() + spec->wait_seconds;
	const struct patroni_member *m;
	struct patroni_cluster *c;

	for (;;) {
		if (patroni_get_cluster(&c, ctx, &spec->patroni.ep) == 0 &&
		    (m = patroni_member_find(c, name)) != NULL &&
		    strcmp(m->role, "leader") != 0 &&
		    patroni_state_running(m->state) && m->lag >= 0) {
			*out = m;
			return 0;
		}
		if (repl_now() > deadline) {
			h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
				"%s \"%s\" did not run as a replica within %ds",
				who, name, spec->wait_seconds);
			return DBOPS_ERR_TRANSIENT;
		}
		repl_sleep_ms(200);
	}
}

const char *repl_ptn_address(struct dbops_ctx *ctx, enum repl_ptn_key key,
			     const char *param)
{
	const struct dbops_host *h = dbops_host(ctx);

	switch (key) {
	case REPL_PTN_PARAM:
		return h->printf(
		    ctx, "replicas.patroni.postgresql.parameters.%s", param);
	case REPL_PTN_USE_SLOTS:
		return "replicas.patroni.postgresql.use_slots";
	case REPL_PTN_MAX_LAG:
		return "replicas.patroni.maximum_lag_on_failover";
	case REPL_PTN_SYNC_MODE:
		return "replicas.patroni.synchronous_mode";
	case REPL_PTN_SYNC_COUNT:
		return "replicas.patroni.synchronous_node_count";
	case REPL_PTN_SYNC_STRICT:
		return "replicas.patroni.synchronous_mode_strict";
	}
	return "replicas.patroni";
}

const char *repl_ptn_conninfo(const char **password_out, struct dbops_ctx *ctx,
			      const struct repl_spec *spec,
			      const struct patroni_cluster *c)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *user = repl_conn_param(ctx, "user");
	const char *db = repl_conn_param(ctx, "dbname");
	const char *hosts = "", *ports = "";

	if (spec->nmembers > 0) {
		for (size_t i = 0; i < spec->nmembers; i++) {
			hosts = h->printf(ctx, "%s%s%s", hosts, i ? "," : "",
					  spec->members[i].host);
			ports = h->printf(ctx, "%s%s%d", ports, i ? "," : "",
					  spec->members[i].port);
		}
	} else {
		for (size_t i = 0; c != NULL && i < c->nmembers; i++) {
			const struct patroni_member *m = &c->members[i];

			if (m->host == NULL || m->port == 0)
				continue;
			hosts = h->printf(ctx, "%s%s%s", hosts,
					  hosts[0] ? "," : "", m->host);
			ports = h->printf(ctx, "%s%s%d", ports,
					  ports[0] ? "," : "", m->port);
		}
	}
	*password_out = repl_conn_param(ctx, "password");
	return h->printf(ctx,
			 "host=%s port=%s dbname=%s%s%s "
			 "target_session_attrs=read-write connect_timeout=2 "
			 "application_name=dbops",
			 hosts, ports, db ? db : "postgres",
			 user ? " user=" : "", user ? user : "");
}

/* ---- observe */

static int repl_ptn_observe(struct repl_live *live, struct dbops_ctx *ctx,
			    const struct repl_spec *spec)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct patroni_config *cfg;
	const struct patroni_member *leader;
	const char *note;
	int err;

	if ((err = patroni_get_cluster(&live->ptn_cluster, ctx,
				       &spec->patroni.ep)) != 0 ||
	    (err = patroni_get_config(&live->ptn_config, ctx,
				      &spec->patroni.ep)) != 0)
		return err;
	cfg = live->ptn_config;
	leader = patroni_leader(live->ptn_cluster);
	/* what the plan depends on: a saved plan goes stale when the
	 * configuration, the leader or the pause changes (not the lag) */
	note = h->printf(
	    ctx,
	    "leader=%s pause=%d sync=%d strict=%d count=%lld lag=%lld "
	    "slots=%d",
	    leader ? leader->name : "", live->ptn_cluster->pause,
	    cfg->synchronous_mode, cfg->synchronous_mode_strict,
	    (long long)cfg->synchronous_node_count,
	    (long long)cfg->maximum_lag_on_failover, cfg->use_slots);
	for (size_t i = 0; i < spec->nsettings; i++) {
		const char *v = patroni_param(cfg, spec->settings[i].name);

		note = h->printf(ctx, "%s %s=%s", note, spec->settings[i].name,
				 v ? v : "(unset)");
	}
	repl_host_note(ctx, "replicas.patroni", note);
	return 0;
}

/* ---- diff */

static struct dbops_change *repl_ptn_change(struct dbops_ctx *ctx,
					    const struct repl_spec *spec,
					    enum repl_ptn_key key,
					    const char *param,
					    struct patroni_patch *patch)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_change *c = h->change_new(
	    ctx, DBOPS_ACTION_UPDATE, repl_ptn_address(ctx, key, param));
	struct repl_payload *p = h->alloc(ctx, sizeof(*p));

	p->op = REPL_OP_PATRONI;
	p->spec = spec;
	p->key = key;
	p->name = param;
	c->payload = p;
	c->flags = DBOPS_CHANGE_NONTX;
	c->phase = key == REPL_PTN_PARAM || key == REPL_PTN_USE_SLOTS ||
			   key == REPL_PTN_MAX_LAG
		       ? REPL_PTN_PHASE_SETTINGS
		       : REPL_PTN_PHASE_SYNC;
	c->sql = h->printf(ctx, "PATCH /config %s", patroni_patch_text(patch));
	c->loc = spec->loc;
	return c;
}

static const char *repl_ptn_bool(bool v, bool set)
{
	if (set)
		return v ? "true" : "false";
	return v ? "true (default)" : "false (default)";
}

static void repl_ptn_diff_settings(struct dbops_ctx *ctx,
				   const struct repl_spec *spec,
				   const struct repl_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t i = 0; i < spec->nsettings; i++) {
		const struct repl_setting_spec *st = &spec->settings[i];
		const struct repl_setting_live *ls =
		    repl_live_setting(live, st->name);
		const char *dcs = patroni_param(live->ptn_config, st->name);
		struct patroni_patch *patch;
		struct repl_setting_live probe;
		struct dbops_change *c;
		struct repl_payload *p;

		memset(&probe, 0, sizeof(probe));
		probe.name = st->name;
		if (ls == NULL)
			ls = &probe;
		/* not in the DCS: the running value (Patroni's default or
		 * its local configuration) counts when it is already right */
		if (dcs != NULL
			? repl_setting_equal(ls, dcs, st->value)
			: repl_setting_equal(ls, ls->setting, st->value))
			continue;
		patch = patroni_patch_new(ctx);
		patroni_patch_param(patch, st->name, st->value);
		c = repl_ptn_change(ctx, spec, REPL_PTN_PARAM, st->name, patch);
		c->loc = st->loc;
		c->order = 1;
		if (ls->context != NULL &&
		    strcmp(ls->context, "postmaster") == 0) {
			c->flags |= DBOPS_CHANGE_NEEDS_RESTART;
			c->reason =
			    "Patroni writes it on every member; takes effect when each restarts (pending_restart)";
		} else
			c->reason =
			    "Patroni writes it on every member and reloads";
		h->change_attr(ctx, c, "value",
			       dcs != NULL
				   ? dcs
				   : h->printf(ctx, "%s (not in the DCS)",
					       ls->setting ? ls->setting : "?"),
			       st->value, false);
		p = c->payload;
		p->value = st->value;
	}
}

static int repl_ptn_eligible_sync(const struct repl_live *live,
				  const struct patroni_member *leader)
{
	const struct patroni_cluster *cl = live->ptn_cluster;
	int n = 0;

	for (size_t i = 0; i < cl->nmembers; i++) {
		const struct patroni_member *m = &cl->members[i];

		if (m != leader && !m->nosync &&
		    patroni_state_running(m->state) && m->lag >= 0)
			n++;
	}
	return n;
}

static void repl_ptn_diff_sync(struct dbops_ctx *ctx,
			       const struct repl_spec *spec,
			       const struct repl_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct patroni_config *cfg = live->ptn_config;
	bool want = spec->sync_mode != REPL_SYNC_OFF;
	bool strict = want && spec->sync_strict;
	struct patroni_patch *patch;
	struct dbops_change *c;
	struct repl_payload *p;
	int eligible;

	if (cfg->synchronous_mode != want) {
		patch = patroni_patch_new(ctx);
		patroni_patch_bool(patch, "synchronous_mode", want);
		c = repl_ptn_change(ctx, spec, REPL_PTN_SYNC_MODE, NULL, patch);
		c->order = want ? 4 : 6;
		c->loc = spec->sync_loc.file ? spec->sync_loc : spec->loc;
		c->reason =
		    want
			? "Patroni chooses the synchronous standbys and writes synchronous_standby_names"
			: "replication becomes asynchronous";
		h->change_attr(ctx, c, "value",
			       repl_ptn_bool(cfg->synchronous_mode,
					     cfg->set & PATRONI_SET_SYNC_MODE),
			       want ? "true" : "false", false);
		((struct repl_payload *)c->payload)->bvalue = want;
	}
	if (want && cfg->synchronous_node_count != spec->sync_count) {
		patch = patroni_patch_new(ctx);
		patroni_patch_int(patch, "synchronous_node_count",
				  spec->sync_count);
		c = repl_ptn_change(ctx, spec, REPL_PTN_SYNC_COUNT, NULL,
				    patch);
		c->order = 5;
		c->loc = spec->sync_loc;
		h->change_attr(
		    ctx, c, "value",
		    h->printf(
			ctx, "%lld%s", (long long)cfg->synchronous_node_count,
			cfg->set & PATRONI_SET_SYNC_COUNT ? "" : " (default)"),
		    h->printf(ctx, "%d", spec->sync_count), false);
		p = c->payload;
		p->ivalue = spec->sync_count;
	}
	if (cfg->synchronous_mode_strict == strict)
		return;
	eligible =
	    repl_ptn_eligible_sync(live, patroni_leader(live->ptn_cluster));
	if (strict && eligible < spec->sync_count) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, &spec->sync_loc,
		    "synchronous_mode_strict is held back: %d replica%s may be synchronous now, and %d must",
		    eligible, eligible == 1 ? "" : "s", spec->sync_count);

		h->diag_detail(
		    ctx, d,
		    "In strict mode the primary stops taking writes while it has fewer synchronous standbys than synchronous_node_count.");
		h->diag_hint(
		    ctx, d,
		    "Start the replicas (dbops status shows them); the next apply sets it.");
		return;
	}
	patch = patroni_patch_new(ctx);
	patroni_patch_bool(patch, "synchronous_mode_strict", strict);
	c = repl_ptn_change(ctx, spec, REPL_PTN_SYNC_STRICT, NULL, patch);
	c->order = strict ? 6 : 3;
	c->loc = spec->sync_loc.file ? spec->sync_loc : spec->loc;
	c->reason = strict ? "with no synchronous standby, writes wait rather "
			     "than go on asynchronously"
			   : NULL;
	h->change_attr(ctx, c, "value",
		       repl_ptn_bool(cfg->synchronous_mode_strict,
				     cfg->set & PATRONI_SET_SYNC_STRICT),
		       strict ? "true" : "false", false);
	((struct repl_payload *)c->payload)->bvalue = strict;
}

static void repl_ptn_diff_other(struct dbops_ctx *ctx,
				const struct repl_spec *spec,
				const struct repl_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct patroni_config *cfg = live->ptn_config;
	struct patroni_patch *patch;
	struct dbops_change *c;

	if (spec->slots_set && cfg->use_slots != spec->slots) {
		patch = patroni_patch_new(ctx);
		patroni_patch_pg_bool(patch, "use_slots", spec->slots);
		c = repl_ptn_change(ctx, spec, REPL_PTN_USE_SLOTS, NULL, patch);
		c->order = 2;
		c->reason = "Patroni keeps a physical slot per member";
		h->change_attr(ctx, c, "value",
			       repl_ptn_bool(cfg->use_slots,
					     cfg->set & PATRONI_SET_USE_SLOTS),
			       spec->slots ? "true" : "false", false);
		((struct repl_payload *)c->payload)->bvalue = spec->slots;
	}
	if (spec->max_lag_bytes >= 0 &&
	    cfg->maximum_lag_on_failover != spec->max_lag_bytes) {
		struct repl_payload *p;

		patch = patroni_patch_new(ctx);
		patroni_patch_int(patch, "maximum_lag_on_failover",
				  spec->max_lag_bytes);
		c = repl_ptn_change(ctx, spec, REPL_PTN_MAX_LAG, NULL, patch);
		c->order = 3;
		c->reason =
		    "a replica lagging more takes no part in a failover";
		h->change_attr(
		    ctx, c, "value",
		    h->printf(
			ctx, "%lld%s", (long long)cfg->maximum_lag_on_failover,
			cfg->set & PATRONI_SET_MAX_LAG ? "" : " (default)"),
		    h->printf(ctx, "%lld", (long long)spec->max_lag_bytes),
		    false);
		p = c->payload;
		p->ivalue = spec->max_lag_bytes;
	}
}

/* The spec's members against Patroni's: missing ones, other addresses,
 * other tags (local configuration: reported, not written). */
static void repl_ptn_diff_members(struct dbops_ctx *ctx,
				  const struct repl_spec *spec,
				  const struct repl_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t i = 0; i < spec->nmembers; i++) {
		const struct repl_member_spec *ms = &spec->members[i];
		const struct patroni_member *m =
		    patroni_member_find(live->ptn_cluster, ms->name);
		const char *want = "", *have = "";
		struct dbops_diag *d;

		if (m == NULL) {
			h->diag(
			    ctx, DBOPS_SEV_WARNING, 0, &ms->loc,
			    "member \"%s\" is not a member of the Patroni cluster",
			    ms->name);
			continue;
		}
		if (m->host != NULL && m->port != 0 &&
		    (strcmp(m->host, ms->host) != 0 || m->port != ms->port))
			h->diag(
			    ctx, DBOPS_SEV_WARNING, 0, &ms->loc,
			    "member \"%s\" runs at %s:%d, the spec says %s:%d",
			    ms->name, m->host, m->port, ms->host, ms->port);
		if (m->nofailover == ms->nofailover &&
		    m->noloadbalance == ms->noloadbalance &&
		    m->nosync == !ms->sync)
			continue;
		want = h->printf(
		    ctx, "nofailover: %s, noloadbalance: %s, nosync: %s",
		    ms->nofailover ? "true" : "false",
		    ms->noloadbalance ? "true" : "false",
		    ms->sync ? "false" : "true");
		have = h->printf(
		    ctx, "nofailover: %s, noloadbalance: %s, nosync: %s",
		    m->nofailover ? "true" : "false",
		    m->noloadbalance ? "true" : "false",
		    m->nosync ? "true" : "false");
		d = h->diag(ctx, DBOPS_SEV_WARNING, 0, &ms->loc,
			    "member \"%s\" has tags {%s}, the spec says {%s}",
			    ms->name, have, want);
		h->diag_detail(
		    ctx, d,
		    "Tags are Patroni's local configuration, not its dynamic configuration: dbops does not write them.");
		h->diag_hint(
		    ctx, d,
		    "Set them under tags: in the member's Patroni YAML, then reload it (patronictl reload).");
	}
}

static int repl_ptn_diff(struct dbops_ctx *ctx, const struct repl_spec *spec,
			 const struct repl_live *live, const char *mode,
			 const char *to)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (mode != NULL && strcmp(mode, "switchover") == 0)
		return repl_ptn_switchover_plan(ctx, spec, live, to);
	if (mode != NULL && strcmp(mode, "drill failover") == 0)
		return repl_drill_plan(ctx, spec, live);
	if (live->ptn_cluster->pause) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_WARNING, 0, &spec->patroni.loc,
			    "Patroni is paused (maintenance mode)");

		h->diag_detail(
		    ctx, d,
		    "Changes to the dynamic configuration are stored, but Patroni neither fails over nor manages synchronous replication until it resumes.");
	}
	repl_ptn_diff_members(ctx, spec, live);
	repl_ptn_diff_settings(ctx, spec, live);
	repl_ptn_diff_other(ctx, spec, live);
	repl_ptn_diff_sync(ctx, spec, live);
	return 0;
}

/* ---- apply */

/* Whether the configuration already has the change's value. */
static bool repl_ptn_done(const struct repl_payload *p,
			  const struct patroni_config *cfg,
			  const struct repl_live *live)
{
	switch (p->key) {
	case REPL_PTN_PARAM: {
		const char *v = patroni_param(cfg, p->name);
		struct repl_setting_live probe;
		const struct repl_setting_live *ls =
		    live ? repl_live_setting(live, p->name) : NULL;

		memset(&probe, 0, sizeof(probe));
		probe.name = p->name;
		return v != NULL &&
		       repl_setting_equal(ls ? ls : &probe, v, p->value);
	}
	case REPL_PTN_USE_SLOTS:
		return cfg->use_slots == p->bvalue;
	case REPL_PTN_MAX_LAG:
		return cfg->maximum_lag_on_failover == p->ivalue;
	case REPL_PTN_SYNC_MODE:
		return cfg->synchronous_mode == p->bvalue;
	case REPL_PTN_SYNC_COUNT:
		return cfg->synchronous_node_count == p->ivalue;
	case REPL_PTN_SYNC_STRICT:
		return cfg->synchronous_mode_strict == p->bvalue;
	}
	return false;
}

static const char *repl_ptn_ssn(struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows;

	if (h->query(&rows, ctx,
		     "SELECT current_setting('synchronous_standby_names') AS v",
		     0, NULL) != 0)
		return NULL;
	return h->rows_get(rows, 0, "v");
}

static int repl_ptn_count_role(const struct patroni_cluster *c,
			       const char *role)
{
	int n = 0;

	for (size_t i = 0; i < c->nmembers; i++)
		if (strcmp(c->members[i].role, role) == 0)
			n++;
	return n;
}

/* Whether the cluster shows the effect of the change (one look). */
static int repl_ptn_effect(bool *seen, const char **what, struct dbops_ctx *ctx,
			   const struct repl_payload *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct repl_spec *spec = p->spec;
	struct patroni_cluster *c;
	const char *ssn;
	int err, want;

	*seen = true;
	if (p->key != REPL_PTN_SYNC_MODE && p->key != REPL_PTN_SYNC_COUNT &&
	    p->key != REPL_PTN_PARAM)
		return 0;
	if ((err = patroni_get_cluster(&c, ctx, &spec->patroni.ep)) != 0)
		return err;
	if (p->key == REPL_PTN_PARAM) {
		/* Patroni reloads each member on its next loop */
		const char *params[1] = {p->name};
		struct dbops_rows *rows;
		struct repl_setting_live ls;

		if ((err = h->query(&rows, ctx,
				    "SELECT name, setting, unit, context, "
				    "pending_restart FROM pg_settings WHERE "
				    "name = $1",
				    1, params)) != 0)
			return err;
		if (rows->nrows == 0)
			return 0;
		memset(&ls, 0, sizeof(ls));
		ls.name = p->name;
		ls.unit = h->rows_get(rows, 0, "unit");
		*seen =
		    repl_setting_equal(&ls, h->rows_get(rows, 0, "setting"),
				       p->value) ||
		    strcmp(h->rows_get(rows, 0, "pending_restart"), "t") == 0;
		*what = h->printf(ctx, "the primary runs %s = %s", p->name,
				  p->value);
		return 0;
	}
	ssn = repl_ptn_ssn(ctx);
	want =
	    p->key == REPL_PTN_SYNC_MODE && !p->bvalue ? 0 : spec->sync_count;
	{
		int eligible = 0;

		for (size_t i = 0; i < c->nmembers; i++)
			if (strcmp(c->members[i].role, "leader") != 0 &&
			    !c->members[i].nosync &&
			    patroni_state_running(c->members[i].state))
				eligible++;
		if (want > eligible)
			want = eligible;
	}
	*seen = repl_ptn_count_role(c, "sync_standby") == want && ssn != NULL &&
		(want == 0) == (ssn[0] == '\0');
	*what =
	    h->printf(ctx,
		      "%d synchronous standby%s in GET /cluster, "
		      "synchronous_standby_names '%s'",
		      repl_ptn_count_role(c, "sync_standby"),
		      repl_ptn_count_role(c, "sync_standby") == 1 ? "" : "s",
		      ssn ? ssn : "?");
	return 0;
}

static int repl_ptn_apply_patch(struct dbops_ctx *ctx,
				const struct dbops_change *change)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct repl_payload *p = change->payload;
	const struct repl_spec *spec = p->spec;
	struct patroni_config *cfg;
	struct patroni_patch *patch = patroni_patch_new(ctx);
	double t0 = repl_now(), deadline = t0 + spec->wait_seconds;
	const char *what = "";
	bool seen;
	int err;

	if ((err = patroni_get_config(&cfg, ctx, &spec->patroni.ep)) != 0)
		return err;
	if (repl_ptn_done(p, cfg, NULL)) {
		h->log(ctx, DBOPS_LOG_INFO, "%s is set already",
		       change->address);
	} else {
		switch (p->key) {
		case REPL_PTN_PARAM:
			patroni_patch_param(patch, p->name, p->value);
			break;
		case REPL_PTN_USE_SLOTS:
			patroni_patch_pg_bool(patch, "use_slots", p->bvalue);
			break;
		case REPL_PTN_MAX_LAG:
			patroni_patch_int(patch, "maximum_lag_on_failover",
					  p->ivalue);
			break;
		case REPL_PTN_SYNC_MODE:
			patroni_patch_bool(patch, "synchronous_mode",
					   p->bvalue);
			break;
		case REPL_PTN_SYNC_COUNT:
			patroni_patch_int(patch, "synchronous_node_count",
					  p->ivalue);
			break;
		case REPL_PTN_SYNC_STRICT:
			patroni_patch_bool(patch, "synchronous_mode_strict",
					   p->bvalue);
			break;
		}
		if ((err = patroni_patch_config(&cfg, ctx, &spec->patroni.ep,
						patch)) != 0)
			return err;
		if (!repl_ptn_done(p, cfg, NULL)) {
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT,
			    &change->loc,
			    "Patroni accepted the PATCH but its configuration does not hold the value of %s",
			    change->address);
			return DBOPS_ERR_CONFLICT;
		}
	}
	for (;;) {
		if ((err = repl_ptn_effect(&seen, &what, ctx, p)) != 0)
			return err;
		if (seen)
			break;
		if (repl_now() > deadline || h->cancelled(ctx)) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT,
			    &change->loc, "Patroni did not apply %s within %ds",
			    change->address, spec->wait_seconds);

			h->diag_detail(ctx, d, "Last seen: %s.", what);
			h->diag_hint(
			    ctx, d,
			    "The value is in Patroni's configuration; see the Patroni logs of the members.");
			return DBOPS_ERR_TRANSIENT;
		}
		repl_sleep_ms(200);
	}
	if (what[0] != '\0')
		repl_host_out(
		    ctx, h->printf(ctx, "  Patroni applied it in %.1fs: %s",
				   repl_now() - t0, what));
	return 0;
}

static int repl_ptn_apply(struct dbops_ctx *ctx,
			  const struct dbops_change *change)
{
	const struct repl_payload *p = change->payload;

	switch (p->op) {
	case REPL_OP_PATRONI:
		return repl_ptn_apply_patch(ctx, change);
	case REPL_OP_PATRONI_SWITCHOVER:
		return repl_ptn_switchover_step(ctx, p->spec, change);
	case REPL_OP_DRILL:
		return repl_drill_step(ctx, p->spec, change);
	default:
		break;
	}
	dbops_host(ctx)->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			      "unknown replicas change \"%s\"",
			      change->address);
	return DBOPS_ERR_GENERIC;
}

/* ---- status */

static bool repl_ptn_has_metric(const struct dbops_host *h)
{
	return h->header.size >=
		   offsetof(struct dbops_host, metric) + sizeof(h->metric) &&
	       h->metric != NULL;
}

static void repl_ptn_metric(struct dbops_ctx *ctx, const char *name,
			    const char *member, double v, const char *help)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (!repl_ptn_has_metric(h))
		return;
	h->metric(ctx, name,
		  member ? h->printf(ctx, "member=\"%s\"", member) : NULL, v,
		  help);
}

static const char *repl_ptn_lag_text(struct dbops_ctx *ctx, int64_t lag)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (lag < 0)
		return "-";
	if (lag < 10 * 1024)
		return h->printf(ctx, "%lld B", (long long)lag);
	if (lag < 10 * 1024 * 1024)
		return h->printf(ctx, "%lld kB", (long long)(lag / 1024));
	return h->printf(ctx, "%lld MB", (long long)(lag / (1024 * 1024)));
}

/* Failover readiness: a replica Patroni would promote (running, no
 * nofailover tag, lag known and within maximum_lag_on_failover; a
 * synchronous standby when the spec demands zero loss). */
static int repl_ptn_ready(const char **why, struct dbops_ctx *ctx,
			  const struct repl_spec *spec,
			  const struct repl_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct patroni_cluster *c = live->ptn_cluster;
	const struct patroni_config *cfg = live->ptn_config;
	bool zero_loss = spec->sync_mode != REPL_SYNC_OFF;
	int n = 0;

	*why = NULL;
	for (size_t i = 0; i < c->nmembers; i++) {
		const struct patroni_member *m = &c->members[i];

		if (strcmp(m->role, "leader") == 0 || m->nofailover ||
		    !patroni_state_running(m->state) || m->lag < 0 ||
		    m->lag > cfg->maximum_lag_on_failover)
			continue;
		if (zero_loss && strcmp(m->role, "sync_standby") != 0)
			continue;
		*why = *why == NULL ? m->name
				    : h->printf(ctx, "%s, %s", *why, m->name);
		n++;
	}
	return n;
}

static int repl_ptn_status(struct dbops_ctx *ctx, const struct repl_spec *spec,
			   const struct repl_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct patroni_cluster *c = live->ptn_cluster;
	const struct patroni_config *cfg = live->ptn_config;
	const struct patroni_member *leader = patroni_leader(c);
	const char *ready_names;
	char line[512];
	int ready;

	repl_host_out(
	    ctx,
	    h->printf(
		ctx,
		"replicas (provider patroni): leader %s, synchronous_mode %s%s (node count %lld), maximum_lag_on_failover %lld, ttl %lld, loop_wait %lld%s",
		leader ? leader->name : "(none)",
		cfg->synchronous_mode ? "on" : "off",
		cfg->synchronous_mode_strict ? ", strict" : "",
		(long long)cfg->synchronous_node_count,
		(long long)cfg->maximum_lag_on_failover, (long long)cfg->ttl,
		(long long)cfg->loop_wait, c->pause ? ", PAUSED" : ""));
	snprintf(line, sizeof(line), "%-16s %-12s %-10s %3s %10s  %-8s %s",
		 "MEMBER", "ROLE", "STATE", "TL", "LAG", "RESTART", "TAGS");
	repl_host_out(ctx, line);
	for (size_t i = 0; i < c->nmembers; i++) {
		const struct patroni_member *m = &c->members[i];
		const char *tags =
		    h->printf(ctx, "%s%s%s", m->nofailover ? "nofailover " : "",
			      m->noloadbalance ? "noloadbalance " : "",
			      m->nosync ? "nosync" : "");

		snprintf(
		    line, sizeof(line), "%-16s %-12s %-10s %3lld %10s  %-8s %s",
		    m->name, m->role, m->state, (long long)m->timeline,
		    m == leader ? "-" : repl_ptn_lag_text(ctx, m->lag),
		    m->pending_restart ? "pending" : "-", tags[0] ? tags : "-");
		repl_host_out(ctx, line);
		repl_ptn_metric(
		    ctx, "dbops_patroni_member_running", m->name,
		    patroni_state_running(m->state),
		    "Whether the Patroni member's PostgreSQL runs.");
		repl_ptn_metric(ctx, "dbops_patroni_leader", m->name,
				m == leader,
				"Whether the member holds the leader lock.");
		repl_ptn_metric(ctx, "dbops_patroni_pending_restart", m->name,
				m->pending_restart,
				"Whether the member waits for a restart.");
		if (m != leader)
			repl_ptn_metric(
			    ctx, "dbops_patroni_member_lag_bytes", m->name,
			    (double)m->lag,
			    "Bytes the member is behind the leader (-1: unknown).");
		if (!patroni_state_running(m->state))
			h->diag(ctx, DBOPS_SEV_WARNING, 0, &spec->loc,
				"Patroni member \"%s\" is %s", m->name,
				m->state);
		else if (m != leader && spec->max_lag_bytes >= 0 &&
			 m->lag > spec->max_lag_bytes)
			h->diag(
			    ctx, DBOPS_SEV_WARNING, 0, &spec->loc,
			    "member \"%s\" lags %s behind the leader, more than max_lag.bytes",
			    m->name, repl_ptn_lag_text(ctx, m->lag));
		if (m->pending_restart) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_WARNING, 0, &spec->loc,
			    "Patroni member \"%s\" needs a restart for a changed setting",
			    m->name);

			h->diag_hint(
			    ctx, d,
			    "Restart it through Patroni (patronictl restart --pending), replicas first; or set replicas.patroni.restart: rolling and apply.");
		}
	}
	ready = repl_ptn_ready(&ready_names, ctx, spec, live);
	repl_ptn_metric(ctx, "dbops_patroni_paused", NULL, c->pause,
			"Whether Patroni is paused (maintenance mode).");
	repl_ptn_metric(
	    ctx, "dbops_patroni_failover_ready", NULL, ready > 0,
	    "Whether a replica Patroni may promote meets the spec's durability.");
	repl_ptn_metric(
	    ctx, "dbops_patroni_failover_candidates", NULL, ready,
	    "Replicas Patroni may promote that meet the spec's durability.");
	repl_host_out(
	    ctx, ready > 0 ? h->printf(ctx, "failover readiness: ready (%s)",
				       ready_names)
			   : "failover readiness: NOT READY");
	if (leader == NULL)
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &spec->loc,
			"the Patroni cluster has no leader");
	if (c->pause)
		h->diag(ctx, DBOPS_SEV_WARNING, 0, &spec->patroni.loc,
			"Patroni is paused: it will not fail over");
	if (ready == 0 && leader != NULL) {
		struct dbops_diag *d = h->diag(
		    ctx,
		    spec->sync_mode != REPL_SYNC_OFF ? DBOPS_SEV_ERROR
						     : DBOPS_SEV_WARNING,
		    DBOPS_ERR_GENERIC, &spec->loc,
		    spec->sync_mode != REPL_SYNC_OFF
			? "no synchronous standby could take over without losing data"
			: "no replica could take over");

		h->diag_detail(
		    ctx, d,
		    "A candidate runs, has no nofailover tag, and lags at most maximum_lag_on_failover (%lld bytes)%s.",
		    (long long)cfg->maximum_lag_on_failover,
		    spec->sync_mode != REPL_SYNC_OFF
			? "; with synchronous mode it must be a synchronous standby"
			: "");
	}
	if (cfg->synchronous_mode != (spec->sync_mode != REPL_SYNC_OFF))
		h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, &spec->loc,
		    "Patroni's synchronous_mode is %s, the spec asks for %s",
		    cfg->synchronous_mode ? "on" : "off",
		    spec->sync_mode != REPL_SYNC_OFF ? "on" : "off");
	return 0;
}

const struct repl_provider repl_provider_patroni = {
    .name = "patroni",
    .provisions = false,
    .observe = repl_ptn_observe,
    .diff = repl_ptn_diff,
    .status = repl_ptn_status,
    .apply = repl_ptn_apply,
};

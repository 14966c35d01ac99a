/* SPDX-License-Identifier: PostgreSQL */
/*
 * diff.c — the changes that bring replication to the spec, from the
 * parsed section and the observed model, without I/O. In order (the
 * phase of each change keeps them so): replication settings of the
 * primary (50), missing slots (51), missing standbys (52),
 * synchronous_standby_names (53), members to remove (54).
 *
 * synchronous_standby_names is published only when enough of the named
 * standbys stream (or will, once the standbys this plan creates are
 * up; apply checks again): naming standbys that are not there makes
 * every commit wait. When that is not the case the change is held back
 * with a warning. A stopped standby is reported, never started behind
 * the operator's back.
 *
 * `dbops switchover --to NAME` plans the steps of a switchover instead.
 */
#include "replicas_int.h"

#include <stdio.h>
#include <string.h>

enum {
	REPL_PHASE_SETTINGS = DBOPS_PHASE_REPLICAS,
	REPL_PHASE_SLOTS,
	REPL_PHASE_MEMBERS,
	REPL_PHASE_SYNC,
	REPL_PHASE_REMOVE,
};

static struct repl_payload *repl_payload_new(struct dbops_ctx *ctx,
					     const struct repl_spec *spec,
					     enum repl_op op)
{
	struct repl_payload *p = dbops_host(ctx)->alloc(ctx, sizeof(*p));

	p->op = op;
	p->spec = spec;
	return p;
}

static const char *repl_alter_sql(struct dbops_ctx *ctx, const char *name,
				  const char *value)
{
	const struct dbops_host *h = dbops_host(ctx);

	return h->printf(ctx,
			 "ALTER SYSTEM SET %s = %s;\nSELECT pg_reload_conf();",
			 name, h->quote_literal(ctx, value));
}

static void repl_diff_settings(struct dbops_ctx *ctx,
			       const struct repl_spec *spec,
			       const struct repl_live *live, int *rc)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t i = 0; i < spec->nsettings; i++) {
		const struct repl_setting_spec *st = &spec->settings[i];
		const struct repl_setting_live *ls =
		    repl_live_setting(live, st->name);
		const char *configured;
		struct dbops_change *c;
		struct repl_payload *p;

		if (ls == NULL) {
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, &st->loc,
			    "the server has no setting \"%s\" visible to this role",
			    st->name);
			*rc = DBOPS_ERR_NOTFOUND;
			continue;
		}
		configured = ls->configured ? ls->configured : ls->setting;
		if (repl_setting_equal(ls, configured, st->value)) {
			if (ls->pending_restart ||
			    !repl_setting_equal(ls, ls->setting, st->value)) {
				struct dbops_diag *d = h->diag(
				    ctx, DBOPS_SEV_WARNING, 0, &st->loc,
				    "setting \"%s\" is configured as \"%s\" but the server still runs with \"%s\"",
				    st->name, st->value, ls->setting);

				h->diag_hint(
				    ctx, d,
				    "Restart the primary for the change to take effect.");
			}
			continue;
		}
		c = h->change_new(
		    ctx, DBOPS_ACTION_UPDATE,
		    h->printf(ctx, "replicas.setting.%s", st->name));
		c->phase = REPL_PHASE_SETTINGS;
		c->loc = st->loc;
		c->flags = DBOPS_CHANGE_NONTX;
		if (ls->context != NULL &&
		    strcmp(ls->context, "postmaster") == 0) {
			c->flags |= DBOPS_CHANGE_NEEDS_RESTART;
			c->reason =
			    "replication setting differs; takes effect when the primary restarts";
		} else
			c->reason = "replication setting differs";
		h->change_attr(ctx, c, "value", configured, st->value, false);
		c->sql = repl_alter_sql(ctx, st->name, st->value);
		p = repl_payload_new(ctx, spec, REPL_OP_SETTING);
		p->name = st->name;
		p->value = st->value;
		c->payload = p;
	}
}

static bool repl_member_missing(const struct repl_spec *spec,
				const struct repl_member_live *ml)
{
	return spec->provider->provisions && !ml->data_exists;
}

static void repl_diff_slots(struct dbops_ctx *ctx, const struct repl_spec *spec,
			    const struct repl_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t i = 0; i < spec->nmembers; i++) {
		const struct repl_member_spec *m = &spec->members[i];
		const struct repl_slot *sl = repl_live_slot(live, m->name);
		struct dbops_change *c;
		struct repl_payload *p;

		if (m->absent) {
			/* the local provider drops it with the member */
			if (sl == NULL || spec->provider->provisions)
				continue;
			c = h->change_new(
			    ctx, DBOPS_ACTION_DELETE,
			    h->printf(ctx, "replicas.slot.%s", m->name));
			c->phase = REPL_PHASE_REMOVE;
			c->flags =
			    DBOPS_CHANGE_NONTX | DBOPS_CHANGE_DESTRUCTIVE;
			c->reason = "the member is absent from the spec";
			c->sql = h->printf(
			    ctx, "SELECT pg_drop_replication_slot(%s);",
			    h->quote_literal(ctx, m->name));
		} else {
			if (sl != NULL || !spec->slots)
				continue;
			c = h->change_new(
			    ctx, DBOPS_ACTION_CREATE,
			    h->printf(ctx, "replicas.slot.%s", m->name));
			c->phase = REPL_PHASE_SLOTS;
			c->flags = DBOPS_CHANGE_NONTX;
			c->reason =
			    "the member has no physical replication slot";
			c->sql = h->printf(
			    ctx,
			    "SELECT pg_create_physical_replication_slot(%s, true);",
			    h->quote_literal(ctx, m->name));
		}
		c->loc = m->loc;
		p = repl_payload_new(ctx, spec,
				     m->absent ? REPL_OP_MEMBER_REMOVE
					       : REPL_OP_SLOT_CREATE);
		p->member = m;
		p->name = m->name;
		c->payload = p;
	}
}

static const char *repl_create_sql(struct dbops_ctx *ctx,
				   const struct repl_spec *spec,
				   const struct repl_member_spec *m)
{
	const struct dbops_host *h = dbops_host(ctx);

	return h->printf(
	    ctx,
	    "pg_basebackup -D %s -X stream -c fast -R%s%s -d 'application_name=%s'\n"
	    "(port %d, listen_addresses '%s' in postgresql.auto.conf)\n"
	    "pg_ctl start -D %s -l %s.log -w\n"
	    "wait until \"%s\" streams (at most %ds)",
	    m->data_dir, spec->slots ? " -S " : "", spec->slots ? m->name : "",
	    m->name, m->port, m->host, m->data_dir, m->data_dir, m->name,
	    spec->wait_seconds);
}

static void repl_diff_members(struct dbops_ctx *ctx,
			      const struct repl_spec *spec,
			      const struct repl_live *live, int *rc)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t i = 0; i < spec->nmembers; i++) {
		const struct repl_member_spec *m = &spec->members[i];
		const struct repl_member_live *ml = &live->members[i];
		const struct repl_slot *sl = repl_live_slot(live, m->name);
		struct dbops_change *c;
		struct repl_payload *p;
		char port[16];

		if (!spec->provider->provisions)
			continue;
		if (m->absent) {
			if (!ml->running && sl == NULL &&
			    !(spec->delete_data && ml->data_exists))
				continue;
			c = h->change_new(
			    ctx, DBOPS_ACTION_DELETE,
			    h->printf(ctx, "replicas.member.%s", m->name));
			c->phase = REPL_PHASE_REMOVE;
			c->flags =
			    DBOPS_CHANGE_NONTX | DBOPS_CHANGE_DESTRUCTIVE;
			if (spec->delete_data)
				c->flags |= DBOPS_CHANGE_IRREVERSIBLE;
			c->reason =
			    spec->delete_data
				? "the member is absent: stop it, drop its slot, delete its data directory"
				: "the member is absent: stop it and drop its slot (the data directory stays)";
			c->sql = h->printf(
			    ctx,
			    "pg_ctl stop -D %s -m fast -w\nSELECT pg_drop_replication_slot('%s');%s%s",
			    m->data_dir, m->name,
			    spec->delete_data ? "\nrm -rf " : "",
			    spec->delete_data ? m->data_dir : "");
			p = repl_payload_new(ctx, spec, REPL_OP_MEMBER_REMOVE);
		} else if (repl_member_missing(spec, ml) &&
			   (ml->reachable || ml->port_busy)) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &m->loc,
			    "something listens on %s:%d, the address of new standby \"%s\"",
			    m->host, m->port, m->name);

			h->diag_hint(ctx, d,
				     "Choose a free port for the member.");
			*rc = DBOPS_ERR_CONFLICT;
			continue;
		} else if (repl_member_missing(spec, ml)) {
			c = h->change_new(
			    ctx, DBOPS_ACTION_CREATE,
			    h->printf(ctx, "replicas.member.%s", m->name));
			c->phase = REPL_PHASE_MEMBERS;
			c->flags = DBOPS_CHANGE_NONTX;
			c->reason =
			    "the standby does not exist: clone the primary and start it";
			snprintf(port, sizeof(port), "%d", m->port);
			h->change_attr(ctx, c, "host", NULL, m->host, false);
			h->change_attr(ctx, c, "port", NULL, port, false);
			h->change_attr(ctx, c, "data_dir", NULL, m->data_dir,
				       false);
			h->change_attr(ctx, c, "sync", NULL,
				       m->sync ? "true" : "false", false);
			c->sql = repl_create_sql(ctx, spec, m);
			p = repl_payload_new(ctx, spec, REPL_OP_MEMBER_CREATE);
		} else {
			if (!ml->running && !ml->reachable) {
				struct dbops_diag *d = h->diag(
				    ctx, DBOPS_SEV_WARNING, 0, &m->loc,
				    "standby \"%s\" is not running", m->name);

				h->diag_detail(
				    ctx, d,
				    "dbops does not start a stopped standby by itself.");
				h->diag_hint(
				    ctx, d,
				    "Start it with: pg_ctl start -D %s -l %s.log",
				    m->data_dir, m->data_dir);
			}
			continue;
		}
		c->loc = m->loc;
		p->member = m;
		p->name = m->name;
		c->payload = p;
	}
}

static void repl_diff_sync(struct dbops_ctx *ctx, const struct repl_spec *spec,
			   const struct repl_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *desired = repl_sync_names(ctx, spec);
	const char *current = repl_sync_canonical(ctx, live->sync_names);
	const char **names;
	int streaming = 0, coming = 0;
	size_t nnames = 0;
	struct dbops_change *c;
	struct repl_payload *p;

	if (current != NULL && strcmp(current, desired) == 0)
		return;
	names = h->alloc(ctx, (spec->nmembers + 1) * sizeof(*names));
	for (size_t i = 0; i < spec->nmembers; i++) {
		const struct repl_member_spec *m = &spec->members[i];

		if (!m->sync || m->absent)
			continue;
		names[nnames++] = m->name;
		if (repl_sender_streaming(repl_live_sender(live, m->name)))
			streaming++;
		else if (repl_member_missing(spec, &live->members[i]))
			coming++;
	}
	if (desired[0] != '\0' && streaming + coming < spec->sync_count) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, &spec->sync_loc,
		    "synchronous_standby_names is held back: %d of the %d standbys it would name stream%s, and %d must",
		    streaming, (int)nnames, streaming == 1 ? "s" : "",
		    spec->sync_count);

		h->diag_detail(
		    ctx, d,
		    "Publishing \"%s\" now would make every commit on the primary wait for standbys that are not there; it stays \"%s\".",
		    desired, live->sync_names ? live->sync_names : "");
		h->diag_hint(
		    ctx, d,
		    "Start the standbys (dbops status shows them); the next apply publishes the setting.");
		return;
	}
	c = h->change_new(ctx, DBOPS_ACTION_UPDATE,
			  "replicas.synchronous_standby_names");
	c->phase = REPL_PHASE_SYNC;
	c->flags = DBOPS_CHANGE_NONTX;
	c->loc = spec->sync_loc.file ? spec->sync_loc : spec->loc;
	if (desired[0] == '\0')
		c->reason = "replication becomes asynchronous";
	else if (coming > 0)
		c->reason = h->printf(
		    ctx,
		    "published once %d of the named standbys stream (%d created by this plan)",
		    spec->sync_count, coming);
	else
		c->reason = h->printf(ctx, "%d of the named standbys stream",
				      streaming);
	h->change_attr(ctx, c, "value",
		       live->sync_names ? live->sync_names : "", desired,
		       false);
	c->sql = repl_alter_sql(ctx, "synchronous_standby_names", desired);
	p = repl_payload_new(ctx, spec, REPL_OP_SYNC);
	p->value = desired;
	p->min_streaming = desired[0] == '\0' ? 0 : spec->sync_count;
	p->sync_members = names;
	p->nsync_members = nnames;
	c->payload = p;
}

static const struct repl_member_spec *
repl_member_find(const struct repl_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nmembers; i++)
		if (strcmp(spec->members[i].name, name) == 0)
			return &spec->members[i];
	return NULL;
}

static int repl_diff_switchover(struct dbops_ctx *ctx,
				const struct repl_spec *spec,
				const struct repl_live *live, const char *to)
{
	static const struct {
		enum repl_sw_step step;
		const char *address;
		const char *reason;
	} steps[] = {
	    {REPL_SW_CHECK, "replicas.switchover.1-check",
	     "the candidate streams and has replayed what the primary wrote"},
	    {REPL_SW_STOP, "replicas.switchover.2-stop-primary",
	     "CHECKPOINT, then stop the primary cleanly: writes stop here"},
	    {REPL_SW_PROMOTE, "replicas.switchover.3-promote",
	     "wait until the candidate replayed the final checkpoint, then promote it"},
	    {REPL_SW_REJOIN, "replicas.switchover.4-rejoin",
	     "the old primary restarts as a standby of the new one"},
	};
	const struct dbops_host *h = dbops_host(ctx);
	const struct repl_member_spec *m;
	struct repl_sw_state *sw;

	if (spec->provider->switchover_step == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_UNSUPPORTED, &spec->loc,
			"the %s provider cannot switch over",
			spec->provider->name);
		return DBOPS_ERR_UNSUPPORTED;
	}
	if (to == NULL || to[0] == '\0') {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "switchover needs the member to promote");

		h->diag_hint(ctx, d, "Run: dbops switchover --to NAME.");
		return DBOPS_ERR_INVALID;
	}
	m = repl_member_find(spec, to);
	if (m == NULL || m->absent) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, &spec->loc,
		    "there is no member \"%s\" to switch over to", to);

		h->diag_hint(ctx, d, "Name a member of replicas.members.");
		return DBOPS_ERR_NOTFOUND;
	}
	if (!repl_sender_streaming(repl_live_sender(live, m->name))) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &m->loc,
			"member \"%s\" is not streaming from the primary",
			m->name);
		return DBOPS_ERR_CONFLICT;
	}
	if (live->data_directory == NULL) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_UNSUPPORTED, NULL,
			    "could not read the primary's data_directory");

		h->diag_hint(
		    ctx, d,
		    "Connect as a superuser or a member of pg_read_all_settings.");
		return DBOPS_ERR_UNSUPPORTED;
	}
	sw = h->alloc(ctx, sizeof(*sw));
	sw->to = m;
	sw->old_data_dir = live->data_directory;
	sw->old_port = live->port;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct dbops_change *c =
		    h->change_new(ctx, DBOPS_ACTION_RUN, steps[i].address);
		struct repl_payload *p =
		    repl_payload_new(ctx, spec, REPL_OP_SWITCHOVER);

		c->flags = DBOPS_CHANGE_NONTX;
		c->reason = steps[i].reason;
		c->loc = m->loc;
		if (steps[i].step == REPL_SW_STOP)
			c->sql = h->printf(
			    ctx, "CHECKPOINT;\npg_ctl stop -D %s -m fast -w",
			    sw->old_data_dir);
		else if (steps[i].step == REPL_SW_PROMOTE)
			c->sql = h->printf(
			    ctx,
			    "SELECT pg_promote(true, 60); -- on \"%s\" (%s:%d)",
			    m->name, m->host, m->port);
		else if (steps[i].step == REPL_SW_REJOIN)
			c->sql = h->printf(
			    ctx,
			    "standby.signal, primary_conninfo 'host=%s port=%d application_name=primary' in %s\npg_ctl start -D %s -w",
			    m->host, m->port, sw->old_data_dir,
			    sw->old_data_dir);
		p->member = m;
		p->step = steps[i].step;
		p->sw = sw;
		c->payload = p;
	}
	return 0;
}

int repl_diff_spec(struct dbops_ctx *ctx, const struct repl_spec *spec,
		   const struct repl_live *live, const char *mode,
		   const char *to)
{
	const struct dbops_host *h = dbops_host(ctx);
	int rc = 0;

	if (live->in_recovery) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &spec->loc,
		    "the cluster dbops connects to is a standby");

		h->diag_detail(
		    ctx, d, "The replicas section is applied to the primary.");
		h->diag_hint(
		    ctx, d,
		    "After a switchover, point connection.conninfo (or --conninfo) at the new primary.");
		return DBOPS_ERR_CONFLICT;
	}
	if (spec->provider->diff != NULL)
		return spec->provider->diff(ctx, spec, live, mode, to);
	if (mode != NULL && strcmp(mode, "switchover") == 0)
		return repl_diff_switchover(ctx, spec, live, to);
	if (mode != NULL && strcmp(mode, "drill failover") == 0) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_UNSUPPORTED, &spec->loc,
		    "the %s provider has no failover to drill",
		    spec->provider->name);

		h->diag_hint(
		    ctx, d,
		    "Only the patroni provider fails over by itself; the local provider switches over on request (dbops switchover).");
		return DBOPS_ERR_UNSUPPORTED;
	}
	repl_diff_settings(ctx, spec, live, &rc);
	repl_diff_slots(ctx, spec, live);
	repl_diff_members(ctx, spec, live, &rc);
	repl_diff_sync(ctx, spec, live);
	return rc;
}

int repl_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	      void *live)
{
	struct repl_spec *spec;
	int err;

	if ((err = repl_spec_parse(&spec, ctx, section)) != 0)
		return err;
	return repl_diff_spec(ctx, spec, live, repl_host_mode(ctx),
			      repl_host_arg(ctx, "to"));
}

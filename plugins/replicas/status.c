/* SPDX-License-Identifier: PostgreSQL */
/*
 * status.c — `dbops status` for replication: a table of the primary and
 * each member (role, state, sync state, lag in bytes and time, slot)
 * written with host->out, and every problem as a diagnostic: a member
 * that does not stream or lags beyond max_lag is a warning; a published
 * synchronous set that the streaming standbys cannot satisfy (commits
 * wait), a lost slot, or a target that is not a primary is an error;
 * slots that no member uses and that retain WAL are reported too.
 */
#include "replicas_int.h"

#include <stdio.h>
#include <string.h>

static const char *repl_bytes(struct dbops_ctx *ctx, int64_t b)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (b < 0)
		return "-";
	if (b < 10 * 1024)
		return h->printf(ctx, "%lld B", (long long)b);
	if (b < 10 * 1024 * 1024)
		return h->printf(ctx, "%lld kB", (long long)(b / 1024));
	return h->printf(ctx, "%lld MB", (long long)(b / (1024 * 1024)));
}

static bool repl_is_member_slot(const struct repl_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nmembers; i++)
		if (!spec->members[i].absent &&
		    strcmp(spec->members[i].name, name) == 0)
			return true;
	return false;
}

static const char *repl_slot_text(struct dbops_ctx *ctx,
				  const struct repl_slot *sl)
{
	if (sl == NULL)
		return "none";
	return dbops_host(ctx)->printf(ctx, "%s, %s",
				       sl->active ? "active" : "inactive",
				       sl->wal_status ? sl->wal_status : "?");
}

static void repl_status_member(struct dbops_ctx *ctx,
			       const struct repl_spec *spec,
			       const struct repl_live *live, size_t i,
			       int *sync_streaming)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct repl_member_spec *m = &spec->members[i];
	const struct repl_member_live *ml = &live->members[i];
	const struct repl_sender *s = repl_live_sender(live, m->name);
	const struct repl_slot *sl = repl_live_slot(live, m->name);
	const char *role, *state;
	char line[512];

	if (m->absent)
		return;
	role = !ml->reachable ? "-" : ml->in_recovery ? "standby" : "primary";
	if (s != NULL)
		state = s->state;
	else if (spec->provider->provisions && !ml->data_exists)
		state = "missing";
	else if (!ml->reachable)
		state = "down";
	else
		state = "not connected";
	snprintf(line, sizeof(line), "%-16s %-8s %-13s %-9s %10s %9s  %s",
		 m->name, role, state, s && s->sync_state ? s->sync_state : "-",
		 repl_bytes(ctx, s ? s->lag_bytes : -1),
		 s ? h->printf(ctx, "%.3fs", s->lag_ms / 1000.0) : "-",
		 spec->slots || sl ? repl_slot_text(ctx, sl) : "-");
	repl_host_out(ctx, line);
	if (!repl_sender_streaming(s)) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, &m->loc,
		    "standby \"%s\" is not streaming (%s)", m->name, state);

		if (spec->provider->provisions && ml->data_exists &&
		    !ml->reachable)
			h->diag_hint(ctx, d,
				     "Start it: pg_ctl start -D %s -l %s.log",
				     m->data_dir, m->data_dir);
	} else {
		if (m->sync)
			(*sync_streaming)++;
		if (spec->max_lag_bytes >= 0 &&
		    s->lag_bytes > spec->max_lag_bytes)
			h->diag(
			    ctx, DBOPS_SEV_WARNING, 0, &m->loc,
			    "standby \"%s\" lags %s behind the primary, more than max_lag.bytes (%s)",
			    m->name, repl_bytes(ctx, s->lag_bytes),
			    repl_bytes(ctx, spec->max_lag_bytes));
		if (spec->max_lag_ms >= 0 && s->lag_ms > spec->max_lag_ms)
			h->diag(
			    ctx, DBOPS_SEV_WARNING, 0, &m->loc,
			    "standby \"%s\" replays %.1fs late, more than max_lag.time (%.1fs)",
			    m->name, s->lag_ms / 1000.0,
			    (double)spec->max_lag_ms / 1000.0);
	}
	if (sl != NULL && sl->wal_status != NULL &&
	    strcmp(sl->wal_status, "lost") == 0)
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &m->loc,
		    "the slot of standby \"%s\" has lost WAL the standby needs",
		    m->name);
	else if (sl != NULL && sl->wal_status != NULL &&
		 strcmp(sl->wal_status, "unreserved") == 0)
		h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, &m->loc,
		    "the slot of standby \"%s\" is about to lose WAL the standby needs",
		    m->name);
	else if (sl == NULL && spec->slots)
		h->diag(ctx, DBOPS_SEV_WARNING, 0, &m->loc,
			"standby \"%s\" has no replication slot", m->name);
}

static void repl_status_orphans(struct dbops_ctx *ctx,
				const struct repl_spec *spec,
				const struct repl_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t i = 0; i < live->nslots; i++) {
		const struct repl_slot *sl = &live->slots[i];
		struct dbops_diag *d;

		if (repl_is_member_slot(spec, sl->name) || sl->active)
			continue;
		d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, &spec->loc,
		    "orphaned replication slot \"%s\" retains %s of WAL",
		    sl->name, repl_bytes(ctx, sl->retained_bytes));
		h->diag_detail(
		    ctx, d,
		    "No member of the spec uses this %s slot and nothing streams from it; the primary keeps WAL for it without limit.",
		    sl->type ? sl->type : "");
		h->diag_hint(
		    ctx, d,
		    "Drop it with SELECT pg_drop_replication_slot('%s'), or add the member back.",
		    sl->name);
	}
}

int repl_status_spec(struct dbops_ctx *ctx, const struct repl_spec *spec,
		     const struct repl_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *desired = repl_sync_names(ctx, spec);
	const char *current = repl_sync_canonical(ctx, live->sync_names);
	int sync_streaming = 0;
	char line[512];

	repl_host_out(
	    ctx,
	    h->printf(ctx,
		      "replicas (provider %s): synchronous_standby_names '%s'",
		      spec->provider->name,
		      live->sync_names ? live->sync_names : ""));
	snprintf(line, sizeof(line), "%-16s %-8s %-13s %-9s %10s %9s  %s",
		 "MEMBER", "ROLE", "STATE", "SYNC", "LAG", "LAG TIME", "SLOT");
	repl_host_out(ctx, line);
	snprintf(line, sizeof(line), "%-16s %-8s %-13s %-9s %10s %9s  %s",
		 "(primary)", live->in_recovery ? "standby" : "primary", "-",
		 "-", "-", "-", "-");
	repl_host_out(ctx, line);
	if (live->in_recovery) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, &spec->loc,
		    "the cluster dbops connects to is a standby");

		h->diag_hint(ctx, d,
			     "Point connection.conninfo at the primary.");
	}
	for (size_t i = 0; i < spec->nmembers; i++)
		repl_status_member(ctx, spec, live, i, &sync_streaming);
	repl_status_orphans(ctx, spec, live);
	if (current != NULL && desired[0] != '\0' &&
	    strcmp(current, desired) == 0 &&
	    sync_streaming < spec->sync_count) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &spec->sync_loc,
		    "commits wait: only %d of the synchronous standbys stream, and %d must",
		    sync_streaming, spec->sync_count);

		h->diag_hint(
		    ctx, d,
		    "Start the standbys, or lower synchronous.count (or set mode: off) and apply.");
	} else if (current == NULL || strcmp(current, desired) != 0) {
		h->diag(
		    ctx, DBOPS_SEV_WARNING, 0,
		    spec->sync_loc.file ? &spec->sync_loc : &spec->loc,
		    "synchronous_standby_names is \"%s\", the spec asks for \"%s\"",
		    live->sync_names ? live->sync_names : "", desired);
	}
	return 0;
}

int repl_status(struct dbops_ctx *ctx, const struct dbops_node *section,
		void *live)
{
	struct repl_spec *spec;
	int err;

	if ((err = repl_spec_parse(&spec, ctx, section)) != 0)
		return err;
	if (spec->provider->status != NULL)
		return spec->provider->status(ctx, spec, live);
	return repl_status_spec(ctx, spec, live);
}

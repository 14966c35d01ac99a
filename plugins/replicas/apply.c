/* SPDX-License-Identifier: PostgreSQL */
/*
 * apply.c — carries out one change of the replicas plugin, each time
 * checking first whether it is done already (a slot that exists, a
 * standby that streams), so that an interrupted apply is finished by the
 * next one. synchronous_standby_names is written only after checking
 * again, on the live server, that enough of the named standbys stream.
 * All changes run outside a transaction (ALTER SYSTEM, programs).
 */
#include "replicas_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *repl_array(struct dbops_ctx *ctx, const char *const *names,
			      size_t n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *arr = "{";

	for (size_t i = 0; i < n; i++)
		arr = h->printf(ctx, "%s%s\"%s\"", arr, i ? "," : "", names[i]);
	return h->printf(ctx, "%s}", arr);
}

int repl_wait_streaming(struct dbops_ctx *ctx, const char *const *names,
			size_t nnames, int n, int seconds, bool report)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *params[1] = {repl_array(ctx, names, nnames)};
	double deadline = repl_now() + seconds;
	int streaming = 0;

	for (;;) {
		struct dbops_rows *rows;
		int err = h->query(
		    &rows, ctx,
		    "SELECT count(DISTINCT application_name) AS n FROM "
		    "pg_stat_replication WHERE state = 'streaming' AND "
		    "application_name = ANY ($1::text[])",
		    1, params);

		if (err != 0)
			return err;
		streaming = (int)strtol(h->rows_get(rows, 0, "n"), NULL, 10);
		if (streaming >= n)
			return 0;
		if (repl_now() >= deadline || h->cancelled(ctx))
			break;
		repl_sleep_ms(50);
	}
	if (report) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
			    "%d of the standbys %s stream after %ds, %d needed",
			    streaming, params[0], seconds, n);

		h->diag_hint(
		    ctx, d,
		    "See the standby's log file (the data directory's name with .log) and pg_stat_replication on the primary.");
	}
	return DBOPS_ERR_TRANSIENT;
}

static int repl_alter(struct dbops_ctx *ctx, const char *name,
		      const char *value)
{
	const struct dbops_host *h = dbops_host(ctx);
	int err;

	if ((err = h->query(NULL, ctx,
			    h->printf(ctx, "ALTER SYSTEM SET %s = %s", name,
				      h->quote_literal(ctx, value)),
			    0, NULL)) != 0)
		return err;
	return h->query(NULL, ctx, "SELECT pg_reload_conf()", 0, NULL);
}

static int repl_slot_state(bool *exists, bool *active, struct dbops_ctx *ctx,
			   const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *params[1] = {name};
	struct dbops_rows *rows;
	int err;

	if ((err = h->query(&rows, ctx,
			    "SELECT active FROM pg_replication_slots WHERE "
			    "slot_name = $1",
			    1, params)) != 0)
		return err;
	*exists = rows->nrows > 0;
	*active = *exists && strcmp(h->rows_get(rows, 0, "active"), "t") == 0;
	return 0;
}

static int repl_apply_slot_create(struct dbops_ctx *ctx, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *params[1] = {name};
	bool exists, active;
	int err;

	if ((err = repl_slot_state(&exists, &active, ctx, name)) != 0)
		return err;
	if (exists) {
		h->log(ctx, DBOPS_LOG_INFO, "slot \"%s\" exists already", name);
		return 0;
	}
	return h->query(NULL, ctx,
			"SELECT pg_create_physical_replication_slot($1, true)",
			1, params);
}

static int repl_apply_slot_drop(struct dbops_ctx *ctx, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *params[1] = {name};
	double deadline = repl_now() + 15;
	bool exists, active;
	int err;

	for (;;) {
		if ((err = repl_slot_state(&exists, &active, ctx, name)) != 0)
			return err;
		if (!exists)
			return 0;
		if (!active)
			break;
		if (repl_now() >= deadline) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
			    "replication slot \"%s\" is still in use", name);

			h->diag_hint(
			    ctx, d,
			    "Stop the standby that streams from it, then apply again.");
			return DBOPS_ERR_CONFLICT;
		}
		repl_sleep_ms(200);
	}
	return h->query(NULL, ctx, "SELECT pg_drop_replication_slot($1)", 1,
			params);
}

static int repl_apply_sync(struct dbops_ctx *ctx, const struct repl_payload *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows;
	int err;

	if ((err = h->query(
		 &rows, ctx,
		 "SELECT current_setting('synchronous_standby_names') AS v", 0,
		 NULL)) != 0)
		return err;
	if (repl_sync_canonical(ctx, h->rows_get(rows, 0, "v")) != NULL &&
	    strcmp(repl_sync_canonical(ctx, h->rows_get(rows, 0, "v")),
		   p->value) == 0) {
		h->log(ctx, DBOPS_LOG_INFO,
		       "synchronous_standby_names is \"%s\" already", p->value);
		return 0;
	}
	if (p->min_streaming > 0 &&
	    repl_wait_streaming(ctx, p->sync_members, p->nsync_members,
				p->min_streaming, 10, false) != 0) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
		    "synchronous_standby_names was not changed: fewer than %d of the named standbys stream",
		    p->min_streaming);

		h->diag_detail(
		    ctx, d, "Publishing \"%s\" would make every commit wait.",
		    p->value);
		return DBOPS_ERR_CONFLICT;
	}
	return repl_alter(ctx, "synchronous_standby_names", p->value);
}

int repl_apply(struct dbops_ctx *ctx, const struct dbops_change *change)
{
	const struct repl_payload *p = change->payload;
	const struct repl_provider *prov = p->spec->provider;
	int err;

	if (prov->apply != NULL)
		return prov->apply(ctx, change);
	switch (p->op) {
	case REPL_OP_SETTING:
		return repl_alter(ctx, p->name, p->value);
	case REPL_OP_SLOT_CREATE:
		return repl_apply_slot_create(ctx, p->name);
	case REPL_OP_MEMBER_CREATE:
		return prov->create_member(ctx, p->spec, p->member);
	case REPL_OP_SYNC:
		return repl_apply_sync(ctx, p);
	case REPL_OP_MEMBER_REMOVE:
		if (prov->remove_member != NULL &&
		    (err = prov->remove_member(ctx, p->spec, p->member)) != 0)
			return err;
		return repl_apply_slot_drop(ctx, p->name);
	case REPL_OP_SWITCHOVER:
		return prov->switchover_step(ctx, p->spec, change);
	case REPL_OP_PATRONI:
	case REPL_OP_PATRONI_SWITCHOVER:
	case REPL_OP_DRILL:
		break; /* the patroni provider's, through prov->apply */
	}
	dbops_host(ctx)->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			      "unknown replicas change \"%s\"",
			      change->address);
	return DBOPS_ERR_GENERIC;
}

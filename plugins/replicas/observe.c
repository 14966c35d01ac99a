/* SPDX-License-Identifier: PostgreSQL */
/*
 * observe.c — the live side of replication, read-only: on the primary
 * (the target connection) the replication settings and
 * synchronous_standby_names as configured, and, through a second
 * connection whose rows stay out of the live-state fingerprint because
 * they move all the time, pg_stat_replication (state, sync state, lag in
 * bytes and time) and pg_replication_slots; then each member through its
 * provider (reachable, in recovery, its WAL receiver; for the local
 * provider also its data directory).
 */
#include "replicas_int.h"

#include <stdlib.h>
#include <string.h>

static const char repl_q_primary[] =
    "SELECT pg_is_in_recovery() AS in_recovery, "
    "current_setting('synchronous_standby_names') AS sync_names, "
    "current_setting('port') AS port, "
    "(SELECT setting FROM pg_settings WHERE name = 'data_directory') "
    "AS data_directory, "
    "has_function_privilege('pg_show_all_file_settings()', 'EXECUTE') "
    "AS read_files";

static const char repl_q_settings[] =
    "SELECT name, setting, unit, context, pending_restart FROM pg_settings "
    "WHERE name = ANY ($1::text[]) ORDER BY name";

static const char repl_q_files[] =
    "SELECT DISTINCT ON (name) name, setting FROM pg_file_settings "
    "WHERE name = ANY ($1::text[]) AND error IS NULL "
    "ORDER BY name, seqno DESC";

#define REPL_CUR_LSN                                                           \
	"CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "         \
	"ELSE pg_current_wal_lsn() END"

static const char repl_q_senders[] =
    "SELECT application_name, state, sync_state, replay_lsn::text "
    "AS replay_lsn, pg_wal_lsn_diff(" REPL_CUR_LSN ", replay_lsn)::bigint "
    "AS lag_bytes, COALESCE(EXTRACT(epoch FROM replay_lag) * 1000, 0)"
    "::float8 AS lag_ms, (" REPL_CUR_LSN ")::text AS current_lsn "
    "FROM pg_stat_replication ORDER BY application_name, pid";

static const char repl_q_slots[] =
    "SELECT slot_name, slot_type, active, wal_status, "
    "pg_wal_lsn_diff(" REPL_CUR_LSN ", restart_lsn)::bigint AS retained "
    "FROM pg_replication_slots ORDER BY slot_name";

const struct repl_sender *repl_live_sender(const struct repl_live *live,
					   const char *app_name)
{
	const struct repl_sender *best = NULL;

	/* a standby reconnecting may briefly have two rows: prefer the one
	 * that streams */
	for (size_t i = 0; i < live->nsenders; i++)
		if (live->senders[i].app_name != NULL &&
		    strcmp(live->senders[i].app_name, app_name) == 0 &&
		    (best == NULL || repl_sender_streaming(&live->senders[i])))
			best = &live->senders[i];
	return best;
}

const struct repl_slot *repl_live_slot(const struct repl_live *live,
				       const char *name)
{
	for (size_t i = 0; i < live->nslots; i++)
		if (strcmp(live->slots[i].name, name) == 0)
			return &live->slots[i];
	return NULL;
}

const struct repl_setting_live *repl_live_setting(const struct repl_live *live,
						  const char *name)
{
	for (size_t i = 0; i < live->nsettings; i++)
		if (strcmp(live->settings[i].name, name) == 0)
			return &live->settings[i];
	return NULL;
}

bool repl_sender_streaming(const struct repl_sender *s)
{
	return s != NULL && s->state != NULL &&
	       strcmp(s->state, "streaming") == 0;
}

static int64_t repl_int(const char *v)
{
	return v != NULL ? strtoll(v, NULL, 10) : -1;
}

static bool repl_true(const char *v)
{
	return v != NULL && strcmp(v, "t") == 0;
}

static int repl_observe_settings(struct repl_live *live, struct dbops_ctx *ctx,
				 const struct repl_spec *spec, bool read_files)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows, *files = NULL;
	const char *arr = "{";
	const char *params[1];
	int err;

	if (spec->nsettings == 0)
		return 0;
	for (size_t i = 0; i < spec->nsettings; i++)
		arr = h->printf(ctx, "%s%s%s", arr, i ? "," : "",
				spec->settings[i].name);
	params[0] = h->printf(ctx, "%s}", arr);
	if ((err = h->query(&rows, ctx, repl_q_settings, 1, params)) != 0)
		return err;
	if (read_files &&
	    (err = h->query(&files, ctx, repl_q_files, 1, params)) != 0)
		return err;
	live->settings =
	    h->alloc(ctx, (size_t)(rows->nrows + 1) * sizeof(*live->settings));
	for (int r = 0; r < rows->nrows; r++) {
		struct repl_setting_live *s =
		    &live->settings[live->nsettings++];

		s->name = h->rows_get(rows, r, "name");
		s->setting = h->rows_get(rows, r, "setting");
		s->unit = h->rows_get(rows, r, "unit");
		s->context = h->rows_get(rows, r, "context");
		s->pending_restart =
		    repl_true(h->rows_get(rows, r, "pending_restart"));
		for (int f = 0; files != NULL && f < files->nrows; f++)
			if (strcmp(h->rows_get(files, f, "name"), s->name) == 0)
				s->configured =
				    h->rows_get(files, f, "setting");
	}
	return 0;
}

static int repl_observe_stats(struct repl_live *live, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_conn *c;
	struct dbops_rows *rows;
	int err;

	/* lag moves all the time: keep it out of the fingerprint */
	if ((err = repl_host_conn_open(&c, ctx, "dbname=postgres",
				       DBOPS_CONN_SAME_CLUSTER |
					   DBOPS_CONN_VOLATILE)) != 0)
		return err;
	if ((err = h->conn_query(&rows, ctx, c, repl_q_senders, 0, NULL)) != 0)
		goto done;
	live->senders =
	    h->alloc(ctx, (size_t)(rows->nrows + 1) * sizeof(*live->senders));
	for (int r = 0; r < rows->nrows; r++) {
		struct repl_sender *s = &live->senders[live->nsenders++];
		const char *ms = h->rows_get(rows, r, "lag_ms");

		s->app_name = h->rows_get(rows, r, "application_name");
		s->state = h->rows_get(rows, r, "state");
		s->sync_state = h->rows_get(rows, r, "sync_state");
		s->replay_lsn = h->rows_get(rows, r, "replay_lsn");
		s->lag_bytes = repl_int(h->rows_get(rows, r, "lag_bytes"));
		s->lag_ms = ms != NULL ? strtod(ms, NULL) : 0;
	}
	if ((err = h->conn_query(&rows, ctx, c, repl_q_slots, 0, NULL)) != 0)
		goto done;
	live->slots =
	    h->alloc(ctx, (size_t)(rows->nrows + 1) * sizeof(*live->slots));
	for (int r = 0; r < rows->nrows; r++) {
		struct repl_slot *s = &live->slots[live->nslots++];

		s->name = h->rows_get(rows, r, "slot_name");
		s->type = h->rows_get(rows, r, "slot_type");
		s->active = repl_true(h->rows_get(rows, r, "active"));
		s->wal_status = h->rows_get(rows, r, "wal_status");
		s->retained_bytes = repl_int(h->rows_get(rows, r, "retained"));
	}
	if ((err = h->conn_query(&rows, ctx, c,
				 "SELECT (" REPL_CUR_LSN ")::text AS lsn", 0,
				 NULL)) == 0)
		live->current_lsn = h->rows_get(rows, 0, "lsn");
done:
	h->conn_close(ctx, c);
	return err;
}

int repl_observe(void **live_out, struct dbops_ctx *ctx,
		 const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct repl_live *live = h->alloc(ctx, sizeof(*live));
	struct repl_spec *spec;
	struct dbops_rows *rows;
	int err;

	*live_out = live;
	if ((err = repl_spec_parse(&spec, ctx, section)) != 0)
		return err;
	if ((err = h->query(&rows, ctx, repl_q_primary, 0, NULL)) != 0)
		return err;
	live->in_recovery = repl_true(h->rows_get(rows, 0, "in_recovery"));
	live->sync_names = h->rows_get(rows, 0, "sync_names");
	live->port = (int)repl_int(h->rows_get(rows, 0, "port"));
	live->data_directory = h->rows_get(rows, 0, "data_directory");
	if ((err = repl_observe_settings(
		 live, ctx, spec,
		 repl_true(h->rows_get(rows, 0, "read_files")))) != 0)
		return err;
	if ((err = repl_observe_stats(live, ctx)) != 0)
		return err;
	if (spec->provider->observe != NULL)
		return spec->provider->observe(live, ctx, spec);
	live->members =
	    h->alloc(ctx, (spec->nmembers + 1) * sizeof(*live->members));
	live->nmembers = spec->nmembers;
	for (size_t i = 0; i < spec->nmembers; i++) {
		const struct repl_member_spec *m = &spec->members[i];
		const struct repl_member_live *ml = &live->members[i];

		if ((err = spec->provider->observe_member(&live->members[i],
							  ctx, spec, m)) != 0)
			return err;
		/* what the plan depends on: a saved plan goes stale when a
		 * standby appears, goes away, or stops streaming */
		repl_host_note(
		    ctx, h->printf(ctx, "replicas.member.%s", m->name),
		    h->printf(ctx, "data=%d running=%d streaming=%d",
			      ml->data_exists, ml->running || ml->reachable,
			      repl_sender_streaming(
				  repl_live_sender(live, m->name))));
	}
	for (size_t i = 0; i < live->nslots; i++)
		repl_host_note(ctx, "replicas.slot", live->slots[i].name);
	return 0;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * apply.c — carrying out one change of the "parameters" plugin, and the
 * check after a pass for settings that still wait for a restart.
 *
 * apply first reads the setting again (pg_settings, pg_file_settings) and
 * does nothing when the configuration already holds the desired value, so
 * a pass killed after ALTER SYSTEM is finished by the next one without
 * writing twice. Then ALTER SYSTEM SET and pg_reload_conf(). The reload
 * reaches this session only between statements, after the postmaster
 * passed the signal on; apply waits (briefly, bounded) until this session
 * runs the new value, so that a plan made right after on the same
 * connection sees it.
 */
#include "parameters_int.h"

#include <string.h>

#define PAR_RELOAD_POLLS 50 /* at 20 ms each */

static const char par_reload_sql[] = "SELECT pg_catalog.pg_reload_conf()";
static const char par_running_sql[] =
    "SELECT setting FROM pg_catalog.pg_settings WHERE name = $1";
static const char par_sleep_sql[] = "SELECT pg_catalog.pg_sleep(0.02)";

/* Whether this session follows a reload for the setting: backend
 * settings keep their value for the session's life, and a role or
 * database setting hides the server's. */
static bool par_follows_reload(const struct par_setting *s)
{
	return strcmp(s->context, "postmaster") != 0 &&
	       strcmp(s->context, "backend") != 0 &&
	       strcmp(s->context, "superuser-backend") != 0 &&
	       !par_source_is_session(s->source);
}

static int par_wait_reload(struct dbops_ctx *ctx, const struct par_setting *s,
			   const struct par_value *want)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *params[1] = {s->name};

	if (!par_follows_reload(s))
		return 0;
	for (int i = 0; i < PAR_RELOAD_POLLS; i++) {
		struct dbops_rows *rows = NULL;
		struct par_value run;
		const char *setting;
		int err;

		err = h->query(&rows, ctx, par_running_sql, 1, params);
		if (err != 0)
			return err;
		setting =
		    rows->nrows > 0 ? h->rows_get(rows, 0, "setting") : NULL;
		if (setting != NULL &&
		    par_value_parse(&run, NULL, ctx, s, setting) == 0 &&
		    par_value_equal(s, &run, want, true))
			return 0;
		err = h->query(NULL, ctx, par_sleep_sql, 0, NULL);
		if (err != 0)
			return err;
	}
	h->log(ctx, DBOPS_LOG_DEBUG,
	       "parameter \"%s\" is not yet in effect in this session",
	       s->name);
	return 0;
}

static int par_reload(struct dbops_ctx *ctx, const struct par_setting *s,
		      const struct par_value *want)
{
	int err = dbops_host(ctx)->query(NULL, ctx, par_reload_sql, 0, NULL);

	return err != 0 ? err : par_wait_reload(ctx, s, want);
}

/* The setting as it is now, and the desired value parsed for it. */
static int par_reread(const struct par_live **live_out,
		      const struct par_setting **s_out, struct par_value *want,
		      struct dbops_ctx *ctx, const struct par_payload *pl)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct par_parse_error perr = {NULL, NULL};
	struct par_live *live = NULL;
	const char *names[1] = {pl->name};
	const struct par_setting *s;
	int err;

	err = par_live_load(&live, ctx, names, 1);
	if (err != 0)
		return err;
	s = par_live_find(live, pl->name);
	if (s == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
			"unrecognized configuration parameter \"%s\"",
			pl->name);
		return DBOPS_ERR_CONFLICT;
	}
	if (par_value_parse(want, &perr, ctx, s, pl->value) != 0) {
		struct dbops_diag *d;

		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
			    "%s", perr.message);
		if (perr.hint != NULL)
			h->diag_hint(ctx, d, "%s", perr.hint);
		return DBOPS_ERR_CONFLICT;
	}
	*live_out = live;
	*s_out = s;
	return 0;
}

int par_apply(struct dbops_ctx *ctx, const struct dbops_change *change)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct par_payload *pl = change->payload;
	const struct par_live *live = NULL;
	const struct par_setting *s = NULL;
	struct par_value want, have;
	enum par_origin origin;
	const char *stmt;
	int err;

	if (par_ptn_is_restart(change))
		return par_ptn_apply_restart(ctx, change);
	err = par_reread(&live, &s, &want, ctx, pl);
	if (err != 0)
		return err;
	if (pl->reload_only) {
		if (par_value_parse(&have, NULL, ctx, s, s->setting) == 0 &&
		    par_value_equal(s, &have, &want, true)) {
			h->log(ctx, DBOPS_LOG_INFO,
			       "parameter \"%s\" is already %s", s->name,
			       par_value_format(ctx, s, &have));
			return 0;
		}
		return par_reload(ctx, s, &want);
	}
	if (pl->patroni)
		return par_ptn_apply(ctx, s, &want, pl->value);
	if (par_value_parse(&have, NULL, ctx, s,
			    par_configured(live, s, &origin)) == 0 &&
	    par_value_equal(s, &have, &want, origin != PAR_ORIGIN_FILE)) {
		h->log(ctx, DBOPS_LOG_INFO, "parameter \"%s\" is already %s",
		       s->name, par_value_format(ctx, s, &have));
		return 0;
	}
	stmt = par_statement(ctx, s, pl->value);
	if (stmt == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &change->loc,
			"invalid value for parameter \"%s\": %s", s->name,
			plug_value(ctx, pl->value));
		return DBOPS_ERR_INVALID;
	}
	err = h->query(NULL, ctx, stmt, 0, NULL);
	if (err != 0)
		return err;
	return par_reload(ctx, s, &want);
}

/*
 * A postmaster setting configured as desired but running otherwise
 * because the server was not restarted since. A default tuned at start
 * (wal_buffers -1 runs as 1MB, say) is not one: only a pending restart
 * or a configuration line not loaded yet tells.
 */
static bool par_restart_pending(struct dbops_ctx *ctx,
				const struct par_live *live,
				const struct par_setting *s,
				const char *desired)
{
	struct par_value want, conf, run;
	enum par_origin origin;

	if (strcmp(s->context, "postmaster") != 0 ||
	    par_value_parse(&want, NULL, ctx, s, desired) != 0 ||
	    par_value_parse(&conf, NULL, ctx, s,
			    par_configured(live, s, &origin)) != 0 ||
	    !par_value_equal(s, &conf, &want, origin != PAR_ORIGIN_FILE))
		return false;
	if (par_value_parse(&run, NULL, ctx, s, s->setting) == 0 &&
	    par_value_equal(s, &run, &want, true))
		return false;
	return s->pending_restart || origin == PAR_ORIGIN_FILE;
}

int par_verify(struct dbops_ctx *ctx, const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct par_live *live = NULL;
	int err;

	const struct dbops_node *names = NULL;

	if (par_ptn_active(ctx)) {
		/* Patroni's members say what waits for a restart */
		par_ptn_verify(ctx, section != NULL ? &section->loc : NULL);
		return 0;
	}
	par_effective(&names, ctx, section, NULL);
	if (names == NULL || names->kind != DBOPS_NODE_MAP)
		return 0;
	err = par_live_load(&live, ctx, names->keys, names->len);
	if (err != 0)
		return err;
	par_effective(&section, ctx, section, live);
	for (size_t i = 0; i < section->len; i++) {
		const struct dbops_node *value = section->items[i];
		const struct par_setting *s;
		struct dbops_diag *d;

		s = par_live_find(live, section->keys[i]);
		if (s == NULL || value->kind != DBOPS_NODE_SCALAR ||
		    !par_restart_pending(ctx, live, s, value->scalar))
			continue;
		d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, &section->key_nodes[i]->loc,
		    strcmp(s->source, "command line") == 0
			? "parameter \"%s\" is set on the server command line"
			: "parameter \"%s\" needs a server restart to take effect",
		    s->name);
		h->diag_detail(
		    ctx, d,
		    "The running value is %s; the configured value is %s.",
		    par_text_describe(ctx, s, s->setting),
		    par_text_describe(ctx, s, par_configured(live, s, NULL)));
	}
	return 0;
}

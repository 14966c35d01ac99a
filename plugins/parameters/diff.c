/* SPDX-License-Identifier: PostgreSQL */
/*
 * diff.c — desired settings against the observed ones: the errors that
 * need pg_settings to be seen (unknown name, fixed setting, a value that
 * does not parse or is out of range), and one change per setting whose
 * configured value differs from the spec. Settings the spec does not name
 * are left alone.
 *
 * A change is `ALTER SYSTEM SET name = 'value'` (non-transactional; also
 * needs-restart for postmaster settings). A setting configured as desired
 * but not running that way gets a warning when it waits for a restart, or
 * a reload change when only pg_reload_conf() is missing. Pure: no I/O.
 */
#include "parameters_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Keywords that an unquoted name part may not be (reserved and
 * type_func_name keywords of PostgreSQL 15), each between blanks. */
static const char par_keywords[] =
    " all analyse analyze and any array as asc asymmetric authorization"
    " binary both case cast check collate collation column concurrently"
    " constraint create cross current_catalog current_date current_role"
    " current_schema current_time current_timestamp current_user default"
    " deferrable desc distinct do else end except false fetch for"
    " foreign freeze from full grant group having ilike in initially"
    " inner intersect into is isnull join lateral leading left like"
    " limit localtime localtimestamp natural not notnull null offset on"
    " only or order outer overlaps placing primary references returning"
    " right select session_user similar some symmetric table tablesample"
    " then to trailing true union unique user using variadic verbose"
    " when where window with ";

/* A lower-case name part that can be written without quotes. */
static bool par_plain_part(const char *part)
{
	size_t len;

	if (!(islower((unsigned char)*part) || *part == '_'))
		return false;
	for (const char *p = part; *p; p++)
		if (!(islower((unsigned char)*p) ||
		      isdigit((unsigned char)*p) || *p == '_' || *p == '$'))
			return false;
	len = strlen(part);
	for (const char *k = strstr(par_keywords, part); k != NULL;
	     k = strstr(k + 1, part))
		if (k[-1] == ' ' && k[len] == ' ')
			return false;
	return true;
}

/* The setting's name for SQL: lower case (names are case-insensitive),
 * each dotted part quoted only when it must be. */
static const char *par_sql_name(struct dbops_ctx *ctx, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	char *lower = h->strdup(ctx, name);
	const char *out = "";
	char *part = lower;

	for (char *c = lower; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (;;) {
		char *dot = strchr(part, '.');

		if (dot != NULL)
			*dot = '\0';
		out = h->printf(
		    ctx, "%s%s%s", out, *out ? "." : "",
		    par_plain_part(part) ? part : h->quote_ident(ctx, part));
		if (dot == NULL)
			return out;
		part = dot + 1;
	}
}

const char *par_statement(struct dbops_ctx *ctx, const struct par_setting *s,
			  const char *value)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *name = par_sql_name(ctx, s->name);
	const char **items;
	const char *list = "";
	bool quote, fold;
	int n;

	if (!par_list_setting(s->name, &quote, &fold) || !quote)
		return h->printf(ctx, "ALTER SYSTEM SET %s = %s", name,
				 h->quote_literal(ctx, value));
	/*
	 * GUC_LIST_QUOTE settings: ALTER SYSTEM quotes each literal as an
	 * identifier, so one literal holding the whole list would become a
	 * single element. An empty list cannot be written at all; RESET
	 * gives it when it is the default.
	 */
	n = par_list_split(&items, ctx, value, fold);
	if (n < 0)
		return NULL;
	if (n == 0) {
		if (s->boot_val == NULL || *s->boot_val != '\0')
			return NULL;
		return h->printf(ctx, "ALTER SYSTEM RESET %s", name);
	}
	for (int i = 0; i < n; i++)
		list = h->printf(ctx, "%s%s%s", list, i ? ", " : "",
				 h->quote_literal(ctx, items[i]));
	return h->printf(ctx, "ALTER SYSTEM SET %s = %s", name, list);
}

/* Whether a shared_preload_libraries value names `library` ("pg_cron",
 * "$libdir/pg_cron", "pg_cron.so"). */
static bool par_list_has_library(struct dbops_ctx *ctx, const char *value,
				 const char *library, size_t len)
{
	const char **items;
	int n;

	if (value == NULL)
		return false;
	n = par_list_split(&items, ctx, value, false);
	for (int i = 0; i < n; i++) {
		const char *base = strrchr(items[i], '/');

		base = base != NULL ? base + 1 : items[i];
		if (strncmp(base, library, len) == 0 &&
		    (base[len] == '\0' || strcmp(base + len, ".so") == 0))
			return true;
	}
	return false;
}

/* The library of an extension setting is configured (by the spec or on
 * the server) but not loaded yet: the setting appears after a restart. */
static bool par_library_pending(struct dbops_ctx *ctx,
				const struct par_live *live,
				const struct dbops_node *section,
				const char *name)
{
	size_t len = (size_t)(strchr(name, '.') - name);
	const struct par_setting *spl;
	char *library = dbops_host(ctx)->strdup(ctx, name);

	library[len] = '\0';
	for (size_t i = 0; i < section->len; i++)
		if (par_name_cmp(section->keys[i],
				 "shared_preload_libraries") == 0 &&
		    section->items[i]->kind == DBOPS_NODE_SCALAR &&
		    par_list_has_library(ctx, section->items[i]->scalar,
					 library, len))
			return true;
	spl = par_live_find(live, "shared_preload_libraries");
	return spl != NULL &&
	       par_list_has_library(ctx, par_configured(live, spl, NULL),
				    library, len);
}

static int par_unknown(struct dbops_ctx *ctx, const struct par_live *live,
		       const struct dbops_node *section, const char *name,
		       const struct dbops_loc *loc)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *guess;
	struct dbops_diag *d;
	bool dotted = strchr(name, '.') != NULL;

	if (dotted && par_library_pending(ctx, live, section, name)) {
		d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, loc,
		    "parameter %s cannot be set until its library is loaded",
		    plug_value(ctx, name));
		h->diag_detail(
		    ctx, d,
		    "Its library is in shared_preload_libraries, which takes effect at the next server restart.");
		h->diag_hint(
		    ctx, d,
		    "Restart the server, then run dbops again to set the parameter.");
		return 0;
	}
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, loc,
		    "unrecognized configuration parameter %s",
		    plug_value(ctx, name));
	guess = h->suggest(name, live->all_names, live->nall_names);
	if (guess != NULL)
		h->diag_hint(ctx, d, "Did you mean \"%s\"?", guess);
	else if (dotted)
		h->diag_hint(
		    ctx, d,
		    "A parameter of an extension exists only once its library is loaded, for example through shared_preload_libraries.");
	else if (!live->read_all_settings)
		h->diag_hint(
		    ctx, d,
		    "Some parameters are visible only to superusers and to members of pg_read_all_settings.");
	return DBOPS_ERR_INVALID;
}

/* A reason only where the effect is not the usual one (a reload puts a
 * setting into effect at once): a reason on every line is noise. */
static const char *par_reason(const struct par_setting *s)
{
	if (strcmp(s->context, "postmaster") == 0)
		return "needs a server restart to take effect";
	if (strcmp(s->context, "backend") == 0 ||
	    strcmp(s->context, "superuser-backend") == 0)
		return "takes effect in sessions started after the reload";
	return NULL;
}

static bool par_is_postmaster(const struct par_setting *s)
{
	return strcmp(s->context, "postmaster") == 0;
}

/* A setting the server command line sets: the files do not count. */
static void par_warn_command_line(struct dbops_ctx *ctx,
				  const struct par_setting *s,
				  const struct dbops_loc *loc,
				  const char *configured)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d;

	d = h->diag(ctx, DBOPS_SEV_WARNING, 0, loc,
		    "parameter \"%s\" is set on the server command line",
		    s->name);
	h->diag_detail(
	    ctx, d,
	    "The running value is %s; the configured value %s has no effect while the command line sets the parameter.",
	    par_text_describe(ctx, s, s->setting), configured);
}

/* Everything about one desired setting that diff needs. */
struct par_item {
	const struct par_setting *s;
	const char *text; /* desired, as written */
	const struct dbops_loc *loc;
	const char *stmt;
	struct par_value want;
	struct par_value conf; /* configured, when conf_ok */
	bool conf_ok;
	const char *conf_text;
	enum par_origin origin;
};

static struct dbops_change *par_change(struct dbops_ctx *ctx,
				       const struct par_item *it,
				       enum dbops_action action,
				       const char *before)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct par_payload *pl = h->alloc(ctx, sizeof(*pl));
	struct dbops_change *c;

	c = h->change_new(ctx, action,
			  h->printf(ctx, "parameters.%s", it->s->name));
	c->loc = *it->loc;
	h->change_attr(ctx, c, "value", before, it->text, false);
	c->flags = DBOPS_CHANGE_NONTX;
	pl->name = it->s->name;
	pl->value = it->text;
	pl->reload_only = action == DBOPS_ACTION_RELOAD;
	pl->patroni = par_ptn_active(ctx);
	c->payload = pl;
	return c;
}

/* Configured as desired: say what still stands between it and the
 * running value. */
static void par_settled(struct dbops_ctx *ctx, const struct par_item *it)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct par_setting *s = it->s;
	struct par_value run;
	struct dbops_change *c;
	struct dbops_diag *d;
	const char *configured = par_text_describe(ctx, s, it->conf_text);

	if (par_value_parse(&run, NULL, ctx, s, s->setting) == 0 &&
	    par_value_equal(s, &run, &it->want, true))
		return;
	if (strcmp(s->source, "command line") == 0 && !par_ptn_active(ctx)) {
		par_warn_command_line(ctx, s, it->loc, configured);
		return;
	}
	/* a default tuned at start (wal_buffers -1) runs as another value;
	 * only a pending restart or a line not loaded yet tells a change */
	if (!s->pending_restart && it->origin != PAR_ORIGIN_FILE)
		return;
	if (par_is_postmaster(s)) {
		d = h->diag(ctx, DBOPS_SEV_WARNING, 0, it->loc,
			    "parameter \"%s\" is waiting for a server restart",
			    s->name);
		h->diag_detail(
		    ctx, d,
		    "The running value is %s; the configured value is %s.",
		    par_text_describe(ctx, s, s->setting), configured);
		return;
	}
	if (par_ptn_active(ctx))
		return; /* Patroni reloads the members itself */
	/* written to the files, not loaded: a reload was missed. Roles,
	 * databases and sessions may override the value, and backend
	 * settings keep their value for the life of a session, so only
	 * server-level sources can tell. */
	if (it->origin != PAR_ORIGIN_FILE || !s->file_applied ||
	    strcmp(s->context, "backend") == 0 ||
	    strcmp(s->context, "superuser-backend") == 0 ||
	    (strcmp(s->source, "default") != 0 &&
	     strcmp(s->source, "configuration file") != 0))
		return;
	c = par_change(ctx, it, DBOPS_ACTION_RELOAD,
		       par_text_format(ctx, s, s->setting));
	c->sql = "SELECT pg_catalog.pg_reload_conf()";
	c->reason =
	    "configured already; a configuration reload puts it into effect";
}

static void par_update(struct dbops_ctx *ctx, const struct par_item *it)
{
	const struct par_setting *s = it->s;
	struct dbops_change *c;
	const char *before =
	    it->conf_ok ? par_value_format(ctx, s, &it->conf) : it->conf_text;

	c = par_change(ctx, it, DBOPS_ACTION_UPDATE, before);
	c->sql = it->stmt;
	c->reason = par_reason(s);
	if (par_ptn_active(ctx) && par_is_postmaster(s))
		c->reason =
		    "Patroni writes it on every member; each needs a restart for it";
	else if (par_ptn_active(ctx))
		c->reason = "Patroni writes it on every member and reloads";
	if (par_is_postmaster(s))
		c->flags |= DBOPS_CHANGE_NEEDS_RESTART;
	/* Patroni passes its settings on the command line itself */
	if (strcmp(s->source, "command line") == 0 && !par_ptn_active(ctx))
		par_warn_command_line(ctx, s, it->loc,
				      par_text_describe(ctx, s, it->text));
}

static int par_check_desired(struct dbops_ctx *ctx, struct par_item *it)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct par_setting *s = it->s;
	struct par_parse_error perr = {NULL, NULL};
	struct dbops_diag *d;

	if (par_not_alterable(s)) {
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, it->loc,
			    "parameter \"%s\" cannot be changed", s->name);
		h->diag_detail(
		    ctx, d,
		    strcmp(s->context, "internal") == 0
			? "Its value is fixed when PostgreSQL is built or the cluster is initialized."
			: "ALTER SYSTEM cannot set it.");
		return DBOPS_ERR_INVALID;
	}
	if (par_value_parse(&it->want, &perr, ctx, s, it->text) != 0) {
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, it->loc,
			    "%s", perr.message);
		if (perr.hint != NULL)
			h->diag_hint(ctx, d, "%s", perr.hint);
		return DBOPS_ERR_INVALID;
	}
	if (!par_value_in_range(s, &it->want)) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, it->loc,
		    "%s is outside the valid range for parameter \"%s\" (%s .. %s)",
		    par_value_format(ctx, s, &it->want), s->name,
		    par_text_format(ctx, s, s->min_val),
		    par_text_format(ctx, s, s->max_val));
		return DBOPS_ERR_INVALID;
	}
	if (par_ptn_active(ctx)) {
		if (par_ptn_check(ctx, s, &it->want, it->loc) != 0)
			return DBOPS_ERR_INVALID;
		it->stmt = par_ptn_sql(ctx, s->name, it->text);
		return 0;
	}
	it->stmt = par_statement(ctx, s, it->text);
	if (it->stmt == NULL) {
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, it->loc,
			    "invalid value for parameter \"%s\": %s", s->name,
			    plug_value(ctx, it->text));
		h->diag_hint(
		    ctx, d,
		    "Write the list as comma-separated names; an empty list can only be configured for parameters whose default is empty.");
		return DBOPS_ERR_INVALID;
	}
	return 0;
}

static int par_diff_one(struct dbops_ctx *ctx, const struct par_live *live,
			const struct dbops_node *section, size_t i,
			bool *restart)
{
	struct par_item it;
	int err;

	memset(&it, 0, sizeof(it));
	it.text = section->items[i]->scalar;
	it.loc = &section->key_nodes[i]->loc;
	it.s = par_live_find(live, section->keys[i]);
	if (it.s == NULL)
		return par_unknown(ctx, live, section, section->keys[i],
				   it.loc);
	err = par_check_desired(ctx, &it);
	if (err != 0)
		return err;
	it.conf_text = par_configured(live, it.s, &it.origin);
	/* under Patroni its dynamic configuration wins over the files */
	if (live->patroni &&
	    patroni_param(live->ptn_config, it.s->name) != NULL) {
		it.conf_text = patroni_param(live->ptn_config, it.s->name);
		it.origin = PAR_ORIGIN_FILE;
	}
	it.conf_ok =
	    par_value_parse(&it.conf, NULL, ctx, it.s, it.conf_text) == 0;
	if (it.conf_ok && par_value_equal(it.s, &it.conf, &it.want,
					  it.origin != PAR_ORIGIN_FILE))
		par_settled(ctx, &it);
	else {
		par_update(ctx, &it);
		*restart |= par_is_postmaster(it.s);
	}
	return 0;
}

int par_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	     void *live_model)
{
	const struct par_live *live = live_model;
	struct par_live empty = {0};
	bool restart = false;
	int rc = 0;

	if (live == NULL)
		live = &empty;
	/* the spec's settings and those other plugins need (needs.c) */
	if (par_effective(&section, ctx, section, live) != 0)
		rc = DBOPS_ERR_INVALID;
	if (section == NULL || section->kind != DBOPS_NODE_MAP)
		return rc;
	for (size_t i = 0; i < section->len; i++) {
		if (section->items[i]->kind != DBOPS_NODE_SCALAR ||
		    !par_name_valid(section->keys[i]))
			continue; /* reported by validate */
		if (par_diff_one(ctx, live, section, i, &restart) != 0)
			rc = DBOPS_ERR_INVALID;
	}
	if (rc == 0 && live->patroni)
		par_ptn_plan_restart(ctx, live, restart, &section->loc);
	return rc;
}

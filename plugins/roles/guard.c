/* SPDX-License-Identifier: PostgreSQL */
/*
 * guard.c — keeping a password statement's text, with its SCRAM verifier,
 * out of what the server records. A verifier allows an offline dictionary
 * attack on the password, and `ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'`
 * is written to the server log by log_statement (it is DDL), by the
 * duration settings (log_min_duration_statement, log_min_duration_sample,
 * log_transaction_sample_rate), with any message it raises
 * (log_min_error_statement, which also adds it to debug_print_parse's
 * output), and kept by pg_stat_statements when track_utility is on.
 *
 * Observe reads those settings and whether the role dbops connects as may
 * set them (superuser, PGC_USERSET, or PostgreSQL 15's GRANT SET ON
 * PARAMETER, asked with has_parameter_privilege so that no failed SET
 * reaches the server log). Diff gives each password change the SETs it
 * may run and warns, for each setting that would record the statement and
 * that dbops may not set, with its current value and the fix. Apply runs
 * the SETs for the session before the change's own transaction begins (a
 * transaction is sampled by log_transaction_sample_rate when it begins,
 * so SET LOCAL inside it would be too late) and RESETs them after it.
 *
 * Left alone because they never record the text of a utility statement:
 * log_duration (the duration alone), log_statement_sample_rate (only with
 * log_min_duration_sample, which is set), debug_print_plan and auto_explain
 * (planned and executed statements only), log_parameter_max_length (bind
 * parameters; the statement has none). pgaudit redacts what follows
 * PASSWORD in CREATE and ALTER ROLE itself.
 */
#include "roles_int.h"

#include <stdlib.h>
#include <string.h>

struct guard {
	const char *name;
	const char *safe; /* the value set for the statement */
	/* How the current value `v` records the statement, as a phrase for
	 * the warning, or NULL when it does not. NULL for a setting that is
	 * set but never warned about. */
	const char *(*records)(const struct role_live *live, const char *v);
};

static const struct role_live_setting *find(const struct role_live *live,
					    const char *name)
{
	for (size_t i = 0; i < live->nsettings; i++)
		if (strcmp(live->settings[i].name, name) == 0)
			return &live->settings[i];
	return NULL;
}

static const char *setting(const struct role_live *live, const char *name)
{
	const struct role_live_setting *s = find(live, name);

	return s != NULL ? s->setting : NULL;
}

static const char *rec_statement(const struct role_live *live, const char *v)
{
	(void)live;
	return strcmp(v, "none") != 0
		   ? "CREATE ROLE and ALTER ROLE are written to the server log with their text"
		   : NULL;
}

static const char *rec_duration(const struct role_live *live, const char *v)
{
	(void)live;
	return strtol(v, NULL, 10) >= 0
		   ? "a statement that runs that long is written to the server log with its text"
		   : NULL;
}

static const char *rec_sample(const struct role_live *live, const char *v)
{
	const char *rate = setting(live, "log_statement_sample_rate");

	return strtol(v, NULL, 10) >= 0 &&
		       (rate == NULL || strtod(rate, NULL) > 0)
		   ? "a sample of the statements that run that long is written to the server log with their text"
		   : NULL;
}

static const char *rec_xact(const struct role_live *live, const char *v)
{
	(void)live;
	return strtod(v, NULL) > 0
		   ? "every statement of a sampled transaction is written to the server log with its text"
		   : NULL;
}

static const char *rec_error(const struct role_live *live, const char *v)
{
	(void)live;
	return strcmp(v, "fatal") != 0 && strcmp(v, "panic") != 0
		   ? "a statement that fails, or raises a message at that level, is written to the server log with its text"
		   : NULL;
}

static const char *rec_pgss(const struct role_live *live, const char *v)
{
	const char *track = setting(live, "pg_stat_statements.track");

	return strcmp(v, "on") == 0 &&
		       (track == NULL || strcmp(track, "none") != 0)
		   ? "pg_stat_statements keeps the text of utility statements"
		   : NULL;
}

/* In the order they are set. Those without `records` are set when dbops
 * may (debug_print_*: PGC_USERSET, so always) but never warned about:
 * debug_print_* only matter from PostgreSQL 16 on, whose parse tree
 * dumps show a utility statement's options; track_activities shows the
 * statement in pg_stat_activity while it runs (to superusers and
 * pg_read_all_stats), and in another backend's deadlock report. */
static const struct guard guards[] = {
    {"log_transaction_sample_rate", "0", rec_xact},
    {"log_statement", "'none'", rec_statement},
    {"log_min_duration_statement", "-1", rec_duration},
    {"log_min_duration_sample", "-1", rec_sample},
    {"log_min_error_statement", "'panic'", rec_error},
    {"pg_stat_statements.track_utility", "off", rec_pgss},
    {"debug_print_parse", "off", NULL},
    {"debug_print_rewritten", "off", NULL},
    {"track_activities", "off", NULL},
};

#define NGUARDS (sizeof(guards) / sizeof(guards[0]))

/* Read to judge the guards, never set. */
static const char *const context_settings[] = {
    "log_statement_sample_rate",
    "pg_stat_statements.track",
};

#define GUARD_COLS                                                                \
	"SELECT s.name, s.setting, pg_catalog.current_setting(s.name) AS shown, " \
	"s.context = 'user' OR r.rolsuper"
#define GUARD_FROM                                                             \
	" AS can_set FROM pg_catalog.pg_settings s, pg_catalog.pg_roles r "    \
	"WHERE r.rolname = current_user AND s.name = ANY ($1::text[]) "        \
	"ORDER BY s.name"

/* PostgreSQL 15: GRANT SET ON PARAMETER */
static const char guard_sql[] = GUARD_COLS
    " OR pg_catalog.has_parameter_privilege(s.name, 'SET')" GUARD_FROM;
static const char guard_sql_14[] = GUARD_COLS GUARD_FROM;

int role_guard_observe(struct dbops_ctx *ctx, struct role_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t n = NGUARDS + sizeof(context_settings) / sizeof(char *);
	char *names = h->strdup(ctx, "{");
	struct dbops_rows *rows = NULL;
	const char *params[1];
	int err;

	for (size_t i = 0; i < n; i++)
		names = h->printf(ctx, "%s%s%s", names, i > 0 ? "," : "",
				  i < NGUARDS ? guards[i].name
					      : context_settings[i - NGUARDS]);
	params[0] = h->printf(ctx, "%s}", names);
	err = h->query(&rows, ctx,
		       h->server_version(ctx) >= 150000 ? guard_sql
							: guard_sql_14,
		       1, params);
	if (err != 0)
		return err;
	live->settings =
	    h->alloc(ctx, ((size_t)rows->nrows + 1) * sizeof(*live->settings));
	for (int i = 0; i < rows->nrows; i++) {
		struct role_live_setting *s = &live->settings[i];
		const char *can = h->rows_get(rows, i, "can_set");

		s->name = h->rows_get(rows, i, "name");
		s->setting = h->rows_get(rows, i, "setting");
		s->shown = h->rows_get(rows, i, "shown");
		s->can_set = can != NULL && can[0] == 't';
	}
	live->nsettings = (size_t)rows->nrows;
	live->settings_read = true;
	return 0;
}

/* The warning for the settings dbops may not set that would record the
 * statement; nothing when there are none. */
static void warn(struct dbops_ctx *ctx, const struct role_live *live,
		 const char *role, const struct dbops_loc *loc)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *what = "", *names = "";
	struct dbops_diag *w;
	size_t n = 0;

	for (size_t i = 0; i < NGUARDS; i++) {
		const struct role_live_setting *s = find(live, guards[i].name);
		const char *why;

		if (s == NULL || s->can_set || guards[i].records == NULL ||
		    s->setting == NULL ||
		    (why = guards[i].records(live, s->setting)) == NULL)
			continue;
		what = h->printf(ctx, "%s%s%s (now \"%s\": %s)", what,
				 n > 0 ? "; " : "", s->name,
				 s->shown ? s->shown : s->setting, why);
		names =
		    h->printf(ctx, "%s%s%s", names, n > 0 ? ", " : "", s->name);
		n++;
	}
	if (n == 0)
		return;
	w = h->diag(
	    ctx, DBOPS_SEV_WARNING, 0, loc,
	    "the password verifier of role \"%s\" may be recorded by the server",
	    role);
	h->diag_detail(
	    ctx, w,
	    "dbops connects as role \"%s\", which may not set %s: %s. A verifier allows an offline dictionary attack on the password.",
	    live->current_user, n > 1 ? "these parameters" : "this parameter",
	    what);
	if (h->server_version(ctx) >= 150000)
		h->diag_hint(
		    ctx, w,
		    "Connect as a role that may set %s (a superuser), or let a superuser run: GRANT SET ON PARAMETER %s TO %s;",
		    n > 1 ? "them" : "it", names,
		    h->quote_ident(ctx, live->current_user));
	else
		h->diag_hint(
		    ctx, w,
		    "Connect as a superuser, or let a superuser turn %s off for role %s with ALTER ROLE ... SET.",
		    n > 1 ? "them" : "it",
		    h->quote_ident(ctx, live->current_user));
}

void role_guard_plan(struct dbops_ctx *ctx, const struct role_live *live,
		     const char *role, const struct dbops_loc *loc,
		     struct role_payload *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *set = NULL, *reset = NULL;

	if (!live->settings_read)
		return;
	for (size_t i = 0; i < NGUARDS; i++) {
		const struct role_live_setting *s = find(live, guards[i].name);

		if (s == NULL || !s->can_set)
			continue;
		set = h->printf(ctx, "%s%sSET %s = %s", set ? set : "",
				set ? "; " : "", s->name, guards[i].safe);
		reset = h->printf(ctx, "%s%sRESET %s", reset ? reset : "",
				  reset ? "; " : "", s->name);
	}
	p->guard_set = set;
	p->guard_reset = reset;
	warn(ctx, live, role, loc);
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * checks_cluster.c — the checks that look at the whole server, read once
 * in the first monitored database's repeatable-read snapshot: sessions
 * (long-running queries, idle in transaction, connections against
 * max_connections and against the pooler's pools), replication lag
 * against its limits, transaction ID and multixact wraparound per
 * database, and the objectives (RPO from pg_stat_archiver, replication
 * lag from pg_stat_replication) next to what was measured. Limits come
 * from the section's `objectives`, else from the facts of the replicas
 * and backups plugins (spec.c). The security reads are here too; their
 * judging is security.c's.
 */
#include "monitoring_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char mon_q_state[] =
    "SELECT current_user AS current_user, pg_catalog.to_char(now(), "
    "'YYYYMMDDHH24MISS') AS now, pg_catalog.pg_is_in_recovery() AS "
    "in_recovery, CASE WHEN pg_catalog.pg_is_in_recovery() THEN CASE "
    "WHEN pg_catalog.pg_last_wal_receive_lsn() = "
    "pg_catalog.pg_last_wal_replay_lsn() THEN 0 ELSE GREATEST(0, "
    "EXTRACT(epoch FROM now() - "
    "pg_catalog.pg_last_xact_replay_timestamp())) END END::float8 AS "
    "standby_lag, pg_catalog.has_table_privilege('pg_catalog.pg_authid', "
    "'SELECT') AS authid, "
    "pg_catalog.has_table_privilege('pg_catalog.pg_hba_file_rules', "
    "'SELECT') AND "
    "pg_catalog.has_function_privilege('pg_catalog.pg_hba_file_rules()', "
    "'EXECUTE') AS hba";

static const char mon_q_settings[] =
    "SELECT name, setting FROM pg_catalog.pg_settings WHERE name IN "
    "('max_connections', 'superuser_reserved_connections', 'ssl', "
    "'password_encryption', 'log_connections', 'archive_mode') ORDER BY 1";

static const char mon_q_activity[] =
    "SELECT pid, datname, usename, application_name, state, "
    "EXTRACT(epoch FROM now() - COALESCE(query_start, xact_start))::float8 "
    "AS query_s, EXTRACT(epoch FROM now() - state_change)::float8 AS "
    "state_s, left(query, 300) AS query FROM pg_catalog.pg_stat_activity "
    "WHERE backend_type = 'client backend' AND pid <> "
    "pg_catalog.pg_backend_pid() ORDER BY query_s DESC NULLS LAST, pid";

static const char mon_q_replication[] =
    "SELECT application_name, client_addr::text AS client_addr, state, "
    "sync_state, CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL ELSE "
    "pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), "
    "replay_lsn) END::float8 AS lag_bytes, COALESCE(EXTRACT(epoch FROM "
    "replay_lag), 0)::float8 AS lag_s FROM pg_catalog.pg_stat_replication "
    "ORDER BY application_name, pid";

static const char mon_q_archiver[] =
    "SELECT pg_catalog.current_setting('archive_mode') AS archive_mode, "
    "archived_count, failed_count, EXTRACT(epoch FROM now() - "
    "last_archived_time)::float8 AS archive_age, last_archived_time::text "
    "AS last_archived_time, last_failed_time::text AS last_failed_time, "
    "COALESCE(last_failed_time > last_archived_time, last_failed_time IS "
    "NOT NULL) AS failing FROM pg_catalog.pg_stat_archiver";

static const char mon_q_databases[] =
    "SELECT datname, age(datfrozenxid)::float8 AS xid_age, "
    "mxid_age(datminmxid)::float8 AS mxid_age FROM pg_catalog.pg_database "
    "WHERE datallowconn ORDER BY xid_age DESC, datname";

static const char mon_q_superusers[] =
    "SELECT rolname FROM pg_catalog.pg_roles WHERE rolsuper AND rolname NOT "
    "LIKE 'pg\\_%' ORDER BY 1";

static const char mon_q_hba[] =
    "SELECT line_number, type, array_to_string(database, ',') AS database, "
    "array_to_string(user_name, ',') AS user_name, address, netmask, "
    "auth_method, error FROM pg_catalog.pg_hba_file_rules ORDER BY "
    "line_number";

static const char mon_q_md5[] =
    "SELECT rolname FROM pg_catalog.pg_authid WHERE rolcanlogin AND "
    "rolpassword ~ '^md5[0-9a-f]{32}$' ORDER BY 1";

static const char mon_q_expiry_authid[] =
    "SELECT rolname FROM pg_catalog.pg_authid WHERE rolcanlogin AND "
    "rolvaliduntil IS NULL AND rolpassword IS NOT NULL AND rolname NOT LIKE "
    "'pg\\_%' ORDER BY 1";

static const char mon_q_expiry_roles[] =
    "SELECT rolname FROM pg_catalog.pg_roles WHERE rolcanlogin AND "
    "rolvaliduntil IS NULL AND rolname NOT LIKE 'pg\\_%' ORDER BY 1";

const char *mon_setting(const struct mon_cluster *cl, const char *name)
{
	const struct dbops_rows *s = cl->settings;

	for (int i = 0; s != NULL && i < s->nrows; i++)
		if (strcmp(s->values[i * s->ncols], name) == 0)
			return s->values[i * s->ncols + 1];
	return NULL;
}

static bool mon_t(const char *v)
{
	return v != NULL && v[0] == 't';
}

int mon_cluster_read(struct dbops_ctx *ctx, struct mon_cluster *cl,
		     struct mon_conn *c, const struct mon_spec *spec)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *st = NULL;
	bool authid, hba;
	int err;

	if ((err = mon_exec(&st, ctx, c, mon_q_state, 0, NULL)) != 0)
		return err;
	cl->current_user = h->rows_get(st, 0, "current_user");
	cl->now = h->rows_get(st, 0, "now");
	cl->in_recovery = mon_t(h->rows_get(st, 0, "in_recovery"));
	cl->standby_lag = h->rows_get(st, 0, "standby_lag") != NULL
			      ? mon_num(h->rows_get(st, 0, "standby_lag"))
			      : -1;
	authid = mon_t(h->rows_get(st, 0, "authid"));
	hba = mon_t(h->rows_get(st, 0, "hba"));
	if ((err = mon_exec(&cl->settings, ctx, c, mon_q_settings, 0, NULL)) ||
	    (err = mon_exec(&cl->activity, ctx, c, mon_q_activity, 0, NULL)) ||
	    (err = mon_exec(&cl->replication, ctx, c, mon_q_replication, 0,
			    NULL)) ||
	    (err = mon_exec(&cl->archiver, ctx, c, mon_q_archiver, 0, NULL)) ||
	    (err = mon_exec(&cl->databases, ctx, c, mon_q_databases, 0, NULL)))
		return err;
	if (!spec->checks[MON_CHK_SECURITY].enabled)
		return 0;
	if ((err = mon_exec(&cl->superusers, ctx, c, mon_q_superusers, 0,
			    NULL)) != 0 ||
	    (hba && (err = mon_exec(&cl->hba, ctx, c, mon_q_hba, 0, NULL))) ||
	    (authid && (err = mon_exec(&cl->md5, ctx, c, mon_q_md5, 0, NULL))))
		return err;
	if (spec->password_expiry &&
	    (err = mon_exec(&cl->no_expiry, ctx, c,
			    authid ? mon_q_expiry_authid : mon_q_expiry_roles,
			    0, NULL)) != 0)
		return err;
	return 0;
}

/* ---- sessions */

static void mon_judge_sessions(struct dbops_ctx *ctx, struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	const struct dbops_rows *a = rep->cl.activity;
	struct mon_result *lr = &rep->results[MON_CHK_LONG];
	struct mon_result *ir = &rep->results[MON_CHK_IDLE_TX];
	int idle = 0;

	for (int i = 0; a != NULL && i < a->nrows; i++) {
		const char *state = h->rows_get(a, i, "state");
		double qs = mon_num(h->rows_get(a, i, "query_s"));
		double ss = mon_num(h->rows_get(a, i, "state_s"));
		bool in_tx = state != NULL &&
			     strncmp(state, "idle in transaction", 19) == 0;

		if (in_tx)
			idle++;
		if (in_tx && ss >= spec->idle_max)
			mon_finding_add(
			    ctx, ir, spec->checks[MON_CHK_IDLE_TX].sev, NULL,
			    h->rows_get(a, i, "datname"), ss,
			    "pid %s (%s, application \"%s\") idle in "
			    "transaction for %s; last query: %s",
			    h->rows_get(a, i, "pid"),
			    h->rows_get(a, i, "usename"),
			    h->rows_get(a, i, "application_name"),
			    mon_fmt_seconds(ctx, ss),
			    mon_oneline(ctx,
					mon_sql_shown_activity(
					    ctx, h->rows_get(a, i, "query")),
					80));
		else if (!in_tx && state != NULL &&
			 strcmp(state, "idle") != 0 && qs >= spec->long_max)
			mon_finding_add(
			    ctx, lr, spec->checks[MON_CHK_LONG].sev, NULL,
			    h->rows_get(a, i, "datname"), qs,
			    "pid %s (%s, application \"%s\") %s for %s: %s",
			    h->rows_get(a, i, "pid"),
			    h->rows_get(a, i, "usename"),
			    h->rows_get(a, i, "application_name"), state,
			    mon_fmt_seconds(ctx, qs),
			    mon_oneline(ctx,
					mon_sql_shown_activity(
					    ctx, h->rows_get(a, i, "query")),
					80));
	}
	if (idle >= spec->idle_max_sessions && spec->idle_max_sessions > 0)
		mon_finding_add(ctx, ir, spec->checks[MON_CHK_IDLE_TX].sev,
				NULL, NULL, idle,
				"%d sessions are idle in transaction (at most "
				"%lld wanted)",
				idle, (long long)spec->idle_max_sessions);
	lr->summary =
	    h->printf(ctx, "none over %s among %d other sessions",
		      mon_fmt_seconds(ctx, spec->long_max), a ? a->nrows : 0);
	lr->hint = "pg_cancel_backend(pid) stops a query; set "
		   "statement_timeout for the role.";
	ir->summary = h->printf(ctx, "%d sessions idle in transaction", idle);
	ir->hint = "Such sessions hold locks and keep VACUUM from cleaning "
		   "up; set idle_in_transaction_session_timeout.";
}

/* The fact pooler.pool.<entry><suffix>, `name` starting at <entry> and
 * `dot` ending it. */
static const char *mon_pool_fact(const struct dbops_fact *const *f, size_t n,
				 const char *name, const char *dot,
				 const char *suffix)
{
	size_t prefix = strlen("pooler.pool."), len = (size_t)(dot - name);

	for (size_t k = 0; k < n; k++)
		if (strncmp(f[k]->name + prefix, name, len) == 0 &&
		    strcmp(f[k]->name + prefix + len, suffix) == 0 &&
		    f[k]->type == DBOPS_FACT_TEXT)
			return f[k]->value;
	return NULL;
}

/* The pools of the pooler plugin (facts pooler.pool.<entry>.dbname,
 * .pool_size and .target) against the server connections per database
 * and user. */
static void mon_judge_pools(struct dbops_ctx *ctx, struct mon_report *rep,
			    double usable)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	const struct dbops_rows *a = rep->cl.activity;
	struct mon_result *r = &rep->results[MON_CHK_CONN];
	const struct dbops_fact *const *f = NULL;
	size_t n = 0;
	double total = 0;

	if (h->header.size <
	    offsetof(struct dbops_host, facts) + sizeof(h->facts))
		return;
	h->facts(&f, &n, ctx, "pooler.pool.");
	for (size_t i = 0; i < n; i++) {
		const char *name = f[i]->name + strlen("pooler.pool.");
		const char *dot = strrchr(name, '.');
		const char *dbname, *target;
		double size, most = 0;

		if (dot == NULL || strcmp(dot, ".pool_size") != 0 ||
		    f[i]->type != DBOPS_FACT_TEXT)
			continue;
		size = mon_num(f[i]->value);
		dbname = mon_pool_fact(f, n, name, dot, ".dbname");
		if (dbname == NULL)
			dbname =
			    h->printf(ctx, "%.*s", (int)(dot - name), name);
		/* a pool of the standbys opens nothing on this server */
		target = mon_pool_fact(f, n, name, dot, ".target");
		if (target != NULL && strcmp(target, "replicas") == 0)
			continue;
		total += size;
		/* the busiest user of that database: a pool is per user */
		for (int u = 0; dbname != NULL && a != NULL && u < a->nrows;
		     u++) {
			double c = 0;

			if (h->rows_get(a, u, "datname") == NULL ||
			    strcmp(h->rows_get(a, u, "datname"), dbname) != 0)
				continue;
			for (int v = 0; v < a->nrows; v++)
				c += h->rows_get(a, v, "datname") != NULL &&
				     h->rows_get(a, v, "usename") != NULL &&
				     h->rows_get(a, u, "usename") != NULL &&
				     strcmp(h->rows_get(a, v, "datname"),
					    dbname) == 0 &&
				     strcmp(h->rows_get(a, v, "usename"),
					    h->rows_get(a, u, "usename")) == 0;
			if (c > most)
				most = c;
		}
		if (size > 0 && most >= spec->conn_max_used * size)
			mon_finding_add(
			    ctx, r, spec->checks[MON_CHK_CONN].sev, NULL,
			    dbname, most / size,
			    "pool \"%.*s\": %.0f server connections of one user "
			    "to database \"%s\", the pool allows %.0f",
			    (int)(dot - name), name, most, dbname, size);
	}
	if (usable > 0 && total > usable)
		mon_finding_add(ctx, r, spec->checks[MON_CHK_CONN].sev, NULL,
				NULL, total / usable,
				"the pooler's pools may open %.0f server "
				"connections, max_connections leaves %.0f",
				total, usable);
}

static void mon_judge_connections(struct dbops_ctx *ctx, struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	struct mon_result *r = &rep->results[MON_CHK_CONN];
	double max = mon_num(mon_setting(&rep->cl, "max_connections"));
	double reserved =
	    mon_num(mon_setting(&rep->cl, "superuser_reserved_connections"));
	double usable = max - reserved;
	/* this session is a client too */
	double used = (rep->cl.activity ? rep->cl.activity->nrows : 0) + 1;

	r->summary = h->printf(ctx, "%.0f of %.0f connections, %s", used,
			       usable, mon_fmt_pct(ctx, used / usable));
	if (usable > 0 && used >= spec->conn_max_used * usable)
		mon_finding_add(ctx, r, spec->checks[MON_CHK_CONN].sev, NULL,
				NULL, used / usable,
				"%.0f client connections, %s of the %.0f "
				"max_connections leaves to clients",
				used, mon_fmt_pct(ctx, used / usable), usable);
	mon_judge_pools(ctx, rep, usable);
	r->hint = "Put PgBouncer in front (the pooler plugin), or raise "
		  "max_connections (a restart).";
}

static void mon_judge_lag(struct dbops_ctx *ctx, struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	const struct dbops_rows *s = rep->cl.replication;
	struct mon_result *r = &rep->results[MON_CHK_LAG];
	double maxb = 0, maxs = 0;

	for (int i = 0; s != NULL && i < s->nrows; i++) {
		double b = mon_num(h->rows_get(s, i, "lag_bytes"));
		double t = mon_num(h->rows_get(s, i, "lag_s"));
		const char *name = h->rows_get(s, i, "application_name");

		maxb = fmax(maxb, b);
		maxs = fmax(maxs, t);
		if (spec->lag_bytes.value >= 0 && b > spec->lag_bytes.value)
			mon_finding_add(
			    ctx, r, spec->checks[MON_CHK_LAG].sev, NULL, NULL,
			    b,
			    "standby \"%s\" replays %s behind, more than %s (%s)",
			    name, mon_fmt_bytes(ctx, b),
			    mon_fmt_bytes(ctx, spec->lag_bytes.value),
			    spec->lag_bytes.source);
		if (spec->lag_time.value >= 0 && t > spec->lag_time.value)
			mon_finding_add(
			    ctx, r, spec->checks[MON_CHK_LAG].sev, NULL, NULL,
			    t,
			    "standby \"%s\" replays %s late, more than %s (%s)",
			    name, mon_fmt_seconds(ctx, t),
			    mon_fmt_seconds(ctx, spec->lag_time.value),
			    spec->lag_time.source);
	}
	if (rep->cl.in_recovery && rep->cl.standby_lag >= 0 &&
	    spec->lag_time.value >= 0 &&
	    rep->cl.standby_lag > spec->lag_time.value)
		mon_finding_add(ctx, r, spec->checks[MON_CHK_LAG].sev, NULL,
				NULL, rep->cl.standby_lag,
				"this standby replays %s late, more than %s",
				mon_fmt_seconds(ctx, rep->cl.standby_lag),
				mon_fmt_seconds(ctx, spec->lag_time.value));
	if (rep->cl.in_recovery)
		r->summary =
		    h->printf(ctx, "a standby, %s behind",
			      mon_fmt_seconds(ctx, rep->cl.standby_lag));
	else if (s == NULL || s->nrows == 0)
		r->summary = "no standby streams";
	else
		r->summary = h->printf(
		    ctx, "%d standbys, at most %s and %s behind", s->nrows,
		    mon_fmt_bytes(ctx, maxb), mon_fmt_seconds(ctx, maxs));
	r->hint = "Look at the standby's I/O and network; \"dbops status\" of "
		  "the replicas plugin shows each member.";
}

static void mon_judge_wraparound(struct dbops_ctx *ctx, struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	const struct dbops_rows *d = rep->cl.databases;
	struct mon_result *r = &rep->results[MON_CHK_WRAP];
	/* PgHero: 2^31 less the 1,000,000 the server keeps in reserve */
	const double limit = 2146483648.0;
	double least = limit;

	for (int i = 0; d != NULL && i < d->nrows; i++) {
		static const char *const cols[2] = {"xid_age", "mxid_age"};
		static const char *const what[2] = {"transaction IDs",
						    "multixact IDs"};

		for (int k = 0; k < 2; k++) {
			double left =
			    limit - mon_num(h->rows_get(d, i, cols[k]));

			least = fmin(least, left);
			if (left < spec->wrap_min_left)
				mon_finding_add(
				    ctx, r, spec->checks[MON_CHK_WRAP].sev,
				    NULL, h->rows_get(d, i, "datname"), left,
				    "database \"%s\" has %s %s left before "
				    "wraparound protection stops writes",
				    h->rows_get(d, i, "datname"),
				    mon_fmt_count(ctx, left), what[k]);
		}
	}
	r->summary =
	    h->printf(ctx, "at least %s IDs left", mon_fmt_count(ctx, least));
	r->hint = "VACUUM (FREEZE) the oldest tables of that database; look "
		  "for long transactions and stale replication slots holding "
		  "the horizon back.";
}

void mon_judge_cluster(struct dbops_ctx *ctx, struct mon_report *rep)
{
	const struct mon_spec *spec = rep->spec;

	if (spec->checks[MON_CHK_LONG].enabled ||
	    spec->checks[MON_CHK_IDLE_TX].enabled)
		mon_judge_sessions(ctx, rep);
	if (spec->checks[MON_CHK_CONN].enabled)
		mon_judge_connections(ctx, rep);
	if (spec->checks[MON_CHK_LAG].enabled)
		mon_judge_lag(ctx, rep);
	if (spec->checks[MON_CHK_WRAP].enabled)
		mon_judge_wraparound(ctx, rep);
}

/* ---- objectives */

static struct mon_objective_row *
mon_objective_row(struct dbops_ctx *ctx, struct mon_report *rep,
		  const char *name, const struct mon_objective *o, bool time)
{
	struct mon_objective_row *row = &rep->objectives[rep->nobjectives++];

	row->name = name;
	row->target = time ? mon_fmt_seconds(ctx, o->value)
			   : mon_fmt_bytes(ctx, o->value);
	row->source = o->source;
	row->target_value = o->value;
	row->actual = "-";
	row->value = -1;
	row->met = true;
	return row;
}

static void mon_objective_measured(struct dbops_ctx *ctx,
				   struct mon_objective_row *row,
				   const struct mon_objective *o, double v,
				   bool time)
{
	row->measured = true;
	row->value = v;
	row->actual = time ? mon_fmt_seconds(ctx, v) : mon_fmt_bytes(ctx, v);
	row->met = v <= o->value;
}

static void mon_objective_rpo(struct dbops_ctx *ctx, struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	const struct dbops_rows *a = rep->cl.archiver;
	struct mon_objective_row *row =
	    mon_objective_row(ctx, rep, "rpo", &spec->rpo, true);
	const char *mode = mon_setting(&rep->cl, "archive_mode");

	if (mode == NULL || strcmp(mode, "off") == 0) {
		row->met = false;
		row->note = "WAL archiving is off: nothing bounds the data a "
			    "restore would lose";
		return;
	}
	if (a == NULL || h->rows_get(a, 0, "archive_age") == NULL) {
		row->met = false;
		row->note = "no WAL segment was archived yet";
		return;
	}
	mon_objective_measured(ctx, row, &spec->rpo,
			       mon_num(h->rows_get(a, 0, "archive_age")), true);
	row->note = "age of the last archived WAL segment (pg_stat_archiver)";
	if (mon_t(h->rows_get(a, 0, "failing"))) {
		row->met = false;
		row->note = h->printf(ctx,
				      "archiving fails: the last failure (%s) "
				      "is newer than the last success",
				      h->rows_get(a, 0, "last_failed_time"));
	}
}

static void mon_objective_lag(struct dbops_ctx *ctx, struct mon_report *rep,
			      const struct mon_objective *o, bool time)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_rows *s = rep->cl.replication;
	struct mon_objective_row *row = mon_objective_row(
	    ctx, rep, time ? "replication_lag.time" : "replication_lag.bytes",
	    o, time);
	double worst = -1;

	for (int i = 0; s != NULL && i < s->nrows; i++)
		worst = fmax(worst, mon_num(h->rows_get(
					s, i, time ? "lag_s" : "lag_bytes")));
	if (rep->cl.in_recovery && time)
		worst = rep->cl.standby_lag;
	if (worst < 0) {
		row->note = "no standby streams";
		return;
	}
	mon_objective_measured(ctx, row, o, worst, time);
	row->note = rep->cl.in_recovery
			? "this standby's replay delay"
			: "the most lagging standby (pg_stat_replication)";
}

void mon_judge_objectives(struct dbops_ctx *ctx, struct mon_report *rep)
{
	const struct mon_spec *spec = rep->spec;
	struct mon_result *r = &rep->results[MON_CHK_OBJECTIVES];

	if (spec->rpo.value >= 0)
		mon_objective_rpo(ctx, rep);
	if (spec->rto.value >= 0) {
		struct mon_objective_row *row =
		    mon_objective_row(ctx, rep, "rto", &spec->rto, true);

		row->note = "measured by restore drills (the backups plugin)";
	}
	if (spec->lag_bytes.value >= 0)
		mon_objective_lag(ctx, rep, &spec->lag_bytes, false);
	if (spec->lag_time.value >= 0)
		mon_objective_lag(ctx, rep, &spec->lag_time, true);
	for (size_t i = 0; i < rep->nobjectives; i++) {
		const struct mon_objective_row *o = &rep->objectives[i];

		if (!o->met)
			mon_finding_add(
			    ctx, r, spec->checks[MON_CHK_OBJECTIVES].sev, NULL,
			    NULL, o->value,
			    "objective %s (%s, from %s) is missed: %s%s%s",
			    o->name, o->target, o->source,
			    o->measured ? "measured " : "",
			    o->measured ? o->actual : "",
			    o->note != NULL
				? dbops_host(ctx)->printf(
				      ctx, "%s%s", o->measured ? "; " : "",
				      o->note)
				: "");
	}
	r->measured = rep->nobjectives > 0;
	if (!r->measured)
		r->note = "no objective declared (monitoring.objectives, or "
			  "the replicas' max_lag and the backups' objectives)";
	r->hint = "Objectives are declared in git and measured here; fix the "
		  "cause or change the objective in a reviewed commit.";
}

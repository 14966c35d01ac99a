/* SPDX-License-Identifier: PostgreSQL */
/*
 * status.c — one monitoring pass, for `dbops status` and `dbops
 * monitoring report`: for each monitored database, a connection of its
 * own (VOLATILE: statistics never enter a plan's fingerprint), what is
 * installed there, a pg_stat_statements snapshot when one is due (the
 * only write: rows of the dbops.monitoring_* tables, bounded by the
 * retention), then one repeatable-read read-only transaction in which
 * everything is read — the cluster-wide facts in the first database's.
 * Then the checks are judged, N+1 pairs sought, and (report only) index
 * advice costed. Status prints a section per check with its top
 * offenders, raises one WARNING or ERROR per failed check (so `dbops
 * status` exits 2 or 1), an objectives table, and the metrics the
 * daemon exports.
 */
#include "monitoring_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* What a finding of each check is, one and several. */
static const char *const mon_nouns[MON_NCHECKS][2] = {
    [MON_CHK_SLOW] = {"slow statement", "slow statements"},
    [MON_CHK_STATEMENTS] = {"pg_stat_statements problem",
			    "pg_stat_statements problems"},
    [MON_CHK_N1] = {"N+1 suspect", "N+1 suspects"},
    [MON_CHK_LONG] = {"long-running query", "long-running queries"},
    [MON_CHK_IDLE_TX] = {"idle-in-transaction problem",
			 "idle-in-transaction problems"},
    [MON_CHK_CONN] = {"connection problem", "connection problems"},
    [MON_CHK_LAG] = {"lagging standby", "lagging standbys"},
    [MON_CHK_CACHE] = {"low cache hit ratio", "low cache hit ratios"},
    [MON_CHK_WRAP] = {"database near wraparound", "databases near wraparound"},
    [MON_CHK_SEQ] = {"sequence near its maximum",
		     "sequences near their maximum"},
    [MON_CHK_UNUSED] = {"unused index", "unused indexes"},
    [MON_CHK_DUP] = {"duplicate index", "duplicate indexes"},
    [MON_CHK_INVALID] = {"invalid index", "invalid indexes"},
    [MON_CHK_SEQSCAN] = {"table read by sequential scans",
			 "tables read by sequential scans"},
    [MON_CHK_BLOAT] = {"bloated relation", "bloated relations"},
    [MON_CHK_SECURITY] = {"security finding", "security findings"},
    [MON_CHK_OBJECTIVES] = {"missed objective", "missed objectives"},
};

void mon_finding_add(struct dbops_ctx *ctx, struct mon_result *r,
		     enum mon_sev sev, const char *id, const char *datname,
		     double value, const char *fmt, ...)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mon_finding *f;
	char buf[2048];
	va_list ap;

	if (r->n == r->cap) {
		struct mon_finding *bigger;

		r->cap = r->cap ? 2 * r->cap : 8;
		bigger = h->alloc(ctx, r->cap * sizeof(*bigger));
		if (r->n > 0)
			memcpy(bigger, r->findings, r->n * sizeof(*bigger));
		r->findings = bigger;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	f = &r->findings[r->n++];
	f->sev = sev;
	f->id = id;
	f->datname = datname;
	f->value = value;
	f->text = h->strdup(ctx, buf);
	if (sev > r->state)
		r->state = sev;
}

/* ---- collecting */

static int mon_read_db(struct dbops_ctx *ctx, struct mon_report *rep,
		       struct mon_db *db, size_t i, double window, bool report)
{
	int err;

	if ((err = mon_conn_open(&db->c, ctx, db->name, rep->spec)) != 0)
		return err;
	if ((err = mon_db_probe(ctx, db)) != 0 ||
	    (err = mon_snapshot_write(ctx, db, rep->spec)) != 0)
		return err;
	if ((err = mon_exec(NULL, ctx, &db->c,
			    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			    0, NULL)) != 0)
		return err;
	if (i == 0 &&
	    (err = mon_cluster_read(ctx, &rep->cl, &db->c, rep->spec)) == 0)
		rep->now = rep->cl.now;
	if (err == 0)
		err = mon_window_read(ctx, db, rep->spec, window, report);
	if (err == 0)
		err = mon_series_read(ctx, db);
	if (err == 0)
		err = mon_db_read(ctx, db, rep->spec);
	if (err != 0) {
		mon_try(NULL, NULL, ctx, &db->c, "ROLLBACK");
		return err;
	}
	return mon_exec(NULL, ctx, &db->c, "COMMIT", 0, NULL);
}

/* Why the statement checks could not be measured, if they could not. */
static void mon_statements_note(struct dbops_ctx *ctx, struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *note = NULL;
	static const enum mon_check_id ids[] = {MON_CHK_SLOW, MON_CHK_N1,
						MON_CHK_STATEMENTS};
	bool any = false;

	for (size_t i = 0; i < rep->ndbs; i++) {
		const struct mon_db *db = &rep->dbs[i];

		if (db->pgss_schema != NULL && db->pgss_loaded) {
			any = true;
			continue;
		}
		note = h->printf(
		    ctx, "%s%spg_stat_statements is %s in database \"%s\"",
		    note ? note : "", note ? "; " : "",
		    db->pgss_schema == NULL ? "not installed"
					    : "not loaded (restart pending)",
		    db->name);
	}
	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
		struct mon_result *r = &rep->results[ids[k]];

		r->measured = any;
		if (note != NULL) {
			r->note = note;
			/* the spec asks for it: not yet there is degraded */
			r->note_sev =
			    rep->spec->statements ? MON_WARNING : MON_OK;
		}
	}
	if (rep->results[MON_CHK_N1].note == NULL) {
		int most = 0;

		for (size_t i = 0; i < rep->ndbs; i++)
			if (rep->dbs[i].win.intervals > most)
				most = rep->dbs[i].win.intervals;
		if (most < rep->spec->n1_min_intervals)
			rep->results[MON_CHK_N1].note = h->printf(
			    ctx,
			    "%d snapshot intervals in the window, %lld needed "
			    "to correlate calls (pairs found meanwhile have "
			    "low confidence)",
			    most, (long long)rep->spec->n1_min_intervals);
	}
}

int mon_collect(struct mon_report *rep, struct dbops_ctx *ctx,
		const struct dbops_node *section, struct mon_live *live,
		double window, bool advice)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mon_spec *spec = live->spec;
	int err = 0;

	(void)section;
	memset(rep, 0, sizeof(*rep));
	mon_objectives_resolve(spec, ctx);
	rep->spec = spec;
	rep->now = "0";
	for (int i = 0; i < MON_NCHECKS; i++) {
		rep->results[i].id = (enum mon_check_id)i;
		rep->results[i].enabled = spec->checks[i].enabled;
		rep->results[i].measured = true;
	}
	rep->ndbs = spec->ndatabases;
	rep->dbs = h->alloc(ctx, (rep->ndbs + 1) * sizeof(*rep->dbs));
	for (size_t i = 0; i < rep->ndbs && err == 0; i++) {
		rep->dbs[i].name = spec->databases[i];
		err = mon_read_db(ctx, rep, &rep->dbs[i], i, window, advice);
	}
	if (err != 0)
		return err;
	for (size_t i = 0; i < rep->ndbs; i++) {
		struct mon_db *db = &rep->dbs[i];

		mon_judge_db(ctx, rep, db);
		if (spec->checks[MON_CHK_SLOW].enabled ||
		    spec->checks[MON_CHK_STATEMENTS].enabled)
			mon_judge_statements(ctx, rep, db);
		if (spec->checks[MON_CHK_N1].enabled)
			mon_n1_find(ctx, rep, db);
		if (advice && (err = mon_advise(ctx, rep, db)) != 0)
			return err;
	}
	for (size_t i = 0; i < rep->nn1; i++) {
		const struct mon_n1 *n = &rep->n1[i];

		mon_finding_add(
		    ctx, &rep->results[MON_CHK_N1],
		    spec->checks[MON_CHK_N1].sev, NULL, n->datname,
		    n->child->calls,
		    "queryid %s runs %.1f times per call of queryid %s (role "
		    "%s, confidence %s): %s",
		    n->child->queryid, n->ratio, n->parent->queryid,
		    n->child->rolname ? n->child->rolname : n->child->userid,
		    n->confidence, mon_oneline(ctx, n->child->text, 80));
	}
	rep->results[MON_CHK_N1].hint =
	    "Fetch the rows in one statement: a join, or the lookup with "
	    "\"= ANY($1)\" over the list (\"dbops monitoring report\" shows "
	    "the pairs and the evidence).";
	mon_judge_cluster(ctx, rep);
	mon_judge_security(ctx, rep);
	mon_judge_objectives(ctx, rep);
	mon_statements_note(ctx, rep);
	return 0;
}

/* ---- status */

static const char *mon_state_name(const struct mon_result *r)
{
	if (!r->enabled)
		return "off";
	if (r->state == MON_ERROR)
		return "error";
	if (r->state == MON_WARNING)
		return "warning";
	if (!r->measured)
		return r->note_sev == MON_WARNING ? "warning" : "-";
	return "OK";
}

static const char *mon_summary(struct dbops_ctx *ctx,
			       const struct mon_result *r)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (r->n > 0)
		return h->printf(ctx, "%zu %s", r->n,
				 mon_nouns[r->id][r->n == 1 ? 0 : 1]);
	if (!r->measured)
		return r->note ? r->note : "not measured";
	if (r->summary != NULL)
		return r->summary;
	return h->printf(ctx, "no %s", mon_nouns[r->id][1]);
}

static void mon_render_windows(struct dbops_ctx *ctx,
			       const struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t i = 0; i < rep->ndbs; i++) {
		const struct mon_db *db = &rep->dbs[i];
		const struct mon_window *w = &db->win;

		if (db->pgss_schema == NULL || !db->pgss_loaded)
			h->out(ctx,
			       "  database \"%s\": no pg_stat_statements\n",
			       db->name);
		else if (w->snapshots)
			h->out(ctx,
			       "  database \"%s\": window since %s (%d "
			       "snapshot intervals%s), %s statements tracked\n",
			       db->name, w->from, w->intervals,
			       db->wrote_snapshot ? ", one taken now" : "",
			       mon_fmt_count(ctx, w->tracked));
		else
			h->out(ctx,
			       "  database \"%s\": counters since %s (no "
			       "snapshot yet%s), %s statements tracked\n",
			       db->name, w->from ? w->from : "the start",
			       db->tables ? ""
					  : ": apply the plan to keep them",
			       mon_fmt_count(ctx, w->tracked));
	}
}

static void mon_render_objectives(struct dbops_ctx *ctx,
				  const struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (rep->nobjectives == 0)
		return;
	h->out(ctx, "\n%-22s %-10s %-10s %-8s %s\n", "OBJECTIVE", "TARGET",
	       "MEASURED", "STATE", "SOURCE");
	for (size_t i = 0; i < rep->nobjectives; i++) {
		const struct mon_objective_row *o = &rep->objectives[i];

		h->out(ctx, "%-22s %-10s %-10s %-8s %s%s%s\n", o->name,
		       o->target, o->actual,
		       !o->met	     ? "missed"
		       : o->measured ? "met"
				     : "-",
		       o->source, o->note ? " — " : "", o->note ? o->note : "");
	}
}

void mon_status_render(struct dbops_ctx *ctx, struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;

	h->out(ctx, "monitoring:\n");
	mon_render_windows(ctx, rep);
	h->out(ctx, "%-22s %-8s %s\n", "CHECK", "STATE", "SUMMARY");
	for (int i = 0; i < MON_NCHECKS; i++) {
		struct mon_result *r = &rep->results[i];
		const struct mon_check *c = &spec->checks[i];
		struct dbops_diag *d;

		if (!r->enabled)
			continue;
		h->out(ctx, "%-22s %-8s %s\n", mon_check_name(r->id),
		       mon_state_name(r), mon_summary(ctx, r));
		for (size_t k = 0; k < r->n && k < (size_t)spec->top; k++)
			h->out(
			    ctx, "    %s%s%s%s%s\n",
			    r->findings[k].id ? "[" : "",
			    r->findings[k].id ? r->findings[k].id : "",
			    r->findings[k].id ? "] " : "",
			    r->findings[k].datname && r->n > 0 && rep->ndbs > 1
				? h->printf(ctx, "%s: ", r->findings[k].datname)
				: "",
			    r->findings[k].text);
		if (r->n > (size_t)spec->top)
			h->out(ctx,
			       "    ... and %zu more (dbops monitoring "
			       "report lists them all)\n",
			       r->n - (size_t)spec->top);
		if (r->n > 0) {
			d = h->diag(ctx,
				    r->state == MON_ERROR ? DBOPS_SEV_ERROR
							  : DBOPS_SEV_WARNING,
				    r->state == MON_ERROR ? DBOPS_ERR_GENERIC
							  : 0,
				    &c->loc, "monitoring check \"%s\": %s",
				    mon_check_name(r->id), mon_summary(ctx, r));
			if (r->hint != NULL)
				h->diag_hint(ctx, d, "%s", r->hint);
		} else if (!r->measured && r->note_sev == MON_WARNING) {
			h->diag(ctx, DBOPS_SEV_WARNING, 0,
				&spec->statements_loc,
				"monitoring check \"%s\" is not measured: %s",
				mon_check_name(r->id), r->note);
		}
	}
	mon_render_objectives(ctx, rep);
	h->out(ctx, "\n");
}

int mon_status(struct dbops_ctx *ctx, const struct dbops_node *section,
	       void *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mon_live *ml = live;
	const char *mode = h->mode(ctx);
	struct mon_report rep;
	double window = ml->spec->window;
	const char *since, *format = "text";
	int err;

	if (mode != NULL && strcmp(mode, "report") == 0) {
		since = h->arg(ctx, "since");
		if (h->arg(ctx, "format") != NULL)
			format = h->arg(ctx, "format");
		if (since != NULL &&
		    (!mon_parse_duration(&window, since) || window <= 0)) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "invalid duration \"%s\" for --since", since);

			h->diag_hint(ctx, d,
				     "Write a duration such as 30min, "
				     "1h or 7d.");
			return DBOPS_ERR_INVALID;
		}
		if (strcmp(format, "text") != 0 &&
		    strcmp(format, "markdown") != 0 &&
		    strcmp(format, "md") != 0 && strcmp(format, "json") != 0) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "unknown report format \"%s\"", format);

			h->diag_hint(ctx, d,
				     "Use --format text, markdown or json.");
			return DBOPS_ERR_INVALID;
		}
		if ((err = mon_collect(&rep, ctx, section, ml, window, true)))
			return err;
		return mon_report_render(ctx, &rep, format);
	}
	if ((err = mon_collect(&rep, ctx, section, ml, window, false)) != 0)
		return err;
	mon_status_render(ctx, &rep);
	if (h->header.size >=
	    offsetof(struct dbops_host, metric) + sizeof(h->metric))
		mon_metrics(ctx, &rep);
	return 0;
}

/* ---- metrics, in postgres_exporter's style */

static const char *mon_label(struct dbops_ctx *ctx, const char *v)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *out = "";

	for (const char *p = v ? v : ""; *p; p++)
		out = h->printf(ctx, "%s%s", out,
				*p == '\\'   ? "\\\\"
				: *p == '"'  ? "\\\""
				: *p == '\n' ? "\\n"
					     : h->printf(ctx, "%c", *p));
	return out;
}

static void mon_metric_db(struct dbops_ctx *ctx, const char *name,
			  const char *datname, double v, const char *help)
{
	const struct dbops_host *h = dbops_host(ctx);

	h->metric(ctx, name,
		  h->printf(ctx, "datname=\"%s\"", mon_label(ctx, datname)), v,
		  help);
}

static void mon_metrics_db(struct dbops_ctx *ctx, const struct mon_report *rep,
			   const struct mon_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	double slow = 0;

	if (db->pgss_schema != NULL && db->pgss_loaded) {
		for (size_t i = 0; i < db->nstmts; i++)
			slow += mon_is_slow(rep->spec, &db->stmts[i]);
		mon_metric_db(
		    ctx, "dbops_statements_slow_total", db->name, slow,
		    "Statements whose mean time in the window is over "
		    "checks.slow_queries.mean");
		mon_metric_db(
		    ctx, "dbops_statements_dealloc_total", db->name,
		    db->win.dealloc,
		    "pg_stat_statements_info.dealloc: entries evicted");
		mon_metric_db(ctx, "dbops_statements_tracked", db->name,
			      db->win.tracked,
			      "Statements pg_stat_statements tracks for the "
			      "database");
		mon_metric_db(ctx, "dbops_statements_calls", db->name,
			      db->win.calls, "Calls in the window");
		mon_metric_db(ctx, "dbops_statements_exec_seconds", db->name,
			      db->win.exec_ms / 1000.0,
			      "Execution time of the window's statements");
	}
	for (int i = 0; db->seqs != NULL && i < db->seqs->nrows; i++)
		h->metric(
		    ctx, "dbops_sequence_used_ratio",
		    h->printf(
			ctx,
			"datname=\"%s\",schemaname=\"%s\","
			"sequencename=\"%s\"",
			mon_label(ctx, db->name),
			mon_label(ctx, h->rows_get(db->seqs, i, "seq_schema")),
			mon_label(ctx, h->rows_get(db->seqs, i, "seq"))),
		    mon_num(h->rows_get(db->seqs, i, "used")),
		    "last_value of the sequence over the maximum of "
		    "its column's type");
}

static double mon_count_db(const struct mon_result *r, const char *datname)
{
	double n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->findings[i].datname != NULL &&
		     strcmp(r->findings[i].datname, datname) == 0;
	return n;
}

void mon_metrics(struct dbops_ctx *ctx, const struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);
	static const struct {
		enum mon_check_id id;
		const char *name;
	} per_db[] = {
	    {MON_CHK_N1, "dbops_n_plus_one_suspects"},
	    {MON_CHK_UNUSED, "dbops_indexes_unused"},
	    {MON_CHK_DUP, "dbops_indexes_duplicate"},
	    {MON_CHK_INVALID, "dbops_indexes_invalid"},
	    {MON_CHK_SEQSCAN, "dbops_tables_seq_scan_heavy"},
	    {MON_CHK_BLOAT, "dbops_relations_bloated"},
	};

	for (int i = 0; i < MON_NCHECKS; i++)
		if (rep->results[i].enabled)
			h->metric(
			    ctx, "dbops_monitoring_check_status",
			    h->printf(ctx, "check=\"%s\"",
				      mon_check_name((enum mon_check_id)i)),
			    rep->results[i].state, "0 ok, 1 warning, 2 error");
	for (size_t d = 0; d < rep->ndbs; d++) {
		mon_metrics_db(ctx, rep, &rep->dbs[d]);
		for (size_t k = 0; k < sizeof(per_db) / sizeof(per_db[0]); k++)
			mon_metric_db(ctx, per_db[k].name, rep->dbs[d].name,
				      mon_count_db(&rep->results[per_db[k].id],
						   rep->dbs[d].name),
				      "Findings of the check in the database");
	}
	for (int i = 0; rep->cl.databases && i < rep->cl.databases->nrows;
	     i++) {
		const char *dn = h->rows_get(rep->cl.databases, i, "datname");

		mon_metric_db(
		    ctx, "dbops_database_xid_age", dn,
		    mon_num(h->rows_get(rep->cl.databases, i, "xid_age")),
		    "age(datfrozenxid)");
		mon_metric_db(
		    ctx, "dbops_database_mxid_age", dn,
		    mon_num(h->rows_get(rep->cl.databases, i, "mxid_age")),
		    "mxid_age(datminmxid)");
	}
	h->metric(ctx, "dbops_security_findings", NULL,
		  (double)rep->results[MON_CHK_SECURITY].n,
		  "Security findings (CIS-style checks)");
	for (size_t i = 0; i < rep->nobjectives; i++) {
		const struct mon_objective_row *o = &rep->objectives[i];
		const char *l = h->printf(ctx, "objective=\"%s\"", o->name);

		h->metric(ctx, "dbops_objective_met", l, o->met ? 1 : 0,
			  "1 when the objective is met");
		h->metric(ctx, "dbops_objective_target", l, o->target_value,
			  "The objective declared (seconds or bytes)");
		if (o->measured)
			h->metric(ctx, "dbops_objective_actual", l, o->value,
				  "The measured value (seconds or bytes)");
	}
}

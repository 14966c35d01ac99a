/* SPDX-License-Identifier: PostgreSQL */
/*
 * report.c — `dbops monitoring report`: the whole pass for a person (text,
 * or markdown for an issue or a pull request) or a machine (json): per
 * database the window, the slow statements and the top statements by
 * time (calls, mean, total, rows per call, share of the time); the N+1
 * pairs with their evidence and fix; the index advice with a migration
 * file body ready for the migrations plugin, and why the other
 * statements got none; the security findings; every other check's
 * findings; the objectives. Nothing here reads a server: it renders
 * what mon_collect gathered.
 */
#include "monitoring_int.h"

#include <json-c/json.h>
#include <math.h>
#include <string.h>

#define MON_REPORT_TOP 20

enum mon_fmt {
	MON_TEXT,
	MON_MD,
};

static const char *mon_sev_name(enum mon_sev s)
{
	return s == MON_ERROR ? "error" : s == MON_WARNING ? "warning" : "ok";
}

/* A markdown table cell: pipes and newlines would break the table. */
static const char *mon_cell(struct dbops_ctx *ctx, const char *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *out = "";

	for (const char *p = s ? s : ""; *p; p++)
		out = h->printf(ctx, "%s%s", out,
				*p == '|'    ? "\\|"
				: *p == '\n' ? " "
					     : h->printf(ctx, "%c", *p));
	return out;
}

static void mon_heading(struct dbops_ctx *ctx, enum mon_fmt f, int level,
			const char *title)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (f == MON_MD)
		h->out(ctx, "\n%s %s\n\n", level == 1 ? "##" : "###", title);
	else
		h->out(ctx, "\n%s\n", title);
}

static void mon_stmt_table(struct dbops_ctx *ctx, enum mon_fmt f,
			   const struct mon_db *db,
			   const struct mon_stmt *const *v, size_t n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_window *w = &db->win;

	if (n == 0) {
		h->out(ctx, f == MON_MD ? "None.\n" : "  none\n");
		return;
	}
	if (f == MON_MD)
		h->out(ctx, "| queryid | role | calls | mean | total | "
			    "rows/call | share | query |\n|---|---|--:|--:|--:"
			    "|--:|--:|---|\n");
	else
		h->out(ctx, "  %-20s %-12s %10s %10s %10s %9s %6s  %s\n",
		       "QUERYID", "ROLE", "CALLS", "MEAN", "TOTAL", "ROWS/CALL",
		       "SHARE", "QUERY");
	for (size_t i = 0; i < n; i++) {
		const struct mon_stmt *s = v[i];
		const char *calls = mon_fmt_count(ctx, s->calls);
		const char *mean = mon_fmt_ms(ctx, s->exec_ms / s->calls);
		const char *total = mon_fmt_ms(ctx, s->exec_ms);
		const char *rpc = h->printf(ctx, "%.2f", s->rows / s->calls);
		const char *share = mon_fmt_pct(
		    ctx, w->exec_ms > 0 ? s->exec_ms / w->exec_ms : NAN);
		const char *role = s->rolname ? s->rolname : s->userid;

		if (f == MON_MD)
			h->out(ctx,
			       "| %s | %s | %s | %s | %s | %s | %s | `%s` |\n",
			       s->queryid, mon_cell(ctx, role), calls, mean,
			       total, rpc, share,
			       mon_cell(ctx, mon_oneline(ctx, s->text, 100)));
		else
			h->out(ctx,
			       "  %-20s %-12s %10s %10s %10s %9s %6s  %s\n",
			       s->queryid, role, calls, mean, total, rpc, share,
			       mon_oneline(ctx, s->text, 100));
	}
}

static void mon_report_db(struct dbops_ctx *ctx, enum mon_fmt f,
			  const struct mon_report *rep, const struct mon_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_window *w = &db->win;
	const struct mon_stmt **v =
	    h->alloc(ctx, (db->nstmts + 1) * sizeof(*v));
	size_t n = 0;

	mon_heading(ctx, f, 1, h->printf(ctx, "Database \"%s\"", db->name));
	if (db->pgss_schema == NULL || !db->pgss_loaded) {
		h->out(ctx, "pg_stat_statements is %s here.\n",
		       db->pgss_schema == NULL ? "not installed"
					       : "not loaded");
		return;
	}
	h->out(ctx,
	       "Window: %s to %s (%s), %d snapshot intervals; %s calls, "
	       "%s of execution. pg_stat_statements: %s of %s entries in use, "
	       "dealloc %s%s%s.\n",
	       w->from ? w->from : "the start", w->to ? w->to : "now",
	       w->snapshots ? mon_fmt_seconds(ctx, w->seconds)
			    : "since the statistics were reset",
	       w->intervals, mon_fmt_count(ctx, w->calls),
	       mon_fmt_ms(ctx, w->exec_ms), mon_fmt_count(ctx, w->tracked_all),
	       mon_fmt_count(ctx, w->max), mon_fmt_count(ctx, w->dealloc),
	       w->reset_in_window ? ", reset at " : "",
	       w->reset_in_window ? w->reset_in_window : "");
	for (size_t i = 0; i < db->nstmts; i++)
		if (mon_is_slow(rep->spec, &db->stmts[i]))
			v[n++] = &db->stmts[i];
	mon_heading(
	    ctx, f, 2,
	    h->printf(ctx, "Slow queries (mean over %s, at least %lld calls)",
		      mon_fmt_seconds(ctx, rep->spec->slow_mean),
		      (long long)rep->spec->slow_min_calls));
	mon_stmt_table(ctx, f, db, v, n);
	n = 0;
	for (size_t i = 0; i < db->nstmts && n < MON_REPORT_TOP; i++)
		if (db->stmts[i].calls > 0)
			v[n++] = &db->stmts[i];
	mon_heading(ctx, f, 2, "Top statements by total time");
	mon_stmt_table(ctx, f, db, v, n);
}

static void mon_report_n1(struct dbops_ctx *ctx, enum mon_fmt f,
			  const struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *ind = f == MON_MD ? "   " : "     ";

	mon_heading(ctx, f, 1, "N+1 suspects");
	if (rep->nn1 == 0)
		h->out(ctx, "%s\n", f == MON_MD ? "None." : "  none");
	for (size_t i = 0; i < rep->nn1; i++) {
		const struct mon_n1 *n = &rep->n1[i];

		h->out(ctx,
		       "%s%zu. database \"%s\", role %s: queryid %s runs %.1f "
		       "times per call of queryid %s (confidence %s)\n",
		       f == MON_MD ? "" : "  ", i + 1, n->datname,
		       n->child->rolname ? n->child->rolname : n->child->userid,
		       n->child->queryid, n->ratio, n->parent->queryid,
		       n->confidence);
		h->out(ctx, "%slist:   %s calls, %.2f rows per call: %s%s%s\n",
		       ind, mon_fmt_count(ctx, n->parent->calls),
		       n->parent->rows / n->parent->calls,
		       f == MON_MD ? "`" : "",
		       mon_oneline(ctx, n->parent->text, 120),
		       f == MON_MD ? "`" : "");
		h->out(ctx,
		       "%slookup: %s calls, %.2f rows per call, mean %s, %s in "
		       "all: %s%s%s\n",
		       ind, mon_fmt_count(ctx, n->child->calls),
		       n->child->rows / n->child->calls,
		       mon_fmt_ms(ctx, n->child->exec_ms / n->child->calls),
		       mon_fmt_ms(ctx, n->child->exec_ms),
		       f == MON_MD ? "`" : "",
		       mon_oneline(ctx, n->child->text, 120),
		       f == MON_MD ? "`" : "");
		h->out(ctx, "%sevidence: %s; %s\n", ind,
		       isfinite(n->r)
			   ? h->printf(ctx,
				       "calls rise and fall together (r = "
				       "%.2f over %d intervals)",
				       n->r, n->intervals)
			   : h->printf(ctx,
				       "no correlation measured (%d "
				       "intervals)",
				       n->intervals),
		       n->rows_match
			   ? h->printf(ctx,
				       "one lookup per listed row (%s lookups, "
				       "%s rows listed)",
				       mon_fmt_count(ctx, n->child->calls),
				       mon_fmt_count(ctx, n->parent->rows))
			   : "lookups do not match the listed rows one to one");
		h->out(ctx,
		       "%sfix: one statement for the whole list — join it into "
		       "the list query, or%s%s%s%s (%s round trips fewer in "
		       "the window)\n",
		       ind, n->fix ? " " : " batch the lookup with = ANY($1)",
		       n->fix && f == MON_MD ? "`" : "",
		       n->fix ? mon_oneline(ctx, n->fix, 160) : "",
		       n->fix && f == MON_MD ? "`" : "",
		       mon_fmt_count(ctx, n->saved_calls));
	}
}

static void mon_report_advice(struct dbops_ctx *ctx, enum mon_fmt f,
			      const struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);

	mon_heading(ctx, f, 1, "Index advice");
	if (rep->nadvice == 0)
		h->out(ctx, "%s\n", f == MON_MD ? "None." : "  none");
	for (size_t i = 0; i < rep->nadvice; i++) {
		const struct mon_advice *a = &rep->advice[i];

		h->out(ctx,
		       "%s%zu. database \"%s\": %s.%s (%s%s%s) for queryid %s: "
		       "cost %.2f -> %.2f (%s, %s)\n",
		       f == MON_MD ? "" : "  ", i + 1, a->datname, a->schema,
		       a->table, a->columns[0], a->ncolumns > 1 ? ", " : "",
		       a->ncolumns > 1 ? a->columns[1] : "", a->queryid,
		       a->cost_before, a->cost_after,
		       mon_fmt_pct(ctx, (a->cost_after - a->cost_before) /
					    a->cost_before),
		       a->hypothetical ? "HypoPG" : "estimate");
		if (f == MON_MD)
			h->out(ctx, "\n   `%s`:\n\n   ```sql\n", a->file);
		else
			h->out(ctx, "     migration file %s:\n", a->file);
		for (const char *p = a->body; *p;) {
			const char *nl = strchr(p, '\n');
			int len = nl ? (int)(nl - p) : (int)strlen(p);

			h->out(ctx, "%s%.*s\n", f == MON_MD ? "   " : "       ",
			       len, p);
			p += len + (nl ? 1 : 0);
		}
		if (f == MON_MD)
			h->out(ctx, "   ```\n");
	}
	if (rep->nskipped > 0) {
		h->out(ctx, "%sNo advice for:\n", f == MON_MD ? "\n" : "  ");
		for (size_t i = 0; i < rep->nskipped; i++)
			h->out(ctx, "%s- queryid %s (database \"%s\"): %s\n",
			       f == MON_MD ? "" : "    ",
			       rep->skipped[i].queryid, rep->skipped[i].datname,
			       rep->skipped[i].reason);
	}
}

static void mon_report_findings(struct dbops_ctx *ctx, enum mon_fmt f,
				const struct mon_result *r)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t k = 0; k < r->n; k++)
		h->out(ctx, "%s- %s%s%s%s%s%s\n", f == MON_MD ? "" : "  ",
		       mon_sev_name(r->findings[k].sev),
		       r->findings[k].id ? " [" : "",
		       r->findings[k].id ? r->findings[k].id : "",
		       r->findings[k].id ? "]" : "", ": ",
		       f == MON_MD ? mon_cell(ctx, r->findings[k].text)
				   : r->findings[k].text);
	if (r->note != NULL)
		h->out(ctx, "%s(%s)\n", f == MON_MD ? "" : "  ", r->note);
}

static void mon_report_checks(struct dbops_ctx *ctx, enum mon_fmt f,
			      const struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);

	mon_heading(ctx, f, 1, "Security findings");
	if (!rep->results[MON_CHK_SECURITY].enabled)
		h->out(ctx, "  (the check is off)\n");
	else if (rep->results[MON_CHK_SECURITY].n == 0)
		h->out(ctx, "%s\n", f == MON_MD ? "None." : "  none");
	mon_report_findings(ctx, f, &rep->results[MON_CHK_SECURITY]);
	mon_heading(ctx, f, 1, "Checks");
	for (int i = 0; i < MON_NCHECKS; i++) {
		const struct mon_result *r = &rep->results[i];

		if (!r->enabled || i == MON_CHK_SECURITY)
			continue;
		h->out(ctx, "%s%s: %s%s%s\n", f == MON_MD ? "- **" : "  ",
		       mon_check_name(r->id), f == MON_MD ? "** " : "",
		       r->n > 0	     ? mon_sev_name(r->state)
		       : r->measured ? "ok"
				     : "not measured",
		       r->n == 0 && r->summary
			   ? h->printf(ctx, " (%s)", r->summary)
			   : "");
		if (r->n > 0 || !r->measured)
			mon_report_findings(ctx, f, r);
	}
	if (rep->nobjectives > 0) {
		mon_heading(ctx, f, 1, "Objectives");
		for (size_t i = 0; i < rep->nobjectives; i++) {
			const struct mon_objective_row *o = &rep->objectives[i];

			h->out(ctx,
			       "%s%s: target %s, measured %s: %s (%s)%s%s\n",
			       f == MON_MD ? "- " : "  ", o->name, o->target,
			       o->actual,
			       !o->met	     ? "missed"
			       : o->measured ? "met"
					     : "not measured",
			       o->source, o->note ? "; " : "",
			       o->note ? o->note : "");
		}
	}
}

static void mon_report_human(struct dbops_ctx *ctx, enum mon_fmt f,
			     const struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);

	h->out(ctx, "%sMonitoring report\n", f == MON_MD ? "# " : "");
	for (size_t i = 0; i < rep->ndbs; i++)
		mon_report_db(ctx, f, rep, &rep->dbs[i]);
	mon_report_n1(ctx, f, rep);
	mon_report_advice(ctx, f, rep);
	mon_report_checks(ctx, f, rep);
}

/* ---- json */

static json_object *mon_jstr(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static json_object *mon_jnum(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

static json_object *mon_jstmt(const struct mon_window *w,
			      const struct mon_stmt *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "queryid", mon_jstr(s->queryid));
	json_object_object_add(o, "role", mon_jstr(s->rolname));
	json_object_object_add(o, "calls", mon_jnum(s->calls));
	json_object_object_add(o, "total_ms", mon_jnum(s->exec_ms));
	json_object_object_add(o, "mean_ms", mon_jnum(s->exec_ms / s->calls));
	json_object_object_add(o, "rows", mon_jnum(s->rows));
	json_object_object_add(o, "rows_per_call",
			       mon_jnum(s->rows / s->calls));
	json_object_object_add(
	    o, "share",
	    mon_jnum(w->exec_ms > 0 ? s->exec_ms / w->exec_ms : NAN));
	json_object_object_add(o, "shared_blks_read", mon_jnum(s->blks_read));
	json_object_object_add(o, "query", mon_jstr(s->text));
	return o;
}

static json_object *mon_jdb(const struct mon_report *rep,
			    const struct mon_db *db)
{
	json_object *o = json_object_new_object(),
		    *w = json_object_new_object();
	json_object *slow = json_object_new_array();
	json_object *top = json_object_new_array();

	json_object_object_add(o, "name", mon_jstr(db->name));
	json_object_object_add(o, "pg_stat_statements",
			       json_object_new_boolean(
				   db->pgss_schema != NULL && db->pgss_loaded));
	json_object_object_add(w, "from", mon_jstr(db->win.from));
	json_object_object_add(w, "to", mon_jstr(db->win.to));
	json_object_object_add(w, "snapshots",
			       json_object_new_boolean(db->win.snapshots));
	json_object_object_add(w, "intervals",
			       json_object_new_int(db->win.intervals));
	json_object_object_add(w, "calls", mon_jnum(db->win.calls));
	json_object_object_add(w, "exec_ms", mon_jnum(db->win.exec_ms));
	json_object_object_add(w, "stats_reset", mon_jstr(db->win.stats_reset));
	json_object_object_add(w, "reset_in_window",
			       mon_jstr(db->win.reset_in_window));
	json_object_object_add(w, "dealloc", mon_jnum(db->win.dealloc));
	json_object_object_add(w, "dealloc_in_window",
			       mon_jnum(db->win.dealloc_delta));
	json_object_object_add(w, "tracked", mon_jnum(db->win.tracked_all));
	json_object_object_add(w, "max", mon_jnum(db->win.max));
	json_object_object_add(o, "window", w);
	for (size_t i = 0; i < db->nstmts; i++) {
		if (mon_is_slow(rep->spec, &db->stmts[i]))
			json_object_array_add(
			    slow, mon_jstmt(&db->win, &db->stmts[i]));
		if (i < MON_REPORT_TOP)
			json_object_array_add(
			    top, mon_jstmt(&db->win, &db->stmts[i]));
	}
	json_object_object_add(o, "slow_queries", slow);
	json_object_object_add(o, "top_statements", top);
	return o;
}

static json_object *mon_jn1(const struct mon_n1 *n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "database", mon_jstr(n->datname));
	json_object_object_add(o, "role", mon_jstr(n->child->rolname));
	json_object_object_add(o, "parent_queryid",
			       mon_jstr(n->parent->queryid));
	json_object_object_add(o, "parent_query", mon_jstr(n->parent->text));
	json_object_object_add(o, "parent_calls", mon_jnum(n->parent->calls));
	json_object_object_add(o, "parent_rows", mon_jnum(n->parent->rows));
	json_object_object_add(o, "child_queryid", mon_jstr(n->child->queryid));
	json_object_object_add(o, "child_query", mon_jstr(n->child->text));
	json_object_object_add(o, "child_calls", mon_jnum(n->child->calls));
	json_object_object_add(o, "child_rows", mon_jnum(n->child->rows));
	json_object_object_add(o, "ratio", mon_jnum(n->ratio));
	json_object_object_add(o, "correlation", mon_jnum(n->r));
	json_object_object_add(o, "intervals",
			       json_object_new_int(n->intervals));
	json_object_object_add(o, "one_lookup_per_row",
			       json_object_new_boolean(n->rows_match));
	json_object_object_add(o, "confidence", mon_jstr(n->confidence));
	json_object_object_add(o, "fix", mon_jstr(n->fix));
	json_object_object_add(o, "round_trips_saved",
			       mon_jnum(n->saved_calls));
	return o;
}

static json_object *mon_jadvice(const struct mon_advice *a)
{
	json_object *o = json_object_new_object(),
		    *cols = json_object_new_array();
	json_object *m = json_object_new_object();

	for (size_t i = 0; i < a->ncolumns; i++)
		json_object_array_add(cols, mon_jstr(a->columns[i]));
	json_object_object_add(o, "database", mon_jstr(a->datname));
	json_object_object_add(o, "schema", mon_jstr(a->schema));
	json_object_object_add(o, "table", mon_jstr(a->table));
	json_object_object_add(o, "columns", cols);
	json_object_object_add(o, "queryid", mon_jstr(a->queryid));
	json_object_object_add(o, "query", mon_jstr(a->query));
	json_object_object_add(o, "cost_before", mon_jnum(a->cost_before));
	json_object_object_add(o, "cost_after", mon_jnum(a->cost_after));
	json_object_object_add(
	    o, "method", mon_jstr(a->hypothetical ? "hypopg" : "estimate"));
	json_object_object_add(m, "file", mon_jstr(a->file));
	json_object_object_add(m, "body", mon_jstr(a->body));
	json_object_object_add(o, "migration", m);
	return o;
}

static json_object *mon_jresult(const struct mon_result *r)
{
	json_object *o = json_object_new_object(),
		    *fs = json_object_new_array();

	json_object_object_add(o, "name", mon_jstr(mon_check_name(r->id)));
	json_object_object_add(o, "enabled",
			       json_object_new_boolean(r->enabled));
	json_object_object_add(o, "measured",
			       json_object_new_boolean(r->measured));
	json_object_object_add(o, "state", mon_jstr(mon_sev_name(r->state)));
	json_object_object_add(o, "summary", mon_jstr(r->summary));
	json_object_object_add(o, "note", mon_jstr(r->note));
	for (size_t k = 0; k < r->n; k++) {
		json_object *f = json_object_new_object();

		json_object_object_add(
		    f, "severity", mon_jstr(mon_sev_name(r->findings[k].sev)));
		json_object_object_add(f, "id", mon_jstr(r->findings[k].id));
		json_object_object_add(f, "database",
				       mon_jstr(r->findings[k].datname));
		json_object_object_add(f, "text",
				       mon_jstr(r->findings[k].text));
		json_object_object_add(f, "value",
				       mon_jnum(r->findings[k].value));
		json_object_array_add(fs, f);
	}
	json_object_object_add(o, "findings", fs);
	return o;
}

static void mon_report_json(struct dbops_ctx *ctx, const struct mon_report *rep)
{
	json_object *root = json_object_new_object();
	json_object *dbs = json_object_new_array(),
		    *n1 = json_object_new_array();
	json_object *adv = json_object_new_array(),
		    *skip = json_object_new_array();
	json_object *checks = json_object_new_array();
	json_object *obj = json_object_new_array();

	json_object_object_add(root, "format_version", mon_jstr("1.0"));
	for (size_t i = 0; i < rep->ndbs; i++)
		json_object_array_add(dbs, mon_jdb(rep, &rep->dbs[i]));
	for (size_t i = 0; i < rep->nn1; i++)
		json_object_array_add(n1, mon_jn1(&rep->n1[i]));
	for (size_t i = 0; i < rep->nadvice; i++)
		json_object_array_add(adv, mon_jadvice(&rep->advice[i]));
	for (size_t i = 0; i < rep->nskipped; i++) {
		json_object *s = json_object_new_object();

		json_object_object_add(s, "database",
				       mon_jstr(rep->skipped[i].datname));
		json_object_object_add(s, "queryid",
				       mon_jstr(rep->skipped[i].queryid));
		json_object_object_add(s, "reason",
				       mon_jstr(rep->skipped[i].reason));
		json_object_array_add(skip, s);
	}
	for (int i = 0; i < MON_NCHECKS; i++)
		json_object_array_add(checks, mon_jresult(&rep->results[i]));
	for (size_t i = 0; i < rep->nobjectives; i++) {
		const struct mon_objective_row *o = &rep->objectives[i];
		json_object *j = json_object_new_object();

		json_object_object_add(j, "name", mon_jstr(o->name));
		json_object_object_add(j, "target", mon_jstr(o->target));
		json_object_object_add(j, "actual",
				       o->measured ? mon_jnum(o->value) : NULL);
		json_object_object_add(j, "met",
				       json_object_new_boolean(o->met));
		json_object_object_add(j, "source", mon_jstr(o->source));
		json_object_object_add(j, "note", mon_jstr(o->note));
		json_object_array_add(obj, j);
	}
	json_object_object_add(root, "databases", dbs);
	json_object_object_add(root, "n_plus_one", n1);
	json_object_object_add(root, "index_advice", adv);
	json_object_object_add(root, "advice_skipped", skip);
	json_object_object_add(root, "checks", checks);
	json_object_object_add(root, "objectives", obj);
	dbops_host(ctx)->out(ctx, "%s\n",
			     json_object_to_json_string_ext(
				 root, JSON_C_TO_STRING_PRETTY |
					   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

int mon_report_render(struct dbops_ctx *ctx, struct mon_report *rep,
		      const char *format)
{
	if (strcmp(format, "json") == 0)
		mon_report_json(ctx, rep);
	else
		mon_report_human(
		    ctx, strcmp(format, "text") == 0 ? MON_TEXT : MON_MD, rep);
	return 0;
}

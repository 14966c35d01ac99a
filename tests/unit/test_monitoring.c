/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_monitoring.c — the "monitoring" plugin against a fake host: the
 * section with its defaults and every problem validate reports, the
 * settings published for the parameters plugin, the changes planned (and
 * none once applied), objectives taken from other plugins' facts, the
 * N+1 statistic on hand-made series (the loop flagged, a join client
 * not), the parse tree's candidate columns and the batched lookup,
 * the index cost estimate, units, and the judging and rendering of the
 * checks over hand-made rows (security ids, sequences, objectives,
 * pools), with the metrics status reports. The SQL itself runs against
 * a real server in tests/integration/t_monitoring.sh.
 */
#include "t.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "../../plugins/monitoring/monitoring_int.h"

static struct mon_spec *mt_spec(struct fake_ctx *fc, const char *yaml)
{
	const struct dbops_node *root = fake_host_spec(fc, yaml);
	struct mon_spec *spec = NULL;

	if (root == NULL)
		return NULL;
	if (mon_spec_parse(
		&spec, fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "monitoring")) !=
	    0)
		return NULL;
	return spec;
}

/* Rows of `ncols` named columns, row-major values (copied pointers). */
static struct dbops_rows *mt_rows(struct fake_ctx *fc, int ncols,
				  const char *const *cols, int nrows,
				  const char *const *values)
{
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct dbops_rows *r = dbops_host(ctx)->alloc(ctx, sizeof(*r));

	r->ncols = ncols;
	r->nrows = nrows;
	r->colnames = cols;
	r->values = values;
	return r;
}

static void mt_report(struct mon_report *rep, struct mon_spec *spec)
{
	memset(rep, 0, sizeof(*rep));
	rep->spec = spec;
	rep->now = "20240101000000";
	for (int i = 0; i < MON_NCHECKS; i++) {
		rep->results[i].id = (enum mon_check_id)i;
		rep->results[i].enabled = spec->checks[i].enabled;
		rep->results[i].measured = true;
	}
}

static bool mt_has_finding(const struct mon_result *r, const char *id,
			   enum mon_sev sev, const char *text)
{
	for (size_t i = 0; i < r->n; i++)
		if ((id == NULL || (r->findings[i].id != NULL &&
				    strcmp(r->findings[i].id, id) == 0)) &&
		    r->findings[i].sev == sev &&
		    strstr(r->findings[i].text, text) != NULL)
			return true;
	return false;
}

/* ---- the section */

TEST(test_monitoring__defaults_come_from_the_reference)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *s = mt_spec(fc, "monitoring: {}\n");

	T_ASSERT(s != NULL);
	T_ASSERT(s->default_db);
	T_ASSERT(!s->statements);
	T_ASSERT(fabs(s->slow_mean - 1.0) < 1e-9);
	T_ASSERT_INT(s->slow_min_calls, 5);
	T_ASSERT(fabs(s->long_max - 60) < 1e-9);
	T_ASSERT_INT(s->idle_max_sessions, 100);
	T_ASSERT(fabs(s->cache_min - 0.99) < 1e-9);
	T_ASSERT(fabs(s->seq_max_used - 0.9) < 1e-9);
	T_ASSERT(fabs(s->wrap_min_left - 1.5e9) < 1);
	T_ASSERT(fabs(s->unused_min_size - 10 * 1024 * 1024) < 1);
	T_ASSERT(fabs(s->bloat_min_wasted - 100 * 1024 * 1024) < 1);
	T_ASSERT(fabs(s->n1_min_r - 0.9) < 1e-9);
	T_ASSERT_INT(s->n1_min_intervals, 12);
	T_ASSERT(fabs(s->n1_min_ratio - 5) < 1e-9);
	T_ASSERT(fabs(s->advice_min_savings - 0.5) < 1e-9);
	T_ASSERT(fabs(s->snap_interval - 300) < 1e-9);
	for (int i = 0; i < MON_NCHECKS; i++) {
		T_ASSERT(s->checks[i].enabled);
		T_ASSERT_INT(s->checks[i].sev, MON_WARNING);
	}
	T_ASSERT_INT(fc->diags.nerrors, 0);
	fake_host_free(fc);
}

TEST(test_monitoring__thresholds_and_severities_are_read)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *s = mt_spec(
	    fc,
	    "monitoring:\n"
	    "  databases: [app, reports]\n"
	    "  snapshots: {interval: 1min, retention: 2d, statements: 50}\n"
	    "  objectives: {rpo: 5m, replication_lag: {bytes: 16MB}}\n"
	    "  checks:\n"
	    "    slow_queries: {mean: 250ms, min_calls: 10, severity: error}\n"
	    "    connections: {max_used: 90%}\n"
	    "    bloat: off\n"
	    "    security: {superusers: [postgres, admin], ignore: ['5.12'], "
	    "password_expiry: true}\n");

	T_ASSERT(s != NULL);
	T_ASSERT_INT(s->ndatabases, 2);
	T_ASSERT_STR(s->databases[1], "reports");
	T_ASSERT(fabs(s->snap_interval - 60) < 1e-9);
	T_ASSERT(fabs(s->snap_retention - 2 * 86400) < 1e-9);
	T_ASSERT_INT(s->snap_statements, 50);
	T_ASSERT(fabs(s->rpo.value - 300) < 1e-9);
	T_ASSERT(fabs(s->lag_bytes.value - 16 * 1024 * 1024) < 1);
	T_ASSERT(s->lag_time.value < 0);
	T_ASSERT(fabs(s->slow_mean - 0.25) < 1e-9);
	T_ASSERT_INT(s->slow_min_calls, 10);
	T_ASSERT_INT(s->checks[MON_CHK_SLOW].sev, MON_ERROR);
	T_ASSERT(fabs(s->conn_max_used - 0.9) < 1e-9);
	T_ASSERT(!s->checks[MON_CHK_BLOAT].enabled);
	T_ASSERT_INT(s->nsuperusers, 2);
	T_ASSERT_INT(s->nsec_ignore, 1);
	T_ASSERT(s->password_expiry);
	T_ASSERT(!s->checks[MON_CHK_SECURITY].sev_set);
	fake_host_free(fc);
}

TEST(test_monitoring__validate_reports_every_problem)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	const struct dbops_node *root = fake_host_spec(
	    fc, "monitoring:\n"
		"  databses: [app]\n"
		"  window: soon\n"
		"  snapshots: {interval: 1h, retention: 10min}\n"
		"  statements: {track: some, max: 10}\n"
		"  checks:\n"
		"    slow_query: {mean: 1s}\n"
		"    sequences: {max_used: 150%, severity: critical}\n"
		"    connections: {max_used: lots}\n"
		"    security: {ignore: ['5.13']}\n");

	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    mon_validate(
		fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "monitoring")),
	    DBOPS_ERR_INVALID);
	T_ASSERT_GOLDEN("monitoring_validate.out", fake_host_render(fc));
	/* nothing is published from a section that is wrong */
	T_ASSERT_INT(fc->nfacts, 0);
	fake_host_free(fc);
}

TEST(test_monitoring__statements_are_enabled_through_parameters)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	const struct dbops_node *root = fake_host_spec(
	    fc, "monitoring:\n"
		"  statements: {max: 10000, track: all, track_utility: off}\n");

	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    mon_validate(
		fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "monitoring")),
	    0);
	T_ASSERT_INT(fc->nfacts, 4);
	T_ASSERT_STR(fc->facts[0].name,
		     "parameters.include.shared_preload_libraries");
	T_ASSERT_STR(fc->facts[0].value, "pg_stat_statements");
	T_ASSERT_STR(fc->facts[1].name,
		     "parameters.require.pg_stat_statements.max");
	T_ASSERT_STR(fc->facts[1].value, "10000");
	T_ASSERT_STR(fc->facts[2].value, "all");
	T_ASSERT_STR(fc->facts[3].name,
		     "parameters.require.pg_stat_statements.track_utility");
	T_ASSERT_STR(fc->facts[3].value, "off");
	T_ASSERT_INT(fc->facts[0].loc.line, 2);
	fake_host_free(fc);

	/* without `statements`, nothing is asked of the server */
	fc = fake_host_new("monitoring");
	root = fake_host_spec(fc, "monitoring: {checks: {bloat: off}}\n");
	T_ASSERT_INT(
	    mon_validate(
		fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "monitoring")),
	    0);
	T_ASSERT_INT(fc->nfacts, 0);
	fake_host_free(fc);
}

/* ---- the changes */

static struct mon_live *mt_live(struct fake_ctx *fc, struct mon_spec *spec,
				const char *pgss, const char *hypopg,
				const char *layout)
{
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct mon_live *live = dbops_host(ctx)->alloc(ctx, sizeof(*live));

	live->spec = spec;
	live->ndbs = spec->ndatabases;
	live->dbs =
	    dbops_host(ctx)->alloc(ctx, live->ndbs * sizeof(*live->dbs));
	for (size_t i = 0; i < live->ndbs; i++) {
		live->dbs[i].name = spec->databases[i];
		live->dbs[i].pgss_installed = pgss;
		live->dbs[i].pgss_available = "1.10";
		live->dbs[i].hypopg_installed = hypopg;
		live->dbs[i].hypopg_available = "1.3.1";
		live->dbs[i].layout = layout;
	}
	return live;
}

static const char mt_enabled[] = "monitoring:\n"
				 "  databases: [app]\n"
				 "  statements: {}\n"
				 "  advice: {hypopg: true}\n";

TEST(test_monitoring__plans_extensions_and_snapshot_tables)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(fc, mt_enabled);

	T_ASSERT(spec != NULL);
	T_ASSERT_INT(mon_diff(fake_host_ctx(fc), NULL,
			      mt_live(fc, spec, NULL, NULL, NULL)),
		     0);
	T_ASSERT_INT(fc->nchanges, 3);
	T_ASSERT_GOLDEN("monitoring_diff.out", fake_host_render(fc));
	for (size_t i = 0; i < fc->nchanges; i++)
		T_ASSERT(fake_host_change_at(fc, i)->flags &
			 DBOPS_CHANGE_NONTX);
	fake_host_free(fc);
}

TEST(test_monitoring__plans_nothing_once_applied)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(fc, mt_enabled);

	T_ASSERT(spec != NULL);
	T_ASSERT_INT(mon_diff(fake_host_ctx(fc), NULL,
			      mt_live(fc, spec, "1.10", "1.3.1", MON_LAYOUT)),
		     0);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_INT(fc->diags.nerrors, 0);
	fake_host_free(fc);
}

TEST(test_monitoring__updates_an_older_extension)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(fc, mt_enabled);
	const struct dbops_change *c;

	T_ASSERT(spec != NULL);
	T_ASSERT_INT(mon_diff(fake_host_ctx(fc), NULL,
			      mt_live(fc, spec, "1.9", "1.3.1", MON_LAYOUT)),
		     0);
	T_ASSERT_INT(fc->nchanges, 1);
	c = fake_host_change(fc, "monitoring.app.extension.pg_stat_statements");
	T_ASSERT(c != NULL);
	T_ASSERT_INT(c->action, DBOPS_ACTION_UPDATE);
	T_ASSERT_STR(c->sql, "ALTER EXTENSION pg_stat_statements UPDATE");
	fake_host_free(fc);
}

TEST(test_monitoring__a_missing_extension_is_an_error)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(fc, mt_enabled);
	struct mon_live *live = mt_live(fc, spec, "1.10", NULL, MON_LAYOUT);

	T_ASSERT(spec != NULL);
	live->dbs[0].hypopg_available = NULL;
	mon_diff(fake_host_ctx(fc), NULL, live);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "extension \"hypopg\" is not available on the server");
	T_ASSERT_CONTAINS(fake_host_render(fc), "postgresql-15-hypopg");
	fake_host_free(fc);
}

TEST(test_monitoring__another_snapshot_layout_is_refused)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(fc, mt_enabled);

	T_ASSERT(spec != NULL);
	mon_diff(fake_host_ctx(fc), NULL,
		 mt_live(fc, spec, "1.10", "1.3.1", "something else"));
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_CONTAINS(fake_host_render(fc), "have another layout");
	fake_host_free(fc);
}

/* ---- objectives */

TEST(test_monitoring__objectives_come_from_other_plugins_facts)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec =
	    mt_spec(fc, "monitoring:\n"
			"  objectives: {replication_lag: {time: 5s}}\n");

	T_ASSERT(spec != NULL);
	/* as the plugins publish them: bytes and milliseconds, bare */
	fake_host_add_fact(fc, "replicas", "replicas.max_lag.bytes",
			   "16777216");
	fake_host_add_fact(fc, "replicas", "replicas.max_lag.time", "30000");
	fake_host_add_fact(fc, "backups", "backups.objectives.rpo", "300000");
	fake_host_add_fact(fc, "backups", "backups.objectives.rto", "1800000");
	mon_objectives_resolve(spec, fake_host_ctx(fc));
	T_ASSERT(fabs(spec->lag_bytes.value - 16 * 1024 * 1024) < 1);
	T_ASSERT_STR(spec->lag_bytes.source, "replicas.max_lag.bytes");
	/* the section's own objective wins over the fact */
	T_ASSERT(fabs(spec->lag_time.value - 5) < 1e-9);
	T_ASSERT_STR(spec->lag_time.source,
		     "monitoring.objectives.replication_lag.time");
	T_ASSERT(fabs(spec->rpo.value - 300) < 1e-9);
	T_ASSERT(fabs(spec->rto.value - 1800) < 1e-9);
	T_ASSERT_STR(spec->rto.source, "backups.objectives.rto");
	/* without its own, the replicas plugin's 30000 ms is 30 s */
	spec = mt_spec(fc, "monitoring: {}\n");
	T_ASSERT(spec != NULL);
	mon_objectives_resolve(spec, fake_host_ctx(fc));
	T_ASSERT(fabs(spec->lag_time.value - 30) < 1e-9);
	T_ASSERT_STR(spec->lag_time.source, "replicas.max_lag.time");
	fake_host_free(fc);
}

static struct dbops_rows *mt_settings(struct fake_ctx *fc,
				      const char *archive_mode)
{
	static const char *const cols[] = {"name", "setting"};
	const char **v = dbops_host(fake_host_ctx(fc))
			     ->alloc(fake_host_ctx(fc), 12 * sizeof(*v));

	v[0] = "archive_mode";
	v[1] = archive_mode;
	v[2] = "log_connections";
	v[3] = "off";
	v[4] = "max_connections";
	v[5] = "100";
	v[6] = "password_encryption";
	v[7] = "md5";
	v[8] = "ssl";
	v[9] = "off";
	v[10] = "superuser_reserved_connections";
	v[11] = "3";
	return mt_rows(fc, 2, cols, 6, v);
}

TEST(test_monitoring__objectives_missed_and_met)
{
	static const char *const acols[] = {"archive_age", "failing",
					    "last_failed_time"};
	static const char *const avals[] = {"42", "f", NULL};
	static const char *const rcols[] = {"application_name", "lag_bytes",
					    "lag_s"};
	static const char *const rvals[] = {"replica1", "1024", "0.5",
					    "replica2", "4096", "2.5"};
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(
	    fc, "monitoring:\n"
		"  objectives: {rpo: 1min, rto: 1h, replication_lag: {bytes: "
		"1MB, time: 2s}}\n");
	struct mon_report rep;

	T_ASSERT(spec != NULL);
	mt_report(&rep, spec);
	rep.cl.settings = mt_settings(fc, "on");
	rep.cl.archiver = mt_rows(fc, 3, acols, 1, avals);
	rep.cl.replication = mt_rows(fc, 3, rcols, 2, rvals);
	mon_judge_objectives(fake_host_ctx(fc), &rep);
	T_ASSERT_INT(rep.nobjectives, 4);
	T_ASSERT_STR(rep.objectives[0].name, "rpo");
	T_ASSERT(rep.objectives[0].met && rep.objectives[0].measured);
	T_ASSERT_STR(rep.objectives[0].actual, "42.00s");
	T_ASSERT(!rep.objectives[1].measured && rep.objectives[1].met);
	T_ASSERT(rep.objectives[2].met);
	T_ASSERT_STR(rep.objectives[2].actual, "4096 B");
	T_ASSERT(!rep.objectives[3].met);
	T_ASSERT_STR(rep.objectives[3].actual, "2.50s");
	T_ASSERT_INT(rep.results[MON_CHK_OBJECTIVES].n, 1);
	T_ASSERT_CONTAINS(rep.results[MON_CHK_OBJECTIVES].findings[0].text,
			  "objective replication_lag.time (2.00s, from "
			  "monitoring.objectives.replication_lag.time) is "
			  "missed: measured 2.50s");

	/* no WAL archiving: the RPO cannot be met */
	mt_report(&rep, spec);
	rep.cl.settings = mt_settings(fc, "off");
	mon_judge_objectives(fake_host_ctx(fc), &rep);
	T_ASSERT(!rep.objectives[0].met && !rep.objectives[0].measured);
	T_ASSERT_CONTAINS(rep.results[MON_CHK_OBJECTIVES].findings[0].text,
			  "WAL archiving is off");
	/* no standby: lag is not measured, and not missed */
	T_ASSERT(rep.objectives[2].met && !rep.objectives[2].measured);
	fake_host_free(fc);
}

/* ---- N+1 */

TEST(test_monitoring__pearson)
{
	const double x[] = {1, 2, 3, 4, 5};
	const double y[] = {20, 40, 60, 80, 100};
	const double z[] = {5, 1, 4, 2, 3};
	const double c[] = {7, 7, 7, 7, 7};

	T_ASSERT(fabs(mon_pearson(x, y, 5) - 1.0) < 1e-12);
	T_ASSERT(mon_pearson(x, z, 5) < 0.0);
	T_ASSERT(isnan(mon_pearson(x, c, 5)));
	T_ASSERT(isnan(mon_pearson(x, y, 1)));
}

/* A database whose window holds an N+1 loop (role n1), a join client
 * (role joiner) and dbops' own once-per-pass statements (role dbops). */
static void mt_n1_db(struct fake_ctx *fc, struct mon_db *db, int intervals,
		     bool steady)
{
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	const struct dbops_host *h = dbops_host(ctx);
	static const struct {
		const char *userid, *rolname, *queryid, *query;
		double rows_per_call, calls_per_list;
	} s[] = {
	    {"10", "n1", "1",
	     "SELECT format($1, product_id) FROM order_lines WHERE order_id = $2",
	     20, 1},
	    {"10", "n1", "2", "SELECT name, price FROM products WHERE id = $1",
	     1, 20},
	    {"11", "joiner", "3",
	     "SELECT l.id, p.name FROM order_lines l JOIN products p ON p.id "
	     "= l.product_id WHERE l.order_id = $1",
	     20, 1},
	    {"12", "dbops", "4", "SELECT x FROM t WHERE id = $1", 1, 0},
	    {"12", "dbops", "5", "SELECT y FROM u WHERE k = $1", 30, 0},
	};
	size_t n = sizeof(s) / sizeof(s[0]);

	memset(db, 0, sizeof(*db));
	db->name = "app";
	db->nintervals = intervals;
	db->win.intervals = intervals;
	db->stmts = h->alloc(ctx, n * sizeof(*db->stmts));
	db->series = h->alloc(ctx, n * sizeof(*db->series));
	db->nstmts = db->nseries = n;
	for (size_t i = 0; i < n; i++) {
		struct mon_stmt *st = &db->stmts[i];
		struct mon_series *se = &db->series[i];

		st->userid = se->userid = s[i].userid;
		st->rolname = s[i].rolname;
		st->queryid = se->queryid = s[i].queryid;
		st->query = s[i].query;
		se->calls = h->alloc(ctx, (size_t)intervals * sizeof(double));
		se->rows = h->alloc(ctx, (size_t)intervals * sizeof(double));
		for (int k = 0; k < intervals; k++) {
			/* lists per interval: the loop's vary one way, the
			 * join's another, dbops' are constant */
			double lists = steady	? 4
				       : i <= 1 ? 1 + (k * 7) % 5
				       : i == 2 ? 1 + (k * 3) % 4
						: 0;
			double calls =
			    i >= 3 ? 150 : lists * s[i].calls_per_list;

			se->calls[k] = calls;
			se->rows[k] = calls * s[i].rows_per_call;
			st->calls += calls;
			st->rows += se->rows[k];
			st->exec_ms += calls * 0.05;
		}
	}
}

TEST(test_monitoring__n1_loop_flagged_and_join_not)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(fc, "monitoring: {}\n");
	struct mon_report rep;
	struct mon_db db;

	T_ASSERT(spec != NULL);
	mt_report(&rep, spec);
	mt_n1_db(fc, &db, 13, false);
	mon_n1_find(fake_host_ctx(fc), &rep, &db);
	T_ASSERT_INT(rep.nn1, 1);
	T_ASSERT_STR(rep.n1[0].child->queryid, "2");
	T_ASSERT_STR(rep.n1[0].parent->queryid, "1");
	T_ASSERT(fabs(rep.n1[0].ratio - 20) < 1e-9);
	T_ASSERT(rep.n1[0].r > 0.999);
	T_ASSERT(rep.n1[0].rows_match);
	T_ASSERT_STR(rep.n1[0].confidence, "high");
	T_ASSERT_STR(rep.n1[0].fix,
		     "SELECT name, price FROM products WHERE id = ANY($1)");
	T_ASSERT(fabs(rep.n1[0].saved_calls -
		      (db.stmts[1].calls - db.stmts[0].calls)) < 1e-9);
	fake_host_free(fc);
}

TEST(test_monitoring__n1_without_enough_intervals_is_low_confidence)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(fc, "monitoring: {}\n");
	struct mon_report rep;
	struct mon_db db;

	T_ASSERT(spec != NULL);
	mt_report(&rep, spec);
	mt_n1_db(fc, &db, 4, false);
	mon_n1_find(fake_host_ctx(fc), &rep, &db);
	/* one lookup per listed row is still seen, without a correlation */
	T_ASSERT_INT(rep.nn1, 1);
	T_ASSERT(isnan(rep.n1[0].r));
	T_ASSERT_STR(rep.n1[0].confidence, "low");
	fake_host_free(fc);
}

TEST(test_monitoring__n1_steady_load_has_no_correlation)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(
	    fc, "monitoring: {checks: {n_plus_one: {min_intervals: 5}}}\n");
	struct mon_report rep;
	struct mon_db db;

	T_ASSERT(spec != NULL);
	mt_report(&rep, spec);
	mt_n1_db(fc, &db, 13, true);
	mon_n1_find(fake_host_ctx(fc), &rep, &db);
	T_ASSERT_INT(rep.nn1, 1);
	T_ASSERT_STR(rep.n1[0].confidence, "low");
	fake_host_free(fc);
}

/* ---- the parse tree */

TEST(test_monitoring__candidate_columns_from_the_parse_tree)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_parsed p;

	T_ASSERT_INT(
	    mon_sql_parse(&p, fake_host_ctx(fc),
			  "SELECT o.* FROM public.orders o JOIN items i ON "
			  "i.order_id = o.id WHERE o.customer_id = $1 AND "
			  "amount > $2 AND note LIKE $3 AND x IN ($4, $5) AND "
			  "z IS NULL AND lower(w) = $6 ORDER BY o.created_at "
			  "DESC LIMIT $7"),
	    0);
	T_ASSERT_STR(p.kind, "select");
	T_ASSERT_INT(p.nrels, 2);
	T_ASSERT_STR(p.rels[0].schema, "public");
	T_ASSERT_STR(p.rels[0].name, "orders");
	T_ASSERT_STR(p.rels[0].alias, "o");
	T_ASSERT_STR(p.rels[1].name, "items");
	/* i.order_id, o.id, customer_id, amount, note, x, z, created_at:
	 * not the expression lower(w), nor the select list */
	T_ASSERT_INT(p.ncols, 8);
	T_ASSERT_STR(p.cols[0].qualifier, "i");
	T_ASSERT_STR(p.cols[0].column, "order_id");
	T_ASSERT_INT(p.cols[0].cmp, MON_CMP_EQ);
	T_ASSERT_STR(p.cols[2].column, "customer_id");
	T_ASSERT_INT(p.cols[3].cmp, MON_CMP_RANGE);
	T_ASSERT_INT(p.cols[5].cmp, MON_CMP_EQ);
	T_ASSERT_STR(p.cols[6].column, "z");
	T_ASSERT_STR(p.cols[7].column, "created_at");
	T_ASSERT_INT(p.cols[7].cmp, MON_CMP_SORT);

	T_ASSERT_INT(mon_sql_parse(&p, fake_host_ctx(fc),
				   "UPDATE accounts SET b = $1 WHERE id = $2"),
		     0);
	T_ASSERT_STR(p.kind, "update");
	T_ASSERT_INT(p.ncols, 1);
	T_ASSERT_INT(
	    mon_sql_parse(&p, fake_host_ctx(fc), "INSERT INTO t VALUES ($1)"),
	    0);
	T_ASSERT(p.kind == NULL);
	fake_host_free(fc);
}

TEST(test_monitoring__parse_refusals_say_why)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_parsed p;
	char *big = malloc(MON_PARSE_MAX + 64);

	T_ASSERT(big != NULL);
	T_ASSERT_INT(mon_sql_parse(&p, fake_host_ctx(fc), "SELEC 1"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(p.error, "it does not parse");
	T_ASSERT_INT(mon_sql_parse(&p, fake_host_ctx(fc), "SELECT 1; SELECT 2"),
		     0);
	T_ASSERT(p.kind == NULL);
	T_ASSERT_STR(p.error, "it holds more than one statement");
	memcpy(big, "SELECT 1", 8);
	memset(big + 8, ' ', MON_PARSE_MAX);
	big[MON_PARSE_MAX + 8] = '\0';
	T_ASSERT_INT(mon_sql_parse(&p, fake_host_ctx(fc), big),
		     DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(p.error, "longer than 10,000 bytes");
	free(big);
	fake_host_free(fc);
}

TEST(test_monitoring__texts_are_shown_without_literals)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	char *big = malloc(MON_PARSE_MAX + 64);

	T_ASSERT(big != NULL);
	/* pg_stat_statements keeps a utility statement's literals */
	T_ASSERT_STR(mon_sql_shown(ctx, "ALTER ROLE app PASSWORD 'hunter2'"),
		     "ALTER ROLE app PASSWORD $1");
	T_ASSERT_STR(mon_sql_shown(ctx, "SELECT name FROM t WHERE id = $1"),
		     "SELECT name FROM t WHERE id = $1");
	T_ASSERT_STR(mon_sql_shown(ctx, "SELEC 'hunter2'"),
		     "(query text not shown: it does not parse)");
	memcpy(big, "SELECT 'hunter2'", 16);
	memset(big + 16, ' ', MON_PARSE_MAX);
	big[MON_PARSE_MAX + 16] = '\0';
	T_ASSERT_STR(mon_sql_shown(ctx, big),
		     "(query text over 10,000 bytes, not shown)");
	T_ASSERT(mon_sql_shown(ctx, NULL) == NULL);
	/* a text pg_stat_activity cut short: up to its first quote */
	T_ASSERT_STR(
	    mon_sql_shown_activity(ctx, "UPDATE accounts SET secret = 'hunt"),
	    "UPDATE accounts SET secret = ...");
	T_ASSERT_STR(mon_sql_shown_activity(
			 ctx, "UPDATE accounts SET secret = 'hunter2'"),
		     "UPDATE accounts SET secret = $1");
	free(big);
	fake_host_free(fc);
}

TEST(test_monitoring__array_literal)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	const char *v[] = {"a", "b\"c", "d\\e", NULL};

	T_ASSERT_STR(mon_array_literal(fake_host_ctx(fc), v, 4),
		     "{\"a\",\"b\\\"c\",\"d\\\\e\",NULL}");
	T_ASSERT_STR(mon_array_literal(fake_host_ctx(fc), v, 0), "{}");
	fake_host_free(fc);
}

TEST(test_monitoring__schema_placed_once)
{
	struct fake_ctx *fc = fake_host_new("monitoring");

	T_ASSERT_STR(mon_with_schema(fake_host_ctx(fc),
				     "SELECT @pgss@.f(), @pgss@.g()",
				     "\"@pgss@\""),
		     "SELECT \"@pgss@\".f(), \"@pgss@\".g()");
	fake_host_free(fc);
}

/* The trace the bench replays with psql: parameters as literals, placed
 * once even when a literal holds a placeholder itself. */
TEST(test_monitoring__trace_places_each_parameter_once)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	const char *path = t_path("build/tests/monitoring-trace.sql");
	const char *params[3] = {"{\"ALTER ROLE a PASSWORD $2\"}", NULL,
				 "it's"};
	static const char *const cols[] = {"x"};
	struct mon_conn c = {NULL, "app"};
	char buf[512];
	FILE *f;
	size_t n;

	remove(path);
	setenv("DBOPS_MONITORING_TRACE", path, 1);
	fake_host_add_result(fc, "SELECT", cols, 1, NULL, 0);
	T_ASSERT_INT(mon_exec(NULL, fake_host_ctx(fc), &c,
			      "SELECT $1::text[], $2, $3, $12, $", 3, params),
		     0);
	unsetenv("DBOPS_MONITORING_TRACE");
	f = fopen(path, "r");
	T_ASSERT(f != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	remove(path);
	buf[n] = '\0';
	T_ASSERT_STR(buf, "SELECT '{\"ALTER ROLE a PASSWORD $2\"}'::text[], "
			  "NULL, 'it''s', $12, $;\n");
	fake_host_free(fc);
}

TEST(test_monitoring__batched_lookup)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct dbops_ctx *ctx = fake_host_ctx(fc);

	T_ASSERT_STR(mon_sql_batched(ctx, "SELECT * FROM items WHERE id = $12"),
		     "SELECT * FROM items WHERE id = ANY($12)");
	T_ASSERT_STR(
	    mon_sql_batched(ctx, "SELECT $1::int AS k, a FROM t WHERE "
				 "t.status = 'x' AND t.owner_id = $2"),
	    "SELECT $1::int AS k, a FROM t WHERE t.status = 'x' AND t.owner_id "
	    "= ANY($2)");
	T_ASSERT(mon_sql_batched(ctx, "SELECT * FROM t WHERE a > $1") == NULL);
	T_ASSERT(mon_sql_batched(ctx, "not sql") == NULL);
	fake_host_free(fc);
}

/* ---- costs and units */

TEST(test_monitoring__index_cost_estimate)
{
	/* a 1M-row table of 10,000 pages: one row by an index is cheap */
	double one = mon_index_cost_estimate(1, 1e6, 10000, 4.0);
	double many = mon_index_cost_estimate(1000, 1e6, 10000, 4.0);
	double seqscan = 10000 * 1.0 + 1e6 * 0.0125;

	T_ASSERT(one < 20);
	T_ASSERT(one < many);
	T_ASSERT(many < seqscan);
	/* every row by an index costs more than reading the table */
	T_ASSERT(mon_index_cost_estimate(1e6, 1e6, 10000, 4.0) > seqscan);
}

TEST(test_monitoring__units)
{
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	double v;

	T_ASSERT(mon_parse_duration(&v, "250ms") && fabs(v - 0.25) < 1e-12);
	T_ASSERT(mon_parse_duration(&v, "5min") && fabs(v - 300) < 1e-12);
	T_ASSERT(mon_parse_duration(&v, "5m") && fabs(v - 300) < 1e-12);
	T_ASSERT(mon_parse_duration(&v, "7d") && fabs(v - 604800) < 1e-9);
	T_ASSERT(mon_parse_duration(&v, "10") && fabs(v - 10) < 1e-12);
	T_ASSERT(!mon_parse_duration(&v, "10 parsecs"));
	T_ASSERT(!mon_parse_duration(&v, "-1s"));
	T_ASSERT(mon_parse_size(&v, "16MB") && fabs(v - 16777216) < 1e-9);
	T_ASSERT(!mon_parse_size(&v, "16mb"));
	T_ASSERT(mon_parse_ratio(&v, "80%") && fabs(v - 0.8) < 1e-12);
	T_ASSERT(mon_parse_ratio(&v, "0.8") && fabs(v - 0.8) < 1e-12);
	T_ASSERT(!mon_parse_ratio(&v, "180%"));
	T_ASSERT_STR(mon_fmt_ms(ctx, 0.0421), "0.042ms");
	T_ASSERT_STR(mon_fmt_ms(ctx, 85.24), "85.2ms");
	T_ASSERT_STR(mon_fmt_ms(ctx, 1203), "1.20s");
	T_ASSERT_STR(mon_fmt_seconds(ctx, 7200), "2.0h");
	T_ASSERT_STR(mon_fmt_bytes(ctx, 23068672), "22 MB");
	T_ASSERT_STR(mon_fmt_count(ctx, 2147483647), "2,147,483,647");
	T_ASSERT_STR(mon_fmt_pct(ctx, 0.95), "95.0%");
	T_ASSERT_STR(mon_oneline(ctx, "SELECT a,\n\t  b FROM t", 100),
		     "SELECT a, b FROM t");
	T_ASSERT_STR(mon_oneline(ctx, "SELECT abcdef", 8), "SELECT a...");
	T_ASSERT_STR(mon_oneline(ctx, "SELECT 'é'", 9), "SELECT '...");
	fake_host_free(fc);
}

/* ---- judging */

TEST(test_monitoring__security_findings_carry_their_ids)
{
	static const char *const hcols[] = {
	    "line_number", "type",    "database",    "user_name",
	    "address",	   "netmask", "auth_method", "error"};
	static const char *const hvals[] = {"89",
					    "local",
					    "all",
					    "all",
					    NULL,
					    NULL,
					    "trust",
					    NULL,
					    "91",
					    "host",
					    "all",
					    "all",
					    "127.0.0.1",
					    "255.255.255.255",
					    "scram-sha-256",
					    NULL,
					    "92",
					    "host",
					    "app",
					    "app",
					    "10.0.0.0",
					    "255.0.0.0",
					    "md5",
					    NULL,
					    "93",
					    "host",
					    "all",
					    "legacy",
					    "10.0.0.0",
					    "255.0.0.0",
					    "password",
					    NULL,
					    "94",
					    NULL,
					    NULL,
					    NULL,
					    NULL,
					    NULL,
					    NULL,
					    "invalid auth method"};
	static const char *const scols[] = {"rolname"};
	static const char *const svals[] = {"postgres", "dbops", "intruder"};
	static const char *const mvals[] = {"legacy"};
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(
	    fc, "monitoring: {checks: {security: {ignore: ['5.12']}}}\n");
	struct mon_report rep;
	struct mon_result *r;

	T_ASSERT(spec != NULL);
	mt_report(&rep, spec);
	rep.cl.current_user = "dbops";
	rep.cl.settings = mt_settings(fc, "off");
	rep.cl.hba = mt_rows(fc, 8, hcols, 5, hvals);
	rep.cl.superusers = mt_rows(fc, 1, scols, 3, svals);
	rep.cl.md5 = mt_rows(fc, 1, scols, 1, mvals);
	mon_judge_security(fake_host_ctx(fc), &rep);
	r = &rep.results[MON_CHK_SECURITY];
	T_ASSERT(mt_has_finding(r, "5.3/5.4", MON_ERROR, "line 89: local all"));
	T_ASSERT(mt_has_finding(r, "5.3/5.4", MON_WARNING, "line 92"));
	T_ASSERT(mt_has_finding(r, "5.3/5.4", MON_ERROR, "clear text"));
	T_ASSERT(mt_has_finding(r, "dbops:hba-error", MON_ERROR, "line 94"));
	T_ASSERT(mt_has_finding(r, "4.3", MON_WARNING, "\"intruder\""));
	T_ASSERT(!mt_has_finding(r, "4.3", MON_WARNING, "\"dbops\""));
	T_ASSERT(mt_has_finding(r, "dbops:md5", MON_WARNING, "\"legacy\""));
	T_ASSERT(mt_has_finding(r, "5.8", MON_WARNING, "ssl is off"));
	T_ASSERT(mt_has_finding(r, "3.1.20", MON_WARNING, "log_connections"));
	/* ignored on purpose */
	T_ASSERT(
	    !mt_has_finding(r, "5.12", MON_WARNING, "password_encryption"));
	T_ASSERT_INT(r->n, 8);
	T_ASSERT_INT(r->state, MON_ERROR);
	fake_host_free(fc);
}

TEST(test_monitoring__ssl_off_on_the_loopback_alone_is_fine)
{
	static const char *const hcols[] = {
	    "line_number", "type",    "database",    "user_name",
	    "address",	   "netmask", "auth_method", "error"};
	static const char *const hvals[] = {"1",
					    "host",
					    "all",
					    "all",
					    "127.0.0.1",
					    "255.255.255.255",
					    "scram-sha-256",
					    NULL,
					    "2",
					    "host",
					    "all",
					    "all",
					    "10.0.0.0",
					    "255.0.0.0",
					    "reject",
					    NULL};
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(
	    fc,
	    "monitoring: {checks: {security: {severity: error, ignore: ['5.12', "
	    "'3.1.20']}}}\n");
	struct mon_report rep;

	T_ASSERT(spec != NULL);
	mt_report(&rep, spec);
	rep.cl.settings = mt_settings(fc, "off");
	rep.cl.hba = mt_rows(fc, 8, hcols, 2, hvals);
	rep.cl.md5 = mt_rows(fc, 1, hcols, 0, NULL);
	mon_judge_security(fake_host_ctx(fc), &rep);
	T_ASSERT_INT(rep.results[MON_CHK_SECURITY].n, 0);
	T_ASSERT(rep.results[MON_CHK_SECURITY].note == NULL);
	fake_host_free(fc);
}

TEST(test_monitoring__sequences_and_indexes_are_judged)
{
	static const char *const qcols[] = {"seq_schema", "seq",       "schema",
					    "table",	  "column",    "type",
					    "last_value", "max_value", "used"};
	static const char *const qvals[] = {"public",
					    "t_id_seq",
					    "public",
					    "t",
					    "id",
					    "integer",
					    "2040109465",
					    "2147483647",
					    "0.95",
					    "public",
					    "u_id_seq",
					    "public",
					    "u",
					    "id",
					    "bigint",
					    "10",
					    "9223372036854775807",
					    "1e-18"};
	static const char *const ucols[] = {"schema", "table", "index",
					    "bytes"};
	static const char *const uvals[] = {"public", "t", "t_b_idx",
					    "23068672"};
	static const char *const ccols[] = {"blks_hit", "blks_read",
					    "stats_reset"};
	static const char *const cvals[] = {"950000", "50000", NULL};
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(fc, "monitoring: {}\n");
	struct mon_report rep;
	struct mon_db db;

	T_ASSERT(spec != NULL);
	mt_report(&rep, spec);
	memset(&db, 0, sizeof(db));
	db.name = "app";
	db.seqs = mt_rows(fc, 9, qcols, 2, qvals);
	db.unused = mt_rows(fc, 4, ucols, 1, uvals);
	db.cache = mt_rows(fc, 3, ccols, 1, cvals);
	mon_judge_db(fake_host_ctx(fc), &rep, &db);
	T_ASSERT_INT(rep.results[MON_CHK_CACHE].n, 1);
	T_ASSERT_CONTAINS(rep.results[MON_CHK_CACHE].findings[0].text,
			  "hit ratio 95.0%, under 99.0% (50,000 blocks read");
	T_ASSERT_INT(rep.results[MON_CHK_SEQ].n, 1);
	T_ASSERT_CONTAINS(rep.results[MON_CHK_SEQ].findings[0].text,
			  "public.t.id (integer, sequence public.t_id_seq) is "
			  "at 95.0% of its maximum: 2,040,109,465 of "
			  "2,147,483,647");
	T_ASSERT_INT(rep.results[MON_CHK_UNUSED].n, 1);
	T_ASSERT_CONTAINS(rep.results[MON_CHK_UNUSED].findings[0].text,
			  "public.t_b_idx on t: no index scan since the "
			  "statistics began, 22 MB");
	fake_host_free(fc);
}

TEST(test_monitoring__connections_against_the_pools)
{
	static const char *const acols[] = {"datname", "usename", "state",
					    "query_s", "state_s"};
	const char *v[5 * 19];
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(fc, "monitoring: {}\n");
	struct mon_report rep;
	struct mon_result *r;

	T_ASSERT(spec != NULL);
	for (int i = 0; i < 19; i++) {
		v[5 * i] = "app";
		v[5 * i + 1] = i < 17 ? "web" : "batch";
		v[5 * i + 2] = "idle";
		v[5 * i + 3] = "1";
		v[5 * i + 4] = "1";
	}
	fake_host_add_fact(fc, "pooler", "pooler.pool.app.dbname", "app");
	fake_host_add_fact(fc, "pooler", "pooler.pool.app.pool_size", "20");
	fake_host_add_fact(fc, "pooler", "pooler.pool.app.target", "primary");
	fake_host_add_fact(fc, "pooler", "pooler.pool.ro.dbname", "app");
	fake_host_add_fact(fc, "pooler", "pooler.pool.ro.pool_size", "200");
	fake_host_add_fact(fc, "pooler", "pooler.pool.ro.target", "replicas");
	fake_host_add_fact(fc, "pooler", "pooler.pool.big.pool_size", "90");
	mt_report(&rep, spec);
	rep.cl.settings = mt_settings(fc, "off");
	rep.cl.activity = mt_rows(fc, 5, acols, 19, v);
	mon_judge_cluster(fake_host_ctx(fc), &rep);
	r = &rep.results[MON_CHK_CONN];
	/* 17 of web's 20: over 80% */
	T_ASSERT(
	    mt_has_finding(r, NULL, MON_WARNING,
			   "pool \"app\": 17 server connections of one "
			   "user to database \"app\", the pool allows 20"));
	/* app and big may open 110, 97 are left; the standbys' pool is not
	 * counted */
	T_ASSERT(mt_has_finding(r, NULL, MON_WARNING,
				"the pooler's pools may open 110 server "
				"connections, max_connections leaves 97"));
	T_ASSERT_INT(r->n, 2);
	T_ASSERT_STR(r->summary, "20 of 97 connections, 20.6%");
	fake_host_free(fc);
}

TEST(test_monitoring__status_renders_each_check_and_reports_metrics)
{
	static const char *const qcols[] = {"seq_schema", "seq",       "schema",
					    "table",	  "column",    "type",
					    "last_value", "max_value", "used"};
	static const char *const qvals[] = {
	    "public",  "t_id_seq",   "public",	   "t",	  "id",
	    "integer", "2040109465", "2147483647", "0.95"};
	static const char *const dcols[] = {"datname", "xid_age", "mxid_age"};
	static const char *const dvals[] = {"app", "1000", "10"};
	struct fake_ctx *fc = fake_host_new("monitoring");
	struct mon_spec *spec = mt_spec(
	    fc, "monitoring:\n"
		"  checks: {security: off, sequences: {severity: error}}\n");
	struct mon_report rep;
	struct mon_db db;

	T_ASSERT(spec != NULL);
	mt_report(&rep, spec);
	memset(&db, 0, sizeof(db));
	db.name = "app";
	db.seqs = mt_rows(fc, 9, qcols, 1, qvals);
	rep.dbs = &db;
	rep.ndbs = 1;
	rep.cl.settings = mt_settings(fc, "off");
	rep.cl.databases = mt_rows(fc, 3, dcols, 1, dvals);
	mon_judge_db(fake_host_ctx(fc), &rep, &db);
	mon_judge_cluster(fake_host_ctx(fc), &rep);
	mon_status_render(fake_host_ctx(fc), &rep);
	mon_metrics(fake_host_ctx(fc), &rep);
	T_ASSERT_CONTAINS(fc->out, "sequences              error    1 sequence "
				   "near its maximum\n    public.t.id");
	T_ASSERT_CONTAINS(fc->out, "wraparound             OK       at least "
				   "2,146,482,648 IDs left");
	T_ASSERT(strstr(fc->out, "security") == NULL);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "ERROR:  monitoring check \"sequences\": 1 sequence "
			  "near its maximum");
	T_ASSERT_CONTAINS(fc->metrics,
			  "dbops_sequence_used_ratio{datname=\"app\","
			  "schemaname=\"public\",sequencename=\"t_id_seq\"} "
			  "0.95\n");
	T_ASSERT_CONTAINS(
	    fc->metrics,
	    "dbops_monitoring_check_status{check=\"sequences\"} 2");
	T_ASSERT_CONTAINS(fc->metrics,
			  "dbops_database_xid_age{datname=\"app\"} 1000");
	fake_host_free(fc);
}

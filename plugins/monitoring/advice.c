/* SPDX-License-Identifier: PostgreSQL */
/*
 * advice.c — index advice the way Dexter gives it (reference §5), as a
 * report, never a change: for the slow statements of the window and the
 * top statements reading tables with heavy sequential scans,
 *
 *  1. the candidate columns come from the statement's parse tree
 *     (sqlparse.c), resolved against the catalog;
 *  2. the statement is prepared as its own role would run it (SET ROLE
 *     to the role pg_stat_statements recorded, search_path "$user",
 *     public) inside a READ ONLY transaction that is rolled back, with a
 *     generic plan (plan_cache_mode = force_generic_plan, parameters
 *     NULL: PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN)); planning as
 *     the author means no recorded text can make dbops run anything with
 *     more rights than its author had;
 *  3. with HypoPG in the database: hypothetical single-column indexes on
 *     every candidate, then two-column permutations; a single-column
 *     result wins when it cuts the cost by advice.min_savings (Dexter's
 *     50%), a two-column one when it cuts the single-column cost by as
 *     much again; when the winning plan uses several indexes, each is
 *     tried alone and the cheapest kept if it still wins;
 *  4. without HypoPG: EXPLAIN's row estimate for the sequential scan and
 *     PostgreSQL's page costs give an estimated index scan cost
 *     (mon_index_cost_estimate), labelled as an estimate.
 * Statements cheaper than advice.min_cost (Dexter's 100) are left
 * alone. Every statement that could not be costed says why. The result
 * is a migration file body, CREATE INDEX CONCURRENTLY, for the
 * migrations plugin.
 */
#include "monitoring_int.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <math.h>
#include <string.h>

#define MON_MAX_HYPO 60

struct mon_col {
	const char *table_oid;
	const char *schema, *table, *column;
	int attnum;
	enum mon_cmp cmp;
	double tuples, pages;
};

struct mon_cand {
	struct mon_col *cols;
	size_t n;
};

struct mon_hypo {
	const char *oid;
	const struct mon_col *c1, *c2;
};

struct mon_plan {
	double cost;
	const char **used; /* index names */
	size_t nused;
	json_object *root;
};

static void mon_skip(struct dbops_ctx *ctx, struct mon_report *rep,
		     const struct mon_db *db, const struct mon_stmt *s,
		     const char *reason)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mon_skip *bigger;

	if (rep->nskipped % 8 == 0) {
		bigger = h->alloc(ctx, (rep->nskipped + 8) * sizeof(*bigger));
		if (rep->nskipped > 0)
			memcpy(bigger, rep->skipped,
			       rep->nskipped * sizeof(*bigger));
		rep->skipped = bigger;
	}
	rep->skipped[rep->nskipped].datname = db->name;
	rep->skipped[rep->nskipped].queryid = s->queryid;
	rep->skipped[rep->nskipped].reason = reason;
	rep->nskipped++;
}

double mon_index_cost_estimate(double rows, double tuples, double pages,
			       double random_page_cost)
{
	double heap_pages, leaf_pages;

	if (rows < 1)
		rows = 1;
	if (pages < 1)
		pages = 1;
	if (tuples < rows)
		tuples = rows;
	/* distinct heap pages touched by `rows` tuples spread at random */
	heap_pages = pages * (1.0 - pow(1.0 - 1.0 / pages, rows));
	/* about 300 narrow keys on a leaf page */
	leaf_pages = ceil(rows / 300.0);
	return random_page_cost * (1.0 + leaf_pages + heap_pages) +
	       rows * (0.005 + 0.01 + 0.0025) + ceil(log2(tuples + 1)) * 0.0025;
}

/* ---- the catalog side of the candidates */

static const char mon_q_columns[] =
    "SELECT c.oid::text AS oid, n.nspname, c.relname, a.attname, a.attnum, "
    "t.typname, c.reltuples::float8 AS reltuples, c.relpages::float8 AS "
    "relpages, r.name FROM unnest($1::text[]) AS r(name) JOIN "
    "pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(r.name) JOIN "
    "pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN "
    "pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND "
    "NOT a.attisdropped JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "WHERE c.relkind IN ('r', 'm') ORDER BY r.name, a.attnum";

static bool mon_rel_matches(const struct mon_relref *r, const char *qual)
{
	return qual == NULL || (r->alias != NULL ? strcmp(r->alias, qual) == 0
						 : strcmp(r->name, qual) == 0);
}

static void mon_cand_add(struct dbops_ctx *ctx, struct mon_cand *cand,
			 const struct dbops_rows *rows, int r, enum mon_cmp cmp)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *type = h->rows_get(rows, r, "typname");
	struct mon_col *c;

	if (strcmp(type, "json") == 0 || strcmp(type, "jsonb") == 0 ||
	    strcmp(type, "point") == 0 || strcmp(type, "xml") == 0)
		return; /* Dexter's exclusions, and xml has no btree */
	for (size_t i = 0; i < cand->n; i++)
		if (strcmp(cand->cols[i].table_oid,
			   h->rows_get(rows, r, "oid")) == 0 &&
		    cand->cols[i].attnum ==
			(int)mon_num(h->rows_get(rows, r, "attnum")))
			return;
	if (cand->n >= 16)
		return;
	c = &cand->cols[cand->n++];
	c->table_oid = h->rows_get(rows, r, "oid");
	c->schema = h->rows_get(rows, r, "nspname");
	c->table = h->rows_get(rows, r, "relname");
	c->column = h->rows_get(rows, r, "attname");
	c->attnum = (int)mon_num(h->rows_get(rows, r, "attnum"));
	c->cmp = cmp;
	c->tuples = mon_num(h->rows_get(rows, r, "reltuples"));
	c->pages = mon_num(h->rows_get(rows, r, "relpages"));
}

/* The parse tree's columns as columns of the catalog: qualified ones by
 * alias or table name, bare ones in whichever table has them. */
static int mon_resolve(struct mon_cand *cand, const char **why,
		       struct dbops_ctx *ctx, struct mon_conn *c,
		       const struct mon_parsed *p)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *arr, *param[1], *err = NULL, **names;
	int rc;

	cand->cols = h->alloc(ctx, 16 * sizeof(*cand->cols));
	cand->n = 0;
	names = h->alloc(ctx, (p->nrels + 1) * sizeof(*names));
	for (size_t i = 0; i < p->nrels; i++)
		names[i] =
		    p->rels[i].schema
			? h->printf(ctx, "%s.%s",
				    h->quote_ident(ctx, p->rels[i].schema),
				    h->quote_ident(ctx, p->rels[i].name))
			: h->quote_ident(ctx, p->rels[i].name);
	arr = mon_array_literal(ctx, names, p->nrels);
	param[0] = arr;
	rc = mon_try_params(&rows, &err, ctx, c, mon_q_columns, 1, param);
	if (rc != 0) {
		*why = h->printf(ctx, "its tables could not be read: %s", err);
		return rc;
	}
	for (size_t k = 0; k < p->ncols; k++) {
		const struct mon_colref *cr = &p->cols[k];
		int found = -1, nfound = 0;

		for (int r = 0; r < rows->nrows; r++) {
			if (strcmp(h->rows_get(rows, r, "attname"),
				   cr->column) != 0)
				continue;
			for (size_t i = 0; i < p->nrels; i++) {
				const char *name =
				    h->rows_get(rows, r, "relname");

				if (strcmp(p->rels[i].name, name) == 0 &&
				    mon_rel_matches(&p->rels[i],
						    cr->qualifier)) {
					found = r;
					nfound++;
					break;
				}
			}
		}
		if (nfound == 1 || (nfound > 1 && cr->qualifier != NULL))
			mon_cand_add(ctx, cand, rows, found, cr->cmp);
	}
	if (cand->n == 0)
		*why = "no column of its tables is compared or sorted in a way "
		       "an index could serve";
	return 0;
}

/* ---- plans */

static void mon_plan_walk(struct dbops_ctx *ctx, struct mon_plan *pl,
			  json_object *node, int depth)
{
	json_object *v, *kids;

	if (node == NULL || depth > 100)
		return;
	if (json_object_object_get_ex(node, "Index Name", &v)) {
		const char **bigger = dbops_host(ctx)->alloc(
		    ctx, (pl->nused + 1) * sizeof(*bigger));

		if (pl->nused > 0)
			memcpy(bigger, pl->used, pl->nused * sizeof(*bigger));
		bigger[pl->nused++] =
		    dbops_host(ctx)->strdup(ctx, json_object_get_string(v));
		pl->used = bigger;
	}
	if (json_object_object_get_ex(node, "Plans", &kids) &&
	    json_object_is_type(kids, json_type_array))
		for (size_t i = 0; i < json_object_array_length(kids); i++)
			mon_plan_walk(ctx, pl,
				      json_object_array_get_idx(kids, i),
				      depth + 1);
}

/* EXPLAIN (FORMAT JSON) of the prepared statement: its cost and the
 * indexes its plan uses. Re-prepared first: HypoPG's indexes do not
 * invalidate a cached plan. */
static int mon_explain(struct mon_plan *pl, const char **why,
		       struct dbops_ctx *ctx, struct mon_conn *c,
		       const char *query, bool verbose)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *pg = h->conn_pgconn(c->conn);
	struct dbops_rows *rows = NULL;
	PGresult *res;
	const char *args = "", *err = NULL;
	json_object *root, *plan;
	int nparams;

	memset(pl, 0, sizeof(*pl));
	mon_try(NULL, NULL, ctx, c, "DEALLOCATE ALL");
	res = PQprepare(pg, "dbops_advice", query, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*why =
		    h->printf(ctx, "it could not be prepared: %s",
			      mon_oneline(ctx, PQresultErrorMessage(res), 200));
		PQclear(res);
		return DBOPS_ERR_GENERIC;
	}
	PQclear(res);
	res = PQdescribePrepared(pg, "dbops_advice");
	nparams = PQresultStatus(res) == PGRES_COMMAND_OK ? PQnparams(res) : 0;
	PQclear(res);
	for (int i = 0; i < nparams; i++)
		args = h->printf(ctx, "%s%sNULL", args, i ? ", " : "");
	if (mon_try(
		&rows, &err, ctx, c,
		h->printf(ctx,
			  "EXPLAIN (FORMAT JSON%s) EXECUTE dbops_advice%s%s%s",
			  verbose ? ", VERBOSE" : "", nparams ? "(" : "", args,
			  nparams ? ")" : "")) != 0) {
		*why = h->printf(ctx, "EXPLAIN failed: %s", err);
		return DBOPS_ERR_GENERIC;
	}
	root = json_tokener_parse(rows->values[0]);
	plan = root != NULL && json_object_is_type(root, json_type_array)
		   ? json_object_array_get_idx(root, 0)
		   : NULL;
	if (plan == NULL || !json_object_object_get_ex(plan, "Plan", &plan)) {
		json_object_put(root);
		*why = "EXPLAIN returned no plan";
		return DBOPS_ERR_GENERIC;
	}
	{
		json_object *tc;

		pl->cost = json_object_object_get_ex(plan, "Total Cost", &tc)
			       ? json_object_get_double(tc)
			       : NAN;
	}
	mon_plan_walk(ctx, pl, plan, 0);
	pl->root = root;
	return isfinite(pl->cost) ? 0 : DBOPS_ERR_GENERIC;
}

/* ---- HypoPG */

static const char *mon_hypo_create(struct dbops_ctx *ctx, struct mon_conn *c,
				   const char *schema, const struct mon_col *a,
				   const struct mon_col *b)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *def = h->printf(
	    ctx, "CREATE INDEX ON %s.%s (%s%s%s)",
	    h->quote_ident(ctx, a->schema), h->quote_ident(ctx, a->table),
	    h->quote_ident(ctx, a->column), b ? ", " : "",
	    b ? h->quote_ident(ctx, b->column) : "");

	mon_try(NULL, NULL, ctx, c, "SAVEPOINT dbops_hypo");
	if (mon_try(&rows, NULL, ctx, c,
		    h->printf(ctx,
			      "SELECT indexrelid::text FROM "
			      "%s.hypopg_create_index(%s)",
			      schema, h->quote_literal(ctx, def))) != 0) {
		mon_try(NULL, NULL, ctx, c, "ROLLBACK TO SAVEPOINT dbops_hypo");
		return NULL;
	}
	mon_try(NULL, NULL, ctx, c, "RELEASE SAVEPOINT dbops_hypo");
	return rows->nrows == 1 ? rows->values[0] : NULL;
}

static void mon_hypo_reset(struct dbops_ctx *ctx, struct mon_conn *c,
			   const char *schema)
{
	mon_try(
	    NULL, NULL, ctx, c,
	    dbops_host(ctx)->printf(ctx, "SELECT %s.hypopg_reset()", schema));
}

/* The hypothetical indexes a plan uses ("<oid>btree_..."). */
static size_t mon_hypo_used(const struct mon_hypo **out,
			    const struct mon_plan *pl,
			    const struct mon_hypo *hy, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < pl->nused; i++)
		for (size_t j = 0; j < n; j++) {
			size_t len = strlen(hy[j].oid);

			if (pl->used[i][0] == '<' &&
			    strncmp(pl->used[i] + 1, hy[j].oid, len) == 0 &&
			    pl->used[i][len + 1] == '>' && k < 8)
				out[k++] = &hy[j];
		}
	return k;
}

struct mon_try_ctx {
	struct dbops_ctx *ctx;
	struct mon_conn *c;
	const char *schema; /* hypopg's */
	const char *query;
	const char *why;
};

/* Reset, create `n` hypothetical indexes, EXPLAIN. */
static int mon_hypo_round(struct mon_plan *pl, struct mon_try_ctx *t,
			  struct mon_hypo *hy, size_t n)
{
	mon_hypo_reset(t->ctx, t->c, t->schema);
	for (size_t i = 0; i < n; i++)
		hy[i].oid = mon_hypo_create(t->ctx, t->c, t->schema, hy[i].c1,
					    hy[i].c2);
	for (size_t i = 0; i < n; i++)
		if (hy[i].oid == NULL)
			hy[i].oid = "-";
	return mon_explain(pl, &t->why, t->ctx, t->c, t->query, false);
}

static void mon_advice_add(struct dbops_ctx *ctx, struct mon_report *rep,
			   const struct mon_db *db, const struct mon_stmt *s,
			   const struct mon_hypo *const *idx, size_t n,
			   double before, double after, bool hypothetical);

static int mon_advise_hypo(struct mon_try_ctx *t, struct mon_report *rep,
			   const struct mon_db *db, const struct mon_stmt *s,
			   const struct mon_cand *cand, double initial)
{
	struct dbops_ctx *ctx = t->ctx;
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	struct mon_hypo *hy = h->alloc(ctx, MON_MAX_HYPO * sizeof(*hy));
	const struct mon_hypo *used[8], *win[8];
	struct mon_plan p1, p2, p3;
	size_t n1 = 0, n = 0, nwin = 0;
	double bar = 1.0 - spec->advice_min_savings, best;

	for (size_t i = 0; i < cand->n; i++, n1++)
		hy[n1] = (struct mon_hypo){NULL, &cand->cols[i], NULL};
	if (mon_hypo_round(&p1, t, hy, n1) != 0) {
		mon_skip(ctx, rep, db, s, t->why);
		return 0;
	}
	nwin = mon_hypo_used(used, &p1, hy, n1);
	best = p1.cost;
	if (p1.cost < initial * bar)
		memcpy(win, used, nwin * sizeof(*win));
	else
		nwin = 0;
	json_object_put(p1.root);
	/* two-column permutations, table by table */
	n = n1;
	for (size_t i = 0; i < cand->n; i++)
		for (size_t k = 0; k < cand->n && n < MON_MAX_HYPO; k++)
			if (i != k && strcmp(cand->cols[i].table_oid,
					     cand->cols[k].table_oid) == 0)
				hy[n++] = (struct mon_hypo){
				    NULL, &cand->cols[i], &cand->cols[k]};
	if (n > n1 && p1.cost > spec->advice_min_cost &&
	    mon_hypo_round(&p2, t, hy, n) == 0) {
		size_t k = mon_hypo_used(used, &p2, hy, n);

		if (p2.cost < best * bar && k == 1) {
			win[0] = used[0];
			nwin = 1;
			best = p2.cost;
		}
		json_object_put(p2.root);
	}
	if (nwin > 1) {
		/* several indexes: each alone, the cheapest if it still wins */
		double alone = INFINITY;
		const struct mon_hypo *pick = NULL;

		for (size_t i = 0; i < nwin; i++) {
			struct mon_hypo one = *win[i];

			if (mon_hypo_round(&p3, t, &one, 1) != 0)
				continue;
			if (p3.cost < alone) {
				alone = p3.cost;
				pick = win[i];
			}
			json_object_put(p3.root);
		}
		if (pick != NULL && alone < initial * bar) {
			win[0] = pick;
			nwin = 1;
			best = alone;
		}
	}
	mon_hypo_reset(ctx, t->c, t->schema);
	if (nwin == 0) {
		mon_skip(ctx, rep, db, s,
			 h->printf(ctx,
				   "no index on its candidate columns cuts its "
				   "cost of %.2f by %s",
				   initial,
				   mon_fmt_pct(ctx, spec->advice_min_savings)));
		return 0;
	}
	mon_advice_add(ctx, rep, db, s, win, nwin, initial, best, true);
	return 0;
}

/* Without HypoPG: the sequential scans of the plan, costed again as
 * index scans from their row estimates. */
static void mon_seqscans(json_object *node, int depth,
			 void (*fn)(void *, json_object *), void *arg)
{
	json_object *v, *kids;

	if (node == NULL || depth > 100)
		return;
	if (json_object_object_get_ex(node, "Node Type", &v) &&
	    strcmp(json_object_get_string(v), "Seq Scan") == 0)
		fn(arg, node);
	if (json_object_object_get_ex(node, "Plans", &kids) &&
	    json_object_is_type(kids, json_type_array))
		for (size_t i = 0; i < json_object_array_length(kids); i++)
			mon_seqscans(json_object_array_get_idx(kids, i),
				     depth + 1, fn, arg);
}

struct mon_est {
	const struct mon_cand *cand;
	double rpc; /* random_page_cost */
	double saved;
	const struct mon_col *cols[2];
	size_t ncols;
};

static void mon_est_scan(void *arg, json_object *node)
{
	struct mon_est *e = arg;
	json_object *v;
	const char *rel = NULL, *schema = NULL;
	const struct mon_col *pick[2] = {NULL, NULL};
	size_t n = 0;
	double rows, cost, est;

	if (!json_object_object_get_ex(node, "Filter", &v))
		return; /* reads everything: no index helps */
	if (json_object_object_get_ex(node, "Relation Name", &v))
		rel = json_object_get_string(v);
	if (json_object_object_get_ex(node, "Schema", &v))
		schema = json_object_get_string(v);
	rows = json_object_object_get_ex(node, "Plan Rows", &v)
		   ? json_object_get_double(v)
		   : 0;
	cost = json_object_object_get_ex(node, "Total Cost", &v)
		   ? json_object_get_double(v)
		   : 0;
	/* equality columns first (at most two), else one range column */
	for (int pass = MON_CMP_EQ; pass <= MON_CMP_RANGE && n == 0; pass++)
		for (size_t i = 0; i < e->cand->n && n < 2; i++) {
			const struct mon_col *c = &e->cand->cols[i];

			if ((int)c->cmp == pass && rel != NULL &&
			    strcmp(c->table, rel) == 0 &&
			    (schema == NULL || strcmp(c->schema, schema) == 0))
				pick[n++] = c;
			if (pass == MON_CMP_RANGE && n == 1)
				break;
		}
	if (n == 0)
		return;
	est = mon_index_cost_estimate(rows, pick[0]->tuples, pick[0]->pages,
				      e->rpc);
	if (cost - est > e->saved) {
		e->saved = cost - est;
		e->cols[0] = pick[0];
		e->cols[1] = pick[1];
		e->ncols = n;
	}
}

static int mon_advise_estimate(struct mon_try_ctx *t, struct mon_report *rep,
			       const struct mon_db *db,
			       const struct mon_stmt *s,
			       const struct mon_cand *cand,
			       const struct mon_plan *pl)
{
	struct dbops_ctx *ctx = t->ctx;
	struct dbops_rows *rows = NULL;
	struct mon_est e = {cand, 4.0, 0, {NULL, NULL}, 0};
	struct mon_hypo one;
	const struct mon_hypo *win[1] = {&one};
	json_object *plan = json_object_array_get_idx(pl->root, 0);

	if (mon_try(&rows, NULL, ctx, t->c,
		    "SELECT pg_catalog.current_setting('random_page_cost') "
		    "AS rpc") == 0)
		e.rpc = mon_num(rows->values[0]);
	json_object_object_get_ex(plan, "Plan", &plan);
	mon_seqscans(plan, 0, mon_est_scan, &e);
	if (e.ncols == 0 ||
	    pl->cost - e.saved >=
		pl->cost * (1.0 - rep->spec->advice_min_savings)) {
		mon_skip(ctx, rep, db, s,
			 "no sequential scan of its plan would be cheaper as "
			 "an index scan (estimated without HypoPG)");
		return 0;
	}
	one = (struct mon_hypo){"-", e.cols[0], e.ncols > 1 ? e.cols[1] : NULL};
	mon_advice_add(ctx, rep, db, s, win, 1, pl->cost, pl->cost - e.saved,
		       false);
	return 0;
}

/* ---- one statement */

static int mon_advise_one(struct mon_report *rep, struct mon_db *db,
			  struct mon_try_ctx *t, const struct mon_stmt *s)
{
	struct dbops_ctx *ctx = t->ctx;
	const struct dbops_host *h = dbops_host(ctx);
	struct mon_parsed p;
	struct mon_cand cand;
	struct mon_plan pl;
	const char *why = NULL, *err = NULL;
	int rc = 0;

	if (mon_sql_parse(&p, ctx, s->query) != 0 || p.kind == NULL) {
		mon_skip(ctx, rep, db, s,
			 p.error ? p.error
				 : "it is not a SELECT, UPDATE or DELETE");
		return 0;
	}
	if (mon_try(NULL, &err, ctx, &db->c,
		    h->printf(ctx,
			      "BEGIN READ ONLY; SET LOCAL ROLE %s; SET LOCAL "
			      "search_path = \"$user\", public; SET LOCAL "
			      "plan_cache_mode = force_generic_plan",
			      h->quote_ident(ctx, s->rolname ? s->rolname
							     : "-"))) != 0) {
		mon_try(NULL, NULL, ctx, &db->c, "ROLLBACK");
		mon_skip(ctx, rep, db, s,
			 h->printf(ctx,
				   "it cannot be planned as role \"%s\": %s",
				   s->rolname ? s->rolname : s->userid, err));
		return 0;
	}
	t->query = s->query;
	if (mon_resolve(&cand, &why, ctx, &db->c, &p) != 0 || cand.n == 0)
		mon_skip(ctx, rep, db, s, why);
	else if (mon_explain(&pl, &t->why, ctx, &db->c, s->query,
			     db->hypopg_schema == NULL) != 0)
		mon_skip(ctx, rep, db, s, t->why);
	else if (pl.cost < rep->spec->advice_min_cost) {
		mon_skip(ctx, rep, db, s,
			 h->printf(ctx,
				   "its plan costs %.2f, under "
				   "advice.min_cost",
				   pl.cost));
		json_object_put(pl.root);
	} else {
		if (db->hypopg_schema != NULL)
			rc = mon_advise_hypo(t, rep, db, s, &cand, pl.cost);
		else
			rc = mon_advise_estimate(t, rep, db, s, &cand, &pl);
		json_object_put(pl.root);
	}
	mon_try(NULL, NULL, ctx, &db->c, "ROLLBACK");
	mon_try(NULL, NULL, ctx, &db->c, "DEALLOCATE ALL");
	return rc;
}

/* Statements worth advice: the slow ones, then the costliest that read
 * a table with heavy sequential scans. */
static bool mon_reads_seqscan_table(struct dbops_ctx *ctx,
				    const struct mon_db *db,
				    const struct mon_stmt *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mon_parsed p;

	if (db->seqscan == NULL || db->seqscan->nrows == 0 ||
	    s->query == NULL || mon_sql_parse(&p, ctx, s->query) != 0)
		return false;
	for (size_t i = 0; i < p.nrels; i++)
		for (int r = 0; r < db->seqscan->nrows; r++)
			if (strcmp(p.rels[i].name,
				   h->rows_get(db->seqscan, r, "table")) == 0)
				return true;
	return false;
}

int mon_advise(struct dbops_ctx *ctx, struct mon_report *rep, struct mon_db *db)
{
	struct mon_try_ctx t = {ctx, &db->c, db->hypopg_schema, NULL, NULL};
	int64_t done = 0;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < db->nstmts; i++) {
			const struct mon_stmt *s = &db->stmts[i];
			bool slow = mon_is_slow(rep->spec, s);
			int rc;

			if (done >= rep->spec->advice_queries)
				return 0;
			if (s->query == NULL ||
			    (pass == 0 ? !slow
				       : slow || !mon_reads_seqscan_table(
						     ctx, db, s)))
				continue;
			if ((rc = mon_advise_one(rep, db, &t, s)) != 0)
				return rc;
			done++;
		}
	return 0;
}

/* ---- the migration */

static const char *mon_index_name(struct dbops_ctx *ctx,
				  const struct mon_hypo *x)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *name =
	    h->printf(ctx, "%s_%s%s%s_idx", x->c1->table, x->c1->column,
		      x->c2 ? "_" : "", x->c2 ? x->c2->column : "");

	/* NAMEDATALEN - 1, on a character boundary */
	if (strlen(name) > 63) {
		size_t k = 63;

		while (k > 0 && ((unsigned char)name[k] & 0xC0) == 0x80)
			k--;
		name = h->printf(ctx, "%.*s", (int)k, name);
	}
	return name;
}

static void mon_advice_add(struct dbops_ctx *ctx, struct mon_report *rep,
			   const struct mon_db *db, const struct mon_stmt *s,
			   const struct mon_hypo *const *idx, size_t n,
			   double before, double after, bool hypothetical)
{
	const struct dbops_host *h = dbops_host(ctx);

	for (size_t i = 0; i < n; i++) {
		const struct mon_hypo *x = idx[i];
		struct mon_advice *a, *bigger;
		const char *cols = h->quote_ident(ctx, x->c1->column);
		const char *iname = mon_index_name(ctx, x);
		bool dup = false;

		if (x->c2 != NULL)
			cols = h->printf(ctx, "%s, %s", cols,
					 h->quote_ident(ctx, x->c2->column));
		/* one suggestion per index, however many queries want it */
		for (size_t k = 0; k < rep->nadvice; k++)
			dup |= strcmp(rep->advice[k].datname, db->name) == 0 &&
			       strstr(rep->advice[k].body, iname) != NULL;
		if (dup)
			continue;
		if (rep->nadvice % 8 == 0) {
			bigger =
			    h->alloc(ctx, (rep->nadvice + 8) * sizeof(*bigger));
			if (rep->nadvice > 0)
				memcpy(bigger, rep->advice,
				       rep->nadvice * sizeof(*bigger));
			rep->advice = bigger;
		}
		a = &rep->advice[rep->nadvice++];
		a->datname = db->name;
		a->schema = x->c1->schema;
		a->table = x->c1->table;
		a->columns = h->alloc(ctx, 2 * sizeof(*a->columns));
		a->columns[0] = x->c1->column;
		a->ncolumns = 1;
		if (x->c2 != NULL)
			a->columns[a->ncolumns++] = x->c2->column;
		a->queryid = s->queryid;
		a->query = s->text;
		a->cost_before = before;
		a->cost_after = after;
		a->hypothetical = hypothetical;
		a->file = h->printf(ctx, "V%s__index_%s.sql", rep->now,
				    h->printf(ctx, "%s_%s%s%s", x->c1->table,
					      x->c1->column, x->c2 ? "_" : "",
					      x->c2 ? x->c2->column : ""));
		a->body = h->printf(
		    ctx,
		    "-- Index advice from \"dbops monitoring report\" for "
		    "database \"%s\".\n"
		    "-- queryid %s (role %s): %s calls, mean %s\n"
		    "--   %s\n"
		    "-- Plan cost %.2f -> %.2f (%s), %s.\n"
		    "CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON %s.%s (%s);\n",
		    db->name, s->queryid, s->rolname ? s->rolname : s->userid,
		    mon_fmt_count(ctx, s->calls),
		    mon_fmt_ms(ctx, s->exec_ms / s->calls),
		    mon_oneline(ctx, s->text, 200), before, after,
		    mon_fmt_pct(ctx, (after - before) / before),
		    hypothetical ? "costed with a HypoPG hypothetical index"
				 : "estimated from EXPLAIN's row estimate "
				   "(HypoPG is not installed here)",
		    h->quote_ident(ctx, iname),
		    h->quote_ident(ctx, x->c1->schema),
		    h->quote_ident(ctx, x->c1->table), cols);
	}
}

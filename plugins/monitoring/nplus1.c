/* SPDX-License-Identifier: PostgreSQL */
/*
 * nplus1.c — N+1 suspects from pg_stat_statements alone. pg_stat_statements
 * sees no request or transaction, so this can only suspect, never prove
 * (reference §7); the evidence is shown with each pair.
 *
 * A child C and a parent P of the same database and role, both SELECTs:
 *  - C runs often: at least n_plus_one.min_calls calls in the window;
 *  - C returns about one row per call (0.5 to 1.5: a lookup by key,
 *    reference §9.1);
 *  - C runs at least min_ratio times per call of P (Sentry's detector
 *    wants "usually five" repeated spans);
 * and at least one of:
 *  A. their calls rise and fall together: Pearson's r of the calls per
 *     interval is at least min_correlation (0.9) over at least
 *     min_intervals (12) snapshot intervals (reference §9.1);
 *  B. C was called once per row P returned: C's calls are within 10% of
 *     P's rows.
 * Confidence is high with A and B, medium with A alone, low with B alone
 * (a steady load gives no variation to correlate). For each C the parent
 * with the strongest evidence is kept. The fix shown is C batched:
 * "col = $1" turned into "col = ANY($1)" (sqlparse.c), or a join.
 */
#include "monitoring_int.h"

#include <math.h>
#include <string.h>

double mon_pearson(const double *x, const double *y, int n)
{
	double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;

	if (n < 2)
		return NAN;
	for (int i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= n;
	my /= n;
	for (int i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		syy += (y[i] - my) * (y[i] - my);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	/* a constant series says nothing about rising and falling */
	if (sxx <= 1e-12 * (1 + mx * mx) || syy <= 1e-12 * (1 + my * my))
		return NAN;
	return sxy / sqrt(sxx * syy);
}

static const struct mon_series *mon_series_of(const struct mon_db *db,
					      const struct mon_stmt *s)
{
	for (size_t i = 0; i < db->nseries; i++)
		if (strcmp(db->series[i].queryid, s->queryid) == 0 &&
		    strcmp(db->series[i].userid, s->userid) == 0)
			return &db->series[i];
	return NULL;
}

static bool mon_is_select(struct dbops_ctx *ctx, const struct mon_stmt *s)
{
	struct mon_parsed p;

	if (s->query == NULL)
		return false;
	if (mon_sql_parse(&p, ctx, s->query) != 0)
		return false;
	return p.kind != NULL && strcmp(p.kind, "select") == 0;
}

struct mon_n1_eval {
	double r;
	bool corr, rows;
	int score;
};

static void mon_n1_evaluate(struct mon_n1_eval *e, const struct mon_spec *spec,
			    const struct mon_db *db, const struct mon_stmt *p,
			    const struct mon_stmt *c)
{
	const struct mon_series *sp = mon_series_of(db, p);
	const struct mon_series *sc = mon_series_of(db, c);

	e->r = NAN;
	if (sp != NULL && sc != NULL &&
	    db->nintervals >= spec->n1_min_intervals)
		e->r = mon_pearson(sp->calls, sc->calls, db->nintervals);
	e->corr = isfinite(e->r) && e->r >= spec->n1_min_r;
	e->rows = p->rows > 0 && fabs(c->calls - p->rows) <= 0.1 * p->rows;
	e->score = (e->corr ? 2 : 0) + (e->rows ? 1 : 0);
}

static void mon_n1_add(struct dbops_ctx *ctx, struct mon_report *rep,
		       const struct mon_db *db, const struct mon_stmt *p,
		       const struct mon_stmt *c, const struct mon_n1_eval *e)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mon_n1 *n;
	struct mon_n1 *bigger;

	if (rep->nn1 % 8 == 0) {
		bigger = h->alloc(ctx, (rep->nn1 + 8) * sizeof(*bigger));
		if (rep->nn1 > 0)
			memcpy(bigger, rep->n1, rep->nn1 * sizeof(*bigger));
		rep->n1 = bigger;
	}
	n = &rep->n1[rep->nn1++];
	n->datname = db->name;
	n->parent = p;
	n->child = c;
	n->ratio = c->calls / p->calls;
	n->r = e->r;
	n->intervals = db->nintervals;
	n->rows_match = e->rows;
	n->confidence = e->corr && e->rows ? "high"
			: e->corr	   ? "medium"
					   : "low";
	n->fix = mon_sql_batched(ctx, c->query);
	n->saved_calls = c->calls - p->calls;
}

bool mon_n1_candidate(const struct mon_spec *spec, const struct mon_stmt *s)
{
	double rpc;

	if (s->calls < (double)spec->n1_min_calls || s->calls <= 0)
		return false;
	rpc = s->rows / s->calls;
	return rpc >= 0.5 && rpc <= 1.5;
}

void mon_n1_find(struct dbops_ctx *ctx, struct mon_report *rep,
		 const struct mon_db *db)
{
	const struct mon_spec *spec = rep->spec;

	for (size_t i = 0; i < db->nstmts; i++) {
		const struct mon_stmt *c = &db->stmts[i];
		const struct mon_stmt *best = NULL;
		struct mon_n1_eval be = {0}, e;

		if (!mon_n1_candidate(spec, c) || !mon_is_select(ctx, c))
			continue;
		for (size_t k = 0; k < db->nstmts; k++) {
			const struct mon_stmt *p = &db->stmts[k];

			if (k == i || p->calls <= 0 ||
			    strcmp(p->userid, c->userid) != 0 ||
			    c->calls / p->calls < spec->n1_min_ratio)
				continue;
			mon_n1_evaluate(&e, spec, db, p, c);
			if (e.score == 0 ||
			    (best != NULL && e.score < be.score))
				continue;
			if (best != NULL && e.score == be.score &&
			    !(isfinite(e.r) && (!isfinite(be.r) || e.r > be.r)))
				continue;
			if (!mon_is_select(ctx, p))
				continue;
			best = p;
			be = e;
		}
		if (best != NULL)
			mon_n1_add(ctx, rep, db, best, c, &be);
	}
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * spec.c — the `monitoring:` section read into a struct mon_spec, every
 * threshold with its default (from the reference: PgHero, Dexter,
 * CloudNativePG, Sentry, pgDSAT; see README.md), and every problem that
 * needs no server reported at its spec location: unknown keys with a
 * "did you mean", values that are not durations, sizes or percentages,
 * severities other than warning and error. validate also publishes what
 * the plugin needs of the parameters plugin (pg_stat_statements in
 * shared_preload_libraries and its settings). observe, diff and status
 * parse the section again through mon_spec_parse.
 */
#include "monitoring_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum mon_kind {
	MON_K_DURATION = 1,
	MON_K_SIZE,
	MON_K_RATIO,
	MON_K_COUNT,  /* int64_t member */
	MON_K_NUMBER, /* double member, no unit */
};

struct mon_key {
	const char *key;
	enum mon_kind kind;
	size_t off;
	double min, max;
};

#define MON_D(field) offsetof(struct mon_spec, field)

static const struct mon_key mon_keys_slow[] = {
    {"mean", MON_K_DURATION, MON_D(slow_mean), 0, 1e9},
    {"min_calls", MON_K_COUNT, MON_D(slow_min_calls), 1, 1e12},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_n1[] = {
    {"min_calls", MON_K_COUNT, MON_D(n1_min_calls), 1, 1e12},
    {"min_ratio", MON_K_NUMBER, MON_D(n1_min_ratio), 1, 1e9},
    {"min_correlation", MON_K_NUMBER, MON_D(n1_min_r), 0, 1},
    {"min_intervals", MON_K_COUNT, MON_D(n1_min_intervals), 3, 10000},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_long[] = {
    {"max_duration", MON_K_DURATION, MON_D(long_max), 0, 1e9},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_idle[] = {
    {"max_duration", MON_K_DURATION, MON_D(idle_max), 0, 1e9},
    {"max_sessions", MON_K_COUNT, MON_D(idle_max_sessions), 0, 1e9},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_conn[] = {
    {"max_used", MON_K_RATIO, MON_D(conn_max_used), 0, 1},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_cache[] = {
    {"min", MON_K_RATIO, MON_D(cache_min), 0, 1},
    {"min_blocks", MON_K_COUNT, MON_D(cache_min_blocks), 0, 1e15},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_wrap[] = {
    {"min_left", MON_K_NUMBER, MON_D(wrap_min_left), 0, 2146483648.0},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_seq[] = {
    {"max_used", MON_K_RATIO, MON_D(seq_max_used), 0, 1},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_unused[] = {
    {"min_size", MON_K_SIZE, MON_D(unused_min_size), 0, 1e18},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_seqscan[] = {
    {"min_rows", MON_K_NUMBER, MON_D(seqscan_min_rows), 0, 1e15},
    {"min_scans", MON_K_NUMBER, MON_D(seqscan_min_scans), 1, 1e15},
    {"max_index_share", MON_K_RATIO, MON_D(seqscan_max_index_share), 0, 1},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_bloat[] = {
    {"min_wasted", MON_K_SIZE, MON_D(bloat_min_wasted), 0, 1e18},
    {NULL, 0, 0, 0, 0},
};
static const struct mon_key mon_keys_none[] = {
    {NULL, 0, 0, 0, 0},
};

static const struct {
	const char *name; /* the key under checks: */
	const struct mon_key *keys;
} mon_check_defs[MON_NCHECKS] = {
    [MON_CHK_SLOW] = {"slow_queries", mon_keys_slow},
    [MON_CHK_STATEMENTS] = {"evictions", mon_keys_none},
    [MON_CHK_N1] = {"n_plus_one", mon_keys_n1},
    [MON_CHK_LONG] = {"long_running_queries", mon_keys_long},
    [MON_CHK_IDLE_TX] = {"idle_in_transaction", mon_keys_idle},
    [MON_CHK_CONN] = {"connections", mon_keys_conn},
    [MON_CHK_LAG] = {"replication_lag", mon_keys_none},
    [MON_CHK_CACHE] = {"cache_hit_ratio", mon_keys_cache},
    [MON_CHK_WRAP] = {"wraparound", mon_keys_wrap},
    [MON_CHK_SEQ] = {"sequences", mon_keys_seq},
    [MON_CHK_UNUSED] = {"unused_indexes", mon_keys_unused},
    [MON_CHK_DUP] = {"duplicate_indexes", mon_keys_none},
    [MON_CHK_INVALID] = {"invalid_indexes", mon_keys_none},
    [MON_CHK_SEQSCAN] = {"sequential_scans", mon_keys_seqscan},
    [MON_CHK_BLOAT] = {"bloat", mon_keys_bloat},
    [MON_CHK_SECURITY] = {"security", mon_keys_none},
    [MON_CHK_OBJECTIVES] = {"objectives", mon_keys_none},
};

static const char *const mon_section_keys[] = {
    "databases", "statements", "snapshots", "window", "statement_timeout",
    "top",	 "objectives", "advice",    "checks", NULL,
};
static const char *const mon_statements_keys[] = {"max", "track",
						  "track_utility", NULL};
static const char *const mon_snapshot_keys[] = {"interval", "retention",
						"statements", NULL};
static const char *const mon_objective_keys[] = {"rpo", "rto",
						 "replication_lag", NULL};
static const char *const mon_lag_keys[] = {"bytes", "time", NULL};
static const char *const mon_advice_keys[] = {"hypopg", "min_cost",
					      "min_savings", "queries", NULL};
static const char *const mon_security_keys[] = {
    "severity", "superusers", "password_expiry", "ignore", NULL};

/* The ids security findings carry (security.c), for `ignore`. */
static const char *const mon_security_ids[] = {
    "4.3",	 "5.3/5.4",	 "5.8",
    "5.12",	 "4.10",	 "3.1.20",
    "dbops:md5", "dbops:expiry", "dbops:hba-error",
    NULL,
};

const char *mon_check_name(enum mon_check_id id)
{
	return mon_check_defs[id].name;
}

static void mon_defaults(struct mon_spec *s)
{
	s->pgss_max = -1;
	s->pgss_track_utility = -1;
	s->snap_interval = 300; /* PgHero captures every 5 min */
	s->snap_retention = 7 * 86400.0;
	s->snap_statements = 100; /* PgHero and the exporter: top 100 */
	s->window = 3600;
	s->statement_timeout = 5;
	s->top = 5;
	s->rpo.value = s->rto.value = -1;
	s->lag_bytes.value = s->lag_time.value = -1;
	s->advice_min_cost = 100;    /* Dexter --min-cost */
	s->advice_min_savings = 0.5; /* Dexter --min-cost-savings-pct */
	s->advice_queries = 20;
	for (int i = 0; i < MON_NCHECKS; i++) {
		s->checks[i].enabled = true;
		s->checks[i].sev = MON_WARNING;
	}
	s->slow_mean = 1.0; /* the curriculum's "over a second" */
	s->slow_min_calls = 5;
	s->long_max = 60;	    /* PgHero long_running_query_sec */
	s->idle_max = 300;	    /* CloudNativePG max_tx_duration alert */
	s->idle_max_sessions = 100; /* PgHero */
	s->conn_max_used = 0.8;
	s->cache_min = 0.99; /* PgHero cache_hit_rate_threshold */
	s->cache_min_blocks = 10000;
	s->wrap_min_left = 1500000000.0; /* PgHero transaction ID danger */
	s->seq_max_used = 0.9;		 /* PgHero sequence danger */
	s->unused_min_size = 10.0 * 1024 * 1024; /* PgHero */
	s->seqscan_min_rows = 10000;		 /* PgHero */
	s->seqscan_min_scans = 100;
	s->seqscan_max_index_share = 0.95;	   /* PgHero */
	s->bloat_min_wasted = 100.0 * 1024 * 1024; /* PgHero index bloat */
	s->n1_min_calls = 100;
	s->n1_min_ratio = 5;	  /* Sentry: "usually five spans" */
	s->n1_min_r = 0.9;	  /* reference 9.1 */
	s->n1_min_intervals = 12; /* reference 9.1: >= 12 intervals */
}

static struct dbops_diag *mon_err(struct dbops_ctx *ctx,
				  const struct dbops_node *n, const char *fmt,
				  ...) DBOPS_PRINTF(3, 4);

static struct dbops_diag *
mon_err(struct dbops_ctx *ctx, const struct dbops_node *n, const char *fmt, ...)
{
	const struct dbops_host *h = dbops_host(ctx);
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		       n != NULL ? &n->loc : NULL, "%s", buf);
}

static const char *mon_kind_hint(enum mon_kind kind)
{
	switch (kind) {
	case MON_K_DURATION:
		return "Give a number with a unit: ms, s, min, h or d (500ms, 1s, 5min).";
	case MON_K_SIZE:
		return "Give a number with a unit: B, kB, MB, GB or TB (10MB).";
	case MON_K_RATIO:
		return "Give a percentage (80%) or a fraction between 0 and 1 (0.8).";
	case MON_K_COUNT:
	case MON_K_NUMBER:
		break;
	}
	return NULL;
}

/* One typed value at `n` into *dst (a double), `what` naming it. */
static int mon_read_value(double *dst, struct dbops_ctx *ctx,
			  const struct dbops_node *n, const char *what,
			  enum mon_kind kind, double min, double max)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *text;
	struct dbops_diag *d;
	bool ok = false;
	double v = 0;

	if (h->spec_string(&text, ctx, n, what) != 0)
		return DBOPS_ERR_INVALID;
	switch (kind) {
	case MON_K_DURATION:
		ok = mon_parse_duration(&v, text);
		break;
	case MON_K_SIZE:
		ok = mon_parse_size(&v, text);
		break;
	case MON_K_RATIO:
		ok = mon_parse_ratio(&v, text);
		break;
	case MON_K_COUNT:
		ok = mon_parse_number(&v, text) && v == floor(v);
		break;
	case MON_K_NUMBER:
		ok = mon_parse_number(&v, text);
		break;
	}
	if (!ok) {
		d = mon_err(ctx, n, "invalid value \"%s\" for %s", text, what);
		if (mon_kind_hint(kind) != NULL)
			h->diag_hint(ctx, d, "%s", mon_kind_hint(kind));
		return DBOPS_ERR_INVALID;
	}
	if (v < min || v > max) {
		mon_err(ctx, n, "%s must be between %g and %g, got \"%s\"",
			what, min, max, text);
		return DBOPS_ERR_INVALID;
	}
	*dst = v;
	return 0;
}

static int mon_read_key(struct mon_spec *s, struct dbops_ctx *ctx,
			const struct dbops_node *map, const struct mon_key *k,
			const char *prefix)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *n = h->spec_get(map, k->key);
	const char *what = h->printf(ctx, "%s.%s", prefix, k->key);
	double v;
	int err;

	if (n == NULL || n->kind == DBOPS_NODE_NULL)
		return 0;
	if ((err = mon_read_value(&v, ctx, n, what, k->kind, k->min, k->max)))
		return err;
	if (k->kind == MON_K_COUNT)
		*(int64_t *)(void *)((char *)s + k->off) = (int64_t)v;
	else
		*(double *)(void *)((char *)s + k->off) = v;
	return 0;
}

static int mon_read_list(const char ***out, size_t *n_out,
			 struct dbops_ctx *ctx, const struct dbops_node *n,
			 const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char **v;
	int rc = 0;

	if (n == NULL || n->kind == DBOPS_NODE_NULL)
		return 0;
	if (n->kind != DBOPS_NODE_SEQ) {
		mon_err(ctx, n, "%s must be a list of names", what);
		return DBOPS_ERR_INVALID;
	}
	v = h->alloc(ctx, (n->len + 1) * sizeof(*v));
	for (size_t i = 0; i < n->len; i++)
		if (h->spec_string(&v[i], ctx, n->items[i], what) != 0)
			rc = DBOPS_ERR_INVALID;
		else if (v[i][0] == '\0') {
			mon_err(ctx, n->items[i], "%s holds an empty name",
				what);
			rc = DBOPS_ERR_INVALID;
		}
	*out = v;
	*n_out = n->len;
	return rc;
}

static int mon_read_severity(enum mon_sev *out, struct dbops_ctx *ctx,
			     const struct dbops_node *n, const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *text;
	struct dbops_diag *d;

	if (h->spec_string(&text, ctx, n, what) != 0)
		return DBOPS_ERR_INVALID;
	if (strcmp(text, "warning") == 0) {
		*out = MON_WARNING;
		return 0;
	}
	if (strcmp(text, "error") == 0) {
		*out = MON_ERROR;
		return 0;
	}
	d = mon_err(ctx, n, "invalid severity \"%s\" for %s", text, what);
	h->diag_hint(ctx, d,
		     "Use warning (status degraded) or error (unhealthy); "
		     "to turn a check off, write \"%.*s: off\".",
		     (int)(strlen(what) - strlen(".severity")), what);
	return DBOPS_ERR_INVALID;
}

static int mon_read_security(struct mon_spec *s, struct dbops_ctx *ctx,
			     const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v;
	int rc = 0;

	if (h->spec_check_keys(ctx, n, "the security check",
			       mon_security_keys) != 0)
		rc = DBOPS_ERR_INVALID;
	if (mon_read_list(&s->superusers, &s->nsuperusers, ctx,
			  h->spec_get(n, "superusers"),
			  "checks.security.superusers") != 0)
		rc = DBOPS_ERR_INVALID;
	if (mon_read_list(&s->sec_ignore, &s->nsec_ignore, ctx,
			  h->spec_get(n, "ignore"),
			  "checks.security.ignore") != 0)
		rc = DBOPS_ERR_INVALID;
	for (size_t i = 0; rc == 0 && i < s->nsec_ignore; i++) {
		bool known = false;
		size_t nids =
		    sizeof(mon_security_ids) / sizeof(mon_security_ids[0]) - 1;

		for (size_t k = 0; k < nids; k++)
			known |=
			    strcmp(s->sec_ignore[i], mon_security_ids[k]) == 0;
		if (!known) {
			const char *best = h->suggest(s->sec_ignore[i],
						      mon_security_ids, nids);
			struct dbops_diag *d =
			    mon_err(ctx, h->spec_get(n, "ignore")->items[i],
				    "unknown security finding \"%s\"",
				    s->sec_ignore[i]);

			if (best != NULL)
				h->diag_hint(ctx, d, "Did you mean \"%s\"?",
					     best);
			rc = DBOPS_ERR_INVALID;
		}
	}
	if ((v = h->spec_get(n, "password_expiry")) != NULL &&
	    h->spec_bool(&s->password_expiry, ctx, v,
			 "checks.security.password_expiry") != 0)
		rc = DBOPS_ERR_INVALID;
	return rc;
}

/* One entry of `checks:`: off, on, or a map of thresholds. */
static int mon_read_check(struct mon_spec *s, struct dbops_ctx *ctx,
			  enum mon_check_id id, const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *name = mon_check_defs[id].name;
	const char *prefix = h->printf(ctx, "checks.%s", name);
	struct mon_check *c = &s->checks[id];
	const char **allowed;
	size_t nk = 0;
	int rc = 0;

	c->loc = n->loc;
	if (n->kind == DBOPS_NODE_SCALAR)
		return h->spec_bool(&c->enabled, ctx, n, prefix);
	if (n->kind == DBOPS_NODE_NULL)
		return 0;
	if (id == MON_CHK_SECURITY)
		rc = mon_read_security(s, ctx, n);
	else {
		for (const struct mon_key *k = mon_check_defs[id].keys;
		     k->key != NULL; k++)
			nk++;
		allowed = h->alloc(ctx, (nk + 2) * sizeof(*allowed));
		for (size_t i = 0; i < nk; i++)
			allowed[i] = mon_check_defs[id].keys[i].key;
		allowed[nk] = "severity";
		if (h->spec_check_keys(ctx, n,
				       h->printf(ctx, "the %s check", name),
				       allowed) != 0)
			rc = DBOPS_ERR_INVALID;
		for (const struct mon_key *k = mon_check_defs[id].keys;
		     k->key != NULL; k++)
			if (mon_read_key(s, ctx, n, k, prefix) != 0)
				rc = DBOPS_ERR_INVALID;
	}
	if (h->spec_get(n, "severity") != NULL) {
		if (mon_read_severity(&c->sev, ctx, h->spec_get(n, "severity"),
				      h->printf(ctx, "%s.severity", prefix)))
			rc = DBOPS_ERR_INVALID;
		c->sev_set = true;
	}
	return rc;
}

static int mon_read_checks(struct mon_spec *s, struct dbops_ctx *ctx,
			   const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *names[MON_NCHECKS + 1];
	int rc = 0;

	if (n == NULL || n->kind == DBOPS_NODE_NULL)
		return 0;
	for (int i = 0; i < MON_NCHECKS; i++)
		names[i] = mon_check_defs[i].name;
	names[MON_NCHECKS] = NULL;
	if (h->spec_check_keys(ctx, n, "the checks section", names) != 0)
		rc = DBOPS_ERR_INVALID;
	if (n->kind != DBOPS_NODE_MAP)
		return DBOPS_ERR_INVALID;
	for (size_t k = 0; k < n->len; k++)
		for (int i = 0; i < MON_NCHECKS; i++) {
			if (strcmp(n->keys[k], names[i]) != 0)
				continue;
			if (mon_read_check(s, ctx, (enum mon_check_id)i,
					   n->items[k]) != 0)
				rc = DBOPS_ERR_INVALID;
			/* a failed check is reported at its name */
			s->checks[i].loc = n->key_nodes[k]->loc;
		}
	return rc;
}

static int mon_read_objective(struct mon_objective *o, struct dbops_ctx *ctx,
			      const struct dbops_node *map, const char *key,
			      const char *what, enum mon_kind kind)
{
	const struct dbops_node *n = dbops_host(ctx)->spec_get(map, key);

	if (n == NULL || n->kind == DBOPS_NODE_NULL)
		return 0;
	o->source = what;
	o->loc = n->loc;
	return mon_read_value(&o->value, ctx, n, what, kind, 0, 1e18);
}

static int mon_read_objectives(struct mon_spec *s, struct dbops_ctx *ctx,
			       const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *lag;
	int rc = 0;

	if (n == NULL || n->kind == DBOPS_NODE_NULL)
		return 0;
	if (h->spec_check_keys(ctx, n, "the objectives section",
			       mon_objective_keys) != 0)
		rc = DBOPS_ERR_INVALID;
	if (mon_read_objective(&s->rpo, ctx, n, "rpo",
			       "monitoring.objectives.rpo", MON_K_DURATION))
		rc = DBOPS_ERR_INVALID;
	if (mon_read_objective(&s->rto, ctx, n, "rto",
			       "monitoring.objectives.rto", MON_K_DURATION))
		rc = DBOPS_ERR_INVALID;
	lag = h->spec_get(n, "replication_lag");
	if (lag != NULL && lag->kind != DBOPS_NODE_NULL) {
		if (h->spec_check_keys(ctx, lag,
				       "the replication_lag objective",
				       mon_lag_keys) != 0)
			rc = DBOPS_ERR_INVALID;
		if (mon_read_objective(
			&s->lag_bytes, ctx, lag, "bytes",
			"monitoring.objectives.replication_lag.bytes",
			MON_K_SIZE))
			rc = DBOPS_ERR_INVALID;
		if (mon_read_objective(
			&s->lag_time, ctx, lag, "time",
			"monitoring.objectives.replication_lag.time",
			MON_K_DURATION))
			rc = DBOPS_ERR_INVALID;
	}
	return rc;
}

static int mon_read_statements(struct mon_spec *s, struct dbops_ctx *ctx,
			       const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v;
	const char *track;
	bool b;
	int rc = 0;

	if (n == NULL)
		return 0;
	s->statements = true;
	s->statements_loc = n->loc;
	if (n->kind == DBOPS_NODE_NULL)
		return 0;
	if (n->kind == DBOPS_NODE_SCALAR) {
		if ((rc = h->spec_bool(&s->statements, ctx, n,
				       "monitoring.statements")) != 0)
			return rc;
		return 0;
	}
	if (h->spec_check_keys(ctx, n, "the statements section",
			       mon_statements_keys) != 0)
		rc = DBOPS_ERR_INVALID;
	if ((v = h->spec_get(n, "max")) != NULL &&
	    h->spec_int(&s->pgss_max, ctx, v, "monitoring.statements.max", 100,
			1073741823) != 0)
		rc = DBOPS_ERR_INVALID;
	if ((v = h->spec_get(n, "track")) != NULL) {
		if (h->spec_string(&track, ctx, v,
				   "monitoring.statements.track") != 0)
			rc = DBOPS_ERR_INVALID;
		else if (strcmp(track, "top") != 0 &&
			 strcmp(track, "all") != 0 &&
			 strcmp(track, "none") != 0) {
			struct dbops_diag *d = mon_err(
			    ctx, v,
			    "invalid value \"%s\" for monitoring.statements.track",
			    track);

			h->diag_hint(ctx, d,
				     "Available values: top, all, none.");
			rc = DBOPS_ERR_INVALID;
		} else
			s->pgss_track = track;
	}
	if ((v = h->spec_get(n, "track_utility")) != NULL) {
		if (h->spec_bool(&b, ctx, v,
				 "monitoring.statements.track_utility") != 0)
			rc = DBOPS_ERR_INVALID;
		else
			s->pgss_track_utility = b ? 1 : 0;
	}
	return rc;
}

static int mon_read_simple(struct mon_spec *s, struct dbops_ctx *ctx,
			   const struct dbops_node *section)
{
	static const struct mon_key top_keys[] = {
	    {"window", MON_K_DURATION, MON_D(window), 1, 1e9},
	    {"statement_timeout", MON_K_DURATION, MON_D(statement_timeout),
	     0.001, 86400},
	    {"top", MON_K_COUNT, MON_D(top), 1, 1000},
	    {NULL, 0, 0, 0, 0},
	};
	static const struct mon_key snap_keys[] = {
	    {"interval", MON_K_DURATION, MON_D(snap_interval), 0, 1e9},
	    {"retention", MON_K_DURATION, MON_D(snap_retention), 60, 1e10},
	    {"statements", MON_K_COUNT, MON_D(snap_statements), 1, 100000},
	    {NULL, 0, 0, 0, 0},
	};
	static const struct mon_key advice_keys[] = {
	    {"min_cost", MON_K_NUMBER, MON_D(advice_min_cost), 0, 1e15},
	    {"min_savings", MON_K_RATIO, MON_D(advice_min_savings), 0, 1},
	    {"queries", MON_K_COUNT, MON_D(advice_queries), 1, 1000},
	    {NULL, 0, 0, 0, 0},
	};
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *snap = h->spec_get(section, "snapshots");
	const struct dbops_node *adv = h->spec_get(section, "advice");
	const struct dbops_node *v;
	int rc = 0;

	for (const struct mon_key *k = top_keys; k->key != NULL; k++)
		if (mon_read_key(s, ctx, section, k, "monitoring") != 0)
			rc = DBOPS_ERR_INVALID;
	if (snap != NULL && snap->kind != DBOPS_NODE_NULL) {
		if (h->spec_check_keys(ctx, snap, "the snapshots section",
				       mon_snapshot_keys) != 0)
			rc = DBOPS_ERR_INVALID;
		for (const struct mon_key *k = snap_keys; k->key != NULL; k++)
			if (mon_read_key(s, ctx, snap, k,
					 "monitoring.snapshots") != 0)
				rc = DBOPS_ERR_INVALID;
		if (s->snap_retention < s->snap_interval) {
			mon_err(
			    ctx, h->spec_get(snap, "retention"),
			    "snapshots.retention must be at least snapshots.interval");
			rc = DBOPS_ERR_INVALID;
		}
	}
	if (adv != NULL && adv->kind != DBOPS_NODE_NULL) {
		if (h->spec_check_keys(ctx, adv, "the advice section",
				       mon_advice_keys) != 0)
			rc = DBOPS_ERR_INVALID;
		for (const struct mon_key *k = advice_keys; k->key != NULL; k++)
			if (mon_read_key(s, ctx, adv, k, "monitoring.advice"))
				rc = DBOPS_ERR_INVALID;
		if ((v = h->spec_get(adv, "hypopg")) != NULL &&
		    h->spec_bool(&s->hypopg, ctx, v,
				 "monitoring.advice.hypopg") != 0)
			rc = DBOPS_ERR_INVALID;
	}
	return rc;
}

static int mon_read_databases(struct mon_spec *s, struct dbops_ctx *ctx,
			      const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	int rc;

	if (n == NULL || n->kind == DBOPS_NODE_NULL) {
		s->default_db = true;
		return 0;
	}
	if ((rc = mon_read_list(&s->databases, &s->ndatabases, ctx, n,
				"monitoring.databases")) != 0)
		return rc;
	if (s->ndatabases == 0) {
		mon_err(ctx, n, "monitoring.databases is empty");
		return DBOPS_ERR_INVALID;
	}
	s->db_locs = h->alloc(ctx, s->ndatabases * sizeof(*s->db_locs));
	for (size_t i = 0; i < s->ndatabases; i++) {
		s->db_locs[i] = n->items[i]->loc;
		for (size_t k = 0; k < i; k++)
			if (strcmp(s->databases[k], s->databases[i]) == 0) {
				mon_err(ctx, n->items[i],
					"database \"%s\" is listed twice",
					s->databases[i]);
				rc = DBOPS_ERR_INVALID;
			}
	}
	return rc;
}

int mon_spec_parse(struct mon_spec **out, struct dbops_ctx *ctx,
		   const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mon_spec *s = h->alloc(ctx, sizeof(*s));
	int rc = 0;

	mon_defaults(s);
	*out = s;
	if (section == NULL)
		return 0;
	s->loc = section->loc;
	for (int i = 0; i < MON_NCHECKS; i++)
		s->checks[i].loc = section->loc;
	if (section->kind == DBOPS_NODE_NULL)
		return 0;
	if (h->spec_check_keys(ctx, section, "the monitoring section",
			       mon_section_keys) != 0)
		rc = DBOPS_ERR_INVALID;
	if (mon_read_databases(s, ctx, h->spec_get(section, "databases")))
		rc = DBOPS_ERR_INVALID;
	if (mon_read_statements(s, ctx, h->spec_get(section, "statements")))
		rc = DBOPS_ERR_INVALID;
	if (mon_read_simple(s, ctx, section) != 0)
		rc = DBOPS_ERR_INVALID;
	if (mon_read_objectives(s, ctx, h->spec_get(section, "objectives")))
		rc = DBOPS_ERR_INVALID;
	if (mon_read_checks(s, ctx, h->spec_get(section, "checks")) != 0)
		rc = DBOPS_ERR_INVALID;
	return rc;
}

/* What the parameters plugin must set: pg_stat_statements preloaded and
 * the settings the section gives (parameters/needs.c applies them, with
 * the restart flagged in the plan). */
static void mon_publish(struct dbops_ctx *ctx, const struct mon_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (!s->statements ||
	    h->header.size <
		offsetof(struct dbops_host, fact_put) + sizeof(h->fact_put))
		return;
	h->fact_put(ctx, "parameters.include.shared_preload_libraries",
		    "pg_stat_statements", NULL, &s->statements_loc);
	if (s->pgss_max > 0)
		h->fact_put(ctx, "parameters.require.pg_stat_statements.max",
			    h->printf(ctx, "%lld", (long long)s->pgss_max),
			    NULL, &s->statements_loc);
	if (s->pgss_track != NULL)
		h->fact_put(ctx, "parameters.require.pg_stat_statements.track",
			    s->pgss_track, NULL, &s->statements_loc);
	if (s->pgss_track_utility >= 0)
		h->fact_put(
		    ctx, "parameters.require.pg_stat_statements.track_utility",
		    s->pgss_track_utility ? "on" : "off", NULL,
		    &s->statements_loc);
}

int mon_validate(struct dbops_ctx *ctx, const struct dbops_node *section)
{
	struct mon_spec *s;
	int rc = mon_spec_parse(&s, ctx, section);

	if (section != NULL && section->kind != DBOPS_NODE_MAP &&
	    section->kind != DBOPS_NODE_NULL)
		return DBOPS_ERR_INVALID;
	if (rc == 0)
		mon_publish(ctx, s);
	return rc;
}

/* A fact's text as a duration or a size; false when absent or not one. */
static bool mon_fact_value(double *out, const char **name,
			   struct dbops_ctx *ctx, const char *fact, bool time)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_fact *const *f = NULL;
	size_t n = 0;

	if (h->header.size <
	    offsetof(struct dbops_host, facts) + sizeof(h->facts))
		return false;
	h->facts(&f, &n, ctx, fact);
	for (size_t i = 0; i < n; i++) {
		const char *v = f[i]->value;

		if (strcmp(f[i]->name, fact) != 0 ||
		    f[i]->type != DBOPS_FACT_TEXT || v == NULL)
			continue;
		/* the plugins publish durations as bare milliseconds and
		 * sizes as bare bytes (replicas.max_lag.time, .bytes) */
		if (time && v[0] != '\0' && v[strspn(v, "0123456789")] == '\0')
			v = h->printf(ctx, "%sms", v);
		if (time ? mon_parse_duration(out, v)
			 : mon_parse_size(out, v)) {
			*name = f[i]->name;
			return true;
		}
	}
	return false;
}

void mon_objectives_resolve(struct mon_spec *s, struct dbops_ctx *ctx)
{
	static const struct {
		size_t off;
		const char *fact;
		bool time;
	} from_facts[] = {
	    {offsetof(struct mon_spec, rpo), "backups.objectives.rpo", true},
	    {offsetof(struct mon_spec, rto), "backups.objectives.rto", true},
	    {offsetof(struct mon_spec, lag_bytes), "replicas.max_lag.bytes",
	     false},
	    {offsetof(struct mon_spec, lag_time), "replicas.max_lag.time",
	     true},
	};

	for (size_t i = 0; i < sizeof(from_facts) / sizeof(from_facts[0]);
	     i++) {
		struct mon_objective *o =
		    (struct mon_objective *)(void *)((char *)s +
						     from_facts[i].off);
		double v;
		const char *name;

		if (o->value >= 0)
			continue; /* the section's own wins */
		if (mon_fact_value(&v, &name, ctx, from_facts[i].fact,
				   from_facts[i].time)) {
			o->value = v;
			o->source = name;
			o->loc = s->loc;
		}
	}
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * report.c — lint findings and a database's errors as a person reads
 * them. Each finding is one diagnostic naming its object; past
 * MIG_LINT_SHOW findings of one rule in a database the rest are only
 * counted (all are shown with -v); with `--lint-base REV`, files whose
 * content is the same at REV are left out (the pull-request view). At the
 * end of the plan each database gets one summary, errors first and then
 * the count per rule, so that an error is never buried among hundreds of
 * warnings.
 */
#include "migrations_int.h"

#include <stddef.h>
#include <string.h>

#define MIG_LINT_SHOW 3

void mig_tally_init(struct mig_tally *t, struct dbops_ctx *ctx,
		    const struct mig_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);

	memset(t, 0, sizeof(*t));
	t->db = db;
	t->verbose = h->flag(ctx, "verbose");
}

static bool mig_rule_off(const struct mig_db *db, const char *sql,
			 const char *rule)
{
	for (size_t i = 0; i < db->nlint_disabled; i++)
		if (strcmp(db->lint_disabled[i], rule) == 0)
			return true;
	return mig_rule_disabled_inline(sql, rule);
}

bool mig_tally_wants(struct mig_tally *t, struct dbops_ctx *ctx,
		     const struct mig_file *f)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *id, *base;

	if (t->db->lint_level == MIG_LINT_OFF)
		return false;
	if (h->header.size < offsetof(struct dbops_host, source_base_id) +
				 sizeof(h->source_base_id) ||
	    h->source_base_id == NULL)
		return true;
	base = h->source_base_id(ctx, f->path);
	if (base == NULL)
		return true; /* no --lint-base */
	id = h->source_id(ctx, f->path);
	if (id != NULL && strcmp(id, base) == 0) {
		t->unchanged++;
		return false;
	}
	return true;
}

static size_t mig_rule_slot(struct mig_tally *t, const char *rule)
{
	size_t i;

	for (i = 0; i < t->nrules; i++)
		if (t->rules[i].rule == rule)
			return i;
	if (t->nrules == MIG_TALLY_RULES)
		return MIG_TALLY_RULES - 1; /* cannot happen: a slot a rule */
	t->rules[t->nrules].rule = rule;
	return t->nrules++;
}

void mig_tally_error(struct mig_tally *t, struct dbops_ctx *ctx,
		     const struct dbops_diag *d)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *line;

	if (d == NULL)
		return;
	line = d->loc.file != NULL
		   ? h->printf(ctx, "%s:%u:%u: %s", d->loc.file, d->loc.line,
			       d->loc.col, d->message)
		   : d->message;
	if (t->nerrors < MIG_TALLY_ERRORS)
		t->errors[t->nerrors] = line;
	t->nerrors++;
}

size_t mig_tally_lint(struct mig_tally *t, struct dbops_ctx *ctx,
		      const struct mig_file *f, const char *sql,
		      const struct mig_finding *fs, size_t n)
{
	size_t nerrors = 0;
	const struct dbops_host *h = dbops_host(ctx);
	enum dbops_severity sev = t->db->lint_level == MIG_LINT_ERROR
				      ? DBOPS_SEV_ERROR
				      : DBOPS_SEV_WARNING;

	t->nmigrations++;
	for (size_t i = 0; i < n; i++) {
		size_t slot;
		struct dbops_loc loc = f->loc;
		struct dbops_diag *d;

		if (mig_rule_off(t->db, sql, fs[i].rule))
			continue;
		slot = mig_rule_slot(t, fs[i].rule);
		t->rules[slot].n++;
		t->nfindings++;
		/* an error is always shown; warnings past a few per rule are
		 * counted, unless -v */
		if (sev != DBOPS_SEV_ERROR && !t->verbose &&
		    t->rules[slot].shown >= MIG_LINT_SHOW)
			continue;
		t->rules[slot].shown++;
		loc.line = fs[i].line;
		loc.col = fs[i].col;
		d = h->diag(ctx, sev,
			    sev == DBOPS_SEV_ERROR ? DBOPS_ERR_INVALID : 0,
			    &loc, "%s [%s] %s: %s", f->script, fs[i].rule,
			    fs[i].object, fs[i].message);
		h->diag_hint(
		    ctx, d,
		    "%s To accept it, add the comment \"-- dbops:disable %s\" to the migration.",
		    fs[i].hint, fs[i].rule);
		if (sev == DBOPS_SEV_ERROR) {
			mig_tally_error(t, ctx, d);
			nerrors++;
		}
	}
	return nerrors;
}

void mig_tally_summary(struct mig_tally *t, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *detail = "", *hint = NULL;
	bool collapsed = false;
	struct dbops_diag *d;

	if (t->nerrors == 0 && t->nfindings == 0)
		return;
	if (t->nerrors > 0) {
		detail = h->printf(ctx, "Errors (%zu):", t->nerrors);
		for (size_t i = 0; i < t->nerrors && i < MIG_TALLY_ERRORS; i++)
			detail =
			    h->printf(ctx, "%s\n  %s", detail, t->errors[i]);
		if (t->nerrors > MIG_TALLY_ERRORS)
			detail =
			    h->printf(ctx, "%s\n  ... and %zu more", detail,
				      t->nerrors - MIG_TALLY_ERRORS);
	}
	if (t->nfindings > 0) {
		detail = h->printf(ctx, "%s%sLint findings by rule:", detail,
				   t->nerrors ? "\n" : "");
		for (size_t i = 0; i < t->nrules; i++) {
			size_t hidden = t->rules[i].n - t->rules[i].shown;

			collapsed |= hidden > 0;
			detail =
			    h->printf(ctx, "%s\n  %-45s %zu%s", detail,
				      t->rules[i].rule, t->rules[i].n,
				      hidden ? h->printf(ctx, " (%zu shown)",
							 t->rules[i].shown)
					     : "");
		}
	}
	if (collapsed)
		hint = "Run with -v to see every finding.";
	if (t->unchanged > 0)
		hint = h->printf(
		    ctx,
		    "%s%s%zu migration%s unchanged since the lint base %s left out.",
		    hint ? hint : "", hint ? " " : "", t->unchanged,
		    t->unchanged == 1 ? "" : "s",
		    t->unchanged == 1 ? "was" : "were");
	d = h->diag(
	    ctx, DBOPS_SEV_NOTICE, 0, &t->db->loc,
	    "migrations of database \"%s\": %zu error%s; lint found %zu problem%s in %zu migration%s",
	    t->db->database, t->nerrors, t->nerrors == 1 ? "" : "s",
	    t->nfindings, t->nfindings == 1 ? "" : "s", t->nmigrations,
	    t->nmigrations == 1 ? "" : "s");
	h->diag_detail(ctx, d, "%s", detail);
	if (hint != NULL)
		h->diag_hint(ctx, d, "%s", hint);
}

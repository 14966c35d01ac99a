/* SPDX-License-Identifier: PostgreSQL */
/*
 * diff.c — pending migrations and validation against the live history,
 * with Flyway's rules: an applied migration whose file changed (checksum
 * or description), an applied migration whose file is gone, a failed row
 * left in the history and a pending migration older than the newest
 * applied one (unless out_of_order) are errors with a hint; every pending
 * migration becomes one RUN change, versioned ones by version and then
 * repeatable ones whose checksum changed, by description. Pending SQL is
 * parsed here (sql.c) to choose the transaction mode and to lint it.
 *
 * In `dbops migrations repair` (host->mode() is "repair"), the plan holds
 * the repair instead: failed rows deleted, checksums and descriptions
 * realigned with the files, missing migrations marked deleted.
 *
 * Each change carries its place in the order of execution (the host's
 * change `order`, counted across the databases in spec order), so
 * addresses stay what a reader expects: "migrations.app.V1_10".
 */
#include "change.h"

#include <stdlib.h>
#include <string.h>

struct mig_state {
	struct dbops_ctx *ctx;
	const struct mig_db *db;
	const struct mig_live_db *live;
	struct mig_run *run;
	const struct mig_spec *spec;
	bool repair;
	int result;
	/* applied versioned rows (success, not deleted), sorted by version */
	const struct mig_row **applied;
	size_t napplied;
	const struct mig_row *baseline;
	const struct mig_version *max; /* newest applied version */
	unsigned long *ordinal;	       /* shared by the databases of the pass */
	size_t planned; /* migrations planned for this database */
	struct mig_tally *tally;
};

static int mig_row_vcmp(const void *x, const void *y)
{
	const struct mig_row *a = *(const struct mig_row *const *)x;
	const struct mig_row *b = *(const struct mig_row *const *)y;
	int c = mig_version_cmp(&a->v, &b->v);

	return c != 0 ? c : (a->rank < b->rank ? -1 : a->rank > b->rank);
}

static const struct mig_row *mig_find_applied(const struct mig_state *st,
					      const struct mig_version *v)
{
	size_t lo = 0, hi = st->napplied;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = mig_version_cmp(&st->applied[mid]->v, v);

		if (c == 0)
			return st->applied[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct mig_file *mig_find_file(const struct mig_db *db,
					    const struct mig_version *v)
{
	size_t lo = 0, hi = db->nfiles;

	/* versioned files come first, sorted by version */
	while (hi > 0 && db->files[hi - 1].name.kind != MIG_VERSIONED)
		hi--;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = mig_version_cmp(&db->files[mid].name.version, v);

		if (c == 0)
			return &db->files[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct dbops_diag *mig_err(struct mig_state *st,
				  const struct dbops_loc *loc, const char *msg)
{
	const struct dbops_host *h = dbops_host(st->ctx);

	struct dbops_diag *d;

	st->result = DBOPS_ERR_INVALID;
	d = h->diag(st->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		    loc ? loc : &st->db->loc, "%s", msg);
	mig_tally_error(st->tally, st->ctx, d);
	return d;
}

static const char *mig_row_name(struct dbops_ctx *ctx, const struct mig_row *r)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (r->version != NULL)
		return h->printf(ctx, "version %s (%s)", r->version, r->script);
	return h->printf(ctx, "\"%s\" (%s)", r->description, r->script);
}

/* Index the history: applied versioned rows by version, the baseline,
 * rows that a later DELETE row cancels. */
static void mig_index_history(struct mig_state *st)
{
	const struct dbops_host *h = dbops_host(st->ctx);
	const struct mig_live_db *live = st->live;
	bool *deleted = h->alloc(st->ctx, (live->nrows + 1) * sizeof(bool));

	for (size_t i = 0; i < live->nrows; i++) {
		const struct mig_row *r = &live->rows[i];

		if (strcmp(r->type, "DELETE") != 0)
			continue;
		deleted[i] = true;
		for (size_t k = 0; k < i; k++) {
			const struct mig_row *o = &live->rows[k];

			if (r->version && o->version &&
			    mig_version_cmp(&r->v, &o->v) == 0)
				deleted[k] = true;
			else if (!r->version && !o->version &&
				 strcmp(r->description, o->description) == 0)
				deleted[k] = true;
		}
	}
	st->applied = h->alloc(st->ctx, (live->nrows + 1) * sizeof(void *));
	for (size_t i = 0; i < live->nrows; i++) {
		const struct mig_row *r = &live->rows[i];

		if (deleted[i] || r->version == NULL || r->v.parts == NULL)
			continue;
		if (strcmp(r->type, "SCHEMA") == 0)
			continue;
		if (!r->success)
			continue;
		if (strcmp(r->type, "BASELINE") == 0)
			st->baseline = r;
		st->applied[st->napplied++] = r;
		if (st->max == NULL || mig_version_cmp(&r->v, st->max) > 0)
			st->max = &r->v;
	}
	if (st->napplied > 1)
		qsort(st->applied, st->napplied, sizeof(*st->applied),
		      mig_row_vcmp);
	/* failed rows stop everything until repaired */
	for (size_t i = 0; i < live->nrows && !st->repair; i++) {
		const struct mig_row *r = &live->rows[i];
		struct dbops_diag *d;

		if (deleted[i] || r->success)
			continue;
		d = mig_err(
		    st, NULL,
		    h->printf(
			st->ctx,
			"migration %s of database \"%s\" failed and is recorded as failed in the history",
			mig_row_name(st->ctx, r), st->db->database));
		h->diag_detail(
		    st->ctx, d,
		    "Row %d of %s has success = false; it was left by a migration that ran outside a transaction and failed part-way.",
		    r->rank, mig_qtable(st->ctx, st->db));
		h->diag_hint(
		    st->ctx, d,
		    "Undo or finish what the failed migration changed by hand, then run \"dbops migrations repair\" to remove the failed row.");
	}
}

static struct dbops_change *
mig_change(struct mig_state *st, enum dbops_action action, const char *what)
{
	const struct dbops_host *h = dbops_host(st->ctx);
	struct dbops_change *c = h->change_new(
	    st->ctx, action,
	    h->printf(st->ctx, "migrations.%s.%s", st->db->database, what));

	c->order = ++*st->ordinal;
	return c;
}

/* Applied rows against the files: changed and missing migrations. */
static void mig_check_applied(struct mig_state *st)
{
	const struct dbops_host *h = dbops_host(st->ctx);
	struct dbops_ctx *ctx = st->ctx;

	for (size_t i = 0; i < st->napplied; i++) {
		const struct mig_row *r = st->applied[i];
		const struct mig_file *f;
		struct dbops_diag *d;

		if (r == st->baseline || strcmp(r->type, "SQL") != 0)
			continue;
		f = mig_find_file(st->db, &r->v);
		if (f == NULL) {
			if (st->repair)
				continue;
			d = mig_err(
			    st, NULL,
			    h->printf(
				ctx,
				"applied migration %s of database \"%s\" is missing from the locations",
				mig_row_name(ctx, r), st->db->database));
			h->diag_hint(
			    ctx, d,
			    "Restore the file, or run \"dbops migrations repair\" to mark the migration as deleted.");
			continue;
		}
		if (r->has_checksum && r->checksum != f->checksum &&
		    !st->repair) {
			d = mig_err(
			    st, &f->loc,
			    h->printf(
				ctx,
				"migration checksum mismatch for migration version %s of database \"%s\"",
				r->version, st->db->database));
			h->diag_detail(
			    ctx, d,
			    "Applied to database \"%s\": %d. Resolved locally in \"%s\": %d.",
			    st->db->database, r->checksum, f->path,
			    f->checksum);
			h->diag_hint(
			    ctx, d,
			    "Revert the file to what was applied and put the change in a new migration, or run \"dbops migrations repair\" to accept the file as it is.");
		} else if (strcmp(r->description, f->name.description) != 0 &&
			   !st->repair) {
			d = mig_err(
			    st, &f->loc,
			    h->printf(
				ctx,
				"migration description mismatch for migration version %s",
				r->version));
			h->diag_detail(
			    ctx, d,
			    "Applied to database \"%s\": \"%s\". Resolved locally: \"%s\".",
			    st->db->database, r->description,
			    f->name.description);
			h->diag_hint(
			    ctx, d,
			    "Rename the file back, or run \"dbops migrations repair\" to accept the new name.");
		}
	}
}

/* How a pending migration runs; false when it cannot. */
static bool mig_choose_tx(struct mig_state *st, const struct mig_file *f,
			  const struct mig_stmt *stmts, size_t n, bool *in_tx)
{
	const struct dbops_host *h = dbops_host(st->ctx);
	size_t nontx = 0, first_nontx = 0;
	struct dbops_diag *d;

	for (size_t i = 0; i < n; i++)
		if (stmts[i].nontx && nontx++ == 0)
			first_nontx = i;
	if (f->txmode == MIG_TX_OFF) {
		*in_tx = false;
		return true;
	}
	if (nontx == 0) {
		*in_tx = true;
		return true;
	}
	if (f->txmode == MIG_TX_AUTO && (nontx == n || st->db->mixed)) {
		*in_tx = false;
		return true;
	}
	{
		struct dbops_loc loc = f->loc;

		loc.line = stmts[first_nontx].line;
		loc.col = stmts[first_nontx].col;
		d = mig_err(
		    st, &loc,
		    h->printf(
			st->ctx,
			"migration \"%s\" has a statement that cannot run inside a transaction block",
			f->script));
	}
	if (f->txmode == MIG_TX_ON)
		h->diag_hint(
		    st->ctx, d,
		    "Its .conf file sets executeInTransaction=true; remove that line.");
	else
		h->diag_hint(
		    st->ctx, d,
		    "Move the statement into a migration of its own, or set \"mixed: true\" for the database to run the whole migration outside a transaction.");
	return false;
}

/*
 * A non-transactional migration's own transaction blocks must close; one
 * an earlier apply interrupted must still be the file it was. *progress
 * is its progress, or NULL.
 */
static bool mig_check_resume(struct mig_state *st, const struct mig_file *f,
			     const struct mig_stmt *stmts, size_t n, bool in_tx,
			     const struct mig_progress **progress)
{
	const struct dbops_host *h = dbops_host(st->ctx);
	const struct mig_progress *p = mig_progress_of(st->ctx, st->live, f);
	struct dbops_diag *d;
	bool open = false;
	size_t opened = 0;

	for (size_t k = 0; k < n && !in_tx; k++) {
		if (stmts[k].txctl == MIG_TXCTL_OPEN) {
			open = true;
			opened = k;
		} else if (stmts[k].txctl != MIG_TXCTL_NONE) {
			open = false;
		}
	}
	if (open) {
		struct dbops_loc loc = f->loc;

		loc.line = stmts[opened].line;
		loc.col = stmts[opened].col;
		d = mig_err(
		    st, &loc,
		    h->printf(
			st->ctx,
			"migration \"%s\" begins a transaction it does not end",
			f->script));
		h->diag_hint(
		    st->ctx, d,
		    "End it with COMMIT or ROLLBACK in the same file.");
		return false;
	}
	if (p == NULL)
		return true;
	if (in_tx || p->checksum != f->checksum || p->statements != (int)n) {
		d = mig_err(
		    st, &f->loc,
		    h->printf(
			st->ctx,
			"migration \"%s\" was interrupted after statement %d of %d, and its file has changed since",
			f->script, p->done, p->statements));
		h->diag_hint(
		    st->ctx, d,
		    "Restore the file as it was, or finish or undo the migration by hand and run \"dbops migrations repair\" to forget the interrupted run.");
		return false;
	}
	*progress = p;
	return true;
}

static struct dbops_change *mig_plan_file(struct mig_state *st,
					  const struct mig_file *f,
					  const char *reason)
{
	const struct dbops_host *h = dbops_host(st->ctx);
	struct dbops_ctx *ctx = st->ctx;
	const char *sql, *what;
	struct mig_parsed r;
	const struct mig_stmt *stmts;
	struct mig_payload *pl;
	struct dbops_change *c;
	struct dbops_diag *error = NULL;
	const struct mig_progress *progress = NULL;
	size_t n;
	bool in_tx = true;
	/* a callback is not a schema change of its own: no lint, and no
	 * history row */
	bool lint =
	    f->name.kind != MIG_CALLBACK && mig_tally_wants(st->tally, ctx, f);

	if ((sql = mig_file_sql(ctx, st->db, f, &error)) == NULL) {
		mig_tally_error(st->tally, ctx, error);
		st->result = DBOPS_ERR_INVALID;
		return NULL;
	}
	if (mig_sql_parse(&r, ctx, sql, f,
			  MIG_PARSE_LOCKS | (lint ? MIG_PARSE_LINT : 0) |
			      (strcmp(st->spec->lock_timeout, "0") != 0
				   ? MIG_PARSE_LOCK_TIMEOUT_SET
				   : 0)) != 0) {
		mig_tally_error(st->tally, ctx, r.error);
		st->result = DBOPS_ERR_INVALID;
		return NULL;
	}
	stmts = r.stmts;
	n = r.n;
	if (!mig_choose_tx(st, f, stmts, n, &in_tx) ||
	    !mig_check_resume(st, f, stmts, n, in_tx, &progress))
		return NULL;
	if (lint &&
	    mig_tally_lint(st->tally, ctx, f, sql, r.findings, r.nfindings) > 0)
		st->result = DBOPS_ERR_INVALID;
	if (f->name.kind == MIG_CALLBACK) {
		what = f->name.stem;
	} else if (f->name.kind == MIG_VERSIONED) {
		char *v = h->strdup(ctx, f->name.version.text);

		for (char *p = v; *p; p++)
			if (*p == '.')
				*p = '_';
		what = h->printf(ctx, "V%s", v);
	} else {
		what = h->printf(ctx, "R__%s", f->name.raw_description);
	}
	c = mig_change(st, DBOPS_ACTION_RUN, what);
	c->reason = reason;
	c->sql = sql;
	c->loc = f->loc;
	/* the plugin runs migrations on its own connection and manages their
	 * transactions itself; the host must not group them in one of its
	 * own on the target connection */
	c->flags = DBOPS_CHANGE_NONTX;
	if (f->name.kind == MIG_VERSIONED)
		h->change_attr(ctx, c, "version", NULL, f->name.version.text,
			       false);
	if (f->name.kind == MIG_CALLBACK) {
		h->change_attr(ctx, c, "callback", NULL,
			       f->name.event == MIG_EV_BEFORE_MIGRATE
				   ? "before the migrations"
				   : "after the migrations",
			       false);
		h->change_attr(ctx, c, "script", NULL, f->path, false);
	} else {
		h->change_attr(ctx, c, "description", NULL, f->name.description,
			       false);
		h->change_attr(ctx, c, "script", NULL, f->path, false);
		h->change_attr(ctx, c, "checksum", NULL,
			       h->printf(ctx, "%d", f->checksum), false);
	}
	h->change_attr(
	    ctx, c, "transaction", NULL,
	    in_tx ? "per migration" : "none (one statement per query)", false);
	h->change_attr(ctx, c, "statements", NULL, h->printf(ctx, "%zu", n),
		       false);
	mig_lock_attrs(ctx, c, stmts, n);
	if (progress != NULL) {
		/* an apply was interrupted part-way through it */
		h->change_attr(ctx, c, "resume", NULL,
			       h->printf(ctx, "at statement %d of %zu",
					 progress->done + 1, n),
			       false);
		c->reason = h->printf(
		    ctx, "%s; interrupted, resumes at statement %d of %zu",
		    reason, progress->done + 1, n);
	}
	pl = h->alloc(ctx, sizeof(*pl));
	pl->op =
	    f->name.kind == MIG_CALLBACK ? MIG_OP_CALLBACK : MIG_OP_MIGRATE;
	pl->run = st->run;
	pl->file = f;
	pl->sql = sql;
	pl->stmts = stmts;
	pl->nstmts = n;
	pl->in_tx = in_tx;
	pl->progress = progress;
	for (size_t k = 0; k < n; k++) {
		pl->resets |= stmts[k].session;
		pl->unprepares |= stmts[k].unprepares;
	}
	c->payload = pl;
	if (f->name.kind != MIG_CALLBACK)
		st->planned++;
	return c;
}

static const struct mig_row *mig_last_repeatable(const struct mig_live_db *l,
						 const char *description)
{
	for (size_t i = l->nrows; i > 0; i--) {
		const struct mig_row *r = &l->rows[i - 1];

		if (r->version == NULL && strcmp(r->type, "SQL") == 0 &&
		    strcmp(r->description, description) == 0)
			return r->success ? r : NULL;
		if (r->version == NULL && strcmp(r->type, "DELETE") == 0 &&
		    strcmp(r->description, description) == 0)
			return NULL;
	}
	return NULL;
}

static void mig_plan_baseline(struct mig_state *st)
{
	const struct dbops_host *h = dbops_host(st->ctx);
	struct dbops_change *c;
	struct mig_payload *pl;

	c = mig_change(st, DBOPS_ACTION_CREATE, "baseline");
	c->reason = "adopt the existing schema at the baseline version";
	c->loc = st->db->loc;
	c->flags = DBOPS_CHANGE_NONTX;
	h->change_attr(st->ctx, c, "version", NULL, st->db->baseline_version,
		       false);
	h->change_attr(st->ctx, c, "description", NULL,
		       st->db->baseline_description, false);
	c->sql = h->printf(
	    st->ctx,
	    "INSERT INTO %s (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES (1, %s, %s, 'BASELINE', %s, NULL, current_user, 0, true)",
	    mig_qtable(st->ctx, st->db),
	    h->quote_literal(st->ctx, st->db->baseline_version),
	    h->quote_literal(st->ctx, st->db->baseline_description),
	    h->quote_literal(st->ctx, st->db->baseline_description));
	pl = h->alloc(st->ctx, sizeof(*pl));
	pl->op = MIG_OP_BASELINE;
	pl->run = st->run;
	c->payload = pl;
}

static void mig_plan_pending(struct mig_state *st)
{
	const struct dbops_host *h = dbops_host(st->ctx);
	const struct mig_version *floor = NULL;
	bool fresh = !st->live->table_exists || st->live->nrows == 0;
	unsigned long before = *st->ordinal; /* kept for beforeMigrate */

	*st->ordinal += st->db->ncallbacks;
	if (st->baseline != NULL)
		floor = &st->baseline->v;
	if (st->db->has_target && st->max != NULL &&
	    mig_version_cmp(st->max, &st->db->target) > 0) {
		struct dbops_diag *d = h->diag(
		    st->ctx, DBOPS_SEV_WARNING, 0, &st->db->loc,
		    "database \"%s\" has migration %s applied, beyond its target %s",
		    st->db->database, st->max->text, st->db->target.text);

		h->diag_hint(
		    st->ctx, d,
		    "dbops never undoes a migration: raise the target, "
		    "or undo it with a new migration.");
	}
	if (fresh && st->db->baseline_version != NULL) {
		mig_plan_baseline(st);
		floor = &st->db->baseline;
	}
	for (size_t i = 0; i < st->db->nfiles; i++) {
		const struct mig_file *f = &st->db->files[i];

		if (f->name.kind == MIG_VERSIONED) {
			if (floor &&
			    mig_version_cmp(&f->name.version, floor) <= 0)
				continue; /* below the baseline */
			if (mig_find_applied(st, &f->name.version) != NULL)
				continue;
			if (st->db->has_target &&
			    mig_version_cmp(&f->name.version, &st->db->target) >
				0)
				continue; /* waits for the target to move */
			if (st->max != NULL &&
			    mig_version_cmp(&f->name.version, st->max) < 0) {
				struct dbops_diag *d;

				if (st->db->out_of_order) {
					mig_plan_file(st, f, "out of order");
					continue;
				}
				d = mig_err(
				    st, &f->loc,
				    h->printf(
					st->ctx,
					"pending migration %s is older than the newest applied migration %s",
					f->name.version.text, st->max->text));
				h->diag_detail(
				    st->ctx, d,
				    "Database \"%s\" would end up with migrations applied in another order than their versions.",
				    st->db->database);
				h->diag_hint(
				    st->ctx, d,
				    "Give the migration a version above %s, or set \"out_of_order: true\" for the database.",
				    st->max->text);
				continue;
			}
			mig_plan_file(st, f, "pending");
		} else {
			const struct mig_row *r =
			    mig_last_repeatable(st->live, f->name.description);

			if (r == NULL)
				mig_plan_file(st, f,
					      "new repeatable migration");
			else if (!r->has_checksum || r->checksum != f->checksum)
				mig_plan_file(st, f,
					      "repeatable migration changed");
		}
	}
	/* Flyway's beforeMigrate / afterMigrate callbacks, only when there is
	 * something to migrate: a pass that changes nothing runs nothing, so
	 * the plan after an apply is empty */
	for (size_t k = 0; k < st->db->ncallbacks && st->planned > 0; k++) {
		const struct mig_file *cb = &st->db->callbacks[k];
		struct dbops_change *c;

		if (cb->name.event == MIG_EV_BEFORE_MIGRATE) {
			c = mig_plan_file(st, cb,
					  "callback before the migrations");
			if (c != NULL)
				c->order = before + k + 1;
		} else {
			mig_plan_file(st, cb, "callback after the migrations");
		}
	}
}

/* ---- repair */

static void mig_repair_change(struct mig_state *st, const struct mig_row *r,
			      enum mig_op op, const struct mig_file *f)
{
	const struct dbops_host *h = dbops_host(st->ctx);
	struct dbops_ctx *ctx = st->ctx;
	const char *qt = mig_qtable(ctx, st->db);
	struct dbops_change *c;
	struct mig_payload *pl;
	const char *addr = h->printf(ctx, "migrations.%s.history.%05d",
				     st->db->database, r->rank);

	if (op == MIG_OP_REPAIR_DELETE) {
		c = h->change_new(ctx, DBOPS_ACTION_DELETE, addr);
		c->reason = "failed migration row removed";
		c->sql =
		    h->printf(ctx, "DELETE FROM %s WHERE installed_rank = %d",
			      qt, r->rank);
	} else if (op == MIG_OP_REPAIR_MISSING) {
		c = h->change_new(ctx, DBOPS_ACTION_RUN, addr);
		c->reason =
		    "applied migration file is missing: marked as deleted";
		c->sql = h->printf(
		    ctx,
		    "INSERT INTO %s (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) SELECT (SELECT max(installed_rank) + 1 FROM %s), version, description, 'DELETE', script, checksum, current_user, 0, true FROM %s WHERE installed_rank = %d",
		    qt, qt, qt, r->rank);
	} else {
		c = h->change_new(ctx, DBOPS_ACTION_UPDATE, addr);
		c->reason = "realigned with the migration file";
		c->loc = f->loc;
		h->change_attr(
		    ctx, c, "checksum",
		    r->has_checksum ? h->printf(ctx, "%d", r->checksum) : NULL,
		    h->printf(ctx, "%d", f->checksum), false);
		if (strcmp(r->description, f->name.description) != 0)
			h->change_attr(ctx, c, "description", r->description,
				       f->name.description, false);
		c->sql = h->printf(
		    ctx,
		    "UPDATE %s SET checksum = %d, description = %s WHERE installed_rank = %d",
		    qt, f->checksum, h->quote_literal(ctx, f->name.description),
		    r->rank);
	}
	c->flags = DBOPS_CHANGE_NONTX;
	if (r->version != NULL)
		h->change_attr(ctx, c, "version", r->version, r->version,
			       false);
	h->change_attr(ctx, c, "script", r->script, r->script, false);
	pl = h->alloc(ctx, sizeof(*pl));
	pl->op = op;
	pl->run = st->run;
	pl->file = f;
	pl->row = r;
	c->payload = pl;
}

/* A progress row whose migration is no longer what was interrupted (the
 * file changed or went) is forgotten by repair; one that still matches
 * is kept, so that the next apply resumes it. */
static void mig_repair_progress(struct mig_state *st)
{
	const struct dbops_host *h = dbops_host(st->ctx);
	struct dbops_ctx *ctx = st->ctx;

	for (size_t i = 0; i < st->live->nprogress; i++) {
		const struct mig_progress *p = &st->live->progress[i];
		const struct mig_file *f = NULL;
		struct dbops_change *c;
		struct mig_payload *pl;

		for (size_t k = 0; k < st->db->nfiles && f == NULL; k++)
			if (strcmp(mig_progress_key(ctx, &st->db->files[k]),
				   p->migration) == 0)
				f = &st->db->files[k];
		if (f != NULL && f->checksum == p->checksum)
			continue;
		c = h->change_new(ctx, DBOPS_ACTION_DELETE,
				  h->printf(ctx, "migrations.%s.progress.%s",
					    st->db->database, p->migration));
		c->reason = f == NULL ? "interrupted migration is gone"
				      : "interrupted migration's file changed";
		c->loc = f != NULL ? f->loc : st->db->loc;
		c->flags = DBOPS_CHANGE_NONTX;
		h->change_attr(ctx, c, "script", p->script, NULL, false);
		h->change_attr(ctx, c, "done",
			       h->printf(ctx, "%d of %d statements", p->done,
					 p->statements),
			       NULL, false);
		c->sql = h->printf(
		    ctx,
		    "DELETE FROM dbops.migration_progress WHERE history_table = %s AND migration = %s",
		    h->quote_literal(ctx, mig_qtable(ctx, st->db)),
		    h->quote_literal(ctx, p->migration));
		pl = h->alloc(ctx, sizeof(*pl));
		pl->op = MIG_OP_REPAIR_PROGRESS;
		pl->run = st->run;
		pl->progress = p;
		c->payload = pl;
	}
}

static void mig_plan_repair(struct mig_state *st)
{
	const struct mig_live_db *live = st->live;

	mig_repair_progress(st);

	for (size_t i = 0; i < live->nrows; i++) {
		const struct mig_row *r = &live->rows[i];

		if (!r->success && strcmp(r->type, "DELETE") != 0)
			mig_repair_change(st, r, MIG_OP_REPAIR_DELETE, NULL);
	}
	for (size_t i = 0; i < st->napplied; i++) {
		const struct mig_row *r = st->applied[i];
		const struct mig_file *f;

		if (r == st->baseline || strcmp(r->type, "SQL") != 0)
			continue;
		f = mig_find_file(st->db, &r->v);
		if (f == NULL)
			mig_repair_change(st, r, MIG_OP_REPAIR_MISSING, NULL);
		else if ((r->has_checksum && r->checksum != f->checksum) ||
			 strcmp(r->description, f->name.description) != 0)
			mig_repair_change(st, r, MIG_OP_REPAIR_CHECKSUM, f);
	}
}

int mig_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	     void *live_v)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_live *live = live_v;
	const char *mode = NULL;
	unsigned long ordinal = 0;
	struct mig_tally *tallies =
	    h->alloc(ctx, (live->ndbs + 1) * sizeof(*tallies));
	int result = 0;

	(void)section;
	if (h->header.size >=
		offsetof(struct dbops_host, mode) + sizeof(h->mode) &&
	    h->mode != NULL)
		mode = h->mode(ctx);
	for (size_t i = 0; i < live->ndbs; i++) {
		struct mig_state st;
		struct mig_run *run = h->alloc(ctx, sizeof(*run));

		memset(&st, 0, sizeof(st));
		st.ctx = ctx;
		st.db = &live->spec->dbs[i];
		st.live = &live->dbs[i];
		st.spec = live->spec;
		st.repair = mode != NULL && strcmp(mode, "repair") == 0;
		st.ordinal = &ordinal;
		st.tally = &tallies[i];
		mig_tally_init(st.tally, ctx, st.db);
		run->db = st.db;
		run->spec = live->spec;
		run->conn = live->conns[i];
		run->qtable = mig_qtable(ctx, st.db);
		st.run = run;
		for (size_t k = 0; k < st.live->ninvalid; k++) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_WARNING, 0, &st.db->loc,
			    "index %s in database \"%s\" is INVALID",
			    st.live->invalid_indexes[k], st.db->database);

			h->diag_detail(
			    ctx, d,
			    "A concurrent index build failed and left the index behind; it is maintained on writes but never used by queries.");
			h->diag_hint(
			    ctx, d,
			    "Drop it with DROP INDEX CONCURRENTLY and build it again.");
		}
		mig_index_history(&st);
		if (st.repair) {
			mig_plan_repair(&st);
		} else {
			/* everything is reported at once; with an error
			 * the plan is refused as a whole */
			mig_check_applied(&st);
			mig_plan_pending(&st);
			if (mig_changes_plan(ctx, st.db, st.live, run,
					     &ordinal) != 0)
				st.result = DBOPS_ERR_INVALID;
		}
		if (st.result != 0)
			result = st.result;
	}
	/* last, so that the plan ends with them */
	for (size_t i = 0; i < live->ndbs; i++)
		mig_tally_summary(&tallies[i], ctx);
	return result;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * apply.c — see apply.h.
 *
 * Transactions: consecutive transactional changes of one plugin share a
 * transaction; a non-transactional change (ALTER SYSTEM, CREATE INDEX
 * CONCURRENTLY, a file write) runs alone. When a change fails, the rest
 * of its transaction is rolled back and no later change of the plan is
 * attempted ("blocked"): a plan is ordered so that later changes may
 * depend on earlier ones.
 */
#include "apply.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "record.h"

extern volatile int host_cancel_requested;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int lock_try(bool *got, struct pass *p)
{
	struct dbops_rows *rows;
	int err;

	err = pgconn_query(&rows, p->conn, p->a, &p->diags,
			   "SELECT pg_try_advisory_lock(1684172656, 1) AS got",
			   0, NULL);
	if (err != 0)
		return err;
	*got = strcmp(pgconn_rows_get(rows, 0, "got"), "t") == 0;
	return 0;
}

static void lock_holder(struct pass *p, struct dbops_diag *d)
{
	struct dbops_diag_list ignore = {0};
	struct dbops_rows *rows = NULL;
	bool have_runs = false;

	if (pgconn_query(&rows, p->conn, p->a, &ignore,
			 "SELECT to_regclass('dbops.runs') IS NOT NULL AS ok",
			 0, NULL) == 0)
		have_runs = strcmp(pgconn_rows_get(rows, 0, "ok"), "t") == 0;
	rows = NULL;
	pgconn_query(
	    &rows, p->conn, p->a, &ignore,
	    have_runs
		? "SELECT a.pid, coalesce(nullif(a.application_name, ''), "
		  "'(none)') AS app, a.usename, coalesce(host(a.client_addr), "
		  "'local socket') AS client, to_char(coalesce((SELECT "
		  "max(r.started_at) FROM dbops.runs r WHERE r.pid = a.pid AND "
		  "r.finished_at IS NULL), a.backend_start) AT TIME ZONE 'UTC', "
		  "'YYYY-MM-DD HH24:MI:SS') || ' UTC' AS since FROM pg_locks l "
		  "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = "
		  "'advisory' AND l.classid = 1684172656 AND l.objid = 1 AND "
		  "l.objsubid = 2 AND l.granted"
		: "SELECT a.pid, coalesce(nullif(a.application_name, ''), "
		  "'(none)') AS app, a.usename, coalesce(host(a.client_addr), "
		  "'local socket') AS client, to_char(a.backend_start AT TIME "
		  "ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' AS since FROM "
		  "pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE "
		  "l.locktype = 'advisory' AND l.classid = 1684172656 AND "
		  "l.objid = 1 AND l.objsubid = 2 AND l.granted",
	    0, NULL);
	if (rows == NULL || rows->nrows == 0) {
		d->detail =
		    "The holder could not be identified; it may have just finished.";
		return;
	}
	d->detail = arena_printf(
	    p->a,
	    "Process %s (application \"%s\", user \"%s\", from %s) holds the lock since %s.",
	    pgconn_rows_get(rows, 0, "pid"), pgconn_rows_get(rows, 0, "app"),
	    pgconn_rows_get(rows, 0, "usename"),
	    pgconn_rows_get(rows, 0, "client"),
	    pgconn_rows_get(rows, 0, "since"));
}

int apply_lock(struct pass *p, double timeout_s)
{
	double start = now_ms();
	bool got = false, told = false;
	struct dbops_diag *d;
	int err;

	for (;;) {
		if ((err = lock_try(&got, p)) != 0)
			return err;
		if (got)
			return 0;
		if (now_ms() - start >= timeout_s * 1000.0)
			break;
		if (!told && now_ms() - start > 400) {
			fprintf(
			    stderr,
			    "Waiting for the apply lock held by another dbops (up to %gs)...\n",
			    timeout_s);
			told = true;
		}
		sleep_ms(200);
	}
	d = diag_add(&p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_LOCKED, NULL,
		     "the cluster is locked by another dbops apply");
	lock_holder(p, d);
	d->hint =
	    timeout_s > 0
		? "It did not finish within --lock-timeout; try again later, or wait longer with a larger --lock-timeout."
		: "Wait for it to finish, or use --lock-timeout DURATION to wait for the lock.";
	return DBOPS_ERR_LOCKED;
}

enum cstate {
	CS_PENDING = 0,
	CS_APPLIED,
	CS_FAILED,
	CS_ROLLED_BACK,
	CS_SKIPPED,
	CS_BLOCKED,
};

static const char *cstate_name(enum cstate s)
{
	static const char *const names[] = {"pending", "applied",
					    "failed",  "rolled back",
					    "skipped", "blocked"};

	return names[s];
}

struct apply_state {
	struct pass *p;
	const struct apply_opts *o;
	FILE *out;
	const char *run_id;
	enum cstate *st;
	double *dur;
	const char **err;
	size_t group_start; /* first change of the open transaction */
	bool in_tx;
	bool failed;		   /* a change failed: hold back the rest */
	struct record_batch batch; /* change results not yet written */
};

/* Is change i to be held back? A plan is ordered so that a change may
 * depend on anything before it (roles before grants, a migration before
 * the grants on its tables), so after a failure nothing later in the plan
 * is attempted. */
static bool is_blocked(struct apply_state *s, size_t i)
{
	(void)i;
	return s->failed;
}

static void record(struct apply_state *s, size_t i)
{
	struct dbops_diag_list ignore = {0};
	struct pass *p = s->p;
	const struct dbops_change *c = &p->plan.changes[i]->change;
	struct dbops_diag_list saved = p->diags;

	/* recording failures must not pile up as apply errors */
	p->diags = ignore;
	record_batch_add(&s->batch, p, s->run_id, c, cstate_name(s->st[i]),
			 s->dur[i], s->err[i]);
	p->diags = saved;
}

/* Write the queued results; only ever outside a transaction. */
static void record_flush(struct apply_state *s)
{
	struct dbops_diag_list ignore = {0};
	struct dbops_diag_list saved = s->p->diags;

	if (s->in_tx)
		return;
	s->p->diags = ignore;
	record_batch_flush(&s->batch, s->p);
	s->p->diags = saved;
}

static int tx_end(struct apply_state *s, size_t end, bool commit)
{
	struct pass *p = s->p;
	int err = 0;

	if (!s->in_tx)
		return 0;
	s->in_tx = false;
	if (commit) {
		err = pgconn_exec(p->conn, p->a, &p->diags, "COMMIT");
	} else {
		struct dbops_diag_list ignore = {0};

		pgconn_exec(p->conn, p->a, &ignore, "ROLLBACK");
	}
	for (size_t k = s->group_start; k < end; k++) {
		if (s->st[k] == CS_APPLIED && (!commit || err != 0)) {
			s->st[k] = CS_ROLLED_BACK;
			fprintf(s->out, "%s: rolled back\n",
				p->plan.changes[k]->change.address);
		}
		record(s, k);
	}
	return err;
}

static const char *first_error_text(struct pass *p, struct dbops_diag *mark)
{
	struct dbops_diag *d = mark ? mark->next : p->diags.head;

	for (; d != NULL; d = d->next)
		if (d->severity == DBOPS_SEV_ERROR)
			return d->message;
	return "failed";
}

static const char *progress_verb(enum dbops_action action)
{
	switch (action) {
	case DBOPS_ACTION_CREATE:
		return "creating";
	case DBOPS_ACTION_DELETE:
		return "destroying";
	case DBOPS_ACTION_RUN:
		return "running";
	case DBOPS_ACTION_RELOAD:
		return "reloading";
	case DBOPS_ACTION_RESTART:
		return "restarting";
	default:
		return "updating";
	}
}

static void change_start(struct apply_state *s, size_t i)
{
	const struct dbops_change *c = &s->p->plan.changes[i]->change;

	fprintf(s->out, "%s: %s...\n", c->address, progress_verb(c->action));
	fflush(s->out);
}

static void change_end(struct apply_state *s, size_t i, int err,
		       struct dbops_diag *mark)
{
	const char *address = s->p->plan.changes[i]->change.address;

	if (err != 0) {
		s->st[i] = CS_FAILED;
		s->err[i] = first_error_text(s->p, mark);
		s->failed = true;
		fprintf(s->out, "%s: failed after %.0fms\n", address,
			s->dur[i]);
		return;
	}
	s->st[i] = CS_APPLIED;
	fprintf(s->out, "%s: done (%.0fms)\n", address, s->dur[i]);
}

static int apply_one(struct apply_state *s, size_t i)
{
	struct pass *p = s->p;
	struct plan_change *pc = p->plan.changes[i];
	const struct dbops_change *c = &pc->change;
	bool tx = !(c->flags & DBOPS_CHANGE_NONTX);
	struct dbops_diag *mark;
	double t0;
	int err;

	if (s->in_tx && (!tx || p->plan.changes[s->group_start]->plugin_index !=
				    pc->plugin_index)) {
		if ((err = tx_end(s, i, true)) != 0)
			return err;
	}
	if (tx && !s->in_tx) {
		if ((err = pgconn_exec(p->conn, p->a, &p->diags, "BEGIN")))
			return err;
		s->in_tx = true;
		s->group_start = i;
	}
	change_start(s, i);
	mark = p->diags.tail;
	t0 = now_ms();
	err = pass_apply_change(p, pc);
	s->dur[i] = now_ms() - t0;
	change_end(s, i, err, mark);
	if (err != 0) {
		if (s->in_tx)
			tx_end(s, i + 1, false);
		else
			record(s, i);
		return err;
	}
	if (!s->in_tx)
		record(s, i);
	return 0;
}

/* ---- several changes at once (a plugin's apply_many) */

struct batch {
	struct apply_state *s;
	size_t base, n; /* plan changes [base, base + n) */
	size_t next;	/* the report expected next */
	int err;	/* the failure reported, if any */
	bool misreported;
	double t_last;
	struct dbops_diag *mark;
	int nerrors;
};

static void batch_next(struct batch *b)
{
	b->mark = b->s->p->diags.tail;
	b->nerrors = b->s->p->diags.nerrors;
	if (b->next < b->n)
		change_start(b->s, b->base + b->next);
}

static void batch_report(void *arg, size_t k, int err)
{
	struct batch *b = arg;
	struct apply_state *s = b->s;
	struct pass *p = s->p;
	size_t i = b->base + k;
	double now = now_ms();

	if (k != b->next || b->err != 0 || k >= b->n) {
		if (!b->misreported)
			diag_add(
			    &p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC,
			    NULL,
			    "plugin \"%s\" reported change %zu of its batch out of order (expected %zu)",
			    p->plan.changes[b->base]->change.plugin, k, b->next)
			    ->hint = "This is a bug in the plugin.";
		b->misreported = true;
		return;
	}
	err =
	    pass_change_result(p, p->plan.changes[i], b->mark, b->nerrors, err);
	s->dur[i] = now - b->t_last;
	b->t_last = now;
	change_end(s, i, err, b->mark);
	record(s, i);
	b->next++;
	if (err != 0)
		b->err = err;
	else
		batch_next(b);
}

/* Hand changes [i, j) to their plugin's apply_many. */
static int apply_batch(struct apply_state *s, size_t i, size_t j)
{
	struct pass *p = s->p;
	struct batch b = {0};
	int err;

	if (s->in_tx && (err = tx_end(s, i, true)) != 0)
		return err;
	b.s = s;
	b.base = i;
	b.n = j - i;
	b.t_last = now_ms();
	batch_next(&b);
	err = pass_apply_many(p, &p->plan.changes[i], j - i, batch_report, &b);
	if (b.err != 0)
		return b.err;
	if (b.misreported)
		err = err != 0 ? err : DBOPS_ERR_GENERIC;
	if (err != 0 && b.next < b.n) {
		/* a failure before any change of its own: the lock, the
		 * connection */
		size_t k = b.base + b.next;

		err = pass_change_result(p, p->plan.changes[k], b.mark,
					 b.nerrors, err);
		s->dur[k] = now_ms() - b.t_last;
		change_end(s, k, err, b.mark);
		record(s, k);
		return err;
	}
	if (err == 0 && b.next < b.n && !host_cancel_requested) {
		diag_add(
		    &p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
		    "plugin \"%s\" returned with %zu of %zu changes unreported",
		    p->plan.changes[i]->change.plugin, b.n - b.next, b.n)
		    ->hint = "This is a bug in the plugin.";
		s->failed = true;
		return DBOPS_ERR_GENERIC;
	}
	if (err != 0)
		s->failed = true;
	return err;
}

/* The end of the batch starting at change i: the consecutive changes of
 * the same plugin that run outside the host's transaction and are not
 * held back. i itself when there is no batch to make. */
static size_t batch_end(struct apply_state *s, size_t i)
{
	struct pass *p = s->p;
	const struct plan_change *first = p->plan.changes[i];
	size_t j = i;

	if (s->o->step_delay_ms > 0 || !pass_can_apply_many(p, first))
		return i;
	while (j < p->plan.n) {
		const struct plan_change *pc = p->plan.changes[j];
		unsigned f = pc->change.flags;

		if (pc->plugin_index != first->plugin_index ||
		    !(f & DBOPS_CHANGE_NONTX) ||
		    ((f & DBOPS_CHANGE_DESTRUCTIVE) &&
		     !s->o->allow_destructive))
			break;
		j++;
	}
	return j;
}

/* What became of each change, after a failure. A long plan (10,000
 * migrations) lists only the changes that were not applied, and at most
 * SUMMARY_MAX of those: the run log has them all. */
#define SUMMARY_MAX 50

static void summary_list(FILE *out, const struct pass *p, const enum cstate *st)
{
	bool all = p->plan.n <= SUMMARY_MAX;
	size_t shown = 0, left = 0;

	for (size_t i = 0; i < p->plan.n; i++) {
		if (!all && st[i] == CS_APPLIED)
			continue;
		if (shown == SUMMARY_MAX) {
			left++;
			continue;
		}
		fprintf(out, "  %-12s %s\n", cstate_name(st[i]),
			p->plan.changes[i]->change.address);
		shown++;
	}
	if (left > 0)
		fprintf(out, "  ... and %zu more not applied\n", left);
}

int apply_run(struct apply_result *res, struct pass *p,
	      const struct apply_opts *o, FILE *out)
{
	struct apply_state s = {0};
	const char *status;
	int first_err = 0, err;
	bool attempted = false, interrupted, recorded;
	size_t j;

	memset(res, 0, sizeof(*res));
	s.p = p;
	s.o = o;
	s.out = out;
	s.st = arena_alloc(p->a, (p->plan.n + 1) * sizeof(*s.st));
	s.dur = arena_alloc(p->a, (p->plan.n + 1) * sizeof(*s.dur));
	s.err = arena_alloc(p->a, (p->plan.n + 1) * sizeof(*s.err));
	record_batch_init(&s.batch);

	if ((err = record_ensure_schema(p)) != 0 ||
	    (err = record_run_begin(&s.run_id, p, o->command, o->plan_json)))
		return err;
	if (p->plan.n == 0)
		return record_run_end(p, s.run_id, "no changes", 0, 0, NULL);

	for (size_t i = 0; i < p->plan.n; i++)
		s.dur[i] = -1;
	for (size_t i = 0; i < p->plan.n; i++) {
		const struct dbops_change *c = &p->plan.changes[i]->change;

		if (is_blocked(&s, i) || host_cancel_requested) {
			s.st[i] = CS_BLOCKED;
			continue;
		}
		if ((c->flags & DBOPS_CHANGE_DESTRUCTIVE) &&
		    !o->allow_destructive) {
			s.st[i] = CS_SKIPPED;
			fprintf(
			    out,
			    "%s: skipped (destructive changes are not allowed)\n",
			    c->address);
			continue;
		}
		if (attempted && o->step_delay_ms > 0) {
			record_flush(&s);
			sleep_ms(o->step_delay_ms);
			/* an interrupt during the pause starts nothing more */
			if (host_cancel_requested) {
				s.st[i] = CS_BLOCKED;
				continue;
			}
		}
		attempted = true;
		if ((j = batch_end(&s, i)) > i) {
			err = apply_batch(&s, i, j);
			i = j - 1; /* the unreported ones stay pending */
		} else {
			err = apply_one(&s, i);
		}
		if (err != 0 && first_err == 0)
			first_err = err;
	}
	if (s.in_tx && (err = tx_end(&s, p->plan.n, true)) != 0 &&
	    first_err == 0)
		first_err = err;

	for (size_t i = 0; i < p->plan.n; i++) {
		switch (s.st[i]) {
		case CS_APPLIED:
			res->applied++;
			break;
		case CS_FAILED:
		case CS_ROLLED_BACK:
			res->failed++;
			break;
		case CS_SKIPPED:
			res->skipped++;
			record(&s, i);
			break;
		case CS_BLOCKED:
			res->blocked++;
			record(&s, i);
			break;
		case CS_PENDING: /* left by a failed or cancelled batch */
			s.st[i] = CS_BLOCKED;
			res->blocked++;
			record(&s, i);
			break;
		}
	}
	record_flush(&s);
	record_batch_dispose(&s.batch);
	/* An interrupt that left something undone (not attempted, or
	 * cancelled by a second signal) makes the run "interrupted": what
	 * was done is reported, and the exit status says it was cut short. */
	interrupted =
	    host_cancel_requested && (res->blocked > 0 || res->failed > 0);
	if (interrupted && first_err != DBOPS_ERR_CANCELLED) {
		struct dbops_diag *d = diag_add(
		    &p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_CANCELLED, NULL,
		    "apply interrupted: %d of %zu changes applied, %d not attempted",
		    res->applied, p->plan.n, res->blocked);

		d->detail = "Every change reported done was applied and is "
			    "recorded; a change cut short was rolled back or, "
			    "for a migration outside a transaction, recorded "
			    "statement by statement.";
		d->hint = "Run dbops apply again to finish.";
		if (first_err == 0)
			first_err = DBOPS_ERR_CANCELLED;
	}
	if (first_err == 0)
		pass_verify(p);
	status = interrupted	  ? "interrupted"
		 : first_err == 0 ? (res->skipped ? "partial" : "applied")
		 : first_err == DBOPS_ERR_CANCELLED ? "interrupted"
		 : res->applied			    ? "partial"
						    : "failed";
	{
		struct dbops_diag_list ignore = {0};
		struct dbops_diag_list saved = p->diags;

		p->diags = ignore;
		recorded = record_run_end(p, s.run_id, status, res->applied,
					  res->failed,
					  first_err ? first_error_text(p, NULL)
						    : NULL) == 0;
		p->diags = saved;
	}
	if (first_err == 0 && res->skipped == 0) {
		struct plan_counts k = plan_count(&p->plan);

		fprintf(
		    out,
		    "\nApply complete! Changes: %d added, %d changed, %d destroyed.\n",
		    k.add, k.change, k.destroy);
		if (host_cancel_requested)
			fprintf(out,
				"The interrupt came after the last change "
				"had started; every change was applied.\n");
	} else if (first_err == 0) {
		fprintf(
		    out,
		    "\nApply complete, with changes left out: %d applied, %d skipped because destructive changes are not allowed.\n",
		    res->applied, res->skipped);
	} else {
		fprintf(
		    out,
		    first_err == DBOPS_ERR_CANCELLED || interrupted
			? "\nApply interrupted: %d applied, %d failed, %d not attempted.\n"
			: "\nApply failed: %d applied, %d failed, %d not attempted because an earlier change failed.\n",
		    res->applied, res->failed, res->blocked);
		summary_list(out, p, s.st);
	}
	if (recorded)
		fprintf(out, "Recorded as run %s (see: dbops history %s).\n",
			s.run_id, s.run_id);
	else
		fprintf(out,
			"The end of run %s could not be recorded in the "
			"cluster; dbops history shows it as interrupted.\n",
			s.run_id);
	return first_err;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon_pass.c — one pass of one cluster, on a worker thread: read the
 * spec at the fetched commit, connect with the configuration's connection
 * (never the revision's), take the cluster's advisory lock (another
 * daemon, or a `dbops apply`, holding it means this pass is skipped),
 * claim the pass's slot (a scheduled pass is done by exactly one daemon),
 * plan, sort the changes by drift policy, apply the enforced ones inside
 * the maintenance windows, run due one-shot operations and scheduled
 * plugin work, record the status in the cluster and publish it.
 *
 * Everything a pass builds lives in its arena and goes with it; what it
 * publishes lives in a status arena of its own, which replaces the
 * previous one. The connection is opened at the start and closed at the
 * end of every pass, deliberately: a fleet of idle clusters then holds no
 * connection between passes, and a connection broken by a restart of the
 * server costs one pass at most.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "daemon_int.h"
#include "daemon_ops.h"
#include "daemon_store.h"
#include "diag.h"
#include "pass.h"
#include "secret.h"

extern volatile int host_cancel_requested;

const double daemon_buckets[DAEMON_NBUCKETS] = {0.05, 0.1, 0.25, 0.5, 1,
						2.5,  5,   10,	 30,  60};

const char *dsync_name(enum dsync s)
{
	switch (s) {
	case DSYNC_SYNCED:
		return "Synced";
	case DSYNC_OUT_OF_SYNC:
		return "OutOfSync";
	default:
		return "Unknown";
	}
}

const char *dhealth_name(enum dhealth h)
{
	switch (h) {
	case DHEALTH_HEALTHY:
		return "Healthy";
	case DHEALTH_PROGRESSING:
		return "Progressing";
	case DHEALTH_DEGRADED:
		return "Degraded";
	default:
		return "Unknown";
	}
}

struct dctx {
	struct daemon *d;
	const struct daemon_config *c;
	const struct daemon_cluster *dcl;
	const struct djob *j;
	struct pass p;
	struct pass_opts po;
	struct dstatus *st; /* in its own arena, published at the end */
	const char *name;   /* the cluster's name as shown */
	const char *rev;    /* branch@sha1:commit */
	const char *pass_id;
	struct dstore_row prev;
	bool locked;
	bool skipped;
	int applied;
	const char *apply_error;
	FILE *out; /* apply progress, plugins' output */
	char *outbuf;
	size_t outlen;
	double t0;
};

static double dpass_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The first error of a list, one line: primary message, and the detail
 * when there is one. Never a secret: diagnostics hold none. */
static const char *dpass_error_text(struct arena *a,
				    const struct dbops_diag_list *l,
				    const struct dbops_diag *from)
{
	for (const struct dbops_diag *e = from != NULL ? from->next : l->head;
	     e != NULL; e = e->next) {
		if (e->severity != DBOPS_SEV_ERROR)
			continue;
		if (e->loc.file != NULL)
			return arena_printf(a, "%s:%u:%u: %s%s%s", e->loc.file,
					    e->loc.line, e->loc.col, e->message,
					    e->detail ? " — " : "",
					    e->detail ? e->detail : "");
		return arena_printf(a, "%s%s%s", e->message,
				    e->detail ? " — " : "",
				    e->detail ? e->detail : "");
	}
	return "failed without a message";
}

static void dpass_fail(struct dctx *x, const char *stage)
{
	struct dstatus *st = x->st;

	st->revision = x->rev;
	st->last_attempted = x->rev;
	st->by = x->d->identity;
	st->health = DHEALTH_DEGRADED;
	if (st->sync == DSYNC_UNKNOWN)
		st->sync = DSYNC_OUT_OF_SYNC;
	st->last_error = arena_printf(
	    st->a, "%s: %s", stage, dpass_error_text(st->a, &x->p.diags, NULL));
	dlog("error", x->name, "%s", st->last_error);
}

/* Connect with the configuration's connection of the cluster: the
 * daemon never connects where a revision says. */
static int dpass_connect(struct dctx *x)
{
	struct pass *p = &x->p;
	const struct config_cluster *cc =
	    config_cluster(&x->c->base, p->spec.name);
	const char *password = NULL;
	int err;

	if (cc == NULL)
		cc = config_cluster(&x->c->base, x->name);
	if (cc == NULL || (cc->conninfo == NULL && !cc->has_password)) {
		struct dbops_diag *d = diag_add(
		    &p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		    "cluster \"%s\" has no connection in the configuration",
		    x->name);

		d->detail = "The daemon connects only where its configuration "
			    "says, never where a revision says.";
		d->hint = arena_printf(
		    p->a,
		    "Add clusters.%s.connection to the configuration file.",
		    x->name);
		return DBOPS_ERR_INVALID;
	}
	if (cc->has_password &&
	    (err = secret_read(&password, p->a, &p->diags, &cc->password)))
		return err;
	if ((err = pgconn_open(&p->conn, p->a, &p->diags, cc->conninfo,
			       password)) != 0)
		return err;
	{
		const char *param =
		    arena_printf(p->a, "dbops daemon %s", x->d->identity);

		return pgconn_query(NULL, p->conn, p->a, &p->diags,
				    "SELECT set_config('application_name', $1, "
				    "false)",
				    1, &param);
	}
}

static int dpass_lock(struct dctx *x)
{
	struct pass *p = &x->p;
	struct dbops_rows *rows;
	int err;

	err = pgconn_query(&rows, p->conn, p->a, &p->diags,
			   "SELECT pg_try_advisory_lock(1684172656, 1) AS got",
			   0, NULL);
	if (err == 0)
		x->locked = strcmp(pgconn_rows_get(rows, 0, "got"), "t") == 0;
	return err;
}

static void dpass_unlock(struct dctx *x)
{
	struct dbops_diag_list ignore = {0};

	if (x->locked)
		pgconn_exec(x->p.conn, x->p.a, &ignore,
			    "SELECT pg_advisory_unlock(1684172656, 1)");
	x->locked = false;
}

/* Who holds the cluster's lock: "the lock is held by dbops daemon
 * host/12 (backend 345)". */
static const char *dpass_holder(struct dctx *x)
{
	struct pass *p = &x->p;
	struct dbops_diag_list ignore = {0};
	struct dbops_rows *rows = NULL;

	if (pgconn_query(&rows, p->conn, p->a, &ignore,
			 "SELECT coalesce(nullif(a.application_name, ''), "
			 "'(no application name)') AS app, a.pid FROM pg_locks "
			 "l JOIN pg_stat_activity a ON a.pid = l.pid WHERE "
			 "l.locktype = 'advisory' AND l.classid = 1684172656 "
			 "AND l.objid = 1 AND l.objsubid = 2 AND l.granted",
			 0, NULL) != 0 ||
	    rows->nrows == 0)
		return "the cluster's lock is held by another dbops";
	dlog("debug", x->name, "skipped: the lock is held by %s (backend %s)",
	     pgconn_rows_get(rows, 0, "app"), pgconn_rows_get(rows, 0, "pid"));
	return arena_printf(x->st->a, "the lock is held by %s (backend %s)",
			    pgconn_rows_get(rows, 0, "app"),
			    pgconn_rows_get(rows, 0, "pid"));
}

/* Another daemon (or a `dbops apply`) has this cluster: show what the
 * cluster's status row says, so every daemon reports the whole fleet. */
static void dpass_mirror(struct dctx *x, const char *why)
{
	struct pass *p = &x->p;
	struct dbops_diag_list ignore = {0};
	struct dbops_rows *rows;
	struct dstore_row row;
	struct dstatus *st = x->st;

	x->skipped = true;
	st->message = arena_strdup(st->a, why);
	if (pgconn_query(&rows, p->conn, p->a, &ignore,
			 "SELECT to_regclass('dbops.daemon_status') IS NOT "
			 "NULL AS ok",
			 0, NULL) != 0 ||
	    strcmp(pgconn_rows_get(rows, 0, "ok"), "t") != 0 ||
	    dstore_status_read(&row, p->conn, p->a, &ignore, x->name) != 0 ||
	    !row.found)
		return;
	st->sync = strcmp(row.sync, "Synced") == 0	? DSYNC_SYNCED
		   : strcmp(row.sync, "OutOfSync") == 0 ? DSYNC_OUT_OF_SYNC
							: DSYNC_UNKNOWN;
	st->health = strcmp(row.health, "Healthy") == 0 ? DHEALTH_HEALTHY
		     : strcmp(row.health, "Progressing") == 0
			 ? DHEALTH_PROGRESSING
		     : strcmp(row.health, "Degraded") == 0 ? DHEALTH_DEGRADED
							   : DHEALTH_UNKNOWN;
	st->revision = arena_strdup(st->a, row.revision);
	st->last_applied = arena_strdup(st->a, row.last_applied);
	st->last_attempted = arena_strdup(st->a, row.last_attempted);
	st->last_error = arena_strdup(st->a, row.last_error);
	st->by = arena_strdup(st->a, row.daemon);
	st->drift_enforce = row.drift_enforce;
	st->drift_report = row.drift_report;
	st->waiting_until = row.waiting_until;
	st->updated_at = row.updated_at;
	st->last_success_at = row.last_success_at;
}

/* ---- drift */

static struct ddrift *dpass_drift_of(struct dctx *x, const char *plugin)
{
	struct dstatus *st = x->st;

	for (size_t i = 0; i < st->ndrift; i++)
		if (strcmp(st->drift[i].plugin, plugin) == 0)
			return &st->drift[i];
	return NULL;
}

/*
 * Keep in the plan only what is enforced; count what is reported; drop
 * what is ignored. Returns the reported addresses as a json array (for
 * the status row), in the pass arena.
 */
static const char *dpass_filter(struct dctx *x)
{
	struct pass *p = &x->p;
	struct dstatus *st = x->st;
	json_object *arr = json_object_new_array();
	const char *json;
	size_t kept = 0;

	st->drift = arena_alloc(st->a, (p->nplugins + 1) * sizeof(*st->drift));
	for (size_t i = 0; i < p->nplugins; i++)
		st->drift[st->ndrift++].plugin =
		    arena_strdup(st->a, p->plugins[i].lp->desc->name);
	for (size_t i = 0; i < p->plan.n; i++) {
		struct plan_change *pc = p->plan.changes[i];
		const struct dbops_change *c = &pc->change;
		enum drift_policy pol =
		    daemon_config_policy(x->c, x->dcl, c->plugin, c->address);
		struct ddrift *dd = dpass_drift_of(x, c->plugin);

		if (pol == DRIFT_IGNORE)
			continue;
		if (arr != NULL && json_object_array_length(arr) < 100) {
			json_object *o = json_object_new_object();

			json_object_object_add(
			    o, "address", json_object_new_string(c->address));
			json_object_object_add(
			    o, "action",
			    json_object_new_string(
				plan_action_name(c->action)));
			json_object_object_add(
			    o, "policy",
			    json_object_new_string(drift_policy_name(pol)));
			json_object_array_add(arr, o);
		}
		if (pol == DRIFT_REPORT) {
			st->drift_report++;
			if (dd != NULL)
				dd->report++;
			continue;
		}
		st->drift_enforce++;
		if (dd != NULL)
			dd->enforce++;
		pc->change.id = (unsigned)(kept + 1);
		p->plan.changes[kept++] = pc;
	}
	p->plan.n = kept;
	json = arena_strdup(
	    p->a, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	return json;
}

/* The plugins' status callbacks: their measurements and their health. */
static void dpass_health(struct dctx *x)
{
	struct pass *p = &x->p;
	struct dstatus *st = x->st;
	struct dbops_diag *mark = p->diags.tail;
	int errors = p->diags.nerrors, warnings = p->diags.nwarnings;
	int err = pass_status(p);

	if (err != 0 || p->diags.nerrors > errors ||
	    p->diags.nwarnings > warnings) {
		for (const struct dbops_diag *e = mark ? mark->next
						       : p->diags.head;
		     e != NULL; e = e->next) {
			st->message = arena_printf(st->a, "%s%s%s", e->message,
						   e->detail ? " — " : "",
						   e->detail ? e->detail : "");
			break;
		}
		st->health = DHEALTH_DEGRADED;
	}
	st->metrics =
	    arena_alloc(st->a, (p->nmetrics + 1) * sizeof(*st->metrics));
	for (size_t i = 0; i < p->nmetrics; i++) {
		const struct pass_metric *m = &p->metrics[i];
		struct dmetric *dm = &st->metrics[st->nmetrics++];
		const char *cl = arena_printf(st->a, "cluster=\"%s\"", x->name);

		dm->name = arena_strdup(st->a, m->name);
		dm->labels = m->labels != NULL && m->labels[0] != '\0'
				 ? arena_printf(st->a, "%s,%s", cl, m->labels)
				 : cl;
		dm->value = m->value;
		dm->help = arena_strdup(st->a, m->help);
	}
}

static void dpass_apply(struct dctx *x)
{
	struct pass *p = &x->p;
	struct dstatus *st = x->st;
	struct apply_opts ao = {0};
	struct apply_result res;
	struct dbops_diag *mark = p->diags.tail;
	struct strbuf sb;
	int err;

	ao.allow_destructive = p->spec.allow_destructive;
	ao.command = arena_printf(p->a, "daemon %s", x->j->trigger);
	/* as for dbops apply: a pause between changes, for the tests that
	 * stop the daemon in the middle of an apply */
	if (getenv("DBOPS_APPLY_STEP_DELAY_MS") != NULL)
		ao.step_delay_ms =
		    (int)strtol(getenv("DBOPS_APPLY_STEP_DELAY_MS"), NULL, 10);
	strbuf_init(&sb);
	plan_render_json(&sb, &p->plan);
	ao.plan_json = strbuf_finish(&sb, p->a);
	err = apply_run(&res, p, &ao, x->out);
	x->applied = res.applied;
	if (err != 0) {
		x->apply_error = dpass_error_text(st->a, &p->diags, mark);
		st->last_error =
		    arena_printf(st->a, "apply: %s", x->apply_error);
		st->health = DHEALTH_DEGRADED;
		dlog("error", x->name, "apply failed at %s: %s", x->rev,
		     x->apply_error);
		return;
	}
	if (res.skipped > 0)
		st->message = arena_printf(
		    st->a,
		    "%d destructive change%s not applied: allow_destructive "
		    "is not set",
		    res.skipped, res.skipped == 1 ? "" : "s");
	if (res.applied > 0)
		dlog("info", x->name, "applied %d change%s at %s", res.applied,
		     res.applied == 1 ? "" : "s", x->rev);
	if (res.skipped == 0)
		st->drift_enforce = 0;
}

/* ---- notifications */

static const char *dpass_notified(json_object *o, const char *type)
{
	json_object *v;

	if (o != NULL && json_object_object_get_ex(o, type, &v))
		return json_object_get_string(v);
	return NULL;
}

static void dpass_event(struct dctx *x, json_object *notified, const char *type,
			const char *key, const char *summary)
{
	const char *sent = dpass_notified(notified, type);
	json_object *fields;

	if (sent != NULL && strcmp(sent, key) == 0)
		return; /* sent already, by this daemon or another */
	json_object_object_add(notified, type, json_object_new_string(key));
	fields = json_object_new_object();
	json_object_object_add(fields, "sync",
			       json_object_new_string(dsync_name(x->st->sync)));
	json_object_object_add(
	    fields, "health",
	    json_object_new_string(dhealth_name(x->st->health)));
	json_object_object_add(fields, "revision",
			       json_object_new_string(x->rev));
	json_object_object_add(fields, "drift_report",
			       json_object_new_int(x->st->drift_report));
	if (x->st->last_error != NULL)
		json_object_object_add(
		    fields, "error", json_object_new_string(x->st->last_error));
	notifier_send(
	    x->d->notifier, x->c, key, x->name, type, summary,
	    json_object_to_json_string_ext(fields, JSON_C_TO_STRING_PLAIN));
	json_object_put(fields);
}

/* State changes only: sync or health changed, an apply failed, drift
 * appeared. The key of each is stable, and kept in the status row, so an
 * event is sent once whichever daemon sees it. */
static const char *dpass_notify(struct dctx *x, const char *drift_json)
{
	struct dstatus *st = x->st;
	const char *sync = dsync_name(st->sync);
	const char *health = dhealth_name(st->health);
	json_object *notified = x->prev.notified != NULL
				    ? json_tokener_parse(x->prev.notified)
				    : NULL;
	const char *out;

	if (notified == NULL ||
	    !json_object_is_type(notified, json_type_object)) {
		json_object_put(notified);
		notified = json_object_new_object();
	}
	if (x->prev.found ? strcmp(x->prev.sync, sync) != 0
			  : st->sync != DSYNC_SYNCED)
		dpass_event(
		    x, notified, "sync",
		    arena_printf(x->p.a, "%s/sync/%s", x->name, sync),
		    arena_printf(x->p.a, "cluster %s is %s", x->name, sync));
	if (x->prev.found ? strcmp(x->prev.health, health) != 0
			  : st->health != DHEALTH_HEALTHY)
		dpass_event(
		    x, notified, "health",
		    arena_printf(x->p.a, "%s/health/%s", x->name, health),
		    arena_printf(x->p.a, "cluster %s is %s", x->name, health));
	if (x->apply_error != NULL)
		dpass_event(x, notified, "apply_failed",
			    arena_printf(x->p.a, "%s/apply-failed/%s", x->name,
					 x->j->commit),
			    arena_printf(x->p.a,
					 "apply failed on cluster %s: %s",
					 x->name, x->apply_error));
	if (st->drift_report > 0) {
		unsigned long h = 5381;

		for (const char *s = drift_json; *s; s++)
			h = h * 33 + (unsigned char)*s;
		dpass_event(x, notified, "drift",
			    arena_printf(x->p.a, "%s/drift/%lx", x->name, h),
			    arena_printf(x->p.a,
					 "drift on cluster %s: %d object%s "
					 "differ%s from the spec (reported, "
					 "not changed)",
					 x->name, st->drift_report,
					 st->drift_report == 1 ? "" : "s",
					 st->drift_report == 1 ? "s" : ""));
	} else {
		json_object_object_del(notified, "drift");
	}
	out = arena_strdup(x->p.a, json_object_to_json_string_ext(
				       notified, JSON_C_TO_STRING_PLAIN));
	json_object_put(notified);
	return out;
}

/* ---- record and publish */

static void dpass_record(struct dctx *x, const char *drift_json,
			 const char *notified)
{
	struct pass *p = &x->p;
	struct dstatus *st = x->st;
	struct dstore_row row = {0};
	struct dbops_diag_list ignore = {0};

	row.sync = dsync_name(st->sync);
	row.health = dhealth_name(st->health);
	row.message = st->message;
	row.revision = x->rev;
	row.last_applied = st->last_applied;
	row.last_attempted = st->last_attempted;
	row.last_error = st->last_error;
	row.daemon = x->d->identity;
	row.notified = notified;
	row.drift_enforce = st->drift_enforce;
	row.drift_report = st->drift_report;
	row.waiting_until = st->waiting_until;
	row.next_pass = x->j->next_pass;
	row.last_success_at = st->last_success_at;
	if (dstore_status_write(p->conn, p->a, &ignore, x->name, &row,
				drift_json, x->pass_id) != 0)
		dlog("warning", x->name, "could not record the status: %s",
		     dpass_error_text(p->a, &ignore, NULL));
	dstore_pass_end(p->conn, p->a, &ignore, x->pass_id,
			st->health == DHEALTH_DEGRADED ? "failed" : "ok",
			x->applied, st->last_error);
}

static void dpass_publish(struct dctx *x)
{
	struct daemon *d = x->d;
	struct dcluster *cl;
	struct dstatus *old = NULL;
	double dur = dpass_now() - x->t0;

	x->st->updated_at =
	    x->skipped && x->st->updated_at ? x->st->updated_at : time(NULL);
	pthread_mutex_lock(&d->mu);
	cl = d->clusters[x->j->index];
	if (x->skipped && cl->st != NULL && x->st->revision == NULL) {
		/* nothing read: keep what this daemon knew */
		old = x->st;
	} else {
		old = cl->st;
		cl->st = x->st;
	}
	if (x->skipped) {
		cl->passes_skipped++;
	} else {
		if (x->st->health == DHEALTH_DEGRADED)
			cl->passes_failed++;
		else
			cl->passes_ok++;
		cl->changes_applied += (uint64_t)x->applied;
		for (int b = 0; b < DAEMON_NBUCKETS; b++)
			if (dur <= daemon_buckets[b]) {
				cl->buckets[b]++;
				break;
			}
		if (dur > daemon_buckets[DAEMON_NBUCKETS - 1])
			cl->buckets[DAEMON_NBUCKETS]++;
		cl->duration_sum += dur;
		cl->duration_count++;
	}
	pthread_mutex_unlock(&d->mu);
	if (old != NULL)
		arena_free(old->a);
}

static void dpass_begin(struct dctx *x, struct daemon *d, struct dconf *cf,
			const struct djob *j)
{
	struct arena *sa = arena_new();
	struct pass_opts *po = &x->po;
	const struct daemon_config *c = &cf->c;

	memset(x, 0, sizeof(*x));
	x->d = d;
	x->c = c;
	x->j = j;
	x->t0 = dpass_now();
	x->st = arena_alloc(sa, sizeof(*x->st));
	x->st->a = sa;
	x->name = j->name;
	x->rev = arena_printf(sa, "%s@sha1:%s", j->branch, j->commit);
	x->out = open_memstream(&x->outbuf, &x->outlen);
	pass_init(&x->p, d->reg);
	x->p.out = x->out;
	po->source.repo = c->url;
	po->source.rev = j->commit;
	po->source.no_fetch = true;
	po->source.cache_dir = c->cache_dir;
	po->source.subdir = c->path;
	po->cluster = j->name[0] != '\0' ? j->name : NULL;
	po->config = &c->base;
	po->trusted_rev = NULL; /* the reconciled branch is the trusted one */
}

static void dpass_end(struct dctx *x)
{
	dpass_unlock(x);
	pass_dispose(&x->p);
	if (x->out != NULL)
		fclose(x->out);
	free(x->outbuf);
	dpass_publish(x);
}

void daemon_pass_run(struct daemon *d, struct dconf *cf, const struct djob *j)
{
	struct dctx x;
	struct pass *p;
	struct dstatus *st;
	const char *drift_json = "[]";
	bool loaded = false;
	int load_err = 0, err;
	size_t nwin;
	const struct window *win;

	dpass_begin(&x, d, cf, j);
	p = &x.p;
	st = x.st;
	/* The spec is read once the pass is this daemon's, so that losing
	 * the slot to another daemon costs a connection and no more; first
	 * when the configuration names the cluster only by its spec's
	 * `cluster:` (a repository holding one cluster). */
	if (x.name[0] == '\0' || config_cluster(&x.c->base, x.name) == NULL) {
		load_err = pass_load_revision(p, &x.po);
		loaded = true;
		if (x.name[0] == '\0')
			x.name = p->spec.name != NULL
				     ? arena_strdup(st->a, p->spec.name)
				     : "default";
	}
	x.dcl = daemon_config_cluster(x.c, x.name);
	if ((err = dpass_connect(&x)) != 0 || (err = dpass_lock(&x)) != 0) {
		dpass_fail(&x, "connect");
		goto done;
	}
	if (!x.locked) {
		dpass_mirror(&x, dpass_holder(&x));
		goto done;
	}
	if ((err = dstore_ensure(p->conn, p->a, &p->diags)) != 0 ||
	    (err = dstore_pass_begin(&x.pass_id, p->conn, p->a, &p->diags,
				     x.name, j->slot, j->trigger, d->identity,
				     x.rev)) != 0) {
		dpass_fail(&x, "record");
		goto done;
	}
	if (x.pass_id == NULL) {
		dpass_mirror(&x, "this interval's pass was done by another "
				 "daemon");
		goto done;
	}
	st->revision = x.rev;
	st->last_attempted = x.rev;
	st->by = x.d->identity;
	if (!loaded)
		load_err = pass_load_revision(p, &x.po);
	dstore_status_read(&x.prev, p->conn, p->a, &p->diags, x.name);
	if (x.prev.found) {
		st->last_applied = arena_strdup(st->a, x.prev.last_applied);
		st->last_success_at = x.prev.last_success_at;
	}
	st->sync = DSYNC_SYNCED;
	st->health = DHEALTH_HEALTHY;
	if (load_err != 0 || p->diags.nerrors > 0) {
		dpass_fail(&x, "spec");
		goto record;
	}
	if ((err = pass_plan(p)) != 0) {
		dpass_fail(&x, "plan");
		goto record;
	}
	dpass_health(&x);
	drift_json = dpass_filter(&x);
	if (st->drift_enforce > 0 || st->drift_report > 0)
		st->sync = DSYNC_OUT_OF_SYNC;
	daemon_config_windows(&win, &nwin, x.c, x.dcl);
	if (p->plan.n > 0 &&
	    !window_allowed(&st->waiting_until, win, nwin, time(NULL))) {
		st->health = st->health == DHEALTH_DEGRADED
				 ? DHEALTH_DEGRADED
				 : DHEALTH_PROGRESSING;
		st->message =
		    st->waiting_until > 0
			? arena_printf(st->a,
				       "%zu change%s waiting for the "
				       "maintenance window, until %s",
				       p->plan.n, p->plan.n == 1 ? "" : "s",
				       dtime_iso(st->a, st->waiting_until))
			: arena_printf(st->a,
				       "%zu change%s waiting for a maintenance "
				       "window (none opens within 35 days)",
				       p->plan.n, p->plan.n == 1 ? "" : "s");
	} else if (p->plan.n > 0 && !host_cancel_requested) {
		dpass_apply(&x);
	}
	if (st->drift_enforce == 0 && st->drift_report == 0 &&
	    st->last_error == NULL)
		st->sync = DSYNC_SYNCED;
	if (st->last_error == NULL) {
		if (st->waiting_until == 0 && st->drift_enforce == 0)
			st->last_applied = x.rev;
		st->last_success_at = time(NULL);
	}
	if (!host_cancel_requested)
		daemon_ops_run(p, &x.po, d, x.c, x.name, x.rev);
record:
	dpass_record(&x, drift_json, dpass_notify(&x, drift_json));
done:
	dpass_end(&x);
}

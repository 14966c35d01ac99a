/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon.c — `dbops daemon`: one loop thread and a bounded pool of
 * workers. The loop waits for the next interval (or a webhook, or a
 * signal), fetches the repository once, reads the fleet at the fetched
 * commit and queues one pass per cluster; workers run the passes
 * (daemon_pass.c). Time is cut in slots of one interval, aligned to the
 * clock, and every daemon of a fleet wakes once per slot, up to `jitter`
 * of an interval after its start: the first daemon to claim a cluster's
 * slot does that pass (daemon_store.h), so each scheduled pass is done
 * exactly once whatever the number of daemons, and a daemon that dies is
 * replaced in the next slot.
 *
 * systemd: Type=notify (READY, RELOADING, STOPPING, STATUS and the
 * watchdog, through libsystemd's sd_notify); SIGHUP reloads the
 * configuration (a bad one is refused and the old one kept); SIGTERM or
 * SIGINT stops starting passes and changes, lets the change in progress
 * finish, releases the locks with the connections and exits; a second one
 * cancels the statements in progress. Signals are read with signalfd in
 * the loop, never in a handler, so the workers never see them.
 */
#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon_int.h"
#include "daemon_store.h"
#include "diag.h"
#include "pgconn.h"
#include "secret.h"
#include "source.h"
#include "spec.h"

extern volatile int host_cancel_requested;

/* ---- logging */

const char *dtime_iso(struct arena *a, time_t t)
{
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return arena_strdup(a, buf);
}

static int dlog_verbose;

void dlog(const char *level, const char *cluster, const char *fmt, ...)
{
	char msg[2048], ts[32];
	struct tm tm;
	time_t now = time(NULL);
	const char *prio = "";
	va_list ap;

	if (strcmp(level, "debug") == 0 && dlog_verbose == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* the journal reads a <N> prefix as the line's priority */
	if (getenv("JOURNAL_STREAM") != NULL)
		prio = strcmp(level, "error") == 0     ? "<3>"
		       : strcmp(level, "warning") == 0 ? "<4>"
		       : strcmp(level, "debug") == 0   ? "<7>"
						       : "<6>";
	flockfile(stderr);
	fprintf(stderr, "%sts=%s level=%s", prio, ts, level);
	if (cluster != NULL)
		fprintf(stderr, " cluster=%s", cluster);
	fputs(" msg=\"", stderr);
	for (const char *s = msg; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', stderr);
		fputc(*s == '\n' ? ' ' : *s, stderr);
	}
	fputs("\"\n", stderr);
	funlockfile(stderr);
}

/* ---- configuration references */

struct dconf *daemon_conf_get(struct daemon *d)
{
	struct dconf *c;

	pthread_mutex_lock(&d->mu);
	c = d->conf;
	c->refs++;
	pthread_mutex_unlock(&d->mu);
	return c;
}

static void dconf_put_locked(struct dconf *c)
{
	if (--c->refs == 0)
		arena_free(c->a);
}

void daemon_conf_put(struct daemon *d, struct dconf *c)
{
	pthread_mutex_lock(&d->mu);
	dconf_put_locked(c);
	pthread_mutex_unlock(&d->mu);
}

static int dconf_load(struct dconf **out, const char *path,
		      struct dbops_diag_list *diags, struct arena **diag_arena)
{
	struct dconf *c = calloc(1, sizeof(*c));
	struct arena *a = arena_new();
	int err;

	if (c == NULL)
		arena_oom();
	*diag_arena = a;
	err = daemon_config_load(&c->c, a, diags, path);
	if (err == 0 && !c->c.has_source) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			 "the configuration has no source section")
		    ->hint =
		    "The daemon reconciles the branch of a repository: "
		    "write source: {url: ..., branch: main}.";
		err = DBOPS_ERR_INVALID;
	}
	if (err != 0) {
		free(c);
		return err;
	}
	/* the dconf lives in its own arena, freed with it */
	*out = arena_memdup(a, c, sizeof(*c));
	(*out)->a = a;
	(*out)->refs = 1;
	free(c);
	*diag_arena = NULL;
	return 0;
}

/* ---- the work queue */

void daemon_trigger(struct daemon *d)
{
	uint64_t one = 1;

	pthread_mutex_lock(&d->mu);
	d->trigger_all = true;
	pthread_mutex_unlock(&d->mu);
	(void)!write(d->wake_fd, &one, sizeof(one));
}

bool daemon_review(struct daemon *d, long number, const char *head)
{
	bool ok = false;

	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < d->nreviews; i++)
		if (d->reviews[i].number == number) {
			snprintf(d->reviews[i].head, sizeof(d->reviews[i].head),
				 "%s", head != NULL ? head : "");
			ok = true;
		}
	if (!ok && d->nreviews < DAEMON_MAX_REVIEWS) {
		struct dreview *r = &d->reviews[d->nreviews++];

		r->number = number;
		snprintf(r->head, sizeof(r->head), "%s",
			 head != NULL ? head : "");
		ok = true;
	}
	if (ok)
		pthread_cond_signal(&d->work);
	pthread_mutex_unlock(&d->mu);
	return ok;
}

static struct dcluster *daemon_cluster_find(struct daemon *d, const char *name,
					    size_t *index)
{
	for (size_t i = 0; i < d->nclusters; i++)
		if (strcmp(d->clusters[i]->name, name) == 0) {
			*index = i;
			return d->clusters[i];
		}
	if (d->nclusters == DAEMON_MAX_CLUSTERS)
		return NULL;
	d->clusters[d->nclusters] = calloc(1, sizeof(struct dcluster));
	if (d->clusters[d->nclusters] == NULL ||
	    (d->clusters[d->nclusters]->name = strdup(name)) == NULL)
		arena_oom();
	*index = d->nclusters;
	return d->clusters[d->nclusters++];
}

/* Under d->mu: the next job, round robin over the clusters. */
static bool daemon_take(struct daemon *d, struct djob *j)
{
	for (size_t k = 0; k < d->nclusters; k++) {
		size_t i = (d->next_job + k) % d->nclusters;
		struct dcluster *cl = d->clusters[i];

		if (!cl->queued || cl->running)
			continue;
		cl->queued = false;
		cl->running = true;
		memset(j, 0, sizeof(*j));
		j->index = i;
		snprintf(j->name, sizeof(j->name), "%s", cl->name);
		snprintf(j->commit, sizeof(j->commit), "%s", cl->commit);
		snprintf(j->branch, sizeof(j->branch), "%s", d->branch);
		snprintf(j->trigger, sizeof(j->trigger), "%s", cl->trigger);
		j->slot = cl->slot;
		j->next_pass = cl->next_pass;
		d->next_job = i + 1;
		return true;
	}
	return false;
}

static void daemon_run_review(struct daemon *d, const struct dreview *r)
{
	struct dconf *cf = daemon_conf_get(d);
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	int err;

	dlog("info", NULL, "planning pull request %ld", r->number);
	err = review_run(&cf->c, d->reg, r->number,
			 r->head[0] != '\0' ? r->head : NULL, a, &diags, NULL);
	for (const struct dbops_diag *e = diags.head; e != NULL; e = e->next)
		if (e->severity == DBOPS_SEV_ERROR)
			dlog("error", NULL,
			     "review of pull request %ld: %s%s%s", r->number,
			     e->message, e->detail ? " — " : "",
			     e->detail ? e->detail : "");
	pthread_mutex_lock(&d->mu);
	if (err == 0)
		d->reviews_ok++;
	else
		d->reviews_failed++;
	pthread_mutex_unlock(&d->mu);
	arena_free(a);
	daemon_conf_put(d, cf);
}

static void *daemon_worker(void *arg)
{
	struct daemon *d = arg;
	struct djob j;
	struct dreview r;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		bool job = false, review = false;

		while (!d->stopping && !(job = daemon_take(d, &j)) &&
		       !(review = d->nreviews > 0))
			pthread_cond_wait(&d->work, &d->mu);
		if (d->stopping)
			break;
		d->busy++;
		if (!job) {
			r = d->reviews[0];
			memmove(&d->reviews[0], &d->reviews[1],
				(--d->nreviews) * sizeof(d->reviews[0]));
		}
		pthread_mutex_unlock(&d->mu);
		if (job) {
			struct dconf *cf = daemon_conf_get(d);

			daemon_pass_run(d, cf, &j);
			daemon_conf_put(d, cf);
		} else {
			daemon_run_review(d, &r);
		}
		pthread_mutex_lock(&d->mu);
		d->busy--;
		if (job) {
			struct dcluster *cl = d->clusters[j.index];

			cl->running = false;
			if (cl->again) {
				cl->again = false;
				cl->queued = true;
			}
		}
		pthread_cond_broadcast(&d->idle);
		pthread_cond_broadcast(&d->work);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* ---- a cycle: fetch, read the fleet, queue the passes */

/* The fleet at the fetched commit: dbops.yaml's names, or "" for a
 * repository holding one cluster; the configuration's list when it has
 * one. Names in the arena. */
static int daemon_fleet(const char ***names, size_t *n, struct source *src,
			const struct daemon_config *c, struct arena *a,
			struct dbops_diag_list *diags)
{
	const char *data;
	size_t len;
	const struct dbops_node *root;
	struct spec_fleet fleet;
	int err;

	if (c->fleet_explicit) {
		*names = arena_alloc(a, (c->nclusters + 1) * sizeof(char *));
		for (size_t i = 0; i < c->nclusters; i++)
			(*names)[i] = c->clusters[i].name;
		*n = c->nclusters;
		return 0;
	}
	if (!source_exists(src, "dbops.yaml")) {
		*names = arena_alloc(a, 2 * sizeof(char *));
		(*names)[0] = "";
		*n = 1;
		return 0;
	}
	if ((err = source_read(&data, &len, src, diags, "dbops.yaml")) != 0 ||
	    (err = spec_parse(&root, a, diags, "dbops.yaml", data, len,
			      &spec_default_limits)) != 0 ||
	    (err = spec_fleet_read(&fleet, diags, a, root)) != 0)
		return err;
	*names = arena_alloc(a, (fleet.n + 1) * sizeof(char *));
	for (size_t i = 0; i < fleet.n; i++)
		(*names)[i] = fleet.members[i].name;
	*n = fleet.n;
	return 0;
}

static int daemon_fetch(struct daemon *d, const struct daemon_config *c,
			const char ***names, size_t *n, struct arena *a,
			struct dbops_diag_list *diags)
{
	struct source_opts o = {0};
	struct source *src;
	int err;

	o.repo = c->url;
	o.rev = c->branch;
	o.cache_dir = c->cache_dir;
	o.subdir = c->path;
	o.git_user = c->git_user;
	o.git_ssh_key = c->ssh_key;
	if ((c->has_token &&
	     (err = secret_read(&o.git_token, a, diags, &c->token)) != 0) ||
	    (c->has_ssh_passphrase &&
	     (err = secret_read(&o.git_ssh_passphrase, a, diags,
				&c->ssh_passphrase)) != 0))
		return err;
	if ((err = source_open(&src, a, diags, &o)) != 0 ||
	    (err = daemon_fleet(names, n, src, c, a, diags)) != 0)
		return err;
	pthread_mutex_lock(&d->mu);
	snprintf(d->commit, sizeof(d->commit), "%s",
		 source_revision(src)->commit);
	snprintf(d->branch, sizeof(d->branch), "%s", c->branch);
	pthread_mutex_unlock(&d->mu);
	return 0;
}

static void daemon_cycle(struct daemon *d, const char *trigger, int64_t slot,
			 time_t next_pass)
{
	struct dconf *cf = daemon_conf_get(d);
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	const char **names = NULL;
	size_t n = 0;
	int err = daemon_fetch(d, &cf->c, &names, &n, a, &diags);

	pthread_mutex_lock(&d->mu);
	free(d->last_fetch_error);
	d->last_fetch_error = NULL;
	if (err != 0) {
		const char *msg = "failed without a message";

		for (const struct dbops_diag *e = diags.head; e; e = e->next)
			if (e->severity == DBOPS_SEV_ERROR) {
				msg = arena_printf(a, "%s%s%s", e->message,
						   e->detail ? " — " : "",
						   e->detail ? e->detail : "");
				break;
			}
		d->fetches_failed++;
		d->last_fetch_error = strdup(msg);
		pthread_mutex_unlock(&d->mu);
		dlog("error", NULL, "could not fetch %s: %s", cf->c.branch,
		     msg);
		pthread_mutex_lock(&d->mu);
		/* keep healing drift at the last commit fetched */
		n = 0;
		for (size_t i = 0; i < d->nclusters; i++)
			if (d->clusters[i]->present)
				n++;
		if (d->commit[0] == '\0')
			n = 0;
		names = arena_alloc(a, (n + 1) * sizeof(char *));
		n = 0;
		for (size_t i = 0; i < d->nclusters && d->commit[0]; i++)
			if (d->clusters[i]->present)
				names[n++] =
				    arena_strdup(a, d->clusters[i]->name);
	} else {
		d->fetches_ok++;
		d->ready = true;
		d->fetched_at = time(NULL);
		for (size_t i = 0; i < d->nclusters; i++)
			d->clusters[i]->present = false;
	}
	for (size_t i = 0; i < n; i++) {
		size_t index;
		struct dcluster *cl = daemon_cluster_find(d, names[i], &index);

		if (cl == NULL)
			break;
		cl->present = true;
		cl->next_pass = next_pass;
		if (cl->running && slot >= 0)
			continue; /* the pass in progress stands for it */
		memcpy(cl->commit, d->commit, sizeof(cl->commit));
		snprintf(cl->trigger, sizeof(cl->trigger), "%s", trigger);
		cl->slot = slot;
		if (cl->running)
			cl->again = true; /* a webhook's: after this one */
		else
			cl->queued = true;
	}
	pthread_cond_broadcast(&d->work);
	pthread_mutex_unlock(&d->mu);
	dlog("debug", NULL, "%s cycle: %zu cluster%s at %s@%.12s", trigger, n,
	     n == 1 ? "" : "s", cf->c.branch, d->commit);
	arena_free(a);
	daemon_conf_put(d, cf);
}

/* ---- systemd */

static void daemon_status_line(struct daemon *d)
{
	size_t synced = 0, out = 0, degraded = 0, total = 0;
	char commit[13];

	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < d->nclusters; i++) {
		const struct dstatus *st = d->clusters[i]->st;

		if (!d->clusters[i]->present)
			continue;
		total++;
		if (st == NULL)
			continue;
		if (st->sync == DSYNC_SYNCED)
			synced++;
		else
			out++;
		if (st->health == DHEALTH_DEGRADED)
			degraded++;
	}
	memcpy(commit, d->commit, sizeof(commit) - 1);
	commit[sizeof(commit) - 1] = '\0';
	pthread_mutex_unlock(&d->mu);
	sd_notifyf(0,
		   "STATUS=%zu cluster%s at %s: %zu synced, %zu out of sync, "
		   "%zu degraded",
		   total, total == 1 ? "" : "s",
		   commit[0] ? commit : "(not fetched)", synced, out, degraded);
}

static void daemon_reload(struct daemon *d)
{
	struct dconf *nc = NULL, *old;
	struct dbops_diag_list diags = {0};
	struct arena *da = NULL;

	sd_notify(0, "RELOADING=1");
	dlog("info", NULL, "reloading the configuration");
	if (dconf_load(&nc, d->config_path, &diags, &da) != 0) {
		for (const struct dbops_diag *e = diags.head; e; e = e->next)
			if (e->severity == DBOPS_SEV_ERROR)
				dlog("error", NULL, "%s:%u:%u: %s",
				     e->loc.file ? e->loc.file : d->config_path,
				     e->loc.line, e->loc.col, e->message);
		dlog("error", NULL,
		     "the configuration was not reloaded; the previous one "
		     "stays in force");
		pthread_mutex_lock(&d->mu);
		d->reloads_failed++;
		pthread_mutex_unlock(&d->mu);
		arena_free(da);
		sd_notify(0, "READY=1\nSTATUS=reload refused: the "
			     "configuration has errors (see the log)");
		return;
	}
	if (nc->c.http_enabled != d->conf->c.http_enabled ||
	    nc->c.listen_port != d->conf->c.listen_port ||
	    strcmp(nc->c.listen_host, d->conf->c.listen_host) != 0 ||
	    (nc->c.tls_cert == NULL) != (d->conf->c.tls_cert == NULL))
		dlog(
		    "warning", NULL,
		    "http.enabled, http.listen and http.tls take effect at the "
		    "next start; the endpoint is unchanged");
	if (nc->c.workers != d->conf->c.workers)
		dlog("warning", NULL,
		     "daemon.workers takes effect at the next start (%d "
		     "workers run)",
		     d->nworkers);
	pthread_mutex_lock(&d->mu);
	old = d->conf;
	d->conf = nc;
	d->reloads_ok++;
	d->last_reload_at = time(NULL);
	dconf_put_locked(old);
	pthread_mutex_unlock(&d->mu);
	dlog("info", NULL, "configuration reloaded");
	sd_notify(0, "READY=1");
	daemon_status_line(d);
}

/* ---- the loop */

static uint64_t daemon_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* When to wake for slot `slot`: its start, plus up to jitter. */
static time_t daemon_wake_at(const struct daemon_config *c, int64_t slot,
			     uint64_t *seed)
{
	double start = (double)slot * c->interval_s;
	double j = c->jitter * c->interval_s;
	double off =
	    j > 0 ? (double)(daemon_rand(seed) % 1000000) / 1e6 * j : 0;

	return (time_t)(start + off);
}

static int daemon_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	/* blocked before any thread starts, so every thread inherits it */
	if (pthread_sigmask(SIG_BLOCK, set, NULL) != 0)
		return -1;
	return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void daemon_loop(struct daemon *d, int sfd)
{
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
			0x9e3779b97f4a7c15ull;
	uint64_t wd_usec = 0;
	double wd_every = 0, next_ping = 0;
	int64_t slot;
	time_t wake;
	int stops = 0;
	bool first = true;

	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0)
		wd_every = (double)wd_usec / 1e6 / 3;
	{
		struct dconf *cf = daemon_conf_get(d);

		slot = (int64_t)((double)time(NULL) / cf->c.interval_s);
		wake = time(NULL); /* the current slot at once */
		daemon_conf_put(d, cf);
	}
	while (stops == 0) {
		struct pollfd pfd[2] = {{sfd, POLLIN, 0},
					{d->wake_fd, POLLIN, 0}};
		struct timespec ts;
		double now, until;
		int timeout;

		clock_gettime(CLOCK_REALTIME, &ts);
		now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
		until = (double)wake - now;
		if (wd_every > 0) {
			if (now >= next_ping) {
				sd_notify(0, "WATCHDOG=1");
				next_ping = now + wd_every;
			}
			if (next_ping - now < until)
				until = next_ping - now;
		}
		timeout = until <= 0 ? 0 : (int)(until * 1000) + 1;
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					struct dconf *cf;

					daemon_reload(d);
					cf = daemon_conf_get(d);
					slot = (int64_t)((double)time(NULL) /
							 cf->c.interval_s);
					wake = daemon_wake_at(&cf->c, slot + 1,
							      &seed);
					slot++;
					daemon_conf_put(d, cf);
				} else {
					stops++;
				}
			}
		}
		if (stops > 0)
			break;
		if (pfd[1].revents & POLLIN) {
			uint64_t v;
			bool all;

			(void)!read(d->wake_fd, &v, sizeof(v));
			pthread_mutex_lock(&d->mu);
			all = d->trigger_all;
			d->trigger_all = false;
			pthread_mutex_unlock(&d->mu);
			if (all) {
				dlog("info", NULL,
				     "webhook: a pass of every cluster now");
				daemon_cycle(d, "webhook", -1, wake);
			}
		}
		if (time(NULL) >= wake) {
			struct dconf *cf = daemon_conf_get(d);
			int64_t now_slot =
			    (int64_t)((double)time(NULL) / cf->c.interval_s);
			time_t next;

			if (now_slot > slot)
				slot = now_slot;
			next = daemon_wake_at(&cf->c, slot + 1, &seed);
			daemon_conf_put(d, cf);
			daemon_cycle(d, first ? "startup" : "interval", slot,
				     next);
			if (first) {
				sd_notify(0, "READY=1");
				first = false;
			}
			daemon_status_line(d);
			/* what the last cycle's passes freed goes back */
			malloc_trim(0);
			slot++;
			wake = next;
		}
	}
}

static void daemon_stop(struct daemon *d, int sfd)
{
	struct timespec deadline;

	sd_notify(0, "STOPPING=1\nSTATUS=stopping: finishing the changes "
		     "in progress");
	dlog("info", NULL,
	     "stopping: finishing the changes in progress, starting no other");
	host_cancel_requested = 1;
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	pthread_cond_broadcast(&d->work);
	/* a second signal cancels the statements in progress */
	while (d->busy > 0) {
		struct signalfd_siginfo si;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 200 * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->idle, &d->mu, &deadline);
		if (read(sfd, &si, sizeof(si)) == sizeof(si) &&
		    si.ssi_signo != SIGHUP) {
			dlog("info", NULL,
			     "second signal: cancelling the statements in "
			     "progress");
			pgconn_cancel_all();
		}
	}
	pthread_mutex_unlock(&d->mu);
	for (int i = 0; i < d->nworkers; i++)
		pthread_join(d->workers[i], NULL);
}

static void daemon_free(struct daemon *d)
{
	for (size_t i = 0; i < d->nclusters; i++) {
		if (d->clusters[i]->st != NULL)
			arena_free(d->clusters[i]->st->a);
		free(d->clusters[i]->name);
		free(d->clusters[i]);
	}
	free(d->last_fetch_error);
	if (d->conf != NULL)
		dconf_put_locked(d->conf);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->idle);
}

static const char daemon_usage[] =
    "Usage: dbops daemon [OPTIONS]\n"
    "\n"
    "Keep the clusters of the configuration in the state of a branch: every\n"
    "interval (or at once on a signed push webhook), fetch, plan every\n"
    "cluster, apply what the drift policy enforces inside the maintenance\n"
    "windows, report the rest, and expose status and Prometheus metrics.\n"
    "\n"
    "Options:\n"
    "  --config FILE        the configuration (default $DBOPS_CONFIG): source,\n"
    "                       daemon, fleet, http, notify, forge, clusters\n"
    "  --identity NAME      this daemon's name in status and logs\n"
    "                       (default daemon.identity, else HOST/PID)\n"
    "  -v, --verbose        log every cycle\n"
    "  -h, --help           this help\n"
    "\n"
    "Signals: SIGHUP reloads the configuration; SIGTERM finishes the change\n"
    "in progress, releases the locks and exits (a second one cancels it).\n";

int daemon_main(int argc, char **argv, struct registry *reg)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"identity", required_argument, NULL, 'i'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct daemon d;
	struct dbops_diag_list diags = {0};
	struct arena *da = NULL, *proc = arena_new();
	const char *identity = NULL;
	sigset_t set;
	int ch, sfd, rc = 0;

	memset(&d, 0, sizeof(d));
	/* A long-lived process whose every pass allocates and frees the same
	 * shapes: a fixed mmap threshold (glibc otherwise raises it after the
	 * first large free, and large buffers then stay in the heap) and two
	 * malloc arenas for all threads (glibc makes up to eight per core),
	 * so that its memory stays where the first passes put it. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_ARENA_MAX, 2);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'i':
			identity = optarg;
			break;
		case 'v':
			dlog_verbose++;
			break;
		case 'h':
			fputs(daemon_usage, stdout);
			arena_free(proc);
			return 0;
		default:
			fputs("HINT:  Run \"dbops daemon --help\" for the "
			      "options.\n",
			      stderr);
			arena_free(proc);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ERROR:  unexpected argument \"%s\"\n",
			argv[optind]);
		arena_free(proc);
		return 1;
	}
	if (dconf_load(&d.conf, d.config_path, &diags, &da) != 0) {
		diag_print_list(stderr, &diags);
		arena_free(da);
		arena_free(proc);
		return 1;
	}
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.work, NULL);
	pthread_cond_init(&d.idle, NULL);
	d.reg = reg;
	d.started_at = time(NULL);
	{
		char host[256] = "localhost";

		gethostname(host, sizeof(host) - 1);
		d.identity =
		    identity ? identity
		    : d.conf->c.identity
			? d.conf->c.identity
			: arena_printf(proc, "%s/%d", host, (int)getpid());
		d.identity = arena_strdup(proc, d.identity);
	}
	sfd = daemon_signals(&set);
	d.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sfd < 0 || d.wake_fd < 0) {
		fprintf(stderr, "ERROR:  could not set up signals: %s\n",
			strerror(errno));
		daemon_free(&d);
		arena_free(proc);
		return 1;
	}
	if (notifier_start(&d.notifier, &d) != 0 ||
	    (d.conf->c.http_enabled &&
	     dhttp_start(&d.http, &d, &d.conf->c, &diags, proc) != 0)) {
		diag_print_list(stderr, &diags);
		if (d.notifier != NULL)
			notifier_stop(d.notifier, 0);
		close(sfd);
		close(d.wake_fd);
		daemon_free(&d);
		arena_free(proc);
		return 1;
	}
	d.nworkers = d.conf->c.workers;
	for (int i = 0; i < d.nworkers; i++)
		if (pthread_create(&d.workers[i], NULL, daemon_worker, &d) !=
		    0) {
			d.nworkers = i;
			rc = 1;
			break;
		}
	dlog("info", NULL,
	     "dbops daemon %s started as %s: %s branch %s every %gs, %d "
	     "workers%s",
	     DBOPS_VERSION, d.identity, d.conf->c.url, d.conf->c.branch,
	     d.conf->c.interval_s, d.nworkers,
	     d.http != NULL
		 ? arena_printf(proc, ", http on %s:%d", d.conf->c.listen_host,
				dhttp_port(d.http))
		 : "");
	if (rc == 0)
		daemon_loop(&d, sfd);
	daemon_stop(&d, sfd);
	if (d.http != NULL)
		dhttp_stop(d.http);
	notifier_stop(d.notifier, 5);
	close(sfd);
	close(d.wake_fd);
	dlog("info", NULL, "stopped");
	daemon_free(&d);
	arena_free(proc);
	return rc;
}

int daemon_status_main(const char *config_path, const char *format)
{
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	struct daemon_config c;
	int rc;

	if (daemon_config_load(&c, a, &diags, config_path) != 0) {
		diag_print_list(stderr, &diags);
		arena_free(a);
		return 1;
	}
	rc = dstore_print_status(stdout, &c, format, &diags, a);
	diag_print_list(stderr, &diags);
	arena_free(a);
	return rc;
}

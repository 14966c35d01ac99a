/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon_int.h — what the daemon's files share: the daemon itself (its
 * configuration, worker pool, clusters and counters) and the interfaces
 * between daemon.c (the loop), daemon_pass.c (one pass of one cluster),
 * daemon_store.c (the state kept in each cluster's `dbops` schema),
 * daemon_http.c (the endpoint), metrics.c, notify.c and review.c.
 *
 * Locking: one mutex, d->mu, guards the job queue, the cluster table, each
 * cluster's published status and the counters. A pass works outside it
 * on its own arena and publishes its result at the end in one step.
 */
#ifndef DBOPS_CTRL_DAEMON_INT_H
#define DBOPS_CTRL_DAEMON_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "arena.h"
#include "daemon_config.h"
#include "loader.h"
#include "strbuf.h"

#define DAEMON_MAX_CLUSTERS 1024
#define DAEMON_MAX_WORKERS  64
/* A pass duration histogram's upper bounds, in seconds. */
#define DAEMON_NBUCKETS 10

/* A loaded configuration, shared by the passes that started under it. */
struct dconf {
	struct arena *a;
	struct daemon_config c;
	int refs; /* under d->mu */
};

enum dsync {
	DSYNC_UNKNOWN = 0,
	DSYNC_SYNCED,
	DSYNC_OUT_OF_SYNC,
};

enum dhealth {
	DHEALTH_UNKNOWN = 0,
	DHEALTH_HEALTHY,
	DHEALTH_PROGRESSING,
	DHEALTH_DEGRADED,
};

const char *dsync_name(enum dsync s);
const char *dhealth_name(enum dhealth h);

/* Drift counted on one pass, by plugin. */
struct ddrift {
	const char *plugin;
	int enforce; /* planned and applied (or waiting for a window) */
	int report;  /* planned, reported, left alone */
};

/* A plugin measurement, labelled with the cluster. */
struct dmetric {
	const char *name;
	const char *labels; /* `cluster="a",member="r1"` */
	double value;
	const char *help;
};

/* What the last pass of a cluster found: lives in its own arena, replaced
 * as a whole when a pass publishes. */
struct dstatus {
	struct arena *a;
	enum dsync sync;
	enum dhealth health;
	const char *message;	    /* one line, or NULL */
	const char *revision;	    /* branch@sha of the last pass */
	const char *last_applied;   /* branch@sha, or NULL */
	const char *last_attempted; /* branch@sha, or NULL */
	const char *last_error;	    /* or NULL */
	const char *by;		    /* the daemon that did it */
	time_t waiting_until;	    /* a maintenance window, or 0 */
	time_t updated_at;
	time_t last_success_at; /* 0: never */
	struct ddrift *drift;
	size_t ndrift;
	int drift_enforce, drift_report;
	struct dmetric *metrics;
	size_t nmetrics;
};

struct dcluster {
	char *name;   /* heap; the fleet name ("" for a lone cluster) */
	bool present; /* in the fleet of the last fetch */
	bool queued;  /* a job waits */
	bool running; /* a pass runs */
	bool again;   /* run once more when it ends (a webhook) */
	char trigger[16];
	int64_t slot;	    /* -1: not a scheduled pass */
	char commit[41];    /* to reconcile */
	time_t next_pass;   /* the next scheduled pass */
	struct dstatus *st; /* or NULL: no pass yet */
	/* counters */
	uint64_t passes_ok, passes_failed, passes_skipped;
	uint64_t changes_applied;
	uint64_t buckets[DAEMON_NBUCKETS + 1]; /* cumulative at render */
	double duration_sum;
	uint64_t duration_count;
};

/* A pull request to plan (webhook). */
struct dreview {
	long number;
	char head[41]; /* the head commit, or "" to ask the forge */
};

#define DAEMON_MAX_REVIEWS 32

struct daemon {
	pthread_mutex_t mu;
	pthread_cond_t work; /* workers wait for jobs */
	pthread_cond_t idle; /* a job ended */
	struct dconf *conf;  /* current; swapped on SIGHUP */
	const char *config_path;
	struct registry *reg;
	const char *identity;
	int wake_fd; /* eventfd: wakes the loop (webhook) */
	bool stopping;
	bool ready;	  /* a fetch succeeded */
	bool trigger_all; /* a webhook asked for a pass now */

	struct dcluster *clusters[DAEMON_MAX_CLUSTERS];
	size_t nclusters;
	size_t next_job; /* round-robin start of the queue scan */
	pthread_t workers[DAEMON_MAX_WORKERS];
	int nworkers;
	int busy;

	struct dreview reviews[DAEMON_MAX_REVIEWS];
	size_t nreviews;

	/* the last fetch */
	char commit[41];
	char branch[256];
	time_t fetched_at;
	time_t started_at;
	time_t last_reload_at;
	char *last_fetch_error; /* heap, or NULL */

	/* counters */
	uint64_t fetches_ok, fetches_failed;
	uint64_t webhooks_accepted, webhooks_refused, webhooks_ignored;
	uint64_t reloads_ok, reloads_failed;
	uint64_t notify_sent, notify_failed, notify_dropped;
	uint64_t reviews_ok, reviews_failed;

	struct dhttp *http;
	struct notifier *notifier;
};

/* The histogram's bounds. */
extern const double daemon_buckets[DAEMON_NBUCKETS];

/* "2024-07-15T12:00:00Z", in the arena. */
const char *dtime_iso(struct arena *a, time_t t);

/* A line on stderr in logfmt, `cluster` may be NULL. Never a secret. */
void dlog(const char *level, const char *cluster, const char *fmt, ...)
    DBOPS_PRINTF(3, 4);

/* Take / drop a reference on the current configuration. */
struct dconf *daemon_conf_get(struct daemon *d);
void daemon_conf_put(struct daemon *d, struct dconf *c);

/* Wake the loop for a pass of every cluster now (a push webhook). */
void daemon_trigger(struct daemon *d);
/* Queue a review of pull request `number` (a pull-request webhook);
 * false when the queue is full. */
bool daemon_review(struct daemon *d, long number, const char *head);

/* ---- daemon_pass.c */

struct djob {
	size_t index; /* the cluster */
	char name[256];
	char commit[41];
	char branch[256];
	char trigger[16];
	int64_t slot;
	time_t next_pass;
};

/* One pass of one cluster: plan, filter by drift policy, respect the
 * windows, apply, record, publish. */
void daemon_pass_run(struct daemon *d, struct dconf *cf, const struct djob *j);

/* ---- metrics.c */

/* /metrics in Prometheus's text format 0.0.4. Under d->mu. */
void metrics_render(struct strbuf *sb, const struct daemon *d);
/* /status as JSON. Under d->mu. */
void daemon_status_json(struct strbuf *sb, const struct daemon *d);

/* ---- daemon_http.c */

struct dhttp;
int dhttp_start(struct dhttp **out, struct daemon *d,
		const struct daemon_config *c, struct dbops_diag_list *diags,
		struct arena *a);
/* The port listened on (port 0 in the configuration picks one). */
int dhttp_port(const struct dhttp *h);
void dhttp_stop(struct dhttp *h);

/* Whether `sig` ("sha256=<hex>") is the HMAC-SHA256 of body under key,
 * compared in constant time. */
bool dhttp_github_signature_ok(const char *sig, const char *key,
			       const void *body, size_t len);
/* Whether two secrets are equal, in time independent of where they
 * differ. */
bool dhttp_token_ok(const char *given, const char *key);

/* ---- notify.c */

struct notifier;
int notifier_start(struct notifier **out, struct daemon *d);
/* Queue an event for every target of the configuration `cf`: the key is
 * stable (no time, no duration), the same event is sent once. */
void notifier_send(struct notifier *n, const struct daemon_config *cf,
		   const char *key, const char *cluster, const char *event,
		   const char *summary, const char *json_fields);
/* Deliver what is queued (at most `grace_s` more seconds), then stop. */
void notifier_stop(struct notifier *n, double grace_s);

/* ---- review.c */

/* Plan pull request `number` (its head `head`, or the forge's) for every
 * cluster and post the result: the daemon's webhook path and `dbops
 * review`. Returns 0, or an error with diagnostics. `out` receives the
 * markdown posted (may be NULL). */
int review_run(const struct daemon_config *c, struct registry *reg, long number,
	       const char *head, struct arena *a, struct dbops_diag_list *diags,
	       FILE *out);

#endif

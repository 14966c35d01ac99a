/* SPDX-License-Identifier: PostgreSQL */
/*
 * metrics.c — what the daemon's endpoint shows: /metrics in Prometheus's
 * text format 0.0.4 (`dbops_` prefix, base units, counters ending in
 * _total, one family's samples together after its HELP and TYPE, a
 * series known to exist exported as 0 rather than left out), and /status
 * as JSON. Both read the daemon under its mutex and write nothing else.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"

static void m_family(struct strbuf *sb, const char *name, const char *type,
		     const char *help)
{
	strbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
		      type);
}

/* A label value with \, " and newline escaped. */
static void m_label(struct strbuf *sb, const char *v)
{
	for (; v != NULL && *v; v++) {
		if (*v == '\\' || *v == '"')
			strbuf_putc(sb, '\\');
		if (*v == '\n')
			strbuf_puts(sb, "\\n");
		else
			strbuf_putc(sb, *v);
	}
}

static void m_sample(struct strbuf *sb, const char *name, const char *cluster,
		     const char *extra, double value)
{
	strbuf_puts(sb, name);
	if (cluster != NULL || extra != NULL) {
		strbuf_putc(sb, '{');
		if (cluster != NULL) {
			strbuf_puts(sb, "cluster=\"");
			m_label(sb, cluster);
			strbuf_putc(sb, '"');
		}
		if (extra != NULL)
			strbuf_printf(sb, "%s%s", cluster != NULL ? "," : "",
				      extra);
		strbuf_putc(sb, '}');
	}
	strbuf_printf(sb, " %.17g\n", value);
}

static bool m_present(const struct dcluster *cl)
{
	return cl->present || cl->st != NULL;
}

static void m_daemon(struct strbuf *sb, const struct daemon *d)
{
	m_family(sb, "dbops_daemon_info", "gauge",
		 "The dbops daemon: version, identity and branch.");
	strbuf_puts(sb, "dbops_daemon_info{version=\"");
	m_label(sb, DBOPS_VERSION);
	strbuf_puts(sb, "\",identity=\"");
	m_label(sb, d->identity);
	strbuf_puts(sb, "\",branch=\"");
	m_label(sb, d->branch);
	strbuf_puts(sb, "\"} 1\n");
	m_family(sb, "dbops_daemon_start_time_seconds", "gauge",
		 "When the daemon started, in seconds since the epoch.");
	m_sample(sb, "dbops_daemon_start_time_seconds", NULL, NULL,
		 (double)d->started_at);
	m_family(sb, "dbops_daemon_fetches_total", "counter",
		 "Fetches of the repository, by result.");
	m_sample(sb, "dbops_daemon_fetches_total", NULL, "result=\"success\"",
		 (double)d->fetches_ok);
	m_sample(sb, "dbops_daemon_fetches_total", NULL, "result=\"failure\"",
		 (double)d->fetches_failed);
	m_family(sb, "dbops_daemon_last_fetch_timestamp_seconds", "gauge",
		 "When the repository was last fetched successfully.");
	m_sample(sb, "dbops_daemon_last_fetch_timestamp_seconds", NULL, NULL,
		 (double)d->fetched_at);
	m_family(sb, "dbops_daemon_webhooks_total", "counter",
		 "Webhook deliveries, by result.");
	m_sample(sb, "dbops_daemon_webhooks_total", NULL, "result=\"accepted\"",
		 (double)d->webhooks_accepted);
	m_sample(sb, "dbops_daemon_webhooks_total", NULL, "result=\"ignored\"",
		 (double)d->webhooks_ignored);
	m_sample(sb, "dbops_daemon_webhooks_total", NULL, "result=\"refused\"",
		 (double)d->webhooks_refused);
	m_family(sb, "dbops_daemon_reloads_total", "counter",
		 "Configuration reloads (SIGHUP), by result.");
	m_sample(sb, "dbops_daemon_reloads_total", NULL, "result=\"success\"",
		 (double)d->reloads_ok);
	m_sample(sb, "dbops_daemon_reloads_total", NULL, "result=\"failure\"",
		 (double)d->reloads_failed);
	m_family(sb, "dbops_daemon_notifications_total", "counter",
		 "Notifications, by result.");
	m_sample(sb, "dbops_daemon_notifications_total", NULL,
		 "result=\"sent\"", (double)d->notify_sent);
	m_sample(sb, "dbops_daemon_notifications_total", NULL,
		 "result=\"failed\"", (double)d->notify_failed);
	m_sample(sb, "dbops_daemon_notifications_total", NULL,
		 "result=\"dropped\"", (double)d->notify_dropped);
	m_family(sb, "dbops_daemon_reviews_total", "counter",
		 "Plans posted on pull requests, by result.");
	m_sample(sb, "dbops_daemon_reviews_total", NULL, "result=\"success\"",
		 (double)d->reviews_ok);
	m_sample(sb, "dbops_daemon_reviews_total", NULL, "result=\"failure\"",
		 (double)d->reviews_failed);
}

static void m_passes(struct strbuf *sb, const struct daemon *d)
{
	m_family(sb, "dbops_cluster_passes_total", "counter",
		 "Passes of a cluster by this daemon, by result (skipped: "
		 "another daemon or apply had it).");
	for (size_t i = 0; i < d->nclusters; i++) {
		const struct dcluster *cl = d->clusters[i];

		if (!m_present(cl))
			continue;
		m_sample(sb, "dbops_cluster_passes_total", cl->name,
			 "result=\"success\"", (double)cl->passes_ok);
		m_sample(sb, "dbops_cluster_passes_total", cl->name,
			 "result=\"failure\"", (double)cl->passes_failed);
		m_sample(sb, "dbops_cluster_passes_total", cl->name,
			 "result=\"skipped\"", (double)cl->passes_skipped);
	}
	m_family(sb, "dbops_cluster_pass_duration_seconds", "histogram",
		 "How long a pass of a cluster took.");
	for (size_t i = 0; i < d->nclusters; i++) {
		const struct dcluster *cl = d->clusters[i];
		uint64_t cum = 0;

		if (!m_present(cl))
			continue;
		for (int b = 0; b <= DAEMON_NBUCKETS; b++) {
			char le[64];

			cum += cl->buckets[b];
			if (b < DAEMON_NBUCKETS)
				snprintf(le, sizeof(le), "le=\"%g\"",
					 daemon_buckets[b]);
			else
				snprintf(le, sizeof(le), "le=\"+Inf\"");
			m_sample(sb,
				 "dbops_cluster_pass_duration_seconds_bucket",
				 cl->name, le, (double)cum);
		}
		m_sample(sb, "dbops_cluster_pass_duration_seconds_sum",
			 cl->name, NULL, cl->duration_sum);
		m_sample(sb, "dbops_cluster_pass_duration_seconds_count",
			 cl->name, NULL, (double)cl->duration_count);
	}
	m_family(sb, "dbops_cluster_changes_applied_total", "counter",
		 "Changes this daemon applied to a cluster.");
	for (size_t i = 0; i < d->nclusters; i++)
		if (m_present(d->clusters[i]))
			m_sample(sb, "dbops_cluster_changes_applied_total",
				 d->clusters[i]->name, NULL,
				 (double)d->clusters[i]->changes_applied);
}

static void m_state(struct strbuf *sb, const struct daemon *d)
{
	static const enum dsync syncs[] = {DSYNC_SYNCED, DSYNC_OUT_OF_SYNC,
					   DSYNC_UNKNOWN};
	static const enum dhealth healths[] = {
	    DHEALTH_HEALTHY, DHEALTH_PROGRESSING, DHEALTH_DEGRADED,
	    DHEALTH_UNKNOWN};

	m_family(sb, "dbops_cluster_sync_status", "gauge",
		 "1 for the sync status of a cluster (Synced, OutOfSync, "
		 "Unknown), 0 for the others.");
	for (size_t i = 0; i < d->nclusters; i++) {
		const struct dcluster *cl = d->clusters[i];
		enum dsync s = cl->st ? cl->st->sync : DSYNC_UNKNOWN;

		if (!m_present(cl))
			continue;
		for (size_t k = 0; k < 3; k++) {
			char l[64];

			snprintf(l, sizeof(l), "status=\"%s\"",
				 dsync_name(syncs[k]));
			m_sample(sb, "dbops_cluster_sync_status", cl->name, l,
				 s == syncs[k]);
		}
	}
	m_family(sb, "dbops_cluster_health_status", "gauge",
		 "1 for the health of a cluster (Healthy, Progressing, "
		 "Degraded, Unknown), 0 for the others.");
	for (size_t i = 0; i < d->nclusters; i++) {
		const struct dcluster *cl = d->clusters[i];
		enum dhealth h = cl->st ? cl->st->health : DHEALTH_UNKNOWN;

		if (!m_present(cl))
			continue;
		for (size_t k = 0; k < 4; k++) {
			char l[64];

			snprintf(l, sizeof(l), "status=\"%s\"",
				 dhealth_name(healths[k]));
			m_sample(sb, "dbops_cluster_health_status", cl->name, l,
				 h == healths[k]);
		}
	}
	m_family(sb, "dbops_cluster_drift_objects", "gauge",
		 "Objects of a cluster that differ from the spec at the last "
		 "pass, by plugin and drift policy (enforce: being applied "
		 "or waiting for a window; report: left alone).");
	for (size_t i = 0; i < d->nclusters; i++) {
		const struct dcluster *cl = d->clusters[i];

		if (!m_present(cl) || cl->st == NULL)
			continue;
		for (size_t k = 0; k < cl->st->ndrift; k++) {
			const struct ddrift *dd = &cl->st->drift[k];
			char l[200];

			snprintf(l, sizeof(l),
				 "plugin=\"%s\",policy=\"enforce\"",
				 dd->plugin);
			m_sample(sb, "dbops_cluster_drift_objects", cl->name, l,
				 dd->enforce);
			snprintf(l, sizeof(l),
				 "plugin=\"%s\",policy=\"report\"", dd->plugin);
			m_sample(sb, "dbops_cluster_drift_objects", cl->name, l,
				 dd->report);
		}
	}
	m_family(sb, "dbops_cluster_last_success_timestamp_seconds", "gauge",
		 "When a pass of a cluster last succeeded (by any daemon), in "
		 "seconds since the epoch; 0 if never.");
	for (size_t i = 0; i < d->nclusters; i++)
		if (m_present(d->clusters[i]))
			m_sample(
			    sb, "dbops_cluster_last_success_timestamp_seconds",
			    d->clusters[i]->name, NULL,
			    d->clusters[i]->st
				? (double)d->clusters[i]->st->last_success_at
				: 0);
	m_family(sb, "dbops_cluster_window_wait_until_timestamp_seconds",
		 "gauge",
		 "When the maintenance window that changes of a cluster wait "
		 "for opens; 0 when nothing waits.");
	for (size_t i = 0; i < d->nclusters; i++)
		if (m_present(d->clusters[i]))
			m_sample(
			    sb,
			    "dbops_cluster_window_wait_until_timestamp_seconds",
			    d->clusters[i]->name, NULL,
			    d->clusters[i]->st
				? (double)d->clusters[i]->st->waiting_until
				: 0);
}

static bool m_name_ok(const char *s)
{
	if (s == NULL || !((*s >= 'a' && *s <= 'z') ||
			   (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int m_cmp(const void *a, const void *b)
{
	const struct dmetric *x = *(const struct dmetric *const *)a;
	const struct dmetric *y = *(const struct dmetric *const *)b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x < y ? -1 : x > y);
}

/* What the plugins reported (replication lag, ...), one family per
 * name, each sample labelled with its cluster. */
static void m_plugins(struct strbuf *sb, const struct daemon *d)
{
	const struct dmetric **v;
	size_t n = 0, k = 0;

	for (size_t i = 0; i < d->nclusters; i++)
		if (d->clusters[i]->st != NULL)
			n += d->clusters[i]->st->nmetrics;
	if (n == 0)
		return;
	v = malloc(n * sizeof(*v));
	if (v == NULL)
		abort();
	for (size_t i = 0; i < d->nclusters; i++)
		for (size_t j = 0; d->clusters[i]->st != NULL &&
				   j < d->clusters[i]->st->nmetrics;
		     j++)
			if (m_name_ok(d->clusters[i]->st->metrics[j].name) &&
			    strncmp(d->clusters[i]->st->metrics[j].name,
				    "dbops_cluster_", 14) != 0 &&
			    strncmp(d->clusters[i]->st->metrics[j].name,
				    "dbops_daemon_", 13) != 0)
				v[k++] = &d->clusters[i]->st->metrics[j];
	qsort(v, k, sizeof(*v), m_cmp);
	for (size_t i = 0; i < k; i++) {
		if (i == 0 || strcmp(v[i]->name, v[i - 1]->name) != 0)
			m_family(sb, v[i]->name, "gauge",
				 v[i]->help[0] ? v[i]->help
					       : "Reported by a plugin.");
		strbuf_printf(sb, "%s{%s} %.17g\n", v[i]->name, v[i]->labels,
			      v[i]->value);
	}
	free(v);
}

void metrics_render(struct strbuf *sb, const struct daemon *d)
{
	m_daemon(sb, d);
	m_passes(sb, d);
	m_state(sb, d);
	m_plugins(sb, d);
}

/* ---- /status */

static void j_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static void j_time(json_object *o, const char *key, time_t t)
{
	char buf[32];
	struct tm tm;

	if (t <= 0) {
		json_object_object_add(o, key, NULL);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(o, key, json_object_new_string(buf));
}

void daemon_status_json(struct strbuf *sb, const struct daemon *d)
{
	json_object *root = json_object_new_object();
	json_object *arr = json_object_new_array();

	j_str(root, "identity", d->identity);
	j_str(root, "version", DBOPS_VERSION);
	j_str(root, "branch", d->branch);
	j_str(root, "commit", d->commit[0] ? d->commit : NULL);
	j_time(root, "fetched_at", d->fetched_at);
	j_str(root, "fetch_error", d->last_fetch_error);
	json_object_object_add(root, "ready",
			       json_object_new_boolean(d->ready));
	for (size_t i = 0; i < d->nclusters; i++) {
		const struct dcluster *cl = d->clusters[i];
		const struct dstatus *st = cl->st;
		json_object *o, *drift;

		if (!cl->present)
			continue;
		o = json_object_new_object();
		j_str(o, "cluster", cl->name);
		j_str(o, "sync", dsync_name(st ? st->sync : DSYNC_UNKNOWN));
		j_str(o, "health",
		      dhealth_name(st ? st->health : DHEALTH_UNKNOWN));
		j_str(o, "message", st ? st->message : NULL);
		j_str(o, "revision", st ? st->revision : NULL);
		j_str(o, "last_applied_revision", st ? st->last_applied : NULL);
		j_str(o, "last_attempted_revision",
		      st ? st->last_attempted : NULL);
		j_str(o, "last_error", st ? st->last_error : NULL);
		j_str(o, "by", st ? st->by : NULL);
		drift = json_object_new_object();
		json_object_object_add(
		    drift, "enforce",
		    json_object_new_int(st ? st->drift_enforce : 0));
		json_object_object_add(
		    drift, "report",
		    json_object_new_int(st ? st->drift_report : 0));
		json_object_object_add(o, "drift", drift);
		j_time(o, "waiting_until", st ? st->waiting_until : 0);
		j_time(o, "updated_at", st ? st->updated_at : 0);
		j_time(o, "next_pass", cl->next_pass);
		json_object_object_add(o, "running",
				       json_object_new_boolean(cl->running));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "clusters", arr);
	strbuf_puts(
	    sb, json_object_to_json_string_ext(
		    root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	strbuf_putc(sb, '\n');
	json_object_put(root);
}

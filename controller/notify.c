/* SPDX-License-Identifier: PostgreSQL */
/*
 * notify.c — notifications of state changes (a cluster's sync or health
 * changed, an apply failed, drift appeared) to the webhooks of the
 * configuration: a JSON document, or Slack's {"text": ...}, POSTed over
 * libcurl by one thread of its own, so a slow receiver never holds a
 * pass. Each event carries a stable key (no time, no duration: the same
 * state gives the same key) in the body and in X-Dbops-Event-Key, so a
 * receiver can drop a redelivery; the passes already send an event only
 * when its key differs from the one last sent (kept in the cluster, see
 * daemon_pass.c). A failed delivery (no answer, or a status other than
 * 2xx) is retried after the target's backoff, doubled each time, up to
 * its retries. The queue is bounded; an event that does not fit is
 * dropped and counted.
 */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"

#define NOTIFY_MAX_QUEUE 1000

struct nevent {
	char *url;
	char *body;
	char *key;
	bool slack;
	int retries;
	int attempt;
	double backoff;
	double due;
	struct nevent *next;
};

struct notifier {
	struct daemon *d;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct nevent *head;
	size_t n;
	bool stop;
	double deadline;
	bool started;
};

static double n_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void n_free(struct nevent *e)
{
	if (e == NULL)
		return;
	free(e->url);
	free(e->body);
	free(e->key);
	free(e);
}

static size_t n_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One delivery: the HTTP status, or 0 when nothing answered. */
static long n_post(const struct nevent *e)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *h = NULL;
	char keyh[600];
	long status = 0;

	if (curl == NULL)
		return 0;
	snprintf(keyh, sizeof(keyh), "X-Dbops-Event-Key: %s", e->key);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, keyh);
	curl_easy_setopt(curl, CURLOPT_URL, e->url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, e->body);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "dbops/" DBOPS_VERSION);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, n_discard);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	return status;
}

static void n_count(struct notifier *n, uint64_t *counter)
{
	pthread_mutex_lock(&n->d->mu);
	(*counter)++;
	pthread_mutex_unlock(&n->d->mu);
}

/* Under n->mu: the queued event due first, unlinked, or NULL. */
static struct nevent *n_take_due(struct notifier *n, double *next_due)
{
	struct nevent **best = NULL, *e;

	*next_due = 0;
	for (struct nevent **p = &n->head; *p != NULL; p = &(*p)->next)
		if (best == NULL || (*p)->due < (*best)->due)
			best = p;
	if (best == NULL)
		return NULL;
	if ((*best)->due > n_now()) {
		*next_due = (*best)->due;
		return NULL;
	}
	e = *best;
	*best = e->next;
	e->next = NULL;
	n->n--;
	return e;
}

static void *n_main(void *arg)
{
	struct notifier *n = arg;

	pthread_mutex_lock(&n->mu);
	for (;;) {
		double due;
		struct nevent *e;
		long status;

		if (n->stop && (n->head == NULL || n_now() > n->deadline))
			break;
		e = n_take_due(n, &due);
		if (e == NULL) {
			if (n->head == NULL) {
				pthread_cond_wait(&n->cv, &n->mu);
			} else {
				struct timespec ts;
				double until = n->stop && n->deadline < due
						   ? n->deadline
						   : due;

				ts.tv_sec = (time_t)until;
				ts.tv_nsec =
				    (long)((until - (double)ts.tv_sec) * 1e9);
				pthread_cond_timedwait(&n->cv, &n->mu, &ts);
			}
			continue;
		}
		pthread_mutex_unlock(&n->mu);
		status = n_post(e);
		if (status >= 200 && status < 300) {
			n_count(n, &n->d->notify_sent);
			dlog("info", NULL, "notified %s: %s", e->key,
			     e->slack ? "slack" : "json");
			n_free(e);
		} else if (++e->attempt > e->retries) {
			n_count(n, &n->d->notify_failed);
			dlog("error", NULL,
			     "could not deliver notification %s after %d "
			     "attempts (last: %s)",
			     e->key, e->attempt,
			     status ? "an HTTP error status" : "no answer");
			n_free(e);
		} else {
			double delay = e->backoff;

			for (int i = 1; i < e->attempt; i++)
				delay *= 2;
			e->due = n_now() + delay;
			dlog("warning", NULL,
			     "notification %s: attempt %d failed (HTTP %ld); "
			     "retrying in %.2fs",
			     e->key, e->attempt, status, delay);
			pthread_mutex_lock(&n->mu);
			e->next = n->head;
			n->head = e;
			n->n++;
			pthread_mutex_unlock(&n->mu);
		}
		pthread_mutex_lock(&n->mu);
	}
	while (n->head != NULL) {
		struct nevent *e = n->head;

		n->head = e->next;
		n_count(n, &n->d->notify_dropped);
		n_free(e);
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

int notifier_start(struct notifier **out, struct daemon *d)
{
	struct notifier *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return DBOPS_ERR_GENERIC;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	n->d = d;
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	if (pthread_create(&n->thread, NULL, n_main, n) != 0) {
		free(n);
		return DBOPS_ERR_GENERIC;
	}
	n->started = true;
	*out = n;
	return 0;
}

static char *n_body(const struct notify_target *t, const char *key,
		    const char *cluster, const char *event, const char *summary,
		    const char *fields, const char *identity)
{
	json_object *o = json_object_new_object();
	json_object *f = fields != NULL ? json_tokener_parse(fields) : NULL;
	char *s;

	if (t->slack) {
		char text[1200];

		snprintf(text, sizeof(text), "dbops: %s", summary);
		json_object_object_add(o, "text", json_object_new_string(text));
		json_object_put(f);
	} else {
		json_object_object_add(o, "key", json_object_new_string(key));
		json_object_object_add(o, "event",
				       json_object_new_string(event));
		json_object_object_add(o, "cluster",
				       json_object_new_string(cluster));
		json_object_object_add(o, "summary",
				       json_object_new_string(summary));
		json_object_object_add(o, "daemon",
				       json_object_new_string(identity));
		if (f != NULL)
			json_object_object_add(o, "state", f);
	}
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

void notifier_send(struct notifier *n, const struct daemon_config *cf,
		   const char *key, const char *cluster, const char *event,
		   const char *summary, const char *json_fields)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < cf->nnotify; i++) {
		const struct notify_target *t = &cf->notify[i];
		struct nevent *e = calloc(1, sizeof(*e));

		if (e == NULL)
			return;
		e->url = strdup(t->url);
		e->key = strdup(key);
		e->body = n_body(t, key, cluster, event, summary, json_fields,
				 n->d->identity);
		e->slack = t->slack;
		e->retries = t->retries;
		e->backoff = t->backoff_s;
		e->due = n_now();
		if (e->url == NULL || e->key == NULL || e->body == NULL) {
			n_free(e);
			return;
		}
		pthread_mutex_lock(&n->mu);
		if (n->n >= NOTIFY_MAX_QUEUE || n->stop) {
			pthread_mutex_unlock(&n->mu);
			n_count(n, &n->d->notify_dropped);
			n_free(e);
			continue;
		}
		e->next = n->head;
		n->head = e;
		n->n++;
		pthread_cond_signal(&n->cv);
		pthread_mutex_unlock(&n->mu);
	}
}

void notifier_stop(struct notifier *n, double grace_s)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	n->deadline = n_now() + grace_s;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
	if (n->started)
		pthread_join(n->thread, NULL);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	free(n);
	curl_global_cleanup();
}

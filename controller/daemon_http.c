/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon_http.c — the daemon's endpoint (libmicrohttpd, one internal
 * thread; loopback unless the configuration says otherwise; TLS when a
 * certificate and key are given):
 *
 *   GET  /livez      200 while the process runs
 *   GET  /readyz     200 once the repository was fetched, 503 before and
 *                    while stopping
 *   GET  /metrics    Prometheus text format 0.0.4
 *   GET  /status     the clusters' status, JSON
 *   POST /hooks/git  GitHub (X-Hub-Signature-256: HMAC-SHA256 of the
 *                    body) or GitLab (X-Gitlab-Token) push and pull
 *                    request events. The signature or token is checked
 *                    in constant time before the body is looked at: 401
 *                    and nothing else happens when it is wrong. A push to
 *                    the reconciled branch starts a pass of every cluster
 *                    at once (202); a push elsewhere is accepted and
 *                    ignored (202); a pull request is planned and the plan
 *                    posted when a forge is configured. Bodies over
 *                    http.max_body are refused (413) unread.
 *
 * The webhook secret is read from its reference on each delivery and is
 * never logged or echoed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "diag.h"
#include "secret.h"

struct dhttp {
	struct MHD_Daemon *mhd;
	struct daemon *d;
	int port;
	size_t max_body;
};

/* One request's body, as it arrives. */
struct dreq {
	struct strbuf body;
	bool too_big;
};

/* ---- signatures */

bool dhttp_github_signature_ok(const char *sig, const char *key,
			       const void *body, size_t len)
{
	unsigned char mac[EVP_MAX_MD_SIZE], given[32];
	unsigned int maclen = 0;

	if (sig == NULL || key == NULL || strncmp(sig, "sha256=", 7) != 0 ||
	    strlen(sig + 7) != 64)
		return false;
	for (int i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(sig + 7 + 2 * i, "%2x", &v) != 1)
			return false;
		given[i] = (unsigned char)v;
	}
	if (HMAC(EVP_sha256(), key, (int)strlen(key), body, len, mac,
		 &maclen) == NULL ||
	    maclen != 32)
		return false;
	return CRYPTO_memcmp(mac, given, 32) == 0;
}

bool dhttp_token_ok(const char *given, const char *key)
{
	unsigned char a[32], b[32];
	unsigned int n = 0;

	if (given == NULL || key == NULL)
		return false;
	/* digests of both: equal length, so the comparison leaks neither
	 * the position of a difference nor the secret's length */
	if (EVP_Digest(given, strlen(given), a, &n, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(key, strlen(key), b, &n, EVP_sha256(), NULL) != 1)
		return false;
	return CRYPTO_memcmp(a, b, 32) == 0;
}

/* ---- responses */

static enum MHD_Result dhttp_reply(struct MHD_Connection *c, unsigned status,
				   const char *type, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result dhttp_json(struct MHD_Connection *c, unsigned status,
				  const char *state, const char *reason)
{
	json_object *o = json_object_new_object();
	enum MHD_Result ret;

	json_object_object_add(o, "status", json_object_new_string(state));
	if (reason != NULL)
		json_object_object_add(o, "reason",
				       json_object_new_string(reason));
	ret = dhttp_reply(
	    c, status, "application/json",
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return ret;
}

static void dhttp_count(struct daemon *d, uint64_t *counter)
{
	pthread_mutex_lock(&d->mu);
	(*counter)++;
	pthread_mutex_unlock(&d->mu);
}

/* ---- the webhook */

static const char *dhttp_jstr(json_object *o, const char *path)
{
	char buf[128];
	const char *p = path;

	while (o != NULL && *p != '\0') {
		size_t n = strcspn(p, ".");

		snprintf(buf, sizeof(buf), "%.*s", (int)n, p);
		if (!json_object_object_get_ex(o, buf, &o))
			return NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return o != NULL ? json_object_get_string(o) : NULL;
}

/* A push event: the branch decides. */
static enum MHD_Result dhttp_push(struct MHD_Connection *c, struct dhttp *h,
				  const struct daemon_config *cf,
				  json_object *body)
{
	const char *ref = dhttp_jstr(body, "ref");
	char want[300];

	snprintf(want, sizeof(want), "refs/heads/%s", cf->branch);
	if (ref == NULL || strcmp(ref, want) != 0) {
		dhttp_count(h->d, &h->d->webhooks_ignored);
		return dhttp_json(c, MHD_HTTP_ACCEPTED, "ignored",
				  "a push to another branch");
	}
	dhttp_count(h->d, &h->d->webhooks_accepted);
	dlog("info", NULL, "webhook: push to %s", cf->branch);
	daemon_trigger(h->d);
	return dhttp_json(c, MHD_HTTP_ACCEPTED, "accepted", NULL);
}

/* A pull request (GitHub) or merge request (GitLab) event. */
static enum MHD_Result dhttp_pull(struct MHD_Connection *c, struct dhttp *h,
				  const struct daemon_config *cf,
				  json_object *body, bool gitlab)
{
	const char *action =
	    dhttp_jstr(body, gitlab ? "object_attributes.action" : "action");
	const char *num =
	    dhttp_jstr(body, gitlab ? "object_attributes.iid" : "number");
	const char *head =
	    dhttp_jstr(body, gitlab ? "object_attributes.last_commit.id"
				    : "pull_request.head.sha");
	bool wanted = action != NULL &&
		      (gitlab ? strcmp(action, "open") == 0 ||
				    strcmp(action, "update") == 0 ||
				    strcmp(action, "reopen") == 0
			      : strcmp(action, "opened") == 0 ||
				    strcmp(action, "synchronize") == 0 ||
				    strcmp(action, "reopened") == 0);
	long n = num != NULL ? strtol(num, NULL, 10) : 0;

	if (cf->forge == FORGE_NONE || !wanted || n <= 0) {
		dhttp_count(h->d, &h->d->webhooks_ignored);
		return dhttp_json(c, MHD_HTTP_ACCEPTED, "ignored",
				  cf->forge == FORGE_NONE
				      ? "no forge is configured"
				      : "nothing to plan for this action");
	}
	if (!daemon_review(h->d, n, head)) {
		dhttp_count(h->d, &h->d->webhooks_ignored);
		return dhttp_json(c, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
				  "too many pull requests waiting");
	}
	dhttp_count(h->d, &h->d->webhooks_accepted);
	dlog("info", NULL, "webhook: pull request %ld", n);
	return dhttp_json(c, MHD_HTTP_ACCEPTED, "accepted", NULL);
}

static enum MHD_Result dhttp_hook(struct MHD_Connection *c, struct dhttp *h,
				  struct dreq *rq)
{
	struct dconf *cf = daemon_conf_get(h->d);
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      "X-Hub-Signature-256");
	const char *token =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Gitlab-Token");
	const char *gh_event =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-GitHub-Event");
	const char *gl_event =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Gitlab-Event");
	const char *key = NULL;
	json_object *body = NULL;
	enum MHD_Result ret;
	bool ok;

	if (!cf->c.has_webhook_secret) {
		ret = dhttp_json(c, MHD_HTTP_FORBIDDEN, "refused",
				 "webhooks are not configured "
				 "(http.webhook_secret)");
		goto done;
	}
	if (rq->too_big) {
		dhttp_count(h->d, &h->d->webhooks_refused);
		ret = dhttp_json(c, MHD_HTTP_CONTENT_TOO_LARGE, "refused",
				 "the body is larger than http.max_body");
		goto done;
	}
	if (secret_read(&key, a, &diags, &cf->c.webhook_secret) != 0) {
		dlog("error", NULL, "webhook: %s", diags.head->message);
		ret = dhttp_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "error",
				 "the webhook secret could not be read");
		goto done;
	}
	ok = sig != NULL
		 ? dhttp_github_signature_ok(
		       sig, key, rq->body.buf ? rq->body.buf : "", rq->body.len)
	     : token != NULL ? dhttp_token_ok(token, key)
			     : false;
	if (!ok) {
		dhttp_count(h->d, &h->d->webhooks_refused);
		dlog("warning", NULL, "webhook refused: %s",
		     sig != NULL     ? "bad X-Hub-Signature-256"
		     : token != NULL ? "bad X-Gitlab-Token"
				     : "no signature");
		ret = dhttp_json(c, MHD_HTTP_UNAUTHORIZED, "refused",
				 "bad or missing signature");
		goto done;
	}
	if (gh_event != NULL && strcmp(gh_event, "ping") == 0) {
		ret = dhttp_json(c, MHD_HTTP_OK, "pong", NULL);
		goto done;
	}
	body = json_tokener_parse(rq->body.buf ? rq->body.buf : "");
	if (body == NULL || !json_object_is_type(body, json_type_object)) {
		ret = dhttp_json(c, MHD_HTTP_BAD_REQUEST, "refused",
				 "the body is not a JSON object");
		goto done;
	}
	if ((gh_event != NULL && strcmp(gh_event, "push") == 0) ||
	    (gl_event != NULL && strcmp(gl_event, "Push Hook") == 0))
		ret = dhttp_push(c, h, &cf->c, body);
	else if (gh_event != NULL && strcmp(gh_event, "pull_request") == 0)
		ret = dhttp_pull(c, h, &cf->c, body, false);
	else if (gl_event != NULL &&
		 strcmp(gl_event, "Merge Request Hook") == 0)
		ret = dhttp_pull(c, h, &cf->c, body, true);
	else {
		dhttp_count(h->d, &h->d->webhooks_ignored);
		ret = dhttp_json(c, MHD_HTTP_ACCEPTED, "ignored",
				 "an event dbops does not act on");
	}
done:
	json_object_put(body);
	arena_free(a);
	daemon_conf_put(h->d, cf);
	return ret;
}

/* ---- dispatch */

static enum MHD_Result dhttp_get(struct MHD_Connection *c, struct dhttp *h,
				 const char *url)
{
	struct daemon *d = h->d;
	struct strbuf sb;
	enum MHD_Result ret;

	if (strcmp(url, "/livez") == 0)
		return dhttp_reply(c, MHD_HTTP_OK, "text/plain", "ok\n");
	if (strcmp(url, "/readyz") == 0) {
		bool ready, stopping;

		pthread_mutex_lock(&d->mu);
		ready = d->ready;
		stopping = d->stopping;
		pthread_mutex_unlock(&d->mu);
		if (ready && !stopping)
			return dhttp_reply(c, MHD_HTTP_OK, "text/plain",
					   "ok\n");
		return dhttp_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "text/plain",
				   stopping ? "stopping\n"
					    : "the repository was not fetched "
					      "yet\n");
	}
	if (strcmp(url, "/metrics") == 0 || strcmp(url, "/status") == 0) {
		bool metrics = strcmp(url, "/metrics") == 0;

		strbuf_init(&sb);
		pthread_mutex_lock(&d->mu);
		if (metrics)
			metrics_render(&sb, d);
		else
			daemon_status_json(&sb, d);
		pthread_mutex_unlock(&d->mu);
		ret = dhttp_reply(c, MHD_HTTP_OK,
				  metrics ? "text/plain; version=0.0.4; "
					    "charset=utf-8"
					  : "application/json",
				  sb.buf ? sb.buf : "");
		strbuf_dispose(&sb);
		return ret;
	}
	if (strcmp(url, "/") == 0)
		return dhttp_reply(
		    c, MHD_HTTP_OK, "text/html; charset=utf-8",
		    "<html><head><title>dbops daemon</title></head><body>"
		    "<h1>dbops daemon</h1><ul><li><a href=\"metrics\">metrics"
		    "</a></li><li><a href=\"status\">status</a></li><li><a "
		    "href=\"livez\">livez</a></li><li><a href=\"readyz\">"
		    "readyz</a></li></ul></body></html>\n");
	return dhttp_reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n");
}

static enum MHD_Result dhttp_handle(void *cls, struct MHD_Connection *c,
				    const char *url, const char *method,
				    const char *version,
				    const char *upload_data,
				    size_t *upload_data_size, void **con_cls)
{
	struct dhttp *h = cls;
	struct dreq *rq = *con_cls;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;

	(void)version;
	if (rq == NULL) {
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		strbuf_init(&rq->body);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (rq->body.len + *upload_data_size > h->max_body)
			rq->too_big = true;
		else if (post)
			strbuf_add(&rq->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/hooks/git") == 0) {
		if (!post)
			return dhttp_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					   "text/plain", "use POST\n");
		return dhttp_hook(c, h, rq);
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return dhttp_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
				   "use GET\n");
	return dhttp_get(c, h, url);
}

static void dhttp_done(void *cls, struct MHD_Connection *c, void **con_cls,
		       enum MHD_RequestTerminationCode code)
{
	struct dreq *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)code;
	if (rq != NULL) {
		strbuf_dispose(&rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/* A PEM file of the configuration (trusted: read as given). */
static const char *dhttp_pem(struct arena *a, struct dbops_diag_list *diags,
			     const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, NULL,
			 "could not open \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	buf = arena_alloc(a, 1024 * 1024 + 1);
	n = fread(buf, 1, 1024 * 1024, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

int dhttp_start(struct dhttp **out, struct daemon *d,
		const struct daemon_config *c, struct dbops_diag_list *diags,
		struct arena *a)
{
	struct dhttp *h = arena_alloc(a, sizeof(*h));
	struct sockaddr_in sin;
	unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD;
	const char *cert = NULL, *key = NULL;
	const union MHD_DaemonInfo *info;

	*out = NULL;
	h->d = d;
	h->max_body = c->max_body;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)c->listen_port);
	if (inet_pton(AF_INET, c->listen_host, &sin.sin_addr) != 1) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			 "http.listen must name an IPv4 address, got \"%s\"",
			 c->listen_host)
		    ->hint = "Write 127.0.0.1:9187 (the default), or "
			     "0.0.0.0:9187 for every interface.";
		return DBOPS_ERR_INVALID;
	}
	if (c->tls_cert != NULL) {
		cert = dhttp_pem(a, diags, c->tls_cert);
		key = dhttp_pem(a, diags, c->tls_key);
		if (cert == NULL || key == NULL)
			return DBOPS_ERR_INVALID;
		flags |= MHD_USE_TLS;
	}
	h->mhd = cert != NULL
		     ? MHD_start_daemon(
			   flags, 0, NULL, NULL, dhttp_handle, h,
			   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
			   MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
			   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
			   MHD_OPTION_NOTIFY_COMPLETED, dhttp_done, NULL,
			   MHD_OPTION_HTTPS_MEM_CERT, cert,
			   MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END)
		     : MHD_start_daemon(
			   flags, 0, NULL, NULL, dhttp_handle, h,
			   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
			   MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
			   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
			   MHD_OPTION_NOTIFY_COMPLETED, dhttp_done, NULL,
			   MHD_OPTION_END);
	if (h->mhd == NULL) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			 "could not listen on %s:%d", c->listen_host,
			 c->listen_port)
		    ->hint = "Another process may use the port; change "
			     "http.listen, or set http.enabled: false.";
		return DBOPS_ERR_GENERIC;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL ? info->port : c->listen_port;
	dlog("info", NULL, "listening on %s://%s:%d", cert ? "https" : "http",
	     c->listen_host, h->port);
	*out = h;
	return 0;
}

int dhttp_port(const struct dhttp *h)
{
	return h->port;
}

void dhttp_stop(struct dhttp *h)
{
	if (h != NULL && h->mhd != NULL)
		MHD_stop_daemon(h->mhd);
}

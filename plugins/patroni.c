/* SPDX-License-Identifier: PostgreSQL */
/*
 * patroni.c — the REST client of patroni.h: requests through libcurl,
 * answers parsed with json-c into arena structures, every field checked.
 * It knows Patroni 3.0.2's shapes (GET /cluster from utils.cluster_as_json,
 * GET /config, GET /history, POST /switchover, POST /restart, PATCH
 * /config) and nothing of the plugins that use it. It does not retry
 * anything but a PATCH that lost a compare-and-set race (409).
 */
#include "patroni.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One HTTP exchange. */
struct patroni_response {
	bool reached; /* the request may have arrived (not a refused connect) */
	const char *error; /* libcurl's reason when no answer came */
	long status;
	const char *body; /* arena, NUL-terminated */
	const char *url;  /* the full URL, for messages */
};

struct patroni_buf {
	char *data;
	size_t len;
	bool too_big;
};

static size_t patroni_write_cb(char *ptr, size_t size, size_t nmemb,
			       void *userdata)
{
	struct patroni_buf *b = userdata;
	size_t n = size * nmemb;
	char *grown;

	if (b->len + n > PATRONI_BODY_MAX) {
		b->too_big = true;
		return 0;
	}
	grown = realloc(b->data, b->len + n + 1);
	if (grown == NULL)
		abort(); /* allocation failure aborts (STYLE.md) */
	b->data = grown;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* A base URL without its trailing slashes. */
static const char *patroni_base(struct dbops_ctx *ctx, const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return dbops_host(ctx)->printf(ctx, "%.*s", (int)n, url);
}

bool patroni_url_valid(const char *url, const char **why)
{
	const char *p, *host;

	*why = NULL;
	if (strlen(url) > PATRONI_URL_MAX)
		*why = "it is too long";
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		*why = "it must start with http:// or https://";
	if (*why != NULL)
		return false;
	if (*host == '\0' || *host == '/' || *host == ':')
		*why = "it names no host";
	for (p = host; *why == NULL && *p != '\0'; p++) {
		if (*p == '@')
			*why =
			    "credentials belong in username and password, not in the URL";
		else if (*p == '?' || *p == '#')
			*why = "it may not hold a query or a fragment";
		else if ((unsigned char)*p <= ' ' || *p == 0x7f)
			*why = "it holds a blank or a control character";
	}
	return *why == NULL;
}

static void patroni_unreached(struct dbops_ctx *ctx,
			      const struct patroni_response *r)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d =
	    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
		    "could not reach Patroni at \"%s\": %s", r->url,
		    r->error != NULL ? r->error : "no answer");

	if (r->reached)
		h->diag_detail(
		    ctx, d,
		    "The request may have arrived: it is not sent again.");
	h->diag_hint(
	    ctx, d, "Check replicas.patroni.urls and that Patroni runs there.");
}

/*
 * One request to base+path. 0 when an HTTP answer came (any status), or
 * DBOPS_ERR_TRANSIENT with a diagnostic when none did.
 */
static int patroni_http(struct patroni_response *out, struct dbops_ctx *ctx,
			const struct patroni_endpoint *ep, const char *method,
			const char *base, const char *path, const char *body,
			bool auth, bool quiet, long timeout_ms)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct patroni_buf buf = {NULL, 0, false};
	struct curl_slist *headers = NULL;
	const char *password = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *curl = NULL;
	CURLcode rc;
	int err = 0;

	out->url = h->printf(ctx, "%s%s", patroni_base(ctx, base), path);
	out->status = 0;
	out->body = "";
	out->error = NULL;
	out->reached = false;
	if (auth && ep->password != NULL &&
	    (err = h->secret_read(&password, ctx, ep->password)) != 0)
		return err;
	if ((curl = curl_easy_init()) == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not initialise libcurl");
		return DBOPS_ERR_GENERIC;
	}
	curl_easy_setopt(curl, CURLOPT_URL, out->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
			 timeout_ms > ep->timeout_ms ? timeout_ms
						     : ep->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 ep->timeout_ms < 3000 ? ep->timeout_ms : 3000L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ep->cafile != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, ep->cafile);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, patroni_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "dbops");
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		headers = curl_slist_append(headers,
					    "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	}
	if (auth && ep->username != NULL) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, ep->username);
		curl_easy_setopt(curl, CURLOPT_PASSWORD,
				 password != NULL ? password : "");
	}
	rc = curl_easy_perform(curl);
	out->reached = rc != CURLE_COULDNT_CONNECT &&
		       rc != CURLE_COULDNT_RESOLVE_HOST &&
		       rc != CURLE_COULDNT_RESOLVE_PROXY;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
		out->body = h->strdup(ctx, buf.data != NULL ? buf.data : "");
	} else {
		out->error = h->strdup(
		    ctx, buf.too_big	     ? "the answer is larger than 4 MiB"
			 : errbuf[0] != '\0' ? errbuf
					     : curl_easy_strerror(rc));
		if (!quiet)
			patroni_unreached(ctx, out);
	}
	if (rc != CURLE_OK)
		err = DBOPS_ERR_TRANSIENT;
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(buf.data);
	return err;
}

/* The first line of Patroni's answer, cut, for a message. */
static const char *patroni_said(struct dbops_ctx *ctx, const char *body)
{
	size_t n = strcspn(body, "\r\n");

	if (n > 200)
		n = 200;
	return dbops_host(ctx)->printf(ctx, "%.*s", (int)n, body);
}

/* A status that is not the success expected, as a diagnostic. */
static int patroni_status_error(struct dbops_ctx *ctx, const char *method,
				const struct patroni_response *r)
{
	const struct dbops_host *h = dbops_host(ctx);
	int code = r->status == 401 || r->status == 403	  ? DBOPS_ERR_INVALID
		   : r->status == 409 || r->status == 412 ? DBOPS_ERR_CONFLICT
		   : r->status == 503			  ? DBOPS_ERR_TRANSIENT
							  : DBOPS_ERR_GENERIC;
	struct dbops_diag *d = h->diag(ctx, DBOPS_SEV_ERROR, code, NULL,
				       "Patroni refused %s %s with status %ld",
				       method, r->url, r->status);

	if (r->body[0] != '\0')
		h->diag_detail(ctx, d, "Patroni said: %s",
			       patroni_said(ctx, r->body));
	if (code == DBOPS_ERR_INVALID)
		h->diag_hint(
		    ctx, d,
		    "Check replicas.patroni.username and password against restapi.authentication of Patroni, and its allowlist.");
	else if (r->status == 409)
		h->diag_hint(
		    ctx, d, "The configuration changed meanwhile; plan again.");
	return code;
}

/* GET path from the first endpoint that answers 200. */
static int patroni_get(struct patroni_response *out, struct dbops_ctx *ctx,
		       const struct patroni_endpoint *ep, const char *path)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *tried = NULL;
	int err = DBOPS_ERR_TRANSIENT;

	for (size_t i = 0; i < ep->nurls; i++) {
		err = patroni_http(out, ctx, ep, "GET", ep->urls[i], path, NULL,
				   false, true, 0);
		if (err == 0 && out->status == 200)
			return 0;
		tried = h->printf(
		    ctx, "%s%s\"%s\" (%s)", tried ? tried : "",
		    tried ? ", " : "", out->url,
		    err != 0 ? "no answer"
			     : h->printf(ctx, "status %ld", out->status));
	}
	{
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_TRANSIENT, NULL,
			    "no Patroni endpoint answered GET %s", path);

		if (tried != NULL)
			h->diag_detail(ctx, d, "Tried %s.", tried);
		h->diag_hint(
		    ctx, d,
		    "Check replicas.patroni.urls and that Patroni runs there.");
	}
	return DBOPS_ERR_TRANSIENT;
}

/* ---- JSON, every field checked */

struct patroni_json {
	struct dbops_ctx *ctx;
	const char *url;
	int err;
};

static void patroni_bad(struct patroni_json *j, const char *field,
			const char *expected)
{
	const struct dbops_host *h = dbops_host(j->ctx);

	if (j->err == 0)
		h->diag(j->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"unexpected answer from %s: field \"%s\" %s", j->url,
			field, expected);
	j->err = DBOPS_ERR_GENERIC;
}

static json_object *patroni_parse(struct patroni_json *j, const char *text)
{
	const struct dbops_host *h = dbops_host(j->ctx);
	json_tokener *tok = json_tokener_new();
	json_object *o;
	enum json_tokener_error jerr;

	if (tok == NULL)
		abort();
	o = json_tokener_parse_ex(tok, text, (int)strlen(text));
	jerr = json_tokener_get_error(tok);
	if (o == NULL || jerr != json_tokener_success ||
	    tok->char_offset != (int)strlen(text)) {
		h->diag(j->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			"could not parse the answer of %s: %s", j->url,
			jerr != json_tokener_success
			    ? json_tokener_error_desc(jerr)
			    : "trailing data after the JSON value");
		json_object_put(o);
		o = NULL;
		j->err = DBOPS_ERR_GENERIC;
	}
	json_tokener_free(tok);
	return o;
}

/* A string field; NULL when absent (and not required) or mistyped. */
static const char *patroni_str(struct patroni_json *j, json_object *obj,
			       const char *key, const char *field,
			       bool required)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		if (required)
			patroni_bad(j, field, "is missing");
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		patroni_bad(j, field, "is not a string");
		return NULL;
	}
	return dbops_host(j->ctx)->strdup(j->ctx, json_object_get_string(v));
}

/* An integer field (Patroni also stores numbers as strings of digits);
 * `dflt` when absent; *present says whether it was there. */
static int64_t patroni_int(struct patroni_json *j, json_object *obj,
			   const char *key, const char *field, int64_t dflt,
			   bool *present)
{
	json_object *v;
	const char *s;
	char *end;
	long long n;

	if (present != NULL)
		*present = false;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return dflt;
	if (present != NULL)
		*present = true;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		n = strtoll(s, &end, 10);
		if (end != s && *end == '\0')
			return n;
	}
	patroni_bad(j, field, "is not an integer");
	return dflt;
}

static bool patroni_bool(struct patroni_json *j, json_object *obj,
			 const char *key, const char *field, bool dflt,
			 bool *present)
{
	json_object *v;

	if (present != NULL)
		*present = false;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return dflt;
	if (present != NULL)
		*present = true;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	patroni_bad(j, field, "is not a boolean");
	return dflt;
}

/* A tag: Patroni accepts true and the strings true/yes/on. */
static bool patroni_tag(json_object *tags, const char *key)
{
	json_object *v;
	const char *s;

	if (tags == NULL || !json_object_object_get_ex(tags, key, &v) ||
	    v == NULL)
		return false;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	return strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 ||
	       strcmp(s, "on") == 0;
}

static void patroni_parse_member(struct patroni_member *m,
				 struct patroni_json *j, json_object *o,
				 size_t i)
{
	const struct dbops_host *h = dbops_host(j->ctx);
	const char *f = h->printf(j->ctx, "members[%zu]", i);
	json_object *v, *tags = NULL;

	if (!json_object_is_type(o, json_type_object)) {
		patroni_bad(j, f, "is not an object");
		return;
	}
	m->name =
	    patroni_str(j, o, "name", h->printf(j->ctx, "%s.name", f), true);
	m->role =
	    patroni_str(j, o, "role", h->printf(j->ctx, "%s.role", f), true);
	m->state =
	    patroni_str(j, o, "state", h->printf(j->ctx, "%s.state", f), true);
	if (json_object_object_get_ex(o, "api_url", &v) && v != NULL)
		m->api_url = patroni_str(
		    j, o, "api_url", h->printf(j->ctx, "%s.api_url", f), true);
	m->host =
	    patroni_str(j, o, "host", h->printf(j->ctx, "%s.host", f), false);
	m->port = (int)patroni_int(j, o, "port",
				   h->printf(j->ctx, "%s.port", f), 0, NULL);
	m->timeline = patroni_int(
	    j, o, "timeline", h->printf(j->ctx, "%s.timeline", f), -1, NULL);
	m->pending_restart = patroni_bool(
	    j, o, "pending_restart", h->printf(j->ctx, "%s.pending_restart", f),
	    false, NULL);
	if (json_object_object_get_ex(o, "scheduled_restart", &v) &&
	    v != NULL) {
		json_object *at;

		if (json_object_object_get_ex(v, "schedule", &at) &&
		    json_object_is_type(at, json_type_string))
			m->scheduled_restart =
			    h->strdup(j->ctx, json_object_get_string(at));
		else
			m->scheduled_restart = "yes";
	}
	m->lag = -1;
	if (json_object_object_get_ex(o, "lag", &v) && v != NULL) {
		if (json_object_is_type(v, json_type_int))
			m->lag = json_object_get_int64(v);
		else if (!json_object_is_type(v, json_type_string) ||
			 strcmp(json_object_get_string(v), "unknown") != 0)
			patroni_bad(j, h->printf(j->ctx, "%s.lag", f),
				    "is neither a number nor \"unknown\"");
	}
	if (json_object_object_get_ex(o, "tags", &tags) && tags != NULL &&
	    !json_object_is_type(tags, json_type_object)) {
		patroni_bad(j, h->printf(j->ctx, "%s.tags", f),
			    "is not an object");
		tags = NULL;
	}
	m->nofailover = patroni_tag(tags, "nofailover");
	m->noloadbalance = patroni_tag(tags, "noloadbalance");
	m->nosync = patroni_tag(tags, "nosync");
}

int patroni_parse_cluster(struct patroni_cluster **out, struct dbops_ctx *ctx,
			  const char *json, const char *url)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct patroni_json j = {ctx, url, 0};
	struct patroni_cluster *c = h->alloc(ctx, sizeof(*c));
	json_object *root = patroni_parse(&j, json), *members, *sw;
	size_t n;

	*out = c;
	c->url = url;
	if (root == NULL)
		return j.err;
	if (!json_object_is_type(root, json_type_object)) {
		patroni_bad(&j, "(the answer)", "is not an object");
		goto done;
	}
	if (!json_object_object_get_ex(root, "members", &members) ||
	    !json_object_is_type(members, json_type_array)) {
		patroni_bad(&j, "members", "is missing or not an array");
		goto done;
	}
	n = json_object_array_length(members);
	c->members = h->alloc(ctx, (n + 1) * sizeof(*c->members));
	for (size_t i = 0; i < n && j.err == 0; i++)
		patroni_parse_member(&c->members[i], &j,
				     json_object_array_get_idx(members, i), i);
	c->nmembers = n;
	c->pause = patroni_bool(&j, root, "pause", "pause", false, NULL);
	if (json_object_object_get_ex(root, "scheduled_switchover", &sw) &&
	    sw != NULL) {
		c->switchover_at =
		    patroni_str(&j, sw, "at", "scheduled_switchover.at", true);
		c->switchover_from = patroni_str(
		    &j, sw, "from", "scheduled_switchover.from", false);
		c->switchover_to =
		    patroni_str(&j, sw, "to", "scheduled_switchover.to", false);
	}
done:
	json_object_put(root);
	return j.err;
}

/* A parameter's JSON value as the text PostgreSQL would read. */
static const char *patroni_value_text(struct patroni_json *j, json_object *v,
				      const char *name)
{
	const struct dbops_host *h = dbops_host(j->ctx);

	switch (json_object_get_type(v)) {
	case json_type_string:
		return h->strdup(j->ctx, json_object_get_string(v));
	case json_type_int:
		return h->printf(j->ctx, "%lld",
				 (long long)json_object_get_int64(v));
	case json_type_double:
		return h->strdup(j->ctx, json_object_get_string(v));
	case json_type_boolean:
		return json_object_get_boolean(v) ? "on" : "off";
	case json_type_null:
		return NULL; /* removed: Patroni ignores it */
	default:
		break;
	}
	patroni_bad(j, h->printf(j->ctx, "postgresql.parameters.%s", name),
		    "is not a scalar");
	return NULL;
}

static void patroni_parse_pg(struct patroni_config *cfg, struct patroni_json *j,
			     json_object *pg)
{
	const struct dbops_host *h = dbops_host(j->ctx);
	json_object *params;
	bool present;
	size_t n = 0;

	if (!json_object_is_type(pg, json_type_object)) {
		patroni_bad(j, "postgresql", "is not an object");
		return;
	}
	cfg->use_slots = patroni_bool(j, pg, "use_slots",
				      "postgresql.use_slots", true, &present);
	if (present)
		cfg->set |= PATRONI_SET_USE_SLOTS;
	if (!json_object_object_get_ex(pg, "parameters", &params) ||
	    params == NULL)
		return;
	if (!json_object_is_type(params, json_type_object)) {
		patroni_bad(j, "postgresql.parameters", "is not an object");
		return;
	}
	cfg->params =
	    h->alloc(j->ctx, ((size_t)json_object_object_length(params) + 1) *
				 sizeof(*cfg->params));
	json_object_object_foreach(params, key, val)
	{
		const char *text = patroni_value_text(j, val, key);

		if (text == NULL)
			continue;
		cfg->params[n].name = h->strdup(j->ctx, key);
		cfg->params[n].value = text;
		n++;
	}
	cfg->nparams = n;
}

int patroni_parse_config(struct patroni_config **out, struct dbops_ctx *ctx,
			 const char *json, const char *url)
{
	static const struct {
		const char *key;
		unsigned bit;
		size_t off;
		int64_t dflt;
	} ints[] = {
	    {"synchronous_node_count", PATRONI_SET_SYNC_COUNT,
	     offsetof(struct patroni_config, synchronous_node_count), 1},
	    {"maximum_lag_on_failover", PATRONI_SET_MAX_LAG,
	     offsetof(struct patroni_config, maximum_lag_on_failover), 1048576},
	    {"ttl", PATRONI_SET_TTL, offsetof(struct patroni_config, ttl), 30},
	    {"loop_wait", PATRONI_SET_LOOP_WAIT,
	     offsetof(struct patroni_config, loop_wait), 10},
	    {"retry_timeout", 0, offsetof(struct patroni_config, retry_timeout),
	     10},
	    {"primary_start_timeout", PATRONI_SET_START_TO,
	     offsetof(struct patroni_config, primary_start_timeout), 300},
	};
	const struct dbops_host *h = dbops_host(ctx);
	struct patroni_json j = {ctx, url, 0};
	struct patroni_config *cfg = h->alloc(ctx, sizeof(*cfg));
	json_object *root = patroni_parse(&j, json), *pg;
	bool present;

	*out = cfg;
	cfg->url = url;
	cfg->use_slots = true;
	if (root == NULL)
		return j.err;
	if (!json_object_is_type(root, json_type_object)) {
		patroni_bad(&j, "(the answer)", "is not an object");
		goto done;
	}
	cfg->synchronous_mode = patroni_bool(
	    &j, root, "synchronous_mode", "synchronous_mode", false, &present);
	cfg->set |= present ? PATRONI_SET_SYNC_MODE : 0;
	cfg->synchronous_mode_strict =
	    patroni_bool(&j, root, "synchronous_mode_strict",
			 "synchronous_mode_strict", false, &present);
	cfg->set |= present ? PATRONI_SET_SYNC_STRICT : 0;
	cfg->pause = patroni_bool(&j, root, "pause", "pause", false, &present);
	cfg->set |= present ? PATRONI_SET_PAUSE : 0;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		int64_t *field = (int64_t *)(void *)((char *)cfg + ints[i].off);
		bool is_set;

		*field = patroni_int(&j, root, ints[i].key, ints[i].key,
				     ints[i].dflt, &is_set);
		/* the old name of primary_start_timeout */
		if (!is_set && ints[i].bit == PATRONI_SET_START_TO)
			*field = patroni_int(&j, root, "master_start_timeout",
					     "master_start_timeout",
					     ints[i].dflt, &is_set);
		if (is_set)
			cfg->set |= ints[i].bit;
	}
	if (json_object_object_get_ex(root, "postgresql", &pg) && pg != NULL)
		patroni_parse_pg(cfg, &j, pg);
done:
	json_object_put(root);
	return j.err;
}

int patroni_parse_history(struct patroni_switch **out, struct dbops_ctx *ctx,
			  const char *json, const char *url)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct patroni_json j = {ctx, url, 0};
	json_object *root = patroni_parse(&j, json), *last, *v;
	struct patroni_switch *s;
	size_t n;

	*out = NULL;
	if (root == NULL)
		return j.err;
	if (!json_object_is_type(root, json_type_array)) {
		patroni_bad(&j, "(the answer)", "is not an array");
		goto done;
	}
	n = json_object_array_length(root);
	if (n == 0)
		goto done;
	last = json_object_array_get_idx(root, n - 1);
	if (!json_object_is_type(last, json_type_array) ||
	    json_object_array_length(last) < 2 ||
	    !json_object_is_type(json_object_array_get_idx(last, 0),
				 json_type_int) ||
	    !json_object_is_type(json_object_array_get_idx(last, 1),
				 json_type_int)) {
		patroni_bad(&j, h->printf(ctx, "[%zu]", n - 1),
			    "is not [timeline, lsn, ...]");
		goto done;
	}
	s = h->alloc(ctx, sizeof(*s));
	s->timeline = json_object_get_int64(json_object_array_get_idx(last, 0));
	s->lsn =
	    (uint64_t)json_object_get_int64(json_object_array_get_idx(last, 1));
	v = json_object_array_length(last) >= 5
		? json_object_array_get_idx(last, 4)
		: NULL;
	if (v != NULL && json_object_is_type(v, json_type_string))
		s->leader = h->strdup(ctx, json_object_get_string(v));
	*out = s;
done:
	json_object_put(root);
	return j.err;
}

int patroni_get_cluster(struct patroni_cluster **out, struct dbops_ctx *ctx,
			const struct patroni_endpoint *ep)
{
	struct patroni_response r;
	int err;

	*out = NULL;
	if ((err = patroni_get(&r, ctx, ep, "/cluster")) != 0)
		return err;
	return patroni_parse_cluster(
	    out, ctx, r.body, dbops_host(ctx)->printf(ctx, "GET %s", r.url));
}

int patroni_get_config(struct patroni_config **out, struct dbops_ctx *ctx,
		       const struct patroni_endpoint *ep)
{
	struct patroni_response r;
	int err;

	*out = NULL;
	if ((err = patroni_get(&r, ctx, ep, "/config")) != 0)
		return err;
	return patroni_parse_config(
	    out, ctx, r.body, dbops_host(ctx)->printf(ctx, "GET %s", r.url));
}

int patroni_get_last_switch(struct patroni_switch **out, struct dbops_ctx *ctx,
			    const struct patroni_endpoint *ep)
{
	struct patroni_response r;
	int err;

	*out = NULL;
	if ((err = patroni_get(&r, ctx, ep, "/history")) != 0)
		return err;
	return patroni_parse_history(
	    out, ctx, r.body, dbops_host(ctx)->printf(ctx, "GET %s", r.url));
}

const struct patroni_member *
patroni_member_find(const struct patroni_cluster *c, const char *name)
{
	for (size_t i = 0; c != NULL && i < c->nmembers; i++)
		if (c->members[i].name != NULL &&
		    strcmp(c->members[i].name, name) == 0)
			return &c->members[i];
	return NULL;
}

const struct patroni_member *patroni_leader(const struct patroni_cluster *c)
{
	for (size_t i = 0; c != NULL && i < c->nmembers; i++)
		if (c->members[i].role != NULL &&
		    (strcmp(c->members[i].role, "leader") == 0 ||
		     strcmp(c->members[i].role, "standby_leader") == 0))
			return &c->members[i];
	return NULL;
}

const char *patroni_param(const struct patroni_config *cfg, const char *name)
{
	for (size_t i = 0; cfg != NULL && i < cfg->nparams; i++)
		if (strcmp(cfg->params[i].name, name) == 0)
			return cfg->params[i].value;
	return NULL;
}

bool patroni_state_running(const char *state)
{
	return state != NULL && (strcmp(state, "running") == 0 ||
				 strcmp(state, "streaming") == 0);
}

/* ---- PATCH /config */

enum patroni_kind { PATRONI_BOOL, PATRONI_INT, PATRONI_STR, PATRONI_NULL };

struct patroni_entry {
	int level; /* 0 top, 1 postgresql, 2 postgresql.parameters */
	const char *key;
	enum patroni_kind kind;
	bool b;
	int64_t i;
	const char *s;
	struct patroni_entry *next;
};

struct patroni_patch {
	struct dbops_ctx *ctx;
	struct patroni_entry *head, *tail;
};

struct patroni_patch *patroni_patch_new(struct dbops_ctx *ctx)
{
	struct patroni_patch *p = dbops_host(ctx)->alloc(ctx, sizeof(*p));

	p->ctx = ctx;
	return p;
}

static struct patroni_entry *patroni_entry(struct patroni_patch *p, int level,
					   const char *key,
					   enum patroni_kind kind)
{
	const struct dbops_host *h = dbops_host(p->ctx);
	struct patroni_entry *e = h->alloc(p->ctx, sizeof(*e));

	e->level = level;
	e->key = h->strdup(p->ctx, key);
	e->kind = kind;
	if (p->tail != NULL)
		p->tail->next = e;
	else
		p->head = e;
	p->tail = e;
	return e;
}

void patroni_patch_bool(struct patroni_patch *p, const char *key, bool v)
{
	patroni_entry(p, 0, key, PATRONI_BOOL)->b = v;
}

void patroni_patch_int(struct patroni_patch *p, const char *key, int64_t v)
{
	patroni_entry(p, 0, key, PATRONI_INT)->i = v;
}

void patroni_patch_pg_bool(struct patroni_patch *p, const char *key, bool v)
{
	patroni_entry(p, 1, key, PATRONI_BOOL)->b = v;
}

void patroni_patch_param(struct patroni_patch *p, const char *name,
			 const char *value)
{
	struct patroni_entry *e = patroni_entry(
	    p, 2, name, value != NULL ? PATRONI_STR : PATRONI_NULL);

	if (value != NULL)
		e->s = dbops_host(p->ctx)->strdup(p->ctx, value);
}

static json_object *patroni_child(json_object *parent, const char *key)
{
	json_object *o;

	if (json_object_object_get_ex(parent, key, &o))
		return o;
	o = json_object_new_object();
	json_object_object_add(parent, key, o);
	return o;
}

const char *patroni_patch_text(struct patroni_patch *p)
{
	json_object *root = json_object_new_object();
	const char *text;

	for (const struct patroni_entry *e = p->head; e != NULL; e = e->next) {
		json_object *at = root, *v = NULL;

		if (e->level >= 1)
			at = patroni_child(root, "postgresql");
		if (e->level == 2)
			at = patroni_child(at, "parameters");
		switch (e->kind) {
		case PATRONI_BOOL:
			v = json_object_new_boolean(e->b);
			break;
		case PATRONI_INT:
			v = json_object_new_int64(e->i);
			break;
		case PATRONI_STR:
			v = json_object_new_string(e->s);
			break;
		case PATRONI_NULL:
			v = NULL;
			break;
		}
		json_object_object_add(at, e->key, v);
	}
	text = dbops_host(p->ctx)->strdup(
	    p->ctx,
	    json_object_to_json_string_ext(
		root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return text;
}

/*
 * An unsafe request to the first endpoint that takes the connection. It
 * goes to the next endpoint only when the connection was refused (or the
 * answer was 503, "not now"): a request that may have arrived is never
 * sent twice (a switchover that timed out may have happened).
 */
static int patroni_send(struct patroni_response *r, struct dbops_ctx *ctx,
			const struct patroni_endpoint *ep, const char *method,
			const char *path, const char *body, long timeout_ms)
{
	int err = DBOPS_ERR_TRANSIENT;

	for (size_t i = 0; i < ep->nurls; i++) {
		bool last = i + 1 == ep->nurls;

		err = patroni_http(r, ctx, ep, method, ep->urls[i], path, body,
				   true, true, timeout_ms);
		if (err == 0 && (r->status != 503 || last))
			return 0;
		if (err != 0 &&
		    (err != DBOPS_ERR_TRANSIENT || r->reached || last)) {
			if (err == DBOPS_ERR_TRANSIENT)
				patroni_unreached(ctx, r);
			return err;
		}
	}
	return err;
}

int patroni_patch_config(struct patroni_config **after, struct dbops_ctx *ctx,
			 const struct patroni_endpoint *ep,
			 struct patroni_patch *p)
{
	const char *body = patroni_patch_text(p);
	struct patroni_response r;
	int err;

	if (after != NULL)
		*after = NULL;
	for (int attempt = 0;; attempt++) {
		if ((err = patroni_send(&r, ctx, ep, "PATCH", "/config", body,
					0)) != 0)
			return err;
		if (r.status == 200)
			break;
		if (r.status != 409 || attempt >= 3)
			return patroni_status_error(ctx, "PATCH", &r);
	}
	if (after == NULL)
		return 0;
	return patroni_parse_config(
	    after, ctx, r.body,
	    dbops_host(ctx)->printf(ctx, "PATCH %s", r.url));
}

int patroni_switchover(const char **message, int *status_out,
		       struct dbops_ctx *ctx, const struct patroni_endpoint *ep,
		       const char *leader, const char *candidate,
		       const char *scheduled_at)
{
	json_object *o = json_object_new_object();
	struct patroni_response r;
	const char *body;
	int err;

	json_object_object_add(o, "leader", json_object_new_string(leader));
	if (candidate != NULL)
		json_object_object_add(o, "candidate",
				       json_object_new_string(candidate));
	if (scheduled_at != NULL)
		json_object_object_add(o, "scheduled_at",
				       json_object_new_string(scheduled_at));
	body = dbops_host(ctx)->strdup(
	    ctx, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	*message = "";
	*status_out = 0;
	/* Patroni answers once it is done: up to 2 * max(10 s, loop_wait) */
	if ((err = patroni_send(&r, ctx, ep, "POST", "/switchover", body,
				180000L)) != 0)
		return err;
	*status_out = (int)r.status;
	*message = patroni_said(ctx, r.body);
	if (r.status == 200 || r.status == 202)
		return 0;
	return patroni_status_error(ctx, "POST", &r);
}

const char *patroni_member_base(struct dbops_ctx *ctx,
				const struct patroni_endpoint *ep,
				const struct patroni_member *m)
{
	const char *base, *suffix = "/patroni";
	size_t n;

	if (m->api_url == NULL)
		return NULL;
	base = patroni_base(ctx, m->api_url);
	n = strlen(base);
	if (n > strlen(suffix) &&
	    strcmp(base + n - strlen(suffix), suffix) == 0)
		base = dbops_host(ctx)->printf(ctx, "%.*s",
					       (int)(n - strlen(suffix)), base);
	for (size_t i = 0; i < ep->nurls; i++)
		if (strcmp(patroni_base(ctx, ep->urls[i]), base) == 0)
			return base;
	return NULL;
}

int patroni_restart(struct dbops_ctx *ctx, const struct patroni_endpoint *ep,
		    const struct patroni_member *m)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *base = patroni_member_base(ctx, ep, m);
	struct patroni_response r;
	int err;

	if (base == NULL) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		    "the REST API of member \"%s\" is not among replicas.patroni.urls",
		    m->name);

		h->diag_detail(ctx, d, "Patroni gives its address as \"%s\".",
			       m->api_url != NULL ? m->api_url : "(none)");
		h->diag_hint(
		    ctx, d,
		    "dbops sends credentials only to the URLs of the spec: list every member's REST API there.");
		return DBOPS_ERR_INVALID;
	}
	if ((err = patroni_http(&r, ctx, ep, "POST", base, "/restart",
				"{\"restart_pending\":true}", true, false,
				180000L)) != 0)
		return err;
	if (r.status == 200)
		return 0;
	return patroni_status_error(ctx, "POST", &r);
}

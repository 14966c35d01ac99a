/* SPDX-License-Identifier: PostgreSQL */
/*
 * forge.c — GitHub and GitLab over libcurl; see forge.h. Every call is
 * one request with a 30 s limit; a status other than 2xx is an error
 * naming the method, the path and the status, with the forge's own
 * message when it sent one (the token scrubbed, should it appear).
 */
#include "forge.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "strbuf.h"

#define FORGE_MAX_RESPONSE (8 * 1024 * 1024)
#define FORGE_MAX_PAGES	   50

static size_t forge_collect(char *p, size_t size, size_t n, void *arg)
{
	struct strbuf *sb = arg;

	if (sb->len + size * n > FORGE_MAX_RESPONSE)
		return 0;
	strbuf_add(sb, p, size * n);
	return size * n;
}

/* A message that never holds the token. */
static const char *forge_scrub(struct forge *f, const char *s)
{
	char *out;
	size_t tl;

	if (s == NULL || f->token == NULL || (tl = strlen(f->token)) == 0)
		return s;
	out = arena_strdup(f->a, s);
	for (char *p = strstr(out, f->token); p != NULL;
	     p = strstr(p, f->token))
		memset(p, '*', tl);
	return out;
}

/* The project part of a GitLab path: "group/name" URL-encoded. */
static const char *forge_project(struct forge *f)
{
	struct strbuf sb;

	strbuf_init(&sb);
	for (const char *s = f->repo; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-_.~", *s))
			strbuf_putc(&sb, *s);
		else
			strbuf_printf(&sb, "%%%02X", (unsigned char)*s);
	}
	return strbuf_finish(&sb, f->a);
}

/*
 * One request: METHOD path (below the API root), a JSON body or NULL.
 * *out receives the parsed response (NULL when empty), owned by the
 * caller (json_object_put).
 */
static int forge_call(json_object **out, struct forge *f, const char *method,
		      const char *path, json_object *body)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *h = NULL;
	struct strbuf resp;
	const char *url = arena_printf(f->a, "%s%s", f->url, path);
	const char *payload =
	    body != NULL
		? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN)
		: NULL;
	long status = 0;
	CURLcode rc;
	struct dbops_diag *d;

	*out = NULL;
	if (curl == NULL)
		arena_oom();
	strbuf_init(&resp);
	if (f->kind == FORGE_GITHUB) {
		h = curl_slist_append(
		    h,
		    arena_printf(f->a, "Authorization: Bearer %s", f->token));
		h = curl_slist_append(h, "Accept: application/vnd.github+json");
		h = curl_slist_append(h, "X-GitHub-Api-Version: 2022-11-28");
	} else {
		h = curl_slist_append(
		    h, arena_printf(f->a, "PRIVATE-TOKEN: %s", f->token));
	}
	if (payload != NULL)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (payload != NULL)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "dbops/" DBOPS_VERSION);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, forge_collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK) {
		d = diag_add(f->diags, f->a, DBOPS_SEV_ERROR,
			     DBOPS_ERR_TRANSIENT, NULL,
			     "could not reach the forge: %s %s", method, path);
		d->detail = forge_scrub(f, curl_easy_strerror(rc));
		strbuf_dispose(&resp);
		return DBOPS_ERR_TRANSIENT;
	}
	if (resp.len > 0)
		*out = json_tokener_parse(resp.buf);
	strbuf_dispose(&resp);
	if (status < 200 || status > 299) {
		const char *msg = NULL;
		json_object *m;

		if (*out != NULL &&
		    json_object_object_get_ex(*out, "message", &m))
			msg = json_object_get_string(m);
		d = diag_add(f->diags, f->a, DBOPS_SEV_ERROR,
			     status == 401 || status == 403 ? DBOPS_ERR_INVALID
							    : DBOPS_ERR_GENERIC,
			     NULL, "the forge refused %s %s: HTTP %ld", method,
			     path, status);
		if (msg != NULL)
			d->detail = arena_printf(f->a, "The forge said: %s",
						 forge_scrub(f, msg));
		if (status == 401 || status == 403)
			d->hint = "Check forge.token in the configuration: it "
				  "needs to read pull requests and write "
				  "comments and commit statuses.";
		json_object_put(*out);
		*out = NULL;
		return d->code;
	}
	return 0;
}

static const char *forge_str(json_object *o, const char *a, const char *b)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b != NULL && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_get_string(v);
}

int forge_pr(struct forge_pr *out, struct forge *f, long number)
{
	json_object *o = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	err = forge_call(
	    &o, f, "GET",
	    f->kind == FORGE_GITHUB
		? arena_printf(f->a, "/repos/%s/pulls/%ld", f->repo, number)
		: arena_printf(f->a, "/projects/%s/merge_requests/%ld",
			       forge_project(f), number),
	    NULL);
	if (err != 0)
		return err;
	out->head = arena_strdup(f->a, f->kind == FORGE_GITHUB
					   ? forge_str(o, "head", "sha")
					   : forge_str(o, "sha", NULL));
	out->base =
	    arena_strdup(f->a, f->kind == FORGE_GITHUB
				   ? forge_str(o, "base", "ref")
				   : forge_str(o, "target_branch", NULL));
	json_object_put(o);
	if (out->head == NULL || out->base == NULL) {
		diag_add(f->diags, f->a, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC,
			 NULL,
			 "the forge's answer about request %ld has no head "
			 "commit or base branch",
			 number);
		return DBOPS_ERR_GENERIC;
	}
	return 0;
}

int forge_status(struct forge *f, const char *sha, const char *state,
		 const char *description)
{
	json_object *body = json_object_new_object(), *o = NULL;
	char desc[141];
	int err;

	/* GitHub keeps 140 characters of a description */
	snprintf(desc, sizeof(desc), "%s", description);
	if (f->kind == FORGE_GITLAB && strcmp(state, "failure") == 0)
		state = "failed";
	json_object_object_add(body, "state", json_object_new_string(state));
	json_object_object_add(body,
			       f->kind == FORGE_GITHUB ? "context" : "name",
			       json_object_new_string(f->context));
	json_object_object_add(body, "description",
			       json_object_new_string(desc));
	err = forge_call(
	    &o, f, "POST",
	    f->kind == FORGE_GITHUB
		? arena_printf(f->a, "/repos/%s/statuses/%s", f->repo, sha)
		: arena_printf(f->a, "/projects/%s/statuses/%s",
			       forge_project(f), sha),
	    body);
	json_object_put(body);
	json_object_put(o);
	return err;
}

/* The id of dbops' comment (the one holding the marker), or NULL. */
static int forge_find_comment(const char **id, struct forge *f, long number)
{
	*id = NULL;
	for (int page = 1; page <= FORGE_MAX_PAGES && *id == NULL; page++) {
		json_object *arr = NULL;
		size_t n;
		int err = forge_call(
		    &arr, f, "GET",
		    f->kind == FORGE_GITHUB
			? arena_printf(f->a,
				       "/repos/%s/issues/%ld/comments?"
				       "per_page=100&page=%d",
				       f->repo, number, page)
			: arena_printf(f->a,
				       "/projects/%s/merge_requests/%ld/"
				       "notes?per_page=100&page=%d",
				       forge_project(f), number, page),
		    NULL);

		if (err != 0)
			return err;
		if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
			json_object_put(arr);
			return 0;
		}
		n = json_object_array_length(arr);
		for (size_t i = 0; i < n && *id == NULL; i++) {
			json_object *c = json_object_array_get_idx(arr, i);
			const char *body = forge_str(c, "body", NULL);

			if (body != NULL && strstr(body, FORGE_MARKER) != NULL)
				*id = arena_strdup(f->a,
						   forge_str(c, "id", NULL));
		}
		json_object_put(arr);
		if (n < 100)
			break;
	}
	return 0;
}

int forge_comment(struct forge *f, long number, const char *text)
{
	json_object *body = json_object_new_object(), *o = NULL;
	const char *id;
	int err;

	if ((err = forge_find_comment(&id, f, number)) != 0) {
		json_object_put(body);
		return err;
	}
	json_object_object_add(body, "body", json_object_new_string(text));
	if (f->kind == FORGE_GITHUB)
		err = forge_call(
		    &o, f, id != NULL ? "PATCH" : "POST",
		    id != NULL
			? arena_printf(f->a, "/repos/%s/issues/comments/%s",
				       f->repo, id)
			: arena_printf(f->a, "/repos/%s/issues/%ld/comments",
				       f->repo, number),
		    body);
	else
		err = forge_call(
		    &o, f, id != NULL ? "PUT" : "POST",
		    id != NULL
			? arena_printf(
			      f->a, "/projects/%s/merge_requests/%ld/notes/%s",
			      forge_project(f), number, id)
			: arena_printf(f->a,
				       "/projects/%s/merge_requests/%ld/notes",
				       forge_project(f), number),
		    body);
	json_object_put(body);
	json_object_put(o);
	return err;
}

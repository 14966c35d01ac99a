/* SPDX-License-Identifier: PostgreSQL */
/*
 * planfile.c — saved plans; see planfile.h.
 */
#include "planfile.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "fileio.h"

#define PLANFILE_MAX (64u * 1024 * 1024)

int planfile_write(const char *path, struct pass *p, const struct pass_opts *o)
{
	struct strbuf sb;
	json_object *doc, *saved;
	const char *text;
	int err;

	strbuf_init(&sb);
	plan_render_json(&sb, &p->plan);
	doc = json_tokener_parse(sb.buf);
	strbuf_dispose(&sb);
	if (doc == NULL)
		arena_oom();
	saved = json_object_new_object();
	json_object_object_add(saved, "kind",
			       json_object_new_string(PLANFILE_KIND));
	if (o->source.dir != NULL)
		json_object_object_add(saved, "dir",
				       json_object_new_string(o->source.dir));
	/* the origin as the revision records it: a password in a URL is
	 * redacted there, and credentials come from the environment */
	if (o->source.repo != NULL && p->plan.revision != NULL)
		json_object_object_add(
		    saved, "repo",
		    json_object_new_string(p->plan.revision->origin));
	if (o->cluster != NULL)
		json_object_object_add(saved, "cluster",
				       json_object_new_string(o->cluster));
	json_object_object_add(doc, "saved", saved);
	text = arena_printf(p->a, "%s\n",
			    json_object_to_json_string_ext(
				doc, JSON_C_TO_STRING_PRETTY |
					 JSON_C_TO_STRING_SPACED |
					 JSON_C_TO_STRING_NOSLASHESCAPE));

	err = fileio_write_atomic(p->a, &p->diags, path, text, strlen(text),
				  0600);
	json_object_put(doc);
	return err;
}

static void json_put_deferred(void *p)
{
	json_object_put(p);
}

static const char *get_str(json_object *o, const char *key, struct arena *a)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return arena_strdup(a, json_object_get_string(v));
}

static int bad_file(struct dbops_diag_list *diags, struct arena *a,
		    const char *path, const char *why)
{
	struct dbops_diag *d =
	    diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		     "\"%s\" is not a dbops plan file", path);

	d->detail = arena_strdup(a, why);
	d->hint = "Create one with: dbops plan --out FILE.";
	return DBOPS_ERR_INVALID;
}

int planfile_read(struct planfile *out, struct arena *a,
		  struct dbops_diag_list *diags, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	json_object *doc, *saved, *rev, *changes;
	const char *commit, *kind, *fv;

	memset(out, 0, sizeof(*out));
	if (f == NULL) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, NULL,
			 "could not open plan file \"%s\": %s", path,
			 strerror(errno));
		return DBOPS_ERR_NOTFOUND;
	}
	buf = arena_alloc(a, PLANFILE_MAX + 1);
	n = fread(buf, 1, PLANFILE_MAX + 1, f);
	fclose(f);
	if (n > PLANFILE_MAX)
		return bad_file(diags, a, path, "The file is too large.");
	buf[n] = '\0';
	doc = json_tokener_parse(buf);
	if (doc == NULL)
		return bad_file(diags, a, path, "The file is not valid JSON.");
	arena_defer(a, json_put_deferred, doc);
	if (!json_object_object_get_ex(doc, "saved", &saved) ||
	    (kind = get_str(saved, "kind", a)) == NULL ||
	    strcmp(kind, PLANFILE_KIND) != 0)
		return bad_file(
		    diags, a, path,
		    "It has no \"saved\" section of kind \"dbops-plan\".");
	fv = get_str(doc, "format_version", a);
	if (fv == NULL || strncmp(fv, "1.", 2) != 0)
		return bad_file(diags, a, path,
				"Its format_version is not 1.x.");
	if (!json_object_object_get_ex(doc, "revision", &rev) ||
	    !json_object_object_get_ex(doc, "changes", &changes))
		return bad_file(diags, a, path,
				"It has no revision or no changes.");
	out->opts.source.dir = get_str(saved, "dir", a);
	out->opts.source.repo = get_str(saved, "repo", a);
	out->opts.cluster = get_str(saved, "cluster", a);
	commit = get_str(rev, "commit", a);
	if (out->opts.source.repo != NULL)
		out->opts.source.rev = commit;
	out->ref = get_str(rev, "ref", a);
	out->source_fingerprint = get_str(rev, "fingerprint", a);
	out->live_fingerprint = get_str(doc, "live_fingerprint", a);
	out->changes_json = arena_strdup(
	    a, json_object_to_json_string_ext(changes, JSON_C_TO_STRING_PLAIN));
	out->json = buf;
	return 0;
}

int planfile_check(const struct planfile *pf, struct pass *p)
{
	struct dbops_diag *d;
	const char *now;

	if (pf->source_fingerprint == NULL ||
	    strcmp(pf->source_fingerprint, p->plan.source_fingerprint) != 0) {
		d = diag_add(
		    &p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
		    "saved plan is stale: the spec has changed since it was made");
		d->detail = arena_printf(
		    p->a,
		    "The plan was made from %s; the source now reads as %s.",
		    pf->source_fingerprint ? pf->source_fingerprint
					   : "(unknown)",
		    p->plan.source_fingerprint);
		d->hint =
		    "Make a new plan with dbops plan --out FILE and review it.";
		return DBOPS_ERR_CONFLICT;
	}
	if (pf->live_fingerprint == NULL ||
	    strcmp(pf->live_fingerprint, p->plan.live_fingerprint) != 0) {
		d = diag_add(
		    &p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
		    "saved plan is stale: the cluster has changed since it was made");
		d->detail =
		    "The live state dbops observed differs from the state the plan was computed from, so the reviewed plan may no longer be what would happen.";
		d->hint =
		    "Make a new plan with dbops plan --out FILE and review it.";
		return DBOPS_ERR_CONFLICT;
	}
	now = plan_changes_json(&p->plan, p->a);
	if (strcmp(now, pf->changes_json) != 0) {
		d = diag_add(
		    &p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_CONFLICT, NULL,
		    "saved plan is stale: planning again gives different changes");
		d->hint =
		    "Make a new plan with dbops plan --out FILE and review it.";
		return DBOPS_ERR_CONFLICT;
	}
	return 0;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * review.c — plans on pull requests: `dbops review --pr N` in CI, and the
 * daemon on a pull-request webhook. The request's head is planned for
 * every cluster of the fleet against the trusted configuration — its
 * connections, and the trust keys of the base branch (trusted_rev of the
 * configuration, else the request's base), so a request cannot point
 * dbops elsewhere — and the markdown plans are posted as one comment,
 * updated in place on later pushes (found by a hidden marker), with a
 * commit status: pending while planning, then success with "N to add, N
 * to change, N to destroy", or failure with the error.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "daemon_int.h"
#include "diag.h"
#include "forge.h"
#include "pass.h"
#include "secret.h"
#include "spec.h"

/* GitHub keeps 65,536 characters of a comment. */
#define REVIEW_MAX_COMMENT 65000

struct review {
	const struct daemon_config *c;
	struct registry *reg;
	struct arena *a;
	struct dbops_diag_list *diags;
	struct forge f;
	long number;
	const char *head;
	const char *base; /* the trusted revision */
	struct strbuf body;
	struct plan_counts total;
	int failed;
	const char *first_error;
};

static const char *review_error(struct arena *a,
				const struct dbops_diag_list *l)
{
	for (const struct dbops_diag *e = l->head; e != NULL; e = e->next)
		if (e->severity == DBOPS_SEV_ERROR) {
			if (e->loc.file != NULL)
				return arena_printf(a, "%s:%u:%u: %s",
						    e->loc.file, e->loc.line,
						    e->loc.col, e->message);
			return arena_strdup(a, e->message);
		}
	return "failed without a message";
}

/* One cluster: its section of the comment. */
static void review_cluster(struct review *r, const char *name)
{
	struct pass p;
	struct pass_opts po = {0};
	int err;

	po.source.repo = r->c->url;
	po.source.rev = r->head;
	po.source.no_fetch = true;
	po.source.cache_dir = r->c->cache_dir;
	po.source.subdir = r->c->path;
	po.source.base = r->base; /* lint what the request changed */
	po.cluster = name[0] != '\0' ? name : NULL;
	po.config = &r->c->base;
	po.trusted_rev = r->base;
	pass_init(&p, r->reg);
	if ((err = pass_load(&p, &po)) == 0 &&
	    (err = pass_connect(&p, &po)) == 0 && (err = pass_plan(&p)) == 0) {
		struct plan_counts k = plan_count(&p.plan);
		struct strbuf md;

		r->total.add += k.add;
		r->total.change += k.change;
		r->total.destroy += k.destroy;
		strbuf_init(&md);
		plan_render_markdown(&md, &p.plan);
		strbuf_puts(&r->body, md.buf);
		strbuf_puts(&r->body, "\n");
		strbuf_dispose(&md);
	} else {
		const char *e = review_error(r->a, &p.diags);
		const char *shown = name[0] != '\0'	  ? name
				    : p.spec.name != NULL ? p.spec.name
							  : "default";

		r->failed++;
		if (r->first_error == NULL)
			r->first_error = arena_printf(r->a, "%s: %s", shown, e);
		strbuf_printf(&r->body,
			      "#### dbops plan: cluster `%s`\n\n**The plan "
			      "failed.**\n\n```\n",
			      shown);
		for (const struct dbops_diag *d = p.diags.head; d != NULL;
		     d = d->next) {
			char *buf = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);

			diag_print(f, d);
			fclose(f);
			strbuf_puts(&r->body, buf);
			free(buf);
		}
		strbuf_puts(&r->body, "```\n\n");
	}
	pass_dispose(&p);
}

/* Fetch the head (a fork's too) and read the fleet at it. */
static int review_fleet(struct review *r, const char ***names, size_t *n)
{
	struct source_opts o = {0};
	struct source *src;
	const char *data;
	size_t len;
	const struct dbops_node *root;
	struct spec_fleet fleet;
	int err;

	o.repo = r->c->url;
	o.rev = r->head;
	o.cache_dir = r->c->cache_dir;
	o.subdir = r->c->path;
	o.git_user = r->c->git_user;
	o.git_ssh_key = r->c->ssh_key;
	o.fetch_extra =
	    arena_printf(r->a,
			 r->c->forge == FORGE_GITLAB
			     ? "+refs/merge-requests/%ld/head:refs/dbops/pr/%ld"
			     : "+refs/pull/%ld/head:refs/dbops/pr/%ld",
			 r->number, r->number);
	if ((r->c->has_token && (err = secret_read(&o.git_token, r->a, r->diags,
						   &r->c->token)) != 0) ||
	    (err = source_open(&src, r->a, r->diags, &o)) != 0)
		return err;
	if (r->c->fleet_explicit) {
		*names =
		    arena_alloc(r->a, (r->c->nclusters + 1) * sizeof(char *));
		for (size_t i = 0; i < r->c->nclusters; i++)
			(*names)[i] = r->c->clusters[i].name;
		*n = r->c->nclusters;
		return 0;
	}
	if (!source_exists(src, "dbops.yaml")) {
		*names = arena_alloc(r->a, 2 * sizeof(char *));
		(*names)[0] = "";
		*n = 1;
		return 0;
	}
	if ((err = source_read(&data, &len, src, r->diags, "dbops.yaml")) ||
	    (err = spec_parse(&root, r->a, r->diags, "dbops.yaml", data, len,
			      &spec_default_limits)) ||
	    (err = spec_fleet_read(&fleet, r->diags, r->a, root)))
		return err;
	*names = arena_alloc(r->a, (fleet.n + 1) * sizeof(char *));
	for (size_t i = 0; i < fleet.n; i++)
		(*names)[i] = fleet.members[i].name;
	*n = fleet.n;
	return 0;
}

static void review_compose(struct review *r, struct strbuf *out)
{
	strbuf_printf(out, "%s\n### dbops plan for #%ld at `%.12s`\n\n",
		      FORGE_MARKER, r->number, r->head);
	if (r->failed > 0)
		strbuf_printf(out,
			      "> [!CAUTION]\n> The plan failed for %d "
			      "cluster%s.\n\n",
			      r->failed, r->failed == 1 ? "" : "s");
	else
		strbuf_printf(out,
			      "**Plan: %d to add, %d to change, %d to "
			      "destroy.**\n\n",
			      r->total.add, r->total.change, r->total.destroy);
	if (r->body.len > REVIEW_MAX_COMMENT) {
		strbuf_add(out, r->body.buf, REVIEW_MAX_COMMENT);
		strbuf_puts(out, "\n\n*The plan is too long for a comment; "
				 "run dbops plan for all of it.*\n");
	} else if (r->body.buf != NULL) {
		strbuf_puts(out, r->body.buf);
	}
}

int review_run(const struct daemon_config *c, struct registry *reg, long number,
	       const char *head, struct arena *a, struct dbops_diag_list *diags,
	       FILE *out)
{
	struct review r;
	struct forge_pr pr;
	const char **names = NULL;
	size_t n = 0;
	struct strbuf text;
	int err;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.reg = reg;
	r.a = a;
	r.diags = diags;
	r.number = number;
	strbuf_init(&r.body);
	if (c->forge == FORGE_NONE || !c->has_source) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			 "the configuration has no %s section",
			 c->has_source ? "forge" : "source")
		    ->hint = "dbops review needs source: {url, branch} and "
			     "forge: {kind, repository, token} in the "
			     "configuration file (--config).";
		return DBOPS_ERR_INVALID;
	}
	r.f.kind = c->forge;
	r.f.url = c->forge_url;
	r.f.repo = c->forge_repo;
	r.f.context = c->forge_context;
	r.f.a = a;
	r.f.diags = diags;
	if ((err = secret_read(&r.f.token, a, diags, &c->forge_token)) != 0 ||
	    (err = forge_pr(&pr, &r.f, number)) != 0)
		return err;
	r.head = head != NULL ? head : pr.head;
	r.base = c->base.trusted_rev != NULL ? c->base.trusted_rev : pr.base;
	if ((err = forge_status(&r.f, r.head, "pending",
				"dbops is planning")) != 0)
		return err;
	if ((err = review_fleet(&r, &names, &n)) != 0) {
		const char *e = review_error(a, diags);

		forge_status(&r.f, r.head, "failure", e);
		return err;
	}
	for (size_t i = 0; i < n; i++)
		review_cluster(&r, names[i]);
	strbuf_init(&text);
	review_compose(&r, &text);
	if (out != NULL)
		fputs(text.buf, out);
	err = forge_comment(&r.f, number, text.buf);
	strbuf_dispose(&text);
	strbuf_dispose(&r.body);
	if (err == 0)
		err = r.failed > 0
			  ? forge_status(&r.f, r.head, "failure", r.first_error)
			  : forge_status(
				&r.f, r.head, "success",
				arena_printf(a,
					     "%d to add, %d to change, %d to "
					     "destroy",
					     r.total.add, r.total.change,
					     r.total.destroy));
	else
		forge_status(&r.f, r.head, "failure",
			     "dbops could not post the plan");
	if (err == 0 && r.failed > 0) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, NULL,
			 "the plan failed for %d cluster%s", r.failed,
			 r.failed == 1 ? "" : "s")
		    ->detail = arena_printf(a, "%s.", r.first_error);
		err = DBOPS_ERR_GENERIC;
	}
	return err;
}

static const char review_usage[] =
    "Usage: dbops review --pr N [OPTIONS]\n"
    "\n"
    "Plan a pull request's head for every cluster of the fleet, against the\n"
    "trusted configuration, and post the plan as one comment on the request\n"
    "(updated in place on later pushes) with a commit status.\n"
    "\n"
    "Options:\n"
    "  --pr N               the pull (merge) request\n"
    "  --forge KIND         github or gitlab (default forge.kind)\n"
    "  --rev SHA            the head to plan (default: the forge's)\n"
    "  --config FILE        the configuration (default $DBOPS_CONFIG): source,\n"
    "                       forge, clusters' connections\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit codes: 0 posted, 1 an error (the plan of a cluster failed, or the\n"
    "forge refused).\n";

int review_main(int argc, char **argv, struct registry *reg)
{
	static const struct option opts[] = {
	    {"pr", required_argument, NULL, 'p'},
	    {"forge", required_argument, NULL, 'f'},
	    {"rev", required_argument, NULL, 'r'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	struct daemon_config c;
	const char *config = NULL, *forge = NULL, *rev = NULL;
	long number = 0;
	char *end;
	int ch, err;

	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			number = strtol(optarg, &end, 10);
			if (*end != '\0' || number <= 0) {
				fputs("ERROR:  invalid --pr\nHINT:  Give the "
				      "number of the pull request.\n",
				      stderr);
				arena_free(a);
				return 1;
			}
			break;
		case 'f':
			forge = optarg;
			break;
		case 'r':
			rev = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(review_usage, stdout);
			arena_free(a);
			return 0;
		default:
			fputs("HINT:  Run \"dbops review --help\" for the "
			      "options.\n",
			      stderr);
			arena_free(a);
			return 1;
		}
	}
	if (number == 0) {
		fputs("ERROR:  --pr is required\nHINT:  Run \"dbops review "
		      "--help\" for the options.\n",
		      stderr);
		arena_free(a);
		return 1;
	}
	if (daemon_config_load(&c, a, &diags, config) != 0) {
		diag_print_list(stderr, &diags);
		arena_free(a);
		return 1;
	}
	if (forge != NULL) {
		enum forge_kind k = strcmp(forge, "github") == 0 ? FORGE_GITHUB
				    : strcmp(forge, "gitlab") == 0
					? FORGE_GITLAB
					: FORGE_NONE;

		if (k == FORGE_NONE ||
		    (c.forge != FORGE_NONE && c.forge != k)) {
			fprintf(
			    stderr,
			    "ERROR:  --forge %s does not match the "
			    "configuration\nHINT:  Write github or gitlab, as "
			    "forge.kind says.\n",
			    forge);
			arena_free(a);
			return 1;
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	err = review_run(&c, reg, number, rev, a, &diags, stdout);
	diag_print_list(stderr, &diags);
	curl_global_cleanup();
	arena_free(a);
	return err == 0 ? 0 : 1;
}

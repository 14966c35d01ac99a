/* SPDX-License-Identifier: PostgreSQL */
/*
 * forge.h — the few GitHub REST and GitLab API calls that put a plan on a
 * pull (merge) request, over libcurl:
 *
 *   the request's head commit and base branch
 *     GitHub GET  /repos/{repo}/pulls/{n}
 *     GitLab GET  /projects/{id}/merge_requests/{n}
 *   one comment, found again by a hidden marker and updated in place
 *     GitHub GET  /repos/{repo}/issues/{n}/comments?per_page=100&page=P
 *            POST /repos/{repo}/issues/{n}/comments
 *            PATCH /repos/{repo}/issues/comments/{id}
 *     GitLab GET  /projects/{id}/merge_requests/{n}/notes?per_page=100&page=P
 *            POST /projects/{id}/merge_requests/{n}/notes
 *            PUT  /projects/{id}/merge_requests/{n}/notes/{id}
 *   a commit status
 *     GitHub POST /repos/{repo}/statuses/{sha}
 *     GitLab POST /projects/{id}/statuses/{sha}
 *
 * The token goes in a header (GitHub: Authorization: Bearer; GitLab:
 * PRIVATE-TOKEN) and nowhere else: not in a URL, a message or a log.
 */
#ifndef DBOPS_CTRL_FORGE_H
#define DBOPS_CTRL_FORGE_H

#include <stdbool.h>

#include "arena.h"
#include "daemon_config.h"
#include "dbops/diag.h"

/* The hidden marker of dbops' comment. */
#define FORGE_MARKER "<!-- dbops:plan -->"

struct forge {
	enum forge_kind kind;
	const char *url;  /* API root, no trailing slash */
	const char *repo; /* owner/name, or a GitLab project */
	const char *token;
	const char *context; /* the commit status's name */
	struct arena *a;
	struct dbops_diag_list *diags;
};

struct forge_pr {
	const char *head; /* commit id */
	const char *base; /* the branch it would merge into */
};

int forge_pr(struct forge_pr *out, struct forge *f, long number);

/* state: "pending", "success", "failure" (GitLab: "failed") */
int forge_status(struct forge *f, const char *sha, const char *state,
		 const char *description);

/* Create dbops' comment on the request, or update the one that carries
 * FORGE_MARKER. */
int forge_comment(struct forge *f, long number, const char *body);

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * trust.h — the trust boundary of a pass: what a revision being planned
 * may decide. Every spec node that says where dbops connects (a conninfo,
 * a host, a URL), which local file it touches, or which secret it reads
 * is recorded during validate (the plugins mark theirs through
 * host->spec_trust; secret references are recorded by spec_secret). With
 * a trusted revision (--trusted-rev, or trusted_rev in the
 * configuration) the planned revision's records must equal the trusted
 * one's: otherwise the plan is refused before any connection, naming the
 * keys that differ. A connection string holding a literal password is
 * refused wherever it is.
 */
#ifndef DBOPS_CTRL_TRUST_H
#define DBOPS_CTRL_TRUST_H

#include <stddef.h>

#include "arena.h"
#include "dbops/diag.h"
#include "dbops/spec.h"

struct trust_entry {
	const char *path;  /* "replicas.members[0].host" */
	const char *kind;  /* "connection", "path", "secret" */
	const char *value; /* the node's text; "env:NAME" for a secret */
	struct dbops_loc loc;
};

struct trust_set {
	struct trust_entry *v;
	size_t n, cap;
};

/* The path of `node` in the tree of `root` ("a.b[2].c"), or "(unknown)". */
const char *trust_path(struct arena *a, const struct dbops_node *root,
		       const struct dbops_node *node);

/* Record `node` as deciding `kind`; value NULL means the node's own
 * text (a map's scalars, "key=value" joined with ','). */
void trust_record(struct trust_set *t, struct arena *a,
		  const struct dbops_node *root, const struct dbops_node *node,
		  const char *kind, const char *value);

/* A connection string (conninfo or URI) must not hold a password: a
 * located error that does not repeat it. 0 when it holds none, or when
 * the text is no connection string (a host name). */
int trust_conninfo_check(const char *text, const struct dbops_loc *loc,
			 const char *what, struct dbops_diag_list *diags,
			 struct arena *a);

/*
 * Compare a planned revision's records with the trusted revision's: a
 * record the trusted revision does not have, with the same value, is a
 * difference. Returns 0, or DBOPS_ERR_INVALID with one error listing
 * every key that differs (new or changed; a removal is no risk).
 */
int trust_compare(const struct trust_set *planned,
		  const struct trust_set *trusted, const char *trusted_rev,
		  struct dbops_diag_list *diags, struct arena *a);

#endif

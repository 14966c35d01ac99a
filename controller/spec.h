/* SPDX-License-Identifier: PostgreSQL */
/*
 * spec.h — spec files: YAML text → the immutable located tree of
 * include/dbops/spec.h, typed reads of it, and the controller-owned top
 * level of a cluster spec (apiVersion, cluster, connection) and of a fleet
 * file (dbops.yaml).
 *
 * It does no I/O: callers hand it bytes read from the source. Every error
 * is a diagnostic with file:line:column; parsing goes on after a problem
 * where it can so that one run reports all of them.
 */
#ifndef DBOPS_CTRL_SPEC_H
#define DBOPS_CTRL_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "dbops/diag.h"
#include "dbops/spec.h"

#define SPEC_API_VERSION "dbops/v1"

/* Input limits, checked where the input enters. */
struct spec_limits {
	size_t max_file_size; /* bytes */
	size_t max_nodes;     /* nodes, counting every alias expansion */
	size_t max_depth;     /* nesting */
};

/* 1 MiB, 100,000 nodes, depth 64 */
extern const struct spec_limits spec_default_limits;

/*
 * Parse one YAML document into a tree. `file` is the display path used in
 * locations (copied). Aliases are resolved by sharing the anchored node;
 * each alias counts the anchored subtree's size against max_nodes, so a
 * "billion laughs" document is refused, not expanded. Duplicate keys,
 * complex (non-scalar) keys, several documents and tags other than the
 * core ones are errors. Returns 0 or DBOPS_ERR_INVALID. On
 * DBOPS_ERR_INVALID, *out is the tree read around the problems when the
 * document stayed readable (duplicate keys, say: the first one is kept),
 * so that the caller can go on and report every other problem; it is
 * NULL when the document could not be read (a syntax error, a limit).
 */
int spec_parse(const struct dbops_node **out, struct arena *a,
	       struct dbops_diag_list *diags, const char *file,
	       const char *data, size_t len, const struct spec_limits *limits);

/* ---- reading the tree (these back the host table's spec_* functions) */
const struct dbops_node *spec_get(const struct dbops_node *map,
				  const char *key);
int spec_check_keys(struct dbops_diag_list *diags, struct arena *a,
		    const struct dbops_node *map, const char *what,
		    const char *const *allowed);
int spec_string(const char **out, struct dbops_diag_list *diags,
		struct arena *a, const struct dbops_node *node,
		const char *what);
/* true/false/yes/no/on/off (any case) */
int spec_bool(bool *out, struct dbops_diag_list *diags, struct arena *a,
	      const struct dbops_node *node, const char *what);
int spec_int(int64_t *out, struct dbops_diag_list *diags, struct arena *a,
	     const struct dbops_node *node, const char *what, int64_t min,
	     int64_t max);
int spec_secret(struct dbops_secret_ref *out, struct dbops_diag_list *diags,
		struct arena *a, const struct dbops_node *node,
		const char *what);
/* A short description of a node's type for messages: "a map",
 * "a list", "a string", "null". */
const char *spec_kind_name(const struct dbops_node *node);

/* ---- the top level of a cluster spec */
struct spec_cluster {
	const struct dbops_node *root; /* the whole document */
	const char *api_version;
	const char *name;		  /* `cluster:` */
	const char *conninfo;		  /* `connection.conninfo`, or NULL */
	bool has_password;		  /* `connection.password` given */
	struct dbops_secret_ref password; /* a secret reference */
	bool allow_destructive;		  /* `allow_destructive: true` */
};

/*
 * Check the top level: `apiVersion` present and equal to dbops/v1,
 * `cluster` a name, `connection` {conninfo, password}, and every other key
 * one of `sections` (the spec sections of the loaded plugins); an unknown
 * key gets a "did you mean" hint drawn from all known keys. Collects every
 * problem. Returns 0 or DBOPS_ERR_INVALID.
 */
int spec_cluster_read(struct spec_cluster *out, struct dbops_diag_list *diags,
		      struct arena *a, const struct dbops_node *root,
		      const char *const *sections, size_t nsections);

/* ---- the fleet file, dbops.yaml at the repository root:
 *   apiVersion: dbops/v1
 *   clusters:
 *     - {name: prod, path: clusters/prod}
 */
struct spec_fleet_member {
	const char *name;
	const char *path; /* directory, relative to the repository root */
	struct dbops_loc loc;
};

struct spec_fleet {
	struct spec_fleet_member *members;
	size_t n;
};

int spec_fleet_read(struct spec_fleet *out, struct dbops_diag_list *diags,
		    struct arena *a, const struct dbops_node *root);

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * spec.h — the read-only spec tree.
 *
 * The controller parses each spec file with libyaml into an immutable tree
 * in the pass arena; no libyaml type leaks out. Every node keeps the file,
 * line and column it came from. Scalars keep their text exactly as written
 * (YAML 1.1 booleans such as `on` are not converted): a plugin interprets
 * them with the typed getters of the host table, which report a located
 * diagnostic when the text does not fit.
 *
 * Ownership: nodes, keys and strings belong to the pass arena and stay
 * valid until the pass ends. Plugins must not modify them.
 */
#ifndef DBOPS_SPEC_H
#define DBOPS_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

enum dbops_node_kind {
	DBOPS_NODE_NULL = 0, /* `~`, `null`, or an empty value */
	DBOPS_NODE_SCALAR,
	DBOPS_NODE_MAP,
	DBOPS_NODE_SEQ,
};

struct dbops_node {
	enum dbops_node_kind kind;
	struct dbops_loc loc;	 /* where the node starts */
	const char *scalar;	 /* SCALAR: the text; NULL otherwise */
	bool quoted;		 /* SCALAR: written in quotes (a string) */
	size_t len;		 /* MAP: entries; SEQ: items; else 0 */
	const char *const *keys; /* MAP: key texts, in file order */
	const struct dbops_node *const *key_nodes; /* MAP: key nodes */
	const struct dbops_node *const *items;	   /* MAP: values; SEQ: items */
};

/*
 * A reference to a secret: `{env: NAME}` or `{file: PATH}`. The value is
 * read only when a change that needs it is applied (host->secret_read) and
 * is never part of a plan, a log line or a diagnostic.
 */
enum dbops_secret_kind {
	DBOPS_SECRET_ENV = 1,
	DBOPS_SECRET_FILE,
};

struct dbops_secret_ref {
	enum dbops_secret_kind kind;
	const char *name;     /* variable name or file path */
	struct dbops_loc loc; /* where the reference is written */
};

#endif

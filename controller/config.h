/* SPDX-License-Identifier: PostgreSQL */
/*
 * config.h — dbops' own configuration file, the trusted side of the trust
 * model: it lives on the machine that runs dbops, outside any spec
 * repository, and says what a spec may not — which secrets a spec may
 * reference ({env} names by pattern, {file} paths by directory), which
 * revision is trusted to say where dbops connects (--trusted-rev), and
 * each cluster's connection. The daemon's settings extend the same file.
 *
 *   apiVersion: dbops/v1
 *   secrets:
 *     env: [DBOPS_SECRET_*]          # the default when absent
 *     files: [/run/secrets]          # none by default
 *   trusted_rev: main
 *   clusters:
 *     prod: {connection: {conninfo: "service=prod", password: {env: PROD_PW}}}
 *
 * It is read like a spec (located errors, unknown keys refused). Without
 * a file (no --config, no $DBOPS_CONFIG) the defaults apply.
 */
#ifndef DBOPS_CTRL_CONFIG_H
#define DBOPS_CTRL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "dbops/diag.h"
#include "dbops/spec.h"

/* The pattern every {env} reference must match when nothing is said. */
#define CONFIG_DEFAULT_SECRET_ENV "DBOPS_SECRET_*"

struct config_cluster {
	const char *name;
	const char *conninfo;		  /* or NULL */
	bool has_password;		  /* a password reference is given */
	struct dbops_secret_ref password; /* trusted: not allow-listed */
	struct dbops_loc loc;
};

struct config {
	const char *path; /* the file read, or NULL */
	const struct dbops_node *root;
	const char *const *secret_env; /* glob patterns of variable names */
	size_t nsecret_env;
	const char *const *secret_dirs; /* absolute, without a final '/' */
	size_t nsecret_dirs;
	const char *trusted_rev; /* or NULL */
	struct config_cluster *clusters;
	size_t nclusters;
};

/*
 * Read `path` (NULL: $DBOPS_CONFIG, else none: the defaults). Keys other
 * than apiVersion, secrets, trusted_rev, clusters and `extra` (a
 * NULL-terminated list, the daemon's sections) are refused with a "did
 * you mean". Returns 0 or DBOPS_ERR_INVALID / DBOPS_ERR_NOTFOUND with
 * located diagnostics.
 */
int config_load(struct config *out, struct arena *a,
		struct dbops_diag_list *diags, const char *path,
		const char *const *extra);

/* The configured connection of a cluster, or NULL. */
const struct config_cluster *config_cluster(const struct config *c,
					    const char *name);

/* Whether a secret reference is one the configuration allows; a located
 * error (that does not read the value) when it is not. */
int config_secret_allowed(const struct config *c,
			  const struct dbops_secret_ref *ref,
			  struct dbops_diag_list *diags, struct arena *a);

#endif

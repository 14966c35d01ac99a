/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon_ops.h — plugin commands the daemon runs on a cluster, under the
 * cluster's lock, through the same path as `dbops PLUGIN COMMAND`:
 *
 *   - one-shot operations committed to the spec repository as
 *     operations/<id>.yaml, each run exactly once per id (its row in
 *     dbops.operations is inserted before it runs; a run cut short is
 *     marked "interrupted" and never repeated);
 *   - scheduled work the plugins declare during validate as facts
 *     `schedule.<plugin>.<job> = "CRON COMMAND"` (cron in UTC), run once
 *     per due time (dbops.schedule_runs).
 *
 * Commands run in-process as a second pass over the same revision that
 * borrows the cluster pass's connection (so the advisory lock the daemon
 * holds covers them): no fork, no second connection. Only the commanded
 * plugin's changes of that pass are applied, so a command never applies
 * drift the policy says to leave alone.
 */
#ifndef DBOPS_CTRL_DAEMON_OPS_H
#define DBOPS_CTRL_DAEMON_OPS_H

#include "daemon_config.h"
#include "pass.h"

struct daemon;

/* Due operations and scheduled work of `cluster` (the fleet name) at the
 * revision `p` was loaded from; `rev` is branch@sha1:commit. */
void daemon_ops_run(struct pass *p, const struct pass_opts *po,
		    struct daemon *d, const struct daemon_config *c,
		    const char *cluster, const char *rev);

/*
 * Resolve a dbops command line ("migrations repair --to x", or "backup
 * run" that only one plugin offers) against the plugins: *plugin and
 * *command (borrowed from the descriptors), options as name/value pairs
 * in the arena. Returns 0 or DBOPS_ERR_NOTFOUND with *error a sentence.
 */
int daemon_ops_resolve(const char **plugin, const char **command,
		       const char ***args, size_t *nargs,
		       const struct registry *reg, const char *line,
		       struct arena *a, const char **error);

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * replicas.c — the descriptor and entry point of the "replicas" plugin,
 * which keeps streaming standbys, their replication slots and
 * synchronous replication (the `replicas:` section of a cluster spec) as
 * the spec says, reports their health for `dbops status`, and offers
 * `dbops switchover --to NAME`. The work is done in the other files of
 * this directory (see replicas_int.h and README.md).
 */
#include "dbops/host.h"
#include "dbops/plugin.h"
#include "replicas_int.h"

DBOPS_PLUGIN_EXPORT const struct dbops_plugin *
dbops_plugin_entry(uint16_t host_major, uint16_t host_minor);

static const struct dbops_command repl_commands[] = {
    {"switchover",
     "promote a standby (--to NAME) and make the primary its standby"},
    {"drill failover",
     "patroni: kill the primary's postmaster under a writer, measure RTO and RPO (--i-understand-this-kills-the-primary)"},
    {NULL, NULL},
};

static const struct dbops_plugin repl_plugin = {
    .header = DBOPS_ABI_HEADER_INIT(struct dbops_plugin),
    .name = "replicas",
    .version = "0.1.0",
    .summary = "streaming standbys, replication slots and synchronous "
	       "replication, with lag health and switchover",
    .spec_section = "replicas",
    .phase = DBOPS_PHASE_REPLICAS,
    .after = NULL,
    .flags = 0,
    .validate = repl_validate,
    .observe = repl_observe,
    .diff = repl_diff,
    .apply = repl_apply,
    .commands = repl_commands,
    .status = repl_status,
};

const struct dbops_plugin *dbops_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	/* the host compares ABI versions and explains a mismatch */
	(void)host_major;
	(void)host_minor;
	return &repl_plugin;
}

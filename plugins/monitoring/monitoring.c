/* SPDX-License-Identifier: PostgreSQL */
/*
 * monitoring.c — the descriptor and entry point of the "monitoring"
 * plugin (the `monitoring:` section of a cluster spec): pg_stat_statements
 * enabled through the parameters plugin and created in the monitored
 * databases, snapshots of it kept in their `dbops` schema (never a
 * reset), health checks with thresholds in `dbops status`, and `dbops
 * monitoring report` (slow queries, N+1 suspects, index advice costed
 * with HypoPG, security findings). The work is done in the other files
 * of this directory (see monitoring_int.h and README.md).
 */
#include "dbops/host.h"
#include "dbops/plugin.h"
#include "monitoring_int.h"

DBOPS_PLUGIN_EXPORT const struct dbops_plugin *
dbops_plugin_entry(uint16_t host_major, uint16_t host_minor);

static const struct dbops_command mon_commands[] = {
    {"report", "slow queries, N+1 suspects, index advice and security "
	       "findings (--since DURATION, --format text|markdown|json)"},
    {NULL, NULL},
};

static const char *const mon_readonly[] = {"report", NULL};

static const struct dbops_plugin mon_plugin = {
    .header = DBOPS_ABI_HEADER_INIT(struct dbops_plugin),
    .name = "monitoring",
    .version = "0.1.0",
    .summary = "pg_stat_statements snapshots, health checks, slow queries, "
	       "N+1 suspects, index advice and security findings",
    .spec_section = "monitoring",
    .phase = DBOPS_PHASE_MONITORING,
    .after = NULL,
    .flags = 0,
    .validate = mon_validate,
    .observe = mon_observe,
    .diff = mon_diff,
    .apply = mon_apply,
    .commands = mon_commands,
    .status = mon_status,
    .readonly_commands = mon_readonly,
};

const struct dbops_plugin *dbops_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	/* the host compares ABI versions and explains a mismatch */
	(void)host_major;
	(void)host_minor;
	return &mon_plugin;
}

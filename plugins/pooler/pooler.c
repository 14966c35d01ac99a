/* SPDX-License-Identifier: PostgreSQL */
/*
 * pooler.c — the descriptor and entry point of the "pooler" plugin, which
 * keeps a PgBouncer (the `pooler:` section of a cluster spec) as the spec
 * says: [pgbouncer] settings, [databases] entries, [users] pool modes and
 * SCRAM verifiers in the auth file, applied by rewriting the ini file and
 * RELOAD on the admin console. The work is done in the other files of this
 * directory (see pooler_int.h and README.md); this file only exports it.
 */
#include "dbops/host.h"
#include "dbops/plugin.h"
#include "pooler_int.h"

DBOPS_PLUGIN_EXPORT const struct dbops_plugin *
dbops_plugin_entry(uint16_t host_major, uint16_t host_minor);

static const struct dbops_command pool_commands[] = {
    {"refresh-auth",
     "write every auth user's SCRAM verifier again from its secret"},
    {NULL, NULL},
};

static const struct dbops_plugin pool_plugin = {
    .header = DBOPS_ABI_HEADER_INIT(struct dbops_plugin),
    .name = "pooler",
    .version = "0.1.0",
    .summary =
	"PgBouncer settings, pools and auth file, applied with RELOAD and read back from the admin console",
    .spec_section = "pooler",
    .phase = DBOPS_PHASE_POOLER,
    .after = NULL,
    .flags = 0,
    .validate = pool_validate,
    .observe = pool_observe,
    .diff = pool_diff,
    .apply = pool_apply,
    .verify = pool_verify,
    .commands = pool_commands,
};

const struct dbops_plugin *dbops_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	/* the host compares ABI versions and explains a mismatch */
	(void)host_major;
	(void)host_minor;
	return &pool_plugin;
}

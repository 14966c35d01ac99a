/* SPDX-License-Identifier: PostgreSQL */
/*
 * parameters.c — the descriptor and entry point of the "parameters"
 * plugin, which keeps server settings (the `parameters:` section of a
 * cluster spec) as the spec says, through ALTER SYSTEM and
 * pg_reload_conf(). The work is done in the other files of this directory
 * (see parameters_int.h and README.md); this file only exports it.
 */
#include "dbops/host.h"
#include "dbops/plugin.h"
#include "parameters_int.h"

DBOPS_PLUGIN_EXPORT const struct dbops_plugin *
dbops_plugin_entry(uint16_t host_major, uint16_t host_minor);

static const struct dbops_plugin par_plugin = {
    .header = DBOPS_ABI_HEADER_INIT(struct dbops_plugin),
    .name = "parameters",
    .version = "0.1.0",
    .summary =
	"server settings through ALTER SYSTEM, with units normalised and restarts flagged",
    .spec_section = "parameters",
    .phase = DBOPS_PHASE_SETTINGS,
    .after = NULL,
    .flags = 0,
    .validate = par_validate,
    .observe = par_observe,
    .diff = par_diff,
    .apply = par_apply,
    .verify = par_verify,
};

const struct dbops_plugin *dbops_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	/* the host compares ABI versions and explains a mismatch */
	(void)host_major;
	(void)host_minor;
	return &par_plugin;
}

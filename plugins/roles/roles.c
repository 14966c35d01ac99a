/* SPDX-License-Identifier: PostgreSQL */
/*
 * roles.c — the descriptor and entry point of the "roles" plugin, which
 * keeps roles, passwords, memberships, privileges and default privileges
 * (the `roles:` section of a cluster spec) as the spec says. The work is
 * done in the other files of this directory (see roles_int.h and
 * README.md); this file only exports it.
 */
#include "dbops/host.h"
#include "dbops/plugin.h"
#include "roles_int.h"

DBOPS_PLUGIN_EXPORT const struct dbops_plugin *
dbops_plugin_entry(uint16_t host_major, uint16_t host_minor);

static const struct dbops_plugin role_plugin = {
    .header = DBOPS_ABI_HEADER_INIT(struct dbops_plugin),
    .name = "roles",
    .version = "0.1.0",
    .summary =
	"roles, SCRAM passwords, memberships, privileges and default privileges",
    .spec_section = "roles",
    .phase = DBOPS_PHASE_ROLES,
    .after = NULL,
    .flags = 0,
    .validate = role_validate,
    .observe = role_observe,
    .diff = role_diff,
    .apply = role_apply,
};

const struct dbops_plugin *dbops_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	/* the host compares ABI versions and explains a mismatch */
	(void)host_major;
	(void)host_minor;
	return &role_plugin;
}

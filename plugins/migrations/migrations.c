/* SPDX-License-Identifier: PostgreSQL */
/*
 * migrations.c — the descriptor and entry point of the "migrations"
 * plugin: Flyway-compatible versioned and repeatable SQL migrations per
 * database, with a flyway_schema_history table Flyway itself can read,
 * statements split and linted by PostgreSQL's own parser (libpg_query),
 * and the "repair" command. The work is done in the other files of this
 * directory (see migrations_int.h and README.md); this file only exports
 * it.
 */
#include "dbops/host.h"
#include "dbops/plugin.h"
#include "change.h"

DBOPS_PLUGIN_EXPORT const struct dbops_plugin *
dbops_plugin_entry(uint16_t host_major, uint16_t host_minor);

static const struct dbops_command mig_commands[] = {
    {"repair", "realign checksums and remove failed rows"},
    {"contract",
     "apply; --force-contract [CHANGE,...] contracts changes whose gate waits"},
    {NULL, NULL},
};

static const struct dbops_plugin mig_plugin = {
    .header = DBOPS_ABI_HEADER_INIT(struct dbops_plugin),
    .name = "migrations",
    .version = "0.1.0",
    .summary =
	"Flyway-compatible SQL migrations, split and linted by PostgreSQL's parser",
    .spec_section = "migrations",
    .phase = DBOPS_PHASE_SCHEMA,
    .after = NULL,
    .flags = 0,
    .validate = mig_validate,
    .observe = mig_observe,
    .diff = mig_diff,
    .apply = mig_apply,
    .verify = NULL,
    .commands = mig_commands,
    .status = mig_status,
    .apply_many = mig_apply_many,
};

const struct dbops_plugin *dbops_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	/* the host compares ABI versions and explains a mismatch */
	(void)host_major;
	(void)host_minor;
	return &mig_plugin;
}

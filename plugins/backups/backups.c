/* SPDX-License-Identifier: PostgreSQL */
/*
 * backups.c — the descriptor and entry point of the "backups" plugin,
 * which keeps WAL archiving, base backups, retention, recovery objectives
 * and restore drills as the `backups:` section of a cluster spec says;
 * offers `dbops backup run|drill|list|verify` and `dbops restore`; and
 * provides the tools the server runs, `dbops wal-push` and `dbops
 * wal-fetch`. The work is done in the other files of this directory (see
 * backups_int.h and README.md).
 */
#include "backups_int.h"
#include "dbops/host.h"
#include "dbops/plugin.h"

DBOPS_PLUGIN_EXPORT const struct dbops_plugin *
dbops_plugin_entry(uint16_t host_major, uint16_t host_minor);

static const struct dbops_command bak_commands[] = {
    {"backup run", "take a backup now (--type full|incremental)"},
    {"backup drill",
     "restore the newest backup to a scratch cluster, run the checks, record the RTO"},
    {"backup list", "the backups in the repository (read-only)"},
    {"backup verify",
     "check every backup file against its checksum and the WAL ranges (read-only)"},
    {"restore",
     "restore into a new data directory (--to latest|TIME|LSN|BACKUP_ID --data-dir DIR [--port P])"},
    {NULL, NULL},
};

static const char *const bak_readonly[] = {"backup list", "backup verify",
					   NULL};
static const char *const bak_tools[] = {"wal-push", "wal-fetch", NULL};

static const struct dbops_plugin bak_plugin = {
    .header = DBOPS_ABI_HEADER_INIT(struct dbops_plugin),
    .name = "backups",
    .version = "0.1.0",
    .summary = "WAL archiving, base and incremental backups, retention, "
	       "recovery objectives, restores and restore drills",
    .spec_section = "backups",
    .phase = DBOPS_PHASE_BACKUPS,
    .after = NULL,
    .flags = 0,
    .validate = bak_validate,
    .observe = bak_observe,
    .diff = bak_diff,
    .apply = bak_apply,
    .commands = bak_commands,
    .status = bak_status,
    .readonly_commands = bak_readonly,
    .tools = bak_tools,
    .tool = bak_tool,
};

const struct dbops_plugin *dbops_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	/* the host compares ABI versions and explains a mismatch */
	(void)host_major;
	(void)host_minor;
	return &bak_plugin;
}

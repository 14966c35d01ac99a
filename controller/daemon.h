/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon.h — `dbops daemon`, the periodic reconciler, and the two
 * commands that share its configuration: `dbops review` (plans on pull
 * requests) and `dbops status --daemon`. main.c dispatches to these
 * entry points; each parses its own options and returns an exit code.
 */
#ifndef DBOPS_CTRL_DAEMON_H
#define DBOPS_CTRL_DAEMON_H

#include "loader.h"

/* `dbops daemon [--config FILE] [--identity NAME] [-v]` */
int daemon_main(int argc, char **argv, struct registry *reg);

/* `dbops review --forge github|gitlab --pr N [--rev SHA] [--config FILE]` */
int review_main(int argc, char **argv, struct registry *reg);

/* `dbops status --daemon [--config FILE] [--format text|json]` */
int daemon_status_main(const char *config_path, const char *format);

#endif

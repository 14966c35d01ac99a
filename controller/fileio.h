/* SPDX-License-Identifier: PostgreSQL */
/*
 * fileio.h — writing a file so that readers see the old content or the
 * new one, never a mix: the one implementation behind saved plans and
 * behind host->file_write (PgBouncer's ini, pg_hba.conf).
 */
#ifndef DBOPS_CTRL_FILEIO_H
#define DBOPS_CTRL_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "arena.h"
#include "dbops/diag.h"

/*
 * Write `len` bytes to `path` through a temporary file in the same
 * directory (mkstemp), fsync, rename, and fsync of the directory. An
 * existing file keeps its mode, owner and group; a new one gets `mode`.
 * Returns 0 or DBOPS_ERR_GENERIC with a diagnostic ("could not ...").
 */
int fileio_write_atomic(struct arena *a, struct dbops_diag_list *diags,
			const char *path, const void *data, size_t len,
			mode_t mode);

#endif

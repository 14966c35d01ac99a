/* SPDX-License-Identifier: PostgreSQL */
/*
 * record.h — the run log kept in the cluster itself, in the `dbops`
 * schema: one row per apply run (revision, plan, outcome) and one per
 * change (result, duration, error). `dbops history` reads it back. The
 * audit trail lives with the data it describes.
 */
#ifndef DBOPS_CTRL_RECORD_H
#define DBOPS_CTRL_RECORD_H

#include <stdio.h>

#include "arena.h"
#include "pass.h"

/* Create the schema and tables when missing (idempotent). */
int record_ensure_schema(struct pass *p);
/* Insert the run row; *run_id_out is its id as text. */
int record_run_begin(const char **run_id_out, struct pass *p,
		     const char *command, const char *plan_json);
int record_change(struct pass *p, const char *run_id,
		  const struct dbops_change *c, const char *status,
		  double duration_ms, const char *error);
int record_run_end(struct pass *p, const char *run_id, const char *status,
		   int applied, int failed, const char *error);

/* `dbops history`: the last `limit` runs, or one run's changes. */
int record_history(FILE *out, struct pgconn *conn, struct arena *a,
		   struct dbops_diag_list *diags, int limit, const char *run_id,
		   const char *format);

#endif

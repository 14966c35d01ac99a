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
/*
 * Change results are written in batches: one multi-row INSERT for up to
 * RECORD_BATCH_MAX results, or what came in RECORD_BATCH_MS, so that a
 * run of thousands of changes does not pay a round trip and a commit per
 * change. The caller flushes before any pause, after a failure and at the
 * end, always outside a transaction of its own.
 */
#define RECORD_BATCH_MAX 64
#define RECORD_BATCH_MS	 250.0

struct record_batch {
	struct strbuf values; /* "(...),(...)" */
	int n;
	double last_flush_ms;
};

void record_batch_init(struct record_batch *b);
void record_batch_dispose(struct record_batch *b);
/* Queue one result; flushes when the batch is full or old. */
int record_batch_add(struct record_batch *b, struct pass *p, const char *run_id,
		     const struct dbops_change *c, const char *status,
		     double duration_ms, const char *error);
int record_batch_flush(struct record_batch *b, struct pass *p);

int record_run_end(struct pass *p, const char *run_id, const char *status,
		   int applied, int failed, const char *error);

/* `dbops history`: the last `limit` runs, or one run's changes. */
int record_history(FILE *out, struct pgconn *conn, struct arena *a,
		   struct dbops_diag_list *diags, int limit, const char *run_id,
		   const char *format);

#endif

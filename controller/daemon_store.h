/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon_store.h — the daemon's state kept in each cluster's `dbops`
 * schema, beside the run log (record.h), so that it lives with the data
 * it describes and every daemon of a fleet sees the same:
 *
 *   dbops.daemon_status   one row per cluster: sync, health, revisions,
 *                         last error, drift, next pass, who, and the keys
 *                         of the notifications sent (their de-duplication)
 *   dbops.daemon_passes   one row per pass: (cluster, slot) is unique, so
 *                         a scheduled pass is done by exactly one daemon
 *   dbops.operations      one-shot operations: the id is the key, inserted
 *                         before the operation runs, so it runs once
 *   dbops.schedule_runs   scheduled plugin work: (job, due time) is the key
 *
 * Every table is created idempotently. Statements run in autocommit, on
 * the pass's connection, under the cluster's advisory lock.
 */
#ifndef DBOPS_CTRL_DAEMON_STORE_H
#define DBOPS_CTRL_DAEMON_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "arena.h"
#include "dbops/diag.h"
#include "pgconn.h"

struct daemon_config;

/* Create the tables when missing. */
int dstore_ensure(struct pgconn *c, struct arena *a,
		  struct dbops_diag_list *diags);

/*
 * Start a pass: *id_out is its id as text, or NULL when `slot` (>= 0) of
 * this cluster was already taken by a daemon. slot < 0: not a scheduled
 * pass (a webhook's), never refused.
 */
int dstore_pass_begin(const char **id_out, struct pgconn *c, struct arena *a,
		      struct dbops_diag_list *diags, const char *cluster,
		      int64_t slot, const char *trigger, const char *daemon,
		      const char *revision);
int dstore_pass_end(struct pgconn *c, struct arena *a,
		    struct dbops_diag_list *diags, const char *id,
		    const char *result, int applied, const char *error);

/* The status row as a pass left it. Fields NULL when there is none. */
struct dstore_row {
	bool found;
	const char *sync, *health, *message;
	const char *revision, *last_applied, *last_attempted, *last_error;
	const char *daemon;
	const char *notified; /* json object: event type -> key */
	int drift_enforce, drift_report;
	time_t waiting_until, next_pass, updated_at, last_success_at;
};

int dstore_status_read(struct dstore_row *out, struct pgconn *c,
		       struct arena *a, struct dbops_diag_list *diags,
		       const char *cluster);
/* Insert or replace the row; drift_json is a json array or NULL. */
int dstore_status_write(struct pgconn *c, struct arena *a,
			struct dbops_diag_list *diags, const char *cluster,
			const struct dstore_row *row, const char *drift_json,
			const char *pass_id);

/*
 * Claim one-shot operation `id`: *claimed is true when this call
 * inserted it (the caller runs it), false when it was there already
 * (done, failed, running elsewhere, or interrupted: never again).
 */
int dstore_op_claim(bool *claimed, struct pgconn *c, struct arena *a,
		    struct dbops_diag_list *diags, const char *id,
		    const char *cluster, const char *command,
		    const char *revision, const char *daemon);
int dstore_op_finish(struct pgconn *c, struct arena *a,
		     struct dbops_diag_list *diags, const char *id,
		     const char *status, const char *output, const char *error);
/* Operations left "running" by a session that is gone become
 * "interrupted": they are not run again. */
int dstore_op_sweep(struct pgconn *c, struct arena *a,
		    struct dbops_diag_list *diags);

/* Claim scheduled job `job` due at `due`, as dstore_op_claim. */
int dstore_job_claim(bool *claimed, struct pgconn *c, struct arena *a,
		     struct dbops_diag_list *diags, const char *job, time_t due,
		     const char *daemon);
int dstore_job_finish(struct pgconn *c, struct arena *a,
		      struct dbops_diag_list *diags, const char *job,
		      time_t due, const char *status, const char *error);

/*
 * `dbops status --daemon`: the status row of every cluster of the
 * configuration (its clusters' connections), as a table like `argocd
 * app list` or as json. Returns the exit code: 0 all synced and
 * healthy, 2 some out of sync or not healthy, 1 an error.
 */
int dstore_print_status(FILE *out, const struct daemon_config *c,
			const char *format, struct dbops_diag_list *diags,
			struct arena *a);

#endif

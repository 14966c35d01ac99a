/* SPDX-License-Identifier: PostgreSQL */
/*
 * apply.h — carrying out a plan: the cluster-wide apply lock, one change
 * at a time, transactions for the changes that allow them, stopping what
 * depends on a failed change, and recording every result.
 */
#ifndef DBOPS_CTRL_APPLY_H
#define DBOPS_CTRL_APPLY_H

#include <stdbool.h>
#include <stdio.h>

#include "pass.h"

/* The advisory lock every controller takes before it plans to apply. */
#define APPLY_LOCK_CLASS 1684172656 /* "dbop" */
#define APPLY_LOCK_OBJ	 1

/*
 * Take the session advisory lock, polling until `timeout_s` seconds have
 * passed (0: one try). When another session holds it, returns
 * DBOPS_ERR_LOCKED with a diagnostic naming the holder (pid,
 * application_name, since when).
 */
int apply_lock(struct pass *p, double timeout_s);

struct apply_opts {
	bool allow_destructive; /* --allow-destructive or the spec */
	const char *command;	/* "apply" or "apply PLANFILE" for the log */
	const char *plan_json;	/* recorded with the run */
	int step_delay_ms;	/* pause between changes (crash tests) */
};

struct apply_result {
	int applied;
	int failed;
	int skipped; /* not applied: destructive not allowed */
	int blocked; /* not applied: a change it depends on failed */
};

/*
 * Apply every change of p->plan in order, printing progress to `out`,
 * then run the plugins' verify callbacks. Returns 0 when every change was
 * applied (or skipped as not allowed), else the first error.
 */
int apply_run(struct apply_result *res, struct pass *p,
	      const struct apply_opts *o, FILE *out);

#endif

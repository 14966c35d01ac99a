/* SPDX-License-Identifier: PostgreSQL */
/*
 * window.h — maintenance windows: when the daemon may apply changes to a
 * cluster. A window opens at each time its cron schedule matches, in its
 * time zone, and stays open for its duration. Deny windows win over allow
 * windows; when a cluster has allow windows, changes are applied only
 * inside one of them; with none, only deny windows restrict. Outside,
 * changes wait and the status says until when.
 */
#ifndef DBOPS_CTRL_WINDOW_H
#define DBOPS_CTRL_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cron.h"
#include "dbops/diag.h"
#include "tz.h"

struct window {
	bool deny;
	const char *schedule; /* as written */
	struct cron cron;
	long duration_s;  /* 60 to WINDOW_MAX_DURATION */
	const char *zone; /* as written */
	const struct tz *tz;
	struct dbops_loc loc;
};

/* The longest window: a week, so that a weekly window can be always open. */
#define WINDOW_MAX_DURATION (7L * 24 * 3600)
/* How far ahead the next opening is looked for. */
#define WINDOW_HORIZON (35L * 24 * 3600)

/* Whether window w is open at t. */
bool window_open(const struct window *w, time_t t);

/*
 * Whether changes may be applied at `t` under windows v[0..n). When they
 * may not, *until receives the first time from which they may (0 when
 * that is not within WINDOW_HORIZON).
 */
bool window_allowed(time_t *until, const struct window *v, size_t n, time_t t);

#endif

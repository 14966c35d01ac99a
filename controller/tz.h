/* SPDX-License-Identifier: PostgreSQL */
/*
 * tz.h — local time in a named time zone ("Europe/Paris"), read from the
 * system's compiled tz database (TZif files under $TZDIR, else
 * /usr/share/zoneinfo), without touching the process's TZ: the daemon
 * evaluates windows of clusters in different zones on several threads at
 * once, and setenv("TZ") is not thread-safe.
 *
 * Times after the file's last transition keep its last offset. Debian's
 * tzdata files list transitions up to 2037; the POSIX rule at the end of
 * a file is not evaluated.
 */
#ifndef DBOPS_CTRL_TZ_H
#define DBOPS_CTRL_TZ_H

#include <time.h>

#include "arena.h"

struct tz;

/*
 * Load zone `name` into the arena: "UTC" and "Etc/UTC" too. Returns 0, or
 * DBOPS_ERR_NOTFOUND (no such zone) / DBOPS_ERR_INVALID (a name with ".."
 * or a leading "/", a file that is not TZif), with *error a sentence.
 */
int tz_load(const struct tz **out, struct arena *a, const char *name,
	    const char **error);

/* The broken-down local time of `t` in zone z (NULL: UTC). */
void tz_local(struct tm *out, const struct tz *z, time_t t);

/* The offset from UTC in seconds at `t`. */
long tz_offset(const struct tz *z, time_t t);

#endif

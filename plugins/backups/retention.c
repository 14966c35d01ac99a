/* SPDX-License-Identifier: PostgreSQL */
/*
 * retention.c — which backups and WAL the retention policy keeps; pure
 * functions of the catalog, the policy and the time, so that the plan
 * shows exactly what apply will delete.
 *
 * A full backup is kept when it is one of the `full` newest fulls, or
 * when it is needed to restore to any moment of the last `age` (every
 * full that ended inside the window, and the newest one that ended at or
 * before its start); with both rules a full goes only when both let it go. The newest
 * full backup is always kept, whatever the policy, and an incremental
 * goes exactly with the full it builds on. WAL is kept from the start of
 * the oldest kept backup on.
 */
#include "backups_int.h"

#include <stdlib.h>
#include <string.h>

static size_t ret_root(const struct bak_catalog *cat, size_t i)
{
	const struct bak_backup *b = &cat->v[i];

	for (size_t guard = 0; guard < cat->n; guard++) {
		if (strcmp(b->type, "full") == 0)
			return (size_t)(b - cat->v);
		b = bak_catalog_find(cat, b->parent);
		if (b == NULL)
			break;
	}
	return cat->n; /* no full under it */
}

size_t bak_retention_select(bool *keep, const struct bak_catalog *cat,
			    const struct bak_retention *rp, int64_t now)
{
	bool *keep_full = calloc(cat->n + 1, sizeof(bool));
	size_t gone = 0, newest = cat->n;
	int64_t counted = 0;
	bool before_done = false;

	if (keep_full == NULL)
		abort();
	for (size_t k = cat->n; k-- > 0;) {
		const struct bak_backup *b = &cat->v[k];

		if (strcmp(b->type, "full") != 0)
			continue;
		if (newest == cat->n)
			newest = k;
		if (rp->full <= 0 && rp->age_sec <= 0)
			keep_full[k] = true;
		if (rp->full > 0 && counted < rp->full)
			keep_full[k] = true;
		counted++;
		if (rp->age_sec > 0) {
			if (b->stop_time > now - rp->age_sec) {
				keep_full[k] = true;
			} else if (!before_done) {
				keep_full[k] =
				    true; /* covers the window's start */
				before_done = true;
			}
		}
	}
	if (newest < cat->n)
		keep_full[newest] = true;
	for (size_t i = 0; i < cat->n; i++) {
		size_t root = ret_root(cat, i);

		keep[i] = root < cat->n && keep_full[root];
		if (!keep[i])
			gone++;
	}
	free(keep_full);
	return gone;
}

const char *bak_retention_wal_floor(const struct bak_catalog *cat,
				    const bool *keep)
{
	const char *floor = NULL;

	for (size_t i = 0; i < cat->n; i++)
		if (keep[i] && cat->v[i].wal_start != NULL &&
		    (floor == NULL ||
		     strcmp(cat->v[i].wal_start + 8, floor + 8) < 0))
			floor = cat->v[i].wal_start;
	return floor;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * spec_int.h — helpers shared by spec.c (parsing) and spec_read.c
 * (reading the tree); not for use outside those two files.
 */
#ifndef DBOPS_CTRL_SPEC_INT_H
#define DBOPS_CTRL_SPEC_INT_H

#include <stdbool.h>

#include "arena.h"
#include "dbops/diag.h"

extern const char spec__letters[];
extern const char spec__digits[];
extern const char spec__secret_hint[];

/* An error (DBOPS_ERR_INVALID) at a location. */
struct dbops_diag *spec__err_at(struct dbops_diag_list *diags, struct arena *a,
				const struct dbops_loc *loc, const char *fmt,
				...) DBOPS_PRINTF(4, 5);
/* Every byte of `s` is in one of the sets. */
bool spec__only_chars(const char *s, const char *set1, const char *set2,
		      const char *set3);
/* Move `src` to the end of `dst` in file order. */
void spec__diags_move_sorted(struct dbops_diag_list *dst,
			     struct dbops_diag_list *src, struct arena *a);

#endif

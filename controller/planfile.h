/* SPDX-License-Identifier: PostgreSQL */
/*
 * planfile.h — saved plans (`plan --out FILE`, `apply FILE`).
 *
 * A saved plan is the json rendering plus where the spec came from (the
 * exact commit, or the directory and its content hash). `apply FILE` reads
 * the spec again at that commit, observes the cluster again and plans
 * again; it applies only when the revision, the observed live state and
 * the changes are exactly those saved, and refuses a stale plan
 * otherwise. The file holds no secret values.
 */
#ifndef DBOPS_CTRL_PLANFILE_H
#define DBOPS_CTRL_PLANFILE_H

#include "pass.h"

#define PLANFILE_KIND "dbops-plan"

struct planfile {
	struct pass_opts opts;		/* how to read the same spec again */
	const char *ref;		/* the ref the plan was made from */
	const char *source_fingerprint; /* commit or content hash */
	const char *live_fingerprint;
	const char *changes_json; /* canonical, see plan_changes_json */
	const char *json;	  /* the whole document */
};

int planfile_write(const char *path, struct pass *p, const struct pass_opts *o);
int planfile_read(struct planfile *out, struct arena *a,
		  struct dbops_diag_list *diags, const char *path);
/* Compare a fresh plan with the saved one; DBOPS_ERR_CONFLICT with a
 * diagnostic saying what changed. */
int planfile_check(const struct planfile *pf, struct pass *p);

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * diff_int.h — what diff.c (roles, memberships) and diff_privileges.c
 * (privileges, default privileges) share: the state of one diff and the
 * helpers that build changes. Private to those two files.
 */
#ifndef DBOPS_ROLES_DIFF_INT_H
#define DBOPS_ROLES_DIFF_INT_H

#include "roles_int.h"

struct differ {
	struct dbops_ctx *ctx;
	const struct dbops_host *h;
	const struct role_spec *spec;
	const struct role_live *live;
	struct role_apply_state *state;
	int err;
};

/* A located error that fails the diff. */
#define ERROR(d, loc, ...)                                                     \
	((d)->err = DBOPS_ERR_INVALID,                                         \
	 (d)->h->diag((d)->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, (loc),     \
		      __VA_ARGS__))

const char *role_d_qi(struct differ *d, const char *ident);
const char *role_d_grantee_sql(struct differ *d, const char *g);
struct role_payload *role_d_payload(struct differ *d, enum role_op op,
				    const char *role);
void role_d_add_sql(struct differ *d, struct role_payload *p, const char *sql);
struct dbops_change *role_d_change(struct differ *d, enum dbops_action action,
				   const char *address, int phase,
				   const struct dbops_loc *loc,
				   struct role_payload *p);
/* A role the spec declares (and does not mark absent) or that exists
 * live without being mentioned. */
bool role_d_known(struct differ *d, const char *name);
/* A role the spec drops (state: absent, or pruned). */
bool role_d_dropped(struct differ *d, const char *grantee);
/* Plan the privileges and default privileges of one database. */
void role_d_database(struct differ *d, const char *db);

#endif

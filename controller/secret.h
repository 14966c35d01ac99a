/* SPDX-License-Identifier: PostgreSQL */
/*
 * secret.h — reading the value behind a secret reference ({env: NAME} or
 * {file: PATH}). Values are never logged, rendered or put into a
 * diagnostic; only the reference (variable name, file path) is.
 */
#ifndef DBOPS_CTRL_SECRET_H
#define DBOPS_CTRL_SECRET_H

#include "arena.h"
#include "dbops/diag.h"
#include "dbops/spec.h"

/* The value, in the arena. A file's trailing newlines are dropped.
 * Returns 0 or DBOPS_ERR_NOTFOUND (unset variable, missing file). */
int secret_read(const char **out, struct arena *a,
		struct dbops_diag_list *diags,
		const struct dbops_secret_ref *ref);

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * secret.c — secret references; see secret.h. A file path is taken
 * relative to the working directory, never from the spec repository:
 * secrets do not belong in git.
 */
#include "secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

#define SECRET_MAX (64 * 1024)

int secret_read(const char **out, struct arena *a,
		struct dbops_diag_list *diags,
		const struct dbops_secret_ref *ref)
{
	struct dbops_diag *d;

	if (ref->kind == DBOPS_SECRET_ENV) {
		const char *v = getenv(ref->name);

		if (v == NULL) {
			d = diag_add(diags, a, DBOPS_SEV_ERROR,
				     DBOPS_ERR_NOTFOUND, &ref->loc,
				     "environment variable %s is not set",
				     diag_value(a, ref->name));
			d->hint =
			    "Secret references are read when a change is applied; set the variable in dbops' environment.";
			return DBOPS_ERR_NOTFOUND;
		}
		*out = arena_strdup(a, v);
		return 0;
	}
	{
		FILE *f = fopen(ref->name, "rb");
		char *buf;
		size_t n;

		if (f == NULL) {
			d = diag_add(diags, a, DBOPS_SEV_ERROR,
				     DBOPS_ERR_NOTFOUND, &ref->loc,
				     "could not open secret file %s: %s",
				     diag_value(a, ref->name), strerror(errno));
			return DBOPS_ERR_NOTFOUND;
		}
		buf = arena_alloc(a, SECRET_MAX + 1);
		n = fread(buf, 1, SECRET_MAX + 1, f);
		fclose(f);
		if (n > SECRET_MAX) {
			diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
				 &ref->loc, "secret file %s is too large",
				 diag_value(a, ref->name));
			return DBOPS_ERR_INVALID;
		}
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--;
		buf[n] = '\0';
		*out = buf;
		return 0;
	}
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * common.c — what the pass callbacks share: opening the spec's
 * repository with its secrets (read through the host, never kept beyond
 * the pass) and turning the repository code's errors into diagnostics.
 */
#include "backups_int.h"

#include <string.h>

int bak_diag(struct dbops_ctx *ctx, const struct dbops_loc *loc,
	     const struct bak_err *e)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d =
	    h->diag(ctx, DBOPS_SEV_ERROR, e->code ? e->code : DBOPS_ERR_GENERIC,
		    loc, "%s", e->msg[0] ? e->msg : "backup operation failed");

	if (e->detail[0] != '\0')
		h->diag_detail(ctx, d, "%s", e->detail);
	return e->code ? e->code : DBOPS_ERR_GENERIC;
}

int bak_repo_for(struct bak_repo **out, struct bak_codec *codec,
		 struct dbops_ctx *ctx, const struct bak_spec *spec)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct bak_repo_opts o = spec->repo;
	struct bak_err e = {0};
	const char *v = NULL;
	int err;

	*out = NULL;
	*codec = spec->codec;
	if (spec->repo.s3 && spec->has_access_key) {
		if ((err = h->secret_read(&v, ctx, &spec->access_key)) != 0)
			return err;
		o.access_key = v;
		if ((err = h->secret_read(&v, ctx, &spec->secret_key)) != 0)
			return err;
		o.secret_key = v;
	}
	if (spec->codec.encrypt) {
		if ((err = h->secret_read(&v, ctx, &spec->enc_key)) != 0)
			return err;
		if (bak_key_parse(codec->key, v, &e) != 0)
			return bak_diag(ctx, &spec->enc_key.loc, &e);
	}
	if ((err = bak_repo_open(out, &o, &e)) != 0)
		return bak_diag(ctx, &spec->loc, &e);
	return 0;
}

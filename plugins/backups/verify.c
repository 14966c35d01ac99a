/* SPDX-License-Identifier: PostgreSQL */
/*
 * verify.c — `dbops backup verify [--set ID]`: read every archive of the
 * repository back (decrypting and decompressing it, which also checks
 * the frames' own checksums and the encryption's tags), compare each
 * file's size and CRC-32C with the catalog (from PostgreSQL's manifest
 * for full backups), check that every backup's chain is complete, and
 * that the WAL from the oldest backup's start to the newest archived
 * segment is all there, each segment readable and whole. Read-only; a
 * problem is an ERROR, so the command exits 1.
 */
#include "backups_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vf_check {
	const struct bak_backup *b;
	size_t checked, bad;
	const struct bak_file *want;
	uint32_t crc;
	uint64_t got;
	char first_bad[300];
};

static const struct bak_file *vf_find(const struct bak_backup *b,
				      const char *path)
{
	for (size_t lo = 0, hi = b->nfiles; lo < hi;) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(b->files[mid].path, path);

		if (c == 0)
			return &b->files[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int vf_entry(void *arg, const struct bak_tar_entry *te,
		    struct bak_err *e)
{
	struct vf_check *v = arg;
	const char *name = te->name;

	(void)e;
	if (strncmp(name, "./", 2) == 0)
		name += 2;
	v->want = te->type == '0' ? vf_find(v->b, name) : NULL;
	if (v->want != NULL && strcmp(v->want->stored_in, v->b->id) != 0)
		v->want = NULL;
	v->crc = 0;
	v->got = 0;
	return 0;
}

static int vf_data(void *arg, const void *buf, size_t len, struct bak_err *e)
{
	struct vf_check *v = arg;

	(void)e;
	if (v->want != NULL) {
		v->crc = bak_crc32c(v->crc, buf, len);
		v->got += len;
	}
	return 0;
}

static int vf_end(void *arg, struct bak_err *e)
{
	struct vf_check *v = arg;

	(void)e;
	if (v->want == NULL)
		return 0;
	v->checked++;
	if (v->got != v->want->size || v->crc != v->want->crc) {
		if (v->bad++ == 0)
			snprintf(v->first_bad, sizeof(v->first_bad), "%s",
				 v->want->path);
	}
	v->want = NULL;
	return 0;
}

static size_t vf_own(const struct bak_backup *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->nfiles; i++)
		n += strcmp(b->files[i].stored_in, b->id) == 0;
	return n;
}

static int vf_backup(struct dbops_ctx *ctx, struct bak_repo *repo,
		     const struct bak_codec *codec,
		     const struct bak_catalog *cat, const struct bak_backup *b)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct bak_backup *chain[256];
	struct vf_check v = {b, 0, 0, NULL, 0, 0, ""};
	struct bak_tar_reader_cb cb = {vf_entry, vf_data, vf_end, &v};
	struct bak_sink *s = bak_decoder_new(codec->encrypt ? codec->key : NULL,
					     bak_tar_reader_new(&cb));
	struct bak_err e = {0};
	char key[512];
	int err;

	snprintf(key, sizeof(key), "backups/%s/%s", b->id, b->archive);
	err = bak_repo_get(repo, key, s, &e);
	if (err == 0)
		err = s->write(s, NULL, 0, true, &e);
	bak_sink_free_chain(s);
	if (err != 0) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "backup %s cannot be read back", b->id);

		h->diag_detail(ctx, d, "%s: %s%s%s", key, e.msg,
			       e.detail[0] ? " " : "", e.detail);
		h->out(ctx, "  %-19s FAILED (unreadable)\n", b->id);
		return DBOPS_ERR_INVALID;
	}
	if (v.bad > 0 || v.checked != vf_own(b)) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "backup %s does not match its checksums", b->id);

		h->diag_detail(
		    ctx, d,
		    "%zu of %zu files differ from the catalog (the first: \"%s\"); %zu of %zu listed files are in the archive.",
		    v.bad, v.checked, v.first_bad, v.checked, vf_own(b));
		h->out(ctx, "  %-19s FAILED (%zu files damaged or missing)\n",
		       b->id, v.bad + (vf_own(b) - v.checked));
		return DBOPS_ERR_INVALID;
	}
	if (bak_catalog_chain(chain, 256, cat, b) == 0) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		    "backup %s builds on \"%s\", which is not in the repository",
		    b->id, b->parent ? b->parent : "?");
		h->out(ctx, "  %-19s FAILED (its parent is missing)\n", b->id);
		return DBOPS_ERR_INVALID;
	}
	h->out(ctx, "  %-19s ok (%zu files checked)\n", b->id, v.checked);
	return 0;
}

static unsigned long long vf_segno(const char *name)
{
	char log[9], seg[9];

	memcpy(log, name + 8, 8);
	memcpy(seg, name + 16, 8);
	log[8] = seg[8] = '\0';
	return strtoull(log, NULL, 16) * 256 + strtoull(seg, NULL, 16);
}

/* Every segment from the oldest backup's start to the newest one is
 * present and decodes to a whole segment. */
static int vf_wal(struct dbops_ctx *ctx, struct bak_repo *repo,
		  const struct bak_codec *codec, const struct bak_live *l,
		  const struct bak_catalog *cat)
{
	const struct dbops_host *h = dbops_host(ctx);
	unsigned long long from, to = 0;
	char *have;
	size_t nseg = 0, nbad = 0;
	int err = 0;

	if (cat->n == 0)
		return 0;
	from = vf_segno(cat->v[0].wal_start);
	for (size_t i = 0; i < l->nwal; i++) {
		const char *base = strrchr(l->wal_keys[i], '/');

		base = base ? base + 1 : l->wal_keys[i];
		if (bak_wal_is_segment(base) && vf_segno(base) > to)
			to = vf_segno(base);
	}
	for (size_t i = 0; i < cat->n; i++)
		if (vf_segno(cat->v[i].wal_stop) > to)
			to = vf_segno(cat->v[i].wal_stop);
	if (to < from)
		to = from;
	have = calloc(to - from + 1, 1);
	if (have == NULL)
		abort();
	for (size_t i = 0; i < l->nwal; i++) {
		const char *base = strrchr(l->wal_keys[i], '/');
		struct bak_buf data = {0};
		struct bak_err e = {0};
		char key[512];
		unsigned long long n;

		base = base ? base + 1 : l->wal_keys[i];
		if (!bak_wal_is_segment(base) || (n = vf_segno(base)) < from)
			continue;
		snprintf(key, sizeof(key), "wal/%s", l->wal_keys[i]);
		if (bak_get_decoded(&data, repo, key, codec, &e) != 0 ||
		    data.len != BAK_WAL_SEG_SIZE) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "WAL segment %s in the repository is damaged",
			    base);

			h->diag_detail(
			    ctx, d, "%s",
			    e.msg[0] ? e.msg
				     : "It is not a whole 16 MB segment.");
			nbad++;
		} else {
			have[n - from] = 1;
		}
		nseg++;
		bak_buf_free(&data);
	}
	for (unsigned long long n = from; n <= to; n++)
		if (!have[n - from]) {
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			    "WAL segment %08llX%08llX of the range the backups need is missing",
			    n / 256, n % 256);
			nbad++;
			break;
		}
	free(have);
	h->out(ctx, "  WAL %s: %zu segments checked%s\n", cat->v[0].wal_start,
	       nseg, nbad ? ", PROBLEMS" : ", complete");
	if (nbad > 0)
		err = DBOPS_ERR_INVALID;
	return err;
}

int bak_verify(struct dbops_ctx *ctx, const struct bak_spec *s,
	       struct bak_live *l, const char *only_id)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct bak_repo *repo = NULL;
	struct bak_codec codec;
	struct bak_catalog cat = {0};
	struct bak_err e = {0};
	int err, first = 0;

	if ((err = bak_repo_for(&repo, &codec, ctx, s)) != 0)
		return err;
	if ((err = bak_catalog_load(&cat, repo, &codec, true, &e)) != 0) {
		err = bak_diag(ctx, &s->loc, &e);
		goto done;
	}
	if (only_id != NULL && *only_id && !bak_catalog_find(&cat, only_id)) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, NULL,
			"backup \"%s\" is not in the repository", only_id);
		err = DBOPS_ERR_NOTFOUND;
		goto done;
	}
	h->out(ctx, "Verifying %s:\n", bak_repo_describe(repo));
	for (size_t i = 0; i < cat.n; i++) {
		if (only_id != NULL && *only_id &&
		    strcmp(cat.v[i].id, only_id) != 0)
			continue;
		err = vf_backup(ctx, repo, &codec, &cat, &cat.v[i]);
		if (err != 0 && first == 0)
			first = err;
	}
	err = vf_wal(ctx, repo, &codec, l, &cat);
	if (first == 0)
		first = err;
	err = first;
done:
	bak_catalog_dispose(&cat);
	bak_repo_close(repo);
	return err;
}

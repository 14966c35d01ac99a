/* SPDX-License-Identifier: PostgreSQL */
/*
 * repo.c — the repository interface shared by the POSIX and S3
 * implementations (repo_posix.c, repo_s3.c), and the encoded transfers on
 * top of it: an upload that compresses, encrypts and stores in one pass,
 * and a download that undoes it. Nothing is staged locally: data flows
 * through the sinks straight into the upload.
 */
#include "backups_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bak_repo_open(struct bak_repo **out, const struct bak_repo_opts *o,
		  struct bak_err *e)
{
	struct bak_repo *r = calloc(1, sizeof(*r));

	if (r == NULL)
		abort();
	r->o = *o;
	r->ops = o->s3 ? &bak_s3_ops : &bak_posix_ops;
	if (o->s3) {
		if (o->bucket == NULL || o->endpoint == NULL) {
			free(r);
			return bak_fail(
			    e, DBOPS_ERR_INVALID,
			    "an S3 repository needs an endpoint and a bucket");
		}
		snprintf(r->desc, sizeof(r->desc), "s3://%s%s%s", o->bucket,
			 o->prefix && *o->prefix ? "/" : "",
			 o->prefix ? o->prefix : "");
	} else {
		if (o->path == NULL || o->path[0] != '/') {
			free(r);
			return bak_fail(
			    e, DBOPS_ERR_INVALID,
			    "a POSIX repository needs an absolute path");
		}
		snprintf(r->desc, sizeof(r->desc), "%s", o->path);
	}
	*out = r;
	return 0;
}

void bak_repo_close(struct bak_repo *r)
{
	if (r == NULL)
		return;
	if (r->ops->close != NULL)
		r->ops->close(r);
	free(r);
}

const char *bak_repo_describe(const struct bak_repo *r)
{
	return r->desc;
}

int bak_put_begin(struct bak_put **out, struct bak_repo *r, const char *key,
		  bool exclusive, struct bak_err *e)
{
	return r->ops->put_begin(out, r, key, exclusive, e);
}

struct bak_sink *bak_put_sink(struct bak_put *p)
{
	return &p->sink;
}

int bak_put_end(struct bak_put *p, struct bak_err *e)
{
	return p->end(p, e);
}

void bak_put_abort(struct bak_put *p)
{
	if (p != NULL)
		p->abort(p);
}

int bak_repo_put(struct bak_repo *r, const char *key, const void *data,
		 size_t len, bool exclusive, struct bak_err *e)
{
	struct bak_put *p;
	int err;

	if ((err = bak_put_begin(&p, r, key, exclusive, e)) != 0)
		return err;
	if ((err = p->sink.write(&p->sink, data, len, true, e)) != 0) {
		bak_put_abort(p);
		return err;
	}
	return bak_put_end(p, e);
}

int bak_repo_get(struct bak_repo *r, const char *key, struct bak_sink *sink,
		 struct bak_err *e)
{
	return r->ops->get(r, key, sink, e);
}

int bak_repo_stat(bool *exists, uint64_t *size, struct bak_repo *r,
		  const char *key, struct bak_err *e)
{
	return r->ops->stat(exists, size, r, key, e);
}

int bak_repo_list(char ***keys_out, size_t *n_out, struct bak_repo *r,
		  const char *prefix, struct bak_err *e)
{
	return r->ops->list(keys_out, n_out, r, prefix, e);
}

int bak_repo_delete(struct bak_repo *r, const char *key, struct bak_err *e)
{
	return r->ops->del(r, key, e);
}

/* The upload does not own what is in front of it: a sink that forwards
 * to the upload and frees nothing. */
struct fwd {
	struct bak_sink s;
	struct bak_sink *to;
};

static int fwd_write(struct bak_sink *s, const void *data, size_t len,
		     bool final, struct bak_err *e)
{
	struct fwd *f = (struct fwd *)s;

	return f->to->write(f->to, data, len, final, e);
}

static void fwd_free(struct bak_sink *s)
{
	free(s);
}

int bak_put_encoded(struct bak_put **put_out, struct bak_sink **head_out,
		    struct bak_repo *r, const char *key, bool exclusive,
		    const struct bak_codec *c, struct bak_err *e)
{
	struct bak_put *p;
	struct fwd *f;
	struct bak_sink *head;
	int err;

	if ((err = bak_put_begin(&p, r, key, exclusive, e)) != 0)
		return err;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		abort();
	f->s.write = fwd_write;
	f->s.free = fwd_free;
	f->to = &p->sink;
	head = &f->s;
	if (c->encrypt)
		head = bak_encrypter_new(c->key, head);
	head = bak_compressor_new(c->compress, c->level, head);
	*put_out = p;
	*head_out = head;
	return 0;
}

int bak_get_decoded(struct bak_buf *out, struct bak_repo *r, const char *key,
		    const struct bak_codec *c, struct bak_err *e)
{
	struct bak_sink *s = bak_decoder_new(
	    c != NULL && c->encrypt ? c->key : NULL, bak_bufsink_new(out));
	int err = bak_repo_get(r, key, s, e);

	if (err == 0)
		err = s->write(s, NULL, 0, true, e);
	bak_sink_free_chain(s);
	return err;
}

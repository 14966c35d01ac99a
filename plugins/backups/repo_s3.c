/* SPDX-License-Identifier: PostgreSQL */
/*
 * repo_s3.c — a repository in an S3-compatible object store, through
 * libcurl, every request signed with AWS Signature Version 4
 * (CURLOPT_AWS_SIGV4) and carrying the SHA-256 of its body in
 * x-amz-content-sha256.
 *
 * An upload is kept in memory up to one part (16 MiB unless the spec's
 * part_size says otherwise, at least 5 MiB as S3 requires); a smaller object
 * goes in a single PUT, a larger one as a multipart upload whose object
 * appears under its final key only when the upload is completed, so a
 * reader never sees a partial object and a killed writer leaves only an
 * unfinished upload (invisible; a bucket lifecycle rule removes those).
 * Exclusive uploads check that the key is absent first (object stores
 * of this generation have no atomic create-if-absent that every server
 * supports; the window is the length of one upload). Transient failures
 * (connection errors, 5xx, 429) are retried with exponential backoff.
 */
#include "backups_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define S3_PART (16u * 1024 * 1024)

struct s3 {
	CURL *curl;
	char sigv4[128];
};

struct s3_req {
	const char *method;
	const char *key;   /* below the prefix; NULL: the bucket */
	const char *query; /* sorted, encoded, or NULL */
	const void *body;
	size_t len;
	struct bak_sink *sink; /* GET: the body goes here */
	struct bak_buf *resp;  /* otherwise the body goes here */
	char etag[256];	       /* response ETag */
	long status;
	struct bak_err *e;
	int sink_err;
};

static void s3_encode(struct bak_buf *b, const char *s, bool keep_slash)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~' || (keep_slash && c == '/'))
			bak_buf_add(b, s, 1);
		else
			bak_buf_addf(b, "%%%02X", c);
	}
}

static void s3_url(struct bak_buf *u, const struct bak_repo *r, const char *key,
		   const char *query)
{
	const char *ep = r->o.endpoint;
	const char *host = strstr(ep, "://");
	size_t elen = strlen(ep);

	while (elen > 0 && ep[elen - 1] == '/')
		elen--;
	if (r->o.virtual_style && host != NULL) {
		host += 3;
		bak_buf_add(u, ep, (size_t)(host - ep));
		bak_buf_addf(u, "%s.", r->o.bucket);
		bak_buf_add(u, host, elen - (size_t)(host - ep));
		bak_buf_add(u, "/", 1);
	} else {
		bak_buf_add(u, ep, elen);
		bak_buf_addf(u, "/%s/", r->o.bucket);
	}
	if (key != NULL) {
		if (r->o.prefix != NULL && r->o.prefix[0] != '\0') {
			s3_encode(u, r->o.prefix, true);
			bak_buf_add(u, "/", 1);
		}
		s3_encode(u, key, true);
	}
	if (query != NULL)
		bak_buf_addf(u, "?%s", query);
}

/* The body callback needs the handle to see the status. */
struct s3_wctx {
	struct s3_req *q;
	CURL *curl;
};

static size_t s3_body_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct s3_wctx *w = arg;
	struct s3_req *q = w->q;
	long status = 0;

	size *= n;
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
	if (q->sink != NULL && status >= 200 && status < 300) {
		q->sink_err = q->sink->write(q->sink, ptr, size, false, q->e);
		return q->sink_err == 0 ? size : 0;
	}
	if (q->resp != NULL && q->resp->len < (64u << 20))
		bak_buf_add(q->resp, ptr, size);
	return size;
}

static size_t s3_header_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct s3_req *q = arg;
	size_t len = size * n;

	if (len > 5 && strncasecmp(ptr, "etag:", 5) == 0) {
		size_t k = 5, end = len;

		while (k < len && ptr[k] == ' ')
			k++;
		while (end > k &&
		       (ptr[end - 1] == '\r' || ptr[end - 1] == '\n'))
			end--;
		if (end - k < sizeof(q->etag)) {
			memcpy(q->etag, ptr + k, end - k);
			q->etag[end - k] = '\0';
		}
	}
	return len;
}

struct s3_rd {
	const char *p;
	size_t left;
};

static size_t s3_read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct s3_rd *rd = arg;
	size_t take = size * n;

	if (take > rd->left)
		take = rd->left;
	memcpy(buf, rd->p, take);
	rd->p += take;
	rd->left -= take;
	return take;
}

/* One attempt; 0, or an error with *transient set when a retry may help. */
static int s3_once(struct bak_repo *r, struct s3_req *q, bool *transient)
{
	struct s3 *s = r->impl;
	CURL *c = s->curl;
	struct bak_buf url = {0};
	struct curl_slist *hdrs = NULL;
	struct s3_wctx w = {q, c};
	struct s3_rd rd = {q->body, q->len};
	char hash[65], hdr[128], errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	int err = 0;

	*transient = false;
	q->status = 0;
	q->etag[0] = '\0';
	q->sink_err = 0;
	if (q->resp != NULL)
		q->resp->len = 0;
	s3_url(&url, r, q->key, q->query);
	bak_sha256_hex(hash, q->body != NULL ? q->body : "", q->len);
	snprintf(hdr, sizeof(hdr), "x-amz-content-sha256: %s", hash);
	hdrs = curl_slist_append(hdrs, hdr);
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, bak_buf_str(&url));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME,
			 r->o.access_key ? r->o.access_key : "");
	curl_easy_setopt(c, CURLOPT_PASSWORD,
			 r->o.secret_key ? r->o.secret_key : "");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, r->o.verify_tls ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, r->o.verify_tls ? 2L : 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s3_body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s3_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	if (strcmp(q->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, s3_read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &rd);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)q->len);
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)q->len);
	} else if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "DELETE") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
	if (q->sink_err != 0) {
		err = q->sink_err;
	} else if (cc != CURLE_OK) {
		*transient = true;
		err = bak_fail(q->e, DBOPS_ERR_TRANSIENT,
			       "could not reach the S3 endpoint \"%s\": %s",
			       r->o.endpoint,
			       errbuf[0] ? errbuf : curl_easy_strerror(cc));
	} else if (q->status == 404) {
		err = bak_fail(q->e, DBOPS_ERR_NOTFOUND,
			       "object \"%s\" does not exist in %s",
			       q->key ? q->key : "", r->desc);
	} else if (q->status < 200 || q->status >= 300) {
		*transient = q->status >= 500 || q->status == 429;
		err = bak_fail(
		    q->e, *transient ? DBOPS_ERR_TRANSIENT : DBOPS_ERR_GENERIC,
		    "S3 request %s \"%s\" failed with HTTP status %ld",
		    q->method, q->key ? q->key : "/", q->status);
		if (q->resp != NULL && q->resp->len > 0) {
			const char *m = strstr(bak_buf_str(q->resp), "<Code>");
			const char *end = m ? strstr(m, "</Code>") : NULL;

			if (m != NULL && end != NULL && end - m < 200)
				bak_err_detail(q->e, "The server said: %.*s.",
					       (int)(end - m - 6), m + 6);
		}
	}
	curl_slist_free_all(hdrs);
	bak_buf_free(&url);
	return err;
}

static int s3_do(struct bak_repo *r, struct s3_req *q)
{
	int tries = r->o.retries > 0 ? r->o.retries : 0;
	unsigned delay_ms = 200;

	for (int i = 0;; i++) {
		bool transient;
		int err = s3_once(r, q, &transient);

		/* a GET that already gave data to its sink cannot start over */
		if (err == 0 || !transient || i >= tries ||
		    (q->sink != NULL && q->sink_err == 0 && q->status == 200))
			return err;
		usleep(delay_ms * 1000u);
		delay_ms *= 2;
	}
}

/* ---- uploads ---------------------------------------------------------------- */

struct s3_put {
	struct bak_put p;
	char key[1024];
	bool exclusive;
	struct bak_buf buf;
	char upload_id[512];
	struct bak_buf parts; /* CompleteMultipartUpload body */
	int nparts;
};

static const char *xml_value(char *out, size_t size, const char *xml,
			     const char *tag)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = strstr(xml, open);
	if (a == NULL)
		return NULL;
	a += strlen(open);
	b = strstr(a, close);
	if (b == NULL || (size_t)(b - a) >= size)
		return NULL;
	memcpy(out, a, (size_t)(b - a));
	out[b - a] = '\0';
	return b + strlen(close);
}

static void xml_unescape(char *s)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"&amp;", '&'},
		    {"&lt;", '<'},
		    {"&gt;", '>'},
		    {"&quot;", '"'},
		    {"&apos;", '\''}};
	char *w = s;

	for (char *p = s; *p != '\0';) {
		size_t i;

		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
			if (strncmp(p, ents[i].ent, strlen(ents[i].ent)) == 0)
				break;
		if (i < sizeof(ents) / sizeof(ents[0])) {
			*w++ = ents[i].c;
			p += strlen(ents[i].ent);
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
}

static int s3_upload_part(struct s3_put *sp, const void *data, size_t len,
			  struct bak_err *e)
{
	struct bak_buf resp = {0};
	struct s3_req q = {0};
	char query[700];
	int err;

	if (sp->upload_id[0] == '\0') {
		q.method = "POST";
		q.key = sp->key;
		q.query = "uploads=";
		q.resp = &resp;
		q.e = e;
		if ((err = s3_do(sp->p.repo, &q)) != 0)
			goto done;
		if (xml_value(sp->upload_id, sizeof(sp->upload_id),
			      bak_buf_str(&resp), "UploadId") == NULL) {
			err = bak_fail(
			    e, DBOPS_ERR_GENERIC,
			    "could not start a multipart upload of \"%s\": no upload id in the answer",
			    sp->key);
			goto done;
		}
		bak_buf_addf(&sp->parts, "<CompleteMultipartUpload>");
	}
	memset(&q, 0, sizeof(q));
	sp->nparts++;
	{
		struct bak_buf id = {0};

		s3_encode(&id, sp->upload_id, false);
		snprintf(query, sizeof(query), "partNumber=%d&uploadId=%s",
			 sp->nparts, bak_buf_str(&id));
		bak_buf_free(&id);
	}
	q.method = "PUT";
	q.key = sp->key;
	q.query = query;
	q.body = data;
	q.len = len;
	q.resp = &resp;
	q.e = e;
	if ((err = s3_do(sp->p.repo, &q)) != 0)
		goto done;
	bak_buf_addf(&sp->parts,
		     "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
		     sp->nparts, q.etag);
done:
	bak_buf_free(&resp);
	return err;
}

static int s3_put_write(struct bak_sink *s, const void *data, size_t len,
			bool final, struct bak_err *e)
{
	struct s3_put *sp = (struct s3_put *)s;
	int err;

	(void) final;
	bak_buf_add(&sp->buf, data, len);
	if (sp->buf.len >=
	    (sp->p.repo->o.part_size ? sp->p.repo->o.part_size : S3_PART)) {
		if ((err = s3_upload_part(sp, sp->buf.data, sp->buf.len, e)) !=
		    0)
			return err;
		sp->buf.len = 0;
	}
	return 0;
}

static void s3_put_abort(struct bak_put *p)
{
	struct s3_put *sp = (struct s3_put *)p;

	if (sp->upload_id[0] != '\0') {
		struct s3_req q = {0};
		struct bak_buf id = {0};
		char query[700];

		s3_encode(&id, sp->upload_id, false);
		snprintf(query, sizeof(query), "uploadId=%s", bak_buf_str(&id));
		q.method = "DELETE";
		q.key = sp->key;
		q.query = query;
		s3_do(p->repo, &q);
		bak_buf_free(&id);
	}
	bak_buf_free(&sp->buf);
	bak_buf_free(&sp->parts);
	free(sp);
}

static int s3_put_end(struct bak_put *p, struct bak_err *e)
{
	struct s3_put *sp = (struct s3_put *)p;
	struct bak_buf resp = {0};
	struct s3_req q = {0};
	int err;

	q.resp = &resp;
	q.e = e;
	q.key = sp->key;
	if (sp->upload_id[0] == '\0') {
		q.method = "PUT";
		q.body = sp->buf.data ? (const void *)sp->buf.data : "";
		q.len = sp->buf.len;
		err = s3_do(p->repo, &q);
	} else {
		struct bak_buf id = {0};
		char query[700];

		if (sp->buf.len > 0 &&
		    (err = s3_upload_part(sp, sp->buf.data, sp->buf.len, e)) !=
			0)
			goto done;
		bak_buf_addf(&sp->parts, "</CompleteMultipartUpload>");
		s3_encode(&id, sp->upload_id, false);
		snprintf(query, sizeof(query), "uploadId=%s", bak_buf_str(&id));
		bak_buf_free(&id);
		q.method = "POST";
		q.query = query;
		q.body = sp->parts.data;
		q.len = sp->parts.len;
		err = s3_do(p->repo, &q);
		/* a completion can fail inside a 200 answer */
		if (err == 0 && strstr(bak_buf_str(&resp), "<Error>") != NULL)
			err = bak_fail(
			    e, DBOPS_ERR_GENERIC,
			    "could not complete the upload of \"%s\"", sp->key);
	}
done:
	bak_buf_free(&resp);
	if (err != 0) {
		s3_put_abort(p);
		return err;
	}
	sp->upload_id[0] = '\0';
	s3_put_abort(p);
	return 0;
}

static int s3_stat(bool *exists, uint64_t *size, struct bak_repo *r,
		   const char *key, struct bak_err *e);

static int s3_put_begin(struct bak_put **out, struct bak_repo *r,
			const char *key, bool exclusive, struct bak_err *e)
{
	struct s3_put *sp;

	if (exclusive) {
		bool exists;
		int err = s3_stat(&exists, NULL, r, key, e);

		if (err != 0)
			return err;
		if (exists)
			return bak_fail(e, DBOPS_ERR_CONFLICT,
					"object \"%s\" already exists in %s",
					key, r->desc);
	}
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		abort();
	snprintf(sp->key, sizeof(sp->key), "%s", key);
	sp->exclusive = exclusive;
	sp->p.sink.write = s3_put_write;
	sp->p.repo = r;
	sp->p.end = s3_put_end;
	sp->p.abort = s3_put_abort;
	*out = &sp->p;
	return 0;
}

/* ---- the rest ---------------------------------------------------------------- */

static int s3_get(struct bak_repo *r, const char *key, struct bak_sink *sink,
		  struct bak_err *e)
{
	struct bak_buf resp = {0};
	struct s3_req q = {0};
	int err;

	q.method = "GET";
	q.key = key;
	q.sink = sink;
	q.resp = &resp;
	q.e = e;
	err = s3_do(r, &q);
	bak_buf_free(&resp);
	return err;
}

static int s3_stat(bool *exists, uint64_t *size, struct bak_repo *r,
		   const char *key, struct bak_err *e)
{
	struct s3_req q = {0};
	int err;

	q.method = "HEAD";
	q.key = key;
	q.e = e;
	*exists = false;
	err = s3_do(r, &q);
	if (err == DBOPS_ERR_NOTFOUND)
		return 0;
	if (err != 0)
		return err;
	*exists = true;
	if (size != NULL) {
		curl_off_t len = 0;

		curl_easy_getinfo(((struct s3 *)r->impl)->curl,
				  CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
		*size = len > 0 ? (uint64_t)len : 0;
	}
	return 0;
}

static int s3_list(char ***keys_out, size_t *n_out, struct bak_repo *r,
		   const char *prefix, struct bak_err *e)
{
	struct bak_buf full = {0}, query = {0}, resp = {0};
	char token[2048] = "", key[2048];
	char **v = NULL;
	size_t n = 0, cap = 0, skip;
	int err = 0;

	if (r->o.prefix != NULL && r->o.prefix[0] != '\0')
		bak_buf_addf(&full, "%s/", r->o.prefix);
	bak_buf_addf(&full, "%s", prefix);
	skip = full.len;
	for (;;) {
		struct s3_req q = {0};
		const char *p;
		char trunc[16] = "";

		query.len = 0;
		if (token[0] != '\0') {
			bak_buf_addf(&query, "continuation-token=");
			s3_encode(&query, token, false);
			bak_buf_addf(&query, "&");
		}
		bak_buf_addf(&query, "list-type=2&prefix=");
		s3_encode(&query, bak_buf_str(&full), false);
		q.method = "GET";
		q.key = NULL;
		q.query = bak_buf_str(&query);
		q.resp = &resp;
		q.e = e;
		if ((err = s3_do(r, &q)) != 0)
			break;
		p = bak_buf_str(&resp);
		while ((p = xml_value(key, sizeof(key), p, "Key")) != NULL) {
			xml_unescape(key);
			if (strlen(key) <= skip)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				v = realloc(v, cap * sizeof(char *));
				if (v == NULL)
					abort();
			}
			v[n++] = strdup(key + skip);
		}
		xml_value(trunc, sizeof(trunc), bak_buf_str(&resp),
			  "IsTruncated");
		if (strcmp(trunc, "true") != 0 ||
		    xml_value(token, sizeof(token), bak_buf_str(&resp),
			      "NextContinuationToken") == NULL)
			break;
		xml_unescape(token);
	}
	bak_buf_free(&full);
	bak_buf_free(&query);
	bak_buf_free(&resp);
	if (err != 0) {
		bak_strv_free(v, n);
		return err;
	}
	*keys_out = v;
	*n_out = n;
	return 0;
}

static int s3_del(struct bak_repo *r, const char *key, struct bak_err *e)
{
	struct s3_req q = {0};
	int err;

	q.method = "DELETE";
	q.key = key;
	q.e = e;
	err = s3_do(r, &q);
	return err == DBOPS_ERR_NOTFOUND ? 0 : err;
}

static void s3_close(struct bak_repo *r)
{
	struct s3 *s = r->impl;

	if (s != NULL) {
		curl_easy_cleanup(s->curl);
		free(s);
	}
}

static int s3_open(struct bak_repo *r, struct bak_err *e)
{
	struct s3 *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s->curl = curl_easy_init();
	if (s->curl == NULL) {
		free(s);
		return bak_fail(e, DBOPS_ERR_GENERIC,
				"could not initialise libcurl");
	}
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3",
		 r->o.region ? r->o.region : "us-east-1");
	r->impl = s;
	return 0;
}

/* The first call of any operation opens the handle. */
#define S3_OPEN(r, e)                                                          \
	do {                                                                   \
		int open_err_;                                                 \
		if ((r)->impl == NULL && (open_err_ = s3_open((r), (e))) != 0) \
			return open_err_;                                      \
	} while (0)

static int s3_put_begin_o(struct bak_put **out, struct bak_repo *r,
			  const char *key, bool exclusive, struct bak_err *e)
{
	S3_OPEN(r, e);
	return s3_put_begin(out, r, key, exclusive, e);
}

static int s3_get_o(struct bak_repo *r, const char *key, struct bak_sink *sink,
		    struct bak_err *e)
{
	S3_OPEN(r, e);
	return s3_get(r, key, sink, e);
}

static int s3_stat_o(bool *exists, uint64_t *size, struct bak_repo *r,
		     const char *key, struct bak_err *e)
{
	S3_OPEN(r, e);
	return s3_stat(exists, size, r, key, e);
}

static int s3_list_o(char ***keys_out, size_t *n_out, struct bak_repo *r,
		     const char *prefix, struct bak_err *e)
{
	S3_OPEN(r, e);
	return s3_list(keys_out, n_out, r, prefix, e);
}

static int s3_del_o(struct bak_repo *r, const char *key, struct bak_err *e)
{
	S3_OPEN(r, e);
	return s3_del(r, key, e);
}

const struct bak_repo_ops bak_s3_ops = {
    .put_begin = s3_put_begin_o,
    .get = s3_get_o,
    .stat = s3_stat_o,
    .list = s3_list_o,
    .del = s3_del_o,
    .close = s3_close,
};

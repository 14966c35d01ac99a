/* SPDX-License-Identifier: PostgreSQL */
/*
 * codec.c — the streams between dbops and the repository: lz4 and zstd
 * compression (their own frame formats, so that an unencrypted object
 * reads with `lz4 -d` or `zstd -d`), AES-256-GCM encryption, and the
 * decoder that undoes both, recognising each layer by its magic number so
 * that an object says itself how it was written.
 *
 * The encrypted format (all integers big-endian):
 *
 *	"DBOPSAE1"  salt[32]           header, 40 bytes
 *	{ word[4] ciphertext[len] tag[16] } ...   chunks
 *
 * The object key is HMAC-SHA256(master key, salt), with a fresh random
 * salt per object, so GCM nonces (4 zero bytes, then the chunk's index as
 * 8 bytes) never repeat under one key. `word` is the chunk's length
 * (at most 64 KiB) with bit 31 set on the last chunk; it is the chunk's
 * additional authenticated data, so a truncated, reordered or extended
 * object fails authentication. It does not hide the sizes of objects.
 */
#include "backups_int.h"

#include <lz4frame.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define ENC_MAGIC "DBOPSAE1"
#define ENC_HDR	  40
#define ENC_CHUNK (64u * 1024)
#define ENC_TAG	  16
#define ENC_FINAL 0x80000000u

static void *bak_xcalloc(size_t n)
{
	void *p = calloc(1, n);

	if (p == NULL)
		abort();
	return p;
}

void bak_sink_free_chain(struct bak_sink *s)
{
	if (s != NULL && s->free != NULL)
		s->free(s);
}

/* ---- a buffer sink ------------------------------------------------------ */

struct bufsink {
	struct bak_sink s;
	struct bak_buf *b;
};

static int bufsink_write(struct bak_sink *s, const void *data, size_t len,
			 bool final, struct bak_err *e)
{
	(void) final;
	(void)e;
	bak_buf_add(((struct bufsink *)s)->b, data, len);
	return 0;
}

static void bufsink_free(struct bak_sink *s)
{
	free(s);
}

struct bak_sink *bak_bufsink_new(struct bak_buf *b)
{
	struct bufsink *s = bak_xcalloc(sizeof(*s));

	s->s.write = bufsink_write;
	s->s.free = bufsink_free;
	s->b = b;
	return &s->s;
}

/* ---- compression ---------------------------------------------------------- */

struct comp {
	struct bak_sink s;
	struct bak_sink *next;
	enum bak_compress c;
	LZ4F_cctx *lz;
	ZSTD_CCtx *zs;
	bool started;
	int level;
	LZ4F_preferences_t prefs;
	unsigned char *out;
	size_t outcap;
};

static void comp_reserve(struct comp *c, size_t n)
{
	if (c->outcap >= n)
		return;
	free(c->out);
	c->out = malloc(n);
	if (c->out == NULL)
		abort();
	c->outcap = n;
}

static int comp_lz4(struct comp *c, const void *data, size_t len, bool final,
		    struct bak_err *e)
{
	size_t n, off = 0;
	int err;

	if (!c->started) {
		memset(&c->prefs, 0, sizeof(c->prefs));
		c->prefs.frameInfo.contentChecksumFlag =
		    LZ4F_contentChecksumEnabled;
		c->prefs.frameInfo.blockSizeID = LZ4F_max4MB;
		c->prefs.compressionLevel = c->level;
		comp_reserve(c, LZ4F_HEADER_SIZE_MAX);
		n = LZ4F_compressBegin(c->lz, c->out, c->outcap, &c->prefs);
		if (LZ4F_isError(n))
			return bak_fail(e, DBOPS_ERR_GENERIC,
					"could not compress with lz4: %s",
					LZ4F_getErrorName(n));
		c->started = true;
		if ((err = c->next->write(c->next, c->out, n, false, e)) != 0)
			return err;
	}
	while (off < len) {
		size_t step = len - off > (1u << 22) ? (1u << 22) : len - off;

		comp_reserve(c, LZ4F_compressBound(step, &c->prefs));
		n = LZ4F_compressUpdate(c->lz, c->out, c->outcap,
					(const char *)data + off, step, NULL);
		if (LZ4F_isError(n))
			return bak_fail(e, DBOPS_ERR_GENERIC,
					"could not compress with lz4: %s",
					LZ4F_getErrorName(n));
		off += step;
		if (n > 0 &&
		    (err = c->next->write(c->next, c->out, n, false, e)) != 0)
			return err;
	}
	if (!final)
		return 0;
	comp_reserve(c, LZ4F_compressBound(0, &c->prefs));
	n = LZ4F_compressEnd(c->lz, c->out, c->outcap, NULL);
	if (LZ4F_isError(n))
		return bak_fail(e, DBOPS_ERR_GENERIC,
				"could not compress with lz4: %s",
				LZ4F_getErrorName(n));
	return c->next->write(c->next, c->out, n, true, e);
}

static int comp_zstd(struct comp *c, const void *data, size_t len, bool final,
		     struct bak_err *e)
{
	ZSTD_inBuffer in = {data, len, 0};
	size_t left;
	int err;

	comp_reserve(c, ZSTD_CStreamOutSize());
	do {
		ZSTD_outBuffer out = {c->out, c->outcap, 0};

		left = ZSTD_compressStream2(
		    c->zs, &out, &in, final ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left))
			return bak_fail(e, DBOPS_ERR_GENERIC,
					"could not compress with zstd: %s",
					ZSTD_getErrorName(left));
		if (out.pos > 0 &&
		    (err = c->next->write(c->next, c->out, out.pos, false,
					  e)) != 0)
			return err;
	} while (final ? left != 0 : in.pos < in.size);
	return final ? c->next->write(c->next, NULL, 0, true, e) : 0;
}

static int comp_write(struct bak_sink *s, const void *data, size_t len,
		      bool final, struct bak_err *e)
{
	struct comp *c = (struct comp *)s;

	return c->c == BAK_COMP_LZ4 ? comp_lz4(c, data, len, final, e)
				    : comp_zstd(c, data, len, final, e);
}

static void comp_free(struct bak_sink *s)
{
	struct comp *c = (struct comp *)s;

	if (c->lz != NULL)
		LZ4F_freeCompressionContext(c->lz);
	if (c->zs != NULL)
		ZSTD_freeCCtx(c->zs);
	bak_sink_free_chain(c->next);
	free(c->out);
	free(c);
}

struct bak_sink *bak_compressor_new(enum bak_compress kind, int level,
				    struct bak_sink *next)
{
	struct comp *c;

	if (kind == BAK_COMP_NONE)
		return next;
	c = bak_xcalloc(sizeof(*c));
	c->s.write = comp_write;
	c->s.free = comp_free;
	c->next = next;
	c->c = kind;
	c->level = level;
	if (kind == BAK_COMP_LZ4) {
		if (LZ4F_isError(
			LZ4F_createCompressionContext(&c->lz, LZ4F_VERSION)))
			abort();
	} else {
		c->zs = ZSTD_createCCtx();
		if (c->zs == NULL)
			abort();
		ZSTD_CCtx_setParameter(c->zs, ZSTD_c_compressionLevel,
				       level > 0 ? level : 3);
		ZSTD_CCtx_setParameter(c->zs, ZSTD_c_checksumFlag, 1);
	}
	return &c->s;
}

/* ---- encryption ------------------------------------------------------------- */

struct enc {
	struct bak_sink s;
	struct bak_sink *next;
	unsigned char master[BAK_KEY_LEN];
	unsigned char key[32];
	EVP_CIPHER_CTX *cx;
	bool started, decrypt, done;
	uint64_t index;
	unsigned char buf[4 + ENC_CHUNK + ENC_TAG];
	size_t have; /* plaintext (encrypt) or record bytes (decrypt) */
	unsigned char out[ENC_CHUNK + ENC_TAG];
};

static void enc_nonce(unsigned char nonce[12], uint64_t index)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (unsigned char)(index >> (56 - 8 * i));
}

static void enc_derive(struct enc *x, const unsigned char *salt)
{
	unsigned int n = 0;

	HMAC(EVP_sha256(), x->master, BAK_KEY_LEN, salt, 32, x->key, &n);
}

static int enc_crypto_fail(struct bak_err *e, bool decrypt)
{
	return decrypt
		   ? bak_fail(
			 e, DBOPS_ERR_INVALID,
			 "could not decrypt: the data is corrupt or the key is wrong")
		   : bak_fail(e, DBOPS_ERR_GENERIC, "could not encrypt");
}

static int enc_chunk(struct enc *x, const unsigned char *plain, size_t len,
		     bool final, struct bak_err *e)
{
	unsigned char nonce[12], word[4];
	uint32_t w = (uint32_t)len | (final ? ENC_FINAL : 0);
	int n = 0, err;

	word[0] = (unsigned char)(w >> 24);
	word[1] = (unsigned char)(w >> 16);
	word[2] = (unsigned char)(w >> 8);
	word[3] = (unsigned char)w;
	enc_nonce(nonce, x->index++);
	if (EVP_EncryptInit_ex(x->cx, EVP_aes_256_gcm(), NULL, x->key, nonce) !=
		1 ||
	    EVP_EncryptUpdate(x->cx, NULL, &n, word, 4) != 1 ||
	    (len > 0 &&
	     EVP_EncryptUpdate(x->cx, x->out, &n, plain, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(x->cx, x->out + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(x->cx, EVP_CTRL_GCM_GET_TAG, ENC_TAG,
				x->out + len) != 1)
		return enc_crypto_fail(e, false);
	if ((err = x->next->write(x->next, word, 4, false, e)) != 0)
		return err;
	return x->next->write(x->next, x->out, len + ENC_TAG, final, e);
}

static int enc_write(struct bak_sink *s, const void *data, size_t len,
		     bool final, struct bak_err *e)
{
	struct enc *x = (struct enc *)s;
	const unsigned char *p = data;
	int err;

	if (!x->started) {
		unsigned char hdr[ENC_HDR];

		memcpy(hdr, ENC_MAGIC, 8);
		if (RAND_bytes(hdr + 8, 32) != 1)
			return enc_crypto_fail(e, false);
		enc_derive(x, hdr + 8);
		x->started = true;
		if ((err = x->next->write(x->next, hdr, ENC_HDR, false, e)) !=
		    0)
			return err;
	}
	while (len > 0) {
		size_t take = ENC_CHUNK - x->have;

		if (take > len)
			take = len;
		memcpy(x->buf + x->have, p, take);
		x->have += take;
		p += take;
		len -= take;
		if (x->have == ENC_CHUNK) {
			if ((err = enc_chunk(x, x->buf, x->have, false, e)) !=
			    0)
				return err;
			x->have = 0;
		}
	}
	if (!final)
		return 0;
	err = enc_chunk(x, x->buf, x->have, true, e);
	x->have = 0;
	return err;
}

/* Decryption: header, then records of word + ciphertext + tag. */
static int dec_record(struct enc *x, size_t len, bool last, struct bak_err *e)
{
	unsigned char nonce[12];
	int n = 0;

	enc_nonce(nonce, x->index++);
	if (EVP_DecryptInit_ex(x->cx, EVP_aes_256_gcm(), NULL, x->key, nonce) !=
		1 ||
	    EVP_DecryptUpdate(x->cx, NULL, &n, x->buf, 4) != 1 ||
	    (len > 0 &&
	     EVP_DecryptUpdate(x->cx, x->out, &n, x->buf + 4, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(x->cx, EVP_CTRL_GCM_SET_TAG, ENC_TAG,
				x->buf + 4 + len) != 1 ||
	    EVP_DecryptFinal_ex(x->cx, x->out + len, &n) != 1)
		return enc_crypto_fail(e, true);
	if (last)
		x->done = true;
	return x->next->write(x->next, x->out, len, false, e);
}

static int decrypt_write(struct bak_sink *s, const void *data, size_t len,
			 bool final, struct bak_err *e)
{
	struct enc *x = (struct enc *)s;
	const unsigned char *p = data;
	int err;

	while (len > 0) {
		size_t need, take;

		if (x->done)
			return enc_crypto_fail(e, true);
		if (!x->started) {
			need = ENC_HDR;
		} else if (x->have < 4) {
			need = 4;
		} else {
			uint32_t w = (uint32_t)x->buf[0] << 24 |
				     (uint32_t)x->buf[1] << 16 |
				     (uint32_t)x->buf[2] << 8 | x->buf[3];

			if ((w & ~ENC_FINAL) > ENC_CHUNK)
				return enc_crypto_fail(e, true);
			need = 4 + (w & ~ENC_FINAL) + ENC_TAG;
		}
		take = need - x->have;
		if (take > len)
			take = len;
		memcpy(x->buf + x->have, p, take);
		x->have += take;
		p += take;
		len -= take;
		if (x->have < need)
			continue;
		if (!x->started) {
			if (memcmp(x->buf, ENC_MAGIC, 8) != 0)
				return enc_crypto_fail(e, true);
			enc_derive(x, x->buf + 8);
			x->started = true;
			x->have = 0;
		} else if (need > 4) {
			bool last = (x->buf[0] & 0x80) != 0;

			if ((err = dec_record(x, need - 4 - ENC_TAG, last,
					      e)) != 0)
				return err;
			x->have = 0;
		}
	}
	if (!final)
		return 0;
	if (!x->done || x->have != 0)
		return bak_fail(e, DBOPS_ERR_INVALID,
				"could not decrypt: the data is truncated");
	return x->next->write(x->next, NULL, 0, true, e);
}

static void enc_free(struct bak_sink *s)
{
	struct enc *x = (struct enc *)s;

	EVP_CIPHER_CTX_free(x->cx);
	bak_sink_free_chain(x->next);
	OPENSSL_cleanse(x, sizeof(*x));
	free(x);
}

static struct enc *enc_new(const unsigned char *key, struct bak_sink *next,
			   bool decrypt)
{
	struct enc *x = bak_xcalloc(sizeof(*x));

	x->s.write = decrypt ? decrypt_write : enc_write;
	x->s.free = enc_free;
	x->next = next;
	x->decrypt = decrypt;
	memcpy(x->master, key, BAK_KEY_LEN);
	x->cx = EVP_CIPHER_CTX_new();
	if (x->cx == NULL)
		abort();
	return x;
}

struct bak_sink *bak_encrypter_new(const unsigned char key[BAK_KEY_LEN],
				   struct bak_sink *next)
{
	return &enc_new(key, next, false)->s;
}

/* ---- decompression and the decoder -------------------------------------------------- */

struct dec {
	struct bak_sink s;
	struct bak_sink *next;	/* what the detected layer writes to */
	struct bak_sink *layer; /* decided after the magic */
	const unsigned char *key;
	unsigned char key_copy[BAK_KEY_LEN];
	bool allow_enc;
	unsigned char head[8];
	size_t nhead;
	/* decompression state when this is that layer */
	LZ4F_dctx *lz;
	ZSTD_DCtx *zs;
	bool frame_done;
	unsigned char *out;
};

#define DEC_OUT (1u << 20)

static int decomp_write(struct bak_sink *s, const void *data, size_t len,
			bool final, struct bak_err *e)
{
	struct dec *d = (struct dec *)s;
	const unsigned char *p = data;
	int err;

	while (len > 0) {
		size_t outsz = DEC_OUT, insz = len;

		if (d->frame_done)
			return bak_fail(
			    e, DBOPS_ERR_INVALID,
			    "could not decompress: data after the end of the frame");
		if (d->lz != NULL) {
			size_t r = LZ4F_decompress(d->lz, d->out, &outsz, p,
						   &insz, NULL);

			if (LZ4F_isError(r))
				return bak_fail(
				    e, DBOPS_ERR_INVALID,
				    "could not decompress lz4 data: %s",
				    LZ4F_getErrorName(r));
			if (r == 0)
				d->frame_done = true;
		} else {
			ZSTD_inBuffer in = {p, len, 0};
			ZSTD_outBuffer out = {d->out, DEC_OUT, 0};
			size_t r = ZSTD_decompressStream(d->zs, &out, &in);

			if (ZSTD_isError(r))
				return bak_fail(
				    e, DBOPS_ERR_INVALID,
				    "could not decompress zstd data: %s",
				    ZSTD_getErrorName(r));
			if (r == 0)
				d->frame_done = true;
			insz = in.pos;
			outsz = out.pos;
		}
		p += insz;
		len -= insz;
		if (outsz > 0 && (err = d->next->write(d->next, d->out, outsz,
						       false, e)) != 0)
			return err;
		if (insz == 0 && outsz == 0)
			return bak_fail(
			    e, DBOPS_ERR_INVALID,
			    "could not decompress: the data is corrupt");
	}
	/* the output buffer may have been full: drain */
	for (;;) {
		size_t outsz = DEC_OUT, insz = 0;

		if (d->frame_done)
			break;
		if (d->lz != NULL) {
			size_t r = LZ4F_decompress(d->lz, d->out, &outsz, NULL,
						   &insz, NULL);

			if (LZ4F_isError(r))
				return bak_fail(
				    e, DBOPS_ERR_INVALID,
				    "could not decompress lz4 data: %s",
				    LZ4F_getErrorName(r));
			if (r == 0)
				d->frame_done = true;
		} else {
			ZSTD_inBuffer in = {NULL, 0, 0};
			ZSTD_outBuffer out = {d->out, DEC_OUT, 0};
			size_t r = ZSTD_decompressStream(d->zs, &out, &in);

			if (ZSTD_isError(r))
				return bak_fail(
				    e, DBOPS_ERR_INVALID,
				    "could not decompress zstd data: %s",
				    ZSTD_getErrorName(r));
			if (r == 0)
				d->frame_done = true;
			outsz = out.pos;
		}
		if (outsz == 0)
			break;
		if ((err = d->next->write(d->next, d->out, outsz, false, e)) !=
		    0)
			return err;
	}
	if (!final)
		return 0;
	if (!d->frame_done)
		return bak_fail(e, DBOPS_ERR_INVALID,
				"could not decompress: the data is truncated");
	return d->next->write(d->next, NULL, 0, true, e);
}

static void dec_free(struct bak_sink *s)
{
	struct dec *d = (struct dec *)s;

	if (d->layer != NULL)
		bak_sink_free_chain(d->layer); /* frees next through it */
	else
		bak_sink_free_chain(d->next);
	if (d->lz != NULL)
		LZ4F_freeDecompressionContext(d->lz);
	if (d->zs != NULL)
		ZSTD_freeDCtx(d->zs);
	free(d->out);
	OPENSSL_cleanse(d->key_copy, sizeof(d->key_copy));
	free(d);
}

/* A layer that owns nothing but passes through (plain data). */
struct pass_sink {
	struct bak_sink s;
	struct bak_sink *next;
};

static int pass_write(struct bak_sink *s, const void *data, size_t len,
		      bool final, struct bak_err *e)
{
	struct pass_sink *p = (struct pass_sink *)s;

	return p->next->write(p->next, data, len, final, e);
}

static void pass_free(struct bak_sink *s)
{
	bak_sink_free_chain(((struct pass_sink *)s)->next);
	free(s);
}

static struct bak_sink *dec_detector(const unsigned char *key, bool allow_enc,
				     struct bak_sink *next);

static int dec_decide(struct dec *d, struct bak_err *e)
{
	static const unsigned char lz4m[4] = {0x04, 0x22, 0x4D, 0x18};
	static const unsigned char zstdm[4] = {0x28, 0xB5, 0x2F, 0xFD};

	if (d->nhead >= 8 && memcmp(d->head, ENC_MAGIC, 8) == 0) {
		if (!d->allow_enc)
			return bak_fail(
			    e, DBOPS_ERR_INVALID,
			    "could not decode: the data is encrypted twice");
		if (d->key == NULL)
			return bak_fail(
			    e, DBOPS_ERR_INVALID,
			    "the object is encrypted, and no encryption key was given");
		d->layer =
		    &enc_new(d->key, dec_detector(NULL, false, d->next), true)
			 ->s;
		return 0;
	}
	if (d->nhead >= 4 &&
	    (memcmp(d->head, lz4m, 4) == 0 || memcmp(d->head, zstdm, 4) == 0)) {
		struct dec *z = bak_xcalloc(sizeof(*z));

		z->s.write = decomp_write;
		z->s.free = dec_free;
		z->next = d->next;
		z->out = malloc(DEC_OUT);
		if (z->out == NULL)
			abort();
		if (d->head[0] == 0x04) {
			if (LZ4F_isError(LZ4F_createDecompressionContext(
				&z->lz, LZ4F_VERSION)))
				abort();
		} else {
			z->zs = ZSTD_createDCtx();
		}
		d->layer = &z->s;
		return 0;
	}
	{
		struct pass_sink *p = bak_xcalloc(sizeof(*p));

		p->s.write = pass_write;
		p->s.free = pass_free;
		p->next = d->next;
		d->layer = &p->s;
	}
	return 0;
}

static int dec_write(struct bak_sink *s, const void *data, size_t len,
		     bool final, struct bak_err *e)
{
	struct dec *d = (struct dec *)s;
	int err;

	if (d->layer == NULL) {
		size_t take = sizeof(d->head) - d->nhead;

		if (take > len)
			take = len;
		if (take > 0) { /* data may be NULL when len is 0 (final) */
			memcpy(d->head + d->nhead, data, take);
			d->nhead += take;
			data = (const unsigned char *)data + take;
			len -= take;
		}
		if (d->nhead < sizeof(d->head) && !final)
			return 0;
		if ((err = dec_decide(d, e)) != 0)
			return err;
		if ((err = d->layer->write(d->layer, d->head, d->nhead,
					   final && len == 0, e)) != 0 ||
		    (final && len == 0))
			return err;
	}
	return d->layer->write(d->layer, data, len, final, e);
}

static struct bak_sink *dec_detector(const unsigned char *key, bool allow_enc,
				     struct bak_sink *next)
{
	struct dec *d = bak_xcalloc(sizeof(*d));

	d->s.write = dec_write;
	d->s.free = dec_free;
	d->next = next;
	d->allow_enc = allow_enc;
	if (key != NULL) {
		memcpy(d->key_copy, key, BAK_KEY_LEN);
		d->key = d->key_copy;
	}
	return &d->s;
}

struct bak_sink *bak_decoder_new(const unsigned char *key,
				 struct bak_sink *next)
{
	return dec_detector(key, true, next);
}

/* ---- names and keys ---------------------------------------------------------------------- */

int bak_key_parse(unsigned char key[BAK_KEY_LEN], const char *text,
		  struct bak_err *e)
{
	size_t len = strlen(text);

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
			   text[len - 1] == ' '))
		len--;
	if (len != 2 * BAK_KEY_LEN)
		goto bad;
	for (size_t i = 0; i < BAK_KEY_LEN; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char ch = text[2 * i + (size_t)k];

			v <<= 4;
			if (ch >= '0' && ch <= '9')
				v |= (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				v |= (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				v |= (unsigned)(ch - 'A' + 10);
			else
				goto bad;
		}
		key[i] = (unsigned char)v;
	}
	return 0;
bad:
	bak_fail(e, DBOPS_ERR_INVALID,
		 "the encryption key is not 64 hexadecimal digits");
	bak_err_detail(
	    e,
	    "An AES-256 key is 32 random bytes; make one with \"openssl rand -hex 32\".");
	return DBOPS_ERR_INVALID;
}

int bak_compress_parse(enum bak_compress *c, int *level, const char *text)
{
	char *end;

	*level = 0;
	if (strcmp(text, "none") == 0) {
		*c = BAK_COMP_NONE;
		return 0;
	}
	if (strcmp(text, "lz4") == 0) {
		*c = BAK_COMP_LZ4;
		return 0;
	}
	if (strncmp(text, "zstd", 4) == 0) {
		*c = BAK_COMP_ZSTD;
		if (text[4] == '\0')
			return 0;
		if (text[4] != ':')
			return DBOPS_ERR_INVALID;
		*level = (int)strtol(text + 5, &end, 10);
		if (end == text + 5 || *end != '\0' || *level < 1 ||
		    *level > 19)
			return DBOPS_ERR_INVALID;
		return 0;
	}
	return DBOPS_ERR_INVALID;
}

const char *bak_compress_name(enum bak_compress c)
{
	return c == BAK_COMP_LZ4 ? "lz4" : c == BAK_COMP_ZSTD ? "zstd" : "none";
}

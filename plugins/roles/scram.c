/* SPDX-License-Identifier: PostgreSQL */
/*
 * scram.c — SHA-256 (FIPS 180-4), HMAC-SHA-256 (RFC 2104), PBKDF2 (RFC
 * 8018) and base64, enough to recompute a SCRAM-SHA-256 verifier (RFC
 * 5802, RFC 7677) with the salt and iteration count PostgreSQL stored in
 * pg_authid. That is how the plugin tells whether a role's password is the
 * desired secret without setting it again; new verifiers are made by
 * libpq's PQencryptPasswordConn in apply.c, with a fresh random salt.
 *
 * The password is prepared as PostgreSQL prepares it (SASLprep, or the
 * raw bytes when SASLprep refuses it: saslprep.c) before the keys are
 * derived, so a non-ASCII secret compares equal with the verifier
 * PostgreSQL or libpq stored for it.
 */
#include "roles_int.h"

#include <stdio.h>
#include <string.h>

struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	size_t nbuf;
	uint64_t total;
};

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 =
		    ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 =
		    ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
			      ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
			      ((a & b) ^ (a & c) ^ (b & c));

		h = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
				       0xa54ff53a, 0x510e527f, 0x9b05688c,
				       0x1f83d9ab, 0x5be0cd19};

	memcpy(s->h, iv, sizeof(iv));
	s->nbuf = 0;
	s->total = 0;
}

static void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->total += len;
	while (len > 0) {
		size_t n = 64 - s->nbuf;

		if (n > len)
			n = len;
		memcpy(s->buf + s->nbuf, p, n);
		s->nbuf += n;
		p += n;
		len -= n;
		if (s->nbuf == 64) {
			sha256_block(s, s->buf);
			s->nbuf = 0;
		}
	}
}

static void sha256_final(struct sha256 *s, uint8_t out[ROLE_SHA256_LEN])
{
	uint64_t bits = s->total * 8;
	uint8_t pad = 0x80, zero = 0, len[8];

	sha256_update(s, &pad, 1);
	while (s->nbuf != 56)
		sha256_update(s, &zero, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, len, 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

void role_sha256(uint8_t out[ROLE_SHA256_LEN], const void *data, size_t len)
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, out);
}

/* The inner and outer states after the padded key, reused by PBKDF2. */
struct hmac_key {
	struct sha256 inner, outer;
};

static void hmac_key_init(struct hmac_key *k, const void *key, size_t keylen)
{
	uint8_t block[64], hashed[ROLE_SHA256_LEN];

	memset(block, 0, sizeof(block));
	if (keylen > 64) {
		role_sha256(hashed, key, keylen);
		memcpy(block, hashed, sizeof(hashed));
	} else if (keylen > 0) {
		memcpy(block, key, keylen);
	}
	for (int i = 0; i < 64; i++)
		block[i] ^= 0x36;
	sha256_init(&k->inner);
	sha256_update(&k->inner, block, 64);
	for (int i = 0; i < 64; i++)
		block[i] ^= 0x36 ^ 0x5c;
	sha256_init(&k->outer);
	sha256_update(&k->outer, block, 64);
}

static void hmac_run(uint8_t out[ROLE_SHA256_LEN], const struct hmac_key *k,
		     const void *data, size_t len)
{
	struct sha256 s = k->inner;
	uint8_t inner[ROLE_SHA256_LEN];

	sha256_update(&s, data, len);
	sha256_final(&s, inner);
	s = k->outer;
	sha256_update(&s, inner, sizeof(inner));
	sha256_final(&s, out);
}

void role_hmac_sha256(uint8_t out[ROLE_SHA256_LEN], const void *key,
		      size_t keylen, const void *data, size_t len)
{
	struct hmac_key k;

	hmac_key_init(&k, key, keylen);
	hmac_run(out, &k, data, len);
}

/* PBKDF2 limited to one output block, all SCRAM needs. */
void role_pbkdf2_sha256(uint8_t out[ROLE_SHA256_LEN], const void *pass,
			size_t passlen, const void *salt, size_t saltlen,
			unsigned iterations)
{
	struct hmac_key k;
	struct sha256 s;
	uint8_t u[ROLE_SHA256_LEN], inner[ROLE_SHA256_LEN];
	static const uint8_t one[4] = {0, 0, 0, 1};

	hmac_key_init(&k, pass, passlen);
	s = k.inner;
	sha256_update(&s, salt, saltlen);
	sha256_update(&s, one, 4);
	sha256_final(&s, inner);
	s = k.outer;
	sha256_update(&s, inner, sizeof(inner));
	sha256_final(&s, u);
	memcpy(out, u, sizeof(u));
	for (unsigned i = 1; i < iterations; i++) {
		hmac_run(u, &k, u, sizeof(u));
		for (int j = 0; j < ROLE_SHA256_LEN; j++)
			out[j] ^= u[j];
	}
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void role_base64_encode(char *out, const uint8_t *in, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

static int b64_value(char c)
{
	const char *p = c != '\0' ? strchr(b64, c) : NULL;

	return p != NULL ? (int)(p - b64) : -1;
}

int role_base64_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
	uint32_t v = 0;
	size_t o = 0;
	int bits = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int d = b64_value(in[i]);

		if (d < 0)
			return -1;
		v = v << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(v >> bits);
		}
	}
	return (int)o;
}

int role_scram_verifier(char *out, size_t cap, const uint8_t *salt,
			size_t saltlen, unsigned iterations,
			const char *password)
{
	uint8_t salted[ROLE_SHA256_LEN], client[ROLE_SHA256_LEN];
	uint8_t stored[ROLE_SHA256_LEN], server[ROLE_SHA256_LEN];
	char salt64[100], stored64[48], server64[48];
	char *prepared;
	int n;

	if (saltlen > 64 || iterations == 0)
		return -1;
	prepared = role_scram_prepare(password);
	role_pbkdf2_sha256(salted, prepared, strlen(prepared), salt, saltlen,
			   iterations);
	role_secret_free(prepared);
	role_hmac_sha256(client, salted, sizeof(salted), "Client Key", 10);
	role_sha256(stored, client, sizeof(client));
	role_hmac_sha256(server, salted, sizeof(salted), "Server Key", 10);
	role_base64_encode(salt64, salt, saltlen);
	role_base64_encode(stored64, stored, sizeof(stored));
	role_base64_encode(server64, server, sizeof(server));
	memset(salted, 0, sizeof(salted));
	memset(client, 0, sizeof(client));
	n = snprintf(out, cap, "SCRAM-SHA-256$%u:%s$%s:%s", iterations, salt64,
		     stored64, server64);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

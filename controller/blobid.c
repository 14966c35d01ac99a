/* SPDX-License-Identifier: PostgreSQL */
/*
 * blobid.c — git blob ids with Nettle's SHA-1 (blobid.h): no library
 * initialisation, unlike libgit2's (the certificate bundle) or
 * libcrypto's EVP interface (its providers and configuration file).
 */
#include "blobid.h"

#include <nettle/sha1.h>
#include <stdio.h>

void blobid_raw(unsigned char out[BLOBID_RAWSZ], const void *data, size_t len)
{
	struct sha1_ctx ctx;
	char header[40];
	int hlen = snprintf(header, sizeof(header), "blob %zu", len);

	sha1_init(&ctx);
	/* the header's NUL is hashed too */
	sha1_update(&ctx, (size_t)hlen + 1, (const uint8_t *)header);
	if (len > 0)
		sha1_update(&ctx, len, data);
	sha1_digest(&ctx, BLOBID_RAWSZ, out);
}

void blobid_tohex(char *out, const unsigned char *raw, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 0xf];
	}
	out[2 * n] = '\0';
}

const char *blobid_hex(struct arena *a, const void *data, size_t len)
{
	unsigned char raw[BLOBID_RAWSZ];
	char hex[BLOBID_HEXSZ + 1];

	blobid_raw(raw, data, len);
	blobid_tohex(hex, raw, sizeof(raw));
	return arena_strdup(a, hex);
}

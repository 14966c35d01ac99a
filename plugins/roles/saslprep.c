/* SPDX-License-Identifier: PostgreSQL */
/*
 * saslprep.c — SASLprep (RFC 4013) of a password exactly as PostgreSQL
 * applies it before deriving SCRAM-SHA-256 keys (pg_saslprep() in its
 * src/common/saslprep.c, run by the server for a cleartext password and by
 * libpq's PQencryptPasswordConn), so that a verifier recomputed here with
 * the stored salt equals the one PostgreSQL stored for the same secret.
 * It is not a general stringprep: where PostgreSQL departs from the RFC,
 * this follows PostgreSQL.
 *
 * PostgreSQL's steps, in its order:
 *   - input without a byte >= 0x80 is returned unchanged (ASCII control
 *     characters included: they are never reported as prohibited);
 *   - input that is not valid UTF-8 is refused (the caller then hashes
 *     the raw bytes);
 *   - table C.1.2 (non-ASCII spaces) is mapped to U+0020, then table B.1
 *     to nothing; an empty result is refused;
 *   - NFKC;
 *   - the mapped string — before NFKC, as PostgreSQL checks it — is refused
 *     when it holds a character of C.1.2, C.2.1, C.2.2, C.3 to C.9, or of
 *     A.1 (unassigned in Unicode 3.2: PostgreSQL checks it), or breaks the
 *     bidi rules of RFC 3454 section 6 (D.1 and D.2).
 * A refused password is hashed raw by PostgreSQL, and by role_scram_prepare.
 *
 * The Unicode data come from two Debian libraries rather than from tables
 * written here: libidn's RFC 3454 tables (fixed at Unicode 3.2, like the
 * RFC's and PostgreSQL's; the same code points as PostgreSQL's, every one
 * compared), and libunistring's NFKC (Unicode 14.0.0 in Debian 12's
 * libunistring 1.0, the version PostgreSQL 15 normalises with; libidn's
 * own NFKC is Unicode 3.2's). Since PostgreSQL refuses every code point
 * unassigned in Unicode 3.2 before normalising, NFKC only ever sees
 * characters whose normalisation Unicode keeps stable; libunistring gives
 * PostgreSQL 15's NFKC of every code point (compared too).
 */
#include "roles_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stringprep.h>
#include <uninorm.h>
#include <unistr.h>

/* Tables whose characters PostgreSQL refuses in the mapped string. */
static const Stringprep_table_element *const prohibited[] = {
    stringprep_rfc3454_C_1_2, stringprep_rfc3454_C_2_1,
    stringprep_rfc3454_C_2_2, stringprep_rfc3454_C_3,
    stringprep_rfc3454_C_4,   stringprep_rfc3454_C_5,
    stringprep_rfc3454_C_6,   stringprep_rfc3454_C_7,
    stringprep_rfc3454_C_8,   stringprep_rfc3454_C_9,
    stringprep_rfc3454_A_1,
};

#define NPROHIBITED (sizeof(prohibited) / sizeof(prohibited[0]))

static void *xalloc(void *p)
{
	if (p == NULL) {
		fprintf(stderr, "dbops: roles: out of memory\n");
		abort();
	}
	return p;
}

/* A libidn table is a list of ranges ended by an all-zero element; `end`
 * is 0 for a single character. */
static bool in_table(uint32_t c, const Stringprep_table_element *t)
{
	for (; t->start != 0 || t->end != 0; t++)
		if (c >= t->start && c <= (t->end != 0 ? t->end : t->start))
			return true;
	return false;
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Step 1: C.1.2 to a space, B.1 to nothing, in place; the new length. */
static size_t map(uint32_t *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in_table(s[i], stringprep_rfc3454_C_1_2))
			s[o++] = 0x20;
		else if (!in_table(s[i], stringprep_rfc3454_B_1))
			s[o++] = s[i];
	}
	return o;
}

/* Steps 3 and 4, on the mapped string as PostgreSQL does. */
static bool refused(const uint32_t *s, size_t n)
{
	bool randal = false;

	for (size_t i = 0; i < n; i++) {
		for (size_t t = 0; t < NPROHIBITED; t++)
			if (in_table(s[i], prohibited[t]))
				return true;
		randal = randal || in_table(s[i], stringprep_rfc3454_D_1);
	}
	if (!randal)
		return false;
	for (size_t i = 0; i < n; i++)
		if (in_table(s[i], stringprep_rfc3454_D_2))
			return true;
	return !in_table(s[0], stringprep_rfc3454_D_1) ||
	       !in_table(s[n - 1], stringprep_rfc3454_D_1);
}

static void wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

enum role_saslprep_rc role_saslprep(char **out, const char *in)
{
	size_t len = strlen(in), ns = 0, n, nnorm = 0, n8 = 0;
	uint32_t *s = NULL, *norm = NULL;
	uint8_t *u8 = NULL;
	enum role_saslprep_rc rc = ROLE_SASLPREP_PROHIBITED;

	*out = NULL;
	if (is_ascii(in)) {
		*out = xalloc(strdup(in));
		return ROLE_SASLPREP_OK;
	}
	if (u8_check((const uint8_t *)in, len) != NULL)
		return ROLE_SASLPREP_INVALID_UTF8;
	s = xalloc(u8_to_u32((const uint8_t *)in, len, NULL, &ns));
	n = map(s, ns);
	if (n == 0 || refused(s, n))
		goto done;
	norm = xalloc(u32_normalize(UNINORM_NFKC, s, n, NULL, &nnorm));
	u8 = xalloc(u32_to_u8(norm, nnorm, NULL, &n8));
	*out = xalloc(malloc(n8 + 1));
	memcpy(*out, u8, n8);
	(*out)[n8] = '\0';
	rc = ROLE_SASLPREP_OK;
done:
	wipe_free(s, ns * sizeof(*s));
	wipe_free(norm, nnorm * sizeof(*norm));
	wipe_free(u8, n8);
	return rc;
}

char *role_scram_prepare(const char *password)
{
	char *prepared = NULL;

	if (role_saslprep(&prepared, password) == ROLE_SASLPREP_OK)
		return prepared;
	return xalloc(strdup(password));
}

void role_secret_free(char *s)
{
	if (s != NULL)
		wipe_free(s, strlen(s));
}

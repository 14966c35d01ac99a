/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_roles_saslprep.c — SASLprep of the "roles" plugin as PostgreSQL 15
 * applies it before hashing a password: the examples of RFC 4013 section
 * 3, the choices PostgreSQL makes where it departs from the RFC (ASCII
 * returned as is, invalid UTF-8 and refused strings hashed raw, checks on
 * the mapped string before NFKC, unassigned code points of Unicode 3.2
 * refused), and verifiers
 * PostgreSQL 15.18 stored for non-ASCII passwords recomputed with their
 * salt. The strings are written as UTF-8 bytes; the comments name the
 * code points.
 */
#include "t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "../../plugins/roles/roles_int.h"

/* role_saslprep's code, and its result or "" when refused. */
static int prep(const char **result, const char *in)
{
	static char buf[256];
	char *out = NULL;
	int rc = (int)role_saslprep(&out, in);

	buf[0] = '\0';
	if (out != NULL) {
		snprintf(buf, sizeof(buf), "%s", out);
		role_secret_free(out);
	}
	*result = buf;
	return rc;
}

TEST(test_roles_saslprep__rfc4013_examples)
{
	const char *r;

	/* I<U+00AD>X: the soft hyphen is mapped to nothing */
	T_ASSERT_INT(prep(&r, "I\xC2\xADX"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "IX");
	T_ASSERT_INT(prep(&r, "user"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "user");
	T_ASSERT_INT(prep(&r, "USER"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "USER");
	/* <U+00AA> FEMININE ORDINAL INDICATOR: NFKC gives "a" */
	T_ASSERT_INT(prep(&r, "\xC2\xAA"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "a");
	/* <U+2168> ROMAN NUMERAL NINE: NFKC gives "IX" */
	T_ASSERT_INT(prep(&r, "\xE2\x85\xA8"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "IX");
	/* <U+0627><U+0031>: a RandALCat string must end with one */
	T_ASSERT_INT(prep(&r, "\xD8\xA7\x31"), ROLE_SASLPREP_PROHIBITED);
	T_ASSERT_STR(r, "");
	T_ASSERT_INT(prep(&r, "\xD8\xA7\x31\xD8\xA7"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "\xD8\xA7\x31\xD8\xA7");
}

TEST(test_roles_saslprep__ascii_control_kept_as_postgres_does)
{
	const char *r;

	/* RFC 4013 refuses <U+0007>; PostgreSQL returns any ASCII string
	 * unchanged, and hashes a refused one raw: the same bytes. */
	T_ASSERT_INT(prep(&r, "\x07"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "\x07");
	/* with a non-ASCII character the control is refused */
	T_ASSERT_INT(prep(&r, "\xC3\xA9\x07"), ROLE_SASLPREP_PROHIBITED);
}

TEST(test_roles_saslprep__invalid_utf8_is_hashed_raw)
{
	static const char *const bad[] = {
	    "\xff\xfe",		/* not UTF-8 at all */
	    "abc\xC3",		/* truncated sequence */
	    "\xED\xA0\x80",	/* a surrogate */
	    "\xC0\xAF",		/* overlong "/" */
	    "\xF4\x90\x80\x80", /* above U+10FFFF */
	};
	const char *r;
	char *raw;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_ASSERT_INT(prep(&r, bad[i]), ROLE_SASLPREP_INVALID_UTF8);
		raw = role_scram_prepare(bad[i]);
		T_ASSERT_STR(raw, bad[i]);
		role_secret_free(raw);
	}
}

TEST(test_roles_saslprep__prohibited_output_is_hashed_raw)
{
	const char *r;
	char *raw;

	/* <U+00E9><U+E000>: a private use character (C.3) */
	T_ASSERT_INT(prep(&r, "\xC3\xA9\xEE\x80\x80"),
		     ROLE_SASLPREP_PROHIBITED);
	raw = role_scram_prepare("\xC3\xA9\xEE\x80\x80");
	T_ASSERT_STR(raw, "\xC3\xA9\xEE\x80\x80");
	role_secret_free(raw);
	/* e<U+0340>: refused though its NFKC (U+0300) is allowed, because
	 * PostgreSQL checks the string before normalising it */
	T_ASSERT_INT(prep(&r, "e\xCD\x80"), ROLE_SASLPREP_PROHIBITED);
	/* <U+00E9><U+0221>: unassigned in Unicode 3.2 (A.1); PostgreSQL
	 * checks it */
	T_ASSERT_INT(prep(&r, "\xC3\xA9\xC8\xA1"), ROLE_SASLPREP_PROHIBITED);
	/* <U+00AD> alone maps to nothing: PostgreSQL refuses the empty
	 * result and hashes the raw bytes */
	T_ASSERT_INT(prep(&r, "\xC2\xAD"), ROLE_SASLPREP_PROHIBITED);
	raw = role_scram_prepare("\xC2\xAD");
	T_ASSERT_STR(raw, "\xC2\xAD");
	role_secret_free(raw);
}

TEST(test_roles_saslprep__non_ascii_spaces_become_spaces)
{
	const char *r;

	/* a<U+00A0>b: no-break space, in both C.1.2 and the prohibited
	 * tables, is mapped first */
	T_ASSERT_INT(prep(&r, "a\xC2\xA0\x62"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "a b");
	/* <U+3000>x: ideographic space */
	T_ASSERT_INT(prep(&r, "\xE3\x80\x80x"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, " x");
	/* <U+200B> is in C.1.2 and B.1: PostgreSQL maps it to a space */
	T_ASSERT_INT(prep(&r, "x\xE2\x80\x8By"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "x y");
}

TEST(test_roles_saslprep__nfkc_composes)
{
	const char *r;

	/* e<U+0301> composes to <U+00E9> */
	T_ASSERT_INT(prep(&r, "e\xCC\x81"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "\xC3\xA9");
	/* <U+FB01> LATIN SMALL LIGATURE FI */
	T_ASSERT_INT(prep(&r, "\xEF\xAC\x81"), ROLE_SASLPREP_OK);
	T_ASSERT_STR(r, "fi");
}

/* PostgreSQL 15.18 stored these for ALTER ROLE ... PASSWORD U&'...' */
static const struct {
	const char *secret, *stored;
} pg15_verifiers[] = {
    /* I<U+00AD>X */
    {"I\xC2\xADX", "SCRAM-SHA-256$4096:PBQJclCOE2iqgKcIx7Jh8Q==$"
		   "0FDgJ/pWxQ1BGyG7AY3UPFL9oyZCnSUA2V1asCapjME=:"
		   "IeUqW0F1eFE2fY/l/nI2OmS6ktX0cLikI4tCb+2TehQ="},
    /* <U+2168> */
    {"\xE2\x85\xA8", "SCRAM-SHA-256$4096:wEDXyoFN3WbH0lQ2TyupDw==$"
		     "5e7uAabsVUJrkzlpvE3GwM5wvwLSHHzHuPE4Sc3kLio=:"
		     "yIXcob+WD7E7w/XKPxGDSk7sINmPHlOJV8SrJd9gR4I="},
    /* p<U+00E4>ssw<U+00F6>rd */
    {"p\xC3\xA4ssw\xC3\xB6rd", "SCRAM-SHA-256$4096:k3nEulffUog/oG22f7Urfw==$"
			       "GRR2AxDWPTrwvhqHwoMuWUAhUdkytZeNxDkaf2U6xsU=:"
			       "7yLhjWPD9twUEz1EJE1ZjMfPpeAmVuAyDfug985CztQ="},
    /* <U+0627><U+0031>: refused, hashed raw */
    {"\xD8\xA7\x31", "SCRAM-SHA-256$4096:JspqG49uCQ/K330XDIwf+g==$"
		     "o7vLOdry3zr3R3omUNFbuuLJ5Oiovn/rHtGY+KmLXh4=:"
		     "HWJ/EM68oGuPHmJ6vDGU4TG4/0gK5QKD8Qk6p4mp6Kk="},
    /* e<U+0340>: refused, hashed raw */
    {"e\xCD\x80", "SCRAM-SHA-256$4096:kqDeDlNqbuLCsTY1uQYTvQ==$"
		  "VUzD53qp3kHeH8xTpJV0oSfdjdwJu5QBwPwfP63zpnk=:"
		  "d85uV+jN1xe53gFNPKgJE6GcsDYAdJ+ooDJcafoKsOk="},
};

TEST(test_roles_saslprep__recomputes_postgres_15_verifiers)
{
	for (size_t i = 0;
	     i < sizeof(pg15_verifiers) / sizeof(pg15_verifiers[0]); i++) {
		const char *stored = pg15_verifiers[i].stored;
		const char *salt64 = stored + strlen("SCRAM-SHA-256$4096:");
		uint8_t salt[32];
		char out[200];
		int n =
		    role_base64_decode(salt, sizeof(salt), salt64,
				       (size_t)(strchr(salt64, '$') - salt64));

		T_ASSERT_INT(n, 16);
		T_ASSERT_INT(role_scram_verifier(out, sizeof(out), salt,
						 (size_t)n, 4096,
						 pg15_verifiers[i].secret),
			     0);
		T_ASSERT_STR(out, stored);
		T_ASSERT_INT(
		    role_password_compare(pg15_verifiers[i].secret, stored),
		    ROLE_PW_SAME);
	}
	/* the normalised form is the same password */
	T_ASSERT_INT(role_password_compare("IX", pg15_verifiers[0].stored),
		     ROLE_PW_SAME);
	T_ASSERT_INT(role_password_compare("I-X", pg15_verifiers[0].stored),
		     ROLE_PW_DIFFERENT);
}

/* PostgreSQL 15.18 stored this for <U+AC00><U+11A7>. */
static const char pg15_hangul[] =
    "SCRAM-SHA-256$4096:Eo8FJn+1IH+NBCgdgkhrZw==$"
    "QoG4fAXaaobYMeE7EjuHGhu/zQGvzsrIIMPivMHSTE8=:"
    "nlNhVSWS3clQVq1slwxXvy2PGFWs1Hu8dShscZ2bP4c=";

TEST(test_roles_saslprep__unassigned_in_unicode_3_2_is_hashed_raw)
{
	const char *r;

	/* U+11A7 was assigned in Unicode 5.2: PostgreSQL refuses it before
	 * normalising (so its NFKC Hangul bug with U+11A7, fixed in later
	 * releases, never reaches a password) and hashes the raw bytes */
	T_ASSERT_INT(prep(&r, "\xEA\xB0\x80\xE1\x86\xA7"),
		     ROLE_SASLPREP_PROHIBITED);
	T_ASSERT_INT(
	    role_password_compare("\xEA\xB0\x80\xE1\x86\xA7", pg15_hangul),
	    ROLE_PW_SAME);
	T_ASSERT_INT(role_password_compare("\xEA\xB0\x80", pg15_hangul),
		     ROLE_PW_DIFFERENT);
}

TEST(test_roles_saslprep__diff_plans_nothing_for_normalised_secret)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const struct dbops_node *root;
	struct role_spec *s = NULL;
	struct role_live *l;
	struct role_live_role *r;

	/* the secret the server hashed was I<U+00AD>X; the spec's is "IX" */
	setenv("ROLE_TEST_PW", "IX", 1);
	root = fake_host_spec(
	    fc, "roles:\n  members:\n"
		"    - {name: app, password: {env: ROLE_TEST_PW}}\n");
	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    role_spec_load(
		&s, fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "roles")),
	    0);
	l = arena_alloc(fc->arena, sizeof(*l));
	l->current_user = "postgres";
	l->current_database = "app";
	l->superuser = true;
	l->authid_readable = true;
	l->roles = arena_alloc(fc->arena, sizeof(*l->roles));
	r = &l->roles[l->nroles++];
	r->name = "app";
	r->inherit = true;
	r->connection_limit = -1;
	r->password = pg15_verifiers[0].stored;
	role_live_finish(fake_host_ctx(fc), l);
	T_ASSERT_INT(role_diff_models(fake_host_ctx(fc), s, l), 0);
	T_ASSERT_INT((int)fc->nchanges, 0);
	fake_host_free(fc);
	unsetenv("ROLE_TEST_PW");
}

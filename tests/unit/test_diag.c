/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_diag.c — diagnostics: PostgreSQL-style printing with location,
 * detail, hint and context; lists; the "did you mean" suggestion; spec
 * values quoted back in messages, cut when long.
 */
#include <stdio.h>
#include <stdlib.h>

#include "diag.h"
#include "t.h"

TEST(test_diag__prints_postgresql_style)
{
	struct arena *a = arena_new();
	struct dbops_diag_list l = {0};
	struct dbops_loc loc = {"clusters/prod/cluster.yaml", 14, 7};
	struct dbops_diag *d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	d = diag_add(&l, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &loc,
		     "unknown key \"%s\"", "conection");
	diag_hint(d, a, "Did you mean \"%s\"?", "connection");
	diag_context(d, a, "in the \"%s\" callback", "validate");
	diag_add(&l, a, DBOPS_SEV_WARNING, 0, NULL, "a warning");
	diag_print_list(f, &l);
	fclose(f);
	T_ASSERT_STR(
	    buf,
	    "clusters/prod/cluster.yaml:14:7: ERROR:  unknown key \"conection\"\n"
	    "HINT:  Did you mean \"connection\"?\n"
	    "CONTEXT:  in the \"validate\" callback\n"
	    "WARNING:  a warning\n");
	T_ASSERT_INT(l.nerrors, 1);
	T_ASSERT_INT(l.nwarnings, 1);
	free(buf);
	arena_free(a);
}

TEST(test_diag__suggests_close_names_only)
{
	static const char *const names[] = {"connection", "parameters",
					    "cluster", "apiVersion"};

	T_ASSERT_STR(diag_suggest("conection", names, 4), "connection");
	T_ASSERT_STR(diag_suggest("paramters", names, 4), "parameters");
	T_ASSERT_STR(diag_suggest("apiversion", names, 4), "apiVersion");
	T_ASSERT_STR(diag_suggest("culster", names, 4), "cluster");
	T_ASSERT(diag_suggest("replicas", names, 4) == NULL);
}

TEST(test_diag__moves_lists)
{
	struct arena *a = arena_new();
	struct dbops_diag_list x = {0}, y = {0};

	diag_add(&x, a, DBOPS_SEV_ERROR, -1, NULL, "one");
	diag_add(&y, a, DBOPS_SEV_ERROR, -1, NULL, "two");
	diag_add(&y, a, DBOPS_SEV_WARNING, -1, NULL, "three");
	diag_list_move(&x, &y);
	T_ASSERT_INT(x.nerrors, 2);
	T_ASSERT_INT(x.nwarnings, 1);
	T_ASSERT_STR(x.tail->message, "three");
	T_ASSERT(y.head == NULL);
	arena_free(a);
}

TEST(test_diag__value_short_is_quoted_whole)
{
	struct arena *a = arena_new();

	T_ASSERT_STR(diag_value(a, "work_mem"), "\"work_mem\"");
	T_ASSERT_STR(diag_value(a, ""), "\"\"");
	T_ASSERT_STR(diag_value(a, NULL), "null");
	arena_free(a);
}

TEST(test_diag__value_long_is_cut_with_its_length)
{
	struct arena *a = arena_new();
	char *big = malloc(900001);
	char expected[128];

	T_ASSERT(big != NULL);
	memset(big, 'x', 900000);
	big[900000] = '\0';
	snprintf(expected, sizeof(expected), "\"%.64s...\" (900000 bytes)",
		 big);
	T_ASSERT_STR(diag_value(a, big), expected);
	free(big);
	arena_free(a);
}

TEST(test_diag__value_stops_at_line_breaks_and_controls)
{
	struct arena *a = arena_new();

	T_ASSERT_STR(diag_value(a, "one\ntwo"), "\"one...\" (7 bytes)");
	T_ASSERT_STR(diag_value(a, "red\x1b[31m"), "\"red...\" (8 bytes)");
	arena_free(a);
}

TEST(test_diag__value_cut_keeps_whole_characters)
{
	struct arena *a = arena_new();
	/* 63 ASCII bytes, then "é" (2 bytes) across the 64-byte limit */
	char s[80];

	memset(s, 'a', 63);
	snprintf(s + 63, sizeof(s) - 63, "\xc3\xa9zz");
	T_ASSERT_STR(diag_value(a, s),
		     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaa...\" (67 bytes)");
	arena_free(a);
}

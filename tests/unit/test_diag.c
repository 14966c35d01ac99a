/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_diag.c — diagnostics: PostgreSQL-style printing with location,
 * detail, hint and context; lists; the "did you mean" suggestion.
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

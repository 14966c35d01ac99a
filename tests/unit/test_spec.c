/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_spec.c — the spec loader: YAML to the located tree, the input
 * limits (size, nodes with alias expansion, depth), the typed getters, the
 * top level of a cluster spec and the fleet file. Diagnostics are compared
 * with golden files rendered exactly as the command line prints them.
 */
#include "t.h"

#include <stdio.h>
#include <stdlib.h>

#include "diag.h"
#include "spec.h"

/* One arena and diagnostic list per test; the previous test's arena is
 * freed when the next one starts, so an early return does not leak it. */
static struct arena *A;
static struct dbops_diag_list D;

static void fx_begin(void)
{
	arena_free(A);
	A = arena_new();
	memset(&D, 0, sizeof(D));
}

/* The diagnostics as `dbops` prints them. */
static const char *rendered(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *out;

	if (f == NULL)
		return NULL;
	diag_print_list(f, &D);
	fclose(f);
	out = arena_strdup(A, buf);
	free(buf);
	return out;
}

static int parse_limits(const struct dbops_node **root, const char *text,
			const struct spec_limits *limits)
{
	return spec_parse(root, A, &D, "cluster.yaml", text, strlen(text),
			  limits);
}

static int parse(const struct dbops_node **root, const char *text)
{
	return parse_limits(root, text, NULL);
}

static const char *fixture(const char *name)
{
	char rel[256];
	FILE *f;
	char buf[8192];
	size_t n;

	snprintf(rel, sizeof(rel), "tests/fixtures/specs/%s", name);
	f = fopen(t_path(rel), "rb");
	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return arena_strdup(A, buf);
}

static const char *const sections[] = {"parameters", "roles", "pooler"};

/* ---- parsing */

TEST(test_spec__builds_located_tree)
{
	const struct dbops_node *root, *conn, *ci;

	fx_begin();
	T_ASSERT_INT(parse(&root, "apiVersion: dbops/v1\n"
				  "connection:\n"
				  "  conninfo:   \"service=prod\"\n"
				  "roles: [app, {name: x}]\n"),
		     0);
	T_ASSERT(root != NULL);
	T_ASSERT_INT(root->kind, DBOPS_NODE_MAP);
	T_ASSERT_INT(root->len, 3);
	T_ASSERT_STR(root->keys[0], "apiVersion");
	T_ASSERT_STR(root->keys[2], "roles");
	conn = spec_get(root, "connection");
	T_ASSERT(conn != NULL);
	ci = spec_get(conn, "conninfo");
	T_ASSERT(ci != NULL);
	T_ASSERT_STR(ci->scalar, "service=prod");
	T_ASSERT_STR(ci->loc.file, "cluster.yaml");
	T_ASSERT_INT(ci->loc.line, 3);
	T_ASSERT_INT(ci->loc.col, 15);
	/* the key node keeps its own place */
	T_ASSERT_INT(conn->key_nodes[0]->loc.line, 3);
	T_ASSERT_INT(conn->key_nodes[0]->loc.col, 3);
	T_ASSERT_INT(spec_get(root, "roles")->kind, DBOPS_NODE_SEQ);
	T_ASSERT_INT(spec_get(root, "roles")->len, 2);
	T_ASSERT_INT(spec_get(root, "roles")->items[1]->loc.col, 14);
	T_ASSERT_STR(
	    spec_get(spec_get(root, "roles")->items[1], "name")->scalar, "x");
	T_ASSERT_INT(D.nerrors, 0);
}

TEST(test_spec__locations_of_a_deeply_nested_value)
{
	const struct dbops_node *root, *v;
	int64_t n;

	fx_begin();
	T_ASSERT_INT(parse(&root, "apiVersion: dbops/v1\n"
				  "pooler:\n"
				  "  databases:\n"
				  "    app:\n"
				  "      pool_size:    ten\n"),
		     0);
	v = spec_get(
	    spec_get(spec_get(spec_get(root, "pooler"), "databases"), "app"),
	    "pool_size");
	T_ASSERT(v != NULL);
	T_ASSERT_INT(v->loc.line, 5);
	T_ASSERT_INT(v->loc.col, 21);
	T_ASSERT_INT(
	    spec_int(&n, &D, A, v, "pooler.databases.app.pool_size", 1, 10000),
	    DBOPS_ERR_INVALID);
	T_ASSERT_STR(rendered(), "cluster.yaml:5:21: ERROR:  "
				 "pooler.databases.app.pool_size must be an "
				 "integer, got \"ten\"\n");
}

TEST(test_spec__columns_count_characters_not_bytes)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "{\"\xc3\xa9t\xc3\xa9\": x, k: y}\n"), 0);
	T_ASSERT_INT(root->key_nodes[1]->loc.col, 12);
}

TEST(test_spec__quoted_and_plain_scalars)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "plain: 0755\n"
				  "single: 'it''s'\n"
				  "double: \"a\\tb\"\n"
				  "literal: |\n"
				  "  line one\n"
				  "  line two\n"
				  "folded: >-\n"
				  "  one\n"
				  "  two\n"
				  "tagged: !!str 12\n"
				  "on: on\n"),
		     0);
	T_ASSERT_STR(spec_get(root, "plain")->scalar, "0755");
	T_ASSERT(!spec_get(root, "plain")->quoted);
	T_ASSERT_STR(spec_get(root, "single")->scalar, "it's");
	T_ASSERT(spec_get(root, "single")->quoted);
	T_ASSERT_STR(spec_get(root, "double")->scalar, "a\tb");
	T_ASSERT(spec_get(root, "double")->quoted);
	T_ASSERT_STR(spec_get(root, "literal")->scalar, "line one\nline two\n");
	T_ASSERT(spec_get(root, "literal")->quoted);
	T_ASSERT_STR(spec_get(root, "folded")->scalar, "one two");
	T_ASSERT(spec_get(root, "folded")->quoted);
	T_ASSERT_STR(spec_get(root, "tagged")->scalar, "12");
	T_ASSERT(spec_get(root, "tagged")->quoted);
	/* YAML 1.1 booleans stay text, keys included */
	T_ASSERT_STR(spec_get(root, "on")->scalar, "on");
	T_ASSERT(!spec_get(root, "on")->quoted);
}

TEST(test_spec__null_handling)
{
	const struct dbops_node *root;
	const char *s;

	fx_begin();
	T_ASSERT_INT(parse(&root, "a:\n"
				  "b: ~\n"
				  "c: null\n"
				  "d: NULL\n"
				  "e: \"\"\n"
				  "f: 'null'\n"
				  "g: nullable\n"
				  "h: !!null\n"
				  "~: key\n"
				  "i:\n"
				  "  -\n"
				  "  - ~\n"
				  "  - x\n"),
		     0);
	T_ASSERT_INT(spec_get(root, "a")->kind, DBOPS_NODE_NULL);
	T_ASSERT(spec_get(root, "a")->scalar == NULL);
	T_ASSERT_INT(spec_get(root, "b")->kind, DBOPS_NODE_NULL);
	T_ASSERT_INT(spec_get(root, "c")->kind, DBOPS_NODE_NULL);
	T_ASSERT_INT(spec_get(root, "d")->kind, DBOPS_NODE_NULL);
	T_ASSERT_INT(spec_get(root, "e")->kind, DBOPS_NODE_SCALAR);
	T_ASSERT_STR(spec_get(root, "e")->scalar, "");
	T_ASSERT_INT(spec_get(root, "f")->kind, DBOPS_NODE_SCALAR);
	T_ASSERT_STR(spec_get(root, "f")->scalar, "null");
	T_ASSERT_INT(spec_get(root, "g")->kind, DBOPS_NODE_SCALAR);
	T_ASSERT_INT(spec_get(root, "h")->kind, DBOPS_NODE_NULL);
	/* a key is always a name */
	T_ASSERT_STR(spec_get(root, "~")->scalar, "key");
	T_ASSERT_INT(spec_get(root, "i")->len, 3);
	T_ASSERT_INT(spec_get(root, "i")->items[0]->kind, DBOPS_NODE_NULL);
	T_ASSERT_INT(spec_get(root, "i")->items[1]->kind, DBOPS_NODE_NULL);
	T_ASSERT_INT(spec_get(root, "i")->items[2]->kind, DBOPS_NODE_SCALAR);
	/* a null is not a string */
	T_ASSERT_INT(spec_string(&s, &D, A, spec_get(root, "a"), "a"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(
	    rendered(),
	    "cluster.yaml:1:3: ERROR:  a must be a string, got null\n");
}

TEST(test_spec__empty_document_is_a_null_root)
{
	const struct dbops_node *root;
	struct spec_cluster c;

	fx_begin();
	T_ASSERT_INT(parse(&root, "# nothing but a comment\n"), 0);
	T_ASSERT_INT(root->kind, DBOPS_NODE_NULL);
	T_ASSERT_INT(root->loc.line, 1);
	T_ASSERT_INT(root->loc.col, 1);
	T_ASSERT_INT(parse(&root, ""), 0);
	T_ASSERT_INT(root->kind, DBOPS_NODE_NULL);
	T_ASSERT_INT(spec_cluster_read(&c, &D, A, root, sections, 3),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(rendered(),
		     "cluster.yaml:1:1: ERROR:  missing required key "
		     "\"apiVersion\"\n"
		     "HINT:  Add \"apiVersion: dbops/v1\" at the top of the "
		     "file.\n");
}

TEST(test_spec__syntax_error_is_located)
{
	const struct dbops_node *root = (const void *)&root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "apiVersion: dbops/v1\n"
				  "connection:\n"
				  "  conninfo: \"service=prod\n"
				  "cluster: prod\n"),
		     DBOPS_ERR_INVALID);
	T_ASSERT(root == NULL);
	T_ASSERT_INT(D.nerrors, 1);
	T_ASSERT_GOLDEN("spec_syntax_error.out", rendered());
}

TEST(test_spec__syntax_error_bad_indentation)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "apiVersion: dbops/v1\n"
				  "roles:\n"
				  "  - name: app\n"
				  " login: true\n"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_GOLDEN("spec_syntax_indent.out", rendered());
}

TEST(test_spec__invalid_utf8_is_located)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "a: 1\nb: x\xff\n"), DBOPS_ERR_INVALID);
	T_ASSERT_GOLDEN("spec_invalid_utf8.out", rendered());
}

TEST(test_spec__duplicate_key)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "apiVersion: dbops/v1\n"
				  "cluster: a\n"
				  "parameters:\n"
				  "  work_mem: 4MB\n"
				  "  work_mem: 8MB\n"
				  "cluster: b\n"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 2);
	T_ASSERT_GOLDEN("spec_duplicate_key.out", rendered());
}

TEST(test_spec__duplicates_in_a_large_map_found_in_file_order)
{
	const struct dbops_node *root;
	char *text;
	size_t off = 0;
	const struct dbops_diag *d;

	fx_begin();
	text = arena_alloc(A, 64 * 1024);
	for (int i = 0; i < 2000; i++)
		off += (size_t)snprintf(text + off, 64 * 1024 - off,
					"k%d: %d\n", i, i);
	off += (size_t)snprintf(text + off, 64 * 1024 - off, "k7: again\n");
	snprintf(text + off, 64 * 1024 - off, "k3: again\n");
	T_ASSERT_INT(parse(&root, text), DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 2);
	d = D.head;
	T_ASSERT_STR(d->message, "duplicate key \"k7\"");
	T_ASSERT_STR(d->detail, "The key was first defined at line 8.");
	T_ASSERT_INT(d->loc.line, 2001);
	T_ASSERT_STR(d->next->message, "duplicate key \"k3\"");
	T_ASSERT_INT(d->next->loc.line, 2002);
}

TEST(test_spec__complex_key_refused)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "? [a, b]\n"
				  ": 1\n"
				  "ok: 2\n"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_GOLDEN("spec_complex_key.out", rendered());
}

TEST(test_spec__several_documents_refused)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "---\napiVersion: dbops/v1\n"
				  "---\napiVersion: dbops/v1\n"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(rendered(),
		     "cluster.yaml:3:1: ERROR:  spec file \"cluster.yaml\" "
		     "contains more than one YAML document\n"
		     "HINT:  Put each document in a file of its own.\n");
	/* one explicit document is fine */
	fx_begin();
	T_ASSERT_INT(parse(&root, "---\na: 1\n...\n"), 0);
}

TEST(test_spec__unsupported_tag_refused)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "a: !!python/object x\n"
				  "b: !custom [1]\n"
				  "c: !!int 12\n"
				  "d: !!map {x: 1}\n"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 2);
	T_ASSERT_GOLDEN("spec_unsupported_tag.out", rendered());
}

TEST(test_spec__null_character_refused)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "name: \"app\\0evil\"\n"), DBOPS_ERR_INVALID);
	T_ASSERT_STR(rendered(), "cluster.yaml:1:7: ERROR:  string contains a "
				 "null character\n");
}

/* ---- aliases and limits */

TEST(test_spec__alias_shares_the_anchored_node)
{
	const struct dbops_node *root, *a, *b;

	fx_begin();
	T_ASSERT_INT(parse(&root, "base: &b {pool_mode: session, size: 10}\n"
				  "app: *b\n"
				  "name: &n app\n"
				  "again: *n\n"),
		     0);
	a = spec_get(root, "base");
	b = spec_get(root, "app");
	T_ASSERT(a == b);
	T_ASSERT_STR(spec_get(b, "pool_mode")->scalar, "session");
	T_ASSERT_STR(spec_get(root, "again")->scalar, "app");
}

TEST(test_spec__undefined_alias)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "a: 1\n"
				  "b: *nowhere\n"
				  "c: *later\n"
				  "d: &later 2\n"
				  "*nokey: 3\n"),
		     DBOPS_ERR_INVALID);
	/* one error each, none for the alias standing as a key */
	T_ASSERT_INT(D.nerrors, 3);
	T_ASSERT_GOLDEN("spec_undefined_alias.out", rendered());
}

TEST(test_spec__recursive_alias_refused)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "a: &loop [1, *loop]\n"), DBOPS_ERR_INVALID);
	T_ASSERT_STR(rendered(), "cluster.yaml:1:14: ERROR:  alias \"loop\" "
				 "refers to a node that contains it\n");
}

TEST(test_spec__billion_laughs_refused)
{
	const struct dbops_node *root = (const void *)&root;
	const char *doc =
	    "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
	    "\"lol\",\"lol\"]\n"
	    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";

	fx_begin();
	T_ASSERT_INT(parse(&root, doc), DBOPS_ERR_INVALID);
	T_ASSERT(root == NULL);
	T_ASSERT_INT(D.nerrors, 1);
	T_ASSERT_GOLDEN("spec_billion_laughs.out", rendered());
}

TEST(test_spec__node_limit_counts_plain_nodes)
{
	const struct spec_limits lim = {1024, 6, 64};
	const struct dbops_node *root;

	fx_begin();
	/* map + 2 keys + 2 values = 5 */
	T_ASSERT_INT(parse_limits(&root, "a: 1\nb: 2\n", &lim), 0);
	T_ASSERT_INT(parse_limits(&root, "a: 1\nb: 2\nc: 3\n", &lim),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(D.head->message,
		     "spec file \"cluster.yaml\" has too many nodes");
	T_ASSERT_INT(D.head->loc.line, 3);
	T_ASSERT_INT(D.head->loc.col, 4);
}

TEST(test_spec__file_size_limit)
{
	const struct spec_limits lim = {16, 1000, 64};
	const struct dbops_node *root = (const void *)&root;

	fx_begin();
	T_ASSERT_INT(parse_limits(&root, "apiVersion: dbops/v1\n", &lim),
		     DBOPS_ERR_INVALID);
	T_ASSERT(root == NULL);
	T_ASSERT_GOLDEN("spec_file_too_large.out", rendered());
	/* at the limit exactly is fine */
	fx_begin();
	T_ASSERT_INT(parse_limits(&root, "a: 0123456789abc", &lim), 0);
}

TEST(test_spec__depth_limit)
{
	const struct spec_limits lim = {1024, 1000, 3};
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse_limits(&root, "a: {b: {c: 1}}\n", &lim), 0);
	T_ASSERT_INT(parse_limits(&root, "a: {b: {c: [1]}}\n", &lim),
		     DBOPS_ERR_INVALID);
	T_ASSERT_GOLDEN("spec_depth_limit.out", rendered());
}

TEST(test_spec__depth_limit_counts_alias_expansion)
{
	const struct spec_limits lim = {1024, 1000, 3};
	const struct dbops_node *root;

	fx_begin();
	/* the anchored list is two deep; under two maps it would be four */
	T_ASSERT_INT(parse_limits(&root, "x: &d [[1]]\ny: {z: *d}\n", &lim),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.head->loc.line, 2);
	T_ASSERT_INT(D.head->loc.col, 8);
	T_ASSERT_CONTAINS(D.head->message, "is nested too deeply");
}

TEST(test_spec__deep_nesting_default_limit)
{
	static char text[4096];
	const struct dbops_node *root;

	fx_begin();
	memset(text, '[', 1000);
	memset(text + 1000, ']', 1000);
	T_ASSERT_INT(parse(&root, text), DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 1);
	T_ASSERT_INT(D.head->loc.col, 65);
	T_ASSERT_STR(D.head->detail,
		     "The limit is 64 levels of maps and lists.");
}

/* ---- typed getters */

TEST(test_spec__wrong_types)
{
	const struct dbops_node *root;
	const char *s;
	bool b;
	int64_t n;

	fx_begin();
	T_ASSERT_INT(parse(&root, "name: {first: a}\n"
				  "login: maybe\n"
				  "limit: ten\n"
				  "port: 70000\n"
				  "huge: 99999999999999999999\n"
				  "flag: [true]\n"
				  "size: 1.5\n"),
		     0);
	T_ASSERT_INT(spec_string(&s, &D, A, spec_get(root, "name"), "name"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(spec_bool(&b, &D, A, spec_get(root, "login"), "login"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(
	    spec_int(&n, &D, A, spec_get(root, "limit"), "limit", -1, 1000),
	    DBOPS_ERR_INVALID);
	T_ASSERT_INT(
	    spec_int(&n, &D, A, spec_get(root, "port"), "port", 1, 65535),
	    DBOPS_ERR_INVALID);
	T_ASSERT_INT(spec_int(&n, &D, A, spec_get(root, "huge"), "huge",
			      INT64_MIN, INT64_MAX),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(spec_bool(&b, &D, A, spec_get(root, "flag"), "flag"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(spec_int(&n, &D, A, spec_get(root, "size"), "size", 0, 9),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 7);
	T_ASSERT_GOLDEN("spec_wrong_types.out", rendered());
}

TEST(test_spec__typed_getters_accept_good_values)
{
	const struct dbops_node *root;
	const char *s = NULL;
	bool b = false;
	int64_t n = 0;

	fx_begin();
	T_ASSERT_INT(parse(&root, "s: 12\nb1: YES\nb2: Off\nb3: \"true\"\n"
				  "i1: -42\ni2: +7\ni3: "
				  "-9223372036854775808\n"),
		     0);
	T_ASSERT_INT(spec_string(&s, &D, A, spec_get(root, "s"), "s"), 0);
	T_ASSERT_STR(s, "12");
	T_ASSERT_INT(spec_bool(&b, &D, A, spec_get(root, "b1"), "b1"), 0);
	T_ASSERT(b);
	T_ASSERT_INT(spec_bool(&b, &D, A, spec_get(root, "b2"), "b2"), 0);
	T_ASSERT(!b);
	T_ASSERT_INT(spec_bool(&b, &D, A, spec_get(root, "b3"), "b3"), 0);
	T_ASSERT(b);
	T_ASSERT_INT(spec_int(&n, &D, A, spec_get(root, "i1"), "i1", -100, 0),
		     0);
	T_ASSERT_INT(n, -42);
	T_ASSERT_INT(spec_int(&n, &D, A, spec_get(root, "i2"), "i2", 7, 7), 0);
	T_ASSERT_INT(n, 7);
	T_ASSERT_INT(
	    spec_int(&n, &D, A, spec_get(root, "i3"), "i3", INT64_MIN, 0), 0);
	T_ASSERT(n == INT64_MIN);
	T_ASSERT_INT(D.nerrors, 0);
}

TEST(test_spec__spec_get_and_kind_names)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "m: {}\nl: []\ns: x\nn:\n"), 0);
	T_ASSERT(spec_get(root, "missing") == NULL);
	T_ASSERT(spec_get(spec_get(root, "l"), "x") == NULL);
	T_ASSERT(spec_get(NULL, "x") == NULL);
	T_ASSERT_STR(spec_kind_name(spec_get(root, "m")), "a map");
	T_ASSERT_STR(spec_kind_name(spec_get(root, "l")), "a list");
	T_ASSERT_STR(spec_kind_name(spec_get(root, "s")), "a string");
	T_ASSERT_STR(spec_kind_name(spec_get(root, "n")), "null");
}

TEST(test_spec__long_values_are_shortened_in_messages)
{
	const struct dbops_node *root;
	bool b;

	fx_begin();
	T_ASSERT_INT(parse(&root,
			   "x: |\n  first line\n  second line\n"
			   "y: aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeee"
			   "eeeeeeffffffffffgggggggggg\n"),
		     0);
	T_ASSERT_INT(spec_bool(&b, &D, A, spec_get(root, "x"), "x"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(spec_bool(&b, &D, A, spec_get(root, "y"), "y"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(rendered(),
		     "cluster.yaml:1:4: ERROR:  x must be a boolean, got "
		     "\"first line...\" (23 bytes)\n"
		     "cluster.yaml:4:4: ERROR:  y must be a boolean, got "
		     "\"aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeeeffff"
		     "ffffffgggg...\" (70 bytes)\n");
}

TEST(test_spec__unknown_key_nested_did_you_mean)
{
	static const char *const allowed[] = {"pgbouncer", "settings",
					      "databases", NULL};
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "pooler:\n"
				  "  pgbouncr: {}\n"
				  "  settings: {}\n"
				  "  routes: {}\n"),
		     0);
	T_ASSERT_INT(spec_check_keys(&D, A, spec_get(root, "pooler"),
				     "the pooler section", allowed),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 2);
	T_ASSERT_GOLDEN("spec_unknown_key_nested.out", rendered());
}

TEST(test_spec__check_keys_wants_a_map)
{
	static const char *const allowed[] = {"a", NULL};
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "pooler: [a]\nok: {a: 1}\n"), 0);
	T_ASSERT_INT(
	    spec_check_keys(&D, A, spec_get(root, "ok"), "ok", allowed), 0);
	T_ASSERT_INT(spec_check_keys(&D, A, spec_get(root, "pooler"),
				     "the pooler section", allowed),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(rendered(), "cluster.yaml:1:9: ERROR:  the pooler section "
				 "must be a map, got a list\n");
}

/* ---- secrets */

TEST(test_spec__secret_env_ok)
{
	const struct dbops_node *root;
	struct dbops_secret_ref ref = {0};

	fx_begin();
	T_ASSERT_INT(parse(&root, "password: {env: APP_PASSWORD_1}\n"), 0);
	T_ASSERT_INT(
	    spec_secret(&ref, &D, A, spec_get(root, "password"), "password"),
	    0);
	T_ASSERT_INT(ref.kind, DBOPS_SECRET_ENV);
	T_ASSERT_STR(ref.name, "APP_PASSWORD_1");
	T_ASSERT_INT(ref.loc.line, 1);
	T_ASSERT_INT(ref.loc.col, 11);
}

TEST(test_spec__secret_file_ok)
{
	const struct dbops_node *root;
	struct dbops_secret_ref ref = {0};

	fx_begin();
	T_ASSERT_INT(parse(&root, "password:\n  file: /run/secrets/app\n"), 0);
	T_ASSERT_INT(
	    spec_secret(&ref, &D, A, spec_get(root, "password"), "password"),
	    0);
	T_ASSERT_INT(ref.kind, DBOPS_SECRET_FILE);
	T_ASSERT_STR(ref.name, "/run/secrets/app");
	T_ASSERT_INT(ref.loc.line, 2);
}

TEST(test_spec__secret_literal_refused)
{
	const struct dbops_node *root;
	struct dbops_secret_ref ref = {0};
	const char *out;

	fx_begin();
	T_ASSERT_INT(parse(&root, "roles:\n"
				  "  - password: \"s3cr3t-Hunter2\"\n"),
		     0);
	T_ASSERT_INT(
	    spec_secret(&ref, &D, A,
			spec_get(spec_get(root, "roles")->items[0], "password"),
			"roles[0].password"),
	    DBOPS_ERR_INVALID);
	out = rendered();
	T_ASSERT(strstr(out, "s3cr3t") == NULL);
	T_ASSERT(strstr(out, "Hunter2") == NULL);
	T_ASSERT_GOLDEN("spec_secret_literal.out", out);
}

TEST(test_spec__secret_bad_references)
{
	const struct dbops_node *root;
	struct dbops_secret_ref ref = {0};
	const char *out;

	fx_begin();
	T_ASSERT_INT(parse(&root, "a: {env: \"pa$$word!\"}\n"
				  "b: {env: X, file: /y}\n"
				  "c: {evn: X}\n"
				  "d: {file: \"\"}\n"
				  "e: [x]\n"
				  "f: {env: {x: 1}}\n"),
		     0);
	T_ASSERT_INT(spec_secret(&ref, &D, A, spec_get(root, "a"), "a"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(spec_secret(&ref, &D, A, spec_get(root, "b"), "b"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(spec_secret(&ref, &D, A, spec_get(root, "c"), "c"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(spec_secret(&ref, &D, A, spec_get(root, "d"), "d"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(spec_secret(&ref, &D, A, spec_get(root, "e"), "e"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(spec_secret(&ref, &D, A, spec_get(root, "f"), "f"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 6);
	out = rendered();
	/* an env "name" that is really a password is not echoed either */
	T_ASSERT(strstr(out, "pa$$word") == NULL);
	T_ASSERT_GOLDEN("spec_secret_bad.out", out);
}

/* ---- the top level of a cluster spec */

TEST(test_spec__cluster_good)
{
	const struct dbops_node *root;
	struct spec_cluster c;
	const char *text;

	fx_begin();
	text = fixture("cluster_good.yaml");
	T_ASSERT(text != NULL);
	T_ASSERT_INT(parse(&root, text), 0);
	T_ASSERT_INT(spec_cluster_read(&c, &D, A, root, sections, 3), 0);
	T_ASSERT(c.root == root);
	T_ASSERT_STR(c.api_version, "dbops/v1");
	T_ASSERT_STR(c.name, "prod-eu.1");
	T_ASSERT_STR(c.conninfo, "service=prod-primary");
	T_ASSERT(c.has_password);
	T_ASSERT_INT(c.password.kind, DBOPS_SECRET_ENV);
	T_ASSERT_STR(c.password.name, "PROD_PASSWORD");
	T_ASSERT_INT(c.password.loc.line, 6);
	T_ASSERT(c.allow_destructive);
	T_ASSERT_INT(D.nerrors, 0);
}

TEST(test_spec__cluster_minimal)
{
	const struct dbops_node *root;
	struct spec_cluster c;

	fx_begin();
	T_ASSERT_INT(parse(&root, "apiVersion: dbops/v1\n"), 0);
	T_ASSERT_INT(spec_cluster_read(&c, &D, A, root, NULL, 0), 0);
	T_ASSERT(c.name == NULL);
	T_ASSERT(c.conninfo == NULL);
	T_ASSERT(!c.has_password);
	T_ASSERT(!c.allow_destructive);
}

TEST(test_spec__missing_api_version)
{
	const struct dbops_node *root;
	struct spec_cluster c;

	fx_begin();
	T_ASSERT_INT(parse(&root, "# prod\n\ncluster: prod\n"), 0);
	T_ASSERT_INT(spec_cluster_read(&c, &D, A, root, sections, 3),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 1);
	T_ASSERT_GOLDEN("spec_missing_api_version.out", rendered());
}

TEST(test_spec__wrong_api_version)
{
	const struct dbops_node *root;
	struct spec_cluster c;

	fx_begin();
	T_ASSERT_INT(parse(&root, "apiVersion: dbops/v2\ncluster: prod\n"), 0);
	T_ASSERT_INT(spec_cluster_read(&c, &D, A, root, sections, 3),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 1);
	T_ASSERT_GOLDEN("spec_wrong_api_version.out", rendered());
}

TEST(test_spec__unknown_key_top_level_did_you_mean)
{
	const struct dbops_node *root;
	struct spec_cluster c;

	fx_begin();
	T_ASSERT_INT(parse(&root, "apiVersion: dbops/v1\n"
				  "conection: {conninfo: x}\n"
				  "role: []\n"
				  "monitoring: {}\n"),
		     0);
	T_ASSERT_INT(spec_cluster_read(&c, &D, A, root, sections, 3),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 3);
	T_ASSERT_GOLDEN("spec_unknown_key_top.out", rendered());
}

TEST(test_spec__cluster_root_not_a_map)
{
	const struct dbops_node *root;
	struct spec_cluster c;

	fx_begin();
	T_ASSERT_INT(parse(&root, "- apiVersion: dbops/v1\n"), 0);
	T_ASSERT_INT(spec_cluster_read(&c, &D, A, root, sections, 3),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(rendered(), "cluster.yaml:1:1: ERROR:  the cluster spec "
				 "must be a map, got a list\n");
}

TEST(test_spec__several_problems_reported_in_one_run)
{
	const struct dbops_node *root;
	struct spec_cluster c;
	const char *text;

	fx_begin();
	text = fixture("several_problems.yaml");
	T_ASSERT(text != NULL);
	T_ASSERT_INT(parse(&root, text), 0);
	T_ASSERT_INT(spec_cluster_read(&c, &D, A, root, sections, 3),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 8);
	T_ASSERT(strstr(rendered(), "hunter2") == NULL);
	T_ASSERT_GOLDEN("spec_several_problems.out", rendered());
}

TEST(test_spec__parse_collects_several_problems)
{
	const struct dbops_node *root;

	fx_begin();
	T_ASSERT_INT(parse(&root, "a: 1\n"
				  "b: *x\n"
				  "c:\n"
				  "  d: 1\n"
				  "  e: !weird 2\n"
				  "  d: 3\n"
				  "a: 4\n"),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 4);
	T_ASSERT_GOLDEN("spec_parse_several.out", rendered());
}

/* ---- the fleet file */

TEST(test_spec__fleet_good)
{
	const struct dbops_node *root;
	struct spec_fleet fleet;
	const char *text;

	fx_begin();
	text = fixture("fleet_good.yaml");
	T_ASSERT(text != NULL);
	T_ASSERT_INT(
	    spec_parse(&root, A, &D, "dbops.yaml", text, strlen(text), NULL),
	    0);
	T_ASSERT_INT(spec_fleet_read(&fleet, &D, A, root), 0);
	T_ASSERT_INT(fleet.n, 2);
	T_ASSERT_STR(fleet.members[0].name, "prod");
	T_ASSERT_STR(fleet.members[0].path, "clusters/prod");
	T_ASSERT_INT(fleet.members[0].loc.line, 3);
	T_ASSERT_STR(fleet.members[1].name, "staging");
	T_ASSERT_STR(fleet.members[1].path, "./clusters/staging/");
	T_ASSERT_STR(fleet.members[1].loc.file, "dbops.yaml");
	T_ASSERT_INT(fleet.members[1].loc.line, 4);
	T_ASSERT_INT(fleet.members[1].loc.col, 5);
}

TEST(test_spec__fleet_bad)
{
	const struct dbops_node *root;
	struct spec_fleet fleet;
	const char *text;

	fx_begin();
	text = fixture("fleet_bad.yaml");
	T_ASSERT(text != NULL);
	T_ASSERT_INT(
	    spec_parse(&root, A, &D, "dbops.yaml", text, strlen(text), NULL),
	    0);
	T_ASSERT_INT(spec_fleet_read(&fleet, &D, A, root), DBOPS_ERR_INVALID);
	T_ASSERT_INT(fleet.n, 0);
	T_ASSERT_INT(D.nerrors, 7);
	T_ASSERT_GOLDEN("spec_fleet_bad.out", rendered());
}

TEST(test_spec__fleet_top_level_problems)
{
	const struct dbops_node *root;
	struct spec_fleet fleet;
	const char *text = "apiVersion: dbops/v1\nclusterz: []\n";

	fx_begin();
	T_ASSERT_INT(
	    spec_parse(&root, A, &D, "dbops.yaml", text, strlen(text), NULL),
	    0);
	T_ASSERT_INT(spec_fleet_read(&fleet, &D, A, root), DBOPS_ERR_INVALID);
	T_ASSERT_INT(D.nerrors, 2);
	T_ASSERT_GOLDEN("spec_fleet_top.out", rendered());
}

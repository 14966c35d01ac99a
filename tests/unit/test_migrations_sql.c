/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_migrations_sql.c — what a migration file becomes, where it used to
 * go wrong: statements too deep for a JSON parser's default depth (once
 * recorded as applied with no statement run), deep enough to overflow a
 * thread's stack, bulk statements too large to parse, NUL bytes and
 * invalid UTF-8 in files and names, text outside any statement, BEGIN
 * ATOMIC bodies; the invariant that statements cover every byte that is
 * not blank or a comment; what a resumed migration must probe for; and
 * lint people can act on (one line per object, CREATE TABLE ... AS, the
 * summary, collapsing, --lint-base, lint in validate).
 */
#include "t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "../../plugins/migrations/migrations_int.h"

static const char ms_spec[] = "migrations:\n"
			      "  databases:\n"
			      "    - database: app\n"
			      "      locations: [m]\n";

/* A file named `name` for locations: m/name. */
static struct mig_file ms_file(const char *name)
{
	struct mig_file f;

	memset(&f, 0, sizeof(f));
	f.script = name;
	f.path = name;
	f.loc.file = name;
	f.loc.line = 1;
	f.loc.col = 1;
	return f;
}

/* "SELECT 1+1+...+1" of n terms, malloc'd. */
static char *ms_chain(const char *prefix, size_t n, const char *suffix)
{
	size_t len = strlen(prefix) + 2 * n + strlen(suffix) + 1;
	char *s = malloc(len), *p = s;

	p += snprintf(p, len, "%s1", prefix);
	for (size_t i = 1; i < n; i++) {
		*p++ = '+';
		*p++ = '1';
	}
	memcpy(p, suffix, strlen(suffix) + 1);
	return s;
}

/* Every byte that is not blank, a comment or ';' lies in one statement. */
static bool ms_covered(const char *sql, const struct mig_parsed *r)
{
	size_t len = strlen(sql), at = 0;

	for (size_t k = 0; k <= r->n; k++) {
		size_t until = k < r->n ? r->stmts[k].offset : len;

		while (at < until) {
			if (sql[at] == '-' && sql[at + 1] == '-') {
				while (at < until && sql[at] != '\n')
					at++;
			} else if (sql[at] == '/' && sql[at + 1] == '*') {
				int depth = 0;

				do {
					if (sql[at] == '\0')
						return false;
					if (sql[at] == '/' &&
					    sql[at + 1] == '*')
						depth++, at += 2;
					else if (sql[at] == '*' &&
						 sql[at + 1] == '/')
						depth--, at += 2;
					else
						at++;
				} while (depth > 0);
			} else if (strchr(" \t\r\n;", sql[at]) != NULL) {
				at++;
			} else {
				return false;
			}
		}
		if (k < r->n)
			at = r->stmts[k].offset + r->stmts[k].len;
	}
	return true;
}

static bool ms_has_diag(const struct fake_ctx *fc, enum dbops_severity sev,
			const char *text)
{
	for (const struct dbops_diag *d = fc->diags.head; d; d = d->next)
		if (d->severity == sev && strstr(d->message, text) != NULL)
			return true;
	return false;
}

TEST(test_migrations__deep_expression_is_one_statement)
{
	/* json-c's default depth is 32: this file once planned 0
	 * statements and was recorded as applied without running */
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_file f = ms_file("V1__deep.sql");
	char *sql = ms_chain("CREATE TABLE deep AS SELECT ", 16,
			     " AS x;\n"
			     "ALTER TABLE deep ADD PRIMARY KEY (x);");
	struct mig_parsed r;

	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc), sql, &f,
				   MIG_PARSE_LINT | MIG_PARSE_LOCK_TIMEOUT_SET),
		     0);
	T_ASSERT_INT(r.n, 2);
	T_ASSERT_STR(r.stmts[0].node, "CreateTableAsStmt");
	T_ASSERT(r.stmts[0].parsed);
	T_ASSERT_STR(r.stmts[1].node, "AlterTableStmt");
	/* the table is new: no lint about changing an existing one */
	T_ASSERT_INT(r.nfindings, 0);
	T_ASSERT(ms_covered(sql, &r));
	free(sql);
	fake_host_free(fc);
}

TEST(test_migrations__statement_too_deep_to_lint_still_runs)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_file f = ms_file("V2__deeper.sql");
	char *sql = ms_chain("CREATE TABLE d AS SELECT ", 80000, " AS x");
	struct mig_parsed r;

	T_ASSERT_INT(
	    mig_sql_parse(&r, fake_host_ctx(fc), sql, &f, MIG_PARSE_LINT), 0);
	T_ASSERT_INT(r.n, 1);
	T_ASSERT_STR(r.stmts[0].node, "CreateTableAsStmt");
	T_ASSERT_INT(r.stmts[0].len, strlen(sql));
	T_ASSERT(ms_has_diag(fc, DBOPS_SEV_WARNING, "lint skipped"));
	free(sql);
	fake_host_free(fc);
}

TEST(test_migrations__deepest_parseable_statement_does_not_crash)
{
	/* 128,000 levels: the libpg_query output recursion overflowed the
	 * main thread's stack here; PostgreSQL refuses it with "stack depth
	 * limit exceeded", which is the server's business */
	struct fake_ctx *fc = fake_host_new("migrations");
	char *sql = ms_chain("SELECT ", 128000, "");
	struct mig_parsed r;

	T_ASSERT_INT(
	    mig_sql_parse(&r, fake_host_ctx(fc), sql, NULL, MIG_PARSE_LINT), 0);
	T_ASSERT_INT(r.n, 1);
	T_ASSERT(r.stmts[0].parsed);
	free(sql);
	fake_host_free(fc);
}

TEST(test_migrations__bulk_statement_is_split_by_the_scanner)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_file f = ms_file("V3__data.sql");
	size_t rows = 30000, len;
	size_t cap = rows * 24 + 256;
	char *sql = malloc(cap), *p = sql, *end = sql + cap;
	struct mig_parsed r;

	p += snprintf(p, (size_t)(end - p),
		      "-- data\nINSERT INTO t (id, name) VALUES ");
	for (size_t i = 0; i < rows; i++)
		p += snprintf(p, (size_t)(end - p), "%s(%zu, 'n;%zu')",
			      i ? ", " : "", i, i);
	snprintf(p, (size_t)(end - p), ";\nCREATE INDEX i ON t (id);\n");
	len = strlen(sql);
	T_ASSERT(len > 300000);
	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc), sql, &f,
				   MIG_PARSE_LINT | MIG_PARSE_LOCK_TIMEOUT_SET),
		     0);
	T_ASSERT_INT(r.n, 2);
	T_ASSERT(!r.stmts[0].parsed);
	T_ASSERT_INT(r.stmts[0].line, 2);
	T_ASSERT(strncmp(sql + r.stmts[0].offset, "INSERT", 6) == 0);
	T_ASSERT(r.stmts[1].parsed);
	T_ASSERT(ms_covered(sql, &r));
	/* a data load needs no lint; the size is said once */
	T_ASSERT(!ms_has_diag(fc, DBOPS_SEV_WARNING, "lint skipped"));
	T_ASSERT(ms_has_diag(fc, DBOPS_SEV_NOTICE, "over 256 kB"));
	/* the index on the existing table is still linted */
	T_ASSERT_INT(r.nfindings, 1);
	free(sql);
	fake_host_free(fc);
}

TEST(test_migrations__large_ddl_says_lint_skipped_it)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	char *sql = malloc(400000), *p = sql, *end = sql + 400000;
	struct mig_parsed r;

	p += snprintf(p, (size_t)(end - p),
		      "ALTER TABLE t ADD CONSTRAINT c CHECK (x IN (");
	for (int i = 0; i < 40000; i++)
		p += snprintf(p, (size_t)(end - p), "%s%d", i ? "," : "", i);
	snprintf(p, (size_t)(end - p), "))");
	T_ASSERT_INT(
	    mig_sql_parse(&r, fake_host_ctx(fc), sql, NULL, MIG_PARSE_LINT), 0);
	T_ASSERT_INT(r.n, 1);
	T_ASSERT(ms_has_diag(fc, DBOPS_SEV_WARNING, "lint skipped"));
	free(sql);
	fake_host_free(fc);
}

TEST(test_migrations__text_outside_statements_is_an_error)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_file f = ms_file("V4__typo.sql");
	struct mig_parsed r;

	/* the scanner finds no statement in "foo": once silently dropped */
	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "SELECT 1;\n  foo;\nSELECT 2;", &f, 0),
		     DBOPS_ERR_INVALID);
	T_ASSERT(r.error != NULL);
	T_ASSERT_CONTAINS(r.error->message, "syntax error");
	T_ASSERT_INT(r.error->loc.line, 2);
	T_ASSERT_INT(r.error->loc.col, 3);
	fake_host_free(fc);
}

TEST(test_migrations__begin_atomic_body_is_one_statement)
{
	static const char sql[] =
	    "CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
	    "BEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;\n"
	    "SELECT f();";
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_parsed r;

	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc), sql, NULL, 0), 0);
	T_ASSERT_INT(r.n, 2);
	T_ASSERT_STR(r.stmts[0].node, "CreateFunctionStmt");
	T_ASSERT(strncmp(sql + r.stmts[0].offset + r.stmts[0].len - 3, "END",
			 3) == 0);
	T_ASSERT_INT(r.stmts[1].line, 6);
	T_ASSERT(ms_covered(sql, &r));
	fake_host_free(fc);
}

TEST(test_migrations__an_unfinished_statement_is_located)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_file f = ms_file("V5__broken.sql");
	struct mig_parsed r;

	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "CREATE TABLE a (id int);\nSELECT 1 +;\n"
				   "SELECT 2;",
				   &f, 0),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(r.error->loc.line, 2);
	fake_host_free(fc);
}

TEST(test_migrations__statements_cover_every_byte)
{
	static const char *const files[] = {
	    "-- only a comment\n",
	    "  /* a /* nested */ comment */ SELECT 1 ; ; ;\n\n-- end",
	    "SELECT $$;$$; SELECT 'a;b'; SELECT E'\\';'; SELECT \"x;\" FROM t",
	    "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); "
	    "INSERT INTO u VALUES (2));\nSELECT 1",
	    "DO $x$ BEGIN PERFORM 1; END $x$;CREATE VIEW v AS SELECT "
	    "(SELECT (SELECT 1)) AS a;",
	    "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE "
	    "FUNCTION f();;\nVACUUM t",
	};
	struct fake_ctx *fc = fake_host_new("migrations");

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct mig_parsed r;

		if (mig_sql_parse(&r, fake_host_ctx(fc), files[i], NULL, 0) !=
			0 ||
		    !ms_covered(files[i], &r))
			t_fail(__FILE__, __LINE__, "not covered: %s", files[i]);
	}
	fake_host_free(fc);
}

/* PostgreSQL's lexer ends a line comment at a CR as at an LF: what
 * follows a lone CR runs, so it must be a statement, never skipped as
 * part of the comment (that would record the migration without running
 * it). */
TEST(test_migrations__a_cr_ends_a_line_comment)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	static const char sql[] = "-- a comment\rCREATE TABLE t (i int);\n"
				  "--ide on\rYPE (*/\n-- a\nSELECT 1\n";
	struct mig_parsed r;

	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc), sql, NULL, 0),
		     DBOPS_ERR_INVALID);
	T_ASSERT(ms_has_diag(fc, DBOPS_SEV_ERROR, "syntax error"));
	fake_host_free(fc);
	fc = fake_host_new("migrations");
	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "-- a comment\rCREATE TABLE t (i int);\n",
				   NULL, 0),
		     0);
	T_ASSERT_INT(r.n, 1);
	fake_host_free(fc);
}

TEST(test_migrations__probes_name_what_they_look_for)
{
	static const struct {
		const char *sql;
		enum mig_probe probe;
		const char *schema, *name, *rel;
	} cases[] = {
	    {"CREATE INDEX CONCURRENTLY i ON s.t (a)", MIG_PROBE_CREATE_INDEX,
	     "s", "i", "t"},
	    {"CREATE INDEX CONCURRENTLY ON t (a)", MIG_PROBE_CREATE_INDEX, NULL,
	     NULL, "t"},
	    {"DROP INDEX CONCURRENTLY IF EXISTS s.i", MIG_PROBE_DROP_INDEX, "s",
	     "i", NULL},
	    {"REINDEX INDEX CONCURRENTLY i", MIG_PROBE_REINDEX, NULL, NULL,
	     "i"},
	    {"ALTER TABLE p DETACH PARTITION q CONCURRENTLY", MIG_PROBE_DETACH,
	     NULL, "q", "p"},
	    {"CREATE DATABASE app2", MIG_PROBE_CREATE_DATABASE, NULL, "app2",
	     NULL},
	    {"VACUUM (ANALYZE) t", MIG_PROBE_RERUN, NULL, NULL, NULL},
	    {"ALTER TYPE e ADD VALUE 'x'", MIG_PROBE_NONE, NULL, NULL, NULL},
	    {"CREATE INDEX i ON t (a)", MIG_PROBE_NONE, NULL, NULL, NULL},
	};
	struct fake_ctx *fc = fake_host_new("migrations");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mig_parsed r;
		const struct mig_stmt *st;

		if (mig_sql_parse(&r, fake_host_ctx(fc), cases[i].sql, NULL,
				  0) != 0 ||
		    r.n != 1) {
			t_fail(__FILE__, __LINE__, "no statement: %s",
			       cases[i].sql);
			continue;
		}
		st = &r.stmts[0];
		if (st->probe != cases[i].probe ||
		    st->nontx != (cases[i].probe != MIG_PROBE_NONE) ||
		    (cases[i].name &&
		     (!st->name || strcmp(st->name, cases[i].name) != 0)) ||
		    (cases[i].schema &&
		     (!st->schema ||
		      strcmp(st->schema, cases[i].schema) != 0)) ||
		    (cases[i].rel && (!st->rel_name ||
				      strcmp(st->rel_name, cases[i].rel) != 0)))
			t_fail(__FILE__, __LINE__, "wrong probe for: %s",
			       cases[i].sql);
	}
	fake_host_free(fc);
}

TEST(test_migrations__transaction_blocks_are_marked)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_parsed r;

	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "BEGIN; UPDATE t SET a = 1; COMMIT; START "
				   "TRANSACTION; ROLLBACK",
				   NULL, 0),
		     0);
	T_ASSERT_INT(r.n, 5);
	T_ASSERT_INT(r.stmts[0].txctl, MIG_TXCTL_OPEN);
	T_ASSERT_INT(r.stmts[1].txctl, MIG_TXCTL_NONE);
	T_ASSERT_INT(r.stmts[2].txctl, MIG_TXCTL_COMMIT);
	T_ASSERT_INT(r.stmts[3].txctl, MIG_TXCTL_OPEN);
	T_ASSERT_INT(r.stmts[4].txctl, MIG_TXCTL_ROLLBACK);
	fake_host_free(fc);
}

/* ---- files: bytes the parser and the server would read otherwise */

static int ms_load(struct fake_ctx *fc, struct mig_spec **spec)
{
	const struct dbops_node *root = fake_host_spec(fc, ms_spec);
	const struct dbops_host *h = fc->head.host;

	return mig_spec_load(spec, fake_host_ctx(fc),
			     h->spec_get(root, "migrations"), MIG_LOAD_FILES);
}

TEST(test_migrations__nul_byte_is_a_located_error)
{
	static const char data[] = "CREATE TABLE a (id int);\nSELECT 1;\0"
				   "DROP TABLE a;\n";
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_spec *spec = NULL;

	fake_host_add_file_len(fc, "m/V1__nul.sql", data, sizeof(data) - 1);
	T_ASSERT_INT(ms_load(fc, &spec), DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(fc->diags.head->message, "NUL byte");
	T_ASSERT_STR(fc->diags.head->loc.file, "m/V1__nul.sql");
	T_ASSERT_INT(fc->diags.head->loc.line, 2);
	T_ASSERT_INT(fc->diags.head->loc.col, 10);
	fake_host_free(fc);
}

TEST(test_migrations__invalid_utf8_is_a_located_error)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_spec *spec = NULL;

	fake_host_add_file(fc, "m/V1__latin1.sql",
			   "-- caf\xc3\xa9 is fine\nSELECT 'caf\xe9';\n");
	T_ASSERT_INT(ms_load(fc, &spec), DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(fc->diags.head->message, "not valid UTF-8");
	T_ASSERT_INT(fc->diags.head->loc.line, 2);
	T_ASSERT_INT(fc->diags.head->loc.col, 12);
	T_ASSERT_CONTAINS(fc->diags.head->detail, "0xE9");
	T_ASSERT_INT(mig_utf8_invalid("\xed\xa0\x80", 3), 0); /* surrogate */
	T_ASSERT_INT(mig_utf8_invalid("\xc0\xaf", 2), 0);     /* overlong */
	T_ASSERT_INT(mig_utf8_invalid("a\xf0\x9f\x98\x80", 5), 5);
	fake_host_free(fc);
}

TEST(test_migrations__non_utf8_file_name_is_refused)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_spec *spec = NULL;

	fake_host_add_file(fc, "m/V1__caf\xe9.sql", "SELECT 1;\n");
	T_ASSERT_INT(ms_load(fc, &spec), DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(fc->diags.head->message, "not valid UTF-8");
	T_ASSERT_CONTAINS(fc->diags.head->message, "V1__caf\\xE9.sql");
	/* located at the location in the spec, and the message is UTF-8 */
	T_ASSERT_STR(fc->diags.head->loc.file, "spec.yaml");
	T_ASSERT_INT(mig_utf8_invalid(fc->diags.head->message,
				      strlen(fc->diags.head->message)),
		     strlen(fc->diags.head->message));
	fake_host_free(fc);
}

/* ---- lint people can act on */

TEST(test_migrations__lint_names_each_object_once)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_parsed r;

	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "ALTER TABLE users ADD COLUMN a int NOT "
				   "NULL, ADD COLUMN b int NOT NULL",
				   NULL,
				   MIG_PARSE_LINT | MIG_PARSE_LOCK_TIMEOUT_SET),
		     0);
	T_ASSERT_INT(r.nfindings, 2);
	T_ASSERT_STR(r.findings[0].object, "column \"a\" of \"users\"");
	T_ASSERT_STR(r.findings[1].object, "column \"b\" of \"users\"");
	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc), "DROP TABLE s.a, b",
				   NULL,
				   MIG_PARSE_LINT | MIG_PARSE_LOCK_TIMEOUT_SET),
		     0);
	T_ASSERT_INT(r.nfindings, 2);
	T_ASSERT_STR(r.findings[0].object, "table \"s\".\"a\"");
	fake_host_free(fc);
}

TEST(test_migrations__create_table_as_is_a_new_table)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_parsed r;

	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "CREATE TABLE n AS SELECT 1 AS id;\n"
				   "ALTER TABLE n ADD PRIMARY KEY (id);\n"
				   "CREATE INDEX n_i ON n (id);\n"
				   "SELECT 1 AS id INTO m;\n"
				   "CREATE INDEX m_i ON m (id);",
				   NULL,
				   MIG_PARSE_LINT | MIG_PARSE_LOCK_TIMEOUT_SET),
		     0);
	T_ASSERT_INT(r.nfindings, 0);
	fake_host_free(fc);
}

/* A database "app" with `n` files "V<i>__x.sql" holding `sql`. */
static struct mig_spec *ms_files(struct fake_ctx *fc, int n, const char *sql)
{
	struct mig_spec *spec = NULL;

	for (int i = 1; i <= n; i++) {
		char path[64];

		snprintf(path, sizeof(path), "m/V%d__x.sql", i);
		fake_host_add_file(fc, path, sql);
	}
	if (ms_load(fc, &spec) != 0)
		return NULL;
	return spec;
}

static int ms_count(const struct fake_ctx *fc, enum dbops_severity sev,
		    const char *text)
{
	int n = 0;

	for (const struct dbops_diag *d = fc->diags.head; d; d = d->next)
		if (d->severity == sev && strstr(d->message, text) != NULL)
			n++;
	return n;
}

TEST(test_migrations__lint_collapses_and_sums_up)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_spec *spec = ms_files(fc, 10, "CREATE INDEX i ON t (a);\n");
	const struct dbops_diag *last;

	T_ASSERT(spec != NULL);
	fc->validate_only = true;
	T_ASSERT_INT(mig_validate(fake_host_ctx(fc),
				  fake_host_spec(fc, ms_spec)->items[0]),
		     0);
	T_ASSERT_INT(ms_count(fc, DBOPS_SEV_WARNING,
			      "[require-concurrent-index-creation]"),
		     3);
	last = fc->diags.tail;
	T_ASSERT_INT(last->severity, DBOPS_SEV_NOTICE);
	T_ASSERT_CONTAINS(last->message, "lint found 10 problems");
	T_ASSERT_CONTAINS(last->detail, "require-concurrent-index-creation");
	T_ASSERT_CONTAINS(last->detail, "10 (3 shown)");
	T_ASSERT_CONTAINS(last->hint, "-v");
	fake_host_free(fc);

	fc = fake_host_new("migrations");
	T_ASSERT(ms_files(fc, 10, "CREATE INDEX i ON t (a);\n") != NULL);
	fc->validate_only = true;
	fc->verbose = true;
	T_ASSERT_INT(mig_validate(fake_host_ctx(fc),
				  fake_host_spec(fc, ms_spec)->items[0]),
		     0);
	T_ASSERT_INT(ms_count(fc, DBOPS_SEV_WARNING,
			      "[require-concurrent-index-creation]"),
		     10);
	fake_host_free(fc);
}

TEST(test_migrations__summary_puts_errors_first)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	const struct dbops_diag *last;

	fake_host_add_file(fc, "m/V1__a.sql", "CREATE INDEX i ON t (a);\n");
	fake_host_add_file(fc, "m/V2__b.sql", "CREATE INDEX j ON t (b);\n");
	fake_host_add_file(fc, "m/V3__c.sql", "SELECT 1 +;\n");
	fc->validate_only = true;
	T_ASSERT_INT(mig_validate(fake_host_ctx(fc),
				  fake_host_spec(fc, ms_spec)->items[0]),
		     DBOPS_ERR_INVALID);
	last = fc->diags.tail;
	T_ASSERT_CONTAINS(last->message, "1 error");
	T_ASSERT_CONTAINS(last->detail, "Errors (1):\n  m/V3__c.sql:1:");
	T_ASSERT(strstr(last->detail, "Errors") <
		 strstr(last->detail, "by rule"));
	fake_host_free(fc);
}

TEST(test_migrations__lint_base_skips_unchanged_files)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	const struct dbops_diag *last;

	fake_host_add_file(fc, "m/V1__old.sql", "CREATE INDEX i ON t (a);\n");
	fake_host_add_file(fc, "m/V2__new.sql", "CREATE INDEX j ON t (b);\n");
	fake_host_add_file(fc, "m/V3__edited.sql", "DROP TABLE t;\n");
	fake_host_set_ids(fc, "m/V1__old.sql", "aaaa", "aaaa");
	fake_host_set_ids(fc, "m/V2__new.sql", "bbbb", NULL);
	fake_host_set_ids(fc, "m/V3__edited.sql", "cccc", "dddd");
	fc->validate_only = true;
	T_ASSERT_INT(mig_validate(fake_host_ctx(fc),
				  fake_host_spec(fc, ms_spec)->items[0]),
		     0);
	T_ASSERT_INT(ms_count(fc, DBOPS_SEV_WARNING, "V1__old.sql"), 0);
	T_ASSERT_INT(ms_count(fc, DBOPS_SEV_WARNING, "V2__new.sql"), 1);
	T_ASSERT_INT(ms_count(fc, DBOPS_SEV_WARNING, "V3__edited.sql"), 1);
	last = fc->diags.tail;
	T_ASSERT_CONTAINS(last->hint, "1 migration unchanged");
	fake_host_free(fc);
}

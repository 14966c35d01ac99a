/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_migrations.c — the "migrations" plugin without a server: Flyway's
 * file names, version ordering and checksum (vectors computed with zlib's
 * crc32 over the same text), placeholders and the advisory-lock key;
 * statement splitting of hard SQL through libpg_query; every lint rule
 * with a case that fires and one that does not; and validate and diff
 * over canned history rows (checksum mismatch, missing file, out of
 * order, failed row, baseline, repair). The fake host has no
 * source_list, so these tests hand the plugin a copy of its table with
 * one added.
 */
#include "t.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fake_host.h"
#include "../../plugins/migrations/migrations_int.h"

/* ---- a host table with source_list over registered names */

#define MT_MAX_NAMES 32

static struct dbops_host mt_host;
static const char *mt_dir;
static const char *mt_names[MT_MAX_NAMES];
static size_t mt_nnames;

static int mt_source_list(const char *const **names_out, size_t *n_out,
			  struct dbops_ctx *ctx, const char *dir)
{
	(void)ctx;
	if (mt_dir == NULL || strcmp(dir, mt_dir) != 0)
		return DBOPS_ERR_NOTFOUND;
	*names_out = mt_names;
	*n_out = mt_nnames;
	return 0;
}

static struct fake_ctx *mt_new(void)
{
	struct fake_ctx *fc = fake_host_new("migrations");

	mt_host = *fc->head.host;
	mt_host.header.size = sizeof(mt_host);
	mt_host.source_list = mt_source_list;
	fc->head.host = &mt_host;
	mt_dir = "m";
	mt_nnames = 0;
	return fc;
}

/* A file in directory "m" (names must be added in sorted order). */
static void mt_file(struct fake_ctx *fc, const char *name, const char *data)
{
	char path[256];

	snprintf(path, sizeof(path), "m/%s", name);
	fake_host_add_file(fc, path, data);
	mt_names[mt_nnames++] = name;
}

static const char mt_spec[] = "migrations:\n"
			      "  databases:\n"
			      "    - database: app\n"
			      "      locations: [m]\n";

/* ---- versions and names */

static int vcmp(struct fake_ctx *fc, const char *a, const char *b)
{
	struct mig_version va, vb;

	if (mig_version_parse(&va, fake_host_ctx(fc), a) != 0 ||
	    mig_version_parse(&vb, fake_host_ctx(fc), b) != 0)
		return 99;
	return mig_version_cmp(&va, &vb);
}

TEST(test_migrations__versions_compare_numerically)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_version v;

	T_ASSERT_INT(vcmp(fc, "1.10", "1.9"), 1);
	T_ASSERT_INT(vcmp(fc, "1.9", "1.10"), -1);
	T_ASSERT_INT(vcmp(fc, "2", "1.999"), 1);
	T_ASSERT_INT(vcmp(fc, "1", "1.0.0"), 0);
	T_ASSERT_INT(vcmp(fc, "001", "1"), 0);
	T_ASSERT_INT(vcmp(fc, "1.0.1", "1"), 1);
	T_ASSERT_INT(vcmp(fc, "20240101120000", "3"), 1);
	T_ASSERT_INT(
	    vcmp(fc, "99999999999999999999999", "100000000000000000000000"),
	    -1);
	T_ASSERT_INT(mig_version_parse(&v, fake_host_ctx(fc), "1_2_3"), 0);
	T_ASSERT_STR(v.text, "1.2.3");
	T_ASSERT_INT(mig_version_parse(&v, fake_host_ctx(fc), "001.2"), 0);
	T_ASSERT_STR(v.text, "001.2"); /* stored as written */
	T_ASSERT(mig_version_parse(&v, fake_host_ctx(fc), "1.a") != 0);
	T_ASSERT(mig_version_parse(&v, fake_host_ctx(fc), "1..2") != 0);
	T_ASSERT(mig_version_parse(&v, fake_host_ctx(fc), "1.") != 0);
	T_ASSERT(mig_version_parse(&v, fake_host_ctx(fc), "") != 0);
	T_ASSERT(mig_version_parse(&v, fake_host_ctx(fc), "1-2") != 0);
	fake_host_free(fc);
}

TEST(test_migrations__names_follow_flyway)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct mig_name n;
	const char *why;

	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "V1_2__add_users_table.sql"),
		     1);
	T_ASSERT_INT(n.kind, MIG_VERSIONED);
	T_ASSERT_STR(n.version.text, "1.2");
	T_ASSERT_STR(n.description, "add users table");
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "R__my_view.sql"), 1);
	T_ASSERT_INT(n.kind, MIG_REPEATABLE);
	T_ASSERT_STR(n.description, "my view");
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "V3__x.SQL"), 1);
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "V2__a__b.sql"), 1);
	T_ASSERT_STR(n.description, "a  b");
	/* look like migrations, but do not parse */
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "V1_foo.sql"), -1);
	T_ASSERT_CONTAINS(why, "two underscores");
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "v1__x.sql"), -1);
	T_ASSERT_CONTAINS(why, "upper-case");
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "V1.a__x.sql"), -1);
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "V__x.sql"), -1);
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "R1__x.sql"), -1);
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "V1__.sql"), -1);
	/* not migrations at all */
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "README.md"), 0);
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "V1__x.sql.conf"), 0);
	T_ASSERT_INT(mig_name_parse(&n, &why, ctx, "views.sql"), 0);
	fake_host_free(fc);
}

/* ---- checksum */

TEST(test_migrations__checksum_vectors)
{
	static const char bom_split[] = "\xEF\xBB\xBF"
					"CREATE TABLE t\n(id int);";

	T_ASSERT_INT(mig_crc32(0, "123456789", 9), 0xCBF43926u);
	T_ASSERT_INT(mig_checksum("CREATE TABLE t (id int);\n", 25), 92137680);
	T_ASSERT_INT(mig_checksum("CREATE TABLE t (id int);\r\n", 26),
		     92137680);
	T_ASSERT_INT(mig_checksum("CREATE TABLE t (id int);", 24), 92137680);
	T_ASSERT_INT(mig_checksum(bom_split, sizeof(bom_split) - 1), -66220931);
	T_ASSERT_INT(mig_checksum("CREATE TABLE t(id int);", 23), -66220931);
	T_ASSERT_INT(mig_checksum("CREATE TABLE t\r(id int);\r", 25),
		     -66220931);
	T_ASSERT_INT(mig_checksum("", 0), 0);
	T_ASSERT_INT(mig_checksum("\n\n\r\n", 4), 0);
	/* a changed character changes it */
	T_ASSERT(mig_checksum("CREATE TABLE t (id int8);", 25) != 92137680);
}

TEST(test_migrations__lock_key_is_flyways)
{
	/* 0x466C79776179 + String.hashCode("\"public\".\"flyway_schema_
	 * history\"") = 77433833903597 */
	T_ASSERT_INT(mig_lock_key("public", "flyway_schema_history"),
		     77433833903597LL);
	T_ASSERT(mig_lock_key("app", "flyway_schema_history") !=
		 mig_lock_key("public", "flyway_schema_history"));
}

TEST(test_migrations__placeholders)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	static const char *const names[] = {"schema", "owner"};
	static const char *const values[] = {"app", "alice"};
	struct mig_db db;
	const char *missing = NULL;

	memset(&db, 0, sizeof(db));
	db.database = "appdb";
	db.hist_schema = "public";
	db.hist_table = "flyway_schema_history";
	db.ph_names = names;
	db.ph_values = values;
	db.nph = 2;
	T_ASSERT_STR(mig_placeholders(ctx, &db, NULL,
				      "CREATE TABLE ${schema}.t OWNER ${OWNER}",
				      &missing),
		     "CREATE TABLE app.t OWNER alice");
	T_ASSERT_STR(mig_placeholders(ctx, &db, NULL,
				      "-- ${flyway:database} ${flyway:table}",
				      &missing),
		     "-- appdb flyway_schema_history");
	T_ASSERT_STR(
	    mig_placeholders(ctx, &db, NULL, "no placeholder", &missing),
	    "no placeholder");
	T_ASSERT(mig_placeholders(ctx, &db, NULL, "x ${nope} y", &missing) ==
		 NULL);
	T_ASSERT_STR(missing, "nope");
	fake_host_free(fc);
}

/* ---- splitting */

static const char mt_hard_sql[] =
    "-- leading comment; with a semicolon\n"
    "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
    "/* outer /* nested; */ still a comment; */\n"
    "SELECT E'it\\'s; here', 'a;b', \"we;ird\" FROM (SELECT 1 AS \"we;ird\") s;\n"
    "DO $body$ BEGIN RAISE NOTICE 'x;y'; END $body$;\n"
    "CREATE PROCEDURE p() LANGUAGE plpgsql AS $_$ BEGIN COMMIT; END $_$;\n"
    "  SELECT $tag$ $$ ; $tag$";

TEST(test_migrations__splits_hard_sql)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_parsed r;
	const struct mig_stmt *s;
	size_t n;

	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc), mt_hard_sql, NULL,
				   MIG_PARSE_LOCK_TIMEOUT_SET),
		     0);
	s = r.stmts;
	n = r.n;
	T_ASSERT_INT(n, 5);
	T_ASSERT_STR(s[0].node, "CreateFunctionStmt");
	T_ASSERT_INT(s[0].line, 2);
	T_ASSERT_INT(s[0].col, 1);
	T_ASSERT(strncmp(mt_hard_sql + s[0].offset, "CREATE FUNCTION", 15) ==
		 0);
	T_ASSERT_STR(s[1].node, "SelectStmt");
	T_ASSERT_INT(s[1].line, 4);
	T_ASSERT(mt_hard_sql[s[1].offset + s[1].len - 1] == 's');
	T_ASSERT_STR(s[2].node, "DoStmt");
	T_ASSERT_INT(s[2].line, 5);
	T_ASSERT_STR(s[3].node, "CreateFunctionStmt");
	T_ASSERT_INT(s[3].line, 6);
	T_ASSERT_STR(s[4].node, "SelectStmt");
	T_ASSERT_INT(s[4].line, 7);
	T_ASSERT_INT(s[4].col, 3);
	T_ASSERT_INT(s[4].offset + s[4].len, strlen(mt_hard_sql));
	for (size_t i = 0; i < n; i++)
		T_ASSERT(!s[i].nontx);
	fake_host_free(fc);
}

TEST(test_migrations__syntax_error_has_line_and_column)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_file f;
	struct mig_parsed r;

	memset(&f, 0, sizeof(f));
	f.script = "V1__x.sql";
	f.loc.file = "m/V1__x.sql";
	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "SELECT 1;\nCREATE TABEL t (id int);", &f,
				   MIG_PARSE_LOCK_TIMEOUT_SET),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->diags.head->loc.line, 2);
	T_ASSERT_INT(fc->diags.head->loc.col, 8);
	T_ASSERT_CONTAINS(fc->diags.head->message, "syntax error");
	T_ASSERT_CONTAINS(fc->diags.head->message, "V1__x.sql");
	fake_host_free(fc);
}

/* The one statement of `sql`, parsed; a parse error or another count of
 * statements fails the test. */
static struct mig_stmt mt_one_stmt(struct fake_ctx *fc, const char *sql)
{
	struct mig_stmt none;
	struct mig_parsed r;

	memset(&none, 0, sizeof(none));
	if (mig_sql_parse(&r, fake_host_ctx(fc), sql, NULL,
			  MIG_PARSE_LOCK_TIMEOUT_SET) != 0 ||
	    r.n != 1) {
		t_fail(__FILE__, __LINE__, "\"%s\" is not one statement", sql);
		return none;
	}
	return r.stmts[0];
}

TEST(test_migrations__session_settings_are_recognised)
{
	static const struct {
		const char *sql;
		bool session;
	} cases[] = {
	    {"SET search_path = app", true},
	    {"SET ROLE app_owner", true},
	    {"SET SESSION AUTHORIZATION app_owner", true},
	    {"RESET ALL", true},
	    {"SET LOCAL lock_timeout = '1s'", false},
	    {"SELECT set_config('x.y', '1', true)", false},
	    {"CREATE TABLE t (id int)", false},
	};
	struct fake_ctx *fc = fake_host_new("migrations");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (mt_one_stmt(fc, cases[i].sql).session != cases[i].session)
			t_fail(__FILE__, __LINE__, "session of \"%s\" is wrong",
			       cases[i].sql);
	fake_host_free(fc);
}

TEST(test_migrations__copy_to_or_from_the_client_is_refused)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_file f;
	struct mig_parsed r;

	memset(&f, 0, sizeof(f));
	f.script = "V2__load.sql";
	f.loc.file = "m/V2__load.sql";
	T_ASSERT_INT(
	    mig_sql_parse(&r, fake_host_ctx(fc),
			  "CREATE TABLE t (id int);\n  COPY t FROM STDIN;", &f,
			  MIG_PARSE_LOCK_TIMEOUT_SET),
	    DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->diags.head->loc.line, 2);
	T_ASSERT_INT(fc->diags.head->loc.col, 3);
	T_ASSERT_STR(fc->diags.head->message,
		     "migration \"V2__load.sql\" uses COPY ... FROM STDIN");
	T_ASSERT_CONTAINS(fc->diags.head->hint, "INSERT");
	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "COPY (SELECT 1) TO STDOUT", &f,
				   MIG_PARSE_LOCK_TIMEOUT_SET),
		     DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(fc->diags.tail->message, "TO STDOUT");
	/* a file on the server, or a program, is the server's business */
	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "COPY t FROM '/srv/t.csv' (FORMAT csv); "
				   "COPY t TO PROGRAM 'gzip > /tmp/t.gz'",
				   &f, true),
		     0);
	T_ASSERT_INT(r.n, 2);
	fake_host_free(fc);
}

TEST(test_migrations__detects_statements_outside_transactions)
{
	static const struct {
		const char *sql;
		bool nontx;
	} cases[] = {
	    {"CREATE INDEX CONCURRENTLY i ON t (a)", true},
	    {"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", true},
	    {"CREATE INDEX i ON t (a)", false},
	    {"DROP INDEX CONCURRENTLY i", true},
	    {"DROP INDEX i", false},
	    {"VACUUM t", true},
	    {"VACUUM (ANALYZE) t", true},
	    {"ANALYZE t", false},
	    {"REINDEX TABLE CONCURRENTLY t", true},
	    {"REINDEX TABLE t", false},
	    {"REINDEX DATABASE app", true},
	    {"CREATE DATABASE x", true},
	    {"ALTER SYSTEM SET work_mem = '8MB'", true},
	    {"ALTER TABLE p DETACH PARTITION q CONCURRENTLY", true},
	    {"ALTER TABLE p DETACH PARTITION q", false},
	    {"DISCARD ALL", true},
	    {"SELECT 'CREATE INDEX CONCURRENTLY i ON t (a)'", false},
	};
	struct fake_ctx *fc = fake_host_new("migrations");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (mt_one_stmt(fc, cases[i].sql).nontx != cases[i].nontx)
			t_fail(__FILE__, __LINE__, "nontx of \"%s\" is wrong",
			       cases[i].sql);
	fake_host_free(fc);
}

/* ---- lint */

static bool mt_fires(const char *sql, const char *rule, bool lock_timeout)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_parsed r;
	bool found = false;

	if (mig_sql_parse(
		&r, fake_host_ctx(fc), sql, NULL,
		MIG_PARSE_LINT |
		    (lock_timeout ? MIG_PARSE_LOCK_TIMEOUT_SET : 0)) != 0) {
		fake_host_free(fc);
		return false;
	}
	for (size_t i = 0; i < r.nfindings; i++)
		if (strcmp(r.findings[i].rule, rule) == 0)
			found = true;
	fake_host_free(fc);
	return found;
}

#define FIRES(sql, rule)                                                       \
	do {                                                                   \
		if (!mt_fires((sql), (rule), true))                            \
			t_fail(__FILE__, __LINE__,                             \
			       "rule %s does not fire on: %s", (rule), (sql)); \
	} while (0)
#define QUIET(sql, rule)                                                       \
	do {                                                                   \
		if (mt_fires((sql), (rule), true))                             \
			t_fail(__FILE__, __LINE__, "rule %s fires on: %s",     \
			       (rule), (sql));                                 \
	} while (0)

TEST(test_migrations__lint_index_rules)
{
	FIRES("CREATE INDEX i ON t (a)", "require-concurrent-index-creation");
	QUIET("CREATE INDEX CONCURRENTLY i ON t (a)",
	      "require-concurrent-index-creation");
	QUIET("CREATE TABLE t (a int); CREATE INDEX i ON t (a)",
	      "require-concurrent-index-creation");
	FIRES("DROP INDEX i", "require-concurrent-index-deletion");
	QUIET("DROP INDEX CONCURRENTLY i", "require-concurrent-index-deletion");
}

TEST(test_migrations__lint_concurrent_index_in_transaction)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_file f;
	struct mig_parsed r;

	memset(&f, 0, sizeof(f));
	f.script = "V1__x.sql";
	f.txmode = MIG_TX_ON; /* executeInTransaction=true */
	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "CREATE INDEX CONCURRENTLY i ON t (a)", &f,
				   MIG_PARSE_LINT | MIG_PARSE_LOCK_TIMEOUT_SET),
		     0);
	T_ASSERT_INT(r.nfindings, 1);
	T_ASSERT_STR(r.findings[0].rule,
		     "ban-concurrent-index-creation-in-transaction");
	/* decided from the parse tree, it runs outside a transaction */
	QUIET("CREATE INDEX CONCURRENTLY i ON t (a)",
	      "ban-concurrent-index-creation-in-transaction");
	fake_host_free(fc);
}

TEST(test_migrations__lint_column_rules)
{
	FIRES("ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()",
	      "adding-field-with-default");
	FIRES(
	    "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS (a * 2) STORED",
	    "adding-field-with-default");
	QUIET("ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()",
	      "adding-field-with-default");
	QUIET("ALTER TABLE t ADD COLUMN c int DEFAULT 0",
	      "adding-field-with-default");
	FIRES("ALTER TABLE t ADD COLUMN c int NOT NULL",
	      "adding-required-field");
	QUIET("ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0",
	      "adding-required-field");
	QUIET("ALTER TABLE t ADD COLUMN c int", "adding-required-field");
	FIRES("ALTER TABLE t ALTER COLUMN c SET NOT NULL",
	      "adding-not-nullable-field");
	QUIET("ALTER TABLE t ALTER COLUMN c DROP NOT NULL",
	      "adding-not-nullable-field");
	FIRES("ALTER TABLE t ALTER COLUMN c TYPE bigint",
	      "changing-column-type");
	QUIET("ALTER TABLE t ALTER COLUMN c SET DEFAULT 1",
	      "changing-column-type");
	FIRES("ALTER TABLE t DROP COLUMN c", "ban-drop-column");
	QUIET("ALTER TABLE t ADD COLUMN c int", "ban-drop-column");
	FIRES("CREATE TABLE t (c char(3))", "ban-char-field");
	FIRES("ALTER TABLE t ADD COLUMN c character(2)", "ban-char-field");
	QUIET("CREATE TABLE t (c varchar(3), d text)", "ban-char-field");
	FIRES("CREATE TABLE t (c timestamp)", "prefer-timestamptz");
	QUIET("CREATE TABLE t (c timestamptz)", "prefer-timestamptz");
}

TEST(test_migrations__lint_constraint_rules)
{
	FIRES(
	    "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id)",
	    "adding-foreign-key-constraint");
	FIRES("ALTER TABLE t ADD COLUMN u int REFERENCES u (id)",
	      "adding-foreign-key-constraint");
	QUIET(
	    "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) NOT VALID",
	    "adding-foreign-key-constraint");
	QUIET(
	    "CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id)",
	    "adding-foreign-key-constraint");
	FIRES("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)",
	      "constraint-missing-not-valid");
	QUIET("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
	      "constraint-missing-not-valid");
	FIRES("ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)",
	      "disallowed-unique-constraint");
	QUIET("ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i",
	      "disallowed-unique-constraint");
	FIRES("ALTER TABLE t ADD PRIMARY KEY (a)",
	      "adding-serial-primary-key-field");
	QUIET("ALTER TABLE t ADD CONSTRAINT p PRIMARY KEY USING INDEX i",
	      "adding-serial-primary-key-field");
}

TEST(test_migrations__lint_breaking_changes)
{
	FIRES("ALTER TABLE t RENAME COLUMN a TO b", "renaming-column");
	QUIET("ALTER TABLE t RENAME TO u", "renaming-column");
	FIRES("ALTER TABLE t RENAME TO u", "renaming-table");
	QUIET("ALTER TABLE t RENAME COLUMN a TO b", "renaming-table");
	FIRES("DROP TABLE t", "ban-drop-table");
	QUIET("DROP VIEW t", "ban-drop-table");
	FIRES("DROP DATABASE x", "ban-drop-database");
	QUIET("DROP SCHEMA x", "ban-drop-database");
	FIRES("BEGIN; CREATE TABLE t (a int); COMMIT", "transaction-nesting");
	QUIET("CREATE TABLE t (a int)", "transaction-nesting");
}

TEST(test_migrations__lint_lock_timeout)
{
	T_ASSERT(mt_fires("ALTER TABLE t ADD COLUMN c int",
			  "require-lock-timeout", false));
	T_ASSERT(
	    !mt_fires("SET lock_timeout = '1s'; ALTER TABLE t ADD COLUMN c int",
		      "require-lock-timeout", false));
	/* the spec sets lock_timeout for every migration session */
	T_ASSERT(!mt_fires("ALTER TABLE t ADD COLUMN c int",
			   "require-lock-timeout", true));
	T_ASSERT(
	    !mt_fires("CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN c int",
		      "require-lock-timeout", false));
}

TEST(test_migrations__lint_finding_is_located)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_parsed r;

	T_ASSERT_INT(mig_sql_parse(&r, fake_host_ctx(fc),
				   "CREATE TABLE a (x int);\n\n  -- why\n"
				   "  CREATE INDEX i ON t (a);",
				   NULL,
				   MIG_PARSE_LINT | MIG_PARSE_LOCK_TIMEOUT_SET),
		     0);
	T_ASSERT_INT(r.nfindings, 1);
	T_ASSERT_STR(r.findings[0].rule, "require-concurrent-index-creation");
	T_ASSERT_INT(r.findings[0].line, 4);
	T_ASSERT_INT(r.findings[0].col, 3);
	fake_host_free(fc);
}

TEST(test_migrations__disable_comment)
{
	T_ASSERT(mig_rule_disabled_inline(
	    "-- dbops:disable ban-drop-table\nDROP TABLE t;",
	    "ban-drop-table"));
	T_ASSERT(mig_rule_disabled_inline(
	    "/* dbops:disable renaming-table, ban-drop-table */",
	    "ban-drop-table"));
	T_ASSERT(!mig_rule_disabled_inline(
	    "-- dbops:disable ban-drop-table-x\nDROP TABLE t;",
	    "ban-drop-table"));
	T_ASSERT(!mig_rule_disabled_inline("DROP TABLE t;", "ban-drop-table"));
	T_ASSERT(mig_rule_known("ban-drop-table"));
	T_ASSERT(!mig_rule_known("ban-everything"));
}

/* ---- validate and diff over canned history */

static struct mig_live *mt_live(struct fake_ctx *fc, const char *yaml)
{
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	const struct dbops_node *root = fake_host_spec(fc, yaml);
	struct mig_live *live;

	if (root == NULL)
		return NULL;
	live = mt_host.alloc(ctx, sizeof(*live));
	if (mig_spec_load(&live->spec, ctx,
			  mt_host.spec_get(root, "migrations"),
			  MIG_LOAD_FILES) != 0)
		return NULL;
	live->ndbs = live->spec->ndbs;
	live->dbs = mt_host.alloc(ctx, live->ndbs * sizeof(*live->dbs));
	live->conns = mt_host.alloc(ctx, live->ndbs * sizeof(*live->conns));
	return live;
}

static void mt_row(struct fake_ctx *fc, struct mig_live_db *l,
		   const char *version, const char *description,
		   const char *type, const char *script, int32_t checksum,
		   bool success)
{
	struct mig_row *rows =
	    mt_host.alloc(fake_host_ctx(fc), (l->nrows + 1) * sizeof(*rows));
	struct mig_row *r = &rows[l->nrows];

	if (l->nrows)
		memcpy(rows, l->rows, l->nrows * sizeof(*rows));
	r->rank = (int)l->nrows + 1;
	r->version = version;
	if (version != NULL)
		mig_version_parse(&r->v, fake_host_ctx(fc), version);
	r->description = description;
	r->type = type;
	r->script = script;
	r->has_checksum = strcmp(type, "SQL") == 0;
	r->checksum = checksum;
	r->success = success;
	l->rows = rows;
	l->nrows++;
	l->table_exists = true;
}

#define SQL1  "CREATE TABLE a (id int);\n"
#define SQL2  "CREATE TABLE b (id int);\n"
#define SQL10 "CREATE INDEX CONCURRENTLY b_id ON b (id);\n"

static void mt_three_files(struct fake_ctx *fc)
{
	mt_file(fc, "R__view.sql", "CREATE OR REPLACE VIEW v AS SELECT 1;\n");
	mt_file(fc, "V1.10__index.sql", SQL10);
	mt_file(fc, "V1.2__b.sql", SQL2);
	mt_file(fc, "V1__a.sql", SQL1);
}

TEST(test_migrations__validate_reports_bad_names_and_duplicates)
{
	struct fake_ctx *fc = mt_new();
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	const struct dbops_node *root;

	mt_file(fc, "README.md", "notes");
	mt_file(fc, "V1.0__again.sql", SQL1);
	mt_file(fc, "V1__a.sql", SQL1);
	mt_file(fc, "V2_b.sql", SQL2);
	mt_file(fc, "v3__c.sql", SQL2);
	root = fake_host_spec(fc, mt_spec);
	T_ASSERT(root != NULL);
	T_ASSERT_INT(mig_validate(ctx, mt_host.spec_get(root, "migrations")),
		     DBOPS_ERR_INVALID);
	T_ASSERT_GOLDEN("migrations_validate_names.txt", fake_host_render(fc));
	fake_host_free(fc);
}

static void mt_callback_files(struct fake_ctx *fc)
{
	mt_file(fc, "V1__a.sql", SQL1);
	mt_file(fc, "afterMigrate.sql", "GRANT SELECT ON a TO PUBLIC;\n");
	mt_file(fc, "afterMigrateX.sql", "SELECT 1;\n");
	mt_file(fc, "beforeMigrate__settings.sql",
		"SET search_path = public;\n");
	mt_file(fc, "beforeValidate.sql", "SELECT 1;\n");
}

TEST(test_migrations__flyway_callbacks)
{
	struct fake_ctx *fc = mt_new();
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	const struct dbops_node *root;
	struct mig_live *live;
	size_t warnings = 0;

	/* an event dbops does not run is named, not silently skipped */
	mt_callback_files(fc);
	root = fake_host_spec(fc, mt_spec);
	T_ASSERT(root != NULL);
	T_ASSERT_INT(mig_validate(ctx, mt_host.spec_get(root, "migrations")),
		     0);
	for (const struct dbops_diag *d = fc->diags.head; d; d = d->next)
		if (d->severity == DBOPS_SEV_WARNING) {
			warnings++;
			T_ASSERT_STR(
			    d->message,
			    "Flyway callback \"beforeValidate.sql\" (event beforeValidate) is not run by dbops");
		}
	T_ASSERT_INT(warnings, 1);
	fake_host_free(fc);

	/* with a migration pending: beforeMigrate first, afterMigrate last */
	fc = mt_new();
	mt_callback_files(fc);
	live = mt_live(fc, mt_spec);
	T_ASSERT(live != NULL);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	T_ASSERT_INT(fc->nchanges, 3);
	T_ASSERT_STR(fake_host_change_at(fc, 0)->address, "migrations.app.V1");
	T_ASSERT_STR(fake_host_change_at(fc, 1)->address,
		     "migrations.app.beforeMigrate__settings");
	T_ASSERT(fake_host_change_at(fc, 1)->order <
		 fake_host_change_at(fc, 0)->order);
	T_ASSERT_STR(fake_host_change_at(fc, 2)->address,
		     "migrations.app.afterMigrate");
	T_ASSERT(fake_host_change_at(fc, 2)->order >
		 fake_host_change_at(fc, 0)->order);
	T_ASSERT_INT(
	    ((const struct mig_payload *)fake_host_change_at(fc, 2)->payload)
		->op,
	    MIG_OP_CALLBACK);
	fake_host_free(fc);

	/* nothing to migrate: no callback runs, the plan stays empty */
	fc = mt_new();
	mt_callback_files(fc);
	live = mt_live(fc, mt_spec);
	T_ASSERT(live != NULL);
	mt_row(fc, &live->dbs[0], "1", "a", "SQL", "V1__a.sql",
	       mig_checksum(SQL1, strlen(SQL1)), true);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	T_ASSERT_INT(fc->nchanges, 0);
	fake_host_free(fc);
}

TEST(test_migrations__validate_reports_spec_errors)
{
	struct fake_ctx *fc = mt_new();
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	const struct dbops_node *root = fake_host_spec(
	    fc, "migrations:\n"
		"  lock_timeout: soon\n"
		"  databases:\n"
		"    - database: app\n"
		"      locations: [/etc]\n"
		"    - database: b\n"
		"      locations: [m]\n"
		"      histroy_table: x\n"
		"    - database: c\n"
		"      locations: [m]\n"
		"      lint: {level: loud, disable: [ban-everything]}\n");

	T_ASSERT(root != NULL);
	T_ASSERT_INT(mig_validate(ctx, mt_host.spec_get(root, "migrations")),
		     DBOPS_ERR_INVALID);
	T_ASSERT_GOLDEN("migrations_validate_spec.txt", fake_host_render(fc));
	fake_host_free(fc);
}

TEST(test_migrations__target_holds_back_newer_versions)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;
	size_t warnings = 0;

	mt_three_files(fc);
	live = mt_live(fc, "migrations:\n"
			   "  databases:\n"
			   "    - database: app\n"
			   "      locations: [m]\n"
			   "      target: '1.2'\n");
	T_ASSERT(live != NULL);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	/* 1.10 waits; repeatable migrations are not held back */
	T_ASSERT_INT(fc->nchanges, 3);
	T_ASSERT_STR(fake_host_change_at(fc, 0)->address, "migrations.app.V1");
	T_ASSERT_STR(fake_host_change_at(fc, 1)->address,
		     "migrations.app.V1_2");
	T_ASSERT_STR(fake_host_change_at(fc, 2)->address,
		     "migrations.app.R__view");
	fake_host_free(fc);

	/* applied beyond the target: said, never undone */
	fc = mt_new();
	mt_three_files(fc);
	live = mt_live(fc, "migrations:\n"
			   "  databases:\n"
			   "    - database: app\n"
			   "      locations: [m]\n"
			   "      target: '1'\n");
	T_ASSERT(live != NULL);
	mt_row(fc, &live->dbs[0], "1", "a", "SQL", "V1__a.sql",
	       mig_checksum(SQL1, strlen(SQL1)), true);
	mt_row(fc, &live->dbs[0], "1.2", "b", "SQL", "V1.2__b.sql",
	       mig_checksum(SQL2, strlen(SQL2)), true);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	for (const struct dbops_diag *d = fc->diags.head; d; d = d->next)
		if (d->severity == DBOPS_SEV_WARNING &&
		    strstr(d->message, "beyond its target 1") != NULL)
			warnings++;
	T_ASSERT_INT(warnings, 1);
	T_ASSERT_INT(fc->nchanges, 1); /* the repeatable only */
	fake_host_free(fc);

	/* not a version */
	fc = mt_new();
	mt_three_files(fc);
	T_ASSERT(mt_live(fc, "migrations:\n"
			     "  databases:\n"
			     "    - database: app\n"
			     "      locations: [m]\n"
			     "      target: next\n") == NULL);
	T_ASSERT_CONTAINS(fc->diags.head->message,
			  "invalid target version \"next\"");
	T_ASSERT_INT(fc->diags.head->loc.line, 5);
	fake_host_free(fc);
}

TEST(test_migrations__plans_pending_in_version_order)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;

	mt_three_files(fc);
	live = mt_live(fc, mt_spec);
	T_ASSERT(live != NULL);
	mt_row(fc, &live->dbs[0], "1", "a", "SQL", "V1__a.sql",
	       mig_checksum(SQL1, strlen(SQL1)), true);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	T_ASSERT_GOLDEN("migrations_diff_pending.txt", fake_host_render(fc));
	fake_host_free(fc);
}

TEST(test_migrations__history_problems_are_errors)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;
	struct mig_live_db *l;

	mt_three_files(fc);
	live = mt_live(fc, mt_spec);
	T_ASSERT(live != NULL);
	l = &live->dbs[0];
	/* V1 changed, V1.5 gone, V1.10 pending below the newest (V3, failed
	 * V4) */
	mt_row(fc, l, "1", "a", "SQL", "V1__a.sql", 12345, true);
	mt_row(fc, l, "1.2", "b", "SQL", "V1.2__b.sql",
	       mig_checksum(SQL2, strlen(SQL2)), true);
	mt_row(fc, l, "1.5", "gone", "SQL", "V1.5__gone.sql", 1, true);
	mt_row(fc, l, "3", "c", "SQL", "V3__c.sql", 2, true);
	mt_row(fc, l, "4", "d", "SQL", "V4__d.sql", 3, false);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live),
		     DBOPS_ERR_INVALID);
	T_ASSERT_GOLDEN("migrations_diff_errors.txt", fake_host_render(fc));
	fake_host_free(fc);
}

TEST(test_migrations__flyway_history_is_up_to_date)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;
	struct mig_live_db *l;

	mt_file(fc, "V1__Create_person_table.sql",
		"CREATE TABLE t (id int);\n");
	live = mt_live(fc, mt_spec);
	T_ASSERT(live != NULL);
	l = &live->dbs[0];
	/* the row Flyway writes for this file: checksum 92137680 */
	mt_row(fc, l, "1", "Create person table", "SQL",
	       "V1__Create_person_table.sql", 92137680, true);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT(fc->diags.head == NULL);
	fake_host_free(fc);
}

TEST(test_migrations__out_of_order_allowed_and_baseline)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;

	mt_three_files(fc);
	live = mt_live(fc, "migrations:\n"
			   "  databases:\n"
			   "    - database: app\n"
			   "      locations: [m]\n"
			   "      out_of_order: true\n"
			   "      baseline: {version: '1'}\n");
	T_ASSERT(live != NULL);
	/* empty history: a baseline at 1, then 1.2, 1.10 and the view */
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	T_ASSERT_INT(fc->nchanges, 4);
	T_ASSERT_STR(fake_host_change_at(fc, 0)->address,
		     "migrations.app.baseline");
	T_ASSERT_STR(fake_host_change_at(fc, 1)->address,
		     "migrations.app.V1_2");
	T_ASSERT_STR(fake_host_change_at(fc, 2)->address,
		     "migrations.app.V1_10");
	T_ASSERT_INT(fake_host_change_at(fc, 2)->flags & DBOPS_CHANGE_NONTX,
		     DBOPS_CHANGE_NONTX);
	T_ASSERT_STR(fake_host_change_at(fc, 3)->address,
		     "migrations.app.R__view");
	/* the order of execution travels in the change, not the address */
	for (size_t i = 0; i < 4; i++)
		T_ASSERT_INT((long)fake_host_change_at(fc, i)->order,
			     (long)i + 1);
	fake_host_free(fc);
}

TEST(test_migrations__mixed_migration_is_refused)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;

	mt_file(
	    fc, "V1__mixed.sql",
	    "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
	live = mt_live(fc, mt_spec);
	T_ASSERT(live != NULL);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live),
		     DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(fc->diags.head->message,
			  "cannot run inside a transaction block");
	T_ASSERT_INT(fc->diags.head->loc.line, 2);
	fake_host_free(fc);
}

TEST(test_migrations__sidecar_conf_turns_transaction_off)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;

	mt_file(fc, "V1__a.sql", SQL1);
	mt_file(fc, "V1__a.sql.conf",
		"# per-script\nexecuteInTransaction = false\n");
	live = mt_live(fc, mt_spec);
	T_ASSERT(live != NULL);
	T_ASSERT_INT(live->spec->dbs[0].nfiles, 1);
	T_ASSERT_INT(live->spec->dbs[0].files[0].txmode, MIG_TX_OFF);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	T_ASSERT_INT(fc->nchanges, 1);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "none (one statement per query)");
	fake_host_free(fc);
}

static const char *mt_mode_repair(struct dbops_ctx *ctx)
{
	(void)ctx;
	return "repair";
}

TEST(test_migrations__repair_plans_row_fixes)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;
	struct mig_live_db *l;

	mt_three_files(fc);
	live = mt_live(fc, mt_spec);
	T_ASSERT(live != NULL);
	l = &live->dbs[0];
	mt_row(fc, l, "1", "a", "SQL", "V1__a.sql", 12345, true);
	mt_row(fc, l, "1.2", "b", "SQL", "V1.2__b.sql",
	       mig_checksum(SQL2, strlen(SQL2)), true);
	mt_row(fc, l, "1.5", "gone", "SQL", "V1.5__gone.sql", 1, true);
	mt_row(fc, l, "1.10", "index", "SQL", "V1.10__index.sql", 3, false);
	mt_host.mode = mt_mode_repair;
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	mt_host.mode = NULL;
	T_ASSERT_INT(fc->nchanges, 3);
	T_ASSERT_GOLDEN("migrations_diff_repair.txt", fake_host_render(fc));
	fake_host_free(fc);
}

TEST(test_migrations__lint_level_and_disable)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;

	mt_file(fc, "V1__drop.sql", "DROP TABLE old;\n");
	mt_file(fc, "V2__drop_again.sql",
		"-- dbops:disable ban-drop-table\nDROP TABLE older;\n");
	mt_file(fc, "V3__rename.sql", "ALTER TABLE t RENAME TO u;\n");
	live = mt_live(
	    fc, "migrations:\n"
		"  databases:\n"
		"    - database: app\n"
		"      locations: [m]\n"
		"      lint: {level: error, disable: [renaming-table]}\n");
	T_ASSERT(live != NULL);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live),
		     DBOPS_ERR_INVALID);
	/* one finding: V1; V2 disables it inline, V3 in the spec */
	T_ASSERT_INT(fc->diags.nerrors, 1);
	T_ASSERT_INT(fc->diags.nwarnings, 0);
	T_ASSERT_CONTAINS(fc->diags.head->message,
			  "V1__drop.sql [ban-drop-table]");
	T_ASSERT_STR(fc->diags.head->loc.file, "m/V1__drop.sql");
	fake_host_free(fc);
}

TEST(test_migrations__byte_order_mark_is_dropped)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;

	mt_file(fc, "V1__bom.sql",
		"\xEF\xBB\xBF"
		"CREATE TABLE t\n(id int);");
	live = mt_live(fc, mt_spec);
	T_ASSERT(live != NULL);
	T_ASSERT_INT(live->spec->dbs[0].files[0].checksum, -66220931);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	T_ASSERT_STR(fake_host_change_at(fc, 0)->sql,
		     "CREATE TABLE t\n(id int);");
	fake_host_free(fc);
}

TEST(test_migrations__each_database_has_its_own_set)
{
	struct fake_ctx *fc = mt_new();
	struct mig_live *live;

	mt_three_files(fc);
	live = mt_live(fc, "migrations:\n"
			   "  databases:\n"
			   "    - database: app\n"
			   "      locations: [m]\n"
			   "    - database: reports\n"
			   "      locations: [m]\n"
			   "      history_table: meta.schema_history\n");
	T_ASSERT(live != NULL);
	/* app is up to date with V1 and V1.2; reports has nothing yet */
	mt_row(fc, &live->dbs[0], "1", "a", "SQL", "V1__a.sql",
	       mig_checksum(SQL1, strlen(SQL1)), true);
	mt_row(fc, &live->dbs[0], "1.2", "b", "SQL", "V1.2__b.sql",
	       mig_checksum(SQL2, strlen(SQL2)), true);
	T_ASSERT_INT(mig_diff(fake_host_ctx(fc), NULL, live), 0);
	T_ASSERT_INT(fc->nchanges, 2 + 4);
	T_ASSERT_STR(fake_host_change_at(fc, 0)->address,
		     "migrations.app.V1_10");
	T_ASSERT_STR(fake_host_change_at(fc, 2)->address,
		     "migrations.reports.V1");
	/* the second database's migrations follow the first's */
	T_ASSERT(fake_host_change_at(fc, 2)->order >
		 fake_host_change_at(fc, 1)->order);
	T_ASSERT_STR(
	    ((const struct mig_payload *)fake_host_change_at(fc, 2)->payload)
		->run->qtable,
	    "\"meta\".\"schema_history\"");
	fake_host_free(fc);
}

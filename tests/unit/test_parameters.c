/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_parameters.c — the "parameters" plugin against a fake host: value
 * normalisation (units, booleans, enums, lists, reals), SHOW formatting,
 * validate, diff over canned pg_settings rows copied from a PostgreSQL 15
 * server (initdb defaults, shared_buffers = 32MB in postgresql.conf), the
 * precondition check of apply, and verify.
 */
#include "diag.h"
#include "t.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "fake_host.h"
#include "spec.h"
#include "../../plugins/parameters/parameters_int.h"

#define NCOLS 11

static const char *const par_cols[NCOLS] = {
    "name",    "setting", "unit",     "vartype",	 "context",
    "min_val", "max_val", "enumvals", "pending_restart", "boot_val",
    "source",
};

/* SELECT name, setting, unit, vartype, context, min_val, max_val,
 * enumvals, pending_restart, boot_val, source FROM pg_settings (15.x) */
static const char *const par_real_rows[][NCOLS] = {
    {"DateStyle", "ISO, MDY", NULL, "string", "user", NULL, NULL, NULL, "f",
     "ISO, MDY", "configuration file"},
    {"block_size", "8192", NULL, "integer", "internal", "8192", "8192", NULL,
     "f", "8192", "default"},
    {"checkpoint_timeout", "300", "s", "integer", "sighup", "30", "86400", NULL,
     "f", "300", "default"},
    {"data_directory", "/var/lib/postgresql/15/main", NULL, "string",
     "postmaster", NULL, NULL, NULL, "f", NULL, "override"},
    {"default_transaction_isolation", "read committed", NULL, "enum", "user",
     NULL, NULL,
     "{serializable,\"repeatable read\",\"read committed\",\"read uncommitted\"}",
     "f", "read committed", "default"},
    {"log_connections", "off", NULL, "bool", "superuser-backend", NULL, NULL,
     NULL, "f", "off", "default"},
    {"log_destination", "stderr", NULL, "string", "sighup", NULL, NULL, NULL,
     "f", "stderr", "default"},
    {"log_min_duration_statement", "-1", "ms", "integer", "superuser", "-1",
     "2147483647", NULL, "f", "-1", "default"},
    {"log_rotation_age", "1440", "min", "integer", "sighup", "0", "35791394",
     NULL, "f", "1440", "default"},
    {"maintenance_work_mem", "65536", "kB", "integer", "user", "1024",
     "2147483647", NULL, "f", "65536", "default"},
    {"max_connections", "100", NULL, "integer", "postmaster", "1", "262143",
     NULL, "f", "100", "configuration file"},
    {"max_wal_size", "1024", "MB", "integer", "sighup", "2", "2147483647", NULL,
     "f", "1024", "configuration file"},
    {"random_page_cost", "4", NULL, "real", "user", "0", "1.79769e+308", NULL,
     "f", "4", "default"},
    {"search_path", "\"$user\", public", NULL, "string", "user", NULL, NULL,
     NULL, "f", "\"$user\", public", "default"},
    {"shared_buffers", "4096", "8kB", "integer", "postmaster", "16",
     "1073741823", NULL, "f", "16384", "configuration file"},
    {"shared_preload_libraries", "", NULL, "string", "postmaster", NULL, NULL,
     NULL, "f", "", "default"},
    {"statement_timeout", "0", "ms", "integer", "user", "0", "2147483647", NULL,
     "f", "0", "default"},
    {"synchronous_commit", "on", NULL, "enum", "user", NULL, NULL,
     "{local,remote_write,remote_apply,on,off}", "f", "on", "default"},
    {"temp_tablespaces", "", NULL, "string", "user", NULL, NULL, NULL, "f", "",
     "default"},
    {"track_activity_query_size", "1024", "B", "integer", "postmaster", "100",
     "1048576", NULL, "f", "1024", "default"},
    {"vacuum_cost_delay", "0", "ms", "real", "user", "0", "100", NULL, "f", "0",
     "default"},
    {"wal_buffers", "128", "8kB", "integer", "postmaster", "-1", "262143", NULL,
     "f", "-1", "default"},
    {"wal_level", "replica", NULL, "enum", "postmaster", NULL, NULL,
     "{minimal,replica,logical}", "f", "replica", "default"},
    {"work_mem", "4096", "kB", "integer", "user", "64", "2147483647", NULL, "f",
     "4096", "default"},
};

#define NROWS	(sizeof(par_real_rows) / sizeof(par_real_rows[0]))
#define MAXFILE 8

/* pg_file_settings of that server: initdb's postgresql.conf */
static const char *const par_real_file[][5] = {
    {"max_connections", "100", "t", NULL, "1"},
    {"shared_buffers", "128MB", "f", NULL, "2"},
    {"max_wal_size", "1GB", "t", NULL, "4"},
    {"datestyle", "iso, mdy", "t", NULL, "7"},
    {"shared_buffers", "32MB", "t", NULL, "17"},
};

static const char *const par_file_cols[5] = {"name", "setting", "applied",
					     "error", "seqno"};

/* The live side of one test: rows, file lines and privileges, editable
 * before fx_ctx() cans them. */
struct fixture {
	const char *rows[NROWS][NCOLS];
	const char *file[MAXFILE][5];
	int nfile;
	const char *read_files;
	const char *read_all;
	const char *alter_error; /* ALTER SYSTEM fails with this, or NULL */
};

static void fx_init(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	memcpy(fx->rows, par_real_rows, sizeof(par_real_rows));
	for (size_t i = 0; i < sizeof(par_real_file) / sizeof(par_real_file[0]);
	     i++)
		memcpy(fx->file[fx->nfile++], par_real_file[i],
		       sizeof(par_real_file[i]));
	fx->read_files = "t";
	fx->read_all = "t";
}

/* Change one column of the row of `name`. */
static void fx_set(struct fixture *fx, const char *name, const char *col,
		   const char *value)
{
	for (size_t r = 0; r < NROWS; r++) {
		if (strcmp(fx->rows[r][0], name) != 0)
			continue;
		for (int c = 0; c < NCOLS; c++)
			if (strcmp(par_cols[c], col) == 0)
				fx->rows[r][c] = value;
	}
}

/* A later line of the configuration files (highest seqno wins). */
static void fx_file(struct fixture *fx, const char *name, const char *setting,
		    const char *applied, const char *error, const char *seqno)
{
	const char *line[5] = {name, setting, applied, error, seqno};

	if (fx->nfile < MAXFILE)
		memcpy(fx->file[fx->nfile++], line, sizeof(line));
}

static struct fake_ctx *fx_ctx(const struct fixture *fx)
{
	struct fake_ctx *fc = fake_host_new("parameters");
	static const char *const priv_cols[2] = {"read_file_settings",
						 "read_all_settings"};
	const char *priv[2] = {fx->read_files, fx->read_all};
	const char *names[NROWS + 2];
	static const char *const name_col[1] = {"name"};
	static const char *const reload_col[1] = {"pg_reload_conf"};
	static const char *const reload_row[1] = {"t"};

	for (size_t r = 0; r < NROWS; r++)
		names[r] = fx->rows[r][0];
	names[NROWS] = "wal_writer_delay";
	names[NROWS + 1] = "work_mem_multiplier";
	fake_host_add_result(fc, "has_table_privilege", priv_cols, 2, priv, 1);
	fake_host_add_result(
	    fc, "FROM pg_catalog.pg_settings WHERE pg_catalog.lower(name)",
	    par_cols, NCOLS, &fx->rows[0][0], (int)NROWS);
	fake_host_add_result(
	    fc, "SELECT name FROM pg_catalog.pg_settings ORDER BY name",
	    name_col, 1, names, (int)NROWS + 2);
	fake_host_add_result(fc, "FROM pg_catalog.pg_file_settings",
			     par_file_cols, 5, &fx->file[0][0], fx->nfile);
	if (fx->alter_error != NULL)
		fake_host_add_error(fc, "ALTER SYSTEM", "42501",
				    fx->alter_error);
	fake_host_add_result(fc, "ALTER SYSTEM", NULL, 0, NULL, 0);
	fake_host_add_result(fc, "pg_reload_conf()", reload_col, 1, reload_row,
			     1);
	fake_host_add_result(fc, "pg_sleep", NULL, 0, NULL, 0);
	return fc;
}

/* The row of `name` read through observe's loader. */
static const struct par_setting *row_of(struct fake_ctx *fc, const char *name)
{
	struct par_live *live = NULL;
	const char *names[1] = {name};

	if (par_live_load(&live, fake_host_ctx(fc), names, 1) != 0)
		return NULL;
	return par_live_find(live, name);
}

/* Whether `desired` and `live` are the same value of `name`. */
static int same(struct fake_ctx *fc, const char *name, const char *desired,
		const char *live, bool loose)
{
	const struct par_setting *s = row_of(fc, name);
	struct par_value a, b;
	struct dbops_ctx *ctx = fake_host_ctx(fc);

	if (s == NULL)
		return -1;
	if (par_value_parse(&a, NULL, ctx, s, desired) != 0 ||
	    par_value_parse(&b, NULL, ctx, s, live) != 0)
		return -2;
	return par_value_equal(s, &a, &b, loose) ? 1 : 0;
}

static const char *show(struct fake_ctx *fc, const char *name, const char *text)
{
	const struct par_setting *s = row_of(fc, name);

	return s != NULL ? par_text_format(fake_host_ctx(fc), s, text) : NULL;
}

/* Parse error text of `desired` for `name`: message, then the hint. */
static const char *parse_error(struct fake_ctx *fc, const char *name,
			       const char *desired)
{
	const struct par_setting *s = row_of(fc, name);
	struct par_parse_error err = {NULL, NULL};
	struct par_value v;

	if (s == NULL)
		return NULL;
	if (par_value_parse(&v, &err, fake_host_ctx(fc), s, desired) == 0)
		return "parsed";
	return arena_printf(fc->arena, "%s / %s", err.message,
			    err.hint ? err.hint : "no hint");
}

/* validate, observe and diff of the `parameters:` section of `yaml`;
 * the rendered outcome, or NULL when the YAML does not parse. */
static const char *run_diff(struct fake_ctx *fc, const char *yaml, int *rc)
{
	const struct dbops_node *root = fake_host_spec(fc, yaml);
	const struct dbops_node *section;
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	void *live = NULL;

	if (root == NULL)
		return NULL;
	section = spec_get(root, "parameters");
	*rc = par_validate(ctx, section);
	if (*rc == 0)
		*rc = par_observe(&live, ctx, section);
	if (*rc == 0)
		*rc = par_diff(ctx, section, live);
	return fake_host_render(fc);
}

/* ---- normalisation */

TEST(test_parameters__memory_units_normalise)
{
	struct fixture fx;
	struct fake_ctx *fc;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	T_ASSERT_INT(same(fc, "shared_buffers", "1GB", "131072", false), 1);
	T_ASSERT_INT(same(fc, "shared_buffers", "1GB", "131071", false), 0);
	T_ASSERT_INT(same(fc, "shared_buffers", "32MB", "4096", false), 1);
	T_ASSERT_INT(same(fc, "work_mem", "1024kB", "1MB", false), 1);
	T_ASSERT_INT(same(fc, "work_mem", "0.5GB", "524288", false), 1);
	T_ASSERT_INT(same(fc, "work_mem", "16 MB ", "16384", false), 1);
	T_ASSERT_INT(
	    same(fc, "maintenance_work_mem", "1TB", "1073741824", false), 1);
	T_ASSERT_INT(
	    same(fc, "track_activity_query_size", "1.5kB", "1536", false), 1);
	/* 100kB is 12.5 blocks: rounded half to even, as rint() does */
	T_ASSERT_INT(same(fc, "shared_buffers", "100kB", "12", false), 1);
	/* parse_int takes octal and hex */
	T_ASSERT_INT(same(fc, "max_connections", "0x10", "16", false), 1);
	/* memory units are case-sensitive in PostgreSQL */
	T_ASSERT_INT(same(fc, "work_mem", "16mb", "16384", false), -2);
	T_ASSERT_INT(same(fc, "max_connections", "100kB", "100", false), -2);
	fake_host_free(fc);
}

TEST(test_parameters__time_units_normalise)
{
	struct fixture fx;
	struct fake_ctx *fc;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	T_ASSERT_INT(same(fc, "statement_timeout", "1s", "1000", false), 1);
	T_ASSERT_INT(same(fc, "statement_timeout", "1000ms", "1000", false), 1);
	T_ASSERT_INT(same(fc, "statement_timeout", "1000", "1s", false), 1);
	T_ASSERT_INT(same(fc, "checkpoint_timeout", "1min", "60s", false), 1);
	T_ASSERT_INT(same(fc, "checkpoint_timeout", "1min", "61", false), 0);
	T_ASSERT_INT(same(fc, "log_rotation_age", "1d", "1440", false), 1);
	T_ASSERT_INT(same(fc, "log_rotation_age", "1.5h", "90", false), 1);
	T_ASSERT_INT(same(fc, "log_min_duration_statement", "-1", "-1", false),
		     1);
	T_ASSERT_INT(same(fc, "vacuum_cost_delay", "500us", "0.5", false), 1);
	T_ASSERT_INT(same(fc, "statement_timeout", "5 sec", "5000", false), -2);
	fake_host_free(fc);
}

TEST(test_parameters__bool_variants)
{
	static const char *const yes[] = {"on",	 "ON",	"true", "t",
					  "tru", "yes", "Y",	"1"};
	static const char *const no[] = {"off", "OFF", "of", "false",
					 "F",	"no",  "n",  "0"};
	static const char *const bad[] = {"o", "2", "", "onn", "yess"};
	struct fixture fx;
	struct fake_ctx *fc;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		T_ASSERT_INT(same(fc, "log_connections", yes[i], "on", false),
			     1);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		T_ASSERT_INT(same(fc, "log_connections", no[i], "off", false),
			     1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_ASSERT_INT(same(fc, "log_connections", bad[i], "off", false),
			     -2);
	T_ASSERT_STR(
	    parse_error(fc, "log_connections", "maybe"),
	    "parameter \"log_connections\" requires a Boolean value / no hint");
	fake_host_free(fc);
}

TEST(test_parameters__enum_case_and_aliases)
{
	struct fixture fx;
	struct fake_ctx *fc;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	T_ASSERT_INT(same(fc, "default_transaction_isolation", "Read Committed",
			  "read committed", false),
		     1);
	T_ASSERT_INT(same(fc, "default_transaction_isolation", "serializable",
			  "read committed", false),
		     0);
	/* hidden values pg_settings.enumvals does not list */
	T_ASSERT_INT(same(fc, "synchronous_commit", "true", "on", false), 1);
	T_ASSERT_INT(same(fc, "synchronous_commit", "0", "off", false), 1);
	T_ASSERT_INT(same(fc, "wal_level", "hot_standby", "replica", false), 1);
	T_ASSERT_STR(show(fc, "wal_level", "HOT_STANDBY"), "replica");
	T_ASSERT_STR(
	    parse_error(fc, "synchronous_commit", "sometimes"),
	    "invalid value for parameter \"synchronous_commit\": \"sometimes\" / Available values: local, remote_write, remote_apply, on, off.");
	fake_host_free(fc);
}

TEST(test_parameters__list_spacing)
{
	struct fixture fx;
	struct fake_ctx *fc;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	T_ASSERT_INT(same(fc, "search_path", "\"$user\",public",
			  "\"$user\", public", false),
		     1);
	T_ASSERT_INT(same(fc, "search_path", " \"$user\" ,  Public ",
			  "\"$user\", public", false),
		     1);
	T_ASSERT_INT(same(fc, "search_path", "public, \"$user\"",
			  "\"$user\", public", false),
		     0);
	T_ASSERT_INT(same(fc, "search_path", "\"Public\"", "public", false), 0);
	T_ASSERT_INT(same(fc, "log_destination", "stderr,csvlog",
			  "stderr, csvlog", false),
		     1);
	T_ASSERT_INT(same(fc, "DateStyle", "iso, mdy", "ISO, MDY", false), 1);
	T_ASSERT_INT(same(fc, "datestyle", "iso,dmy", "ISO, MDY", false), 0);
	/* library names are file names: case matters */
	T_ASSERT_INT(same(fc, "shared_preload_libraries", "Foo", "foo", false),
		     0);
	T_ASSERT_INT(same(fc, "shared_preload_libraries", "", "", false), 1);
	fake_host_free(fc);
}

TEST(test_parameters__real_values)
{
	struct fixture fx;
	struct fake_ctx *fc;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	T_ASSERT_INT(same(fc, "random_page_cost", "1.1", "1.1", false), 1);
	T_ASSERT_INT(same(fc, "random_page_cost", "1.10", "1.1", false), 1);
	T_ASSERT_INT(same(fc, "random_page_cost", "4", "4.0", false), 1);
	T_ASSERT_INT(same(fc, "random_page_cost", "1.1", "1.2", false), 0);
	/* pg_settings prints reals with %g: six significant digits */
	T_ASSERT_INT(
	    same(fc, "random_page_cost", "1.23456789", "1.23457", true), 1);
	T_ASSERT_INT(
	    same(fc, "random_page_cost", "1.23456789", "1.23457", false), 0);
	T_ASSERT_INT(same(fc, "random_page_cost", "cheap", "4", false), -2);
	fake_host_free(fc);
}

TEST(test_parameters__human_format)
{
	struct fixture fx;
	struct fake_ctx *fc;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	T_ASSERT_STR(show(fc, "shared_buffers", "4096"), "32MB");
	T_ASSERT_STR(show(fc, "shared_buffers", "16"), "128kB");
	T_ASSERT_STR(show(fc, "shared_buffers", "1"), "8kB");
	T_ASSERT_STR(show(fc, "shared_buffers", "131072"), "1GB");
	T_ASSERT_STR(show(fc, "wal_buffers", "-1"), "-1");
	T_ASSERT_STR(show(fc, "work_mem", "4096"), "4MB");
	T_ASSERT_STR(show(fc, "work_mem", "4097"), "4097kB");
	T_ASSERT_STR(show(fc, "max_wal_size", "1024"), "1GB");
	T_ASSERT_STR(show(fc, "track_activity_query_size", "1024"), "1kB");
	T_ASSERT_STR(show(fc, "statement_timeout", "1000"), "1s");
	T_ASSERT_STR(show(fc, "statement_timeout", "90000"), "90s");
	T_ASSERT_STR(show(fc, "statement_timeout", "60000"), "1min");
	T_ASSERT_STR(show(fc, "statement_timeout", "0"), "0");
	T_ASSERT_STR(show(fc, "log_min_duration_statement", "-1"), "-1");
	T_ASSERT_STR(show(fc, "log_rotation_age", "1440"), "1d");
	T_ASSERT_STR(show(fc, "checkpoint_timeout", "300"), "5min");
	T_ASSERT_STR(show(fc, "vacuum_cost_delay", "0.5"), "500us");
	T_ASSERT_STR(show(fc, "vacuum_cost_delay", "2"), "2ms");
	T_ASSERT_STR(show(fc, "random_page_cost", "1.1"), "1.1");
	T_ASSERT_STR(show(fc, "log_connections", "yes"), "on");
	T_ASSERT_STR(show(fc, "max_connections", "100"), "100");
	fake_host_free(fc);
}

/* ---- validate */

TEST(test_parameters__validate_errors)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const struct dbops_node *root;
	int rc;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	root = fake_host_spec(fc, "parameters:\n"
				  "  work_mem: {value: 16MB}\n"
				  "  shared_preload_libraries: [a, b]\n"
				  "  search_path:\n"
				  "  1st_setting: 1\n"
				  "  bad..name: 1\n"
				  "  WORK_MEM: 32MB\n"
				  "  random_page_cost: 1.1\n");
	T_ASSERT(root != NULL);
	rc = par_validate(fake_host_ctx(fc), spec_get(root, "parameters"));
	T_ASSERT_INT(rc, DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->diags.nerrors, 6);
	T_ASSERT_INT(fake_host_query_count(fc, ""), 0);
	T_ASSERT_GOLDEN("parameters_validate.out", fake_host_render(fc));
	fake_host_free(fc);
}

TEST(test_parameters__validate_section_must_be_map)
{
	struct fake_ctx *fc = fake_host_new("parameters");
	const struct dbops_node *root;

	root = fake_host_spec(fc, "parameters: [work_mem]\n");
	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    par_validate(fake_host_ctx(fc), spec_get(root, "parameters")),
	    DBOPS_ERR_INVALID);
	T_ASSERT_STR(fc->diags.head->message,
		     "the parameters section must be a map, got a list");
	T_ASSERT_INT(fc->diags.head->loc.line, 1);
	fake_host_free(fc);
}

TEST(test_parameters__validate_accepts_names_and_empty_section)
{
	struct fake_ctx *fc = fake_host_new("parameters");
	const struct dbops_node *root;

	T_ASSERT(par_name_valid("work_mem"));
	T_ASSERT(par_name_valid("pg_stat_statements.max"));
	T_ASSERT(par_name_valid("_x$1"));
	T_ASSERT(!par_name_valid("$x"));
	T_ASSERT(!par_name_valid("a."));
	T_ASSERT(!par_name_valid("a b"));
	root = fake_host_spec(fc, "parameters:\n");
	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    par_validate(fake_host_ctx(fc), spec_get(root, "parameters")), 0);
	T_ASSERT_INT(fc->diags.nerrors, 0);
	fake_host_free(fc);
}

/* ---- observe */

TEST(test_parameters__observe_reads_only_spec_names)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	out = run_diff(
	    fc, "parameters:\n  Work_Mem: 4MB\n  DateStyle: iso, mdy\n", &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, 0);
	T_ASSERT_STR(out, "no changes\nno diagnostics\n");
	T_ASSERT_INT(fc->nqueries, 3);
	T_ASSERT_INT(fc->queries[1].nparams, 1);
	T_ASSERT_STR(fc->queries[1].params[0], "{\"work_mem\",\"datestyle\"}");
	/* every name is read only to suggest one for an unknown name */
	T_ASSERT_INT(fake_host_query_count(
			 fc, "SELECT name FROM pg_catalog.pg_settings ORDER"),
		     0);
	fake_host_free(fc);
}

TEST(test_parameters__observe_without_file_privilege)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fx.read_files = "f";
	/* the configuration says 64MB, but this role cannot see it */
	fx_file(&fx, "work_mem", "64MB", "t", NULL, "20");
	fc = fx_ctx(&fx);
	out = run_diff(fc, "parameters:\n  work_mem: 4MB\n  wal_buffers: -1\n",
		       &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, 0);
	T_ASSERT_INT(fake_host_query_count(fc, "pg_file_settings WHERE"), 0);
	T_ASSERT_STR(out, "no changes\nno diagnostics\n");
	fake_host_free(fc);
}

TEST(test_parameters__observe_empty_section_runs_no_query)
{
	struct fake_ctx *fc = fake_host_new("parameters");
	const struct dbops_node *root = fake_host_spec(fc, "parameters: {}\n");
	void *live = NULL;

	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    par_observe(&live, fake_host_ctx(fc), spec_get(root, "parameters")),
	    0);
	T_ASSERT(live != NULL);
	T_ASSERT_INT(fc->nqueries, 0);
	fake_host_free(fc);
}

/* ---- diff */

TEST(test_parameters__diff_equal_values_plan_nothing)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	out = run_diff(fc,
		       "parameters:\n"
		       "  work_mem: 4MB\n"
		       "  shared_buffers: 32MB\n"
		       "  max_wal_size: 1GB\n"
		       "  random_page_cost: 4.0\n"
		       "  log_connections: off\n"
		       "  statement_timeout: 0\n"
		       "  checkpoint_timeout: 5min\n"
		       "  search_path: '\"$user\",public'\n"
		       "  synchronous_commit: ON\n"
		       "  wal_buffers: -1\n"
		       "  shared_preload_libraries: ''\n",
		       &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, 0);
	T_ASSERT_STR(out, "no changes\nno diagnostics\n");
	fake_host_free(fc);
}

TEST(test_parameters__diff_changed_values)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const struct dbops_change *c;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	out = run_diff(fc,
		       "parameters:\n"
		       "  work_mem: 16MB\n"
		       "  log_min_duration_statement: 1s\n"
		       "  log_connections: on\n"
		       "  random_page_cost: 1.1\n"
		       "  search_path: '\"$user\", public, App'\n"
		       "  default_transaction_isolation: repeatable read\n"
		       "  statement_timeout: 30s\n",
		       &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, 0);
	T_ASSERT_INT(fc->nchanges, 7);
	c = fake_host_change(fc, "parameters.work_mem");
	T_ASSERT(c != NULL);
	T_ASSERT_INT(c->action, DBOPS_ACTION_UPDATE);
	T_ASSERT_INT(c->flags, DBOPS_CHANGE_NONTX);
	T_ASSERT_STR(c->attrs[0].before, "4MB");
	T_ASSERT_STR(c->attrs[0].after, "16MB");
	T_ASSERT_STR(c->sql, "ALTER SYSTEM SET work_mem = '16MB'");
	T_ASSERT_INT(c->loc.line, 2);
	T_ASSERT_GOLDEN("parameters_changed.out", out);
	fake_host_free(fc);
}

TEST(test_parameters__diff_restart_only_flagged)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const struct dbops_change *c;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	out = run_diff(
	    fc, "parameters:\n  shared_buffers: 64MB\n  work_mem: 8MB\n", &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, 0);
	c = fake_host_change(fc, "parameters.shared_buffers");
	T_ASSERT(c != NULL);
	T_ASSERT_INT(c->flags, DBOPS_CHANGE_NONTX | DBOPS_CHANGE_NEEDS_RESTART);
	T_ASSERT_STR(c->reason, "needs a server restart to take effect");
	T_ASSERT_STR(c->attrs[0].before, "32MB");
	c = fake_host_change(fc, "parameters.work_mem");
	T_ASSERT(c != NULL);
	T_ASSERT_INT(c->flags & DBOPS_CHANGE_NEEDS_RESTART, 0);
	T_ASSERT_GOLDEN("parameters_restart.out", out);
	fake_host_free(fc);
}

TEST(test_parameters__diff_pending_restart_warns_without_change)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	/* ALTER SYSTEM SET shared_buffers = '64MB' and a reload, as PG 15
	 * shows it */
	fx_set(&fx, "shared_buffers", "pending_restart", "t");
	fx_file(&fx, "shared_buffers", "64MB", "f",
		"setting could not be applied", "18");
	fc = fx_ctx(&fx);
	out = run_diff(fc, "parameters:\n  shared_buffers: 64MB\n", &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, 0);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_INT(fc->diags.nwarnings, 1);
	T_ASSERT_STR(
	    fc->diags.head->message,
	    "parameter \"shared_buffers\" is waiting for a server restart");
	T_ASSERT_STR(
	    fc->diags.head->detail,
	    "The running value is 32MB; the configured value is 64MB.");
	fake_host_free(fc);
}

TEST(test_parameters__diff_pending_restart_to_other_value_plans_change)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const struct dbops_change *c;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fx_set(&fx, "max_connections", "pending_restart", "t");
	fx_file(&fx, "max_connections", "150", "f",
		"setting could not be applied", "18");
	fc = fx_ctx(&fx);
	/* the running value is wanted: undo the pending one */
	out = run_diff(fc, "parameters:\n  max_connections: 100\n", &rc);
	T_ASSERT(out != NULL);
	c = fake_host_change(fc, "parameters.max_connections");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->attrs[0].before, "150");
	T_ASSERT_STR(c->sql, "ALTER SYSTEM SET max_connections = '100'");
	fake_host_free(fc);
}

TEST(test_parameters__diff_command_line_warns)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fx_set(&fx, "shared_buffers", "source", "command line");
	fx_set(&fx, "shared_buffers", "pending_restart", "t");
	fx_file(&fx, "shared_buffers", "64MB", "f",
		"setting could not be applied", "18");
	fc = fx_ctx(&fx);
	out = run_diff(fc, "parameters:\n  shared_buffers: 64MB\n", &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_STR(
	    fc->diags.head->message,
	    "parameter \"shared_buffers\" is set on the server command line");
	T_ASSERT_CONTAINS(fc->diags.head->detail, "The running value is 32MB");
	fake_host_free(fc);
}

TEST(test_parameters__diff_missed_reload_plans_reload)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const struct dbops_change *c;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	/* ALTER SYSTEM done, pg_reload_conf() not */
	fx_file(&fx, "work_mem", "16MB", "t", NULL, "18");
	fc = fx_ctx(&fx);
	out = run_diff(fc, "parameters:\n  work_mem: 16MB\n", &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(fc->nchanges, 1);
	c = fake_host_change_at(fc, 0);
	T_ASSERT_INT(c->action, DBOPS_ACTION_RELOAD);
	T_ASSERT_STR(c->sql, "SELECT pg_catalog.pg_reload_conf()");
	T_ASSERT_STR(c->attrs[0].before, "4MB");
	T_ASSERT(((const struct par_payload *)c->payload)->reload_only);
	fake_host_free(fc);
}

TEST(test_parameters__diff_configured_file_value_wins)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	/* written and reloaded: pg_settings agrees with the file */
	fx_set(&fx, "work_mem", "setting", "16384");
	fx_set(&fx, "work_mem", "source", "configuration file");
	fx_file(&fx, "work_mem", "16MB", "t", NULL, "18");
	fc = fx_ctx(&fx);
	out = run_diff(fc, "parameters:\n  work_mem: 16384kB\n", &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_STR(out, "no changes\nno diagnostics\n");
	fake_host_free(fc);
}

TEST(test_parameters__diff_role_setting_does_not_count)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	/* ALTER ROLE dbops SET work_mem = '64MB': the server default
	 * (4MB) is what ALTER SYSTEM governs */
	fx_set(&fx, "work_mem", "setting", "65536");
	fx_set(&fx, "work_mem", "source", "user");
	fc = fx_ctx(&fx);
	out = run_diff(fc, "parameters:\n  work_mem: 4MB\n", &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_STR(out, "no changes\nno diagnostics\n");
	fake_host_free(fc);
}

TEST(test_parameters__diff_unknown_name_suggests)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	out = run_diff(fc,
		       "parameters:\n"
		       "  wrok_mem: 16MB\n"
		       "  pg_stat_statements.max: 10000\n"
		       "  frobnicate: on\n",
		       &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_INT(fc->diags.nerrors, 3);
	T_ASSERT_GOLDEN("parameters_unknown.out", out);
	fake_host_free(fc);
}

TEST(test_parameters__diff_extension_waits_for_its_library)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	out = run_diff(fc,
		       "parameters:\n"
		       "  shared_preload_libraries: pg_stat_statements\n"
		       "  pg_stat_statements.max: 10000\n",
		       &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, 0);
	T_ASSERT_INT(fc->nchanges, 1);
	T_ASSERT_INT(fc->diags.nerrors, 0);
	T_ASSERT_INT(fc->diags.nwarnings, 1);
	T_ASSERT_GOLDEN("parameters_library.out", out);
	fake_host_free(fc);
}

TEST(test_parameters__diff_out_of_range)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	out = run_diff(fc,
		       "parameters:\n"
		       "  work_mem: 16kB\n"
		       "  max_connections: 0\n"
		       "  shared_buffers: 100\n"
		       "  random_page_cost: -1\n",
		       &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->nchanges, 1);
	T_ASSERT_INT(fc->diags.nerrors, 3);
	T_ASSERT_STR(
	    fc->diags.head->message,
	    "16kB is outside the valid range for parameter \"work_mem\" (64kB .. 2147483647kB)");
	T_ASSERT_STR(
	    fc->diags.head->next->message,
	    "0 is outside the valid range for parameter \"max_connections\" (1 .. 262143)");
	T_ASSERT_STR(
	    fc->diags.tail->message,
	    "-1 is outside the valid range for parameter \"random_page_cost\" (0 .. 1.79769e+308)");
	fake_host_free(fc);
}

TEST(test_parameters__diff_bad_unit)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	out = run_diff(
	    fc, "parameters:\n  work_mem: 16XB\n  statement_timeout: 5 sec\n",
	    &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_GOLDEN("parameters_bad_unit.out", out);
	fake_host_free(fc);
}

TEST(test_parameters__diff_enum_not_allowed)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	out = run_diff(fc, "parameters:\n  wal_level: archiv\n", &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, DBOPS_ERR_INVALID);
	T_ASSERT_STR(fc->diags.head->message,
		     "invalid value for parameter \"wal_level\": \"archiv\"");
	T_ASSERT_STR(fc->diags.head->hint,
		     "Available values: minimal, replica, logical.");
	T_ASSERT_INT(fc->diags.head->loc.line, 2);
	T_ASSERT_INT(fc->diags.head->loc.col, 3);
	fake_host_free(fc);
}

TEST(test_parameters__diff_fixed_settings_refused)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	out = run_diff(
	    fc, "parameters:\n  block_size: 16384\n  data_directory: /srv/pg\n",
	    &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_STR(fc->diags.head->message,
		     "parameter \"block_size\" cannot be changed");
	T_ASSERT_STR(fc->diags.tail->message,
		     "parameter \"data_directory\" cannot be changed");
	fake_host_free(fc);
}

TEST(test_parameters__diff_list_statements)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const char *out;
	int rc = 0;

	fx_init(&fx);
	fx_set(&fx, "shared_preload_libraries", "setting", "pg_cron");
	fx_set(&fx, "shared_preload_libraries", "source", "configuration file");
	fx_file(&fx, "shared_preload_libraries", "pg_cron", "t", NULL, "18");
	fc = fx_ctx(&fx);
	out = run_diff(
	    fc,
	    "parameters:\n"
	    "  search_path: '\"$user\", public, My_Schema, \"Odd \"\"One\"'\n"
	    "  temp_tablespaces: fast\n"
	    "  shared_preload_libraries: ''\n"
	    "  log_destination: stderr,csvlog\n",
	    &rc);
	T_ASSERT(out != NULL);
	T_ASSERT_INT(rc, 0);
	T_ASSERT_STR(
	    fake_host_change(fc, "parameters.search_path")->sql,
	    "ALTER SYSTEM SET search_path = '$user', 'public', 'my_schema', 'Odd \"One'");
	T_ASSERT_STR(fake_host_change(fc, "parameters.temp_tablespaces")->sql,
		     "ALTER SYSTEM SET temp_tablespaces = 'fast'");
	T_ASSERT_STR(
	    fake_host_change(fc, "parameters.shared_preload_libraries")->sql,
	    "ALTER SYSTEM RESET shared_preload_libraries");
	T_ASSERT_STR(fake_host_change(fc, "parameters.log_destination")->sql,
		     "ALTER SYSTEM SET log_destination = 'stderr,csvlog'");
	fake_host_free(fc);
}

TEST(test_parameters__statement_quotes_names_when_needed)
{
	struct fake_ctx *fc = fake_host_new("parameters");
	struct par_setting s;

	memset(&s, 0, sizeof(s));
	s.type = PAR_STRING;
	s.context = "user";
	s.source = "default";
	s.name = "DateStyle";
	T_ASSERT_STR(par_statement(fake_host_ctx(fc), &s, "ISO, DMY"),
		     "ALTER SYSTEM SET datestyle = 'ISO, DMY'");
	s.name = "myext.user";
	T_ASSERT_STR(par_statement(fake_host_ctx(fc), &s, "it's"),
		     "ALTER SYSTEM SET myext.\"user\" = 'it''s'");
	s.name = "search_path";
	s.boot_val = "\"$user\", public";
	T_ASSERT(par_statement(fake_host_ctx(fc), &s, "") == NULL);
	fake_host_free(fc);
}

TEST(test_parameters__suggest_closest_name)
{
	static const char *const names[] = {"work_mem", "maintenance_work_mem",
					    "wal_level", "shared_buffers"};

	T_ASSERT_STR(diag_suggest("wrok_mem", names, 4), "work_mem");
	T_ASSERT_STR(diag_suggest("Shared_Bufers", names, 4), "shared_buffers");
	T_ASSERT(diag_suggest("frobnicate", names, 4) == NULL);
}

/* ---- apply */

static struct dbops_change par_change_for(const char *name, const char *value,
					  bool reload_only,
					  struct par_payload *pl)
{
	struct dbops_change c;

	memset(&c, 0, sizeof(c));
	pl->name = name;
	pl->value = value;
	pl->reload_only = reload_only;
	c.address = "parameters.x";
	c.action = reload_only ? DBOPS_ACTION_RELOAD : DBOPS_ACTION_UPDATE;
	c.payload = pl;
	return c;
}

TEST(test_parameters__apply_skips_when_already_configured)
{
	struct fixture fx;
	struct fake_ctx *fc;
	struct par_payload pl;
	struct dbops_change c = par_change_for("work_mem", "16MB", false, &pl);

	fx_init(&fx);
	fx_file(&fx, "work_mem", "16MB", "t", NULL, "18");
	fc = fx_ctx(&fx);
	T_ASSERT_INT(par_apply(fake_host_ctx(fc), &c), 0);
	T_ASSERT_INT(fake_host_query_count(fc, "ALTER SYSTEM"), 0);
	T_ASSERT_INT(fake_host_query_count(fc, "pg_reload_conf"), 0);
	T_ASSERT_INT(
	    fake_host_query_count(fc, "FROM pg_catalog.pg_file_settings"), 1);
	T_ASSERT_STR(fake_host_log(fc),
		     "INFO: parameter \"work_mem\" is already 16MB\n");
	fake_host_free(fc);
}

TEST(test_parameters__apply_alters_then_reloads)
{
	static const char *const setting_col[1] = {"setting"};
	static const char *const old_value[1] = {"4096"};
	static const char *const new_value[1] = {"16384"};
	struct fixture fx;
	struct fake_ctx *fc;
	struct par_payload pl;
	struct dbops_change c = par_change_for("work_mem", "16MB", false, &pl);

	fx_init(&fx);
	fc = fx_ctx(&fx);
	/* the session sees the reload on the second look */
	fake_host_add_result_n(fc, "WHERE name = $1", setting_col, 1, old_value,
			       1, 1);
	fake_host_add_result(fc, "WHERE name = $1", setting_col, 1, new_value,
			     1);
	T_ASSERT_INT(par_apply(fake_host_ctx(fc), &c), 0);
	T_ASSERT_INT(fc->diags.nerrors, 0);
	T_ASSERT_STR(
	    fake_host_queries(fc) + strlen(fake_host_queries(fc)) -
		strlen(
		    "ALTER SYSTEM SET work_mem = '16MB'\n"
		    "SELECT pg_catalog.pg_reload_conf()\n"
		    "SELECT setting FROM pg_catalog.pg_settings WHERE name = $1\n"
		    "SELECT pg_catalog.pg_sleep(0.02)\n"
		    "SELECT setting FROM pg_catalog.pg_settings WHERE name = $1\n"),
	    "ALTER SYSTEM SET work_mem = '16MB'\n"
	    "SELECT pg_catalog.pg_reload_conf()\n"
	    "SELECT setting FROM pg_catalog.pg_settings WHERE name = $1\n"
	    "SELECT pg_catalog.pg_sleep(0.02)\n"
	    "SELECT setting FROM pg_catalog.pg_settings WHERE name = $1\n");
	T_ASSERT_STR(fake_host_log(fc), "");
	fake_host_free(fc);
}

TEST(test_parameters__apply_restart_setting_does_not_wait)
{
	struct fixture fx;
	struct fake_ctx *fc;
	struct par_payload pl;
	struct dbops_change c =
	    par_change_for("shared_buffers", "64MB", false, &pl);

	fx_init(&fx);
	fc = fx_ctx(&fx);
	T_ASSERT_INT(par_apply(fake_host_ctx(fc), &c), 0);
	T_ASSERT_INT(fake_host_query_count(
			 fc, "ALTER SYSTEM SET shared_buffers = '64MB'"),
		     1);
	T_ASSERT_INT(fake_host_query_count(fc, "pg_reload_conf"), 1);
	T_ASSERT_INT(fake_host_query_count(fc, "WHERE name = $1"), 0);
	fake_host_free(fc);
}

TEST(test_parameters__apply_reload_only_when_still_needed)
{
	static const char *const setting_col[1] = {"setting"};
	static const char *const new_value[1] = {"16384"};
	struct fixture fx;
	struct fake_ctx *fc;
	struct par_payload pl;
	struct dbops_change c = par_change_for("work_mem", "16MB", true, &pl);

	fx_init(&fx);
	fx_file(&fx, "work_mem", "16MB", "t", NULL, "18");
	fc = fx_ctx(&fx);
	fake_host_add_result(fc, "WHERE name = $1", setting_col, 1, new_value,
			     1);
	T_ASSERT_INT(par_apply(fake_host_ctx(fc), &c), 0);
	T_ASSERT_INT(fake_host_query_count(fc, "ALTER SYSTEM"), 0);
	T_ASSERT_INT(fake_host_query_count(fc, "pg_reload_conf"), 1);
	fake_host_free(fc);

	/* somebody reloaded meanwhile */
	fx_set(&fx, "work_mem", "setting", "16384");
	fc = fx_ctx(&fx);
	T_ASSERT_INT(par_apply(fake_host_ctx(fc), &c), 0);
	T_ASSERT_INT(fake_host_query_count(fc, "pg_reload_conf"), 0);
	T_ASSERT_CONTAINS(fake_host_log(fc), "is already 16MB");
	fake_host_free(fc);
}

TEST(test_parameters__apply_query_failure_is_reported)
{
	struct fixture fx;
	struct fake_ctx *fc;
	struct par_payload pl;
	struct dbops_change c = par_change_for("work_mem", "16MB", false, &pl);

	fx_init(&fx);
	fx.alter_error = "permission denied to set parameter \"work_mem\"";
	fc = fx_ctx(&fx);
	T_ASSERT_INT(par_apply(fake_host_ctx(fc), &c), DBOPS_ERR_GENERIC);
	T_ASSERT_INT(fc->diags.nerrors, 1);
	T_ASSERT_STR(fc->diags.head->sqlstate, "42501");
	T_ASSERT_INT(fake_host_query_count(fc, "pg_reload_conf"), 0);
	fake_host_free(fc);
}

/* ---- verify */

TEST(test_parameters__verify_warns_about_restart)
{
	struct fixture fx;
	struct fake_ctx *fc;
	const struct dbops_node *root;

	fx_init(&fx);
	fx_set(&fx, "shared_buffers", "pending_restart", "t");
	fx_file(&fx, "shared_buffers", "64MB", "f",
		"setting could not be applied", "18");
	fc = fx_ctx(&fx);
	root = fake_host_spec(fc, "parameters:\n"
				  "  shared_buffers: 64MB\n"
				  "  max_connections: 100\n"
				  "  work_mem: 64MB\n");
	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    par_verify(fake_host_ctx(fc), spec_get(root, "parameters")), 0);
	T_ASSERT_INT(fc->diags.nwarnings, 1);
	T_ASSERT_INT(fc->diags.nerrors, 0);
	T_ASSERT_STR(
	    fc->diags.head->message,
	    "parameter \"shared_buffers\" needs a server restart to take effect");
	T_ASSERT_STR(
	    fc->diags.head->detail,
	    "The running value is 32MB; the configured value is 64MB.");
	T_ASSERT_INT(fake_host_query_count(fc, "ALTER"), 0);
	fake_host_free(fc);
}

/* ---- the shared object */

TEST(test_parameters__descriptor)
{
	void *h = dlopen(t_path("build/plugins/dbops_parameters.so"),
			 RTLD_NOW | RTLD_LOCAL);
	dbops_plugin_entry_fn entry;
	const struct dbops_plugin *p;

	if (h == NULL) {
		t_fail(__FILE__, __LINE__, "dlopen: %s", dlerror());
		return;
	}
	*(void **)&entry = dlsym(h, DBOPS_PLUGIN_ENTRY_SYMBOL);
	T_ASSERT(entry != NULL);
	p = entry(DBOPS_ABI_MAJOR, DBOPS_ABI_MINOR);
	T_ASSERT(p != NULL);
	T_ASSERT_INT(p->header.magic, DBOPS_ABI_MAGIC);
	T_ASSERT_STR(p->name, "parameters");
	T_ASSERT_STR(p->spec_section, "parameters");
	T_ASSERT_STR(p->version, "0.1.0");
	T_ASSERT_INT(p->phase, DBOPS_PHASE_SETTINGS);
	T_ASSERT(p->validate && p->observe && p->diff && p->apply && p->verify);
	/* only the entry point is exported */
	T_ASSERT(dlsym(h, "par_diff") == NULL);
	dlclose(h);
}

/* ---- settings other plugins need (facts) */

TEST(test_parameters__needs_of_other_plugins_are_planned)
{
	struct fixture fx;
	struct fake_ctx *fc;
	int rc = 0;

	fx_init(&fx);
	fx_set(&fx, "shared_preload_libraries", "setting", "pg_cron");
	fx_set(&fx, "shared_preload_libraries", "source", "configuration file");
	fx_file(&fx, "shared_preload_libraries", "pg_cron", "t", NULL, "18");
	fc = fx_ctx(&fx);
	fake_host_add_fact(fc, "backups", "parameters.require.log_connections",
			   "on");
	fake_host_add_fact(fc, "monitoring",
			   "parameters.include.shared_preload_libraries",
			   "pg_stat_statements");
	T_ASSERT(run_diff(fc, "parameters:\n  work_mem: 4MB\n", &rc) != NULL);
	T_ASSERT_INT(rc, 0);
	T_ASSERT_STR(fake_host_change(fc, "parameters.log_connections")->sql,
		     "ALTER SYSTEM SET log_connections = 'on'");
	/* the configured list keeps its items and gains the one needed */
	T_ASSERT_STR(
	    fake_host_change(fc, "parameters.shared_preload_libraries")->sql,
	    "ALTER SYSTEM SET shared_preload_libraries = 'pg_cron', "
	    "'pg_stat_statements'");
	T_ASSERT(
	    fake_host_change(fc, "parameters.shared_preload_libraries")->flags &
	    DBOPS_CHANGE_NEEDS_RESTART);
	fake_host_free(fc);
}

TEST(test_parameters__needs_without_a_section)
{
	struct fixture fx;
	struct fake_ctx *fc;
	void *live = NULL;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	fake_host_add_fact(fc, "backups", "parameters.require.log_connections",
			   "on");
	T_ASSERT_INT(par_observe(&live, fake_host_ctx(fc), NULL), 0);
	T_ASSERT_INT(par_diff(fake_host_ctx(fc), NULL, live), 0);
	T_ASSERT(fake_host_change(fc, "parameters.log_connections") != NULL);
	fake_host_free(fc);
}

TEST(test_parameters__need_against_the_spec_is_an_error)
{
	struct fixture fx;
	struct fake_ctx *fc;
	int rc = 0;

	fx_init(&fx);
	fc = fx_ctx(&fx);
	fake_host_add_fact(fc, "backups", "parameters.require.log_connections",
			   "on");
	T_ASSERT(run_diff(fc, "parameters:\n  log_connections: 'off'\n", &rc) !=
		 NULL);
	T_ASSERT_INT(rc, DBOPS_ERR_INVALID);
	T_ASSERT_STR(fc->diags.head->message,
		     "parameter \"log_connections\" is set to \"off\", but the "
		     "backups plugin needs \"on\"");
	T_ASSERT_INT(fc->diags.head->loc.line, 2);
	fake_host_free(fc);
	/* the same value written otherwise is no conflict */
	fc = fx_ctx(&fx);
	fake_host_add_fact(fc, "backups", "parameters.require.log_connections",
			   "on");
	T_ASSERT(run_diff(fc, "parameters:\n  log_connections: 'true'\n",
			  &rc) != NULL);
	T_ASSERT_INT(rc, 0);
	fake_host_free(fc);
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_roles_guard.c — keeping a password statement out of the server's
 * records (plugins/roles/guard.c) against a fake host: the settings are
 * read only when the spec manages a password, with has_parameter_privilege
 * on PostgreSQL 15; a password change gets the SETs dbops may run, is
 * flagged to run in a transaction of its own, and warns about each
 * setting that would record it and that dbops may not set, with its value
 * and the GRANT that fixes it; settings that record nothing are not
 * warned about.
 */
#include "t.h"

#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "../../plugins/roles/roles_int.h"

static const struct role_spec *load(struct fake_ctx *fc, const char *yaml)
{
	const struct dbops_node *root = fake_host_spec(fc, yaml);
	struct role_spec *s = NULL;

	if (root == NULL ||
	    role_spec_load(
		&s, fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "roles")) != 0)
		return NULL;
	return s;
}

static const char *const set_cols[] = {"name", "setting", "shown", "can_set"};

/* The session and roles queries of observe, dbops connecting as `user`. */
static void can_session(struct fake_ctx *fc, const char *user, bool super)
{
	static const char *const sess_cols[] = {"cu", "db", "su"};
	static const char *const role_cols[] = {
	    "rolname",	    "rolsuper",	   "rolinherit",     "rolcreaterole",
	    "rolcreatedb",  "rolcanlogin", "rolreplication", "rolbypassrls",
	    "rolconnlimit", "validuntil",  "comment",	     "pw"};
	const char *sess[] = {user, "app", super ? "t" : "f"};
	const char *roles[] = {user, super ? "t" : "f",
			       "t",  "t",
			       "f",  "t",
			       "f",  "f",
			       "-1", NULL,
			       NULL, NULL};

	fake_host_add_result(fc, "current_user AS cu", sess_cols, 3, sess, 1);
	fake_host_add_result(fc, "r.rolname, r.rolsuper", role_cols, 12, roles,
			     1);
	fake_host_add_result(fc, "pg_auth_members", (const char *const[]){"x"},
			     1, NULL, 0);
}

static struct role_live *observe(struct fake_ctx *fc, const char *yaml)
{
	const struct role_spec *s = load(fc, yaml);
	struct role_live *live = NULL;

	if (s == NULL || role_live_load(&live, fake_host_ctx(fc), s) != 0)
		return NULL;
	if (role_diff_models(fake_host_ctx(fc), s, live) != 0)
		return NULL;
	return live;
}

static const char spec_new_role[] =
    "roles:\n  members:\n"
    "    - {name: app, login: true, password: {env: GUARD_TEST_PW}}\n";

TEST(test_roles_guard__settings_read_only_with_a_password)
{
	struct fake_ctx *fc = fake_host_new("roles");

	can_session(fc, "postgres", true);
	T_ASSERT(observe(fc, "roles:\n  members:\n    - {name: app}\n") !=
		 NULL);
	T_ASSERT_INT(fake_host_query_count(fc, "pg_settings"), 0);
	fake_host_free(fc);
}

TEST(test_roles_guard__superuser_sets_everything_without_warning)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const char *rows[] = {
	    "debug_print_parse",       "off",	"off",	 "t",
	    "log_min_error_statement", "error", "error", "t",
	    "log_statement",	       "all",	"all",	 "t",
	    "track_activities",	       "on",	"on",	 "t",
	};
	const struct dbops_change *c;
	const struct role_payload *p;

	can_session(fc, "postgres", true);
	fake_host_add_result(fc, "FROM pg_catalog.pg_settings s", set_cols, 4,
			     rows, 4);
	T_ASSERT(observe(fc, spec_new_role) != NULL);
	/* PostgreSQL 15: GRANT SET ON PARAMETER counts */
	T_ASSERT_INT(fake_host_query_count(fc, "has_parameter_privilege"), 1);
	c = fake_host_change(fc, "roles.role.app");
	T_ASSERT(c != NULL);
	T_ASSERT(c->flags & DBOPS_CHANGE_NONTX);
	p = c->payload;
	T_ASSERT_STR(p->guard_set,
		     "SET log_statement = 'none'; "
		     "SET log_min_error_statement = 'panic'; "
		     "SET debug_print_parse = off; SET track_activities = off");
	T_ASSERT_STR(p->guard_reset,
		     "RESET log_statement; RESET log_min_error_statement; "
		     "RESET debug_print_parse; RESET track_activities");
	T_ASSERT(strstr(fake_host_render(fc), "WARNING") == NULL);
	/* the password stays out of the displayed statement */
	T_ASSERT_CONTAINS(c->sql, "PASSWORD '(redacted)'");
	fake_host_free(fc);
}

TEST(test_roles_guard__warns_about_what_dbops_may_not_set)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const char *rows[] = {
	    "debug_print_parse",
	    "on",
	    "on",
	    "t",
	    "log_min_duration_sample",
	    "-1",
	    "-1",
	    "f",
	    "log_min_duration_statement",
	    "250",
	    "250ms",
	    "f",
	    "log_min_error_statement",
	    "panic",
	    "panic",
	    "f",
	    "log_statement",
	    "ddl",
	    "ddl",
	    "t",
	    "log_transaction_sample_rate",
	    "0.01",
	    "0.01",
	    "f",
	    "pg_stat_statements.track",
	    "top",
	    "top",
	    "f",
	    "pg_stat_statements.track_utility",
	    "on",
	    "on",
	    "f",
	};
	const struct role_payload *p;
	const char *out;

	can_session(fc, "ops", false);
	fake_host_add_result(fc, "FROM pg_catalog.pg_settings s", set_cols, 4,
			     rows, 8);
	T_ASSERT(observe(fc, spec_new_role) != NULL);
	out = fake_host_render(fc);
	T_ASSERT_CONTAINS(
	    out,
	    "spec.yaml:3:42: WARNING:  the password verifier of role \"app\" may be recorded by the server");
	T_ASSERT_CONTAINS(
	    out,
	    "DETAIL:  dbops connects as role \"ops\", which may not set these parameters: "
	    "log_transaction_sample_rate (now \"0.01\": every statement of a sampled transaction is written to the server log with its text); "
	    "log_min_duration_statement (now \"250ms\": a statement that runs that long is written to the server log with its text); "
	    "pg_stat_statements.track_utility (now \"on\": pg_stat_statements keeps the text of utility statements).");
	T_ASSERT_CONTAINS(
	    out,
	    "HINT:  Connect as a role that may set them (a superuser), or let a superuser run: GRANT SET ON PARAMETER log_transaction_sample_rate, log_min_duration_statement, pg_stat_statements.track_utility TO \"ops\";");
	/* log_min_duration_sample -1 and log_min_error_statement panic
	 * record nothing: not named */
	T_ASSERT(strstr(out, "log_min_duration_sample (") == NULL);
	T_ASSERT(strstr(out, "log_min_error_statement (") == NULL);
	p = fake_host_change(fc, "roles.role.app")->payload;
	/* what it may set is set all the same */
	T_ASSERT_STR(p->guard_set,
		     "SET log_statement = 'none'; SET debug_print_parse = off");
	fake_host_free(fc);
}

TEST(test_roles_guard__nothing_recorded_nothing_warned)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const char *rows[] = {
	    "log_min_duration_sample",
	    "100",
	    "100ms",
	    "f",
	    "log_min_error_statement",
	    "fatal",
	    "fatal",
	    "f",
	    "log_statement",
	    "none",
	    "none",
	    "f",
	    "log_statement_sample_rate",
	    "0",
	    "0",
	    "f",
	    "pg_stat_statements.track",
	    "none",
	    "none",
	    "f",
	    "pg_stat_statements.track_utility",
	    "on",
	    "on",
	    "f",
	};

	can_session(fc, "ops", false);
	fake_host_add_result(fc, "FROM pg_catalog.pg_settings s", set_cols, 4,
			     rows, 6);
	T_ASSERT(observe(fc, spec_new_role) != NULL);
	T_ASSERT(strstr(fake_host_render(fc), "WARNING") == NULL);
	T_ASSERT(
	    ((const struct role_payload *)fake_host_change(fc, "roles.role.app")
		 ->payload)
		->guard_set == NULL);
	fake_host_free(fc);
}

TEST(test_roles_guard__before_15_no_grant_to_suggest)
{
	struct fake_ctx *fc = fake_host_new("roles");
	const char *rows[] = {"log_statement", "all", "all", "f"};
	const char *out;

	fc->server_version = 140010;
	can_session(fc, "ops", false);
	fake_host_add_result(fc, "FROM pg_catalog.pg_settings s", set_cols, 4,
			     rows, 1);
	T_ASSERT(observe(fc, spec_new_role) != NULL);
	T_ASSERT_INT(fake_host_query_count(fc, "has_parameter_privilege"), 0);
	out = fake_host_render(fc);
	T_ASSERT_CONTAINS(out,
			  "which may not set this parameter: log_statement "
			  "(now \"all\": CREATE ROLE and ALTER ROLE are "
			  "written to the server log with their text).");
	T_ASSERT_CONTAINS(
	    out, "HINT:  Connect as a superuser, or let a superuser turn it "
		 "off for role \"ops\" with ALTER ROLE ... SET.");
	fake_host_free(fc);
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_pooler.c — the "pooler" plugin against a fake host: the ini
 * rendering (golden), the comparison of settings and [databases] entries
 * with the admin console's rows (golden), restart-only detection, value
 * normalisation, the 1.18 setting list with "did you mean", the admin
 * console read by column name, the auth file, and the atomic write.
 *
 * The fake host has no second connection, so conn_open/conn_query are
 * added here over a copy of its table: console statements are answered
 * from the same canned results as query().
 */
#include "diag.h"
#include "t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_host.h"
#include "spec.h"
#include "../../plugins/pooler/pooler_int.h"

static struct dbops_host pool_test_host;

static int pt_conn_open(struct dbops_conn **out, struct dbops_ctx *ctx,
			const char *conninfo, unsigned flags)
{
	(void)conninfo;
	(void)flags;
	*out = (struct dbops_conn *)(void *)ctx;
	return 0;
}

static int pt_conn_query(struct dbops_rows **out, struct dbops_ctx *ctx,
			 struct dbops_conn *conn, const char *sql, int nparams,
			 const char *const *params)
{
	(void)conn;
	return pool_test_host.query(out, ctx, sql, nparams, params);
}

static void pt_conn_close(struct dbops_ctx *ctx, struct dbops_conn *conn)
{
	(void)ctx;
	(void)conn;
}

static struct fake_ctx *pt_new(void)
{
	struct fake_ctx *fc = fake_host_new("pooler");

	pool_test_host = *fc->head.host;
	pool_test_host.conn_open = pt_conn_open;
	pool_test_host.conn_query = pt_conn_query;
	pool_test_host.conn_close = pt_conn_close;
	fc->head.host = &pool_test_host;
	fc->phase = DBOPS_PHASE_POOLER;
	return fc;
}

/* SHOW CONFIG of the sandbox's PgBouncer 1.18 (a subset), columns in
 * another order than the server's to prove they are read by name. */
static const char *const pt_conf_cols[4] = {"changeable", "default", "key",
					    "value"};
static const char *const pt_conf_rows[][4] = {
    {"yes", "", "admin_users", "postgres"},
    {"yes", "", "auth_file", "/run/pgb/userlist.txt"},
    {"yes", "md5", "auth_type", "trust"},
    {"yes", "20", "default_pool_size", "20"},
    {"no", "128", "listen_backlog", "128"},
    {"no", "6432", "listen_port", "6432"},
    {"yes", "1", "log_connections", "1"},
    {"yes", "100", "max_client_conn", "200"},
    {"yes", "0", "max_db_connections", "0"},
    {"yes", "0", "min_pool_size", "0"},
    {"yes", "session", "pool_mode", "session"},
    {"yes", "0", "reserve_pool_size", "0"},
    {"yes", "600", "server_idle_timeout", "600"},
    {"no", "0777", "unix_socket_mode", "511"},
};

static const char *const pt_db_cols[13] = {
    "name",
    "host",
    "port",
    "database",
    "force_user",
    "pool_size",
    "min_pool_size",
    "reserve_pool",
    "pool_mode",
    "max_connections",
    "current_connections",
    "paused",
    "disabled",
};
static const char *const pt_db_rows[][13] = {
    {"pgbouncer", NULL, "6432", "pgbouncer", "pgbouncer", "2", "0", "0",
     "statement", "0", "0", "0", "0"},
    {"app", "127.0.0.1", "5432", "app", NULL, "30", "0", "0", NULL, "0", "4",
     "0", "0"},
    {"old", "127.0.0.1", "5432", "app", NULL, "20", "0", "0", NULL, "0", "0",
     "0", "0"},
    {"reports", "127.0.0.1", "5432", "reports", NULL, "20", "0", "0", NULL, "0",
     "0", "0", "1"},
    {"autodb", "127.0.0.1", "5432", "autodb", NULL, "20", "0", "0", NULL, "0",
     "1", "0", "0"},
};

static const char pt_ini[] =
    ";; by hand\n"
    "[databases]\n"
    "app = host=127.0.0.1 port=5432 dbname=app pool_size=30\n"
    "old = host=127.0.0.1 port=5432 dbname=app\n"
    "reports = host=127.0.0.1 port=5432\n"
    "* = host=127.0.0.1 port=5432\n"
    "\n"
    "[pgbouncer]\n"
    "listen_port = 6432\n"
    "Auth_Type = trust\n"
    "auth_file = /run/pgb/userlist.txt\n"
    "admin_users = postgres\n"
    "max_client_conn = 200\n"
    "listen_backlog = 128\n";

static void pt_can_console(struct fake_ctx *fc)
{
	static const char *const ver_cols[1] = {"version"};
	static const char *const ver[1] = {"PgBouncer 1.18.0"};
	static const char *const user_cols[2] = {"name", "pool_mode"};
	static const char *const users[2][2] = {{"postgres", NULL},
						{"batch", "session"}};

	fake_host_add_result(fc, "SHOW VERSION", ver_cols, 1, ver, 1);
	fake_host_add_result(
	    fc, "SHOW CONFIG", pt_conf_cols, 4, &pt_conf_rows[0][0],
	    (int)(sizeof(pt_conf_rows) / sizeof(pt_conf_rows[0])));
	fake_host_add_result(fc, "SHOW DATABASES", pt_db_cols, 13,
			     &pt_db_rows[0][0],
			     (int)(sizeof(pt_db_rows) / sizeof(pt_db_rows[0])));
	fake_host_add_result(fc, "SHOW USERS", user_cols, 2, &users[0][0], 2);
}

/* The live model of the canned console, with pt_ini as the file. */
static struct pool_live *pt_live(struct fake_ctx *fc)
{
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct pool_live *live = calloc(1, sizeof(*live));
	int err;

	pt_can_console(fc);
	err =
	    pool_live_read_console(live, ctx, (struct dbops_conn *)(void *)ctx);
	if (err != 0)
		return NULL;
	live->file.exists = true;
	pool_file_parse(&live->file, ctx, pt_ini);
	live->primary_host = "127.0.0.1";
	live->primary_port = "5432";
	return live;
}

static const char pt_spec[] =
    "pooler:\n"
    "  pgbouncer: {config_file: /run/pgb/pgbouncer.ini, admin: 'host=127.0.0.1 port=6432 dbname=pgbouncer'}\n"
    "  settings:\n"
    "    pool_mode: transaction\n"
    "    default_pool_size: 25\n"
    "    max_client_conn: 200\n"
    "    listen_port: 6433\n"
    "    server_idle_timeout: 600\n"
    "    log_connections: yes\n"
    "  databases:\n"
    "    app: {target: primary, dbname: app, pool_size: 40}\n"
    "    reports: {target: primary}\n"
    "    app_ro: {target: replicas, hosts: [10.0.0.2, 10.0.0.3], port: 5433, dbname: app, pool_mode: statement}\n"
    "    '*': {target: primary}\n"
    "  users:\n"
    "    batch: {pool_mode: session}\n"
    "    etl: {pool_mode: statement}\n";

static const struct dbops_node *pt_section(struct fake_ctx *fc,
					   const char *yaml)
{
	const struct dbops_node *root = fake_host_spec(fc, yaml);

	return root != NULL ? spec_get(root, "pooler") : NULL;
}

TEST(test_pooler__console_read_by_column_name)
{
	struct fake_ctx *fc = pt_new();
	struct pool_live *live = pt_live(fc);
	const struct pool_conf *c;
	const struct pool_live_db *db;

	T_ASSERT(live != NULL);
	T_ASSERT_STR(live->version, "PgBouncer 1.18.0");
	c = pool_live_conf(live, "listen_port");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->value, "6432");
	T_ASSERT(!c->changeable);
	T_ASSERT(pool_live_conf(live, "pool_mode")->changeable);
	T_ASSERT(pool_live_db(live, "pgbouncer") == NULL);
	db = pool_live_db(live, "reports");
	T_ASSERT(db != NULL && db->disabled && db->pool_mode == NULL);
	T_ASSERT_INT(live->nusers, 1);
	T_ASSERT_STR(live->users[0].key, "batch");
	T_ASSERT_INT(fake_host_query_count(fc, "SHOW"), 4);
	free(live);
	fake_host_free(fc);
}

TEST(test_pooler__file_parse)
{
	struct fake_ctx *fc = pt_new();
	struct pool_file f;

	memset(&f, 0, sizeof(f));
	pool_file_parse(&f, fake_host_ctx(fc), pt_ini);
	T_ASSERT_INT(f.ndbs, 4);
	T_ASSERT_STR(pool_kv_find(f.dbs, f.ndbs, "*")->value,
		     "host=127.0.0.1 port=5432");
	/* keys of [pgbouncer] are case-insensitive */
	T_ASSERT_STR(pool_kv_find(f.settings, f.nsettings, "auth_type")->value,
		     "trust");
	T_ASSERT_STR(pool_connstr_get(fake_host_ctx(fc),
				      "host=a port=1 dbname='x y' pool_size=3",
				      "dbname"),
		     "x y");
	T_ASSERT(pool_connstr_get(fake_host_ctx(fc), "host=a", "port") == NULL);
	fake_host_free(fc);
}

TEST(test_pooler__render_golden)
{
	struct fake_ctx *fc = pt_new();
	struct pool_live *live = pt_live(fc);
	struct pool_desired d;
	const struct dbops_node *sec = pt_section(fc, pt_spec);
	const char *text, *again;

	T_ASSERT(live != NULL && sec != NULL);
	T_ASSERT_INT(pool_desired_read(&d, fake_host_ctx(fc), sec), 0);
	text = pool_render(fake_host_ctx(fc), &d, live, NULL);
	T_ASSERT_GOLDEN("pooler_render.out", text);
	/* deterministic: a second rendering is byte-identical */
	again = pool_render(fake_host_ctx(fc), &d, live, NULL);
	T_ASSERT_STR(again, text);
	/* the entry being removed is left out when its change asks */
	T_ASSERT(strstr(text, "\nold = ") != NULL);
	T_ASSERT(strstr(pool_render(fake_host_ctx(fc), &d, live, "old"),
			"\nold = ") == NULL);
	free(live);
	fake_host_free(fc);
}

TEST(test_pooler__diff_golden)
{
	struct fake_ctx *fc = pt_new();
	struct pool_live *live = pt_live(fc);
	const struct dbops_node *sec = pt_section(fc, pt_spec);
	const struct dbops_change *c;

	T_ASSERT(live != NULL && sec != NULL);
	T_ASSERT_INT(pool_diff(fake_host_ctx(fc), sec, live), 0);
	T_ASSERT_GOLDEN("pooler_diff.out", fake_host_render(fc));
	/* a restart-only setting is flagged */
	c = fake_host_change(fc, "pooler.settings.listen_port");
	T_ASSERT(c != NULL && (c->flags & DBOPS_CHANGE_NEEDS_RESTART));
	/* reloadable ones are not */
	c = fake_host_change(fc, "pooler.settings.pool_mode");
	T_ASSERT(c != NULL && !(c->flags & DBOPS_CHANGE_NEEDS_RESTART));
	/* equal after normalisation: yes = 1, 600 = 600 */
	T_ASSERT(fake_host_change(fc, "pooler.settings.log_connections") ==
		 NULL);
	T_ASSERT(fake_host_change(fc, "pooler.settings.server_idle_timeout") ==
		 NULL);
	/* an entry of the file the spec drops is destroyed, drained */
	c = fake_host_change(fc, "pooler.databases.old");
	T_ASSERT(c != NULL && c->action == DBOPS_ACTION_DELETE &&
		 (c->flags & DBOPS_CHANGE_DESTRUCTIVE));
	/* an entry made by the "*" fallback is not the spec's business */
	T_ASSERT(fake_host_change(fc, "pooler.databases.autodb") == NULL);
	/* a disabled entry the spec wants is enabled again */
	c = fake_host_change(fc, "pooler.databases.reports");
	T_ASSERT(c != NULL && strstr(c->sql, "ENABLE reports") != NULL);
	free(live);
	fake_host_free(fc);
}

TEST(test_pooler__restart_only_pending_is_a_warning)
{
	struct fake_ctx *fc = pt_new();
	struct pool_live *live = pt_live(fc);
	const struct dbops_node *sec;

	T_ASSERT(live != NULL);
	/* the file holds the new port already; PgBouncer runs the old one */
	pool_file_parse(&live->file, fake_host_ctx(fc),
			"[pgbouncer]\nlisten_port = 6433\n");
	sec = pt_section(fc, "pooler:\n"
			     "  pgbouncer: {config_file: /x.ini, admin: a}\n"
			     "  settings: {listen_port: 6433}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_diff(fake_host_ctx(fc), sec, live), 0);
	T_ASSERT(fake_host_change(fc, "pooler.settings.listen_port") == NULL);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "PgBouncer setting \"listen_port\" is waiting for a restart");
	free(live);
	fake_host_free(fc);
}

TEST(test_pooler__converged_plans_nothing)
{
	struct fake_ctx *fc = pt_new();
	struct pool_live *live = pt_live(fc);
	struct pool_desired d;
	const struct dbops_node *sec;

	T_ASSERT(live != NULL);
	sec = pt_section(
	    fc, "pooler:\n"
		"  pgbouncer: {config_file: /x.ini, admin: a}\n"
		"  settings: {max_client_conn: 200, auth_type: trust}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_desired_read(&d, fake_host_ctx(fc), sec), 0);
	/* the file as dbops would write it */
	pool_file_parse(&live->file, fake_host_ctx(fc),
			pool_render(fake_host_ctx(fc), &d, live, NULL));
	T_ASSERT_INT(pool_diff(fake_host_ctx(fc), sec, live), 0);
	T_ASSERT_INT(fc->nchanges, 0);
	/* the same with a hand edit of the file: the file is rewritten */
	pool_file_parse(&live->file, fake_host_ctx(fc),
			"[pgbouncer]\nmax_client_conn = 200\n");
	T_ASSERT_INT(pool_diff(fake_host_ctx(fc), sec, live), 0);
	T_ASSERT(fake_host_change(fc, "pooler.config_file") != NULL);
	free(live);
	fake_host_free(fc);
}

TEST(test_pooler__inherited_pool_size_follows_the_global)
{
	struct fake_ctx *fc = pt_new();
	struct pool_live *live = pt_live(fc);
	const struct dbops_node *sec;

	T_ASSERT(live != NULL);
	/* "reports" runs with the default (20); only the global changes */
	sec = pt_section(fc, "pooler:\n"
			     "  pgbouncer: {config_file: /x.ini, admin: a}\n"
			     "  settings: {default_pool_size: 25}\n"
			     "  databases:\n"
			     "    app: {dbname: app, pool_size: 30}\n"
			     "    old: {dbname: app}\n"
			     "    reports: {}\n"
			     "    '*': {}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_diff(fake_host_ctx(fc), sec, live), 0);
	T_ASSERT(fake_host_change(fc, "pooler.settings.default_pool_size") !=
		 NULL);
	T_ASSERT(fake_host_change(fc, "pooler.databases.app") == NULL);
	T_ASSERT(fake_host_change(fc, "pooler.databases.old") == NULL);
	free(live);
	fake_host_free(fc);
}

TEST(test_pooler__validate_unknown_setting_did_you_mean)
{
	struct fake_ctx *fc = pt_new();
	const struct dbops_node *sec;

	sec = pt_section(fc, "pooler:\n"
			     "  pgbouncer: {config_file: relative.ini}\n"
			     "  settings:\n"
			     "    default_pool_sise: 10\n"
			     "    pool_mode: sessions\n"
			     "    max_client_conn: many\n"
			     "    server_round_robin: maybe\n"
			     "    conffile: /x\n"
			     "  databases:\n"
			     "    pgbouncer: {}\n"
			     "    ro: {target: replicas}\n"
			     "    x: {target: primary, host: h}\n"
			     "    y: {host: 'a b'}\n"
			     "  users:\n"
			     "    u: {pool_mode: sometimes}\n"
			     "  auth_users:\n"
			     "    - {name: app, password: plain}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_validate(fake_host_ctx(fc), sec), DBOPS_ERR_INVALID);
	T_ASSERT_GOLDEN("pooler_validate.out", fake_host_render(fc));
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "HINT:  Did you mean \"default_pool_size\"?");
	fake_host_free(fc);
}

TEST(test_pooler__refused_database_entry_leaves_nothing_for_the_next)
{
	struct fake_ctx *fc = pt_new();
	const struct dbops_node *sec;
	struct pool_desired d;

	sec = pt_section(fc, "pooler:\n"
			     "  databases: {a: {target: e}, b: }\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_desired_read(&d, fake_host_ctx(fc), sec),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->diags.nerrors, 1);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "spec.yaml:2:27: ERROR:  invalid target \"e\"");
	T_ASSERT_INT(d.ndbs, 1);
	T_ASSERT_STR(d.dbs[0].name, "b");
	T_ASSERT_STR(d.dbs[0].target, "primary");
	fake_host_free(fc);
}

TEST(test_pooler__replicas_route_without_hosts_is_refused_alone)
{
	struct fake_ctx *fc = pt_new();
	const struct dbops_node *sec;
	struct pool_desired d;

	sec = pt_section(fc, "pooler:\n"
			     "  databases:\n"
			     "    a: {target: replicas}\n"
			     "    b: {pool_size: 5}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_desired_read(&d, fake_host_ctx(fc), sec),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->diags.nerrors, 1);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "spec.yaml:3:17: ERROR:  database entry \"a\" routes to replicas but lists none");
	T_ASSERT_INT(d.ndbs, 1);
	T_ASSERT_STR(d.dbs[0].target, "primary");
	T_ASSERT_STR(d.dbs[0].pool_size, "5");
	fake_host_free(fc);
}

TEST(test_pooler__refused_entry_host_does_not_reach_the_next)
{
	struct fake_ctx *fc = pt_new();
	const struct dbops_node *sec;
	struct pool_desired d;

	sec = pt_section(fc, "pooler:\n"
			     "  databases:\n"
			     "    a: {target: primary, host: h1}\n"
			     "    b: {pool_size: 5}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_desired_read(&d, fake_host_ctx(fc), sec),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->diags.nerrors, 1);
	T_ASSERT_CONTAINS(fake_host_render(fc), "target primary takes no host");
	T_ASSERT_INT(d.ndbs, 1);
	T_ASSERT_STR(d.dbs[0].name, "b");
	T_ASSERT(d.dbs[0].host == NULL);
	fake_host_free(fc);
}

/* The pools are published for other plugins (the monitoring plugin
 * compares the server's connections with them). */
TEST(test_pooler__validate_publishes_the_pools)
{
	struct fake_ctx *fc = pt_new();
	const struct dbops_node *sec;
	const char *all = "";

	sec =
	    pt_section(fc, "pooler:\n"
			   "  settings: {default_pool_size: 15}\n"
			   "  databases:\n"
			   "    app: {target: primary, pool_size: 30}\n"
			   "    app_ro: {target: replicas, hosts: [10.0.0.2], "
			   "dbname: app}\n"
			   "    legacy: {host: 10.0.0.9}\n"
			   "    \"*\": {target: primary}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_validate(fake_host_ctx(fc), sec), 0);
	for (size_t i = 0; i < fc->nfacts; i++)
		all = dbops_host(fake_host_ctx(fc))
			  ->printf(fake_host_ctx(fc), "%s%s=%s\n", all,
				   fc->facts[i].name, fc->facts[i].value);
	T_ASSERT_STR(all, "pooler.pool.app.dbname=app\n"
			  "pooler.pool.app.pool_size=30\n"
			  "pooler.pool.app.target=primary\n"
			  "pooler.pool.app_ro.dbname=app\n"
			  "pooler.pool.app_ro.pool_size=15\n"
			  "pooler.pool.app_ro.target=replicas\n"
			  "pooler.pool.legacy.dbname=legacy\n"
			  "pooler.pool.legacy.pool_size=15\n"
			  "pooler.pool.legacy.target=host\n");
	fake_host_free(fc);
}

TEST(test_pooler__setting_list_is_pgbouncer_118)
{
	/* every key of 1.18's SHOW CONFIG but conffile, and nothing newer */
	T_ASSERT(pool_setting_find("default_pool_size") != NULL);
	T_ASSERT(pool_setting_find("UNIX_SOCKET_MODE") != NULL);
	T_ASSERT(!pool_setting_find("listen_port")->reload);
	T_ASSERT(!pool_setting_find("so_reuseport")->reload);
	T_ASSERT(pool_setting_find("pool_mode")->reload);
	T_ASSERT(pool_setting_find("conffile") == NULL);
	T_ASSERT(pool_setting_find("max_prepared_statements") == NULL);
	{
		size_t n;
		const char *const *names = pool_setting_names(&n);

		T_ASSERT_STR(diag_suggest("listen_prot", names, n),
			     "listen_port");
		T_ASSERT(diag_suggest("something_else_entirely", names, n) ==
			 NULL);
	}
}

TEST(test_pooler__values_compare_after_normalisation)
{
	const struct pool_setting_def *b = pool_setting_find("log_stats");
	const struct pool_setting_def *n = pool_setting_find("query_timeout");
	const struct pool_setting_def *m =
	    pool_setting_find("unix_socket_mode");
	const struct pool_setting_def *e = pool_setting_find("pool_mode");
	const char *why;

	T_ASSERT(pool_value_equal(b, "yes", "1"));
	T_ASSERT(pool_value_equal(b, "off", "0"));
	T_ASSERT(!pool_value_equal(b, "on", "0"));
	T_ASSERT(pool_value_equal(n, "1.0", "1"));
	T_ASSERT(!pool_value_equal(n, "1.5", "1"));
	T_ASSERT(pool_value_equal(m, "0777", "511"));
	T_ASSERT(!pool_value_equal(m, "0700", "511"));
	T_ASSERT(pool_value_equal(e, "Transaction", "transaction"));
	T_ASSERT(!pool_setting_valid(n, "-1", &why));
	T_ASSERT(!pool_setting_valid(e, "sessions", &why));
	T_ASSERT(pool_setting_valid(e, "statement", &why));
}

TEST(test_pooler__auth_file_lines)
{
	struct fake_ctx *fc = pt_new();
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct pool_kv *lines = NULL;
	struct pool_kv set = {"app", "SCRAM-SHA-256$4096:c2FsdA==$a:b", {0}};
	size_t n;
	const char *out;

	n = pool_auth_parse(
	    &lines, ctx,
	    ";; comment\n\"postgres\" \"\"\n\"app\" \"md5abc\"\n"
	    "\"we\"\"ird\" \"x\"\n");
	T_ASSERT_INT(n, 3);
	T_ASSERT_STR(lines[2].key, "we\"ird");
	out = pool_render_auth(ctx, lines, n, &set, 1);
	T_ASSERT_CONTAINS(out, "\"app\" \"SCRAM-SHA-256$4096:c2FsdA==$a:b\"\n");
	T_ASSERT_CONTAINS(out, "\"postgres\" \"\"\n\"app\"");
	T_ASSERT_CONTAINS(out, "\"we\"\"ird\" \"x\"\n");
	T_ASSERT(strstr(out, "md5abc") == NULL);
	fake_host_free(fc);
}

TEST(test_pooler__write_atomic_keeps_mode)
{
	struct fake_ctx *fc = pt_new();
	char dir[] = "/tmp/dbops-pool-XXXXXX";
	const char *path;
	struct stat st;
	char buf[64];
	FILE *f;
	size_t n;

	T_ASSERT(mkdtemp(dir) != NULL);
	path = dbops_host(fake_host_ctx(fc))
		   ->printf(fake_host_ctx(fc), "%s/p.ini", dir);
	f = fopen(path, "w");
	T_ASSERT(f != NULL);
	fputs("old\n", f);
	fclose(f);
	T_ASSERT_INT(chmod(path, 0604), 0);
	T_ASSERT_INT(pool_write_atomic(fake_host_ctx(fc), path, "new\n", 0600),
		     0);
	T_ASSERT_INT(stat(path, &st), 0);
	T_ASSERT_INT(st.st_mode & 07777, 0604);
	f = fopen(path, "r");
	T_ASSERT(f != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	T_ASSERT_STR(buf, "new\n");
	unlink(path);
	/* a new file gets the mode asked for */
	T_ASSERT_INT(pool_write_atomic(fake_host_ctx(fc), path, "x", 0600), 0);
	T_ASSERT_INT(stat(path, &st), 0);
	T_ASSERT_INT(st.st_mode & 07777, 0600);
	unlink(path);
	T_ASSERT_INT(rmdir(dir), 0);
	fake_host_free(fc);
}

/* ---- what the pooler takes from the replicas and roles sections */

TEST(test_pooler__replicas_target_takes_the_members)
{
	struct fake_ctx *fc = fake_host_new("pooler");
	const struct dbops_node *sec;
	struct pool_desired d;

	fake_host_add_fact(fc, "replicas", "replicas.member.r1.host",
			   "10.0.0.5");
	fake_host_add_fact(fc, "replicas", "replicas.member.r1.port", "5433");
	fake_host_add_fact(fc, "replicas", "replicas.member.r2.host",
			   "10.0.0.6");
	fake_host_add_fact(fc, "replicas", "replicas.member.r2.port", "5433");
	sec = pt_section(
	    fc, "pooler:\n"
		"  databases:\n"
		"    app_ro: {target: replicas, dbname: app}\n"
		"    other: {target: replicas, hosts: [h1], port: 6000}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_desired_read(&d, fake_host_ctx(fc), sec), 0);
	T_ASSERT_INT(d.ndbs, 2);
	T_ASSERT_STR(d.dbs[0].name, "app_ro");
	T_ASSERT_STR(d.dbs[0].host, "10.0.0.5,10.0.0.6");
	T_ASSERT_STR(d.dbs[0].port, "5433");
	/* hosts given: the members are not used */
	T_ASSERT_STR(d.dbs[1].host, "h1");
	T_ASSERT_STR(d.dbs[1].port, "6000");
	fake_host_free(fc);
}

TEST(test_pooler__replicas_on_two_ports_need_one)
{
	struct fake_ctx *fc = fake_host_new("pooler");
	const struct dbops_node *sec;
	struct pool_desired d;

	fake_host_add_fact(fc, "replicas", "replicas.member.r1.host",
			   "127.0.0.1");
	fake_host_add_fact(fc, "replicas", "replicas.member.r1.port", "5433");
	fake_host_add_fact(fc, "replicas", "replicas.member.r2.host",
			   "127.0.0.1");
	fake_host_add_fact(fc, "replicas", "replicas.member.r2.port", "5434");
	sec = pt_section(fc, "pooler:\n"
			     "  databases:\n"
			     "    ro: {target: replicas}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_desired_read(&d, fake_host_ctx(fc), sec),
		     DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "spec.yaml:3:18: ERROR:  database entry \"ro\" routes to replicas that listen on different ports (5433 and 5434)");
	fake_host_free(fc);

	/* with the port given, the entry is valid */
	fc = fake_host_new("pooler");
	fake_host_add_fact(fc, "replicas", "replicas.member.r1.host",
			   "127.0.0.1");
	fake_host_add_fact(fc, "replicas", "replicas.member.r1.port", "5433");
	fake_host_add_fact(fc, "replicas", "replicas.member.r2.port", "5434");
	sec = pt_section(fc, "pooler:\n"
			     "  databases:\n"
			     "    ro: {target: replicas, port: 6432}\n");
	T_ASSERT_INT(pool_desired_read(&d, fake_host_ctx(fc), sec), 0);
	T_ASSERT_STR(d.dbs[0].port, "6432");
	fake_host_free(fc);
}

TEST(test_pooler__auth_user_takes_the_role_password)
{
	struct fake_ctx *fc = fake_host_new("pooler");
	const struct dbops_host *h = dbops_host(fake_host_ctx(fc));
	struct dbops_secret_ref ref = {.kind = DBOPS_SECRET_ENV,
				       .name = "DBOPS_SECRET_APP"};
	const struct dbops_node *sec;
	struct pool_desired d;

	fc->plugin = "roles";
	h->fact_put(fake_host_ctx(fc), "roles.role.app.password", NULL, &ref,
		    NULL);
	fc->plugin = "pooler";
	sec = pt_section(fc, "pooler:\n"
			     "  auth_users:\n"
			     "    - {name: app}\n"
			     "    - {name: other}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_desired_read(&d, fake_host_ctx(fc), sec),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->diags.nerrors, 1);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "spec.yaml:4:7: ERROR:  auth user \"other\" has no password");
	T_ASSERT_INT(d.nauth, 1);
	T_ASSERT_STR(d.auth[0].name, "app");
	T_ASSERT_INT(d.auth[0].secret.kind, DBOPS_SECRET_ENV);
	T_ASSERT_STR(d.auth[0].secret.name, "DBOPS_SECRET_APP");
	fake_host_free(fc);
}

TEST(test_pooler__validate_marks_the_admin_and_files)
{
	struct fake_ctx *fc = fake_host_new("pooler");
	const struct dbops_node *sec;

	sec = pt_section(
	    fc,
	    "pooler:\n"
	    "  pgbouncer: {config_file: /etc/pgbouncer.ini, admin: 'port=6432 dbname=pgbouncer'}\n"
	    "  settings: {auth_file: /etc/userlist.txt, pool_mode: session}\n");
	T_ASSERT(sec != NULL);
	T_ASSERT_INT(pool_validate(fake_host_ctx(fc), sec), 0);
	T_ASSERT_INT(fc->ntrust, 3);
	T_ASSERT_INT(fc->trust[0].kind, DBOPS_TRUST_CONNECTION);
	T_ASSERT_STR(fc->trust[0].node->scalar, "port=6432 dbname=pgbouncer");
	T_ASSERT_INT(fc->trust[1].kind, DBOPS_TRUST_PATH);
	T_ASSERT_INT(fc->trust[2].kind, DBOPS_TRUST_PATH);
	T_ASSERT_STR(fc->trust[2].node->scalar, "/etc/userlist.txt");
	fake_host_free(fc);
}

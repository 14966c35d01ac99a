/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_daemon_config.c — the daemon's sections of the configuration file:
 * every problem located at once, defaults, and the drift policy a change
 * gets (cluster before daemon, objects before plugins before defaults).
 */
#include <stdio.h>
#include <stdlib.h>

#include "daemon_config.h"
#include "diag.h"
#include "t.h"

static char *print_diags(const struct dbops_diag_list *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	diag_print_list(f, l);
	fclose(f);
	return buf;
}

TEST(test_daemon_config__reports_every_problem_located)
{
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	struct daemon_config c;
	char *out;

	T_ASSERT_INT(
	    daemon_config_load(&c, a, &diags, "tests/fixtures/daemon/bad.yaml"),
	    DBOPS_ERR_INVALID);
	out = print_diags(&diags);
	T_ASSERT_GOLDEN("daemon_config_bad.out", out);
	free(out);
	arena_free(a);
}

TEST(test_daemon_config__reads_sections_and_defaults)
{
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	struct daemon_config c;
	const struct daemon_cluster *prod, *staging;
	const struct window *w;
	size_t n;

	T_ASSERT_INT(daemon_config_load(&c, a, &diags,
					"tests/fixtures/daemon/good.yaml"),
		     0);
	T_ASSERT_STR(c.url, "file:///srv/specs.git");
	T_ASSERT(c.has_token);
	T_ASSERT_STR(c.token.name, "DBOPS_SECRET_GIT_TOKEN");
	T_ASSERT(c.interval_s == 30);
	T_ASSERT(c.jitter > 0.049 && c.jitter < 0.051);
	T_ASSERT_INT(c.workers, 2);
	T_ASSERT_INT(c.listen_port, 0);
	T_ASSERT_STR(c.listen_host, "127.0.0.1");
	T_ASSERT_INT(c.max_body, 1024 * 1024);
	T_ASSERT_INT(c.nnotify, 1);
	T_ASSERT(c.notify[0].slack);
	T_ASSERT(c.notify[0].backoff_s > 0.09 && c.notify[0].backoff_s < 0.11);
	T_ASSERT_INT(c.forge, FORGE_GITLAB);
	T_ASSERT_STR(c.forge_context, "dbops/plan");
	T_ASSERT(c.fleet_explicit);
	T_ASSERT_INT(c.nclusters, 2);
	prod = daemon_config_cluster(&c, "prod");
	staging = daemon_config_cluster(&c, "staging");
	T_ASSERT(prod != NULL && staging != NULL);
	daemon_config_windows(&w, &n, &c, prod);
	T_ASSERT_INT(n, 1);
	T_ASSERT(!w[0].deny);
	T_ASSERT_INT(w[0].duration_s, 7200);
	daemon_config_windows(&w, &n, &c, staging);
	T_ASSERT_INT(n, 1);
	T_ASSERT(w[0].deny);
	arena_free(a);
}

TEST(test_daemon_config__policy_cluster_objects_plugins_default)
{
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	struct daemon_config c;
	const struct daemon_cluster *prod, *staging;

	T_ASSERT_INT(daemon_config_load(&c, a, &diags,
					"tests/fixtures/daemon/good.yaml"),
		     0);
	prod = daemon_config_cluster(&c, "prod");
	staging = daemon_config_cluster(&c, "staging");
	/* the cluster's object rules first, in file order */
	T_ASSERT_INT(
	    daemon_config_policy(&c, prod, "roles", "roles.role.app_rw"),
	    DRIFT_ENFORCE);
	T_ASSERT_INT(daemon_config_policy(&c, prod, "roles", "roles.role.bob"),
		     DRIFT_IGNORE);
	/* then the daemon's object rules */
	T_ASSERT_INT(
	    daemon_config_policy(&c, prod, "parameters", "parameters.work_mem"),
	    DRIFT_IGNORE);
	/* then the plugin's policy */
	T_ASSERT_INT(
	    daemon_config_policy(&c, staging, "roles", "roles.role.app_rw"),
	    DRIFT_REPORT);
	/* then the default */
	T_ASSERT_INT(daemon_config_policy(&c, staging, "parameters",
					  "parameters.shared_buffers"),
		     DRIFT_ENFORCE);
	T_ASSERT_STR(drift_policy_name(DRIFT_REPORT), "report");
	arena_free(a);
}

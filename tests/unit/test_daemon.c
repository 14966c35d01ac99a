/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_daemon.c — the daemon's pure pieces: webhook signatures (GitHub's
 * HMAC-SHA256 and GitLab's token, both compared in constant time), the
 * resolution of a plugin command line, and the Prometheus text the
 * endpoint renders.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "daemon_ops.h"
#include "loader.h"
#include "t.h"

static const char body[] = "{\"ref\":\"refs/heads/main\"}";

/* "sha256=<hex>" of body under key, the way GitHub signs. */
static void sign(char *out, size_t size, const char *key)
{
	unsigned char mac[32];
	unsigned int n = 0;

	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body,
	     strlen(body), mac, &n);
	snprintf(out, size, "sha256=");
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 7 + 2 * i, size - 7 - 2 * i, "%02x", mac[i]);
}

TEST(test_daemon__github_signature_checked)
{
	char sig[80], zeros[80];

	sign(sig, sizeof(sig), "s3cret");
	snprintf(zeros, sizeof(zeros), "sha256=%064d", 0);
	T_ASSERT(dhttp_github_signature_ok(sig, "s3cret", body, strlen(body)));
	T_ASSERT(
	    !dhttp_github_signature_ok(sig, "s3cret!", body, strlen(body)));
	T_ASSERT(
	    !dhttp_github_signature_ok(sig, "s3cret", body, strlen(body) - 1));
	T_ASSERT(
	    !dhttp_github_signature_ok(zeros, "s3cret", body, strlen(body)));
	T_ASSERT(
	    !dhttp_github_signature_ok(sig + 7, "s3cret", body, strlen(body)));
	T_ASSERT(!dhttp_github_signature_ok("sha1=abc", "s3cret", body,
					    strlen(body)));
	T_ASSERT(
	    !dhttp_github_signature_ok(NULL, "s3cret", body, strlen(body)));
}

TEST(test_daemon__gitlab_token_checked)
{
	T_ASSERT(dhttp_token_ok("token-1", "token-1"));
	T_ASSERT(!dhttp_token_ok("token-2", "token-1"));
	T_ASSERT(!dhttp_token_ok("token-1x", "token-1"));
	T_ASSERT(!dhttp_token_ok("", "token-1"));
	T_ASSERT(!dhttp_token_ok(NULL, "token-1"));
}

TEST(test_daemon__resolves_plugin_command_lines)
{
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	struct registry reg;
	const char *plugin, *command, *error = NULL, **args;
	size_t nargs;

	memset(&reg, 0, sizeof(reg));
	T_ASSERT_INT(loader_load_file(&reg, a, &diags,
				      t_path("build/tests/plugins/"
					     "dbops_chores.so")),
		     0);
	T_ASSERT_INT(daemon_ops_resolve(&plugin, &command, &args, &nargs, &reg,
					"chores tick --note hello --dry", a,
					&error),
		     0);
	T_ASSERT_STR(plugin, "chores");
	T_ASSERT_STR(command, "tick");
	T_ASSERT_INT(nargs, 2);
	T_ASSERT_STR(args[0], "note");
	T_ASSERT_STR(args[1], "hello");
	T_ASSERT_STR(args[2], "dry");
	T_ASSERT_STR(args[3], "");
	/* a command only one plugin offers, without the plugin's name */
	T_ASSERT_INT(daemon_ops_resolve(&plugin, &command, &args, &nargs, &reg,
					"tick --note=x", a, &error),
		     0);
	T_ASSERT_STR(plugin, "chores");
	T_ASSERT_STR(args[1], "x");
	T_ASSERT_INT(daemon_ops_resolve(&plugin, &command, &args, &nargs, &reg,
					"chores explode", a, &error),
		     DBOPS_ERR_NOTFOUND);
	T_ASSERT_CONTAINS(error, "No plugin offers the command");
	T_ASSERT_INT(daemon_ops_resolve(&plugin, &command, &args, &nargs, &reg,
					"chores tick stray", a, &error),
		     DBOPS_ERR_NOTFOUND);
	T_ASSERT_CONTAINS(error, "\"stray\" is not an option");
	loader_close(&reg);
	arena_free(a);
}

/* The version in the text as @VERSION@, so the golden file lasts. */
static char *unversioned(const char *text)
{
	const char *v = DBOPS_VERSION;
	size_t vl = strlen(v);
	char *out = malloc(strlen(text) + 64), *o = out;

	for (const char *s = text; *s;) {
		if (strncmp(s, v, vl) == 0) {
			memcpy(o, "@VERSION@", 9);
			o += 9;
			s += vl;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

TEST(test_daemon__renders_prometheus_text)
{
	struct daemon d;
	struct dcluster cl;
	struct dstatus st;
	struct ddrift drift[2] = {{"parameters", 0, 0}, {"roles", 1, 2}};
	struct dmetric m = {"dbops_replication_lag_seconds",
			    "cluster=\"prod\",member=\"r1\"", 0.5,
			    "Replication lag of a standby."};
	struct strbuf sb;
	char *text;

	memset(&d, 0, sizeof(d));
	memset(&cl, 0, sizeof(cl));
	memset(&st, 0, sizeof(st));
	d.identity = "host/1";
	snprintf(d.branch, sizeof(d.branch), "main");
	d.started_at = 1700000000;
	d.fetched_at = 1700000060;
	d.fetches_ok = 3;
	d.webhooks_refused = 1;
	st.sync = DSYNC_OUT_OF_SYNC;
	st.health = DHEALTH_PROGRESSING;
	st.drift = drift;
	st.ndrift = 2;
	st.metrics = &m;
	st.nmetrics = 1;
	st.last_success_at = 1700000050;
	st.waiting_until = 1704067200;
	cl.name = "prod";
	cl.present = true;
	cl.st = &st;
	cl.passes_ok = 4;
	cl.passes_skipped = 2;
	cl.changes_applied = 3;
	cl.buckets[1] = 3;
	cl.buckets[4] = 1;
	cl.duration_sum = 1.25;
	cl.duration_count = 4;
	d.clusters[0] = &cl;
	d.nclusters = 1;
	strbuf_init(&sb);
	metrics_render(&sb, &d);
	text = unversioned(sb.buf);
	T_ASSERT_GOLDEN("daemon_metrics.out", text);
	free(text);
	strbuf_dispose(&sb);
}

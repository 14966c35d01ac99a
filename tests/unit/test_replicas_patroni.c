/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_replicas_patroni.c — the Patroni REST client's parsers on the
 * shapes Patroni 3.0.2 answers (utils.cluster_as_json for GET /cluster,
 * the DCS config for GET /config, GET /history; taken from a 3.0.2
 * cluster), errors naming the endpoint and the field, the PATCH bodies,
 * and the replicas plugin's patroni provider: validate, the diff into one
 * PATCH per key, the held-back strict mode, and the refusals of
 * switchover and drill.
 */
#include "t.h"

#include <string.h>

#include "fake_host.h"
#include "../../plugins/patroni.h"
#include "../../plugins/replicas/replicas_int.h"

/* GET /cluster of a 3.0.2 cluster in synchronous mode, one replica lagging
 * with a restart pending and tags, another whose position is unknown. */
static const char ptn_cluster_json[] =
    "{\"members\": [{\"name\": \"node1\", \"role\": \"leader\", \"state\": "
    "\"running\", \"api_url\": \"http://127.0.0.1:26437/patroni\", "
    "\"host\": \"127.0.0.1\", \"port\": 25437, \"timeline\": 4}, "
    "{\"name\": \"node2\", \"role\": \"sync_standby\", \"state\": "
    "\"running\", \"api_url\": \"http://127.0.0.1:26438/patroni\", "
    "\"host\": \"127.0.0.1\", \"port\": 25438, \"timeline\": 4, "
    "\"pending_restart\": true, \"tags\": {\"nofailover\": false, "
    "\"noloadbalance\": true}, \"lag\": 0}, {\"name\": \"node3\", \"role\": "
    "\"replica\", \"state\": \"stopped\", \"api_url\": "
    "\"http://127.0.0.1:26439/patroni\", \"host\": \"127.0.0.1\", \"port\": "
    "25439, \"lag\": \"unknown\"}], \"pause\": true, "
    "\"scheduled_switchover\": {\"at\": \"2030-01-01T03:00:00+00:00\", "
    "\"from\": \"node1\", \"to\": \"node2\"}}";

static const char ptn_config_json[] =
    "{\"ttl\": 10, \"loop_wait\": 2, \"retry_timeout\": 5, "
    "\"primary_start_timeout\": 0, \"maximum_lag_on_failover\": 1048576, "
    "\"synchronous_mode\": false, \"postgresql\": {\"use_pg_rewind\": true, "
    "\"use_slots\": true, \"parameters\": {\"shared_buffers\": \"32MB\", "
    "\"fsync\": \"off\", \"max_connections\": 50, \"hot_standby_feedback\": "
    "true, \"wal_keep_size\": \"128MB\"}}}";

static const char ptn_yaml[] =
    "replicas:\n"
    "  provider: patroni\n"
    "  patroni:\n"
    "    urls: [http://127.0.0.1:26437, http://127.0.0.1:26438]\n"
    "    username: dbops\n"
    "    password: {env: DBOPS_SECRET_PATRONI}\n"
    "  synchronous: {mode: first, count: 1, strict: true}\n"
    "  max_lag: {bytes: 2MB}\n"
    "  settings: {wal_keep_size: 64MB}\n"
    "  members:\n"
    "    - {name: node1, port: 25437}\n"
    "    - {name: node2, port: 25438}\n";

TEST(test_patroni__parse_cluster_reads_members_roles_and_tags)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct patroni_cluster *c = NULL;
	const struct patroni_member *m;

	T_ASSERT_INT(patroni_parse_cluster(&c, fake_host_ctx(fc),
					   ptn_cluster_json, "GET x/cluster"),
		     0);
	T_ASSERT_INT(c->nmembers, 3);
	T_ASSERT(c->pause);
	T_ASSERT_STR(c->switchover_to, "node2");
	T_ASSERT_STR(patroni_leader(c)->name, "node1");
	T_ASSERT_INT(patroni_leader(c)->lag, -1);
	m = patroni_member_find(c, "node2");
	T_ASSERT(m != NULL);
	T_ASSERT_STR(m->role, "sync_standby");
	T_ASSERT_INT(m->port, 25438);
	T_ASSERT_INT(m->lag, 0);
	T_ASSERT_INT(m->timeline, 4);
	T_ASSERT(m->pending_restart);
	T_ASSERT(m->noloadbalance && !m->nofailover && !m->nosync);
	m = patroni_member_find(c, "node3");
	T_ASSERT_INT(m->lag, -1); /* "unknown" */
	T_ASSERT_INT(m->timeline, -1);
	T_ASSERT(!patroni_state_running(m->state));
	fake_host_free(fc);
}

TEST(test_patroni__parse_cluster_missing_role_names_endpoint_and_field)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct patroni_cluster *c = NULL;

	T_ASSERT(
	    patroni_parse_cluster(
		&c, fake_host_ctx(fc),
		"{\"members\": [{\"name\": \"n1\", \"state\": \"running\"}]}",
		"GET http://h:8008/cluster") != 0);
	T_ASSERT(fc->diags.head != NULL);
	T_ASSERT_STR(fc->diags.head->message,
		     "unexpected answer from GET http://h:8008/cluster: field "
		     "\"members[0].role\" is missing");
	fake_host_free(fc);
}

TEST(test_patroni__parse_cluster_mistyped_port_is_an_error)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct patroni_cluster *c = NULL;

	T_ASSERT(patroni_parse_cluster(
		     &c, fake_host_ctx(fc),
		     "{\"members\": [{\"name\": \"n1\", \"role\": \"leader\", "
		     "\"state\": \"running\", \"port\": \"five\"}]}",
		     "GET u") != 0);
	T_ASSERT_CONTAINS(fc->diags.head->message,
			  "\"members[0].port\" is not an integer");
	fake_host_free(fc);
}

TEST(test_patroni__parse_cluster_refuses_what_is_not_json)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct patroni_cluster *c = NULL;

	T_ASSERT(patroni_parse_cluster(&c, fake_host_ctx(fc), "{\"members\": [",
				       "GET u") != 0);
	T_ASSERT_CONTAINS(fc->diags.head->message,
			  "could not parse the answer of GET u");
	fake_host_free(fc);
	fc = fake_host_new("replicas");
	T_ASSERT(patroni_parse_cluster(&c, fake_host_ctx(fc), "{}", "GET u") !=
		 0);
	T_ASSERT_CONTAINS(fc->diags.head->message, "\"members\"");
	fake_host_free(fc);
}

TEST(test_patroni__parse_config_fills_defaults_and_says_what_was_set)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct patroni_config *cfg = NULL;

	T_ASSERT_INT(patroni_parse_config(&cfg, fake_host_ctx(fc),
					  ptn_config_json, "GET x/config"),
		     0);
	T_ASSERT_INT(cfg->ttl, 10);
	T_ASSERT_INT(cfg->loop_wait, 2);
	T_ASSERT_INT(cfg->primary_start_timeout, 0);
	T_ASSERT(!cfg->synchronous_mode);
	T_ASSERT((cfg->set & PATRONI_SET_SYNC_MODE) != 0);
	/* absent: Patroni's defaults, and not marked as set */
	T_ASSERT(!cfg->synchronous_mode_strict);
	T_ASSERT((cfg->set & PATRONI_SET_SYNC_STRICT) == 0);
	T_ASSERT_INT(cfg->synchronous_node_count, 1);
	T_ASSERT(cfg->use_slots);
	/* parameters as PostgreSQL reads them */
	T_ASSERT_STR(patroni_param(cfg, "max_connections"), "50");
	T_ASSERT_STR(patroni_param(cfg, "hot_standby_feedback"), "on");
	T_ASSERT_STR(patroni_param(cfg, "shared_buffers"), "32MB");
	T_ASSERT(patroni_param(cfg, "work_mem") == NULL);
	fake_host_free(fc);
}

TEST(test_patroni__parse_config_mistyped_key_is_an_error)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct patroni_config *cfg = NULL;

	T_ASSERT(patroni_parse_config(&cfg, fake_host_ctx(fc),
				      "{\"synchronous_mode\": \"yes\"}",
				      "GET u/config") != 0);
	T_ASSERT_STR(fc->diags.head->message,
		     "unexpected answer from GET u/config: field "
		     "\"synchronous_mode\" is not a boolean");
	fake_host_free(fc);
	fc = fake_host_new("replicas");
	T_ASSERT(patroni_parse_config(&cfg, fake_host_ctx(fc),
				      "{\"postgresql\": {\"parameters\": "
				      "{\"work_mem\": [1]}}}",
				      "GET u/config") != 0);
	T_ASSERT_CONTAINS(fc->diags.head->message,
			  "\"postgresql.parameters.work_mem\" is not a scalar");
	fake_host_free(fc);
}

TEST(test_patroni__parse_history_takes_the_last_switch)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct patroni_switch *sw = NULL;

	T_ASSERT_INT(patroni_parse_history(
			 &sw, fake_host_ctx(fc),
			 "[[1, 67671056, \"no recovery target specified\", "
			 "\"2026-12-06T10:38:35+00:00\", \"node3\"], [2, "
			 "67723032, \"no recovery target specified\", "
			 "\"2026-12-06T10:38:45+00:00\", \"node2\"]]",
			 "GET u/history"),
		     0);
	T_ASSERT(sw != NULL);
	T_ASSERT_INT(sw->timeline, 2);
	T_ASSERT_INT(sw->lsn, 67723032);
	T_ASSERT_STR(sw->leader, "node2");
	T_ASSERT_INT(patroni_parse_history(&sw, fake_host_ctx(fc), "[]", "u"),
		     0);
	T_ASSERT(sw == NULL);
	fake_host_free(fc);
}

TEST(test_patroni__patch_body_nests_postgresql_parameters)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct patroni_patch *p = patroni_patch_new(fake_host_ctx(fc));

	patroni_patch_bool(p, "synchronous_mode", true);
	patroni_patch_int(p, "synchronous_node_count", 2);
	patroni_patch_pg_bool(p, "use_slots", false);
	patroni_patch_param(p, "work_mem", "16MB");
	patroni_patch_param(p, "old_setting", NULL);
	T_ASSERT_STR(patroni_patch_text(p),
		     "{\"synchronous_mode\":true,\"synchronous_node_count\":2,"
		     "\"postgresql\":{\"use_slots\":false,\"parameters\":{"
		     "\"work_mem\":\"16MB\",\"old_setting\":null}}}");
	fake_host_free(fc);
}

TEST(test_patroni__urls_without_credentials_only)
{
	const char *why;

	T_ASSERT(patroni_url_valid("http://10.0.0.1:8008", &why));
	T_ASSERT(patroni_url_valid("https://patroni.example/", &why));
	T_ASSERT(!patroni_url_valid("ftp://h:21", &why));
	T_ASSERT(!patroni_url_valid("http://u:pw@h:8008", &why));
	T_ASSERT_CONTAINS(why, "credentials");
	T_ASSERT(!patroni_url_valid("http://h:8008/?x=1", &why));
	T_ASSERT(!patroni_url_valid("http://", &why));
}

static struct repl_spec *ptn_t_spec(struct fake_ctx *fc, const char *yaml)
{
	const struct dbops_node *root = fake_host_spec(fc, yaml);
	struct repl_spec *spec = NULL;

	if (root == NULL)
		return NULL;
	if (repl_spec_parse(
		&spec, fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "replicas")) != 0)
		return NULL;
	return spec;
}

static struct repl_live *ptn_t_live(struct fake_ctx *fc, const char *cluster,
				    const char *config)
{
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct repl_live *live = dbops_host(ctx)->alloc(ctx, sizeof(*live));

	if (patroni_parse_cluster(&live->ptn_cluster, ctx, cluster, "c") != 0 ||
	    patroni_parse_config(&live->ptn_config, ctx, config, "c") != 0)
		return NULL;
	return live;
}

TEST(test_replicas_patroni__validate_publishes_how_to_reach_patroni)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	const struct dbops_node *root = fake_host_spec(fc, ptn_yaml);
	bool urls = false, secret = false;

	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    repl_validate(
		fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "replicas")),
	    0);
	for (size_t i = 0; i < fc->nfacts; i++) {
		if (strcmp(fc->facts[i].name, "replicas.patroni.urls") == 0) {
			T_ASSERT_STR(
			    fc->facts[i].value,
			    "http://127.0.0.1:26437,http://127.0.0.1:26438");
			urls = true;
		}
		if (strcmp(fc->facts[i].name, "replicas.patroni.password") ==
		    0) {
			T_ASSERT(fc->facts[i].type == DBOPS_FACT_SECRET);
			T_ASSERT(fc->facts[i].value == NULL);
			secret = true;
		}
	}
	T_ASSERT(urls && secret);
	/* the URLs and the username are trust keys */
	T_ASSERT(fc->ntrust >= 3);
	fake_host_free(fc);
}

TEST(test_replicas_patroni__validate_refuses_quorum_and_missing_section)
{
	struct fake_ctx *fc = fake_host_new("replicas");

	T_ASSERT(ptn_t_spec(fc,
			    "replicas:\n  provider: patroni\n"
			    "  patroni: {urls: [http://h:8008]}\n"
			    "  synchronous: {mode: any, count: 1}\n") == NULL);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "synchronous mode \"any\" is not available with the patroni provider");
	fake_host_free(fc);
	fc = fake_host_new("replicas");
	T_ASSERT(ptn_t_spec(fc, "replicas:\n  provider: patroni\n") == NULL);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "the patroni provider needs a replicas.patroni section");
	fake_host_free(fc);
	fc = fake_host_new("replicas");
	T_ASSERT(ptn_t_spec(fc, "replicas:\n  provider: patroni\n"
				"  patroni: {urls: ['http://u:p@h:8008']}\n") ==
		 NULL);
	T_ASSERT_CONTAINS(fake_host_render(fc), "invalid Patroni URL");
	fake_host_free(fc);
}

TEST(test_replicas_patroni__diff_plans_one_patch_per_key)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = ptn_t_spec(fc, ptn_yaml);
	struct repl_live *live;
	const struct dbops_change *c;

	T_ASSERT(spec != NULL);
	/* node2 streams: strict mode may be set */
	live = ptn_t_live(
	    fc,
	    "{\"members\": [{\"name\": \"node1\", \"role\": \"leader\", "
	    "\"state\": \"running\"}, {\"name\": \"node2\", \"role\": "
	    "\"replica\", \"state\": \"running\", \"lag\": 0}]}",
	    ptn_config_json);
	T_ASSERT(live != NULL);
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, NULL, NULL),
		     0);
	c = fake_host_change(
	    fc, "replicas.patroni.postgresql.parameters.wal_keep_size");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->sql,
		     "PATCH /config "
		     "{\"postgresql\":{\"parameters\":{\"wal_keep_size\":"
		     "\"64MB\"}}}");
	T_ASSERT_STR(c->attrs[0].before, "128MB");
	c = fake_host_change(fc, "replicas.patroni.synchronous_mode");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->sql, "PATCH /config {\"synchronous_mode\":true}");
	T_ASSERT_STR(c->attrs[0].before, "false");
	c = fake_host_change(fc, "replicas.patroni.synchronous_mode_strict");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->attrs[0].before, "false (default)");
	c = fake_host_change(fc, "replicas.patroni.maximum_lag_on_failover");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->sql,
		     "PATCH /config {\"maximum_lag_on_failover\":2097152}");
	/* count 1 is Patroni's default already; nothing ALTER SYSTEMs */
	T_ASSERT(fake_host_change(
		     fc, "replicas.patroni.synchronous_node_count") == NULL);
	T_ASSERT(strstr(fake_host_render(fc), "ALTER SYSTEM") == NULL);
	T_ASSERT_INT(fc->nchanges, 4);
	fake_host_free(fc);
}

TEST(test_replicas_patroni__strict_held_back_without_a_replica)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = ptn_t_spec(fc, ptn_yaml);
	struct repl_live *live;

	T_ASSERT(spec != NULL);
	live = ptn_t_live(fc,
			  "{\"members\": [{\"name\": \"node1\", \"role\": "
			  "\"leader\", \"state\": \"running\"}, {\"name\": "
			  "\"node2\", \"role\": \"replica\", \"state\": "
			  "\"stopped\", \"lag\": \"unknown\"}]}",
			  ptn_config_json);
	T_ASSERT(live != NULL);
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, NULL, NULL),
		     0);
	T_ASSERT(fake_host_change(fc, "replicas.patroni.synchronous_mode") !=
		 NULL);
	T_ASSERT(fake_host_change(
		     fc, "replicas.patroni.synchronous_mode_strict") == NULL);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "synchronous_mode_strict is held back");
	fake_host_free(fc);
}

TEST(test_replicas_patroni__switchover_refused_while_paused)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = ptn_t_spec(fc, ptn_yaml);
	struct repl_live *live;

	T_ASSERT(spec != NULL);
	live = ptn_t_live(fc, ptn_cluster_json, ptn_config_json);
	T_ASSERT(live != NULL);
	T_ASSERT(repl_diff_spec(fake_host_ctx(fc), spec, live, "switchover",
				"node2") != 0);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "Patroni is paused: dbops does not switch over");
	T_ASSERT_INT(fc->nchanges, 0);
	fake_host_free(fc);
}

TEST(test_replicas_patroni__switchover_needs_a_synchronous_candidate)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = ptn_t_spec(fc, ptn_yaml);
	struct repl_live *live;

	T_ASSERT(spec != NULL);
	live = ptn_t_live(
	    fc,
	    "{\"members\": [{\"name\": \"node1\", \"role\": \"leader\", "
	    "\"state\": \"running\"}, {\"name\": \"node2\", \"role\": "
	    "\"replica\", \"state\": \"running\", \"lag\": 0}, {\"name\": "
	    "\"node3\", \"role\": \"sync_standby\", \"state\": \"running\", "
	    "\"lag\": 0}]}",
	    "{\"synchronous_mode\": true}");
	T_ASSERT(live != NULL);
	T_ASSERT(repl_diff_spec(fake_host_ctx(fc), spec, live, "switchover",
				"node2") != 0);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "member \"node2\" is not a synchronous standby");
	fake_host_free(fc);
	fc = fake_host_new("replicas");
	spec = ptn_t_spec(fc, ptn_yaml);
	live = ptn_t_live(
	    fc,
	    "{\"members\": [{\"name\": \"node1\", \"role\": \"leader\", "
	    "\"state\": \"running\"}, {\"name\": \"node3\", \"role\": "
	    "\"sync_standby\", \"state\": \"running\", \"lag\": 0}]}",
	    "{\"synchronous_mode\": true}");
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, "switchover",
				    "node3"),
		     0);
	T_ASSERT_INT(fc->nchanges, 3);
	T_ASSERT_CONTAINS(
	    fake_host_change(fc, "replicas.switchover.2-switchover")->sql,
	    "POST /switchover {\"leader\": \"node1\", \"candidate\": \"node3\"}");
	fake_host_free(fc);
}

TEST(test_replicas_patroni__drill_refused_without_the_flag)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = ptn_t_spec(fc, ptn_yaml);
	struct repl_live *live;

	T_ASSERT(spec != NULL);
	live = ptn_t_live(fc,
			  "{\"members\": [{\"name\": \"node1\", \"role\": "
			  "\"leader\", \"state\": \"running\"}, {\"name\": "
			  "\"node2\", \"role\": \"replica\", \"state\": "
			  "\"running\", \"lag\": 0}]}",
			  ptn_config_json);
	fc->mode = "drill failover";
	T_ASSERT(repl_diff_spec(fake_host_ctx(fc), spec, live, "drill failover",
				NULL) != 0);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "refused without --i-understand-this-kills-the-primary");
	T_ASSERT_INT(fc->nchanges, 0);
	fake_host_free(fc);
}

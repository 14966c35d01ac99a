/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_replicas.c — the "replicas" plugin against a fake host: the spec
 * checks of validate, synchronous_standby_names in canonical form, the
 * comparison of replication settings, and the diff over hand-made live
 * models: members and slots to create, the held-back rule for the
 * synchronous set, removal of absent members, convergence.
 */
#include "t.h"

#include <string.h>

#include "fake_host.h"
#include "../../plugins/replicas/replicas_int.h"

static const char repl_yaml[] =
    "replicas:\n"
    "  provider: local\n"
    "  synchronous: {mode: any, count: 1}\n"
    "  settings: {wal_keep_size: 32MB}\n"
    "  members:\n"
    "    - {name: r1, port: 5433, data_dir: /srv/r1}\n"
    "    - {name: r2, port: 5434, data_dir: /srv/r2, sync: false}\n";

static struct repl_spec *repl_t_spec(struct fake_ctx *fc, const char *yaml)
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

/* A live model: a primary whose wal_keep_size is `keep` (MB), with
 * `nsenders` walsenders and the slots named. */
static struct repl_live *repl_t_live(struct fake_ctx *fc, const char *keep,
				     const char *sync_names)
{
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	const struct dbops_host *h = dbops_host(ctx);
	struct repl_live *live = h->alloc(ctx, sizeof(*live));

	live->sync_names = sync_names;
	live->settings = h->alloc(ctx, sizeof(*live->settings));
	live->settings[0].name = "wal_keep_size";
	live->settings[0].setting = keep;
	live->settings[0].unit = "MB";
	live->settings[0].context = "sighup";
	live->nsettings = 1;
	live->senders = h->alloc(ctx, 4 * sizeof(*live->senders));
	live->slots = h->alloc(ctx, 4 * sizeof(*live->slots));
	live->members = h->alloc(ctx, 4 * sizeof(*live->members));
	live->nmembers = 2;
	return live;
}

static void repl_t_sender(struct repl_live *live, const char *name,
			  const char *state)
{
	struct repl_sender *s = &live->senders[live->nsenders++];

	s->app_name = name;
	s->state = state;
	s->sync_state = "async";
}

static void repl_t_slot(struct repl_live *live, const char *name, bool active)
{
	struct repl_slot *s = &live->slots[live->nslots++];

	s->name = name;
	s->type = "physical";
	s->active = active;
	s->wal_status = "reserved";
}

TEST(test_replicas__validate_reports_every_problem)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	const struct dbops_node *root = fake_host_spec(
	    fc, "replicas:\n"
		"  synchronous: {mode: any, count: 2}\n"
		"  settings: {work_mem: 4MB}\n"
		"  members:\n"
		"    - {name: Replica-1, port: 5433, data_dir: /a}\n"
		"    - {name: r2, port: 5434}\n"
		"    - {name: r3, port: 5435, data_dir: rel}\n");
	struct repl_spec *spec;

	T_ASSERT(root != NULL);
	T_ASSERT(
	    repl_spec_parse(
		&spec, fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "replicas")) ==
	    DBOPS_ERR_INVALID);
	/* bad name, missing data_dir, relative data_dir, not a replication
	 * setting */
	T_ASSERT_INT(fc->diags.nerrors, 4);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "invalid member name \"Replica-1\"");
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "member \"r2\" has no data_dir");
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "setting \"work_mem\" is not a replication setting");
	fake_host_free(fc);
}

TEST(test_replicas__validate_sync_count_and_duplicates)
{
	struct fake_ctx *fc = fake_host_new("replicas");

	T_ASSERT(repl_t_spec(
		     fc, "replicas:\n"
			 "  provider: external\n"
			 "  synchronous: {mode: first, count: 2}\n"
			 "  members:\n"
			 "    - {name: a, port: 5433}\n"
			 "    - {name: b, port: 5434, sync: false}\n") == NULL);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "synchronous.count is 2 but only 1 member may be synchronous");
	fake_host_free(fc);

	fc = fake_host_new("replicas");
	T_ASSERT(repl_t_spec(fc, "replicas:\n"
				 "  provider: external\n"
				 "  members:\n"
				 "    - {name: a, port: 5433}\n"
				 "    - {name: a, port: 5434}\n") == NULL);
	T_ASSERT_CONTAINS(fake_host_render(fc), "member \"a\" is listed twice");
	fake_host_free(fc);
}

/* The model of a spec that has problems (repl_t_spec gives NULL). */
static struct repl_spec *repl_t_refused(struct fake_ctx *fc, const char *yaml)
{
	const struct dbops_node *root = fake_host_spec(fc, yaml);
	struct repl_spec *spec = NULL;

	if (root == NULL ||
	    repl_spec_parse(
		&spec, fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "replicas")) !=
		DBOPS_ERR_INVALID)
		return NULL;
	return spec;
}

TEST(test_replicas__refused_member_state_does_not_reach_the_next)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *s = repl_t_refused(
	    fc, "replicas:\n"
		"  members:\n"
		"    - {name: a, state: absent, data_dir: relative}\n"
		"    - {name: b, port: 5434, data_dir: /srv/b}\n");

	T_ASSERT(s != NULL);
	T_ASSERT_INT(fc->diags.nerrors, 1);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "data_dir must be an absolute path");
	T_ASSERT_INT(s->nmembers, 1);
	T_ASSERT_STR(s->members[0].name, "b");
	T_ASSERT(!s->members[0].absent);
	fake_host_free(fc);
}

TEST(test_replicas__refused_member_data_dir_does_not_reach_the_next)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *s =
	    repl_t_refused(fc, "replicas:\n"
			       "  members:\n"
			       "    - {name: a, data_dir: /srv/a, port: 0}\n"
			       "    - {name: b, port: 5434}\n");

	T_ASSERT(s != NULL);
	T_ASSERT_INT(fc->diags.nerrors, 2);
	T_ASSERT_CONTAINS(fake_host_render(fc), "member \"b\" has no data_dir");
	T_ASSERT_INT(s->nmembers, 0);
	fake_host_free(fc);
}

TEST(test_replicas__duration_without_unit_too_large_is_refused)
{
	struct fake_ctx *fc = fake_host_new("replicas");

	/* 18446744073709612 s is 2^64 + 60384 ms: wrapped around, it would
	 * pass for a minute */
	T_ASSERT(repl_t_refused(fc,
				"replicas:\n"
				"  provider: external\n"
				"  wait_timeout: 18446744073709612\n") != NULL);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "wait_timeout must be a duration from 1s to 24h");
	fake_host_free(fc);
}

TEST(test_replicas__sync_names_canonical)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct dbops_ctx *ctx = fake_host_ctx(fc);

	T_ASSERT_STR(repl_sync_canonical(ctx, ""), "");
	T_ASSERT_STR(repl_sync_canonical(ctx, "ANY 1 (a,b)"), "ANY 1 (a, b)");
	T_ASSERT_STR(repl_sync_canonical(ctx, "any 2(A, b)"), "ANY 2 (a, b)");
	T_ASSERT_STR(repl_sync_canonical(ctx, "a, b"), "FIRST 1 (a, b)");
	T_ASSERT_STR(repl_sync_canonical(ctx, "2 (a, \"B c\")"),
		     "FIRST 2 (a, \"B c\")");
	T_ASSERT_STR(repl_sync_canonical(ctx, "*"), "FIRST 1 (*)");
	T_ASSERT(repl_sync_canonical(ctx, "ANY 1 (a") == NULL);
	fake_host_free(fc);
}

TEST(test_replicas__sync_names_exclude_async_members)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(fc, repl_yaml);

	T_ASSERT(spec != NULL);
	T_ASSERT_STR(repl_sync_names(fake_host_ctx(fc), spec), "ANY 1 (r1)");
	spec->sync_mode = REPL_SYNC_FIRST;
	spec->members[1].sync = true;
	T_ASSERT_STR(repl_sync_names(fake_host_ctx(fc), spec),
		     "FIRST 1 (r1, r2)");
	spec->sync_mode = REPL_SYNC_OFF;
	T_ASSERT_STR(repl_sync_names(fake_host_ctx(fc), spec), "");
	fake_host_free(fc);
}

TEST(test_replicas__settings_compare_with_units)
{
	struct repl_setting_live keep = {.name = "wal_keep_size", .unit = "MB"};
	struct repl_setting_live fb = {.name = "hot_standby_feedback"};
	struct repl_setting_live lvl = {.name = "wal_level"};
	struct repl_setting_live snd = {.name = "max_wal_senders"};

	T_ASSERT(repl_setting_equal(&keep, "32", "32MB"));
	T_ASSERT(repl_setting_equal(&keep, "1024", "1GB"));
	T_ASSERT(repl_setting_equal(&keep, "1GB", "1024MB"));
	T_ASSERT(!repl_setting_equal(&keep, "0", "32MB"));
	T_ASSERT(repl_setting_equal(&fb, "off", "false"));
	T_ASSERT(repl_setting_equal(&fb, "on", "yes"));
	T_ASSERT(!repl_setting_equal(&fb, "on", "off"));
	T_ASSERT(repl_setting_equal(&lvl, "replica", "hot_standby"));
	T_ASSERT(!repl_setting_equal(&lvl, "replica", "logical"));
	T_ASSERT(repl_setting_equal(&snd, "10", "10"));
	T_ASSERT(!repl_setting_equal(&snd, "10", "12"));
}

TEST(test_replicas__diff_creates_missing_members)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(fc, repl_yaml);
	struct repl_live *live = repl_t_live(fc, "0", "");
	const struct dbops_change *c;
	const struct repl_payload *p;

	T_ASSERT(spec != NULL);
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, NULL, NULL),
		     0);
	T_ASSERT_INT(fc->nchanges, 6);
	c = fake_host_change(fc, "replicas.setting.wal_keep_size");
	T_ASSERT(c != NULL);
	T_ASSERT_CONTAINS(c->sql, "ALTER SYSTEM SET wal_keep_size = '32MB'");
	c = fake_host_change(fc, "replicas.slot.r1");
	T_ASSERT(c != NULL && c->action == DBOPS_ACTION_CREATE);
	T_ASSERT_INT(c->phase, DBOPS_PHASE_REPLICAS + 1);
	c = fake_host_change(fc, "replicas.member.r2");
	T_ASSERT(c != NULL && c->action == DBOPS_ACTION_CREATE);
	T_ASSERT_CONTAINS(c->sql, "-S r2 -d 'application_name=r2'");
	T_ASSERT_INT(c->phase, DBOPS_PHASE_REPLICAS + 2);
	/* the sync set comes after the standbys it names */
	c = fake_host_change(fc, "replicas.synchronous_standby_names");
	T_ASSERT(c != NULL);
	T_ASSERT_INT(c->phase, DBOPS_PHASE_REPLICAS + 3);
	T_ASSERT_CONTAINS(c->reason, "created by this plan");
	p = c->payload;
	T_ASSERT_STR(p->value, "ANY 1 (r1)");
	T_ASSERT_INT(p->min_streaming, 1);
	T_ASSERT_INT(p->nsync_members, 1);
	T_ASSERT_INT(fc->diags.nwarnings, 0);
	fake_host_free(fc);
}

TEST(test_replicas__sync_held_back_while_standby_down)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(fc, repl_yaml);
	struct repl_live *live = repl_t_live(fc, "32", "");

	T_ASSERT(spec != NULL);
	/* both exist; r1 is stopped, r2 (async) streams */
	live->members[0].data_exists = true;
	live->members[1].data_exists = true;
	live->members[1].reachable = true;
	repl_t_slot(live, "r1", false);
	repl_t_slot(live, "r2", true);
	repl_t_sender(live, "r2", "streaming");
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, NULL, NULL),
		     0);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_INT(fc->diags.nwarnings, 2);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "synchronous_standby_names is held back: 0 of the 1 standbys it would name stream, and 1 must");
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "standby \"r1\" is not running");
	fake_host_free(fc);
}

TEST(test_replicas__sync_published_when_streaming)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(fc, repl_yaml);
	struct repl_live *live = repl_t_live(fc, "32", "");
	const struct dbops_change *c;

	T_ASSERT(spec != NULL);
	for (size_t i = 0; i < 2; i++) {
		live->members[i].data_exists = true;
		live->members[i].reachable = true;
		live->members[i].running = true;
	}
	repl_t_slot(live, "r1", true);
	repl_t_slot(live, "r2", true);
	repl_t_sender(live, "r1", "catchup");
	repl_t_sender(live, "r1", "streaming");
	repl_t_sender(live, "r2", "streaming");
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, NULL, NULL),
		     0);
	T_ASSERT_INT(fc->nchanges, 1);
	c = fake_host_change(fc, "replicas.synchronous_standby_names");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(c->reason, "1 of the named standbys stream");
	T_ASSERT_CONTAINS(
	    c->sql,
	    "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (r1)'");
	fake_host_free(fc);
}

TEST(test_replicas__converged_plans_nothing)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(fc, repl_yaml);
	/* written differently, same meaning */
	struct repl_live *live = repl_t_live(fc, "32", "any 1 ( r1 )");

	T_ASSERT(spec != NULL);
	for (size_t i = 0; i < 2; i++) {
		live->members[i].data_exists = true;
		live->members[i].reachable = true;
		live->members[i].running = true;
	}
	repl_t_slot(live, "r1", true);
	repl_t_slot(live, "r2", true);
	repl_t_sender(live, "r1", "streaming");
	repl_t_sender(live, "r2", "streaming");
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, NULL, NULL),
		     0);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_INT(fc->diags.nwarnings, 0);
	fake_host_free(fc);
}

TEST(test_replicas__absent_member_removed_destructively)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(
	    fc,
	    "replicas:\n"
	    "  synchronous: {mode: any, count: 1}\n"
	    "  members:\n"
	    "    - {name: r1, port: 5433, data_dir: /srv/r1}\n"
	    "    - {name: r2, port: 5434, data_dir: /srv/r2, state: absent}\n");
	struct repl_live *live = repl_t_live(fc, "0", "ANY 1 (r1, r2)");
	const struct dbops_change *c;

	T_ASSERT(spec != NULL);
	live->nsettings = 0;
	for (size_t i = 0; i < 2; i++) {
		live->members[i].data_exists = true;
		live->members[i].reachable = true;
		live->members[i].running = true;
	}
	repl_t_slot(live, "r1", true);
	repl_t_slot(live, "r2", true);
	repl_t_sender(live, "r1", "streaming");
	repl_t_sender(live, "r2", "streaming");
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, NULL, NULL),
		     0);
	T_ASSERT_INT(fc->nchanges, 2);
	c = fake_host_change(fc, "replicas.member.r2");
	T_ASSERT(c != NULL && c->action == DBOPS_ACTION_DELETE);
	T_ASSERT(c->flags & DBOPS_CHANGE_DESTRUCTIVE);
	T_ASSERT(!(c->flags & DBOPS_CHANGE_IRREVERSIBLE));
	/* the sync set drops it before the member stops */
	c = fake_host_change(fc, "replicas.synchronous_standby_names");
	T_ASSERT(c != NULL);
	T_ASSERT_INT(c->phase, DBOPS_PHASE_REPLICAS + 3);
	T_ASSERT_INT(fake_host_change(fc, "replicas.member.r2")->phase,
		     DBOPS_PHASE_REPLICAS + 4);
	fake_host_free(fc);
}

TEST(test_replicas__external_provider_manages_slots_only)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(
	    fc,
	    "replicas:\n"
	    "  provider: external\n"
	    "  members:\n"
	    "    - {name: e1, host: 10.0.0.5, port: 5432}\n"
	    "    - {name: e2, host: 10.0.0.6, port: 5432, state: absent}\n");
	struct repl_live *live = repl_t_live(fc, "0", "");
	const struct dbops_change *c;

	T_ASSERT(spec != NULL);
	live->nsettings = 0;
	repl_t_slot(live, "e2", false);
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, NULL, NULL),
		     0);
	T_ASSERT_INT(fc->nchanges, 2);
	T_ASSERT(fake_host_change(fc, "replicas.member.e1") == NULL);
	c = fake_host_change(fc, "replicas.slot.e1");
	T_ASSERT(c != NULL && c->action == DBOPS_ACTION_CREATE);
	c = fake_host_change(fc, "replicas.slot.e2");
	T_ASSERT(c != NULL && c->action == DBOPS_ACTION_DELETE);
	T_ASSERT(c->flags & DBOPS_CHANGE_DESTRUCTIVE);
	fake_host_free(fc);
}

TEST(test_replicas__target_standby_refused)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(fc, repl_yaml);
	struct repl_live *live = repl_t_live(fc, "0", "");

	T_ASSERT(spec != NULL);
	live->in_recovery = true;
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, NULL, NULL),
		     DBOPS_ERR_CONFLICT);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "the cluster dbops connects to is a standby");
	fake_host_free(fc);
}

TEST(test_replicas__switchover_plans_four_steps)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(fc, repl_yaml);
	struct repl_live *live = repl_t_live(fc, "32", "");

	T_ASSERT(spec != NULL);
	live->data_directory = "/srv/primary";
	live->port = 5432;
	repl_t_sender(live, "r1", "streaming");
	T_ASSERT_INT(
	    repl_diff_spec(fake_host_ctx(fc), spec, live, "switchover", "r2"),
	    DBOPS_ERR_CONFLICT); /* r2 does not stream */
	T_ASSERT_INT(
	    repl_diff_spec(fake_host_ctx(fc), spec, live, "switchover", "nope"),
	    DBOPS_ERR_NOTFOUND);
	T_ASSERT_INT(fc->nchanges, 0);
	T_ASSERT_INT(
	    repl_diff_spec(fake_host_ctx(fc), spec, live, "switchover", "r1"),
	    0);
	T_ASSERT_INT(fc->nchanges, 4);
	T_ASSERT(fake_host_change(fc, "replicas.switchover.1-check") != NULL);
	T_ASSERT_CONTAINS(
	    fake_host_change(fc, "replicas.switchover.2-stop-primary")->sql,
	    "pg_ctl stop -D /srv/primary -m fast");
	T_ASSERT(fake_host_change(fc, "replicas.switchover.4-rejoin") != NULL);
	fake_host_free(fc);
}

TEST(test_replicas__busy_port_refused_for_new_standby)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(fc, repl_yaml);
	struct repl_live *live = repl_t_live(fc, "32", "");

	T_ASSERT(spec != NULL);
	live->members[0].port_busy = true;
	T_ASSERT_INT(repl_diff_spec(fake_host_ctx(fc), spec, live, NULL, NULL),
		     DBOPS_ERR_CONFLICT);
	T_ASSERT(fake_host_change(fc, "replicas.member.r1") == NULL);
	T_ASSERT(fake_host_change(fc, "replicas.member.r2") != NULL);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "something listens on 127.0.0.1:5433, the address of new standby \"r1\"");
	fake_host_free(fc);
}

TEST(test_replicas__status_reports_blocked_commits_and_orphans)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	struct repl_spec *spec = repl_t_spec(fc, repl_yaml);
	struct repl_live *live = repl_t_live(fc, "32", "ANY 1 (r1)");

	T_ASSERT(spec != NULL);
	for (size_t i = 0; i < 2; i++)
		live->members[i].data_exists = true;
	live->members[1].reachable = true;
	live->members[1].in_recovery = true;
	repl_t_slot(live, "r1", false);
	repl_t_slot(live, "r2", true);
	repl_t_slot(live, "leftover", false);
	live->slots[2].retained_bytes = 64 * 1024 * 1024;
	repl_t_sender(live, "r2", "streaming");
	live->senders[0].lag_bytes = 32 * 1024 * 1024;
	spec->max_lag_bytes = 16 * 1024 * 1024;
	T_ASSERT_INT(repl_status_spec(fake_host_ctx(fc), spec, live), 0);
	/* r1 down, r2 lags, orphaned slot; commits wait for r1 */
	T_ASSERT_INT(fc->diags.nwarnings, 3);
	T_ASSERT_INT(fc->diags.nerrors, 1);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "commits wait: only 0 of the synchronous standbys stream, and 1 must");
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "orphaned replication slot \"leftover\" retains 64 MB of WAL");
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "standby \"r2\" lags 32 MB behind the primary");
	T_ASSERT_CONTAINS(fc->out, "r2               standby  streaming");
	fake_host_free(fc);
}

TEST(test_replicas__switchover_mode_from_host)
{
	static const char *const args[] = {"to", "r1"};
	struct fake_ctx *fc = fake_host_new("replicas");
	const struct dbops_node *root = fake_host_spec(fc, repl_yaml);
	struct repl_live *live = repl_t_live(fc, "32", "");

	T_ASSERT(root != NULL);
	live->data_directory = "/srv/primary";
	repl_t_sender(live, "r1", "streaming");
	fc->mode = "switchover";
	fc->args = args;
	fc->nargs = 1;
	T_ASSERT_INT(
	    repl_diff(fake_host_ctx(fc),
		      dbops_host(fake_host_ctx(fc))->spec_get(root, "replicas"),
		      live),
	    0);
	/* only the switchover steps: no slot or member changes */
	T_ASSERT_INT(fc->nchanges, 4);
	T_ASSERT(fake_host_change(fc, "replicas.switchover.3-promote") != NULL);
	fake_host_free(fc);
}

/* ---- what validate tells the others: facts, and the trust keys */

static const char *rt_fact(const struct fake_ctx *fc, const char *name)
{
	for (size_t i = 0; i < fc->nfacts; i++)
		if (strcmp(fc->facts[i].name, name) == 0)
			return fc->facts[i].value;
	return NULL;
}

TEST(test_replicas__validate_publishes_members_and_limits)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	const struct dbops_node *root = fake_host_spec(
	    fc,
	    "replicas:\n"
	    "  synchronous: {mode: first, count: 1}\n"
	    "  max_lag: {bytes: 16MB, time: 10s}\n"
	    "  bindir: /usr/lib/postgresql/15/bin\n"
	    "  members:\n"
	    "    - {name: r1, host: 10.0.0.5, port: 5433, data_dir: /a}\n"
	    "    - {name: r2, port: 5434, data_dir: /b, sync: false}\n"
	    "    - {name: gone, port: 5435, data_dir: /c, state: absent}\n");
	const struct dbops_node *sec;

	T_ASSERT(root != NULL);
	sec = dbops_host(fake_host_ctx(fc))->spec_get(root, "replicas");
	T_ASSERT_INT(repl_validate(fake_host_ctx(fc), sec), 0);
	T_ASSERT_STR(rt_fact(fc, "replicas.provider"), "local");
	T_ASSERT_STR(rt_fact(fc, "replicas.synchronous.mode"), "first");
	T_ASSERT_STR(rt_fact(fc, "replicas.max_lag.bytes"), "16777216");
	T_ASSERT_STR(rt_fact(fc, "replicas.max_lag.time"), "10000");
	T_ASSERT_STR(rt_fact(fc, "replicas.member.r1.host"), "10.0.0.5");
	T_ASSERT_STR(rt_fact(fc, "replicas.member.r1.port"), "5433");
	T_ASSERT_STR(rt_fact(fc, "replicas.member.r2.host"), "127.0.0.1");
	T_ASSERT_STR(rt_fact(fc, "replicas.member.r2.sync"), "false");
	T_ASSERT_STR(rt_fact(fc, "replicas.member.r2.data_dir"), "/b");
	/* a member to remove is no member for the others */
	T_ASSERT(rt_fact(fc, "replicas.member.gone.port") == NULL);
	/* trust keys: bindir; each member's host (when given), port and
	 * data_dir — the removed one's too: it is still where dbops goes */
	T_ASSERT_INT(fc->ntrust, 1 + 3 + 2 + 2);
	T_ASSERT_INT(fc->trust[0].kind, DBOPS_TRUST_EXEC);
	T_ASSERT_INT(fc->trust[1].kind, DBOPS_TRUST_CONNECTION);
	T_ASSERT_STR(fc->trust[1].node->scalar, "10.0.0.5");
	T_ASSERT_INT(fc->trust[3].kind, DBOPS_TRUST_PATH);
	fake_host_free(fc);
}

TEST(test_replicas__refused_section_publishes_nothing)
{
	struct fake_ctx *fc = fake_host_new("replicas");
	const struct dbops_node *root =
	    fake_host_spec(fc, "replicas:\n"
			       "  members:\n"
			       "    - {name: r1, port: 5433, data_dir: rel}\n");

	T_ASSERT(root != NULL);
	T_ASSERT_INT(
	    repl_validate(
		fake_host_ctx(fc),
		dbops_host(fake_host_ctx(fc))->spec_get(root, "replicas")),
	    DBOPS_ERR_INVALID);
	T_ASSERT_INT(fc->nfacts, 0);
	T_ASSERT_INT(fc->ntrust, 0);
	fake_host_free(fc);
}

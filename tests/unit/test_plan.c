/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_plan.c — plan ordering, counting and the three renderings (text
 * with and without colour, markdown, json) against golden files, and that
 * sensitive values never reach any rendering.
 */
#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "t.h"

static const struct source_revision rev = {
    .kind = "git",
    .origin = "/srv/specs",
    .commit = "0123456789abcdef0123456789abcdef01234567",
    .ref = "main",
    .subject = "Tune memory and roles",
    .author = "Ops <ops@example.com>",
};

/* A plan of two plugins, built out of order on purpose. */
static void build(struct plan *p, struct arena *a)
{
	struct plan_change *c;

	memset(p, 0, sizeof(*p));
	p->cluster = "prod";
	p->spec_path = "clusters/prod/cluster.yaml";
	p->revision = &rev;
	p->source_fingerprint = rev.commit;
	p->live_fingerprint = "feedface";

	c = plan_append(p, a, 1, "roles", 20, DBOPS_ACTION_CREATE,
			"roles.role.app");
	plan_attr(c, a, "login", NULL, "true", false);
	plan_attr(c, a, "password", NULL, "hunter2-secret", true);
	c->change.sql = "CREATE ROLE app LOGIN PASSWORD (redacted)";
	c->change.loc = (struct dbops_loc){"clusters/prod/cluster.yaml", 9, 5};

	c = plan_append(p, a, 0, "parameters", 10, DBOPS_ACTION_UPDATE,
			"parameters.work_mem");
	plan_attr(c, a, "value", "4MB", "16MB", false);
	c->change.sql = "ALTER SYSTEM SET work_mem = '16MB'";
	c->change.flags = DBOPS_CHANGE_NONTX;
	c->change.loc = (struct dbops_loc){"clusters/prod/cluster.yaml", 5, 3};

	c = plan_append(p, a, 1, "roles", 20, DBOPS_ACTION_DELETE,
			"roles.role.legacy");
	plan_attr(c, a, "login", "true", NULL, false);
	c->change.flags = DBOPS_CHANGE_DESTRUCTIVE;
	c->change.reason = "state: absent in the spec";
	c->change.sql = "DROP ROLE legacy";

	c = plan_append(p, a, 0, "parameters", 10, DBOPS_ACTION_UPDATE,
			"parameters.shared_buffers");
	plan_attr(c, a, "value", "32MB", "1GB", false);
	c->change.flags = DBOPS_CHANGE_NONTX | DBOPS_CHANGE_NEEDS_RESTART;
	c->change.reason = "needs a server restart to take effect";
	c->change.sql = "ALTER SYSTEM SET shared_buffers = '1GB'";
	plan_sort(p);
}

TEST(test_plan__orders_by_plugin_then_address)
{
	struct arena *a = arena_new();
	struct plan p;

	build(&p, a);
	T_ASSERT_INT(p.n, 4);
	T_ASSERT_STR(p.changes[0]->change.address, "parameters.shared_buffers");
	T_ASSERT_STR(p.changes[1]->change.address, "parameters.work_mem");
	T_ASSERT_STR(p.changes[2]->change.address, "roles.role.app");
	T_ASSERT_STR(p.changes[3]->change.address, "roles.role.legacy");
	T_ASSERT_INT(p.changes[0]->change.id, 1);
	T_ASSERT_INT(p.changes[3]->change.id, 4);
	arena_free(a);
}

TEST(test_plan__counts_add_change_destroy)
{
	struct arena *a = arena_new();
	struct plan p;
	struct plan_counts k;

	build(&p, a);
	k = plan_count(&p);
	T_ASSERT_INT(k.add, 1);
	T_ASSERT_INT(k.change, 2);
	T_ASSERT_INT(k.destroy, 1);
	arena_free(a);
}

TEST(test_plan__renders_text)
{
	struct arena *a = arena_new();
	struct plan p;
	struct strbuf sb;
	struct plan_render_opts o = {false, NULL, false};

	build(&p, a);
	strbuf_init(&sb);
	plan_render_text(&sb, &p, &o);
	T_ASSERT_GOLDEN("plan_text.out", sb.buf);
	T_ASSERT(strstr(sb.buf, "hunter2") == NULL);
	T_ASSERT(strstr(sb.buf, "\033[") == NULL);
	strbuf_dispose(&sb);
	arena_free(a);
}

TEST(test_plan__renders_text_in_colour_on_request)
{
	struct arena *a = arena_new();
	struct plan p;
	struct strbuf sb;
	struct plan_render_opts o = {true, "out.plan", false};

	build(&p, a);
	strbuf_init(&sb);
	plan_render_text(&sb, &p, &o);
	T_ASSERT_CONTAINS(sb.buf, "\033[32m+\033[0m roles.role.app {");
	T_ASSERT_CONTAINS(sb.buf, "Saved the plan to: out.plan");
	T_ASSERT_CONTAINS(sb.buf, "    dbops apply out.plan");
	strbuf_dispose(&sb);
	arena_free(a);
}

TEST(test_plan__renders_empty_plan)
{
	struct arena *a = arena_new();
	struct plan p;
	struct strbuf sb;
	struct plan_render_opts o = {false, NULL, false};

	memset(&p, 0, sizeof(p));
	p.cluster = "prod";
	p.revision = &rev;
	strbuf_init(&sb);
	plan_render_text(&sb, &p, &o);
	T_ASSERT_CONTAINS(sb.buf,
			  "No changes. The cluster matches the desired state.");
	T_ASSERT(strstr(sb.buf, "Plan:") == NULL);
	strbuf_dispose(&sb);
	arena_free(a);
}

TEST(test_plan__renders_markdown)
{
	struct arena *a = arena_new();
	struct plan p;
	struct strbuf sb;

	build(&p, a);
	strbuf_init(&sb);
	plan_render_markdown(&sb, &p);
	T_ASSERT_GOLDEN("plan_markdown.out", sb.buf);
	T_ASSERT(strstr(sb.buf, "hunter2") == NULL);
	strbuf_dispose(&sb);
	arena_free(a);
}

TEST(test_plan__renders_json)
{
	struct arena *a = arena_new();
	struct plan p;
	struct strbuf sb;

	build(&p, a);
	strbuf_init(&sb);
	plan_render_json(&sb, &p);
	T_ASSERT_GOLDEN("plan_json.out", sb.buf);
	T_ASSERT(strstr(sb.buf, "hunter2") == NULL);
	T_ASSERT_CONTAINS(
	    sb.buf,
	    "\"sensitive_attributes\": [\n        \"password\"\n      ]");
	strbuf_dispose(&sb);
	arena_free(a);
}

TEST(test_plan__renders_identically_twice)
{
	struct arena *a = arena_new();
	struct plan p1, p2;
	struct strbuf s1, s2;

	build(&p1, a);
	build(&p2, a);
	strbuf_init(&s1);
	strbuf_init(&s2);
	plan_render_json(&s1, &p1);
	plan_render_json(&s2, &p2);
	T_ASSERT_STR(s1.buf, s2.buf);
	T_ASSERT_STR(plan_changes_json(&p1, a), plan_changes_json(&p2, a));
	strbuf_dispose(&s1);
	strbuf_dispose(&s2);
	arena_free(a);
}

TEST(test_plan__renders_attribute_without_values)
{
	struct arena *a = arena_new();
	struct plan p;
	struct strbuf sb;
	struct plan_render_opts o = {false, NULL, false};
	struct plan_change *c;

	memset(&p, 0, sizeof(p));
	c = plan_append(&p, a, 0, "x", 10, DBOPS_ACTION_RUN, "x.note");
	plan_attr(c, a, "checksum", NULL, NULL, false);
	plan_sort(&p);
	strbuf_init(&sb);
	plan_render_text(&sb, &p, &o);
	T_ASSERT_CONTAINS(sb.buf, "        checksum = null\n");
	strbuf_dispose(&sb);
	strbuf_init(&sb);
	plan_render_markdown(&sb, &p);
	T_ASSERT_CONTAINS(sb.buf, "checksum: `(none)` → `(none)`");
	strbuf_dispose(&sb);
	arena_free(a);
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_migrations_expand.c — expand/contract changes without a server:
 * the spec (operations, names, states), the SQL each step runs and the
 * locks it shows, the backfill's assignments, the gate's verdicts and the
 * lock-retry backoff.
 */
#include "t.h"

#include <stdio.h>
#include <string.h>

#include "fake_host.h"
#include "../../plugins/migrations/change.h"

#define ME_HEAD                                                                \
	"migrations:\n"                                                        \
	"  databases:\n"                                                       \
	"    - database: app\n"                                                \
	"      locations: [m]\n"                                               \
	"      changes:\n"

static struct mig_spec *me_load(struct fake_ctx *fc, const char *changes,
				int want)
{
	char yaml[4096];
	struct mig_spec *spec = NULL;
	const struct dbops_node *root;

	snprintf(yaml, sizeof(yaml), "%s%s", ME_HEAD, changes);
	root = fake_host_spec(fc, yaml);
	if (root == NULL)
		return NULL;
	if (mig_spec_load(&spec, fake_host_ctx(fc), root->items[0],
			  MIG_LOAD_SPEC) != want)
		return NULL;
	return spec;
}

static bool me_has(struct fake_ctx *fc, const char *needle)
{
	for (const struct dbops_diag *d = fc->diags.head; d != NULL;
	     d = d->next)
		if (strstr(d->message, needle) != NULL ||
		    (d->hint != NULL && strstr(d->hint, needle) != NULL))
			return true;
	return false;
}

static const char me_change_type[] =
    "        - name: orders_cents\n"
    "          table: shop.orders\n"
    "          state: expanded\n"
    "          operations:\n"
    "            - change_type: {column: total, to: cents, type: bigint,\n"
    "                            up: \"(total * 100)::bigint\",\n"
    "                            down: \"cents / 100.0\"}\n";

/* The orders table as observe would find it. */
static struct mig_chtable me_table(void)
{
	static struct mig_chcolumn cols[] = {
	    {"id", "bigint", true},
	    {"total", "numeric(12,2)", false},
	};
	struct mig_chtable t;

	memset(&t, 0, sizeof(t));
	t.exists = true;
	t.cols = cols;
	t.ncols = 2;
	t.key = "id";
	t.key_type = "bigint";
	t.rows = 1000;
	return t;
}

TEST(test_migrations_expand__spec_reads_a_change)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_spec *spec = me_load(fc, me_change_type, 0);
	const struct mig_chspec *c;

	T_ASSERT(spec != NULL);
	T_ASSERT_INT(spec->dbs[0].nchanges, 1);
	c = &spec->dbs[0].changes[0];
	T_ASSERT_STR(c->schema, "shop");
	T_ASSERT_STR(c->table, "orders");
	T_ASSERT_INT(c->want, MIG_CS_EXPANDED);
	T_ASSERT_INT(c->ops[0].kind, MIG_CH_CHANGE_TYPE);
	T_ASSERT_STR(c->ops[0].olds[0].name, "total");
	T_ASSERT_STR(c->ops[0].news[0].name, "cents");
	T_ASSERT(mig_ch_has_old(c));
	/* the defaults the README documents */
	T_ASSERT_INT(c->bf.batch_ms, 50);
	T_ASSERT_INT(c->bf.pause_ms, 100);
	T_ASSERT_INT(c->quiet_ms, 24LL * 3600 * 1000);
	T_ASSERT_INT(spec->lock_retries->lock_timeout_ms, 100);
	T_ASSERT_INT(spec->lock_retries->attempts, 20);
	fake_host_free(fc);
}

TEST(test_migrations_expand__spec_refuses_bad_changes)
{
	struct fake_ctx *fc = fake_host_new("migrations");

	T_ASSERT(
	    me_load(
		fc,
		"        - name: Bad-Name\n"
		"          table: t\n"
		"          state: expanded\n"
		"          operations: [{add_column: {column: a, type: int}}]\n",
		DBOPS_ERR_INVALID) != NULL);
	T_ASSERT(me_has(fc, "invalid change name"));
	T_ASSERT(
	    me_load(
		fc,
		"        - name: a\n"
		"          table: t\n"
		"          state: half\n"
		"          operations: [{add_colum: {column: a, type: int}}]\n",
		DBOPS_ERR_INVALID) != NULL);
	T_ASSERT(me_has(fc, "invalid change state"));
	T_ASSERT(
	    me_load(
		fc,
		"        - name: a\n"
		"          table: t\n"
		"          state: expanded\n"
		"          operations: [{add_colum: {column: a, type: int}}]\n",
		DBOPS_ERR_INVALID) != NULL);
	T_ASSERT(me_has(fc, "Did you mean \"add_column\"?"));
	/* the trigger's variables are named after the columns */
	T_ASSERT(
	    me_load(
		fc,
		"        - name: a\n"
		"          table: t\n"
		"          state: expanded\n"
		"          operations: [{rename_column: {column: a, to: new}}]\n",
		DBOPS_ERR_INVALID) != NULL);
	T_ASSERT(me_has(fc, "column name \"new\" cannot be used"));
	T_ASSERT(
	    me_load(
		fc,
		"        - name: a\n"
		"          table: t\n"
		"          state: expanded\n"
		"          operations: [{split_column: {column: a, into: [{column: b, type: int, up: \"1\"}], down: \"b\"}}]\n",
		DBOPS_ERR_INVALID) != NULL);
	T_ASSERT(me_has(fc, "at least two new columns"));
	/* a key missing from a nested map is located, not a crash */
	T_ASSERT(
	    me_load(
		fc,
		"        - name: a\n"
		"          table: t\n"
		"          state: expanded\n"
		"          operations: [{add_foreign_key: {columns: [c], references: {table: u}}}]\n",
		DBOPS_ERR_INVALID) != NULL);
	T_ASSERT(me_has(fc, "operation add_foreign_key needs \"columns\""));
	fake_host_free(fc);
}

TEST(test_migrations_expand__checksum_follows_the_definition)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_spec *a = me_load(fc, me_change_type, 0);
	struct mig_spec *b = me_load(
	    fc,
	    "        - name: orders_cents\n"
	    "          table: shop.orders\n"
	    "          state: contracted\n"
	    "          gate: {quiet_window: 5min}\n"
	    "          operations:\n"
	    "            - change_type: {column: total, to: cents, type: bigint,\n"
	    "                            up: \"(total * 100)::bigint\",\n"
	    "                            down: \"cents / 100.0\"}\n",
	    0);
	struct mig_spec *c = me_load(
	    fc,
	    "        - name: orders_cents\n"
	    "          table: shop.orders\n"
	    "          state: expanded\n"
	    "          operations:\n"
	    "            - change_type: {column: total, to: cents, type: int8}\n",
	    0);

	T_ASSERT(a != NULL && b != NULL && c != NULL);
	/* the state and the gate are not the definition */
	T_ASSERT_STR(a->dbs[0].changes[0].checksum,
		     b->dbs[0].changes[0].checksum);
	T_ASSERT(strcmp(a->dbs[0].changes[0].checksum,
			c->dbs[0].changes[0].checksum) != 0);
	fake_host_free(fc);
}

TEST(test_migrations_expand__expand_sql_and_its_locks)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct mig_spec *spec = me_load(fc, me_change_type, 0);
	struct mig_chtable t = me_table();
	struct mig_chplan p;
	struct mig_parsed r;
	const char *text;

	T_ASSERT(spec != NULL);
	memset(&p, 0, sizeof(p));
	p.spec = &spec->dbs[0].changes[0];
	p.table = &t;
	T_ASSERT_INT(mig_ch_expand_sql(&p, ctx), 0);
	text = mig_ch_ddl_text(ctx, p.ddl, p.nddl);
	T_ASSERT(
	    strstr(
		text,
		"ALTER TABLE \"shop\".\"orders\" ADD COLUMN IF NOT EXISTS \"cents\" bigint;\n") !=
	    NULL);
	T_ASSERT(
	    strstr(
		text,
		"CREATE OR REPLACE TRIGGER \"dbops_orders_cents_dw\" BEFORE INSERT OR UPDATE ON \"shop\".\"orders\" FOR EACH ROW") !=
	    NULL);
	/* the trigger never updates its table: it assigns to NEW */
	T_ASSERT(
	    strstr(
		text,
		"NEW.\"cents\" := /* dbops:expand */ ((total * 100)::bigint);") !=
	    NULL);
	T_ASSERT(
	    strstr(text,
		   "NEW.\"total\" := /* dbops:expand */ (cents / 100.0);") !=
	    NULL);
	T_ASSERT(strstr(text, "UPDATE \"shop\"") == NULL);
	T_ASSERT(
	    strstr(text, "current_setting('dbops.backfill', true) = 'on'") !=
	    NULL);
	T_ASSERT(
	    strstr(text,
		   "nextval('\"shop\".\"dbops_orders_cents_old_writes\"')") !=
	    NULL);
	T_ASSERT_STR(
	    p.rollback_sql,
	    "DROP TRIGGER IF EXISTS \"dbops_orders_cents_dw\" ON \"shop\".\"orders\";\n"
	    "DROP FUNCTION IF EXISTS \"shop\".\"dbops_orders_cents_dw\"();\n"
	    "DROP SEQUENCE IF EXISTS \"shop\".\"dbops_orders_cents_old_writes\";\n"
	    "ALTER TABLE \"shop\".\"orders\" DROP COLUMN IF EXISTS \"cents\";\n");
	/* the plan classifies what it generates like any migration */
	T_ASSERT_INT(mig_sql_parse(&r, ctx, text, NULL, MIG_PARSE_LOCKS), 0);
	T_ASSERT_STR(mig_lock_text(ctx, r.stmts[0].lock),
		     "AccessExclusive shop.orders, metadata only");
	T_ASSERT_STR(mig_lock_text(ctx, r.stmts[r.n - 1].lock),
		     "ShareRowExclusive shop.orders, metadata only");
	fake_host_free(fc);
}

TEST(test_migrations_expand__expand_refuses_columns_that_do_not_fit)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_spec *spec = me_load(
	    fc,
	    "        - name: a\n"
	    "          table: orders\n"
	    "          state: expanded\n"
	    "          operations:\n"
	    "            - rename_column: {column: missing, to: total}\n",
	    0);
	struct mig_chtable t = me_table();
	struct mig_chplan p;

	T_ASSERT(spec != NULL);
	memset(&p, 0, sizeof(p));
	p.spec = &spec->dbs[0].changes[0];
	p.table = &t;
	T_ASSERT_INT(mig_ch_expand_sql(&p, fake_host_ctx(fc)),
		     DBOPS_ERR_INVALID);
	T_ASSERT(me_has(fc, "has no column \"missing\""));
	T_ASSERT(me_has(fc, "already has a column \"total\""));
	fake_host_free(fc);
}

TEST(test_migrations_expand__defaults_and_not_null_the_safe_way)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct mig_spec *spec = me_load(
	    fc,
	    "        - name: a\n"
	    "          table: orders\n"
	    "          state: contracted\n"
	    "          operations:\n"
	    "            - add_column: {column: n, type: int, default: \"0\"}\n"
	    "            - add_column: {column: at, type: timestamptz, default: \"clock_timestamp()\", not_null: true}\n",
	    0);
	struct mig_chtable t = me_table();
	const struct mig_bfplan *bf;
	struct mig_chplan p;
	const char *text;

	T_ASSERT(spec != NULL);
	memset(&p, 0, sizeof(p));
	p.spec = &spec->dbs[0].changes[0];
	p.table = &t;
	T_ASSERT_INT(mig_ch_expand_sql(&p, ctx), 0);
	text = mig_ch_ddl_text(ctx, p.ddl, p.nddl);
	/* a constant default: stored once, no rewrite, no backfill */
	T_ASSERT(
	    strstr(text, "ADD COLUMN IF NOT EXISTS \"n\" int DEFAULT 0;") !=
	    NULL);
	/* a volatile one: for new rows only; the backfill fills the rest */
	T_ASSERT(strstr(text, "ADD COLUMN IF NOT EXISTS \"at\" timestamptz;") !=
		 NULL);
	T_ASSERT(strstr(text,
			"ALTER COLUMN \"at\" SET DEFAULT clock_timestamp();") !=
		 NULL);
	T_ASSERT(
	    strstr(
		text,
		"ADD CONSTRAINT \"orders_at_not_null\" CHECK (\"at\" IS NOT NULL) NOT VALID;") !=
	    NULL);
	T_ASSERT(!mig_ch_has_old(p.spec));
	bf = mig_ch_backfill_plan(ctx, p.spec, &t);
	T_ASSERT(bf != NULL);
	T_ASSERT_STR(
	    bf->sets,
	    "\"at\" = CASE WHEN (\"at\" IS NULL) THEN (clock_timestamp()) ELSE \"at\" END");
	T_ASSERT_STR(bf->where, "(\"at\" IS NULL)");
	/* contract: VALIDATE (no write lock) before SET NOT NULL */
	T_ASSERT_INT(mig_ch_contract_sql(&p, ctx), 0);
	text = mig_ch_ddl_text(ctx, p.ddl, p.nddl);
	T_ASSERT_STR(
	    text,
	    "ALTER TABLE \"public\".\"orders\" VALIDATE CONSTRAINT \"orders_at_not_null\";\n"
	    "ALTER TABLE \"public\".\"orders\" ALTER COLUMN \"at\" SET NOT NULL;\n"
	    "ALTER TABLE \"public\".\"orders\" DROP CONSTRAINT IF EXISTS \"orders_at_not_null\";\n");
	fake_host_free(fc);
}

TEST(test_migrations_expand__backfill_fills_only_rows_no_trigger_wrote)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct mig_spec *spec = me_load(
	    fc,
	    "        - name: a\n"
	    "          table: people\n"
	    "          state: expanded\n"
	    "          operations:\n"
	    "            - split_column:\n"
	    "                column: full\n"
	    "                into: [{column: f, type: text, up: \"split_part(full, ' ', 1)\"},\n"
	    "                       {column: l, type: text, up: \"split_part(full, ' ', 2)\"}]\n"
	    "                down: \"f || ' ' || l\"\n",
	    0);
	const struct mig_bfplan *bf;

	T_ASSERT(spec != NULL);
	bf = mig_ch_backfill_plan(fake_host_ctx(fc), &spec->dbs[0].changes[0],
				  NULL);
	T_ASSERT(bf != NULL);
	T_ASSERT_STR(bf->where, "(\"f\" IS NULL AND \"l\" IS NULL)");
	T_ASSERT(
	    strstr(
		bf->sets,
		"\"l\" = CASE WHEN (\"f\" IS NULL AND \"l\" IS NULL) THEN (split_part(full, ' ', 2)) ELSE \"l\" END") !=
	    NULL);
	fake_host_free(fc);
}

static struct mig_chsnap me_snap[] = {
    {"11", 5, "UPDATE orders SET total = $1"}};

TEST(test_migrations_expand__gate_verdicts)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct mig_spec *spec = me_load(fc, me_change_type, 0);
	const struct mig_chspec *c;
	struct mig_chsnap now[] = {{"11", 5, "UPDATE orders SET total = $1"}};
	struct mig_chrow row;
	struct mig_chgate g;
	const char *why = NULL;

	T_ASSERT(spec != NULL);
	c = &spec->dbs[0].changes[0];
	memset(&row, 0, sizeof(row));
	row.gate_at = "2026-01-01 00:00:00+00";
	row.gate_reset = "2025-12-01 00:00:00+00";
	row.gate_dealloc = 3;
	row.gate_writes = 10;
	row.gate_age_s = 90000; /* over the default day */
	memset(&g, 0, sizeof(g));
	g.pgss = true;
	g.stats_reset = "2025-12-01 00:00:00+00";
	g.dealloc = 3;
	g.writes = 10;
	g.snap = me_snap;
	g.nsnap = 1;
	g.now = now;
	g.nnow = 1;
	T_ASSERT_INT(mig_gate_judge(&why, ctx, c, &row, &g), MIG_GATE_PASS);
	/* within the window */
	row.gate_age_s = 60;
	T_ASSERT_INT(mig_gate_judge(&why, ctx, c, &row, &g), MIG_GATE_WAIT);
	T_ASSERT(strstr(why, "quiet since") != NULL);
	row.gate_age_s = 90000;
	/* a statement naming the old column ran */
	now[0].calls = 6;
	T_ASSERT_INT(mig_gate_judge(&why, ctx, c, &row, &g), MIG_GATE_RENEW);
	T_ASSERT(strstr(why, "old code ran since") != NULL);
	now[0].calls = 5;
	/* the trigger saw an old-side write */
	g.writes = 11;
	T_ASSERT_INT(mig_gate_judge(&why, ctx, c, &row, &g), MIG_GATE_RENEW);
	g.writes = 10;
	/* evictions and resets are "no evidence yet", never "safe" */
	g.dealloc = 4;
	T_ASSERT_INT(mig_gate_judge(&why, ctx, c, &row, &g), MIG_GATE_RENEW);
	T_ASSERT(strstr(why, "no evidence yet") != NULL);
	g.dealloc = 3;
	g.stats_reset = "2026-01-02 00:00:00+00";
	T_ASSERT_INT(mig_gate_judge(&why, ctx, c, &row, &g), MIG_GATE_RENEW);
	g.pgss = false;
	T_ASSERT_INT(mig_gate_judge(&why, ctx, c, &row, &g), MIG_GATE_BLIND);
	fake_host_free(fc);
}

TEST(test_migrations_expand__backoff_doubles_to_its_cap_with_jitter)
{
	struct mig_lockpolicy lp = {100, 20, 100, 1000, false};

	T_ASSERT_INT(mig_ddl_backoff(&lp, 2, 0.0), 100);
	T_ASSERT_INT(mig_ddl_backoff(&lp, 3, 0.0), 200);
	T_ASSERT_INT(mig_ddl_backoff(&lp, 5, 0.0), 800);
	T_ASSERT_INT(mig_ddl_backoff(&lp, 6, 0.0), 1000);
	T_ASSERT_INT(mig_ddl_backoff(&lp, 19, 0.0), 1000);
	/* jitter adds up to half the wait */
	T_ASSERT_INT(mig_ddl_backoff(&lp, 3, 0.999999), 299);
}

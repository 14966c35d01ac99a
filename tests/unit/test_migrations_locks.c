/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_migrations_locks.c — the lock levels a plan shows for each
 * statement (locklevel.c): PostgreSQL 15's lock mode per statement form
 * and ALTER TABLE subcommand, and whether it rewrites, scans or changes
 * only the catalog; the conflict table blockers are found with.
 */
#include "t.h"

#include <string.h>

#include "fake_host.h"
#include "../../plugins/migrations/migrations_int.h"

/* The plan line of the only statement of `sql`, in the arena of fc. */
static const char *ml_line(struct fake_ctx *fc, const char *sql)
{
	struct mig_parsed r;

	if (mig_sql_parse(&r, fake_host_ctx(fc), sql, NULL, MIG_PARSE_LOCKS) !=
		0 ||
	    r.n != 1 || r.stmts[0].lock == NULL)
		return "(no lock info)";
	return mig_lock_text(fake_host_ctx(fc), r.stmts[0].lock);
}

#define ML_EXPECT(sql, want) T_ASSERT_STR(ml_line(fc, sql), want)

TEST(test_migrations_locks__add_column_forms)
{
	struct fake_ctx *fc = fake_host_new("migrations");

	ML_EXPECT("ALTER TABLE orders ADD COLUMN note text",
		  "AccessExclusive orders, metadata only");
	/* PostgreSQL 11's fast default: a constant default is stored once */
	ML_EXPECT("ALTER TABLE orders ADD COLUMN n int NOT NULL DEFAULT 0",
		  "AccessExclusive orders, metadata only");
	ML_EXPECT("ALTER TABLE orders ADD COLUMN at timestamptz DEFAULT "
		  "clock_timestamp()",
		  "AccessExclusive orders, full rewrite");
	ML_EXPECT("ALTER TABLE orders ADD COLUMN id2 bigserial",
		  "AccessExclusive orders, full rewrite");
	ML_EXPECT("ALTER TABLE orders ADD COLUMN n int NOT NULL",
		  "AccessExclusive orders, full scan");
	ML_EXPECT(
	    "ALTER TABLE s.orders ADD COLUMN c int REFERENCES cust (id)",
	    "AccessExclusive s.orders, ShareRowExclusive cust, full scan");
	fake_host_free(fc);
}

TEST(test_migrations_locks__column_changes)
{
	struct fake_ctx *fc = fake_host_new("migrations");

	ML_EXPECT("ALTER TABLE orders ALTER COLUMN total TYPE bigint",
		  "AccessExclusive orders, may rewrite");
	ML_EXPECT("ALTER TABLE orders ALTER COLUMN total SET NOT NULL",
		  "AccessExclusive orders, full scan");
	ML_EXPECT("ALTER TABLE orders ALTER COLUMN total DROP NOT NULL",
		  "AccessExclusive orders, metadata only");
	ML_EXPECT("ALTER TABLE orders ALTER COLUMN total SET DEFAULT 1",
		  "AccessExclusive orders, metadata only");
	ML_EXPECT("ALTER TABLE orders DROP COLUMN total",
		  "AccessExclusive orders, metadata only");
	ML_EXPECT("ALTER TABLE orders RENAME COLUMN a TO b",
		  "AccessExclusive orders, metadata only");
	ML_EXPECT("ALTER TABLE orders ALTER COLUMN a SET STATISTICS 500",
		  "ShareUpdateExclusive orders, metadata only");
	fake_host_free(fc);
}

TEST(test_migrations_locks__constraints)
{
	struct fake_ctx *fc = fake_host_new("migrations");

	ML_EXPECT("ALTER TABLE orders ADD CONSTRAINT c CHECK (a > 0)",
		  "AccessExclusive orders, full scan");
	ML_EXPECT("ALTER TABLE orders ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
		  "AccessExclusive orders, metadata only");
	ML_EXPECT("ALTER TABLE orders VALIDATE CONSTRAINT c",
		  "ShareUpdateExclusive orders, full scan");
	ML_EXPECT("ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (c) "
		  "REFERENCES cust (id)",
		  "ShareRowExclusive orders + cust, full scan");
	ML_EXPECT("ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (c) "
		  "REFERENCES cust (id) NOT VALID",
		  "ShareRowExclusive orders + cust, metadata only");
	ML_EXPECT("ALTER TABLE orders ADD CONSTRAINT u UNIQUE (a)",
		  "AccessExclusive orders, builds an index");
	ML_EXPECT("ALTER TABLE orders ADD CONSTRAINT u UNIQUE USING INDEX i",
		  "AccessExclusive orders, metadata only");
	ML_EXPECT("ALTER TABLE orders DROP CONSTRAINT f",
		  "AccessExclusive orders, metadata only (a foreign key also "
		  "locks its referenced table AccessExclusive)");
	fake_host_free(fc);
}

TEST(test_migrations_locks__strictest_subcommand_wins)
{
	struct fake_ctx *fc = fake_host_new("migrations");

	/* "the lock acquired will be the strictest one required by any
	 * subcommand"; the work is the heaviest */
	ML_EXPECT("ALTER TABLE orders SET (fillfactor = 70), ALTER COLUMN a "
		  "TYPE text",
		  "AccessExclusive orders, may rewrite");
	ML_EXPECT("ALTER TABLE orders SET (fillfactor = 70)",
		  "ShareUpdateExclusive orders, metadata only");
	ML_EXPECT("ALTER TABLE orders DISABLE TRIGGER t",
		  "ShareRowExclusive orders, metadata only");
	ML_EXPECT("ALTER TABLE orders SET LOGGED",
		  "AccessExclusive orders, full rewrite");
	fake_host_free(fc);
}

TEST(test_migrations_locks__indexes)
{
	struct fake_ctx *fc = fake_host_new("migrations");

	ML_EXPECT("CREATE INDEX i ON orders (a)",
		  "Share orders, builds an index (writes blocked while it "
		  "builds)");
	ML_EXPECT("CREATE INDEX CONCURRENTLY i ON orders (a)",
		  "ShareUpdateExclusive orders, builds an index (two scans, "
		  "writes allowed, outside a transaction)");
	ML_EXPECT("DROP INDEX CONCURRENTLY s.i",
		  "ShareUpdateExclusive s.i, metadata only");
	ML_EXPECT("REINDEX TABLE CONCURRENTLY orders",
		  "ShareUpdateExclusive orders, builds an index");
	fake_host_free(fc);
}

TEST(test_migrations_locks__other_statements)
{
	struct fake_ctx *fc = fake_host_new("migrations");

	ML_EXPECT("UPDATE orders SET a = 1",
		  "RowExclusive orders, writes rows");
	ML_EXPECT("TRUNCATE a, b",
		  "AccessExclusive a + b, full rewrite (empties the table)");
	ML_EXPECT("CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW "
		  "EXECUTE FUNCTION f()",
		  "ShareRowExclusive orders, metadata only");
	ML_EXPECT("DROP TRIGGER t ON s.orders",
		  "AccessExclusive s.orders, metadata only");
	ML_EXPECT("LOCK TABLE orders IN SHARE MODE",
		  "Share orders, metadata only (held until the transaction "
		  "ends)");
	ML_EXPECT("CREATE TABLE x (id int REFERENCES cust (id))",
		  "ShareRowExclusive cust, new object");
	ML_EXPECT("VACUUM FULL orders", "AccessExclusive orders, full rewrite");
	ML_EXPECT("COMMENT ON COLUMN orders.a IS 'x'",
		  "ShareUpdateExclusive orders, metadata only");
	ML_EXPECT("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
		  "no table lock");
	fake_host_free(fc);
}

TEST(test_migrations_locks__conflict_table)
{
	/* SELECT's AccessShare only conflicts with AccessExclusive */
	T_ASSERT(mig_lock_conflicts(MIG_LOCK_ACCESS_SHARE,
				    MIG_LOCK_ACCESS_EXCLUSIVE));
	T_ASSERT(!mig_lock_conflicts(MIG_LOCK_ACCESS_SHARE,
				     MIG_LOCK_SHARE_ROW_EXCLUSIVE));
	/* a writer blocks CREATE INDEX, not CREATE INDEX CONCURRENTLY */
	T_ASSERT(mig_lock_conflicts(MIG_LOCK_ROW_EXCLUSIVE, MIG_LOCK_SHARE));
	T_ASSERT(!mig_lock_conflicts(MIG_LOCK_ROW_EXCLUSIVE,
				     MIG_LOCK_SHARE_UPDATE_EXCLUSIVE));
	/* SHARE UPDATE EXCLUSIVE conflicts with itself (two VALIDATEs) */
	T_ASSERT(mig_lock_conflicts(MIG_LOCK_SHARE_UPDATE_EXCLUSIVE,
				    MIG_LOCK_SHARE_UPDATE_EXCLUSIVE));
	T_ASSERT(!mig_lock_conflicts(MIG_LOCK_SHARE, MIG_LOCK_SHARE));
	/* the table is symmetric */
	for (int a = MIG_LOCK_ACCESS_SHARE; a <= MIG_LOCK_ACCESS_EXCLUSIVE; a++)
		for (int b = MIG_LOCK_ACCESS_SHARE;
		     b <= MIG_LOCK_ACCESS_EXCLUSIVE; b++)
			T_ASSERT(mig_lock_conflicts((enum mig_lockmode)a,
						    (enum mig_lockmode)b) ==
				 mig_lock_conflicts((enum mig_lockmode)b,
						    (enum mig_lockmode)a));
	T_ASSERT_INT(mig_lock_parse("ShareRowExclusiveLock"),
		     MIG_LOCK_SHARE_ROW_EXCLUSIVE);
	T_ASSERT_INT(mig_lock_parse("AccessShareLock"), MIG_LOCK_ACCESS_SHARE);
	T_ASSERT_INT(mig_lock_parse("SIReadLock"), MIG_LOCK_NONE);
}

TEST(test_migrations_locks__plan_attributes_per_statement)
{
	struct fake_ctx *fc = fake_host_new("migrations");
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct dbops_change *c;
	struct mig_parsed r;

	T_ASSERT_INT(mig_sql_parse(&r, ctx,
				   "CREATE TABLE t (id int);\n"
				   "ALTER TABLE orders ADD COLUMN x int;\n",
				   NULL, MIG_PARSE_LOCKS),
		     0);
	c = dbops_host(ctx)->change_new(ctx, DBOPS_ACTION_RUN, "m.x");
	mig_lock_attrs(ctx, c, r.stmts, r.n);
	T_ASSERT_INT(c->nattrs, 2);
	T_ASSERT_STR(c->attrs[1].name, "lock.2");
	T_ASSERT_STR(c->attrs[1].after,
		     "line 2: AccessExclusive orders, metadata only");
	fake_host_free(fc);
}

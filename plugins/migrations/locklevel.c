/* SPDX-License-Identifier: PostgreSQL */
/*
 * locklevel.c — for one parsed statement, the table locks PostgreSQL 15
 * takes and what it does under them (rewrite, scan, index build, catalog
 * only), so that a plan shows "AccessExclusive orders, full rewrite"
 * before anything runs. Also the lock conflict table, used to tell which
 * sessions would block a planned statement.
 *
 * The facts come from the PostgreSQL 15 documentation: the lock modes and
 * their conflicts (https://www.postgresql.org/docs/15/explicit-locking.html,
 * table 13.2 "Conflicting Lock Modes"), the lock each ALTER TABLE form
 * takes and the work it does (https://www.postgresql.org/docs/15/
 * sql-altertable.html, description and Notes: "An ACCESS EXCLUSIVE lock is
 * acquired unless explicitly noted"; with several subcommands the
 * strictest lock wins), CREATE INDEX (sql-createindex.html: SHARE, or
 * SHARE UPDATE EXCLUSIVE with CONCURRENTLY), and the forms observed in
 * pg_locks on PostgreSQL 15.18 (see the expand/contract reference).
 *
 * It reads the parse tree only: whether ALTER COLUMN TYPE rewrites depends
 * on the old type, which the tree does not hold, so that is "may rewrite";
 * a foreign key dropped also locks the referenced table, which the tree
 * does not name, so a note says so. Nothing here connects to a server.
 */
#include "migrations_int.h"

#include <json-c/json.h>
#include <string.h>

const char *mig_lock_name(enum mig_lockmode m)
{
	static const char *const names[] = {
	    "",
	    "AccessShare",
	    "RowShare",
	    "RowExclusive",
	    "ShareUpdateExclusive",
	    "Share",
	    "ShareRowExclusive",
	    "Exclusive",
	    "AccessExclusive",
	};

	return (size_t)m < sizeof(names) / sizeof(names[0]) ? names[m] : "";
}

enum mig_lockmode mig_lock_parse(const char *pg_mode)
{
	size_t n;

	if (pg_mode == NULL)
		return MIG_LOCK_NONE;
	n = strlen(pg_mode);
	if (n > 4 && strcmp(pg_mode + n - 4, "Lock") == 0)
		n -= 4;
	for (int m = MIG_LOCK_ACCESS_SHARE; m <= MIG_LOCK_ACCESS_EXCLUSIVE;
	     m++) {
		const char *name = mig_lock_name((enum mig_lockmode)m);

		if (strlen(name) == n && strncmp(name, pg_mode, n) == 0)
			return (enum mig_lockmode)m;
	}
	return MIG_LOCK_NONE;
}

/* PostgreSQL 15, table 13.2: bit k of conflicts[m] set when mode m
 * conflicts with mode k (lock.c's LockConflicts, the same numbers). */
bool mig_lock_conflicts(enum mig_lockmode held, enum mig_lockmode want)
{
#define B(m) (1u << (m))
	static const unsigned conflicts[] = {
	    0,
	    /* AccessShare */
	    B(MIG_LOCK_ACCESS_EXCLUSIVE),
	    /* RowShare */
	    B(MIG_LOCK_EXCLUSIVE) | B(MIG_LOCK_ACCESS_EXCLUSIVE),
	    /* RowExclusive */
	    B(MIG_LOCK_SHARE) | B(MIG_LOCK_SHARE_ROW_EXCLUSIVE) |
		B(MIG_LOCK_EXCLUSIVE) | B(MIG_LOCK_ACCESS_EXCLUSIVE),
	    /* ShareUpdateExclusive */
	    B(MIG_LOCK_SHARE_UPDATE_EXCLUSIVE) | B(MIG_LOCK_SHARE) |
		B(MIG_LOCK_SHARE_ROW_EXCLUSIVE) | B(MIG_LOCK_EXCLUSIVE) |
		B(MIG_LOCK_ACCESS_EXCLUSIVE),
	    /* Share */
	    B(MIG_LOCK_ROW_EXCLUSIVE) | B(MIG_LOCK_SHARE_UPDATE_EXCLUSIVE) |
		B(MIG_LOCK_SHARE_ROW_EXCLUSIVE) | B(MIG_LOCK_EXCLUSIVE) |
		B(MIG_LOCK_ACCESS_EXCLUSIVE),
	    /* ShareRowExclusive */
	    B(MIG_LOCK_ROW_EXCLUSIVE) | B(MIG_LOCK_SHARE_UPDATE_EXCLUSIVE) |
		B(MIG_LOCK_SHARE) | B(MIG_LOCK_SHARE_ROW_EXCLUSIVE) |
		B(MIG_LOCK_EXCLUSIVE) | B(MIG_LOCK_ACCESS_EXCLUSIVE),
	    /* Exclusive */
	    B(MIG_LOCK_ROW_SHARE) | B(MIG_LOCK_ROW_EXCLUSIVE) |
		B(MIG_LOCK_SHARE_UPDATE_EXCLUSIVE) | B(MIG_LOCK_SHARE) |
		B(MIG_LOCK_SHARE_ROW_EXCLUSIVE) | B(MIG_LOCK_EXCLUSIVE) |
		B(MIG_LOCK_ACCESS_EXCLUSIVE),
	    /* AccessExclusive */
	    B(MIG_LOCK_ACCESS_SHARE) | B(MIG_LOCK_ROW_SHARE) |
		B(MIG_LOCK_ROW_EXCLUSIVE) | B(MIG_LOCK_SHARE_UPDATE_EXCLUSIVE) |
		B(MIG_LOCK_SHARE) | B(MIG_LOCK_SHARE_ROW_EXCLUSIVE) |
		B(MIG_LOCK_EXCLUSIVE) | B(MIG_LOCK_ACCESS_EXCLUSIVE),
	};
#undef B
	if (held <= MIG_LOCK_NONE || held > MIG_LOCK_ACCESS_EXCLUSIVE ||
	    want <= MIG_LOCK_NONE || want > MIG_LOCK_ACCESS_EXCLUSIVE)
		return false;
	return (conflicts[held] & (1u << want)) != 0;
}

const char *mig_work_text(enum mig_work w)
{
	switch (w) {
	case MIG_WORK_NONE:
		return "no table lock";
	case MIG_WORK_NEW:
		return "new object";
	case MIG_WORK_METADATA:
		return "metadata only";
	case MIG_WORK_ROWS:
		return "writes rows";
	case MIG_WORK_SCAN:
		return "full scan";
	case MIG_WORK_INDEX:
		return "builds an index";
	case MIG_WORK_MAY_REWRITE:
		return "may rewrite";
	case MIG_WORK_REWRITE:
		return "full rewrite";
	}
	return "";
}

enum mig_lockmode mig_lock_max(const struct mig_lockinfo *l)
{
	enum mig_lockmode m = MIG_LOCK_NONE;

	for (size_t i = 0; l != NULL && i < l->ntables; i++)
		if (l->tables[i].mode > m)
			m = l->tables[i].mode;
	return m;
}

const char *mig_lock_text(struct dbops_ctx *ctx, const struct mig_lockinfo *l)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = NULL;

	if (l == NULL || l->ntables == 0)
		return l != NULL && l->note != NULL
			   ? h->printf(ctx, "%s (%s)", mig_work_text(l->work),
				       l->note)
			   : mig_work_text(l ? l->work : MIG_WORK_NONE);
	/* tables of the same mode are joined: "ShareRowExclusive a + b" */
	for (size_t i = 0; i < l->ntables; i++) {
		bool same = i > 0 && l->tables[i].mode == l->tables[i - 1].mode;

		if (s == NULL)
			s = h->printf(ctx, "%s %s",
				      mig_lock_name(l->tables[i].mode),
				      l->tables[i].table);
		else if (same)
			s = h->printf(ctx, "%s + %s", s, l->tables[i].table);
		else
			s = h->printf(ctx, "%s, %s %s", s,
				      mig_lock_name(l->tables[i].mode),
				      l->tables[i].table);
	}
	s = h->printf(ctx, "%s, %s", s, mig_work_text(l->work));
	if (l->note != NULL)
		s = h->printf(ctx, "%s (%s)", s, l->note);
	return s;
}

/* ---- building the answer */

static const char *mig_ll_rel(struct dbops_ctx *ctx, json_object *rv)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *schema = mig_js(rv, "schemaname");
	const char *name = mig_js(rv, "relname");

	if (name == NULL)
		return NULL;
	return schema ? h->printf(ctx, "%s.%s", schema, name)
		      : h->strdup(ctx, name);
}

/* The dotted name of a list of String nodes, the last `drop` left out. */
static const char *mig_ll_names(struct dbops_ctx *ctx, json_object *names,
				size_t drop)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t n = mig_jlen(names);
	const char *out = NULL;

	for (size_t i = 0; i + drop < n; i++) {
		const char *s =
		    mig_js(mig_j(mig_jat(names, i), "String"), "sval");

		if (s != NULL)
			out = out ? h->printf(ctx, "%s.%s", out, s)
				  : h->strdup(ctx, s);
	}
	return out;
}

/* Add `table` in `mode` (the stronger mode when it is there already). */
static void mig_ll_add(struct mig_lockinfo *l, const char *table,
		       enum mig_lockmode mode)
{
	if (table == NULL || mode == MIG_LOCK_NONE)
		return;
	for (size_t i = 0; i < l->ntables; i++)
		if (strcmp(l->tables[i].table, table) == 0) {
			if (mode > l->tables[i].mode)
				l->tables[i].mode = mode;
			return;
		}
	if (l->ntables < MIG_LOCK_TABLES) {
		l->tables[l->ntables].table = table;
		l->tables[l->ntables].mode = mode;
		l->ntables++;
	}
}

static void mig_ll_work(struct mig_lockinfo *l, enum mig_work w)
{
	if (w > l->work)
		l->work = w;
}

static void mig_ll_rels(struct dbops_ctx *ctx, struct mig_lockinfo *l,
			json_object *list, const char *wrapper,
			enum mig_lockmode mode)
{
	for (size_t i = 0; i < mig_jlen(list); i++) {
		json_object *rv = mig_j(mig_jat(list, i), wrapper);

		if (strcmp(wrapper, "VacuumRelation") == 0)
			rv = mig_j(rv, "relation");
		mig_ll_add(l, mig_ll_rel(ctx, rv), mode);
	}
}

/* ---- ALTER TABLE */

/* The serial types: a default of nextval(), volatile. */
static bool mig_ll_serial(json_object *coldef)
{
	json_object *names = mig_j(mig_j(coldef, "typeName"), "names");
	size_t n = mig_jlen(names);
	const char *t =
	    n ? mig_js(mig_j(mig_jat(names, n - 1), "String"), "sval") : NULL;

	return t != NULL &&
	       (strcmp(t, "serial") == 0 || strcmp(t, "bigserial") == 0 ||
		strcmp(t, "smallserial") == 0 || strcmp(t, "serial4") == 0 ||
		strcmp(t, "serial8") == 0 || strcmp(t, "serial2") == 0);
}

/* A constraint added by ADD CONSTRAINT or inside ADD COLUMN. */
static void mig_ll_constraint(struct dbops_ctx *ctx, struct mig_lockinfo *l,
			      const char *table, json_object *c,
			      enum mig_lockmode *mode)
{
	const char *type = mig_js(c, "contype");
	bool not_valid = mig_jb(c, "skip_validation");

	if (type == NULL)
		return;
	if (strcmp(type, "CONSTR_FOREIGN") == 0) {
		/* SHARE ROW EXCLUSIVE on both tables */
		*mode = MIG_LOCK_SHARE_ROW_EXCLUSIVE;
		mig_ll_add(l, table, MIG_LOCK_SHARE_ROW_EXCLUSIVE);
		mig_ll_add(l, mig_ll_rel(ctx, mig_j(c, "pktable")),
			   MIG_LOCK_SHARE_ROW_EXCLUSIVE);
		mig_ll_work(l, not_valid ? MIG_WORK_METADATA : MIG_WORK_SCAN);
	} else if (strcmp(type, "CONSTR_CHECK") == 0) {
		*mode = MIG_LOCK_ACCESS_EXCLUSIVE;
		mig_ll_work(l, not_valid ? MIG_WORK_METADATA : MIG_WORK_SCAN);
	} else if (strcmp(type, "CONSTR_UNIQUE") == 0 ||
		   strcmp(type, "CONSTR_PRIMARY") == 0 ||
		   strcmp(type, "CONSTR_EXCLUSION") == 0) {
		*mode = MIG_LOCK_ACCESS_EXCLUSIVE;
		/* USING INDEX only renames an index built before */
		mig_ll_work(l, mig_js(c, "indexname") != NULL
				   ? MIG_WORK_METADATA
				   : MIG_WORK_INDEX);
	} else if (strcmp(type, "CONSTR_NOTNULL") == 0) {
		*mode = MIG_LOCK_ACCESS_EXCLUSIVE;
		mig_ll_work(l, MIG_WORK_SCAN);
	} else if (strcmp(type, "CONSTR_GENERATED") == 0) {
		*mode = MIG_LOCK_ACCESS_EXCLUSIVE;
		mig_ll_work(l, MIG_WORK_REWRITE);
	} else {
		*mode = MIG_LOCK_ACCESS_EXCLUSIVE;
		mig_ll_work(l, MIG_WORK_METADATA);
	}
}

/*
 * ADD COLUMN: metadata only, also with a non-volatile default (PostgreSQL
 * 11's fast default: "In neither case is a rewrite of the table
 * required"); a volatile default, a serial type or a stored generated
 * column rewrite the table; NOT NULL without a default has to check every
 * row (and fails on a non-empty table).
 */
static void mig_ll_add_column(struct dbops_ctx *ctx, struct mig_lockinfo *l,
			      const char *table, json_object *coldef)
{
	json_object *cons = mig_j(coldef, "constraints");
	bool has_default = false, not_null = false;
	enum mig_lockmode mode = MIG_LOCK_ACCESS_EXCLUSIVE;

	mig_ll_work(l, MIG_WORK_METADATA);
	if (mig_ll_serial(coldef))
		mig_ll_work(l, MIG_WORK_REWRITE);
	for (size_t i = 0; i < mig_jlen(cons); i++) {
		json_object *c = mig_j(mig_jat(cons, i), "Constraint");
		const char *type = mig_js(c, "contype");

		if (type == NULL)
			continue;
		if (strcmp(type, "CONSTR_DEFAULT") == 0) {
			has_default = true;
			if (mig_expr_volatile(mig_j(c, "raw_expr")))
				mig_ll_work(l, MIG_WORK_REWRITE);
		} else if (strcmp(type, "CONSTR_NOTNULL") == 0) {
			not_null = true;
		} else if (strcmp(type, "CONSTR_NULL") != 0 &&
			   strcmp(type, "CONSTR_IDENTITY") != 0) {
			mig_ll_constraint(ctx, l, table, c, &mode);
		}
	}
	if (not_null && !has_default)
		mig_ll_work(l, MIG_WORK_SCAN);
}

static bool mig_ll_is(const char *sub, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(sub, list[i]) == 0)
			return true;
	return false;
}

/* One subcommand: its lock on the table (others are added to l), and
 * its work. */
static enum mig_lockmode mig_ll_alter_cmd(struct dbops_ctx *ctx,
					  struct mig_lockinfo *l,
					  const char *table, json_object *cmd)
{
	/* SHARE UPDATE EXCLUSIVE, catalog only (PG 15 ALTER TABLE) */
	static const char *const sue[] = {
	    "AT_SetStatistics",
	    "AT_SetOptions",
	    "AT_ResetOptions",
	    "AT_ClusterOn",
	    "AT_DropCluster",
	    "AT_SetRelOptions",
	    "AT_ResetRelOptions",
	    "AT_DetachPartitionFinalize",
	    NULL,
	};
	/* SHARE ROW EXCLUSIVE, catalog only: triggers enabled or disabled */
	static const char *const sre[] = {
	    "AT_EnableTrig",	 "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig",
	    "AT_DisableTrig",	 "AT_EnableTrigAll",	"AT_DisableTrigAll",
	    "AT_EnableTrigUser", "AT_DisableTrigUser",	NULL,
	};
	/* ACCESS EXCLUSIVE and a rewrite */
	static const char *const rewrite[] = {
	    "AT_SetLogged",
	    "AT_SetUnLogged",
	    "AT_SetAccessMethod",
	    "AT_SetTableSpace",
	    NULL,
	};
	const char *sub = mig_js(cmd, "subtype");
	enum mig_lockmode mode = MIG_LOCK_ACCESS_EXCLUSIVE;

	if (sub == NULL) {
		mig_ll_work(l, MIG_WORK_METADATA);
	} else if (strcmp(sub, "AT_AddColumn") == 0 ||
		   strcmp(sub, "AT_AddColumnToView") == 0) {
		mig_ll_add_column(ctx, l, table,
				  mig_j(mig_j(cmd, "def"), "ColumnDef"));
	} else if (strcmp(sub, "AT_AlterColumnType") == 0) {
		/* rewritten unless the old type is binary-coercible to the
		 * new one, which only the catalog knows */
		mig_ll_work(l, MIG_WORK_MAY_REWRITE);
	} else if (strcmp(sub, "AT_SetNotNull") == 0) {
		/* a scan, skipped when a valid CHECK (col IS NOT NULL)
		 * proves it */
		mig_ll_work(l, MIG_WORK_SCAN);
	} else if (strcmp(sub, "AT_AddConstraint") == 0) {
		mig_ll_constraint(ctx, l, table,
				  mig_j(mig_j(cmd, "def"), "Constraint"),
				  &mode);
	} else if (strcmp(sub, "AT_ValidateConstraint") == 0) {
		/* SHARE UPDATE EXCLUSIVE; ROW SHARE on the referenced table
		 * of a foreign key */
		mode = MIG_LOCK_SHARE_UPDATE_EXCLUSIVE;
		mig_ll_work(l, MIG_WORK_SCAN);
	} else if (strcmp(sub, "AT_DropConstraint") == 0) {
		mig_ll_work(l, MIG_WORK_METADATA);
		if (l->note == NULL)
			l->note = "a foreign key also locks its referenced "
				  "table AccessExclusive";
	} else if (strcmp(sub, "AT_AttachPartition") == 0) {
		/* SHARE UPDATE EXCLUSIVE on the parent, ACCESS EXCLUSIVE on
		 * the partition, scanned unless a CHECK proves the bound */
		mode = MIG_LOCK_SHARE_UPDATE_EXCLUSIVE;
		mig_ll_add(l,
			   mig_ll_rel(ctx, mig_j(mig_j(mig_j(cmd, "def"),
						       "PartitionCmd"),
						 "name")),
			   MIG_LOCK_ACCESS_EXCLUSIVE);
		mig_ll_work(l, MIG_WORK_SCAN);
	} else if (strcmp(sub, "AT_DetachPartition") == 0) {
		json_object *pc = mig_j(mig_j(cmd, "def"), "PartitionCmd");

		if (mig_jb(pc, "concurrent"))
			mode = MIG_LOCK_SHARE_UPDATE_EXCLUSIVE;
		mig_ll_add(l, mig_ll_rel(ctx, mig_j(pc, "name")),
			   mode == MIG_LOCK_SHARE_UPDATE_EXCLUSIVE
			       ? MIG_LOCK_SHARE_UPDATE_EXCLUSIVE
			       : MIG_LOCK_ACCESS_EXCLUSIVE);
		mig_ll_work(l, MIG_WORK_METADATA);
	} else if (mig_ll_is(sub, sue)) {
		mode = MIG_LOCK_SHARE_UPDATE_EXCLUSIVE;
		mig_ll_work(l, MIG_WORK_METADATA);
	} else if (mig_ll_is(sub, sre)) {
		mode = MIG_LOCK_SHARE_ROW_EXCLUSIVE;
		mig_ll_work(l, MIG_WORK_METADATA);
	} else if (mig_ll_is(sub, rewrite)) {
		mig_ll_work(l, MIG_WORK_REWRITE);
	} else {
		/* DROP COLUMN, SET/DROP DEFAULT, DROP NOT NULL, SET STORAGE,
		 * identity, REPLICA IDENTITY, OWNER, row security, INHERIT:
		 * ACCESS EXCLUSIVE, catalog only */
		mig_ll_work(l, MIG_WORK_METADATA);
	}
	return mode;
}

static void mig_ll_alter(struct dbops_ctx *ctx, struct mig_lockinfo *l,
			 json_object *n)
{
	const char *table = mig_ll_rel(ctx, mig_j(n, "relation"));
	json_object *cmds = mig_j(n, "cmds");
	enum mig_lockmode mode = MIG_LOCK_NONE;

	/* the table first, so that it leads the line */
	mig_ll_add(l, table, MIG_LOCK_ACCESS_SHARE);
	for (size_t i = 0; i < mig_jlen(cmds); i++) {
		enum mig_lockmode m = mig_ll_alter_cmd(
		    ctx, l, table, mig_j(mig_jat(cmds, i), "AlterTableCmd"));

		if (m > mode)
			mode = m;
	}
	if (l->ntables > 0)
		l->tables[0].mode =
		    mode > l->tables[0].mode ? mode : l->tables[0].mode;
}

/* ---- other statements */

static void mig_ll_rename(struct dbops_ctx *ctx, struct mig_lockinfo *l,
			  json_object *n)
{
	const char *rt = mig_js(n, "renameType");
	const char *rel = mig_ll_rel(ctx, mig_j(n, "relation"));

	if (rel == NULL) {
		l->work = MIG_WORK_NONE; /* not a relation: a role, a type */
		return;
	}
	/* ALTER INDEX ... RENAME: SHARE UPDATE EXCLUSIVE since PG 12 */
	mig_ll_add(l, rel,
		   rt != NULL && strcmp(rt, "OBJECT_INDEX") == 0
		       ? MIG_LOCK_SHARE_UPDATE_EXCLUSIVE
		       : MIG_LOCK_ACCESS_EXCLUSIVE);
	mig_ll_work(l, MIG_WORK_METADATA);
}

static void mig_ll_drop(struct dbops_ctx *ctx, struct mig_lockinfo *l,
			json_object *n)
{
	const char *rt = mig_js(n, "removeType");
	json_object *objs = mig_j(n, "objects");
	bool conc = mig_jb(n, "concurrent");
	size_t drop = 0; /* names dropped from the list to reach a table */

	if (rt == NULL)
		return;
	if (strcmp(rt, "OBJECT_TRIGGER") == 0 ||
	    strcmp(rt, "OBJECT_RULE") == 0 || strcmp(rt, "OBJECT_POLICY") == 0)
		drop = 1; /* [schema, table, trigger] */
	else if (strcmp(rt, "OBJECT_TABLE") != 0 &&
		 strcmp(rt, "OBJECT_INDEX") != 0 &&
		 strcmp(rt, "OBJECT_VIEW") != 0 &&
		 strcmp(rt, "OBJECT_MATVIEW") != 0 &&
		 strcmp(rt, "OBJECT_FOREIGN_TABLE") != 0)
		return;
	for (size_t i = 0; i < mig_jlen(objs); i++)
		mig_ll_add(l,
			   mig_ll_names(
			       ctx,
			       mig_j(mig_j(mig_jat(objs, i), "List"), "items"),
			       drop),
			   conc ? MIG_LOCK_SHARE_UPDATE_EXCLUSIVE
				: MIG_LOCK_ACCESS_EXCLUSIVE);
	mig_ll_work(l, MIG_WORK_METADATA);
	if (strcmp(rt, "OBJECT_TABLE") == 0)
		l->note = "drops the table and its data";
	else if (strcmp(rt, "OBJECT_INDEX") == 0 && !conc)
		l->note = "AccessExclusive on the index's table too";
}

static void mig_ll_index(struct dbops_ctx *ctx, struct mig_lockinfo *l,
			 json_object *n)
{
	bool conc = mig_jb(n, "concurrent");

	mig_ll_add(l, mig_ll_rel(ctx, mig_j(n, "relation")),
		   conc ? MIG_LOCK_SHARE_UPDATE_EXCLUSIVE : MIG_LOCK_SHARE);
	mig_ll_work(l, MIG_WORK_INDEX);
	l->note = conc ? "two scans, writes allowed, outside a transaction"
		       : "writes blocked while it builds";
}

/* CREATE TABLE: a new table; its foreign keys take SHARE ROW EXCLUSIVE on
 * the tables they reference. */
static void mig_ll_create(struct dbops_ctx *ctx, struct mig_lockinfo *l,
			  json_object *n)
{
	json_object *elts = mig_j(n, "tableElts");

	mig_ll_work(l, MIG_WORK_NEW);
	for (size_t i = 0; i < mig_jlen(elts); i++) {
		json_object *e = mig_jat(elts, i);
		json_object *cons = mig_j(mig_j(e, "ColumnDef"), "constraints");
		json_object *tc = mig_j(e, "Constraint");

		if (tc != NULL && mig_jeq(tc, "contype", "CONSTR_FOREIGN"))
			mig_ll_add(l, mig_ll_rel(ctx, mig_j(tc, "pktable")),
				   MIG_LOCK_SHARE_ROW_EXCLUSIVE);
		for (size_t k = 0; k < mig_jlen(cons); k++) {
			json_object *c = mig_j(mig_jat(cons, k), "Constraint");

			if (mig_jeq(c, "contype", "CONSTR_FOREIGN"))
				mig_ll_add(l,
					   mig_ll_rel(ctx, mig_j(c, "pktable")),
					   MIG_LOCK_SHARE_ROW_EXCLUSIVE);
		}
	}
}

static void mig_ll_vacuum(struct dbops_ctx *ctx, struct mig_lockinfo *l,
			  json_object *n)
{
	json_object *opts = mig_j(n, "options");
	bool full = false;

	for (size_t i = 0; i < mig_jlen(opts); i++)
		if (mig_jeq(mig_j(mig_jat(opts, i), "DefElem"), "defname",
			    "full"))
			full = true;
	mig_ll_rels(ctx, l, mig_j(n, "rels"), "VacuumRelation",
		    full ? MIG_LOCK_ACCESS_EXCLUSIVE
			 : MIG_LOCK_SHARE_UPDATE_EXCLUSIVE);
	mig_ll_work(l, full ? MIG_WORK_REWRITE : MIG_WORK_SCAN);
	if (l->ntables == 0)
		l->note = "every table of the database, one at a time";
}

static void mig_ll_reindex(struct dbops_ctx *ctx, struct mig_lockinfo *l,
			   json_object *n)
{
	json_object *params = mig_j(n, "params");
	bool conc = false;

	for (size_t i = 0; i < mig_jlen(params); i++)
		if (mig_jeq(mig_j(mig_jat(params, i), "DefElem"), "defname",
			    "concurrently"))
			conc = true;
	/* REINDEX: SHARE on the table (ACCESS EXCLUSIVE on the index);
	 * CONCURRENTLY: SHARE UPDATE EXCLUSIVE */
	mig_ll_add(l, mig_ll_rel(ctx, mig_j(n, "relation")),
		   conc ? MIG_LOCK_SHARE_UPDATE_EXCLUSIVE : MIG_LOCK_SHARE);
	mig_ll_work(l, MIG_WORK_INDEX);
	if (!conc)
		l->note = "reads using the index blocked too";
}

static void mig_ll_dml(struct dbops_ctx *ctx, struct mig_lockinfo *l,
		       json_object *n)
{
	mig_ll_add(l, mig_ll_rel(ctx, mig_j(n, "relation")),
		   MIG_LOCK_ROW_EXCLUSIVE);
	mig_ll_work(l, MIG_WORK_ROWS);
}

bool mig_lock_reads(const char *type)
{
	static const char *const types[] = {
	    "AlterTableStmt",	  "RenameStmt",	       "DropStmt",
	    "IndexStmt",	  "CreateStmt",	       "CreateTrigStmt",
	    "TruncateStmt",	  "InsertStmt",	       "UpdateStmt",
	    "DeleteStmt",	  "MergeStmt",	       "VacuumStmt",
	    "ClusterStmt",	  "ReindexStmt",       "LockStmt",
	    "RefreshMatViewStmt", "CreateStatsStmt",   "CommentStmt",
	    "CopyStmt",		  "CreateTableAsStmt", NULL,
	};

	for (size_t i = 0; types[i] != NULL; i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

void mig_lock_classify(struct mig_lockinfo *out, struct dbops_ctx *ctx,
		       const char *type, json_object *n)
{
	memset(out, 0, sizeof(*out));
	if (type == NULL || type[0] == '\0') {
		out->note = "not parsed: too large";
		return;
	}
	if (n == NULL && mig_lock_reads(type)) {
		out->note = "parse tree not read";
		return;
	}
	if (strcmp(type, "AlterTableStmt") == 0) {
		mig_ll_alter(ctx, out, n);
	} else if (strcmp(type, "RenameStmt") == 0) {
		mig_ll_rename(ctx, out, n);
	} else if (strcmp(type, "DropStmt") == 0) {
		mig_ll_drop(ctx, out, n);
	} else if (strcmp(type, "IndexStmt") == 0) {
		mig_ll_index(ctx, out, n);
	} else if (strcmp(type, "CreateStmt") == 0 ||
		   strcmp(type, "CreateTableAsStmt") == 0) {
		mig_ll_create(ctx, out, n);
	} else if (strcmp(type, "CreateTrigStmt") == 0) {
		/* CREATE TRIGGER: SHARE ROW EXCLUSIVE */
		mig_ll_add(out, mig_ll_rel(ctx, mig_j(n, "relation")),
			   MIG_LOCK_SHARE_ROW_EXCLUSIVE);
		mig_ll_work(out, MIG_WORK_METADATA);
	} else if (strcmp(type, "TruncateStmt") == 0) {
		mig_ll_rels(ctx, out, mig_j(n, "relations"), "RangeVar",
			    MIG_LOCK_ACCESS_EXCLUSIVE);
		mig_ll_work(out, MIG_WORK_REWRITE);
		out->note = "empties the table";
	} else if (strcmp(type, "InsertStmt") == 0 ||
		   strcmp(type, "UpdateStmt") == 0 ||
		   strcmp(type, "DeleteStmt") == 0 ||
		   strcmp(type, "MergeStmt") == 0) {
		mig_ll_dml(ctx, out, n);
	} else if (strcmp(type, "CopyStmt") == 0) {
		if (mig_jb(n, "is_from"))
			mig_ll_dml(ctx, out, n);
	} else if (strcmp(type, "VacuumStmt") == 0) {
		mig_ll_vacuum(ctx, out, n);
	} else if (strcmp(type, "ClusterStmt") == 0) {
		mig_ll_add(out, mig_ll_rel(ctx, mig_j(n, "relation")),
			   MIG_LOCK_ACCESS_EXCLUSIVE);
		mig_ll_work(out, MIG_WORK_REWRITE);
	} else if (strcmp(type, "ReindexStmt") == 0) {
		mig_ll_reindex(ctx, out, n);
	} else if (strcmp(type, "LockStmt") == 0) {
		json_object *m = mig_j(n, "mode");
		int mode = m != NULL ? json_object_get_int(m) : 8;

		if (mode < MIG_LOCK_ACCESS_SHARE ||
		    mode > MIG_LOCK_ACCESS_EXCLUSIVE)
			mode = MIG_LOCK_ACCESS_EXCLUSIVE;
		mig_ll_rels(ctx, out, mig_j(n, "relations"), "RangeVar",
			    (enum mig_lockmode)mode);
		mig_ll_work(out, MIG_WORK_METADATA);
		out->note = "held until the transaction ends";
	} else if (strcmp(type, "RefreshMatViewStmt") == 0) {
		bool conc = mig_jb(n, "concurrent");

		mig_ll_add(out, mig_ll_rel(ctx, mig_j(n, "relation")),
			   conc ? MIG_LOCK_EXCLUSIVE
				: MIG_LOCK_ACCESS_EXCLUSIVE);
		mig_ll_work(out, MIG_WORK_REWRITE);
	} else if (strcmp(type, "CreateStatsStmt") == 0) {
		mig_ll_rels(ctx, out, mig_j(n, "relations"), "RangeVar",
			    MIG_LOCK_SHARE_UPDATE_EXCLUSIVE);
		mig_ll_work(out, MIG_WORK_METADATA);
	} else if (strcmp(type, "CommentStmt") == 0) {
		/* COMMENT ON COLUMN t.c: SHARE UPDATE EXCLUSIVE on t */
		if (mig_jeq(n, "objtype", "OBJECT_COLUMN")) {
			json_object *items =
			    mig_j(mig_j(mig_j(n, "object"), "List"), "items");

			mig_ll_add(out, mig_ll_names(ctx, items, 1),
				   MIG_LOCK_SHARE_UPDATE_EXCLUSIVE);
			mig_ll_work(out, MIG_WORK_METADATA);
		}
	}
}

/* Past this many statements a migration lists only those that take more
 * than ROW EXCLUSIVE or do more than write rows; the rest are counted. */
#define MIG_LOCK_ATTRS_ALL 50

static bool mig_lock_notable(const struct mig_lockinfo *l)
{
	return l == NULL || mig_lock_max(l) > MIG_LOCK_ROW_EXCLUSIVE ||
	       l->work > MIG_WORK_ROWS;
}

void mig_lock_attrs(struct dbops_ctx *ctx, struct dbops_change *c,
		    const struct mig_stmt *stmts, size_t n)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t other = 0;

	for (size_t k = 0; k < n; k++) {
		const char *v;

		if (n > MIG_LOCK_ATTRS_ALL &&
		    !mig_lock_notable(stmts[k].lock)) {
			other++;
			continue;
		}
		v = h->printf(ctx, "line %u: %s", stmts[k].line,
			      stmts[k].lock != NULL
				  ? mig_lock_text(ctx, stmts[k].lock)
				  : "not classified");
		/* the same before and after: shown, not a difference */
		h->change_attr(ctx, c, h->printf(ctx, "lock.%zu", k + 1), v, v,
			       false);
	}
	if (other > 0) {
		const char *v = h->printf(
		    ctx, "%zu more statements: RowExclusive or weaker", other);

		h->change_attr(ctx, c, "lock.other", v, v, false);
	}
}

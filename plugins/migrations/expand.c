/* SPDX-License-Identifier: PostgreSQL */
/*
 * expand.c — the SQL of expand/contract changes, generated from the spec
 * and the table as observe found it: what expand adds (new columns,
 * constraints NOT VALID, indexes built concurrently, the dual-write
 * trigger and its counter), what contract removes or validates, what a
 * rollback removes, and the assignments of the backfill.
 *
 * Each expand statement can run again after an interruption: columns
 * are added IF NOT EXISTS, functions and triggers OR REPLACE'd, and a
 * constraint or index comes with the query that says it is there
 * already. Rollback statements are all IF EXISTS, and are kept in
 * dbops.schema_changes at expand time, so that a change can be rolled
 * back whatever the spec says of it later.
 *
 * The dual-write trigger is a BEFORE INSERT OR UPDATE row trigger that
 * only assigns to NEW (never updates its table, so never recurses). It
 * tells the sides apart by what a write changed: an UPDATE that changes
 * the old columns and not the new ones came from old code (new := up),
 * one that changes the new columns and not the old ones from new code
 * (old := down); an INSERT that leaves every new column NULL came from
 * old code, any other from new code. Every old-side write bumps a
 * sequence — nextval is cheap and outside transactions — which the
 * contract gate reads (gate.c). The backfill sets the session setting
 * dbops.backfill, for which the trigger does nothing: its rows are
 * written by up directly.
 */
#include "change.h"

#include <string.h>

static const char *mig_ex_qi(struct dbops_ctx *ctx, const char *s)
{
	return dbops_host(ctx)->quote_ident(ctx, s);
}

/* "schema"."dbops_<change>_<what>" */
static const char *mig_ex_obj(struct dbops_ctx *ctx, const struct mig_chspec *c,
			      const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);

	return h->printf(
	    ctx, "%s.%s", mig_ex_qi(ctx, c->schema),
	    mig_ex_qi(ctx, h->printf(ctx, "dbops_%s_%s", c->name, what)));
}

const char *mig_ch_counter(struct dbops_ctx *ctx, const struct mig_chspec *c)
{
	return mig_ch_has_trigger(c) ? mig_ex_obj(ctx, c, "old_writes") : NULL;
}

static const struct mig_chcolumn *mig_ex_col(const struct mig_chtable *t,
					     const char *name)
{
	for (size_t i = 0; t != NULL && i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return &t->cols[i];
	return NULL;
}

static void mig_ex_add(struct mig_chplan *p, struct dbops_ctx *ctx,
		       const char *sql, const char *skip_if)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_ddl *d = h->alloc(ctx, (p->nddl + 2) * sizeof(*d));

	if (p->nddl > 0)
		memcpy(d, p->ddl, p->nddl * sizeof(*d));
	d[p->nddl].sql = sql;
	d[p->nddl].skip_if = skip_if;
	p->ddl = d;
	p->nddl++;
}

const char *mig_ch_ddl_text(struct dbops_ctx *ctx, const struct mig_ddl *d,
			    size_t n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = "";

	for (size_t i = 0; i < n; i++)
		s = h->printf(ctx, "%s%s;\n", s, d[i].sql);
	return s;
}

static struct dbops_diag *mig_ex_err(struct dbops_ctx *ctx,
				     const struct mig_chspec *c,
				     const struct mig_chop *op, const char *msg)
{
	const struct dbops_host *h = dbops_host(ctx);

	return h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		       op ? &op->loc : &c->loc, "change \"%s\": %s", c->name,
		       msg);
}

/* A constraint named `con` exists on the table: the skip query. */
static const char *mig_ex_has_con(struct dbops_ctx *ctx,
				  const struct mig_chspec *c, const char *con)
{
	const struct dbops_host *h = dbops_host(ctx);

	return h->printf(
	    ctx,
	    "SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = pg_catalog.to_regclass(%s) AND conname = %s",
	    h->quote_literal(ctx, mig_ch_qtable(ctx, c)),
	    h->quote_literal(ctx, con));
}

/* The type of a new column: given, or that of the old column renamed. */
static const char *mig_ex_newtype(struct dbops_ctx *ctx,
				  const struct mig_chspec *c,
				  const struct mig_chop *op, size_t k,
				  const struct mig_chtable *t)
{
	const struct mig_chcolumn *old;

	if (op->news[k].type != NULL)
		return op->news[k].type;
	old = mig_ex_col(t, op->olds[0].name);
	if (old == NULL) {
		mig_ex_err(
		    ctx, c, op,
		    dbops_host(ctx)->printf(ctx, "table %s has no column %s",
					    mig_ch_qtable(ctx, c),
					    plug_value(ctx, op->olds[0].name)));
		return NULL;
	}
	return old->type;
}

/* up of new column k: given, or the old column (cast for a new type). */
static const char *mig_ex_up(struct dbops_ctx *ctx, const struct mig_chop *op,
			     size_t k)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (op->news[k].expr != NULL)
		return op->news[k].expr;
	if (op->kind == MIG_CH_CHANGE_TYPE)
		return h->printf(ctx, "%s::%s",
				 mig_ex_qi(ctx, op->olds[0].name),
				 op->news[0].type);
	return mig_ex_qi(ctx, op->olds[0].name);
}

/* down of old column k: given, or the new column cast back. */
static const char *mig_ex_down(struct dbops_ctx *ctx, const struct mig_chop *op,
			       size_t k, const struct mig_chtable *t)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_chcolumn *old;

	if (op->olds[k].expr != NULL || op->nnews == 0)
		return op->olds[k].expr;
	if (op->kind == MIG_CH_RENAME_COLUMN)
		return mig_ex_qi(ctx, op->news[0].name);
	old = mig_ex_col(t, op->olds[k].name);
	return h->printf(ctx, "%s::%s", mig_ex_qi(ctx, op->news[0].name),
			 old != NULL ? old->type : "text");
}

/* Check the columns of an operation against the table: old ones there,
 * new ones not (unless an interrupted expand added them). */
static int mig_ex_check(struct dbops_ctx *ctx, const struct mig_chplan *p,
			const struct mig_chop *op)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_chspec *c = p->spec;
	bool partial = p->row != NULL && p->row->state == MIG_CS_EXPANDING;
	int err = 0;

	for (size_t k = 0; k < op->nolds; k++)
		if (mig_ex_col(p->table, op->olds[k].name) == NULL) {
			mig_ex_err(
			    ctx, c, op,
			    h->printf(ctx, "table %s has no column %s",
				      mig_ch_qtable(ctx, c),
				      plug_value(ctx, op->olds[k].name)));
			err = DBOPS_ERR_INVALID;
		}
	for (size_t k = 0; k < op->nnews && !partial; k++)
		if (mig_ex_col(p->table, op->news[k].name) != NULL) {
			h->diag_hint(
			    ctx,
			    mig_ex_err(
				ctx, c, op,
				h->printf(ctx,
					  "table %s already has a column %s",
					  mig_ch_qtable(ctx, c),
					  plug_value(ctx, op->news[k].name))),
			    "A change adds its new columns itself; name one the table does not have.");
			err = DBOPS_ERR_INVALID;
		}
	if (op->kind == MIG_CH_SET_NOT_NULL &&
	    mig_ex_col(p->table, op->column) == NULL) {
		mig_ex_err(ctx, c, op,
			   h->printf(ctx, "table %s has no column %s",
				     mig_ch_qtable(ctx, c),
				     plug_value(ctx, op->column)));
		err = DBOPS_ERR_INVALID;
	}
	return err;
}

/* ---- the dual-write trigger */

/* How mig_ex_all tests each column. */
enum mig_ex_form {
	MIG_EX_CHANGED,	 /* NEW.c IS DISTINCT FROM OLD.c */
	MIG_EX_SET,	 /* NEW.c IS NOT NULL */
	MIG_EX_NULL,	 /* NEW.c IS NULL */
	MIG_EX_ROW_NULL, /* c IS NULL (the backfill's UPDATE) */
};

static const char *mig_ex_one(struct dbops_ctx *ctx, enum mig_ex_form form,
			      const char *q)
{
	const struct dbops_host *h = dbops_host(ctx);

	switch (form) {
	case MIG_EX_CHANGED:
		return h->printf(ctx, "NEW.%s IS DISTINCT FROM OLD.%s", q, q);
	case MIG_EX_SET:
		return h->printf(ctx, "NEW.%s IS NOT NULL", q);
	case MIG_EX_NULL:
		return h->printf(ctx, "NEW.%s IS NULL", q);
	case MIG_EX_ROW_NULL:
		return h->printf(ctx, "%s IS NULL", q);
	}
	return "true";
}

/* The test of every column joined by `join` ("OR", "AND"). */
static const char *mig_ex_all(struct dbops_ctx *ctx,
			      const struct mig_chcol *cols, size_t n,
			      enum mig_ex_form form, const char *join)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *one =
		    mig_ex_one(ctx, form, mig_ex_qi(ctx, cols[i].name));

		s = s ? h->printf(ctx, "%s %s %s", s, join, one) : one;
	}
	return s != NULL ? s : "true";
}

static const char *mig_ex_assign_up(struct dbops_ctx *ctx,
				    const struct mig_chop *op)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = "";

	for (size_t k = 0; k < op->nnews; k++)
		s = h->printf(ctx, "%s\t\t\tNEW.%s := " MIG_CH_MARK " (%s);\n",
			      s, mig_ex_qi(ctx, op->news[k].name),
			      mig_ex_up(ctx, op, k));
	return s;
}

static const char *mig_ex_assign_down(struct dbops_ctx *ctx,
				      const struct mig_chop *op,
				      const struct mig_chtable *t)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = "";

	for (size_t k = 0; k < op->nolds; k++) {
		const char *down = mig_ex_down(ctx, op, k, t);

		if (down != NULL)
			s = h->printf(
			    ctx, "%s\t\t\tNEW.%s := " MIG_CH_MARK " (%s);\n", s,
			    mig_ex_qi(ctx, op->olds[k].name), down);
	}
	return s[0] != '\0' ? s : "\t\t\tNULL;\n";
}

/* The trigger's part for one operation with old columns. */
static const char *mig_ex_trigger_op(struct dbops_ctx *ctx,
				     const struct mig_chop *op,
				     const struct mig_chtable *t)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *olds_changed =
	    mig_ex_all(ctx, op->olds, op->nolds, MIG_EX_CHANGED, "OR");
	const char *olds_set =
	    mig_ex_all(ctx, op->olds, op->nolds, MIG_EX_SET, "OR");
	const char *news_changed =
	    mig_ex_all(ctx, op->news, op->nnews, MIG_EX_CHANGED, "OR");

	if (op->nnews == 0) /* drop_column: count old writes, fill down */
		return h->printf(
		    ctx,
		    "\t-- %s %s\n"
		    "\tIF TG_OP = 'INSERT' THEN\n"
		    "\t\tIF NOT (%s) THEN\n%s"
		    "\t\tELSE\n\t\t\tdbops_old_side := true;\n\t\tEND IF;\n"
		    "\tELSIF %s THEN\n\t\tdbops_old_side := true;\n"
		    "\tEND IF;\n",
		    mig_chkind_name(op->kind), op->olds[0].name, olds_set,
		    mig_ex_assign_down(ctx, op, t), olds_changed);
	return h->printf(
	    ctx,
	    "\t-- %s\n"
	    "\tIF TG_OP = 'INSERT' THEN\n"
	    "\t\tIF %s THEN\n%s"
	    "\t\t\tIF %s THEN\n\t\t\t\tdbops_old_side := true;\n\t\t\tEND IF;\n"
	    "\t\tELSE\n%s\t\tEND IF;\n"
	    "\tELSIF (%s) AND NOT (%s) THEN\n%s"
	    "\t\tdbops_old_side := true;\n"
	    "\tELSIF (%s) AND NOT (%s) THEN\n%s"
	    "\tEND IF;\n",
	    mig_chkind_name(op->kind),
	    mig_ex_all(ctx, op->news, op->nnews, MIG_EX_NULL, "AND"),
	    mig_ex_assign_up(ctx, op), olds_set, mig_ex_assign_down(ctx, op, t),
	    olds_changed, news_changed, mig_ex_assign_up(ctx, op), news_changed,
	    olds_changed, mig_ex_assign_down(ctx, op, t));
}

/* A variable per column, so that up and down name columns bare. */
static const char *mig_ex_declare(struct dbops_ctx *ctx,
				  const struct mig_chspec *c,
				  const struct mig_chtable *t)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *qt = mig_ch_qtable(ctx, c), *s = "";

	for (size_t i = 0; i < t->ncols; i++) {
		const char *q = mig_ex_qi(ctx, t->cols[i].name);

		s = h->printf(ctx, "%s\t%s %s.%s%%TYPE := NEW.%s;\n", s, q, qt,
			      q, q);
	}
	for (size_t i = 0; i < c->nops; i++)
		for (size_t k = 0; k < c->ops[i].nnews; k++) {
			const char *q = mig_ex_qi(ctx, c->ops[i].news[k].name);

			if (mig_ex_col(t, c->ops[i].news[k].name) == NULL)
				s = h->printf(ctx,
					      "%s\t%s %s.%s%%TYPE := NEW.%s;\n",
					      s, q, qt, q, q);
		}
	return s;
}

static void mig_ex_trigger(struct mig_chplan *p, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_chspec *c = p->spec;
	const char *fn = mig_ex_obj(ctx, c, "dw");
	const char *seq = mig_ch_counter(ctx, c);
	const char *body = "";

	for (size_t i = 0; i < c->nops; i++)
		if (c->ops[i].nolds > 0)
			body = h->printf(
			    ctx, "%s%s", body,
			    mig_ex_trigger_op(ctx, &c->ops[i], p->table));
	mig_ex_add(p, ctx,
		   h->printf(ctx, "CREATE SEQUENCE IF NOT EXISTS %s", seq),
		   NULL);
	mig_ex_add(p, ctx,
		   h->printf(ctx, "GRANT USAGE ON SEQUENCE %s TO PUBLIC", seq),
		   NULL);
	mig_ex_add(
	    p, ctx,
	    h->printf(
		ctx,
		"CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $dbops$\n"
		"-- dbops: dual write of change \"%s\" (expand/contract)\n"
		"DECLARE\n%s\tdbops_old_side boolean := false;\n"
		"BEGIN\n"
		"\tIF pg_catalog.current_setting('dbops.backfill', true) = 'on' THEN\n"
		"\t\tRETURN NEW;\n\tEND IF;\n"
		"%s"
		"\tIF dbops_old_side THEN\n"
		"\t\tPERFORM pg_catalog.nextval(%s);\n\tEND IF;\n"
		"\tRETURN NEW;\nEND\n$dbops$",
		fn, c->name, mig_ex_declare(ctx, c, p->table), body,
		h->quote_literal(ctx, seq)),
	    NULL);
	mig_ex_add(
	    p, ctx,
	    h->printf(
		ctx,
		"CREATE OR REPLACE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s()",
		mig_ex_qi(ctx, h->printf(ctx, "dbops_%s_dw", c->name)),
		mig_ch_qtable(ctx, c), fn),
	    NULL);
}

/* ---- expand */

static void mig_ex_add_columns(struct mig_chplan *p, struct dbops_ctx *ctx,
			       const struct mig_chop *op)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *qt = mig_ch_qtable(ctx, p->spec);

	for (size_t k = 0; k < op->nnews; k++) {
		const char *type =
		    mig_ex_newtype(ctx, p->spec, op, k, p->table);
		const char *col = mig_ex_qi(ctx, op->news[k].name);
		bool fast =
		    op->dflt != NULL && !mig_sql_volatile(ctx, op->dflt);

		if (type == NULL)
			continue;
		/* a non-volatile default is stored once in the catalog
		 * (PostgreSQL 11): no rewrite, no backfill */
		mig_ex_add(
		    p, ctx,
		    h->printf(
			ctx,
			"ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s%s%s", qt,
			col, type, fast ? " DEFAULT " : "",
			fast ? op->dflt : ""),
		    NULL);
		/* a volatile one applies to new rows; the backfill fills the
		 * rows there are */
		if (op->dflt != NULL && !fast)
			mig_ex_add(
			    p, ctx,
			    h->printf(
				ctx,
				"ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
				qt, col, op->dflt),
			    NULL);
	}
}

static void mig_ex_not_valid(struct mig_chplan *p, struct dbops_ctx *ctx,
			     const struct mig_chop *op)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_chspec *c = p->spec;
	const char *qt = mig_ch_qtable(ctx, c);

	if (op->kind == MIG_CH_ADD_FOREIGN_KEY) {
		const char *cols = "", *refs = "";

		for (size_t k = 0; k < op->nfk; k++) {
			cols = h->printf(ctx, "%s%s%s", cols, k ? ", " : "",
					 mig_ex_qi(ctx, op->fk_cols[k]));
			refs = h->printf(ctx, "%s%s%s", refs, k ? ", " : "",
					 mig_ex_qi(ctx, op->ref_cols[k]));
		}
		mig_ex_add(
		    p, ctx,
		    h->printf(
			ctx,
			"ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)%s%s NOT VALID",
			qt, mig_ex_qi(ctx, op->constraint), cols, op->ref_table,
			refs, op->on_delete ? " ON DELETE " : "",
			op->on_delete ? op->on_delete : ""),
		    mig_ex_has_con(ctx, c, op->constraint));
		return;
	}
	/* NOT NULL the safe way: a CHECK NOT VALID now, enforced for new
	 * writes at once; VALIDATE, SET NOT NULL (which the valid check
	 * spares a scan) and the check dropped at contract */
	mig_ex_add(
	    p, ctx,
	    h->printf(
		ctx,
		"ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID",
		qt, mig_ex_qi(ctx, op->constraint), mig_ex_qi(ctx, op->column)),
	    mig_ex_has_con(ctx, c, op->constraint));
}

static void mig_ex_index(struct mig_chplan *p, struct dbops_ctx *ctx,
			 const struct mig_chop *op)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *cols = "";

	for (size_t k = 0; k < op->nindex_cols; k++) {
		const char *col = op->index_cols[k];
		bool plain =
		    strspn(col, "abcdefghijklmnopqrstuvwxyz0123456789_"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ$") == strlen(col);

		cols = h->printf(ctx, "%s%s%s", cols, k ? ", " : "",
				 plain ? mig_ex_qi(ctx, col)
				       : h->printf(ctx, "(%s)", col));
	}
	mig_ex_add(
	    p, ctx,
	    h->printf(
		ctx,
		"CREATE %sINDEX CONCURRENTLY IF NOT EXISTS %s ON %s%s%s (%s)%s%s",
		op->unique ? "UNIQUE " : "", mig_ex_qi(ctx, op->index),
		mig_ch_qtable(ctx, p->spec), op->method ? " USING " : "",
		op->method ? mig_ex_qi(ctx, op->method) : "", cols,
		op->where ? " WHERE " : "", op->where ? op->where : ""),
	    NULL);
	p->ddl[p->nddl - 1].nontx = true;
	p->ddl[p->nddl - 1].index =
	    h->printf(ctx, "%s.%s", mig_ex_qi(ctx, p->spec->schema),
		      mig_ex_qi(ctx, op->index));
}

int mig_ch_expand_sql(struct mig_chplan *p, struct dbops_ctx *ctx)
{
	const struct mig_chspec *c = p->spec;
	int err = 0;

	p->ddl = NULL;
	p->nddl = 0;
	for (size_t i = 0; i < c->nops; i++)
		err |= mig_ex_check(ctx, p, &c->ops[i]);
	if (err != 0)
		return DBOPS_ERR_INVALID;
	for (size_t i = 0; i < c->nops; i++) {
		const struct mig_chop *op = &c->ops[i];

		mig_ex_add_columns(p, ctx, op);
		if (op->kind == MIG_CH_ADD_FOREIGN_KEY ||
		    op->kind == MIG_CH_SET_NOT_NULL ||
		    (op->kind == MIG_CH_ADD_COLUMN && op->not_null))
			mig_ex_not_valid(p, ctx, op);
		else if (op->kind == MIG_CH_ADD_INDEX)
			mig_ex_index(p, ctx, op);
	}
	if (mig_ch_has_trigger(c))
		mig_ex_trigger(p, ctx);
	return mig_ch_rollback_sql(p, ctx);
}

/* ---- contract and rollback */

int mig_ch_contract_sql(struct mig_chplan *p, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_chspec *c = p->spec;
	const char *qt = mig_ch_qtable(ctx, c);

	p->ddl = NULL;
	p->nddl = 0;
	/* what can fail on the data first: nothing is dropped then */
	for (size_t i = 0; i < c->nops; i++) {
		const struct mig_chop *op = &c->ops[i];
		const char *gone;

		if (op->constraint == NULL)
			continue;
		gone = h->printf(ctx, "SELECT 1 WHERE NOT EXISTS (%s)",
				 mig_ex_has_con(ctx, c, op->constraint));
		mig_ex_add(
		    p, ctx,
		    h->printf(ctx, "ALTER TABLE %s VALIDATE CONSTRAINT %s", qt,
			      mig_ex_qi(ctx, op->constraint)),
		    h->printf(
			ctx,
			"%s UNION ALL SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = pg_catalog.to_regclass(%s) AND conname = %s AND convalidated",
			gone, h->quote_literal(ctx, qt),
			h->quote_literal(ctx, op->constraint)));
		if (op->kind == MIG_CH_ADD_FOREIGN_KEY)
			continue;
		mig_ex_add(
		    p, ctx,
		    h->printf(ctx,
			      "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", qt,
			      mig_ex_qi(ctx, op->column)),
		    gone);
		mig_ex_add(
		    p, ctx,
		    h->printf(ctx,
			      "ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s", qt,
			      mig_ex_qi(ctx, op->constraint)),
		    NULL);
	}
	if (mig_ch_has_trigger(c)) {
		mig_ex_add(
		    p, ctx,
		    h->printf(
			ctx, "DROP TRIGGER IF EXISTS %s ON %s",
			mig_ex_qi(ctx, h->printf(ctx, "dbops_%s_dw", c->name)),
			qt),
		    NULL);
		mig_ex_add(p, ctx,
			   h->printf(ctx, "DROP FUNCTION IF EXISTS %s()",
				     mig_ex_obj(ctx, c, "dw")),
			   NULL);
		mig_ex_add(p, ctx,
			   h->printf(ctx, "DROP SEQUENCE IF EXISTS %s",
				     mig_ch_counter(ctx, c)),
			   NULL);
	}
	for (size_t i = 0; i < c->nops; i++)
		for (size_t k = 0; k < c->ops[i].nolds; k++)
			mig_ex_add(
			    p, ctx,
			    h->printf(
				ctx, "ALTER TABLE %s DROP COLUMN IF EXISTS %s",
				qt, mig_ex_qi(ctx, c->ops[i].olds[k].name)),
			    NULL);
	return 0;
}

/* The rollback of what expand adds, in reverse; kept at expand. */
int mig_ch_rollback_sql(struct mig_chplan *p, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_chspec *c = p->spec;
	const char *qt = mig_ch_qtable(ctx, c), *s = "";

	if (mig_ch_has_trigger(c))
		s = h->printf(
		    ctx,
		    "DROP TRIGGER IF EXISTS %s ON %s;\n"
		    "DROP FUNCTION IF EXISTS %s();\n"
		    "DROP SEQUENCE IF EXISTS %s;\n",
		    mig_ex_qi(ctx, h->printf(ctx, "dbops_%s_dw", c->name)), qt,
		    mig_ex_obj(ctx, c, "dw"), mig_ch_counter(ctx, c));
	for (size_t i = c->nops; i > 0; i--) {
		const struct mig_chop *op = &c->ops[i - 1];

		if (op->kind == MIG_CH_ADD_INDEX)
			s = h->printf(
			    ctx, "%sDROP INDEX CONCURRENTLY IF EXISTS %s.%s;\n",
			    s, mig_ex_qi(ctx, c->schema),
			    mig_ex_qi(ctx, op->index));
		else if (op->constraint != NULL &&
			 op->kind != MIG_CH_ADD_COLUMN)
			s = h->printf(
			    ctx,
			    "%sALTER TABLE %s DROP CONSTRAINT IF EXISTS %s;\n",
			    s, qt, mig_ex_qi(ctx, op->constraint));
		for (size_t k = 0; k < op->nnews; k++)
			s = h->printf(
			    ctx, "%sALTER TABLE %s DROP COLUMN IF EXISTS %s;\n",
			    s, qt, mig_ex_qi(ctx, op->news[k].name));
	}
	p->rollback_sql = s;
	return 0;
}

int mig_ch_stored_ddl(struct mig_ddl **out, size_t *n, struct dbops_ctx *ctx,
		      const char *sql)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_parsed r;
	struct mig_ddl *d;

	*out = NULL;
	*n = 0;
	if (sql == NULL || sql[0] == '\0')
		return 0;
	if (mig_sql_parse(&r, ctx, sql, NULL, MIG_PARSE_LOCKS) != 0)
		return DBOPS_ERR_GENERIC;
	d = h->alloc(ctx, (r.n + 1) * sizeof(*d));
	for (size_t k = 0; k < r.n; k++) {
		d[k].sql = h->printf(ctx, "%.*s", (int)r.stmts[k].len,
				     sql + r.stmts[k].offset);
		d[k].nontx = r.stmts[k].nontx;
	}
	*out = d;
	*n = r.n;
	return 0;
}

/* ---- the backfill's assignments */

const struct mig_bfplan *mig_ch_backfill_plan(struct dbops_ctx *ctx,
					      const struct mig_chspec *c,
					      const struct mig_chtable *t)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_bfplan *b;
	const char *sets = NULL, *where = NULL;

	for (size_t i = 0; i < c->nops; i++) {
		const struct mig_chop *op = &c->ops[i];
		const char *cond;

		if (op->nolds > 0 && op->nnews > 0) {
			/* rows a trigger has not written yet */
			cond = h->printf(ctx, "(%s)",
					 mig_ex_all(ctx, op->news, op->nnews,
						    MIG_EX_ROW_NULL, "AND"));
			for (size_t k = 0; k < op->nnews; k++) {
				const char *col =
				    mig_ex_qi(ctx, op->news[k].name);
				const char *one = h->printf(
				    ctx,
				    "%s = CASE WHEN %s THEN (%s) ELSE %s END",
				    col, cond, mig_ex_up(ctx, op, k), col);

				sets = sets
					   ? h->printf(ctx, "%s, %s", sets, one)
					   : one;
			}
		} else if (op->dflt != NULL &&
			   (op->kind == MIG_CH_SET_NOT_NULL ||
			    mig_sql_volatile(ctx, op->dflt))) {
			/* a volatile default, or set_not_null's fill */
			const char *col = mig_ex_qi(ctx, op->column);
			const char *one;

			cond = h->printf(ctx, "(%s IS NULL)", col);
			one = h->printf(
			    ctx, "%s = CASE WHEN %s THEN (%s) ELSE %s END", col,
			    cond, op->dflt, col);
			sets = sets ? h->printf(ctx, "%s, %s", sets, one) : one;
		} else {
			continue;
		}
		where = where ? h->printf(ctx, "%s OR %s", where, cond) : cond;
	}
	if (sets == NULL)
		return NULL;
	b = h->alloc(ctx, sizeof(*b));
	b->sets = sets;
	b->where = where;
	b->qtable = mig_ch_qtable(ctx, c);
	b->key = t != NULL ? t->key : NULL;
	b->key_type = t != NULL ? t->key_type : NULL;
	return b;
}

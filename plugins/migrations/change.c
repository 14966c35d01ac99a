/* SPDX-License-Identifier: PostgreSQL */
/*
 * change.c — expand/contract changes as the spec declares them: the
 * `changes:` list of a migrations database read into struct mig_chspec,
 * every problem reported at its file:line:col, and a checksum of each
 * change's definition (table and operations), so that a change expanded
 * from one definition is never contracted from another. Also the
 * lock-safe DDL runner's numbers (`lock_retries:`). No I/O: what the
 * table looks like is observe's business (transition.c).
 */
#include "change.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

/*
 * The runner's defaults, from the tools surveyed in the expand/contract
 * reference: GitLab's with_lock_retries starts at 100 ms of lock_timeout
 * (pgroll 500 ms, Reshape 1 s); a short one bounds how long the queries
 * queued behind a waiting ALTER are held up, so 100 ms. Retries double
 * from 100 ms (Reshape) to 10 s between attempts with up to half the
 * wait as jitter; 20 attempts wait about two and a half minutes in all —
 * longer than Reshape's 10 attempts, far shorter than GitLab's 40
 * minutes, as a deploy should not hang on one busy table.
 */
#define MIG_LR_TIMEOUT_MS 100
#define MIG_LR_ATTEMPTS	  20
#define MIG_LR_BACKOFF_MS 100
#define MIG_LR_MAX_MS	  10000

/*
 * The backfill's defaults: a batch aims at 50 ms, so that the rows it
 * locks (FOR NO KEY UPDATE) hold up a writer at most about that long; it
 * starts at 1,000 rows (pgroll's and Reshape's fixed size) and adapts
 * between 100 and 50,000; a 100 ms pause between batches lets the
 * writers queued on its rows through and leaves the server two thirds
 * of its time. Measured with tests/bench/expand.sh (1M rows, a load of
 * 400 writes/s, 2 busy cores): 100 ms batches with a 10 ms pause (the
 * strong_migrations recipe) made the load's p99 17 times its p99
 * without a backfill; these numbers, 1.07 times, at 7 times the time of
 * one UPDATE of the table. It waits while a standby replays more than
 * 64 MB or 30 s behind, or while a transaction has been open for 10
 * minutes (it holds back vacuum of the row versions the backfill leaves).
 */
#define MIG_BF_BATCH_MS	  50
#define MIG_BF_PAUSE_MS	  100
#define MIG_BF_MIN	  100
#define MIG_BF_MAX	  50000
#define MIG_BF_FIRST	  1000
#define MIG_BF_LAG_BYTES  (64LL << 20)
#define MIG_BF_LAG_MS	  30000
#define MIG_BF_XACT_MS	  600000
#define MIG_GATE_QUIET_MS (24LL * 3600 * 1000)
#define MIG_CH_NAME_MAX	  40

static const char *const mig_change_keys[] = {
    "name", "table", "state", "operations", "gate", "backfill", "key", NULL,
};
static const char *const mig_gate_keys[] = {"quiet_window", NULL};
static const char *const mig_bf_keys[] = {
    "batch_time",  "pause",   "min_batch",	     "max_batch",
    "first_batch", "max_lag", "max_transaction_age", NULL,
};
static const char *const mig_lag_keys[] = {"bytes", "time", NULL};
static const char *const mig_lr_keys[] = {
    "lock_timeout", "attempts", "backoff", "max_backoff", "migrations", NULL,
};

/* The operations and their keys; the first key is required. */
static const struct {
	const char *name;
	enum mig_chkind kind;
	const char *const keys[8];
} mig_op_kinds[] = {
    {"add_column",
     MIG_CH_ADD_COLUMN,
     {"column", "type", "default", "not_null", NULL}},
    {"rename_column", MIG_CH_RENAME_COLUMN, {"column", "to", NULL}},
    {"change_type",
     MIG_CH_CHANGE_TYPE,
     {"column", "to", "type", "up", "down", NULL}},
    {"split_column", MIG_CH_SPLIT_COLUMN, {"column", "into", "down", NULL}},
    {"merge_columns", MIG_CH_MERGE_COLUMNS, {"columns", "into", "down", NULL}},
    {"set_not_null", MIG_CH_SET_NOT_NULL, {"column", "fill", NULL}},
    {"add_foreign_key",
     MIG_CH_ADD_FOREIGN_KEY,
     {"columns", "references", "name", "on_delete", NULL}},
    {"add_index",
     MIG_CH_ADD_INDEX,
     {"columns", "name", "unique", "where", "using", NULL}},
    {"drop_column", MIG_CH_DROP_COLUMN, {"column", "down", NULL}},
    {NULL, 0, {NULL}},
};

const char *mig_chkind_name(enum mig_chkind k)
{
	for (size_t i = 0; mig_op_kinds[i].name != NULL; i++)
		if (mig_op_kinds[i].kind == k)
			return mig_op_kinds[i].name;
	return "?";
}

const char *mig_chstate_name(enum mig_chstate s)
{
	switch (s) {
	case MIG_CS_NONE:
		return "none";
	case MIG_CS_EXPANDING:
		return "expanding";
	case MIG_CS_EXPANDED:
		return "expanded";
	case MIG_CS_CONTRACTED:
		return "contracted";
	case MIG_CS_ROLLED_BACK:
		return "rolled_back";
	}
	return "none";
}

enum mig_chstate mig_chstate_parse(const char *s)
{
	for (int k = MIG_CS_EXPANDING; k <= MIG_CS_ROLLED_BACK; k++)
		if (s != NULL && strcmp(s, mig_chstate_name(k)) == 0)
			return (enum mig_chstate)k;
	return MIG_CS_NONE;
}

const char *mig_ch_qtable(struct dbops_ctx *ctx, const struct mig_chspec *c)
{
	const struct dbops_host *h = dbops_host(ctx);

	return h->printf(ctx, "%s.%s", h->quote_ident(ctx, c->schema),
			 h->quote_ident(ctx, c->table));
}

bool mig_ch_has_old(const struct mig_chspec *c)
{
	for (size_t i = 0; i < c->nops; i++)
		if (c->ops[i].nolds > 0)
			return true;
	return false;
}

bool mig_ch_has_trigger(const struct mig_chspec *c)
{
	return mig_ch_has_old(c);
}

/* ---- typed reads */

static struct dbops_diag *
mig_ch_err(struct dbops_ctx *ctx, const struct dbops_node *n, const char *msg)
{
	return dbops_host(ctx)->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
				     &n->loc, "%s", msg);
}

/* A duration "100ms", "5s", "2min", "1h", "1d"; a bare number is ms. */
static int mig_ch_ms(int64_t *out, struct dbops_ctx *ctx,
		     const struct dbops_node *n, const char *what)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"", 1},	     {"ms", 1},	     {"s", 1000},
		     {"min", 60000}, {"h", 3600000}, {"d", 86400000},
		     {NULL, 0}};
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = NULL, *p;
	char *end;
	long long v;

	if (n == NULL)
		return 0;
	if (h->spec_string(&s, ctx, n, what) != 0)
		return DBOPS_ERR_INVALID;
	v = strtoll(s, &end, 10);
	for (p = end; *p == ' '; p++)
		;
	if (end != s && isdigit((unsigned char)*s) && v <= 100000000000LL)
		for (size_t i = 0; units[i].unit != NULL; i++)
			if (strcmp(p, units[i].unit) == 0) {
				*out = v * units[i].ms;
				return 0;
			}
	h->diag_hint(ctx,
		     mig_ch_err(ctx, n,
				h->printf(ctx, "invalid value for %s: %s", what,
					  plug_value(ctx, s))),
		     "Write a number with a unit (ms, s, min, h, d), such as "
		     "\"100ms\".");
	return DBOPS_ERR_INVALID;
}

/* A size "64MB", "1GB", "8kB" or bytes. */
static int mig_ch_bytes(int64_t *out, struct dbops_ctx *ctx,
			const struct dbops_node *n, const char *what)
{
	static const struct {
		const char *unit;
		int64_t b;
	} units[] = {{"", 1},	      {"B", 1},		 {"kB", 1024},
		     {"MB", 1 << 20}, {"GB", 1LL << 30}, {NULL, 0}};
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = NULL, *p;
	char *end;
	long long v;

	if (h->spec_string(&s, ctx, n, what) != 0)
		return DBOPS_ERR_INVALID;
	v = strtoll(s, &end, 10);
	for (p = end; *p == ' '; p++)
		;
	if (end != s && isdigit((unsigned char)*s) && v <= (1LL << 40))
		for (size_t i = 0; units[i].unit != NULL; i++)
			if (strcmp(p, units[i].unit) == 0) {
				*out = v * units[i].b;
				return 0;
			}
	h->diag_hint(ctx,
		     mig_ch_err(ctx, n,
				h->printf(ctx, "invalid value for %s: %s", what,
					  plug_value(ctx, s))),
		     "Write a number with a unit (B, kB, MB, GB), such as "
		     "\"64MB\".");
	return DBOPS_ERR_INVALID;
}

/* The trigger function declares a variable per column: these names
 * would hide PL/pgSQL's own. */
static bool mig_ch_reserved(const char *name)
{
	static const char *const words[] = {"new", "old", "found", NULL};

	for (size_t i = 0; words[i] != NULL; i++)
		if (strcasecmp(name, words[i]) == 0)
			return true;
	return strncasecmp(name, "tg_", 3) == 0 ||
	       strncasecmp(name, "dbops_", 6) == 0;
}

/* An identifier: a column, an index, a constraint. */
static int mig_ch_ident(const char **out, struct dbops_ctx *ctx,
			const struct dbops_node *n, const char *what,
			bool column)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (h->spec_string(out, ctx, n, what) != 0)
		return DBOPS_ERR_INVALID;
	if (**out == '\0' || strlen(*out) > 63) {
		mig_ch_err(
		    ctx, n,
		    h->printf(ctx, "%s must be 1 to 63 bytes long", what));
		return DBOPS_ERR_INVALID;
	}
	if (column && mig_ch_reserved(*out)) {
		h->diag_hint(
		    ctx,
		    mig_ch_err(
			ctx, n,
			h->printf(ctx,
				  "column name %s cannot be used in a change",
				  plug_value(ctx, *out))),
		    "The dual-write trigger names its variables after the columns; \"new\", \"old\", \"found\", \"tg_*\" and \"dbops_*\" are PL/pgSQL's or dbops' own.");
		return DBOPS_ERR_INVALID;
	}
	return 0;
}

static int mig_ch_expr(const char **out, struct dbops_ctx *ctx,
		       const struct dbops_node *n, const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);

	*out = NULL;
	if (n == NULL)
		return 0;
	if (h->spec_string(out, ctx, n, what) != 0)
		return DBOPS_ERR_INVALID;
	if (**out == '\0' || strchr(*out, ';') != NULL) {
		mig_ch_err(
		    ctx, n,
		    h->printf(ctx,
			      "%s must be one SQL expression, without \";\"",
			      what));
		return DBOPS_ERR_INVALID;
	}
	return 0;
}

static int mig_ch_idents(const char *const **out, size_t *n,
			 struct dbops_ctx *ctx, const struct dbops_node *node,
			 const char *what, bool column)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char **v;
	int err = 0;

	if (node == NULL) {
		/* a missing key: said where the map is */
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			"%s is required: a list of names", what);
		return DBOPS_ERR_INVALID;
	}
	if (node->kind != DBOPS_NODE_SEQ || node->len == 0) {
		mig_ch_err(ctx, node,
			   h->printf(ctx, "%s must be a list of names", what));
		return DBOPS_ERR_INVALID;
	}
	v = h->alloc(ctx, (node->len + 1) * sizeof(*v));
	for (size_t i = 0; i < node->len; i++)
		if (column
			? mig_ch_ident(&v[i], ctx, node->items[i], what, true)
			: h->spec_string(&v[i], ctx, node->items[i], what))
			err = DBOPS_ERR_INVALID;
	*out = v;
	*n = node->len;
	return err;
}

/* ---- operations */

static const struct dbops_node *mig_ch_req(struct dbops_ctx *ctx,
					   const struct dbops_node *map,
					   const char *key, const char *op)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v = h->spec_get(map, key);

	if (v == NULL)
		mig_ch_err(
		    ctx, map,
		    h->printf(ctx, "operation %s needs \"%s\"", op, key));
	return v;
}

static struct mig_chcol *mig_ch_col(struct dbops_ctx *ctx)
{
	return dbops_host(ctx)->alloc(ctx, 2 * sizeof(struct mig_chcol));
}

/* {column, type, up} of a new column (split_column.into, merge.into). */
static int mig_ch_newcol(struct mig_chcol *out, struct dbops_ctx *ctx,
			 const struct dbops_node *n, const char *op)
{
	static const char *const keys[] = {"column", "type", "up", NULL};
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v;

	if (h->spec_check_keys(ctx, n, h->printf(ctx, "%s.into", op), keys))
		return DBOPS_ERR_INVALID;
	if ((v = mig_ch_req(ctx, n, "column", op)) == NULL ||
	    mig_ch_ident(&out->name, ctx, v, "into.column", true) ||
	    (v = mig_ch_req(ctx, n, "type", op)) == NULL ||
	    h->spec_string(&out->type, ctx, v, "into.type") ||
	    (v = mig_ch_req(ctx, n, "up", op)) == NULL ||
	    mig_ch_expr(&out->expr, ctx, v, "into.up"))
		return DBOPS_ERR_INVALID;
	return 0;
}

static int mig_ch_op_columns(struct mig_chop *op, struct dbops_ctx *ctx,
			     const struct dbops_node *m, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v, *into, *down;

	switch (op->kind) {
	case MIG_CH_ADD_COLUMN:
		op->news = mig_ch_col(ctx);
		op->nnews = 1;
		if ((v = mig_ch_req(ctx, m, "type", name)) == NULL ||
		    h->spec_string(&op->news[0].type, ctx, v, "type") ||
		    mig_ch_ident(&op->news[0].name, ctx,
				 h->spec_get(m, "column"), "column", true) ||
		    mig_ch_expr(&op->dflt, ctx, h->spec_get(m, "default"),
				"default"))
			return DBOPS_ERR_INVALID;
		if ((v = h->spec_get(m, "not_null")) != NULL &&
		    h->spec_bool(&op->not_null, ctx, v, "not_null"))
			return DBOPS_ERR_INVALID;
		op->column = op->news[0].name;
		return 0;
	case MIG_CH_RENAME_COLUMN:
	case MIG_CH_CHANGE_TYPE:
		op->olds = mig_ch_col(ctx);
		op->news = mig_ch_col(ctx);
		op->nolds = op->nnews = 1;
		if (mig_ch_ident(&op->olds[0].name, ctx,
				 h->spec_get(m, "column"), "column", true) ||
		    (v = mig_ch_req(ctx, m, "to", name)) == NULL ||
		    mig_ch_ident(&op->news[0].name, ctx, v, "to", true))
			return DBOPS_ERR_INVALID;
		if (op->kind == MIG_CH_RENAME_COLUMN)
			return 0; /* up and down: the other column, same type */
		if ((v = mig_ch_req(ctx, m, "type", name)) == NULL ||
		    h->spec_string(&op->news[0].type, ctx, v, "type") ||
		    mig_ch_expr(&op->news[0].expr, ctx, h->spec_get(m, "up"),
				"up") ||
		    mig_ch_expr(&op->olds[0].expr, ctx, h->spec_get(m, "down"),
				"down"))
			return DBOPS_ERR_INVALID;
		return 0;
	case MIG_CH_SPLIT_COLUMN:
		op->olds = mig_ch_col(ctx);
		op->nolds = 1;
		into = mig_ch_req(ctx, m, "into", name);
		down = mig_ch_req(ctx, m, "down", name);
		if (into == NULL || down == NULL ||
		    mig_ch_ident(&op->olds[0].name, ctx,
				 h->spec_get(m, "column"), "column", true) ||
		    mig_ch_expr(&op->olds[0].expr, ctx, down, "down"))
			return DBOPS_ERR_INVALID;
		if (into->kind != DBOPS_NODE_SEQ || into->len < 2) {
			mig_ch_err(
			    ctx, into,
			    "split_column.into must list at least two new columns");
			return DBOPS_ERR_INVALID;
		}
		op->news = h->alloc(ctx, (into->len + 1) * sizeof(*op->news));
		op->nnews = into->len;
		for (size_t i = 0; i < into->len; i++)
			if (mig_ch_newcol(&op->news[i], ctx, into->items[i],
					  name))
				return DBOPS_ERR_INVALID;
		return 0;
	case MIG_CH_MERGE_COLUMNS: {
		const char *const *cols = NULL;
		size_t n = 0;

		op->news = mig_ch_col(ctx);
		op->nnews = 1;
		into = mig_ch_req(ctx, m, "into", name);
		down = mig_ch_req(ctx, m, "down", name);
		if (into == NULL || down == NULL ||
		    mig_ch_idents(&cols, &n, ctx, h->spec_get(m, "columns"),
				  "merge_columns.columns", true) ||
		    mig_ch_newcol(&op->news[0], ctx, into, name))
			return DBOPS_ERR_INVALID;
		if (n < 2 || down->kind != DBOPS_NODE_MAP) {
			mig_ch_err(
			    ctx, n < 2 ? m : down,
			    n < 2
				? "merge_columns.columns must list at least two columns"
				: "merge_columns.down must map each old column to its expression");
			return DBOPS_ERR_INVALID;
		}
		op->olds = h->alloc(ctx, (n + 1) * sizeof(*op->olds));
		op->nolds = n;
		for (size_t i = 0; i < n; i++) {
			op->olds[i].name = cols[i];
			v = h->spec_get(down, cols[i]);
			if (v == NULL) {
				mig_ch_err(
				    ctx, down,
				    h->printf(
					ctx,
					"merge_columns.down has no expression for column %s",
					plug_value(ctx, cols[i])));
				return DBOPS_ERR_INVALID;
			}
			if (mig_ch_expr(&op->olds[i].expr, ctx, v, "down"))
				return DBOPS_ERR_INVALID;
		}
		return h->spec_check_keys(ctx, down, "merge_columns.down", cols)
			   ? DBOPS_ERR_INVALID
			   : 0;
	}
	case MIG_CH_DROP_COLUMN:
		op->olds = mig_ch_col(ctx);
		op->nolds = 1;
		return mig_ch_ident(&op->olds[0].name, ctx,
				    h->spec_get(m, "column"), "column", true) ||
			       mig_ch_expr(&op->olds[0].expr, ctx,
					   h->spec_get(m, "down"), "down")
			   ? DBOPS_ERR_INVALID
			   : 0;
	case MIG_CH_SET_NOT_NULL:
		return mig_ch_ident(&op->column, ctx, h->spec_get(m, "column"),
				    "column", false) ||
			       mig_ch_expr(&op->dflt, ctx,
					   h->spec_get(m, "fill"), "fill")
			   ? DBOPS_ERR_INVALID
			   : 0;
	default:
		return 0;
	}
}

static int mig_ch_op_fk(struct mig_chop *op, struct dbops_ctx *ctx,
			const struct dbops_node *m, const char *name)
{
	static const char *const ref_keys[] = {"table", "columns", NULL};
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *ref = mig_ch_req(ctx, m, "references", name);
	const struct dbops_node *v;

	if (ref == NULL ||
	    mig_ch_idents(&op->fk_cols, &op->nfk, ctx,
			  h->spec_get(m, "columns"), "add_foreign_key.columns",
			  false) ||
	    h->spec_check_keys(ctx, ref, "add_foreign_key.references",
			       ref_keys) ||
	    (v = mig_ch_req(ctx, ref, "table", name)) == NULL ||
	    h->spec_string(&op->ref_table, ctx, v, "references.table") ||
	    (v = mig_ch_req(ctx, ref, "columns", name)) == NULL ||
	    mig_ch_idents(&op->ref_cols, &op->nref, ctx, v,
			  "references.columns", false))
		return DBOPS_ERR_INVALID;
	if (op->nref != op->nfk) {
		mig_ch_err(
		    ctx, ref,
		    "add_foreign_key.references.columns must name as many columns as add_foreign_key.columns");
		return DBOPS_ERR_INVALID;
	}
	if ((v = h->spec_get(m, "on_delete")) != NULL) {
		static const char *const actions[] = {
		    "cascade",	   "restrict",	"set null",
		    "set default", "no action", NULL};
		bool ok = false;

		if (h->spec_string(&op->on_delete, ctx, v, "on_delete"))
			return DBOPS_ERR_INVALID;
		for (size_t i = 0; actions[i] != NULL; i++)
			ok |= strcasecmp(op->on_delete, actions[i]) == 0;
		if (!ok) {
			h->diag_hint(
			    ctx,
			    mig_ch_err(
				ctx, v,
				h->printf(ctx, "invalid on_delete action %s",
					  plug_value(ctx, op->on_delete))),
			    "Use cascade, restrict, set null, set default or no action.");
			return DBOPS_ERR_INVALID;
		}
	}
	return 0;
}

static int mig_ch_op_index(struct mig_chop *op, struct dbops_ctx *ctx,
			   const struct dbops_node *m)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v;

	if (mig_ch_idents(&op->index_cols, &op->nindex_cols, ctx,
			  h->spec_get(m, "columns"), "add_index.columns",
			  false) ||
	    mig_ch_expr(&op->where, ctx, h->spec_get(m, "where"), "where"))
		return DBOPS_ERR_INVALID;
	for (size_t i = 0; i < op->nindex_cols; i++)
		if (strchr(op->index_cols[i], ';') != NULL) {
			mig_ch_err(
			    ctx, m,
			    "add_index.columns must be names or expressions, without \";\"");
			return DBOPS_ERR_INVALID;
		}
	if ((v = h->spec_get(m, "unique")) != NULL &&
	    h->spec_bool(&op->unique, ctx, v, "unique"))
		return DBOPS_ERR_INVALID;
	if ((v = h->spec_get(m, "using")) != NULL &&
	    mig_ch_ident(&op->method, ctx, v, "using", false))
		return DBOPS_ERR_INVALID;
	return 0;
}

/* The names dbops gives what an operation creates, when the spec does
 * not: PostgreSQL's own forms, cut to 63 bytes. */
static const char *mig_ch_name(struct dbops_ctx *ctx, const char *table,
			       const char *what, const char *suffix)
{
	const char *s =
	    dbops_host(ctx)->printf(ctx, "%s_%s_%s", table, what, suffix);

	return strlen(s) > 63 ? dbops_host(ctx)->printf(ctx, "%.63s", s) : s;
}

static int mig_ch_op(struct mig_chop *op, struct dbops_ctx *ctx,
		     const struct mig_chspec *c, const struct dbops_node *item)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *m;
	const char *name;
	size_t k;

	op->loc = item->loc;
	if (item->kind != DBOPS_NODE_MAP || item->len != 1) {
		h->diag_hint(
		    ctx,
		    mig_ch_err(
			ctx, item,
			"an operation must be a map with one key, its kind"),
		    "For example: - add_column: {column: note, type: text}");
		return DBOPS_ERR_INVALID;
	}
	name = item->keys[0];
	m = item->items[0];
	for (k = 0; mig_op_kinds[k].name != NULL; k++)
		if (strcmp(mig_op_kinds[k].name, name) == 0)
			break;
	if (mig_op_kinds[k].name == NULL) {
		const char *names[16];
		size_t n = 0;
		struct dbops_diag *d;

		for (; mig_op_kinds[n].name != NULL; n++)
			names[n] = mig_op_kinds[n].name;
		d = mig_ch_err(ctx, item,
			       h->printf(ctx, "unknown operation %s",
					 plug_value(ctx, name)));
		if (h->suggest(name, names, n) != NULL)
			h->diag_hint(ctx, d, "Did you mean \"%s\"?",
				     h->suggest(name, names, n));
		return DBOPS_ERR_INVALID;
	}
	op->kind = mig_op_kinds[k].kind;
	if (h->spec_check_keys(ctx, m, h->printf(ctx, "operation %s", name),
			       mig_op_kinds[k].keys) ||
	    mig_ch_req(ctx, m, mig_op_kinds[k].keys[0], name) == NULL)
		return DBOPS_ERR_INVALID;
	if (op->kind == MIG_CH_ADD_FOREIGN_KEY) {
		const struct dbops_node *v = h->spec_get(m, "name");

		if (mig_ch_op_fk(op, ctx, m, name))
			return DBOPS_ERR_INVALID;
		op->constraint =
		    mig_ch_name(ctx, c->table, op->fk_cols[0], "fkey");
		return v != NULL && mig_ch_ident(&op->constraint, ctx, v,
						 "name", false)
			   ? DBOPS_ERR_INVALID
			   : 0;
	}
	if (op->kind == MIG_CH_ADD_INDEX) {
		const struct dbops_node *v = h->spec_get(m, "name");

		if (v == NULL) {
			mig_ch_err(ctx, m,
				   "operation add_index needs \"name\"");
			return DBOPS_ERR_INVALID;
		}
		return mig_ch_op_index(op, ctx, m) ||
			       mig_ch_ident(&op->index, ctx, v, "name", false)
			   ? DBOPS_ERR_INVALID
			   : 0;
	}
	if (mig_ch_op_columns(op, ctx, m, name))
		return DBOPS_ERR_INVALID;
	/* NOT NULL is added as a CHECK NOT VALID first */
	if (op->kind == MIG_CH_SET_NOT_NULL ||
	    (op->kind == MIG_CH_ADD_COLUMN && op->not_null))
		op->constraint =
		    mig_ch_name(ctx, c->table, op->column, "not_null");
	return 0;
}

/* ---- the checksum of a definition */

static void mig_ch_sum(uint32_t *crc, const char *s)
{
	/* each field with its length, so "ab","c" differs from "a","bc" */
	char len[24];
	int n = snprintf(len, sizeof(len), "%zu:", s ? strlen(s) : 0);

	*crc = mig_crc32(*crc, len, (size_t)n);
	if (s != NULL)
		*crc = mig_crc32(*crc, s, strlen(s));
}

static const char *mig_ch_checksum(struct dbops_ctx *ctx,
				   const struct mig_chspec *c)
{
	uint32_t crc = 0;

	mig_ch_sum(&crc, c->schema);
	mig_ch_sum(&crc, c->table);
	for (size_t i = 0; i < c->nops; i++) {
		const struct mig_chop *op = &c->ops[i];

		mig_ch_sum(&crc, mig_chkind_name(op->kind));
		for (size_t k = 0; k < op->nolds; k++) {
			mig_ch_sum(&crc, op->olds[k].name);
			mig_ch_sum(&crc, op->olds[k].expr);
		}
		for (size_t k = 0; k < op->nnews; k++) {
			mig_ch_sum(&crc, op->news[k].name);
			mig_ch_sum(&crc, op->news[k].type);
			mig_ch_sum(&crc, op->news[k].expr);
		}
		mig_ch_sum(&crc, op->dflt);
		mig_ch_sum(&crc, op->not_null ? "not null" : "");
		mig_ch_sum(&crc, op->column);
		mig_ch_sum(&crc, op->constraint);
		for (size_t k = 0; k < op->nfk; k++) {
			mig_ch_sum(&crc, op->fk_cols[k]);
			mig_ch_sum(&crc, op->ref_cols[k]);
		}
		mig_ch_sum(&crc, op->ref_table);
		mig_ch_sum(&crc, op->on_delete);
		mig_ch_sum(&crc, op->index);
		for (size_t k = 0; k < op->nindex_cols; k++)
			mig_ch_sum(&crc, op->index_cols[k]);
		mig_ch_sum(&crc, op->unique ? "unique" : "");
		mig_ch_sum(&crc, op->where);
		mig_ch_sum(&crc, op->method);
	}
	return dbops_host(ctx)->printf(ctx, "%08x", crc);
}

/* ---- a change */

static int mig_ch_bf(struct mig_bfopts *bf, struct dbops_ctx *ctx,
		     const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v, *lag;
	int err = 0;

	bf->batch_ms = MIG_BF_BATCH_MS;
	bf->pause_ms = MIG_BF_PAUSE_MS;
	bf->batch_min = MIG_BF_MIN;
	bf->batch_max = MIG_BF_MAX;
	bf->batch_first = MIG_BF_FIRST;
	bf->max_lag_bytes = MIG_BF_LAG_BYTES;
	bf->max_lag_ms = MIG_BF_LAG_MS;
	bf->max_xact_ms = MIG_BF_XACT_MS;
	if (n == NULL)
		return 0;
	if (h->spec_check_keys(ctx, n, "the backfill settings", mig_bf_keys))
		return DBOPS_ERR_INVALID;
	err |= mig_ch_ms(&bf->batch_ms, ctx, h->spec_get(n, "batch_time"),
			 "backfill.batch_time");
	err |= mig_ch_ms(&bf->pause_ms, ctx, h->spec_get(n, "pause"),
			 "backfill.pause");
	err |= mig_ch_ms(&bf->max_xact_ms, ctx,
			 h->spec_get(n, "max_transaction_age"),
			 "backfill.max_transaction_age");
	if ((v = h->spec_get(n, "min_batch")) != NULL)
		err |= h->spec_int(&bf->batch_min, ctx, v, "backfill.min_batch",
				   1, 1000000);
	if ((v = h->spec_get(n, "max_batch")) != NULL)
		err |= h->spec_int(&bf->batch_max, ctx, v, "backfill.max_batch",
				   1, 10000000);
	if ((v = h->spec_get(n, "first_batch")) != NULL)
		err |= h->spec_int(&bf->batch_first, ctx, v,
				   "backfill.first_batch", 1, 10000000);
	if ((lag = h->spec_get(n, "max_lag")) != NULL) {
		if (h->spec_check_keys(ctx, lag, "backfill.max_lag",
				       mig_lag_keys))
			return DBOPS_ERR_INVALID;
		if ((v = h->spec_get(lag, "bytes")) != NULL)
			err |= mig_ch_bytes(&bf->max_lag_bytes, ctx, v,
					    "backfill.max_lag.bytes");
		err |= mig_ch_ms(&bf->max_lag_ms, ctx, h->spec_get(lag, "time"),
				 "backfill.max_lag.time");
	}
	if (err == 0 && bf->batch_min > bf->batch_max) {
		mig_ch_err(
		    ctx, n,
		    "backfill.min_batch is larger than backfill.max_batch");
		return DBOPS_ERR_INVALID;
	}
	return err ? DBOPS_ERR_INVALID : 0;
}

static bool mig_ch_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MIG_CH_NAME_MAX || !islower((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

static int mig_ch_table(struct mig_chspec *c, struct dbops_ctx *ctx,
			const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = NULL, *dot;

	if (h->spec_string(&s, ctx, n, "table") != 0)
		return DBOPS_ERR_INVALID;
	dot = strchr(s, '.');
	if (*s == '\0' || (dot != NULL && (dot == s || dot[1] == '\0' ||
					   strchr(dot + 1, '.') != NULL))) {
		mig_ch_err(ctx, n,
			   h->printf(ctx, "invalid table name %s",
				     plug_value(ctx, s)));
		return DBOPS_ERR_INVALID;
	}
	c->schema = dot ? h->printf(ctx, "%.*s", (int)(dot - s), s) : "public";
	c->table = dot ? dot + 1 : s;
	return 0;
}

static int mig_ch_one(struct mig_chspec *c, struct dbops_ctx *ctx,
		      const struct dbops_node *n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v, *ops, *gate;
	const char *state = NULL;
	int err = 0;

	c->loc = n->loc;
	c->quiet_ms = MIG_GATE_QUIET_MS;
	if (h->spec_check_keys(ctx, n, "a change", mig_change_keys))
		return DBOPS_ERR_INVALID;
	if ((v = mig_ch_req(ctx, n, "name", "change")) == NULL ||
	    h->spec_string(&c->name, ctx, v, "name"))
		return DBOPS_ERR_INVALID;
	if (!mig_ch_name_ok(c->name)) {
		h->diag_hint(
		    ctx,
		    mig_ch_err(ctx, v,
			       h->printf(ctx, "invalid change name %s",
					 plug_value(ctx, c->name))),
		    "Use lower-case letters, digits and \"_\", starting with a letter, at most 40 characters: the name goes into trigger and sequence names.");
		return DBOPS_ERR_INVALID;
	}
	if ((v = mig_ch_req(ctx, n, "table", "change")) == NULL ||
	    mig_ch_table(c, ctx, v))
		err = DBOPS_ERR_INVALID;
	if ((v = mig_ch_req(ctx, n, "state", "change")) == NULL ||
	    h->spec_string(&state, ctx, v, "state")) {
		err = DBOPS_ERR_INVALID;
	} else if ((c->want = mig_chstate_parse(state)) == MIG_CS_NONE ||
		   c->want == MIG_CS_EXPANDING) {
		h->diag_hint(
		    ctx,
		    mig_ch_err(ctx, v,
			       h->printf(ctx, "invalid change state %s",
					 plug_value(ctx, state))),
		    "Use \"expanded\", \"contracted\" or \"rolled_back\".");
		err = DBOPS_ERR_INVALID;
	}
	if ((v = h->spec_get(n, "key")) != NULL &&
	    mig_ch_ident(&c->key, ctx, v, "key", false))
		err = DBOPS_ERR_INVALID;
	if ((gate = h->spec_get(n, "gate")) != NULL &&
	    (h->spec_check_keys(ctx, gate, "the gate", mig_gate_keys) ||
	     mig_ch_ms(&c->quiet_ms, ctx, h->spec_get(gate, "quiet_window"),
		       "gate.quiet_window")))
		err = DBOPS_ERR_INVALID;
	if (mig_ch_bf(&c->bf, ctx, h->spec_get(n, "backfill")))
		err = DBOPS_ERR_INVALID;
	ops = h->spec_get(n, "operations");
	if (ops == NULL || ops->kind != DBOPS_NODE_SEQ || ops->len == 0) {
		mig_ch_err(ctx, ops ? ops : n,
			   "a change needs \"operations\", a list");
		return DBOPS_ERR_INVALID;
	}
	if (err != 0)
		return err;
	c->ops = h->alloc(ctx, (ops->len + 1) * sizeof(*c->ops));
	c->nops = ops->len;
	for (size_t i = 0; i < ops->len; i++)
		if (mig_ch_op(&c->ops[i], ctx, c, ops->items[i]))
			err = DBOPS_ERR_INVALID;
	if (err == 0)
		c->checksum = mig_ch_checksum(ctx, c);
	return err;
}

int mig_changes_load(struct mig_db *db, struct dbops_ctx *ctx,
		     const struct dbops_node *node)
{
	const struct dbops_host *h = dbops_host(ctx);
	int err = 0;

	db->changes = NULL;
	db->nchanges = 0;
	if (node == NULL)
		return 0;
	if (node->kind != DBOPS_NODE_SEQ) {
		mig_ch_err(ctx, node, "changes must be a list");
		return DBOPS_ERR_INVALID;
	}
	db->changes = h->alloc(ctx, (node->len + 1) * sizeof(*db->changes));
	db->nchanges = node->len;
	for (size_t i = 0; i < node->len; i++) {
		if (mig_ch_one(&db->changes[i], ctx, node->items[i]) != 0) {
			err = DBOPS_ERR_INVALID;
			continue;
		}
		for (size_t k = 0; k < i; k++)
			if (db->changes[k].name != NULL &&
			    strcmp(db->changes[k].name, db->changes[i].name) ==
				0) {
				mig_ch_err(
				    ctx, node->items[i],
				    h->printf(
					ctx, "change %s is listed twice",
					plug_value(ctx, db->changes[i].name)));
				err = DBOPS_ERR_INVALID;
			}
	}
	return err;
}

int mig_lockpolicy_load(struct mig_lockpolicy *out, struct dbops_ctx *ctx,
			const struct dbops_node *node)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v;
	int err = 0;

	out->lock_timeout_ms = MIG_LR_TIMEOUT_MS;
	out->attempts = MIG_LR_ATTEMPTS;
	out->backoff_ms = MIG_LR_BACKOFF_MS;
	out->max_backoff_ms = MIG_LR_MAX_MS;
	out->migrations = false;
	if (node == NULL)
		return 0;
	if (h->spec_check_keys(ctx, node, "lock_retries", mig_lr_keys))
		return DBOPS_ERR_INVALID;
	err |= mig_ch_ms(&out->lock_timeout_ms, ctx,
			 h->spec_get(node, "lock_timeout"),
			 "lock_retries.lock_timeout");
	err |= mig_ch_ms(&out->backoff_ms, ctx, h->spec_get(node, "backoff"),
			 "lock_retries.backoff");
	err |= mig_ch_ms(&out->max_backoff_ms, ctx,
			 h->spec_get(node, "max_backoff"),
			 "lock_retries.max_backoff");
	if ((v = h->spec_get(node, "attempts")) != NULL)
		err |= h->spec_int(&out->attempts, ctx, v,
				   "lock_retries.attempts", 1, 1000);
	if ((v = h->spec_get(node, "migrations")) != NULL)
		err |= h->spec_bool(&out->migrations, ctx, v,
				    "lock_retries.migrations");
	if (err == 0 && out->lock_timeout_ms == 0) {
		h->diag_hint(
		    ctx,
		    mig_ch_err(ctx, node,
			       "lock_retries.lock_timeout cannot be 0"),
		    "A DDL statement without a lock timeout queues every query on its table behind it for as long as it waits.");
		return DBOPS_ERR_INVALID;
	}
	return err ? DBOPS_ERR_INVALID : 0;
}

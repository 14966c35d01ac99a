/* SPDX-License-Identifier: PostgreSQL */
/*
 * transition.c — expand/contract changes through the plugin's callbacks:
 * what observe reads (each change's recorded state and backfill cursor,
 * its table in the catalog, and on a volatile connection the gate's
 * evidence and the sessions that would block), which steps diff plans to
 * move each change to the state the spec asks for, and what `dbops
 * status` shows. How apply runs a step is in chapply.c.
 *
 * State lives in the migrated database: dbops.schema_changes (one row per
 * change: state, definition checksum, the rollback SQL kept at expand,
 * the gate's snapshot time, stats_reset, dealloc and counter),
 * dbops.backfill_cursor (updated with every batch) and
 * dbops.pgss_snapshot (calls per queryid at the snapshot), all created
 * when first needed.
 *
 * The steps, each a change of its own in the plan:
 *   .expand    none/rolled_back → expanded: new structure, trigger,
 *              first snapshot
 *   .backfill  the new columns filled, resumable
 *   .gate      old code was seen (or statistics reset): a new snapshot,
 *              the quiet window starts again
 *   .contract  expanded → contracted, when the gate passes (or
 *              `dbops migrations contract --force-contract`): destructive
 *              when it drops columns
 *   .rollback  expanded → rolled_back: what expand added removed
 * A contract that waits is a warning in the plan saying why, not a
 * change: nothing can be done about it but wait.
 */
#include "change.h"

#include <stdlib.h>
#include <string.h>

static const char mig_ch_ddl[] =
    "CREATE SCHEMA IF NOT EXISTS dbops; "
    "CREATE TABLE IF NOT EXISTS dbops.schema_changes ("
    "name text PRIMARY KEY, table_name text NOT NULL, state text NOT NULL, "
    "checksum text NOT NULL, expanded_at timestamptz, "
    "contracted_at timestamptz, rolled_back_at timestamptz, "
    "rollback_sql text, gate_at timestamptz, gate_stats_reset timestamptz, "
    "gate_dealloc bigint, gate_old_writes bigint, "
    "forced boolean NOT NULL DEFAULT false, "
    "updated_at timestamptz NOT NULL DEFAULT now()); "
    "CREATE TABLE IF NOT EXISTS dbops.backfill_cursor ("
    "change text PRIMARY KEY, key_column text NOT NULL, last_key text, "
    "max_key text, rows_done bigint NOT NULL DEFAULT 0, "
    "rows_changed bigint NOT NULL DEFAULT 0, "
    "batches bigint NOT NULL DEFAULT 0, batch_size integer, "
    "total_estimate bigint, rate double precision, "
    "started_at timestamptz NOT NULL DEFAULT now(), "
    "updated_at timestamptz NOT NULL DEFAULT now(), "
    "finished_at timestamptz); "
    "CREATE TABLE IF NOT EXISTS dbops.pgss_snapshot ("
    "change text NOT NULL, queryid bigint NOT NULL, calls bigint NOT NULL, "
    "query text, PRIMARY KEY (change, queryid)); "
    "COMMENT ON TABLE dbops.schema_changes IS 'dbops: the state of each "
    "expand/contract change'";

int mig_changes_ensure(struct dbops_ctx *ctx, struct dbops_conn *conn)
{
	return dbops_host(ctx)->conn_query(NULL, ctx, conn, mig_ch_ddl, 0,
					   NULL);
}

static bool mig_tr_true(const char *v)
{
	return v != NULL && v[0] == 't';
}

static int64_t mig_tr_int(const char *v)
{
	return v != NULL ? strtoll(v, NULL, 10) : 0;
}

/* ---- observe */

static const char mig_tr_rows_sql[] =
    "SELECT s.name, s.state, s.checksum, s.expanded_at::text, "
    "s.contracted_at::text, s.rollback_sql, s.gate_at::text, "
    "s.gate_stats_reset::text, s.gate_dealloc::text, "
    "s.gate_old_writes::text, s.forced::text, "
    "(b.change IS NOT NULL)::text AS bf, "
    "(b.finished_at IS NOT NULL)::text AS bf_done, b.last_key, b.max_key, "
    "b.rows_done::text, b.total_estimate::text, b.rate::text, "
    "b.started_at::text AS bf_started "
    "FROM dbops.schema_changes s LEFT JOIN dbops.backfill_cursor b ON "
    "b.change = s.name ORDER BY s.name";

static void mig_tr_row(struct mig_chrow *r, struct dbops_ctx *ctx,
		       const struct dbops_rows *rows, int i)
{
	const struct dbops_host *h = dbops_host(ctx);

	r->name = h->rows_get(rows, i, "name");
	r->state = mig_chstate_parse(h->rows_get(rows, i, "state"));
	r->checksum = h->rows_get(rows, i, "checksum");
	r->expanded_at = h->rows_get(rows, i, "expanded_at");
	r->contracted_at = h->rows_get(rows, i, "contracted_at");
	r->rollback_sql = h->rows_get(rows, i, "rollback_sql");
	r->gate_at = h->rows_get(rows, i, "gate_at");
	r->gate_reset = h->rows_get(rows, i, "gate_stats_reset");
	r->gate_dealloc = mig_tr_int(h->rows_get(rows, i, "gate_dealloc"));
	r->gate_writes = mig_tr_int(h->rows_get(rows, i, "gate_old_writes"));
	r->forced = mig_tr_true(h->rows_get(rows, i, "forced"));
	r->bf_present = mig_tr_true(h->rows_get(rows, i, "bf"));
	r->bf_done = mig_tr_true(h->rows_get(rows, i, "bf_done"));
	r->bf_last = h->rows_get(rows, i, "last_key");
	r->bf_max = h->rows_get(rows, i, "max_key");
	r->bf_rows = mig_tr_int(h->rows_get(rows, i, "rows_done"));
	r->bf_total = mig_tr_int(h->rows_get(rows, i, "total_estimate"));
	r->bf_rate = h->rows_get(rows, i, "rate")
			 ? strtod(h->rows_get(rows, i, "rate"), NULL)
			 : 0;
	r->bf_started = h->rows_get(rows, i, "bf_started");
}

int mig_changes_read_rows(struct mig_chlive *l, struct dbops_ctx *ctx,
			  struct dbops_conn *conn)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	int err;

	err = h->conn_query(
	    &rows, ctx, conn,
	    "SELECT pg_catalog.to_regclass('dbops.schema_changes') "
	    "IS NOT NULL AND pg_catalog.to_regclass("
	    "'dbops.backfill_cursor') IS NOT NULL AS ready",
	    0, NULL);
	if (err != 0)
		return err;
	l->ready = mig_tr_true(h->rows_get(rows, 0, "ready"));
	if (!l->ready)
		return 0;
	if ((err = h->conn_query(&rows, ctx, conn, mig_tr_rows_sql, 0, NULL)))
		return err;
	l->rows = h->alloc(ctx, ((size_t)rows->nrows + 1) * sizeof(*l->rows));
	l->nrows = (size_t)rows->nrows;
	for (int i = 0; i < rows->nrows; i++)
		mig_tr_row(&l->rows[i], ctx, rows, i);
	return 0;
}

/* The table of change c: its columns and the key to backfill by. */
static int mig_tr_read_table(struct mig_chtable *t, struct dbops_ctx *ctx,
			     struct dbops_conn *conn,
			     const struct mig_chspec *c)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *params[2];
	int err;

	params[0] = mig_ch_qtable(ctx, c);
	err = h->conn_query(
	    &rows, ctx, conn,
	    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) "
	    "AS type, a.attnotnull::text AS notnull, c.reltuples::float8::text "
	    "AS reltuples, EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE "
	    "g.tgrelid = c.oid AND g.tgname LIKE 'dbops\\_%\\_dw')::text AS trg "
	    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON "
	    "a.attrelid = c.oid WHERE c.oid = pg_catalog.to_regclass($1) AND "
	    "a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
	    1, params);
	if (err != 0)
		return err;
	t->exists = rows->nrows > 0;
	t->cols = h->alloc(ctx, ((size_t)rows->nrows + 1) * sizeof(*t->cols));
	t->ncols = (size_t)rows->nrows;
	for (int i = 0; i < rows->nrows; i++) {
		t->cols[i].name = h->rows_get(rows, i, "attname");
		t->cols[i].type = h->rows_get(rows, i, "type");
		t->cols[i].not_null =
		    mig_tr_true(h->rows_get(rows, i, "notnull"));
		t->rows = strtod(h->rows_get(rows, i, "reltuples"), NULL);
		t->has_trigger = mig_tr_true(h->rows_get(rows, i, "trg"));
	}
	if (!t->exists)
		return 0;
	/* the key: a unique, valid, whole-column index on one NOT NULL
	 * column, the primary key first */
	params[1] = c->key != NULL ? c->key : "";
	err = h->conn_query(
	    &rows, ctx, conn,
	    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) "
	    "AS type FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
	    "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE "
	    "i.indrelid = pg_catalog.to_regclass($1) AND i.indisunique AND "
	    "i.indisvalid AND i.indnkeyatts = 1 AND i.indexprs IS NULL AND "
	    "i.indpred IS NULL AND a.attnotnull AND ($2 = '' OR a.attname = "
	    "$2) ORDER BY i.indisprimary DESC, a.attnum LIMIT 1",
	    2, params);
	if (err != 0)
		return err;
	if (rows->nrows == 1) {
		t->key = h->rows_get(rows, 0, "attname");
		t->key_type = h->rows_get(rows, 0, "type");
	} else {
		t->why_no_key =
		    c->key != NULL
			? h->printf(
			      ctx,
			      "column %s has no unique index of its own, or may be NULL",
			      plug_value(ctx, c->key))
			: "it has no primary key or unique index on one NOT NULL column";
	}
	return 0;
}

struct mig_chrow *mig_changes_find(const struct mig_chlive *l, const char *name)
{
	for (size_t i = 0; l != NULL && i < l->nrows; i++)
		if (strcmp(l->rows[i].name, name) == 0)
			return &l->rows[i];
	return NULL;
}

/* The strongest lock a step of c takes on its table (for the sessions
 * that would block it); add_index and foreign keys take less. */
static enum mig_lockmode mig_tr_mode(const struct mig_chspec *c)
{
	enum mig_lockmode m = MIG_LOCK_NONE;

	for (size_t i = 0; i < c->nops; i++) {
		enum mig_lockmode one =
		    c->ops[i].kind == MIG_CH_ADD_INDEX
			? MIG_LOCK_SHARE_UPDATE_EXCLUSIVE
		    : c->ops[i].kind == MIG_CH_ADD_FOREIGN_KEY
			? MIG_LOCK_SHARE_ROW_EXCLUSIVE
			: MIG_LOCK_ACCESS_EXCLUSIVE;

		if (one > m)
			m = one;
	}
	return m;
}

/* What changes with time: the gate's evidence, the blockers. */
static int mig_tr_volatile(struct mig_chlive *l, struct dbops_ctx *ctx,
			   const struct mig_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_conn *conn = NULL;
	struct dbops_rows *rows = NULL;
	const char **tables;
	enum mig_lockmode *modes;
	size_t n = 0;
	int err;

	err = h->conn_open(&conn, ctx, mig_conninfo(ctx, db->database),
			   DBOPS_CONN_SAME_CLUSTER | DBOPS_CONN_VOLATILE);
	if (err != 0)
		return err;
	err = h->conn_query(
	    &rows, ctx, conn,
	    "SELECT pg_catalog.current_setting('shared_preload_libraries') ~ "
	    "'(^|[ ,])pg_stat_statements($|[ ,])' AS loaded, (SELECT "
	    "n.nspname FROM pg_catalog.pg_extension e JOIN "
	    "pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE "
	    "e.extname = 'pg_stat_statements') AS schema, now()::text AS now",
	    0, NULL);
	if (err != 0)
		goto done;
	l->pgss_loaded = mig_tr_true(h->rows_get(rows, 0, "loaded"));
	l->pgss_schema = h->rows_get(rows, 0, "schema");
	l->pgss_installed = l->pgss_schema != NULL;
	l->now = h->rows_get(rows, 0, "now");
	tables = h->alloc(ctx, (db->nchanges + 1) * sizeof(*tables));
	modes = h->alloc(ctx, (db->nchanges + 1) * sizeof(*modes));
	for (size_t i = 0; i < db->nchanges; i++) {
		const struct mig_chspec *c = &db->changes[i];
		struct mig_chrow *r = mig_changes_find(l, c->name);

		if (r == NULL || r->state != c->want) {
			tables[n] =
			    h->printf(ctx, "%s.%s", c->schema, c->table);
			modes[n++] = mig_tr_mode(c);
		}
		if (r == NULL || r->state != MIG_CS_EXPANDED)
			continue;
		if ((err = mig_gate_read(&l->gates[i], ctx, conn, c, l, r)))
			goto done;
		if (r->gate_at != NULL) {
			const char *params[1] = {r->gate_at};

			err = h->conn_query(
			    &rows, ctx, conn,
			    "SELECT extract(epoch FROM now() - $1::timestamptz)::float8::text AS age",
			    1, params);
			if (err != 0)
				goto done;
			r->gate_age_s =
			    strtod(h->rows_get(rows, 0, "age"), NULL);
		}
	}
	err = mig_blockers_read(l, ctx, conn, tables, modes, n);
done:
	h->conn_close(ctx, conn);
	return err;
}

int mig_changes_observe(struct mig_live_db *out, struct dbops_ctx *ctx,
			struct dbops_conn *conn, const struct mig_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_chlive *l = h->alloc(ctx, sizeof(*l));
	int err;

	out->changes = l;
	if ((err = mig_changes_read_rows(l, ctx, conn)) != 0)
		return err;
	if (db->nchanges == 0)
		return 0;
	l->tables = h->alloc(ctx, (db->nchanges + 1) * sizeof(*l->tables));
	l->gates = h->alloc(ctx, (db->nchanges + 1) * sizeof(*l->gates));
	for (size_t i = 0; i < db->nchanges; i++)
		if ((err = mig_tr_read_table(&l->tables[i], ctx, conn,
					     &db->changes[i])) != 0)
			return err;
	return mig_tr_volatile(l, ctx, db);
}

/* ---- diff */

struct mig_tr {
	struct dbops_ctx *ctx;
	const struct mig_db *db;
	const struct mig_chlive *live;
	struct mig_run *run;
	unsigned long *ordinal;
	const char *force; /* --force-contract's names ("" for all), or NULL */
	int err;
};

static struct dbops_diag *
mig_tr_err(struct mig_tr *t, const struct mig_chspec *c, const char *msg)
{
	t->err = DBOPS_ERR_INVALID;
	return dbops_host(t->ctx)->diag(t->ctx, DBOPS_SEV_ERROR,
					DBOPS_ERR_INVALID, &c->loc, "%s", msg);
}

static const char *mig_tr_op_text(struct dbops_ctx *ctx,
				  const struct mig_chop *op)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *olds = "", *news = "";

	for (size_t k = 0; k < op->nolds; k++)
		olds = h->printf(ctx, "%s%s%s", olds, k ? ", " : "",
				 op->olds[k].name);
	for (size_t k = 0; k < op->nnews; k++)
		news = h->printf(ctx, "%s%s%s%s%s", news, k ? ", " : "",
				 op->news[k].name, op->news[k].type ? " " : "",
				 op->news[k].type ? op->news[k].type : "");
	switch (op->kind) {
	case MIG_CH_ADD_COLUMN:
		return h->printf(ctx, "add_column %s%s%s%s", news,
				 op->dflt ? " DEFAULT " : "",
				 op->dflt ? op->dflt : "",
				 op->not_null ? " NOT NULL" : "");
	case MIG_CH_SET_NOT_NULL:
		return h->printf(ctx, "set_not_null %s%s%s", op->column,
				 op->dflt ? ", NULLs filled with " : "",
				 op->dflt ? op->dflt : "");
	case MIG_CH_ADD_FOREIGN_KEY:
		return h->printf(ctx, "add_foreign_key %s -> %s",
				 op->constraint, op->ref_table);
	case MIG_CH_ADD_INDEX:
		return h->printf(ctx, "add_index %s%s", op->index,
				 op->unique ? " (unique)" : "");
	case MIG_CH_DROP_COLUMN:
		return h->printf(ctx, "drop_column %s", olds);
	default:
		return h->printf(ctx, "%s %s -> %s", mig_chkind_name(op->kind),
				 olds, news);
	}
}

static struct dbops_change *mig_tr_change(struct mig_tr *t,
					  struct mig_chplan *p,
					  enum dbops_action action,
					  const char *step, const char *reason)
{
	const struct dbops_host *h = dbops_host(t->ctx);
	struct dbops_change *c =
	    h->change_new(t->ctx, action,
			  h->printf(t->ctx, "migrations.%s.change.%s.%s",
				    t->db->database, p->spec->name, step));
	struct mig_payload *pl = h->alloc(t->ctx, sizeof(*pl));

	c->order = ++*t->ordinal;
	c->reason = reason;
	c->loc = p->spec->loc;
	/* the plugin runs it on its own connection and manages its
	 * transactions (one per statement) */
	c->flags = DBOPS_CHANGE_NONTX;
	pl->op = MIG_OP_CHANGE;
	pl->run = t->run;
	pl->chplan = p;
	c->payload = pl;
	return c;
}

static void mig_tr_state(struct mig_tr *t, struct dbops_change *c,
			 enum mig_chstate from, enum mig_chstate to)
{
	dbops_host(t->ctx)->change_attr(t->ctx, c, "state",
					mig_chstate_name(from),
					mig_chstate_name(to), false);
}

/* The statements of a step: shown, their locks classified, and the
 * sessions that hold conflicting locks listed. */
static void mig_tr_ddl_attrs(struct mig_tr *t, struct dbops_change *c,
			     const struct mig_chplan *p)
{
	const struct dbops_host *h = dbops_host(t->ctx);
	const char *text = mig_ch_ddl_text(t->ctx, p->ddl, p->nddl);
	struct mig_parsed r;

	c->sql = text;
	if (p->nddl > 0 &&
	    mig_sql_parse(&r, t->ctx, text, NULL, MIG_PARSE_LOCKS) == 0)
		mig_lock_attrs(t->ctx, c, r.stmts, r.n);
	for (size_t i = 0, k = 0; i < t->live->nblockers; i++) {
		const struct mig_chblocker *b = &t->live->blockers[i];
		const char *v;

		if (strcmp(b->table, h->printf(t->ctx, "%s.%s", p->spec->schema,
					       p->spec->table)) != 0)
			continue;
		v = h->printf(t->ctx, "pid %s (%s), %s for %llds, holds %s: %s",
			      b->pid,
			      b->app[0] ? b->app : "no application_name",
			      b->state[0] ? b->state : "?", (long long)b->age_s,
			      b->modes, b->query);
		h->change_attr(t->ctx, c,
			       h->printf(t->ctx, "blocked_by.%zu", ++k), v, v,
			       false);
	}
}

static void mig_tr_ops(struct mig_tr *t, struct dbops_change *c,
		       const struct mig_chspec *s)
{
	const struct dbops_host *h = dbops_host(t->ctx);

	h->change_attr(t->ctx, c, "table",
		       h->printf(t->ctx, "%s.%s", s->schema, s->table),
		       h->printf(t->ctx, "%s.%s", s->schema, s->table), false);
	for (size_t i = 0; i < s->nops; i++) {
		const char *v = mig_tr_op_text(t->ctx, &s->ops[i]);

		h->change_attr(t->ctx, c,
			       h->printf(t->ctx, "operation.%zu", i + 1), v, v,
			       false);
	}
}

static struct mig_chplan *mig_tr_plan(struct mig_tr *t,
				      const struct mig_chspec *s, size_t i,
				      enum mig_chstep step)
{
	const struct dbops_host *h = dbops_host(t->ctx);
	struct mig_chplan *p = h->alloc(t->ctx, sizeof(*p));

	p->step = step;
	p->spec = s;
	p->db = t->db;
	p->row = mig_changes_find(t->live, s->name);
	p->table = &t->live->tables[i];
	p->gated = mig_ch_has_old(s);
	p->counter = mig_ch_counter(t->ctx, s);
	p->pgss_schema = t->live->pgss_schema;
	p->bf = mig_ch_backfill_plan(t->ctx, s, p->table);
	return p;
}

static void mig_tr_backfill(struct mig_tr *t, const struct mig_chspec *s,
			    size_t i, bool fresh)
{
	const struct dbops_host *h = dbops_host(t->ctx);
	struct mig_chplan *p = mig_tr_plan(t, s, i, MIG_STEP_BACKFILL);
	const struct mig_chrow *r = fresh ? NULL : p->row;
	struct dbops_change *c;

	c = mig_tr_change(
	    t, p, DBOPS_ACTION_RUN, "backfill",
	    r != NULL && r->bf_present
		? h->printf(t->ctx, "interrupted, resumes after key %s: %s",
			    r->bf_last ? r->bf_last : "(none)",
			    mig_backfill_progress(t->ctx, r))
		: "fill the new columns of the existing rows, in batches");
	h->change_attr(t->ctx, c, "key", NULL, p->bf->key, false);
	h->change_attr(
	    t->ctx, c, "rows", NULL,
	    h->printf(t->ctx, "~%.0f", p->table->rows > 0 ? p->table->rows : 0),
	    false);
	h->change_attr(t->ctx, c, "batch_time", NULL,
		       h->printf(t->ctx, "%lldms", (long long)s->bf.batch_ms),
		       false);
	c->sql = h->printf(
	    t->ctx,
	    "UPDATE %s SET %s WHERE %s in (the next batch of keys, FOR NO KEY UPDATE) AND (%s)",
	    p->bf->qtable, p->bf->sets, h->quote_ident(t->ctx, p->bf->key),
	    p->bf->where);
	/* takes row locks only */
	h->change_attr(t->ctx, c, "lock.1",
		       h->printf(t->ctx, "RowExclusive %s.%s, writes rows",
				 s->schema, s->table),
		       h->printf(t->ctx, "RowExclusive %s.%s, writes rows",
				 s->schema, s->table),
		       false);
}

static bool mig_tr_forced(const struct mig_tr *t, const char *name)
{
	size_t n = strlen(name);

	if (t->force == NULL)
		return false;
	if (t->force[0] == '\0')
		return true;
	for (const char *p = t->force; *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

static void mig_tr_wait(struct mig_tr *t, const struct mig_chspec *s,
			const char *why, const char *hint)
{
	const struct dbops_host *h = dbops_host(t->ctx);
	struct dbops_diag *d =
	    h->diag(t->ctx, DBOPS_SEV_WARNING, 0, &s->loc,
		    "contract of change \"%s\" waits: %s", s->name, why);

	if (hint != NULL)
		h->diag_hint(t->ctx, d, "%s", hint);
}

static void mig_tr_contract(struct mig_tr *t, const struct mig_chspec *s,
			    size_t i, bool expanding, bool backfilling)
{
	const struct dbops_host *h = dbops_host(t->ctx);
	struct mig_chplan *p = mig_tr_plan(t, s, i, MIG_STEP_CONTRACT);
	const char *why = NULL;
	enum mig_verdict v = MIG_GATE_PASS;
	struct dbops_change *c;

	p->forced = p->gated && mig_tr_forced(t, s->name);
	if (p->gated && !p->forced) {
		if (expanding) {
			mig_tr_wait(
			    t, s,
			    "the change is expanded by this plan; its quiet window starts then",
			    NULL);
			return;
		}
		if (backfilling) {
			mig_tr_wait(t, s, "its backfill is not finished", NULL);
			return;
		}
		v = mig_gate_judge(&why, t->ctx, s, p->row, &t->live->gates[i]);
		if (v == MIG_GATE_WAIT || v == MIG_GATE_BLIND) {
			mig_tr_wait(
			    t, s, why,
			    v == MIG_GATE_BLIND
				? "Load pg_stat_statements (shared_preload_libraries), or contract with \"dbops migrations contract --force-contract NAME\"."
				: NULL);
			return;
		}
		if (v == MIG_GATE_RENEW) {
			c = mig_tr_change(
			    t, p, DBOPS_ACTION_UPDATE, "gate",
			    h->printf(
				t->ctx,
				"%s; a new snapshot, the quiet window starts again",
				why));
			h->change_attr(t->ctx, c, "snapshot", p->row->gate_at,
				       "now", false);
			p->step = MIG_STEP_GATE;
			mig_tr_wait(t, s, why, NULL);
			return;
		}
	}
	if (p->forced && !expanding)
		(void)mig_gate_judge(&why, t->ctx, s, p->row,
				     &t->live->gates[i]);
	mig_ch_contract_sql(p, t->ctx);
	c = mig_tr_change(t, p, DBOPS_ACTION_UPDATE, "contract",
			  p->forced  ? "forced by --force-contract"
			  : p->gated ? "the gate passed: old code is gone"
				     : "validate what expand added");
	mig_tr_state(t, c, expanding ? MIG_CS_NONE : MIG_CS_EXPANDED,
		     MIG_CS_CONTRACTED);
	mig_tr_ops(t, c, s);
	if (p->gated)
		h->change_attr(
		    t->ctx, c, "gate", NULL,
		    p->forced ? h->printf(t->ctx,
					  "overridden by --force-contract (%s)",
					  why ? why : "not evaluated")
			      : why,
		    false);
	mig_tr_ddl_attrs(t, c, p);
	if (p->gated)
		c->flags |=
		    DBOPS_CHANGE_DESTRUCTIVE | DBOPS_CHANGE_IRREVERSIBLE;
}

static void mig_tr_rollback(struct mig_tr *t, const struct mig_chspec *s,
			    size_t i)
{
	const struct dbops_host *h = dbops_host(t->ctx);
	struct mig_chplan *p = mig_tr_plan(t, s, i, MIG_STEP_ROLLBACK);
	struct dbops_change *c;

	if (mig_ch_stored_ddl(&p->ddl, &p->nddl, t->ctx,
			      p->row->rollback_sql) != 0) {
		mig_tr_err(
		    t, s,
		    h->printf(
			t->ctx,
			"the rollback of change \"%s\" kept in dbops.schema_changes does not parse",
			s->name));
		return;
	}
	c = mig_tr_change(
	    t, p, DBOPS_ACTION_DELETE, "rollback",
	    "new structure and triggers removed; the old columns are untouched");
	mig_tr_state(t, c, p->row->state, MIG_CS_ROLLED_BACK);
	mig_tr_ops(t, c, s);
	mig_tr_ddl_attrs(t, c, p);
	for (size_t k = 0; k < s->nops; k++)
		if (s->ops[k].nnews > 0)
			c->flags |= DBOPS_CHANGE_DESTRUCTIVE;
}

/* none or rolled back → expanded (and a backfill, and a contract). */
static void mig_tr_forward(struct mig_tr *t, const struct mig_chspec *s,
			   size_t i)
{
	const struct dbops_host *h = dbops_host(t->ctx);
	const struct mig_chrow *r = mig_changes_find(t->live, s->name);
	const struct mig_chtable *tb = &t->live->tables[i];
	enum mig_chstate cur = r ? r->state : MIG_CS_NONE;
	bool expanding = cur != MIG_CS_EXPANDED;
	bool backfilling;
	struct mig_chplan *p;
	struct dbops_change *c;

	if (!tb->exists) {
		mig_tr_err(
		    t, s,
		    h->printf(
			t->ctx,
			"change \"%s\": table %s.%s does not exist in database \"%s\"",
			s->name, s->schema, s->table, t->db->database));
		return;
	}
	p = mig_tr_plan(t, s, i, MIG_STEP_EXPAND);
	if (p->bf != NULL && tb->key == NULL) {
		h->diag_hint(
		    t->ctx,
		    mig_tr_err(
			t, s,
			h->printf(
			    t->ctx,
			    "change \"%s\": table %s.%s cannot be backfilled in batches: %s",
			    s->name, s->schema, s->table, tb->why_no_key)),
		    "Add a primary key (or a unique index on one NOT NULL column, named with \"key:\"), built CONCURRENTLY first.");
		return;
	}
	if (expanding) {
		if (mig_ch_expand_sql(p, t->ctx) != 0) {
			t->err = DBOPS_ERR_INVALID;
			return;
		}
		c = mig_tr_change(
		    t, p, DBOPS_ACTION_UPDATE, "expand",
		    cur == MIG_CS_EXPANDING
			? "interrupted: expand again"
			: "add the new structure next to the old one");
		mig_tr_state(t, c, cur == MIG_CS_EXPANDING ? MIG_CS_NONE : cur,
			     MIG_CS_EXPANDED);
		mig_tr_ops(t, c, s);
		mig_tr_ddl_attrs(t, c, p);
	}
	backfilling = p->bf != NULL && (expanding || !r->bf_done);
	if (backfilling)
		mig_tr_backfill(t, s, i, expanding);
	if (s->want == MIG_CS_CONTRACTED)
		mig_tr_contract(t, s, i, expanding, backfilling);
}

static void mig_tr_one(struct mig_tr *t, const struct mig_chspec *s, size_t i)
{
	const struct dbops_host *h = dbops_host(t->ctx);
	const struct mig_chrow *r = mig_changes_find(t->live, s->name);
	enum mig_chstate cur = r ? r->state : MIG_CS_NONE;
	bool live = cur == MIG_CS_EXPANDING || cur == MIG_CS_EXPANDED;

	if (live && strcmp(r->checksum, s->checksum) != 0 &&
	    s->want != MIG_CS_ROLLED_BACK) {
		h->diag_hint(
		    t->ctx,
		    mig_tr_err(
			t, s,
			h->printf(
			    t->ctx,
			    "change \"%s\" was expanded from another definition",
			    s->name)),
		    "A change is contracted from the definition it was expanded from: put the operations back as they were, or roll it back (state: rolled_back) and expand a new change.");
		return;
	}
	if (cur == MIG_CS_CONTRACTED) {
		if (s->want != MIG_CS_CONTRACTED)
			h->diag_hint(
			    t->ctx,
			    mig_tr_err(
				t, s,
				h->printf(
				    t->ctx,
				    "change \"%s\" is contracted; it cannot be %s",
				    s->name,
				    s->want == MIG_CS_EXPANDED
					? "expanded again"
					: "rolled back")),
			    "What contract dropped is gone; undo it with a new change.");
		return;
	}
	if (s->want == MIG_CS_ROLLED_BACK) {
		if (live)
			mig_tr_rollback(t, s, i);
		return;
	}
	mig_tr_forward(t, s, i);
}

int mig_changes_plan(struct dbops_ctx *ctx, const struct mig_db *db,
		     const struct mig_live_db *live, struct mig_run *run,
		     unsigned long *ordinal)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_tr t;

	memset(&t, 0, sizeof(t));
	t.ctx = ctx;
	t.db = db;
	t.live = live->changes;
	t.run = run;
	t.ordinal = ordinal;
	if (t.live == NULL)
		return 0;
	if (h->header.size >=
		offsetof(struct dbops_host, arg) + sizeof(h->arg) &&
	    h->mode(ctx) != NULL && strcmp(h->mode(ctx), "contract") == 0)
		t.force = h->arg(ctx, "force-contract");
	for (size_t i = 0; i < db->nchanges; i++)
		mig_tr_one(&t, &db->changes[i], i);
	/* an expanded change the spec no longer names is never dropped
	 * silently */
	for (size_t i = 0; i < t.live->nrows; i++) {
		const struct mig_chrow *r = &t.live->rows[i];
		bool named = false;

		for (size_t k = 0; k < db->nchanges && !named; k++)
			named = strcmp(db->changes[k].name, r->name) == 0;
		if (named || (r->state != MIG_CS_EXPANDED &&
			      r->state != MIG_CS_EXPANDING))
			continue;
		t.err = DBOPS_ERR_INVALID;
		h->diag_hint(
		    ctx,
		    h->diag(
			ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &db->loc,
			"change \"%s\" is %s in database \"%s\" but the spec no longer names it",
			r->name, mig_chstate_name(r->state), db->database),
		    "Keep it in the spec with \"state: contracted\" or \"state: rolled_back\"; a change is removed from the spec only once it is one or the other.");
	}
	return t.err;
}

/* ---- status */

int mig_status(struct dbops_ctx *ctx, const struct dbops_node *section,
	       void *live_v)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mig_live *live = live_v;
	bool header = false;

	(void)section;
	for (size_t d = 0; d < live->ndbs; d++) {
		const struct mig_db *db = &live->spec->dbs[d];
		const struct mig_chlive *l = live->dbs[d].changes;

		for (size_t i = 0; l != NULL && i < db->nchanges; i++) {
			const struct mig_chspec *s = &db->changes[i];
			const struct mig_chrow *r =
			    mig_changes_find(l, s->name);
			const char *gate = "-", *why = NULL;

			if (!header) {
				h->out(
				    ctx,
				    "\nmigrations: expand/contract changes\n%-10s %-24s %-12s %-11s %s\n",
				    "DATABASE", "CHANGE", "STATE", "WANTED",
				    "BACKFILL / GATE");
				header = true;
			}
			if (r != NULL && r->state == MIG_CS_EXPANDED &&
			    s->want == MIG_CS_CONTRACTED && mig_ch_has_old(s)) {
				mig_gate_judge(&why, ctx, s, r, &l->gates[i]);
				gate = why;
			}
			h->out(ctx, "%-10s %-24s %-12s %-11s %s\n",
			       db->database, s->name,
			       mig_chstate_name(r ? r->state : MIG_CS_NONE),
			       mig_chstate_name(s->want),
			       r != NULL && r->bf_present
				   ? mig_backfill_progress(ctx, r)
				   : "-");
			if (gate[0] != '-')
				h->out(ctx, "%-10s %-24s gate: %s\n", "", "",
				       gate);
			if (r != NULL && r->bf_present &&
			    h->header.size >=
				offsetof(struct dbops_host, metric) +
				    sizeof(h->metric) &&
			    h->metric != NULL) {
				const char *labels = h->printf(
				    ctx, "database=\"%s\",change=\"%s\"",
				    db->database, s->name);

				h->metric(
				    ctx, "dbops_backfill_rows_done", labels,
				    (double)r->bf_rows,
				    "Rows walked by the backfill of an expand/contract change.");
				h->metric(
				    ctx, "dbops_backfill_rows_per_second",
				    labels, r->bf_rate,
				    "Rows per second of the backfill of an expand/contract change.");
			}
		}
	}
	return 0;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * lint.c — the lint rules for zero-downtime changes, on the parse tree of
 * each statement (libpg_query's JSON, read with json-c), never on the
 * text: which rule a statement breaks, and which column, table, index or
 * constraint it breaks it on, so that each finding is one line naming
 * its object. Tables created earlier in the same migration (CREATE TABLE
 * and CREATE TABLE ... AS) are new, and the rules about changing an
 * existing table do not apply to them. Two rules depend on whether the
 * migration runs in a transaction, which is known only once every
 * statement is classified: they are held until mig_lint_finish.
 *
 * Also the small json-c helpers sql.c shares. Nothing here parses SQL or
 * reports a diagnostic: findings go back to diff.c, which reports them.
 */
#include "migrations_int.h"

#include <json-c/json.h>
#include <string.h>

struct mig_rule {
	const char *id;
	const char *reason;
	const char *hint;
};

static const struct mig_rule mig_rules[] = {
    {"require-concurrent-index-creation",
     "CREATE INDEX without CONCURRENTLY blocks writes to the table while the index is built",
     "Use CREATE INDEX CONCURRENTLY; the migration then runs outside a transaction."},
    {"require-concurrent-index-deletion",
     "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table",
     "Use DROP INDEX CONCURRENTLY."},
    {"adding-field-with-default",
     "adding a column with a volatile default or a stored generated column rewrites the whole table under an ACCESS EXCLUSIVE lock",
     "Add the column without a default, set the default separately, and backfill in batches."},
    {"adding-required-field",
     "adding a NOT NULL column without a default fails on a non-empty table and breaks running inserts",
     "Add the column as nullable or with a non-volatile default."},
    {"adding-not-nullable-field",
     "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock",
     "Add a CHECK (col IS NOT NULL) NOT VALID constraint, VALIDATE it in a later migration, then SET NOT NULL."},
    {"adding-foreign-key-constraint",
     "adding a foreign key validates every row while holding SHARE ROW EXCLUSIVE locks on both tables",
     "Add the constraint with NOT VALID, then VALIDATE CONSTRAINT in a later migration."},
    {"constraint-missing-not-valid",
     "adding a CHECK constraint scans the whole table under an ACCESS EXCLUSIVE lock",
     "Add the constraint with NOT VALID, then VALIDATE CONSTRAINT in a later migration."},
    {"disallowed-unique-constraint",
     "adding a UNIQUE constraint builds its index under an ACCESS EXCLUSIVE lock",
     "Create a unique index CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX."},
    {"adding-serial-primary-key-field",
     "adding a PRIMARY KEY builds its index under an ACCESS EXCLUSIVE lock",
     "Create a unique index CONCURRENTLY, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX."},
    {"changing-column-type",
     "changing a column's type usually rewrites the table and its indexes under an ACCESS EXCLUSIVE lock",
     "Add a new column, backfill it, and switch readers and writers over."},
    {"renaming-column", "renaming a column breaks the running application",
     "Add the new column, write both, migrate readers, then drop the old one."},
    {"renaming-table", "renaming a table breaks the running application",
     "Create the new table or a view under the new name and migrate readers first."},
    {"ban-drop-column",
     "dropping a column breaks the running application if it still uses the column",
     "Stop using the column in the application first, then drop it in a later release."},
    {"ban-drop-table",
     "dropping a table breaks the running application if it still uses the table",
     "Stop using the table first, then drop it in a later release."},
    {"ban-drop-database", "dropping a database destroys all of its data",
     "Drop databases by hand, outside migrations."},
    {"ban-char-field", "char(n) pads with spaces and is no faster than text",
     "Use text or varchar."},
    {"prefer-timestamptz",
     "timestamp without time zone loses the offset of the values stored",
     "Use timestamptz."},
    {"require-lock-timeout",
     "a statement that takes a strong lock runs without lock_timeout and may queue every other query behind it",
     "Set migrations.lock_timeout in the spec, or SET lock_timeout at the start of the migration."},
    {"transaction-nesting",
     "the migration runs in a transaction already; BEGIN, COMMIT or ROLLBACK inside it break that transaction",
     "Remove the transaction statements; each migration runs in its own transaction."},
    {"ban-concurrent-index-creation-in-transaction",
     "CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
     "Remove executeInTransaction=true from the migration's .conf file."},
    {NULL, NULL, NULL},
};

const char *const mig_rule_ids[] = {
    "require-concurrent-index-creation",
    "require-concurrent-index-deletion",
    "adding-field-with-default",
    "adding-required-field",
    "adding-not-nullable-field",
    "adding-foreign-key-constraint",
    "constraint-missing-not-valid",
    "disallowed-unique-constraint",
    "adding-serial-primary-key-field",
    "changing-column-type",
    "renaming-column",
    "renaming-table",
    "ban-drop-column",
    "ban-drop-table",
    "ban-drop-database",
    "ban-char-field",
    "prefer-timestamptz",
    "require-lock-timeout",
    "transaction-nesting",
    "ban-concurrent-index-creation-in-transaction",
    NULL,
};

bool mig_rule_known(const char *id)
{
	for (size_t i = 0; mig_rule_ids[i] != NULL; i++)
		if (strcmp(mig_rule_ids[i], id) == 0)
			return true;
	return false;
}

bool mig_rule_disabled_inline(const char *sql, const char *rule)
{
	static const char mark[] = "dbops:disable";
	size_t rlen = strlen(rule);

	for (const char *p = strstr(sql, mark); p != NULL;
	     p = strstr(p + 1, mark)) {
		const char *q = p + sizeof(mark) - 1;

		while (*q && *q != '\n') {
			size_t n;

			while (*q == ' ' || *q == '\t' || *q == ',')
				q++;
			n = strcspn(q, " \t,\n\r*");
			if (n == 0)
				break;
			if (n == rlen && strncmp(q, rule, n) == 0)
				return true;
			q += n;
		}
	}
	return false;
}

/* ---- json helpers */

json_object *mig_j(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *mig_js(json_object *o, const char *key)
{
	json_object *v = mig_j(o, key);

	return v != NULL && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : NULL;
}

bool mig_jb(json_object *o, const char *key)
{
	json_object *v = mig_j(o, key);

	return v != NULL && json_object_get_boolean(v);
}

bool mig_jeq(json_object *o, const char *key, const char *want)
{
	const char *s = mig_js(o, key);

	return s != NULL && strcmp(s, want) == 0;
}

size_t mig_jlen(json_object *a)
{
	return a != NULL && json_object_is_type(a, json_type_array)
		   ? json_object_array_length(a)
		   : 0;
}

json_object *mig_jat(json_object *a, size_t i)
{
	return i < mig_jlen(a) ? json_object_array_get_idx(a, i) : NULL;
}

const char *mig_node_type(json_object *wrapper, json_object **inner)
{
	*inner = NULL;
	if (wrapper == NULL || !json_object_is_type(wrapper, json_type_object))
		return NULL;
	json_object_object_foreach(wrapper, key, val)
	{
		*inner = val;
		return key;
	}
	return NULL;
}

/* ---- naming what a finding is about */

static const char *mig_relname(json_object *rel)
{
	const char *name = mig_js(rel, "relname");

	return name != NULL ? name : "";
}

/* "schema"."table" as written: the schema only when given. */
static const char *mig_rel_text(struct dbops_ctx *ctx, json_object *rel)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *schema = mig_js(rel, "schemaname");

	if (schema != NULL)
		return h->printf(ctx, "\"%s\".\"%s\"", schema,
				 mig_relname(rel));
	return h->printf(ctx, "\"%s\"", mig_relname(rel));
}

/* The dotted name of a list of String nodes: ["s", "i"] → "s"."i". */
static const char *mig_names_text(struct dbops_ctx *ctx, json_object *names)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *out = NULL;

	for (size_t i = 0; i < mig_jlen(names); i++) {
		const char *s =
		    mig_js(mig_j(mig_jat(names, i), "String"), "sval");

		if (s == NULL)
			continue;
		out = out ? h->printf(ctx, "%s.\"%s\"", out, s)
			  : h->printf(ctx, "\"%s\"", s);
	}
	return out != NULL ? out : "";
}

/* ---- findings */

void mig_lint_init(struct mig_lint *l, struct dbops_ctx *ctx,
		   bool lock_timeout_set)
{
	memset(l, 0, sizeof(*l));
	l->ctx = ctx;
	l->lock_timeout_set = lock_timeout_set;
}

static void mig_find_in(struct mig_lint *l, const char *rule,
			const char *object, bool needs_tx)
{
	const struct dbops_host *h = dbops_host(l->ctx);
	const struct mig_rule *r = mig_rules;
	struct mig_finding *f;

	while (r->id != NULL && strcmp(r->id, rule) != 0)
		r++;
	if (r->id == NULL)
		return;
	/* one line per rule and object in a statement (findings come in
	 * statement order: only this statement's are looked at) */
	for (size_t i = l->n; i > 0 && l->findings[i - 1].stmt == l->stmt_index;
	     i--)
		if (l->findings[i - 1].rule == r->id &&
		    strcmp(l->findings[i - 1].object, object ? object : "") ==
			0)
			return;
	if (l->n == l->cap) {
		struct mig_finding *bigger;

		l->cap = l->cap ? l->cap * 2 : 8;
		bigger = h->alloc(l->ctx, l->cap * sizeof(*bigger));
		if (l->n)
			memcpy(bigger, l->findings, l->n * sizeof(*bigger));
		l->findings = bigger;
	}
	f = &l->findings[l->n++];
	f->rule = r->id;
	f->message = r->reason;
	f->hint = r->hint;
	f->object = object ? object : "";
	f->line = l->stmt->line;
	f->col = l->stmt->col;
	f->stmt = l->stmt_index;
	f->needs_tx = needs_tx;
}

static void mig_find(struct mig_lint *l, const char *rule, const char *object)
{
	mig_find_in(l, rule, object, false);
}

/* The tables created earlier in the migration: a hash set of names, so
 * that a file creating 100,000 tables is not quadratic. */
static size_t mig_name_hash(const char *s)
{
	size_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static bool mig_created_here(const struct mig_lint *l, json_object *rel)
{
	const char *name = mig_relname(rel);

	if (l->capcreated == 0)
		return false;
	for (size_t i = mig_name_hash(name) & (l->capcreated - 1);
	     l->created[i] != NULL; i = (i + 1) & (l->capcreated - 1))
		if (strcmp(l->created[i], name) == 0)
			return true;
	return false;
}

static void mig_created_put(const char **set, size_t cap, const char *name)
{
	size_t i = mig_name_hash(name) & (cap - 1);

	while (set[i] != NULL && strcmp(set[i], name) != 0)
		i = (i + 1) & (cap - 1);
	set[i] = name;
}

static void mig_note_created(struct mig_lint *l, json_object *rel)
{
	const struct dbops_host *h = dbops_host(l->ctx);

	if (rel == NULL || mig_created_here(l, rel))
		return;
	if (2 * (l->ncreated + 1) > l->capcreated) {
		size_t cap = l->capcreated ? l->capcreated * 2 : 16;
		const char **bigger = h->alloc(l->ctx, cap * sizeof(*bigger));

		for (size_t i = 0; i < l->capcreated; i++)
			if (l->created[i] != NULL)
				mig_created_put(bigger, cap, l->created[i]);
		l->created = bigger;
		l->capcreated = cap;
	}
	mig_created_put(l->created, l->capcreated,
			h->strdup(l->ctx, mig_relname(rel)));
	l->ncreated++;
}

/* Whether an expression may be volatile: any function call outside a
 * short list of built-ins known to be stable or immutable (Squawk decides
 * from pg_proc the same way, with a longer list). Also used by the lock
 * levels (locklevel.c) and expand/contract changes (expand.c). */
bool mig_expr_volatile(json_object *e)
{
	static const char *const stable[] = {
	    "now",
	    "transaction_timestamp",
	    "statement_timestamp",
	    "lower",
	    "upper",
	    "length",
	    "concat",
	    "jsonb_build_object",
	    "json_build_object",
	    "jsonb_build_array",
	    "array_length",
	    "md5",
	    "to_jsonb",
	    "current_setting",
	    "timezone",
	    "btrim",
	    "int4",
	    "int8",
	    NULL,
	};

	if (e == NULL)
		return false;
	if (json_object_is_type(e, json_type_array)) {
		for (size_t i = 0; i < mig_jlen(e); i++)
			if (mig_expr_volatile(mig_jat(e, i)))
				return true;
		return false;
	}
	if (!json_object_is_type(e, json_type_object))
		return false;
	{
		json_object *fc = mig_j(e, "FuncCall");

		if (fc != NULL) {
			json_object *names = mig_j(fc, "funcname");
			size_t nn = mig_jlen(names);
			const char *fn =
			    nn ? mig_js(mig_j(mig_jat(names, nn - 1), "String"),
					"sval")
			       : NULL;
			bool known = false;

			for (size_t i = 0; fn != NULL && stable[i]; i++)
				if (strcmp(stable[i], fn) == 0)
					known = true;
			if (!known)
				return true;
		}
	}
	json_object_object_foreach(e, key, val)
	{
		(void)key;
		if (mig_expr_volatile(val))
			return true;
	}
	return false;
}

/* The last name of a TypeName ("bpchar", "timestamp"). */
static const char *mig_type_name(json_object *coldef)
{
	json_object *names = mig_j(mig_j(coldef, "typeName"), "names");
	size_t n = mig_jlen(names);

	if (n == 0)
		return NULL;
	return mig_js(mig_j(mig_jat(names, n - 1), "String"), "sval");
}

static const char *mig_column_text(struct mig_lint *l, const char *column,
				   const char *rel)
{
	return dbops_host(l->ctx)->printf(l->ctx, "column \"%s\" of %s",
					  column ? column : "", rel);
}

static void mig_lint_coldef_types(struct mig_lint *l, json_object *coldef,
				  const char *rel)
{
	const char *t = mig_type_name(coldef);
	const char *what = mig_column_text(l, mig_js(coldef, "colname"), rel);

	if (t == NULL)
		return;
	if (strcmp(t, "bpchar") == 0)
		mig_find(l, "ban-char-field", what);
	else if (strcmp(t, "timestamp") == 0)
		mig_find(l, "prefer-timestamptz", what);
}

static const char *mig_constraint_text(struct mig_lint *l, json_object *c,
				       const char *rel)
{
	const struct dbops_host *h = dbops_host(l->ctx);
	const char *name = mig_js(c, "conname");

	if (name != NULL)
		return h->printf(l->ctx, "constraint \"%s\" on %s", name, rel);
	return h->printf(l->ctx, "a constraint on %s", rel);
}

static void mig_lint_add_column(struct mig_lint *l, json_object *coldef,
				const char *rel, bool new_table)
{
	json_object *cons = mig_j(coldef, "constraints");
	const char *what = mig_column_text(l, mig_js(coldef, "colname"), rel);
	bool notnull = false, def = false, generated = false, identity = false;
	bool volatile_def = false;

	mig_lint_coldef_types(l, coldef, rel);
	if (new_table)
		return;
	for (size_t i = 0; i < mig_jlen(cons); i++) {
		json_object *c = mig_j(mig_jat(cons, i), "Constraint");
		const char *t = mig_js(c, "contype");

		if (t == NULL)
			continue;
		if (strcmp(t, "CONSTR_NOTNULL") == 0)
			notnull = true;
		else if (strcmp(t, "CONSTR_DEFAULT") == 0) {
			def = true;
			volatile_def = mig_expr_volatile(mig_j(c, "raw_expr"));
		} else if (strcmp(t, "CONSTR_GENERATED") == 0)
			generated = true;
		else if (strcmp(t, "CONSTR_IDENTITY") == 0)
			identity = true;
		else if (strcmp(t, "CONSTR_FOREIGN") == 0 &&
			 !mig_jb(c, "skip_validation"))
			mig_find(l, "adding-foreign-key-constraint", what);
	}
	if (volatile_def || generated)
		mig_find(l, "adding-field-with-default", what);
	if (notnull && !def && !generated && !identity)
		mig_find(l, "adding-required-field", what);
}

static void mig_lint_add_constraint(struct mig_lint *l, json_object *c,
				    const char *rel)
{
	const char *t = mig_js(c, "contype");
	const char *what = mig_constraint_text(l, c, rel);

	if (t == NULL)
		return;
	if (strcmp(t, "CONSTR_FOREIGN") == 0 && !mig_jb(c, "skip_validation"))
		mig_find(l, "adding-foreign-key-constraint", what);
	else if (strcmp(t, "CONSTR_CHECK") == 0 &&
		 !mig_jb(c, "skip_validation"))
		mig_find(l, "constraint-missing-not-valid", what);
	else if (strcmp(t, "CONSTR_UNIQUE") == 0 && !mig_j(c, "indexname"))
		mig_find(l, "disallowed-unique-constraint", what);
	else if (strcmp(t, "CONSTR_PRIMARY") == 0 && !mig_j(c, "indexname"))
		mig_find(l, "adding-serial-primary-key-field", what);
}

static void mig_lint_alter_table(struct mig_lint *l, json_object *n)
{
	json_object *cmds = mig_j(n, "cmds");
	json_object *relation = mig_j(n, "relation");
	bool new_table = mig_created_here(l, relation);
	const char *rel = mig_rel_text(l->ctx, relation);

	if (!mig_jeq(n, "objtype", "OBJECT_TABLE"))
		return;
	for (size_t i = 0; i < mig_jlen(cmds); i++) {
		json_object *c = mig_j(mig_jat(cmds, i), "AlterTableCmd");
		const char *st = mig_js(c, "subtype");
		const char *col = mig_column_text(l, mig_js(c, "name"), rel);

		if (st == NULL)
			continue;
		if (strcmp(st, "AT_AddColumn") == 0)
			mig_lint_add_column(l,
					    mig_j(mig_j(c, "def"), "ColumnDef"),
					    rel, new_table);
		else if (new_table)
			continue;
		else if (strcmp(st, "AT_AddConstraint") == 0)
			mig_lint_add_constraint(
			    l, mig_j(mig_j(c, "def"), "Constraint"), rel);
		else if (strcmp(st, "AT_SetNotNull") == 0)
			mig_find(l, "adding-not-nullable-field", col);
		else if (strcmp(st, "AT_AlterColumnType") == 0)
			mig_find(l, "changing-column-type", col);
		else if (strcmp(st, "AT_DropColumn") == 0)
			mig_find(l, "ban-drop-column", col);
	}
}

/* Statements that take a lock strong enough to queue other queries. */
static bool mig_blocking(const char *type, json_object *n)
{
	if (strcmp(type, "AlterTableStmt") == 0 ||
	    strcmp(type, "RenameStmt") == 0 || strcmp(type, "DropStmt") == 0 ||
	    strcmp(type, "TruncateStmt") == 0)
		return true;
	if (strcmp(type, "IndexStmt") == 0)
		return !mig_jb(n, "concurrent");
	return false;
}

/* What a lock-taking statement is about, for require-lock-timeout. */
static const char *mig_blocking_text(struct mig_lint *l, const char *type,
				     json_object *n)
{
	const struct dbops_host *h = dbops_host(l->ctx);

	if (strcmp(type, "AlterTableStmt") == 0)
		return h->printf(l->ctx, "ALTER TABLE %s",
				 mig_rel_text(l->ctx, mig_j(n, "relation")));
	if (strcmp(type, "IndexStmt") == 0)
		return h->printf(l->ctx, "CREATE INDEX on %s",
				 mig_rel_text(l->ctx, mig_j(n, "relation")));
	if (strcmp(type, "RenameStmt") == 0)
		return h->printf(l->ctx, "RENAME on %s",
				 mig_rel_text(l->ctx, mig_j(n, "relation")));
	if (strcmp(type, "TruncateStmt") == 0)
		return "TRUNCATE";
	return "DROP";
}

/* The objects a DROP names ([["s","t"], ...] lists of String nodes). */
static void mig_lint_drop(struct mig_lint *l, json_object *n)
{
	const struct dbops_host *h = dbops_host(l->ctx);
	json_object *objects = mig_j(n, "objects");
	bool index = mig_jeq(n, "removeType", "OBJECT_INDEX");
	bool table = mig_jeq(n, "removeType", "OBJECT_TABLE");

	if (!(index && !mig_jb(n, "concurrent")) && !table)
		return;
	for (size_t i = 0; i < mig_jlen(objects); i++) {
		json_object *o = mig_jat(objects, i);
		const char *name =
		    mig_names_text(l->ctx, mig_j(mig_j(o, "List"), "items"));

		if (index)
			mig_find(l, "require-concurrent-index-deletion",
				 h->printf(l->ctx, "index %s", name));
		else
			mig_find(l, "ban-drop-table",
				 h->printf(l->ctx, "table %s", name));
	}
}

static void mig_lint_create(struct mig_lint *l, json_object *n)
{
	json_object *elts = mig_j(n, "tableElts");
	json_object *relation = mig_j(n, "relation");
	const char *rel = mig_rel_text(l->ctx, relation);

	mig_note_created(l, relation);
	for (size_t i = 0; i < mig_jlen(elts); i++) {
		json_object *cd = mig_j(mig_jat(elts, i), "ColumnDef");

		if (cd != NULL)
			mig_lint_coldef_types(l, cd, rel);
	}
}

static void mig_lint_index(struct mig_lint *l, json_object *n)
{
	const struct dbops_host *h = dbops_host(l->ctx);
	json_object *relation = mig_j(n, "relation");
	const char *name = mig_js(n, "idxname");
	const char *what = name != NULL
			       ? h->printf(l->ctx, "index \"%s\" on %s", name,
					   mig_rel_text(l->ctx, relation))
			       : h->printf(l->ctx, "an index on %s",
					   mig_rel_text(l->ctx, relation));

	if (mig_jb(n, "concurrent"))
		mig_find_in(l, "ban-concurrent-index-creation-in-transaction",
			    what, true);
	else if (!mig_created_here(l, relation))
		mig_find(l, "require-concurrent-index-creation", what);
}

void mig_lint_stmt(struct mig_lint *l, const struct mig_stmt *st, size_t index,
		   const char *type, json_object *n)
{
	const struct dbops_host *h = dbops_host(l->ctx);

	l->stmt = st;
	l->stmt_index = index;
	if (strcmp(type, "VariableSetStmt") == 0) {
		if (mig_jeq(n, "name", "lock_timeout"))
			l->lock_timeout_set = true;
		return;
	}
	if (!l->lock_timeout_set && mig_blocking(type, n) &&
	    !(strcmp(type, "AlterTableStmt") == 0 &&
	      mig_created_here(l, mig_j(n, "relation"))))
		mig_find(l, "require-lock-timeout",
			 mig_blocking_text(l, type, n));
	if (strcmp(type, "CreateStmt") == 0) {
		mig_lint_create(l, n);
	} else if (strcmp(type, "CreateTableAsStmt") == 0) {
		/* CREATE TABLE ... AS, CREATE MATERIALIZED VIEW and SELECT
		 * ... INTO make a new relation */
		mig_note_created(l, mig_j(mig_j(n, "into"), "rel"));
	} else if (strcmp(type, "SelectStmt") == 0) {
		mig_note_created(l, mig_j(mig_j(n, "intoClause"), "rel"));
	} else if (strcmp(type, "IndexStmt") == 0) {
		mig_lint_index(l, n);
	} else if (strcmp(type, "DropStmt") == 0) {
		mig_lint_drop(l, n);
	} else if (strcmp(type, "DropdbStmt") == 0) {
		mig_find(
		    l, "ban-drop-database",
		    h->printf(l->ctx, "database \"%s\"",
			      mig_js(n, "dbname") ? mig_js(n, "dbname") : ""));
	} else if (strcmp(type, "AlterTableStmt") == 0) {
		mig_lint_alter_table(l, n);
	} else if (strcmp(type, "RenameStmt") == 0) {
		const char *rel = mig_rel_text(l->ctx, mig_j(n, "relation"));

		if (mig_jeq(n, "renameType", "OBJECT_COLUMN"))
			mig_find(l, "renaming-column",
				 mig_column_text(l, mig_js(n, "subname"), rel));
		else if (mig_jeq(n, "renameType", "OBJECT_TABLE"))
			mig_find(l, "renaming-table",
				 h->printf(l->ctx, "table %s", rel));
	} else if (strcmp(type, "TransactionStmt") == 0) {
		mig_find_in(l, "transaction-nesting",
			    mig_jeq(n, "kind", "TRANS_STMT_BEGIN") ||
				    mig_jeq(n, "kind", "TRANS_STMT_START")
				? "BEGIN"
				: "a transaction statement",
			    true);
	}
}

void mig_lint_finish(struct mig_lint *l, bool in_tx, struct mig_finding **out,
		     size_t *n)
{
	size_t k = 0;

	/* the rules about transactions hold only when the migration runs
	 * in one */
	for (size_t i = 0; i < l->n; i++)
		if (!l->findings[i].needs_tx || in_tx)
			l->findings[k++] = l->findings[i];
	l->n = k;
	*out = l->findings;
	*n = l->n;
}

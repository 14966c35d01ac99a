/* SPDX-License-Identifier: PostgreSQL */
/*
 * sql.c — migrations through PostgreSQL's own parser (libpg_query): the
 * statements of a file with their offsets, lines and columns (dollar
 * quotes, nested comments, E'' strings and function bodies split the way
 * the server splits them), whether each statement can run inside a
 * transaction block, and the lint rules for zero-downtime changes, which
 * look at the parse tree (pg_query_parse's JSON, read with json-c), never
 * at the text. A syntax error is reported at the file's line and column
 * from the parser's cursor position.
 */
#include "migrations_int.h"

#include <json-c/json.h>
#include <pg_query.h>
#include <string.h>
#include <strings.h>

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

static json_object *mig_j(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *mig_js(json_object *o, const char *key)
{
	json_object *v = mig_j(o, key);

	return v != NULL ? json_object_get_string(v) : NULL;
}

static bool mig_jb(json_object *o, const char *key)
{
	json_object *v = mig_j(o, key);

	return v != NULL && json_object_get_boolean(v);
}

static bool mig_jeq(json_object *o, const char *key, const char *want)
{
	const char *s = mig_js(o, key);

	return s != NULL && strcmp(s, want) == 0;
}

/* The only key of a node wrapper {"IndexStmt": {...}}. */
static const char *mig_node_type(json_object *wrapper, json_object **inner)
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

/* ---- transaction-block detection */

static bool mig_stmt_nontx(const char *type, json_object *n)
{
	static const char *const always[] = {
	    "CreatedbStmt",	    "DropdbStmt",
	    "CreateTableSpaceStmt", "DropTableSpaceStmt",
	    "AlterSystemStmt",	    "CreateSubscriptionStmt",
	    "DropSubscriptionStmt", NULL,
	};

	for (size_t i = 0; always[i] != NULL; i++)
		if (strcmp(type, always[i]) == 0)
			return true;
	if (strcmp(type, "IndexStmt") == 0 || strcmp(type, "DropStmt") == 0)
		return mig_jb(n, "concurrent");
	if (strcmp(type, "VacuumStmt") == 0)
		return mig_jb(n, "is_vacuumcmd");
	if (strcmp(type, "DiscardStmt") == 0)
		return mig_jeq(n, "target", "DISCARD_ALL");
	if (strcmp(type, "ReindexStmt") == 0) {
		json_object *params = mig_j(n, "params");
		const char *kind = mig_js(n, "kind");

		if (kind != NULL &&
		    (strcmp(kind, "REINDEX_OBJECT_SCHEMA") == 0 ||
		     strcmp(kind, "REINDEX_OBJECT_SYSTEM") == 0 ||
		     strcmp(kind, "REINDEX_OBJECT_DATABASE") == 0))
			return true;
		for (size_t i = 0;
		     params && i < json_object_array_length(params); i++) {
			json_object *de = mig_j(
			    json_object_array_get_idx(params, i), "DefElem");

			if (mig_jeq(de, "defname", "concurrently"))
				return true;
		}
		return false;
	}
	if (strcmp(type, "AlterTableStmt") == 0) {
		json_object *cmds = mig_j(n, "cmds");

		for (size_t i = 0; cmds && i < json_object_array_length(cmds);
		     i++) {
			json_object *c =
			    mig_j(json_object_array_get_idx(cmds, i),
				  "AlterTableCmd");

			if (mig_jeq(c, "subtype", "AT_DetachPartition") &&
			    mig_jb(mig_j(mig_j(c, "def"), "PartitionCmd"),
				   "concurrent"))
				return true;
		}
	}
	return false;
}

/* ---- lint */

struct mig_lint {
	struct dbops_ctx *ctx;
	const char **created; /* tables created by this migration */
	size_t ncreated;
	size_t capcreated;
	struct mig_finding *findings;
	size_t n;
	size_t cap;
	bool lock_timeout_set;
	bool in_tx;
	const struct mig_stmt *stmt;
};

static void mig_find(struct mig_lint *l, const char *rule)
{
	const struct dbops_host *h = dbops_host(l->ctx);
	const struct mig_rule *r = mig_rules;

	while (r->id != NULL && strcmp(r->id, rule) != 0)
		r++;
	if (l->n == l->cap) {
		struct mig_finding *bigger;

		l->cap = l->cap ? l->cap * 2 : 8;
		bigger = h->alloc(l->ctx, l->cap * sizeof(*bigger));
		if (l->n)
			memcpy(bigger, l->findings, l->n * sizeof(*bigger));
		l->findings = bigger;
	}
	l->findings[l->n].rule = r->id;
	l->findings[l->n].message = r->reason;
	l->findings[l->n].hint = r->hint;
	l->findings[l->n].line = l->stmt->line;
	l->findings[l->n].col = l->stmt->col;
	l->n++;
}

static const char *mig_relname(json_object *rel)
{
	const char *name = mig_js(rel, "relname");

	return name != NULL ? name : "";
}

static bool mig_created_here(const struct mig_lint *l, json_object *rel)
{
	const char *name = mig_relname(rel);

	for (size_t i = 0; i < l->ncreated; i++)
		if (strcmp(l->created[i], name) == 0)
			return true;
	return false;
}

static void mig_note_created(struct mig_lint *l, json_object *rel)
{
	const struct dbops_host *h = dbops_host(l->ctx);

	if (l->ncreated == l->capcreated) {
		const char **bigger;

		l->capcreated = l->capcreated ? l->capcreated * 2 : 8;
		bigger = h->alloc(l->ctx, l->capcreated * sizeof(*bigger));
		if (l->ncreated)
			memcpy(bigger, l->created,
			       l->ncreated * sizeof(*bigger));
		l->created = bigger;
	}
	l->created[l->ncreated++] = h->strdup(l->ctx, mig_relname(rel));
}

/* Whether an expression may be volatile: any function call outside a
 * short list of built-ins known to be stable or immutable (Squawk decides
 * from pg_proc the same way, with a longer list). */
static bool mig_expr_volatile(json_object *e)
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
		for (size_t i = 0; i < json_object_array_length(e); i++)
			if (mig_expr_volatile(json_object_array_get_idx(e, i)))
				return true;
		return false;
	}
	if (!json_object_is_type(e, json_type_object))
		return false;
	{
		json_object *fc = mig_j(e, "FuncCall");

		if (fc != NULL) {
			json_object *names = mig_j(fc, "funcname");
			size_t nn = names ? json_object_array_length(names) : 0;
			const char *fn =
			    nn ? mig_js(mig_j(json_object_array_get_idx(names,
									nn - 1),
					      "String"),
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
	size_t n = names ? json_object_array_length(names) : 0;

	if (n == 0)
		return NULL;
	return mig_js(mig_j(json_object_array_get_idx(names, n - 1), "String"),
		      "sval");
}

static void mig_lint_coldef_types(struct mig_lint *l, json_object *coldef)
{
	const char *t = mig_type_name(coldef);

	if (t == NULL)
		return;
	if (strcmp(t, "bpchar") == 0)
		mig_find(l, "ban-char-field");
	else if (strcmp(t, "timestamp") == 0)
		mig_find(l, "prefer-timestamptz");
}

static void mig_lint_add_column(struct mig_lint *l, json_object *coldef,
				bool new_table)
{
	json_object *cons = mig_j(coldef, "constraints");
	bool notnull = false, def = false, generated = false, identity = false;
	bool volatile_def = false;

	mig_lint_coldef_types(l, coldef);
	if (new_table)
		return;
	for (size_t i = 0; cons && i < json_object_array_length(cons); i++) {
		json_object *c =
		    mig_j(json_object_array_get_idx(cons, i), "Constraint");
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
			mig_find(l, "adding-foreign-key-constraint");
	}
	if (volatile_def || generated)
		mig_find(l, "adding-field-with-default");
	if (notnull && !def && !generated && !identity)
		mig_find(l, "adding-required-field");
}

static void mig_lint_add_constraint(struct mig_lint *l, json_object *c)
{
	const char *t = mig_js(c, "contype");

	if (t == NULL)
		return;
	if (strcmp(t, "CONSTR_FOREIGN") == 0 && !mig_jb(c, "skip_validation"))
		mig_find(l, "adding-foreign-key-constraint");
	else if (strcmp(t, "CONSTR_CHECK") == 0 &&
		 !mig_jb(c, "skip_validation"))
		mig_find(l, "constraint-missing-not-valid");
	else if (strcmp(t, "CONSTR_UNIQUE") == 0 && !mig_j(c, "indexname"))
		mig_find(l, "disallowed-unique-constraint");
	else if (strcmp(t, "CONSTR_PRIMARY") == 0 && !mig_j(c, "indexname"))
		mig_find(l, "adding-serial-primary-key-field");
}

static void mig_lint_alter_table(struct mig_lint *l, json_object *n)
{
	json_object *cmds = mig_j(n, "cmds");
	bool new_table = mig_created_here(l, mig_j(n, "relation"));

	if (!mig_jeq(n, "objtype", "OBJECT_TABLE"))
		return;
	for (size_t i = 0; cmds && i < json_object_array_length(cmds); i++) {
		json_object *c =
		    mig_j(json_object_array_get_idx(cmds, i), "AlterTableCmd");
		const char *st = mig_js(c, "subtype");

		if (st == NULL)
			continue;
		if (strcmp(st, "AT_AddColumn") == 0)
			mig_lint_add_column(
			    l, mig_j(mig_j(c, "def"), "ColumnDef"), new_table);
		else if (new_table)
			continue;
		else if (strcmp(st, "AT_AddConstraint") == 0)
			mig_lint_add_constraint(
			    l, mig_j(mig_j(c, "def"), "Constraint"));
		else if (strcmp(st, "AT_SetNotNull") == 0)
			mig_find(l, "adding-not-nullable-field");
		else if (strcmp(st, "AT_AlterColumnType") == 0)
			mig_find(l, "changing-column-type");
		else if (strcmp(st, "AT_DropColumn") == 0)
			mig_find(l, "ban-drop-column");
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

static void mig_lint_stmt(struct mig_lint *l, const char *type, json_object *n)
{
	if (strcmp(type, "VariableSetStmt") == 0) {
		if (mig_jeq(n, "name", "lock_timeout"))
			l->lock_timeout_set = true;
		return;
	}
	if (!l->lock_timeout_set && mig_blocking(type, n) &&
	    !(strcmp(type, "AlterTableStmt") == 0 &&
	      mig_created_here(l, mig_j(n, "relation"))))
		mig_find(l, "require-lock-timeout");
	if (strcmp(type, "CreateStmt") == 0) {
		json_object *elts = mig_j(n, "tableElts");

		mig_note_created(l, mig_j(n, "relation"));
		for (size_t i = 0; elts && i < json_object_array_length(elts);
		     i++) {
			json_object *cd = mig_j(
			    json_object_array_get_idx(elts, i), "ColumnDef");

			if (cd != NULL)
				mig_lint_coldef_types(l, cd);
		}
	} else if (strcmp(type, "IndexStmt") == 0) {
		if (mig_jb(n, "concurrent")) {
			if (l->in_tx)
				mig_find(
				    l,
				    "ban-concurrent-index-creation-in-transaction");
		} else if (!mig_created_here(l, mig_j(n, "relation"))) {
			mig_find(l, "require-concurrent-index-creation");
		}
	} else if (strcmp(type, "DropStmt") == 0) {
		if (mig_jeq(n, "removeType", "OBJECT_INDEX") &&
		    !mig_jb(n, "concurrent"))
			mig_find(l, "require-concurrent-index-deletion");
		else if (mig_jeq(n, "removeType", "OBJECT_TABLE"))
			mig_find(l, "ban-drop-table");
	} else if (strcmp(type, "DropdbStmt") == 0) {
		mig_find(l, "ban-drop-database");
	} else if (strcmp(type, "AlterTableStmt") == 0) {
		mig_lint_alter_table(l, n);
	} else if (strcmp(type, "RenameStmt") == 0) {
		if (mig_jeq(n, "renameType", "OBJECT_COLUMN"))
			mig_find(l, "renaming-column");
		else if (mig_jeq(n, "renameType", "OBJECT_TABLE"))
			mig_find(l, "renaming-table");
	} else if (strcmp(type, "TransactionStmt") == 0 && l->in_tx) {
		mig_find(l, "transaction-nesting");
	}
}

/* ---- splitting */

/* Skip blanks and comments (nested block comments as PostgreSQL's
 * lexer allows). */
static size_t mig_skip_space(const char *s, size_t i, size_t end)
{
	while (i < end) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r' || s[i] == '\f' || s[i] == '\v') {
			i++;
		} else if (s[i] == '-' && i + 1 < end && s[i + 1] == '-') {
			while (i < end && s[i] != '\n')
				i++;
		} else if (s[i] == '/' && i + 1 < end && s[i + 1] == '*') {
			int depth = 1;

			i += 2;
			while (i < end && depth > 0) {
				if (s[i] == '/' && i + 1 < end &&
				    s[i + 1] == '*') {
					depth++;
					i += 2;
				} else if (s[i] == '*' && i + 1 < end &&
					   s[i + 1] == '/') {
					depth--;
					i += 2;
				} else {
					i++;
				}
			}
		} else {
			break;
		}
	}
	return i;
}

/* Line and column (in characters) of byte `target`, scanning on from a
 * known position. */
static void mig_advance(const char *s, size_t *pos, uint32_t *line,
			uint32_t *col, size_t target)
{
	for (; *pos < target; (*pos)++) {
		unsigned char c = (unsigned char)s[*pos];

		if (c == '\n') {
			(*line)++;
			*col = 1;
		} else if ((c & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static size_t mig_char_to_byte(const char *s, size_t len, int cursorpos)
{
	size_t i = 0;
	int chars = 1;

	while (i < len && chars < cursorpos) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		chars++;
	}
	return i;
}

static int mig_syntax_error(struct dbops_ctx *ctx, const char *sql,
			    const struct mig_file *file, PgQueryError *e)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t len = strlen(sql), pos = 0;
	uint32_t line = 1, col = 1;
	struct dbops_loc loc = {NULL, 0, 0};
	struct dbops_diag *d;

	if (e->cursorpos > 0)
		mig_advance(sql, &pos, &line, &col,
			    mig_char_to_byte(sql, len, e->cursorpos));
	if (file != NULL) {
		loc.file = file->loc.file;
		loc.line = line;
		loc.col = col;
	}
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &loc,
		    "syntax error in migration \"%s\": %s",
		    file ? file->script : "(text)", e->message);
	h->diag_detail(ctx, d, "The parser stopped at line %u, column %u.",
		       line, col);
	return DBOPS_ERR_INVALID;
}

/* COPY FROM STDIN / TO STDOUT: the data would have to come from, or go
 * to, the client, and a migration has no such channel (the file is parsed
 * as SQL, so inline data after the statement would not parse either). */
static bool mig_copy_client(struct dbops_ctx *ctx, const struct mig_file *file,
			    const struct mig_stmt *st, bool from)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_loc loc = {NULL, 0, 0};
	struct dbops_diag *d;

	if (file != NULL) {
		loc.file = file->loc.file;
		loc.line = st->line;
		loc.col = st->col;
	}
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &loc,
		    from ? "migration \"%s\" uses COPY ... FROM STDIN"
			 : "migration \"%s\" uses COPY ... TO STDOUT",
		    file ? file->script : "(text)");
	h->diag_detail(
	    ctx, d,
	    from
		? "The rows would have to be sent by the client; dbops runs a migration's statements, not psql's inline data."
		: "The rows would be sent to the client, which keeps no output of a migration.");
	h->diag_hint(
	    ctx, d,
	    from
		? "Load the rows with INSERT statements, or COPY from a file on the server (COPY ... FROM '/path')."
		: "Remove the statement, or COPY to a file on the server (COPY ... TO '/path').");
	return true;
}

int mig_sql_parse(struct mig_stmt **stmts_out, size_t *n_out,
		  struct mig_finding **findings_out, size_t *nfindings_out,
		  struct dbops_ctx *ctx, const char *sql,
		  const struct mig_file *file, bool lock_timeout_set)
{
	const struct dbops_host *h = dbops_host(ctx);
	PgQueryParseResult r = pg_query_parse(sql);
	json_object *root = NULL, *stmts;
	struct mig_lint lint;
	struct mig_stmt *out = NULL;
	size_t n = 0, len = strlen(sql), pos = 0;
	uint32_t line = 1, col = 1;
	bool any_nontx = false;
	int err = 0;

	memset(&lint, 0, sizeof(lint));
	lint.ctx = ctx;
	lint.lock_timeout_set = lock_timeout_set;
	if (r.error != NULL) {
		err = mig_syntax_error(ctx, sql, file, r.error);
		goto cleanup;
	}
	root = json_tokener_parse(r.parse_tree);
	stmts = mig_j(root, "stmts");
	n = stmts ? json_object_array_length(stmts) : 0;
	out = h->alloc(ctx, (n + 1) * sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		json_object *rs = json_object_array_get_idx(stmts, i);
		json_object *loc = mig_j(rs, "stmt_location");
		json_object *slen = mig_j(rs, "stmt_len");
		size_t start = loc ? (size_t)json_object_get_int(loc) : 0;
		size_t end =
		    slen ? start + (size_t)json_object_get_int(slen) : len;
		json_object *inner = NULL;
		const char *type = mig_node_type(mig_j(rs, "stmt"), &inner);

		if (end > len)
			end = len;
		start = mig_skip_space(sql, start, end);
		mig_advance(sql, &pos, &line, &col, start);
		out[i].offset = start;
		out[i].len = end - start;
		out[i].line = line;
		out[i].col = col;
		out[i].node = h->strdup(ctx, type ? type : "");
		out[i].nontx = type != NULL && mig_stmt_nontx(type, inner);
		out[i].session = type != NULL &&
				 strcmp(type, "VariableSetStmt") == 0 &&
				 !mig_jb(inner, "is_local");
		any_nontx |= out[i].nontx;
		if (type != NULL && strcmp(type, "CopyStmt") == 0 &&
		    mig_js(inner, "filename") == NULL &&
		    mig_copy_client(ctx, file, &out[i],
				    mig_jb(inner, "is_from")))
			err = DBOPS_ERR_INVALID;
	}
	if (err != 0)
		goto cleanup;
	if (findings_out != NULL) {
		/* transaction-nesting and CIC-in-transaction depend on how the
		 * migration will run */
		lint.in_tx = file != NULL && file->txmode != MIG_TX_AUTO
				 ? file->txmode == MIG_TX_ON
				 : !any_nontx;
		for (size_t i = 0; i < n; i++) {
			json_object *inner = NULL;
			const char *type = mig_node_type(
			    mig_j(json_object_array_get_idx(stmts, i), "stmt"),
			    &inner);

			lint.stmt = &out[i];
			if (type != NULL)
				mig_lint_stmt(&lint, type, inner);
		}
		*findings_out = lint.findings;
		*nfindings_out = lint.n;
	}
	*stmts_out = out;
	*n_out = n;
cleanup:
	if (root != NULL)
		json_object_put(root);
	pg_query_free_parse_result(r);
	return err;
}

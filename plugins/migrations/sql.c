/* SPDX-License-Identifier: PostgreSQL */
/*
 * sql.c — a migration file into statements through PostgreSQL's own
 * scanner and parser (libpg_query): each statement's offset, line and
 * column, whether it can run inside a transaction block, what a resumed
 * migration must look for if it was interrupted (enum mig_probe), and the
 * parse tree handed to the lint rules (lint.c).
 *
 * How, and why this way:
 *  1. The file is split at its top-level semicolons by PostgreSQL's
 *     scanner (pg_query_split_with_scanner): quotes, dollar quotes, nested
 *     comments and parentheses are understood, memory stays near the
 *     file's size, and nothing depends on how deep a statement nests.
 *  2. Each piece of at most MIG_PARSE_MAX bytes is parsed alone: a syntax
 *     error is located, and the statement's tree is read. A piece that
 *     ends too early ("syntax error at end of input": a BEGIN ATOMIC
 *     body, whose semicolons the scanner cannot tell apart) is parsed
 *     again together with the pieces after it.
 *  3. The parse tree comes as JSON. A linear walk over the text finds the
 *     statements, their node types and their direct fields, whatever the
 *     depth; a json-c tree (about 33 bytes of memory per byte of JSON) is
 *     built only for the statements whose classification or lint needs
 *     it, and only up to MIG_TREE_MAX bytes of JSON.
 *  4. A piece over MIG_PARSE_MAX (a bulk data load) is not parsed: its
 *     first words say what it is, and the server checks its syntax when
 *     it runs. Lint never silently skips anything: a statement it cannot
 *     read gets a warning saying so.
 *  5. Invariant: every byte of the file that is not blank, a comment or a
 *     semicolon belongs to exactly one statement. Text outside any
 *     statement is an error; a parser or decoder returning nothing is an
 *     error; nothing is ever read as "no statements".
 *
 * libpg_query's output functions recurse as deep as the tree, so all of
 * this runs on the plugin's deep-stack thread (deep.c).
 */
#include "migrations_int.h"

#include <json-c/json.h>
#include <pg_query.h>
#include <stdlib.h>
#include <string.h>

/* A statement is parsed when it is at most this long; deeper recursion
 * than this allows is what deep.c's stack is sized for. */
#define MIG_PARSE_MAX ((size_t)256 << 10)
/* A json-c tree is built from at most this much JSON (about 33 MiB of
 * memory at worst). */
#define MIG_TREE_MAX ((size_t)1 << 20)
/* Pieces joined at most to complete one statement (BEGIN ATOMIC). */
#define MIG_JOIN_MAX 256
/* Syntax errors reported per file; the rest are counted. */
#define MIG_SYNTAX_MAX 10

/* ---- text positions */

/* Skip blanks and comments (nested block comments as PostgreSQL's
 * lexer allows). */
static size_t mig_skip_space(const char *s, size_t i, size_t end)
{
	while (i < end) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r' || s[i] == '\f' || s[i] == '\v') {
			i++;
		} else if (s[i] == '-' && i + 1 < end && s[i + 1] == '-') {
			/* as PostgreSQL's lexer: a line comment ends at a CR
			 * too, and what follows a lone CR is SQL */
			while (i < end && s[i] != '\n' && s[i] != '\r')
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

static struct dbops_loc mig_loc_at(const struct mig_file *file, const char *sql,
				   size_t byte)
{
	struct dbops_loc loc = {NULL, 0, 0};
	size_t pos = 0;
	uint32_t line = 1, col = 1;

	mig_advance(sql, &pos, &line, &col, byte);
	if (file != NULL) {
		loc.file = file->loc.file;
		loc.line = line;
		loc.col = col;
	}
	return loc;
}

/* The byte offset of 1-based character position `cursorpos` of s. */
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

static size_t mig_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

/* ---- one parse */

struct mig_parse {
	struct dbops_ctx *ctx;
	const char *sql;
	size_t len;
	const struct mig_file *file;
	bool lint;
	bool locks; /* MIG_PARSE_LOCKS */
	struct mig_lint lint_state;
	struct mig_stmt *stmts;
	size_t n, cap;
	bool any_nontx;
	size_t unparsed;       /* statements over MIG_PARSE_MAX */
	size_t unparsed_bytes; /* the largest of them */
	size_t nsyntax;	       /* syntax errors reported */
	struct dbops_diag *first_error;
	char *buf; /* a piece's text, NUL-terminated */
	size_t bufcap;
	int err;
};

/* The file's bytes [start, end) as a C string, in ps->buf. */
static char *mig_text(struct mig_parse *ps, size_t start, size_t end)
{
	if (end - start + 1 > ps->bufcap) {
		char *bigger = realloc(ps->buf, end - start + 1);

		if (bigger == NULL)
			return NULL;
		ps->buf = bigger;
		ps->bufcap = end - start + 1;
	}
	memcpy(ps->buf, ps->sql + start, end - start);
	ps->buf[end - start] = '\0';
	return ps->buf;
}

static const char *mig_script(const struct mig_parse *ps)
{
	return ps->file != NULL ? ps->file->script : "(text)";
}

static int mig_syntax_error(struct mig_parse *ps, size_t base, const char *text,
			    size_t text_len, const PgQueryError *e)
{
	const struct dbops_host *h = dbops_host(ps->ctx);
	size_t at = base;
	struct dbops_loc loc;
	struct dbops_diag *d;

	if (e->cursorpos > 0)
		at += mig_char_to_byte(text, text_len, e->cursorpos);
	loc = mig_loc_at(ps->file, ps->sql, at);
	d = h->diag(ps->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &loc,
		    "syntax error in migration \"%s\": %s", mig_script(ps),
		    e->message);
	if (ps->first_error == NULL)
		ps->first_error = d;
	if (ps->file != NULL)
		h->diag_detail(ps->ctx, d,
			       "The parser stopped at line %u, column %u.",
			       loc.line, loc.col);
	ps->err = DBOPS_ERR_INVALID;
	return DBOPS_ERR_INVALID;
}

/* An invariant of this file broke: an error, never a silent result. */
static int mig_parse_bug(struct mig_parse *ps, size_t at, const char *what)
{
	const struct dbops_host *h = dbops_host(ps->ctx);
	struct dbops_loc loc = mig_loc_at(ps->file, ps->sql, at);
	struct dbops_diag *d = h->diag(
	    ps->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &loc,
	    "could not read migration \"%s\": %s", mig_script(ps), what);

	h->diag_hint(
	    ps->ctx, d,
	    "Nothing of the migration was planned. This is a bug in dbops; report it with the file.");
	if (ps->first_error == NULL)
		ps->first_error = d;
	ps->err = DBOPS_ERR_GENERIC;
	return DBOPS_ERR_GENERIC;
}

static struct mig_stmt *mig_stmt_add(struct mig_parse *ps)
{
	const struct dbops_host *h = dbops_host(ps->ctx);

	if (ps->n == ps->cap) {
		struct mig_stmt *bigger;

		ps->cap = ps->cap ? ps->cap * 2 : 8;
		bigger = h->alloc(ps->ctx, (ps->cap + 1) * sizeof(*bigger));
		if (ps->n)
			memcpy(bigger, ps->stmts, ps->n * sizeof(*bigger));
		ps->stmts = bigger;
	}
	memset(&ps->stmts[ps->n], 0, sizeof(ps->stmts[0]));
	return &ps->stmts[ps->n++];
}

/* COPY FROM STDIN / TO STDOUT: the data would have to come from, or go
 * to, the client, and a migration has no such channel (the file is parsed
 * as SQL, so inline data after the statement would not parse either). */
static void mig_copy_client(struct mig_parse *ps, const struct mig_stmt *st,
			    bool from)
{
	const struct dbops_host *h = dbops_host(ps->ctx);
	struct dbops_loc loc = {NULL, 0, 0};
	struct dbops_diag *d;

	if (ps->file != NULL) {
		loc.file = ps->file->loc.file;
		loc.line = st->line;
		loc.col = st->col;
	}
	d = h->diag(ps->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &loc,
		    from ? "migration \"%s\" uses COPY ... FROM STDIN"
			 : "migration \"%s\" uses COPY ... TO STDOUT",
		    mig_script(ps));
	if (ps->first_error == NULL)
		ps->first_error = d;
	h->diag_detail(
	    ps->ctx, d,
	    from
		? "The rows would have to be sent by the client; dbops runs a migration's statements, not psql's inline data."
		: "The rows would be sent to the client, which keeps no output of a migration.");
	h->diag_hint(
	    ps->ctx, d,
	    from
		? "Load the rows with INSERT statements, or COPY from a file on the server (COPY ... FROM '/path')."
		: "Remove the statement, or COPY to a file on the server (COPY ... TO '/path').");
	ps->err = DBOPS_ERR_INVALID;
}

/* A string of the tree, copied: the tree is freed after classification. */
static const char *mig_keep(struct dbops_ctx *ctx, const char *s)
{
	return s != NULL ? dbops_host(ctx)->strdup(ctx, s) : NULL;
}

/* The last String of a list of names, and the one before it. */
static void mig_qualified(struct dbops_ctx *ctx, json_object *names,
			  const char **schema, const char **name)
{
	size_t n = mig_jlen(names);
	const char *last =
	    n ? mig_js(mig_j(mig_jat(names, n - 1), "String"), "sval") : NULL;
	const char *prev =
	    n > 1 ? mig_js(mig_j(mig_jat(names, n - 2), "String"), "sval")
		  : NULL;

	*name = last ? dbops_host(ctx)->strdup(ctx, last) : NULL;
	*schema = prev ? dbops_host(ctx)->strdup(ctx, prev) : NULL;
}

static void mig_rangevar(struct dbops_ctx *ctx, json_object *rv,
			 const char **schema, const char **name)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = mig_js(rv, "schemaname"), *r = mig_js(rv, "relname");

	*schema = s ? h->strdup(ctx, s) : NULL;
	*name = r ? h->strdup(ctx, r) : NULL;
}

static bool mig_has_defelem(json_object *list, const char *name)
{
	for (size_t i = 0; i < mig_jlen(list); i++)
		if (mig_jeq(mig_j(mig_jat(list, i), "DefElem"), "defname",
			    name))
			return true;
	return false;
}

/*
 * Whether the statement cannot run inside a transaction block (PostgreSQL
 * 15's PreventInTransactionBlock callers), and if so what a resumed
 * migration must look for. `n` is the node's tree when it was read, else
 * NULL (only the direct fields of `js` are known then).
 */
static void mig_classify_nontx(struct dbops_ctx *ctx, struct mig_stmt *st,
			       const struct mig_jstmt *js, json_object *n)
{
	const char *t = js->type;

	st->probe = MIG_PROBE_NONE;
	if (strcmp(t, "IndexStmt") == 0 && mig_jtrue(js, "concurrent")) {
		st->probe = MIG_PROBE_CREATE_INDEX;
		mig_rangevar(ctx, mig_j(n, "relation"), &st->rel_schema,
			     &st->rel_name);
		st->name = mig_keep(ctx, mig_js(n, "idxname"));
		st->schema = st->rel_schema;
	} else if (strcmp(t, "DropStmt") == 0 && mig_jtrue(js, "concurrent")) {
		st->probe = MIG_PROBE_DROP_INDEX;
		mig_qualified(
		    ctx,
		    mig_j(mig_j(mig_jat(mig_j(n, "objects"), 0), "List"),
			  "items"),
		    &st->schema, &st->name);
	} else if (strcmp(t, "ReindexStmt") == 0) {
		bool wide = mig_jis(js, "kind", "REINDEX_OBJECT_SCHEMA") ||
			    mig_jis(js, "kind", "REINDEX_OBJECT_SYSTEM") ||
			    mig_jis(js, "kind", "REINDEX_OBJECT_DATABASE");

		if (mig_has_defelem(mig_j(n, "params"), "concurrently")) {
			st->probe = MIG_PROBE_REINDEX;
			mig_rangevar(ctx, mig_j(n, "relation"), &st->rel_schema,
				     &st->rel_name);
		} else if (wide) {
			st->probe = MIG_PROBE_RERUN;
		}
	} else if (strcmp(t, "VacuumStmt") == 0) {
		if (mig_jtrue(js, "is_vacuumcmd"))
			st->probe = MIG_PROBE_RERUN;
	} else if (strcmp(t, "ClusterStmt") == 0) {
		if (mig_jfield(js, "relation") == NULL)
			st->probe = MIG_PROBE_RERUN; /* CLUSTER of all */
	} else if (strcmp(t, "DiscardStmt") == 0) {
		if (mig_jis(js, "target", "DISCARD_ALL"))
			st->probe = MIG_PROBE_RERUN;
	} else if (strcmp(t, "AlterSystemStmt") == 0) {
		st->probe = MIG_PROBE_RERUN;
	} else if (strcmp(t, "CreatedbStmt") == 0 ||
		   strcmp(t, "DropdbStmt") == 0) {
		st->probe = t[0] == 'C' ? MIG_PROBE_CREATE_DATABASE
					: MIG_PROBE_DROP_DATABASE;
		st->name = mig_keep(ctx, mig_js(n, "dbname"));
	} else if (strcmp(t, "AlterDatabaseStmt") == 0) {
		if (mig_has_defelem(mig_j(n, "options"), "tablespace"))
			st->probe = MIG_PROBE_RERUN;
	} else if (strcmp(t, "CreateTableSpaceStmt") == 0 ||
		   strcmp(t, "DropTableSpaceStmt") == 0) {
		st->probe = t[0] == 'C' ? MIG_PROBE_CREATE_TABLESPACE
					: MIG_PROBE_DROP_TABLESPACE;
		st->name = mig_keep(ctx, mig_js(n, "tablespacename"));
	} else if (strcmp(t, "CreateSubscriptionStmt") == 0 ||
		   strcmp(t, "DropSubscriptionStmt") == 0) {
		st->probe = t[0] == 'C' ? MIG_PROBE_CREATE_SUBSCRIPTION
					: MIG_PROBE_DROP_SUBSCRIPTION;
		st->name = mig_keep(ctx, mig_js(n, "subname"));
	} else if (strcmp(t, "AlterSubscriptionStmt") == 0) {
		/* REFRESH, and publication changes that refresh (the
		 * default) */
		if (mig_jis(js, "kind", "ALTER_SUBSCRIPTION_REFRESH") ||
		    ((mig_jis(js, "kind",
			      "ALTER_SUBSCRIPTION_ADD_PUBLICATION") ||
		      mig_jis(js, "kind",
			      "ALTER_SUBSCRIPTION_DROP_PUBLICATION") ||
		      mig_jis(js, "kind",
			      "ALTER_SUBSCRIPTION_SET_PUBLICATION")) &&
		     !mig_has_defelem(mig_j(n, "options"), "refresh")))
			st->probe = MIG_PROBE_RERUN;
	} else if (strcmp(t, "TransactionStmt") == 0) {
		if (mig_jis(js, "kind", "TRANS_STMT_COMMIT_PREPARED") ||
		    mig_jis(js, "kind", "TRANS_STMT_ROLLBACK_PREPARED"))
			st->probe = MIG_PROBE_RERUN;
	} else if (strcmp(t, "AlterTableStmt") == 0) {
		json_object *cmds = mig_j(n, "cmds");

		for (size_t i = 0; i < mig_jlen(cmds); i++) {
			json_object *c =
			    mig_j(mig_jat(cmds, i), "AlterTableCmd");
			json_object *pc =
			    mig_j(mig_j(c, "def"), "PartitionCmd");

			if (mig_jeq(c, "subtype", "AT_DetachPartition") &&
			    mig_jb(pc, "concurrent")) {
				st->probe = MIG_PROBE_DETACH;
				mig_rangevar(ctx, mig_j(n, "relation"),
					     &st->rel_schema, &st->rel_name);
				mig_rangevar(ctx, mig_j(pc, "name"),
					     &st->schema, &st->name);
			}
		}
	}
	st->nontx = st->probe != MIG_PROBE_NONE;
}

/* The node types whose tree classification needs beyond direct fields. */
static bool mig_needs_tree_to_classify(const struct mig_jstmt *js)
{
	static const char *const types[] = {
	    "IndexStmt",
	    "DropStmt",
	    "ReindexStmt",
	    "CreatedbStmt",
	    "DropdbStmt",
	    "AlterDatabaseStmt",
	    "CreateTableSpaceStmt",
	    "DropTableSpaceStmt",
	    "AlterTableStmt",
	    "CreateSubscriptionStmt",
	    "DropSubscriptionStmt",
	    "AlterSubscriptionStmt",
	    NULL,
	};

	for (size_t i = 0; types[i] != NULL; i++)
		if (strcmp(js->type, types[i]) == 0)
			return strcmp(js->type, "IndexStmt") != 0 &&
				       strcmp(js->type, "DropStmt") != 0
				   ? true
				   : mig_jtrue(js, "concurrent");
	return false;
}

/* Whether some lint rule looks at the statement's tree. */
static bool mig_lint_reads(const struct mig_jstmt *js)
{
	static const char *const types[] = {
	    "VariableSetStmt", "AlterTableStmt",    "RenameStmt",
	    "DropStmt",	       "TruncateStmt",	    "IndexStmt",
	    "CreateStmt",      "CreateTableAsStmt", "SelectStmt",
	    "DropdbStmt",      "TransactionStmt",   NULL,
	};

	if (strcmp(js->type, "SelectStmt") == 0)
		return mig_jfield(js, "intoClause") != NULL; /* SELECT INTO */
	for (size_t i = 0; types[i] != NULL; i++)
		if (strcmp(js->type, types[i]) == 0)
			return true;
	return false;
}

static void mig_lint_skipped(struct mig_parse *ps, const struct mig_stmt *st,
			     const char *why)
{
	const struct dbops_host *h = dbops_host(ps->ctx);
	struct dbops_loc loc = {NULL, 0, 0};
	struct dbops_diag *d;

	if (ps->file != NULL) {
		loc.file = ps->file->loc.file;
		loc.line = st->line;
		loc.col = st->col;
	}
	d = h->diag(ps->ctx, DBOPS_SEV_WARNING, 0, &loc,
		    "lint skipped a statement of migration \"%s\": %s",
		    mig_script(ps), why);
	h->diag_detail(
	    ps->ctx, d,
	    "The statement is still run as written; no lint rule was checked on it.");
}

/* The tree of one element of the JSON, parsed without a depth limit. */
static json_object *mig_tree(const char *json, const struct mig_jstmt *js)
{
	json_tokener *tok = json_tokener_new_ex((int)js->depth + 2);
	json_object *o = NULL;

	if (tok == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, json + js->begin,
				  (int)(js->end - js->begin));
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		if (o != NULL)
			json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* Record one parsed statement: its place, its classification, lint. */
static int mig_take_stmt(struct mig_parse *ps, size_t base, size_t text_len,
			 const char *json, const struct mig_jstmt *js,
			 size_t *pos, uint32_t *line, uint32_t *col)
{
	const struct dbops_host *h = dbops_host(ps->ctx);
	size_t start = base + (size_t)js->location;
	size_t end = js->len > 0 ? start + (size_t)js->len : base + text_len;
	bool want_lint = ps->lint && mig_lint_reads(js);
	bool want_locks = ps->locks && mig_lock_reads(js->type);
	json_object *wrapper = NULL, *inner = NULL;
	struct mig_stmt *st;

	if (js->location < 0 || start > base + text_len ||
	    end > base + text_len || end < start)
		return mig_parse_bug(
		    ps, base, "the parser placed a statement outside its text");
	start = mig_skip_space(ps->sql, start, end);
	st = mig_stmt_add(ps);
	mig_advance(ps->sql, pos, line, col, start);
	st->offset = start;
	st->len = end - start;
	st->line = *line;
	st->col = *col;
	st->node = h->strdup(ps->ctx, js->type);
	st->parsed = true;
	if ((want_lint || want_locks || mig_needs_tree_to_classify(js)) &&
	    js->end - js->begin <= MIG_TREE_MAX) {
		json_object *root = mig_tree(json, js);

		if (root == NULL)
			return mig_parse_bug(
			    ps, start, "the parse tree could not be read");
		wrapper = root;
		mig_node_type(mig_j(root, "stmt"), &inner);
	}
	mig_classify_nontx(ps->ctx, st, js, inner);
	ps->any_nontx |= st->nontx;
	st->session = (strcmp(js->type, "VariableSetStmt") == 0 &&
		       !mig_jtrue(js, "is_local")) ||
		      (strcmp(js->type, "DiscardStmt") == 0 &&
		       mig_jis(js, "target", "DISCARD_ALL"));
	st->unprepares = strcmp(js->type, "DeallocateStmt") == 0 ||
			 (strcmp(js->type, "DiscardStmt") == 0 &&
			  !mig_jis(js, "target", "DISCARD_TEMP") &&
			  !mig_jis(js, "target", "DISCARD_SEQUENCES"));
	if (strcmp(js->type, "TransactionStmt") == 0) {
		if (mig_jis(js, "kind", "TRANS_STMT_BEGIN") ||
		    mig_jis(js, "kind", "TRANS_STMT_START"))
			st->txctl = MIG_TXCTL_OPEN;
		else if (mig_jis(js, "kind", "TRANS_STMT_COMMIT"))
			st->txctl = MIG_TXCTL_COMMIT;
		else if (mig_jis(js, "kind", "TRANS_STMT_ROLLBACK"))
			st->txctl = MIG_TXCTL_ROLLBACK;
		else if (mig_jis(js, "kind", "TRANS_STMT_PREPARE"))
			st->txctl = MIG_TXCTL_PREPARE;
	}
	if (strcmp(js->type, "CopyStmt") == 0 &&
	    mig_jfield(js, "filename") == NULL)
		mig_copy_client(ps, st, mig_jtrue(js, "is_from"));
	if (ps->locks) {
		struct mig_lockinfo *li = h->alloc(ps->ctx, sizeof(*li));

		mig_lock_classify(li, ps->ctx, js->type, inner);
		st->lock = li;
	}
	if (want_lint && inner != NULL)
		mig_lint_stmt(&ps->lint_state, st, ps->n - 1, js->type, inner);
	else if (want_lint)
		mig_lint_skipped(
		    ps, st,
		    h->printf(
			ps->ctx,
			"its parse tree is %zu kB, over the %zu kB lint reads",
			(js->end - js->begin) >> 10, MIG_TREE_MAX >> 10));
	if (wrapper != NULL)
		json_object_put(wrapper);
	return 0;
}

/* Parse text[0..len) (bytes `base`.. of the file). On a syntax error,
 * *failed holds the result, for the caller to free. */
static int mig_parse_text(struct mig_parse *ps, size_t base, const char *text,
			  size_t len, PgQueryParseResult *failed, size_t *pos,
			  uint32_t *line, uint32_t *col)
{
	PgQueryParseResult r = pg_query_parse(text);
	struct mig_jwalk w;
	int err = 0;

	memset(&w, 0, sizeof(w));
	memset(failed, 0, sizeof(*failed));
	if (r.error != NULL) {
		*failed = r;
		return DBOPS_ERR_INVALID;
	}
	if (r.parse_tree == NULL) {
		pg_query_free_parse_result(r);
		return mig_parse_bug(ps, base, "the parser returned nothing");
	}
	w.s = r.parse_tree;
	w.n = strlen(r.parse_tree);
	if (!mig_jwalk(&w))
		err = mig_parse_bug(
		    ps, base, "the parse tree is not of the expected shape");
	else if (w.nout == 0)
		err = mig_parse_bug(
		    ps, base,
		    "the parser found no statement in text that holds one");
	for (size_t k = 0; err == 0 && k < w.nout; k++)
		err = mig_take_stmt(ps, base, len, r.parse_tree, &w.out[k], pos,
				    line, col);
	free(w.out);
	pg_query_free_parse_result(r);
	return err;
}

static bool mig_error_at_end(const PgQueryError *e, const char *text,
			     size_t len)
{
	return e->cursorpos > 0 && (size_t)e->cursorpos > mig_chars(text, len);
}

/* ---- a piece too large to parse: what its first words say */

static size_t mig_words(const char *s, size_t i, size_t end, char words[][16],
			size_t max)
{
	size_t n = 0;

	while (n < max) {
		size_t k = 0;

		i = mig_skip_space(s, i, end);
		while (i < end &&
		       ((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_')) {
			if (k < 15)
				words[n][k++] =
				    (char)(s[i] >= 'a' && s[i] <= 'z'
					       ? s[i] - 32
					       : s[i]);
			i++;
		}
		if (k == 0)
			break;
		words[n++][k] = '\0';
	}
	return n;
}

static bool mig_word_in(const char *w, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}

static int mig_take_large(struct mig_parse *ps, size_t start, size_t end,
			  size_t *pos, uint32_t *line, uint32_t *col)
{
	static const char *const data[] = {
	    "INSERT", "UPDATE", "DELETE", "MERGE", "SELECT",  "VALUES",
	    "WITH",   "TABLE",	"CALL",	  "DO",	   "COMMENT", NULL,
	};
	static const char *const routines[] = {
	    "FUNCTION", "PROCEDURE", "VIEW",	  "MATERIALIZED", "TRIGGER",
	    "RULE",	"AGGREGATE", "RECURSIVE", NULL,
	};
	char words[6][16];
	size_t nw, k = 1;
	struct mig_stmt *st;
	bool known;

	start = mig_skip_space(ps->sql, start, end);
	nw = mig_words(ps->sql, start, end, words, 6);
	st = mig_stmt_add(ps);
	mig_advance(ps->sql, pos, line, col, start);
	st->offset = start;
	st->len = end - start;
	st->line = *line;
	st->col = *col;
	st->node = "";
	if (ps->locks) {
		struct mig_lockinfo *li =
		    dbops_host(ps->ctx)->alloc(ps->ctx, sizeof(*li));

		mig_lock_classify(li, ps->ctx, "", NULL);
		st->lock = li;
	}
	ps->unparsed++;
	if (end - start > ps->unparsed_bytes)
		ps->unparsed_bytes = end - start;
	if (nw > 0 && strcmp(words[0], "COPY") == 0) {
		struct dbops_loc loc = mig_loc_at(ps->file, ps->sql, start);
		struct dbops_diag *d = dbops_host(ps->ctx)->diag(
		    ps->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &loc,
		    "migration \"%s\" has a COPY statement of %zu kB, too large to check",
		    mig_script(ps), (end - start) >> 10);

		dbops_host(ps->ctx)->diag_hint(
		    ps->ctx, d,
		    "A COPY from or to the client cannot run in a migration; load the rows with INSERT statements of at most 256 kB each.");
		if (ps->first_error == NULL)
			ps->first_error = d;
		ps->err = DBOPS_ERR_INVALID;
		return 0;
	}
	known = nw > 0 && mig_word_in(words[0], data);
	if (nw > 0 && strcmp(words[0], "CREATE") == 0) {
		if (k < nw && strcmp(words[k], "OR") == 0)
			k += 2; /* OR REPLACE */
		while (k < nw && (strcmp(words[k], "TEMP") == 0 ||
				  strcmp(words[k], "TEMPORARY") == 0 ||
				  strcmp(words[k], "CONSTRAINT") == 0))
			k++;
		known = k < nw && mig_word_in(words[k], routines);
	}
	if (!known && ps->lint)
		mig_lint_skipped(
		    ps, st,
		    dbops_host(ps->ctx)->printf(
			ps->ctx,
			"it is %zu kB, over the %zu kB the parser reads, and is split by PostgreSQL's scanner only",
			(end - start) >> 10, MIG_PARSE_MAX >> 10));
	return 0;
}

/* ---- the whole file */

struct mig_piece {
	size_t start, end; /* bytes of the file, without the semicolon */
};

/* Parse pieces[*i], joining the pieces after it while the parser says
 * the statement goes on past its semicolon (a BEGIN ATOMIC body). */
static int mig_parse_piece(struct mig_parse *ps, const struct mig_piece *pieces,
			   size_t npieces, size_t *i, size_t *pos,
			   uint32_t *line, uint32_t *col)
{
	size_t start = pieces[*i].start, first_end = pieces[*i].end;
	PgQueryParseResult first;
	bool have_first = false;
	int err;

	memset(&first, 0, sizeof(first));
	if (first_end - start > MIG_PARSE_MAX)
		return mig_take_large(ps, start, first_end, pos, line, col);
	for (size_t j = *i; j < npieces && j - *i < MIG_JOIN_MAX; j++) {
		size_t end = pieces[j].end;
		PgQueryParseResult e;
		bool at_end;
		char *text;

		if (end - start > MIG_PARSE_MAX)
			break;
		if ((text = mig_text(ps, start, end)) == NULL) {
			err = mig_parse_bug(ps, start, "out of memory");
			goto done;
		}
		err = mig_parse_text(ps, start, text, end - start, &e, pos,
				     line, col);
		if (e.error == NULL) {
			*i = j;
			goto done;
		}
		at_end = mig_error_at_end(e.error, text, end - start);
		if (!have_first) {
			first = e;
			have_first = true;
		} else {
			pg_query_free_parse_result(e);
		}
		if (!at_end)
			break;
	}
	/* the error of the piece alone: the statement the server would get */
	if (ps->nsyntax++ < MIG_SYNTAX_MAX)
		mig_syntax_error(ps, start, ps->sql + start, first_end - start,
				 first.error);
	ps->err = DBOPS_ERR_INVALID;
	err = DBOPS_ERR_INVALID;
done:
	if (have_first)
		pg_query_free_parse_result(first);
	return err;
}

/* Every byte outside the statements is blank, a comment or ';'. */
static int mig_check_coverage(struct mig_parse *ps)
{
	size_t at = 0;

	for (size_t k = 0; k <= ps->n; k++) {
		size_t until = k < ps->n ? ps->stmts[k].offset : ps->len;

		if (k < ps->n && ps->stmts[k].offset < at)
			return mig_parse_bug(ps, at, "two statements overlap");
		for (;;) {
			at = mig_skip_space(ps->sql, at, until);
			if (at < until && ps->sql[at] == ';') {
				at++;
				continue;
			}
			break;
		}
		if (at < until) {
			/* text the scanner found no statement in: what the
			 * parser says of it */
			const struct dbops_host *h = dbops_host(ps->ctx);
			char *text = h->printf(ps->ctx, "%.*s",
					       (int)(until - at), ps->sql + at);
			PgQueryParseResult r = pg_query_parse(text);

			if (r.error != NULL)
				mig_syntax_error(ps, at, text, until - at,
						 r.error);
			else
				mig_parse_bug(
				    ps, at,
				    "text that belongs to no statement");
			pg_query_free_parse_result(r);
			return ps->err;
		}
		if (k < ps->n)
			at = ps->stmts[k].offset + ps->stmts[k].len;
	}
	return 0;
}

static void mig_parse_all(void *arg)
{
	struct mig_parse *ps = arg;
	PgQuerySplitResult sr = pg_query_split_with_scanner(ps->sql);
	struct mig_piece *pieces = NULL;
	size_t npieces = 0, pos = 0;
	uint32_t line = 1, col = 1;

	if (sr.error != NULL) {
		mig_syntax_error(ps, 0, ps->sql, ps->len, sr.error);
		goto done;
	}
	if (sr.n_stmts < 0)
		goto done;
	pieces = dbops_host(ps->ctx)->alloc(ps->ctx, ((size_t)sr.n_stmts + 1) *
							 sizeof(*pieces));
	for (int k = 0; k < sr.n_stmts; k++) {
		const PgQuerySplitStmt *s = sr.stmts[k];

		if (s->stmt_location < 0 || s->stmt_len < 0 ||
		    (size_t)s->stmt_location + (size_t)s->stmt_len > ps->len) {
			mig_parse_bug(
			    ps, 0,
			    "the scanner placed a statement outside the file");
			goto done;
		}
		pieces[npieces].start = (size_t)s->stmt_location;
		pieces[npieces].end =
		    (size_t)s->stmt_location + (size_t)s->stmt_len;
		npieces++;
	}
	ps->cap = npieces;
	ps->stmts = dbops_host(ps->ctx)->alloc(ps->ctx, (ps->cap + 1) *
							    sizeof(*ps->stmts));
	for (size_t i = 0; i < npieces; i++) {
		if (mig_parse_piece(ps, pieces, npieces, &i, &pos, &line,
				    &col) != 0 &&
		    ps->err == DBOPS_ERR_GENERIC)
			goto done;
	}
	if (ps->err == 0)
		mig_check_coverage(ps);
	if (ps->nsyntax > MIG_SYNTAX_MAX)
		dbops_host(ps->ctx)->diag(
		    ps->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		    ps->file ? &ps->file->loc : NULL,
		    "migration \"%s\" has %zu more syntax errors",
		    mig_script(ps), ps->nsyntax - MIG_SYNTAX_MAX);
done:
	free(ps->buf);
	ps->buf = NULL;
	pg_query_free_split_result(sr);
}

int mig_sql_parse(struct mig_parsed *out, struct dbops_ctx *ctx,
		  const char *sql, const struct mig_file *file, unsigned flags)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_parse ps;
	int err;

	memset(out, 0, sizeof(*out));
	memset(&ps, 0, sizeof(ps));
	ps.ctx = ctx;
	ps.sql = sql;
	ps.len = strlen(sql);
	ps.file = file;
	ps.lint = (flags & MIG_PARSE_LINT) != 0;
	ps.locks = (flags & MIG_PARSE_LOCKS) != 0;
	mig_lint_init(&ps.lint_state, ctx,
		      (flags & MIG_PARSE_LOCK_TIMEOUT_SET) != 0);
	if ((err = mig_deep_run(mig_parse_all, &ps)) != 0) {
		struct dbops_loc loc = file ? file->loc : (struct dbops_loc){0};

		out->error = h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &loc,
		    "could not start the thread that parses migrations: %s",
		    strerror(err));
		return DBOPS_ERR_GENERIC;
	}
	if (ps.err != 0) {
		out->error = ps.first_error;
		return ps.err;
	}
	if (ps.unparsed > 0 && file != NULL) {
		struct dbops_diag *d = h->diag(
		    ctx, DBOPS_SEV_NOTICE, 0, &file->loc,
		    "%zu statement%s of migration \"%s\" %s over %zu kB (the largest %zu kB)",
		    ps.unparsed, ps.unparsed == 1 ? "" : "s", file->script,
		    ps.unparsed == 1 ? "is" : "are", MIG_PARSE_MAX >> 10,
		    ps.unparsed_bytes >> 10);

		h->diag_detail(
		    ctx, d,
		    "They are split by PostgreSQL's scanner and run as written; the server checks their syntax when they run.");
	}
	if (ps.lint) {
		/* the rules about transactions depend on how the migration
		 * will run */
		bool in_tx = file != NULL && file->txmode != MIG_TX_AUTO
				 ? file->txmode == MIG_TX_ON
				 : !ps.any_nontx;

		mig_lint_finish(&ps.lint_state, in_tx, &out->findings,
				&out->nfindings);
	}
	out->stmts =
	    ps.stmts != NULL ? ps.stmts : h->alloc(ctx, sizeof(*ps.stmts));
	out->n = ps.n;
	return 0;
}

/* ---- one expression */

struct mig_volatile {
	const char *sql;
	bool result;
};

static void mig_volatile_run(void *arg)
{
	struct mig_volatile *v = arg;
	PgQueryParseResult r = pg_query_parse(v->sql);
	json_object *root;

	v->result = true;
	if (r.error == NULL && r.parse_tree != NULL &&
	    (root = json_tokener_parse(r.parse_tree)) != NULL) {
		v->result = mig_expr_volatile(root);
		json_object_put(root);
	}
	pg_query_free_parse_result(r);
}

bool mig_sql_volatile(struct dbops_ctx *ctx, const char *expr)
{
	struct mig_volatile v;

	/* a default is an expression of at most a few hundred bytes; past
	 * MIG_PARSE_MAX it is not worth reading */
	if (strlen(expr) > MIG_PARSE_MAX)
		return true;
	v.sql = dbops_host(ctx)->printf(ctx, "SELECT (%s)", expr);
	v.result = true;
	if (mig_deep_run(mig_volatile_run, &v) != 0)
		return true;
	return v.result;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * sqlparse.c — recorded statements read through PostgreSQL's own parser
 * (libpg_query, as the migrations plugin does): which kind of statement
 * it is, the tables it reads, and the columns an index could serve —
 * compared with a value or another table's column in WHERE and JOIN ...
 * ON (=, IN, IS NULL as equality; <, >, BETWEEN, LIKE as ranges) and
 * named in ORDER BY. That is Dexter's candidate set (reference §5). Also
 * the batched form of an N+1 lookup: its "col = $1" as "col = ANY($1)",
 * at the place the parse tree says; and every text shown, normalised.
 *
 * Texts longer than MON_PARSE_MAX are not parsed, so the parser's
 * output recursion stays far from any thread's stack limit (at most
 * about 5,000 levels: measured well within 2 MiB); the walk over the
 * tree stops at MON_WALK_DEPTH levels, deeper columns are not
 * candidates. A text the parser refuses is reported as such, never read
 * as "no candidates".
 */
#include "monitoring_int.h"

#include <json-c/json.h>
#include <pg_query.h>
#include <stdlib.h>
#include <string.h>

#define MON_WALK_DEPTH	   200
#define MON_MAX_CANDIDATES 64

struct mon_walk {
	struct dbops_ctx *ctx;
	struct mon_parsed *out;
	size_t cap_rels, cap_cols;
};

static json_object *mon_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *mon_str(json_object *o)
{
	return o != NULL && json_object_is_type(o, json_type_string)
		   ? json_object_get_string(o)
		   : NULL;
}

/* The sval of a {"String": {"sval": ...}} node. */
static const char *mon_sval(json_object *node)
{
	return mon_str(mon_get(mon_get(node, "String"), "sval"));
}

static void mon_add_rel(struct mon_walk *w, json_object *rv)
{
	const struct dbops_host *h = dbops_host(w->ctx);
	struct mon_parsed *p = w->out;
	const char *name = mon_str(mon_get(rv, "relname"));
	const char *schema = mon_str(mon_get(rv, "schemaname"));
	const char *alias = mon_str(mon_get(mon_get(rv, "alias"), "aliasname"));

	if (name == NULL || p->nrels >= MON_MAX_CANDIDATES)
		return;
	if (p->nrels == w->cap_rels) {
		struct mon_relref *bigger;

		w->cap_rels = w->cap_rels ? 2 * w->cap_rels : 4;
		bigger = h->alloc(w->ctx, w->cap_rels * sizeof(*bigger));
		if (p->nrels > 0)
			memcpy(bigger, p->rels, p->nrels * sizeof(*bigger));
		p->rels = bigger;
	}
	p->rels[p->nrels].name = h->strdup(w->ctx, name);
	p->rels[p->nrels].schema = schema ? h->strdup(w->ctx, schema) : NULL;
	p->rels[p->nrels].alias = alias ? h->strdup(w->ctx, alias) : NULL;
	p->nrels++;
}

static void mon_add_col(struct mon_walk *w, json_object *colref,
			enum mon_cmp cmp)
{
	const struct dbops_host *h = dbops_host(w->ctx);
	struct mon_parsed *p = w->out;
	json_object *fields = mon_get(colref, "fields");
	size_t n;
	const char *col, *qual = NULL;

	if (fields == NULL || !json_object_is_type(fields, json_type_array))
		return;
	n = json_object_array_length(fields);
	if (n == 0 || n > 3)
		return;
	col = mon_sval(json_object_array_get_idx(fields, n - 1));
	if (n >= 2)
		qual = mon_sval(json_object_array_get_idx(fields, n - 2));
	if (col == NULL || p->ncols >= MON_MAX_CANDIDATES)
		return; /* A_Star, or too many */
	for (size_t i = 0; i < p->ncols; i++)
		if (strcmp(p->cols[i].column, col) == 0 &&
		    ((qual == NULL && p->cols[i].qualifier == NULL) ||
		     (qual != NULL && p->cols[i].qualifier != NULL &&
		      strcmp(qual, p->cols[i].qualifier) == 0))) {
			if (cmp < p->cols[i].cmp)
				p->cols[i].cmp = cmp; /* equality first */
			return;
		}
	if (p->ncols == w->cap_cols) {
		struct mon_colref *bigger;

		w->cap_cols = w->cap_cols ? 2 * w->cap_cols : 8;
		bigger = h->alloc(w->ctx, w->cap_cols * sizeof(*bigger));
		if (p->ncols > 0)
			memcpy(bigger, p->cols, p->ncols * sizeof(*bigger));
		p->cols = bigger;
	}
	p->cols[p->ncols].column = h->strdup(w->ctx, col);
	p->cols[p->ncols].qualifier = qual ? h->strdup(w->ctx, qual) : NULL;
	p->cols[p->ncols].cmp = cmp;
	p->ncols++;
}

/* The comparison an A_Expr makes, or 0 when an index cannot serve it. */
static enum mon_cmp mon_expr_cmp(json_object *aexpr)
{
	const char *kind = mon_str(mon_get(aexpr, "kind"));
	json_object *name = mon_get(aexpr, "name");
	const char *op = NULL;

	if (name != NULL && json_object_is_type(name, json_type_array) &&
	    json_object_array_length(name) > 0)
		op = mon_sval(json_object_array_get_idx(
		    name, json_object_array_length(name) - 1));
	if (kind == NULL)
		return 0;
	if (strcmp(kind, "AEXPR_IN") == 0)
		return op != NULL && strcmp(op, "=") == 0 ? MON_CMP_EQ : 0;
	if (strcmp(kind, "AEXPR_OP_ANY") == 0)
		return op != NULL && strcmp(op, "=") == 0 ? MON_CMP_EQ : 0;
	if (strcmp(kind, "AEXPR_LIKE") == 0 ||
	    strcmp(kind, "AEXPR_BETWEEN") == 0)
		return MON_CMP_RANGE;
	if (strcmp(kind, "AEXPR_OP") != 0 || op == NULL)
		return 0;
	if (strcmp(op, "=") == 0)
		return MON_CMP_EQ;
	if (strcmp(op, "<") == 0 || strcmp(op, ">") == 0 ||
	    strcmp(op, "<=") == 0 || strcmp(op, ">=") == 0)
		return MON_CMP_RANGE;
	return 0;
}

static void mon_walk(struct mon_walk *w, json_object *o, bool qual, int depth);

static void mon_walk_key(struct mon_walk *w, const char *key, json_object *v,
			 bool qual, int depth)
{
	if (strcmp(key, "whereClause") == 0 || strcmp(key, "quals") == 0)
		qual = true;
	else if (strcmp(key, "targetList") == 0 ||
		 strcmp(key, "returningList") == 0)
		qual = false;
	if (strcmp(key, "sortClause") == 0 &&
	    json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *by =
			    mon_get(json_object_array_get_idx(v, i), "SortBy");
			json_object *cr =
			    mon_get(mon_get(by, "node"), "ColumnRef");

			if (cr != NULL)
				mon_add_col(w, cr, MON_CMP_SORT);
		}
		return;
	}
	mon_walk(w, v, qual, depth + 1);
}

static void mon_walk(struct mon_walk *w, json_object *o, bool qual, int depth)
{
	if (o == NULL || depth > MON_WALK_DEPTH)
		return;
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			mon_walk(w, json_object_array_get_idx(o, i), qual,
				 depth + 1);
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	if (mon_get(o, "RangeVar") != NULL)
		mon_add_rel(w, mon_get(o, "RangeVar"));
	if (qual && mon_get(o, "A_Expr") != NULL) {
		json_object *e = mon_get(o, "A_Expr");
		enum mon_cmp cmp = mon_expr_cmp(e);
		json_object *l = mon_get(mon_get(e, "lexpr"), "ColumnRef");
		json_object *r = mon_get(mon_get(e, "rexpr"), "ColumnRef");

		if (cmp != 0 && l != NULL)
			mon_add_col(w, l, cmp);
		if (cmp != 0 && r != NULL)
			mon_add_col(w, r, cmp);
	}
	if (qual && mon_get(o, "NullTest") != NULL) {
		json_object *cr = mon_get(
		    mon_get(mon_get(o, "NullTest"), "arg"), "ColumnRef");

		if (cr != NULL)
			mon_add_col(w, cr, MON_CMP_EQ);
	}
	json_object_object_foreach(o, key, val)
	{
		mon_walk_key(w, key, val, qual, depth);
	}
}

/* How deep the JSON nests: json-c's parser needs to be told. */
static int mon_json_depth(const char *json)
{
	int depth = 0, most = 0;
	bool in_string = false;

	for (const char *p = json; *p; p++) {
		if (in_string) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				in_string = false;
		} else if (*p == '"') {
			in_string = true;
		} else if (*p == '{' || *p == '[') {
			if (++depth > most)
				most = depth;
		} else if (*p == '}' || *p == ']') {
			depth--;
		}
	}
	return most;
}

/* libpg_query's JSON of `query`, parsed by json-c; NULL with *error. */
static json_object *mon_tree(struct dbops_ctx *ctx, const char *query,
			     const char **error)
{
	PgQueryParseResult r;
	json_tokener *tok;
	json_object *root;

	*error = NULL;
	if (strlen(query) > MON_PARSE_MAX) {
		*error = "the query text is longer than 10,000 bytes";
		return NULL;
	}
	r = pg_query_parse(query);
	if (r.error != NULL) {
		*error = dbops_host(ctx)->printf(ctx, "it does not parse: %s",
						 r.error->message);
		pg_query_free_parse_result(r);
		return NULL;
	}
	if (r.parse_tree == NULL) {
		pg_query_free_parse_result(r);
		*error = "the parser returned nothing";
		return NULL;
	}
	tok = json_tokener_new_ex(mon_json_depth(r.parse_tree) + 2);
	root = tok != NULL ? json_tokener_parse_ex(tok, r.parse_tree,
						   (int)strlen(r.parse_tree))
			   : NULL;
	if (root == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(root);
		root = NULL;
		*error = "the parse tree could not be read";
	}
	if (tok != NULL)
		json_tokener_free(tok);
	pg_query_free_parse_result(r);
	return root;
}

/* The one statement of the tree, with its node type in *type. */
static json_object *mon_only_stmt(json_object *root, const char **type)
{
	json_object *stmts = mon_get(root, "stmts"), *stmt;

	*type = NULL;
	if (stmts == NULL || !json_object_is_type(stmts, json_type_array) ||
	    json_object_array_length(stmts) != 1)
		return NULL;
	stmt = mon_get(json_object_array_get_idx(stmts, 0), "stmt");
	if (stmt == NULL || !json_object_is_type(stmt, json_type_object))
		return NULL;
	json_object_object_foreach(stmt, key, val)
	{
		*type = key;
		return val;
	}
	return NULL;
}

int mon_sql_parse(struct mon_parsed *out, struct dbops_ctx *ctx,
		  const char *query)
{
	struct mon_walk w;
	json_object *root, *node;
	const char *type;

	memset(out, 0, sizeof(*out));
	root = mon_tree(ctx, query, &out->error);
	if (root == NULL)
		return DBOPS_ERR_INVALID;
	node = mon_only_stmt(root, &type);
	if (node == NULL)
		out->error = "it holds more than one statement";
	else if (strcmp(type, "SelectStmt") == 0 &&
		 mon_get(node, "intoClause") == NULL)
		out->kind = "select";
	else if (strcmp(type, "UpdateStmt") == 0)
		out->kind = "update";
	else if (strcmp(type, "DeleteStmt") == 0)
		out->kind = "delete";
	if (out->kind != NULL) {
		memset(&w, 0, sizeof(w));
		w.ctx = ctx;
		w.out = out;
		mon_walk(&w, node, false, 0);
	}
	json_object_put(root);
	return 0;
}

/* The first "column = $n" of a WHERE clause, as the byte offset and
 * length of "$n" in the text. */
static bool mon_find_eq_param(json_object *o, bool qual, int depth, int *loc,
			      int *len)
{
	if (o == NULL || depth > MON_WALK_DEPTH)
		return false;
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (mon_find_eq_param(json_object_array_get_idx(o, i),
					      qual, depth + 1, loc, len))
				return true;
		return false;
	}
	if (!json_object_is_type(o, json_type_object))
		return false;
	if (qual && mon_get(o, "A_Expr") != NULL) {
		json_object *e = mon_get(o, "A_Expr");
		json_object *pr = mon_get(mon_get(e, "rexpr"), "ParamRef");
		const char *kind = mon_str(mon_get(e, "kind"));

		if (kind != NULL && strcmp(kind, "AEXPR_OP") == 0 &&
		    mon_expr_cmp(e) == MON_CMP_EQ &&
		    mon_get(mon_get(e, "lexpr"), "ColumnRef") != NULL &&
		    pr != NULL && mon_get(pr, "location") != NULL) {
			int number = json_object_get_int(mon_get(pr, "number"));

			*loc = json_object_get_int(mon_get(pr, "location"));
			*len = 1 + (number >= 100 ? 3 : number >= 10 ? 2 : 1);
			return true;
		}
	}
	json_object_object_foreach(o, key, val)
	{
		bool q = qual || strcmp(key, "whereClause") == 0;

		if (strcmp(key, "targetList") == 0)
			continue;
		if (mon_find_eq_param(val, q, depth + 1, loc, len))
			return true;
	}
	return false;
}

const char *mon_sql_batched(struct dbops_ctx *ctx, const char *query)
{
	const char *error, *type;
	json_object *root, *node;
	int loc = -1, len = 0;
	const char *out = NULL;

	if (query == NULL || (root = mon_tree(ctx, query, &error)) == NULL)
		return NULL;
	node = mon_only_stmt(root, &type);
	if (node != NULL && strcmp(type, "SelectStmt") == 0 &&
	    mon_find_eq_param(node, false, 0, &loc, &len) && loc >= 0 &&
	    (size_t)(loc + len) <= strlen(query) && query[loc] == '$')
		out = dbops_host(ctx)->printf(ctx, "%.*sANY(%.*s)%s", loc,
					      query, len, query + loc,
					      query + loc + len);
	json_object_put(root);
	return out;
}

const char *mon_sql_shown(struct dbops_ctx *ctx, const char *query)
{
	PgQueryNormalizeResult r;
	const char *out;

	if (query == NULL)
		return NULL;
	if (strlen(query) > MON_PARSE_MAX)
		return "(query text over 10,000 bytes, not shown)";
	r = pg_query_normalize(query);
	out = r.error == NULL && r.normalized_query != NULL
		  ? dbops_host(ctx)->strdup(ctx, r.normalized_query)
		  : "(query text not shown: it does not parse)";
	pg_query_free_normalize_result(r);
	return out;
}

const char *mon_sql_shown_activity(struct dbops_ctx *ctx, const char *query)
{
	const char *out = mon_sql_shown(ctx, query);
	const char *quote;

	if (query == NULL || out == NULL || out[0] != '(')
		return out;
	/* cut by track_activity_query_size: no literal shown, so nothing
	 * from the first quote on */
	quote = strpbrk(query, "'$");
	return dbops_host(ctx)->printf(
	    ctx, "%.*s...",
	    (int)(quote != NULL ? quote - query
				: (ptrdiff_t)strnlen(query, 200)),
	    query);
}

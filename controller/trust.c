/* SPDX-License-Identifier: PostgreSQL */
/*
 * trust.c — the records of what a revision decides about trust, and
 * their comparison with a trusted revision's; see trust.h. Nothing here
 * reads a secret or connects anywhere: it only looks at spec text.
 */
#include "trust.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <string.h>

#include "diag.h"
#include "strbuf.h"

/* Depth-first search for `node`, appending the path to sb. */
static bool trust_find(struct strbuf *sb, const struct dbops_node *at,
		       const struct dbops_node *node)
{
	size_t mark = sb->len;

	if (at == node)
		return true;
	if (at == NULL ||
	    (at->kind != DBOPS_NODE_MAP && at->kind != DBOPS_NODE_SEQ))
		return false;
	for (size_t i = 0; i < at->len; i++) {
		if (at->kind == DBOPS_NODE_MAP)
			strbuf_printf(sb, "%s%s", sb->len ? "." : "",
				      at->keys[i]);
		else
			strbuf_printf(sb, "[%zu]", i);
		if (trust_find(sb, at->items[i], node))
			return true;
		sb->len = mark;
		if (sb->buf != NULL)
			sb->buf[mark] = '\0';
	}
	return false;
}

const char *trust_path(struct arena *a, const struct dbops_node *root,
		       const struct dbops_node *node)
{
	struct strbuf sb;
	const char *out;

	strbuf_init(&sb);
	out = trust_find(&sb, root, node) ? strbuf_finish(&sb, a)
					  : arena_strdup(a, "(unknown)");
	strbuf_dispose(&sb);
	return out;
}

static void trust_text(struct strbuf *sb, const struct dbops_node *n)
{
	if (n == NULL || n->kind == DBOPS_NODE_NULL)
		return;
	if (n->kind == DBOPS_NODE_SCALAR) {
		strbuf_puts(sb, n->scalar);
		return;
	}
	strbuf_putc(sb, n->kind == DBOPS_NODE_MAP ? '{' : '[');
	for (size_t i = 0; i < n->len; i++) {
		if (i > 0)
			strbuf_putc(sb, ',');
		if (n->kind == DBOPS_NODE_MAP)
			strbuf_printf(sb, "%s=", n->keys[i]);
		trust_text(sb, n->items[i]);
	}
	strbuf_putc(sb, n->kind == DBOPS_NODE_MAP ? '}' : ']');
}

void trust_record(struct trust_set *t, struct arena *a,
		  const struct dbops_node *root, const struct dbops_node *node,
		  const char *kind, const char *value)
{
	struct trust_entry *e;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct trust_entry *bigger = arena_alloc(a, cap * sizeof(*e));

		if (t->n)
			memcpy(bigger, t->v, t->n * sizeof(*e));
		t->v = bigger;
		t->cap = cap;
	}
	e = &t->v[t->n++];
	e->path = trust_path(a, root, node);
	e->kind = kind;
	e->loc = node->loc;
	if (value != NULL) {
		e->value = arena_strdup(a, value);
	} else {
		struct strbuf sb;

		strbuf_init(&sb);
		trust_text(&sb, node);
		e->value = sb.len ? strbuf_finish(&sb, a) : arena_strdup(a, "");
		strbuf_dispose(&sb);
	}
}

int trust_conninfo_check(const char *text, const struct dbops_loc *loc,
			 const char *what, struct dbops_diag_list *diags,
			 struct arena *a)
{
	PQconninfoOption *opts;
	char *err = NULL;
	bool password = false;
	struct dbops_diag *d;

	if (text == NULL ||
	    (strchr(text, '=') == NULL && strstr(text, "://") == NULL))
		return 0; /* a host name, a path: no connection string */
	opts = PQconninfoParse(text, &err);
	if (opts == NULL) {
		PQfreemem(err);
		return 0; /* libpq reports it, where it is used */
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    o->val[0] != '\0')
			password = true;
	PQconninfoFree(opts);
	if (!password)
		return 0;
	d = diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, loc,
		     "%s holds a password", what);
	d->detail = "A password is never written in a spec; it is not "
		    "repeated here.";
	d->hint = "Remove it from the connection string and give a secret "
		  "reference (password: {env: DBOPS_SECRET_...}), a "
		  ".pgpass file or a service file instead.";
	return DBOPS_ERR_INVALID;
}

static const struct trust_entry *
trust_find_entry(const struct trust_set *t, const char *path, const char *kind)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].path, path) == 0 &&
		    strcmp(t->v[i].kind, kind) == 0)
			return &t->v[i];
	return NULL;
}

int trust_compare(const struct trust_set *planned,
		  const struct trust_set *trusted, const char *trusted_rev,
		  struct dbops_diag_list *diags, struct arena *a)
{
	struct strbuf sb;
	const struct trust_entry *first = NULL;
	size_t ndiff = 0;
	struct dbops_diag *d;

	strbuf_init(&sb);
	for (size_t i = 0; i < planned->n; i++) {
		const struct trust_entry *p = &planned->v[i];
		const struct trust_entry *t =
		    trust_find_entry(trusted, p->path, p->kind);

		if (t != NULL && strcmp(t->value, p->value) == 0)
			continue;
		if (first == NULL)
			first = p;
		ndiff++;
		strbuf_printf(&sb, "%s%s (%s, %s)", sb.len ? "; " : "", p->path,
			      p->kind, t == NULL ? "new" : "changed");
	}
	if (ndiff == 0) {
		strbuf_dispose(&sb);
		return 0;
	}
	d = diag_add(
	    diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &first->loc,
	    "this revision changes where dbops connects or which secrets it reads, compared with the trusted revision \"%s\"",
	    trusted_rev);
	diag_detail(d, a, "%zu key%s differ%s: %s. Nothing was connected to.",
		    ndiff, ndiff == 1 ? "" : "s", ndiff == 1 ? "s" : "",
		    sb.buf);
	d->hint = "A revision under review may change the desired state, not "
		  "the connections and secrets used to plan it. Plan it once "
		  "the change is merged into the trusted revision, or give "
		  "the connection on the trusted side (--conninfo, the "
		  "configuration file).";
	strbuf_dispose(&sb);
	return DBOPS_ERR_INVALID;
}

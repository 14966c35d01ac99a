/* SPDX-License-Identifier: PostgreSQL */
/*
 * spec.c — spec files: YAML bytes → the located, immutable tree of
 * include/dbops/spec.h. The typed getters and the controller's own part of
 * a cluster spec and of the fleet file are in spec_read.c.
 *
 * The parser walks libyaml's event stream with an explicit stack (no
 * recursion, so nesting costs heap, not C stack) and builds nodes in the
 * arena. Aliases share the anchored node instead of copying it; each one
 * charges the anchored subtree's size to the node budget, which is how an
 * exponential "billion laughs" document is refused after a few thousand
 * events. It reads no files and interprets no values beyond null-ness:
 * plugins read scalars through the typed getters.
 */
#include "spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "diag.h"
#include "spec_int.h"
#include "strbuf.h"

const struct spec_limits spec_default_limits = {
    .max_file_size = 1024 * 1024,
    .max_nodes = 100000,
    .max_depth = 64,
};

#define ANCHOR_BUCKETS 1024

const char spec__letters[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const char spec__digits[] = "0123456789";

const char spec__secret_hint[] =
    "Write {env: VARIABLE} or {file: PATH}; secrets are read only when a change is applied.";

/* ---- the parser state */

struct anchor {
	const char *name;
	const struct dbops_node *node; /* NULL while the node is being built */
	size_t count;		       /* nodes, aliases expanded */
	size_t height;		       /* collections on the longest path */
	struct anchor *next;
};

/* A map or list being built. */
struct frame {
	struct dbops_node *node;
	const char **keys;
	const struct dbops_node **key_nodes;
	const struct dbops_node **items;
	size_t len, cap;
	const struct dbops_node *key; /* MAP: key waiting for its value */
	bool have_key;
	bool key_bad; /* the waiting key was refused: drop its value */
	size_t count;
	size_t height;
	struct anchor *anchor;
};

struct parser {
	struct arena *a;
	struct dbops_diag_list *diags;
	const char *file;
	const char *data;
	size_t len;
	const struct spec_limits *limits;
	yaml_parser_t yp;
	struct frame *stack;
	size_t depth, stack_cap;
	size_t nodes;
	struct anchor **anchors;
	const struct dbops_node *root;
	int ndocs;
	bool stop; /* a problem after which the rest cannot be read */
};

struct dbops_diag *spec__err_at(struct dbops_diag_list *diags, struct arena *a,
				const struct dbops_loc *loc, const char *fmt,
				...)
{
	va_list ap;
	struct dbops_diag *d;

	va_start(ap, fmt);
	d = diag_vadd(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, loc, fmt,
		      ap);
	va_end(ap);
	return d;
}

static struct dbops_loc mark_loc(const struct parser *p, yaml_mark_t m)
{
	struct dbops_loc loc = {p->file, (uint32_t)m.line + 1,
				(uint32_t)m.column + 1};

	return loc;
}

/* Where a byte offset falls, for reader errors that carry no mark. */
static struct dbops_loc offset_loc(const struct parser *p, size_t off)
{
	struct dbops_loc loc = {p->file, 1, 1};

	if (off > p->len)
		off = p->len;
	for (size_t i = 0; i < off; i++) {
		if (p->data[i] == '\n') {
			loc.line++;
			loc.col = 1;
		} else if (((unsigned char)p->data[i] & 0xC0) != 0x80) {
			loc.col++;
		}
	}
	return loc;
}

/* Every byte of `s` is in one of the sets. */
bool spec__only_chars(const char *s, const char *set1, const char *set2,
		      const char *set3)
{
	for (; *s != '\0'; s++)
		if (strchr(set1, *s) == NULL && strchr(set2, *s) == NULL &&
		    strchr(set3, *s) == NULL)
			return false;
	return true;
}

static bool nodes_charge(struct parser *p, size_t n, yaml_mark_t m)
{
	struct dbops_loc loc;
	struct dbops_diag *d;

	if (n <= p->limits->max_nodes && p->nodes <= p->limits->max_nodes - n) {
		p->nodes += n;
		return true;
	}
	loc = mark_loc(p, m);
	d = spec__err_at(p->diags, p->a, &loc,
			 "spec file \"%s\" has too many nodes", p->file);
	diag_detail(
	    d, p->a,
	    "The limit is %zu nodes, counting the nodes of an anchor again at every alias to it.",
	    p->limits->max_nodes);
	p->stop = true;
	return false;
}

static void too_deep(struct parser *p, yaml_mark_t m)
{
	struct dbops_loc loc = mark_loc(p, m);
	struct dbops_diag *d;

	d = spec__err_at(p->diags, p->a, &loc,
			 "spec file \"%s\" is nested too deeply", p->file);
	diag_detail(d, p->a, "The limit is %zu levels of maps and lists.",
		    p->limits->max_depth);
	p->stop = true;
}

static void syntax_error(struct parser *p)
{
	yaml_parser_t *yp = &p->yp;
	struct dbops_loc loc;
	struct dbops_diag *d;
	const char *problem = yp->problem ? yp->problem : "unknown error";

	if (yp->error == YAML_MEMORY_ERROR)
		arena_oom();
	if (yp->error == YAML_READER_ERROR)
		loc = offset_loc(p, yp->problem_offset);
	else
		loc = mark_loc(p, yp->problem_mark);
	d = spec__err_at(p->diags, p->a, &loc, "could not parse YAML: %s",
			 problem);
	if (yp->error == YAML_READER_ERROR && yp->problem_value != -1)
		diag_detail(d, p->a, "The offending value is 0x%X.",
			    (unsigned)yp->problem_value);
	else if (yp->context != NULL)
		diag_detail(
		    d, p->a,
		    "The problem was found %s that started at line %u, column %u.",
		    yp->context, (unsigned)yp->context_mark.line + 1,
		    (unsigned)yp->context_mark.column + 1);
	p->stop = true;
}

/* ---- anchors */

static size_t anchor_hash(const char *s)
{
	size_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % ANCHOR_BUCKETS;
}

static struct anchor *anchor_define(struct parser *p, const char *name)
{
	struct anchor *an = arena_alloc(p->a, sizeof(*an));
	size_t h = anchor_hash(name);

	if (p->anchors == NULL)
		p->anchors =
		    arena_alloc(p->a, ANCHOR_BUCKETS * sizeof(*p->anchors));
	/* A later anchor of the same name hides the earlier one. */
	an->name = arena_strdup(p->a, name);
	an->next = p->anchors[h];
	p->anchors[h] = an;
	return an;
}

static const struct anchor *anchor_find(const struct parser *p,
					const char *name)
{
	if (p->anchors == NULL)
		return NULL;
	for (const struct anchor *an = p->anchors[anchor_hash(name)];
	     an != NULL; an = an->next)
		if (strcmp(an->name, name) == 0)
			return an;
	return NULL;
}

/* ---- tags: the core schema only */

enum tag_class { TAG_NONE, TAG_STR, TAG_NULL, TAG_OTHER };

#define CORE_TAG_PREFIX "tag:yaml.org,2002:"

static enum tag_class tag_check(struct parser *p, const yaml_char_t *utag,
				yaml_event_type_t type, yaml_mark_t m)
{
	const char *tag = (const char *)utag;
	const char *t;
	struct dbops_loc loc;
	struct dbops_diag *d;

	if (tag == NULL || strcmp(tag, "!") == 0)
		return tag != NULL && type == YAML_SCALAR_EVENT ? TAG_STR
								: TAG_NONE;
	if (strncmp(tag, CORE_TAG_PREFIX, strlen(CORE_TAG_PREFIX)) == 0) {
		t = tag + strlen(CORE_TAG_PREFIX);
		if (type == YAML_MAPPING_START_EVENT && strcmp(t, "map") == 0)
			return TAG_OTHER;
		if (type == YAML_SEQUENCE_START_EVENT && strcmp(t, "seq") == 0)
			return TAG_OTHER;
		if (type == YAML_SCALAR_EVENT) {
			if (strcmp(t, "str") == 0)
				return TAG_STR;
			if (strcmp(t, "null") == 0)
				return TAG_NULL;
			if (strcmp(t, "int") == 0 || strcmp(t, "float") == 0 ||
			    strcmp(t, "bool") == 0)
				return TAG_OTHER;
		}
		tag = arena_printf(p->a, "!!%s", t);
	}
	loc = mark_loc(p, m);
	d = spec__err_at(p->diags, p->a, &loc, "unsupported tag %s",
			 diag_value(p->a, tag));
	diag_hint(
	    d, p->a,
	    "Only the core tags !!str, !!int, !!float, !!bool and !!null on values, !!map on maps and !!seq on lists are accepted.");
	return TAG_NONE;
}

/* ---- building */

static struct frame *top(struct parser *p)
{
	return p->depth > 0 ? &p->stack[p->depth - 1] : NULL;
}

static void frame_append(struct parser *p, struct frame *f, const char *key,
			 const struct dbops_node *key_node,
			 const struct dbops_node *item)
{
	if (f->len == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		const struct dbops_node **items =
		    arena_alloc(p->a, cap * sizeof(*items));

		if (f->len > 0)
			memcpy(items, f->items, f->len * sizeof(*items));
		f->items = items;
		if (f->node->kind == DBOPS_NODE_MAP) {
			const char **keys =
			    arena_alloc(p->a, cap * sizeof(*keys));
			const struct dbops_node **kn =
			    arena_alloc(p->a, cap * sizeof(*kn));

			if (f->len > 0) {
				memcpy(keys, f->keys, f->len * sizeof(*keys));
				memcpy(kn, f->key_nodes, f->len * sizeof(*kn));
			}
			f->keys = keys;
			f->key_nodes = kn;
		}
		f->cap = cap;
	}
	if (f->node->kind == DBOPS_NODE_MAP) {
		f->keys[f->len] = key;
		f->key_nodes[f->len] = key_node;
	}
	f->items[f->len++] = item;
}

/* Hand a finished node to its parent (or make it the document root). */
static void deliver(struct parser *p, const struct dbops_node *node,
		    size_t count, size_t height)
{
	struct frame *f = top(p);
	struct dbops_diag *d;

	if (f == NULL) {
		p->root = node;
		return;
	}
	f->count += count;
	if (height > f->height)
		f->height = height;
	if (f->node->kind == DBOPS_NODE_SEQ) {
		frame_append(p, f, NULL, NULL, node);
	} else if (!f->have_key) {
		f->have_key = true;
		f->key = node;
		f->key_bad = node->kind != DBOPS_NODE_SCALAR;
		if (f->key_bad) {
			d = spec__err_at(p->diags, p->a, &node->loc,
					 "a map key must be a string, got %s",
					 spec_kind_name(node));
			diag_hint(
			    d, p->a,
			    "Keys are plain names; quote the key if it is meant as text.");
		}
	} else {
		if (!f->key_bad)
			frame_append(p, f, f->key->scalar, f->key, node);
		f->have_key = false;
	}
}

static bool awaiting_key(struct parser *p)
{
	struct frame *f = top(p);

	return f != NULL && f->node->kind == DBOPS_NODE_MAP && !f->have_key;
}

static bool plain_null(const char *s)
{
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static void on_scalar(struct parser *p, const yaml_event_t *ev)
{
	struct dbops_node *n;
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	enum tag_class tc;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	bool is_key = awaiting_key(p);

	if (!nodes_charge(p, 1, ev->start_mark))
		return;
	n = arena_alloc(p->a, sizeof(*n));
	n->loc = mark_loc(p, ev->start_mark);
	tc = tag_check(p, ev->data.scalar.tag, ev->type, ev->start_mark);
	if (memchr(text, '\0', len) != NULL)
		spec__err_at(p->diags, p->a, &n->loc,
			     "string contains a null character");
	if (!is_key &&
	    (tc == TAG_NULL || (tc == TAG_NONE && plain && plain_null(text)))) {
		n->kind = DBOPS_NODE_NULL;
	} else {
		n->kind = DBOPS_NODE_SCALAR;
		n->scalar = arena_strndup(p->a, text, len);
		n->quoted = !plain || tc == TAG_STR;
	}
	if (ev->data.scalar.anchor != NULL) {
		struct anchor *an =
		    anchor_define(p, (const char *)ev->data.scalar.anchor);

		an->node = n;
		an->count = 1;
	}
	deliver(p, n, 1, 0);
}

static void on_alias(struct parser *p, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *an = anchor_find(p, name);
	struct dbops_loc loc = mark_loc(p, ev->start_mark);
	struct dbops_diag *d;
	struct dbops_node *stand_in;

	if (an == NULL || an->node == NULL) {
		if (an == NULL) {
			d = spec__err_at(p->diags, p->a, &loc,
					 "undefined alias %s",
					 diag_value(p->a, name));
			if (strlen(name) <= DIAG_VALUE_MAX)
				diag_hint(
				    d, p->a,
				    "An alias *%s must come after the anchor &%s that it refers to.",
				    name, name);
			else
				diag_hint(
				    d, p->a,
				    "An alias must come after the anchor that it refers to.");
		} else {
			spec__err_at(
			    p->diags, p->a, &loc,
			    "alias %s refers to a node that contains it",
			    diag_value(p->a, name));
		}
		/* keep the structure going with a stand-in (a name where a
		 * key is due, so that no second error follows) */
		stand_in = arena_alloc(p->a, sizeof(*stand_in));
		stand_in->loc = loc;
		if (awaiting_key(p)) {
			stand_in->kind = DBOPS_NODE_SCALAR;
			stand_in->scalar = arena_printf(p->a, "*%s", name);
		}
		deliver(p, stand_in, 1, 0);
		return;
	}
	if (p->depth + an->height > p->limits->max_depth) {
		too_deep(p, ev->start_mark);
		return;
	}
	if (!nodes_charge(p, an->count, ev->start_mark))
		return;
	deliver(p, an->node, an->count, an->height);
}

static void on_start(struct parser *p, const yaml_event_t *ev)
{
	bool map = ev->type == YAML_MAPPING_START_EVENT;
	const yaml_char_t *anchor = map ? ev->data.mapping_start.anchor
					: ev->data.sequence_start.anchor;
	const yaml_char_t *tag =
	    map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
	struct frame *f;

	if (p->depth + 1 > p->limits->max_depth) {
		too_deep(p, ev->start_mark);
		return;
	}
	if (!nodes_charge(p, 1, ev->start_mark))
		return;
	if (p->depth == p->stack_cap) {
		size_t cap = p->stack_cap ? p->stack_cap * 2 : 16;
		struct frame *stack = arena_alloc(p->a, cap * sizeof(*stack));

		if (p->depth > 0)
			memcpy(stack, p->stack, p->depth * sizeof(*stack));
		p->stack = stack;
		p->stack_cap = cap;
	}
	tag_check(p, tag, ev->type, ev->start_mark);
	f = &p->stack[p->depth++];
	memset(f, 0, sizeof(*f));
	f->node = arena_alloc(p->a, sizeof(*f->node));
	f->node->kind = map ? DBOPS_NODE_MAP : DBOPS_NODE_SEQ;
	f->node->loc = mark_loc(p, ev->start_mark);
	f->count = 1;
	if (anchor != NULL)
		f->anchor = anchor_define(p, (const char *)anchor);
}

struct key_order {
	const char *key;
	size_t idx;
};

static int key_order_cmp(const void *x, const void *y)
{
	const struct key_order *a = x, *b = y;
	int c = strcmp(a->key, b->key);

	if (c != 0)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * Report and drop the repeated keys of a finished map. Sorting keeps a map
 * of many keys linear-logarithmic; the report follows the file order.
 */
static void map_dedupe(struct parser *p, struct frame *f)
{
	struct key_order *ord;
	size_t *first, n = 0;
	struct dbops_diag *d;

	if (f->len < 2)
		return;
	ord = arena_alloc(p->a, f->len * sizeof(*ord));
	first = arena_alloc(p->a, f->len * sizeof(*first));
	for (size_t i = 0; i < f->len; i++) {
		ord[i].key = f->keys[i];
		ord[i].idx = i;
		first[i] = i;
	}
	qsort(ord, f->len, sizeof(*ord), key_order_cmp);
	for (size_t i = 1; i < f->len; i++)
		if (strcmp(ord[i].key, ord[i - 1].key) == 0)
			first[ord[i].idx] = first[ord[i - 1].idx];
	for (size_t i = 0; i < f->len; i++) {
		if (first[i] != i) {
			d = spec__err_at(p->diags, p->a, &f->key_nodes[i]->loc,
					 "duplicate key %s",
					 diag_value(p->a, f->keys[i]));
			diag_detail(d, p->a,
				    "The key was first defined at line %u.",
				    f->key_nodes[first[i]]->loc.line);
			continue;
		}
		f->keys[n] = f->keys[i];
		f->key_nodes[n] = f->key_nodes[i];
		f->items[n++] = f->items[i];
	}
	f->len = n;
}

static void on_end(struct parser *p)
{
	struct frame f;

	if (p->depth == 0)
		return;
	f = p->stack[--p->depth];
	if (f.node->kind == DBOPS_NODE_MAP)
		map_dedupe(p, &f);
	f.node->len = f.len;
	f.node->items = f.items;
	f.node->keys = f.keys;
	f.node->key_nodes = f.key_nodes;
	if (f.anchor != NULL) {
		f.anchor->node = f.node;
		f.anchor->count = f.count;
		f.anchor->height = f.height + 1;
	}
	deliver(p, f.node, f.count, f.height + 1);
}

static void on_document_start(struct parser *p, const yaml_event_t *ev)
{
	struct dbops_loc loc;
	struct dbops_diag *d;

	if (++p->ndocs == 1)
		return;
	loc = mark_loc(p, ev->start_mark);
	d = spec__err_at(
	    p->diags, p->a, &loc,
	    "spec file \"%s\" contains more than one YAML document", p->file);
	diag_hint(d, p->a, "Put each document in a file of its own.");
	p->stop = true;
}

static void parse_events(struct parser *p)
{
	yaml_event_t ev;
	bool done = false;

	while (!done && !p->stop) {
		if (!yaml_parser_parse(&p->yp, &ev)) {
			syntax_error(p);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			on_document_start(p, &ev);
			break;
		case YAML_SCALAR_EVENT:
			on_scalar(p, &ev);
			break;
		case YAML_ALIAS_EVENT:
			on_alias(p, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			on_start(p, &ev);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			on_end(p);
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
}

struct diag_order {
	struct dbops_diag *d;
	size_t idx;
};

static int diag_order_cmp(const void *x, const void *y)
{
	const struct diag_order *a = x, *b = y;

	if (a->d->loc.line != b->d->loc.line)
		return a->d->loc.line < b->d->loc.line ? -1 : 1;
	if (a->d->loc.col != b->d->loc.col)
		return a->d->loc.col < b->d->loc.col ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Move `src` to the end of `dst` in file order (a map's duplicate keys are
 * found when the map ends, after the problems inside it). */
void spec__diags_move_sorted(struct dbops_diag_list *dst,
			     struct dbops_diag_list *src, struct arena *a)
{
	size_t n = 0, i = 0;
	struct diag_order *v;

	for (struct dbops_diag *d = src->head; d != NULL; d = d->next)
		n++;
	if (n > 1) {
		v = arena_alloc(a, n * sizeof(*v));
		for (struct dbops_diag *d = src->head; d != NULL; d = d->next) {
			v[i].d = d;
			v[i].idx = i;
			i++;
		}
		qsort(v, n, sizeof(*v), diag_order_cmp);
		for (i = 0; i + 1 < n; i++)
			v[i].d->next = v[i + 1].d;
		v[n - 1].d->next = NULL;
		src->head = v[0].d;
		src->tail = v[n - 1].d;
	}
	diag_list_move(dst, src);
}

int spec_parse(const struct dbops_node **out, struct arena *a,
	       struct dbops_diag_list *diags, const char *file,
	       const char *data, size_t len, const struct spec_limits *limits)
{
	struct dbops_diag_list found = {0};
	struct parser p = {0};
	struct dbops_node *empty;
	struct dbops_diag *d;
	int rc;

	*out = NULL;
	p.a = a;
	p.diags = &found;
	p.file = arena_strdup(a, file != NULL ? file : "<input>");
	p.data = data;
	p.len = len;
	p.limits = limits != NULL ? limits : &spec_default_limits;
	if (len > p.limits->max_file_size) {
		d = spec__err_at(diags, a, NULL,
				 "spec file \"%s\" is too large", p.file);
		diag_detail(d, a,
			    "The file has %zu bytes; the limit is %zu bytes.",
			    len, p.limits->max_file_size);
		return DBOPS_ERR_INVALID;
	}
	if (!yaml_parser_initialize(&p.yp))
		arena_oom();
	yaml_parser_set_input_string(
	    &p.yp, (const unsigned char *)(data != NULL ? data : ""), len);
	parse_events(&p);
	yaml_parser_delete(&p.yp);
	if (p.root == NULL && !p.stop) {
		/* no document at all: an empty file or only comments */
		empty = arena_alloc(a, sizeof(*empty));
		empty->loc.file = p.file;
		empty->loc.line = 1;
		empty->loc.col = 1;
		p.root = empty;
	}
	rc = found.nerrors > 0 ? DBOPS_ERR_INVALID : 0;
	spec__diags_move_sorted(diags, &found, a);
	/* After problems that left the document readable (a duplicate key,
	 * a bad tag), the tree is still handed out so that the caller can
	 * report the problems of the rest of the spec in the same run. */
	if (rc == 0 || (!p.stop && p.root != NULL))
		*out = p.root;
	return rc;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * needs.c — settings other plugins need (ABI 1.3 facts): the backups
 * plugin needs `archive_mode = on`, the monitoring plugin needs
 * `pg_stat_statements` among `shared_preload_libraries`. They publish
 * during validate
 *   parameters.require.<name> = VALUE   the setting must have that value
 *   parameters.include.<name> = ITEM    the list setting must contain ITEM
 * and this plugin applies them like the spec's own settings — one
 * mechanism, one plan entry, restart-only settings reported as such. The
 * effective section is the spec's map with the needed settings laid over
 * it: a value the spec sets otherwise is an error naming both places; a
 * list gets the missing items appended to what the spec (or else the
 * server) has. The host brings this plugin into a pass that needs it even
 * when the spec has no `parameters` section.
 */
#include "parameters_int.h"

#include <string.h>
#include <strings.h>

#define PAR_REQUIRE "parameters.require."
#define PAR_INCLUDE "parameters.include."

static struct dbops_node *par_scalar(struct dbops_ctx *ctx, const char *text,
				     const struct dbops_loc *loc)
{
	struct dbops_node *n = dbops_host(ctx)->alloc(ctx, sizeof(*n));

	n->kind = DBOPS_NODE_SCALAR;
	n->scalar = text;
	n->loc = *loc;
	return n;
}

/* A map node of `cap` entries holding the section's own. */
struct par_map {
	const char **keys;
	const struct dbops_node **key_nodes;
	const struct dbops_node **items;
	size_t len;
};

static size_t par_map_find(const struct par_map *m, const char *name)
{
	for (size_t i = 0; i < m->len; i++)
		if (par_name_cmp(m->keys[i], name) == 0)
			return i;
	return m->len;
}

static bool par_has_facts(struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_fact *const *facts = NULL;
	size_t n = 0;

	if (h->header.size <
		offsetof(struct dbops_host, facts) + sizeof(h->facts) ||
	    h->facts == NULL)
		return false;
	h->facts(&facts, &n, ctx, "parameters.");
	return n > 0;
}

/* The list `base` (NULL: empty) with `item` appended when missing. */
static const char *par_list_with(struct dbops_ctx *ctx, const char *name,
				 const char *base, const char *item)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char **items = NULL;
	bool fold = false;
	int n;

	par_list_setting(name, NULL, &fold);
	n = base != NULL ? par_list_split(&items, ctx, base, fold) : 0;
	for (int i = 0; i < n; i++)
		if (fold ? strcasecmp(items[i], item) == 0
			 : strcmp(items[i], item) == 0)
			return base;
	if (n <= 0 || base == NULL || base[0] == '\0')
		return item;
	return h->printf(ctx, "%s,%s", base, item);
}

static int par_require(struct dbops_ctx *ctx, struct par_map *m,
		       const struct dbops_fact *f, const char *name,
		       const struct par_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t i = par_map_find(m, name);
	const struct par_setting *s;
	struct par_value want, have;
	struct dbops_diag *d;

	if (i == m->len) {
		m->keys[m->len] = name;
		m->key_nodes[m->len] = par_scalar(ctx, name, &f->loc);
		m->items[m->len] = par_scalar(ctx, f->value, &f->loc);
		m->len++;
		return 0;
	}
	if (m->items[i]->kind != DBOPS_NODE_SCALAR)
		return 0; /* reported by validate */
	/* the same value, however written, is no conflict */
	s = live != NULL ? par_live_find(live, name) : NULL;
	if (s == NULL ||
	    (par_value_parse(&want, NULL, ctx, s, f->value) == 0 &&
	     par_value_parse(&have, NULL, ctx, s, m->items[i]->scalar) == 0 &&
	     par_value_equal(s, &want, &have, true)))
		return 0;
	d = h->diag(
	    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &m->key_nodes[i]->loc,
	    "parameter \"%s\" is set to \"%s\", but the %s plugin needs \"%s\"",
	    name, m->items[i]->scalar, f->plugin, f->value);
	if (f->loc.file != NULL)
		h->diag_detail(ctx, d, "The need comes from %s:%u:%u.",
			       f->loc.file, f->loc.line, f->loc.col);
	h->diag_hint(ctx, d, "Remove the setting, or set it to \"%s\".",
		     f->value);
	return DBOPS_ERR_INVALID;
}

static void par_include(struct dbops_ctx *ctx, struct par_map *m,
			const struct dbops_fact *f, const char *name,
			const struct par_live *live)
{
	size_t i = par_map_find(m, name);
	const struct par_setting *s =
	    live != NULL ? par_live_find(live, name) : NULL;
	const char *base;

	if (i < m->len) {
		if (m->items[i]->kind != DBOPS_NODE_SCALAR)
			return;
		m->items[i] = par_scalar(
		    ctx,
		    par_list_with(ctx, name, m->items[i]->scalar, f->value),
		    &m->items[i]->loc);
		return;
	}
	/* what the server is configured with, the item added */
	base = s != NULL ? par_configured(live, s, NULL) : NULL;
	m->keys[m->len] = name;
	m->key_nodes[m->len] = par_scalar(ctx, name, &f->loc);
	m->items[m->len] =
	    par_scalar(ctx, par_list_with(ctx, name, base, f->value), &f->loc);
	m->len++;
}

int par_effective(const struct dbops_node **out, struct dbops_ctx *ctx,
		  const struct dbops_node *section, const struct par_live *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_fact *const *facts = NULL;
	size_t nfacts = 0, own;
	struct par_map m;
	struct dbops_node *map;
	int rc = 0;

	*out = section;
	if (!par_has_facts(ctx))
		return 0;
	h->facts(&facts, &nfacts, ctx, "parameters.");
	own = section != NULL && section->kind == DBOPS_NODE_MAP ? section->len
								 : 0;
	memset(&m, 0, sizeof(m));
	m.keys = h->alloc(ctx, (own + nfacts + 1) * sizeof(*m.keys));
	m.key_nodes = h->alloc(ctx, (own + nfacts + 1) * sizeof(*m.key_nodes));
	m.items = h->alloc(ctx, (own + nfacts + 1) * sizeof(*m.items));
	for (size_t i = 0; i < own; i++) {
		m.keys[i] = section->keys[i];
		m.key_nodes[i] = section->key_nodes[i];
		m.items[i] = section->items[i];
	}
	m.len = own;
	for (size_t k = 0; k < nfacts; k++) {
		const struct dbops_fact *f = facts[k];

		if (f->type != DBOPS_FACT_TEXT)
			continue;
		if (strncmp(f->name, PAR_REQUIRE, strlen(PAR_REQUIRE)) == 0) {
			if (par_require(ctx, &m, f,
					f->name + strlen(PAR_REQUIRE),
					live) != 0)
				rc = DBOPS_ERR_INVALID;
		} else if (strncmp(f->name, PAR_INCLUDE, strlen(PAR_INCLUDE)) ==
			   0) {
			par_include(ctx, &m, f, f->name + strlen(PAR_INCLUDE),
				    live);
		}
	}
	map = h->alloc(ctx, sizeof(*map));
	map->kind = DBOPS_NODE_MAP;
	map->loc = section != NULL ? section->loc : (struct dbops_loc){0};
	map->len = m.len;
	map->keys = m.keys;
	map->key_nodes = m.key_nodes;
	map->items = m.items;
	*out = map;
	return rc;
}

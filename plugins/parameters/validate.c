/* SPDX-License-Identifier: PostgreSQL */
/*
 * validate.c — the checks of the `parameters:` section that need no
 * server: a map of names to single values, names shaped like GUC names,
 * no name given twice in different case (PostgreSQL folds the case of
 * setting names). Whether a name exists, and whether its value fits the
 * setting's type and range, can only be known from pg_settings; diff.c
 * reports those.
 */
#include "parameters_int.h"

#include <ctype.h>
#include <string.h>

#define PAR_NAME_MAX 200

bool par_name_valid(const char *name)
{
	size_t len = strlen(name);
	bool start = true;

	if (len == 0 || len > PAR_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (start)
				return false;
			start = true;
			continue;
		}
		if (!(isalpha(c) || c == '_' ||
		      (!start && (isdigit(c) || c == '$'))))
			return false;
		start = false;
	}
	return !start;
}

static const char *par_kind_name(const struct dbops_node *node)
{
	switch (node->kind) {
	case DBOPS_NODE_MAP:
		return "a map";
	case DBOPS_NODE_SEQ:
		return "a list";
	case DBOPS_NODE_SCALAR:
		return "a string";
	case DBOPS_NODE_NULL:
		break;
	}
	return "null";
}

static int par_check_value(struct dbops_ctx *ctx, const char *name,
			   const struct dbops_node *value)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d;

	if (value->kind == DBOPS_NODE_SCALAR)
		return 0;
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &value->loc,
		    "parameter %s must be a scalar value, got %s",
		    plug_value(ctx, name), par_kind_name(value));
	if (value->kind == DBOPS_NODE_NULL)
		h->diag_hint(ctx, d, "Write '' for an empty string.");
	else if (value->kind == DBOPS_NODE_SEQ)
		h->diag_hint(
		    ctx, d,
		    "Write a list-valued setting as one string, such as \"a, b\".");
	return DBOPS_ERR_INVALID;
}

static int par_check_name(struct dbops_ctx *ctx, const char *name,
			  const struct dbops_node *key)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d;

	if (par_name_valid(name))
		return 0;
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &key->loc,
		    "invalid parameter name %s", plug_value(ctx, name));
	h->diag_hint(
	    ctx, d,
	    "A parameter name consists of letters, digits, underscores and dollar signs, does not start with a digit, and may have parts separated by dots, as in \"pg_stat_statements.max\".");
	return DBOPS_ERR_INVALID;
}

/* A second spelling of a name seen earlier in the map. */
static int par_check_duplicate(struct dbops_ctx *ctx,
			       const struct dbops_node *section, size_t i)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *name = section->keys[i];

	for (size_t j = 0; j < i; j++) {
		const struct dbops_loc *first = &section->key_nodes[j]->loc;
		struct dbops_diag *d;

		if (par_name_cmp(section->keys[j], name) != 0)
			continue;
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			    &section->key_nodes[i]->loc,
			    "parameter %s is set twice", plug_value(ctx, name));
		h->diag_detail(
		    ctx, d,
		    "It is also set as %s at line %u; parameter names are case-insensitive.",
		    plug_value(ctx, section->keys[j]), first->line);
		return DBOPS_ERR_INVALID;
	}
	return 0;
}

int par_validate(struct dbops_ctx *ctx, const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	int rc = 0;

	/* `parameters:` with every entry commented out */
	if (section == NULL || section->kind == DBOPS_NODE_NULL)
		return 0;
	if (section->kind != DBOPS_NODE_MAP) {
		struct dbops_diag *d;

		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			    &section->loc,
			    "the parameters section must be a map, got %s",
			    par_kind_name(section));
		h->diag_hint(
		    ctx, d,
		    "Write one \"name: value\" line per setting, such as \"work_mem: 16MB\".");
		return DBOPS_ERR_INVALID;
	}
	for (size_t i = 0; i < section->len; i++) {
		const char *name = section->keys[i];

		if (par_check_name(ctx, name, section->key_nodes[i]) != 0)
			rc = DBOPS_ERR_INVALID;
		else if (par_check_duplicate(ctx, section, i) != 0)
			rc = DBOPS_ERR_INVALID;
		if (par_check_value(ctx, name, section->items[i]) != 0)
			rc = DBOPS_ERR_INVALID;
	}
	return rc;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * plan.c — ordering and rendering of a plan; see plan.h. Renderings take
 * only what is in the plan, so they are deterministic; sensitive attribute
 * values never reach any of them.
 */
#include "plan.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

#define C_RESET	 "\033[0m"
#define C_BOLD	 "\033[1m"
#define C_GREEN	 "\033[32m"
#define C_YELLOW "\033[33m"
#define C_RED	 "\033[31m"
#define C_CYAN	 "\033[36m"

struct plan_change *plan_append(struct plan *p, struct arena *a,
				size_t plugin_index, const char *plugin,
				int phase, enum dbops_action action,
				const char *address)
{
	struct plan_change *c = arena_alloc(a, sizeof(*c));

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct plan_change **v = arena_alloc(a, cap * sizeof(*v));

		if (p->n > 0)
			memcpy(v, p->changes, p->n * sizeof(*v));
		p->changes = v;
		p->cap = cap;
	}
	c->plugin_index = plugin_index;
	c->change.plugin = plugin;
	c->change.phase = phase;
	c->change.action = action;
	c->change.address = arena_strdup(a, address);
	p->changes[p->n++] = c;
	return c;
}

void plan_attr(struct plan_change *c, struct arena *a, const char *name,
	       const char *before, const char *after, bool sensitive)
{
	size_t n = c->change.nattrs;
	struct dbops_attr *v = arena_alloc(a, (n + 1) * sizeof(*v));

	if (n > 0)
		memcpy(v, c->change.attrs, n * sizeof(*v));
	v[n].name = arena_strdup(a, name);
	v[n].before = arena_strdup(a, before);
	v[n].after = arena_strdup(a, after);
	v[n].sensitive = sensitive;
	c->change.attrs = v;
	c->change.nattrs = n + 1;
}

static int cmp_change(const void *x, const void *y)
{
	const struct plan_change *a = *(struct plan_change *const *)x;
	const struct plan_change *b = *(struct plan_change *const *)y;

	if (a->change.phase != b->change.phase)
		return a->change.phase < b->change.phase ? -1 : 1;
	if (a->plugin_index != b->plugin_index)
		return a->plugin_index < b->plugin_index ? -1 : 1;
	if (a->change.order != b->change.order)
		return a->change.order < b->change.order ? -1 : 1;
	return strcmp(a->change.address, b->change.address);
}

void plan_sort(struct plan *p)
{
	if (p->n > 1)
		qsort(p->changes, p->n, sizeof(*p->changes), cmp_change);
	for (size_t i = 0; i < p->n; i++)
		p->changes[i]->change.id = (unsigned)i + 1;
}

struct plan_counts plan_count(const struct plan *p)
{
	struct plan_counts k = {0, 0, 0};

	for (size_t i = 0; i < p->n; i++) {
		switch (p->changes[i]->change.action) {
		case DBOPS_ACTION_CREATE:
			k.add++;
			break;
		case DBOPS_ACTION_DELETE:
			k.destroy++;
			break;
		default:
			k.change++;
			break;
		}
	}
	return k;
}

const char *plan_action_name(enum dbops_action action)
{
	switch (action) {
	case DBOPS_ACTION_CREATE:
		return "create";
	case DBOPS_ACTION_UPDATE:
		return "update";
	case DBOPS_ACTION_DELETE:
		return "delete";
	case DBOPS_ACTION_RUN:
		return "run";
	case DBOPS_ACTION_RELOAD:
		return "reload";
	case DBOPS_ACTION_RESTART:
		return "restart";
	}
	return "update";
}

const char *plan_action_symbol(enum dbops_action action)
{
	switch (action) {
	case DBOPS_ACTION_CREATE:
		return "+";
	case DBOPS_ACTION_DELETE:
		return "-";
	case DBOPS_ACTION_RUN:
		return ">";
	default:
		return "~";
	}
}

static const char *verdict(enum dbops_action action)
{
	switch (action) {
	case DBOPS_ACTION_CREATE:
		return "will be created";
	case DBOPS_ACTION_DELETE:
		return "will be destroyed";
	case DBOPS_ACTION_RUN:
		return "will be run";
	case DBOPS_ACTION_RELOAD:
		return "will be reloaded";
	case DBOPS_ACTION_RESTART:
		return "will be restarted";
	default:
		return "will be updated in-place";
	}
}

static const char *symbol_color(const char *sym)
{
	switch (sym[0]) {
	case '+':
		return C_GREEN;
	case '-':
		return C_RED;
	case '>':
		return C_CYAN;
	default:
		return C_YELLOW;
	}
}

/* A value as a double-quoted string with JSON-style escapes. */
static void put_quoted(struct strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			strbuf_putc(sb, '\\');
			strbuf_putc(sb, (char)ch);
		} else if (ch == '\n') {
			strbuf_puts(sb, "\\n");
		} else if (ch == '\t') {
			strbuf_puts(sb, "\\t");
		} else if (ch < 0x20) {
			strbuf_printf(sb, "\\u%04x", ch);
		} else {
			strbuf_putc(sb, (char)ch);
		}
	}
	strbuf_putc(sb, '"');
}

static void put_flags(struct strbuf *sb, unsigned flags)
{
	if (flags & DBOPS_CHANGE_NEEDS_RESTART)
		strbuf_puts(sb, " [needs restart]");
	if (flags & DBOPS_CHANGE_DESTRUCTIVE)
		strbuf_puts(sb, " [destructive]");
	if (flags & DBOPS_CHANGE_IRREVERSIBLE)
		strbuf_puts(sb, " [irreversible]");
}

static void render_attr(struct strbuf *sb, const struct dbops_attr *at,
			int width, bool color)
{
	const char *sym;
	bool changed;

	if (at->before == NULL && at->after == NULL)
		sym = " ";
	else if (at->before == NULL && at->after != NULL)
		sym = "+";
	else if (at->before != NULL && at->after == NULL)
		sym = "-";
	else {
		changed =
		    at->sensitive || strcmp(at->before ? at->before : "",
					    at->after ? at->after : "") != 0;
		sym = changed ? "~" : " ";
	}
	strbuf_puts(sb, "      ");
	if (color && sym[0] != ' ')
		strbuf_printf(sb, "%s%s%s", symbol_color(sym), sym, C_RESET);
	else
		strbuf_puts(sb, sym);
	strbuf_printf(sb, " %-*s = ", width, at->name);
	if (at->sensitive) {
		if (sym[0] == '~')
			strbuf_puts(sb, "(sensitive value changed)");
		else
			strbuf_puts(sb, "(sensitive)");
	} else if (sym[0] == '+') {
		put_quoted(sb, at->after);
	} else if (sym[0] == '-') {
		put_quoted(sb, at->before);
		strbuf_puts(sb, " -> null");
	} else if (sym[0] == '~') {
		put_quoted(sb, at->before);
		strbuf_puts(sb, color ? " " C_YELLOW "->" C_RESET " " : " -> ");
		put_quoted(sb, at->after);
	} else if (at->after != NULL) {
		put_quoted(sb, at->after);
	} else {
		strbuf_puts(sb, "null");
	}
	strbuf_putc(sb, '\n');
}

static void render_change(struct strbuf *sb, const struct dbops_change *c,
			  bool color, bool show_sql)
{
	const char *sym = plan_action_symbol(c->action);
	int width = 0;

	strbuf_printf(sb, "  %s# %s %s", color ? C_BOLD : "", c->address,
		      verdict(c->action));
	put_flags(sb, c->flags);
	strbuf_printf(sb, "%s\n", color ? C_RESET : "");
	if (c->reason != NULL)
		strbuf_printf(sb, "  # (%s)\n", c->reason);
	if (color)
		strbuf_printf(sb, "  %s%s%s %s {\n", symbol_color(sym), sym,
			      C_RESET, c->address);
	else
		strbuf_printf(sb, "  %s %s {\n", sym, c->address);
	for (size_t i = 0; i < c->nattrs; i++) {
		int w = (int)strlen(c->attrs[i].name);

		width = w > width ? w : width;
	}
	for (size_t i = 0; i < c->nattrs; i++)
		render_attr(sb, &c->attrs[i], width, color);
	if (c->sql != NULL) {
		const char *s = c->sql;
		int shown = 0, more = 0;

		/* one comment line per SQL line; a long script is cut short
		 * unless --show-sql asks for all of it */
		while (*s) {
			const char *nl = strchr(s, '\n');
			size_t len = nl ? (size_t)(nl - s) : strlen(s);

			if (show_sql || shown < PLAN_SQL_LINES) {
				strbuf_puts(sb, "        # ");
				strbuf_add(sb, s, len);
				strbuf_putc(sb, '\n');
				shown++;
			} else {
				more++;
			}
			s += len + (nl ? 1 : 0);
		}
		if (more > 0)
			strbuf_printf(
			    sb,
			    "        # ... %d more line%s (--show-sql shows all)\n",
			    more, more == 1 ? "" : "s");
	}
	strbuf_puts(sb, "    }\n\n");
}

static void render_revision(struct strbuf *sb, const struct plan *p, bool color)
{
	const struct source_revision *r = p->revision;

	strbuf_printf(
	    sb, "%sdbops plan for cluster \"%s\"%s\n", color ? C_BOLD : "",
	    p->cluster ? p->cluster : "(unnamed)", color ? C_RESET : "");
	if (r == NULL)
		return;
	if (r->commit != NULL) {
		strbuf_printf(sb, "  revision: %.12s (%s)", r->commit,
			      r->ref ? r->ref : "HEAD");
		if (r->subject != NULL)
			strbuf_printf(sb, " \"%s\"", r->subject);
		strbuf_putc(sb, '\n');
		strbuf_printf(sb, "  source:   %s, %s\n", r->origin,
			      p->spec_path ? p->spec_path : "cluster.yaml");
	} else {
		strbuf_printf(
		    sb, "  source:   directory %s, %s (uncommitted)\n",
		    r->origin, p->spec_path ? p->spec_path : "cluster.yaml");
	}
}

static void render_diags(struct strbuf *sb, const struct plan *p, bool color)
{
	const struct dbops_diag *d;
	bool any = false;

	if (p->diags == NULL)
		return;
	for (d = p->diags->head; d != NULL; d = d->next) {
		if (d->severity == DBOPS_SEV_ERROR)
			continue;
		if (!any)
			strbuf_printf(sb, "%sWarnings:%s\n\n",
				      color ? C_BOLD C_YELLOW : "",
				      color ? C_RESET : "");
		any = true;
		strbuf_puts(sb, "  ");
		if (d->loc.file != NULL)
			strbuf_printf(sb, "%s:%u:%u: ", d->loc.file,
				      d->loc.line, d->loc.col);
		strbuf_printf(sb, "%s:  %s\n", diag_severity_name(d->severity),
			      d->message);
		if (d->detail != NULL)
			strbuf_printf(sb, "  DETAIL:  %s\n", d->detail);
		if (d->hint != NULL)
			strbuf_printf(sb, "  HINT:  %s\n", d->hint);
	}
	if (any)
		strbuf_putc(sb, '\n');
}

void plan_render_text(struct strbuf *sb, const struct plan *p,
		      const struct plan_render_opts *o)
{
	bool color = o != NULL && o->color;
	struct plan_counts k = plan_count(p);
	static const char *const legend[][2] = {
	    {"+", "create"},
	    {"~", "update in-place"},
	    {"-", "destroy"},
	    {">", "run"},
	};

	render_revision(sb, p, color);
	strbuf_putc(sb, '\n');
	if (p->n == 0) {
		render_diags(sb, p, color);
		strbuf_printf(
		    sb,
		    "%sNo changes.%s The cluster matches the desired state.\n",
		    color ? C_BOLD C_GREEN : "", color ? C_RESET : "");
		return;
	}
	strbuf_puts(sb, "Actions are shown with the following symbols:\n");
	for (size_t i = 0; i < sizeof(legend) / sizeof(legend[0]); i++) {
		bool used = false;

		for (size_t j = 0; j < p->n && !used; j++)
			used = strcmp(plan_action_symbol(
					  p->changes[j]->change.action),
				      legend[i][0]) == 0;
		if (!used)
			continue;
		if (color)
			strbuf_printf(sb, "  %s%s%s %s\n",
				      symbol_color(legend[i][0]), legend[i][0],
				      C_RESET, legend[i][1]);
		else
			strbuf_printf(sb, "  %s %s\n", legend[i][0],
				      legend[i][1]);
	}
	strbuf_puts(sb, "\ndbops will perform the following actions:\n\n");
	for (size_t i = 0; i < p->n; i++)
		render_change(sb, &p->changes[i]->change, color,
			      o != NULL && o->show_sql);
	render_diags(sb, p, color);
	strbuf_printf(sb, "%sPlan:%s %d to add, %d to change, %d to destroy.\n",
		      color ? C_BOLD : "", color ? C_RESET : "", k.add,
		      k.change, k.destroy);
	if (o != NULL && o->saved_to != NULL)
		strbuf_printf(
		    sb,
		    "\nSaved the plan to: %s\n\nTo apply exactly this plan, run:\n    dbops apply %s\n",
		    o->saved_to, o->saved_to);
}

/* Text inside a markdown code span: backticks and pipes made harmless. */
static void put_md_code(struct strbuf *sb, const char *s)
{
	strbuf_putc(sb, '`');
	for (; *s; s++) {
		if (*s == '`')
			strbuf_putc(sb, '\'');
		else if (*s == '|')
			strbuf_puts(sb, "\\|");
		else if (*s == '\n')
			strbuf_putc(sb, ' ');
		else
			strbuf_putc(sb, *s);
	}
	strbuf_putc(sb, '`');
}

static void md_change_cell(struct strbuf *sb, const struct dbops_change *c)
{
	for (size_t i = 0; i < c->nattrs; i++) {
		const struct dbops_attr *at = &c->attrs[i];

		if (i > 0)
			strbuf_puts(sb, "<br>");
		strbuf_printf(sb, "%s: ", at->name);
		if (at->sensitive) {
			strbuf_puts(sb, "(sensitive)");
			continue;
		}
		put_md_code(sb, at->before ? at->before : "(none)");
		strbuf_puts(sb, " → ");
		put_md_code(sb, at->after ? at->after : "(none)");
	}
	if (c->flags & DBOPS_CHANGE_NEEDS_RESTART)
		strbuf_puts(sb, " **needs restart**");
	if (c->flags & DBOPS_CHANGE_DESTRUCTIVE)
		strbuf_puts(sb, " **destructive**");
}

void plan_render_markdown(struct strbuf *sb, const struct plan *p)
{
	struct plan_counts k = plan_count(p);
	const struct source_revision *r = p->revision;
	struct plan_render_opts o = {false, NULL, false};
	struct strbuf text;

	strbuf_printf(sb, "#### dbops plan: cluster `%s`\n\n",
		      p->cluster ? p->cluster : "(unnamed)");
	if (r != NULL && r->commit != NULL) {
		strbuf_printf(sb, "Revision `%.12s` (`%s`)", r->commit,
			      r->ref ? r->ref : "HEAD");
		if (r->subject != NULL)
			strbuf_printf(sb, ": %s", r->subject);
		strbuf_puts(sb, "\n\n");
	} else if (r != NULL) {
		strbuf_printf(sb, "Directory `%s` (uncommitted)\n\n",
			      r->origin);
	}
	if (p->n == 0) {
		strbuf_puts(
		    sb,
		    "**No changes.** The cluster matches the desired state.\n");
	} else {
		if (k.destroy > 0)
			strbuf_printf(
			    sb,
			    "> [!WARNING]\n> This plan destroys %d object%s.\n\n",
			    k.destroy, k.destroy == 1 ? "" : "s");
		strbuf_printf(
		    sb, "**Plan: %d to add, %d to change, %d to destroy.**\n\n",
		    k.add, k.change, k.destroy);
		strbuf_puts(
		    sb, "| | Address | Action | Change |\n|:-:|---|---|---|\n");
		for (size_t i = 0; i < p->n; i++) {
			const struct dbops_change *c = &p->changes[i]->change;

			strbuf_printf(sb, "| `%s` | ",
				      plan_action_symbol(c->action));
			put_md_code(sb, c->address);
			strbuf_printf(sb, " | %s | ",
				      plan_action_name(c->action));
			md_change_cell(sb, c);
			strbuf_puts(sb, " |\n");
		}
		strbuf_putc(sb, '\n');
	}
	if (p->diags != NULL && p->diags->nwarnings > 0) {
		strbuf_puts(sb, "\n**Warnings**\n\n");
		for (const struct dbops_diag *d = p->diags->head; d != NULL;
		     d = d->next) {
			if (d->severity == DBOPS_SEV_ERROR)
				continue;
			strbuf_printf(sb, "- %s", d->message);
			if (d->detail != NULL)
				strbuf_printf(sb, " — %s", d->detail);
			strbuf_putc(sb, '\n');
		}
	}
	if (p->n > 0) {
		strbuf_init(&text);
		plan_render_text(&text, p, &o);
		strbuf_puts(
		    sb, "\n<details><summary>Full plan</summary>\n\n```diff\n");
		strbuf_puts(sb, text.buf);
		strbuf_puts(sb, "```\n\n</details>\n");
		strbuf_dispose(&text);
	}
}

static json_object *jstr(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static json_object *change_json(const struct dbops_change *c)
{
	json_object *o = json_object_new_object();
	json_object *actions = json_object_new_array();
	json_object *before = json_object_new_object();
	json_object *after = json_object_new_object();
	json_object *sens = json_object_new_array();
	json_object *flags = json_object_new_array();

	json_object_object_add(o, "address", jstr(c->address));
	json_object_object_add(o, "plugin", jstr(c->plugin));
	json_object_object_add(o, "action", jstr(plan_action_name(c->action)));
	json_object_array_add(actions, jstr(plan_action_name(c->action)));
	json_object_object_add(o, "actions", actions);
	json_object_object_add(o, "reason", jstr(c->reason));
	for (size_t i = 0; i < c->nattrs; i++) {
		const struct dbops_attr *at = &c->attrs[i];

		if (at->sensitive) {
			json_object_array_add(sens, jstr(at->name));
			json_object_object_add(before, at->name, NULL);
			json_object_object_add(after, at->name, NULL);
			continue;
		}
		json_object_object_add(before, at->name, jstr(at->before));
		json_object_object_add(after, at->name, jstr(at->after));
	}
	json_object_object_add(o, "before", before);
	json_object_object_add(o, "after", after);
	json_object_object_add(o, "sensitive_attributes", sens);
	json_object_object_add(o, "sql", jstr(c->sql));
	if (c->flags & DBOPS_CHANGE_DESTRUCTIVE)
		json_object_array_add(flags, jstr("destructive"));
	if (c->flags & DBOPS_CHANGE_NONTX)
		json_object_array_add(flags, jstr("non_transactional"));
	if (c->flags & DBOPS_CHANGE_NEEDS_RESTART)
		json_object_array_add(flags, jstr("needs_restart"));
	if (c->flags & DBOPS_CHANGE_IRREVERSIBLE)
		json_object_array_add(flags, jstr("irreversible"));
	json_object_object_add(o, "flags", flags);
	if (c->loc.file != NULL) {
		json_object *loc = json_object_new_object();

		json_object_object_add(loc, "file", jstr(c->loc.file));
		json_object_object_add(loc, "line",
				       json_object_new_int((int)c->loc.line));
		json_object_object_add(loc, "column",
				       json_object_new_int((int)c->loc.col));
		json_object_object_add(o, "location", loc);
	} else {
		json_object_object_add(o, "location", NULL);
	}
	return o;
}

static json_object *changes_json(const struct plan *p)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->n; i++)
		json_object_array_add(arr, change_json(&p->changes[i]->change));
	return arr;
}

char *plan_changes_json(const struct plan *p, struct arena *a)
{
	json_object *arr = changes_json(p);
	char *s = arena_strdup(
	    a, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));

	json_object_put(arr);
	return s;
}

static json_object *diags_json(const struct dbops_diag_list *list)
{
	json_object *arr = json_object_new_array();

	if (list == NULL)
		return arr;
	for (const struct dbops_diag *d = list->head; d != NULL; d = d->next) {
		json_object *o = json_object_new_object();
		const char *sev = d->severity == DBOPS_SEV_ERROR     ? "error"
				  : d->severity == DBOPS_SEV_WARNING ? "warning"
								     : "notice";

		json_object_object_add(o, "severity", jstr(sev));
		json_object_object_add(o, "message", jstr(d->message));
		json_object_object_add(o, "detail", jstr(d->detail));
		json_object_object_add(o, "hint", jstr(d->hint));
		if (d->loc.file != NULL) {
			json_object *loc = json_object_new_object();

			json_object_object_add(loc, "file", jstr(d->loc.file));
			json_object_object_add(
			    loc, "line", json_object_new_int((int)d->loc.line));
			json_object_object_add(
			    loc, "column",
			    json_object_new_int((int)d->loc.col));
			json_object_object_add(o, "location", loc);
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

void plan_render_json(struct strbuf *sb, const struct plan *p)
{
	json_object *o = json_object_new_object();
	json_object *rev = json_object_new_object();
	json_object *sum = json_object_new_object();
	struct plan_counts k = plan_count(p);
	const struct source_revision *r = p->revision;

	json_object_object_add(o, "format_version", jstr(PLAN_FORMAT_VERSION));
	json_object_object_add(o, "dbops_version", jstr(DBOPS_VERSION));
	json_object_object_add(o, "cluster", jstr(p->cluster));
	if (r != NULL) {
		json_object_object_add(rev, "kind", jstr(r->kind));
		json_object_object_add(rev, "origin", jstr(r->origin));
		json_object_object_add(rev, "commit", jstr(r->commit));
		json_object_object_add(rev, "ref", jstr(r->ref));
		json_object_object_add(rev, "subject", jstr(r->subject));
		json_object_object_add(rev, "author", jstr(r->author));
	}
	json_object_object_add(rev, "spec_file", jstr(p->spec_path));
	json_object_object_add(rev, "fingerprint", jstr(p->source_fingerprint));
	json_object_object_add(o, "revision", rev);
	json_object_object_add(o, "live_fingerprint",
			       jstr(p->live_fingerprint));
	json_object_object_add(o, "changes", changes_json(p));
	json_object_object_add(o, "diagnostics", diags_json(p->diags));
	json_object_object_add(sum, "add", json_object_new_int(k.add));
	json_object_object_add(sum, "change", json_object_new_int(k.change));
	json_object_object_add(sum, "destroy", json_object_new_int(k.destroy));
	json_object_object_add(o, "summary", sum);
	json_object_object_add(o, "has_changes",
			       json_object_new_boolean(p->n > 0));
	strbuf_puts(sb,
		    json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			       JSON_C_TO_STRING_NOSLASHESCAPE));
	strbuf_putc(sb, '\n');
	json_object_put(o);
}

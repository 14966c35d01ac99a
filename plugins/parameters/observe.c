/* SPDX-License-Identifier: PostgreSQL */
/*
 * observe.c — the live side of the "parameters" plugin: the rows of
 * pg_settings for the names the spec sets, the last line naming each of
 * them in the configuration files (pg_file_settings), and the rule that
 * picks the configured value of a setting out of them.
 *
 * It only reads, and never issues a query that can fail for lack of
 * privilege: observe runs inside a read-only transaction shared with the
 * other plugins, which a failed query would abort. pg_file_settings is
 * read only when has_table_privilege and has_function_privilege say so
 * (membership in pg_read_all_settings does not grant it). Rows are
 * restricted to the names of the spec, so that the observed data (which a
 * saved plan is checked against) changes only when a setting the spec
 * manages changes; every name is read only when one is unknown, for the
 * "did you mean" hint.
 */
#include "parameters_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char par_privileges_sql[] =
    "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_file_settings', 'SELECT') AND pg_catalog.has_function_privilege('pg_catalog.pg_show_all_file_settings()', 'EXECUTE') AS read_file_settings, pg_catalog.pg_has_role('pg_read_all_settings', 'MEMBER') AS read_all_settings";

static const char par_settings_sql[] =
    "SELECT name, setting, unit, vartype, context, min_val, max_val, enumvals, pending_restart, boot_val, source FROM pg_catalog.pg_settings WHERE pg_catalog.lower(name) = ANY ($1::pg_catalog.text[]) ORDER BY name";

static const char par_names_sql[] =
    "SELECT name FROM pg_catalog.pg_settings ORDER BY name";

static const char par_file_settings_sql[] =
    "SELECT name, setting, applied, error, seqno FROM pg_catalog.pg_file_settings WHERE pg_catalog.lower(name) = ANY ($1::pg_catalog.text[]) ORDER BY seqno";

int par_name_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = tolower((unsigned char)*a);
		int cb = tolower((unsigned char)*b);

		if (ca != cb || ca == '\0')
			return ca - cb;
	}
}

static int par_setting_cmp(const void *x, const void *y)
{
	const struct par_setting *a = x, *b = y;

	return par_name_cmp(a->name, b->name);
}

static int par_key_cmp(const void *key, const void *elem)
{
	const struct par_setting *s = elem;

	return par_name_cmp(key, s->name);
}

static struct par_setting *par_find(const struct par_live *live,
				    const char *name)
{
	if (live == NULL || live->n == 0)
		return NULL;
	return bsearch(name, live->settings, live->n, sizeof(*live->settings),
		       par_key_cmp);
}

const struct par_setting *par_live_find(const struct par_live *live,
					const char *name)
{
	return par_find(live, name);
}

static bool par_true(const char *v)
{
	return v != NULL && (strcmp(v, "t") == 0 || strcmp(v, "true") == 0);
}

static enum par_type par_type_of(const char *vartype)
{
	if (vartype == NULL)
		return PAR_STRING;
	if (strcmp(vartype, "bool") == 0)
		return PAR_BOOL;
	if (strcmp(vartype, "integer") == 0)
		return PAR_INTEGER;
	if (strcmp(vartype, "real") == 0)
		return PAR_REAL;
	if (strcmp(vartype, "enum") == 0)
		return PAR_ENUM;
	return PAR_STRING;
}

/* The elements of a one-dimensional text[] in its output form
 * ({a,"b c","d\"e"}). Returns the count, or 0 for NULL or garbage. */
static size_t par_array_parse(const char *const **out, struct dbops_ctx *ctx,
			      const char *text)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t cap = 1, n = 0;
	const char **items;
	const char *p = text;

	*out = NULL;
	if (text == NULL || *p != '{')
		return 0;
	for (const char *c = text; *c; c++)
		cap += *c == ',';
	items = h->alloc(ctx, cap * sizeof(*items));
	p++;
	while (*p != '\0' && *p != '}' && n < cap) {
		char *item = h->alloc(ctx, strlen(p) + 1);
		size_t len = 0;

		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				item[len++] = *p;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p != '\0' && *p != ',' && *p != '}')
				item[len++] = *p++;
		}
		items[n++] = item;
		if (*p == ',')
			p++;
	}
	*out = items;
	return n;
}

/* One element of the $1 text[] parameter: names are checked by
 * par_name_valid, so quoting needs no escapes. */
static const char *par_names_array(struct dbops_ctx *ctx,
				   const char *const *names, size_t n)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *arr = "{";

	for (size_t i = 0; i < n; i++) {
		char *lower = h->strdup(ctx, names[i]);

		for (char *c = lower; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		arr = h->printf(ctx, "%s%s\"%s\"", arr, i ? "," : "", lower);
	}
	return h->printf(ctx, "%s}", arr);
}

static void par_row_read(struct par_setting *s, struct dbops_ctx *ctx,
			 const struct dbops_rows *rows, int r)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *unit = h->rows_get(rows, r, "unit");

	s->name = h->rows_get(rows, r, "name");
	s->setting = h->rows_get(rows, r, "setting");
	s->unit = unit != NULL && *unit != '\0' ? unit : NULL;
	s->type = par_type_of(h->rows_get(rows, r, "vartype"));
	s->context = h->rows_get(rows, r, "context");
	s->min_val = h->rows_get(rows, r, "min_val");
	s->max_val = h->rows_get(rows, r, "max_val");
	s->nenumvals = par_array_parse(&s->enumvals, ctx,
				       h->rows_get(rows, r, "enumvals"));
	s->pending_restart = par_true(h->rows_get(rows, r, "pending_restart"));
	s->boot_val = h->rows_get(rows, r, "boot_val");
	s->source = h->rows_get(rows, r, "source");
	if (s->setting == NULL)
		s->setting = "";
	if (s->context == NULL)
		s->context = "";
	if (s->source == NULL)
		s->source = "";
}

static int par_load_settings(struct par_live *live, struct dbops_ctx *ctx,
			     const char *array)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *params[1] = {array};
	int err, n = 0;

	err = h->query(&rows, ctx, par_settings_sql, 1, params);
	if (err != 0)
		return err;
	live->settings =
	    h->alloc(ctx, (size_t)(rows->nrows + 1) * sizeof(*live->settings));
	for (int r = 0; r < rows->nrows; r++) {
		par_row_read(&live->settings[n], ctx, rows, r);
		if (live->settings[n].name != NULL)
			n++;
	}
	live->n = (size_t)n;
	qsort(live->settings, live->n, sizeof(*live->settings),
	      par_setting_cmp);
	return 0;
}

/* Every name of pg_settings, for "did you mean". */
static int par_load_names(struct par_live *live, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char **names;
	size_t n = 0;
	int err;

	err = h->query(&rows, ctx, par_names_sql, 0, NULL);
	if (err != 0)
		return err;
	names = h->alloc(ctx, (size_t)(rows->nrows + 1) * sizeof(*names));
	for (int r = 0; r < rows->nrows; r++) {
		const char *name = h->rows_get(rows, r, "name");

		if (name != NULL)
			names[n++] = name;
	}
	live->all_names = names;
	live->nall_names = n;
	return 0;
}

/* The last line of the configuration files naming each setting wins;
 * rows come in seqno order. */
static int par_load_file_settings(struct par_live *live, struct dbops_ctx *ctx,
				  const char *array)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *params[1] = {array};
	int err;

	err = h->query(&rows, ctx, par_file_settings_sql, 1, params);
	if (err != 0)
		return err;
	for (int r = 0; r < rows->nrows; r++) {
		const char *name = h->rows_get(rows, r, "name");
		struct par_setting *s;

		if (name == NULL)
			continue;
		s = par_find(live, name);
		if (s == NULL)
			continue;
		s->file_value = h->rows_get(rows, r, "setting");
		if (s->file_value == NULL)
			s->file_value = "";
		s->file_applied = par_true(h->rows_get(rows, r, "applied"));
		s->file_error = h->rows_get(rows, r, "error");
	}
	return 0;
}

static int par_load_privileges(struct par_live *live, struct dbops_ctx *ctx)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	int err;

	err = h->query(&rows, ctx, par_privileges_sql, 0, NULL);
	if (err != 0)
		return err;
	if (rows->nrows > 0) {
		live->file_settings_read =
		    par_true(h->rows_get(rows, 0, "read_file_settings"));
		live->read_all_settings =
		    par_true(h->rows_get(rows, 0, "read_all_settings"));
	}
	return 0;
}

int par_live_load(struct par_live **out, struct dbops_ctx *ctx,
		  const char *const *names, size_t nnames)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct par_live *live = h->alloc(ctx, sizeof(*live));
	const char **valid = h->alloc(ctx, (nnames + 1) * sizeof(*valid));
	const char *array;
	size_t nvalid = 0;
	int err;

	*out = live;
	for (size_t i = 0; i < nnames; i++)
		if (names[i] != NULL && par_name_valid(names[i]))
			valid[nvalid++] = names[i];
	if (nvalid == 0)
		return 0;
	array = par_names_array(ctx, valid, nvalid);
	err = par_load_privileges(live, ctx);
	if (err == 0)
		err = par_load_settings(live, ctx, array);
	if (err == 0 && live->file_settings_read)
		err = par_load_file_settings(live, ctx, array);
	if (err != 0)
		return err;
	for (size_t i = 0; i < nvalid; i++)
		if (par_live_find(live, valid[i]) == NULL)
			return par_load_names(live, ctx);
	return 0;
}

bool par_source_is_session(const char *source)
{
	static const char *const sources[] = {
	    "global", "database",    "user", "database user",
	    "client", "interactive", "test", "session",
	};

	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (source != NULL && strcmp(source, sources[i]) == 0)
			return true;
	return false;
}

bool par_not_alterable(const struct par_setting *s)
{
	/* ALTER SYSTEM refuses these although their context is not
	 * internal (GUC_DISALLOW_IN_FILE, GUC_DISALLOW_IN_AUTO_FILE) */
	static const char *const refused[] = {
	    "config_file",
	    "data_directory",
	    "transaction_deferrable",
	    "transaction_isolation",
	    "transaction_read_only",
	};

	if (strcmp(s->context, "internal") == 0)
		return true;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (par_name_cmp(s->name, refused[i]) == 0)
			return true;
	return false;
}

/*
 * What the server runs after the next reload or restart. The last line of
 * the configuration files, when there is one, is what ALTER SYSTEM
 * controls: it is right both while a restart is pending and in the moment
 * between ALTER SYSTEM and the reload. Without a line, the setting runs
 * at its built-in default — unless the running value comes from the
 * command line. pg_settings.setting cannot be trusted for that when it
 * was set by the role or the database, nor when its default was tuned at
 * start (wal_buffers -1 runs as 1MB, say). When pg_file_settings cannot
 * be read, the running value is the best guess unless it is the default.
 */
const char *par_configured(const struct par_live *live,
			   const struct par_setting *s, enum par_origin *origin)
{
	enum par_origin o = PAR_ORIGIN_RUNNING;
	const char *value = s->setting;

	if (s->file_value != NULL) {
		o = PAR_ORIGIN_FILE;
		value = s->file_value;
	} else if (s->boot_val != NULL &&
		   (strcmp(s->source, "default") == 0 ||
		    (live->file_settings_read &&
		     (s->pending_restart ||
		      par_source_is_session(s->source))))) {
		o = PAR_ORIGIN_DEFAULT;
		value = s->boot_val;
	}
	if (origin != NULL)
		*origin = o;
	return value;
}

int par_observe(void **live_out, struct dbops_ctx *ctx,
		const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct par_live *live = NULL;
	const char **names;
	size_t n = 0;
	bool dotted = false;
	int err;

	/* the spec's settings and those other plugins need (needs.c) */
	par_effective(&section, ctx, section, NULL);
	if (section == NULL || section->kind != DBOPS_NODE_MAP) {
		err = par_live_load(&live, ctx, NULL, 0);
		*live_out = live;
		return err;
	}
	names = h->alloc(ctx, (section->len + 1) * sizeof(*names));
	for (size_t i = 0; i < section->len; i++) {
		names[n++] = section->keys[i];
		dotted |= strchr(section->keys[i], '.') != NULL;
	}
	/* diff tells an extension's setting whose library waits for a
	 * restart from a misspelt one by the configured libraries */
	if (dotted)
		names[n++] = "shared_preload_libraries";
	err = par_live_load(&live, ctx, names, n);
	*live_out = live;
	if (err == 0 && par_ptn_active(ctx))
		err = par_ptn_observe(live, ctx);
	return err;
}

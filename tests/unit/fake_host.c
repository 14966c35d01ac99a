/* SPDX-License-Identifier: PostgreSQL */
/*
 * fake_host.c — the host table of plugin unit tests (see fake_host.h).
 *
 * It behaves like the controller's host where a plugin can tell: memory
 * and diagnostics in an arena, spec getters from controller/spec.c,
 * quoting by PostgreSQL's rules, changes appended in order with their
 * attributes. Queries are answered from canned results chosen by SQL
 * substring, and every statement is recorded for assertions. It does not
 * check the pass stage (diff-only change_new, apply-only secret_read):
 * tests call the callbacks directly.
 */
#include "fake_host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fileio.h"
#include "secret.h"
#include "spec.h"

struct fake_result {
	const char *substring;
	struct dbops_rows rows;
	bool error;
	char sqlstate[6];
	const char *message;
	int remaining; /* -1: unlimited */
	struct fake_result *next;
};

/* The dbops_change comes first: change_attr gets it back by a cast, as
 * the controller's host does with its plan_change. */
struct fake_change {
	struct dbops_change change;
	struct dbops_attr *attrs;
	size_t cap;
};

struct fake_file {
	const char *path;
	const char *data;
	const char *id;	     /* source_id, or NULL */
	const char *base_id; /* source_base_id, or NULL: absent at the base */
	struct fake_file *next;
	size_t len;
};

static struct fake_ctx *fake_of(struct dbops_ctx *ctx)
{
	return (struct fake_ctx *)(void *)ctx;
}

/* ---- memory */

static void *fh_alloc(struct dbops_ctx *ctx, size_t size)
{
	return arena_alloc(fake_of(ctx)->arena, size);
}

static char *fh_strdup(struct dbops_ctx *ctx, const char *s)
{
	return arena_strdup(fake_of(ctx)->arena, s);
}

static char *fh_printf(struct dbops_ctx *ctx, const char *fmt, ...)
    DBOPS_PRINTF(2, 3);
static char *fh_printf(struct dbops_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = arena_vprintf(fake_of(ctx)->arena, fmt, ap);
	va_end(ap);
	return s;
}

/* ---- diagnostics and logging */

static struct dbops_diag *fh_diag(struct dbops_ctx *ctx,
				  enum dbops_severity sev, int code,
				  const struct dbops_loc *loc, const char *fmt,
				  ...) DBOPS_PRINTF(5, 6);
static struct dbops_diag *fh_diag(struct dbops_ctx *ctx,
				  enum dbops_severity sev, int code,
				  const struct dbops_loc *loc, const char *fmt,
				  ...)
{
	struct fake_ctx *fc = fake_of(ctx);
	struct dbops_diag *d;
	va_list ap;

	va_start(ap, fmt);
	d = diag_vadd(&fc->diags, fc->arena, sev, code, loc, fmt, ap);
	va_end(ap);
	return d;
}

static void fh_diag_detail(struct dbops_ctx *ctx, struct dbops_diag *d,
			   const char *fmt, ...) DBOPS_PRINTF(3, 4);
static void fh_diag_detail(struct dbops_ctx *ctx, struct dbops_diag *d,
			   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	d->detail = arena_vprintf(fake_of(ctx)->arena, fmt, ap);
	va_end(ap);
}

static void fh_diag_hint(struct dbops_ctx *ctx, struct dbops_diag *d,
			 const char *fmt, ...) DBOPS_PRINTF(3, 4);
static void fh_diag_hint(struct dbops_ctx *ctx, struct dbops_diag *d,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	d->hint = arena_vprintf(fake_of(ctx)->arena, fmt, ap);
	va_end(ap);
}

static const char *fh_level_name(enum dbops_log_level level)
{
	switch (level) {
	case DBOPS_LOG_ERROR:
		return "ERROR";
	case DBOPS_LOG_WARNING:
		return "WARNING";
	case DBOPS_LOG_NOTICE:
		return "NOTICE";
	case DBOPS_LOG_INFO:
		return "INFO";
	case DBOPS_LOG_DEBUG:
		return "DEBUG";
	}
	return "LOG";
}

static void fh_log(struct dbops_ctx *ctx, enum dbops_log_level level,
		   const char *fmt, ...) DBOPS_PRINTF(3, 4);
static void fh_log(struct dbops_ctx *ctx, enum dbops_log_level level,
		   const char *fmt, ...)
{
	struct fake_ctx *fc = fake_of(ctx);
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = arena_vprintf(fc->arena, fmt, ap);
	va_end(ap);
	fc->log = arena_printf(fc->arena, "%s%s: %s\n", fc->log ? fc->log : "",
			       fh_level_name(level), line);
}

/* ---- the spec tree, through controller/spec.c */

static const struct dbops_node *fh_spec_get(const struct dbops_node *map,
					    const char *key)
{
	return spec_get(map, key);
}

static int fh_spec_check_keys(struct dbops_ctx *ctx,
			      const struct dbops_node *map, const char *what,
			      const char *const *allowed)
{
	struct fake_ctx *fc = fake_of(ctx);

	return spec_check_keys(&fc->diags, fc->arena, map, what, allowed);
}

static int fh_spec_string(const char **out, struct dbops_ctx *ctx,
			  const struct dbops_node *node, const char *what)
{
	struct fake_ctx *fc = fake_of(ctx);

	return spec_string(out, &fc->diags, fc->arena, node, what);
}

static int fh_spec_bool(bool *out, struct dbops_ctx *ctx,
			const struct dbops_node *node, const char *what)
{
	struct fake_ctx *fc = fake_of(ctx);

	return spec_bool(out, &fc->diags, fc->arena, node, what);
}

static int fh_spec_int(int64_t *out, struct dbops_ctx *ctx,
		       const struct dbops_node *node, const char *what,
		       int64_t min, int64_t max)
{
	struct fake_ctx *fc = fake_of(ctx);

	return spec_int(out, &fc->diags, fc->arena, node, what, min, max);
}

static int fh_spec_secret(struct dbops_secret_ref *out, struct dbops_ctx *ctx,
			  const struct dbops_node *node, const char *what)
{
	struct fake_ctx *fc = fake_of(ctx);

	return spec_secret(out, &fc->diags, fc->arena, node, what);
}

/* {env: NAME} from the environment, {file: PATH} from the file system,
 * as the controller reads them. */
static int fh_secret_read(const char **out, struct dbops_ctx *ctx,
			  const struct dbops_secret_ref *ref)
{
	struct fake_ctx *fc = fake_of(ctx);

	return secret_read(out, fc->arena, &fc->diags, ref);
}

static int fh_secret_try_read(const char **out, struct dbops_ctx *ctx,
			      const struct dbops_secret_ref *ref)
{
	struct fake_ctx *fc = fake_of(ctx);
	struct dbops_diag_list quiet = {0};

	return secret_read(out, fc->arena, &quiet, ref) == 0
		   ? 0
		   : DBOPS_ERR_NOTFOUND;
}

static int fh_source_read(const char **data_out, size_t *len_out,
			  struct dbops_ctx *ctx, const char *path)
{
	struct fake_ctx *fc = fake_of(ctx);

	for (struct fake_file *f = fc->files; f != NULL; f = f->next)
		if (strcmp(f->path, path) == 0) {
			*data_out = f->data;
			*len_out = f->len;
			return 0;
		}
	diag_add(&fc->diags, fc->arena, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND,
		 NULL, "could not read \"%s\": no such file in the source",
		 path);
	return DBOPS_ERR_NOTFOUND;
}

/* ---- planning */

static struct dbops_change *fh_change_new(struct dbops_ctx *ctx,
					  enum dbops_action action,
					  const char *address)
{
	struct fake_ctx *fc = fake_of(ctx);
	struct fake_change *c;

	if (fake_host_change(fc, address) != NULL)
		diag_add(&fc->diags, fc->arena, DBOPS_SEV_ERROR,
			 DBOPS_ERR_GENERIC, NULL,
			 "change \"%s\" is planned twice", address);
	if (fc->nchanges == fc->changes_cap) {
		size_t cap = fc->changes_cap ? 2 * fc->changes_cap : 8;
		struct fake_change **grown =
		    arena_alloc(fc->arena, cap * sizeof(*grown));

		if (fc->nchanges > 0)
			memcpy(grown, fc->changes,
			       fc->nchanges * sizeof(*grown));
		fc->changes = grown;
		fc->changes_cap = cap;
	}
	c = arena_alloc(fc->arena, sizeof(*c));
	c->change.plugin = fc->plugin;
	c->change.address = arena_strdup(fc->arena, address);
	c->change.action = action;
	c->change.phase = fc->phase;
	c->change.id = (unsigned)fc->nchanges + 1;
	fc->changes[fc->nchanges++] = c;
	return &c->change;
}

static void fh_change_attr(struct dbops_ctx *ctx, struct dbops_change *change,
			   const char *name, const char *before,
			   const char *after, bool sensitive)
{
	struct fake_ctx *fc = fake_of(ctx);
	struct fake_change *c = (struct fake_change *)(void *)change;
	struct dbops_attr *a;

	if (change->nattrs == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4;
		struct dbops_attr *grown =
		    arena_alloc(fc->arena, cap * sizeof(*grown));

		if (change->nattrs > 0)
			memcpy(grown, c->attrs,
			       change->nattrs * sizeof(*grown));
		c->attrs = grown;
		c->cap = cap;
	}
	a = &c->attrs[change->nattrs++];
	a->name = arena_strdup(fc->arena, name);
	a->before = arena_strdup(fc->arena, before);
	a->after = arena_strdup(fc->arena, after);
	a->sensitive = sensitive;
	change->attrs = c->attrs;
}

/* ---- SQL */

static void fh_record(struct fake_ctx *fc, const char *sql, int nparams,
		      const char *const *params)
{
	struct fake_query *q;
	const char **copy = NULL;

	if (fc->nqueries == fc->queries_cap) {
		size_t cap = fc->queries_cap ? 2 * fc->queries_cap : 16;
		struct fake_query *grown =
		    arena_alloc(fc->arena, cap * sizeof(*grown));

		if (fc->nqueries > 0)
			memcpy(grown, fc->queries,
			       fc->nqueries * sizeof(*grown));
		fc->queries = grown;
		fc->queries_cap = cap;
	}
	if (nparams > 0) {
		copy = arena_alloc(fc->arena, (size_t)nparams * sizeof(*copy));
		for (int i = 0; i < nparams; i++)
			copy[i] = arena_strdup(fc->arena, params[i]);
	}
	q = &fc->queries[fc->nqueries++];
	q->sql = arena_strdup(fc->arena, sql);
	q->nparams = nparams;
	q->params = copy;
}

static int fh_query(struct dbops_rows **out, struct dbops_ctx *ctx,
		    const char *sql, int nparams, const char *const *params)
{
	struct fake_ctx *fc = fake_of(ctx);
	struct dbops_diag *d;

	fh_record(fc, sql, nparams, params);
	if (out != NULL)
		*out = NULL;
	for (struct fake_result *r = fc->results; r != NULL; r = r->next) {
		if (r->remaining == 0 || strstr(sql, r->substring) == NULL)
			continue;
		if (r->remaining > 0)
			r->remaining--;
		if (r->error) {
			d = diag_add(&fc->diags, fc->arena, DBOPS_SEV_ERROR,
				     DBOPS_ERR_GENERIC, NULL, "%s", r->message);
			memcpy(d->sqlstate, r->sqlstate, sizeof(d->sqlstate));
			return DBOPS_ERR_GENERIC;
		}
		if (out != NULL)
			*out =
			    arena_memdup(fc->arena, &r->rows, sizeof(r->rows));
		return 0;
	}
	d = diag_add(&fc->diags, fc->arena, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC,
		     NULL, "no canned result for a query");
	diag_detail(d, fc->arena, "The query was: %s", sql);
	return DBOPS_ERR_GENERIC;
}

static const char *fh_rows_get(const struct dbops_rows *rows, int row,
			       const char *col)
{
	if (rows == NULL || row < 0 || row >= rows->nrows)
		return NULL;
	for (int c = 0; c < rows->ncols; c++)
		if (strcmp(rows->colnames[c], col) == 0)
			return rows->values[row * rows->ncols + c];
	return NULL;
}

/* PostgreSQL's quoting with standard_conforming_strings on: the quote
 * character doubled. Identifiers are always quoted, as
 * PQescapeIdentifier does. */
static char *fh_quote(struct arena *a, const char *s, char q)
{
	size_t n = 2;
	char *out, *p;

	for (const char *c = s; *c; c++)
		n += *c == q ? 2 : 1;
	out = arena_alloc(a, n + 1);
	p = out;
	*p++ = q;
	for (; *s; s++) {
		if (*s == q)
			*p++ = q;
		*p++ = *s;
	}
	*p++ = q;
	*p = '\0';
	return out;
}

static char *fh_quote_ident(struct dbops_ctx *ctx, const char *ident)
{
	return fh_quote(fake_of(ctx)->arena, ident, '"');
}

static char *fh_quote_literal(struct dbops_ctx *ctx, const char *literal)
{
	return fh_quote(fake_of(ctx)->arena, literal, '\'');
}

static int fh_server_version(struct dbops_ctx *ctx)
{
	return fake_of(ctx)->server_version;
}

static void *fh_pgconn(struct dbops_ctx *ctx)
{
	(void)ctx;
	return NULL;
}

/* ---- control */

static bool fh_cancelled(struct dbops_ctx *ctx)
{
	return fake_of(ctx)->cancelled;
}

static void *fh_state(struct dbops_ctx *ctx)
{
	return fake_of(ctx)->state;
}

static void fh_set_state(struct dbops_ctx *ctx, void *state)
{
	fake_of(ctx)->state = state;
}

/* ---- ABI 1.1: more connections share the canned results of query() */

struct dbops_conn {
	const char *conninfo;
};

static int fh_conn_open(struct dbops_conn **out, struct dbops_ctx *ctx,
			const char *conninfo, unsigned flags)
{
	struct fake_ctx *fc = fake_of(ctx);
	struct dbops_conn *c = arena_alloc(fc->arena, sizeof(*c));

	(void)flags;
	c->conninfo = arena_strdup(fc->arena, conninfo);
	*out = c;
	return 0;
}

static int fh_conn_query(struct dbops_rows **out, struct dbops_ctx *ctx,
			 struct dbops_conn *conn, const char *sql, int nparams,
			 const char *const *params)
{
	(void)conn;
	return fh_query(out, ctx, sql, nparams, params);
}

static void fh_conn_close(struct dbops_ctx *ctx, struct dbops_conn *conn)
{
	(void)ctx;
	(void)conn;
}

static void *fh_conn_pgconn(struct dbops_conn *conn)
{
	(void)conn;
	return NULL;
}

static const char *fh_mode(struct dbops_ctx *ctx)
{
	return fake_of(ctx)->mode;
}

static bool fh_flag(struct dbops_ctx *ctx, const char *name)
{
	struct fake_ctx *fc = fake_of(ctx);

	if (strcmp(name, "show-sql") == 0)
		return fc->show_sql;
	if (strcmp(name, "allow-destructive") == 0)
		return fc->allow_destructive;
	if (strcmp(name, "verbose") == 0)
		return fc->verbose;
	if (strcmp(name, "validate-only") == 0)
		return fc->validate_only;
	return false;
}

/* The names of the canned files directly inside `dir` or, `tree`, at
 * any depth below it, sorted. */
static int fh_list(const char *const **names_out, size_t *n_out,
		   struct dbops_ctx *ctx, const char *dir, bool tree)
{
	struct fake_ctx *fc = fake_of(ctx);
	size_t n = 0, dlen = strlen(dir);
	const char **v;

	for (struct fake_file *f = fc->files; f != NULL; f = f->next)
		n++;
	v = arena_alloc(fc->arena, (n + 1) * sizeof(*v));
	n = 0;
	for (struct fake_file *f = fc->files; f != NULL; f = f->next)
		if (strncmp(f->path, dir, dlen) == 0 && f->path[dlen] == '/' &&
		    (tree || strchr(f->path + dlen + 1, '/') == NULL))
			v[n++] = f->path + dlen + 1;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			const char *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	v[n] = NULL;
	*names_out = v;
	*n_out = n;
	return 0;
}

static int fh_source_list(const char *const **names_out, size_t *n_out,
			  struct dbops_ctx *ctx, const char *dir)
{
	return fh_list(names_out, n_out, ctx, dir, false);
}

static int fh_source_tree(const char *const **names_out, size_t *n_out,
			  struct dbops_ctx *ctx, const char *dir)
{
	return fh_list(names_out, n_out, ctx, dir, true);
}

static struct fake_file *fh_file(struct fake_ctx *fc, const char *path)
{
	for (struct fake_file *f = fc->files; f != NULL; f = f->next)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

static const char *fh_source_id(struct dbops_ctx *ctx, const char *path)
{
	struct fake_file *f = fh_file(fake_of(ctx), path);

	return f != NULL ? f->id : NULL;
}

static const char *fh_source_base_id(struct dbops_ctx *ctx, const char *path)
{
	struct fake_ctx *fc = fake_of(ctx);
	struct fake_file *f = fh_file(fc, path);

	if (!fc->has_base)
		return NULL;
	return f != NULL && f->base_id != NULL ? f->base_id : "";
}

static void fh_spec_trust(struct dbops_ctx *ctx, const struct dbops_node *node,
			  enum dbops_trust kind)
{
	struct fake_ctx *fc = fake_of(ctx);

	if (node != NULL && fc->ntrust < FAKE_MAX_TRUST) {
		fc->trust[fc->ntrust].node = node;
		fc->trust[fc->ntrust].kind = kind;
		fc->ntrust++;
	}
}

static void fh_fact_put(struct dbops_ctx *ctx, const char *name,
			const char *value,
			const struct dbops_secret_ref *secret,
			const struct dbops_loc *loc)
{
	struct fake_ctx *fc = fake_of(ctx);
	struct dbops_fact *f;

	if (fc->nfacts >= FAKE_MAX_FACTS)
		return;
	f = &fc->facts[fc->nfacts++];
	memset(f, 0, sizeof(*f));
	f->name = arena_strdup(fc->arena, name);
	f->plugin = fc->plugin;
	f->type = value != NULL ? DBOPS_FACT_TEXT : DBOPS_FACT_SECRET;
	f->value = value != NULL ? arena_strdup(fc->arena, value) : NULL;
	if (secret != NULL)
		f->secret = *secret;
	if (loc != NULL)
		f->loc = *loc;
}

static void fh_facts(const struct dbops_fact *const **out, size_t *n_out,
		     struct dbops_ctx *ctx, const char *prefix)
{
	struct fake_ctx *fc = fake_of(ctx);
	const struct dbops_fact **v =
	    arena_alloc(fc->arena, (fc->nfacts + 1) * sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < fc->nfacts; i++)
		if (prefix == NULL ||
		    strncmp(fc->facts[i].name, prefix, strlen(prefix)) == 0)
			v[n++] = &fc->facts[i];
	*out = v;
	*n_out = n;
}

static void fh_metric(struct dbops_ctx *ctx, const char *name,
		      const char *labels, double value, const char *help)
{
	struct fake_ctx *fc = fake_of(ctx);
	char line[512];

	(void)help;
	snprintf(line, sizeof(line), "%s%s%s%s %g\n", name, labels ? "{" : "",
		 labels ? labels : "", labels ? "}" : "", value);
	fc->metrics = arena_printf(fc->arena, "%s%s",
				   fc->metrics ? fc->metrics : "", line);
}

void fake_host_add_fact(struct fake_ctx *fc, const char *plugin,
			const char *name, const char *value)
{
	const char *saved = fc->plugin;

	fc->plugin = plugin;
	fh_fact_put(fake_host_ctx(fc), name, value, NULL, NULL);
	fc->plugin = saved;
}

void fake_host_set_ids(struct fake_ctx *fc, const char *path, const char *id,
		       const char *base_id)
{
	struct fake_file *f = fh_file(fc, path);

	if (f == NULL)
		return;
	f->id = id != NULL ? arena_strdup(fc->arena, id) : NULL;
	f->base_id = base_id != NULL ? arena_strdup(fc->arena, base_id) : NULL;
	fc->has_base = true;
}

static const char *fh_arg(struct dbops_ctx *ctx, const char *name)
{
	struct fake_ctx *fc = fake_of(ctx);

	for (size_t i = 0; i < fc->nargs; i++)
		if (strcmp(fc->args[2 * i], name) == 0)
			return fc->args[2 * i + 1];
	return NULL;
}

static void fh_out(struct dbops_ctx *ctx, const char *fmt, ...)
    DBOPS_PRINTF(2, 3);
static void fh_out(struct dbops_ctx *ctx, const char *fmt, ...)
{
	struct fake_ctx *fc = fake_of(ctx);
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = arena_vprintf(fc->arena, fmt, ap);
	va_end(ap);
	fc->out = arena_printf(fc->arena, "%s%s", fc->out ? fc->out : "", text);
}

static void fh_observe_note(struct dbops_ctx *ctx, const char *key,
			    const char *value)
{
	struct fake_ctx *fc = fake_of(ctx);

	fc->notes = arena_printf(fc->arena, "%s%s=%s\n",
				 fc->notes ? fc->notes : "", key, value);
}

static int fh_file_write(struct dbops_ctx *ctx, const char *path,
			 const char *data, size_t len, unsigned mode)
{
	struct fake_ctx *fc = fake_of(ctx);

	return fileio_write_atomic(fc->arena, &fc->diags, path, data, len,
				   (mode_t)mode);
}

static const struct dbops_host fake_host_table = {
    .header = DBOPS_ABI_HEADER_INIT(struct dbops_host),
    .alloc = fh_alloc,
    .strdup = fh_strdup,
    .printf = fh_printf,
    .diag = fh_diag,
    .diag_detail = fh_diag_detail,
    .diag_hint = fh_diag_hint,
    .log = fh_log,
    .spec_get = fh_spec_get,
    .spec_check_keys = fh_spec_check_keys,
    .spec_string = fh_spec_string,
    .spec_bool = fh_spec_bool,
    .spec_int = fh_spec_int,
    .spec_secret = fh_spec_secret,
    .secret_read = fh_secret_read,
    .secret_try_read = fh_secret_try_read,
    .source_read = fh_source_read,
    .change_new = fh_change_new,
    .change_attr = fh_change_attr,
    .query = fh_query,
    .rows_get = fh_rows_get,
    .quote_ident = fh_quote_ident,
    .quote_literal = fh_quote_literal,
    .server_version = fh_server_version,
    .pgconn = fh_pgconn,
    .cancelled = fh_cancelled,
    .state = fh_state,
    .set_state = fh_set_state,
    .conn_open = fh_conn_open,
    .conn_query = fh_conn_query,
    .conn_close = fh_conn_close,
    .conn_pgconn = fh_conn_pgconn,
    .mode = fh_mode,
    .flag = fh_flag,
    .source_list = fh_source_list,
    .source_tree = fh_source_tree,
    .source_id = fh_source_id,
    .source_base_id = fh_source_base_id,
    .spec_trust = fh_spec_trust,
    .fact_put = fh_fact_put,
    .facts = fh_facts,
    .metric = fh_metric,
    .arg = fh_arg,
    .out = fh_out,
    .observe_note = fh_observe_note,
    .suggest = diag_suggest,
    .file_write = fh_file_write,
};

/* ---- the test-facing side */

struct fake_ctx *fake_host_new(const char *plugin)
{
	struct fake_ctx *fc = calloc(1, sizeof(*fc));

	if (fc == NULL)
		arena_oom();
	fc->head.host = &fake_host_table;
	fc->arena = arena_new();
	fc->plugin = arena_strdup(fc->arena, plugin);
	fc->server_version = 150000;
	return fc;
}

void fake_host_free(struct fake_ctx *fc)
{
	if (fc == NULL)
		return;
	arena_free(fc->arena);
	free(fc);
}

static void fake_append_result(struct fake_ctx *fc, struct fake_result *r)
{
	struct fake_result **tail = &fc->results;

	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = r;
}

void fake_host_add_result_n(struct fake_ctx *fc, const char *sql_substring,
			    const char *const *colnames, int ncols,
			    const char *const *values, int nrows, int times)
{
	struct fake_result *r = arena_alloc(fc->arena, sizeof(*r));
	const char **cols =
	    arena_alloc(fc->arena, (size_t)(ncols + 1) * sizeof(*cols));
	size_t nvalues = (size_t)ncols * (size_t)nrows;
	const char **vals =
	    arena_alloc(fc->arena, (nvalues + 1) * sizeof(*vals));

	for (int c = 0; c < ncols; c++)
		cols[c] = arena_strdup(fc->arena, colnames[c]);
	for (size_t i = 0; i < nvalues; i++)
		vals[i] = arena_strdup(fc->arena, values[i]);
	r->substring = arena_strdup(fc->arena, sql_substring);
	r->rows.nrows = nrows;
	r->rows.ncols = ncols;
	r->rows.colnames = cols;
	r->rows.values = vals;
	r->remaining = times;
	fake_append_result(fc, r);
}

void fake_host_add_result(struct fake_ctx *fc, const char *sql_substring,
			  const char *const *colnames, int ncols,
			  const char *const *values, int nrows)
{
	fake_host_add_result_n(fc, sql_substring, colnames, ncols, values,
			       nrows, -1);
}

void fake_host_add_error(struct fake_ctx *fc, const char *sql_substring,
			 const char *sqlstate, const char *message)
{
	struct fake_result *r = arena_alloc(fc->arena, sizeof(*r));

	r->substring = arena_strdup(fc->arena, sql_substring);
	r->error = true;
	snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", sqlstate);
	r->message = arena_strdup(fc->arena, message);
	r->remaining = -1;
	fake_append_result(fc, r);
}

void fake_host_add_file(struct fake_ctx *fc, const char *path, const char *data)
{
	fake_host_add_file_len(fc, path, data, strlen(data));
}

void fake_host_add_file_len(struct fake_ctx *fc, const char *path,
			    const char *data, size_t len)
{
	struct fake_file *f = arena_alloc(fc->arena, sizeof(*f));
	char *copy = arena_alloc(fc->arena, len + 1);

	memcpy(copy, data, len);
	f->path = arena_strdup(fc->arena, path);
	f->data = copy;
	f->len = len;
	f->next = fc->files;
	fc->files = f;
}

int fake_host_query_count(const struct fake_ctx *fc, const char *sql_substring)
{
	int n = 0;

	for (size_t i = 0; i < fc->nqueries; i++)
		if (strstr(fc->queries[i].sql, sql_substring) != NULL)
			n++;
	return n;
}

const char *fake_host_queries(struct fake_ctx *fc)
{
	const char *out = "";

	for (size_t i = 0; i < fc->nqueries; i++)
		out =
		    arena_printf(fc->arena, "%s%s\n", out, fc->queries[i].sql);
	return out;
}

const struct dbops_change *fake_host_change(const struct fake_ctx *fc,
					    const char *address)
{
	for (size_t i = 0; i < fc->nchanges; i++)
		if (strcmp(fc->changes[i]->change.address, address) == 0)
			return &fc->changes[i]->change;
	return NULL;
}

const struct dbops_change *fake_host_change_at(const struct fake_ctx *fc,
					       size_t i)
{
	return i < fc->nchanges ? &fc->changes[i]->change : NULL;
}

const char *fake_host_log(const struct fake_ctx *fc)
{
	return fc->log != NULL ? fc->log : "";
}

static const char *fake_action_name(enum dbops_action action)
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
	return "unknown";
}

static void fake_render_value(FILE *f, const char *v, bool sensitive)
{
	if (sensitive)
		fputs("(sensitive)", f);
	else if (v == NULL)
		fputs("(absent)", f);
	else
		fprintf(f, "\"%s\"", v);
}

static void fake_render_change(FILE *f, const struct dbops_change *c)
{
	static const struct {
		unsigned flag;
		const char *name;
	} flags[] = {
	    {DBOPS_CHANGE_DESTRUCTIVE, "destructive"},
	    {DBOPS_CHANGE_NONTX, "nontx"},
	    {DBOPS_CHANGE_NEEDS_RESTART, "needs-restart"},
	    {DBOPS_CHANGE_IRREVERSIBLE, "irreversible"},
	};
	bool any = false;

	fprintf(f, "change %u: %s %s\n", c->id, fake_action_name(c->action),
		c->address);
	if (c->loc.file != NULL)
		fprintf(f, "  location: %s:%u:%u\n", c->loc.file, c->loc.line,
			c->loc.col);
	if (c->reason != NULL)
		fprintf(f, "  reason: %s\n", c->reason);
	for (size_t i = 0; i < c->nattrs; i++) {
		fprintf(f, "  %s: ", c->attrs[i].name);
		fake_render_value(f, c->attrs[i].before, c->attrs[i].sensitive);
		fputs(" -> ", f);
		fake_render_value(f, c->attrs[i].after, c->attrs[i].sensitive);
		fputc('\n', f);
	}
	if (c->sql != NULL)
		fprintf(f, "  sql: %s\n", c->sql);
	fputs("  flags:", f);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (c->flags & flags[i].flag) {
			fprintf(f, " %s", flags[i].name);
			any = true;
		}
	fputs(any ? "\n" : " none\n", f);
}

const char *fake_host_render(struct fake_ctx *fc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *out;

	if (f == NULL)
		arena_oom();
	if (fc->nchanges == 0)
		fputs("no changes\n", f);
	for (size_t i = 0; i < fc->nchanges; i++)
		fake_render_change(f, &fc->changes[i]->change);
	if (fc->diags.head == NULL)
		fputs("no diagnostics\n", f);
	else
		diag_print_list(f, &fc->diags);
	fclose(f);
	out = arena_strndup(fc->arena, buf, len);
	free(buf);
	return out;
}

const struct dbops_node *fake_host_spec(struct fake_ctx *fc, const char *yaml)
{
	const struct dbops_node *root = NULL;

	if (spec_parse(&root, fc->arena, &fc->diags, "spec.yaml", yaml,
		       strlen(yaml), NULL) != 0)
		return NULL;
	return root;
}

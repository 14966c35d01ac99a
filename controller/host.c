/* SPDX-License-Identifier: PostgreSQL */
/*
 * host.c — the host table given to plugins (include/dbops/host.h). Each
 * function finds the pass through the context and forwards to the
 * controller module that does the work; it also enforces the stage rules
 * (changes only during diff, secrets only while applying) and feeds every
 * row observe reads into the live-state fingerprint.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fileio.h"
#include "pass.h"
#include "secret.h"

static struct pass *pass_of(struct dbops_ctx *ctx)
{
	return ctx->pass;
}

static void *h_alloc(struct dbops_ctx *ctx, size_t size)
{
	return arena_alloc(pass_of(ctx)->a, size);
}

static char *h_strdup(struct dbops_ctx *ctx, const char *s)
{
	return arena_strdup(pass_of(ctx)->a, s);
}

static char *h_printf(struct dbops_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = arena_vprintf(pass_of(ctx)->a, fmt, ap);
	va_end(ap);
	return s;
}

static struct dbops_diag *h_diag(struct dbops_ctx *ctx, enum dbops_severity sev,
				 int code, const struct dbops_loc *loc,
				 const char *fmt, ...)
{
	va_list ap;
	struct dbops_diag *d;
	struct pass *p = pass_of(ctx);

	va_start(ap, fmt);
	d = diag_vadd(&p->diags, p->a, sev, code, loc, fmt, ap);
	va_end(ap);
	return d;
}

static void h_diag_detail(struct dbops_ctx *ctx, struct dbops_diag *d,
			  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	d->detail = arena_vprintf(pass_of(ctx)->a, fmt, ap);
	va_end(ap);
}

static void h_diag_hint(struct dbops_ctx *ctx, struct dbops_diag *d,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	d->hint = arena_vprintf(pass_of(ctx)->a, fmt, ap);
	va_end(ap);
}

static void h_log(struct dbops_ctx *ctx, enum dbops_log_level level,
		  const char *fmt, ...)
{
	static const char *const names[] = {"ERROR", "WARNING", "NOTICE",
					    "INFO", "DEBUG"};
	struct pass *p = pass_of(ctx);
	int threshold = DBOPS_LOG_NOTICE + p->verbose;
	va_list ap;

	if ((int)level > threshold &&
	    !(level == DBOPS_LOG_INFO && p->stage == PASS_STAGE_APPLY))
		return;
	/* one line at a time: the daemon's passes log from several threads */
	flockfile(stderr);
	fprintf(stderr, "%s:  %s: ", names[level], ctx->pp->lp->desc->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static const struct dbops_node *h_spec_get(const struct dbops_node *map,
					   const char *key)
{
	return spec_get(map, key);
}

static int h_spec_check_keys(struct dbops_ctx *ctx,
			     const struct dbops_node *map, const char *what,
			     const char *const *allowed)
{
	struct pass *p = pass_of(ctx);

	return spec_check_keys(&p->diags, p->a, map, what, allowed);
}

static int h_spec_string(const char **out, struct dbops_ctx *ctx,
			 const struct dbops_node *node, const char *what)
{
	struct pass *p = pass_of(ctx);

	return spec_string(out, &p->diags, p->a, node, what);
}

static int h_spec_bool(bool *out, struct dbops_ctx *ctx,
		       const struct dbops_node *node, const char *what)
{
	struct pass *p = pass_of(ctx);

	return spec_bool(out, &p->diags, p->a, node, what);
}

static int h_spec_int(int64_t *out, struct dbops_ctx *ctx,
		      const struct dbops_node *node, const char *what,
		      int64_t min, int64_t max)
{
	struct pass *p = pass_of(ctx);

	return spec_int(out, &p->diags, p->a, node, what, min, max);
}

/* A secret reference is read from the spec only when the configuration
 * allows it, and recorded for the trust comparison. */
static int h_spec_secret(struct dbops_secret_ref *out, struct dbops_ctx *ctx,
			 const struct dbops_node *node, const char *what)
{
	struct pass *p = pass_of(ctx);
	int err = spec_secret(out, &p->diags, p->a, node, what);

	if (err != 0)
		return err;
	if ((err = config_secret_allowed(p->config, out, &p->diags, p->a)))
		return err;
	trust_record(
	    &p->trust, p->a, p->root, node, "secret",
	    arena_printf(p->a, "%s:%s",
			 out->kind == DBOPS_SECRET_ENV ? "env" : "file",
			 out->name));
	return 0;
}

static void h_spec_trust(struct dbops_ctx *ctx, const struct dbops_node *node,
			 enum dbops_trust kind)
{
	struct pass *p = pass_of(ctx);

	if (node == NULL || p->stage != PASS_STAGE_VALIDATE)
		return;
	trust_record(&p->trust, p->a, p->root, node,
		     kind == DBOPS_TRUST_PATH	? "path"
		     : kind == DBOPS_TRUST_EXEC ? "exec"
						: "connection",
		     NULL);
	if (kind == DBOPS_TRUST_CONNECTION && node->kind == DBOPS_NODE_SCALAR)
		trust_conninfo_check(node->scalar, &node->loc,
				     trust_path(p->a, p->root, node), &p->diags,
				     p->a);
}

/* ---- facts between plugins, and metrics */

static void h_fact_put(struct dbops_ctx *ctx, const char *name,
		       const char *value, const struct dbops_secret_ref *secret,
		       const struct dbops_loc *loc)
{
	struct pass *p = pass_of(ctx);
	struct pass_fact *f;

	if (name == NULL || (value == NULL) == (secret == NULL))
		return;
	if (p->nfacts == p->capfacts) {
		size_t cap = p->capfacts ? p->capfacts * 2 : 32;
		struct pass_fact *bigger = arena_alloc(p->a, cap * sizeof(*f));

		if (p->nfacts)
			memcpy(bigger, p->facts, p->nfacts * sizeof(*f));
		p->facts = bigger;
		p->capfacts = cap;
	}
	f = &p->facts[p->nfacts++];
	f->f.name = arena_strdup(p->a, name);
	f->f.plugin = ctx->pp->lp->desc->name;
	f->f.type = value != NULL ? DBOPS_FACT_TEXT : DBOPS_FACT_SECRET;
	f->f.value = value != NULL ? arena_strdup(p->a, value) : NULL;
	if (secret != NULL) {
		f->f.secret = *secret;
		f->f.secret.name = arena_strdup(p->a, secret->name);
	}
	if (loc != NULL)
		f->f.loc = *loc;
	f->index = ctx->pp->index;
	f->at_validate = p->stage == PASS_STAGE_VALIDATE;
}

static void h_facts(const struct dbops_fact *const **out, size_t *n_out,
		    struct dbops_ctx *ctx, const char *prefix)
{
	struct pass *p = pass_of(ctx);
	const struct dbops_fact **v =
	    arena_alloc(p->a, (p->nfacts + 1) * sizeof(*v));
	size_t n = 0, plen = prefix != NULL ? strlen(prefix) : 0;

	for (size_t i = 0; i < p->nfacts; i++) {
		const struct pass_fact *f = &p->facts[i];

		/* a fact found later is for the plugins after its publisher */
		if (!f->at_validate && f->index >= ctx->pp->index)
			continue;
		if (plen == 0 || strncmp(f->f.name, prefix, plen) == 0)
			v[n++] = &f->f;
	}
	*out = v;
	*n_out = n;
}

static void h_metric(struct dbops_ctx *ctx, const char *name,
		     const char *labels, double value, const char *help)
{
	struct pass *p = pass_of(ctx);
	struct pass_metric *m;

	if (name == NULL)
		return;
	if (p->nmetrics == p->capmetrics) {
		size_t cap = p->capmetrics ? p->capmetrics * 2 : 32;
		struct pass_metric *bigger =
		    arena_alloc(p->a, cap * sizeof(*m));

		if (p->nmetrics)
			memcpy(bigger, p->metrics, p->nmetrics * sizeof(*m));
		p->metrics = bigger;
		p->capmetrics = cap;
	}
	m = &p->metrics[p->nmetrics++];
	m->name = arena_strdup(p->a, name);
	m->labels = labels != NULL ? arena_strdup(p->a, labels) : NULL;
	m->value = value;
	m->help = help != NULL ? arena_strdup(p->a, help) : "";
}

static int h_secret_read(const char **out, struct dbops_ctx *ctx,
			 const struct dbops_secret_ref *ref)
{
	struct pass *p = pass_of(ctx);

	/* Not while validating: validate connects to nothing. Observe and
	 * status may need one to read a live surface that is not the SQL
	 * connection (an object store's keys); the trust model already
	 * bounds where a secret may be sent. */
	if (p->stage == PASS_STAGE_VALIDATE) {
		diag_add(
		    &p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC,
		    &ref->loc,
		    "secrets can only be read to observe, compare or apply a change");
		return DBOPS_ERR_GENERIC;
	}
	return secret_read(out, p->a, &p->diags, ref);
}

static int h_secret_try_read(const char **out, struct dbops_ctx *ctx,
			     const struct dbops_secret_ref *ref)
{
	struct pass *p = pass_of(ctx);
	struct dbops_diag_list quiet = {0};

	if (p->stage == PASS_STAGE_VALIDATE)
		return h_secret_read(out, ctx, ref);
	return secret_read(out, p->a, &quiet, ref) == 0 ? 0
							: DBOPS_ERR_NOTFOUND;
}

static void h_observe_note(struct dbops_ctx *ctx, const char *key,
			   const char *value)
{
	struct pass *p = pass_of(ctx);

	if (p->stage != PASS_STAGE_OBSERVE)
		return;
	strbuf_printf(&p->observed, "%s:%s", ctx->pp->lp->desc->name,
		      key != NULL ? key : "");
	strbuf_putc(&p->observed, '\0');
	strbuf_puts(&p->observed, value != NULL ? value : "\\N");
	strbuf_putc(&p->observed, '\0');
}

static int h_source_read(const char **data_out, size_t *len_out,
			 struct dbops_ctx *ctx, const char *path)
{
	struct pass *p = pass_of(ctx);
	const char *full =
	    p->cluster_dir[0] != '\0'
		? arena_printf(p->a, "%s/%s", p->cluster_dir, path)
		: path;

	return source_read(data_out, len_out, p->src, &p->diags, full);
}

static int source_list_in(const char *const **names_out, size_t *n_out,
			  struct dbops_ctx *ctx, const char *dir,
			  bool recursive)
{
	struct pass *p = pass_of(ctx);
	const char *full =
	    p->cluster_dir[0] != '\0'
		? arena_printf(p->a, "%s/%s", p->cluster_dir, dir)
		: dir;

	return source_list(names_out, n_out, p->src, &p->diags, full,
			   recursive);
}

static const char *source_path_in(struct dbops_ctx *ctx, const char *path)
{
	struct pass *p = pass_of(ctx);

	return p->cluster_dir[0] != '\0'
		   ? arena_printf(p->a, "%s/%s", p->cluster_dir, path)
		   : path;
}

static const char *h_source_id(struct dbops_ctx *ctx, const char *path)
{
	return source_id(pass_of(ctx)->src, source_path_in(ctx, path));
}

static const char *h_source_base_id(struct dbops_ctx *ctx, const char *path)
{
	return source_base_id(pass_of(ctx)->src, source_path_in(ctx, path));
}

static int h_source_list(const char *const **names_out, size_t *n_out,
			 struct dbops_ctx *ctx, const char *dir)
{
	return source_list_in(names_out, n_out, ctx, dir, false);
}

static int h_source_tree(const char *const **names_out, size_t *n_out,
			 struct dbops_ctx *ctx, const char *dir)
{
	return source_list_in(names_out, n_out, ctx, dir, true);
}

static struct dbops_change *h_change_new(struct dbops_ctx *ctx,
					 enum dbops_action action,
					 const char *address)
{
	struct pass *p = pass_of(ctx);
	struct pass_plugin *pp = ctx->pp;
	struct plan_change *c;

	if (p->stage != PASS_STAGE_DIFF) {
		fprintf(
		    stderr,
		    "dbops: FATAL: plugin \"%s\" planned a change outside its diff callback\n",
		    pp->lp->desc->name);
		abort();
	}
	c = plan_append(&p->plan, p->a, pp->index, pp->lp->desc->name,
			pp->lp->desc->phase, action, address);
	return &c->change;
}

static void h_change_attr(struct dbops_ctx *ctx, struct dbops_change *change,
			  const char *name, const char *before,
			  const char *after, bool sensitive)
{
	/* every dbops_change is the first member of a plan_change */
	plan_attr((struct plan_change *)change, pass_of(ctx)->a, name, before,
		  after, sensitive);
}

static void observe_note(struct pass *p, const char *sql, int nparams,
			 const char *const *params,
			 const struct dbops_rows *rows)
{
	struct strbuf *sb = &p->observed;

	strbuf_puts(sb, sql);
	strbuf_putc(sb, '\0');
	for (int i = 0; i < nparams; i++) {
		strbuf_puts(sb, params[i] ? params[i] : "\\N");
		strbuf_putc(sb, '\0');
	}
	if (rows == NULL)
		return;
	for (int i = 0; i < rows->nrows * rows->ncols; i++) {
		strbuf_puts(sb, rows->values[i] ? rows->values[i] : "\\N");
		strbuf_putc(sb, '\0');
	}
}

static int h_query(struct dbops_rows **out, struct dbops_ctx *ctx,
		   const char *sql, int nparams, const char *const *params)
{
	struct pass *p = pass_of(ctx);
	struct dbops_rows *rows = NULL;
	int err;

	err =
	    pgconn_query(&rows, p->conn, p->a, &p->diags, sql, nparams, params);
	if (err == 0 && p->stage == PASS_STAGE_OBSERVE)
		observe_note(p, sql, nparams, params, rows);
	if (out != NULL)
		*out = rows;
	return err;
}

static const char *h_rows_get(const struct dbops_rows *rows, int row,
			      const char *col)
{
	return pgconn_rows_get(rows, row, col);
}

/* Quoting without a connection (validate, unit tests): PostgreSQL's
 * rules with standard_conforming_strings on. */
static char *quote_plain(struct arena *a, const char *s, char q)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_putc(&sb, q);
	for (; *s; s++) {
		if (*s == q)
			strbuf_putc(&sb, q);
		strbuf_putc(&sb, *s);
	}
	strbuf_putc(&sb, q);
	return strbuf_finish(&sb, a);
}

static char *h_quote_ident(struct dbops_ctx *ctx, const char *ident)
{
	struct pass *p = pass_of(ctx);

	if (p->conn == NULL)
		return quote_plain(p->a, ident, '"');
	return pgconn_quote_ident(p->conn, p->a, ident);
}

static char *h_quote_literal(struct dbops_ctx *ctx, const char *literal)
{
	struct pass *p = pass_of(ctx);

	if (p->conn == NULL || strchr(literal, '\\') == NULL)
		return quote_plain(p->a, literal, '\'');
	return pgconn_quote_literal(p->conn, p->a, literal);
}

static int h_server_version(struct dbops_ctx *ctx)
{
	return pgconn_server_version(pass_of(ctx)->conn);
}

static void *h_pgconn(struct dbops_ctx *ctx)
{
	return pgconn_raw(pass_of(ctx)->conn);
}

volatile int host_cancel_requested;

static bool h_cancelled(struct dbops_ctx *ctx)
{
	(void)ctx;
	return host_cancel_requested != 0;
}

static void *h_state(struct dbops_ctx *ctx)
{
	return ctx->pp->lp->state;
}

static void h_set_state(struct dbops_ctx *ctx, void *state)
{
	ctx->pp->lp->state = state;
}

static void *h_pass_data(struct dbops_ctx *ctx)
{
	return ctx->pp->data;
}

static void h_set_pass_data(struct dbops_ctx *ctx, void *data)
{
	ctx->pp->data = data;
}

struct dbops_conn {
	struct pgconn *pc;
	unsigned flags;
};

static int h_conn_open(struct dbops_conn **out, struct dbops_ctx *ctx,
		       const char *conninfo, unsigned flags)
{
	struct pass *p = pass_of(ctx);
	struct dbops_conn *c = arena_alloc(p->a, sizeof(*c));
	int err;

	if (flags & DBOPS_CONN_STANDALONE)
		err = pgconn_open_plain(&c->pc, p->a, &p->diags, conninfo);
	else
		err = pgconn_open_overlay(&c->pc, p->a, &p->diags, p->conn,
					  conninfo);
	if (err != 0)
		return err;
	c->flags = flags;
	*out = c;
	return 0;
}

static int h_conn_query(struct dbops_rows **out, struct dbops_ctx *ctx,
			struct dbops_conn *conn, const char *sql, int nparams,
			const char *const *params)
{
	struct pass *p = pass_of(ctx);
	struct dbops_rows *rows = NULL;
	int err;

	err = pgconn_query(&rows, conn->pc, p->a, &p->diags, sql, nparams,
			   params);
	if (err == 0 && p->stage == PASS_STAGE_OBSERVE &&
	    !(conn->flags & DBOPS_CONN_VOLATILE))
		observe_note(p, sql, nparams, params, rows);
	if (out != NULL)
		*out = rows;
	return err;
}

static void h_conn_close(struct dbops_ctx *ctx, struct dbops_conn *conn)
{
	(void)ctx;
	if (conn != NULL)
		pgconn_close(conn->pc);
}

static void *h_conn_pgconn(struct dbops_conn *conn)
{
	return conn != NULL ? pgconn_raw(conn->pc) : NULL;
}

static const char *h_mode(struct dbops_ctx *ctx)
{
	struct pass *p = pass_of(ctx);

	if (p->mode_plugin == NULL ||
	    strcmp(p->mode_plugin, ctx->pp->lp->desc->name) != 0)
		return NULL;
	return p->mode;
}

static bool h_flag(struct dbops_ctx *ctx, const char *name)
{
	struct pass *p = pass_of(ctx);

	if (strcmp(name, "show-sql") == 0)
		return p->show_sql;
	if (strcmp(name, "allow-destructive") == 0)
		return p->allow_destructive || p->spec.allow_destructive;
	if (strcmp(name, "validate-only") == 0)
		return p->validate_only;
	if (strcmp(name, "verbose") == 0)
		return p->verbose > 0;
	return false;
}

static const char *h_arg(struct dbops_ctx *ctx, const char *name)
{
	struct pass *p = pass_of(ctx);

	if (h_mode(ctx) == NULL)
		return NULL;
	for (size_t i = 0; i < p->nargs; i++)
		if (strcmp(p->args[2 * i], name) == 0)
			return p->args[2 * i + 1];
	return NULL;
}

static void h_out(struct dbops_ctx *ctx, const char *fmt, ...)
{
	struct pass *p = pass_of(ctx);
	va_list ap;

	va_start(ap, fmt);
	vfprintf(p->out != NULL ? p->out : stdout, fmt, ap);
	va_end(ap);
}

static void h_applied(struct dbops_ctx *ctx, size_t k, int err)
{
	struct pass *p = pass_of(ctx);

	if (p->applied_fn != NULL)
		p->applied_fn(p->applied_arg, k, err);
}

static int h_file_write(struct dbops_ctx *ctx, const char *path,
			const char *data, size_t len, unsigned mode)
{
	struct pass *p = pass_of(ctx);

	return fileio_write_atomic(p->a, &p->diags, path, data, len,
				   (mode_t)mode);
}

const struct dbops_host host_table = {
    .header = DBOPS_ABI_HEADER_INIT(struct dbops_host),
    .alloc = h_alloc,
    .strdup = h_strdup,
    .printf = h_printf,
    .diag = h_diag,
    .diag_detail = h_diag_detail,
    .diag_hint = h_diag_hint,
    .log = h_log,
    .spec_get = h_spec_get,
    .spec_check_keys = h_spec_check_keys,
    .spec_string = h_spec_string,
    .spec_bool = h_spec_bool,
    .spec_int = h_spec_int,
    .spec_secret = h_spec_secret,
    .secret_read = h_secret_read,
    .source_read = h_source_read,
    .change_new = h_change_new,
    .change_attr = h_change_attr,
    .query = h_query,
    .rows_get = h_rows_get,
    .quote_ident = h_quote_ident,
    .quote_literal = h_quote_literal,
    .server_version = h_server_version,
    .pgconn = h_pgconn,
    .cancelled = h_cancelled,
    .state = h_state,
    .set_state = h_set_state,
    .conn_open = h_conn_open,
    .conn_query = h_conn_query,
    .conn_close = h_conn_close,
    .conn_pgconn = h_conn_pgconn,
    .mode = h_mode,
    .flag = h_flag,
    .source_list = h_source_list,
    .arg = h_arg,
    .out = h_out,
    .secret_try_read = h_secret_try_read,
    .observe_note = h_observe_note,
    .suggest = diag_suggest,
    .file_write = h_file_write,
    .applied = h_applied,
    .source_tree = h_source_tree,
    .source_id = h_source_id,
    .source_base_id = h_source_base_id,
    .spec_trust = h_spec_trust,
    .fact_put = h_fact_put,
    .facts = h_facts,
    .metric = h_metric,
    .pass_data = h_pass_data,
    .set_pass_data = h_set_pass_data,
};

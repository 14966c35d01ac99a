/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon_ops.c — one-shot operations and scheduled plugin work; see
 * daemon_ops.h. An operation file that is not valid is recorded as
 * "invalid" with its located error (and so not read again); one for
 * another cluster is left to that cluster's pass.
 */
#include "daemon_ops.h"

#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "cron.h"
#include "daemon_int.h"
#include "daemon_store.h"
#include "diag.h"
#include "spec.h"

#define OPS_DIR	       "operations"
#define OPS_MAX_OUTPUT (64 * 1024)

/* ---- resolving a command line */

static bool ops_has_command(const struct dbops_plugin *d, const char *name)
{
	for (const struct dbops_command *k = d->commands;
	     k != NULL && k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return true;
	return false;
}

static bool ops_readonly(const struct dbops_plugin *d, const char *name)
{
	for (const char *const *n = d->readonly_commands; n != NULL && *n; n++)
		if (strcmp(*n, name) == 0)
			return true;
	return false;
}

int daemon_ops_resolve(const char **plugin, const char **command,
		       const char ***args, size_t *nargs,
		       const struct registry *reg, const char *line,
		       struct arena *a, const char **error)
{
	char *buf = arena_strdup(a, line), *save = NULL;
	const char *w[64];
	size_t n = 0, first = 0;
	const char **v;

	for (char *s = strtok_r(buf, " \t", &save); s != NULL && n < 64;
	     s = strtok_r(NULL, " \t", &save))
		w[n++] = s;
	*plugin = *command = NULL;
	for (size_t i = 0; i < reg->n && n > 0 && *plugin == NULL; i++) {
		const struct dbops_plugin *d = reg->plugins[i].desc;

		if (strcmp(d->name, w[0]) == 0) {
			/* "plugin command" or "plugin two words" */
			if (n > 2 &&
			    ops_has_command(
				d, arena_printf(a, "%s %s", w[1], w[2]))) {
				*command = arena_printf(a, "%s %s", w[1], w[2]);
				first = 3;
			} else if (n > 1 && ops_has_command(d, w[1])) {
				*command = w[1];
				first = 2;
			}
		} else if (n > 1 &&
			   ops_has_command(
			       d, arena_printf(a, "%s %s", w[0], w[1]))) {
			*command = arena_printf(a, "%s %s", w[0], w[1]);
			first = 2;
		} else if (ops_has_command(d, w[0])) {
			*command = w[0];
			first = 1;
		}
		if (*command != NULL)
			*plugin = d->name;
	}
	if (*plugin == NULL) {
		*error = arena_printf(a,
				      "No plugin offers the command \"%s\"; "
				      "\"dbops version\" lists them.",
				      line);
		return DBOPS_ERR_NOTFOUND;
	}
	v = arena_alloc(a, (2 * n + 2) * sizeof(*v));
	*nargs = 0;
	for (size_t i = first; i < n; i++) {
		const char *opt = w[i], *eq;

		if (strncmp(opt, "--", 2) != 0 || opt[2] == '\0') {
			*error = arena_printf(
			    a, "\"%s\" is not an option (--name value).", opt);
			return DBOPS_ERR_NOTFOUND;
		}
		opt += 2;
		if ((eq = strchr(opt, '=')) != NULL) {
			v[2 * *nargs] =
			    arena_strndup(a, opt, (size_t)(eq - opt));
			v[2 * *nargs + 1] = eq + 1;
		} else {
			v[2 * *nargs] = opt;
			v[2 * *nargs + 1] =
			    i + 1 < n && strncmp(w[i + 1], "--", 2) != 0
				? w[++i]
				: "";
		}
		(*nargs)++;
	}
	*args = v;
	return 0;
}

/* ---- running a command */

struct ops_result {
	const char *status; /* "done", "failed" */
	const char *output;
	const char *error;
};

static const char *ops_first_error(struct arena *a,
				   const struct dbops_diag_list *l)
{
	for (const struct dbops_diag *e = l->head; e != NULL; e = e->next)
		if (e->severity == DBOPS_SEV_ERROR)
			return arena_printf(a, "%s%s%s", e->message,
					    e->detail ? " — " : "",
					    e->detail ? e->detail : "");
	return "failed without a message";
}

/* Keep only the changes of the commanded plugin. */
static void ops_command(struct ops_result *r, struct pass *p,
			const struct pass_opts *po, struct daemon *d,
			const char *plugin, const char *command,
			const char **args, size_t nargs, const char *label)
{
	const struct loaded_plugin *lp = loader_find(d->reg, plugin);
	struct pass q;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int err;

	pass_init(&q, d->reg);
	q.mode_plugin = plugin;
	q.mode = command;
	q.args = args;
	q.nargs = nargs;
	q.out = out;
	err = pass_load_revision(&q, po);
	q.conn = p->conn; /* borrowed: the lock is this session's */
	if (err == 0 && q.diags.nerrors == 0) {
		if (lp != NULL && ops_readonly(lp->desc, command)) {
			if ((err = pass_observe(&q)) == 0)
				err = pass_status(&q);
		} else if ((err = pass_plan(&q)) == 0) {
			struct apply_opts ao = {0};
			struct apply_result res;

			ao.allow_destructive = true; /* asked for by name */
			ao.command = label;
			err = apply_run(&res, &q, &ao, out);
		}
	} else if (err == 0) {
		err = DBOPS_ERR_INVALID;
	}
	fclose(out);
	if (len > OPS_MAX_OUTPUT)
		memmove(buf, buf + len - OPS_MAX_OUTPUT, OPS_MAX_OUTPUT + 1);
	r->output = arena_strdup(p->a, buf);
	free(buf);
	r->status = err == 0 && q.diags.nerrors == 0 ? "done" : "failed";
	r->error = strcmp(r->status, "done") == 0
		       ? NULL
		       : ops_first_error(p->a, &q.diags);
	q.conn = NULL;
	pass_dispose(&q);
}

/* ---- one-shot operations */

struct ops_file {
	const char *cluster;
	const char *line; /* the command line */
	const char **args;
	size_t nargs;
};

static bool ops_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 100)
		return false;
	for (const char *s = id; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return false;
	return true;
}

/* Read operations/<id>.yaml: 0, or an error in diags (located). */
static int ops_read(struct ops_file *f, struct pass *p,
		    struct dbops_diag_list *diags, const char *path)
{
	static const char *const keys[] = {"apiVersion", "cluster", "command",
					   "args", NULL};
	const char *data;
	size_t len;
	const struct dbops_node *root, *v;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	if (source_read(&data, &len, p->src, diags, path) != 0 ||
	    spec_parse(&root, p->a, diags, path, data, len,
		       &spec_default_limits) != 0 ||
	    root == NULL)
		return DBOPS_ERR_INVALID;
	if (spec_check_keys(diags, p->a, root, "an operation", keys) != 0)
		rc = DBOPS_ERR_INVALID;
	if ((v = spec_get(root, "cluster")) == NULL ||
	    spec_string(&f->cluster, diags, p->a, v, "cluster") != 0) {
		if (v == NULL)
			diag_add(diags, p->a, DBOPS_SEV_ERROR,
				 DBOPS_ERR_INVALID, &root->loc,
				 "an operation must name its cluster")
			    ->hint = "Write cluster: NAME, as dbops.yaml names "
				     "it.";
		rc = DBOPS_ERR_INVALID;
	}
	if ((v = spec_get(root, "command")) == NULL) {
		diag_add(diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			 &root->loc, "an operation must say its command")
		    ->hint = "Write command: the plugin command's words, "
			     "e.g. \"replicas switchover\".";
		rc = DBOPS_ERR_INVALID;
	} else if (spec_string(&f->line, diags, p->a, v, "command") != 0) {
		rc = DBOPS_ERR_INVALID;
	}
	if ((v = spec_get(root, "args")) != NULL) {
		if (v->kind != DBOPS_NODE_MAP) {
			diag_add(diags, p->a, DBOPS_SEV_ERROR,
				 DBOPS_ERR_INVALID, &v->loc,
				 "args must be a map, got %s",
				 spec_kind_name(v));
			return DBOPS_ERR_INVALID;
		}
		f->args = arena_alloc(p->a, (2 * v->len + 2) * sizeof(char *));
		for (size_t i = 0; i < v->len; i++) {
			const char *val = "";

			if (v->items[i]->kind != DBOPS_NODE_NULL &&
			    spec_string(
				&val, diags, p->a, v->items[i],
				arena_printf(p->a, "args.%s", v->keys[i])) != 0)
				rc = DBOPS_ERR_INVALID;
			f->args[2 * f->nargs] = v->keys[i];
			f->args[2 * f->nargs + 1] = val;
			f->nargs++;
		}
	}
	return rc;
}

static void ops_one(struct pass *p, const struct pass_opts *po,
		    struct daemon *d, const char *cluster, const char *rev,
		    const char *name)
{
	struct dbops_diag_list diags = {0}, ignore = {0};
	const char *id = arena_strndup(p->a, name, strlen(name) - 5);
	const char *path = arena_printf(p->a, "%s/%s", OPS_DIR, name);
	struct ops_file f;
	struct ops_result r = {0};
	const char *plugin, *command, *error = NULL, **args = NULL;
	size_t nargs = 0;
	bool claimed = false;
	int rc;

	if (!ops_id_ok(id))
		return;
	rc = ops_read(&f, p, &diags, path);
	if (f.cluster == NULL || strcmp(f.cluster, cluster) != 0)
		return; /* another cluster's, or unreadable: not ours */
	if (dstore_op_claim(&claimed, p->conn, p->a, &ignore, id, cluster,
			    f.line != NULL ? f.line : "", rev,
			    d->identity) != 0 ||
	    !claimed)
		return;
	if (rc != 0) {
		char *buf = NULL;
		size_t len = 0;
		FILE *mf = open_memstream(&buf, &len);

		diag_print_list(mf, &diags);
		fclose(mf);
		dstore_op_finish(p->conn, p->a, &ignore, id, "invalid", NULL,
				 buf);
		dlog("error", cluster, "operation %s is invalid: %s", id,
		     diags.head != NULL ? diags.head->message : "");
		free(buf);
		return;
	}
	if (daemon_ops_resolve(&plugin, &command, &args, &nargs, d->reg, f.line,
			       p->a, &error) != 0) {
		dstore_op_finish(p->conn, p->a, &ignore, id, "invalid", NULL,
				 error);
		dlog("error", cluster, "operation %s: %s", id, error);
		return;
	}
	/* options of the file's args come after those of the line */
	if (f.nargs > 0) {
		const char **all = arena_alloc(
		    p->a, (2 * (nargs + f.nargs) + 2) * sizeof(*all));

		memcpy(all, args, 2 * nargs * sizeof(*all));
		memcpy(all + 2 * nargs, f.args, 2 * f.nargs * sizeof(*all));
		args = all;
		nargs += f.nargs;
	}
	dlog("info", cluster, "running operation %s: %s %s", id, plugin,
	     command);
	ops_command(&r, p, po, d, plugin, command, args, nargs,
		    arena_printf(p->a, "operation %s", id));
	dstore_op_finish(p->conn, p->a, &ignore, id, r.status, r.output,
			 r.error);
	dlog(strcmp(r.status, "done") == 0 ? "info" : "error", cluster,
	     "operation %s %s%s%s", id, r.status, r.error ? ": " : "",
	     r.error ? r.error : "");
}

static void ops_operations(struct pass *p, const struct pass_opts *po,
			   struct daemon *d, const char *cluster,
			   const char *rev)
{
	struct dbops_diag_list ignore = {0};
	const char *const *names;
	size_t n;

	if (source_list(&names, &n, p->src, &ignore, OPS_DIR, false) != 0)
		return; /* no operations directory */
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		if (len > 5 && strcmp(names[i] + len - 5, ".yaml") == 0)
			ops_one(p, po, d, cluster, rev, names[i]);
	}
}

/* ---- scheduled work */

/* The latest minute at or before `now`, within `back` seconds, at which
 * the expression matches (UTC), or 0. */
static time_t ops_due(const struct cron *c, time_t now, double back)
{
	for (time_t m = now - now % 60; m > now - (time_t)back; m -= 60) {
		struct tm tm;

		gmtime_r(&m, &tm);
		if (cron_match(c, &tm))
			return m;
	}
	return 0;
}

static void ops_schedules(struct pass *p, const struct pass_opts *po,
			  struct daemon *d, const struct daemon_config *c,
			  const char *cluster)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < p->nfacts; i++) {
		const struct dbops_fact *f = &p->facts[i].f;
		struct dbops_diag_list ignore = {0};
		const char *job, *line, *error = NULL, *plugin, *command;
		const char **args;
		size_t nargs, nf = 0;
		struct cron cron;
		char cbuf[200], expr[200];
		struct ops_result r = {0};
		bool claimed = false;
		time_t due;

		if (strncmp(f->name, "schedule.", 9) != 0 || f->value == NULL)
			continue;
		job = f->name + 9;
		/* five fields, then the command line */
		line = f->value;
		while (nf < 5 && *line != '\0') {
			line += strspn(line, " \t");
			line += strcspn(line, " \t");
			nf++;
		}
		snprintf(expr, sizeof(expr), "%.*s", (int)(line - f->value),
			 f->value);
		line += strspn(line, " \t");
		if (cron_parse(&cron, expr, &error, cbuf, sizeof(cbuf)) != 0 ||
		    daemon_ops_resolve(&plugin, &command, &args, &nargs, d->reg,
				       line, p->a, &error) != 0) {
			dlog("error", cluster,
			     "scheduled job %s is invalid: %s", job, error);
			continue;
		}
		/* due since the previous interval: missed runs (no daemon
		 * running) are skipped, as cron does */
		due = ops_due(&cron, now, c->interval_s * (1 + c->jitter) + 60);
		if (due == 0 ||
		    dstore_job_claim(&claimed, p->conn, p->a, &ignore, job, due,
				     d->identity) != 0 ||
		    !claimed)
			continue;
		dlog("info", cluster, "running scheduled job %s: %s %s", job,
		     plugin, command);
		ops_command(&r, p, po, d, plugin, command, args, nargs,
			    arena_printf(p->a, "schedule %s", job));
		dstore_job_finish(p->conn, p->a, &ignore, job, due, r.status,
				  r.error);
		if (r.error != NULL)
			dlog("error", cluster, "scheduled job %s failed: %s",
			     job, r.error);
	}
}

void daemon_ops_run(struct pass *p, const struct pass_opts *po,
		    struct daemon *d, const struct daemon_config *c,
		    const char *cluster, const char *rev)
{
	struct dbops_diag_list ignore = {0};

	if (p->conn == NULL || p->src == NULL)
		return;
	dstore_op_sweep(p->conn, p->a, &ignore);
	ops_operations(p, po, d, cluster, rev);
	ops_schedules(p, po, d, c, cluster);
}

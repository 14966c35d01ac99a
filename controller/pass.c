/* SPDX-License-Identifier: PostgreSQL */
/*
 * pass.c — one reconcile pass up to the plan; see pass.h. Plugin
 * callbacks are called only through the wrappers here, which set the
 * stage, add a context line to the diagnostics a callback raised, and
 * check that a failing callback explained itself.
 */
#include "pass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blobid.h"
#include "diag.h"
#include "secret.h"

#define CLUSTER_SPEC_FILE "cluster.yaml"
#define FLEET_FILE	  "dbops.yaml"

void pass_init(struct pass *p, struct registry *reg)
{
	memset(p, 0, sizeof(*p));
	p->a = arena_new();
	p->reg = reg;
	strbuf_init(&p->observed);
	p->plan.diags = &p->diags;
}

void pass_dispose(struct pass *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nplugins; i++)
		if (p->plugins[i].inited && p->plugins[i].lp->desc->fini)
			p->plugins[i].lp->desc->fini(p->plugins[i].ctx);
	strbuf_dispose(&p->observed);
	arena_free(p->a);
	p->a = NULL;
}

struct pass_plugin *pass_plugin_of(struct pass *p, const char *name)
{
	for (size_t i = 0; i < p->nplugins; i++)
		if (strcmp(p->plugins[i].lp->desc->name, name) == 0)
			return &p->plugins[i];
	return NULL;
}

static const char *stage_name(enum pass_stage s)
{
	switch (s) {
	case PASS_STAGE_VALIDATE:
		return "validate";
	case PASS_STAGE_OBSERVE:
		return "observe";
	case PASS_STAGE_DIFF:
		return "diff";
	case PASS_STAGE_APPLY:
		return "apply";
	case PASS_STAGE_VERIFY:
		return "verify";
	}
	return "?";
}

/*
 * After a callback: context on what it raised, and an error of our own
 * if it failed without a word.
 */
static int after_callback(struct pass *p, struct pass_plugin *pp,
			  struct dbops_diag *mark, int err, int nerrors_before)
{
	struct dbops_diag *first = mark != NULL ? mark->next : p->diags.head;

	if (err != 0 && p->diags.nerrors == nerrors_before) {
		struct dbops_diag *d = diag_add(
		    &p->diags, p->a, DBOPS_SEV_ERROR, err, NULL,
		    "plugin \"%s\" failed in its %s callback without a message",
		    pp->lp->desc->name, stage_name(p->stage));

		d->hint = "This is a bug in the plugin.";
		if (first == NULL)
			first = d;
	}
	if (p->stage != PASS_STAGE_VALIDATE && p->stage != PASS_STAGE_DIFF) {
		char *line = arena_printf(
		    p->a, "in the \"%s\" callback of plugin \"%s\"",
		    stage_name(p->stage), pp->lp->desc->name);

		for (struct dbops_diag *d = first; d != NULL; d = d->next)
			if (d->severity == DBOPS_SEV_ERROR)
				diag_context(d, p->a, "%s", line);
	}
	if (err == 0 && p->diags.nerrors > nerrors_before)
		err = DBOPS_ERR_INVALID;
	return err;
}

static int find_cluster(struct pass *p, const struct pass_opts *o)
{
	const char *data;
	size_t len;
	const struct dbops_node *root;
	struct spec_fleet fleet;
	struct dbops_diag *d;
	int err;

	p->cluster_dir = "";
	if (!source_exists(p->src, FLEET_FILE)) {
		if (o->cluster != NULL) {
			d = diag_add(
			    &p->diags, p->a, DBOPS_SEV_ERROR,
			    DBOPS_ERR_NOTFOUND, NULL,
			    "cluster \"%s\" was requested but the repository has no %s",
			    o->cluster, FLEET_FILE);
			d->hint =
			    "A repository holding several clusters lists them in dbops.yaml at its root; without it the root holds one cluster.yaml.";
			return DBOPS_ERR_NOTFOUND;
		}
		return 0;
	}
	if ((err = source_read(&data, &len, p->src, &p->diags, FLEET_FILE)) ||
	    (err = spec_parse(&root, p->a, &p->diags, FLEET_FILE, data, len,
			      &spec_default_limits)) ||
	    (err = spec_fleet_read(&fleet, &p->diags, p->a, root)))
		return err;
	if (o->cluster == NULL) {
		if (fleet.n == 1) {
			p->cluster_dir = fleet.members[0].path;
			return 0;
		}
		d = diag_add(
		    &p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		    "the repository holds %zu clusters; choose one with --cluster",
		    fleet.n);
		{
			struct strbuf sb;

			strbuf_init(&sb);
			for (size_t i = 0; i < fleet.n; i++)
				strbuf_printf(&sb, "%s\"%s\"", i ? ", " : "",
					      fleet.members[i].name);
			d->detail = arena_printf(p->a, "Clusters in %s: %s.",
						 FLEET_FILE, sb.buf);
			strbuf_dispose(&sb);
		}
		return DBOPS_ERR_INVALID;
	}
	for (size_t i = 0; i < fleet.n; i++) {
		if (strcmp(fleet.members[i].name, o->cluster) == 0) {
			p->cluster_dir = fleet.members[i].path;
			return 0;
		}
	}
	{
		const char **names =
		    arena_alloc(p->a, (fleet.n + 1) * sizeof(char *));
		const char *best;

		for (size_t i = 0; i < fleet.n; i++)
			names[i] = fleet.members[i].name;
		d = diag_add(&p->diags, p->a, DBOPS_SEV_ERROR,
			     DBOPS_ERR_NOTFOUND, NULL,
			     "cluster \"%s\" is not listed in %s", o->cluster,
			     FLEET_FILE);
		best = diag_suggest(o->cluster, names, fleet.n);
		if (best != NULL)
			d->hint =
			    arena_printf(p->a, "Did you mean \"%s\"?", best);
	}
	return DBOPS_ERR_NOTFOUND;
}

static struct pass_plugin *pass_plugin_at(struct pass *p, size_t index)
{
	for (size_t i = 0; i < p->nplugins; i++)
		if (p->plugins[i].index == index)
			return &p->plugins[i];
	return NULL;
}

/* Whether a fact published during validate is addressed to a plugin
 * ("parameters.require.archive_mode" to "parameters"). */
static bool pass_needed(const struct pass *p, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < p->nfacts; i++)
		if (p->facts[i].at_validate &&
		    strncmp(p->facts[i].f.name, name, len) == 0 &&
		    p->facts[i].f.name[len] == '.' &&
		    strcmp(p->facts[i].f.plugin, name) != 0)
			return true;
	return false;
}

/*
 * A plugin whose section the spec does not have still takes part when
 * another plugin's validate published facts addressed to it (the
 * settings the backups plugin needs of the parameters plugin): it is
 * inserted at its place in plugin order, with no section, and never
 * validated.
 */
static size_t pass_reg_index(const struct pass *p, const char *name)
{
	for (size_t i = 0; i < p->reg->n; i++)
		if (strcmp(p->reg->plugins[i].desc->name, name) == 0)
			return i;
	return (size_t)-1;
}

/*
 * Load the plugins a validate fact addresses that are not loaded yet
 * (loader_require), and, since that re-sorts the registry, find every
 * plugin of the pass and every fact's publisher at its new place.
 */
static int pass_load_needed(struct pass *p)
{
	const char **want = arena_alloc(p->a, (p->nfacts + 1) * sizeof(*want));
	const char **names;
	size_t nwant = 0, loaded = 0;
	int err;

	for (size_t i = 0; i < p->nfacts; i++) {
		const char *name = p->facts[i].f.name;
		const char *dot = strchr(name, '.');
		const char *target;

		if (!p->facts[i].at_validate || dot == NULL)
			continue;
		target = arena_strndup(p->a, name, (size_t)(dot - name));
		if (strcmp(target, p->facts[i].f.plugin) != 0 &&
		    loader_has_file(p->reg, target) &&
		    loader_find(p->reg, target) == NULL)
			want[nwant++] = target;
	}
	if (nwant == 0)
		return 0;
	/* the registry's array may move: keep the names (descriptors live
	 * in the loader's arena) */
	names = arena_alloc(p->a, (p->nplugins + 1) * sizeof(*names));
	for (size_t i = 0; i < p->nplugins; i++)
		names[i] = p->plugins[i].lp->desc->name;
	err = loader_require(p->reg, p->a, &p->diags, want, nwant, &loaded);
	for (size_t i = 0; i < p->nplugins; i++) {
		size_t at = pass_reg_index(p, names[i]);

		if (at == (size_t)-1) {
			/* loader_require only adds: an invariant */
			diag_add(&p->diags, p->a, DBOPS_SEV_ERROR,
				 DBOPS_ERR_GENERIC, NULL,
				 "plugin \"%s\" is no longer in the registry",
				 names[i]);
			return DBOPS_ERR_GENERIC;
		}
		p->plugins[i].index = at;
		p->plugins[i].lp = &p->reg->plugins[at];
	}
	/* back into plugin order (insertion: a handful of plugins) */
	for (size_t i = 1; i < p->nplugins; i++)
		for (size_t j = i;
		     j > 0 && p->plugins[j - 1].index > p->plugins[j].index;
		     j--) {
			struct pass_plugin t = p->plugins[j];

			p->plugins[j] = p->plugins[j - 1];
			p->plugins[j - 1] = t;
		}
	for (size_t i = 0; i < p->nplugins; i++)
		p->plugins[i].ctx->pp = &p->plugins[i];
	for (size_t i = 0; i < p->nfacts; i++)
		p->facts[i].index = pass_reg_index(p, p->facts[i].f.plugin);
	return err;
}

static int pass_add_needed(struct pass *p)
{
	int err = pass_load_needed(p);

	if (err != 0)
		return err;
	for (size_t i = 0; i < p->reg->n; i++) {
		struct loaded_plugin *lp = &p->reg->plugins[i];
		struct pass_plugin *pp;
		size_t at = 0;
		int before = p->diags.nerrors, e;
		struct dbops_diag *mark = p->diags.tail;

		if (pass_plugin_at(p, i) != NULL ||
		    !pass_needed(p, lp->desc->name))
			continue;
		while (at < p->nplugins && p->plugins[at].index < i)
			at++;
		memmove(&p->plugins[at + 1], &p->plugins[at],
			(p->nplugins - at) * sizeof(*p->plugins));
		p->nplugins++;
		for (size_t k = 0; k < p->nplugins; k++)
			if (k != at)
				p->plugins[k].ctx->pp = &p->plugins[k];
		pp = &p->plugins[at];
		memset(pp, 0, sizeof(*pp));
		pp->lp = lp;
		pp->index = i;
		pp->ctx = arena_alloc(p->a, sizeof(*pp->ctx));
		pp->ctx->head.host = &host_table;
		pp->ctx->pass = p;
		pp->ctx->pp = pp;
		if (lp->desc->init == NULL)
			continue;
		e = after_callback(p, pp, mark, lp->desc->init(pp->ctx),
				   before);
		if (e != 0)
			return e;
		pp->inited = true;
	}
	return 0;
}

/* Whether the connection comes from the trusted side (the command line,
 * the configuration), so that the spec's own is not used. */
static bool connection_given(const struct pass *p, const struct pass_opts *o)
{
	const struct config_cluster *cc =
	    config_cluster(o->config, p->spec.name);

	return o->conninfo != NULL ||
	       (cc != NULL && (cc->conninfo != NULL || cc->has_password));
}

/* The spec's own connection: no literal password, an allowed secret
 * reference, and both recorded for the trust comparison. */
static int connection_check(struct pass *p, const struct pass_opts *o)
{
	const struct dbops_node *conn = spec_get(p->root, "connection");
	const struct dbops_node *ci = spec_get(conn, "conninfo");
	const struct dbops_node *pw = spec_get(conn, "password");
	int err = 0;

	if (p->spec.conninfo != NULL && ci != NULL)
		err = trust_conninfo_check(p->spec.conninfo, &ci->loc,
					   "connection.conninfo", &p->diags,
					   p->a);
	if (p->spec.has_password &&
	    config_secret_allowed(o->config, &p->spec.password, &p->diags,
				  p->a) != 0)
		err = DBOPS_ERR_INVALID;
	if (connection_given(p, o))
		return err; /* the spec's connection is not used */
	if (ci != NULL)
		trust_record(&p->trust, p->a, p->root, ci, "connection", NULL);
	if (pw != NULL && p->spec.has_password)
		trust_record(
		    &p->trust, p->a, p->root, pw, "secret",
		    arena_printf(p->a, "%s:%s",
				 p->spec.password.kind == DBOPS_SECRET_ENV
				     ? "env"
				     : "file",
				 p->spec.password.name));
	return err;
}

/*
 * Read the trusted revision's spec (validate only: nothing connects) and
 * refuse this one when it decides otherwise where dbops connects or
 * which secrets it reads.
 */
static int trust_check(struct pass *p, const struct pass_opts *o)
{
	struct pass t;
	struct pass_opts to = *o;
	const char *rev = o->trusted_rev != NULL ? o->trusted_rev
			  : o->config != NULL	 ? o->config->trusted_rev
						 : NULL;
	int err;

	if (rev == NULL)
		return 0;
	if (o->source.repo == NULL) {
		diag_add(&p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			 NULL, "a trusted revision needs a repository source")
		    ->hint = "Plan with --repo PATH_OR_URL --rev REV, or drop "
			     "--trusted-rev (and trusted_rev in the "
			     "configuration) for a directory.";
		return DBOPS_ERR_INVALID;
	}
	to.source.rev = rev;
	to.source.base = NULL;
	to.trusted_rev = NULL;
	pass_init(&t, p->reg);
	t.validate_only = true;
	err = pass_load_revision(&t, &to);
	if (err != 0 || t.diags.nerrors > 0) {
		struct dbops_diag *d = diag_add(
		    &p->diags, p->a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
		    "could not read the trusted revision \"%s\"", rev);

		for (const struct dbops_diag *e = t.diags.head; e; e = e->next)
			if (e->severity == DBOPS_SEV_ERROR) {
				diag_detail(d, p->a, "%s", e->message);
				break;
			}
		d->hint = "The trusted revision must hold this cluster's spec "
			  "and be valid; nothing was connected to.";
		pass_dispose(&t);
		return DBOPS_ERR_INVALID;
	}
	err = trust_compare(&p->trust, &t.trust, rev, &p->diags, p->a);
	pass_dispose(&t);
	return err;
}

int pass_load(struct pass *p, const struct pass_opts *o)
{
	int err = pass_load_revision(p, o);

	if (err != 0 || p->diags.nerrors > 0)
		return err != 0 ? err : DBOPS_ERR_INVALID;
	return trust_check(p, o);
}

/*
 * Load the plugins whose sections the spec has (a plugin's section is its
 * name), and say which sections there are: every plugin found, loaded or
 * not, so that an unknown key is told from a plugin that was not needed.
 * A registry filled without loader_scan (everything loaded) answers with
 * the loaded plugins.
 */
static int pass_load_sections(struct pass *p, const char ***out, size_t *nout)
{
	const struct dbops_node *root = p->root;
	size_t n = root->kind == DBOPS_NODE_MAP ? root->len : 0, nwant = 0;
	const char **want = arena_alloc(p->a, (n + 1) * sizeof(*want));
	const char **sections;
	size_t nsections = 0;
	int err;

	for (size_t i = 0; i < n; i++)
		if (loader_has_file(p->reg, root->keys[i]))
			want[nwant++] = root->keys[i];
	err = loader_require(p->reg, p->a, &p->diags, want, nwant, NULL);
	if (err != 0)
		return err;
	if (p->reg->nfiles > 0) {
		sections =
		    arena_alloc(p->a, (p->reg->nfiles + 1) * sizeof(*sections));
		for (size_t i = 0; i < p->reg->nfiles; i++)
			sections[nsections++] = p->reg->files[i].name;
	} else {
		sections =
		    arena_alloc(p->a, (p->reg->n + 1) * sizeof(*sections));
		for (size_t i = 0; i < p->reg->n; i++)
			sections[nsections++] =
			    p->reg->plugins[i].desc->spec_section;
	}
	*out = sections;
	*nout = nsections;
	return 0;
}

int pass_load_revision(struct pass *p, const struct pass_opts *o)
{
	const char *data;
	size_t len, nsections;
	const char **sections;
	int err;

	p->config = o->config;
	err = source_open(&p->src, p->a, &p->diags, &o->source);
	if (err != 0)
		return err;
	if ((err = find_cluster(p, o)) != 0)
		return err;
	p->spec_path =
	    p->cluster_dir[0] != '\0'
		? arena_printf(p->a, "%s/%s", p->cluster_dir, CLUSTER_SPEC_FILE)
		: CLUSTER_SPEC_FILE;
	if ((err = source_read(&data, &len, p->src, &p->diags, p->spec_path)))
		return err;
	err = spec_parse(&p->root, p->a, &p->diags, p->spec_path, data, len,
			 &spec_default_limits);
	if (p->root == NULL)
		return err;

	if ((err = pass_load_sections(p, &sections, &nsections)) != 0)
		return err;
	{
		int e = spec_cluster_read(&p->spec, &p->diags, p->a, p->root,
					  sections, nsections);

		if (e == 0)
			e = connection_check(p, o);
		if (err == 0)
			err = e;
	}

	p->plugins = arena_alloc(p->a, (p->reg->n + 1) * sizeof(*p->plugins));
	for (size_t i = 0; i < p->reg->n; i++) {
		struct loaded_plugin *lp = &p->reg->plugins[i];
		const struct dbops_node *section =
		    spec_get(p->root, lp->desc->spec_section);
		struct pass_plugin *pp;

		if (section == NULL)
			continue;
		pp = &p->plugins[p->nplugins++];
		pp->lp = lp;
		pp->index = i;
		pp->section = section;
		pp->ctx = arena_alloc(p->a, sizeof(*pp->ctx));
		pp->ctx->head.host = &host_table;
		pp->ctx->pass = p;
		pp->ctx->pp = pp;
	}
	p->stage = PASS_STAGE_VALIDATE;
	for (size_t i = 0; i < p->nplugins; i++) {
		struct pass_plugin *pp = &p->plugins[i];
		int before = p->diags.nerrors;
		struct dbops_diag *mark = p->diags.tail;
		int e = 0;

		if (pp->lp->desc->init != NULL && !pp->inited) {
			p->stage = PASS_STAGE_VALIDATE;
			e = pp->lp->desc->init(pp->ctx);
			e = after_callback(p, pp, mark, e, before);
			if (e != 0) {
				if (err == 0)
					err = e;
				continue;
			}
			pp->inited = true;
		}
		e = pp->lp->desc->validate(pp->ctx, pp->section);
		e = after_callback(p, pp, mark, e, before);
		if (e != 0 && err == 0)
			err = e;
	}
	{
		int e = pass_add_needed(p);

		if (e != 0 && err == 0)
			err = e;
	}
	if (err == 0 && p->diags.nerrors > 0)
		err = DBOPS_ERR_INVALID;
	p->plan.cluster = p->spec.name;
	p->plan.spec_path = p->spec_path;
	p->plan.revision = source_revision(p->src);
	return err;
}

/* Connect with --conninfo, else the configuration's connection of the
 * cluster, else the spec's, else libpq's defaults (PG* variables). */
int pass_connect(struct pass *p, const struct pass_opts *o)
{
	const struct config_cluster *cc =
	    config_cluster(o->config, p->spec.name);
	const char *conninfo = p->spec.conninfo;
	const struct dbops_secret_ref *pw =
	    p->spec.has_password ? &p->spec.password : NULL;
	const char *password = NULL;
	int err;

	if (o->conninfo != NULL) {
		conninfo = o->conninfo;
		pw = NULL;
	} else if (cc != NULL && (cc->conninfo != NULL || cc->has_password)) {
		conninfo = cc->conninfo;
		pw = cc->has_password ? &cc->password : NULL;
	}
	if (pw != NULL &&
	    (err = secret_read(&password, p->a, &p->diags, pw)) != 0)
		return err;
	return pgconn_open(&p->conn, p->a, &p->diags, conninfo, password);
}

/* What identifies the server itself: a plan made against one cluster is
 * never applied to another. */
static int observe_identity(struct pass *p)
{
	struct dbops_rows *rows;
	int err;

	err = pgconn_query(
	    &rows, p->conn, p->a, &p->diags,
	    "SELECT current_setting('server_version_num') AS version, "
	    "current_database() AS db, "
	    "CASE WHEN has_function_privilege('pg_control_system()', "
	    "'EXECUTE') THEN (SELECT system_identifier::text FROM "
	    "pg_control_system()) END AS system_identifier",
	    0, NULL);
	if (err != 0)
		return err;
	for (int i = 0; i < rows->ncols; i++) {
		const char *v = rows->values[i];

		strbuf_puts(&p->observed, v ? v : "\\N");
		strbuf_putc(&p->observed, '\0');
	}
	return 0;
}

int pass_observe(struct pass *p)
{
	int err;

	strbuf_reset(&p->observed);
	err = pgconn_exec(p->conn, p->a, &p->diags,
			  "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (err != 0)
		return err;
	err = observe_identity(p);
	p->stage = PASS_STAGE_OBSERVE;
	for (size_t i = 0; i < p->nplugins && err == 0; i++) {
		struct pass_plugin *pp = &p->plugins[i];
		int before = p->diags.nerrors;
		struct dbops_diag *mark = p->diags.tail;

		err = pp->lp->desc->observe(&pp->live, pp->ctx, pp->section);
		err = after_callback(p, pp, mark, err, before);
	}
	if (err != 0) {
		struct dbops_diag_list ignore = {0};

		pgconn_exec(p->conn, p->a, &ignore, "ROLLBACK");
		return err;
	}
	if ((err = pgconn_exec(p->conn, p->a, &p->diags, "COMMIT")) != 0)
		return err;
	p->plan.live_fingerprint = blobid_hex(
	    p->a, p->observed.buf ? p->observed.buf : "", p->observed.len);
	return 0;
}

int pass_plan(struct pass *p)
{
	int err = pass_observe(p);

	if (err != 0)
		return err;
	p->stage = PASS_STAGE_DIFF;
	for (size_t i = 0; i < p->nplugins; i++) {
		struct pass_plugin *pp = &p->plugins[i];
		int before = p->diags.nerrors;
		struct dbops_diag *mark = p->diags.tail;
		int e;

		/* `dbops switchover` does the switchover, not the parameter
		 * drift the spec also has: a plugin's command plans that
		 * plugin's changes alone (the others still observe, for the
		 * facts they publish) */
		if (p->mode_plugin != NULL &&
		    strcmp(p->mode_plugin, pp->lp->desc->name) != 0)
			continue;
		e = pp->lp->desc->diff(pp->ctx, pp->section, pp->live);

		e = after_callback(p, pp, mark, e, before);
		if (e != 0 && err == 0)
			err = e;
	}
	plan_sort(&p->plan);
	p->plan.source_fingerprint = source_fingerprint(p->src);
	return err;
}

int pass_change_result(struct pass *p, const struct plan_change *c,
		       struct dbops_diag *mark, int nerrors_before, int err)
{
	struct pass_plugin *pp = pass_plugin_of(p, c->change.plugin);

	if (pp == NULL) /* a change always comes from a pass plugin */
		abort();
	p->stage = PASS_STAGE_APPLY;
	err = after_callback(p, pp, mark, err, nerrors_before);
	if (err != 0) {
		struct dbops_diag *first = mark ? mark->next : p->diags.head;

		for (struct dbops_diag *d = first; d != NULL; d = d->next)
			if (d->severity == DBOPS_SEV_ERROR)
				diag_context(d, p->a, "change %u of %zu: %s",
					     c->change.id, p->plan.n,
					     c->change.address);
	}
	return err;
}

int pass_apply_change(struct pass *p, struct plan_change *c)
{
	struct pass_plugin *pp = pass_plugin_of(p, c->change.plugin);
	int before = p->diags.nerrors;
	struct dbops_diag *mark = p->diags.tail;
	int err;

	if (pp == NULL) /* a change always comes from a pass plugin */
		abort();
	p->stage = PASS_STAGE_APPLY;
	err = pp->lp->desc->apply(pp->ctx, &c->change);
	return pass_change_result(p, c, mark, before, err);
}

bool pass_can_apply_many(struct pass *p, const struct plan_change *c)
{
	struct pass_plugin *pp = pass_plugin_of(p, c->change.plugin);

	return pp != NULL && pp->lp->desc->apply_many != NULL;
}

int pass_apply_many(struct pass *p, struct plan_change *const *cs, size_t n,
		    void (*report)(void *arg, size_t k, int err), void *arg)
{
	struct pass_plugin *pp = pass_plugin_of(p, cs[0]->change.plugin);
	const struct dbops_change **v = arena_alloc(p->a, n * sizeof(*v));
	int err;

	if (pp == NULL || pp->lp->desc->apply_many == NULL)
		abort();
	for (size_t k = 0; k < n; k++)
		v[k] = &cs[k]->change;
	p->stage = PASS_STAGE_APPLY;
	p->applied_fn = report;
	p->applied_arg = arg;
	err = pp->lp->desc->apply_many(pp->ctx, v, n);
	p->applied_fn = NULL;
	p->applied_arg = NULL;
	return err;
}

/* The optional read-only callbacks that run after observe or apply:
 * each plugin that has one, in order; the first error is returned. */
static int each_readonly(struct pass *p, bool status)
{
	int err = 0;

	p->stage = PASS_STAGE_VERIFY;
	for (size_t i = 0; i < p->nplugins; i++) {
		struct pass_plugin *pp = &p->plugins[i];
		const struct dbops_plugin *d = pp->lp->desc;
		int before = p->diags.nerrors;
		struct dbops_diag *mark = p->diags.tail;
		int e;

		/* the loader zeroes members a plugin was not built with */
		if (status ? d->status == NULL : d->verify == NULL)
			continue;
		/* a plugin's command concerns that plugin alone */
		if (p->mode_plugin != NULL &&
		    strcmp(p->mode_plugin, d->name) != 0)
			continue;
		e = status ? d->status(pp->ctx, pp->section, pp->live)
			   : d->verify(pp->ctx, pp->section);
		e = after_callback(p, pp, mark, e, before);
		if (e != 0 && err == 0)
			err = e;
	}
	return err;
}

int pass_verify(struct pass *p)
{
	return each_readonly(p, false);
}

int pass_status(struct pass *p)
{
	return each_readonly(p, true);
}

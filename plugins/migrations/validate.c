/* SPDX-License-Identifier: PostgreSQL */
/*
 * validate.c — the `migrations:` section read into a struct mig_spec, with
 * every problem reported at its file:line:col: unknown keys, wrong types,
 * timeouts PostgreSQL would refuse, unknown lint rules, a database named
 * twice. validate also lists the files of each location and parses their
 * names (files.c), so that `dbops validate` reports badly named and
 * duplicate migrations; observe reads and checksums them; SQL is parsed
 * in diff, and only for migrations that are pending.
 */
#include "change.h"

#include <ctype.h>
#include <string.h>

static const char *const mig_top_keys[] = {
    "lock_timeout", "statement_timeout", "lock_wait",
    "lock_retries", "databases",	 NULL,
};
static const char *const mig_db_keys[] = {
    "database",	    "locations", "history_table", "out_of_order", "mixed",
    "placeholders", "lint",	 "baseline",	  "target",	  "changes",
    NULL,
};
static const char *const mig_lint_keys[] = {"level", "disable", NULL};
static const char *const mig_baseline_keys[] = {"version", "description", NULL};

/* A PostgreSQL time value: digits with an optional unit. */
static bool mig_duration_ok(const char *s)
{
	static const char *const units[] = {"",	   "us", "ms", "s",
					    "min", "h",	 "d",  NULL};
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	while (*p == ' ')
		p++;
	for (size_t i = 0; units[i] != NULL; i++)
		if (strcmp(p, units[i]) == 0)
			return true;
	return false;
}

static int mig_duration(const char **out, struct dbops_ctx *ctx,
			const struct dbops_node *node, const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d;

	if (node == NULL)
		return 0;
	if (h->spec_string(out, ctx, node, what) != 0)
		return DBOPS_ERR_INVALID;
	if (mig_duration_ok(*out))
		return 0;
	d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &node->loc,
		    "invalid value for %s: %s", what, plug_value(ctx, *out));
	h->diag_hint(
	    ctx, d,
	    "Write a number with an optional unit (ms, s, min, h, d), such as \"5s\"; 0 turns the timeout off.");
	return DBOPS_ERR_INVALID;
}

static int mig_string_list(const char *const **out, size_t *n,
			   struct dbops_ctx *ctx, const struct dbops_node *node,
			   const char *what)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char **v;
	int result = 0;

	if (node->kind != DBOPS_NODE_SEQ) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &node->loc,
			"%s must be a list", what);
		return DBOPS_ERR_INVALID;
	}
	v = h->alloc(ctx, (node->len + 1) * sizeof(*v));
	for (size_t i = 0; i < node->len; i++)
		if (h->spec_string(&v[i], ctx, node->items[i], what) != 0)
			result = DBOPS_ERR_INVALID;
	*out = v;
	*n = node->len;
	return result;
}

static int mig_load_lint(struct mig_db *db, struct dbops_ctx *ctx,
			 const struct dbops_node *lint)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *level, *disable;
	int result = 0;

	if (h->spec_check_keys(ctx, lint, "the lint settings", mig_lint_keys))
		return DBOPS_ERR_INVALID;
	if ((level = h->spec_get(lint, "level")) != NULL) {
		const char *s = NULL;

		if (h->spec_string(&s, ctx, level, "lint.level") != 0)
			return DBOPS_ERR_INVALID;
		if (strcmp(s, "warning") == 0)
			db->lint_level = MIG_LINT_WARNING;
		else if (strcmp(s, "error") == 0)
			db->lint_level = MIG_LINT_ERROR;
		else if (strcmp(s, "off") == 0)
			db->lint_level = MIG_LINT_OFF;
		else {
			struct dbops_diag *d =
			    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
				    &level->loc, "invalid lint level %s",
				    plug_value(ctx, s));

			h->diag_hint(ctx, d,
				     "Use \"warning\", \"error\" or \"off\".");
			result = DBOPS_ERR_INVALID;
		}
	}
	if ((disable = h->spec_get(lint, "disable")) != NULL) {
		if (mig_string_list(&db->lint_disabled, &db->nlint_disabled,
				    ctx, disable, "lint.disable") != 0)
			return DBOPS_ERR_INVALID;
		for (size_t i = 0; i < db->nlint_disabled; i++) {
			if (mig_rule_known(db->lint_disabled[i]))
				continue;
			h->diag_hint(
			    ctx,
			    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
				    &disable->items[i]->loc,
				    "unknown lint rule %s",
				    plug_value(ctx, db->lint_disabled[i])),
			    "The rules are listed in plugins/migrations/README.md.");
			result = DBOPS_ERR_INVALID;
		}
	}
	return result;
}

static int mig_load_baseline(struct mig_db *db, struct dbops_ctx *ctx,
			     const struct dbops_node *b)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v, *d;

	if (h->spec_check_keys(ctx, b, "the baseline", mig_baseline_keys))
		return DBOPS_ERR_INVALID;
	db->baseline_version = "1";
	db->baseline_description = "<< Flyway Baseline >>";
	if ((v = h->spec_get(b, "version")) != NULL &&
	    h->spec_string(&db->baseline_version, ctx, v, "baseline.version"))
		return DBOPS_ERR_INVALID;
	if ((d = h->spec_get(b, "description")) != NULL &&
	    h->spec_string(&db->baseline_description, ctx, d,
			   "baseline.description"))
		return DBOPS_ERR_INVALID;
	if (mig_version_parse(&db->baseline, ctx, db->baseline_version) != 0) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			v ? &v->loc : &b->loc, "invalid baseline version %s",
			plug_value(ctx, db->baseline_version));
		return DBOPS_ERR_INVALID;
	}
	return 0;
}

/* target: the last version to apply ("latest", the default, for all);
 * newer files wait until the target moves, as with Flyway's -target. */
static int mig_load_target(struct mig_db *db, struct dbops_ctx *ctx,
			   const struct dbops_node *t)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *text = NULL;

	if (h->spec_string(&text, ctx, t, "target"))
		return DBOPS_ERR_INVALID;
	if (strcmp(text, "latest") == 0)
		return 0;
	if (mig_version_parse(&db->target, ctx, text) != 0) {
		struct dbops_diag *d =
		    h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &t->loc,
			    "invalid target version %s", plug_value(ctx, text));

		h->diag_hint(
		    ctx, d,
		    "A version is digits separated by \".\" or \"_\" (\"1.5\"), or \"latest\".");
		return DBOPS_ERR_INVALID;
	}
	db->has_target = true;
	return 0;
}

static int mig_load_placeholders(struct mig_db *db, struct dbops_ctx *ctx,
				 const struct dbops_node *ph)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char **names, **values;
	int result = 0;

	if (ph->kind != DBOPS_NODE_MAP) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &ph->loc,
			"placeholders must be a map of names to values");
		return DBOPS_ERR_INVALID;
	}
	names = h->alloc(ctx, (ph->len + 1) * sizeof(*names));
	values = h->alloc(ctx, (ph->len + 1) * sizeof(*values));
	for (size_t i = 0; i < ph->len; i++) {
		names[i] = ph->keys[i];
		if (h->spec_string(&values[i], ctx, ph->items[i],
				   "a placeholder value") != 0)
			result = DBOPS_ERR_INVALID;
	}
	db->ph_names = names;
	db->ph_values = values;
	db->nph = ph->len;
	return result;
}

static int mig_load_table(struct mig_db *db, struct dbops_ctx *ctx,
			  const struct dbops_node *node)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = NULL, *dot;

	db->hist_schema = MIG_DEFAULT_SCHEMA;
	db->hist_table = MIG_DEFAULT_TABLE;
	if (node == NULL)
		return 0;
	if (h->spec_string(&s, ctx, node, "history_table") != 0)
		return DBOPS_ERR_INVALID;
	dot = strchr(s, '.');
	if (*s == '\0' || (dot && (dot == s || dot[1] == '\0' ||
				   strchr(dot + 1, '.') != NULL))) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &node->loc,
			"invalid history table name %s", plug_value(ctx, s));
		return DBOPS_ERR_INVALID;
	}
	if (dot != NULL) {
		db->hist_schema = h->printf(ctx, "%.*s", (int)(dot - s), s);
		db->hist_table = dot + 1;
	} else {
		db->hist_table = s;
	}
	return 0;
}

static const char *mig_cluster_dir(struct dbops_ctx *ctx,
				   const struct dbops_node *section)
{
	const char *file = section->loc.file, *slash;

	if (file == NULL || (slash = strrchr(file, '/')) == NULL)
		return "";
	return dbops_host(ctx)->printf(ctx, "%.*s", (int)(slash - file), file);
}

static int mig_load_db(struct mig_db *db, struct dbops_ctx *ctx,
		       const struct dbops_node *node, enum mig_load load,
		       const char *cluster_dir)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_node *v, *locs;
	int result = 0;

	db->loc = node->loc;
	if (h->spec_check_keys(ctx, node, "a migrations database", mig_db_keys))
		return DBOPS_ERR_INVALID;
	if ((v = h->spec_get(node, "database")) == NULL) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &node->loc,
			"a migrations database needs \"database\"");
		return DBOPS_ERR_INVALID;
	}
	if (h->spec_string(&db->database, ctx, v, "database") != 0)
		return DBOPS_ERR_INVALID;
	locs = h->spec_get(node, "locations");
	if (locs == NULL || locs->kind != DBOPS_NODE_SEQ || locs->len == 0) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		    locs ? &locs->loc : &node->loc,
		    "database %s needs \"locations\", a list of directories",
		    plug_value(ctx, db->database));
		return DBOPS_ERR_INVALID;
	}
	for (size_t i = 0; i < locs->len; i++) {
		const char *s = NULL;

		if (h->spec_string(&s, ctx, locs->items[i], "a location") != 0)
			return DBOPS_ERR_INVALID;
		if (*s == '/' || strstr(s, "..") != NULL) {
			h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			    &locs->items[i]->loc,
			    "location %s must be a relative path inside the spec repository",
			    plug_value(ctx, s));
			return DBOPS_ERR_INVALID;
		}
	}
	if (mig_load_table(db, ctx, h->spec_get(node, "history_table")))
		result = DBOPS_ERR_INVALID;
	if ((v = h->spec_get(node, "out_of_order")) != NULL &&
	    h->spec_bool(&db->out_of_order, ctx, v, "out_of_order"))
		result = DBOPS_ERR_INVALID;
	if ((v = h->spec_get(node, "mixed")) != NULL &&
	    h->spec_bool(&db->mixed, ctx, v, "mixed"))
		result = DBOPS_ERR_INVALID;
	if ((v = h->spec_get(node, "placeholders")) != NULL &&
	    mig_load_placeholders(db, ctx, v))
		result = DBOPS_ERR_INVALID;
	if ((v = h->spec_get(node, "lint")) != NULL &&
	    mig_load_lint(db, ctx, v))
		result = DBOPS_ERR_INVALID;
	if ((v = h->spec_get(node, "baseline")) != NULL &&
	    mig_load_baseline(db, ctx, v))
		result = DBOPS_ERR_INVALID;
	if ((v = h->spec_get(node, "target")) != NULL &&
	    mig_load_target(db, ctx, v))
		result = DBOPS_ERR_INVALID;
	if (mig_changes_load(db, ctx, h->spec_get(node, "changes")) != 0)
		result = DBOPS_ERR_INVALID;
	if (result == 0 && load != MIG_LOAD_SPEC)
		result = mig_load_files(ctx, db, locs, cluster_dir, load);
	return result;
}

int mig_spec_load(struct mig_spec **out, struct dbops_ctx *ctx,
		  const struct dbops_node *section, enum mig_load load)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_spec *spec = h->alloc(ctx, sizeof(*spec));
	const struct dbops_node *dbs, *v;
	const char *cluster_dir = mig_cluster_dir(ctx, section);
	int result = 0;

	spec->lock_timeout = MIG_DEFAULT_LOCK_TIMEOUT;
	spec->statement_timeout = MIG_DEFAULT_STATEMENT_TIMEOUT;
	spec->lock_wait_s = MIG_DEFAULT_LOCK_WAIT_S;
	if (h->spec_check_keys(ctx, section, "the migrations section",
			       mig_top_keys))
		return DBOPS_ERR_INVALID;
	if (mig_duration(&spec->lock_timeout, ctx,
			 h->spec_get(section, "lock_timeout"),
			 "migrations.lock_timeout") ||
	    mig_duration(&spec->statement_timeout, ctx,
			 h->spec_get(section, "statement_timeout"),
			 "migrations.statement_timeout"))
		result = DBOPS_ERR_INVALID;
	spec->lock_retries = h->alloc(ctx, sizeof(*spec->lock_retries));
	if (mig_lockpolicy_load(spec->lock_retries, ctx,
				h->spec_get(section, "lock_retries")) != 0)
		result = DBOPS_ERR_INVALID;
	if ((v = h->spec_get(section, "lock_wait")) != NULL &&
	    h->spec_int(&spec->lock_wait_s, ctx, v, "migrations.lock_wait", 0,
			86400))
		result = DBOPS_ERR_INVALID;
	dbs = h->spec_get(section, "databases");
	if (dbs == NULL || dbs->kind != DBOPS_NODE_SEQ) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			dbs ? &dbs->loc : &section->loc,
			"the migrations section needs \"databases\", a list");
		return DBOPS_ERR_INVALID;
	}
	spec->dbs = h->alloc(ctx, (dbs->len + 1) * sizeof(*spec->dbs));
	spec->ndbs = dbs->len;
	for (size_t i = 0; i < dbs->len; i++) {
		if (mig_load_db(&spec->dbs[i], ctx, dbs->items[i], load,
				cluster_dir) != 0) {
			result = DBOPS_ERR_INVALID;
			continue;
		}
		for (size_t k = 0; k < i; k++)
			if (spec->dbs[k].database != NULL &&
			    strcmp(spec->dbs[k].database,
				   spec->dbs[i].database) == 0) {
				h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
					&dbs->items[i]->loc,
					"database %s is listed twice",
					plug_value(ctx, spec->dbs[i].database));
				result = DBOPS_ERR_INVALID;
			}
	}
	*out = spec;
	return result;
}

int mig_validate(struct dbops_ctx *ctx, const struct dbops_node *section)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct mig_spec *spec = NULL;
	bool offline = h->flag(ctx, "validate-only");
	struct mig_tally *tallies;
	int result;

	/* For a plan, names and git ids only: reading files is observe's
	 * work, done only for those it must read (sources.c), and parsing
	 * them diff's, only for pending migrations. `dbops validate`
	 * has no database to compare with, so it reads, parses and lints
	 * them all (a file that does not parse is an error wherever it
	 * is). */
	result = mig_spec_load(&spec, ctx, section,
			       offline ? MIG_LOAD_FILES : MIG_LOAD_IDS);
	if (result != 0)
		return result;
	if (!offline) {
		/* observe starts from this listing instead of its own */
		h->set_pass_data(ctx, spec);
		return 0;
	}
	tallies = h->alloc(ctx, (spec->ndbs + 1) * sizeof(*tallies));
	for (size_t i = 0; i < spec->ndbs; i++) {
		const struct mig_db *db = &spec->dbs[i];

		mig_tally_init(&tallies[i], ctx, db);
		for (size_t k = 0; k < db->nfiles + db->ncallbacks; k++) {
			const struct mig_file *f =
			    k < db->nfiles ? &db->files[k]
					   : &db->callbacks[k - db->nfiles];
			bool lint = k < db->nfiles &&
				    mig_tally_wants(&tallies[i], ctx, f);
			struct dbops_diag *error = NULL;
			const char *sql = mig_file_sql(ctx, db, f, &error);
			struct mig_parsed r;

			if (sql == NULL) {
				mig_tally_error(&tallies[i], ctx, error);
				result = DBOPS_ERR_INVALID;
				continue;
			}
			if (mig_sql_parse(
				&r, ctx, sql, f,
				(lint ? MIG_PARSE_LINT : 0) |
				    (strcmp(spec->lock_timeout, "0") != 0
					 ? MIG_PARSE_LOCK_TIMEOUT_SET
					 : 0)) != 0) {
				mig_tally_error(&tallies[i], ctx, r.error);
				result = DBOPS_ERR_INVALID;
				continue;
			}
			if (lint && mig_tally_lint(&tallies[i], ctx, f, sql,
						   r.findings, r.nfindings) > 0)
				result = DBOPS_ERR_INVALID;
		}
	}
	for (size_t i = 0; i < spec->ndbs; i++)
		mig_tally_summary(&tallies[i], ctx);
	return result;
}

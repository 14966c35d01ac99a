/* SPDX-License-Identifier: PostgreSQL */
/*
 * parameters_int.h — the private interface between the files of the
 * "parameters" plugin: the observed model of pg_settings and
 * pg_file_settings, value normalisation (units, booleans, enums, lists)
 * and the callbacks that parameters.c puts in the descriptor.
 *
 * Everything here has the par_ prefix and hidden visibility (the build
 * compiles plugins with -fvisibility=hidden); the unit tests link these
 * files directly. Nothing here includes controller headers; only
 * patroni.c (the routing through Patroni) uses libpq.
 */
#ifndef DBOPS_PAR_INT_H
#define DBOPS_PAR_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "dbops/host.h"
#include "dbops/plugin.h"
#include "dbops/spec.h"
#include "../patroni.h"
#include "../value.h"

enum par_type {
	PAR_STRING = 0,
	PAR_BOOL,
	PAR_INTEGER,
	PAR_REAL,
	PAR_ENUM,
};

/* One row of pg_settings, with the winning pg_file_settings row. */
struct par_setting {
	const char *name;    /* canonical spelling, "DateStyle" */
	const char *setting; /* running value, in the base unit */
	const char *unit;    /* "8kB", "ms", ... or NULL */
	enum par_type type;  /* from vartype */
	const char *context; /* "postmaster", "sighup", ... */
	const char *min_val; /* NULL unless integer or real */
	const char *max_val;
	const char *const *enumvals; /* enum: allowed values */
	size_t nenumvals;
	bool pending_restart;
	const char *boot_val;
	const char *source; /* "default", "configuration file", ... */
	/* the last line naming the setting in the configuration files (the
	 * highest seqno of pg_file_settings), or NULL */
	const char *file_value;
	bool file_applied;
	const char *file_error;
};

/* The observed state: rows sorted by case-folded name. */
struct par_live {
	struct par_setting *settings;
	size_t n;
	/* every name of pg_settings, sorted, for "did you mean" hints; only
	 * read when a desired name has no row, else NULL */
	const char *const *all_names;
	size_t nall_names;
	bool file_settings_read; /* pg_file_settings was readable */
	bool read_all_settings;	 /* the role sees every setting */
	/* under Patroni (patroni.c): its dynamic configuration and members */
	bool patroni;
	struct patroni_config *ptn_config;
	struct patroni_cluster *ptn_cluster;
};

/* A value normalised for comparison. */
struct par_value {
	enum par_type type;
	bool boolean;	  /* PAR_BOOL */
	double number;	  /* PAR_INTEGER, PAR_REAL: in the base unit */
	const char *text; /* PAR_ENUM: canonical value; PAR_STRING: as given */
	/* PAR_STRING of a list setting: the elements (par_list_split);
	 * nitems is -1 for other strings */
	const char *const *items;
	int nitems;
};

/* Why a desired value does not parse. */
struct par_parse_error {
	const char *message; /* full primary message, arena */
	const char *hint;    /* static text, or NULL */
};

/* Where the configured value was found. */
enum par_origin {
	PAR_ORIGIN_RUNNING = 0, /* pg_settings.setting */
	PAR_ORIGIN_FILE,	/* the winning pg_file_settings line */
	PAR_ORIGIN_DEFAULT,	/* boot_val: no line in any file */
};

/* What apply needs, kept as the change's payload. */
struct par_payload {
	const char *name;  /* canonical name */
	const char *value; /* desired text, as in the spec */
	bool reload_only;  /* configured already: only pg_reload_conf() */
	bool patroni;	   /* through PATCH /config, not ALTER SYSTEM */
};

/* ---- normalize.c */

/* Parse `text` as a value of `s` the way PostgreSQL's GUC code does
 * (parse_bool, parse_int, parse_real, enum lookup). Returns 0, or
 * DBOPS_ERR_INVALID with *err filled (err may be NULL). */
int par_value_parse(struct par_value *out, struct par_parse_error *err,
		    struct dbops_ctx *ctx, const struct par_setting *s,
		    const char *text);
/* Whether a parsed number lies within the row's min_val .. max_val. */
bool par_value_in_range(const struct par_setting *s, const struct par_value *v);
/* Equality of two parsed values of `s`. `loose` accepts reals that
 * print the same with %g (pg_settings shows six significant digits). */
bool par_value_equal(const struct par_setting *s, const struct par_value *a,
		     const struct par_value *b, bool loose);
/* A parsed value in PostgreSQL's SHOW form ("32MB", "1s", "on"). */
const char *par_value_format(struct dbops_ctx *ctx, const struct par_setting *s,
			     const struct par_value *v);
/* A number of the setting's base unit in SHOW form (min_val, max_val). */
const char *par_number_format(struct dbops_ctx *ctx,
			      const struct par_setting *s, double number);
/* Text in the row's type parsed and shown in SHOW form; the text itself
 * when it does not parse. */
const char *par_text_format(struct dbops_ctx *ctx, const struct par_setting *s,
			    const char *text);

/* par_text_format for a sentence: "empty" for an empty value, a long
 * string value quoted and cut (plug_value). */
const char *par_text_describe(struct dbops_ctx *ctx,
			      const struct par_setting *s, const char *text);

/* The list-valued string settings. `quote`: ALTER SYSTEM takes one
 * literal per element (GUC_LIST_QUOTE); `fold`: unquoted elements are
 * case-insensitive. Returns false for other settings. */
bool par_list_setting(const char *name, bool *quote, bool *fold);
/* Split a list value on commas outside double quotes, trim blanks,
 * remove the quotes ("" inside a quoted element is one "), and lower-case
 * unquoted elements when `fold`. Returns the number of elements or -1
 * for an unterminated quote. */
int par_list_split(const char ***out, struct dbops_ctx *ctx, const char *text,
		   bool fold);

/* ---- observe.c */

/* Read the rows of pg_settings and pg_file_settings for `names` (any
 * case; names that are not GUC names are skipped) into *out, and every
 * name of pg_settings when one of them has no row. No name, no query.
 * Read-only; never issues a query the role may lack the privilege for. */
int par_live_load(struct par_live **out, struct dbops_ctx *ctx,
		  const char *const *names, size_t nnames);
const struct par_setting *par_live_find(const struct par_live *live,
					const char *name);
/* The configured value of a row: what the server will run after a
 * reload (or a restart), as text. */
const char *par_configured(const struct par_live *live,
			   const struct par_setting *s,
			   enum par_origin *origin);
/* A source in which the value comes from the session, a role or a
 * database (ALTER ROLE SET ...) rather than the server configuration. */
bool par_source_is_session(const char *source);
/* Settings ALTER SYSTEM refuses although their context is not internal. */
bool par_not_alterable(const struct par_setting *s);
/* Case-insensitive GUC name comparison (ASCII). */
int par_name_cmp(const char *a, const char *b);

int par_observe(void **live_out, struct dbops_ctx *ctx,
		const struct dbops_node *section);

/* ---- needs.c */

/* The spec's section with the settings other plugins need laid over it
 * (facts parameters.require.* and parameters.include.*); `section` itself
 * when there are none. live may be NULL (observe: names only). A value
 * the spec sets otherwise is an error. */
int par_effective(const struct dbops_node **out, struct dbops_ctx *ctx,
		  const struct dbops_node *section,
		  const struct par_live *live);

/* ---- validate.c */

/* Whether `name` has the shape of a GUC name. */
bool par_name_valid(const char *name);
int par_validate(struct dbops_ctx *ctx, const struct dbops_node *section);

/* ---- diff.c */

/* The ALTER SYSTEM statement that sets `s` to `value`, or NULL when the
 * value cannot be written (an empty GUC_LIST_QUOTE list with a non-empty
 * default). */
const char *par_statement(struct dbops_ctx *ctx, const struct par_setting *s,
			  const char *value);
/* The closest of `names` to `word`, when close enough to be a typo. */
int par_diff(struct dbops_ctx *ctx, const struct dbops_node *section,
	     void *live);

/* ---- patroni.c: routing through Patroni (facts replicas.*) */

/* Whether the replicas plugin says the cluster is under Patroni. */
bool par_ptn_active(struct dbops_ctx *ctx);
/* Whether replicas.patroni.restart is rolling. */
bool par_ptn_rolling(struct dbops_ctx *ctx);
/* The REST endpoints and credentials, from the replicas plugin's facts. */
int par_ptn_endpoint(struct patroni_endpoint **out, struct dbops_ctx *ctx);
/* GET /config and GET /cluster into the live model. */
int par_ptn_observe(struct par_live *live, struct dbops_ctx *ctx);
/* Refuse what Patroni sets itself or would replace (an error at loc). */
int par_ptn_check(struct dbops_ctx *ctx, const struct par_setting *s,
		  const struct par_value *want, const struct dbops_loc *loc);
/* The plan's text for a setting: PATCH /config {...}. */
const char *par_ptn_sql(struct dbops_ctx *ctx, const char *name,
			const char *value);
/* The rolling restart's changes, when `needed` (a restart-only change
 * planned) or a member is pending already, and replicas.patroni.restart
 * allows it; a warning otherwise. */
void par_ptn_plan_restart(struct dbops_ctx *ctx, const struct par_live *live,
			  bool needed, const struct dbops_loc *loc);
bool par_ptn_is_restart(const struct dbops_change *change);
int par_ptn_apply_restart(struct dbops_ctx *ctx,
			  const struct dbops_change *change);
/* PATCH one setting and wait until the primary runs it (or waits for a
 * restart for it). */
int par_ptn_apply(struct dbops_ctx *ctx, const struct par_setting *s,
		  const struct par_value *want, const char *value);
/* Warn for each member that waits for a restart. */
void par_ptn_verify(struct dbops_ctx *ctx, const struct dbops_loc *loc);

/* ---- apply.c */

int par_apply(struct dbops_ctx *ctx, const struct dbops_change *change);
int par_verify(struct dbops_ctx *ctx, const struct dbops_node *section);

#endif

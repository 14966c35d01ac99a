/* SPDX-License-Identifier: PostgreSQL */
/*
 * normalize.c — setting values parsed and shown the way PostgreSQL's GUC
 * code does it, so that the desired text of a spec and the text the
 * server reports compare equal whenever the server would store the same
 * value: "1GB" and 131072 blocks of 8kB, "1min" and "60s", "yes" and "on",
 * "Read Committed" and "read committed", "a,b" and "a, b".
 *
 * The rules follow guc.c of PostgreSQL 15: parse_bool, parse_int (octal
 * and hex, fractions rounded to the nearest integer), parse_real, the unit
 * conversion tables with their rounding to the next smaller unit, enum
 * lookup (case-insensitive, with the hidden aliases that pg_settings does
 * not list), and the SHOW formatting (the largest unit that divides the
 * value). Pure functions: no I/O, memory from the host's arena.
 */
#include "parameters_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAR_MAX_UNIT_LEN 3 /* PostgreSQL's MAX_UNIT_LEN */

enum par_unit_kind {
	PAR_UNIT_NONE = 0,
	PAR_UNIT_MEMORY,
	PAR_UNIT_TIME,
};

/* A unit name with its size in bytes (memory) or microseconds (time). */
struct par_unit_name {
	const char *name;
	double size;
};

/* Largest first, as PostgreSQL's conversion tables. */
static const struct par_unit_name par_memory_units[] = {
    {"TB", 1099511627776.0}, {"GB", 1073741824.0}, {"MB", 1048576.0},
    {"kB", 1024.0},	     {"B", 1.0},	   {NULL, 0},
};

static const struct par_unit_name par_time_units[] = {
    {"d", 86400000000.0},
    {"h", 3600000000.0},
    {"min", 60000000.0},
    {"s", 1000000.0},
    {"ms", 1000.0},
    {"us", 1.0},
    {NULL, 0},
};

static const char par_memory_hint[] =
    "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".";
static const char par_time_hint[] =
    "Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".";

/* The base unit of a setting: its kind and its size. */
struct par_base {
	enum par_unit_kind kind;
	double size;
	const struct par_unit_name *table;
};

/*
 * pg_settings.unit is a unit name, optionally preceded by a count of it
 * ("8kB" for blocks). Anything else is taken as "no unit".
 */
static struct par_base par_base_of(const char *unit)
{
	struct par_base b = {PAR_UNIT_NONE, 1.0, NULL};
	double count = 1.0;
	char *end;

	if (unit == NULL || *unit == '\0')
		return b;
	if (isdigit((unsigned char)*unit)) {
		count = strtod(unit, &end);
		if (count <= 0)
			return b;
		unit = end;
	}
	for (const struct par_unit_name *u = par_memory_units; u->name; u++)
		if (strcmp(unit, u->name) == 0) {
			b.kind = PAR_UNIT_MEMORY;
			b.size = count * u->size;
			b.table = par_memory_units;
			return b;
		}
	for (const struct par_unit_name *u = par_time_units; u->name; u++)
		if (strcmp(unit, u->name) == 0) {
			b.kind = PAR_UNIT_TIME;
			b.size = count * u->size;
			b.table = par_time_units;
			return b;
		}
	return b;
}

/* ASCII case-insensitive comparison of at most n bytes (pg_strncasecmp). */
static int par_strncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		int ca = tolower((unsigned char)*a);
		int cb = tolower((unsigned char)*b);

		if (ca != cb)
			return ca - cb;
		if (ca == '\0')
			return 0;
	}
	return 0;
}

static bool par_streq_nocase(const char *a, const char *b)
{
	return par_strncasecmp(a, b, (size_t)-1) == 0;
}

/* PostgreSQL's parse_bool: true/false/yes/no and their prefixes, on/off
 * (at least two letters), 1/0, any case. */
static bool par_parse_bool(const char *value, bool *result)
{
	size_t len = strlen(value);
	size_t len2 = len > 2 ? len : 2;

	switch (*value) {
	case 't':
	case 'T':
		if (par_strncasecmp(value, "true", len) == 0)
			return *result = true, true;
		break;
	case 'f':
	case 'F':
		if (par_strncasecmp(value, "false", len) == 0)
			return *result = false, true;
		break;
	case 'y':
	case 'Y':
		if (par_strncasecmp(value, "yes", len) == 0)
			return *result = true, true;
		break;
	case 'n':
	case 'N':
		if (par_strncasecmp(value, "no", len) == 0)
			return *result = false, true;
		break;
	case 'o':
	case 'O':
		if (par_strncasecmp(value, "on", len2) == 0)
			return *result = true, true;
		if (par_strncasecmp(value, "off", len2) == 0)
			return *result = false, true;
		break;
	case '1':
		if (len == 1)
			return *result = true, true;
		break;
	case '0':
		if (len == 1)
			return *result = false, true;
		break;
	default:
		break;
	}
	return false;
}

/*
 * PostgreSQL's convert_to_base_unit: a unit name of at most three
 * characters, blanks after it; fractions are rounded to a whole number of
 * the next smaller unit ("1.5h" is 90 minutes, "0.3kB" is 307 bytes).
 */
static bool par_to_base(double value, const char *unit,
			const struct par_base *base, double *out)
{
	char name[PAR_MAX_UNIT_LEN + 1];
	size_t len = 0;
	const struct par_unit_name *t = base->table;

	while (*unit != '\0' && !isspace((unsigned char)*unit) &&
	       len < PAR_MAX_UNIT_LEN)
		name[len++] = *unit++;
	name[len] = '\0';
	while (isspace((unsigned char)*unit))
		unit++;
	if (*unit != '\0' || t == NULL)
		return false;
	for (size_t i = 0; t[i].name != NULL; i++) {
		double cvalue;

		if (strcmp(name, t[i].name) != 0)
			continue;
		cvalue = value * (t[i].size / base->size);
		if (t[i + 1].name != NULL) {
			double next = t[i + 1].size / base->size;

			cvalue = rint(cvalue / next) * next;
		}
		*out = cvalue;
		return true;
	}
	return false;
}

static const char *par_unit_hint(const struct par_base *base)
{
	return base->kind == PAR_UNIT_MEMORY ? par_memory_hint : par_time_hint;
}

/* The number and unit of parse_int / parse_real; *hint set on a bad
 * unit. `integer` selects strtol first (octal and hex) as parse_int. */
static bool par_parse_number(double *out, const char **hint, const char *text,
			     const struct par_base *base, bool integer)
{
	double val;
	char *end;

	errno = 0;
	if (integer) {
		val = (double)strtol(text, &end, 0);
		if (*end == '.' || *end == 'e' || *end == 'E' ||
		    errno == ERANGE) {
			errno = 0;
			val = strtod(text, &end);
		}
	} else {
		val = strtod(text, &end);
	}
	if (end == text || errno == ERANGE || isnan(val))
		return false;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0') {
		if (base->kind == PAR_UNIT_NONE)
			return false;
		if (!par_to_base(val, end, base, &val)) {
			*hint = par_unit_hint(base);
			return false;
		}
	}
	if (integer) {
		val = rint(val);
		if (val > INT_MAX || val < INT_MIN) {
			*hint = "Value exceeds integer range.";
			return false;
		}
	}
	*out = val;
	return true;
}

/* Enum lookup: case-insensitive, plus PostgreSQL's hidden aliases. */
static const char *par_enum_lookup(const struct par_setting *s,
				   const char *text)
{
	static const struct {
		const char *alias;
		const char *value;
	} aliases[] = {
	    /* every enum offering on and off also takes these */
	    {"true", "on"},
	    {"yes", "on"},
	    {"1", "on"},
	    {"false", "off"},
	    {"no", "off"},
	    {"0", "off"},
	    /* wal_level */
	    {"archive", "replica"},
	    {"hot_standby", "replica"},
	    /* client_min_messages */
	    {"debug", "debug2"},
	};

	for (size_t i = 0; i < s->nenumvals; i++)
		if (par_streq_nocase(text, s->enumvals[i]))
			return s->enumvals[i];
	for (size_t a = 0; a < sizeof(aliases) / sizeof(aliases[0]); a++) {
		if (!par_streq_nocase(text, aliases[a].alias))
			continue;
		for (size_t i = 0; i < s->nenumvals; i++)
			if (strcmp(s->enumvals[i], aliases[a].value) == 0)
				return s->enumvals[i];
	}
	return NULL;
}

static const char *par_enum_options(struct dbops_ctx *ctx,
				    const struct par_setting *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *list = "";

	for (size_t i = 0; i < s->nenumvals; i++)
		list = h->printf(ctx, "%s%s%s", list, i ? ", " : "",
				 s->enumvals[i]);
	return list;
}

int par_value_parse(struct par_value *out, struct par_parse_error *err,
		    struct dbops_ctx *ctx, const struct par_setting *s,
		    const char *text)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct par_base base = par_base_of(s->unit);
	const char *hint = NULL;
	const char *canon;
	const char **items = NULL;
	bool fold;

	memset(out, 0, sizeof(*out));
	out->type = s->type;
	out->text = text;
	switch (s->type) {
	case PAR_BOOL:
		if (par_parse_bool(text, &out->boolean))
			return 0;
		if (err != NULL) {
			err->message = h->printf(
			    ctx, "parameter \"%s\" requires a Boolean value",
			    s->name);
			err->hint = NULL;
		}
		return DBOPS_ERR_INVALID;
	case PAR_INTEGER:
	case PAR_REAL:
		if (par_parse_number(&out->number, &hint, text, &base,
				     s->type == PAR_INTEGER))
			return 0;
		break;
	case PAR_ENUM:
		canon = par_enum_lookup(s, text);
		if (canon != NULL) {
			out->text = canon;
			return 0;
		}
		if (err != NULL) {
			err->message = h->printf(
			    ctx, "invalid value for parameter \"%s\": %s",
			    s->name, plug_value(ctx, text));
			err->hint = h->printf(ctx, "Available values: %s.",
					      par_enum_options(ctx, s));
		}
		return DBOPS_ERR_INVALID;
	case PAR_STRING:
		out->nitems = -1;
		if (par_list_setting(s->name, NULL, &fold))
			out->nitems = par_list_split(&items, ctx, text, fold);
		out->items = items;
		return 0;
	}
	if (err != NULL) {
		err->message =
		    h->printf(ctx, "invalid value for parameter \"%s\": %s",
			      s->name, plug_value(ctx, text));
		err->hint = hint;
	}
	return DBOPS_ERR_INVALID;
}

bool par_value_in_range(const struct par_setting *s, const struct par_value *v)
{
	if (v->type != PAR_INTEGER && v->type != PAR_REAL)
		return true;
	if (s->min_val != NULL && v->number < strtod(s->min_val, NULL))
		return false;
	if (s->max_val != NULL && v->number > strtod(s->max_val, NULL))
		return false;
	return true;
}

bool par_list_setting(const char *name, bool *quote, bool *fold)
{
	static const struct {
		const char *name;
		bool quote;
		bool fold;
	} lists[] = {
	    {"datestyle", false, true},
	    {"listen_addresses", false, false},
	    {"local_preload_libraries", true, false},
	    {"log_destination", false, true},
	    {"search_path", true, true},
	    {"session_preload_libraries", true, false},
	    {"shared_preload_libraries", true, false},
	    {"temp_tablespaces", true, true},
	    {"unix_socket_directories", true, false},
	};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (par_streq_nocase(name, lists[i].name)) {
			if (quote != NULL)
				*quote = lists[i].quote;
			if (fold != NULL)
				*fold = lists[i].fold;
			return true;
		}
	return false;
}

/* One element starting at *pp; *pp is left after its terminating comma
 * (or at the end), *more tells whether there was a comma. Returns NULL
 * for an unterminated quote. */
static char *par_list_element(struct dbops_ctx *ctx, const char **pp, bool fold,
			      bool *more)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *p = *pp;
	size_t n = 0;
	char *out = h->alloc(ctx, strlen(p) + 1);

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '"') {
		for (p++;; p++) {
			if (*p == '\0')
				return NULL;
			if (*p == '"') {
				if (p[1] != '"')
					break;
				p++;
			}
			out[n++] = *p;
		}
		p++;
		while (*p != '\0' && *p != ',')
			p++;
	} else {
		const char *start = p, *end;

		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		for (; start < end; start++)
			out[n++] = fold ? (char)tolower((unsigned char)*start)
					: *start;
	}
	out[n] = '\0';
	*more = *p == ',';
	if (*more)
		p++;
	*pp = p;
	return out;
}

int par_list_split(const char ***out, struct dbops_ctx *ctx, const char *text,
		   bool fold)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *p = text;
	size_t n = 0, cap = 1;
	const char **items;
	bool more;

	for (const char *c = text; *c; c++)
		cap += *c == ',';
	items = h->alloc(ctx, cap * sizeof(*items));
	*out = items;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 0;
	do {
		char *item = par_list_element(ctx, &p, fold, &more);

		if (item == NULL || n >= cap)
			return -1;
		items[n++] = item;
	} while (more);
	return (int)n;
}

/* Reals as pg_settings prints them: "%g", six significant digits. */
static bool par_same_g(double a, double b)
{
	char ta[64], tb[64];

	snprintf(ta, sizeof(ta), "%g", a);
	snprintf(tb, sizeof(tb), "%g", b);
	return strcmp(ta, tb) == 0;
}

bool par_value_equal(const struct par_setting *s, const struct par_value *a,
		     const struct par_value *b, bool loose)
{
	double scale;

	switch (s->type) {
	case PAR_BOOL:
		return a->boolean == b->boolean;
	case PAR_INTEGER:
		return a->number == b->number;
	case PAR_REAL:
		if (a->number == b->number)
			return true;
		scale = fmax(fabs(a->number), fabs(b->number));
		if (fabs(a->number - b->number) <= scale * 1e-12)
			return true;
		return loose && par_same_g(a->number, b->number);
	case PAR_ENUM:
		return par_streq_nocase(a->text, b->text);
	case PAR_STRING:
		break;
	}
	if (a->nitems < 0 || b->nitems < 0)
		return strcmp(a->text, b->text) == 0;
	if (a->nitems != b->nitems)
		return false;
	for (int i = 0; i < a->nitems; i++)
		if (strcmp(a->items[i], b->items[i]) != 0)
			return false;
	return true;
}

/* PostgreSQL's convert_int_from_base_unit and convert_real_from_base_unit:
 * the largest unit in which the value is whole. */
static const char *par_show_number(struct dbops_ctx *ctx,
				   const struct par_setting *s, double number)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct par_base base = par_base_of(s->unit);
	const struct par_unit_name *t = base.table;

	if (t == NULL || number <= 0) {
		if (s->type == PAR_INTEGER)
			return h->printf(ctx, "%.0f", number);
		return h->printf(ctx, "%g", number);
	}
	if (s->type == PAR_INTEGER) {
		for (size_t i = 0; t[i].name != NULL; i++) {
			double mult = t[i].size / base.size;

			if (mult <= 1.0 || fmod(number, rint(mult)) == 0)
				return h->printf(ctx, "%.0f%s",
						 rint(number / mult),
						 t[i].name);
		}
	}
	for (size_t i = 0; t[i].name != NULL; i++) {
		double value = number / (t[i].size / base.size);

		if ((value > 0 && fabs(rint(value) / value - 1.0) <= 1e-8) ||
		    t[i + 1].name == NULL)
			return h->printf(ctx, "%g%s", value, t[i].name);
	}
	return h->printf(ctx, "%g", number);
}

const char *par_number_format(struct dbops_ctx *ctx,
			      const struct par_setting *s, double number)
{
	return par_show_number(ctx, s, number);
}

const char *par_value_format(struct dbops_ctx *ctx, const struct par_setting *s,
			     const struct par_value *v)
{
	switch (v->type) {
	case PAR_BOOL:
		return v->boolean ? "on" : "off";
	case PAR_INTEGER:
	case PAR_REAL:
		return par_show_number(ctx, s, v->number);
	case PAR_ENUM:
	case PAR_STRING:
		break;
	}
	return v->text;
}

const char *par_text_format(struct dbops_ctx *ctx, const struct par_setting *s,
			    const char *text)
{
	struct par_value v;

	if (text == NULL)
		return NULL;
	if (par_value_parse(&v, NULL, ctx, s, text) != 0)
		return text;
	return par_value_format(ctx, s, &v);
}

const char *par_text_describe(struct dbops_ctx *ctx,
			      const struct par_setting *s, const char *text)
{
	const char *shown = par_text_format(ctx, s, text);

	if (shown == NULL || *shown == '\0')
		return "empty";
	/* a long string value of the spec is quoted and cut */
	return plug_value_whole(shown) ? shown : plug_value(ctx, shown);
}

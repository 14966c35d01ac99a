/* SPDX-License-Identifier: PostgreSQL */
/*
 * units.c — the values of the `monitoring:` section as an operator
 * writes them (durations with PostgreSQL's units and the `m` of the
 * design sketch, sizes, percentages) and the numbers of status and the
 * report as a person reads them (1.20s, 12.3ms, 22MB, 95.0%). Nothing
 * here reads the spec tree or a server.
 */
#include "monitoring_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A finite number followed by blanks and then `*unit` (maybe empty). */
static bool mon_number_unit(double *out, const char **unit, const char *text)
{
	char *end;
	double v;

	while (*text == ' ')
		text++;
	if (!(isdigit((unsigned char)text[0]) ||
	      (text[0] == '.' && isdigit((unsigned char)text[1]))))
		return false;
	v = strtod(text, &end);
	if (end == text || !isfinite(v) || v < 0)
		return false;
	while (*end == ' ')
		end++;
	*out = v;
	*unit = end;
	return true;
}

bool mon_parse_duration(double *out, const char *text)
{
	static const struct {
		const char *unit;
		double seconds;
	} units[] = {
	    {"", 1},	 {"us", 1e-6}, {"ms", 1e-3}, {"s", 1},
	    {"min", 60}, {"m", 60},    {"h", 3600},  {"d", 86400},
	};
	const char *unit;
	double v;

	if (text == NULL || !mon_number_unit(&v, &unit, text))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].unit) == 0) {
			*out = v * units[i].seconds;
			return true;
		}
	return false;
}

bool mon_parse_size(double *out, const char *text)
{
	static const struct {
		const char *unit;
		double bytes;
	} units[] = {
	    {"", 1},
	    {"B", 1},
	    {"kB", 1024.0},
	    {"MB", 1024.0 * 1024},
	    {"GB", 1024.0 * 1024 * 1024},
	    {"TB", 1024.0 * 1024 * 1024 * 1024},
	};
	const char *unit;
	double v;

	if (text == NULL || !mon_number_unit(&v, &unit, text))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].unit) == 0) {
			*out = v * units[i].bytes;
			return true;
		}
	return false;
}

bool mon_parse_ratio(double *out, const char *text)
{
	const char *unit;
	double v;

	if (text == NULL || !mon_number_unit(&v, &unit, text))
		return false;
	if (strcmp(unit, "%") == 0)
		v /= 100.0;
	else if (unit[0] != '\0')
		return false;
	if (v > 1.0)
		return false;
	*out = v;
	return true;
}

bool mon_parse_number(double *out, const char *text)
{
	const char *unit;
	double v;

	if (text == NULL || !mon_number_unit(&v, &unit, text) ||
	    unit[0] != '\0')
		return false;
	*out = v;
	return true;
}

double mon_num(const char *v)
{
	return v != NULL ? strtod(v, NULL) : 0.0;
}

const char *mon_fmt_ms(struct dbops_ctx *ctx, double ms)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (ms < 0 || !isfinite(ms))
		return "-";
	if (ms < 10.0)
		return h->printf(ctx, "%.3fms", ms);
	if (ms < 1000.0)
		return h->printf(ctx, "%.1fms", ms);
	return mon_fmt_seconds(ctx, ms / 1000.0);
}

const char *mon_fmt_seconds(struct dbops_ctx *ctx, double s)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (s < 0 || !isfinite(s))
		return "-";
	if (s < 1.0)
		return h->printf(ctx, "%.0fms", s * 1000.0);
	if (s < 60.0)
		return h->printf(ctx, "%.2fs", s);
	if (s < 3600.0)
		return h->printf(ctx, "%.1fmin", s / 60.0);
	if (s < 86400.0 * 2)
		return h->printf(ctx, "%.1fh", s / 3600.0);
	return h->printf(ctx, "%.1fd", s / 86400.0);
}

const char *mon_fmt_bytes(struct dbops_ctx *ctx, double b)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (b < 0 || !isfinite(b))
		return "-";
	if (b < 10 * 1024.0)
		return h->printf(ctx, "%.0f B", b);
	if (b < 10 * 1024.0 * 1024)
		return h->printf(ctx, "%.0f kB", b / 1024.0);
	if (b < 10 * 1024.0 * 1024 * 1024)
		return h->printf(ctx, "%.0f MB", b / (1024.0 * 1024));
	return h->printf(ctx, "%.0f GB", b / (1024.0 * 1024 * 1024));
}

const char *mon_fmt_count(struct dbops_ctx *ctx, double n)
{
	const struct dbops_host *h = dbops_host(ctx);
	char digits[32], *out;
	size_t len, k = 0;
	int neg = n < 0;

	if (!isfinite(n))
		return "-";
	snprintf(digits, sizeof(digits), "%.0f", fabs(n));
	len = strlen(digits);
	out = h->alloc(ctx, len + len / 3 + 2);
	if (neg)
		out[k++] = '-';
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			out[k++] = ',';
		out[k++] = digits[i];
	}
	out[k] = '\0';
	return out;
}

const char *mon_fmt_pct(struct dbops_ctx *ctx, double fraction)
{
	if (!isfinite(fraction))
		return "-";
	return dbops_host(ctx)->printf(ctx, "%.1f%%", fraction * 100.0);
}

const char *mon_oneline(struct dbops_ctx *ctx, const char *text, size_t max)
{
	const struct dbops_host *h = dbops_host(ctx);
	char *out;
	size_t k = 0;
	bool blank = false;

	if (text == NULL)
		return "(query text unknown)";
	out = h->alloc(ctx, max + 4);
	while (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')
		text++;
	for (; *text && k < max; text++) {
		unsigned char ch = (unsigned char)*text;

		if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
			blank = true;
			continue;
		}
		if (blank && k > 0 && k < max)
			out[k++] = ' ';
		blank = false;
		if (k < max)
			out[k++] = (char)(ch < 0x20 ? ' ' : ch);
	}
	if (*text != '\0') {
		/* never cut a UTF-8 sequence in two */
		while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0xC0)
			k--;
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	return out;
}

const char *mon_array_literal(struct dbops_ctx *ctx, const char *const *items,
			      size_t n)
{
	size_t len = 3, k = 0;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += 2 * (items[i] ? strlen(items[i]) : 4) + 3;
	out = dbops_host(ctx)->alloc(ctx, len);
	out[k++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			out[k++] = ',';
		if (items[i] == NULL) {
			memcpy(out + k, "NULL", 4);
			k += 4;
			continue;
		}
		out[k++] = '"';
		for (const char *c = items[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				out[k++] = '\\';
			out[k++] = *c;
		}
		out[k++] = '"';
	}
	out[k++] = '}';
	out[k] = '\0';
	return out;
}

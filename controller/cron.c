/* SPDX-License-Identifier: PostgreSQL */
/*
 * cron.c — five-field cron expressions; see cron.h. No time arithmetic
 * here: a caller walks the minutes it cares about and asks cron_match.
 */
#include "cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dbops/diag.h"

struct cron_field {
	const char *name;
	int min, max;
	const char *const *names; /* names for min.., or NULL */
};

static const char *const cron_months[] = {"jan", "feb", "mar", "apr", "may",
					  "jun", "jul", "aug", "sep", "oct",
					  "nov", "dec", NULL};
static const char *const cron_days[] = {"sun", "mon", "tue", "wed",
					"thu", "fri", "sat", NULL};

static const struct cron_field cron_fields[5] = {
    {"minute", 0, 59, NULL},	      {"hour", 0, 23, NULL},
    {"day of month", 1, 31, NULL},    {"month", 1, 12, cron_months},
    {"day of week", 0, 7, cron_days},
};

static const struct {
	const char *macro;
	const char *expr;
} cron_macros[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* A number or a name of field f at *p; advances *p. */
static bool cron_value(int *out, const char **p, const struct cron_field *f)
{
	char *end;
	long v;

	if (f->names != NULL)
		for (int i = 0; f->names[i] != NULL; i++)
			if (strncasecmp(*p, f->names[i], 3) == 0) {
				*out = f->min + i;
				*p += 3;
				return true;
			}
	if (**p < '0' || **p > '9')
		return false;
	v = strtol(*p, &end, 10);
	if (v > 1000)
		v = 1000;
	*out = (int)v;
	*p = end;
	return true;
}

/* "Field 2 (hour): "25" is WHY." */
static int cron_fail(const char **error, char *errbuf, size_t errlen, int i,
		     const char *item, const char *why)
{
	snprintf(errbuf, errlen, "Field %d (%s): \"%s\" %s.", i + 1,
		 cron_fields[i].name, item, why);
	*error = errbuf;
	return DBOPS_ERR_INVALID;
}

/* One comma-separated field into a bit set. */
static int cron_field_parse(uint64_t *bits, bool *any, const char *text, int i,
			    const char **error, char *errbuf, size_t errlen)
{
	const struct cron_field *f = &cron_fields[i];
	const char *p = text;

	*bits = 0;
	*any = strcmp(text, "*") == 0;
	for (;;) {
		int lo = f->min, hi = f->max, step = 1;
		bool single = false;

		if (*p == '*') {
			p++;
		} else {
			single = true;
			if (!cron_value(&lo, &p, f))
				return cron_fail(error, errbuf, errlen, i, text,
						 "is not a value");
			hi = lo;
			if (*p == '-')
				single = false;
			if (*p == '-' && (p++, !cron_value(&hi, &p, f)))
				return cron_fail(error, errbuf, errlen, i, text,
						 "has an incomplete range");
		}
		if (*p == '/') {
			char *end;
			long v;

			p++;
			v = strtol(p, &end, 10);
			if (end == p || v < 1 || v > f->max)
				return cron_fail(error, errbuf, errlen, i, text,
						 "has an invalid step");
			step = (int)v;
			p = end;
			if (single) /* "5/15": from 5 on */
				hi = f->max;
		}
		if (lo < f->min || hi > f->max || lo > hi) {
			char why[40];

			snprintf(why, sizeof(why), "is outside %d-%d", f->min,
				 f->max);
			return cron_fail(error, errbuf, errlen, i, text, why);
		}
		for (int v = lo; v <= hi; v += step)
			*bits |= (uint64_t)1 << (i == 4 && v == 7 ? 0 : v);
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return cron_fail(error, errbuf, errlen, i, text,
					 "is not a value, range, step or list");
		p++;
	}
}

int cron_parse(struct cron *out, const char *text, const char **error,
	       char *errbuf, size_t errlen)
{
	char buf[256], *fields[6];
	int n = 0;
	uint64_t bits[5];
	bool any[5];

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(cron_macros) / sizeof(cron_macros[0]);
	     i++)
		if (strcmp(text, cron_macros[i].macro) == 0)
			text = cron_macros[i].expr;
	if (strlen(text) >= sizeof(buf)) {
		*error = "The expression is too long.";
		return DBOPS_ERR_INVALID;
	}
	memcpy(buf, text, strlen(text) + 1);
	for (char *p = buf; *p != '\0';) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == 6)
			break;
		fields[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	if (n != 5) {
		*error = "A cron expression has five fields: minute, hour, "
			 "day of month, month and day of week.";
		return DBOPS_ERR_INVALID;
	}
	for (int i = 0; i < 5; i++)
		if (cron_field_parse(&bits[i], &any[i], fields[i], i, error,
				     errbuf, errlen) != 0)
			return DBOPS_ERR_INVALID;
	out->minute = bits[0];
	out->hour = (uint32_t)bits[1];
	out->dom = (uint32_t)bits[2];
	out->month = (uint16_t)bits[3];
	out->dow = (uint8_t)bits[4];
	out->dom_any = any[2];
	out->dow_any = any[4];
	return 0;
}

bool cron_match(const struct cron *c, const struct tm *tm)
{
	bool dom = (c->dom >> tm->tm_mday) & 1;
	bool dow = (c->dow >> tm->tm_wday) & 1;

	if (!((c->minute >> tm->tm_min) & 1) ||
	    !((c->hour >> tm->tm_hour) & 1) ||
	    !((c->month >> (tm->tm_mon + 1)) & 1))
		return false;
	if (c->dom_any || c->dow_any)
		return dom && dow;
	return dom || dow;
}

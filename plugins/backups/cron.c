/* SPDX-License-Identifier: PostgreSQL */
/*
 * cron.c — cron schedules as the daemon and `dbops status` read them:
 * five fields (minute, hour, day of month, month, day of week) with
 * `*`, lists, ranges and steps, month and day names, Sunday as 0 or 7,
 * and @hourly/@daily/@weekly/@monthly. As in Vixie cron, when both day
 * fields are restricted a day matches either. Times are UTC.
 */
#include "backups_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
				     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const days[] = {"sun", "mon", "tue", "wed",
				   "thu", "fri", "sat"};

static bool cron_num(int *out, const char **p, int field)
{
	const char *s = *p;

	if (isdigit((unsigned char)*s)) {
		int v = 0;

		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (*s++ - '0');
			if (v > 100)
				return false;
		}
		*out = v;
		*p = s;
		return true;
	}
	if (field == 3 || field == 4) {
		const char *const *names = field == 3 ? months : days;
		int n = field == 3 ? 12 : 7;

		for (int i = 0; i < n; i++)
			if (strncasecmp(s, names[i], 3) == 0) {
				*out = field == 3 ? i + 1 : i;
				*p = s + 3;
				return true;
			}
	}
	return false;
}

/* One field into a bit set; field 0..4. */
static bool cron_field(uint64_t *bits, bool *star, const char *text, int field,
		       const char **why)
{
	static const int lo[] = {0, 0, 1, 1, 0};
	static const int hi[] = {59, 23, 31, 12, 7};
	static const char *const names[] = {"minute", "hour", "day of month",
					    "month", "day of week"};
	const char *p = text;

	*bits = 0;
	*star = text[0] == '*';
	for (;;) {
		int a, b, step = 1;

		if (*p == '*') {
			a = lo[field];
			b = hi[field];
			p++;
		} else {
			if (!cron_num(&a, &p, field))
				goto bad;
			b = a;
			if (*p == '-') {
				p++;
				if (!cron_num(&b, &p, field))
					goto bad;
			}
		}
		if (*p == '/') {
			p++;
			if (!cron_num(&step, &p, 0) || step < 1)
				goto bad;
			if (a == b && text[0] != '*')
				b = hi[field];
		}
		if (a < lo[field] || b > hi[field] || a > b)
			goto bad;
		for (int v = a; v <= b; v += step)
			*bits |= 1ull << (field == 4 && v == 7 ? 0 : v);
		if (*p == '\0')
			return true;
		if (*p != ',')
			goto bad;
		p++;
	}
bad:
	*why = names[field];
	return false;
}

bool bak_cron_parse(struct bak_cron *c, const char *text, char *why,
		    size_t whylen)
{
	static const struct {
		const char *name;
		const char *expr;
	} macros[] = {{"@hourly", "0 * * * *"},
		      {"@daily", "0 0 * * *"},
		      {"@midnight", "0 0 * * *"},
		      {"@weekly", "0 0 * * 0"},
		      {"@monthly", "0 0 1 * *"}};
	char buf[256], *fields[6];
	int n = 0;
	uint64_t bits[5];
	bool star[5];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strcmp(text, macros[i].name) == 0)
			text = macros[i].expr;
	if (strlen(text) >= sizeof(buf)) {
		snprintf(why, whylen, "The schedule is too long.");
		return false;
	}
	memcpy(buf, text, strlen(text) + 1);
	for (char *s = buf; *s != '\0' && n < 6;) {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (*s == '\0')
			break;
		fields[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
	}
	if (n != 5) {
		snprintf(why, whylen, "A schedule has five fields.");
		return false;
	}
	for (int i = 0; i < 5; i++) {
		const char *what = NULL;

		if (!cron_field(&bits[i], &star[i], fields[i], i, &what)) {
			snprintf(why, whylen,
				 "The %s field \"%.40s\" is not valid.", what,
				 fields[i]);
			return false;
		}
	}
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->mday = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->wday = (uint8_t)bits[4];
	c->mday_star = star[2];
	c->wday_star = star[4];
	return true;
}

static bool cron_day(const struct bak_cron *c, const struct tm *tm)
{
	bool md = (c->mday >> tm->tm_mday) & 1;
	bool wd = (c->wday >> tm->tm_wday) & 1;

	if (c->mday_star || c->wday_star)
		return md && wd;
	return md || wd;
}

static bool cron_match(const struct bak_cron *c, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	return ((c->month >> (tm.tm_mon + 1)) & 1) && cron_day(c, &tm) &&
	       ((c->hour >> tm.tm_hour) & 1) && ((c->minute >> tm.tm_min) & 1);
}

time_t bak_cron_next(const struct bak_cron *c, time_t after)
{
	time_t t = after - after % 60 + 60;

	/* at most 4 years of minutes, skipping whole hours and days that
	 * cannot match */
	for (int i = 0; i < 4 * 366 * 24 * 60; i++) {
		struct tm tm;

		gmtime_r(&t, &tm);
		if (!((c->month >> (tm.tm_mon + 1)) & 1) || !cron_day(c, &tm)) {
			t += (24 - tm.tm_hour) * 3600 - tm.tm_min * 60;
			continue;
		}
		if (!((c->hour >> tm.tm_hour) & 1)) {
			t += 3600 - tm.tm_min * 60;
			continue;
		}
		if (cron_match(c, t))
			return t;
		t += 60;
	}
	return 0;
}

time_t bak_cron_prev(const struct bak_cron *c, time_t at)
{
	time_t t = at - at % 60;

	for (int i = 0; i < 366 * 24 * 60; i++) {
		struct tm tm;

		gmtime_r(&t, &tm);
		if (!((c->month >> (tm.tm_mon + 1)) & 1) || !cron_day(c, &tm)) {
			t -= tm.tm_hour * 3600 + tm.tm_min * 60 + 60;
			continue;
		}
		if (!((c->hour >> tm.tm_hour) & 1)) {
			t -= tm.tm_min * 60 + 60;
			continue;
		}
		if (cron_match(c, t))
			return t;
		t -= 60;
	}
	return 0;
}

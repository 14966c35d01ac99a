/* SPDX-License-Identifier: PostgreSQL */
/*
 * cron.h — five-field cron expressions (minute hour day-of-month month
 * day-of-week), as crontab(5) reads them: `*`, numbers, ranges `a-b`,
 * steps (`a-b/n`, and `*` or `a` followed by `/n`), lists `a,b`, month
 * and day names (`jan`, `mon`), 7 as Sunday, and the macros @hourly,
 * @daily (@midnight),
 * @weekly, @monthly, @yearly (@annually). When both day fields are
 * restricted a day matches either (crontab's rule). It is evaluated on a
 * broken-down local time; time zones are tz.h's business.
 */
#ifndef DBOPS_CTRL_CRON_H
#define DBOPS_CTRL_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct cron {
	uint64_t minute; /* bit n: minute n (0-59) */
	uint32_t hour;	 /* 0-23 */
	uint32_t dom;	 /* 1-31 */
	uint16_t month;	 /* 1-12 */
	uint8_t dow;	 /* 0-6, Sunday 0 */
	bool dom_any;	 /* the field was `*` */
	bool dow_any;
};

/*
 * Parse `text`. Returns 0, or DBOPS_ERR_INVALID with *error set to a
 * sentence saying what is wrong ("field 2 (hour): 25 is outside 0-23.",
 * a static string or one written into errbuf).
 */
int cron_parse(struct cron *out, const char *text, const char **error,
	       char *errbuf, size_t errlen);

/* Whether the expression matches the minute of `tm` (seconds ignored). */
bool cron_match(const struct cron *c, const struct tm *tm);

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_window.c — cron expressions, local time from the tz database, and
 * maintenance windows built on both.
 */
#include <stdio.h>
#include <string.h>

#include "cron.h"
#include "t.h"
#include "tz.h"
#include "window.h"

static bool cron_ok(struct cron *c, const char *text)
{
	const char *error = NULL;
	char buf[200];

	return cron_parse(c, text, &error, buf, sizeof(buf)) == 0;
}

static struct tm tm_at(int year, int mon, int mday, int hour, int min)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	t = timegm(&tm);
	gmtime_r(&t, &tm); /* fills tm_wday */
	return tm;
}

static time_t utc(int year, int mon, int mday, int hour, int min)
{
	struct tm tm = tm_at(year, mon, mday, hour, min);

	return timegm(&tm);
}

TEST(test_cron__matches_fields_steps_lists_and_names)
{
	struct cron c;
	struct tm mon_0230 = tm_at(2024, 1, 1, 2, 30); /* a Monday */
	struct tm tue_0230 = tm_at(2024, 1, 2, 2, 30);

	T_ASSERT(cron_ok(&c, "30 2 * * mon"));
	T_ASSERT(cron_match(&c, &mon_0230));
	T_ASSERT(!cron_match(&c, &tue_0230));
	T_ASSERT(cron_ok(&c, "*/15 1-3 * jan,feb *"));
	T_ASSERT(cron_match(&c, &mon_0230));
	T_ASSERT(cron_ok(&c, "*/15 4-6 * * *"));
	T_ASSERT(!cron_match(&c, &mon_0230));
	T_ASSERT(cron_ok(&c, "0 0 * * 7")); /* 7 is Sunday */
	{
		struct tm sun = tm_at(2024, 1, 7, 0, 0);

		T_ASSERT(cron_match(&c, &sun));
	}
	T_ASSERT(cron_ok(&c, "@daily"));
	T_ASSERT(!cron_match(&c, &mon_0230));
	{
		struct tm midnight = tm_at(2024, 1, 2, 0, 0);

		T_ASSERT(cron_match(&c, &midnight));
	}
}

TEST(test_cron__restricted_days_match_either)
{
	struct cron c;
	struct tm first_tue = tm_at(2024, 10, 1, 0, 0); /* 1st, a Tuesday */
	struct tm sat = tm_at(2024, 10, 5, 0, 0);
	struct tm wed = tm_at(2024, 10, 2, 0, 0);

	T_ASSERT(cron_ok(&c, "0 0 1 * sat"));
	T_ASSERT(cron_match(&c, &first_tue));
	T_ASSERT(cron_match(&c, &sat));
	T_ASSERT(!cron_match(&c, &wed));
}

TEST(test_cron__says_what_is_wrong)
{
	struct cron c;
	const char *error = NULL;
	char buf[200];

	T_ASSERT_INT(cron_parse(&c, "0 25 * * *", &error, buf, sizeof(buf)),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(error, "Field 2 (hour): \"25\" is outside 0-23.");
	T_ASSERT_INT(cron_parse(&c, "0 2 * *", &error, buf, sizeof(buf)),
		     DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(error, "five fields");
	T_ASSERT_INT(cron_parse(&c, "x 2 * * *", &error, buf, sizeof(buf)),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(error, "Field 1 (minute): \"x\" is not a value.");
	T_ASSERT_INT(cron_parse(&c, "*/0 2 * * *", &error, buf, sizeof(buf)),
		     DBOPS_ERR_INVALID);
	T_ASSERT_CONTAINS(error, "invalid step");
}

TEST(test_tz__follows_daylight_saving_time)
{
	struct arena *a = arena_new();
	const struct tz *paris = NULL;
	const char *error = NULL;
	struct tm tm;

	T_ASSERT_INT(tz_load(&paris, a, "Europe/Paris", &error), 0);
	/* winter: UTC+1; summer: UTC+2 */
	T_ASSERT_INT(tz_offset(paris, utc(2024, 1, 15, 12, 0)), 3600);
	T_ASSERT_INT(tz_offset(paris, utc(2024, 7, 15, 12, 0)), 7200);
	/* the switch of 2024-03-31 at 01:00 UTC */
	T_ASSERT_INT(tz_offset(paris, utc(2024, 3, 31, 0, 59)), 3600);
	T_ASSERT_INT(tz_offset(paris, utc(2024, 3, 31, 1, 0)), 7200);
	tz_local(&tm, paris, utc(2024, 7, 15, 23, 30));
	T_ASSERT_INT(tm.tm_mday, 16);
	T_ASSERT_INT(tm.tm_hour, 1);
	T_ASSERT_INT(tm.tm_min, 30);
	arena_free(a);
}

TEST(test_tz__refuses_unknown_and_escaping_names)
{
	struct arena *a = arena_new();
	const struct tz *z = NULL;
	const char *error = NULL;

	T_ASSERT_INT(tz_load(&z, a, "Mars/Olympus_Mons", &error),
		     DBOPS_ERR_NOTFOUND);
	T_ASSERT_CONTAINS(error, "no time zone \"Mars/Olympus_Mons\"");
	T_ASSERT_INT(tz_load(&z, a, "../../etc/passwd", &error),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(tz_load(&z, a, "/etc/localtime", &error),
		     DBOPS_ERR_INVALID);
	T_ASSERT_INT(tz_load(&z, a, "UTC", &error), 0);
	T_ASSERT_INT(tz_offset(z, utc(2024, 7, 1, 0, 0)), 0);
	arena_free(a);
}

static void window_set(struct window *w, struct arena *a, bool deny,
		       const char *schedule, long duration, const char *zone)
{
	const char *error;
	char buf[200];

	memset(w, 0, sizeof(*w));
	w->deny = deny;
	w->schedule = schedule;
	(void)cron_parse(&w->cron, schedule, &error, buf, sizeof(buf));
	w->duration_s = duration;
	w->zone = zone;
	(void)tz_load(&w->tz, a, zone, &error);
}

TEST(test_window__allow_window_in_its_own_time_zone)
{
	struct arena *a = arena_new();
	struct window w;
	time_t until;

	/* 02:00-04:00 in Paris, i.e. 00:00-02:00 UTC in summer */
	window_set(&w, a, false, "0 2 * * *", 7200, "Europe/Paris");
	T_ASSERT(window_allowed(&until, &w, 1, utc(2024, 7, 15, 1, 0)));
	T_ASSERT(!window_allowed(&until, &w, 1, utc(2024, 7, 15, 2, 0)));
	T_ASSERT_INT(until, utc(2024, 7, 16, 0, 0));
	T_ASSERT(!window_allowed(&until, &w, 1, utc(2024, 7, 14, 23, 59)));
	T_ASSERT_INT(until, utc(2024, 7, 15, 0, 0));
	arena_free(a);
}

TEST(test_window__deny_wins_and_says_when_it_ends)
{
	struct arena *a = arena_new();
	struct window v[2];
	time_t until;

	/* allowed all day on weekdays, but not 12:00-14:00 UTC */
	window_set(&v[0], a, false, "0 0 * * mon-fri", 24 * 3600, "UTC");
	window_set(&v[1], a, true, "0 12 * * *", 2 * 3600, "UTC");
	T_ASSERT(window_allowed(&until, v, 2, utc(2024, 7, 15, 11, 59)));
	T_ASSERT(!window_allowed(&until, v, 2, utc(2024, 7, 15, 12, 30)));
	T_ASSERT_INT(until, utc(2024, 7, 15, 14, 0));
	/* Saturday: the next allow window opens on Monday */
	T_ASSERT(!window_allowed(&until, v, 2, utc(2024, 7, 20, 9, 0)));
	T_ASSERT_INT(until, utc(2024, 7, 22, 0, 0));
	/* deny windows alone restrict only while they are open */
	T_ASSERT(window_allowed(&until, &v[1], 1, utc(2024, 7, 20, 9, 0)));
	arena_free(a);
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * window.c — maintenance windows; see window.h. A window is open at t
 * when its schedule matched a minute in (t - duration, t]. Finding the
 * next time changes may be applied walks the candidates where the answer
 * can change — t itself, each allow window's opening, each deny window's
 * closing — in time order.
 */
#include "window.h"

#include <stdlib.h>

static bool window_matches(const struct window *w, time_t minute)
{
	struct tm tm;

	tz_local(&tm, w->tz, minute);
	return cron_match(&w->cron, &tm);
}

bool window_open(const struct window *w, time_t t)
{
	time_t last = t - (t % 60 + 60) % 60;

	for (time_t m = last; m > t - w->duration_s; m -= 60)
		if (window_matches(w, m))
			return true;
	return false;
}

static bool window_allowed_at(const struct window *v, size_t n, time_t t)
{
	bool any_allow = false, in_allow = false;

	for (size_t i = 0; i < n; i++) {
		if (v[i].deny) {
			if (window_open(&v[i], t))
				return false;
			continue;
		}
		any_allow = true;
		if (!in_allow && window_open(&v[i], t))
			in_allow = true;
	}
	return !any_allow || in_allow;
}

static int window_cmp(const void *a, const void *b)
{
	time_t x = *(const time_t *)a, y = *(const time_t *)b;

	return (x > y) - (x < y);
}

struct window_times {
	time_t *v;
	size_t n, cap;
};

static void window_push(struct window_times *c, time_t t)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		time_t *bigger = realloc(c->v, cap * sizeof(*bigger));

		if (bigger == NULL)
			abort();
		c->v = bigger;
		c->cap = cap;
	}
	c->v[c->n++] = t;
}

bool window_allowed(time_t *until, const struct window *v, size_t n, time_t t)
{
	time_t first = t - (t % 60 + 60) % 60 + 60;
	struct window_times c = {0};

	*until = 0;
	if (window_allowed_at(v, n, t))
		return true;
	/* an allow window opens, a deny window closes */
	for (time_t m = first; m <= t + WINDOW_HORIZON; m += 60)
		for (size_t i = 0; i < n; i++)
			if (window_matches(&v[i], m))
				window_push(&c, v[i].deny ? m + v[i].duration_s
							  : m);
	/* deny windows open now close within their duration */
	for (size_t i = 0; i < n; i++)
		for (time_t m = first - 60;
		     v[i].deny && m > t - v[i].duration_s; m -= 60)
			if (window_matches(&v[i], m))
				window_push(&c, m + v[i].duration_s);
	if (c.n > 0)
		qsort(c.v, c.n, sizeof(*c.v), window_cmp);
	for (size_t k = 0; k < c.n; k++)
		if (c.v[k] > t && window_allowed_at(v, n, c.v[k])) {
			*until = c.v[k];
			break;
		}
	free(c.v);
	return false;
}

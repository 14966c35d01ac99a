/* SPDX-License-Identifier: PostgreSQL */
/*
 * diag.c — diagnostics: construction, context, printing, the "did you
 * mean" suggestion used for unknown names everywhere, and the form in which
 * a spec's values are quoted back in messages (cut when long).
 */
#include "diag.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct dbops_diag *diag_vadd(struct dbops_diag_list *list, struct arena *a,
			     enum dbops_severity sev, int code,
			     const struct dbops_loc *loc, const char *fmt,
			     va_list ap)
{
	struct dbops_diag *d = arena_alloc(a, sizeof(*d));

	d->code = code;
	d->severity = sev;
	d->message = arena_vprintf(a, fmt, ap);
	if (loc != NULL)
		d->loc = *loc;
	if (list->tail != NULL)
		list->tail->next = d;
	else
		list->head = d;
	list->tail = d;
	if (sev == DBOPS_SEV_ERROR)
		list->nerrors++;
	else if (sev == DBOPS_SEV_WARNING)
		list->nwarnings++;
	return d;
}

const char *diag_value(struct arena *a, const char *s)
{
	size_t len, n = 0;

	if (s == NULL)
		return "null";
	len = strlen(s);
	while (n < len && n < DIAG_VALUE_MAX && (unsigned char)s[n] >= 0x20 &&
	       s[n] != 0x7f)
		n++;
	if (n == len)
		return arena_printf(a, "\"%s\"", s);
	/* whole characters: back over a cut UTF-8 sequence */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return arena_printf(a, "\"%.*s...\" (%zu bytes)", (int)n, s, len);
}

struct dbops_diag *diag_add(struct dbops_diag_list *list, struct arena *a,
			    enum dbops_severity sev, int code,
			    const struct dbops_loc *loc, const char *fmt, ...)
{
	va_list ap;
	struct dbops_diag *d;

	va_start(ap, fmt);
	d = diag_vadd(list, a, sev, code, loc, fmt, ap);
	va_end(ap);
	return d;
}

void diag_detail(struct dbops_diag *d, struct arena *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	d->detail = arena_vprintf(a, fmt, ap);
	va_end(ap);
}

void diag_hint(struct dbops_diag *d, struct arena *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	d->hint = arena_vprintf(a, fmt, ap);
	va_end(ap);
}

void diag_context(struct dbops_diag *d, struct arena *a, const char *fmt, ...)
{
	va_list ap;

	if (d->ncontext >= DBOPS_DIAG_MAX_CONTEXT)
		return;
	va_start(ap, fmt);
	d->context[d->ncontext++] = arena_vprintf(a, fmt, ap);
	va_end(ap);
}

void diag_context_all(struct dbops_diag_list *list, struct dbops_diag *from,
		      struct arena *a, const char *line)
{
	struct dbops_diag *d = from != NULL ? from : list->head;

	for (; d != NULL; d = d->next)
		diag_context(d, a, "%s", line);
}

void diag_list_move(struct dbops_diag_list *dst, struct dbops_diag_list *src)
{
	if (src->head == NULL)
		return;
	if (dst->tail != NULL)
		dst->tail->next = src->head;
	else
		dst->head = src->head;
	dst->tail = src->tail;
	dst->nerrors += src->nerrors;
	dst->nwarnings += src->nwarnings;
	memset(src, 0, sizeof(*src));
}

const char *diag_severity_name(enum dbops_severity sev)
{
	switch (sev) {
	case DBOPS_SEV_ERROR:
		return "ERROR";
	case DBOPS_SEV_WARNING:
		return "WARNING";
	case DBOPS_SEV_NOTICE:
		return "NOTICE";
	}
	return "ERROR";
}

const char *diag_code_name(int code)
{
	switch (code) {
	case DBOPS_OK:
		return "success";
	case DBOPS_ERR_INVALID:
		return "invalid input";
	case DBOPS_ERR_NOTFOUND:
		return "not found";
	case DBOPS_ERR_CONFLICT:
		return "live state changed";
	case DBOPS_ERR_TRANSIENT:
		return "transient failure";
	case DBOPS_ERR_UNSUPPORTED:
		return "not supported";
	case DBOPS_ERR_ABI:
		return "incompatible plugin";
	case DBOPS_ERR_BLOCKED:
		return "blocked by a failed change";
	case DBOPS_ERR_CANCELLED:
		return "cancelled";
	case DBOPS_ERR_LOCKED:
		return "locked by another controller";
	default:
		return "error";
	}
}

void diag_print(FILE *f, const struct dbops_diag *d)
{
	if (d->loc.file != NULL)
		fprintf(f, "%s:%u:%u: ", d->loc.file, d->loc.line, d->loc.col);
	fprintf(f, "%s:  %s\n", diag_severity_name(d->severity), d->message);
	if (d->sqlstate[0] != '\0' && d->severity == DBOPS_SEV_ERROR)
		fprintf(f, "SQLSTATE:  %s\n", d->sqlstate);
	if (d->detail != NULL)
		fprintf(f, "DETAIL:  %s\n", d->detail);
	if (d->hint != NULL)
		fprintf(f, "HINT:  %s\n", d->hint);
	for (int i = 0; i < d->ncontext; i++)
		fprintf(f, "CONTEXT:  %s\n", d->context[i]);
}

void diag_print_list(FILE *f, const struct dbops_diag_list *list)
{
	for (const struct dbops_diag *d = list->head; d != NULL; d = d->next)
		diag_print(f, d);
}

/* Optimal string alignment distance, case-insensitive, bounded length. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *prev2, *prev, *cur, d;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	prev2 = calloc(3 * (lb + 1), sizeof(size_t));
	if (prev2 == NULL)
		arena_oom();
	prev = prev2 + lb + 1;
	cur = prev + lb + 1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
			size_t cost = ca == cb ? 0 : 1;
			size_t v = prev[j] + 1;

			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 &&
			    (a[i - 1] | 0x20) == (b[j - 2] | 0x20) &&
			    (a[i - 2] | 0x20) == (b[j - 1] | 0x20) &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		size_t *t = prev2;

		prev2 = prev;
		prev = cur;
		cur = t;
	}
	d = prev[lb];
	/* free the block through its lowest pointer */
	{
		size_t *base = prev2 < prev ? prev2 : prev;

		base = cur < base ? cur : base;
		free(base);
	}
	return d;
}

const char *diag_suggest(const char *word, const char *const *candidates,
			 size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	size_t limit = strlen(word) / 3 + 1;

	if (limit > 3)
		limit = 3;
	for (size_t i = 0; i < n; i++) {
		size_t d;

		if (candidates[i] == NULL)
			continue;
		d = edit_distance(word, candidates[i]);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best_d <= limit ? best : NULL;
}

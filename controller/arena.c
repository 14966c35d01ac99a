/* SPDX-License-Identifier: PostgreSQL */
/*
 * arena.c — a chunked bump allocator with deferred destructors. Large
 * requests get a chunk of their own; nothing is ever freed individually.
 * Built with AddressSanitizer, it leaves a poisoned gap after every
 * allocation, so that reading or writing past the end of one is reported
 * rather than landing in its neighbour.
 */
#include "arena.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64 * 1024)

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_REDZONE 16
#else
#define ASAN_POISON_MEMORY_REGION(p, n)	  ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ARENA_REDZONE			  0
#endif

struct chunk {
	struct chunk *next;
	size_t used;
	size_t cap;
	alignas(max_align_t) unsigned char data[];
};

struct defer {
	struct defer *next;
	arena_defer_fn fn;
	void *p;
};

struct arena {
	struct chunk *chunks;
	struct defer *defers;
};

_Noreturn void arena_oom(void)
{
	fputs("dbops: FATAL: out of memory\n", stderr);
	abort();
}

static void *xcalloc(size_t n)
{
	void *p = calloc(1, n);

	if (p == NULL)
		arena_oom();
	return p;
}

struct arena *arena_new(void)
{
	return xcalloc(sizeof(struct arena));
}

void arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	for (struct defer *d = a->defers; d != NULL;) {
		struct defer *next = d->next;

		d->fn(d->p);
		free(d);
		d = next;
	}
	for (struct chunk *c = a->chunks; c != NULL;) {
		struct chunk *next = c->next;

		ASAN_UNPOISON_MEMORY_REGION(c->data, c->cap);
		free(c);
		c = next;
	}
	free(a);
}

void *arena_alloc(struct arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	size_t need = (size + ARENA_REDZONE + align - 1) & ~(align - 1);
	struct chunk *c = a->chunks;
	void *p;

	if (need == 0)
		need = align;
	if (c == NULL || c->cap - c->used < need) {
		size_t cap = need > ARENA_CHUNK / 4 ? need : ARENA_CHUNK;

		c = xcalloc(sizeof(struct chunk) + cap);
		c->cap = cap;
		ASAN_POISON_MEMORY_REGION(c->data, cap);
		if (cap == need && a->chunks != NULL) {
			/* a big block: keep the current chunk for small ones */
			c->next = a->chunks->next;
			a->chunks->next = c;
			c->used = need;
			ASAN_UNPOISON_MEMORY_REGION(c->data, size);
			return c->data;
		}
		c->next = a->chunks;
		a->chunks = c;
	}
	p = c->data + c->used;
	c->used += need;
	ASAN_UNPOISON_MEMORY_REGION(p, size);
	return p;
}

void *arena_memdup(struct arena *a, const void *p, size_t size)
{
	void *q = arena_alloc(a, size);

	if (size > 0)
		memcpy(q, p, size);
	return q;
}

char *arena_strdup(struct arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	return arena_strndup(a, s, strlen(s));
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *q = arena_alloc(a, n + 1);

	memcpy(q, s, n);
	q[n] = '\0';
	return q;
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *q;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		arena_oom();
	q = arena_alloc(a, (size_t)n + 1);
	vsnprintf(q, (size_t)n + 1, fmt, ap);
	return q;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *q;

	va_start(ap, fmt);
	q = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return q;
}

void arena_defer(struct arena *a, arena_defer_fn fn, void *p)
{
	struct defer *d = xcalloc(sizeof(*d));

	d->fn = fn;
	d->p = p;
	d->next = a->defers;
	a->defers = d;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * arena.h — region allocation for one reconcile pass.
 *
 * Everything a pass builds (spec tree, observed state, plan, diagnostics)
 * is allocated here and freed at once with arena_free(). Allocation never
 * fails: running out of memory aborts with a message. arena_defer()
 * registers a destructor for a foreign object (a PGresult, a git object)
 * so it is released with the arena. Not thread-safe: one arena per thread.
 */
#ifndef DBOPS_ARENA_H
#define DBOPS_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "dbops/abi.h"

struct arena;

struct arena *arena_new(void);
/* Runs deferred destructors (last registered first), frees all memory.
 * Accepts NULL. */
void arena_free(struct arena *a);

/* Zeroed memory, aligned for any type. */
void *arena_alloc(struct arena *a, size_t size);
void *arena_memdup(struct arena *a, const void *p, size_t size);
char *arena_strdup(struct arena *a, const char *s); /* NULL gives NULL */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) DBOPS_PRINTF(2, 3);
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
    DBOPS_PRINTF(2, 0);

typedef void (*arena_defer_fn)(void *p);
void arena_defer(struct arena *a, arena_defer_fn fn, void *p);

/* Abort the process with a message: the allocator's last resort. */
_Noreturn void arena_oom(void);

#endif

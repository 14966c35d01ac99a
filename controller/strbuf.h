/* SPDX-License-Identifier: PostgreSQL */
/*
 * strbuf.h — a growable, always NUL-terminated string on the heap, for
 * rendering plans and building messages. strbuf_dispose() frees it;
 * strbuf_finish() moves the text into an arena.
 */
#ifndef DBOPS_STRBUF_H
#define DBOPS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "arena.h"

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

void strbuf_init(struct strbuf *sb);
void strbuf_dispose(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) DBOPS_PRINTF(2, 3);
void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
    DBOPS_PRINTF(2, 0);
/* Copy into the arena and dispose of the buffer. */
char *strbuf_finish(struct strbuf *sb, struct arena *a);

#endif

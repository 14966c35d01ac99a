/* SPDX-License-Identifier: PostgreSQL */
/*
 * value.h — how the plugins of this tree quote a value taken from the spec
 * in a diagnostic: exactly as the controller quotes its own (diag_value in
 * controller/diag.c): in double quotes, and cut when long or not one line
 * of printable text, to its first 64 bytes (whole UTF-8 characters) up to
 * any line break or control character, then "..." and the length:
 * "aaaa..." (900000 bytes). A spec's megabyte, or a terminal escape
 * sequence, never reaches the user through a message.
 *
 * The host table does not offer this yet, so the plugins share this
 * header-only copy rather than each writing its own; a plugin outside the
 * tree may copy it. It is not part of the plugin SDK (include/dbops/).
 */
#ifndef DBOPS_PLUGINS_VALUE_H
#define DBOPS_PLUGINS_VALUE_H

#include <stdbool.h>
#include <string.h>

#include "dbops/host.h"

#define PLUG_VALUE_MAX 64

/* `s` quoted for a message, in the pass arena; NULL is shown as null. */
static inline const char *plug_value(struct dbops_ctx *ctx, const char *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t len, n = 0;

	if (s == NULL)
		return "null";
	len = strlen(s);
	while (n < len && n < PLUG_VALUE_MAX && (unsigned char)s[n] >= 0x20 &&
	       s[n] != 0x7f)
		n++;
	if (n == len)
		return h->printf(ctx, "\"%s\"", s);
	/* whole characters: back over a cut UTF-8 sequence */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return h->printf(ctx, "\"%.*s...\" (%zu bytes)", (int)n, s, len);
}

/* Whether plug_value shows `s` whole (short, one line, printable). */
static inline bool plug_value_whole(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0' && n < PLUG_VALUE_MAX &&
	       (unsigned char)s[n] >= 0x20 && s[n] != 0x7f)
		n++;
	return s[n] == '\0';
}

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * diag.h — building, collecting and printing diagnostics (the public
 * record is struct dbops_diag in include/dbops/diag.h).
 *
 * Diagnostics are appended to a struct dbops_diag_list and live in an
 * arena. diag_print() writes them in PostgreSQL's style:
 *
 *   specs/cluster.yaml:3:1: ERROR:  unknown key "conection"
 *   HINT:  Did you mean "connection"?
 */
#ifndef DBOPS_CTRL_DIAG_H
#define DBOPS_CTRL_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "arena.h"
#include "dbops/diag.h"

struct dbops_diag *diag_add(struct dbops_diag_list *list, struct arena *a,
			    enum dbops_severity sev, int code,
			    const struct dbops_loc *loc, const char *fmt, ...)
    DBOPS_PRINTF(6, 7);
struct dbops_diag *diag_vadd(struct dbops_diag_list *list, struct arena *a,
			     enum dbops_severity sev, int code,
			     const struct dbops_loc *loc, const char *fmt,
			     va_list ap) DBOPS_PRINTF(6, 0);
void diag_detail(struct dbops_diag *d, struct arena *a, const char *fmt, ...)
    DBOPS_PRINTF(3, 4);
void diag_hint(struct dbops_diag *d, struct arena *a, const char *fmt, ...)
    DBOPS_PRINTF(3, 4);
/* Add a context line (innermost first); extra lines past the limit are
 * dropped. */
void diag_context(struct dbops_diag *d, struct arena *a, const char *fmt, ...)
    DBOPS_PRINTF(3, 4);
/* Add a context line to every diagnostic of the list from `from` on. */
void diag_context_all(struct dbops_diag_list *list, struct dbops_diag *from,
		      struct arena *a, const char *line);

/* Move every diagnostic of src to the end of dst. */
void diag_list_move(struct dbops_diag_list *dst, struct dbops_diag_list *src);

/* Print one diagnostic, or all of a list, in PostgreSQL's style. */
void diag_print(FILE *f, const struct dbops_diag *d);
void diag_print_list(FILE *f, const struct dbops_diag_list *list);

/* "ERROR", "WARNING", "NOTICE" */
const char *diag_severity_name(enum dbops_severity sev);
/* The one-line meaning of an error code. */
const char *diag_code_name(int code);

/* How much of a value diag_value shows. */
#define DIAG_VALUE_MAX 64

/*
 * A value taken from a spec, for a message, in double quotes. A value that
 * is long, or not a single line of printable text, is cut: the quotes hold
 * at most its first DIAG_VALUE_MAX bytes (whole UTF-8 characters) before
 * any line break or control character, then "...", and its length
 * follows: "aaaa..." (900000 bytes). So a message never carries a spec's
 * megabyte, nor a terminal escape sequence, back to the user. The result
 * is in the arena; NULL is shown as null.
 */
const char *diag_value(struct arena *a, const char *s);

/* The candidate closest to `word` by edit distance, when it is close
 * enough to be a likely typo; otherwise NULL. */
const char *diag_suggest(const char *word, const char *const *candidates,
			 size_t n);

#endif

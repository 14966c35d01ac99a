/* SPDX-License-Identifier: PostgreSQL */
/*
 * diag.h — error codes and the diagnostic record.
 *
 * Fallible functions return 0 or a negative enum dbops_err. The detail of a
 * failure travels in a struct dbops_diag, set once where the failure is
 * found (through the host table in plugins) and reported once by the
 * controller. Messages follow PostgreSQL's error style guide: lower-case
 * primary message without a trailing period, detail and hint as complete
 * sentences. Diagnostics and their strings live in the pass arena.
 */
#ifndef DBOPS_DIAG_H
#define DBOPS_DIAG_H

#include <stdint.h>

enum dbops_err {
	DBOPS_OK = 0,
	DBOPS_ERR_GENERIC = -1,	    /* anything unexpected: fail the pass */
	DBOPS_ERR_INVALID = -2,	    /* the spec or an argument is wrong */
	DBOPS_ERR_NOTFOUND = -3,    /* an object looked up does not exist */
	DBOPS_ERR_CONFLICT = -4,    /* live state moved since it was read */
	DBOPS_ERR_TRANSIENT = -5,   /* connection lost, deadlock: retry */
	DBOPS_ERR_UNSUPPORTED = -6, /* server version or feature missing */
	DBOPS_ERR_ABI = -7,	    /* a plugin is incompatible */
	DBOPS_ERR_BLOCKED = -8,	    /* a prerequisite change failed */
	DBOPS_ERR_CANCELLED = -9,   /* shutdown or deadline */
	DBOPS_ERR_LOCKED = -10,	    /* another controller holds the lock */
};

enum dbops_severity {
	DBOPS_SEV_ERROR = 0,
	DBOPS_SEV_WARNING,
	DBOPS_SEV_NOTICE,
};

/* A place in a spec file. file is NULL when the place is unknown. */
struct dbops_loc {
	const char *file; /* path inside the spec source */
	uint32_t line;	  /* 1-based */
	uint32_t col;	  /* 1-based */
};

#define DBOPS_DIAG_MAX_CONTEXT 8

struct dbops_diag {
	int code; /* enum dbops_err */
	enum dbops_severity severity;
	char sqlstate[6];     /* from the server, or "" */
	const char *message;  /* primary message, never NULL */
	const char *detail;   /* complete sentence(s), or NULL */
	const char *hint;     /* complete sentence(s), or NULL */
	struct dbops_loc loc; /* spec location, if any */
	const char *context[DBOPS_DIAG_MAX_CONTEXT]; /* innermost first */
	int ncontext;
	struct dbops_diag *next; /* next problem in a list */
};

/* A list of diagnostics, in the order they were raised. */
struct dbops_diag_list {
	struct dbops_diag *head;
	struct dbops_diag *tail;
	int nerrors;
	int nwarnings;
};

#endif

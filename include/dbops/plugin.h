/* SPDX-License-Identifier: PostgreSQL */
/*
 * plugin.h — the plugin descriptor, its callbacks and the change record.
 *
 * A plugin is one shared object, plugins/<name>/ built to dbops_<name>.so,
 * that exports exactly one function, dbops_plugin_entry(). The host calls
 * it with its own ABI version; it returns a pointer to the plugin's
 * `static const struct dbops_plugin`, or NULL to decline that host.
 *
 * A pass calls, for each plugin whose spec_section is present in the spec:
 *   validate (pure, no I/O) → observe (read-only, shared snapshot)
 *   → diff (pure) → apply (one change per call) → verify (optional).
 * Every callback reaches the controller only through the host table
 * (host.h) given in the context; plugins never link against the
 * controller.
 *
 * When a required callback is added, the check list in
 * controller/loader.c must change in the same commit.
 */
#ifndef DBOPS_PLUGIN_H
#define DBOPS_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "diag.h"
#include "spec.h"

struct dbops_ctx; /* opaque: host, arenas, diagnostics of one call */

/* Coarse ordering of plugins; ties are broken by `after`, then by name. */
enum dbops_phase {
	DBOPS_PHASE_SETTINGS = 10,
	DBOPS_PHASE_ROLES = 20,
	DBOPS_PHASE_SCHEMA = 30,
	DBOPS_PHASE_PRIVILEGES = 40,
	DBOPS_PHASE_REPLICAS = 50,
	DBOPS_PHASE_POOLER = 60,
	DBOPS_PHASE_BACKUPS = 70,
	DBOPS_PHASE_MONITORING = 80,
};

enum dbops_action {
	DBOPS_ACTION_CREATE = 1, /* "+": a new object */
	DBOPS_ACTION_UPDATE,	 /* "~": changed in place */
	DBOPS_ACTION_DELETE,	 /* "-": removed */
	DBOPS_ACTION_RUN,	 /* ">": a script or command runs */
	DBOPS_ACTION_RELOAD,	 /* "~": configuration reloaded */
	DBOPS_ACTION_RESTART,	 /* "~": a service restarts */
};

/* Change flags. */
#define DBOPS_CHANGE_DESTRUCTIVE   (1u << 0) /* applied only when allowed */
#define DBOPS_CHANGE_NONTX	   (1u << 1) /* runs outside a transaction */
#define DBOPS_CHANGE_NEEDS_RESTART (1u << 2) /* takes effect on restart */
#define DBOPS_CHANGE_IRREVERSIBLE  (1u << 3) /* cannot be undone */

/* One attribute shown in a plan: before → after. NULL means absent. */
struct dbops_attr {
	const char *name;
	const char *before;
	const char *after;
	bool sensitive; /* rendered as (sensitive), never printed */
};

/*
 * A planned change. Created only by host->change_new() during diff, which
 * appends it to the plan; everything it points to lives in the pass arena.
 * The plugin fills the public fields; the host owns the order and `id`.
 */
struct dbops_change {
	const char *plugin;  /* set by the host */
	const char *address; /* "parameters.work_mem"; unique in a plan */
	enum dbops_action action;
	const char *reason;   /* why, one line, or NULL */
	const char *sql;      /* what will run, secrets redacted, or NULL */
	unsigned flags;	      /* DBOPS_CHANGE_* */
	struct dbops_loc loc; /* spec location that caused it */
	const struct dbops_attr *attrs; /* set through host->change_attr */
	size_t nattrs;
	void *payload; /* plugin data for apply, in the pass arena */
	int phase;     /* the host sets the descriptor's phase; since ABI
			  1.1 a plugin may set a LATER one in diff, for a
			  change that must follow other plugins' changes
			  (grants on tables a migration creates: 40) */
	unsigned id;   /* 1-based position in the ordered plan (host) */
	/* ABI 1.2: the order of the plugin's changes within a phase (0 by
	 * default); changes of equal order are ordered by address. A plugin
	 * whose changes have an order of their own (migration versions) sets
	 * it in diff, so addresses need not encode it. */
	unsigned long order;
};

/*
 * validate: check the plugin's own spec subtree; report every problem
 * through host->diag with the node's location. No I/O. Returns 0 or
 * DBOPS_ERR_INVALID.
 */
typedef int (*dbops_validate_fn)(struct dbops_ctx *ctx,
				 const struct dbops_node *section);

/*
 * observe: read the live state of the concern through the host's query
 * helpers (all plugins share one read-only repeatable-read snapshot) and
 * return a model of it, allocated in the pass arena, through *live_out.
 */
typedef int (*dbops_observe_fn)(void **live_out, struct dbops_ctx *ctx,
				const struct dbops_node *section);

/*
 * diff: a pure function of (desired section, live model) that appends
 * changes with host->change_new(). Problems that need the live state to be
 * seen (an unknown setting name, say) are diagnostics raised here.
 */
typedef int (*dbops_diff_fn)(struct dbops_ctx *ctx,
			     const struct dbops_node *section, void *live);

/*
 * apply: carry out exactly one change. Re-check the precondition first so
 * that a pass killed at any moment is completed by the next one with
 * nothing done twice: return 0 when the change turns out to be done
 * already (and say so with host->log at info level). The host decides
 * transactions, and stops the changes that depend on a failed one.
 */
typedef int (*dbops_apply_fn)(struct dbops_ctx *ctx,
			      const struct dbops_change *change);

/*
 * apply_many (optional, ABI 1.2): carry out changes[0..n) in order, as n
 * calls of apply would, but free to overlap them: send the next change
 * before the result of the previous one is read (a libpq pipeline), so
 * neither the server nor the client waits for the other. The host hands
 * over only consecutive changes of this plugin that run outside its
 * transaction (DBOPS_CHANGE_NONTX). Report each change's outcome with
 * host->applied(ctx, k, err), in order of k, as soon as it is known;
 * raise a failed change's diagnostics before reporting it, attempt
 * nothing after a failure, and send nothing more once host->cancelled()
 * is true. Return 0, or the failed change's error. Changes not reported
 * count as not attempted ("blocked").
 */
typedef int (*dbops_apply_many_fn)(struct dbops_ctx *ctx,
				   const struct dbops_change *const *changes,
				   size_t n);

/* verify (optional): after every change was applied, report what is still
 * pending (a restart, say) as notices or warnings. Read-only. */
typedef int (*dbops_verify_fn)(struct dbops_ctx *ctx,
			       const struct dbops_node *section);

/*
 * A plugin command (ABI 1.1): `dbops <plugin> <name>` (or `dbops <name>`
 * when no other plugin has a command of that name) runs a pass like
 * `dbops apply` — plan shown, confirmation, apply, run log — with
 * host->mode() returning `name` to the plugin's callbacks, so the plugin
 * plans what the command means (e.g. "repair": realign checksums)
 * instead of its normal changes. Options the core does not know
 * (`--to replica1`, `--to=replica1`) are passed to it: host->arg().
 */
struct dbops_command {
	const char *name;    /* "repair" */
	const char *summary; /* one line, for --help */
};

/*
 * status (optional, ABI 1.1): `dbops status` observes as plan does, then
 * asks each plugin to report the health of its concern: lines of text
 * through host->out (a table, say), and every problem as a WARNING
 * (degraded) or ERROR (unhealthy) diagnostic through host->diag.
 * Read-only.
 */
typedef int (*dbops_status_fn)(struct dbops_ctx *ctx,
			       const struct dbops_node *section, void *live);

/*
 * A tool (ABI 1.3): `dbops <name> ARGS...` runs tool(name, argc, argv)
 * with only this plugin loaded — no spec, no git, no connection, no
 * host table: a fast path for what a server calls (archive_command). It
 * prints its own errors on stderr in PostgreSQL's style and returns the
 * process's exit status. argv[0] is the tool's name.
 */
typedef int (*dbops_tool_fn)(const char *name, int argc, char **argv);

typedef int (*dbops_init_fn)(struct dbops_ctx *ctx);
typedef void (*dbops_fini_fn)(struct dbops_ctx *ctx);

struct dbops_plugin {
	struct dbops_abi_header header; /* DBOPS_ABI_HEADER_INIT(...) */

	/* ABI 1.0 */
	const char *name;	  /* equals the file stem after "dbops_" */
	const char *version;	  /* the plugin's own semver */
	const char *summary;	  /* one line */
	const char *spec_section; /* top-level spec key it owns */
	int phase;		  /* enum dbops_phase */
	const char *const *after; /* NULL-terminated plugin names, or NULL */
	unsigned flags;		  /* reserved, 0 */

	dbops_init_fn init;	    /* optional */
	dbops_fini_fn fini;	    /* optional */
	dbops_validate_fn validate; /* required */
	dbops_observe_fn observe;   /* required */
	dbops_diff_fn diff;	    /* required */
	dbops_apply_fn apply;	    /* required */
	dbops_verify_fn verify;	    /* optional */

	/* ABI 1.1 */
	const struct dbops_command *commands; /* {NULL} terminated, or NULL */
	dbops_status_fn status;		      /* optional */

	/* ABI 1.2 */
	dbops_apply_many_fn apply_many; /* optional */

	/* ABI 1.3 */
	/* Names among `commands` that change nothing: run like `dbops
	 * status` (spec read, cluster observed, the plugin's status callback
	 * called with host->mode() set), never planned, applied or
	 * recorded. NULL-terminated, or NULL. */
	const char *const *readonly_commands;
	/* The names of the plugin's tools, NULL-terminated, or NULL; the
	 * controller knows which plugin a tool belongs to without loading
	 * the others (controller/main.c). */
	const char *const *tools;
	dbops_tool_fn tool; /* required with `tools` */
};

/*
 * The entry point every plugin exports under DBOPS_PLUGIN_ENTRY_SYMBOL.
 * Returns the descriptor (static storage) or NULL to decline the host.
 */
typedef const struct dbops_plugin *(*dbops_plugin_entry_fn)(
    uint16_t host_major, uint16_t host_minor);

/* The prototype every plugin defines (and nothing else exports). */
DBOPS_PLUGIN_EXPORT const struct dbops_plugin *
dbops_plugin_entry(uint16_t host_major, uint16_t host_minor);

#endif

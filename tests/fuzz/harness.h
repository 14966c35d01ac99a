/* SPDX-License-Identifier: PostgreSQL */
/*
 * harness.h — the shared driver of the libFuzzer harnesses of tests/fuzz:
 * arbitrary bytes parsed as a cluster spec and handed to one plugin's
 * validate through the controller's own host table (controller/host.c),
 * in a pass set up as pass_load sets it up, so that the real spec getters
 * and diagnostics run. It does not load plugins with dlopen: the harness
 * links the plugin's objects, as the unit runner does.
 *
 * Beyond what the sanitizers catch, a harness aborts (a crash for
 * libFuzzer) when validate breaks the callback contract of
 * plugins/README.md: it fails without raising an error, or returns
 * something other than 0 or a negative enum dbops_err.
 */
#ifndef DBOPS_FUZZ_HARNESS_H
#define DBOPS_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dbops/plugin.h"

struct fuzz_plugin {
	const char *name;	    /* the plugin, and its spec section */
	dbops_validate_fn validate; /* its validate callback */
	/* NULL, or a directory of the source tree (relative to the top)
	 * opened as the pass's --dir source, for validate to list */
	const char *source_dir;
};

/*
 * Parse the input as cluster.yaml and run fp->validate on its section
 * named fp->name, or on the whole document when there is none (so that
 * every input reaches validate, also as a section of the wrong kind).
 * Every diagnostic is printed to /dev/null. Returns 0.
 */
int fuzz_validate(const struct fuzz_plugin *fp, const uint8_t *data,
		  size_t size);

/*
 * Run fn with a context of plugin `name` in a pass at its validate stage,
 * set up as fuzz_validate sets it up but with no spec, then print every
 * diagnostic to /dev/null and dispose of the pass. Returns 0.
 */
int fuzz_with_ctx(const char *name,
		  void (*fn)(struct dbops_ctx *ctx, const uint8_t *data,
			     size_t size),
		  const uint8_t *data, size_t size);

/* /dev/null, opened once, for diagnostics printed only to run the
 * printing code. */
FILE *fuzz_sink(void);

/* The libFuzzer entry point each harness defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

/* SPDX-License-Identifier: PostgreSQL */
/*
 * fuzz_replicas.c — libFuzzer harness: arbitrary bytes as a cluster spec,
 * its `replicas:` section (or the whole document) handed to the replicas
 * plugin's validate through the controller's host (harness.h).
 */
#include "harness.h"

#include "../../plugins/replicas/replicas_int.h"

static const struct fuzz_plugin fuzz_replicas = {"replicas", repl_validate,
						 NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_validate(&fuzz_replicas, data, size);
}

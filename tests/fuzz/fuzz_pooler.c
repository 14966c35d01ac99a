/* SPDX-License-Identifier: PostgreSQL */
/*
 * fuzz_pooler.c — libFuzzer harness: arbitrary bytes as a cluster spec,
 * its `pooler:` section (or the whole document) handed to the pooler
 * plugin's validate through the controller's host (harness.h).
 */
#include "harness.h"

#include "../../plugins/pooler/pooler_int.h"

static const struct fuzz_plugin fuzz_pooler = {"pooler", pool_validate, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_validate(&fuzz_pooler, data, size);
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * fuzz_parameters.c — libFuzzer harness: arbitrary bytes as a cluster spec,
 * its `parameters:` section (or the whole document) handed to the parameters
 * plugin's validate through the controller's host (harness.h).
 */
#include "harness.h"

#include "../../plugins/parameters/parameters_int.h"

static const struct fuzz_plugin fuzz_parameters = {"parameters", par_validate,
						   NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_validate(&fuzz_parameters, data, size);
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * fuzz_roles.c — libFuzzer harness: arbitrary bytes as a cluster spec,
 * its `roles:` section (or the whole document) handed to the roles
 * plugin's validate through the controller's host (harness.h).
 */
#include "harness.h"

#include "../../plugins/roles/roles_int.h"

static const struct fuzz_plugin fuzz_roles = {"roles", role_validate, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_validate(&fuzz_roles, data, size);
}

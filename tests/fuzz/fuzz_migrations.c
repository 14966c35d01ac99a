/* SPDX-License-Identifier: PostgreSQL */
/*
 * fuzz_migrations.c — libFuzzer harness: arbitrary bytes as a cluster
 * spec, its `migrations:` section (or the whole document) handed to the
 * migrations plugin's validate through the controller's host
 * (harness.h), with specs/examples/migrations as the --dir source so that
 * locations can name real directories. As under `dbops plan`, validate
 * lists the files and parses their names but not their SQL: the statement
 * splitter (sql.c) is not exercised here.
 */
#include "harness.h"

#include "../../plugins/migrations/migrations_int.h"

static const struct fuzz_plugin fuzz_migrations = {"migrations", mig_validate,
						   "specs/examples/migrations"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_validate(&fuzz_migrations, data, size);
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * fuzz_spec.c — libFuzzer harness for the spec loader: arbitrary bytes
 * through spec_parse with the default limits, then, when a tree comes
 * back, the top-level checks of a cluster spec (spec_cluster_read, with
 * the sections of the plugins of this tree) and of a fleet file
 * (spec_fleet_read), and every diagnostic printed. No plugin runs.
 */
#include "harness.h"

#include "diag.h"
#include "spec.h"

static const char *const fuzz_sections[] = {
    "parameters", "roles", "pooler", "replicas", "migrations",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	const struct dbops_node *root = NULL;
	struct spec_cluster cluster;
	struct spec_fleet fleet;

	spec_parse(&root, a, &diags, "cluster.yaml", (const char *)data, size,
		   &spec_default_limits);
	if (root != NULL) {
		spec_cluster_read(&cluster, &diags, a, root, fuzz_sections,
				  sizeof(fuzz_sections) /
				      sizeof(fuzz_sections[0]));
		spec_fleet_read(&fleet, &diags, a, root);
	}
	diag_print_list(fuzz_sink(), &diags);
	arena_free(a);
	return 0;
}

/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_values.c — a long value of the spec is cut where a plugin's
 * validate quotes it back in an error (plugins/value.h, the plugins' copy
 * of the controller's diag_value): one refused value per plugin, 200
 * bytes long, must come back as its first 64 bytes, "..." and its length.
 */
#include "t.h"

#include <stdio.h>
#include <string.h>

#include "fake_host.h"
#include "spec.h"
#include "../../plugins/migrations/migrations_int.h"
#include "../../plugins/pooler/pooler_int.h"
#include "../../plugins/replicas/replicas_int.h"
#include "../../plugins/roles/roles_int.h"

#define VT_LONG 200

/* The value as it must be shown. */
#define VT_SHOWN                                                               \
	"\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"   \
	"...\" (200 bytes)"

/*
 * `before`, a 200-byte value (the alphabet, repeated), then `after`,
 * parsed; its section named `plugin` handed to `validate`. What the
 * diagnostics say (a static buffer), or "" when validate did not refuse.
 */
static const char *vt_validate(const char *plugin, dbops_validate_fn validate,
			       const char *before, const char *after)
{
	static char out[8192];
	struct fake_ctx *fc = fake_host_new(plugin);
	char value[VT_LONG + 1], yaml[1024];
	const struct dbops_node *root;

	for (size_t i = 0; i < VT_LONG; i++)
		value[i] = (char)('a' + i % 26);
	value[VT_LONG] = '\0';
	snprintf(yaml, sizeof(yaml), "%s%s%s", before, value, after);
	out[0] = '\0';
	root = fake_host_spec(fc, yaml);
	if (root != NULL &&
	    validate(fake_host_ctx(fc), spec_get(root, plugin)) ==
		DBOPS_ERR_INVALID)
		snprintf(out, sizeof(out), "%s", fake_host_render(fc));
	fake_host_free(fc);
	return out;
}

TEST(test_pooler__long_value_is_cut_in_errors)
{
	T_ASSERT_CONTAINS(
	    vt_validate("pooler", pool_validate,
			"pooler:\n  settings: {pool_mode: ", "}\n"),
	    "invalid value for PgBouncer setting \"pool_mode\": " VT_SHOWN
	    "\n");
}

TEST(test_replicas__long_value_is_cut_in_errors)
{
	T_ASSERT_CONTAINS(vt_validate("replicas", repl_validate,
				      "replicas:\n  provider: ", "\n"),
			  "unknown replicas provider " VT_SHOWN "\n");
}

TEST(test_roles__long_value_is_cut_in_errors)
{
	T_ASSERT_CONTAINS(
	    vt_validate("roles", role_validate,
			"roles:\n  members:\n    - {name: a, state: ", "}\n"),
	    "roles.members[0].state must be \"present\" or \"absent\", got " VT_SHOWN
	    "\n");
}

TEST(test_migrations__long_value_is_cut_in_errors)
{
	T_ASSERT_CONTAINS(
	    vt_validate("migrations", mig_validate,
			"migrations:\n  lock_timeout: ", "\n  databases: []\n"),
	    "invalid value for migrations.lock_timeout: " VT_SHOWN "\n");
}

TEST(test_spec__long_key_is_cut_in_errors)
{
	T_ASSERT_CONTAINS(
	    vt_validate("pooler", pool_validate, "pooler:\n  ", ": 1\n"),
	    "unknown key " VT_SHOWN " in the pooler section\n");
}

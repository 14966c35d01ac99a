#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# run.sh — `make bench`: a no-op `dbops plan` of the quickstart's settings
# (spec read from a git commit, observe, diff, render) against its floor,
# the real psql binary running the same catalog queries in one session,
# the same plan from a directory (no git), and `dbops version` alone (the
# start-up cost), timed alternately
# (lib.sh) on a sandbox cluster. Prints the ratios; asserts nothing.
# The plugins' own workloads: roles.sh, pooler.sh, replicas.sh,
# migrations.sh (run by hand).
#
#   tests/bench/run.sh [--runs N]
#   DBOPS_BASELINE=OTHER/build/dbops tests/bench/run.sh   (before/after)

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
. "$src/tests/bench/lib.sh"
bench_find_psql || exit 1
runs=30
[ "${1:-}" = --runs ] && runs=$2
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (contrib/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/dbops-bench.XXXXXX)
chmod 0755 "$work"
cleanup()
{
	"$src/contrib/sandbox" destroy "$work/sandbox" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

eval "$("$src/contrib/sandbox" up "$work/sandbox" 2>/dev/null)"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@dbops.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@dbops.invalid
mkdir -p "$work/repo"
# the quickstart's core part (parameters): the pooler and the replicas
# have benches of their own (pooler.sh, replicas.sh)
sed '/^# PgBouncer in front of the primary/,$d' \
	"$src/specs/examples/quickstart/cluster.yaml" >"$work/repo/cluster.yaml"
git -C "$work/repo" init -q -b main
git -C "$work/repo" add -A
git -C "$work/repo" commit -q -m bench
"$src/build/dbops" apply --repo "$work/repo" --auto-approve >/dev/null
"$src/contrib/sandbox" restart "$work/sandbox" >/dev/null 2>&1
"$src/build/dbops" plan --repo "$work/repo" --detailed-exitcode >/dev/null ||
	{ echo "bench: the quickstart plan is not empty after apply" >&2; exit 1; }

# The statements a no-op plan of the quickstart sends, in the same order.
names="'shared_buffers','work_mem','maintenance_work_mem','effective_cache_size','log_min_duration_statement','log_connections','log_lock_waits','random_page_cost'"
cat >"$work/floor.sql" <<SQL
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT current_setting('server_version_num') AS version, current_database() AS db, CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE') THEN (SELECT system_identifier::text FROM pg_control_system()) END AS system_identifier;
SELECT pg_catalog.has_table_privilege('pg_catalog.pg_file_settings', 'SELECT') AND pg_catalog.has_function_privilege('pg_catalog.pg_show_all_file_settings()', 'EXECUTE') AS read_file_settings, pg_catalog.pg_has_role('pg_read_all_settings', 'MEMBER') AS read_all_settings;
SELECT name, setting, unit, vartype, context, min_val, max_val, enumvals, pending_restart, boot_val, source FROM pg_catalog.pg_settings WHERE pg_catalog.lower(name) = ANY (ARRAY[$names]) ORDER BY name;
SELECT name FROM pg_catalog.pg_settings ORDER BY name;
SELECT name, setting, applied, error, seqno FROM pg_catalog.pg_file_settings WHERE pg_catalog.lower(name) = ANY (ARRAY[$names]) ORDER BY seqno;
COMMIT;
SQL

cmds=("psql (floor)" "$PSQL -X -q -f $work/floor.sql >/dev/null"
	"dbops plan (no-op)" "$src/build/dbops plan --repo $work/repo --no-color >/dev/null"
	"dbops plan --dir (no-op)" "$src/build/dbops plan --dir $work/repo --no-color >/dev/null"
	"dbops version" "$src/build/dbops version >/dev/null")
# DBOPS_BASELINE=PATH: another build's binary timed in the same run
if [ -n "${DBOPS_BASELINE:-}" ]; then
	cmds+=("baseline plan (no-op)" "$DBOPS_BASELINE plan --repo $work/repo --no-color >/dev/null"
		"baseline version" "$DBOPS_BASELINE version >/dev/null")
fi
bench_alternate "$work/result.tsv" 10 $((runs / 10 + 1)) "${cmds[@]}"
awk -v f="$(bench_median "$work/result.tsv" "psql (floor)")" \
	-v d="$(bench_median "$work/result.tsv" "dbops plan (no-op)")" 'BEGIN {
	printf "\nno-op plan of the quickstart: dbops %.1f ms, psql %.1f ms, ratio %.2fx (target <= 1.5x)\n",
		d * 1000, f * 1000, d / f }'

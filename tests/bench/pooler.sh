#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# pooler.sh — plan and apply of one PgBouncer change by dbops (observe the
# admin console and the files, render, write, RELOAD, read back) against its
# floor, the real psql binary sending SHOW CONFIG, SHOW DATABASES and
# RELOAD to the admin console in one session, timed alternately (lib.sh)
# on a sandbox. Before every run a SET on the console puts
# default_pool_size off the spec, so that each dbops run has a change to
# apply. Prints the ratio; asserts nothing.
#
#   tests/bench/pooler.sh [--runs N]

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
. "$src/tests/bench/lib.sh"
bench_find_psql || exit 1
runs=30
[ "${1:-}" = --runs ] && runs=$2
command -v hyperfine >/dev/null || {
	echo "bench: hyperfine is not installed (contrib/install-deps.sh)" >&2
	exit 1
}

work=$(mktemp -d /tmp/dbops-bench.XXXXXX)
chmod 0755 "$work"
cleanup()
{
	"$src/contrib/sandbox" destroy "$work/sandbox" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

eval "$("$src/contrib/sandbox" up "$work/sandbox" 2>/dev/null)"
mkdir -p "$work/spec"
cat >"$work/spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: bench
pooler:
  pgbouncer: {config_file: "$PGBOUNCER_INI", admin: "$PGBOUNCER_ADMIN"}
  settings: {pool_mode: transaction, default_pool_size: 15, max_client_conn: 300}
  databases:
    postgres: {target: primary, dbname: postgres, pool_size: 10}
    "*": {target: primary}
YAML
"$src/build/dbops" apply --dir "$work/spec" --auto-approve >/dev/null
"$src/build/dbops" plan --dir "$work/spec" --detailed-exitcode >/dev/null ||
	{ echo "bench: the plan is not empty after apply" >&2; exit 1; }

drift="$PSQL -X -q '$PGBOUNCER_ADMIN' -c 'SET default_pool_size = 33' >/dev/null"
sh -c "$drift"
if "$src/build/dbops" plan --dir "$work/spec" --detailed-exitcode >/dev/null; then
	echo "bench: the drift is not planned" >&2
	exit 1
fi

# the same drift before every run of either command, so both pay it alike
bench_alternate "$work/result.tsv" 10 $((runs / 10 + 1)) --prepare "$drift" \
	"psql (floor)" \
	"$PSQL -X -q '$PGBOUNCER_ADMIN' -c 'SHOW CONFIG' -c 'SHOW DATABASES' -c 'RELOAD' >/dev/null" \
	"dbops plan+apply (one change)" \
	"$src/build/dbops apply --dir $work/spec --auto-approve --no-color >/dev/null 2>&1"
awk -v f="$(bench_median "$work/result.tsv" "psql (floor)")" \
	-v d="$(bench_median "$work/result.tsv" "dbops plan+apply (one change)")" 'BEGIN {
	printf "\npooler change: dbops %.1f ms, psql %.1f ms, ratio %.2fx (target <= 3x)\n",
		d * 1000, f * 1000, d / f }'

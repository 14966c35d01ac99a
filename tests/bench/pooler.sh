#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# pooler.sh — plan and apply of one PgBouncer change by dbops (observe the
# admin console and the files, render, write, RELOAD, read back) against its
# floor, psql sending SHOW CONFIG, SHOW DATABASES and RELOAD to the admin
# console in one session, timed in one hyperfine run on a sandbox. Before
# every dbops run a SET on the console puts default_pool_size off the spec,
# so that each run has a change to apply. Prints the ratio; asserts nothing.
#
#   tests/bench/pooler.sh [--runs N]

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
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

drift="psql -X -q '$PGBOUNCER_ADMIN' -c 'SET default_pool_size = 33' >/dev/null"
sh -c "$drift"
if "$src/build/dbops" plan --dir "$work/spec" --detailed-exitcode >/dev/null; then
	echo "bench: the drift is not planned" >&2
	exit 1
fi

hyperfine --style basic --warmup 3 --runs "$runs" --export-csv "$work/result.csv" \
	-n "psql (floor)" \
	"psql -X -q '$PGBOUNCER_ADMIN' -c 'SHOW CONFIG' -c 'SHOW DATABASES' -c 'RELOAD' >/dev/null" \
	-n "dbops plan+apply (one change)" --prepare "$drift" \
	"$src/build/dbops apply --dir $work/spec --auto-approve --no-color >/dev/null 2>&1"

awk -F, 'NR == 2 { floor = $2 } NR == 3 { dbops = $2 }
END {
	printf "\npooler change: dbops %.1f ms, psql %.1f ms, ratio %.2fx (target <= 3x)\n",
		dbops * 1000, floor * 1000, dbops / floor
}' "$work/result.csv"

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# expand.sh — an expand/contract change's backfill against its floor, run
# by hand, on a sandbox cluster of its own:
#
#   - throughput: the backfill of a change_type change (numeric amount →
#     bigint amount_cents) on a table of N rows (default 10 million),
#     against the floor, one UPDATE of the whole table (the fastest way,
#     which holds a lock on every row and doubles the table at once);
#   - the write latency of a steady load (pgbench at a fixed rate,
#     updating random rows through the old column) before the change,
#     during the backfill (dual-write trigger installed), and after it
#     (the trigger alone): p50 and p99 from pgbench's per-transaction
#     log. The target: p99 during the backfill under 2x the p99 before.
#
# Prints the figures and ratios; asserts nothing.
#
#   tests/bench/expand.sh [--rows N] [--rate TPS] [--clients N]
#                         [--seconds S] [--batch-time T] [--pause T] [--disk]
#
# --batch-time and --pause set the change's backfill settings (default:
# the plugin's defaults).

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
rows=10000000
rate=400
clients=4
seconds=20
base=/dev/shm
backfill=
while [ $# -gt 0 ]; do
	case $1 in
	--rows) rows=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--clients) clients=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--batch-time) backfill="$backfill batch_time: $2,"; shift 2 ;;
	--pause) backfill="$backfill pause: $2,"; shift 2 ;;
	--disk) base=${TMPDIR:-/tmp}; shift ;;
	*) echo "usage: $0 [--rows N] [--rate TPS] [--clients N] [--seconds S] [--disk]" >&2; exit 2 ;;
	esac
done
. "$src/tests/bench/lib.sh"
bench_find_psql || exit 1
pgbench=$(dirname "$PSQL")/pgbench
[ -x "$pgbench" ] || pgbench=pgbench

[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/dbops-bench-expand.XXXXXX")
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
psql() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "== $rows rows, load: $clients clients at $rate tps in all"
psql -d postgres -c "CREATE DATABASE bench_tpl"
psql -d bench_tpl -c "CREATE TABLE accounts (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL, note text);
	INSERT INTO accounts SELECT g, (g % 100000) / 100.0, 'account ' || g FROM generate_series(1, $rows) g" \
	-c "VACUUM ANALYZE accounts"
psql -d postgres -c "CREATE DATABASE bench_floor TEMPLATE bench_tpl" \
	-c "CREATE DATABASE bench TEMPLATE bench_tpl"

# ---- the floor: one UPDATE of every row
psql -d bench_floor -c "ALTER TABLE accounts ADD COLUMN amount_cents bigint"
t0=$(now)
psql -d bench_floor -c "UPDATE accounts SET amount_cents = (amount * 100)::bigint"
floor_s=$(secs "$t0" "$(now)")
psql -d postgres -c "DROP DATABASE bench_floor"

# ---- the load and its latencies
cat >"$work/write.sql" <<SQL
\set id random(1, $rows)
UPDATE accounts SET amount = amount + 0.01 WHERE id = :id;
SQL
# load NAME SECONDS: one stretch of the load, its log in $work/NAME.*
load()
{
	(cd "$work" && "$pgbench" -n -c "$clients" -j 2 -R "$rate" -T "$2" \
		-f write.sql -l --log-prefix="$1" bench >"$work/$1.out" 2>&1)
}
# pct NAME...: p50 and p99 (ms) of the transactions in those logs
pct()
{
	local f=()

	for n in "$@"; do
		f+=("$work/$n".[0-9]*)
	done
	python3 - "${f[@]}" <<'PY'
import sys
lat = []
for name in sys.argv[1:]:
    for line in open(name):
        parts = line.split()
        if len(parts) >= 3 and parts[2].isdigit():
            lat.append(int(parts[2]) / 1000.0)
lat.sort()
if not lat:
    print("0 0 0")
else:
    print("%.2f %.2f %d" % (lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], len(lat)))
PY
}

load before "$seconds"
read -r before_p50 before_p99 before_n <<<"$(pct before)"

repo=$work/repo
mkdir -p "$repo/m"
printf 'SELECT 1;\n' >"$repo/m/V1__noop.sql"
cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: bench
migrations:
  databases:
    - database: bench
      locations: [m]
      changes:
        - name: accounts_cents
          table: accounts
          state: expanded
          operations:
            - change_type: {column: amount, to: amount_cents, type: bigint, up: "(amount * 100)::bigint", down: "amount_cents / 100.0"}
YAML
if [ -n "$backfill" ]; then
	printf '          backfill: {%s}\n' "${backfill%,}" >>"$repo/cluster.yaml"
fi
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" commit -q -m bench

# the load in stretches of 5 seconds (each one's log complete) for as
# long as the apply runs
"$src/build/dbops" apply --repo "$repo" --auto-approve --no-color \
	>"$work/apply.out" 2>&1 &
apply=$!
k=0
during=()
while kill -0 "$apply" 2>/dev/null; do
	k=$((k + 1))
	load "during$k" 5
	during+=("during$k")
done
wait "$apply" || { cat "$work/apply.out"; exit 1; }
read -r during_p50 during_p99 during_n <<<"$(pct "${during[@]}")"
load after "$seconds"
read -r after_p50 after_p99 after_n <<<"$(pct after)"

line=$(grep 'backfill of change "accounts_cents":' "$work/apply.out")
bf_s=$(sed -n 's/.* in \([0-9.]*\)s$/\1/p' <<<"$line")
echo
echo "backfill ($line)"
awk -v r="$rows" -v f="$floor_s" -v b="$bf_s" 'BEGIN {
	printf "  %-34s %9.1f s %12.0f rows/s\n", "single UPDATE (floor, locks all)", f, r / f
	printf "  %-34s %9.1f s %12.0f rows/s   %.2fx the floor'"'"'s time\n", "dbops backfill (under the load)", b, r / b, b / f
}'
echo
echo "write latency of the load ($rate tps, $clients clients), ms:"
printf '  %-34s %8s %8s %8s\n' "" p50 p99 txns
printf '  %-34s %8s %8s %8s\n' "before the change" "$before_p50" "$before_p99" "$before_n"
printf '  %-34s %8s %8s %8s\n' "during the backfill" "$during_p50" "$during_p99" "$during_n"
printf '  %-34s %8s %8s %8s\n' "after it (dual-write trigger)" "$after_p50" "$after_p99" "$after_n"
awk -v d="$during_p99" -v b="$before_p99" 'BEGIN {
	printf "  p99 during / before: %.2fx (target: under 2x)\n", d / b
}'

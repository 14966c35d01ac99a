#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# migrations.sh — the migrations plugin against its floor, run by hand:
# N migrations of one CREATE TABLE each (a), or N migrations with an ALTER
# TABLE, a CREATE INDEX and a 1,000-row INSERT ... SELECT each (b), each
# on a table of its own made before the run (on one shared table, the
# 200th migration would update 200 indexes per row: the server's work
# would grow with the square of N and swamp every tool's own cost), applied
# to a fresh database by
#   - psql, the same files in one session, each in its own transaction
#     (the floor; it writes no history);
#   - dbops apply (spec and files read from a git commit);
#   - dbmate (its native binary: bench_find_dbmate) and sqitch when they
#     are installed;
# then the no-op re-run: dbops plan against psql reading the history
# table. hyperfine, in one run, on a sandbox cluster of its own. Prints
# the ratios, and whether dbops' time per migration grows with the
# history (the first and the last 1,000 of one apply, from its run log);
# asserts nothing.
#
# The cluster lives on tmpfs (/dev/shm) unless --disk: on the virtual
# machines this was written on, creating a file on ext4 costs about 1 ms
# of kernel time, a CREATE TABLE creates several, and that cost varied by
# a third between runs, hiding what the tools themselves cost. On tmpfs
# every tool pays the same, smaller, steadier server cost.
#
#   tests/bench/migrations.sh [--count N] [--workload a|b] [--runs N]
#                             [--no-sqitch] [--no-dbmate] [--disk]
#   DBOPS_BASELINE=OTHER/build/dbops: that binary's no-op plan too

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
count=1000
workload=a
runs=3
use_sqitch=yes
use_dbmate=yes
base=/dev/shm
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=$2; shift 2 ;;
	--workload) workload=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--no-sqitch) use_sqitch=no; shift ;;
	--no-dbmate) use_dbmate=no; shift ;;
	--disk) base=${TMPDIR:-/tmp}; shift ;;
	*) echo "usage: $0 [--count N] [--workload a|b] [--runs N]" >&2; exit 2 ;;
	esac
done
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (contrib/install-deps.sh)" >&2; exit 1; }
. "$src/tests/bench/lib.sh"
bench_find_psql || exit 1

[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/dbops-bench-mig.XXXXXX")
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

# ---- the migration files, in Flyway's naming
repo=$work/repo
mkdir -p "$repo/m" "$work/dbmate/db/migrations" "$work/sqitch/deploy" \
	"$work/sqitch/revert" "$work/sqitch/verify"
printf '%%syntax-version=1.0.0\n%%project=bench\n\n' >"$work/sqitch/sqitch.plan"
cat >"$work/sqitch/sqitch.conf" <<CONF
[core]
	engine = pg
[engine "pg"]
	target = db:pg://$PGUSER@$PGHOST:$PGPORT/bench
[user]
	name = bench
	email = bench@dbops.invalid
CONF
cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: bench
migrations:
  databases:
    - database: bench
      locations: [m]
      lint: {level: "off"}
YAML
: >"$work/floor.sql"
for i in $(seq 1 "$count"); do
	if [ "$workload" = a ]; then
		body="CREATE TABLE t$i (id int PRIMARY KEY, name text);"
	else
		body="ALTER TABLE b$i ADD COLUMN c int;
CREATE INDEX b${i}_c_idx ON b$i (c);
INSERT INTO b$i (id, c) SELECT g, g FROM generate_series(1, 1000) g;"
	fi
	printf '%s\n' "$body" >"$repo/m/V${i}__m$i.sql"
	printf 'BEGIN;\n%s\nCOMMIT;\n' "$body" >>"$work/floor.sql"
	printf -- '-- migrate:up\n%s\n\n-- migrate:down\n' "$body" \
		>"$work/dbmate/db/migrations/$(printf '%06d' "$i")_m$i.sql"
	printf 'BEGIN;\n%s\nCOMMIT;\n' "$body" >"$work/sqitch/deploy/m$i.sql"
	printf 'm%s 2024-01-01T00:00:00Z bench <bench@dbops.invalid> # m%s\n' \
		"$i" "$i" >>"$work/sqitch/sqitch.plan"
done
prep_sql="-c 'DROP DATABASE IF EXISTS bench WITH (FORCE)' -c 'CREATE DATABASE bench'"
if [ "$workload" = b ]; then
	printf 'DO $$ BEGIN FOR i IN 1..%s LOOP EXECUTE format($f$CREATE TABLE b%%s (id bigint PRIMARY KEY)$f$, i); END LOOP; END $$;\n' \
		"$count" >"$work/setup.sql"
	prep="$PSQL -X -q -d postgres $prep_sql && $PSQL -X -q -d bench -f $work/setup.sql"
else
	prep="$PSQL -X -q -d postgres $prep_sql"
fi
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" commit -q -m bench

cmds=("psql (floor)" "$PSQL -X -q -v ON_ERROR_STOP=1 -d bench -f $work/floor.sql >/dev/null"
	"dbops apply" "$src/build/dbops apply --repo $repo --auto-approve --no-color >/dev/null")
[ $use_dbmate = yes ] && { bench_find_dbmate || use_dbmate=no; }
if [ $use_dbmate = yes ]; then
	export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/bench?sslmode=disable"
	cmds+=("dbmate up" "cd $work/dbmate && $DBMATE --no-dump-schema up >/dev/null")
fi
if [ $use_sqitch = yes ] && command -v sqitch >/dev/null; then
	cmds+=("sqitch deploy" "cd $work/sqitch && sqitch deploy >/dev/null")
fi

echo "workload $workload, $count migrations, apply:"
bench_alternate "$work/apply.tsv" "$runs" 1 --prepare "$prep" "${cmds[@]}"

# ---- no-op re-run on the applied database
eval "$prep"
"$src/build/dbops" apply --repo "$repo" --auto-approve --no-color >/dev/null
"$src/build/dbops" plan --repo "$repo" --no-color --detailed-exitcode >/dev/null ||
	{ echo "bench: the plan is not empty after apply" >&2; exit 1; }
noop=("psql reads the history" "$PSQL -X -q -d bench -c 'SELECT * FROM flyway_schema_history ORDER BY installed_rank' >/dev/null"
	"dbops plan (no-op)" "$src/build/dbops plan --repo $repo --no-color >/dev/null"
	"dbops apply (no-op)" "$src/build/dbops apply --repo $repo --auto-approve --no-color >/dev/null"
	"dbops plan --dir (no-op)" "$src/build/dbops plan --dir $repo --no-color >/dev/null")
# (--dir: no libgit2, whose initialisation parses the system's CA bundle,
# but every file read and checksummed, as no blob id is known)
# DBOPS_BASELINE=PATH: another build's binary timed in the same run
[ -n "${DBOPS_BASELINE:-}" ] &&
	noop+=("baseline plan (no-op)" "$DBOPS_BASELINE plan --repo $repo --no-color >/dev/null")
# each peer on a database of its own, migrated by itself
for d in bench_dm bench_sq; do
	$PSQL -X -q -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" -c "CREATE DATABASE $d"
	[ "$workload" = a ] || $PSQL -X -q -d "$d" -f "$work/setup.sql"
done
if [ $use_dbmate = yes ]; then
	dm_url="postgres://$PGUSER@$PGHOST:$PGPORT/bench_dm?sslmode=disable"
	(cd "$work/dbmate" && DATABASE_URL=$dm_url "$DBMATE" --no-dump-schema up >/dev/null)
	noop+=("dbmate up (no-op)" "cd $work/dbmate && DATABASE_URL='$dm_url' $DBMATE --no-dump-schema up >/dev/null")
fi
if [ $use_sqitch = yes ] && command -v sqitch >/dev/null; then
	sq_url="db:pg://$PGUSER@$PGHOST:$PGPORT/bench_sq"
	(cd "$work/sqitch" && sqitch deploy "$sq_url" >/dev/null)
	noop+=("sqitch deploy (no-op)" "cd $work/sqitch && sqitch deploy $sq_url >/dev/null")
fi
"$src/build/dbops" plan --repo "$repo" --no-color --detailed-exitcode >"$work/plan.out" 2>&1 ||
	{ echo "bench: the no-op plan fails or is not empty:" >&2; tail -n 20 "$work/plan.out" >&2; exit 1; }
echo "no-op re-run:"
bench_alternate "$work/noop.tsv" $((runs * 3)) 2 "${noop[@]}"

# does dbops' time per migration grow with the history? The apply above
# (the no-op section's) is in the run log, one row per migration.
growth=""
if [ "$count" -ge 2000 ]; then
	growth=$($PSQL -X -A -t -q -d postgres -c "
		WITH r AS (SELECT max(id) AS id FROM dbops.runs WHERE status = 'applied'),
		     c AS (SELECT seq, duration_ms FROM dbops.run_changes, r WHERE run_id = r.id)
		SELECT round(avg(duration_ms) FILTER (WHERE seq <= 1000), 3) || ' ' ||
		       round(avg(duration_ms) FILTER (WHERE seq > (SELECT max(seq) FROM c) - 1000), 3)
		FROM c")
fi

if [ -n "$growth" ]; then
	awk -v g="$growth" 'BEGIN { split(g, v, " ");
		printf "dbops apply, ms per migration: first 1,000 %.3f, last 1,000 %.3f (%.2fx)\n", v[1], v[2], v[2] / v[1] }'
fi

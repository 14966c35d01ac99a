#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# replicas.sh — by hand, not part of `make check`: on a sandbox of its own
# with a ~1 GB database (pgbench -i -s 70), the time from `dbops apply` to
# a streaming standby against pg_basebackup alone (same options, no start),
# RUNS times each, alternating; then the write outage of
# `dbops switchover` under a pgbench write load. Everything is removed at
# the end.
#
#	tests/bench/replicas.sh [DIR]      (default: a new directory in /tmp)
#
# Environment: RUNS (default 3), SCALE (default 70).

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
. "$src/tests/bench/lib.sh"
bench_find_psql || exit 1
dbops=$src/build/dbops
runs=${RUNS:-3}
scale=${SCALE:-70}
dir=${1:-$(mktemp -d /tmp/dbops-bench-repl.XXXXXX)}
chmod 0755 "$dir"
bindir=/usr/lib/postgresql/15/bin
[ -x "$bindir/pg_basebackup" ] || bindir=$(pg_config --bindir)

as_pg()
{
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

cleanup()
{
	touch "$dir/stop" 2>/dev/null || true
	"$src/contrib/sandbox" destroy "$dir/sandbox" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT

eval "$("$src/contrib/sandbox" up "$dir/sandbox")"
sbx=$dir/sandbox
port2=$((PGPORT + 50))
echo "# pgbench -i -s $scale on 127.0.0.1:$PGPORT"
pgbench -i -q -s "$scale" postgres >/dev/null 2>&1
size=$($PSQL -X -A -t -c "SELECT pg_size_pretty(pg_database_size('postgres'))")
echo "# database size: $size"

spec=$dir/spec
mkdir -p "$spec"
cat >"$spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: bench
replicas:
  provider: local
  synchronous: {mode: any, count: 1}
  members:
    - {name: standby1, port: $port2, data_dir: $sbx/standby1}
YAML

now() { date +%s.%N; }

bb=()
ap=()
for i in $(seq 1 "$runs"); do
	as_pg rm -rf "$sbx/bb"
	t0=$(now)
	as_pg "$bindir/pg_basebackup" -D "$sbx/bb" -X stream -c fast -R \
		-h 127.0.0.1 -p "$PGPORT" -U postgres
	t1=$(now)
	bb+=("$(echo "$t1 - $t0" | bc)")
	as_pg rm -rf "$sbx/bb"

	t0=$(now)
	"$dbops" apply --dir "$spec" --auto-approve --no-color >"$dir/apply.out"
	t1=$(now)
	ap+=("$(echo "$t1 - $t0" | bc)")
	grep -q 'standby1: streaming' "$dir/apply.out" || {
		cat "$dir/apply.out"
		exit 1
	}
	echo "# run $i: pg_basebackup ${bb[-1]}s, dbops apply to streaming ${ap[-1]}s"
	grep -E '^  standby1: (cloned|streaming)' "$dir/apply.out" | sed 's/^ */#   /'
	if [ "$i" -lt "$runs" ]; then
		$PSQL -X -q -c "ALTER SYSTEM RESET synchronous_standby_names" -c "SELECT pg_reload_conf()" >/dev/null
		as_pg "$bindir/pg_ctl" stop -D "$sbx/standby1" -m fast -w >/dev/null
		$PSQL -X -q -c "SELECT pg_drop_replication_slot('standby1')" >/dev/null
		as_pg rm -rf "$sbx/standby1"
	fi
done
med()
{
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
mb=$(med "${bb[@]}")
ma=$(med "${ap[@]}")
echo "pg_basebackup alone:            median ${mb}s (${bb[*]})"
echo "dbops apply to streaming:       median ${ma}s (${ap[*]})"
echo "ratio dbops/pg_basebackup:      $(echo "scale=3; $ma / $mb" | bc)"

# switchover under write load: pgbench against the primary (it fails when
# the primary stops; the outage is what dbops measures)
cat >"$dir/w.sql" <<'SQL'
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 1, now());
SQL
pgbench -n -c 4 -T 20 -f "$dir/w.sql" postgres >"$dir/pgbench.out" 2>&1 &
load=$!
sleep 3
"$dbops" switchover --to standby1 --dir "$spec" --auto-approve --no-color |
	tee "$dir/switchover.out" | grep -E 'unavailable|data lost|CHECKPOINT|stopped in'
wait "$load" || true

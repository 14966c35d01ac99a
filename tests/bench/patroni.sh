#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# patroni.sh — by hand, not part of `make check`: failovers and
# switchovers of an HA sandbox of its own (contrib/sandbox --kind ha:
# etcd and three Patroni 3.0.2 nodes), each under a writer, measured by
# dbops itself (`dbops replicas drill failover`, whose writer inserts
# numbered rows and records RTO and lost acknowledged rows in
# dbops.failover_drills; `dbops switchover`, whose probe commits every
# 10 ms):
#
#   1. SYNC_DRILLS failovers (default 10) in synchronous_mode_strict with
#      tuned timers (ttl 10, loop_wait 2): RTO, acknowledged rows lost
#      (the target is 0);
#   2. ASYNC_DRILLS failovers (default 5) in asynchronous mode, tuned
#      timers: RTO and the rows lost;
#   3. DEFAULT_DRILLS failovers (default 3) in synchronous mode with
#      Patroni's default timers (ttl 30, loop_wait 10);
#   4. SWITCHOVERS switchovers (default 5), tuned timers: the outage.
#
# primary_start_timeout is 0 throughout (the sandbox's), so Patroni fails
# over a crashed primary rather than restarting it in place. Everything is
# removed at the end.
#
#	tests/bench/patroni.sh [DIR]      (default: a new directory in /tmp)
#
# Environment: SYNC_DRILLS, ASYNC_DRILLS, DEFAULT_DRILLS, SWITCHOVERS;
# BENCH_LOG (default /tmp/dbops-bench-patroni.log) keeps every drill's
# output.

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
dbops=$src/build/dbops
dir=${1:-$(mktemp -d /tmp/dbops-bench-ha.XXXXXX)}
chmod 0755 "$dir"
sync_drills=${SYNC_DRILLS:-10}
async_drills=${ASYNC_DRILLS:-5}
default_drills=${DEFAULT_DRILLS:-3}
switchovers=${SWITCHOVERS:-5}
log=${BENCH_LOG:-/tmp/dbops-bench-patroni.log} # every drill's whole output
: >"$log"

cleanup()
{
	"$src/contrib/sandbox" destroy "$dir/ha" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT

"$src/contrib/sandbox" up "$dir/ha" --kind ha >"$dir/env" 2>"$dir/up.log"
# shellcheck disable=SC1091
. "$dir/env"
IFS=, read -r -a ports <<<"$PGPORT"
IFS=, read -r -a urls <<<"$PATRONI_URLS"
rw="host=$PGHOST port=$PGPORT user=postgres dbname=postgres target_session_attrs=read-write"
unset PGTARGETSESSIONATTRS

patch()
{
	curl -fsS -m 10 -u "dbops:$DBOPS_SECRET_SANDBOX_PATRONI" -X PATCH \
		-H 'Content-Type: application/json' -d "$1" \
		"${urls[0]}/config" >/dev/null
}

# healthy: a leader, two replicas running with a known lag of 0, and a
# synchronous standby when synchronous mode is on
healthy()
{
	curl -fsS -m 5 "${urls[0]}/cluster" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)
m = c["members"]
lead = [x for x in m if x["role"] == "leader" and x["state"] == "running"]
rep = [x for x in m if x["role"] != "leader" and x["state"] in ("running", "streaming") and x.get("lag") == 0]
sync = [x for x in m if x["role"] == "sync_standby"]
sys.exit(0 if len(lead) == 1 and len(rep) == 2 and (sys.argv[1] == "off" or sync) else 1)' "$1"
}

wait_healthy()
{
	for _ in $(seq 1 600); do
		healthy "$1" && return 0
		sleep 0.2
	done
	echo "bench: the cluster did not become healthy" >&2
	return 1
}

mkdir -p "$dir/spec"
write_spec()
{
	cat >"$dir/spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: bench
connection: {conninfo: "$rw"}
replicas:
  provider: patroni
  patroni:
    urls: [${urls[0]}, ${urls[1]}, ${urls[2]}]
    username: dbops
    password: {env: DBOPS_SECRET_SANDBOX_PATRONI}
  synchronous: {mode: $1, count: 1$2}
  wait_timeout: 120s
  members:
    - {name: node1, port: ${ports[0]}}
    - {name: node2, port: ${ports[1]}}
    - {name: node3, port: ${ports[2]}}
YAML
	"$dbops" apply --dir "$dir/spec" --auto-approve --no-color >"$dir/apply.log" 2>&1 ||
		{ cat "$dir/apply.log" >&2; return 1; }
}

# drills LABEL N MODE: N drills; prints one line per drill
drills()
{
	local label=$1 n=$2 mode=$3 i

	for i in $(seq 1 "$n"); do
		wait_healthy "$mode"
		sleep 1
		if ! "$dbops" replicas drill failover \
			--i-understand-this-kills-the-primary --dir "$dir/spec" \
			--auto-approve --no-color >"$dir/drill.log" 2>&1; then
			echo "bench: drill $i ($label) failed:" >&2
			tail -n 20 "$dir/drill.log" >&2
			return 1
		fi
		cat "$dir/drill.log" >>"$log"
		grep -E '^Failover drill' "$dir/drill.log" | sed "s/^/  $label $i: /"
	done
}

summary()
{
	psql -X -A -t -q -d "$rw" -c "
SELECT format('%s: %s drills, RTO median %ss (min %s, max %s), acknowledged rows lost %s of %s',
       $2, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY rto_seconds)::numeric(10,2),
       min(rto_seconds), max(rto_seconds), sum(lost_rows), sum(acknowledged_rows))
  FROM (SELECT * FROM dbops.failover_drills ORDER BY started_at DESC LIMIT $1) d"
}

echo "== 1. synchronous_mode_strict, ttl 10 / loop_wait 2: $sync_drills failovers"
write_spec first ", strict: true"
drills sync "$sync_drills" first
sync_sum=$(summary "$sync_drills" "'sync strict, ttl 10 / loop_wait 2'")

echo "== 2. asynchronous, ttl 10 / loop_wait 2: $async_drills failovers"
write_spec off ""
drills async "$async_drills" off
async_sum=$(summary "$async_drills" "'async, ttl 10 / loop_wait 2'")

echo "== 3. synchronous, Patroni's default timers ttl 30 / loop_wait 10: $default_drills failovers"
write_spec first ""
patch '{"ttl": 30, "loop_wait": 10, "retry_timeout": 10}'
sleep 12
drills default "$default_drills" first
default_sum=$(summary "$default_drills" "'sync, ttl 30 / loop_wait 10'")
patch '{"ttl": 10, "loop_wait": 2, "retry_timeout": 5}'
sleep 12

echo "== 4. switchovers, ttl 10 / loop_wait 2: $switchovers"
outages=()
for i in $(seq 1 "$switchovers"); do
	wait_healthy first
	sleep 1
	to=$(curl -fsS "${urls[0]}/cluster" | /usr/bin/python3 -c '
import json, sys
print([m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == "sync_standby"][0])')
	"$dbops" switchover --to "$to" --dir "$dir/spec" --auto-approve \
		--no-color >"$dir/sw.log" 2>&1 ||
		{ tail -n 20 "$dir/sw.log" >&2; exit 1; }
	line=$(grep '^Switchover complete' "$dir/sw.log")
	echo "  switchover $i: $line"
	outages+=("$(sed -n 's/.*writes unavailable for \([0-9.]*\)s.*/\1/p' <<<"$line")")
done

echo
echo "== results"
echo "$sync_sum"
echo "$async_sum"
echo "$default_sum"
printf '%s\n' "${outages[@]}" | sort -n | awk '
{ v[NR] = $1 } END { printf "switchover: %d runs, outage median %.2fs (min %.2f, max %.2f)\n", NR, v[int((NR + 1) / 2)], v[1], v[NR] }'

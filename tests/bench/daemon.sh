#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# daemon.sh — the daemon's own costs, on a sandbox with twenty databases
# declared as clusters (each managing one role): the CPU and memory of an
# idle daemon at a 10 s interval (targets: under 1% of a core, under
# 20 MB RSS), its RSS after 10 passes and after 1,000 (at a 1 s interval:
# they should be equal), and the time from a signed push webhook to the
# change applied, beside the apply itself (target: under 1 s plus the
# apply). Prints figures; asserts nothing.
#
#   tests/bench/daemon.sh [--idle SECONDS] [--webhooks N]

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
idle=60
hooks=10
while [ $# -gt 0 ]; do
	case $1 in
	--idle) idle=$2; shift ;;
	--webhooks) hooks=$2; shift ;;
	*) echo "usage: $0 [--idle SECONDS] [--webhooks N]" >&2; exit 2 ;;
	esac
	shift
done
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

work=$(mktemp -d /tmp/dbops-bench.XXXXXX)
chmod 0755 "$work"
pid=
cleanup()
{
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	"$src/contrib/sandbox" destroy "$work/sandbox" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

eval "$("$src/contrib/sandbox" up "$work/sandbox" 2>/dev/null)"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@dbops.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@dbops.invalid
export DBOPS_SECRET_HOOK=bench-hook-secret
N=20

for i in $(seq -w 0 $((N - 1))); do
	printf 'CREATE DATABASE bench_%s;\n' "$i"
done | psql -X -q -d postgres >/dev/null
git init -q --bare -b main "$work/remote.git"
git init -q -b main "$work/work"
spec()
{
	for i in $(seq -w 0 $((N - 1))); do
		mkdir -p "$work/work/clusters/c$i"
		printf 'apiVersion: dbops/v1\ncluster: c%s\nroles:\n  members:\n    - {name: bench_r%s, login: true, connection_limit: %s}\n' \
			"$i" "$i" "$1" >"$work/work/clusters/c$i/cluster.yaml"
	done
}
{
	echo "apiVersion: dbops/v1"
	echo "clusters:"
	for i in $(seq -w 0 $((N - 1))); do
		echo "  - {name: c$i, path: clusters/c$i}"
	done
} >"$work/work/dbops.yaml"
spec 5
git -C "$work/work" add -A
git -C "$work/work" commit -q -m "twenty clusters"
git -C "$work/work" push -q "$work/remote.git" main

config()
{
	{
		echo "apiVersion: dbops/v1"
		echo "clusters:"
		for i in $(seq -w 0 $((N - 1))); do
			echo "  c$i: {connection: {conninfo: \"host=$PGHOST port=$PGPORT dbname=bench_$i user=$PGUSER\"}}"
		done
		cat <<YAML
source: {url: "file://$work/remote.git", branch: main, cache_dir: $work/cache}
daemon: {interval: $1, workers: 4}
http: {listen: "127.0.0.1:0", webhook_secret: {env: DBOPS_SECRET_HOOK}}
YAML
	} >"$work/dbops.yaml"
}

start()
{
	: >"$work/daemon.log"
	"$src/build/dbops" daemon --config "$work/dbops.yaml" >>"$work/daemon.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		grep -q 'listening on' "$work/daemon.log" && break
		sleep 0.1
	done
	port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/daemon.log")
}

stop()
{
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
# "RSS (anonymous + file-backed)" in MB
rss_split()
{
	awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 }
		END { printf "%.1f MB (%.1f anonymous + %.1f file-backed)", r / 1024, a / 1024, f / 1024 }' "/proc/$pid/status"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
passes()
{
	"$PY" - "$port" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1]).read().decode()
print(int(sum(float(l.split()[-1]) for l in text.splitlines()
              if l.startswith("dbops_cluster_passes_total{") and 'result="skipped"' not in l)))
PY
}
wait_passes()
{
	while [ "$(passes)" -lt "$1" ]; do sleep 0.2; done
}

echo "dbops daemon: $N clusters (one role each), $(nproc) cores"

# ---- idle at a 10 s interval
config 10s
start
wait_passes $((N * 2))
t0=$(cpu_ticks)
sleep "$idle"
t1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$idle" -v r="$(rss_split)" 'BEGIN {
	printf "  idle, 10 s interval:  CPU %.2f%% of a core over %d s, RSS %s\n", 100 * (b - a) / hz / s, s, r }'
stop

# ---- RSS after 10 and after 1,000 passes
config 1s
start
for n in 10 100 1000; do
	wait_passes "$n"
	printf '  RSS after %5d passes: %s\n' "$n" "$(rss_split)"
done
stop

# ---- a signed webhook to the change applied
config 1h
start
wait_passes "$N"
for k in $(seq 1 "$hooks"); do
	spec $((5 + k))
	git -C "$work/work" commit -q -am "limit $((5 + k))"
	git -C "$work/work" push -q "$work/remote.git" main
	"$PY" - "$port" "$k" "$((5 + k))" <<'PY' >>"$work/latency.tsv"
import hashlib, hmac, os, subprocess, sys, time, urllib.request
port, k, limit = sys.argv[1:4]
body = b'{"ref": "refs/heads/main"}'
sig = "sha256=" + hmac.new(os.environ["DBOPS_SECRET_HOOK"].encode(), body,
                           hashlib.sha256).hexdigest()
req = urllib.request.Request("http://127.0.0.1:%s/hooks/git" % port, data=body,
                             headers={"X-GitHub-Event": "push",
                                      "X-Hub-Signature-256": sig}, method="POST")
sent = time.time()
urllib.request.urlopen(req).read()
# the change of cluster c00, as its run log recorded it (same clock)
q = ("SELECT extract(epoch FROM c.finished_at), c.duration_ms FROM dbops.run_changes c "
     "JOIN dbops.runs r ON r.id = c.run_id WHERE c.status = 'applied' AND "
     "c.sql LIKE '%%CONNECTION LIMIT %s;' ORDER BY c.finished_at DESC LIMIT 1" % limit)
while True:
    out = subprocess.run(["psql", "-X", "-A", "-t", "-F", " ", "-d", "bench_00", "-c", q],
                         capture_output=True, text=True).stdout.split()
    if out:
        break
    time.sleep(0.05)
print("%.3f\t%.3f" % (float(out[0]) - sent, float(out[1]) / 1000))
PY
done
stop
sort -n "$work/latency.tsv" | awk -F '\t' '{ t[NR] = $1; a[NR] = $2 } END {
	m = int((NR + 1) / 2)
	printf "  signed webhook to the change applied (cluster c00 of %d, %d runs):\n", '"$N"', NR
	printf "    median %.0f ms (fastest %.0f ms, slowest %.0f ms); the apply itself: %.0f ms\n", t[m] * 1000, t[1] * 1000, t[NR] * 1000, a[m] * 1000 }'

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The daemon under systemd's notify protocol, without systemd: a listener
# on a unix datagram socket given as NOTIFY_SOCKET, with WATCHDOG_USEC set,
# receives READY=1 once the first cycle ran, STATUS= lines, WATCHDOG=1 at
# most half the watchdog interval apart, RELOADING=1 then READY=1 on
# SIGHUP, and STOPPING=1 on SIGTERM — which lets the change in progress
# finish, starts no other, records the run as interrupted, releases the
# lock and exits 0. (Server settings, applied one change at a time, make
# the apply; they are put back at the end.)

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/params_lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

DB=dbops_t_daemon_sd
new_db "$DB" || exit 1
on_exit "psql_q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' -d postgres >/dev/null"
reset_params
on_exit reset_params

"$PY" "$DBOPS_SRCDIR/tests/fixtures/notify_listener.py" "$T_TMP/notify.sock" \
	"$T_TMP/notify.log" &
listener=$!
on_exit "kill $listener 2>/dev/null"
wait_for 10 test -S "$T_TMP/notify.sock" || { not_ok "the listener binds"; exit 1; }

repo=$T_TMP/specs
remote_init "$repo" || exit 1
cat >"$repo/work/cluster.yaml" <<'YAML'
apiVersion: dbops/v1
cluster: sd
parameters:
  log_autovacuum_min_duration: 5s
  log_lock_waits: "on"
  log_parameter_max_length: "512"
  log_temp_files: 10MB
YAML
remote_push "$repo" "four logging settings" || exit 1
cat >"$T_TMP/dbops.yaml" <<YAML
apiVersion: dbops/v1
clusters:
  sd: {connection: {conninfo: "host=$PGHOST port=$PGPORT dbname=$DB user=$PGUSER"}}
source: {url: "file://$repo/remote.git", branch: main, cache_dir: $T_TMP/cache}
daemon: {interval: 1s}
http: {listen: "127.0.0.1:0"}
YAML

# notified KEY=VALUE: how many datagrams held that line
notified()
{
	"$PY" -c '
import json, sys
n = sum(1 for r in map(json.loads, open(sys.argv[1])) if sys.argv[2] in r.get("lines", []))
print(n)' "$T_TMP/notify.log" "$1"
}

# the settings dbops wrote, in name order
written()
{
	psql_q "SELECT string_agg(name, ' ' ORDER BY name) FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'"
}

# a pause between changes keeps an apply in progress for the SIGTERM below
NOTIFY_SOCKET=$T_TMP/notify.sock WATCHDOG_USEC=1000000 \
	DBOPS_APPLY_STEP_DELAY_MS=1500 daemon_start sd "$T_TMP/dbops.yaml" ||
	{ not_ok "the daemon starts"; exit 1; }
check "READY=1 once the first cycle ran" wait_for 10 output_is 1 notified READY=1
check "the first setting is written" wait_for 10 output_is log_autovacuum_min_duration written

# ---- SIGTERM in the middle of the apply
kill -TERM "$DAEMON_PID"
check "STOPPING=1" wait_for 5 output_is 1 notified STOPPING=1
check "the daemon exits" wait_for 10 proc_gone "$DAEMON_PID"
wait "$DAEMON_PID"
check_eq "with status 0" "$?" 0
check_eq "the change in progress finished, no other started" \
	"$(written)" log_autovacuum_min_duration
check_eq "the run is recorded interrupted" \
	"$(psql_q "SELECT status FROM dbops.runs ORDER BY id DESC LIMIT 1" -d "$DB")" interrupted
check_eq "the lock is released" \
	"$(psql_q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1684172656")" 0

# ---- the watchdog, and SIGHUP
NOTIFY_SOCKET=$T_TMP/notify.sock WATCHDOG_USEC=1000000 \
	daemon_start sd2 "$T_TMP/dbops.yaml" ||
	{ not_ok "the daemon starts again"; exit 1; }
check "it finishes the apply" wait_for 15 output_is \
	"log_autovacuum_min_duration log_lock_waits log_parameter_max_length log_temp_files" written
check "READY=1 again" wait_for 10 output_is 2 notified READY=1
sleep 3
gaps=$("$PY" -c '
import json, sys
t = [r["at"] for r in map(json.loads, open(sys.argv[1])) if "WATCHDOG=1" in r.get("lines", [])]
t = t[-8:]
print(len(t), "%.3f" % max(b - a for a, b in zip(t, t[1:])))' "$T_TMP/notify.log")
diag "watchdog pings (count, largest gap in s): $gaps; WATCHDOG_USEC is 1 s"
check "WATCHDOG=1 at most half the interval apart" "$PY" -c '
import sys; n, gap = int(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if n >= 6 and gap <= 0.5 else 1)' $gaps
check_contains "STATUS= tells the fleet's state" "$(cat "$T_TMP/notify.log")" \
	"STATUS=1 cluster at "
kill -HUP "$DAEMON_PID"
check "RELOADING=1 on SIGHUP" wait_for 5 output_is 1 notified RELOADING=1
check "then READY=1" wait_for 5 output_is 3 notified READY=1
check "the daemon goes on" kill -0 "$DAEMON_PID"
kill -TERM "$DAEMON_PID"
check "STOPPING=1 again" wait_for 5 output_is 2 notified STOPPING=1
check "and it stops" wait_for 10 proc_gone "$DAEMON_PID"

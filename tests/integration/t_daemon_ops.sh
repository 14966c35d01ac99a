#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# What the daemon does besides reconciling: one-shot operations committed
# as operations/<id>.yaml run exactly once per id (not again on later
# passes, nor by a second daemon; an invalid one is recorded as such; one
# left "running" by a dead session is marked interrupted, never re-run),
# scheduled work a plugin declares runs once per due time, and
# notifications go out on state changes only, once per key, retried with
# a growing backoff when the receiver fails, in JSON and Slack's format.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

DB=dbops_t_daemon_ops
new_db "$DB" || exit 1
on_exit "psql_q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' -d postgres >/dev/null"
on_exit "psql_q 'DROP ROLE IF EXISTS dd_ops_app' -d postgres >/dev/null"

# the test plugin with a command, beside the real ones
mkdir -p "$T_TMP/plugins"
ln -sf "$DBOPS_SRCDIR/build/tests/plugins/dbops_chores.so" "$T_TMP/plugins/"
export DBOPS_PLUGIN_PATH=$T_TMP/plugins

start_fixture sink webhook_sink.py "$T_TMP/sink.log" 2 || exit 1
SINK=$FIXTURE_PORT
start_fixture slack webhook_sink.py "$T_TMP/slack.log" || exit 1
SLACK=$FIXTURE_PORT

repo=$T_TMP/specs
remote_init "$repo" || exit 1
cat >"$repo/work/cluster.yaml" <<'YAML'
apiVersion: dbops/v1
cluster: ops
roles:
  members:
    - {name: dd_ops_app, login: true, connection_limit: 5}
chores:
  schedule: "* * * * *"
YAML
mkdir -p "$repo/work/operations"
cat >"$repo/work/operations/tick-1.yaml" <<'YAML'
apiVersion: dbops/v1
cluster: ops
command: chores tick
args: {note: once}
YAML
cat >"$repo/work/operations/other-cluster.yaml" <<'YAML'
apiVersion: dbops/v1
cluster: elsewhere
command: chores tick
args: {note: not-ours}
YAML
cat >"$repo/work/operations/bad.yaml" <<'YAML'
apiVersion: dbops/v1
cluster: ops
command: chores explode
YAML
cat >"$repo/work/operations/crashed.yaml" <<'YAML'
apiVersion: dbops/v1
cluster: ops
command: chores tick
args: {note: crashed}
YAML
remote_push "$repo" "a role, a schedule and operations" || exit 1

# an operation a daemon started and died in: its session is gone
psql_q "CREATE SCHEMA dbops; CREATE TABLE dbops.operations (id text PRIMARY KEY, cluster text, command text NOT NULL, revision text, status text NOT NULL DEFAULT 'running', output text, error text, daemon text NOT NULL, pid integer NOT NULL DEFAULT pg_backend_pid(), started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz); INSERT INTO dbops.operations (id, cluster, command, daemon, pid) VALUES ('crashed', 'ops', 'chores tick', 'gone/1', 2147483647)" -d "$DB" || exit 1

cat >"$T_TMP/dbops.yaml" <<YAML
apiVersion: dbops/v1
clusters:
  ops: {connection: {conninfo: "host=$PGHOST port=$PGPORT dbname=$DB user=$PGUSER"}}
source: {url: "file://$repo/remote.git", branch: main, cache_dir: $T_TMP/cache}
daemon:
  interval: 1s
  drift: {objects: {roles.role.dd_ops_app: report}}
http: {listen: "127.0.0.1:0"}
notify:
  - {url: "http://127.0.0.1:$SINK/dbops", retries: 4, backoff: 200ms}
  - {url: "http://127.0.0.1:$SLACK/slack", format: slack}
YAML

# the role exists before the daemon: its drift is reported
psql_q "DROP ROLE IF EXISTS dd_ops_app; CREATE ROLE dd_ops_app LOGIN CONNECTION LIMIT 5" || exit 1

daemon_start one "$T_TMP/dbops.yaml" --identity one ||
	{ not_ok "the daemon starts"; exit 1; }
ok "the daemon starts"

ticks() { psql_q "SELECT count(*) FROM public.chores_ticks WHERE note = '$1'" -d "$DB" 2>/dev/null || echo 0; }
op() { psql_q "SELECT $2 FROM dbops.operations WHERE id = '$1'" -d "$DB"; }

check "the operation runs" wait_for 15 output_is 1 ticks once
before=$(passes_of "$DB")
check "three more passes" wait_for 10 output_ge $((before + 3)) passes_of "$DB"
check_eq "the operation ran once" "$(ticks once)" 1
check_eq "recorded done, by this daemon" "$(op tick-1 "status || ' ' || daemon || ' ' || command")" \
	"done one chores tick"
check_contains "with its output" "$(op tick-1 output)" "tick: once"
check_eq "another cluster's operation is left to it" "$(ticks not-ours)" 0
check_eq "and not recorded here" "$(op other-cluster "count(*)")" 0
check_eq "an invalid one is recorded invalid" "$(op bad status)" invalid
check_contains "saying why" "$(op bad error)" 'No plugin offers the command "chores explode"'
check_eq "one cut short is marked interrupted" "$(op crashed status)" interrupted
check_eq "and not run again" "$(ticks crashed)" 0
check_contains "the run log has the operation" \
	"$(psql_q "SELECT command FROM dbops.runs WHERE command LIKE 'operation%'" -d "$DB")" \
	"operation tick-1"

# a second daemon of the same fleet repeats nothing
kill -TERM "$DAEMON_PID"
wait_for 10 proc_gone "$DAEMON_PID"
first_pid=$DAEMON_PID
daemon_start two "$T_TMP/dbops.yaml" --identity two ||
	{ not_ok "a second daemon starts"; exit 1; }
before=$(psql_q "SELECT count(*) FROM dbops.daemon_passes WHERE daemon = 'two' AND finished_at IS NOT NULL" -d "$DB")
check "the second daemon makes passes" wait_for 10 output_ge $((before + 2)) \
	psql_q "SELECT count(*) FROM dbops.daemon_passes WHERE daemon = 'two' AND finished_at IS NOT NULL" -d "$DB"
check_eq "the operation still ran once" "$(ticks once)" 1

# ---- scheduled work: once per due minute
check_eq "the scheduled job ran once per due minute" \
	"$(psql_q "SELECT count(*) = count(DISTINCT date_trunc('minute', at)) AND count(*) >= 1 FROM public.chores_ticks WHERE note = 'scheduled'" -d "$DB")" t
check_eq "each run recorded with its due time" \
	"$(psql_q "SELECT (SELECT count(*) FROM dbops.schedule_runs WHERE job = 'chores.tick' AND status = 'done') = (SELECT count(*) FROM public.chores_ticks WHERE note = 'scheduled')" -d "$DB")" t

# ---- notifications
sent() { "$PY" -c 'import json,sys; print("\n".join(r["key"] for r in map(json.loads, open(sys.argv[1])) if r["status"] == 200))' "$T_TMP/sink.log" 2>/dev/null; }
psql_q "ALTER ROLE dd_ops_app CONNECTION LIMIT 9"
delivered() { grep -c '"status": 200' "$T_TMP/sink.log"; }
check "drift appears: notified" wait_for 15 output_ge 2 delivered
psql_q "ALTER ROLE dd_ops_app CONNECTION LIMIT 5"
check "drift gone: notified" wait_for 15 output_ge 3 delivered
before=$(passes_of "$DB")
wait_for 10 output_ge $((before + 3)) passes_of "$DB"
drift_key=$(sent | grep '^ops/drift/')
check_eq "each state change once, in order, whichever daemon saw it" "$(sent)" \
	"ops/sync/OutOfSync
$drift_key
ops/sync/Synced"
first() { "$PY" -c 'import json,sys; print(" ".join(str(r["status"]) for r in map(json.loads, open(sys.argv[1])) if r["key"] == "ops/sync/OutOfSync"))' "$T_TMP/sink.log"; }
check_eq "a failed delivery is retried (503, 503, 200) and then not sent again" \
	"$(first)" "503 503 200"
gaps=$("$PY" -c '
import json, sys
r = [x for x in map(json.loads, open(sys.argv[1])) if x["key"] == "ops/sync/OutOfSync"]
print("%.2f %.2f" % (r[1]["at"] - r[0]["at"], r[2]["at"] - r[1]["at"]))' "$T_TMP/sink.log")
diag "retry gaps: $gaps s (backoff 200ms, doubled)"
check "with a growing backoff" "$PY" -c '
import sys; a, b = map(float, sys.argv[1:3]); sys.exit(0 if 0.15 <= a and b >= 1.6 * a else 1)' $gaps
body=$(grep '"status": 200' "$T_TMP/sink.log" | head -n 1)
check_eq "the JSON event" \
	"$("$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); b=r["body"]; print(r["key"], r["content_type"], b["key"], b["event"], b["cluster"], b["state"]["sync"], b["daemon"])' "$body")" \
	"ops/sync/OutOfSync application/json ops/sync/OutOfSync sync ops OutOfSync two"
check_eq "Slack's format has the text alone" \
	"$("$PY" -c 'import json,sys; print(" | ".join(json.dumps(json.loads(l)["body"]) for l in open(sys.argv[1])))' "$T_TMP/slack.log")" \
	'{"text": "dbops: cluster ops is OutOfSync"} | {"text": "dbops: drift on cluster ops: 1 object differs from the spec (reported, not changed)"} | {"text": "dbops: cluster ops is Synced"}'
check_eq "the keys sent are kept with the cluster" \
	"$(psql_q "SELECT notified->>'sync' FROM dbops.daemon_status WHERE cluster = 'ops'" -d "$DB")" \
	"ops/sync/Synced"

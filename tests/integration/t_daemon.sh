#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# dbops daemon reconciling two clusters (two databases of the sandbox)
# from a bare remote on disk: a pushed commit is applied within one
# interval; drift made by hand is put back under enforce, reported and
# left under report, invisible under ignore; a maintenance window holds
# an apply and says until when; /metrics passes promtool; SIGHUP reloads
# the configuration (a broken one is refused, the old one kept); a signed
# push webhook applies a commit at once while a wrong signature is refused
# with 401 and changes nothing; dbops status --daemon reads the status
# rows; no secret reaches the log, /status or /metrics; SIGTERM stops it
# and releases the lock.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

DB_A=dbops_t_daemon_a
DB_B=dbops_t_daemon_b
ROLES="dd_a_enf dd_a_rep dd_a_ign dd_b_app"
for db in $DB_A $DB_B; do
	new_db "$db" || exit 1
	on_exit "psql_q 'DROP DATABASE IF EXISTS $db WITH (FORCE)' -d postgres >/dev/null"
done
for r in $ROLES; do
	on_exit "psql_q 'DROP ROLE IF EXISTS $r' -d postgres >/dev/null"
done
# roles that exist before the daemon: managed, but with drift reported or
# ignored
psql_q "DROP ROLE IF EXISTS dd_a_rep; DROP ROLE IF EXISTS dd_a_ign; CREATE ROLE dd_a_rep LOGIN CONNECTION LIMIT 5; CREATE ROLE dd_a_ign LOGIN CONNECTION LIMIT 5" || exit 1

export DBOPS_SECRET_HOOK='hook-secret-must-stay-home'
export DBOPS_SECRET_PG='pg-password-must-stay-home'

repo=$T_TMP/specs
remote_init "$repo" || exit 1
mkdir -p "$repo/work/clusters/a" "$repo/work/clusters/b"
cat >"$repo/work/dbops.yaml" <<'YAML'
apiVersion: dbops/v1
clusters:
  - {name: a, path: clusters/a}
  - {name: b, path: clusters/b}
YAML
spec_a()
{
	cat >"$repo/work/clusters/a/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: a
roles:
  members:
    - {name: dd_a_enf, login: true, connection_limit: $1}
    - {name: dd_a_rep, login: true, connection_limit: 5}
    - {name: dd_a_ign, login: true, connection_limit: 5}
YAML
}
spec_a 5
cat >"$repo/work/clusters/b/cluster.yaml" <<'YAML'
apiVersion: dbops/v1
cluster: b
roles:
  members:
    - {name: dd_b_app, login: true, connection_limit: 5}
YAML
remote_push "$repo" "two clusters" || exit 1

# config INTERVAL WINDOW_B: the daemon's configuration
config()
{
	cat >"$T_TMP/dbops.yaml" <<YAML
apiVersion: dbops/v1
clusters:
  a: {connection: {conninfo: "host=$PGHOST port=$PGPORT dbname=$DB_A user=$PGUSER", password: {env: DBOPS_SECRET_PG}}}
  b: {connection: {conninfo: "host=$PGHOST port=$PGPORT dbname=$DB_B user=$PGUSER", password: {env: DBOPS_SECRET_PG}}}
source:
  url: file://$repo/remote.git
  branch: main
  cache_dir: $T_TMP/cache
daemon:
  interval: $1
  jitter: 10%
  workers: 2
fleet:
  clusters:
    a:
      drift:
        objects: {roles.role.dd_a_rep: report, roles.role.dd_a_ign: ignore}
    b:
$2
http:
  listen: 127.0.0.1:0
  webhook_secret: {env: DBOPS_SECRET_HOOK}
YAML
}
# only on the 1st of January: changes to b wait
config 1s "      windows:
        - {allow: \"0 0 1 1 *\", duration: 1h, timezone: UTC}"

daemon_start daemon "$T_TMP/dbops.yaml" -v || { not_ok "the daemon starts"; exit 1; }
ok "the daemon starts and listens (port $DAEMON_PORT)"
log=$T_TMP/daemon.log

check "cluster a is reconciled and Synced" \
	wait_for 15 output_is Synced status_of $DB_A a sync
check_eq "its roles were created" \
	"$(psql_q "SELECT rolname || ' ' || rolconnlimit FROM pg_roles WHERE rolname LIKE 'dd\\_a\\_%' ORDER BY 1")" \
	"dd_a_enf 5
dd_a_ign 5
dd_a_rep 5"
check_eq "last applied and attempted revision are branch@sha1" \
	"$(status_of $DB_A a "last_applied_revision || ' ' || last_attempted_revision")" \
	"main@sha1:$T_REV main@sha1:$T_REV"

# ---- a maintenance window holds b's apply
check "cluster b waits for its window: Progressing" \
	wait_for 10 output_is Progressing status_of $DB_B b health
check_eq "b's role was not created" \
	"$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = 'dd_b_app'")" 0
next_jan1=$(($(date -u +%Y) + 1))
check_contains "the status says until when" "$(status_of $DB_B b message)" \
	"waiting for the maintenance window, until $next_jan1-01-01T00:00:00Z"
check_eq "b is OutOfSync with its waiting change counted" \
	"$(status_of $DB_B b "sync || ' ' || drift_enforce")" "OutOfSync 1"

# ---- a pushed commit is applied within one interval
spec_a 6
remote_push "$repo" "more connections for dd_a_enf" || exit 1
t0=$(now_ms)
check "a pushed commit is applied" \
	wait_for 10 output_is 6 role_limit dd_a_enf
elapsed=$(($(now_ms) - t0))
diag "pushed to applied: ${elapsed} ms (interval 1 s, jitter 10%)"
if [ "$elapsed" -le 3000 ]; then
	ok "within one interval, the pass and the fetch (${elapsed} ms)"
else
	not_ok "within one interval, the pass and the fetch (${elapsed} ms)"
fi

# ---- drift made by hand
psql_q "ALTER ROLE dd_a_enf CONNECTION LIMIT 9; ALTER ROLE dd_a_rep CONNECTION LIMIT 9; ALTER ROLE dd_a_ign CONNECTION LIMIT 9"
before=$(passes_of $DB_A)
check "two more passes of a" wait_for 10 output_ge $((before + 2)) passes_of $DB_A
check_eq "enforce: the drift is put back" \
	"$(psql_q "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'dd_a_enf'")" 6
check_eq "report: the drift is left alone" \
	"$(psql_q "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'dd_a_rep'")" 9
check_eq "ignore: the drift is left alone" \
	"$(psql_q "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'dd_a_ign'")" 9
check_eq "report: counted in the status, a is OutOfSync" \
	"$(status_of $DB_A a "sync || ' ' || drift_report || ' ' || drift_enforce")" \
	"OutOfSync 1 0"
check_eq "the status lists the reported object, not the ignored one" \
	"$(status_of $DB_A a "drift::text")" \
	'[{"action": "update", "policy": "report", "address": "roles.role.dd_a_rep"}]'

# ---- the endpoint
T_OUT=$(http_get "$DAEMON_PORT" /metrics)
metrics=$(sed 1d <<<"$T_OUT")
check_eq "/metrics answers 200" "$(head -n 1 <<<"$T_OUT")" 200
check_contains "report drift is a gauge per cluster and plugin" "$metrics" \
	'dbops_cluster_drift_objects{cluster="a",plugin="roles",policy="report"} 1'
check_contains "ignored drift is not counted" "$metrics" \
	'dbops_cluster_drift_objects{cluster="a",plugin="roles",policy="enforce"} 0'
check_contains "sync status as a labelled gauge" "$metrics" \
	'dbops_cluster_sync_status{cluster="a",status="OutOfSync"} 1'
check_contains "health as a labelled gauge" "$metrics" \
	'dbops_cluster_health_status{cluster="b",status="Progressing"} 1'
check_contains "the pass duration histogram" "$metrics" \
	'dbops_cluster_pass_duration_seconds_bucket{cluster="a",le="+Inf"}'
check_contains "changes applied" "$metrics" \
	'dbops_cluster_changes_applied_total{cluster="a"}'
check_contains "the window's opening" "$metrics" \
	"dbops_cluster_window_wait_until_timestamp_seconds{cluster=\"b\"} $(date -u -d "$next_jan1-01-01" +%s)"
printf '%s\n' "$metrics" >"$T_TMP/metrics.txt"
check "promtool check metrics accepts /metrics" \
	promtool check metrics <"$T_TMP/metrics.txt"
check_eq "/livez" "$(http_get "$DAEMON_PORT" /livez | head -n 1)" 200
check_eq "/readyz" "$(http_get "$DAEMON_PORT" /readyz | head -n 1)" 200
status_json=$(http_get "$DAEMON_PORT" /status | sed 1d)
check_eq "/status is JSON with both clusters" \
	"$("$PY" -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(c["cluster"]+":"+c["sync"]+":"+c["health"] for c in d["clusters"]))' <<<"$status_json")" \
	"a:OutOfSync:Healthy b:OutOfSync:Progressing"

# ---- SIGHUP: a broken configuration is refused, the old one kept
cp "$T_TMP/dbops.yaml" "$T_TMP/good.yaml"
printf 'daemon: {interval: soon}\n' >>"$T_TMP/dbops.yaml"
kill -HUP "$DAEMON_PID"
check "a broken configuration is refused on SIGHUP" \
	wait_for 5 grep -q 'the configuration was not reloaded' "$log"
check_contains "with its located error" "$(cat "$log")" "dbops.yaml:"
check "and the daemon goes on" kill -0 "$DAEMON_PID"

# a long interval and no window: from now on only webhooks bring passes
config 1h ""
kill -HUP "$DAEMON_PID"
check "a good one is reloaded" wait_for 5 grep -q 'configuration reloaded' "$log"
sleep 1.5

# ---- webhooks
spec_a 7
remote_push "$repo" "seven connections" || exit 1
before=$(passes_of $DB_A)
push_body="{\"ref\": \"refs/heads/main\", \"after\": \"$T_REV\"}"
T_OUT=$(hook "$DAEMON_PORT" wrong-secret push "$push_body")
check_eq "a wrong signature is refused with 401" "$(head -n 1 <<<"$T_OUT")" 401
sleep 2
check_eq "and nothing ran" "$(passes_of $DB_A)" "$before"
check_eq "nothing changed" \
	"$(psql_q "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'dd_a_enf'")" 6
T_OUT=$(hook "$DAEMON_PORT" "$DBOPS_SECRET_HOOK" push '{"ref": "refs/heads/other"}')
check_contains "a push to another branch is accepted and ignored" \
	"$(tr '\n' ' ' <<<"$T_OUT")" '202 {"status":"ignored"'
t0=$(now_ms)
T_OUT=$(hook "$DAEMON_PORT" "$DBOPS_SECRET_HOOK" push "$push_body")
check_eq "a signed push is accepted with 202" "$(head -n 1 <<<"$T_OUT")" 202
check "and applied at once" \
	wait_for 10 output_is 7 role_limit dd_a_enf
diag "signed webhook to applied: $(($(now_ms) - t0)) ms"
check "the window is gone from b's configuration: its role is created" \
	wait_for 10 output_is 1 role_count dd_b_app
check "b is Synced and Healthy" \
	wait_for 10 output_is SyncedHealthy status_of $DB_B b "sync || health"
check_eq "a GitLab push with the token is accepted" \
	"$(hook "$DAEMON_PORT" "$DBOPS_SECRET_HOOK" "Push Hook" '{"ref": "refs/heads/main"}' gitlab | head -n 1)" 202
check_eq "and with a wrong token refused" \
	"$(hook "$DAEMON_PORT" nope "Push Hook" '{"ref": "refs/heads/main"}' gitlab | head -n 1)" 401

# ---- dbops status --daemon
check_exit "dbops status --daemon reads both clusters; a is out of sync (exit 2)" 2 \
	"$DBOPS" status --daemon --config "$T_TMP/dbops.yaml"
check_contains "as a table" "$T_OUT" "CLUSTER          SYNC       HEALTH"
check_contains "b's row" "$T_OUT" "b                Synced     Healthy     main@${T_REV:0:7}"
check_exit "--format json" 2 \
	"$DBOPS" status --daemon --format json --config "$T_TMP/dbops.yaml"
check_eq "json rows" \
	"$("$PY" -c 'import json,sys; print(" ".join(r["cluster"]+":"+r["sync"] for r in json.loads(sys.stdin.read())))' <<<"$T_OUT")" \
	"a:OutOfSync b:Synced"

# ---- secrets stay home
all="$(cat "$log") $metrics $status_json $(http_get "$DAEMON_PORT" /status) $(psql_q "SELECT row_to_json(s) FROM dbops.daemon_status s" -d $DB_A)"
check_not_contains "the webhook secret is nowhere" "$all" "hook-secret-must-stay-home"
check_not_contains "the connection password is nowhere" "$all" "pg-password-must-stay-home"

# ---- SIGTERM
kill -TERM "$DAEMON_PID"
check "SIGTERM stops the daemon" wait_for 10 proc_gone "$DAEMON_PID"
wait "$DAEMON_PID"
check_eq "with status 0" "$?" 0
check_contains "saying so" "$(tail -n 2 "$log")" 'msg="stopped"'
check_eq "no advisory lock is left" \
	"$(psql_q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1684172656")" 0

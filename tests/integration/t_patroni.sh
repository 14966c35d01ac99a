#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The replicas plugin's patroni provider and the parameters plugin's
# routing through Patroni, on an HA sandbox of their own (contrib/sandbox
# --kind ha: etcd and three Patroni 3.0.2 nodes, ttl 10, loop_wait 2):
#
#   - the spec switches the cluster to synchronous mode and dbops sees
#     Patroni apply it (a sync_standby, synchronous_standby_names set by
#     Patroni); the second plan is empty;
#   - a parameter change goes through PATCH /config, not ALTER SYSTEM;
#   - a switchover under a steady writer loses no acknowledged row;
#   - in synchronous_mode_strict, a kill -9 of the primary's postmaster
#     under the drill's writer loses no acknowledged row, a new leader
#     takes writes, and the failed node rejoins as a replica;
#   - with Patroni paused, dbops refuses to switch over, clearly.
#
# The sandbox is destroyed on the way out.

. "$(dirname "$0")/lib.sh"

sbx=$T_TMP/ha
if ! "$DBOPS_SRCDIR/contrib/sandbox" up "$sbx" --kind ha >"$T_TMP/ha.env" 2>"$T_TMP/ha.err"; then
	not_ok "the HA sandbox starts"
	diag "$(tail -n 30 "$T_TMP/ha.err")"
	"$DBOPS_SRCDIR/contrib/sandbox" destroy "$sbx" >/dev/null 2>&1
	exit 1
fi
on_exit "'$DBOPS_SRCDIR/contrib/sandbox' destroy '$sbx' >/dev/null 2>&1"
ok "the HA sandbox starts"
# shellcheck disable=SC1090
. "$T_TMP/ha.env"
IFS=, read -r -a ports <<<"$PGPORT"
IFS=, read -r -a urls <<<"$PATRONI_URLS"
rw="host=$PGHOST port=$PGPORT user=postgres dbname=postgres target_session_attrs=read-write"
unset PGTARGETSESSIONATTRS
export PGHOST=127.0.0.1 PGPORT=${ports[0]}

q()
{
	psql -X -A -t -q -d "$rw" -c "$1"
}

cluster()
{
	curl -fsS -m 5 "${urls[0]}/cluster"
}

# roles NAME...: "name:role" of each member, sorted
roles()
{
	cluster | /usr/bin/python3 -c '
import json, sys
print(",".join("%s:%s" % (m["name"], m["role"]) for m in json.load(sys.stdin)["members"]))'
}

# member NAME: "role state" of member NAME
member()
{
	cluster | /usr/bin/python3 -c '
import json, sys
print(" ".join("%s %s" % (m["role"], m["state"]) for m in json.load(sys.stdin)["members"] if m["name"] == sys.argv[1]))' "$1"
}

leader()
{
	cluster | /usr/bin/python3 -c '
import json, sys
print([m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == "leader"][0])'
}

spec=$T_TMP/spec
mkdir -p "$spec"
# write_spec MODE STRICT [PARAMS]
write_spec()
{
	cat >"$spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: ha
connection: {conninfo: "$rw"}
parameters: {work_mem: ${3:-4MB}}
replicas:
  provider: patroni
  patroni:
    urls: [${urls[0]}, ${urls[1]}, ${urls[2]}]
    username: dbops
    password: {env: DBOPS_SECRET_SANDBOX_PATRONI}
  synchronous: {mode: $1, count: 1$2}
  max_lag: {bytes: 1MB}
  wait_timeout: 60s
  members:
    - {name: node1, port: ${ports[0]}}
    - {name: node2, port: ${ports[1]}}
    - {name: node3, port: ${ports[2]}}
YAML
}

# ---- synchronous mode through PATCH /config -----------------------------------
write_spec first ""
check_exit "plan for synchronous mode exits 2" 2 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check_contains "the plan PATCHes synchronous_mode" "$T_OUT" \
	'PATCH /config {"synchronous_mode":true}'
check_not_contains "the plan does not ALTER SYSTEM" "$T_OUT" "ALTER SYSTEM"
check "apply turns synchronous mode on" \
	"$DBOPS" apply --dir "$spec" --auto-approve --no-color
check_contains "apply waited for Patroni to apply it" "$T_OUT" \
	"1 synchronous standby in GET /cluster"
check_contains "Patroni shows a synchronous standby" "$(roles)" "sync_standby"
ssn=$(q "SHOW synchronous_standby_names")
check "Patroni wrote synchronous_standby_names ($ssn)" test -n "$ssn"
check_exit "the second plan is empty" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check_exit "status is healthy" 0 "$DBOPS" status --dir "$spec" --no-color
check_contains "status shows failover readiness" "$T_OUT" \
	"failover readiness: ready"

# ---- a parameter through PATCH /config -----------------------------------------
write_spec first "" 12MB
check_exit "a parameter change is planned" 2 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check_contains "as a PATCH of postgresql.parameters" "$T_OUT" \
	'PATCH /config {"postgresql":{"parameters":{"work_mem":"12MB"}}}'
check "apply changes the parameter" \
	"$DBOPS" apply --dir "$spec" --auto-approve --no-color
check_contains "Patroni's configuration holds it" \
	"$(curl -fsS "${urls[0]}/config")" '"work_mem": "12MB"'
check_eq "the primary runs it" "$(q 'SHOW work_mem')" 12MB
check_eq "nothing was written with ALTER SYSTEM" \
	"$(q "SELECT count(*) FROM pg_file_settings WHERE name = 'work_mem' AND sourcefile LIKE '%auto.conf'")" 0
check_exit "the plan after it is empty" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode

# ---- switchover under a steady writer ------------------------------------------
q "CREATE TABLE w (i int PRIMARY KEY)"
writer()
{
	: >"$T_TMP/acked.$1"
	rm -f "$T_TMP/stop.$1"
	/usr/bin/python3 "$DBOPS_SRCDIR/tests/fixtures/writer.py" "$rw" \
		"$T_TMP/acked.$1" "$T_TMP/stop.$1" w &
	writer_pid=$!
	on_exit "touch '$T_TMP/stop.$1'; wait $writer_pid 2>/dev/null"
}
# lost NAME: acknowledged ids of writer NAME missing on the primary
lost()
{
	missing_rows "$T_TMP/acked.$1" -d "$rw"
}
old=$(leader)
to=$(cluster | /usr/bin/python3 -c '
import json, sys
print([m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == "sync_standby"][0])')
writer sw
sleep 2
check "switchover --to $to under the writer" \
	"$DBOPS" switchover --to "$to" --dir "$spec" --auto-approve --no-color
swout=$T_OUT
diag "$(grep -E '^  [^ #>}~]|^Switchover' <<<"$swout")"
sleep 2
touch "$T_TMP/stop.sw"
wait "$writer_pid"
check_eq "the candidate leads" "$(leader)" "$to"
check_contains "switchover reports no data lost" "$swout" "data lost: 0 bytes"
check_contains "switchover reports the outage" "$swout" "writes were unavailable for"
check_contains "the old leader rejoined" "$swout" "\"$old\" runs as a replica"
n=$(wc -l <"$T_TMP/acked.sw")
diag "rows acknowledged: $n"
check "rows were written across the switchover" test "$n" -gt 50
check_eq "no acknowledged row is lost in the switchover" "$(lost sw)" 0
check_contains "the run was recorded on the new primary" "$swout" "Recorded as run"

# ---- kill -9 of the primary in synchronous_mode_strict -------------------------
write_spec first ", strict: true" 12MB
check "apply turns strict mode on" \
	"$DBOPS" apply --dir "$spec" --auto-approve --no-color
check_contains "Patroni's configuration is strict" \
	"$(curl -fsS "${urls[0]}/config")" '"synchronous_mode_strict": true'
old=$(leader)
check_exit "the drill is refused without its flag" 1 \
	"$DBOPS" replicas drill failover --dir "$spec" --auto-approve --no-color
check_contains "and says which flag" "$T_OUT" \
	"--i-understand-this-kills-the-primary"
writer kill
check "drill failover kills $old's postmaster under its writer" \
	"$DBOPS" replicas drill failover --i-understand-this-kills-the-primary \
	--dir "$spec" --auto-approve --no-color
drill=$T_OUT
diag "$(grep -E '^  [^ #>}~]|^Failover drill' <<<"$drill")"
sleep 1
touch "$T_TMP/stop.kill"
wait "$writer_pid"
new=$(leader)
check "a new leader ($new) replaced $old" test "$new" != "$old"
row=$(q "SELECT old_leader, new_leader, lost_rows, acknowledged_rows > 100, rto_seconds > 0 FROM dbops.failover_drills ORDER BY started_at DESC LIMIT 1")
check_eq "the drill recorded no acknowledged row lost" "$row" "$old|$new|0|t|t"
check_eq "no row of the outside writer is lost either" "$(lost kill)" 0
check_eq "the new leader accepts writes" \
	"$(q "INSERT INTO w VALUES (-1) RETURNING i")" -1
check_contains "the failed node rejoined as a replica" "$drill" \
	"\"$old\" rejoined as a replica"
state=$(member "$old")
check "Patroni lists it as a running replica ($state)" \
	grep -Eqx '(replica|sync_standby) (running|streaming)' <<<"$state"

# ---- paused: switchover refused ---------------------------------------------------
# Patroni names a synchronous standby again a few loop_waits after the
# failed node rejoins; paused before that, the cluster would rightly be
# unhealthy (strict mode, no standby to take over), not just degraded
for _ in $(seq 1 150); do
	cluster | grep -q '"role": "sync_standby"' && break
	sleep 0.2
done
check "a synchronous standby is back before pausing" \
	grep -q '"role": "sync_standby"' <<<"$(cluster)"
curl -fsS -m 10 -u "dbops:$DBOPS_SECRET_SANDBOX_PATRONI" -X PATCH \
	-H 'Content-Type: application/json' -d '{"pause": true}' \
	"${urls[0]}/config" >/dev/null
on_exit "curl -fsS -m 10 -u 'dbops:$DBOPS_SECRET_SANDBOX_PATRONI' -X PATCH -d '{\"pause\": null}' '${urls[0]}/config' >/dev/null 2>&1"
for _ in $(seq 1 50); do
	cluster | grep -q '"pause": true' && break
	sleep 0.2
done
to=$(cluster | /usr/bin/python3 -c '
import json, sys
print([m["name"] for m in json.load(sys.stdin)["members"] if m["role"] != "leader"][0])')
check_exit "switchover is refused while Patroni is paused" 1 \
	"$DBOPS" switchover --to "$to" --dir "$spec" --auto-approve --no-color
check_contains "with a clear message" "$T_OUT" \
	"Patroni is paused: dbops does not switch over a cluster in maintenance mode"
check_eq "the leader did not change" "$(leader)" "$new"
check_exit "status is degraded while paused" 2 \
	"$DBOPS" status --dir "$spec" --no-color
check_contains "status says so" "$T_OUT" "Patroni is paused"

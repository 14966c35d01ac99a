#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The replicas plugin end to end with real standbys on loopback: a plan
# creates two standbys from the shared sandbox primary, they stream under
# their member names, the second plan is empty; synchronous replication is
# held back while its standby is stopped (and `dbops status` says so), and
# published once it streams; an orphaned slot is reported; a member marked
# absent is removed only with --allow-destructive. The switchover runs on a
# second sandbox of its own (it changes which server is the primary), under
# a steady write load, and must lose no committed row.
#
# Standbys live under $T_TMP; the scenario stops them, drops their slots
# and resets the settings it changed, so the shared primary is left as it
# was.

. "$(dirname "$0")/lib.sh"

BINDIR=/usr/lib/postgresql/15/bin
[ -x "$BINDIR/pg_ctl" ] || BINDIR=$(pg_config --bindir)

port_free()
{
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port FROM: the first port from FROM upward nothing listens on
free_port()
{
	local p=$1

	while ! port_free "$p"; do
		p=$((p + 1))
	done
	echo "$p"
}

pg_ctl_as_pg()
{
	run_as_pg "$BINDIR/pg_ctl" "$@"
}

spec=$T_TMP/spec
mkdir -p "$spec"
d1=$T_TMP/r1
d2=$T_TMP/r2
p1=$(free_port 27431)
p2=$(free_port $((p1 + 1)))

cleanup_shared()
{
	psql_q "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null 2>&1
	psql_q "ALTER SYSTEM RESET wal_keep_size" >/dev/null 2>&1
	psql_q "SELECT pg_reload_conf()" >/dev/null 2>&1
	for d in "$d1" "$d2"; do
		[ -f "$d/postmaster.pid" ] &&
			pg_ctl_as_pg stop -D "$d" -m immediate -w >/dev/null 2>&1
	done
	sleep 0.5
	psql_q "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('t_r1', 't_r2', 't_orphan')" \
		>/dev/null 2>&1
}
on_exit cleanup_shared

# write_spec MODE R2_STATE [DELETE_DATA]: the spec with synchronous mode
# MODE and the second member present or absent
write_spec()
{
	cat >"$spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: itest
replicas:
  provider: local
  synchronous: {mode: $1, count: 1}
  max_lag: {bytes: 64MB, time: 30s}
  settings: {wal_keep_size: 32MB}
  wait_timeout: 60s
  remove: {delete_data: ${3:-false}}
  members:
    - {name: t_r1, port: $p1, data_dir: $d1}
    - {name: t_r2, port: $p2, data_dir: $d2, sync: false, state: $2}
YAML
}

streaming()
{
	psql_q "SELECT string_agg(application_name || ':' || sync_state, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming' AND application_name LIKE 't\\_r%'"
}

# ---- create two standbys ----------------------------------------------------
write_spec any present
check_exit "plan with two members exits 2" 2 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
plan=$T_OUT
check_contains "plan creates the first standby" "$plan" "+ replicas.member.t_r1"
check_contains "plan creates the second standby" "$plan" "+ replicas.member.t_r2"
check_contains "plan creates a slot per member" "$plan" \
	"pg_create_physical_replication_slot('t_r2', true)"
check_contains "sync set waits for the new standbys" "$plan" \
	"published once 1 of the named standbys stream"
check_contains "the async member is not named" "$plan" \
	'"" -> "ANY 1 (t_r1)"'

check "apply creates the standbys" \
	"$DBOPS" apply --dir "$spec" --auto-approve --no-color
check_contains "apply reports the standby streaming" "$T_OUT" \
	"t_r1: streaming"
check_eq "both standbys stream under their names" "$(streaming)" \
	"t_r1:quorum,t_r2:async"
check_eq "synchronous_standby_names is published" \
	"$(psql_q 'SHOW synchronous_standby_names')" "ANY 1 (t_r1)"
check_eq "slots are in use" \
	"$(psql_q "SELECT string_agg(slot_name || ':' || active, ',' ORDER BY slot_name) FROM pg_replication_slots WHERE slot_name LIKE 't\\_r%'")" \
	"t_r1:true,t_r2:true"
check_eq "the standby is in recovery" \
	"$(psql_q 'SELECT pg_is_in_recovery()' -p "$p1" -h 127.0.0.1)" t
check_exit "the second plan is empty" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check_contains "the second plan says so" "$T_OUT" "No changes."
check_exit "status is healthy (exit 0)" 0 \
	"$DBOPS" status --dir "$spec" --no-color
check_contains "status shows the sync standby" "$T_OUT" "quorum"

# ---- synchronous replication held back while the standby is down -----------
write_spec off present
check "mode off applies" "$DBOPS" apply --dir "$spec" --auto-approve --no-color
check_eq "synchronous_standby_names is empty" \
	"$(psql_q 'SHOW synchronous_standby_names')" ""
pg_ctl_as_pg stop -D "$d1" -m fast -w >/dev/null
for _ in $(seq 1 50); do
	[ "$(streaming)" = "t_r2:async" ] && break
	sleep 0.2
done
write_spec any present
check_exit "with the sync standby stopped the plan has no change" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check_contains "the plan says the sync set is held back" "$T_OUT" \
	"synchronous_standby_names is held back"
check_contains "the plan says the standby is not running" "$T_OUT" \
	'standby "t_r1" is not running'
check "apply with the standby stopped" \
	"$DBOPS" apply --dir "$spec" --auto-approve --no-color
check_eq "nothing blocking was published" \
	"$(psql_q 'SHOW synchronous_standby_names')" ""
check_eq "commits do not wait" \
	"$(timeout 10 psql -X -A -t -q -c 'CREATE TEMP TABLE t_w(i int); INSERT INTO t_w VALUES (1); SELECT 1')" 1
t__run "$DBOPS" status --dir "$spec" --no-color
if [ "$T_RC" -eq 1 ] || [ "$T_RC" -eq 2 ]; then
	ok "status reports a problem (exit $T_RC)"
else
	not_ok "status reports a problem (exit $T_RC)"
	diag "$T_OUT"
fi
check_contains "status names the stopped standby" "$T_OUT" \
	'standby "t_r1" is not streaming'
run_as_pg "$BINDIR/pg_ctl" start -D "$d1" -l "$d1.log" -w >/dev/null
for _ in $(seq 1 50); do
	[ "$(streaming)" = "t_r1:async,t_r2:async" ] && break
	sleep 0.2
done
check_exit "once it streams the plan publishes the sync set" 2 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check_contains "the plan changes synchronous_standby_names" "$T_OUT" \
	"~ replicas.synchronous_standby_names"
check "apply publishes it" "$DBOPS" apply --dir "$spec" --auto-approve --no-color
check_eq "the standby is synchronous again" "$(streaming)" \
	"t_r1:quorum,t_r2:async"
check_exit "the plan after that is empty" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode

# ---- an orphaned slot ---------------------------------------------------------
psql_q "SELECT pg_create_physical_replication_slot('t_orphan', true)" >/dev/null
check_exit "status with an orphaned slot is degraded (exit 2)" 2 \
	"$DBOPS" status --dir "$spec" --no-color
check_contains "status reports the orphaned slot" "$T_OUT" \
	'orphaned replication slot "t_orphan" retains'
check_exit "the plan leaves the orphaned slot alone" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
psql_q "SELECT pg_drop_replication_slot('t_orphan')" >/dev/null

# ---- removal ------------------------------------------------------------------
write_spec any absent
check_exit "removing a member is planned" 2 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check_contains "as a destructive change" "$T_OUT" "- replicas.member.t_r2"
check "apply without --allow-destructive" \
	"$DBOPS" apply --dir "$spec" --auto-approve --no-color
check_contains "the removal is skipped" "$T_OUT" \
	"replicas.member.t_r2: skipped"
check_eq "the member still streams" "$(streaming)" "t_r1:quorum,t_r2:async"
check "apply --allow-destructive removes it" \
	"$DBOPS" apply --dir "$spec" --auto-approve --allow-destructive --no-color
check_eq "only the first standby streams" "$(streaming)" "t_r1:quorum"
check_eq "its slot is gone" \
	"$(psql_q "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 't_r2'")" 0
check "its data directory stays" test -f "$d2/PG_VERSION"
check "it is stopped" test ! -f "$d2/postmaster.pid"
check_exit "the plan after the removal is empty" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
write_spec any absent true
check_exit "with delete_data the data directory is planned away" 2 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check_contains "the plan says it deletes the data directory" "$T_OUT" \
	"delete its data directory"
check "apply --allow-destructive deletes it" \
	"$DBOPS" apply --dir "$spec" --auto-approve --allow-destructive --no-color
check "the data directory is gone" test ! -e "$d2"
check_exit "the plan after deleting the data is empty" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode

# back to asynchronous before the standby goes away
write_spec off absent
check "mode off before clean-up" \
	"$DBOPS" apply --dir "$spec" --auto-approve --no-color
cleanup_shared

# ---- switchover on a sandbox of its own, under write load -----------------------
sbx=$T_TMP/sbx2
if ! "$DBOPS_SRCDIR/contrib/sandbox" up "$sbx" >"$T_TMP/sbx2.env" 2>"$T_TMP/sbx2.err"; then
	not_ok "second sandbox starts"
	diag "$(cat "$T_TMP/sbx2.err")"
	exit 1
fi
on_exit "'$DBOPS_SRCDIR/contrib/sandbox' destroy '$sbx' >/dev/null 2>&1"
P0=$(sed -n 's/.*PGPORT=\([0-9]*\).*/\1/p' "$T_TMP/sbx2.env")
P3=$(free_port $((P0 + 100)))
sw=$T_TMP/swspec
mkdir -p "$sw"
cat >"$sw/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: switchover
connection: {conninfo: "host=127.0.0.1 port=$P0 user=postgres dbname=postgres"}
replicas:
  provider: local
  synchronous: {mode: any, count: 1}
  members:
    - {name: standby1, port: $P3, data_dir: $sbx/standby1}
YAML
check "the second sandbox gets a standby" \
	"$DBOPS" apply --dir "$sw" --auto-approve --no-color
psql -X -q -h 127.0.0.1 -p "$P0" -d postgres -c "CREATE TABLE w(i int PRIMARY KEY)"

# the writer: numbered rows in autocommit; a row counts once the INSERT
# returned success; on failure it tries the other server
acked=$T_TMP/acked
: >"$acked"
(
	i=1
	ports=("$P0" "$P3")
	k=0
	while [ ! -f "$T_TMP/stop-writer" ]; do
		if psql -X -q -h 127.0.0.1 -p "${ports[$k]}" -d postgres \
			-c "INSERT INTO w VALUES ($i) ON CONFLICT DO NOTHING" >/dev/null 2>&1; then
			echo "$i $(date +%s.%N)" >>"$acked"
			i=$((i + 1))
		else
			k=$((1 - k))
			sleep 0.02
		fi
	done
) &
writer=$!
on_exit "touch '$T_TMP/stop-writer'; wait $writer 2>/dev/null"
# drift the switchover must leave alone: a command does its own work only
printf 'parameters: {work_mem: 7MB}\n' >>"$sw/cluster.yaml"
sleep 2
sw_start=$(date +%s.%N)
check "switchover --to standby1" \
	"$DBOPS" switchover --to standby1 --dir "$sw" --auto-approve --no-color
sw_end=$(date +%s.%N)
swout=$T_OUT
diag "$(grep -E '^  |^Switchover|^The spec' <<<"$swout")"
sleep 2
touch "$T_TMP/stop-writer"
wait "$writer"
check_contains "switchover reports no data lost" "$swout" "data lost: 0 bytes"
check_contains "switchover reports the outage" "$swout" \
	"writes were unavailable for"
check_contains "switchover tells what to change in the spec" "$swout" \
	"The spec still names the old primary"
check_not_contains "the switchover plans nothing of the parameters" "$swout" \
	"parameters.work_mem"
check_eq "nor applies them" \
	"$(psql -X -A -t -q -h 127.0.0.1 -p "$P0" -d postgres -c "SELECT count(*) FROM pg_file_settings WHERE name = 'work_mem' AND setting = '7MB'")" 0
outage=$(sed -n 's/.*writes were unavailable for \([0-9.]*\)s$/\1/p' <<<"$swout" | head -n 1)
# the outage is reported as a figure; its size is measured by
# tests/bench/replicas.sh, not asserted here
diag "write outage: ${outage}s"
check "the outage is reported in seconds" \
	awk -v o="${outage:-x}" 'BEGIN { exit !(o ~ /^[0-9]+(\.[0-9]+)?$/) }'
check_eq "the new primary accepts writes" \
	"$(psql -X -A -t -q -h 127.0.0.1 -p "$P3" -d postgres -c 'SELECT pg_is_in_recovery()')" f
check_eq "the old primary is its standby" \
	"$(psql -X -A -t -q -h 127.0.0.1 -p "$P0" -d postgres -c 'SELECT pg_is_in_recovery()')" t
check_eq "the old primary streams from the new one" \
	"$(psql -X -A -t -q -h 127.0.0.1 -p "$P3" -d postgres -c "SELECT state FROM pg_stat_replication WHERE application_name = 'primary'")" \
	streaming
nacked=$(wc -l <"$acked")
nrows=$(psql -X -A -t -q -h 127.0.0.1 -p "$P3" -d postgres -c 'SELECT count(*) FROM w')
diag "rows acknowledged: $nacked, rows on the new primary: $nrows"
# how many rows depends on how fast psql starts on this machine; that
# some were acknowledged on each side of the switchover does not
check "rows were written before and after the switchover" \
	awk -v s="$sw_start" -v e="$sw_end" \
	'$2 < s { b++ } $2 > e { a++ } END { exit !(b > 0 && a > 0) }' "$acked"
missing=$(missing_rows "$acked" -h 127.0.0.1 -p "$P3" -d postgres)
check_eq "no acknowledged row is lost" "$missing" 0
check_eq "every row on the new primary was acknowledged" "$nrows" "$nacked"
# what the writing client saw: the longest time between two acknowledged
# inserts (it includes the client's own retries)
gap=$(awk 'NR > 1 && $2 - t > g { g = $2 - t } { t = $2 } END { printf "%.2f", g }' "$acked")
diag "longest pause between acknowledged inserts: ${gap}s"

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The pooler plugin end to end through the CLI against the sandbox's real
# PgBouncer 1.18: settings and pool sizes applied by RELOAD and seen in SHOW
# CONFIG / SHOW DATABASES, an empty second plan, a value changed with SET
# planned back, a restart-only setting reported as pending, an entry drained
# before its removal, SCRAM verifiers in the auth file, unknown setting names
# refused, and three pool resizes under pgbench load without one failed
# transaction. PgBouncer's files are put back at the end.

. "$(dirname "$0")/lib.sh"

PGBENCH=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
if [ -z "${PGBOUNCER_ADMIN:-}" ] && [ -f "$SANDBOX_DIR/env" ]; then
	# shellcheck disable=SC1091
	. "$SANDBOX_DIR/env"
fi
if [ -z "${PGBOUNCER_ADMIN:-}" ]; then
	not_ok "the sandbox runs a PgBouncer (PGBOUNCER_ADMIN in its env)"
	exit 1
fi

admin()
{
	psql -X -A -t -q -v ON_ERROR_STOP=1 "$PGBOUNCER_ADMIN" -c "$1"
}

# config KEY: the running value from SHOW CONFIG
config()
{
	admin "SHOW CONFIG" | awk -F'|' -v k="$1" '$1 == k { print $2 }'
}

# dbcol NAME COLUMN: a column of SHOW DATABASES for entry NAME
dbcol()
{
	admin "SHOW DATABASES" | awk -F'|' -v n="$1" -v c="$2" '
		BEGIN { split("name host port database force_user pool_size min_pool_size reserve_pool pool_mode max_connections current_connections paused disabled", h, " "); for (i in h) col[h[i]] = i }
		$1 == n { print $col[c] }'
}

ini=$PGBOUNCER_INI
userlist=$(dirname "$ini")/userlist.txt
cp -p "$ini" "$T_TMP/orig.ini"
cp -p "$userlist" "$T_TMP/orig.userlist"
restore()
{
	cat "$T_TMP/orig.ini" >"$ini"
	cat "$T_TMP/orig.userlist" >"$userlist"
	admin "RELOAD" >/dev/null
}
on_exit restore

new_db pooltest
"$PGBENCH" -i -q -s 1 pooltest >/dev/null 2>&1 || not_ok "pgbench -i pooltest"

repo=$T_TMP/repo
write_spec()
{
	# $1: pool size of "pooltest"; $2: extra lines for databases
	mkdir -p "$repo"
	cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: itest
pooler:
  pgbouncer: {config_file: "$ini", admin: "$PGBOUNCER_ADMIN", drain_timeout: 20}
  settings:
    pool_mode: transaction
    default_pool_size: 15
    max_client_conn: 250
${EXTRA_SETTINGS:-}
  databases:
    postgres: {target: primary, dbname: postgres}
    "*": {target: primary}
    pooltest: {target: primary, pool_size: $1}
$2
${EXTRA_SECTIONS:-}
YAML
}
write_spec 6 "    extra: {target: primary, dbname: pooltest, pool_size: 2}"
make_repo "$repo"

check_exit "plan exits 2 with pooler changes" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
plan=$T_OUT
check_contains "default_pool_size before and after" "$plan" \
	'~ value = "20" -> "15"'
check_contains "pool_mode is planned" "$plan" \
	'~ value = "session" -> "transaction"'
check_contains "a new entry is planned" "$plan" \
	'pooler.databases.pooltest will be created'
check "apply" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "SHOW CONFIG has default_pool_size 15" "$(config default_pool_size)" 15
check_eq "SHOW CONFIG has pool_mode transaction" "$(config pool_mode)" transaction
check_eq "SHOW DATABASES has pooltest with pool_size 6" \
	"$(dbcol pooltest pool_size)" 6
check_eq "an entry without pool_size runs with the new default" \
	"$(dbcol postgres pool_size)" 15
check_contains "the file says dbops owns it" "$(head -n 1 "$ini")" \
	"managed by dbops"
check_eq "the file keeps its owner and mode" \
	"$(stat -c '%U %a' "$ini")" "$(stat -c '%U %a' "$T_TMP/orig.ini")"
check_exit "the second plan is empty" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# a value changed at run time with SET is drift
admin "SET default_pool_size = 33" >/dev/null
check_eq "SET took effect" "$(config default_pool_size)" 33
check_exit "SET is planned back" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "from the running value" "$T_OUT" '~ value = "33" -> "15"'
check_contains "only that change" "$T_OUT" \
	"Plan: 0 to add, 1 to change, 0 to destroy."
check "apply undoes the SET" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "default_pool_size is 15 again" "$(config default_pool_size)" 15
check_exit "plan is empty again" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# a restart-only setting
EXTRA_SETTINGS="    listen_backlog: 256"
write_spec 6 "    extra: {target: primary, dbname: pooltest, pool_size: 2}"
commit_all "$repo" "listen_backlog"
check_exit "restart-only change is planned" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "flagged as needing a restart" "$T_OUT" \
	"pooler.settings.listen_backlog will be updated in-place [needs restart]"
check "apply the restart-only change" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_contains "apply reports the pending restart" "$T_OUT" \
	'PgBouncer setting "listen_backlog" needs a restart to take effect'
check_eq "PgBouncer still runs the old value" "$(config listen_backlog)" 128
check "the file holds the new value" grep -q '^listen_backlog = 256$' "$ini"
check_exit "a pending restart is not planned again" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "but the plan warns" "$T_OUT" \
	'PgBouncer setting "listen_backlog" is waiting for a restart'

# removing an entry drains it first
write_spec 6 ""
commit_all "$repo" "drop extra"
check_exit "removal is planned" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "as a destructive change" "$T_OUT" \
	"pooler.databases.extra will be destroyed"
check "apply without --allow-destructive" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "leaves the entry alone" "$(dbcol extra pool_size)" 2
# a client in the middle of a transaction on "extra"
psql -X -q -h 127.0.0.1 -p "$PGBOUNCER_PORT" -d extra \
	-c "BEGIN" -c "SELECT pg_sleep(3)" -c "COMMIT" \
	>"$T_TMP/client.out" 2>&1 &
client=$!
for _ in $(seq 1 50); do
	[ "$(dbcol extra current_connections)" = 1 ] && break
	sleep 0.1
done
start=$(date +%s%N)
"$DBOPS" apply --repo "$repo" --auto-approve --no-color --allow-destructive \
	>"$T_TMP/drain.out" 2>&1 &
applier=$!
disabled=
for _ in $(seq 1 40); do
	d=$(dbcol extra disabled)
	if [ "$d" = 1 ]; then
		disabled=1
		break
	fi
	sleep 0.05
done
check_eq "the entry is disabled while its client works" "$disabled" 1
check_exit "new clients of the entry are refused meanwhile" 2 \
	psql -X -A -t -h 127.0.0.1 -p "$PGBOUNCER_PORT" -d extra -c "SELECT 1"
if wait "$client"; then
	ok "the client's transaction finished (not cut off)"
else
	not_ok "the client's transaction finished (not cut off)"
	diag "$(cat "$T_TMP/client.out")"
fi
if wait "$applier"; then
	ok "apply with --allow-destructive removes the drained entry"
else
	not_ok "apply with --allow-destructive removes the drained entry"
	diag "$(cat "$T_TMP/drain.out")"
fi
elapsed=$((($(date +%s%N) - start) / 1000000))
if [ "$elapsed" -ge 1500 ]; then
	ok "the removal waited for the client (${elapsed} ms)"
else
	not_ok "the removal waited for the client (${elapsed} ms)"
fi
check_eq "the entry is gone from SHOW DATABASES" "$(dbcol extra name)" ""
check_exit "and from the file" 1 grep -q '^extra ' "$ini"
check_exit "plan after the removal is empty" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# SCRAM verifiers in the auth file, from a secret reference
export DBOPS_SECRET_POOL_T='s3cret-pooler-pw'
EXTRA_SECTIONS="  auth_users:
    - {name: pool_app, password: {env: DBOPS_SECRET_POOL_T}}"
write_spec 6 ""
commit_all "$repo" "auth user"
check_exit "auth user is planned" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "as a new auth user" "$T_OUT" \
	"pooler.auth_users.pool_app will be created"
check_not_contains "the password is not in the plan" "$T_OUT" "$DBOPS_SECRET_POOL_T"
check "apply the auth user" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_not_contains "nor in the apply output" "$T_OUT" "$DBOPS_SECRET_POOL_T"
check "the auth file holds a SCRAM verifier" \
	grep -q '^"pool_app" "SCRAM-SHA-256\$4096:' "$userlist"
check_exit "and never the password" 1 grep -q "$DBOPS_SECRET_POOL_T" "$userlist"
check_eq "the auth file is mode 0600" "$(stat -c %a "$userlist")" 600
check "the other users of the auth file are kept" \
	grep -q '^"postgres" ""' "$userlist"
check_exit "plan after the auth user is empty" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
EXTRA_SECTIONS=

# unknown setting names are refused with a suggestion
bad=$T_TMP/bad
mkdir -p "$bad"
cat >"$bad/cluster.yaml" <<YAML
apiVersion: dbops/v1
pooler:
  pgbouncer: {config_file: "$ini", admin: "$PGBOUNCER_ADMIN"}
  settings: {default_pool_sise: 10, pool_mode: sessions}
YAML
check_exit "a spec with an unknown setting fails" 1 \
	"$DBOPS" plan --dir "$bad" --no-color
check_contains "named and located" "$T_OUT" \
	'cluster.yaml:4:14: ERROR:  unrecognized PgBouncer setting "default_pool_sise"'
check_contains "with did you mean" "$T_OUT" 'Did you mean "default_pool_size"?'
check_contains "a bad pool_mode is refused" "$T_OUT" \
	'invalid value for PgBouncer setting "pool_mode": "sessions"'

# under load: three pool resizes while pgbench runs in transaction mode
EXTRA_SETTINGS=
write_spec 6 ""
commit_all "$repo" "load base"
check "apply the base for the load test" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
"$PGBENCH" -n -h 127.0.0.1 -p "$PGBOUNCER_PORT" -c 8 -j 2 -T 20 -M simple \
	pooltest >"$T_TMP/pgbench.out" 2>&1 &
bench=$!
sleep 3
n=0
for size in 3 9 4; do
	write_spec "$size" ""
	commit_all "$repo" "pool size $size"
	if "$DBOPS" apply --repo "$repo" --auto-approve --no-color \
		>"$T_TMP/load-apply.out" 2>&1; then
		n=$((n + 1))
	else
		diag "$(cat "$T_TMP/load-apply.out")"
	fi
	got=$(dbcol pooltest pool_size)
	[ "$got" = "$size" ] || diag "pool_size is $got after applying $size"
	sleep 4
done
check_eq "three pool resizes applied under load" "$n" 3
if wait "$bench"; then
	ok "pgbench through PgBouncer succeeded"
else
	not_ok "pgbench through PgBouncer succeeded"
fi
bout=$(cat "$T_TMP/pgbench.out")
check_contains "pgbench ran in transaction pooling through PgBouncer" \
	"$bout" "number of transactions actually processed:"
check_contains "zero failed transactions" "$bout" \
	"number of failed transactions: 0 (0.000%)"
check_not_contains "no client was dropped" "$bout" "aborted"
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$bout")
if [ "${processed:-0}" -gt 100 ]; then
	ok "pgbench processed transactions ($processed)"
else
	not_ok "pgbench processed transactions (${processed:-0})"
	diag "$bout"
fi
check_eq "the last pool size is running" "$(dbcol pooltest pool_size)" 4
check_exit "the plan after the load test is empty" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

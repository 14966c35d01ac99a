#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# An expand/contract change under a steady write load: one client (the
# old release) writes the old column all along, another starts on the
# old column and is switched over to the new one after the backfill.
# expand → backfill → switch → contract: neither client sees a failed
# transaction at any step, the columns agree row for row when the
# backfill ends, the gate holds contract while the old client runs and
# lets it pass once the old client has been quiet for the window, and
# contract needs --allow-destructive.

. "$(dirname "$0")/lib.sh"

DB=dbops_t_expand_load
new_db "$DB" || exit 1
on_exit "psql_q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' -d postgres >/dev/null"
q() { psql_q "$1" -d "$DB"; }

q "CREATE TABLE accounts (id bigserial PRIMARY KEY, amount numeric(12,2) NOT NULL DEFAULT 0, client text);
   INSERT INTO accounts (amount) SELECT (g % 1000) / 100.0 FROM generate_series(1, 40000) g;
   ANALYZE accounts" || exit 1

repo=$T_TMP/repo
mkdir -p "$repo/m"
printf 'SELECT 1;\n' >"$repo/m/V1__noop.sql"
spec()
{
	cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: expand-load
migrations:
  databases:
    - database: $DB
      locations: [m]
      changes:
        - name: accounts_cents
          table: accounts
          state: $1
          operations:
            - change_type:
                column: amount
                to: amount_cents
                type: bigint
                up: "(amount * 100)::bigint"
                down: "amount_cents / 100.0"
          gate: {quiet_window: 3s}
          backfill: {batch_time: 30ms, pause: 5ms, max_batch: 2000}
YAML
}
spec expanded
make_repo "$repo"

# The clients: pgbench, one transaction at a time, each tagging the rows
# it inserts, so that the rows count its committed transactions. An
# error aborts a pgbench client and is printed on its stderr at once.
cat >"$T_TMP/old.sql" <<'SQL'
\set id random(1, 40000)
BEGIN;
UPDATE accounts SET amount = amount + 0.01 WHERE id = :id;
INSERT INTO accounts (amount, client) VALUES (1.25, 'TAG');
COMMIT;
SQL
cat >"$T_TMP/new.sql" <<'SQL'
\set id random(1, 40000)
BEGIN;
UPDATE accounts SET amount_cents = amount_cents + 1 WHERE id = :id;
INSERT INTO accounts (amount_cents, client) VALUES (375, 'TAG');
COMMIT;
SQL
pids=()
# start_client NAME SCRIPT: run pgbench in the background until stopped
start_client()
{
	sed "s/TAG/$1/" "$2" >"$T_TMP/client-$1.sql"
	pgbench -n -c 1 -T 600 -f "$T_TMP/client-$1.sql" "$DB" \
		>"$T_TMP/$1.out" 2>"$T_TMP/$1.err" &
	eval "pid_$1=$!"
	pids+=($!)
}
stop_client()
{
	local pid

	pid=$(eval echo "\$pid_$1")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
on_exit 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done'
# no_failures NAME: the client committed transactions and saw no error
no_failures()
{
	local n

	n=$(q "/* dbops:expand */ SELECT count(*) FROM accounts WHERE client = '$1'")
	if [ "$n" -gt 0 ] && ! grep -qi 'error\|abort' "$T_TMP/$1.err"; then
		ok "client $1: $n transactions, none failed"
	else
		not_ok "client $1: $n transactions, none failed"
		diag "$(cat "$T_TMP/$1.err")"
	fi
}
dbops_apply()
{
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color "$@"
}

start_client old "$T_TMP/old.sql"
start_client v1 "$T_TMP/old.sql"
sleep 1

# ---- expand and backfill under load
check_exit "the plan shows the expand and the backfill" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "with the state moving" "$T_OUT" '"none" -> "expanded"'
check_contains "and the lock of each statement" "$T_OUT" \
	'"line 1: AccessExclusive public.accounts, metadata only"'
check "expand and backfill while both clients write" dbops_apply
check_contains "the backfill ran in batches" "$T_OUT" 'backfill of change "accounts_cents":'
sleep 1
check_eq "the columns agree row for row" \
	"$(q "/* dbops:expand */ SELECT count(*) FROM accounts WHERE amount_cents IS DISTINCT FROM (amount * 100)::bigint")" 0
check_exit "nothing is left to plan" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# ---- the second client is deployed with the new column
stop_client v1
start_client v2 "$T_TMP/new.sql"
sleep 2
check_eq "rows the new client inserts have the old column too" \
	"$(q "/* dbops:expand */ SELECT count(*) FROM accounts WHERE client = 'v2' AND amount IS DISTINCT FROM amount_cents / 100.0")" 0
check_eq "rows the old client inserts have the new column" \
	"$(q "/* dbops:expand */ SELECT count(*) FROM accounts WHERE client = 'old' AND amount_cents IS DISTINCT FROM (amount * 100)::bigint")" 0
check_eq "and the columns still agree everywhere" \
	"$(q "/* dbops:expand */ SELECT count(*) FROM accounts WHERE amount_cents IS DISTINCT FROM (amount * 100)::bigint")" 0

# ---- contract asked for: the gate holds while the old client writes
spec contracted
commit_all "$repo" "contract accounts_cents"
check_exit "the gate holds contract while old code runs" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "the plan says why" "$T_OUT" 'contract of change "accounts_cents" waits: old code'
check_not_contains "and plans no contract" "$T_OUT" 'accounts_cents.contract'
check "apply takes a new snapshot" dbops_apply --allow-destructive
check_eq "the change is still expanded" \
	"$(q "SELECT state FROM dbops.schema_changes WHERE name = 'accounts_cents'")" expanded
sleep 4
check "still waiting after the quiet window, the old client still running" \
	"$DBOPS" plan --repo "$repo" --no-color
check_contains "because old code ran again" "$T_OUT" "waits: old code"

# ---- the old client stops: quiet for the window, then contract
stop_client old
no_failures old
check "a last snapshot after the old client stopped" dbops_apply
check "within the quiet window the plan waits" \
	"$DBOPS" plan --repo "$repo" --no-color
check_contains "and says since when" "$T_OUT" 'waits: quiet since'
sleep 4
check_exit "after the quiet window contract is planned" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "destructive, with the evidence" "$T_OUT" 'the gate passed: old code is gone'
check "without --allow-destructive it is skipped" dbops_apply
check_contains "as destructive changes are" "$T_OUT" 'skipped (destructive changes are not allowed)'
check "with it, contract" dbops_apply --allow-destructive
check_eq "the old column and the trigger are gone" \
	"$(q "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'amount' AND NOT attisdropped")|$(q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'accounts'::regclass")" "0|0"
check_eq "recorded contracted, not forced" \
	"$(q "SELECT state || ':' || forced FROM dbops.schema_changes")" "contracted:false"
sleep 1
stop_client v2
no_failures v1
no_failures v2
check_exit "nothing is left to plan" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

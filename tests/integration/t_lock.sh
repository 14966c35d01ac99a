#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# Two controllers applying at once: while one apply holds the cluster's
# advisory lock, a second one exits 3 naming the holder, and a third one
# with --lock-timeout waits and then finds nothing left to do. Never do
# both apply.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/params_lib.sh"

reset_params
on_exit reset_params

spec=$T_TMP/spec
repo=$T_TMP/repo
write_spec "$spec" <<'YAML'
apiVersion: dbops/v1
cluster: lock
parameters:
  work_mem: 24MB
  maintenance_work_mem: 80MB
  random_page_cost: 1.7
YAML
make_repo "$repo" "$spec"

lock_held()
{
	[ "$(psql_q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1684172656 AND objid = 1 AND granted")" = 1 ]
}

# The first apply pauses 3 s before each change after the first, so it
# holds the lock for about 6 s: long enough for the other two to start on
# a loaded machine, and with a sanitizer build.
DBOPS_APPLY_STEP_DELAY_MS=3000 "$DBOPS" apply --repo "$repo" --auto-approve \
	--no-color >"$T_TMP/first.out" 2>&1 &
first=$!
on_exit "kill $first 2>/dev/null || true"
for _ in $(seq 1 100); do
	lock_held && break
	sleep 0.05
done
check "the first apply holds the lock" lock_held

# the third starts at once, so that it finds the lock held however long
# the second takes
"$DBOPS" apply --repo "$repo" --auto-approve --lock-timeout 60s --no-color \
	>"$T_TMP/third.out" 2>&1 &
third_pid=$!
on_exit "kill $third_pid 2>/dev/null || true"

check_exit "a second apply exits 3 at once" 3 \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
second=$T_OUT
check_contains "it says the cluster is locked" "$second" \
	"ERROR:  the cluster is locked by another dbops apply"
check_contains "it names the holder" "$second" 'application "dbops"'
check_contains "it says since when" "$second" "holds the lock since"
check_contains "it hints at --lock-timeout" "$second" "--lock-timeout"
check_not_contains "it applied nothing" "$second" "Apply complete"

wait "$third_pid"
check_eq "a third apply with --lock-timeout waits, then has nothing to do" \
	"$?" 0
third=$(cat "$T_TMP/third.out")
check_contains "it waited for the lock" "$third" "Waiting for the apply lock"
check_contains "it found the cluster converged" "$third" "No changes."

wait "$first"
check_eq "the first apply succeeded" "$?" 0
check_contains "the first apply made all three changes" \
	"$(cat "$T_TMP/first.out")" \
	"Apply complete! Changes: 0 added, 3 changed, 0 destroyed."
check_eq "exactly one run applied changes" \
	"$(psql_q "SELECT count(*) FROM dbops.runs WHERE cluster = 'lock' AND changes_applied > 0")" 1
check_exit "a plan needs no lock and is empty" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

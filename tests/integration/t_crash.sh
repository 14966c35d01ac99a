#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# An apply killed with SIGKILL between two changes: the lock dies with its
# connection, the run is shown as interrupted, and the next apply does the
# remaining changes only, with nothing done twice.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/params_lib.sh"

reset_params
on_exit reset_params

spec=$T_TMP/spec
repo=$T_TMP/repo
write_spec "$spec" <<'YAML'
apiVersion: dbops/v1
cluster: crash
parameters:
  work_mem: 12MB
  maintenance_work_mem: 72MB
  random_page_cost: 1.3
YAML
make_repo "$repo" "$spec"

applied_in_last_run()
{
	psql_q "SELECT count(*) FROM dbops.run_changes WHERE status = 'applied' AND run_id = (SELECT max(id) FROM dbops.runs WHERE cluster = 'crash')" 2>/dev/null
}

DBOPS_APPLY_STEP_DELAY_MS=4000 "$DBOPS" apply --repo "$repo" --auto-approve \
	--no-color >"$T_TMP/killed.out" 2>&1 &
victim=$!
for _ in $(seq 1 200); do
	[ "$(applied_in_last_run)" = 1 ] && break
	sleep 0.05
done
check_eq "the first change was applied before the kill" "$(applied_in_last_run)" 1
kill -9 "$victim"
wait "$victim" 2>/dev/null

for _ in $(seq 1 100); do
	[ "$(psql_q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1684172656 AND granted")" = 0 ] && break
	sleep 0.05
done
check "history shows the killed run as interrupted" "$DBOPS" history --no-color
check_contains "interrupted" "$T_OUT" "interrupted"

check_exit "the next plan has only the remaining changes" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "two changes remain" "$T_OUT" \
	"Plan: 0 to add, 2 to change, 0 to destroy."
check_not_contains "the applied change is not planned again" "$T_OUT" \
	"parameters.maintenance_work_mem"
check "the next apply completes the work" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_contains "it applies two changes" "$T_OUT" \
	"Apply complete! Changes: 0 added, 2 changed, 0 destroyed."
wait_setting random_page_cost 1.3
check_eq "work_mem converged" "$(psql_q 'SHOW work_mem')" 12MB
check_eq "maintenance_work_mem converged" "$(psql_q 'SHOW maintenance_work_mem')" 72MB
check_eq "random_page_cost converged" "$(psql_q 'SHOW random_page_cost')" 1.3
check_exit "and the plan is empty" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# A change that fails at apply time: dbops runs as a least-privilege role
# that may ALTER SYSTEM some parameters but not others. The failed change
# stops the changes after it, the run reports exactly what was and was not
# applied, the run log says the same, and once the privilege is granted
# the next apply converges.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/params_lib.sh"

reset_params
on_exit reset_params

role=dbops_limited
drop_role()
{
	psql_q "DROP OWNED BY $role; DROP ROLE IF EXISTS $role" >/dev/null 2>&1 || true
}
drop_role
on_exit drop_role
# the run log: created by a first (empty) apply as the superuser
write_spec "$T_TMP/init" <<'YAML'
apiVersion: dbops/v1
cluster: failure-init
YAML
check "an empty apply creates the run log" \
	"$DBOPS" apply --dir "$T_TMP/init" --auto-approve --no-color
check "a least-privilege role for dbops" psql_q "
CREATE ROLE $role LOGIN;
GRANT pg_read_all_settings TO $role;
GRANT SELECT ON pg_catalog.pg_file_settings TO $role;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_show_all_file_settings() TO $role;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO $role;
GRANT ALTER SYSTEM ON PARAMETER random_page_cost, work_mem TO $role;
GRANT CREATE ON DATABASE postgres TO $role;"

spec=$T_TMP/spec
write_spec "$spec" <<YAML
apiVersion: dbops/v1
cluster: failure
connection:
  conninfo: "user=$role dbname=postgres"
parameters:
  work_mem: 14MB
  maintenance_work_mem: 70MB
  random_page_cost: 1.4
YAML
make_repo "$T_TMP/repo" "$spec"
repo=$T_TMP/repo

check_exit "the role can plan" 2 "$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "three changes" "$T_OUT" "Plan: 0 to add, 3 to change, 0 to destroy."

check "the role may write the run log" psql_q "
GRANT USAGE ON SCHEMA dbops TO $role;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA dbops TO $role;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA dbops TO $role"

check_exit "apply fails on the change the role may not make" 1 \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
out=$T_OUT
check_contains "the server's error is shown" "$out" \
	'permission denied to set parameter "maintenance_work_mem"'
check_contains "with the change it belongs to" "$out" \
	"change 1 of 3: parameters.maintenance_work_mem"
check_contains "the summary says what happened" "$out" \
	"Apply failed: 0 applied, 1 failed, 2 not attempted because an earlier change failed."
check_contains "the failed change is listed" "$out" "failed       parameters.maintenance_work_mem"
check_contains "the changes after it are listed as blocked" "$out" \
	"blocked      parameters.random_page_cost"
check_eq "nothing after the failure was applied" "$(psql_q 'SHOW random_page_cost')" 4
run=$(psql_q "SELECT max(id) FROM dbops.runs WHERE cluster = 'failure'")
check_eq "the run log records the run as failed" \
	"$(psql_q "SELECT status || ' ' || changes_failed FROM dbops.runs WHERE id = $run")" "failed 1"
check_eq "and each change's result" \
	"$(psql_q "SELECT string_agg(address || '=' || status, ',' ORDER BY seq) FROM dbops.run_changes WHERE run_id = $run")" \
	"parameters.maintenance_work_mem=failed,parameters.random_page_cost=blocked,parameters.work_mem=blocked"
check "history of the run" "$DBOPS" history "$run"
check_contains "shows the error" "$T_OUT" "permission denied"

psql_q "GRANT ALTER SYSTEM ON PARAMETER maintenance_work_mem TO $role" >/dev/null
check "with the privilege granted, apply converges" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_contains "all three changes" "$T_OUT" "Apply complete! Changes: 0 added, 3 changed, 0 destroyed."
check_exit "and the plan is empty" 0 "$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
psql_q "REVOKE ALL ON ALL TABLES IN SCHEMA dbops FROM $role; REVOKE ALL ON ALL SEQUENCES IN SCHEMA dbops FROM $role; REVOKE ALL ON SCHEMA dbops FROM $role; REVOKE ALL ON DATABASE postgres FROM $role; REVOKE ALTER SYSTEM ON PARAMETER random_page_cost, work_mem, maintenance_work_mem FROM $role" >/dev/null

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The parameters plugin end to end through the CLI against the sandbox:
# plan, apply, an empty second plan, drift undone exactly, restart-only
# settings reported as pending, and plan-time errors that change nothing.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/params_lib.sh"

reset_params
on_exit reset_params

spec=$T_TMP/spec
repo=$T_TMP/repo
write_spec "$spec" <<'YAML'
apiVersion: dbops/v1
cluster: itest
parameters:
  work_mem: 16MB
  maintenance_work_mem: 96MB
  log_min_duration_statement: 2s
  log_connections: on
  random_page_cost: 1.5
  search_path: '"$user", public, extensions'
YAML
make_repo "$repo" "$spec"

check_exit "plan --detailed-exitcode exits 2 when there are changes" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
plan=$T_OUT
check_contains "plan shows work_mem before and after" "$plan" \
	'~ value = "4MB" -> "16MB"'
check_contains "plan shows the SQL it will run" "$plan" \
	"ALTER SYSTEM SET work_mem = '16MB'"
check_contains "plan counts six changes" "$plan" \
	"Plan: 0 to add, 6 to change, 0 to destroy."
check_contains "plan names the cluster" "$plan" 'dbops plan for cluster "itest"'
check_not_contains "no colour without a terminal" "$plan" $'\033['

check_exit "plan output is byte-identical for the same inputs" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_eq "second rendering equals the first" "$T_OUT" "$plan"

check "apply --auto-approve" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_contains "apply reports what it did" "$T_OUT" \
	"Apply complete! Changes: 0 added, 6 changed, 0 destroyed."
wait_setting work_mem 16MB
check_eq "work_mem is live" "$(psql_q 'SHOW work_mem')" 16MB
check_eq "maintenance_work_mem is live" "$(psql_q 'SHOW maintenance_work_mem')" 96MB
check_eq "log_min_duration_statement is live" \
	"$(psql_q 'SHOW log_min_duration_statement')" 2s
check_eq "log_connections is live" "$(psql_q 'SHOW log_connections')" on
check_eq "random_page_cost is live" "$(psql_q 'SHOW random_page_cost')" 1.5
check_eq "search_path is live" "$(psql_q 'SHOW search_path')" \
	'"$user", public, extensions'

check_exit "the second plan is empty (exit 0)" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "the second plan says so" "$T_OUT" "No changes."

# drift: a managed setting changed behind dbops' back, and one that is not
# managed (must be left alone)
psql_q "ALTER SYSTEM SET work_mem = '8MB'" >/dev/null
psql_q "ALTER SYSTEM SET temp_buffers = '16MB'" >/dev/null
psql_q "SELECT pg_reload_conf()" >/dev/null
wait_setting work_mem 8MB
check_exit "drift is planned" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "drift is undone exactly" "$T_OUT" '~ value = "8MB" -> "16MB"'
check_contains "only the drifted setting changes" "$T_OUT" \
	"Plan: 0 to add, 1 to change, 0 to destroy."
check_not_contains "settings not in the spec are left alone" "$T_OUT" temp_buffers
check "apply undoes the drift" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
wait_setting work_mem 16MB
check_eq "work_mem is back" "$(psql_q 'SHOW work_mem')" 16MB
check_eq "temp_buffers untouched" "$(psql_q 'SHOW temp_buffers')" 16MB
check_exit "plan after the drift is undone is empty" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# a setting that needs a restart
on_exit "reset_params; sandbox_restart >/dev/null"
cat >>"$repo/cluster.yaml" <<'YAML'
  shared_buffers: 48MB
YAML
commit_all "$repo" "Raise shared_buffers"
check_exit "restart-only change is planned" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "it is flagged as needing a restart" "$T_OUT" \
	"parameters.shared_buffers will be updated in-place [needs restart]"
check_contains "the running value is the before value" "$T_OUT" \
	'~ value = "32MB" -> "48MB"'
check "apply the restart-only change" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_contains "apply reports the pending restart" "$T_OUT" \
	'parameter "shared_buffers" needs a server restart to take effect'
check_eq "the server still runs with the old value" \
	"$(psql_q 'SHOW shared_buffers')" 32MB
check_exit "a pending restart is not planned again" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "but the plan warns about it" "$T_OUT" \
	'parameter "shared_buffers" is waiting for a server restart'
check "restart the sandbox" sandbox_restart
check_eq "after the restart the new value runs" \
	"$(psql_q 'SHOW shared_buffers')" 48MB
check_exit "and the plan is empty without warnings" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_not_contains "no pending-restart warning" "$T_OUT" "waiting for a server restart"

# errors found at plan time change nothing
bad=$T_TMP/bad
write_spec "$bad" <<'YAML'
apiVersion: dbops/v1
parameters:
  work_mem: 64MB
  wrok_mem: 1MB
  max_connections: 1000000
  log_statement: loud
  maintenance_work_mem: 16XB
YAML
check_exit "a spec with bad parameters fails the plan" 1 \
	"$DBOPS" plan --dir "$bad" --no-color
err=$T_OUT
check_contains "unknown name located, with a suggestion" "$err" \
	'cluster.yaml:4:3: ERROR:  unrecognized configuration parameter "wrok_mem"'
check_contains "did you mean" "$err" 'HINT:  Did you mean "work_mem"?'
check_contains "out of range is reported" "$err" \
	'1000000 is outside the valid range for parameter "max_connections"'
check_contains "a bad enum value is reported with the choices" "$err" \
	'Available values: none, ddl, mod, all.'
check_contains "a bad unit is reported" "$err" \
	'invalid value for parameter "maintenance_work_mem": "16XB"'
check_exit "apply of the bad spec fails too" 1 \
	"$DBOPS" apply --dir "$bad" --auto-approve --no-color
check_eq "and nothing was changed" "$(psql_q 'SHOW work_mem')" 16MB

# JSON and markdown renderings
psql_q "ALTER SYSTEM SET work_mem = '2MB'" >/dev/null
psql_q "SELECT pg_reload_conf()" >/dev/null
wait_setting work_mem 2MB
check_exit "plan --format json" 0 "$DBOPS" plan --repo "$repo" --format json
json=$T_OUT
check_eq "json format_version" "$(json_get "$json" "->>'format_version'")" 1.0
check_eq "json change address" \
	"$(json_get "$json" "->'changes'->0->>'address'")" parameters.work_mem
check_eq "json before value" \
	"$(json_get "$json" "->'changes'->0->'before'->>'value'")" 2MB
check_eq "json after value" \
	"$(json_get "$json" "->'changes'->0->'after'->>'value'")" 16MB
check_eq "json flags" "$(json_get "$json" "->'changes'->0->'flags'")" \
	'["non_transactional"]'
check_eq "json spec location" \
	"$(json_get "$json" "->'changes'->0->'location'->>'line'")" 4
check_eq "json revision commit" \
	"$(json_get "$json" "->'revision'->>'commit'")" \
	"$(git -C "$repo" rev-parse HEAD)"
check_exit "plan --format markdown" 0 "$DBOPS" plan --repo "$repo" --format markdown
check_contains "markdown summary line" "$T_OUT" \
	"**Plan: 0 to add, 1 to change, 0 to destroy.**"
check_contains "markdown table row" "$T_OUT" \
	'| `~` | `parameters.work_mem` | update | value: `2MB` → `16MB` |'
check_contains "markdown folds the full plan" "$T_OUT" \
	"<details><summary>Full plan</summary>"

# the run log
check "history lists the runs" "$DBOPS" history --no-color
check_contains "history shows an applied run" "$T_OUT" "applied"
check_contains "history shows the commit subject" "$T_OUT" "Raise shared_buffers"
run=$(psql_q "SELECT max(id) FROM dbops.runs")
check "history of one run" "$DBOPS" history "$run"
check_contains "the run's change is listed" "$T_OUT" "parameters.shared_buffers"

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# Saved plans: `plan --out FILE` then `apply FILE` applies exactly the
# reviewed plan; a plan is refused once the cluster or the spec changed
# after it was made, and nothing is applied then.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/params_lib.sh"

reset_params
on_exit reset_params

spec=$T_TMP/spec
repo=$T_TMP/repo
write_spec "$spec" <<'YAML'
apiVersion: dbops/v1
cluster: saved
parameters:
  work_mem: 20MB
  random_page_cost: 1.2
YAML
make_repo "$repo" "$spec"

cd "$T_TMP" || exit 1
check "plan --out saves the plan" "$DBOPS" plan --repo "$repo" --no-color --out p1.plan
check_contains "it says where and how to apply it" "$T_OUT" "dbops apply p1.plan"
check "the plan file exists and is private" test "$(stat -c %a p1.plan)" = 600
check_not_contains "the plan file does not hold the connection" "$(cat p1.plan)" "$PGPORT"
check "apply of the saved plan from another directory" \
	sh -c "cd / && '$DBOPS' apply '$T_TMP/p1.plan' --no-color"
check_contains "it applied the two changes" "$T_OUT" \
	"Apply complete! Changes: 0 added, 2 changed, 0 destroyed."
wait_setting work_mem 20MB
check_eq "work_mem applied" "$(psql_q 'SHOW work_mem')" 20MB
check_exit "applying the same plan again is refused (the cluster changed)" 1 \
	"$DBOPS" apply p1.plan --no-color
check_contains "as stale" "$T_OUT" "saved plan is stale: the cluster has changed since it was made"

# a newer commit planned and saved, then the cluster drifts before apply
sed -i 's/20MB/28MB/' "$repo/cluster.yaml"
commit_all "$repo" "More work_mem"
check "plan the new commit" "$DBOPS" plan --repo "$repo" --no-color --out p2.plan
psql_q "ALTER SYSTEM SET random_page_cost = 3" >/dev/null
psql_q "SELECT pg_reload_conf()" >/dev/null
wait_setting random_page_cost 3
check_exit "a plan made before live drift is refused" 1 \
	"$DBOPS" apply p2.plan --no-color
check_contains "the refusal says why" "$T_OUT" "the cluster has changed since it was made"
check_contains "and what to do" "$T_OUT" "HINT:  Make a new plan"
check_eq "nothing was applied" "$(psql_q 'SHOW work_mem')" 20MB

# the saved plan pins the commit, not the branch
check "plan the current commit" "$DBOPS" plan --repo "$repo" --no-color --out p3.plan
sed -i 's/28MB/30MB/' "$repo/cluster.yaml"
commit_all "$repo" "Even more work_mem"
check "a saved plan applies its own commit even after the branch moved" \
	"$DBOPS" apply p3.plan --no-color
wait_setting work_mem 28MB
check_eq "work_mem is the saved commit's value" "$(psql_q 'SHOW work_mem')" 28MB

# directory source: an edit after the plan makes it stale
dir=$T_TMP/dir
write_spec "$dir" <<'YAML'
apiVersion: dbops/v1
cluster: saved
parameters:
  work_mem: 40MB
YAML
check "plan a directory" "$DBOPS" plan --dir "$dir" --no-color --out p4.plan
sed -i 's/40MB/44MB/' "$dir/cluster.yaml"
check_exit "a plan of an edited directory is refused" 1 "$DBOPS" apply p4.plan --no-color
check_contains "because the spec changed" "$T_OUT" "the spec has changed since it was made"
check_eq "nothing was applied" "$(psql_q 'SHOW work_mem')" 28MB
check_exit "a file that is not a plan is refused" 1 "$DBOPS" apply "$dir/cluster.yaml"
check_contains "with a clear message" "$T_OUT" "is not a dbops plan file"

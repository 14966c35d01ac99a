#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# Specs read from git: different commits of one repository planned side by
# side without a checkout, uncommitted edits ignored unless --dir is used,
# a remote repository cloned and fetched through a file:// URL, and a
# fleet repository with several clusters.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/params_lib.sh"

reset_params
on_exit reset_params

spec=$T_TMP/spec
repo=$T_TMP/repo
write_spec "$spec" <<'YAML'
apiVersion: dbops/v1
cluster: git
parameters:
  work_mem: 16MB
YAML
make_repo "$repo" "$spec"
first=$(git -C "$repo" rev-parse HEAD)
git -C "$repo" tag v1
sed -i 's/16MB/32MB/' "$repo/cluster.yaml"
commit_all "$repo" "Double work_mem"
second=$(git -C "$repo" rev-parse HEAD)

check "plan the tag" "$DBOPS" plan --repo "$repo" --rev v1 --no-color
check_contains "the tag's value" "$T_OUT" '"4MB" -> "16MB"'
check_contains "the revision is stated" "$T_OUT" "revision: ${first:0:12} (v1)"
check "plan the branch" "$DBOPS" plan --repo "$repo" --rev main --no-color
check_contains "the branch's value" "$T_OUT" '"4MB" -> "32MB"'
check_contains "with the commit subject" "$T_OUT" \
	"revision: ${second:0:12} (main) \"Double work_mem\""
check "plan a commit id" "$DBOPS" plan --repo "$repo" --rev "$first" --no-color
check_contains "the commit's value" "$T_OUT" '"4MB" -> "16MB"'

sed -i 's/32MB/64MB/' "$repo/cluster.yaml"
check "plan HEAD with an uncommitted edit" "$DBOPS" plan --repo "$repo" --no-color
check_contains "the edit is not seen in a revision" "$T_OUT" '"4MB" -> "32MB"'
check "plan the directory" "$DBOPS" plan --dir "$repo" --no-color
check_contains "--dir sees the edit" "$T_OUT" '"4MB" -> "64MB"'
check_contains "and says it is uncommitted" "$T_OUT" "(uncommitted)"
git -C "$repo" checkout -q -- cluster.yaml

check_exit "an unknown revision is an error" 1 \
	"$DBOPS" plan --repo "$repo" --rev nosuch --no-color
check_contains "naming the revision" "$T_OUT" 'could not resolve revision "nosuch"'

# a remote repository, cloned into a cache and fetched on later runs
cache=$T_TMP/cache
check "plan through a file:// URL" "$DBOPS" plan --repo "file://$repo" \
	--rev main --cache-dir "$cache" --no-color
check_contains "the remote's value" "$T_OUT" '"4MB" -> "32MB"'
check "the clone is in the cache" test -n "$(ls "$cache/repos")"
sed -i 's/32MB/48MB/' "$repo/cluster.yaml"
commit_all "$repo" "More"
check "plan the URL again" "$DBOPS" plan --repo "file://$repo" --rev main \
	--cache-dir "$cache" --no-color
check_contains "the new commit was fetched" "$T_OUT" '"4MB" -> "48MB"'

# a fleet
fleet=$T_TMP/fleet
fleet_repo=$T_TMP/fleet-repo
mkdir -p "$fleet/clusters/alpha" "$fleet/clusters/beta"
cat >"$fleet/dbops.yaml" <<'YAML'
apiVersion: dbops/v1
clusters:
  - {name: alpha, path: clusters/alpha}
  - {name: beta, path: clusters/beta}
YAML
write_spec "$fleet/clusters/alpha" <<'YAML'
apiVersion: dbops/v1
cluster: alpha
parameters: {work_mem: 5MB}
YAML
write_spec "$fleet/clusters/beta" <<'YAML'
apiVersion: dbops/v1
cluster: beta
parameters: {work_mem: 6MB}
YAML
make_repo "$fleet_repo" "$fleet"
check "plan one cluster of a fleet" "$DBOPS" plan --repo "$fleet_repo" --cluster beta --no-color
check_contains "its own spec" "$T_OUT" '"4MB" -> "6MB"'
check_contains "its own file" "$T_OUT" "clusters/beta/cluster.yaml"
check_exit "a fleet needs --cluster" 1 "$DBOPS" plan --repo "$fleet_repo" --no-color
check_contains "and lists the clusters" "$T_OUT" 'Clusters in dbops.yaml: "alpha", "beta".'
check_exit "an unknown cluster" 1 "$DBOPS" plan --repo "$fleet_repo" --cluster alhpa --no-color
check_contains "gets a suggestion" "$T_OUT" 'Did you mean "alpha"?'

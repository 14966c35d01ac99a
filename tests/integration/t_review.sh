#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# Plans on pull requests, against a fake forge that records every request
# (tests/fixtures/fake_forge.py): `dbops review --pr N` asks GitHub for the
# request's head, sets a pending commit status, plans the head against the
# trusted configuration, posts the markdown plan as one comment, and sets
# the status to success with the counts; a later push updates that same
# comment (found by its hidden marker); a failed plan sets failure with
# the error; a request that changes where dbops connects is refused before
# any connection. The same on GitLab's notes and statuses, and from the
# daemon on a signed pull-request webhook. The exact methods, paths,
# headers and bodies are checked; the token appears in no output.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

DB=dbops_t_review
new_db "$DB" || exit 1
on_exit "psql_q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' -d postgres >/dev/null"
on_exit "psql_q 'DROP ROLE IF EXISTS dd_rv_app' -d postgres >/dev/null"
psql_q "DROP ROLE IF EXISTS dd_rv_app; CREATE ROLE dd_rv_app LOGIN CONNECTION LIMIT 5" || exit 1

export FAKE_FORGE_TOKEN='forge-token-must-stay-home'
export DBOPS_SECRET_FORGE=$FAKE_FORGE_TOKEN
export DBOPS_SECRET_HOOK='hook-secret'

repo=$T_TMP/specs
remote_init "$repo" || exit 1
spec()
{
	cat >"$repo/work/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: rv
connection: {conninfo: "host=$PGHOST port=$PGPORT dbname=$DB user=$PGUSER"}
roles:
  members:
    - {name: dd_rv_app, login: true, connection_limit: $1}
$2
YAML
}
spec 5 ""
remote_push "$repo" "the base" || exit 1
# the pull request: a branch pushed to the remote
t__git "$repo/work" checkout -q -b topic
spec 6 "    - {name: dd_rv_new, login: true}"
commit_all "$repo/work" "six connections and a new role" &&
	t__git "$repo/work" push -q origin topic || exit 1
head1=$T_REV
printf '{"7": {"head": "%s", "base": "main"}}\n' "$head1" >"$T_TMP/prs.json"
start_fixture forge fake_forge.py "$T_TMP/forge.log" "$T_TMP/prs.json" || exit 1
FORGE=$FIXTURE_PORT

config()
{
	cat >"$T_TMP/dbops.yaml" <<YAML
apiVersion: dbops/v1
clusters:
  rv: {connection: {conninfo: "host=$PGHOST port=$PGPORT dbname=$DB user=$PGUSER"}}
source: {url: "file://$repo/remote.git", branch: main, cache_dir: $T_TMP/cache}
daemon: {interval: 1h}
http: {listen: "127.0.0.1:0", webhook_secret: {env: DBOPS_SECRET_HOOK}}
forge:
  kind: $1
  url: http://127.0.0.1:$FORGE$2
  repository: $3
  token: {env: DBOPS_SECRET_FORGE}
YAML
}

# requests [FROM]: "METHOD PATH" of each request logged, from line FROM
requests()
{
	tail -n +"${1:-1}" "$T_TMP/forge.log" |
		"$PY" -c 'import json,sys; [print(r["method"], r["path"]) for r in map(json.loads, sys.stdin)]'
}

# field LINE EXPR: a Python expression over request r (line LINE)
field()
{
	sed -n "${1}p" "$T_TMP/forge.log" |
		"$PY" -c "import json,sys; r=json.load(sys.stdin); print($2)"
}

lines() { wc -l <"$T_TMP/forge.log" | tr -d ' '; }

# ---- GitHub
config github "" acme/specs
check "dbops review --pr 7 (GitHub)" \
	"$DBOPS" review --forge github --pr 7 --config "$T_TMP/dbops.yaml"
out1=$T_OUT
check_eq "the requests, in order" "$(requests)" \
	"GET /repos/acme/specs/pulls/7
POST /repos/acme/specs/statuses/$head1
GET /repos/acme/specs/issues/7/comments?per_page=100&page=1
POST /repos/acme/specs/issues/7/comments
POST /repos/acme/specs/statuses/$head1"
check_eq "GitHub's headers: the token as a bearer, the API version" \
	"$(field 1 'r["headers"]["authorization"], r["headers"]["accept"], r["headers"]["x-github-api-version"], r["headers"]["user-agent"]')" \
	"Bearer $FAKE_FORGE_TOKEN application/vnd.github+json 2022-11-28 dbops/0.1.0"
check_eq "pending first" "$(field 2 'json.dumps(r["body"], sort_keys=True)')" \
	'{"context": "dbops/plan", "description": "dbops is planning", "state": "pending"}'
check_eq "then success with the counts" "$(field 5 'json.dumps(r["body"], sort_keys=True)')" \
	'{"context": "dbops/plan", "description": "1 to add, 1 to change, 0 to destroy", "state": "success"}'
comment=$(field 4 'r["body"]["body"]')
check_contains "the comment carries the hidden marker" "$comment" "<!-- dbops:plan -->"
check_contains "and the plan's summary" "$comment" \
	"**Plan: 1 to add, 1 to change, 0 to destroy.**"
check_contains "and the changes" "$comment" \
	'| `+` | `roles.role.dd_rv_new` | create |'
check_contains "of the request's head" "$comment" "dbops plan for #7 at \`${head1:0:12}\`"

# a later push updates the same comment
spec 7 "    - {name: dd_rv_new, login: true}"
commit_all "$repo/work" "seven" && t__git "$repo/work" push -q origin topic || exit 1
head2=$T_REV
printf '{"7": {"head": "%s", "base": "main"}}\n' "$head2" >"$T_TMP/prs.json"
from=$(($(lines) + 1))
check "review again after a push" \
	"$DBOPS" review --pr 7 --config "$T_TMP/dbops.yaml"
check_eq "the comment is found by its marker and updated" "$(requests "$from")" \
	"GET /repos/acme/specs/pulls/7
POST /repos/acme/specs/statuses/$head2
GET /repos/acme/specs/issues/7/comments?per_page=100&page=1
PATCH /repos/acme/specs/issues/comments/101
POST /repos/acme/specs/statuses/$head2"
check_contains "with the new head's plan" "$(field $((from + 3)) 'r["body"]["body"]')" \
	"dbops plan for #7 at \`${head2:0:12}\`"

# a spec error: failure, with the error
spec 7 "  bogus: 1"
commit_all "$repo/work" "broken" && t__git "$repo/work" push -q origin topic || exit 1
printf '{"7": {"head": "%s", "base": "main"}}\n' "$T_REV" >"$T_TMP/prs.json"
from=$(($(lines) + 1))
check_exit "a failed plan exits 1" 1 \
	"$DBOPS" review --pr 7 --config "$T_TMP/dbops.yaml"
out3=$T_OUT
check_eq "the status is failure, saying why" \
	"$(field $((from + 4)) 'r["body"]["state"], r["body"]["description"]')" \
	"failure rv: cluster.yaml:7:3: unknown key \"bogus\" in the roles section"
check_contains "the comment says the plan failed" \
	"$(field $((from + 3)) 'r["body"]["body"]')" "**The plan failed.**"

# a request that would make dbops read the forge's token as a role's
# password: refused before connecting
t__git "$repo/work" checkout -q main
t__git "$repo/work" checkout -q -b evil
sed -i 's/connection_limit: 5}/connection_limit: 5, password: {env: DBOPS_SECRET_FORGE}}/' "$repo/work/cluster.yaml"
commit_all "$repo/work" "evil" && t__git "$repo/work" push -q origin evil || exit 1
printf '{"7": {"head": "%s", "base": "main"}}\n' "$T_REV" >"$T_TMP/prs.json"
from=$(($(lines) + 1))
check_exit "a request reading another secret is refused" 1 \
	"$DBOPS" review --pr 7 --config "$T_TMP/dbops.yaml"
check_contains "naming the key" "$(field $((from + 3)) 'r["body"]["body"]')" \
	"roles.members[0].password (secret, new)"

all_out="$out1 $out3 $T_OUT"
check_not_contains "the token is in no output" "$all_out" "$FAKE_FORGE_TOKEN"

# ---- GitLab
t__git "$repo/work" checkout -q topic
printf '{"7": {"head": "%s", "base": "main"}}\n' "$head2" >"$T_TMP/prs.json"
config gitlab /api/v4 group/specs
from=$(($(lines) + 1))
check "dbops review --forge gitlab --pr 7" \
	"$DBOPS" review --forge gitlab --pr 7 --config "$T_TMP/dbops.yaml"
check_eq "GitLab's requests, in order" "$(requests "$from")" \
	"GET /api/v4/projects/group%2Fspecs/merge_requests/7
POST /api/v4/projects/group%2Fspecs/statuses/$head2
GET /api/v4/projects/group%2Fspecs/merge_requests/7/notes?per_page=100&page=1
POST /api/v4/projects/group%2Fspecs/merge_requests/7/notes
POST /api/v4/projects/group%2Fspecs/statuses/$head2"
check_eq "the token in PRIVATE-TOKEN" "$(field "$from" 'r["headers"]["private-token"], "authorization" in r["headers"]')" \
	"$FAKE_FORGE_TOKEN False"
check_eq "GitLab's status body" "$(field $((from + 4)) 'json.dumps(r["body"], sort_keys=True)')" \
	'{"description": "1 to add, 1 to change, 0 to destroy", "name": "dbops/plan", "state": "success"}'
from=$(($(lines) + 1))
check "again" "$DBOPS" review --pr 7 --config "$T_TMP/dbops.yaml"
check_eq "updates its note" "$(requests "$from" | sed -n 4p)" \
	"PUT /api/v4/projects/group%2Fspecs/merge_requests/7/notes/102"
check_exit "--forge must match the configuration" 1 \
	"$DBOPS" review --forge github --pr 7 --config "$T_TMP/dbops.yaml"

# ---- the daemon, on a pull-request webhook
config github "" acme/specs
daemon_start daemon "$T_TMP/dbops.yaml" || { not_ok "the daemon starts"; exit 1; }
from=$(($(lines) + 1))
T_OUT=$(hook "$DAEMON_PORT" "$DBOPS_SECRET_HOOK" pull_request \
	"{\"action\": \"synchronize\", \"number\": 7, \"pull_request\": {\"head\": {\"sha\": \"$head2\"}}}")
check_eq "a signed pull-request webhook is accepted" "$(head -n 1 <<<"$T_OUT")" 202
check "the daemon posts the plan" \
	wait_for 15 output_ge $((from + 4)) lines
check_eq "updating the same comment" "$(requests "$from")" \
	"GET /repos/acme/specs/pulls/7
POST /repos/acme/specs/statuses/$head2
GET /repos/acme/specs/issues/7/comments?per_page=100&page=1
PATCH /repos/acme/specs/issues/comments/101
POST /repos/acme/specs/statuses/$head2"
check_not_contains "the token is not in the daemon's log" \
	"$(cat "$T_TMP/daemon.log")" "$FAKE_FORGE_TOKEN"

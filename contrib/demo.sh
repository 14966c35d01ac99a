#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# demo.sh — what `make demo` runs after installing packages and building:
# a fresh sandbox cluster (PostgreSQL with PgBouncer in front), a git
# repository made from specs/examples/quickstart, then `dbops plan`,
# `dbops apply` of that saved plan (settings, pool sizes, a synchronous and
# an asynchronous standby) and a second `dbops plan` that shows nothing is
# left to do, a drift undone, `dbops status` and `dbops history`. The sandbox keeps running
# so that you can look around; the last lines say how to use and stop it.
#
# DBOPS_DEMO_DIR chooses where (default /tmp/dbops-demo; it must be
# reachable by the "postgres" OS user when run as root).

set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd -P)
demo=${DBOPS_DEMO_DIR:-/tmp/dbops-demo}
dbops=$src/build/dbops
export GIT_AUTHOR_NAME="dbops demo" GIT_AUTHOR_EMAIL="demo@dbops.invalid"
export GIT_COMMITTER_NAME="dbops demo" GIT_COMMITTER_EMAIL="demo@dbops.invalid"

step()
{
	printf '\n\033[1m==> %s\033[0m\n' "$*"
	[ -t 1 ] || true
}

if [ -d "$demo" ]; then
	"$src/contrib/sandbox" destroy "$demo/sandbox" >/dev/null 2>&1 || true
	rm -rf "$demo"
fi
mkdir -p "$demo"
chmod 0755 "$demo"

step "Starting a sandbox PostgreSQL in $demo/sandbox"
eval "$("$src/contrib/sandbox" up "$demo/sandbox")"
echo "PostgreSQL is listening on $PGHOST:$PGPORT"

step "Creating the spec repository $demo/repo from specs/examples/quickstart"
mkdir -p "$demo/repo"
cp -R "$src/specs/examples/quickstart/." "$demo/repo/"
# the standbys live in this sandbox, on ports that are free here
free_port()
{
	local p=$1

	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
		p=$((p + 1))
	done
	echo "$p"
}
p1=$(free_port $((PGPORT + 10)))
p2=$(free_port $((p1 + 1)))
sed -i -e "s|/tmp/dbops-demo/sandbox|$demo/sandbox|g" \
	-e "s/port: 54331,/port: @P1@,/; s/port: 54332,/port: @P2@,/" \
	-e "s/@P1@/$p1/; s/@P2@/$p2/" "$demo/repo/cluster.yaml"
git -C "$demo/repo" init -q -b main
git -C "$demo/repo" add -A
git -C "$demo/repo" commit -q -m "Quickstart: settings, pool sizes and two standbys"
git -C "$demo/repo" log --oneline

step "dbops plan --repo $demo/repo --out $demo/quickstart.plan"
set +e
"$dbops" plan --repo "$demo/repo" --out "$demo/quickstart.plan" --detailed-exitcode
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "demo: expected a plan with changes (exit 2), got $rc" >&2; exit 1; }

step "dbops apply $demo/quickstart.plan   (exactly the plan shown above)"
"$dbops" apply "$demo/quickstart.plan"

# the sandbox starts and stops the standbys from now on
"$src/contrib/sandbox" register "$demo/sandbox" replica1 postgres "$p1" "$demo/sandbox/replica1"
"$src/contrib/sandbox" register "$demo/sandbox" replica2 postgres "$p2" "$demo/sandbox/replica2"

step "dbops plan --repo $demo/repo   (again: nothing is left to do)"
set +e
"$dbops" plan --repo "$demo/repo" --detailed-exitcode
rc=$?
set -e
[ "$rc" -eq 0 ] || { echo "demo: expected an empty plan (exit 0), got $rc" >&2; exit 1; }

step "Someone changes work_mem behind dbops' back; the next plan undoes exactly that"
psql -X -q -c "ALTER SYSTEM SET work_mem = '8MB'" -c "SELECT pg_reload_conf()" >/dev/null
set +e
"$dbops" plan --repo "$demo/repo" --detailed-exitcode
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "demo: expected the drift to be planned (exit 2), got $rc" >&2; exit 1; }
"$dbops" apply --repo "$demo/repo" --auto-approve >/dev/null

step "dbops status   (replication health)"
set +e
"$dbops" status --repo "$demo/repo"
rc=$?
set -e
[ "$rc" -ne 1 ] || { echo "demo: status reports the cluster unhealthy" >&2; exit 1; }

step "dbops history"
"$dbops" history

cat <<MSG

The sandbox is still running. To use it:
    eval "\$(contrib/sandbox env $demo/sandbox)"
    build/dbops plan --repo $demo/repo
    psql -c 'SHOW work_mem'
Edit $demo/repo/cluster.yaml, commit, and plan again. Stop it with:
    contrib/sandbox destroy $demo/sandbox
MSG

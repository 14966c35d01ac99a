# SPDX-License-Identifier: PostgreSQL
# shellcheck shell=bash
#
# daemon_lib.sh — what the daemon scenarios share, on top of lib.sh: a
# spec repository pushed to a bare remote on disk (the daemon mirrors it
# through a file:// URL, as it would a remote), a daemon started in the
# background and stopped on exit, waiting for a condition, and signed
# webhook deliveries.

# The system's python3 when there is one: a version manager's shim in
# PATH can cost seconds per start, and these scenarios start it often.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# remote_init DIR: DIR/remote.git (bare) and DIR/work (a clone to commit
# in, on branch main).
remote_init()
{
	local dir=$1

	mkdir -p "$dir/work" || return 1
	t__git "$dir" init -q --bare -b main remote.git || return 1
	t__git "$dir/work" init -q -b main || return 1
	t__git "$dir/work" remote add origin "$dir/remote.git"
}

# remote_push DIR MSG: commit everything in DIR/work and push it.
remote_push()
{
	commit_all "$1/work" "$2" && t__git "$1/work" push -q origin HEAD:main
}

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds or
# SECONDS pass; the status of the last run.
wait_for()
{
	local limit=$1 end

	shift
	end=$(($(date +%s%N) + limit * 1000000000))
	until "$@"; do
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# output_is EXPECTED CMD...: whether CMD prints EXPECTED (for wait_for:
# the command runs again each time).
output_is()
{
	local expected=$1

	shift
	[ "$("$@")" = "$expected" ]
}

# output_ge N CMD...: whether CMD prints a number >= N.
output_ge()
{
	local n=$1 v

	shift
	v=$("$@")
	[ -n "$v" ] && [ "$v" -ge "$n" ]
}

# role_limit NAME: the connection limit of role NAME.
role_limit()
{
	psql_q "SELECT rolconnlimit FROM pg_roles WHERE rolname = '$1'"
}

# role_count NAME: 1 when role NAME exists.
role_count()
{
	psql_q "SELECT count(*) FROM pg_roles WHERE rolname = '$1'"
}

# proc_gone PID: whether process PID has exited (a zombie waiting for
# its parent counts as gone).
proc_gone()
{
	local state

	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
	[ -z "$state" ] || [ "$state" = Z ]
}

# now_ms: milliseconds since the epoch.
now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# daemon_start NAME CONFIG [ARG...]: start `dbops daemon` with its log in
# $T_TMP/NAME.log; DAEMON_PID and DAEMON_PORT (its HTTP port) are set.
# It is stopped (SIGKILL if it will not stop) when the scenario ends.
daemon_start()
{
	local name=$1 config=$2 log=$T_TMP/$1.log

	shift 2
	: >"$log"
	"$DBOPS" daemon --config "$config" "$@" >>"$log" 2>&1 &
	DAEMON_PID=$!
	on_exit "kill -TERM $DAEMON_PID 2>/dev/null; sleep 0.5; kill -KILL $DAEMON_PID 2>/dev/null; wait $DAEMON_PID 2>/dev/null"
	if ! wait_for 10 grep -q 'listening on http' "$log"; then
		DAEMON_PORT=
		diag "$(cat "$log")"
		return 1
	fi
	DAEMON_PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" | head -n 1)
}

# status_of DB CLUSTER COLUMN: a column of the daemon's status row.
status_of()
{
	psql_q "SELECT $3 FROM dbops.daemon_status WHERE cluster = '$2'" -d "$1" 2>/dev/null
}

# passes_of DB: how many passes the cluster's database recorded.
passes_of()
{
	psql_q "SELECT count(*) FROM dbops.daemon_passes WHERE finished_at IS NOT NULL" -d "$1" 2>/dev/null || echo 0
}

# hook PORT SECRET EVENT BODY [forge]: POST BODY to /hooks/git as GitHub
# (X-Hub-Signature-256 made with SECRET; forge "gitlab": X-Gitlab-Token);
# prints the HTTP status, then the body.
hook()
{
	"$PY" - "$@" <<'PY'
import hashlib, hmac, signal, sys, urllib.request, urllib.error
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
port, secret, event, body = sys.argv[1:5]
forge = sys.argv[5] if len(sys.argv) > 5 else "github"
headers = {"Content-Type": "application/json"}
if forge == "github":
    headers["X-GitHub-Event"] = event
    headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(
        secret.encode(), body.encode(), hashlib.sha256).hexdigest()
else:
    headers["X-Gitlab-Event"] = event
    headers["X-Gitlab-Token"] = secret
req = urllib.request.Request("http://127.0.0.1:%s/hooks/git" % port,
                             data=body.encode(), headers=headers, method="POST")
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status)
        print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
    print(e.read().decode())
PY
}

# http_get PORT PATH: the HTTP status, then the body.
http_get()
{
	"$PY" - "$1" "$2" <<'PY'
import signal, sys, urllib.request, urllib.error
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
try:
    with urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=10) as r:
        print(r.status)
        print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
    print(e.read().decode())
PY
}

# start_fixture NAME SCRIPT ARG...: run tests/fixtures/SCRIPT with a port
# file first; FIXTURE_PORT is set once it listens. Killed on exit.
start_fixture()
{
	local name=$1 script=$2 pid

	shift 2
	"$PY" "$DBOPS_SRCDIR/tests/fixtures/$script" "$T_TMP/$name.port" "$@" &
	pid=$!
	on_exit "kill $pid 2>/dev/null"
	wait_for 10 test -s "$T_TMP/$name.port" || return 1
	FIXTURE_PORT=$(cat "$T_TMP/$name.port")
}

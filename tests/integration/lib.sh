# SPDX-License-Identifier: PostgreSQL
# shellcheck shell=bash disable=SC2034
#
# lib.sh — helpers sourced by the integration scenarios (tests/integration/
# t_*.sh). A scenario prints one TAP-like line per check, "ok - what" or
# "not ok - what", with detail as "# " comment lines; tests/run counts them.
# The scenario exits 1 when any check failed (an EXIT trap does it, so use
# on_exit rather than trap for clean-up).
#
# tests/run provides the environment: DBOPS (the binary), DBOPS_SRCDIR,
# SANDBOX_DIR and PGHOST/PGPORT/PGUSER/PGDATABASE of the shared sandbox, and
# T_TMP, a scratch directory for this scenario only. To run one scenario by
# hand against a sandbox of your own:
#
#	eval "$(contrib/sandbox up /tmp/pg)"
#	bash tests/integration/t_sandbox.sh
#
# The shared server is used by every scenario: create your own databases
# (new_db) and roles, and put back any server setting you change.
#
# Works as root (the server runs as the "postgres" OS user; run_as_pg runs a
# command as that user) and as a normal user (everything runs as you).
#
# Do not use `set -e` in a scenario: a failed check returns 1 (so that
# `check ... || exit` can stop early) and should not end the scenario.

T_PASSED=0
T_FAILED=0
T_OUT=
T_RC=0
T_REV=
T_CLEANUPS=()

DBOPS_SRCDIR=${DBOPS_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}
DBOPS=${DBOPS:-$DBOPS_SRCDIR/build/dbops}
SANDBOX_DIR=${SANDBOX_DIR:-${DBOPS_SANDBOX:-}}
export DBOPS_SRCDIR DBOPS SANDBOX_DIR

if [ -z "$SANDBOX_DIR" ] || [ -z "${PGPORT:-}" ]; then
	echo "lib.sh: error: no sandbox; run this scenario through tests/run, or source the env of contrib/sandbox first" >&2
	exit 2
fi

if [ -z "${T_TMP:-}" ]; then
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dbops-t.XXXXXX")
	chmod 0755 "$T_TMP"
	T_CLEANUPS+=("rm -rf '$T_TMP'")
fi
export T_TMP

# on_exit CMD: run the shell command CMD when the scenario ends (last
# registered runs first).
on_exit()
{
	T_CLEANUPS=("$1" "${T_CLEANUPS[@]}")
}

t__exit()
{
	local rc=$? c

	for c in "${T_CLEANUPS[@]}"; do
		eval "$c" || true
	done
	if [ "$T_FAILED" -gt 0 ]; then
		echo "# $(basename "$0"): $T_PASSED passed, $T_FAILED failed"
		exit 1
	fi
	exit "$rc"
}
trap t__exit EXIT

# diag TEXT: print TEXT as comment lines.
diag()
{
	[ -n "$*" ] || return 0
	printf '%s\n' "$*" | sed 's/^/# /'
}

ok()
{
	T_PASSED=$((T_PASSED + 1))
	echo "ok - $*"
}

not_ok()
{
	T_FAILED=$((T_FAILED + 1))
	echo "not ok - $*"
}

# t__run CMD...: run CMD with stdout and stderr in T_OUT, status in T_RC.
t__run()
{
	if T_OUT=$("$@" 2>&1); then
		T_RC=0
	else
		T_RC=$?
	fi
}

# check DESC CMD...: ok when CMD succeeds. The output is left in T_OUT.
check()
{
	local desc=$1

	shift
	t__run "$@"
	if [ "$T_RC" -eq 0 ]; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	diag "command: $*"
	diag "exit status $T_RC; output:"
	diag "$T_OUT"
	return 1
}

# check_exit DESC CODE CMD...: ok when CMD exits with status CODE.
check_exit()
{
	local desc=$1 code=$2

	shift 2
	t__run "$@"
	if [ "$T_RC" -eq "$code" ]; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	diag "command: $*"
	diag "exit status $T_RC, expected $code; output:"
	diag "$T_OUT"
	return 1
}

# check_eq DESC ACTUAL EXPECTED: ok when equal; a unified diff otherwise.
check_eq()
{
	local desc=$1 actual=$2 expected=$3

	if [ "$actual" == "$expected" ]; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	diff -u --label expected --label actual \
		<(printf '%s\n' "$expected") <(printf '%s\n' "$actual") |
		sed 's/^/# /'
	return 1
}

# check_contains DESC HAYSTACK NEEDLE: ok when NEEDLE occurs in HAYSTACK.
check_contains()
{
	local desc=$1 hay=$2 needle=$3

	if [[ $hay == *"$needle"* ]]; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	diag "expected to find: $needle"
	diag "in:"
	diag "$hay"
	return 1
}

# check_not_contains DESC HAYSTACK NEEDLE: ok when NEEDLE does not occur.
check_not_contains()
{
	local desc=$1 hay=$2 needle=$3

	if [[ $hay != *"$needle"* ]]; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	diag "expected not to find: $needle"
	diag "in:"
	diag "$hay"
	return 1
}

# psql_q SQL [PSQL-OPTION...]: run SQL on the sandbox (default database
# $PGDATABASE; pass -d NAME for another), unaligned, tuples only, stopping
# at the first error. Prints the rows; the status is psql's.
psql_q()
{
	local sql=$1

	shift
	psql -X -A -t -q -v ON_ERROR_STOP=1 "$@" -c "$sql"
}

# psql_file FILE [PSQL-OPTION...]: run a SQL file the same way.
psql_file()
{
	local file=$1

	shift
	psql -X -A -t -q -v ON_ERROR_STOP=1 "$@" -f "$file"
}

# missing_rows FILE [PSQL-OPTION...]: how many of the ids in the first
# column of FILE (the rows a writer saw acknowledged) table w lacks. The
# ids go through COPY on stdin: tens of thousands of them are more than a
# command line takes.
missing_rows()
{
	local file=$1

	shift
	{
		echo "CREATE TEMP TABLE acked (i int);"
		echo "COPY acked FROM STDIN;"
		cut -d' ' -f1 "$file"
		echo '\.'
		echo "SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM w WHERE w.i = a.i);"
	} | psql -X -A -t -q -v ON_ERROR_STOP=1 "$@"
}

# quote_ident NAME: NAME as an SQL identifier.
quote_ident()
{
	printf '"%s"' "${1//\"/\"\"}"
}

# new_db NAME: (re)create an empty database NAME on the sandbox.
new_db()
{
	local q

	q=$(quote_ident "$1")
	psql_q "DROP DATABASE IF EXISTS $q WITH (FORCE)" -d postgres &&
		psql_q "CREATE DATABASE $q" -d postgres
}

# run_as_pg CMD...: run CMD as the OS user that owns the sandbox's servers
# ("postgres" when we are root, ourselves otherwise).
run_as_pg()
{
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# sandbox_restart [NAME]: restart the shared primary (or service NAME) and
# wait until it accepts connections, for settings that need a restart.
sandbox_restart()
{
	"$DBOPS_SRCDIR/contrib/sandbox" restart "$SANDBOX_DIR" "${1:-primary}"
}

# t__git DIR ARGS...: git in DIR with a fixed identity and configuration,
# independent of the user's git set-up.
t__git()
{
	local dir=$1

	shift
	GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
		GIT_AUTHOR_NAME="dbops tests" GIT_AUTHOR_EMAIL=tests@dbops.invalid \
		GIT_COMMITTER_NAME="dbops tests" \
		GIT_COMMITTER_EMAIL=tests@dbops.invalid \
		git -C "$dir" -c init.defaultBranch=main -c commit.gpgsign=false \
		-c core.autocrlf=false "$@"
}

# commit_all DIR MSG: commit every file of the repository in DIR. Dates are
# fixed (one minute apart per commit), so the same files and messages give
# the same commit ids on every run. The new commit id is left in T_REV.
commit_all()
{
	local dir=$1 msg=$2 n when

	n=$(t__git "$dir" rev-list --count HEAD 2>/dev/null || echo 0)
	when="$((1704067200 + n * 60)) +0000"
	t__git "$dir" add -A || return 1
	GIT_AUTHOR_DATE=$when GIT_COMMITTER_DATE=$when \
		t__git "$dir" commit -q --allow-empty -m "$msg" || return 1
	T_REV=$(t__git "$dir" rev-parse HEAD)
}

# make_repo DIR [SRC_SPEC_DIR]: a new git repository in DIR on branch "main",
# holding a copy of SRC_SPEC_DIR's files in one commit (id in T_REV).
make_repo()
{
	local dir=$1 src=${2:-}

	mkdir -p "$dir" || return 1
	if [ -n "$src" ]; then
		cp -R "$src/." "$dir/" || return 1
	fi
	t__git "$dir" init -q -b main || return 1
	commit_all "$dir" "initial spec"
}

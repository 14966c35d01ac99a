#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# t_sandbox.sh — the sandbox the other scenarios stand on: the shared server
# answers on loopback only, with the settings contrib/sandbox writes, as a
# non-root OS user, with a PgBouncer in front of it; and a second sandbox
# (with its own PgBouncer) can be brought up, stopped (keeping its files),
# started again on the same ports, and destroyed.

set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox=$DBOPS_SRCDIR/contrib/sandbox

# ---- the shared sandbox ------------------------------------------------------

check_eq "server answers on 127.0.0.1:$PGPORT" \
	"$(psql_q "SELECT inet_server_addr() || ':' || inet_server_port()")" \
	"127.0.0.1/32:$PGPORT"
check_eq "server is PostgreSQL 15" \
	"$(psql_q "SELECT current_setting('server_version_num')::int / 10000")" \
	15
check_eq "listens on loopback only" \
	"$(psql_q "SHOW listen_addresses")" "127.0.0.1"
check_eq "Unix sockets live in the sandbox directory" \
	"$(psql_q "SHOW unix_socket_directories")" "$SANDBOX_DIR"
# Other scenarios may override settings with ALTER SYSTEM; what the sandbox
# itself wrote is in postgresql.conf.
check_eq "postgresql.conf sets shared_buffers = 32MB, fsync off, 50 connections" \
	"$(psql_q "SELECT name || '=' || setting FROM pg_file_settings
		WHERE sourcefile LIKE '%/postgresql.conf' AND applied
		AND name IN ('shared_buffers', 'fsync', 'max_connections',
			'listen_addresses')
		ORDER BY name")" \
	"fsync=off
listen_addresses=127.0.0.1
max_connections=50
shared_buffers=32MB"
if [ "$(psql_q "SELECT count(*) FROM pg_file_settings
		WHERE name = 'shared_buffers' AND applied
		AND sourcefile LIKE '%/postgresql.auto.conf'")" = 0 ]; then
	check_eq "shared_buffers is 32MB" \
		"$(psql_q "SHOW shared_buffers")" "32MB"
fi
check_eq "synchronous_commit keeps its default" \
	"$(psql_q "SELECT source FROM pg_settings WHERE name = 'synchronous_commit'")" \
	"default"
check_eq "superuser postgres connects without a password" \
	"$(psql_q "SELECT current_user || ' ' || rolsuper FROM pg_roles WHERE rolname = current_user")" \
	"postgres true"

datadir=$(psql_q "SELECT current_setting('data_directory')")
pid=$(head -n 1 "$datadir/postmaster.pid")
check_contains "postmaster.pid names a postgres process" \
	"$(ps -o args= -p "$pid" 2>&1)" "postgres"
owner=$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ')
if [ "$(id -u)" -eq 0 ]; then
	check_eq "server runs as the postgres OS user" "$owner" postgres
	check_eq "data directory belongs to postgres" \
		"$(stat -c %U "$datadir")" postgres
	check_eq "sandbox directory belongs to postgres" \
		"$(stat -c %U "$SANDBOX_DIR")" postgres
else
	check_eq "server runs as the invoking OS user" "$owner" "$(id -un)"
fi
check_eq "data directory is inside the sandbox" "$datadir" \
	"$SANDBOX_DIR/primary"
check "env file sets PGPORT=$PGPORT" \
	grep -q "PGPORT=$PGPORT " "$SANDBOX_DIR/env"
check "sandbox status reports the primary running" \
	"$sandbox" status "$SANDBOX_DIR"
check_contains "status names the port" "$T_OUT" "127.0.0.1:$PGPORT"

# ---- the shared sandbox's PgBouncer ----------------------------------------

check "env file names the pooler" \
	grep -q "PGBOUNCER_PORT=[0-9]" "$SANDBOX_DIR/env"
bport=$(sed -n 's/.*PGBOUNCER_PORT=\([0-9]*\).*/\1/p' "$SANDBOX_DIR/env")
badmin="host=127.0.0.1 port=$bport dbname=pgbouncer user=postgres"
check_eq "PgBouncer 1.18 answers on its admin console" \
	"$(psql -X -A -t "$badmin" -c "SHOW VERSION" 2>&1)" "PgBouncer 1.18.0"
check_eq "PgBouncer listens on loopback only" \
	"$(psql -X -A -t "$badmin" -c "SHOW CONFIG" 2>&1 | awk -F'|' '$1 == "listen_addr" { print $2 }')" \
	"127.0.0.1"
check_eq "postgres is an admin user (RELOAD is allowed)" \
	"$(psql -X -A -t "$badmin" -c "RELOAD" 2>&1)" "RELOAD"
check_eq "clients reach the primary through PgBouncer" \
	"$(psql_q "SELECT inet_server_port()" -h 127.0.0.1 -p "$bport" -d postgres 2>&1)" \
	"$PGPORT"
check "its files live in the sandbox" \
	test -f "$SANDBOX_DIR/pgbouncer/pgbouncer.ini" -a \
	-f "$SANDBOX_DIR/pgbouncer/userlist.txt" -a \
	-f "$SANDBOX_DIR/pgbouncer/pgbouncer.pid"
bpid=$(head -n 1 "$SANDBOX_DIR/pgbouncer/pgbouncer.pid")
if [ "$(id -u)" -eq 0 ]; then
	check_eq "PgBouncer runs as the postgres OS user" \
		"$(ps -o user= -p "$bpid" 2>/dev/null | tr -d ' ')" postgres
fi
check "sandbox status reports the pooler running" \
	"$sandbox" status "$SANDBOX_DIR"
check_contains "status names the pooler's port" "$T_OUT" \
	"pgbouncer: running (pid $bpid) on 127.0.0.1:$bport"

# ---- a second sandbox --------------------------------------------------------

dir2=$T_TMP/second
on_exit "'$sandbox' destroy '$dir2' >/dev/null 2>&1"

check "second sandbox comes up" "$sandbox" up "$dir2"
env2=$T_OUT
check_contains "up prints the environment" "$env2" "PGHOST=127.0.0.1"
port2=$(sed -n 's/.*PGPORT=\([0-9]*\).*/\1/p' "$dir2/env")
check "second sandbox has a port" test -n "$port2"
if [ "$port2" = "$PGPORT" ]; then
	not_ok "second sandbox uses another port than the first"
else
	ok "second sandbox uses another port than the first"
fi
check_eq "second sandbox answers on its port" \
	"$(psql_q "SELECT inet_server_port()" -p "$port2" 2>&1)" "$port2"
check_eq "the first sandbox is untouched" \
	"$(psql_q "SELECT inet_server_port()")" "$PGPORT"
check "up on a running sandbox succeeds" "$sandbox" up "$dir2"
check_eq "and keeps its port" \
	"$(sed -n 's/.*PGPORT=\([0-9]*\).*/\1/p' "$dir2/env")" "$port2"

bport2=$(sed -n 's/.*PGBOUNCER_PORT=\([0-9]*\).*/\1/p' "$dir2/env")
if [ -n "$bport2" ] && [ "$bport2" != "$bport" ]; then
	ok "second sandbox has its own pooler port ($bport2)"
else
	not_ok "second sandbox has its own pooler port (${bport2:-none})"
fi
check_eq "its PgBouncer is in front of its primary" \
	"$(psql_q "SELECT inet_server_port()" -h 127.0.0.1 -p "$bport2" -d postgres 2>&1)" \
	"$port2"
check "down stops it" "$sandbox" down "$dir2"
check_exit "its PgBouncer no longer answers" 2 \
	psql_q "SELECT 1" -h 127.0.0.1 -p "$bport2" -d postgres
check_exit "server no longer answers" 2 \
	psql_q "SELECT 1" -p "$port2"
check_exit "status exits 3 when stopped" 3 "$sandbox" status "$dir2"
check_contains "status says stopped" "$T_OUT" "primary: stopped"
check "down leaves the data directory in place" \
	test -f "$dir2/primary/PG_VERSION"
check "down leaves the log in place" test -s "$dir2/primary.log"
check "down when already stopped succeeds" "$sandbox" down "$dir2"

check "up starts a stopped sandbox again" "$sandbox" up "$dir2"
check_eq "on the same port" \
	"$(psql_q "SELECT inet_server_port()" -p "$port2" 2>&1)" "$port2"
check_exit "up --port with another port is refused" 1 \
	"$sandbox" up "$dir2" --port $((port2 + 100))
check_contains "with a clear message" "$T_OUT" \
	"sandbox: error: sandbox \"$dir2\" already uses port $port2"

check_eq "its PgBouncer is back on the same port" \
	"$(psql_q "SELECT inet_server_port()" -h 127.0.0.1 -p "$bport2" -d postgres 2>&1)" \
	"$port2"
check "restart of the second sandbox works" "$sandbox" restart "$dir2"
check "restart of its PgBouncer works" "$sandbox" restart "$dir2" pgbouncer
check_eq "PgBouncer answers after its restart" \
	"$(psql_q "SELECT inet_server_port()" -h 127.0.0.1 -p "$bport2" -d postgres 2>&1)" \
	"$port2"
check_eq "it answers after restart" \
	"$(psql_q "SELECT inet_server_port()" -p "$port2" 2>&1)" "$port2"

check "destroy stops and removes it" "$sandbox" destroy "$dir2"
check "directory is gone" test ! -e "$dir2"
check_exit "nothing answers on its port" 2 psql_q "SELECT 1" -p "$port2"
check_exit "nor on its pooler's port" 2 \
	psql_q "SELECT 1" -h 127.0.0.1 -p "$bport2" -d postgres

# ---- usage errors ------------------------------------------------------------

check_exit "unknown command is an error" 1 "$sandbox" frobnicate "$T_TMP/x"
check_contains "named in the message" "$T_OUT" \
	'sandbox: error: unknown command "frobnicate"'
check_exit "missing directory is an error" 1 "$sandbox" up
check_exit "down of a directory that is not a sandbox is an error" 1 \
	"$sandbox" down "$T_TMP"
check_contains "saying so" "$T_OUT" "is not a sandbox"
mkdir -p "$T_TMP/precious" && echo keep >"$T_TMP/precious/file"
check_exit "destroy refuses a directory that is not a sandbox" 1 \
	"$sandbox" destroy "$T_TMP/precious"
check "and leaves it alone" test -f "$T_TMP/precious/file"
check_exit "a port in use is refused" 1 \
	"$sandbox" up "$T_TMP/third" --port "$PGPORT"
check_contains "saying so" "$T_OUT" "port $PGPORT is already in use"
if [ "$(id -u)" -eq 0 ]; then
	check_exit "as root, a directory postgres cannot reach is refused" 1 \
		"$sandbox" up /root/dbops-sandbox-test
	check_contains "with a hint" "$T_OUT" "sandbox: hint:"
	check "and nothing is created there" test ! -e /root/dbops-sandbox-test
fi
check "--help prints usage" "$sandbox" --help
check_contains "usage names the commands" "$T_OUT" "up DIR [--port N]"

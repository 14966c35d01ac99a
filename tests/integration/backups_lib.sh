# SPDX-License-Identifier: PostgreSQL
# shellcheck shell=bash disable=SC2034
#
# backups_lib.sh — helpers of the backups scenarios (t_backups*.sh), sourced
# after lib.sh. Backups need archive_mode = on, which takes a restart, so
# each scenario starts a PostgreSQL of its own in $T_TMP (contrib/sandbox,
# loopback only) instead of restarting the shared one, and points the PG*
# variables at it; everything it starts is stopped on exit.
#
# The server runs `dbops wal-push` as the postgres OS user: the binary and
# the backups plugin are copied into $T_TMP/bin, which that user can reach
# wherever the source tree lives.

PG_BINDIR=/usr/lib/postgresql/15/bin
[ -x "$PG_BINDIR/pg_ctl" ] || PG_BINDIR=$(pg_config --bindir)

bk_port_free()
{
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# bk_free_port FROM: the first port from FROM upward nothing listens on
bk_free_port()
{
	local p=$1

	while ! bk_port_free "$p"; do
		p=$((p + 1))
	done
	echo "$p"
}

bk_pg_ctl()
{
	run_as_pg "$PG_BINDIR/pg_ctl" "$@"
}

# bk_setup: the private server, the copied binary, the repository dir.
bk_setup()
{
	BK_BIN=$T_TMP/bin
	mkdir -p "$BK_BIN/plugins" "$T_TMP/repo" "$T_TMP/spec"
	cp "$DBOPS" "$BK_BIN/dbops"
	cp "$(dirname "$DBOPS")/plugins/dbops_backups.so" "$BK_BIN/plugins/"
	chmod -R a+rX "$BK_BIN"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$T_TMP/repo"
	fi
	BK_PG=$T_TMP/pg
	on_exit "bk_teardown"
	if ! "$DBOPS_SRCDIR/contrib/sandbox" up "$BK_PG" >"$T_TMP/sandbox.out" 2>&1; then
		not_ok "start a private server for the backups"
		diag "$(cat "$T_TMP/sandbox.out")"
		exit 1
	fi
	# shellcheck disable=SC1091
	. "$BK_PG/env"
	unset PGBOUNCER_PORT PGBOUNCER_INI PGBOUNCER_ADMIN
}

# Stop the restored servers and the private one.
bk_teardown()
{
	local pid

	for pid in "$T_TMP"/r_*/postmaster.pid "$T_TMP"/drill/*/postmaster.pid; do
		[ -f "$pid" ] && bk_pg_ctl stop -D "$(dirname "$pid")" -m immediate \
			>/dev/null 2>&1
	done
	"$DBOPS_SRCDIR/contrib/sandbox" down "$BK_PG" >/dev/null 2>&1
}

bk_restart()
{
	"$DBOPS_SRCDIR/contrib/sandbox" restart "$BK_PG" >/dev/null 2>&1
}

# bk_wait_archived: switch to a new WAL segment and wait (at most 60s)
# until the server has archived the one it left.
bk_wait_archived()
{
	local seg i

	seg=$(psql_q "SELECT pg_walfile_name(pg_switch_wal())") || return 1
	for i in $(seq 1 600); do
		[ "$(psql_q "SELECT coalesce(last_archived_wal >= '$seg', false) FROM pg_stat_archiver")" = t ] &&
			return 0
		sleep 0.1
	done
	diag "segment $seg was not archived: $(psql_q 'SELECT * FROM pg_stat_archiver')"
	return 1
}

# bk_restore NAME TARGET [OPTION...]: dbops restore into $T_TMP/r_NAME on
# a free port (left in RPORT, the directory in RDIR); output in T_OUT.
bk_restore()
{
	local name=$1 target=$2

	shift 2
	RDIR=$T_TMP/r_$name
	RPORT=$(bk_free_port 27700)
	t__run "$DBOPS" restore --to "$target" --data-dir "$RDIR" \
		--port "$RPORT" --dir "$T_TMP/spec" --no-color --auto-approve "$@"
}

# bk_restored_sql SQL: run SQL on the server bk_restore started.
bk_restored_sql()
{
	psql_q "$1" -p "$RPORT"
}

bk_stop_restored()
{
	bk_pg_ctl stop -D "$RDIR" -m immediate >/dev/null 2>&1
	rm -rf "$RDIR" "$RDIR.log"
}

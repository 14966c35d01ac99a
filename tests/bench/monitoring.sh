#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# monitoring.sh — the cost of a monitoring pass, run by hand (not part of
# make check), on a sandbox cluster of its own: a database of 10,000
# tables (each with a primary key) and 5,000 statements tracked by
# pg_stat_statements.
#
#  1. Observe cost: `dbops status` of a spec holding only the monitoring
#     section, against its floor, the real psql binary (pg_config
#     --bindir, not Debian's Perl wrapper on PATH) running in one
#     invocation the very statements that pass sent — recorded with
#     DBOPS_MONITORING_TRACE, which writes them in psql's syntax,
#     \connect included. Timed with hyperfine, the two commands
#     alternated (one run of each per hyperfine call), first for passes
#     that only read (the snapshot not due), then for passes that also
#     write a snapshot (snapshots.interval 0s; psql writes the same rows).
#  2. CPU share at a 10 s interval: the CPU time of 20 reading passes,
#     client (time(1) around the loop) and server (the postmaster's
#     cutime + cstime, which gain each backend's CPU when it exits;
#     autovacuum, whose workers would count too, is off meanwhile), per
#     pass, over 10 s.
# Prints the figures; asserts nothing.
#
#   tests/bench/monitoring.sh [--tables N] [--statements N] [--runs N]

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
ntables=10000
nstatements=5000
runs=15
while [ $# -gt 0 ]; do
	case $1 in
	--tables) ntables=$2; shift 2 ;;
	--statements) nstatements=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: $0 [--tables N] [--statements N] [--runs N]" >&2; exit 2 ;;
	esac
done
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (contrib/install-deps.sh)" >&2; exit 1; }
[ "$nstatements" -le "$ntables" ] || { echo "bench: --statements cannot exceed --tables" >&2; exit 2; }
PSQL=$(pg_config --bindir)/psql
[ -x "$PSQL" ] || { echo "bench: no psql in $(pg_config --bindir)" >&2; exit 1; }
DBOPS=$src/build/dbops

work=$(mktemp -d /tmp/dbops-bench-mon.XXXXXX)
chmod 0755 "$work"
cleanup()
{
	"$src/contrib/sandbox" destroy "$work/sandbox" >/dev/null 2>&1 || true
	rm -rf "$work"
}
[ -n "${BENCH_KEEP:-}" ] || trap cleanup EXIT

eval "$("$src/contrib/sandbox" up "$work/sandbox" 2>/dev/null)"
export PGOPTIONS='-c client_min_messages=warning'
# room for every statement of the workload and dbops' own
"$PSQL" -X -q -d postgres -c "ALTER SYSTEM SET pg_stat_statements.max = $((nstatements * 2))"
"$src/contrib/sandbox" restart "$work/sandbox" >/dev/null 2>&1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@dbops.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@dbops.invalid

echo "bench: $ntables tables, $nstatements tracked statements" >&2
"$PSQL" -X -q -d postgres -c "CREATE DATABASE bench"
# the set-up's own statements are not what is measured
export PGOPTIONS="$PGOPTIONS -c pg_stat_statements.track=none"
awk -v n="$ntables" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "CREATE TABLE t%05d (id int PRIMARY KEY, v int);\n", i
	print "INSERT INTO t00000 SELECT g, g FROM generate_series(1, 10000) g;"
	print "ANALYZE;"
}' | "$PSQL" -X -q -d bench >/dev/null
"$PSQL" -X -q -d bench -c "CREATE EXTENSION pg_stat_statements"
export PGOPTIONS='-c client_min_messages=warning'
# one distinct statement per table: 5,000 queryids
awk -v n="$nstatements" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "SELECT v FROM t%05d WHERE id = %d;\n", i, i
}' | "$PSQL" -X -q -d bench >/dev/null

repo=$work/repo
mkdir -p "$repo"
cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: bench
monitoring:
  databases: [bench]
  statements: {}
YAML
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" commit -q -m bench
# dbops connects to the monitored database itself, as it usually would:
# observe reads it in the pass's own snapshot, status over a connection
# of its own
export PGDATABASE=bench
"$DBOPS" apply --repo "$repo" --auto-approve --no-color >/dev/null
"$DBOPS" status --repo "$repo" >/dev/null 2>&1 || true # the baseline snapshot
"$DBOPS" plan --repo "$repo" --detailed-exitcode >/dev/null ||
	{ echo "bench: the plan is not empty after apply" >&2; exit 1; }
tracked=$("$PSQL" -X -A -t -d bench -c "SELECT count(*) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')")
echo "bench: pg_stat_statements tracks $tracked statements of the database" >&2

# hyperfine NAME-A CMD-A NAME-B CMD-B: `runs` calls of hyperfine, each
# running A once then B once, so that the two alternate; the mean of
# each, in seconds, on one line.
alternate()
{
	local i out="$work/alt.csv"

	: >"$out"
	for i in $(seq 1 "$runs"); do
		hyperfine --style none --runs 1 --export-csv "$work/one.csv" \
			-n "$1" "$2" -n "$3" "$4" >/dev/null
		tail -n 2 "$work/one.csv" >>"$out"
	done
	awk -F, -v a="$1" -v b="$3" '
	$1 == a { ta += $2; ua += $5; sa += $6; na++ }
	$1 == b { tb += $2; ub += $5; sb += $6; nb++ }
	END { printf "%.6f %.6f %.6f %.6f %.6f %.6f\n",
		ta / na, tb / nb, ua / na, sa / na, ub / nb, sb / nb }' "$out"
}

# ---- 1a: reading passes (the snapshot is not due) ----------------------------
rm -f "$work/read.sql"
DBOPS_MONITORING_TRACE=$work/read.sql "$DBOPS" status --repo "$repo" >/dev/null 2>&1 || true
grep -q 'pg_stat_statements(false)' "$work/read.sql" ||
	{ echo "bench: the trace holds no statement" >&2; exit 1; }
# psql starts connected to the database, as dbops' own connection is
sed -i '1{/^\\connect /d}' "$work/read.sql"
read -r t_dbops t_psql u_dbops s_dbops _ _ < <(alternate \
	"dbops status" "$DBOPS status --repo $repo --no-color >/dev/null 2>&1 || true" \
	"psql (same statements)" "$PSQL -X -q -d bench -f $work/read.sql >/dev/null")

# ---- 1b: passes that write a snapshot -----------------------------------------
sed -i 's/  statements: {}/  statements: {}\n  snapshots: {interval: 0s}/' "$repo/cluster.yaml"
git -C "$repo" commit -q -am "a snapshot every pass"
rm -f "$work/write.sql"
DBOPS_MONITORING_TRACE=$work/write.sql "$DBOPS" status --repo "$repo" >/dev/null 2>&1 || true
grep -q 'INSERT INTO dbops.monitoring_statements' "$work/write.sql" ||
	{ echo "bench: the trace wrote no snapshot" >&2; exit 1; }
sed -i '1{/^\\connect /d}' "$work/write.sql"
read -r w_dbops w_psql _ _ _ _ < <(alternate \
	"dbops status" "$DBOPS status --repo $repo --no-color >/dev/null 2>&1 || true" \
	"psql (same statements)" "$PSQL -X -q -d bench -f $work/write.sql >/dev/null")
git -C "$repo" revert --no-edit HEAD >/dev/null

# ---- 2: CPU per reading pass --------------------------------------------------
# autovacuum workers are children of the postmaster too, and busy on
# 10,000 tables: off while measuring, so that only the passes count
"$PSQL" -X -q -d postgres -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
sleep 2
pm=$(head -n 1 "$work/sandbox/primary/postmaster.pid")
children() { awk '{ print $16 + $17 }' "/proc/$pm/stat"; } # cutime + cstime, ticks
hz=$(getconf CLK_TCK)
passes=20
c0=$(children)
/usr/bin/time -f '%U %S' -o "$work/time" bash -c \
	"for i in \$(seq 1 $passes); do $DBOPS status --repo $repo >/dev/null 2>&1 || true; done"
c1=$(children)
read -r cu cs <"$work/time"

awk -v td="$t_dbops" -v tp="$t_psql" -v wd="$w_dbops" -v wp="$w_psql" \
	-v ud="$u_dbops" -v sd="$s_dbops" -v cu="$cu" -v cs="$cs" \
	-v srv=$((c1 - c0)) -v hz="$hz" -v n="$passes" -v nt="$ntables" \
	-v ns="$tracked" 'BEGIN {
	client = (cu + cs) / n
	server = srv / hz / n
	printf "\nmonitoring pass, %d tables, %d tracked statements (means of alternated runs):\n", nt, ns
	printf "  reading pass:   dbops status %7.1f ms, psql %7.1f ms: %.2fx (target <= 2x)\n", td * 1000, tp * 1000, td / tp
	printf "  with snapshot:  dbops status %7.1f ms, psql %7.1f ms: %.2fx\n", wd * 1000, wp * 1000, wd / wp
	printf "  dbops process:  %.1f ms user, %.1f ms system per pass (hyperfine)\n", ud * 1000, sd * 1000
	printf "  CPU per reading pass: client %.1f ms, server %.1f ms (%d passes)\n", client * 1000, server * 1000, n
	printf "  at a 10 s interval: %.2f%% of one core (target < 5%%)\n", (client + server) / 10 * 100
}'

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# backups.sh — by hand, not part of `make check`: dbops' backups beside
# pgBackRest 2.45 (Debian's package, installed here when missing) and the
# floor, on a sandbox of its own with a ~1 GB database (pgbench -i -s 70),
# RUNS rounds alternating the tools, medians reported with their ratios:
#
#   - full backup, lz4, POSIX repository: the read floor (tar of the data
#     directory into a pipe, without pg_wal, which no backup copies: after
#     pgbench -i it holds as much again), dbops (BASE_BACKUP with
#     server-side lz4), pgBackRest (process-max 2);
#   - incremental backups after ~1% change: a new 10 MB table (new files),
#     then 2000 pgbench transactions (updates all over a 1 GB file);
#   - restore + promote: copying a plain base backup and starting it (the
#     floor), dbops restore, pgBackRest restore and start;
#   - wal-push of a real 16 MB segment with lz4 (hyperfine), and dbops'
#     sustained rate pushing segments one after another on one core;
#   - a dbops full backup to S3 (s3rver over https on loopback) against
#     the same to POSIX.
#
#	tests/bench/backups.sh [DIR]      (default: a new directory in /tmp)
#
# Environment: RUNS (default 3), SCALE (default 70).

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
dbops=$src/build/dbops
# the real psql binary, not Debian's Perl wrapper (40 ms a start): the
# restores are timed until a psql poll sees them promoted
. "$src/tests/bench/lib.sh"
bench_find_psql || exit 1
runs=${RUNS:-3}
scale=${SCALE:-70}
dir=${1:-$(mktemp -d /tmp/dbops-bench-bak.XXXXXX)}
mkdir -p "$dir"
chmod 0755 "$dir"
bindir=/usr/lib/postgresql/15/bin
[ -x "$bindir/pg_basebackup" ] || bindir=$(pg_config --bindir)
s3rver=$src/build/npm/node_modules/.bin/s3rver

if ! command -v pgbackrest >/dev/null 2>&1; then
	echo "# installing pgbackrest (Debian)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends pgbackrest >/dev/null
fi

as_pg()
{
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

pids=()
cleanup()
{
	local d

	for d in "$dir"/work/r_*; do
		[ -f "$d/postmaster.pid" ] &&
			as_pg "$bindir/pg_ctl" stop -D "$d" -m immediate >/dev/null 2>&1
	done
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	"$src/contrib/sandbox" destroy "$dir/sandbox" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { echo "scale=2; $1 / $2" | bc; }

# the server's archive_command names these when it archives to S3 (below)
export DBOPS_SECRET_S3_KEY=S3RVER DBOPS_SECRET_S3_SECRET=S3RVER
eval "$("$src/contrib/sandbox" up "$dir/sandbox")"
sbx=$dir/sandbox
data=$sbx/primary
mkdir -p "$dir/bin/plugins" "$dir/repo" "$dir/pgbr" "$dir/spool"
cp "$dbops" "$dir/bin/dbops"
cp "$src/build/plugins/dbops_backups.so" "$dir/bin/plugins/"
chmod -R a+rX "$dir/bin"
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$dir/repo" "$dir/pgbr" "$dir/spool"
fi

cat >"$dir/pgbackrest.conf" <<EOF
[global]
repo1-path=$dir/pgbr
compress-type=lz4
process-max=2
start-fast=y
log-level-console=warn
log-level-file=off
lock-path=$dir/spool
spool-path=$dir/spool

[bench]
pg1-path=$data
pg1-port=$PGPORT
pg1-socket-path=$sbx
EOF
chmod a+r "$dir/pgbackrest.conf"
pgbr() { as_pg pgbackrest --config="$dir/pgbackrest.conf" --stanza=bench "$@"; }

# Both tools archive every segment: the spec's `dbops:` is a wrapper that
# runs dbops' wal-push, then pgBackRest's archive-push (whose backup
# insists on finding "pgbackrest" in archive_command: hence the name).
wrapper=$dir/bin/dbops-then-pgbackrest
cat >"$wrapper" <<EOF
#!/bin/sh
if [ "\$1" = wal-push ]; then
	for last; do :; done
	"$dir/bin/dbops" "\$@" || exit 1
	exec pgbackrest --config=$dir/pgbackrest.conf --stanza=bench archive-push "\$last"
fi
exec "$dir/bin/dbops" "\$@"
EOF
chmod 0755 "$wrapper"
spec=$dir/spec
mkdir -p "$spec"
cat >"$spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: bench
backups:
  repository: {posix: {path: $dir/repo}}
  compression: lz4
  dbops: $wrapper
YAML
"$dbops" apply --dir "$spec" --auto-approve --no-color >/dev/null
"$src/contrib/sandbox" restart "$sbx" >/dev/null
pgbr stanza-create >/dev/null

echo "# pgbench -i -s $scale on 127.0.0.1:$PGPORT"
pgbench -i -q -s "$scale" postgres >/dev/null 2>&1
"$PSQL" -X -q -c "CHECKPOINT"
echo "# database size: $("$PSQL" -X -A -t -c "SELECT pg_size_pretty(pg_database_size('postgres'))")"

# ---- full backups --------------------------------------------------------------
floor=() dfull=() pfull=()
for i in $(seq 1 "$runs"); do
	t0=$(now)
	tar -cf - --exclude=./pg_wal -C "$data" . 2>/dev/null | cat >/dev/null
	t1=$(now)
	floor+=("$(echo "$t1 - $t0" | bc)")
	t0=$(now)
	"$dbops" backup run --type full --dir "$spec" --auto-approve --no-color >"$dir/full.out" 2>&1 ||
		{ cat "$dir/full.out"; exit 1; }
	t1=$(now)
	dfull+=("$(echo "$t1 - $t0" | bc)")
	t0=$(now)
	pgbr backup --type=full >/dev/null
	t1=$(now)
	pfull+=("$(echo "$t1 - $t0" | bc)")
done
dsize=$(du -sb "$dir/repo/backups" | awk '{ print $1 }')
psize=$(du -sb "$dir/pgbr/backup" | awk '{ print $1 }')
f=$(median "${floor[@]}")
d=$(median "${dfull[@]}")
p=$(median "${pfull[@]}")
echo
echo "full backup (lz4, POSIX), median of $runs:"
printf '  %-34s %7.2fs  1.00x\n' "read floor (tar, without pg_wal)" "$f"
printf '  %-34s %7.2fs  %sx floor\n' "dbops backup run" "$d" "$(ratio "$d" "$f")"
printf '  %-34s %7.2fs  %sx floor; dbops is %sx faster\n' \
	"pgbackrest backup (process-max 2)" "$p" "$(ratio "$p" "$f")" "$(ratio "$p" "$d")"
printf '  repository sizes for %s backups each: dbops %s MiB, pgbackrest %s MiB\n' \
	"$runs" "$((dsize / 1048576))" "$((psize / 1048576))"

# ---- incremental backups after ~1% change ------------------------------------------
# (a) 1% of the data added in new files; (b) 2000 pgbench transactions,
# whose updates fall all over pgbench_accounts' one 1 GB file.
incr_round()
{
	local what=$1 t0 t1 di pi

	t0=$(now)
	"$dbops" backup run --type incremental --dir "$spec" --auto-approve --no-color >"$dir/incr.out" 2>&1 ||
		{ cat "$dir/incr.out"; exit 1; }
	t1=$(now)
	di=$(echo "$t1 - $t0" | bc)
	t0=$(now)
	pgbr backup --type=incr >/dev/null 2>&1
	t1=$(now)
	pi=$(echo "$t1 - $t0" | bc)
	echo "  $what:"
	printf '    %-32s %7.2fs  %sx of its full; %s\n' "dbops backup run --type incremental" "$di" \
		"$(ratio "$di" "$d")" "$(grep -o '[0-9]* of [0-9]* files changed.*' "$dir/incr.out" | sed 's/ since [^,]*//')"
	printf '    %-32s %7.2fs  %sx of its full\n' "pgbackrest backup --type=incr" "$pi" "$(ratio "$pi" "$p")"
}
echo
echo "incremental backups:"
"$PSQL" -X -q -c "CREATE TABLE delta AS SELECT g, md5(g::text) AS t FROM generate_series(1, 150000) g"
incr_round "after a new 10 MB table (1% of the data, new files)"
pgbench -n -t 2000 postgres >/dev/null 2>&1
incr_round "after 2000 pgbench transactions (updates all over a 1 GB file)"

# ---- restore + promote -------------------------------------------------------------
"$PSQL" -X -q -c "SELECT pg_switch_wal()" >/dev/null
sleep 2
work=$dir/work
mkdir -p "$work"
chown postgres: "$work" 2>/dev/null || true
as_pg "$bindir/pg_basebackup" -D "$work/plain" -X stream -c fast -h 127.0.0.1 \
	-p "$PGPORT" -U postgres
rport=$((PGPORT + 300))
wait_promoted()
{
	until [ "$("$PSQL" -X -A -t -p "$rport" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
		sleep 0.02
	done
}
stop_r()
{
	as_pg "$bindir/pg_ctl" stop -D "$1" -m immediate >/dev/null 2>&1 || true
	rm -rf "$1" "$1.log"
}
rfloor=() drest=() prest=()
for i in $(seq 1 "$runs"); do
	t0=$(now)
	as_pg cp -a "$work/plain" "$work/r_plain"
	as_pg "$bindir/pg_ctl" start -D "$work/r_plain" -l "$work/r_plain.log" -w \
		-o "-p $rport -c archive_mode=off" >/dev/null
	wait_promoted
	t1=$(now)
	rfloor+=("$(echo "$t1 - $t0" | bc)")
	stop_r "$work/r_plain"

	t0=$(now)
	"$dbops" restore --to latest --data-dir "$work/r_dbops" --port "$rport" \
		--dir "$spec" --auto-approve --no-color >"$dir/restore.out" 2>&1 ||
		{ cat "$dir/restore.out"; exit 1; }
	wait_promoted
	t1=$(now)
	drest+=("$(echo "$t1 - $t0" | bc)")
	stop_r "$work/r_dbops"

	t0=$(now)
	as_pg mkdir -p "$work/r_pgbr"
	pgbr restore --pg1-path="$work/r_pgbr" --archive-mode=off >/dev/null
	as_pg "$bindir/pg_ctl" start -D "$work/r_pgbr" -l "$work/r_pgbr.log" -w \
		-o "-p $rport" >/dev/null
	wait_promoted
	t1=$(now)
	prest+=("$(echo "$t1 - $t0" | bc)")
	stop_r "$work/r_pgbr"
done
rf=$(median "${rfloor[@]}")
rd=$(median "${drest[@]}")
rp=$(median "${prest[@]}")
echo
echo "restore + promote, median of $runs:"
printf '  %-34s %7.2fs  1.00x\n' "copy a plain backup and start it" "$rf"
printf '  %-34s %7.2fs  %sx floor\n' "dbops restore --to latest" "$rd" "$(ratio "$rd" "$rf")"
printf '  %-34s %7.2fs  %sx floor; dbops is %sx faster\n' "pgbackrest restore + start" \
	"$rp" "$(ratio "$rp" "$rf")" "$(ratio "$rp" "$rd")"

# ---- wal-push ----------------------------------------------------------------------
mkdir -p "$dir/seg"
seg=$(ls "$data/pg_wal" | grep -E '^[0-9A-F]{24}$' | sort | head -n 1)
cp "$data/pg_wal/$seg" "$dir/seg/0000000A00000000000000F0"
chmod -R a+rwX "$dir/seg"
mkdir -p "$dir/pushrepo" "$dir/pgbr2"
chown postgres: "$dir/pushrepo" "$dir/pgbr2" 2>/dev/null || true
sed -e "s|repo1-path=$dir/pgbr|repo1-path=$dir/pgbr2|" "$dir/pgbackrest.conf" >"$dir/pgbackrest2.conf"
chmod a+r "$dir/pgbackrest2.conf"
as_pg pgbackrest --config="$dir/pgbackrest2.conf" --stanza=bench stanza-create >/dev/null
echo
echo "wal-push of a real 16 MB segment with lz4 (hyperfine):"
hyperfine -N -w 2 -r 15 --style basic --export-json "$dir/push.json" \
	--prepare "rm -rf $dir/pushrepo/wal" \
	-n dbops "runuser -u postgres -- $dir/bin/dbops wal-push --repo $dir/pushrepo --compress lz4 $dir/seg/0000000A00000000000000F0" \
	--prepare "find $dir/pgbr2/archive -name '0000000A*' -delete" \
	-n pgbackrest "runuser -u postgres -- pgbackrest --config=$dir/pgbackrest2.conf --stanza=bench --pg1-path=$data archive-push $dir/seg/0000000A00000000000000F0" \
	2>&1 | grep -E '^ *(Time|Benchmark)|±' || true
python3 - "$dir/push.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
d, p = r["dbops"]["median"], r["pgbackrest"]["median"]
print("  median: dbops %.1f ms, pgbackrest %.1f ms, dbops/pgbackrest %.2fx" % (d * 1e3, p * 1e3, d / p))
PY
n=24
for k in $(seq 1 "$n"); do
	cp "$dir/seg/0000000A00000000000000F0" "$dir/seg/$(printf '0000000B000000000000%04X' "$k")"
done
rm -rf "$dir/pushrepo/wal"
t0=$(now)
for k in $(seq 1 "$n"); do
	taskset -c 0 "$dir/bin/dbops" wal-push --repo "$dir/pushrepo" --compress lz4 \
		"$dir/seg/$(printf '0000000B000000000000%04X' "$k")"
done
t1=$(now)
echo "  sustained: $n segments in $(echo "$t1 - $t0" | bc)s on one core: $(echo "scale=1; $n * 16 / ($t1 - $t0)" | bc) MB/s"

# ---- S3 ------------------------------------------------------------------------------
if [ -x "$s3rver" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" \
		-out "$dir/cert.pem" -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1
	s3port=$((PGPORT + 400))
	"$s3rver" -d "$dir/s3data" -a 127.0.0.1 -p "$s3port" --silent \
		--key "$dir/key.pem" --cert "$dir/cert.pem" \
		--configure-bucket bench >/dev/null 2>&1 &
	pids+=($!)
	until (exec 3<>"/dev/tcp/127.0.0.1/$s3port") 2>/dev/null; do sleep 0.1; done
	mkdir -p "$dir/spec3"
	cat >"$dir/spec3/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: bench
backups:
  repository:
    s3:
      endpoint: https://127.0.0.1:$s3port
      bucket: bench
      uri_style: path
      verify_tls: false
      credentials:
        access_key_id: {env: DBOPS_SECRET_S3_KEY}
        secret_access_key: {env: DBOPS_SECRET_S3_SECRET}
  compression: lz4
  dbops: $dir/bin/dbops
YAML
	# apply points archive_command at S3 (a reload; a plugin command
	# plans its own plugin only), then the backups are timed
	"$dbops" apply --dir "$dir/spec3" --auto-approve --no-color >"$dir/s3.out" 2>&1 ||
		{ cat "$dir/s3.out"; exit 1; }
	s3t=()
	for i in $(seq 1 "$runs"); do
		t0=$(now)
		"$dbops" backup run --type full --dir "$dir/spec3" --auto-approve --no-color >"$dir/s3.out" 2>&1 ||
			{ cat "$dir/s3.out"; exit 1; }
		t1=$(now)
		s3t+=("$(echo "$t1 - $t0" | bc)")
	done
	s=$(median "${s3t[@]}")
	echo
	echo "full backup to S3 (s3rver over https on loopback), median of $runs:"
	printf '  %-34s %7.2fs  %sx POSIX (%.2fs)\n' "dbops backup run" "$s" "$(ratio "$s" "$d")" "$d"
fi

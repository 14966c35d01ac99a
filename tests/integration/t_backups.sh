#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The backups plugin end to end on a POSIX repository, on a server of its
# own: dbops turns archiving on through the parameters plugin (a restart);
# a full backup streams over the replication protocol; a writer commits
# numbered rows and point-in-time restores give exactly the rows
# committed at or before the target time (and one fewer a microsecond
# earlier), up to an LSN, and to the end of the archive; an incremental
# backup copies only changed files and its chain restores; `backup
# verify` passes, then finds a damaged archive, which restore refuses; a
# wal-push killed half-way leaves nothing visible; retention expires the
# oldest full backup and its WAL only when destructive changes are
# allowed; a drill records its RTO and checks, and a failing check shows
# as degraded health.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backups_lib.sh"

bk_setup
spec=$T_TMP/spec

write_spec()
{
	cat >"$spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: bk
parameters: {track_commit_timestamp: "on"}
backups:
  repository: {posix: {path: $T_TMP/repo}}
  compression: lz4
  retention: {full: 2}
  objectives: {rpo: 5m, rto: 10m}
  dbops: $BK_BIN/dbops
  drill:
    directory: $T_TMP/drill
    checks:
      - {sql: "SELECT count(*) FROM w WHERE n <= 30", expect: "${1:-30}"}
YAML
}
write_spec

# ---- archiving through the parameters plugin ---------------------------------
check_exit "the plan turns archiving on (exit 2)" 2 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
plan=$T_OUT
check_contains "archive_mode is planned, with its restart" "$plan" \
	'# parameters.archive_mode will be updated in-place [needs restart]'
check_contains "archive_command is the wal-push command" "$plan" \
	"\"\" -> \"$BK_BIN/dbops wal-push --repo $T_TMP/repo --compress lz4 %p\""
check "apply sets them" "$DBOPS" apply --dir "$spec" --no-color --auto-approve
bk_restart
check_exit "after the restart the plan is empty" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check_exit "backup run refuses nothing: archiving works" 0 true

# ---- a full backup ------------------------------------------------------------
# a file written less than two seconds before a backup starts is copied
# again by the next incremental (its time cannot tell a later write in
# the same second): on a fast machine the restart's checkpoint wrote
# nearly every file just before the backup below, so let that pass
sleep 3
psql_q "CREATE TABLE w (n int PRIMARY KEY); CREATE TABLE filler AS SELECT g, md5(g::text) AS t FROM generate_series(1, 50000) g"
check "a full backup" "$DBOPS" backup run --dir "$spec" --no-color --auto-approve
check_contains "it is planned as BASE_BACKUP with server-side lz4" "$T_OUT" \
	"COMPRESSION 'lz4'"
check "backup list" "$DBOPS" backup list --dir "$spec" --no-color
check_eq "one full backup is listed" \
	"$(grep -c ' full ' <<<"$T_OUT")" 1
full1=$(awk '$2 == "full" { print $1 }' <<<"$T_OUT")
check "the repository holds its archive, manifest and catalog entry" \
	test -s "$T_TMP/repo/backups/$full1/data.tar.lz4" -a \
	-s "$T_TMP/repo/backups/$full1/backup_manifest" -a \
	-s "$T_TMP/repo/backups/$full1/backup.json"
check "the archive is a plain lz4 frame" lz4 -t "$T_TMP/repo/backups/$full1/data.tar.lz4"

# ---- point-in-time recovery -----------------------------------------------------
for n in $(seq 1 30); do
	psql_q "INSERT INTO w VALUES ($n)" || break
	[ "$n" = 20 ] && lsn20=$(psql_q "SELECT pg_current_wal_insert_lsn()")
done
ts_of()
{
	psql_q "SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC' $2, 'YYYY-MM-DD HH24:MI:SS.US') || '+00' FROM w WHERE n = $1"
}
t15=$(ts_of 15)
t15m=$(ts_of 15 "- interval '1 microsecond'")
check "the rows' WAL is archived" bk_wait_archived

bk_restore time "$t15"
check_eq "restore to the commit time of row 15 succeeds" "$T_RC" 0 || diag "$T_OUT"
check_contains "it reports each phase's time" "$T_OUT" "restore: promoted at"
check_eq "exactly the rows committed at or before it" \
	"$(bk_restored_sql "SELECT count(*) || ':' || max(n) FROM w")" "15:15"
check_eq "the restored server is promoted" \
	"$(bk_restored_sql "SELECT pg_is_in_recovery()")" f
check_eq "archiving is off in the restored copy" \
	"$(bk_restored_sql "SHOW archive_mode")" off
bk_stop_restored

bk_restore time1us "$t15m"
check_eq "restore to 1 microsecond earlier succeeds" "$T_RC" 0 || diag "$T_OUT"
check_eq "exactly one row fewer" \
	"$(bk_restored_sql "SELECT count(*) || ':' || max(n) FROM w")" "14:14"
bk_stop_restored

bk_restore lsn "$lsn20"
check_eq "restore to an LSN succeeds" "$T_RC" 0 || diag "$T_OUT"
check_eq "the rows committed before the LSN" \
	"$(bk_restored_sql "SELECT count(*) FROM w")" 20
bk_stop_restored

bk_restore latest latest
check_eq "restore to latest succeeds" "$T_RC" 0 || diag "$T_OUT"
check_eq "every archived row" "$(bk_restored_sql "SELECT count(*) FROM w")" 30
bk_stop_restored

check_exit "a restore into a directory that is not empty is refused" 1 \
	"$DBOPS" restore --to latest --data-dir "$T_TMP/spec" --dir "$spec" \
	--no-color --auto-approve
check_contains "it says why" "$T_OUT" "is not empty"

# ---- an incremental backup and its chain ----------------------------------------
psql_q "INSERT INTO w SELECT g FROM generate_series(31, 40) g"
check "an incremental backup" "$DBOPS" backup run --type incremental \
	--dir "$spec" --no-color --auto-approve
out=$T_OUT
check_contains "it copies only the files that changed" "$out" \
	"files changed since $full1"
changed=$(sed -n 's/.*: \([0-9]*\) of \([0-9]*\) files changed.*/\1 \2/p' <<<"$out")
check "fewer than a tenth of the files were copied ($changed)" \
	test "${changed% *}" -lt $((${changed#* } / 10))
incr1=$(sed -n 's/.*backup \([0-9TZ]*I\): .*/\1/p' <<<"$out" | head -n 1)
check "the incremental's id is reported" test -n "$incr1"
psql_q "INSERT INTO w VALUES (41)"
check "WAL after the incremental is archived" bk_wait_archived
bk_restore chain "$incr1"
check_eq "the incremental's chain restores to its end" "$T_RC" 0 || diag "$T_OUT"
check_eq "with the rows of its time" \
	"$(bk_restored_sql "SELECT count(*) FROM w")" 40
check_eq "and the filler table whole" \
	"$(bk_restored_sql "SELECT count(*) FROM filler")" 50000
bk_stop_restored
bk_restore chainlatest latest
check_eq "the chain and the WAL after it restore to latest" \
	"$(bk_restored_sql "SELECT count(*) FROM w")" 41
bk_stop_restored

check "backup verify passes" "$DBOPS" backup verify --dir "$spec" --no-color
check "it checked the incremental" grep -Eq "$incr1 +ok" <<<"$T_OUT"

# ---- a drill --------------------------------------------------------------------
check_exit "before any drill the RTO objective shows as unproven (exit 2)" 2 \
	"$DBOPS" status --dir "$spec" --no-color
check_contains "status says so" "$T_OUT" "no restore drill is recorded"
check "a drill" "$DBOPS" backup drill --dir "$spec" --no-color --auto-approve
check_contains "it reports the RTO" "$T_OUT" "drill: RTO"
check_eq "the drill is recorded with its RTO, LSN and checks" \
	"$(psql_q "SELECT ok, rto_seconds > 0, recovered_lsn IS NOT NULL, checks->0->>'got' FROM dbops.backup_drills ORDER BY id DESC LIMIT 1")" \
	"t|t|t|30"
check "the scratch cluster is removed" test ! -e "$T_TMP/drill/$incr1"
check_exit "status is healthy" 0 "$DBOPS" status --dir "$spec" --no-color
check_contains "it shows the drill's RTO against the objective" "$T_OUT" \
	"in the last drill"

write_spec 999
check_exit "a drill whose check fails fails" 1 \
	"$DBOPS" backup drill --dir "$spec" --no-color --auto-approve
check_eq "and is recorded as failed" \
	"$(psql_q "SELECT ok, checks->0->>'got' FROM dbops.backup_drills ORDER BY id DESC LIMIT 1")" \
	"f|30"
check_exit "status is degraded after a failed drill" 2 \
	"$DBOPS" status --dir "$spec" --no-color
check_contains "status names the failed drill" "$T_OUT" \
	"the last restore drill failed"
write_spec

# ---- wal-push killed half-way ----------------------------------------------------
mkdir -p "$T_TMP/k" "$T_TMP/krepo"
head -c 16777216 /dev/urandom >"$T_TMP/k/0000000100000000000000F0"
DBOPS_TEST_WAL_PUSH_PAUSE_MS=10000 "$BK_BIN/dbops" wal-push \
	--repo "$T_TMP/krepo" "$T_TMP/k/0000000100000000000000F0" &
kpid=$!
for i in $(seq 1 100); do
	ls -A "$T_TMP/krepo/wal/0000000100000000" 2>/dev/null | grep -q '^\.' && break
	sleep 0.05
done
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
check "the killed push had written part of its copy aside" \
	test -n "$(ls -A "$T_TMP/krepo/wal/0000000100000000" | grep '^\.')"
check_exit "no segment is visible under its name" 1 \
	"$BK_BIN/dbops" wal-fetch --repo "$T_TMP/krepo" \
	0000000100000000000000F0 "$T_TMP/k/out"
check "the archiver's next try succeeds" "$BK_BIN/dbops" wal-push \
	--repo "$T_TMP/krepo" "$T_TMP/k/0000000100000000000000F0"
check "and the segment reads back whole" "$BK_BIN/dbops" wal-fetch \
	--repo "$T_TMP/krepo" 0000000100000000000000F0 "$T_TMP/k/out"
check "identical" cmp -s "$T_TMP/k/out" "$T_TMP/k/0000000100000000000000F0"
check "pushing the same segment again is success" "$BK_BIN/dbops" wal-push \
	--repo "$T_TMP/krepo" "$T_TMP/k/0000000100000000000000F0"
head -c 100 /dev/urandom >>"$T_TMP/k/0000000100000000000000F0"
check_exit "a different segment under the same name is refused" 1 \
	"$BK_BIN/dbops" wal-push --repo "$T_TMP/krepo" \
	"$T_TMP/k/0000000100000000000000F0"
check_contains "with the reason" "$T_OUT" "already archived"
"$BK_BIN/dbops" wal-fetch --repo "$T_TMP/krepo" 0000000100000000000000F0 \
	"$T_TMP/k/again"
check "the archived one is left as it was" cmp -s "$T_TMP/k/out" \
	"$T_TMP/k/again"

# ---- retention at its boundary -----------------------------------------------------
check "one full backup and its incremental: retention (full: 2) expires no backup" \
	"$DBOPS" plan --dir "$spec" --no-color
check_not_contains "the plan deletes no backup" "$T_OUT" "- backups.backup."
check_contains "only the WAL from before the first backup, not flagged destructive" \
	"$T_OUT" "# backups.wal will be destroyed [irreversible]"
check "which apply removes" "$DBOPS" apply --dir "$spec" --no-color --auto-approve
check "a second full backup" "$DBOPS" backup run --type full --dir "$spec" \
	--no-color --auto-approve
check_exit "two full backups: still nothing" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check "a third full backup" "$DBOPS" backup run --type full --dir "$spec" \
	--no-color --auto-approve
check_exit "three: the plan expires the oldest (exit 2)" 2 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
plan=$T_OUT
check_contains "the oldest full backup goes" "$plan" \
	"- backups.backup.$full1"
check_contains "with its incremental" "$plan" "- backups.backup.$incr1"
check_contains "and the WAL before the oldest kept backup, destructive with them" \
	"$plan" "# backups.wal will be destroyed [destructive] [irreversible]"
check_eq "nothing else goes" "$(grep -c '^  - backups\.' <<<"$plan")" 3
"$DBOPS" apply --dir "$spec" --no-color --auto-approve >/dev/null 2>&1
check "without --allow-destructive nothing is deleted" \
	test -e "$T_TMP/repo/backups/$full1/backup.json"
check "with it" "$DBOPS" apply --dir "$spec" --no-color --auto-approve \
	--allow-destructive
check "the oldest full backup is gone" test ! -e "$T_TMP/repo/backups/$full1"
check "its incremental too" test ! -e "$T_TMP/repo/backups/$incr1"
check_exit "the next plan is empty" 0 \
	"$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check "backup verify passes on what is left" "$DBOPS" backup verify \
	--dir "$spec" --no-color

# ---- a backup while archiving fails ------------------------------------------------
# (as root only: the archiver runs as postgres, dbops as root, so a
# directory only root may enter breaks archiving and nothing else)
if [ "$(id -u)" -eq 0 ]; then
	nbackups=$(ls "$T_TMP/repo/backups" | wc -l)
	chmod 000 "$T_TMP/repo/wal"
	psql_q "INSERT INTO w VALUES (100)"
	check_exit "a backup while archiving fails ends with an error" 1 \
		"$DBOPS" backup run --dir "$spec" --no-color --auto-approve
	check_contains "saying that archive_command fails" "$T_OUT" \
		"archive_command has been failing for"
	chmod 0750 "$T_TMP/repo/wal"
	check_eq "and keeping no backup" "$(ls "$T_TMP/repo/backups" | wc -l)" \
		"$nbackups"
	check "archiving recovers" bk_wait_archived
else
	echo "# not run: a backup while archiving fails (needs root)"
fi

# ---- a damaged repository ---------------------------------------------------------
"$DBOPS" backup list --dir "$spec" --no-color >"$T_TMP/list" 2>&1
newest=$(awk '$2 == "full" { id = $1 } END { print id }' "$T_TMP/list")
arch=$T_TMP/repo/backups/$newest/data.tar.lz4
size=$(stat -c %s "$arch")
printf '\x5a' | dd of="$arch" bs=1 seek=$((size / 2)) conv=notrunc status=none
check_exit "backup verify finds the damaged archive" 1 \
	"$DBOPS" backup verify --dir "$spec" --no-color
check_contains "and names its backup" "$T_OUT" "backup $newest"
bk_restore damaged "$newest"
check_eq "restore refuses it" "$T_RC" 1
check "and leaves no data directory behind" test ! -e "$RDIR/PG_VERSION"

# ---- trust: a revision may not move the repository --------------------------------
git_repo=$T_TMP/git
make_repo "$git_repo" "$spec"
base=$T_REV
sed -i "s|path: $T_TMP/repo|path: $T_TMP/elsewhere|" "$git_repo/cluster.yaml"
commit_all "$git_repo" "move the backups elsewhere"
check_exit "a revision that moves the repository is refused under --trusted-rev" 1 \
	"$DBOPS" plan --repo "$git_repo" --rev HEAD --trusted-rev "$base" --no-color
check_contains "naming the repository's path" "$T_OUT" \
	"backups.repository.posix.path (path, changed)"
check "nothing was created there" test ! -e "$T_TMP/elsewhere"

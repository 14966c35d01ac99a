#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# Applies that are killed or interrupted converge, with nothing run twice
# and nothing repaired by hand: kill -9 of dbops inside a CREATE INDEX
# CONCURRENTLY (named and unnamed), the plan saying where the migration
# resumes, a loop of kills at random points, a failed non-transactional
# migration resumed after repair, a file changed after an interruption,
# SIGTERM and a double SIGINT during a pipelined apply (stopped promptly,
# recorded "interrupted", exit 1), and dbops history counting what a
# killed run really applied.

. "$(dirname "$0")/lib.sh"

DB=dbops_t_resume
DB_SIG=dbops_t_resume_sig
for d in "$DB" "$DB_SIG"; do
	new_db "$d" || exit 1
	on_exit "psql_q 'DROP DATABASE IF EXISTS $d WITH (FORCE)' -d postgres >/dev/null"
done
q() { psql_q "$1" -d "$DB"; }

repo=$T_TMP/repo
mkdir -p "$repo/m"
cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: resume
migrations:
  lock_wait: 60
  databases:
    - database: $DB
      locations: [m]
YAML
# a table whose concurrent index builds take a while, so that kills land
# inside them
cat >"$repo/m/V1__big.sql" <<'SQL'
CREATE TABLE marks (name text PRIMARY KEY);
CREATE TABLE big AS SELECT g AS id, md5(g::text) AS v, g % 7 AS k
FROM generate_series(1, 100000) g;
SQL
make_repo "$repo"
check "the table is created" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
cat >"$repo/m/V2__indexes.sql" <<'SQL'
INSERT INTO marks VALUES ('v2-a');
CREATE INDEX CONCURRENTLY big_v ON big (v);
INSERT INTO marks VALUES ('v2-b');
CREATE INDEX CONCURRENTLY ON big (id, v);
BEGIN;
INSERT INTO marks VALUES ('v2-c');
INSERT INTO marks VALUES ('v2-d');
COMMIT;
SQL
printf 'executeInTransaction=false\n' >"$repo/m/V2__indexes.sql.conf"
printf "INSERT INTO marks VALUES ('v3');\n" >"$repo/m/V3__mark.sql"
cat >"$repo/m/V4__more.sql" <<'SQL'
CREATE INDEX CONCURRENTLY big_k ON big (k, id);
VACUUM big;
DROP INDEX CONCURRENTLY big_k;
REINDEX INDEX CONCURRENTLY big_v;
SQL
commit_all "$repo" "indexes"

apply_bg()
{
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color \
		--lock-timeout 60s >"$1" 2>&1 &
	apid=$!
}

# The state that must hold once the migrations are all applied: every
# mark once, the indexes valid and not doubled, nothing left in progress.
converged()
{
	printf '%s|%s|%s|%s|%s' \
		"$(q "SELECT string_agg(name, ',' ORDER BY name) FROM marks")" \
		"$(q "SELECT string_agg(c.relname || ':' || i.indisvalid, ',' ORDER BY c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'big'::regclass")" \
		"$(q "SELECT string_agg(version || ':' || success, ',' ORDER BY installed_rank) FROM flyway_schema_history")" \
		"$(q "SELECT count(*) FROM dbops.migration_progress")" \
		"$(q "SELECT count(*) FROM pg_index WHERE NOT indisvalid")"
}
want='v2-a,v2-b,v2-c,v2-d,v3|big_id_v_idx:true,big_v:true|1:true,2:true,3:true,4:true|0|0'

# A session that holds a lock writers take on "big": a concurrent build
# waits for it, with its INVALID index already in the catalog.
block()
{
	psql -X -q -d "$DB" -c "BEGIN" -c "LOCK TABLE big IN ROW EXCLUSIVE MODE" \
		-c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
	blocker=$!
	for _ in $(seq 1 100); do
		[ "$(q "SELECT count(*) FROM pg_locks WHERE relation = 'big'::regclass AND mode = 'RowExclusiveLock' AND granted")" -gt 0 ] && return 0
		sleep 0.05
	done
}

unblock()
{
	q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND datname = current_database()" >/dev/null
	wait "$blocker" 2>/dev/null
}

# Kill dbops while a concurrent build waits, then wait until its backend,
# which notices within client_connection_check_interval, is gone.
kill_in_build()
{
	local waiting=no

	for _ in $(seq 1 200); do
		if [ "$(q "SELECT count(*) FROM pg_stat_progress_create_index WHERE relid = 'big'::regclass AND phase = 'waiting for writers before build'")" -gt 0 ]; then
			waiting=yes
			break
		fi
		sleep 0.05
	done
	kill -9 "$apid"
	wait "$apid" 2>/dev/null
	for _ in $(seq 1 100); do
		[ "$(q "SELECT count(*) FROM pg_stat_progress_create_index")" = 0 ] && break
		sleep 0.05
	done
	[ "$waiting" = yes ]
}

# ---- kill -9 inside a named concurrent build
block
apply_bg "$T_TMP/k1.out"
if kill_in_build; then
	ok "dbops is killed inside the concurrent build"
else
	not_ok "dbops is killed inside the concurrent build"
fi
unblock
check_eq "the build was left INVALID" \
	"$(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_v'::regclass")" f
check_eq "its statement is recorded running" \
	"$(q "SELECT done || '/' || running FROM dbops.migration_progress")" "1/1"
check_exit "the plan shows where the migration resumes" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "at the interrupted statement" "$T_OUT" 'resume      = "at statement 2 of 8"'
check "the next apply finishes without help" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color --lock-timeout 60s
check_contains "it says where it resumed" "$T_OUT" 'migration "V2__indexes.sql" resumes at statement 2 of 8'
check_contains "it rebuilt the index left INVALID" "$T_OUT" \
	"dropping index big_v, left INVALID by the interrupted statement"
check_eq "everything ran exactly once" "$(converged)" "$want"
check_exit "and nothing is left to plan" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# ---- the same inside an unnamed one: the indexes the table had before
# tell which is new
printf 'CREATE INDEX CONCURRENTLY ON big (k);\n' >"$repo/m/V5__unnamed.sql"
commit_all "$repo" "unnamed"
block
apply_bg "$T_TMP/k3.out"
if kill_in_build; then
	ok "dbops is killed inside the unnamed build"
else
	not_ok "dbops is killed inside the unnamed build"
fi
unblock
check_eq "it left an INVALID index" \
	"$(q "SELECT count(*) FROM pg_index WHERE indrelid = 'big'::regclass AND NOT indisvalid")" 1
check "the next apply finishes it" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color --lock-timeout 60s
check_contains "dropping the leftover" "$T_OUT" "dropping index big_k_idx"
check_eq "one valid index on k, not two" \
	"$(q "SELECT count(*) || ':' || bool_and(i.indisvalid) FROM pg_index i WHERE i.indrelid = 'big'::regclass AND i.indkey::text = '3'")" "1:true"
git -C "$repo" rm -q m/V5__unnamed.sql
commit_all "$repo" "no unnamed"

# ---- kills at random points, 20 trials
trials=20
bad=0
kills=0
inside=0
for trial in $(seq 1 "$trials"); do
	new_db "$DB" >/dev/null 2>&1
	for attempt in $(seq 1 10); do
		apply_bg "$T_TMP/loop.out"
		sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.3f", 0.1 + rand() * 1.1 }')"
		kill -0 "$apid" 2>/dev/null || break
		kill -9 "$apid"
		wait "$apid" 2>/dev/null
		kills=$((kills + 1))
		running=$(q "SELECT count(*) FROM dbops.migration_progress WHERE running IS NOT NULL" 2>/dev/null)
		[ "${running:-0}" -gt 0 ] && inside=$((inside + 1))
	done
	wait "$apid" 2>/dev/null
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color \
		--lock-timeout 60s >"$T_TMP/loop-final.out" 2>&1
	if [ "$(converged)" != "$want" ]; then
		bad=$((bad + 1))
		diag "trial $trial: $(converged)"
		diag "$(tail -n 20 "$T_TMP/loop-final.out")"
	fi
done
diag "$trials trials, $kills kills, $inside of them inside a statement run outside a transaction"
check_eq "every trial converged with nothing run twice" "$bad" 0
check_eq "some kills landed inside a non-transactional statement" \
	"$([ "$inside" -gt 0 ] && echo yes)" yes

# ---- a failed non-transactional migration, repaired, resumes where it
# failed: the statements before it are not run again
new_db "$DB" >/dev/null
printf 'CREATE TABLE marks (name text PRIMARY KEY);\nCREATE TABLE dup (id int);\nINSERT INTO dup VALUES (1), (1);\n' \
	>"$repo/m/V1__big.sql"
git -C "$repo" rm -q m/V2__indexes.sql m/V2__indexes.sql.conf m/V3__mark.sql m/V4__more.sql
cat >"$repo/m/V2__unique.sql" <<'SQL'
INSERT INTO marks VALUES ('before');
CREATE UNIQUE INDEX CONCURRENTLY dup_id ON dup (id);
INSERT INTO marks VALUES ('after');
SQL
printf 'executeInTransaction=false\n' >"$repo/m/V2__unique.sql.conf"
commit_all "$repo" "a migration that fails part-way"
check_exit "the unique build fails on duplicates" 1 \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_contains "saying the migration resumes there after a repair" "$T_OUT" \
	"the migration resumes at this statement"
check_eq "the history records the failure" \
	"$(q "SELECT success FROM flyway_schema_history WHERE version = '2'")" f
q "DELETE FROM dup WHERE ctid <> (SELECT min(ctid) FROM dup)" >/dev/null
check "repair removes the failed row" \
	"$DBOPS" migrations repair --repo "$repo" --auto-approve --no-color
check "the next apply finishes the migration" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "the statement before the failure ran once" \
	"$(q "SELECT string_agg(name, ',' ORDER BY name) FROM marks")" "after,before"
check_eq "the index left INVALID was built again" \
	"$(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'dup_id'::regclass")" t

# ---- a file changed after an interruption is refused, and repair
# forgets the interrupted run
printf 'INSERT INTO marks VALUES (%s);\nCREATE INDEX CONCURRENTLY dup_x ON dup (id);\n' "'v3'" \
	>"$repo/m/V3__again.sql"
printf 'executeInTransaction=false\n' >"$repo/m/V3__again.sql.conf"
commit_all "$repo" "v3"
psql_q "CREATE SCHEMA IF NOT EXISTS dbops; INSERT INTO dbops.migration_progress (history_table, migration, script, checksum, statements, done, running) VALUES ('\"public\".\"flyway_schema_history\"', '3', 'V3__again.sql', 12345, 2, 1, 1)" -d "$DB" >/dev/null
check_exit "the plan refuses a file that changed since it was interrupted" 1 \
	"$DBOPS" plan --repo "$repo" --no-color
check_contains "saying so" "$T_OUT" "was interrupted after statement 1 of 2, and its file has changed since"
check "repair forgets the interrupted run" \
	"$DBOPS" migrations repair --repo "$repo" --auto-approve --no-color
check_contains "as a planned change" "$T_OUT" "migrations.$DB.progress.3"
check "then it applies from the start" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "once" "$(q "SELECT count(*) FROM marks WHERE name = 'v3'")" 1

# ---- SIGTERM during a pipelined apply stops within the running
# migration: the queue is sized to about a second of measured work
srepo=$T_TMP/sig
mkdir -p "$srepo/m"
cat >"$srepo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: sig
migrations:
  databases:
    - database: $DB_SIG
      locations: [m]
YAML
for i in 1 2 3 4 5; do
	printf 'CREATE TABLE s%s (id int);\nSELECT pg_sleep(3);\n' "$i" >"$srepo/m/V${i}__slow$i.sql"
done
make_repo "$srepo"
"$DBOPS" apply --repo "$srepo" --auto-approve --no-color >"$T_TMP/sig.out" 2>&1 &
apid=$!
for _ in $(seq 1 100); do
	[ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3)'" -d postgres)" -gt 0 ] && break
	sleep 0.05
done
sleep 1
t0=$(date +%s.%N)
kill -TERM "$apid"
wait "$apid"
rc=$?
t1=$(date +%s.%N)
sig=$(cat "$T_TMP/sig.out")
diag "stopped $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s after SIGTERM"
check_eq "the interrupted apply exits 1" "$rc" 1
applied=$(psql_q "SELECT count(*) FROM flyway_schema_history" -d "$DB_SIG")
check_eq "only the migration running when the signal came was applied" "$applied" 1
check_contains "the output says what happened" "$sig" "Apply interrupted: 1 applied, 0 failed, 4 not attempted."
history=$("$DBOPS" history --no-color)
check_contains "the run is recorded interrupted, 1 of 5" \
	"$(grep -m1 -E '^[0-9]+ ' <<<"$history")" "interrupted 1/5"

# a double SIGINT cancels the running statement: still "interrupted"
"$DBOPS" apply --repo "$srepo" --auto-approve --no-color >"$T_TMP/sig2.out" 2>&1 &
apid=$!
for _ in $(seq 1 100); do
	[ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3)'" -d postgres)" -gt 0 ] && break
	sleep 0.05
done
kill -INT "$apid"
sleep 0.3
kill -INT "$apid"
wait "$apid"
check_eq "a double interrupt exits 1" "$?" 1
check_contains "and is recorded interrupted, not failed" \
	"$(grep -m1 -E '^[0-9]+ ' <<<"$("$DBOPS" history --no-color)")" "interrupted 0/4"

# ---- a run killed part-way is counted from what it logged
for i in $(seq 6 40); do
	printf 'CREATE TABLE s%s (id int);\nSELECT pg_sleep(0.05);\n' "$i" >"$srepo/m/V${i}__quick$i.sql"
done
git -C "$srepo" rm -q m/V2__slow2.sql m/V3__slow3.sql m/V4__slow4.sql m/V5__slow5.sql
commit_all "$srepo" "quick ones"
"$DBOPS" apply --repo "$srepo" --auto-approve --no-color >/dev/null 2>&1 &
apid=$!
sleep 1
kill -9 "$apid"
wait "$apid" 2>/dev/null
sleep 0.5
logged=$(psql_q "SELECT count(*) FROM dbops.run_changes WHERE status = 'applied' AND run_id = (SELECT max(id) FROM dbops.runs)" -d postgres)
check_eq "the killed run logged some changes applied" "$([ "$logged" -gt 0 ] && echo yes)" yes
line=$(grep -m1 -E '^[0-9]+ ' <<<"$("$DBOPS" history --no-color)")
check_contains "dbops history shows a killed run as interrupted" "$line" "interrupted"
check_contains "with the changes its log has as applied" "$line" "interrupted $logged/35"

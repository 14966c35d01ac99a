#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The migrations plugin end to end through the CLI against the sandbox:
# plan and apply of versioned and repeatable migrations from a git
# repository, an empty second plan, Flyway's history rows and checksums, a
# changed applied file (error, then repair), out-of-order migrations, a
# failing migration rolled back and reported, CREATE INDEX CONCURRENTLY
# outside a transaction and a failed one (INVALID index, failed row,
# repair), baseline of an existing schema, a history table written by
# hand in Flyway's format recognised as up to date, and concurrent
# deployers that never run a migration twice, migrations in
# subdirectories, syntax errors found by `dbops validate`, and an apply
# interrupted mid-pipeline that leaves history and schema in step.

. "$(dirname "$0")/lib.sh"

DB=dbops_t_mig
DB_BASE=dbops_t_mig_base
DB_FLY=dbops_t_mig_fly
DB_INT=dbops_t_mig_int
for d in "$DB" "$DB_BASE" "$DB_FLY" "$DB_INT"; do
	new_db "$d" || exit 1
	on_exit "psql_q 'DROP DATABASE IF EXISTS $d WITH (FORCE)' -d postgres >/dev/null"
done

q() { psql_q "$1" -d "$DB"; }

repo=$T_TMP/repo
mig=$repo/migrations/app
mkdir -p "$mig"
cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: itest
migrations:
  lock_timeout: 2s
  databases:
    - database: $DB
      locations: [migrations/app]
      placeholders: {schema: public}
YAML
printf 'CREATE TABLE t (id int);\n' >"$mig/V1__Create_t.sql"
printf -- "-- two statements, a function with a semicolon in its body\nCREATE TABLE \${schema}.u (id int, note text);\nINSERT INTO u VALUES (1, 'x');\nCREATE FUNCTION one() RETURNS int LANGUAGE sql AS \$\$ SELECT 1; \$\$;\n" \
	>"$mig/V1.9__u.sql"
printf 'ALTER TABLE u ADD COLUMN n int NOT NULL;\n' >"$mig/V1.10__needs_default.sql"
printf 'CREATE OR REPLACE VIEW v AS SELECT id FROM t;\n' >"$mig/R__view_v.sql"
make_repo "$repo"

check_exit "plan exits 2 with pending migrations" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
plan=$T_OUT
check_contains "plan orders 1.9 before 1.10" "$(grep -o 'migrations\.'"$DB"'\.V[0-9_]*' <<<"$plan" | uniq | tr '\n' ' ')" \
	"migrations.$DB.V1 migrations.$DB.V1_9 migrations.$DB.V1_10"
check_contains "plan shows the checksum" "$plan" 'checksum    = "92137680"'
check_contains "plan shows the transaction mode" "$plan" 'transaction = "per migration"'
check_contains "placeholders are replaced in the SQL shown" "$plan" "CREATE TABLE public.u"
check_contains "lint warns at file:line:col" "$plan" \
	"migrations/app/V1.10__needs_default.sql:1:1: WARNING:  V1.10__needs_default.sql [adding-required-field]"
check_contains "the repeatable migration comes last" "$(tail -n 40 <<<"$plan")" "R__view_v"

# V1.9 puts a row in u, so the new NOT NULL column of V1.10 fails
check_exit "apply stops at the failing migration" 1 \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
out=$T_OUT
check_contains "the first migrations were applied" "$out" "migrations.$DB.V1_9: done"
check_eq "V1 and V1.9 are in the history" "$(q "SELECT string_agg(version || ':' || success, ',' ORDER BY installed_rank) FROM flyway_schema_history")" \
	"1:true,1.9:true"
check_eq "the function body kept its semicolon" "$(q "SELECT one()")" 1
check_contains "the error names file, line and PostgreSQL's message" "$out" \
	'migrations/app/V1.10__needs_default.sql:1:1: ERROR:  migration "V1.10__needs_default.sql" failed at line 1: column "n" of relation "u" contains null values'
check_contains "the error says it was rolled back" "$out" "was rolled back"
check_contains "later migrations are not attempted" "$out" "blocked      migrations.$DB.R__view_v"
check_eq "no history row for the failed migration" "$(q "SELECT count(*) FROM flyway_schema_history WHERE version = '1.10'")" 0
check_eq "the migration sent after it in the same pipeline did not run" \
	"$(q "SELECT count(*) FROM pg_views WHERE viewname = 'v'")" 0
check_eq "the column was rolled back" "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'u' AND column_name = 'n'")" 0

printf 'ALTER TABLE u ADD COLUMN n int NOT NULL DEFAULT 0;\n' >"$mig/V1.10__needs_default.sql"
commit_all "$repo" "fix 1.10"
check "apply after the fix" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_exit "the second plan is empty" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "it says so" "$T_OUT" "No changes."
check_eq "history rows in Flyway's format" \
	"$(q "SELECT string_agg(concat_ws('|', installed_rank, version, description, type, script, checksum, installed_by = current_user, execution_time >= 0, success), E'\n' ORDER BY installed_rank) FROM flyway_schema_history")" \
	"1|1|Create t|SQL|V1__Create_t.sql|92137680|t|t|t
2|1.9|u|SQL|V1.9__u.sql|-488582748|t|t|t
3|1.10|needs default|SQL|V1.10__needs_default.sql|-156022931|t|t|t
4|view v|SQL|R__view_v.sql|-52122244|t|t|t"
check_eq "the history table has Flyway's primary key and index" \
	"$(q "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'flyway_schema_history'")" \
	"flyway_schema_history_pk,flyway_schema_history_s_idx"

# a repeatable migration re-runs when it changes
printf 'CREATE OR REPLACE VIEW v AS SELECT id, 2 AS two FROM t;\n' >"$mig/R__view_v.sql"
commit_all "$repo" "view changed"
check_exit "a changed repeatable migration is planned" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "as changed" "$T_OUT" "(repeatable migration changed)"
check "apply re-runs it" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "the view has the new column" \
	"$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'v' AND column_name = 'two'")" 1
check_exit "plan empty again" 0 "$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# ---- CREATE INDEX CONCURRENTLY runs outside a transaction
printf -- '-- dbops:disable require-lock-timeout\nCREATE INDEX CONCURRENTLY u_id ON u (id);\nCREATE INDEX CONCURRENTLY u_note ON u (note);\n' \
	>"$mig/V2__indexes.sql"
commit_all "$repo" "indexes"
check_exit "a concurrent index migration is planned" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "outside a transaction" "$T_OUT" 'transaction = "none (one statement per query)"'
check_not_contains "without the index lint warning" "$T_OUT" "require-concurrent-index-creation"
check "apply the concurrent indexes" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "both indexes exist and are valid" \
	"$(q "SELECT string_agg(c.relname || ':' || i.indisvalid, ',' ORDER BY c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('u_id', 'u_note')")" \
	"u_id:true,u_note:true"

# ---- a changed applied file: checksum error, then repair
printf 'CREATE TABLE t (id bigint);\n' >"$mig/V1__Create_t.sql"
commit_all "$repo" "edit an applied migration"
check_exit "a changed applied file fails the plan" 1 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "with the checksum mismatch" "$T_OUT" \
	"migrations/app/V1__Create_t.sql:1:1: ERROR:  migration checksum mismatch for migration version 1 of database \"$DB\""
check_contains "and the hint to repair" "$T_OUT" "dbops migrations repair"
check_exit "repair is planned" 0 "$DBOPS" migrations repair --repo "$repo" --auto-approve --no-color
check_contains "repair updates the checksum" "$T_OUT" '~ checksum = "92137680" -> "-708715723"'
check_exit "after repair the plan is empty" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_eq "the stored checksum is the file's" \
	"$(q "SELECT checksum FROM flyway_schema_history WHERE version = '1'")" "-708715723"

# ---- out of order
printf 'CREATE TABLE late (id int);\n' >"$mig/V1.5__late.sql"
commit_all "$repo" "late migration"
check_exit "an out-of-order migration fails the plan" 1 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "with a clear error" "$T_OUT" \
	"ERROR:  pending migration 1.5 is older than the newest applied migration 2"
check_contains "and the hint" "$T_OUT" "out_of_order: true"
sed -i 's/      placeholders:/      out_of_order: true\n      placeholders:/' "$repo/cluster.yaml"
commit_all "$repo" "allow out of order"
check_exit "with out_of_order it is planned" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "as out of order" "$T_OUT" "(out of order)"
check "apply out of order" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "the late table exists" "$(q "SELECT to_regclass('late') IS NOT NULL")" t
check_exit "plan empty after out of order" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# ---- a failing concurrent build: INVALID index, failed row, repair
q "INSERT INTO u VALUES (1, 'dup')" >/dev/null
printf 'CREATE UNIQUE INDEX CONCURRENTLY u_id_unique ON u (id);\n' >"$mig/V3__unique.sql"
commit_all "$repo" "unique index"
check_exit "a failing concurrent build fails the apply" 1 \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
out=$T_OUT
check_contains "with PostgreSQL's message" "$out" "could not create unique index \"u_id_unique\""
check_contains "naming the INVALID index" "$out" "INVALID indexes now in the database: public.u_id_unique"
check_eq "the history records it as failed, as Flyway does" \
	"$(q "SELECT success FROM flyway_schema_history WHERE version = '3'")" f
check_exit "the failed row fails the next plan" 1 \
	"$DBOPS" plan --repo "$repo" --no-color
check_contains "saying so" "$T_OUT" "failed and is recorded as failed in the history"
check "repair removes the failed row" "$DBOPS" migrations repair --repo "$repo" --auto-approve --no-color
check_contains "as a planned change" "$T_OUT" "migrations.$DB.history."
check_eq "the failed row is gone" "$(q "SELECT count(*) FROM flyway_schema_history WHERE version = '3'")" 0
check_exit "the plan after repair runs V3 again" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "and warns about the INVALID index" "$T_OUT" \
	"WARNING:  index public.u_id_unique in database \"$DB\" is INVALID"
q "DROP INDEX CONCURRENTLY u_id_unique" >/dev/null
q "DELETE FROM u WHERE note = 'dup'" >/dev/null
check "apply the unique index again" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_exit "plan empty after the unique index" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# ---- another deployer (Flyway's lock key) holds the lock and applies the
# migration meanwhile: dbops waits by polling, re-reads the history and
# runs nothing twice
printf 'CREATE TABLE meanwhile (id int);\n' >"$mig/V4__meanwhile.sql"
commit_all "$repo" "meanwhile"
key=77433833903597 # 0x466C79776179 + hashCode("\"public\".\"flyway_schema_history\"")
psql -X -q -d "$DB" >/dev/null 2>&1 <<SQL &
SELECT pg_advisory_lock($key);
SELECT pg_sleep(2);
CREATE TABLE meanwhile (id int);
INSERT INTO flyway_schema_history VALUES ((SELECT max(installed_rank) + 1 FROM flyway_schema_history), '4', 'meanwhile', 'SQL', 'V4__meanwhile.sql', -316127390, 'flyway', now(), 5, true);
SELECT pg_advisory_unlock($key);
SQL
holder=$!
sleep 0.5
check "apply waits for the migration lock" "$DBOPS" apply --repo "$repo" --auto-approve --no-color -v
out=$T_OUT
wait "$holder"
check_contains "it said it was waiting" "$out" "waiting for the migration lock"
check_contains "it skipped what was applied meanwhile" "$out" "was applied meanwhile; skipped"
check_eq "V4 is in the history once" "$(q "SELECT count(*) FROM flyway_schema_history WHERE version = '4'")" 1

# ---- two concurrent applies never run a migration twice
for i in 1 2 3; do
	printf 'CREATE TABLE c%s (id int);\nSELECT pg_sleep(0.3);\n' "$i" >"$mig/V5.${i}__c$i.sql"
done
commit_all "$repo" "concurrent"
"$DBOPS" apply --repo "$repo" --auto-approve --no-color --lock-timeout 60s >"$T_TMP/a1" 2>&1 &
p1=$!
"$DBOPS" apply --repo "$repo" --auto-approve --no-color --lock-timeout 60s >"$T_TMP/a2" 2>&1 &
p2=$!
wait "$p1"
r1=$?
wait "$p2"
r2=$?
check_eq "both concurrent applies succeed" "$r1 $r2" "0 0"
check_eq "each migration is in the history exactly once" \
	"$(q "SELECT string_agg(version || 'x' || n, ',' ORDER BY version) FROM (SELECT version, count(*) AS n FROM flyway_schema_history WHERE version LIKE '5.%' GROUP BY version) s")" \
	"5.1x1,5.2x1,5.3x1"
check_exit "plan empty after the concurrent applies" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# ---- baseline of an existing schema
psql_q "CREATE TABLE legacy (id int)" -d "$DB_BASE" >/dev/null
brepo=$T_TMP/brepo
mkdir -p "$brepo/m"
cat >"$brepo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: itest
migrations:
  databases:
    - database: $DB_BASE
      locations: [m]
      baseline: {version: "1", description: "existing schema"}
YAML
printf 'CREATE TABLE legacy (id int);\n' >"$brepo/m/V1__legacy.sql"
printf 'ALTER TABLE legacy ADD COLUMN name text;\n' >"$brepo/m/V2__name.sql"
make_repo "$brepo"
check_exit "a baseline is planned for the existing schema" 2 \
	"$DBOPS" plan --repo "$brepo" --no-color --detailed-exitcode
check_contains "the baseline" "$T_OUT" "migrations.$DB_BASE.baseline"
check_not_contains "V1 is below the baseline" "$T_OUT" "V1__legacy"
check "apply the baseline" "$DBOPS" apply --repo "$brepo" --auto-approve --no-color
check_eq "history: BASELINE then V2" \
	"$(psql_q "SELECT string_agg(concat_ws('|', installed_rank, version, description, type, coalesce(checksum::text, 'null')), ',' ORDER BY installed_rank) FROM flyway_schema_history" -d "$DB_BASE")" \
	"1|1|existing schema|BASELINE|null,2|2|name|SQL|482135241"
check_exit "plan empty after the baseline" 0 \
	"$DBOPS" plan --repo "$brepo" --no-color --detailed-exitcode

# ---- a history table written by Flyway is recognised as up to date
psql_q "CREATE TABLE t (id int);
CREATE TABLE \"public\".\"flyway_schema_history\" (
    \"installed_rank\" INT NOT NULL,
    \"version\" VARCHAR(50),
    \"description\" VARCHAR(200) NOT NULL,
    \"type\" VARCHAR(20) NOT NULL,
    \"script\" VARCHAR(1000) NOT NULL,
    \"checksum\" INTEGER,
    \"installed_by\" VARCHAR(100) NOT NULL,
    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),
    \"execution_time\" INTEGER NOT NULL,
    \"success\" BOOLEAN NOT NULL
);
ALTER TABLE \"public\".\"flyway_schema_history\" ADD CONSTRAINT \"flyway_schema_history_pk\" PRIMARY KEY (\"installed_rank\");
CREATE INDEX \"flyway_schema_history_s_idx\" ON \"public\".\"flyway_schema_history\" (\"success\");
INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
VALUES (1, '1', 'Create person table', 'SQL', 'V1__Create_person_table.sql', 92137680, 'flyway', 12, true),
       (2, '1.1', 'Couple', 'SQL', 'V1_1__Couple.sql', -66220931, 'flyway', 7, true);" -d "$DB_FLY" >/dev/null
frepo=$T_TMP/frepo
mkdir -p "$frepo/sql"
cat >"$frepo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: itest
migrations:
  databases:
    - database: $DB_FLY
      locations: [sql]
YAML
printf 'CREATE TABLE t (id int);\r\n' >"$frepo/sql/V1__Create_person_table.sql"
printf '\357\273\277CREATE TABLE t\n(id int);' >"$frepo/sql/V1_1__Couple.sql"
make_repo "$frepo"
check_exit "a Flyway-migrated database is up to date" 0 \
	"$DBOPS" plan --repo "$frepo" --no-color --detailed-exitcode
check_contains "no changes" "$T_OUT" "No changes."
printf 'CREATE TABLE person2 (id int);\n' >"$frepo/sql/V2__more.sql"
commit_all "$frepo" "more"
check "dbops continues where Flyway stopped" "$DBOPS" apply --repo "$frepo" --auto-approve --no-color
check_eq "with the next installed_rank" \
	"$(psql_q "SELECT installed_rank || '|' || version FROM flyway_schema_history ORDER BY installed_rank DESC LIMIT 1" -d "$DB_FLY")" "3|2"

# ---- a migration that does not parse is reported with file:line:col
printf 'SELECT 1;\nCREATE TABEL x (id int);\n' >"$frepo/sql/V3__typo.sql"
commit_all "$frepo" "typo"
check_exit "a syntax error fails the plan" 1 "$DBOPS" plan --repo "$frepo" --no-color
check_contains "at the right place" "$T_OUT" "sql/V3__typo.sql:2:8: ERROR:  syntax error in migration \"V3__typo.sql\""
check_exit "dbops validate finds it without a database" 1 \
	env PGHOST=/nonexistent "$DBOPS" validate --repo "$frepo" --no-color
check_contains "at the same place" "$T_OUT" "sql/V3__typo.sql:2:8: ERROR:  syntax error in migration \"V3__typo.sql\""

# ---- migrations in subdirectories of a location, as Flyway finds them
git -C "$frepo" rm -q sql/V3__typo.sql
mkdir -p "$frepo/sql/2026/q4"
printf 'CREATE TABLE person3 (id int);\n' >"$frepo/sql/2026/q4/V3__deeper.sql"
commit_all "$frepo" "a subdirectory"
check "dbops validate accepts the tree" "$DBOPS" validate --repo "$frepo" --no-color
check "a migration in a subdirectory is applied" "$DBOPS" apply --repo "$frepo" --auto-approve --no-color
check_eq "its script is the path below the location, as Flyway records it" \
	"$(psql_q "SELECT script FROM flyway_schema_history WHERE version = '3'" -d "$DB_FLY")" "2026/q4/V3__deeper.sql"
check_exit "and the next plan is empty" 0 "$DBOPS" plan --repo "$frepo" --no-color --detailed-exitcode

# ---- interrupted mid-pipeline: what committed is in the history, nothing
# else ran, and the next apply finishes the job
irepo=$T_TMP/irepo
mkdir -p "$irepo/m"
cat >"$irepo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: itest
migrations:
  databases:
    - database: $DB_INT
      locations: [m]
      lint: {level: "off"}
YAML
for i in $(seq 1 300); do
	printf 'CREATE TABLE c%s (id int);\nSELECT pg_sleep(0.01);\n' "$i" >"$irepo/m/V${i}__c$i.sql"
done
make_repo "$irepo"
"$DBOPS" apply --repo "$irepo" --auto-approve --no-color >"$T_TMP/int.out" 2>&1 &
apid=$!
sleep 1.5
kill -INT "$apid"
wait "$apid"
rc=$?
check_eq "the interrupted apply fails" "$rc" 1
ih() { psql_q "$1" -d "$DB_INT"; }
applied=$(ih "SELECT count(*) FROM flyway_schema_history")
tables=$(ih "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^c[0-9]+$'")
check_eq "it stopped part-way" "$([ "$applied" -gt 0 ] && [ "$applied" -lt 300 ] && echo yes)" yes
check_eq "every table created has its history row" "$tables" "$applied"
check_eq "and they are the first ones, in order" \
	"$(ih "SELECT max(version::int) = count(*) AND count(DISTINCT version) = count(*) FROM flyway_schema_history")" t
check_contains "the rest is reported as not attempted" "$(cat "$T_TMP/int.out")" "blocked"
check_not_contains "a long plan's summary leaves out what was applied" "$(cat "$T_TMP/int.out")" "  applied      migrations"
check_contains "and shows at most 50 of the rest" "$(cat "$T_TMP/int.out")" "more not applied"
check "the next apply finishes" "$DBOPS" apply --repo "$irepo" --auto-approve --no-color
check_eq "all 300 are applied once" "$(ih "SELECT count(*) || '/' || count(DISTINCT version) FROM flyway_schema_history")" "300/300"

# ---- a second interrupt cancels the statement in progress, which is
# rolled back
printf 'CREATE TABLE slow (id int);\nSELECT pg_sleep(120);\n' >"$irepo/m/V301__slow.sql"
commit_all "$irepo" "slow"
"$DBOPS" apply --repo "$irepo" --auto-approve --no-color >"$T_TMP/slow.out" 2>&1 &
apid=$!
for _ in $(seq 1 100); do
	[ "$(ih "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(120)'")" = 1 ] && break
	sleep 0.1
done
kill -INT "$apid"
sleep 0.5
kill -INT "$apid"
wait "$apid"
rc=$?
slow=$(cat "$T_TMP/slow.out")
check_eq "the cancelled apply fails" "$rc" 1
check_contains "the first interrupt says what happens" "$slow" "finishing the changes in progress"
check_contains "the second cancels the statement" "$slow" "canceling statement due to user request"
check_contains "which was rolled back" "$slow" "was rolled back"
check_eq "nothing of the migration is kept" \
	"$(ih "SELECT count(*) FROM pg_tables WHERE tablename = 'slow'")/$(ih "SELECT count(*) FROM flyway_schema_history WHERE version = '301'")" "0/0"

# ---- a migration's session settings do not leak into the next ones: the
# same migrations behave the same applied together or one run at a time
git -C "$irepo" rm -q m/V301__slow.sql
printf 'CREATE SCHEMA other;\nSET search_path = other;\nCREATE TABLE a302 (id int);\n' >"$irepo/m/V302__elsewhere.sql"
printf 'CREATE TABLE b303 (id int);\nSET statement_timeout = 1;\n' >"$irepo/m/V303__here.sql"
printf 'SELECT pg_sleep(0.05);\nCREATE TABLE c304 (id int);\n' >"$irepo/m/V304__slowish.sql"
commit_all "$irepo" "session settings"
check "migrations that SET things apply" "$DBOPS" apply --repo "$irepo" --auto-approve --no-color
check_eq "the migration's own SET applied to it" \
	"$(ih "SELECT schemaname FROM pg_tables WHERE tablename = 'a302'")" other
check_eq "the next migration ran with the search path dbops started with" \
	"$(ih "SELECT schemaname FROM pg_tables WHERE tablename = 'b303'")" public
check_eq "and a statement timeout set by one did not cancel the next" \
	"$(ih "SELECT count(*) FROM pg_tables WHERE tablename = 'c304'")" 1

# ---- Flyway's beforeMigrate / afterMigrate callbacks run around the
# migrations of a pass that has any, in one pipeline, and leave no row
printf 'CREATE TABLE IF NOT EXISTS cb_log (id serial, event text);\nINSERT INTO cb_log (event) VALUES (%s);\n' "'before'" >"$irepo/m/beforeMigrate.sql"
printf 'INSERT INTO cb_log (event) VALUES (%s);\n' "'after'" >"$irepo/m/afterMigrate__log.sql"
printf 'INSERT INTO cb_log (event) VALUES (%s);\n' "'V305'" >"$irepo/m/V305__uses_the_log.sql"
commit_all "$irepo" "callbacks"
check_exit "the plan shows the callbacks around the migration" 2 \
	"$DBOPS" plan --repo "$irepo" --no-color --detailed-exitcode
check_eq "in that order" \
	"$(grep -o 'migrations\.'"$DB_INT"'\.[A-Za-z0-9_]*' <<<"$T_OUT" | uniq | tr '\n' ' ')" \
	"migrations.$DB_INT.beforeMigrate migrations.$DB_INT.V305 migrations.$DB_INT.afterMigrate__log "
check "apply runs them" "$DBOPS" apply --repo "$irepo" --auto-approve --no-color
check_eq "before, the migration, after" "$(ih "SELECT string_agg(event, ',' ORDER BY id) FROM cb_log")" "before,V305,after"
check_eq "callbacks leave no history row" \
	"$(ih "SELECT count(*) FROM flyway_schema_history WHERE script LIKE '%Migrate%'")" 0
check_exit "with nothing to migrate the plan is empty" 0 \
	"$DBOPS" plan --repo "$irepo" --no-color --detailed-exitcode

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# No-op plans by git object id: an apply from git records the blob each
# migration was read from (dbops.migration_sources, beside Flyway's
# table), and a later plan reads only the files it must — never trusting a
# record that no longer matches: a changed file, a history row edited by
# hand, a record edited by hand, a directory source (no ids), a role that
# may not create dbops' schema (nothing recorded, nothing refused).

. "$(dirname "$0")/lib.sh"

DB=dbops_t_sources
DB_DIR=dbops_t_sources_dir
DB_ROLE=dbops_t_sources_role
# (cleanups run last first: the role after the database it owns things in)
on_exit "psql_q 'DROP ROLE IF EXISTS dbops_t_nocreate' -d postgres >/dev/null"
for d in "$DB" "$DB_DIR" "$DB_ROLE"; do
	new_db "$d" || exit 1
	on_exit "psql_q 'DROP DATABASE IF EXISTS $d WITH (FORCE)' -d postgres >/dev/null"
done
q() { psql_q "$1" -d "$DB"; }

spec()
{
	cat >"$1/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: sources
migrations:
  databases:
    - database: $2
      locations: [m]
YAML
}

repo=$T_TMP/repo
mkdir -p "$repo/m"
spec "$repo" "$DB"
for i in 1 2 3 4 5; do
	printf 'CREATE TABLE t%s (id int PRIMARY KEY);\n' "$i" >"$repo/m/V${i}__t$i.sql"
done
printf 'CREATE OR REPLACE VIEW v AS SELECT 1 AS one;\n' >"$repo/m/R__v.sql"
make_repo "$repo"

check "apply from git" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "one record per applied versioned migration (and the repeatable)" \
	"$(q "SELECT count(*) FROM dbops.migration_sources")" 6
check_eq "each with the id git gives the file" \
	"$(q "SELECT s.blob_id FROM dbops.migration_sources s JOIN flyway_schema_history h USING (installed_rank) WHERE h.version = '3'")" \
	"$(git -C "$repo" rev-parse HEAD:m/V3__t3.sql)"
check_eq "and the history row's checksum" \
	"$(q "SELECT count(*) FROM dbops.migration_sources s JOIN flyway_schema_history h USING (installed_rank) WHERE s.checksum = h.checksum")" 6
check_eq "Flyway's table keeps Flyway's columns" \
	"$(q "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'flyway_schema_history'")" \
	"installed_rank,version,description,type,script,checksum,installed_by,installed_on,execution_time,success"

check "a no-op plan" "$DBOPS" plan --repo "$repo" --no-color -v --detailed-exitcode
check_contains "reads no applied versioned migration (the repeatable is read)" "$T_OUT" \
	'database "dbops_t_sources": 5 migration files known by their git ids, 1 read'

# ---- a record edited by hand is not believed: the file is read
q "UPDATE dbops.migration_sources s SET checksum = s.checksum + 1 FROM flyway_schema_history h WHERE h.installed_rank = s.installed_rank AND h.version = '2'" >/dev/null
check "a record that no longer matches its row" "$DBOPS" plan --repo "$repo" --no-color -v --detailed-exitcode
check_contains "makes the plan read that file" "$T_OUT" \
	'4 migration files known by their git ids, 2 read'

q "UPDATE dbops.migration_sources s SET checksum = s.checksum - 1 FROM flyway_schema_history h WHERE h.installed_rank = s.installed_rank AND h.version = '2'" >/dev/null

# ---- a history row edited by hand is still caught
q "UPDATE flyway_schema_history SET checksum = checksum + 7 WHERE version = '4'" >/dev/null
check_exit "an edited history checksum" 1 "$DBOPS" plan --repo "$repo" --no-color
check_contains "is still a checksum mismatch" "$T_OUT" \
	'migration checksum mismatch for migration version 4'
q "UPDATE flyway_schema_history SET checksum = checksum - 7 WHERE version = '4'" >/dev/null

# ---- a file changed after it was applied: a new id, read, refused
printf 'CREATE TABLE t1 (id bigint PRIMARY KEY);\n' >"$repo/m/V1__t1.sql"
commit_all "$repo" "edit an applied migration"
check_exit "an applied file changed in git" 1 "$DBOPS" plan --repo "$repo" --no-color
check_contains "is a checksum mismatch, as Flyway says" "$T_OUT" \
	'migration checksum mismatch for migration version 1'
printf 'CREATE TABLE t1 (id int PRIMARY KEY);\n' >"$repo/m/V1__t1.sql"
commit_all "$repo" "put it back"
check_eq "put back, the file has its old id again" \
	"$(git -C "$repo" rev-parse HEAD:m/V1__t1.sql)" \
	"$(q "SELECT s.blob_id FROM dbops.migration_sources s JOIN flyway_schema_history h USING (installed_rank) WHERE h.version = '1'")"

# ---- a new migration: read (it is pending), applied, recorded
printf 'CREATE TABLE t6 (id int PRIMARY KEY);\n' >"$repo/m/V6__t6.sql"
commit_all "$repo" "t6"
check "a pending migration" "$DBOPS" apply --repo "$repo" --auto-approve --no-color -v
check_contains "is read" "$T_OUT" '5 migration files known by their git ids, 2 read'
check_eq "and recorded once applied" \
	"$(q "SELECT s.blob_id FROM dbops.migration_sources s JOIN flyway_schema_history h USING (installed_rank) WHERE h.version = '6'")" \
	"$(git -C "$repo" rev-parse HEAD:m/V6__t6.sql)"
check "after which" "$DBOPS" plan --repo "$repo" --no-color -v --detailed-exitcode
check_contains "every applied versioned file is known" "$T_OUT" \
	'6 migration files known by their git ids, 1 read'

# ---- a migration that sets a tiny statement_timeout still gets its
# record (and its source) written
printf 'CREATE TABLE t7 (id int);\nSET statement_timeout = 1;\n' >"$repo/m/V7__t7.sql"
commit_all "$repo" "t7"
check "a migration setting statement_timeout = 1ms" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "is recorded with its source" \
	"$(q "SELECT count(*) FROM dbops.migration_sources s JOIN flyway_schema_history h USING (installed_rank) WHERE h.version = '7'")" 1

# ---- a directory source has no ids: nothing recorded, everything read
dir=$T_TMP/dir
mkdir -p "$dir/m"
spec "$dir" "$DB_DIR"
cp "$repo"/m/V[1-3]__*.sql "$dir/m/"
check "apply from a directory" "$DBOPS" apply --dir "$dir" --auto-approve --no-color
check_eq "records no source" \
	"$(psql_q "SELECT count(*) FROM pg_tables WHERE schemaname = 'dbops' AND tablename = 'migration_sources'" -d "$DB_DIR")" 0
check "its no-op plan" "$DBOPS" plan --dir "$dir" --no-color -v --detailed-exitcode
check_contains "reads every file" "$T_OUT" '0 migration files known by their git ids, 3 read'

# ---- a role that may not create dbops' table: applied, said, unrecorded
# (it owns the run log, made while it could still create schemas)
conn="host=$PGHOST port=$PGPORT user=dbops_t_nocreate dbname=$DB_ROLE"
psql_q "CREATE ROLE dbops_t_nocreate LOGIN; GRANT CONNECT, CREATE ON DATABASE $DB_ROLE TO dbops_t_nocreate" -d postgres >/dev/null
psql_q "GRANT CREATE, USAGE ON SCHEMA public TO dbops_t_nocreate" -d "$DB_ROLE" >/dev/null
rrepo=$T_TMP/rrepo
mkdir -p "$rrepo/m"
spec "$rrepo" "$DB_ROLE"
cp "$repo"/m/V1__*.sql "$rrepo/m/"
make_repo "$rrepo"
check "a role allowed to create schemas applies" \
	"$DBOPS" apply --repo "$rrepo" --auto-approve --no-color --conninfo "$conn"
psql_q "DROP TABLE dbops.migration_sources; ALTER SCHEMA dbops OWNER TO CURRENT_USER; GRANT USAGE ON SCHEMA dbops TO dbops_t_nocreate" -d "$DB_ROLE" >/dev/null
psql_q "REVOKE CREATE ON DATABASE $DB_ROLE FROM dbops_t_nocreate" -d postgres >/dev/null
cp "$repo"/m/V2__*.sql "$rrepo/m/"
commit_all "$rrepo" "V2"
check "once it may not, it still applies" \
	"$DBOPS" apply --repo "$rrepo" --auto-approve --no-color --conninfo "$conn"
check_contains "and says the ids are not recorded" "$T_OUT" \
	'the git ids of migrations are not recorded in database "dbops_t_sources_role"'
check_eq "both migrations ran" \
	"$(psql_q "SELECT count(*) FROM flyway_schema_history WHERE success" -d "$DB_ROLE")" 2
check "its no-op plan" "$DBOPS" plan --repo "$rrepo" --no-color -v --detailed-exitcode \
	--conninfo "$conn"
check_contains "reads the files" "$T_OUT" '0 migration files known by their git ids, 2 read'

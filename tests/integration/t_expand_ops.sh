#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# Every operation of an expand/contract change, expanded, written from
# both sides, then contracted (the gate overridden with
# `dbops migrations contract --force-contract`, which the run log
# records) or rolled back; a change whose definition moved, or that the
# spec drops while it is expanded, is refused.

. "$(dirname "$0")/lib.sh"

DB=dbops_t_expand_ops
new_db "$DB" || exit 1
on_exit "psql_q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' -d postgres >/dev/null"
q() { psql_q "/* dbops:expand */ $1" -d "$DB"; }

q "CREATE TABLE customers (id int PRIMARY KEY);
   INSERT INTO customers SELECT g FROM generate_series(1, 100) g;
   CREATE TABLE users (id int PRIMARY KEY, name text, first text, last text,
                       legacy int NOT NULL DEFAULT 0, customer int, email text);
   INSERT INTO users SELECT g, 'user' || g, 'f' || g, 'l' || g, g, g % 100 + 1,
                            'u' || g || '@x' FROM generate_series(1, 2000) g;
   ANALYZE users" || exit 1

repo=$T_TMP/repo
mkdir -p "$repo/m"
printf 'SELECT 1;\n' >"$repo/m/V1__noop.sql"
spec()
{
	cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: expand-ops
migrations:
  databases:
    - database: $DB
      locations: [m]
      changes:
        - name: users_many
          table: users
          state: $1
          gate: {quiet_window: 1h}
          operations:
            - add_column: {column: created, type: timestamptz, default: "clock_timestamp()", not_null: true}
            - add_column: {column: score, type: int, default: "0"}
            - rename_column: {column: name, to: login}
            - merge_columns:
                columns: [first, last]
                into: {column: full_name, type: text, up: "first || ' ' || last"}
                down: {first: "split_part(full_name, ' ', 1)", last: "split_part(full_name, ' ', 2)"}
            - drop_column: {column: legacy, down: "0"}
            - set_not_null: {column: email, fill: "'unknown'"}
            - add_foreign_key: {columns: [customer], references: {table: customers, columns: [id]}}
            - add_index: {name: users_login_idx, columns: [login], unique: true}
        - name: users_undo
          table: users
          state: $2
          operations:
            - change_type: {column: id, to: id_text, type: text}
YAML
}
spec expanded expanded
make_repo "$repo"
check "every operation expands" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
cols=$(q "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped")
check_eq "old and new columns side by side" "$cols" \
	"id,name,first,last,legacy,customer,email,created,score,login,full_name,id_text"
check_eq "a volatile default backfilled, a constant one stored once" \
	"$(q "SELECT count(*) FILTER (WHERE created IS NULL) || '/' || count(*) FILTER (WHERE score = 0) FROM users")" "0/2000"
check_eq "renamed and merged columns backfilled" \
	"$(q "SELECT count(*) FROM users WHERE login IS DISTINCT FROM name OR full_name IS DISTINCT FROM first || ' ' || last")" 0
check_eq "constraints added NOT VALID, the index built concurrently" \
	"$(q "SELECT string_agg(conname || ':' || convalidated, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype <> 'p'")|$(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_login_idx'::regclass")" \
	"users_created_not_null:false,users_customer_fkey:false,users_email_not_null:false|t"
check_exit "nothing is left to plan" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# ---- both sides write
q "INSERT INTO users (id, name, first, last, email) VALUES (5001, 'oldcode', 'old', 'code', 'o@x')" >/dev/null
q "INSERT INTO users (id, login, full_name, email) VALUES (5002, 'newcode', 'new code', 'n@x')" >/dev/null
q "UPDATE users SET name = 'renamed' WHERE id = 1" >/dev/null
q "UPDATE users SET full_name = 'ann smith' WHERE id = 2" >/dev/null
check_eq "old code's writes reach the new columns" \
	"$(q "SELECT login || ',' || full_name FROM users WHERE id = 5001")|$(q "SELECT login FROM users WHERE id = 1")" \
	"oldcode,old code|renamed"
check_eq "new code's writes reach the old columns" \
	"$(q "SELECT name || ',' || first || ',' || last || ',' || legacy FROM users WHERE id = 5002")|$(q "SELECT first || ' ' || last FROM users WHERE id = 2")" \
	"newcode,new,code,0|ann smith"
check_eq "the counter saw the old-side writes" \
	"$(q "SELECT last_value >= 2 FROM dbops_users_many_old_writes")" t

# ---- contract by force: the gate still waits (1h window)
spec contracted rolled_back
commit_all "$repo" "contract users_many, roll back users_undo"
check_exit "the plan rolls one back and waits to contract the other" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "the rollback" "$T_OUT" "users_undo.rollback will be destroyed"
check_contains "the wait" "$T_OUT" 'contract of change "users_many" waits'
check "the rollback is applied (destructive: the new column goes)" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color --allow-destructive
check_eq "the rolled back column and its trigger are gone, the old ones kept" \
	"$(q "SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'id_text' AND NOT attisdropped")|$(q "SELECT count(*) FROM pg_trigger WHERE tgname = 'dbops_users_undo_dw'")|$(q "SELECT state FROM dbops.schema_changes WHERE name = 'users_undo'")" \
	"0|0|rolled_back"
check "dbops migrations contract --force-contract overrides the gate" \
	"$DBOPS" migrations contract --force-contract users_many --repo "$repo" \
	--auto-approve --no-color --allow-destructive
check_contains "saying so in the plan" "$T_OUT" "overridden by --force-contract"
cols=$(q "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped")
check_eq "the old columns are gone" "$cols" "id,customer,email,created,score,login,full_name"
check_eq "NOT NULL set, constraints validated, checks dropped" \
	"$(q "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnotnull AND attnum > 1")|$(q "SELECT string_agg(conname || ':' || convalidated, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype <> 'p'")" \
	"email,created|users_customer_fkey:true"
check_eq "NULL emails were filled first" "$(q "SELECT count(*) FROM users WHERE email = 'unknown'")" 0
check_eq "recorded as forced" \
	"$(q "SELECT forced FROM dbops.schema_changes WHERE name = 'users_many'")" t
run=$(sed -n 's/^Recorded as run \([0-9]*\).*/\1/p' <<<"$T_OUT")
check_eq "the run log records the command and the override" \
	"$(psql_q "SELECT command || '|' || (plan::text LIKE '%overridden by --force-contract%') FROM dbops.runs WHERE id = ${run:-0}")" \
	"migrations contract|true"
check_exit "nothing is left to plan" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# ---- refusals
spec contracted expanded
sed -i 's/type: text}/type: varchar}/' "$repo/cluster.yaml"
commit_all "$repo" "expand users_undo again, another type"
check "a rolled back change expands again" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
sed -i 's/type: varchar}/type: text}/' "$repo/cluster.yaml"
commit_all "$repo" "the definition moves"
check_exit "a definition that moved after expand is refused" 1 \
	"$DBOPS" plan --repo "$repo" --no-color
check_contains "naming the change" "$T_OUT" 'change "users_undo" was expanded from another definition'
spec contracted expanded
sed -i '/name: users_undo/,$d' "$repo/cluster.yaml"
commit_all "$repo" "users_undo dropped from the spec"
check_exit "an expanded change dropped from the spec is refused" 1 \
	"$DBOPS" plan --repo "$repo" --no-color
check_contains "never rolled back silently" "$T_OUT" \
	'change "users_undo" is expanded in database "dbops_t_expand_ops" but the spec no longer names it'

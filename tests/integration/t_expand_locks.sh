#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# Lock-safe DDL: an ALTER blocked by a long transaction is tried with a
# short lock_timeout, retried with backoff until the transaction ends,
# and succeeds, while the readers queued behind each attempt wait no
# longer than about lock_timeout; the plan names the session in the way
# beforehand. The same for a plain migration with
# lock_retries.migrations.

. "$(dirname "$0")/lib.sh"

DB=dbops_t_expand_locks
new_db "$DB" || exit 1
on_exit "psql_q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' -d postgres >/dev/null"
q() { psql_q "$1" -d "$DB"; }

q "CREATE TABLE items (id int PRIMARY KEY, name text);
   INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g" || exit 1

repo=$T_TMP/repo
mkdir -p "$repo/m"
printf 'SELECT 1;\n' >"$repo/m/V1__noop.sql"
spec()
{
	cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: expand-locks
migrations:
  lock_retries: {lock_timeout: 200ms, attempts: 40, backoff: 100ms, max_backoff: 500ms, migrations: true}
  databases:
    - database: $DB
      locations: [m]
      changes:
        - name: items_price
          table: items
          state: $1
          operations:
            - add_column: {column: price, type: numeric, default: "0", not_null: true}
YAML
}
spec rolled_back
make_repo "$repo"
check "the migrations are applied" "$DBOPS" apply --repo "$repo" --auto-approve --no-color

# hold_table SECONDS: a session reads the table in a transaction that
# stays open that long (ACCESS SHARE, which every ALTER TABLE waits for)
hold_table()
{
	PGAPPNAME=long_report psql -X -q -d "$DB" -c "BEGIN" \
		-c "SELECT count(*) FROM items" -c "SELECT pg_sleep($1)" \
		-c "COMMIT" >/dev/null 2>&1 &
	holder=$!
	for _ in $(seq 1 100); do
		[ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'long_report' AND l.relation = 'items'::regclass AND l.granted")" -gt 0 ] && return 0
		sleep 0.05
	done
}

# ---- a plain migration, retried
printf 'ALTER TABLE items ADD COLUMN plain int;\n' >"$repo/m/V2__plain.sql"
commit_all "$repo" "a plain ALTER"
hold_table 2.5
start=$(date +%s.%N)
check "the plain migration is applied once the transaction ends" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
wait "$holder"
check_contains "after retries on the lock" "$T_OUT" 'migration "V2__plain.sql": canceling statement due to lock timeout (attempt 1 of 40)'
check_eq "it waited for the long transaction" \
	"$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print (e - s >= 2) ? "yes" : "no" }')" yes
check_eq "the column is there" \
	"$(q "SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'plain'")" 1

# ---- a change, retried, with readers queued behind each attempt
spec expanded
commit_all "$repo" "expand items_price"
hold_table 3
check_exit "the plan lists the session that would block" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "by pid, application, state and lock" "$T_OUT" \
	"(long_report), active for"
check_contains "and what it runs, cut short" "$T_OUT" "holds AccessShareLock: SELECT pg_sleep("
cat >"$T_TMP/read.sql" <<'SQL'
\set id random(1, 1000)
SELECT name FROM items WHERE id = :id;
SQL
(cd "$T_TMP" && pgbench -n -c 2 -T 5 -f read.sql -l --log-prefix=readlog "$DB" \
	>"$T_TMP/reads.out" 2>&1) &
reader=$!
sleep 0.3
check "the expand succeeds once the transaction ends" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_contains "after retries" "$T_OUT" 'change "items_price": canceling statement due to lock timeout (attempt 1 of 40)'
wait "$holder"
wait "$reader"
check_eq "the column is there, NOT NULL enforced by a check not yet validated" \
	"$(q "SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND conname = 'items_price_not_null' AND NOT convalidated")" 1
max_ms=$(cat "$T_TMP"/readlog.* 2>/dev/null | awk '$3 > m { m = $3 } END { printf "%d", m / 1000 }')
n=$(cat "$T_TMP"/readlog.* 2>/dev/null | wc -l)
diag "$n reads during the expand, the slowest ${max_ms} ms (lock_timeout 200 ms)"
check_eq "no reader waited much longer than lock_timeout" \
	"$([ "$n" -gt 100 ] && [ "$max_ms" -lt 450 ] && echo yes)" yes
check_eq "and the readers saw no error" "$(grep -ci 'error\|abort' "$T_TMP/reads.out")" 0

# ---- contract: VALIDATE (no write lock), SET NOT NULL, the check dropped
spec contracted
commit_all "$repo" "contract items_price"
check_exit "contract is planned at once: nothing old to wait for" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "VALIDATE takes ShareUpdateExclusive" "$T_OUT" \
	'"line 1: ShareUpdateExclusive public.items, full scan"'
check "contract" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "the column is NOT NULL and the check is gone" \
	"$(q "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'price'")|$(q "SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'c'")" "t|0"
check_exit "nothing is left to plan" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

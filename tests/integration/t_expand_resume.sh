#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# A backfill interrupted by kill -9 of dbops, then by a restart of
# PostgreSQL, resumes from its cursor: no row skipped, none written
# twice by the backfill, the plan and `dbops status` saying where it
# stands; rows inserted all along do not keep it from ending; a table
# without a key to walk is refused before anything runs.

. "$(dirname "$0")/lib.sh"

DB=dbops_t_expand_resume
new_db "$DB" || exit 1
on_exit "psql_q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' -d postgres >/dev/null"
q() { psql_q "/* dbops:expand */ $1" -d "$DB"; }

q "CREATE TABLE people (id int PRIMARY KEY, full_name text);
   INSERT INTO people SELECT g, 'first' || g || ' last' || g FROM generate_series(1, 60000) g;
   CREATE TABLE nokey (a int, b text);
   ANALYZE people" || exit 1

repo=$T_TMP/repo
mkdir -p "$repo/m"
printf 'SELECT 1;\n' >"$repo/m/V1__noop.sql"
cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: expand-resume
migrations:
  databases:
    - database: $DB
      locations: [m]
      changes:
        - name: people_split
          table: people
          state: expanded
          operations:
            - split_column:
                column: full_name
                into:
                  - {column: first_name, type: text, up: "split_part(full_name, ' ', 1)"}
                  - {column: last_name, type: text, up: "split_part(full_name, ' ', 2)"}
                down: "first_name || ' ' || last_name"
          backfill: {batch_time: 10ms, pause: 20ms, first_batch: 200, max_batch: 300}
YAML
make_repo "$repo"

# rows keep arriving during the whole scenario
(
	i=100000
	while [ ! -f "$T_TMP/stop" ]; do
		psql -X -q -d "$DB" -c "INSERT INTO people VALUES ($i, 'new$i person$i')" >/dev/null 2>&1
		i=$((i + 1))
		sleep 0.02
	done
) &
inserter=$!
on_exit "touch '$T_TMP/stop'; wait $inserter 2>/dev/null"

apply_bg()
{
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color >"$1" 2>&1 &
	apid=$!
}
# wait_rows N: until the cursor has walked more than N rows (or 30s)
wait_rows()
{
	for _ in $(seq 1 300); do
		[ "$(q "SELECT coalesce((SELECT rows_done FROM dbops.backfill_cursor), 0)" 2>/dev/null || echo 0)" -gt "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# nothing_skipped: every row up to the cursor is filled, and right
nothing_skipped()
{
	q "SELECT count(*) FROM people WHERE id <= (SELECT last_key::int FROM dbops.backfill_cursor) AND (first_name IS DISTINCT FROM split_part(full_name, ' ', 1) OR last_name IS DISTINCT FROM split_part(full_name, ' ', 2))"
}

# ---- kill -9 in the middle of the backfill
apply_bg "$T_TMP/a1.out"
if wait_rows 3000; then
	ok "the backfill is under way"
else
	not_ok "the backfill is under way"
	diag "$(cat "$T_TMP/a1.out")"
fi
kill -9 "$apid"
wait "$apid" 2>/dev/null
sleep 1.5 # the backend notices its client is gone within a second
check_eq "killed before the end" \
	"$(q "SELECT finished_at IS NULL AND last_key::int < max_key::int FROM dbops.backfill_cursor")" t
check_eq "no row up to the cursor is skipped" "$(nothing_skipped)" 0
check_exit "the plan resumes the backfill" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "after the cursor" "$T_OUT" "interrupted, resumes after key $(q "SELECT last_key FROM dbops.backfill_cursor")"
check_not_contains "without expanding again" "$T_OUT" "people_split.expand"
check "status shows the progress" "$DBOPS" status --repo "$repo" --no-color
check_contains "rows done of the estimate" "$T_OUT" "rows ("

# ---- a server restart in the middle of the resumed backfill
done_before=$(q "SELECT rows_done FROM dbops.backfill_cursor")
apply_bg "$T_TMP/a2.out"
wait_rows $((done_before + 2000)) || diag "$(cat "$T_TMP/a2.out")"
check "PostgreSQL restarts during the backfill" sandbox_restart
wait "$apid"
rc=$?
check_eq "the apply fails with the connection" "$rc" 1
check_contains "saying so" "$(cat "$T_TMP/a2.out")" "backfill of change"
check_eq "the cursor moved on" \
	"$(q "SELECT rows_done > $done_before AND finished_at IS NULL FROM dbops.backfill_cursor")" t
check_eq "still no row up to the cursor is skipped" "$(nothing_skipped)" 0
check "the next apply finishes the backfill" \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_contains "from the cursor" "$T_OUT" 'backfill of change "people_split" resumes after key'
check_eq "the backfill ended although rows keep arriving" \
	"$(q "SELECT finished_at IS NOT NULL FROM dbops.backfill_cursor")" t
touch "$T_TMP/stop"
wait "$inserter"
check_eq "every row agrees, old ones and new ones" \
	"$(q "SELECT count(*) FROM people WHERE first_name IS DISTINCT FROM split_part(full_name, ' ', 1) OR last_name IS DISTINCT FROM split_part(full_name, ' ', 2)")" 0
check_eq "rows were inserted meanwhile" \
	"$([ "$(q "SELECT count(*) FROM people WHERE id >= 100000")" -gt 20 ] && echo yes)" yes
check_eq "the batches walked each row once" \
	"$(q "SELECT rows_done = (SELECT count(*) FROM people WHERE id <= max_key::int) FROM dbops.backfill_cursor")" t
check_exit "nothing is left to plan" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# ---- the new side writes the old column back through down
q "INSERT INTO people (id, first_name, last_name) VALUES (-1, 'ada', 'lovelace')"
check_eq "an insert by new code fills the old column" \
	"$(q "SELECT full_name FROM people WHERE id = -1")" "ada lovelace"

# ---- a table without a key is refused, before anything runs
cat >>"$repo/cluster.yaml" <<'YAML'
        - name: nokey_add
          table: nokey
          state: expanded
          operations:
            - rename_column: {column: b, to: c}
YAML
commit_all "$repo" "a table without a key"
check_exit "a table without a key to walk is refused" 1 \
	"$DBOPS" plan --repo "$repo" --no-color
check_contains "with a clear error" "$T_OUT" \
	'table public.nokey cannot be backfilled in batches: it has no primary key or unique index on one NOT NULL column'

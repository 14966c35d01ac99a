#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# Migrations dbops must never misreport, end to end through the CLI: a
# statement nested past a JSON parser's default depth (once recorded as
# applied with nothing run), one deep enough to overflow a stack (once a
# SIGSEGV), a NUL byte (once everything after it silently dropped), a
# file name that is not UTF-8 (once invalid JSON and an unlocated error
# at apply), and a generated stress corpus applied by dbops and by psql
# into two databases whose schemas must be identical. Then lint people can
# act on: dbops validate lints, findings name their object, plans end
# with a summary, and --lint-base shows only what a change touched.

. "$(dirname "$0")/lib.sh"

DB=dbops_t_trust
DB_A=dbops_t_stress_a
DB_B=dbops_t_stress_b
for d in "$DB" "$DB_A" "$DB_B"; do
	new_db "$d" || exit 1
	on_exit "psql_q 'DROP DATABASE IF EXISTS $d WITH (FORCE)' -d postgres >/dev/null"
done
q() { psql_q "$1" -d "$DB"; }

spec()
{
	cat >"$1/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: trust
migrations:
  databases:
    - database: $2
      locations: [m]
YAML
}

# ---- a statement deeper than json-c's default depth of 32
repo=$T_TMP/deep
mkdir -p "$repo/m"
spec "$repo" "$DB"
printf 'CREATE TABLE deep AS SELECT %s AS x;\n' \
	"$(printf '1+%.0s' $(seq 1 15))1" >"$repo/m/V1__deep.sql"
make_repo "$repo"
check "a deep statement plans" "$DBOPS" plan --repo "$repo" --no-color
check_contains "as one statement, not zero" "$T_OUT" 'statements  = "1"'
check "and applies" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "the table exists with the value the statement computes" \
	"$(q "SELECT x FROM deep")" 16
check_eq "and the history says so" \
	"$(q "SELECT success FROM flyway_schema_history WHERE version = '1'")" t

# ---- one that nests deeper than PostgreSQL accepts: refused by the
# server, never a crash
printf 'SELECT %s1;\n' "$(printf '1+%.0s' $(seq 1 80000))" >"$repo/m/V2__deeper.sql"
commit_all "$repo" "deeper"
check "validate reads an 80,000-term statement" "$DBOPS" validate --repo "$repo"
check "plan reads it" "$DBOPS" plan --repo "$repo" --no-color
check_contains "as one statement" "$T_OUT" 'statements  = "1"'
check_exit "apply fails as the server refuses it, without crashing" 1 \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_contains "with PostgreSQL's own message" "$T_OUT" "stack depth limit exceeded"
check_eq "and no history row" \
	"$(q "SELECT count(*) FROM flyway_schema_history WHERE version = '2'")" 0
git -C "$repo" rm -q m/V2__deeper.sql
commit_all "$repo" "no deeper"

# ---- a NUL byte: everything after it used to be dropped
printf 'CREATE TABLE before_nul (id int);\nSELECT 1;\0CREATE TABLE after_nul (id int);\n' \
	>"$repo/m/V3__nul.sql"
commit_all "$repo" "nul"
check_exit "validate refuses a NUL byte" 1 "$DBOPS" validate --repo "$repo"
check_contains "at its line and column" "$T_OUT" \
	'm/V3__nul.sql:2:10: ERROR:  migration "V3__nul.sql" contains a NUL byte'
check_exit "so does plan" 1 "$DBOPS" plan --repo "$repo" --no-color
check_exit "and apply, before anything runs" 1 \
	"$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_eq "nothing of it ran" \
	"$(q "SELECT count(*) FROM pg_tables WHERE tablename IN ('before_nul', 'after_nul')")" 0
git -C "$repo" rm -q m/V3__nul.sql

# ---- a file name that is not UTF-8
printf 'SELECT 1;\n' >"$repo/m/$(printf 'V4__caf\xe9.sql')"
commit_all "$repo" "latin-1 name"
check_exit "validate refuses a file name that is not UTF-8" 1 \
	"$DBOPS" validate --repo "$repo"
check_contains "naming it with the byte escaped" "$T_OUT" 'V4__caf\xE9.sql'
check "the message is valid UTF-8" iconv -f UTF-8 -t UTF-8 <<<"$T_OUT"
check_exit "a JSON plan is refused the same way" 1 \
	"$DBOPS" plan --repo "$repo" --format json
check "and prints nothing that is not UTF-8" iconv -f UTF-8 -t UTF-8 <<<"$T_OUT"
git -C "$repo" rm -q "m/$(printf 'V4__caf\xe9.sql')"
commit_all "$repo" "names fixed"
check_exit "with the files fixed nothing is pending" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# ---- the stress corpus: dbops and psql give the same schema
srepo=$T_TMP/stress
tsdir=$T_TMP/tablespace
mkdir -p "$srepo" "$tsdir"
[ "$(id -u)" -eq 0 ] && chown postgres "$tsdir"
python3 "$DBOPS_SRCDIR/tests/fixtures/stress/generate.py" "$srepo/m" "$tsdir" ||
	not_ok "generate the stress corpus"
spec "$srepo" "$DB_A"
make_repo "$srepo"
check "dbops validates the corpus" "$DBOPS" validate --repo "$srepo"
check "dbops applies the corpus" "$DBOPS" apply --repo "$srepo" --auto-approve --no-color
check_contains "every migration of it" "$T_OUT" "Apply complete! Changes: 0 added, 17 changed"
psql_failed=
while read -r mode file; do
	if [ "$mode" = tx ]; then
		opt=(-1)
	else
		opt=()
	fi
	if ! psql -X -q -v ON_ERROR_STOP=1 "${opt[@]}" -d "$DB_B" \
		-f "$srepo/m/$file" >/dev/null 2>"$T_TMP/psql.err"; then
		psql_failed="$file: $(cat "$T_TMP/psql.err")"
		break
	fi
done <"$srepo/m/manifest"
check_eq "psql applies it too" "$psql_failed" ""
dump()
{
	pg_dump -s -N dbops -T flyway_schema_history "$1" | grep -v '^\\\(un\)\?restrict '
}
dump_a=$(dump "$DB_A")
dump_b=$(dump "$DB_B")
check_eq "pg_dump -s of both databases is identical" "$dump_a" "$dump_b"
check_contains "and holds the deepest view" "$dump_a" "CREATE VIEW public.deep_case"
for t in part_3:5000 part_4:20000 orders:500; do
	check_eq "table ${t%%:*} has the same rows both ways" \
		"$(psql_q "SELECT count(*) FROM ${t%%:*}" -d "$DB_A")/$(psql_q "SELECT count(*) FROM ${t%%:*}" -d "$DB_B")" \
		"${t#*:}/${t#*:}"
done
check_exit "a second plan of the corpus is empty" 0 \
	"$DBOPS" plan --repo "$srepo" --no-color --detailed-exitcode

# ---- lint people can act on
lrepo=$T_TMP/lint
mkdir -p "$lrepo/m"
spec "$lrepo" "$DB"
for i in 1 2 3 4 5; do
	printf 'CREATE INDEX i%s ON t (a);\n' "$i" >"$lrepo/m/V${i}__index${i}.sql"
done
printf 'ALTER TABLE users ADD COLUMN a int NOT NULL, ADD COLUMN b int NOT NULL;\n' \
	>"$lrepo/m/V6__cols.sql"
printf 'CREATE TABLE n AS SELECT 1 AS id;\nALTER TABLE n ADD PRIMARY KEY (id);\n' \
	>"$lrepo/m/V7__ctas.sql"
make_repo "$lrepo"
check "validate lints every file" "$DBOPS" validate --repo "$lrepo"
out=$T_OUT
check_eq "three findings of a rule are shown" \
	"$(grep -c 'WARNING:  V[0-9]__index[0-9].sql \[require-concurrent-index-creation\]' <<<"$out")" 3
check_contains "one line per column" "$out" \
	'[adding-required-field] column "a" of "users"'
check_contains "the other column too" "$out" \
	'[adding-required-field] column "b" of "users"'
check_not_contains "a table CREATE TABLE ... AS made is new" "$out" "V7__ctas.sql ["
check_contains "the summary ends the output" "$(tail -n 8 <<<"$out")" \
	"lint found 7 problems in 7 migrations"
check_contains "with the count per rule" "$out" "require-concurrent-index-creation             5 (3 shown)"
check "-v shows every finding" "$DBOPS" validate --repo "$lrepo" -v
check_eq "all five" \
	"$(grep -c '\[require-concurrent-index-creation\]' <<<"$T_OUT")" 5
git -C "$lrepo" checkout -q -b feature
printf 'DROP TABLE old_stuff;\n' >"$lrepo/m/V8__drop.sql"
commit_all "$lrepo" "a change"
check "--lint-base lints what the change touched" \
	"$DBOPS" validate --repo "$lrepo" --rev feature --lint-base main
check_contains "the new file" "$T_OUT" "V8__drop.sql [ban-drop-table]"
check_not_contains "not the files main has" "$T_OUT" "V1__index1.sql"
check_contains "and says so" "$T_OUT" "7 migrations unchanged since the lint base were left out"

# a syntax error among many warnings heads the summary
printf 'SELECT 1 +;\n' >"$lrepo/m/V9__broken.sql"
commit_all "$lrepo" "broken"
check_exit "an error is never buried" 1 "$DBOPS" validate --repo "$lrepo" --rev feature
check_contains "the summary lists it first" "$(tail -n 12 <<<"$T_OUT")" \
	"Errors (1):"
check_contains "at its place" "$(tail -n 12 <<<"$T_OUT")" "m/V9__broken.sql:1:"

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The monitoring plugin end to end against the sandbox, with a workload
# the test makes: an N+1 client (psql's \gexec runs one lookup per row of
# a list) beside a join client under another role, a slow query on a
# 1M-row table without the index it needs, an unused and a duplicate
# index, a sequence at 95% of integer, an md5 role, and the sandbox's own
# trust lines. Checked: the plan (extensions, snapshot tables, the
# restart-only setting through the parameters plugin) and an empty plan
# after apply; each finding in `dbops status` with its evidence; the N+1
# client flagged and the join client not; index advice from HypoPG, and
# estimated without it, applied as a migration, making the query's plan
# cheaper (costs compared, no timing); evictions reported; retention; no
# reset of pg_stat_statements ever (stats_reset unchanged); objectives
# missed on the shared server and met on a cluster of our own that
# archives WAL. Every setting of the shared server is left as it was.

. "$(dirname "$0")/lib.sh"

DB=dbops_t_mon
ROLES="mon_n1 mon_join mon_slow mon_md5"
for r in $ROLES; do
	on_exit "psql_q 'DROP ROLE IF EXISTS $r' -d postgres >/dev/null"
done
# (clean-ups run last registered first: the database goes before its roles)
new_db "$DB" || exit 1
on_exit "psql_q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' -d postgres >/dev/null"
for r in $ROLES; do
	psql_q "DROP ROLE IF EXISTS $r; CREATE ROLE $r LOGIN" -d postgres \
		>/dev/null 2>&1 || exit 1
done
# an md5 verifier, made the way an old cluster made them
psql_q "SET password_encryption = 'md5'; ALTER ROLE mon_md5 PASSWORD 'not-a-secret-x1'" \
	-d postgres || exit 1

q() { psql_q "$1" -d "$DB"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

q "CREATE TABLE products (id int PRIMARY KEY, name text, price numeric);
INSERT INTO products SELECT g, 'p' || g, g % 100 FROM generate_series(1, 2000) g;
CREATE TABLE order_lines (id serial PRIMARY KEY, order_id int, product_id int);
INSERT INTO order_lines (order_id, product_id)
  SELECT g / 20, (g * 7) % 2000 + 1 FROM generate_series(0, 19999) g;
CREATE INDEX order_lines_order_id ON order_lines (order_id);
CREATE INDEX order_lines_order_id_again ON order_lines (order_id);
CREATE TABLE events (id bigint PRIMARY KEY, account_id int, kind int);
INSERT INTO events
  SELECT g, (g::bigint * 7919) % 50000, g % 10 FROM generate_series(1, 1000000) g;
CREATE INDEX events_kind ON events (kind);
CREATE TABLE tickets (id serial PRIMARY KEY);
SELECT setval('tickets_id_seq', 2040109465);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO mon_n1, mon_join, mon_slow" >/dev/null &&
	q "ANALYZE" || exit 1

repo=$T_TMP/repo
mkdir -p "$repo/migrations"
cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: itest
monitoring:
  databases: [$DB]
  statements: {}
  snapshots: {interval: 0s}
  advice: {hypopg: true}
  objectives: {rpo: 5min}
  top: 10
  checks:
    slow_queries: {mean: 20ms, min_calls: 3}
    n_plus_one: {min_intervals: 6}
    unused_indexes: {min_size: 1MB}
    sequential_scans: {min_scans: 3}
    security: {ignore: ['3.1.20']}
YAML
make_repo "$repo"

# ---- plan and apply ---------------------------------------------------------

check_exit "plan exits 2: extensions and snapshot tables" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
plan=$T_OUT
check_contains "CREATE EXTENSION pg_stat_statements in the database" "$plan" \
	"+ monitoring.$DB.extension.pg_stat_statements"
check_contains "hypopg for the advice" "$plan" "+ monitoring.$DB.extension.hypopg"
check_contains "the snapshot tables" "$plan" "+ monitoring.$DB.snapshots"
check_not_contains "the preload is there already: nothing for parameters" \
	"$plan" "parameters.shared_preload_libraries"
check "apply" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_exit "plan again: nothing left" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_eq "pg_stat_statements and hypopg are in the database" \
	"$(q "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('pg_stat_statements', 'hypopg')")" \
	"hypopg,pg_stat_statements"
reset_before=$(q "SELECT stats_reset FROM pg_stat_statements_info")
dealloc_before=$(q "SELECT dealloc FROM pg_stat_statements_info")

# pg_stat_statements.max through the parameters plugin: a restart, planned
# and flagged like any restart-only setting (not applied here: the shared
# server is not restarted)
sed -i 's/  statements: {}/  statements: {max: 6000}/' "$repo/cluster.yaml"
commit_all "$repo" "more statements"
check_exit "statements.max is planned by the parameters plugin" 2 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode
check_contains "as a restart-only setting" "$T_OUT" \
	"# parameters.pg_stat_statements.max will be updated in-place [needs restart]"
sed -i 's/  statements: {max: 6000}/  statements: {}/' "$repo/cluster.yaml"
commit_all "$repo" "back to the default"

# ---- the workload -----------------------------------------------------------

# One round, one psql session switching roles: the N+1 client lists the
# lines of some orders and looks up each line's product (one statement
# per row); the join client fetches the same with a join, as another
# role, a different number of times; the slow client counts events of an
# account. Then a status pass (snapshots.interval 0s: one snapshot per
# pass).
PSQL=$(pg_config --bindir)/psql
round()
{
	local r=$1 o n1=$((1 + (r * 7) % 5)) nj=$((1 + (r * 3) % 4))

	{
		for o in $(seq 1 "$n1"); do
			printf "SELECT format('SELECT name, price FROM products WHERE id = %%s', product_id) FROM order_lines WHERE order_id = %d \\\\gexec\n" $((r * 10 + o))
		done
		printf '\\connect - mon_join\n'
		for o in $(seq 1 "$nj"); do
			printf 'SELECT l.id, p.name, p.price FROM order_lines l JOIN products p ON p.id = l.product_id WHERE l.order_id = %d;\n' $((r * 10 + o))
		done
		printf '\\connect - mon_slow\n'
		printf 'SELECT count(*) FROM events WHERE account_id = %d;\n' "$r"
	} | "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -U mon_n1 >/dev/null ||
		return 1
	"$DBOPS" status --repo "$repo" --no-color >/dev/null 2>&1
	[ $? -le 2 ]
}
"$DBOPS" status --repo "$repo" >/dev/null 2>&1 # the first snapshot: a baseline
# pg_stat_statements keeps the literals of utility statements it
# tracks: a password among them
q "SET pg_stat_statements.track_utility = on; ALTER ROLE mon_slow PASSWORD 'not-a-secret-z3'" >/dev/null
ok_rounds=0
for r in $(seq 1 8); do
	round "$r" && ok_rounds=$((ok_rounds + 1))
done
check_eq "8 rounds of workload, each followed by a status pass" "$ok_rounds" 8

# ---- status -----------------------------------------------------------------

check_exit "status is unhealthy: the sandbox trusts every connection" 1 \
	"$DBOPS" status --repo "$repo" --no-color
st=$T_OUT
check_contains "the window is made of snapshots" "$st" "snapshot intervals"
check_contains "the N+1 loop is flagged with its pair and confidence" "$st" \
	"(role mon_n1, confidence high): SELECT name, price FROM products WHERE id = \$1"
check_eq "and only it" "$(grep -c 'runs .* times per call of queryid' <<<"$st")" 1
check_not_contains "the join client is not" "$st" "role mon_join, confidence"
check_contains "the slow query, with calls, mean and share" "$st" \
	"(role mon_slow): mean "
check_contains "the slow query's text" "$st" \
	"SELECT count(*) FROM events WHERE account_id = \$1"
check_contains "the unused index" "$st" "public.events_kind on events: no index scan"
check_contains "the duplicate index" "$st" \
	"public.order_lines_order_id_again (CREATE INDEX order_lines_order_id_again ON public.order_lines USING btree (order_id)) is covered by order_lines_order_id"
check_contains "the sequence at 95% of integer" "$st" \
	"public.tickets.id (integer, sequence public.tickets_id_seq) is at 95.0% of its maximum: 2,040,109,465 of 2,147,483,647"
check_contains "events are read by sequential scans" "$st" "public.events (1,000,000 rows):"
trust_line=$(psql_q "SELECT min(line_number) FROM pg_hba_file_rules WHERE auth_method = 'trust'")
check_contains "a trust line of pg_hba.conf, by its CIS id and line" "$st" \
	"[5.3/5.4] pg_hba.conf line $trust_line: "
check_contains "the md5 verifier" "$st" "[dbops:md5] role \"mon_md5\" still has an MD5 password verifier"
check_not_contains "an ignored finding is not reported" "$st" "[3.1.20]"
check_contains "the missed objective in the objectives table" "$st" \
	"rpo                    5.0min     -          missed   monitoring.objectives.rpo"
check_contains "and as a warning" "$st" \
	"WARNING:  monitoring check \"objectives\": 1 missed objective"
check_contains "each failed check is a diagnostic at its spec line" "$st" \
	"cluster.yaml:13:5: WARNING:  monitoring check \"unused_indexes\""
check_not_contains "the secret of the md5 role appears nowhere" "$st" "not-a-secret-x1"

# ---- the report -------------------------------------------------------------

check "report --format json" "$DBOPS" monitoring report --repo "$repo" --format json
rep=$T_OUT
check_eq "the report is JSON alone (problems go to stderr)" \
	"$(json 'print(d["format_version"])' <<<"$rep" 2>&1)" "1.0"
n1=$(json '
n = d["n_plus_one"]
print(len(n))
for p in n:
    print(p["role"], p["child_query"], "|", p["parent_query"], "|", round(p["ratio"], 1),
          p["correlation"] >= 0.9, p["intervals"] >= 8, p["one_lookup_per_row"], p["confidence"])
    print(p["fix"])' <<<"$rep")
check_eq "one N+1 pair, with its evidence" "$n1" \
	"1
mon_n1 SELECT name, price FROM products WHERE id = \$1 | SELECT format(\$1, product_id) FROM order_lines WHERE order_id = \$2 | 20.0 True True True high
SELECT name, price FROM products WHERE id = ANY(\$1)"
check_eq "the join client's statement is in the window, unflagged" \
	"$(json 'print(sum(1 for s in d["databases"][0]["top_statements"] if s["role"] == "mon_join"))' <<<"$rep")" 1
slow=$(json '
s = d["databases"][0]["slow_queries"]
print(len(s), s[0]["role"], s[0]["calls"], s[0]["rows_per_call"], 0 < s[0]["share"] <= 1,
      s[0]["mean_ms"] >= 20, abs(s[0]["total_ms"] - s[0]["mean_ms"] * s[0]["calls"]) < 0.01)' <<<"$rep")
check_eq "the slow query: calls, mean, total, rows per call, share" "$slow" \
	"1 mon_slow 8.0 1.0 True True True"
advice=$(json '
a = [x for x in d["index_advice"] if x["table"] == "events"]
print(len(a), a[0]["columns"], a[0]["method"], a[0]["cost_after"] < a[0]["cost_before"] / 10)
print(a[0]["migration"]["file"])' <<<"$rep")
check_contains "index advice for events (account_id), costed with HypoPG" "$advice" \
	"1 ['account_id'] hypopg True"
file=$(tail -n 1 <<<"$advice")
json 'print([x for x in d["index_advice"] if x["table"] == "events"][0]["migration"]["body"], end="")' \
	<<<"$rep" >"$T_TMP/advice.sql"
check_contains "the migration is CREATE INDEX CONCURRENTLY" "$(cat "$T_TMP/advice.sql")" \
	'CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_account_id_idx" ON "public"."events" ("account_id");'
check_eq "no hypothetical index is left behind" \
	"$(q "SELECT count(*) FROM hypopg_list_indexes")" 0
check_not_contains "the report holds no password a statement carried" "$rep" "not-a-secret-z3"
check_eq "the stored texts hold none either" \
	"$(q "SELECT count(*) FROM dbops.monitoring_queries WHERE query LIKE '%not-a-secret-z3%'")" 0
check_eq "the statement is stored normalised" \
	"$(q "SELECT count(*) FROM dbops.monitoring_queries WHERE query = 'ALTER ROLE mon_slow PASSWORD \$1'")" 1
sec=$(json 'print(sorted({f["id"] for c in d["checks"] if c["name"] == "security" for f in c["findings"]}))' <<<"$rep")
check_contains "security findings in the report" "$sec" "'5.3/5.4', 'dbops:md5'"

check "report in markdown" "$DBOPS" monitoring report --repo "$repo" --format markdown
check_contains "markdown: a slow queries table" "$T_OUT" \
	"| queryid | role | calls | mean | total | rows/call | share | query |"
check "report in text, since 10 minutes" "$DBOPS" monitoring report --repo "$repo" --since 10min
check_contains "text: the N+1 section" "$T_OUT" "N+1 suspects"
check_contains "text: the evidence" "$T_OUT" "one lookup per listed row"
check_exit "a bad --since is refused" 1 "$DBOPS" monitoring report --repo "$repo" --since soon
check_contains "with PostgreSQL's style" "$T_OUT" \
	'ERROR:  invalid duration "soon" for --since'

# without HypoPG: estimated from EXPLAIN, still an index on account_id
q "DROP EXTENSION hypopg" || exit 1
check "report without HypoPG" "$DBOPS" monitoring report --repo "$repo" --format json
check_contains "advice estimated from EXPLAIN without HypoPG" \
	"$(json 'print([(x["columns"], x["method"], x["cost_after"] < x["cost_before"]) for x in d["index_advice"] if x["table"] == "events"])' <<<"$T_OUT")" \
	"(['account_id'], 'estimate', True)"
check "apply puts hypopg back" "$DBOPS" apply --repo "$repo" --auto-approve --no-color

# ---- the advice, applied as a migration, makes the query cheaper ------------

cost()
{
	q "EXPLAIN (FORMAT JSON) SELECT count(*) FROM events WHERE account_id = 7" |
		json 'print(d[0]["Plan"]["Total Cost"])'
}
before=$(cost)
cp "$T_TMP/advice.sql" "$repo/migrations/$file"
cat >>"$repo/cluster.yaml" <<YAML
migrations:
  databases:
    - {database: $DB, locations: [migrations]}
YAML
commit_all "$repo" "the index the report advised"
check "apply the advised migration" "$DBOPS" apply --repo "$repo" --auto-approve --no-color
check_contains "it ran as a migration" "$T_OUT" "migrations.$DB."
after=$(cost)
check "the planned cost falls by more than 10 times ($before -> $after)" \
	python3 -c "import sys; sys.exit(0 if $after * 10 < $before else 1)"
check_eq "the index is valid" \
	"$(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_account_id_idx'::regclass")" t

# ---- snapshots: bounded, and never a reset -----------------------------------

snaps=$(q "SELECT count(*) FROM dbops.monitoring_snapshots")
check "one snapshot per pass, a handful of rows each ($snaps snapshots)" \
	test "$(q "SELECT max(kept) FROM dbops.monitoring_snapshots")" -le 200
q "UPDATE dbops.monitoring_snapshots SET taken_at = taken_at - interval '8 days'
   WHERE id < (SELECT max(id) FROM dbops.monitoring_snapshots)" >/dev/null
"$DBOPS" status --repo "$repo" >/dev/null 2>&1
check_eq "snapshots past the retention (7 days) are deleted" \
	"$(q "SELECT count(*) FROM dbops.monitoring_snapshots")" 2
check_eq "and the query texts nothing refers to any more" \
	"$(q "SELECT count(*) FROM dbops.monitoring_queries q WHERE NOT EXISTS (SELECT FROM dbops.monitoring_statements s WHERE s.queryid = q.queryid)")" 0
check_exit "status writes no plan change" 0 \
	"$DBOPS" plan --repo "$repo" --no-color --detailed-exitcode

# more distinct statements than pg_stat_statements.max keeps: evictions
python3 - "$T_TMP/many.sql" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for n in range(5300):
        cols = ", ".join("abs(1)" if n >> b & 1 else "sign(1)" for b in range(13))
        f.write("SELECT %s;\n" % cols)
PY
"$PSQL" -X -q -d "$DB" -f "$T_TMP/many.sql" >/dev/null
check_exit "status after 5,300 distinct statements" 1 "$DBOPS" status --repo "$repo" --no-color
check_contains "evictions are reported" "$T_OUT" \
	"pg_stat_statements evicted statements"
check "dealloc grew ($dealloc_before before)" \
	test "$(q "SELECT dealloc FROM pg_stat_statements_info")" -gt "$dealloc_before"
check_eq "pg_stat_statements was never reset" \
	"$(q "SELECT stats_reset FROM pg_stat_statements_info")" "$reset_before"

# ---- pg_stat_statements there, but not managed: counters since its reset -----

PLAIN=dbops_t_mon_plain
new_db "$PLAIN" >/dev/null 2>&1 || exit 1
on_exit "psql_q 'DROP DATABASE IF EXISTS $PLAIN WITH (FORCE)' -d postgres >/dev/null"
psql_q "CREATE EXTENSION pg_stat_statements" -d "$PLAIN" >/dev/null &&
	psql_q "SELECT count(*) FROM pg_class WHERE relname = 'plain_marker'" -d "$PLAIN" >/dev/null
prepo=$T_TMP/plain
mkdir -p "$prepo"
cat >"$prepo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: plain
monitoring:
  databases: [$PLAIN]
  checks: {security: off}
YAML
make_repo "$prepo"
check_exit "nothing to plan without statements:" 0 \
	"$DBOPS" plan --repo "$prepo" --no-color --detailed-exitcode
check_exit "status without snapshot tables" 0 "$DBOPS" status --repo "$prepo" --no-color
check_contains "the window is the counters since the last reset" "$T_OUT" \
	"database \"$PLAIN\": counters since "
check "the report of it" "$DBOPS" monitoring report --repo "$prepo" --format json
check_contains "lists the statements run there" \
	"$(json 'print([s["query"] for s in d["databases"][0]["top_statements"]])' <<<"$T_OUT")" \
	"SELECT count(*) FROM pg_class WHERE relname = \$1"

# ---- objectives met on a cluster that archives WAL ---------------------------

arch=$T_TMP/arch
if "$DBOPS_SRCDIR/contrib/sandbox" up "$arch" >"$T_TMP/arch.env" 2>"$T_TMP/arch.log"; then
	on_exit "'$DBOPS_SRCDIR/contrib/sandbox' down '$arch' >/dev/null 2>&1"
	aport=$(awk '$1 == "primary" { print $3 }' "$arch/services")
	run_as_pg mkdir -p "$arch/wal"
	cat >>"$arch/primary/postgresql.conf" <<CONF
archive_mode = on
archive_command = 'cp %p $arch/wal/%f'
CONF
	"$DBOPS_SRCDIR/contrib/sandbox" restart "$arch" >/dev/null 2>&1
	psql -X -q -h 127.0.0.1 -p "$aport" -d postgres -c "CREATE TABLE w (x int); INSERT INTO w VALUES (1); SELECT pg_switch_wal()" >/dev/null
	for i in $(seq 1 50); do
		[ "$(psql -X -A -t -h 127.0.0.1 -p "$aport" -d postgres -c "SELECT archived_count FROM pg_stat_archiver")" -ge 1 ] && break
		sleep 0.1
	done
	arepo=$T_TMP/arepo
	mkdir -p "$arepo"
	cat >"$arepo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: archiving
monitoring:
  objectives: {rpo: 1h, replication_lag: {bytes: 16MB}}
  checks: {security: off}
YAML
	make_repo "$arepo"
	check_exit "status where WAL is archived" 0 \
		"$DBOPS" status --repo "$arepo" --no-color --conninfo "host=127.0.0.1 port=$aport dbname=postgres"
	check_contains "the RPO is met, measured from pg_stat_archiver" \
		"$(grep '^rpo ' <<<"$T_OUT")" " met      monitoring.objectives.rpo — age of the last archived WAL segment"
	check_contains "no standby: the lag is not measured, not missed" "$T_OUT" \
		"replication_lag.bytes  16 MB      -          -        monitoring.objectives.replication_lag.bytes — no standby streams"
	sed -i 's/rpo: 1h/rpo: 1s/' "$arepo/cluster.yaml"
	commit_all "$arepo" "a tighter RPO"
	sleep 1.2
	check_exit "a tighter RPO is missed: degraded" 2 \
		"$DBOPS" status --repo "$arepo" --no-color --conninfo "host=127.0.0.1 port=$aport dbname=postgres"
	check_contains "missed, with the measured age" "$(grep '^rpo ' <<<"$T_OUT")" " missed   "
else
	not_ok "start a cluster of our own that archives WAL"
	diag "$(cat "$T_TMP/arch.log")"
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# roles.sh — the roles plugin against its floor, run by hand (not part of
# make check): 10,000 login roles with connection limits, 20,000 table
# grants across 200 tables (SELECT for 100 roles on each) and 50
# default-privilege entries, applied to an empty cluster by
#   - psql running the equivalent SQL in one transaction (the floor);
#   - dbops apply (spec read from a git commit);
# then the no-op re-run: dbops plan against psql running the same catalog
# queries the plugin's observe sends. hyperfine, in one run, on a sandbox
# cluster of its own. Prints the ratios; asserts nothing.
#
#   tests/bench/roles.sh [--roles N] [--runs N]

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
nroles=10000
ntables=200
per_table=100
ndefacl=50
runs=3
while [ $# -gt 0 ]; do
	case $1 in
	--roles) nroles=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: $0 [--roles N] [--runs N]" >&2; exit 2 ;;
	esac
done
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (contrib/install-deps.sh)" >&2; exit 1; }
. "$src/tests/bench/lib.sh"
bench_find_psql || exit 1

work=$(mktemp -d /tmp/dbops-bench-roles.XXXXXX)
chmod 0755 "$work"
cleanup()
{
	"$src/contrib/sandbox" destroy "$work/sandbox" >/dev/null 2>&1 || true
	rm -rf "$work"
}
[ -n "${BENCH_KEEP:-}" ] || trap cleanup EXIT

eval "$("$src/contrib/sandbox" up "$work/sandbox" 2>/dev/null)"
# 10,000 roles and 20,000 grants in one transaction lock one shared object
# per role: more than the default lock table holds (64 per connection)
$PSQL -X -q -d postgres -c "ALTER SYSTEM SET max_locks_per_transaction = 1024"
"$src/contrib/sandbox" restart "$work/sandbox" >/dev/null 2>&1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@dbops.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@dbops.invalid

repo=$work/repo
mkdir -p "$repo"

# ---- the workload: spec, floor SQL, reset SQL
awk -v n="$nroles" -v nt="$ntables" -v per="$per_table" -v nd="$ndefacl" \
	-v spec="$repo/cluster.yaml" -v floor="$work/floor.sql" \
	-v reset="$work/reset.sql" -v tables="$work/tables.sql" '
function role(i) { return sprintf("b%05d", i % n) }
BEGIN {
	# the compact forms (names:, roles:) keep the spec under the core
	# limits (1 MiB, 100,000 nodes per file)
	print "apiVersion: dbops/v1\ncluster: bench\nroles:\n  members:" > spec
	printf "    - login: true\n      connection_limit: 10\n      names: [" > spec
	print "BEGIN;" > floor
	for (i = 0; i < n; i++) {
		printf "%s%s", (i ? ", " : ""), role(i) > spec
		printf "CREATE ROLE %s WITH LOGIN CONNECTION LIMIT 10;\n", role(i) > floor
	}
	print "]\n  privileges:" > spec
	for (t = 0; t < nt; t++) {
		printf "CREATE TABLE public.t%03d (a int);\n", t > tables
		printf "    - {database: bench, schema: public, tables: [t%03d], grant: [SELECT], roles: [", t > spec
		for (k = 0; k < per; k++) {
			r = role(t * per + k)
			printf "%s%s", (k ? ", " : ""), r > spec
			printf "GRANT SELECT ON TABLE public.t%03d TO %s;\n", t, r > floor
		}
		print "]}" > spec
	}
	print "  default_privileges:" > spec
	for (j = 0; j < nd; j++) {
		printf "    - {role: %s, for_role: %s, database: bench, schema: public, on: tables, grant: [SELECT]}\n", role(j + nd), role(j) > spec
		printf "ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT SELECT ON TABLES TO %s;\n", role(j), role(j + nd) > floor
	}
	print "COMMIT;" > floor
	printf "DROP ROLE IF EXISTS " > reset
	for (i = 0; i < n; i++)
		printf "%s%s", (i ? ", " : ""), role(i) > reset
	print ";" > reset
}'

prep="$PSQL -X -q -d postgres -c 'DROP DATABASE IF EXISTS bench WITH (FORCE)' && $PSQL -X -q -d postgres -f $work/reset.sql && $PSQL -X -q -d postgres -c 'CREATE DATABASE bench' && $PSQL -X -q -d bench -f $work/tables.sql"

git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" commit -q -m bench
export PGDATABASE=bench PGOPTIONS='-c client_min_messages=warning'

echo "apply, $nroles roles, 20,000 grants, 50 default privileges:"
bench_alternate "$work/apply.tsv" "$runs" 1 --prepare "$prep" \
	"psql floor (one transaction)" "$PSQL -X -q -v ON_ERROR_STOP=1 -d bench -f $work/floor.sql >/dev/null" \
	"dbops apply" "$src/build/dbops apply --repo $repo --auto-approve --no-color >/dev/null"

# ---- no-op re-run on the applied cluster
eval "$prep"
"$src/build/dbops" apply --repo "$repo" --auto-approve --no-color >/dev/null
"$src/build/dbops" plan --repo "$repo" --no-color --detailed-exitcode >/dev/null ||
	{ echo "bench: the plan is not empty after apply" >&2; exit 1; }

# the statements observe sends (plugins/roles/observe.c), in one session
cat >"$work/noop.sql" <<'SQL'
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT current_user AS cu, current_database() AS db, (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS su;
SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit, EXTRACT(epoch FROM r.rolvaliduntil)::text AS validuntil, d.description AS comment, CASE WHEN r.rolname = ANY ('{}'::text[]) THEN r.rolpassword END AS pw FROM pg_catalog.pg_authid r LEFT JOIN pg_catalog.pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass;
SELECT r.rolname AS role, m.rolname AS member, a.admin_option FROM pg_catalog.pg_auth_members a JOIN pg_catalog.pg_roles r ON r.oid = a.roleid JOIN pg_catalog.pg_roles m ON m.oid = a.member;
SELECT datname FROM pg_catalog.pg_database WHERE datname = ANY ('{bench}'::text[]);
WITH o AS (SELECT CASE WHEN c.relkind = 'S' THEN 3 ELSE 2 END AS kind, n.nspname AS schema, c.relname::text AS name, c.relowner AS owner, COALESCE(c.relacl, pg_catalog.acldefault(CASE WHEN c.relkind = 'S' THEN 's'::"char" ELSE 'r'::"char" END, c.relowner)) AS acl FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema' UNION ALL SELECT 1, n.nspname, NULL, n.nspowner, COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner)) FROM pg_catalog.pg_namespace n WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema' UNION ALL SELECT 4, n.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', p.proowner, COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner)) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.prokind IN ('f', 'p') AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema') SELECT o.kind, o.schema, o.name, pg_catalog.pg_get_userbyid(o.owner) AS owner, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee, pg_catalog.string_agg(a.privilege_type, ',') AS privs FROM o LEFT JOIN LATERAL pg_catalog.aclexplode(o.acl) a ON a.grantee <> o.owner GROUP BY o.kind, o.schema, o.name, o.owner, a.grantee ORDER BY o.kind, o.schema, o.name;
SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS owner, n.nspname AS schema, d.defaclobjtype AS objtype, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee, pg_catalog.string_agg(a.privilege_type, ',') AS privs FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a WHERE a.grantee <> d.defaclrole GROUP BY d.defaclrole, n.nspname, d.defaclobjtype, a.grantee;
SELECT d.datname AS name, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee, pg_catalog.string_agg(a.privilege_type, ',') AS privs FROM pg_catalog.pg_database d LEFT JOIN LATERAL pg_catalog.aclexplode(COALESCE(d.datacl, pg_catalog.acldefault('d', d.datdba))) a ON a.grantee <> d.datdba WHERE d.datname = ANY ('{bench}'::text[]) GROUP BY d.datname, a.grantee;
COMMIT;
SQL

echo "no-op re-run:"
bench_alternate "$work/noop.tsv" "$runs" 3 \
	"psql (observe queries)" "$PSQL -X -q -d bench -f $work/noop.sql >/dev/null" \
	"dbops plan (no-op)" "$src/build/dbops plan --repo $repo --no-color >/dev/null"

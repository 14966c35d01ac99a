#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The roles plugin end to end through the CLI against the sandbox: roles
# created, altered and dropped; a password set from a secret, an unchanged
# secret giving an empty plan and a changed one exactly one change; a grant
# added by hand revoked on the next pass; default privileges reaching a
# table created afterwards; a role owning objects in two databases pruned;
# a self-lockout refused; the second plan empty after every apply; and the
# secret in no output, no log and no server log.
#
# The server is shared: every role here starts with "rt_", pruning ignores
# every other name, and everything is dropped at the end.

. "$(dirname "$0")/lib.sh"

SECRET1="rt-Secret-1-$$"
SECRET2="rt-Rotated-2-$$"
ALL_OUT=$T_TMP/all-output
: >"$ALL_OUT"

cleanup()
{
	local r
	for db in rt_a rt_b; do
		psql_q "DROP DATABASE IF EXISTS $db WITH (FORCE)" -d postgres >/dev/null 2>&1
	done
	psql_q "SELECT quote_ident(rolname) FROM pg_roles WHERE rolname LIKE 'rt\\_%'" -d postgres |
		while IFS= read -r r; do
			psql_q "DROP ROLE IF EXISTS $r" -d postgres >/dev/null 2>&1
		done
}
cleanup
on_exit cleanup

new_db rt_a >/dev/null 2>&1 || exit 1
new_db rt_b >/dev/null 2>&1 || exit 1
psql_q "CREATE TABLE public.t1 (a int); CREATE TABLE public.t2 (a int)" -d rt_a >/dev/null

spec=$T_TMP/spec
mkdir -p "$spec"

# login_with VAR: log in as rt_app over TCP with the password held in the
# variable named VAR (the name, not the value, appears in check output).
# The sandbox trusts 127.0.0.1, so a scram-sha-256 rule for rt_app is put
# first in pg_hba.conf for the scenario and removed at the end.
login_with()
{
	PGPASSWORD=${!1} PGCONNECT_TIMEOUT=5 psql -X -A -t -q -w -h 127.0.0.1 \
		-U rt_app -d rt_a -c "SELECT 1" >/dev/null 2>&1
}
HBA=$(psql_q "SHOW hba_file")
cp -p "$HBA" "$T_TMP/hba.orig"
restore_hba()
{
	cat "$T_TMP/hba.orig" >"$HBA" && psql_q "SELECT pg_reload_conf()" >/dev/null
}
on_exit restore_hba
{
	echo "host all rt_app 127.0.0.1/32 scram-sha-256"
	cat "$T_TMP/hba.orig"
} >"$HBA"
psql_q "SELECT pg_reload_conf()" >/dev/null
sleep 0.3

# dbops with the secret in its environment (DBOPS_SECRET_APP, exported rather
# than given on the command line a failed check prints); every output is
# kept for the secret check at the end
dbops_rc()
{
	local want=$1 what=$2
	export DBOPS_SECRET_APP=$3
	shift 3
	check_exit "$what" "$want" "$DBOPS" "$@" --dir "$spec" --no-color
	unset DBOPS_SECRET_APP
	printf '%s\n' "$T_OUT" >>"$ALL_OUT"
}

write_spec()
{
	cat >"$spec/cluster.yaml"
}

base_spec()
{
	cat <<YAML
apiVersion: dbops/v1
cluster: itest
roles:
  prune: ${PRUNE:-false}
  # the server is shared with other scenarios: only rt_* roles are pruned
  ignore: ["[!r]*", "r[!t]*", "rt[!_]*", "r", "rt"]
  reassign_to: rt_heir
  members:
    - {name: rt_app, login: true, connection_limit: ${LIMIT:-5}, password: {env: DBOPS_SECRET_APP}, member_of: [rt_read]}
    - {name: rt_read, comment: "read-only access"}
    - {name: rt_owner}
    - {name: rt_heir, valid_until: "2031-06-01 12:00:00+02"}
    - {name: 'rt_we"ird; DROP TABLE t1; --'}
${EXTRA:-}
  privileges:
    - {role: rt_app, database: rt_a, grant: [CONNECT]}
    - {role: rt_read, database: rt_a, schema: public, grant: [USAGE]}
    - {role: rt_read, database: rt_a, schema: public, tables: all, grant: [SELECT]}
    - {role: rt_owner, database: rt_a, schema: public, grant: [USAGE, CREATE]}
  default_privileges:
    - {role: rt_read, for_role: rt_owner, database: rt_a, schema: public, on: tables, grant: [SELECT]}
${HBA_RULES:-}
YAML
}

# the sandbox's own rules, after one rule of the scenario
hba_rules()
{
	cat <<YAML
  hba:
    - $1
    - {type: local, database: all, user: all, method: trust}
    - {type: host, database: all, user: all, address: 127.0.0.1/32, method: trust}
    - {type: host, database: all, user: all, address: "::1/128", method: trust}
    - {type: local, database: replication, user: all, method: trust}
    - {type: host, database: replication, user: all, address: 127.0.0.1/32, method: trust}
    - {type: host, database: replication, user: all, address: "::1/128", method: trust}
YAML
}

base_spec | write_spec

# ---- create
dbops_rc 2 "plan with new roles exits 2" "$SECRET1" plan --detailed-exitcode
check_contains "plan creates rt_app" "$T_OUT" "+ roles.role.rt_app"
check_contains "password shown as sensitive" "$T_OUT" "password         = (sensitive)"
check_contains "hostile name quoted in SQL" "$T_OUT" \
	'CREATE ROLE "rt_we""ird; DROP TABLE t1; --" WITH'
check_contains "membership planned" "$T_OUT" 'GRANT "rt_read" TO "rt_app";'
check_contains "table grant planned" "$T_OUT" \
	'GRANT SELECT ON TABLE "public"."t1" TO "rt_read";'
check_contains "default privileges planned" "$T_OUT" \
	'ALTER DEFAULT PRIVILEGES FOR ROLE "rt_owner" IN SCHEMA "public" GRANT SELECT ON TABLES TO "rt_read";'

dbops_rc 0 "apply" "$SECRET1" apply --auto-approve
check_eq "rt_app can log in, limit 5" \
	"$(psql_q "SELECT rolcanlogin || ' ' || rolconnlimit FROM pg_roles WHERE rolname = 'rt_app'")" "true 5"
check_eq "verifier is SCRAM" \
	"$(psql_q "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'rt_app'")" 'SCRAM-SHA-256$'
check_eq "hostile role exists" \
	"$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = 'rt_we\"ird; DROP TABLE t1; --'")" 1
check_eq "t1 survived the hostile name" "$(psql_q "SELECT count(*) FROM t1" -d rt_a)" 0
check_eq "rt_app is a member of rt_read" \
	"$(psql_q "SELECT pg_has_role('rt_app', 'rt_read', 'MEMBER')")" t
check_eq "rt_read reads t2" \
	"$(psql_q "SELECT has_table_privilege('rt_read', 'public.t2', 'SELECT')" -d rt_a)" t
check_eq "comment set" \
	"$(psql_q "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = 'rt_read'")" \
	"read-only access"
check_eq "valid_until set" \
	"$(psql_q "SELECT extract(epoch FROM rolvaliduntil) FROM pg_roles WHERE rolname = 'rt_heir'")" \
	"$(psql_q "SELECT extract(epoch FROM timestamptz '2031-06-01 10:00:00+00')")"
check_exit "login with the secret works (SCRAM)" 0 login_with SECRET1
check_exit "login with another password fails" 2 login_with SECRET2
dbops_rc 0 "second plan empty (password unchanged)" "$SECRET1" plan --detailed-exitcode
check_contains "no changes" "$T_OUT" "No changes."

# ---- password rotated
dbops_rc 2 "changed secret is planned" "$SECRET2" plan --detailed-exitcode
check_contains "exactly one change" "$T_OUT" "Plan: 0 to add, 1 to change, 0 to destroy."
check_contains "password changed, value hidden" "$T_OUT" "password = (sensitive value changed)"
dbops_rc 0 "apply the new password" "$SECRET2" apply --auto-approve
check_exit "login with the new secret works" 0 login_with SECRET2
check_exit "login with the old secret fails" 2 login_with SECRET1
dbops_rc 0 "plan empty after rotation" "$SECRET2" plan --detailed-exitcode
# a plan made where the secret is not available (a pull request) does not
# fail: the password state is reported unknown and nothing is planned
check_exit "plan without the secret" 0 \
	env -u DBOPS_SECRET_APP "$DBOPS" plan --dir "$spec" --no-color --detailed-exitcode
check_contains "says the password state is unknown" "$T_OUT" \
	'password state of role "rt_app" is unknown: its secret is not available here'

# ---- drift: a grant added by hand is revoked
psql_q "GRANT INSERT, DELETE ON t1 TO rt_read" -d rt_a >/dev/null
dbops_rc 2 "hand-made grant is drift" "$SECRET2" plan --detailed-exitcode
check_contains "revoke planned" "$T_OUT" \
	'REVOKE INSERT, DELETE ON TABLE "public"."t1" FROM "rt_read";'
dbops_rc 0 "apply revokes" "$SECRET2" apply --auto-approve
check_eq "INSERT revoked" \
	"$(psql_q "SELECT has_table_privilege('rt_read', 'public.t1', 'INSERT')" -d rt_a)" f
check_eq "SELECT kept" \
	"$(psql_q "SELECT has_table_privilege('rt_read', 'public.t1', 'SELECT')" -d rt_a)" t
dbops_rc 0 "plan empty after revoke" "$SECRET2" plan --detailed-exitcode

# ---- default privileges reach a table created afterwards
psql_q "SET ROLE rt_owner; CREATE TABLE public.later (a int)" -d rt_a >/dev/null
check_eq "rt_read reads the later table" \
	"$(psql_q "SELECT has_table_privilege('rt_read', 'public.later', 'SELECT')" -d rt_a)" t
dbops_rc 0 "plan empty with the later table" "$SECRET2" plan --detailed-exitcode

# ---- alter
LIMIT=9 base_spec | write_spec
dbops_rc 2 "connection limit change planned" "$SECRET2" plan --detailed-exitcode
check_contains "limit 5 -> 9" "$T_OUT" 'connection_limit = "5" -> "9"'
check_contains "one change" "$T_OUT" "Plan: 0 to add, 1 to change, 0 to destroy."
dbops_rc 0 "apply the alter" "$SECRET2" apply --auto-approve
check_eq "limit is 9" "$(psql_q "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'rt_app'")" 9
dbops_rc 0 "plan empty after alter" "$SECRET2" plan --detailed-exitcode

# ---- state: absent
psql_q "CREATE ROLE rt_old" >/dev/null
LIMIT=9 EXTRA="    - {name: rt_old, state: absent}" base_spec | write_spec
dbops_rc 2 "absent role planned" "$SECRET2" plan --detailed-exitcode
check_contains "drop is destructive" "$T_OUT" "roles.role.rt_old will be destroyed [destructive]"
dbops_rc 0 "apply without permission skips the drop" "$SECRET2" apply --auto-approve
check_contains "skipped" "$T_OUT" "skipped (destructive changes are not allowed)"
check_eq "rt_old still there" "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = 'rt_old'")" 1
dbops_rc 0 "apply with permission drops" "$SECRET2" apply --auto-approve --allow-destructive
check_eq "rt_old dropped" "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = 'rt_old'")" 0
dbops_rc 0 "plan empty after drop" "$SECRET2" plan --detailed-exitcode

# ---- prune a role owning objects in two databases
psql_q "CREATE ROLE rt_stray; GRANT CREATE ON SCHEMA public TO rt_stray" -d rt_a >/dev/null
psql_q "GRANT CREATE ON SCHEMA public TO rt_stray" -d rt_b >/dev/null
psql_q "SET ROLE rt_stray; CREATE TABLE public.s1 (a int)" -d rt_a >/dev/null
psql_q "SET ROLE rt_stray; CREATE TABLE public.s2 (a int)" -d rt_b >/dev/null
PRUNE=true LIMIT=9 base_spec | write_spec
dbops_rc 2 "prune planned" "$SECRET2" plan --detailed-exitcode
check_contains "stray role dropped" "$T_OUT" "- roles.role.rt_stray"
check_contains "objects reassigned" "$T_OUT" 'REASSIGN OWNED BY "rt_stray" TO "rt_heir"'
check_not_contains "other scenarios' roles are ignored" "$T_OUT" '- roles.role.postgres'
check_eq "only one role to destroy" "$(grep -c 'will be destroyed' <<<"$T_OUT")" 1
dbops_rc 0 "apply prune" "$SECRET2" apply --auto-approve --allow-destructive
check_eq "rt_stray gone" "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = 'rt_stray'")" 0
check_eq "s1 now owned by rt_heir" "$(psql_q "SELECT tableowner FROM pg_tables WHERE tablename = 's1'" -d rt_a)" rt_heir
check_eq "s2 now owned by rt_heir" "$(psql_q "SELECT tableowner FROM pg_tables WHERE tablename = 's2'" -d rt_b)" rt_heir
dbops_rc 0 "plan empty after prune" "$SECRET2" plan --detailed-exitcode

# ---- pg_hba: rules written, checked and reloaded
cat "$T_TMP/hba.orig" >"$HBA"
psql_q "SELECT pg_reload_conf()" >/dev/null
sleep 0.3
check_exit "without the scram rule any password is accepted (trust)" 0 login_with NOPE
HBA_RULES=$(hba_rules "{type: host, database: all, user: rt_app, address: 127.0.0.1/32, method: scram-sha-256}") \
	PRUNE=true LIMIT=9 base_spec | write_spec
dbops_rc 2 "hba change planned" "$SECRET2" plan --detailed-exitcode
check_contains "hba change shown" "$T_OUT" "roles.hba will be"
check_contains "rule 1 shown" "$T_OUT" 'rule 1   = "host all rt_app 127.0.0.1/32 scram-sha-256"'
dbops_rc 0 "apply the hba rules" "$SECRET2" apply --auto-approve
check_eq "the server reads the new rule" \
	"$(psql_q "SELECT auth_method FROM pg_hba_file_rules WHERE 'rt_app' = ANY (user_name)")" scram-sha-256
sleep 0.3
check_exit "after the reload a wrong password is refused" 2 login_with NOPE
check_exit "and the secret is accepted" 0 login_with SECRET2
check_eq "owner kept" "$(stat -c %U "$HBA")" "$(stat -c %U "$T_TMP/hba.orig")"
check_eq "mode kept" "$(stat -c %a "$HBA")" "$(stat -c %a "$T_TMP/hba.orig")"
dbops_rc 0 "plan empty after the hba apply" "$SECRET2" plan --detailed-exitcode
good_hba=$(cat "$HBA")

HBA_RULES=$(hba_rules "{type: host, database: all, user: rt_app, address: 127.0.0.1/32, method: scram-sha-257}") \
	PRUNE=true LIMIT=9 base_spec | write_spec
dbops_rc 1 "a broken rule fails the apply" "$SECRET2" apply --auto-approve
check_contains "the server's message, with the line" "$T_OUT" \
	'pg_hba rules rejected by the server: line 3: invalid authentication method "scram-sha-257"'
check_eq "the previous file is back" "$(cat "$HBA")" "$good_hba"
check_exit "the server still takes connections" 0 psql_q "SELECT 1"

HBA_RULES=$(hba_rules "{type: host, database: all, user: $PGUSER, address: 127.0.0.1/32, method: reject}") \
	PRUNE=true LIMIT=9 base_spec | write_spec
dbops_rc 1 "rules that reject dbops are refused" "$SECRET2" plan
check_contains "lockout explained" "$T_OUT" "the pg_hba rules would lock dbops out"
check_eq "the file is unchanged" "$(cat "$HBA")" "$good_hba"
HBA_RULES=$(hba_rules "{type: host, database: all, user: $PGUSER, address: 127.0.0.1/32, method: scram-sha-256}") \
	PRUNE=true LIMIT=9 base_spec | write_spec
dbops_rc 1 "a password rule for a password-less dbops is refused" "$SECRET2" plan
check_contains "method explained" "$T_OUT" 'with method "scram-sha-256", which it cannot satisfy'

# ---- self-lockout refused
cat >"$spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: itest
roles:
  members:
    - {name: $PGUSER, login: false, superuser: true}
YAML
dbops_rc 1 "removing LOGIN from dbops' own role is refused" "$SECRET2" plan
check_contains "refusal explained" "$T_OUT" "must keep its LOGIN and SUPERUSER attributes"

# ---- validation: a literal password is refused at file:line:col
cat >"$spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: itest
roles:
  members:
    - name: rt_x
      password: $SECRET1
YAML
dbops_rc 1 "a literal password is a validation error" "$SECRET2" validate
check_contains "located" "$T_OUT" "cluster.yaml:6:17"
check_contains "explains" "$T_OUT" "must be a secret reference, not a literal value"

# ---- the secrets are nowhere
# no_secret DESC VAR FILE: ok when the value of the variable named VAR is
# not in FILE; a failure says where, never what.
no_secret()
{
	local lines

	lines=$(grep -nFf <(printf '%s\n' "${!2}") "$3" | cut -d: -f1 |
		head -n 5 | tr '\n' ' ')
	if [ -z "$lines" ]; then
		ok "$1"
		return 0
	fi
	not_ok "$1"
	diag "found in $3 at line(s) $lines(text withheld)"
	return 1
}
no_secret "first secret in no dbops output" SECRET1 "$ALL_OUT"
no_secret "second secret in no dbops output" SECRET2 "$ALL_OUT"
if [ -r "$SANDBOX_DIR/primary.log" ]; then
	no_secret "first secret not in the server log" SECRET1 "$SANDBOX_DIR/primary.log"
	no_secret "second secret not in the server log" SECRET2 "$SANDBOX_DIR/primary.log"
fi
psql_q "SELECT string_agg(t::text, ' ') FROM dbops.runs t" >"$T_TMP/runlog" 2>&1
psql_q "SELECT string_agg(t::text, ' ') FROM dbops.run_changes t" >>"$T_TMP/runlog" 2>&1
check "the run log holds the password change" grep -q "roles.role.rt_app" "$T_TMP/runlog"
no_secret "first secret not in the run log" SECRET1 "$T_TMP/runlog"
no_secret "second secret not in the run log" SECRET2 "$T_TMP/runlog"

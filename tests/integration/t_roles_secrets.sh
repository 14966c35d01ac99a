#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The SCRAM verifier of a password dbops sets reaches neither the server log
# nor pg_stat_statements. In a database of its own, where every session logs
# every statement (log_statement, durations, sampled statements and
# transactions, messages with their statement, parse trees) and
# pg_stat_statements keeps utility statements, dbops creates a role with a
# password and then rotates it, as a superuser: the log shows dbops'
# session was logged, and neither the log nor pg_stat_statements holds the
# verifier, its salt or its keys. A non-superuser dbops role that may set
# none of those settings gets a plan warning naming each one, its value and
# the GRANT that fixes it; once granted, the warning is gone and its
# password change is kept out of both too.
#
# The settings are per database (ALTER DATABASE ... SET), so other
# scenarios on the shared server are not affected; pg_stat_statements is
# preloaded by contrib/sandbox. No check prints a verifier: a failure says
# where it was found, not what.

. "$(dirname "$0")/lib.sh"

DB=rs_db
OPS=rs_ops
SECRET1="rs-first-$$-$RANDOM"
SECRET2="rs-second-$$-$RANDOM"
SECRET3="rs-third-$$-$RANDOM"
LOG=$SANDBOX_DIR/primary.log

cleanup()
{
	psql_q "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -d postgres >/dev/null 2>&1
	# the SET privileges on parameters are shared objects
	psql_q "DROP OWNED BY $OPS" -d postgres >/dev/null 2>&1
	for r in rs_app rs_new $OPS; do
		psql_q "DROP ROLE IF EXISTS $r" -d postgres >/dev/null 2>&1
	done
}
cleanup
on_exit cleanup

check_eq "the sandbox preloads pg_stat_statements" \
	"$(psql_q "SELECT setting FROM pg_settings WHERE name = 'pg_stat_statements.track_utility'")" \
	on || exit 1
check "the server log can be read" test -r "$LOG" || exit 1
new_db "$DB" >/dev/null 2>&1 || exit 1
check "every session of $DB records every statement it can" psql_q "
CREATE EXTENSION pg_stat_statements;
ALTER DATABASE $DB SET log_statement = 'all';
ALTER DATABASE $DB SET log_min_duration_statement = 0;
ALTER DATABASE $DB SET log_min_duration_sample = 0;
ALTER DATABASE $DB SET log_statement_sample_rate = 1;
ALTER DATABASE $DB SET log_transaction_sample_rate = 1;
ALTER DATABASE $DB SET log_min_error_statement = 'debug5';
ALTER DATABASE $DB SET debug_print_parse = on;
ALTER DATABASE $DB SET debug_print_rewritten = on;
ALTER DATABASE $DB SET pg_stat_statements.track_utility = on" -d "$DB" ||
	exit 1

spec=$T_TMP/spec
mkdir -p "$spec"
write_spec()
{
	cat >"$spec/cluster.yaml"
}

# dbops_as DESC CODE USER SECRET ARGS...: dbops as USER on $DB, with
# SECRET in DBOPS_SECRET_APP (in the environment, not on a command line a failed
# check would show)
dbops_as()
{
	local desc=$1 code=$2 user=$3

	export DBOPS_SECRET_APP=$4
	shift 4
	check_exit "$desc" "$code" "$DBOPS" "$@" --dir "$spec" --no-color \
		--conninfo "dbname=$DB user=$user"
	unset DBOPS_SECRET_APP
}

# absent DESC FILE VAR: ok when the value of the variable named VAR does
# not occur in FILE. The value is never printed, nor passed as an argument.
absent()
{
	local desc=$1 file=$2 value=${!3} lines

	if [ ${#value} -lt 8 ]; then
		not_ok "$desc"
		diag "the value of $3 to look for is missing"
		return 1
	fi
	lines=$(grep -nFf <(printf '%s\n' "$value") "$file" | cut -d: -f1 |
		head -n 5 | tr '\n' ' ')
	if [ -z "$lines" ]; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	diag "found in $file at line(s) $lines(text withheld)"
	return 1
}

# present DESC FILE TEXT: ok when TEXT occurs in FILE (a log too long to
# show on failure).
present()
{
	if grep -qF -- "$3" "$2"; then
		ok "$1"
		return 0
	fi
	not_ok "$1"
	diag "\"$3\" not found in $2 ($(wc -l <"$2") lines)"
	return 1
}

# records NAME ROLE FROM: the server log since line FROM in
# $T_TMP/NAME.log and the query texts pg_stat_statements keeps for $DB in
# $T_TMP/NAME.pgss; the parts of ROLE's verifier in VERIFIER, SALT,
# STORED_KEY and SERVER_KEY.
records()
{
	local name=$1 role=$2 from=$3 keys

	tail -n "+$from" "$LOG" >"$T_TMP/$name.log"
	psql_q "SELECT query FROM pg_stat_statements s JOIN pg_database d
		ON d.oid = s.dbid WHERE d.datname = '$DB'" -d "$DB" \
		>"$T_TMP/$name.pgss"
	VERIFIER=$(psql_q "SELECT rolpassword FROM pg_authid WHERE rolname = '$role'" -d postgres)
	SALT=${VERIFIER#SCRAM-SHA-256\$*:}
	SALT=${SALT%%\$*}
	keys=${VERIFIER##*\$}
	STORED_KEY=${keys%%:*}
	SERVER_KEY=${keys#*:}
}

# the verifier and its parts are in neither record
check_records()
{
	local what=$1 name=$2 v

	for v in VERIFIER SALT STORED_KEY SERVER_KEY; do
		absent "$what: $v not in the server log" "$T_TMP/$name.log" $v
		absent "$what: $v not in pg_stat_statements" "$T_TMP/$name.pgss" $v
	done
}

psql_q "SELECT pg_stat_statements_reset()" -d "$DB" >/dev/null

# ---- as a superuser: create a role with a password, then rotate it
write_spec <<YAML
apiVersion: dbops/v1
cluster: secrets
roles:
  members:
    - {name: rs_app, login: true, password: {env: DBOPS_SECRET_APP}}
YAML
dbops_as "plan as a superuser" 2 postgres "$SECRET1" plan --detailed-exitcode
check_not_contains "a superuser gets no warning" "$T_OUT" "may be recorded"
from=$(($(wc -l <"$LOG") + 1))
dbops_as "create the role with its password" 0 postgres "$SECRET1" \
	apply --auto-approve
records create rs_app "$from"
present "dbops' session was logged with every statement" \
	"$T_TMP/create.log" "statement: SET statement_timeout = 0"
present "with durations" "$T_TMP/create.log" "duration: "
present "pg_stat_statements kept dbops' utility statements" \
	"$T_TMP/create.pgss" "SET lock_timeout = 0"
check_eq "the verifier is SCRAM" "${VERIFIER:0:14}" 'SCRAM-SHA-256$'
check_records "CREATE ROLE" create

from=$(($(wc -l <"$LOG") + 1))
dbops_as "rotation planned" 2 postgres "$SECRET2" plan --detailed-exitcode
check_contains "one change" "$T_OUT" "Plan: 0 to add, 1 to change, 0 to destroy."
dbops_as "rotate the password" 0 postgres "$SECRET2" apply --auto-approve
records rotate rs_app "$from"
check_records "ALTER ROLE" rotate
present "the statements after the change are logged again" \
	"$T_TMP/rotate.log" "statement: INSERT INTO dbops.run_changes"
dbops_as "second plan empty" 0 postgres "$SECRET2" plan --detailed-exitcode

# ---- a non-superuser that may set none of them
check "a non-superuser dbops role" psql_q "
CREATE ROLE $OPS LOGIN CREATEROLE;
GRANT USAGE ON SCHEMA dbops TO $OPS;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA dbops TO $OPS;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA dbops TO $OPS" -d "$DB"
write_spec <<YAML
apiVersion: dbops/v1
cluster: secrets
roles:
  members:
    - {name: rs_new, login: true, password: {env: DBOPS_SECRET_APP}}
YAML
dbops_as "plan as $OPS" 2 "$OPS" "$SECRET3" plan --detailed-exitcode
check_contains "the plan warns" "$T_OUT" \
	'WARNING:  the password verifier of role "rs_new" may be recorded by the server'
for s in 'log_transaction_sample_rate (now "1": ' 'log_statement (now "all": ' \
	'log_min_duration_statement (now "0": ' 'log_min_duration_sample (now "0": ' \
	'log_min_error_statement (now "debug5": ' \
	'pg_stat_statements.track_utility (now "on": '; do
	check_contains "the warning names ${s%% *} and its value" "$T_OUT" "$s"
done
check_contains "and says why" "$T_OUT" \
	"pg_stat_statements keeps the text of utility statements"
check_contains "and how to fix it" "$T_OUT" \
	"GRANT SET ON PARAMETER log_transaction_sample_rate, log_statement, log_min_duration_statement, log_min_duration_sample, log_min_error_statement, pg_stat_statements.track_utility TO \"rs_ops\";"
check_not_contains "the secret is not in the plan" "$T_OUT" "$SECRET3"

check "grant them" psql_q "GRANT SET ON PARAMETER log_transaction_sample_rate,
	log_statement, log_min_duration_statement, log_min_duration_sample,
	log_min_error_statement, pg_stat_statements.track_utility TO $OPS"
dbops_as "plan as $OPS again" 2 "$OPS" "$SECRET3" plan --detailed-exitcode
check_not_contains "no warning once granted" "$T_OUT" "may be recorded"
from=$(($(wc -l <"$LOG") + 1))
dbops_as "apply as $OPS" 0 "$OPS" "$SECRET3" apply --auto-approve
records granted rs_new "$from"
present "$OPS' session was logged" "$T_TMP/granted.log" \
	"statement: SET statement_timeout = 0"
check_records "CREATE ROLE as $OPS" granted
dbops_as "second plan empty" 0 "$OPS" "$SECRET3" plan --detailed-exitcode

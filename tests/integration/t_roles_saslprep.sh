#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# SASLprep end to end: dbops recomputes the verifier PostgreSQL itself
# stored for a non-ASCII password (the server hashes a cleartext password
# after SASLprep: mapped, normalised, or raw when refused), with the
# stored salt and iteration count, and finds it equal, so it plans nothing;
# a secret that differs only by what SASLprep normalises is the same
# password; one that really differs is planned. A role whose password dbops
# sets from a non-ASCII secret plans nothing on the second pass, and a
# client (libpq applies SASLprep too) logs in with the secret and with its
# normalised form. No secret appears in dbops' output.
#
# Roles start with "rp_" and are dropped at the end; the cleartext
# passwords the test gives the server are sent with statement logging and
# pg_stat_statements turned off for that session.

. "$(dirname "$0")/lib.sh"

spec=$T_TMP/spec
mkdir -p "$spec"
ALL_OUT=$T_TMP/all-output
: >"$ALL_OUT"
ASCII_DB=rp_ascii

cleanup()
{
	local r

	psql_q "DROP DATABASE IF EXISTS $ASCII_DB WITH (FORCE)" -d postgres >/dev/null 2>&1
	psql_q "SELECT quote_ident(rolname) FROM pg_roles WHERE rolname LIKE 'rp\\_%'" -d postgres |
		while IFS= read -r r; do
			psql_q "DROP ROLE IF EXISTS $r" -d postgres >/dev/null 2>&1
		done
}
cleanup
on_exit cleanup

# server_sets ROLE VAR [PSQL-OPTION...]: the server hashes the password
# held in the variable named VAR for ROLE (created if missing), from a
# session that records no statement; the SQL goes through stdin, and a
# line of psql's errors that holds the password is not shown.
server_sets()
{
	local role=$1 pw=${!2} err rc=0

	shift 2
	psql_q "CREATE ROLE $role LOGIN" >/dev/null 2>&1
	err=$(printf '%s\n' "SET log_statement = 'none';" \
		"SET log_min_duration_statement = -1;" \
		"SET log_min_error_statement = 'panic';" \
		"SET pg_stat_statements.track_utility = off;" \
		"SET password_encryption = 'scram-sha-256';" \
		"ALTER ROLE $role PASSWORD '$pw';" |
		psql -X -q -v ON_ERROR_STOP=1 "$@" -f - 2>&1 >/dev/null) || rc=$?
	grep -vFf <(printf '%s\n' "$pw") <<<"$err"
	return "$rc"
}

# The same from a SQL_ASCII client, which sends any bytes as they are.
server_sets_bytes()
{
	PGCLIENTENCODING=SQL_ASCII server_sets "$@"
}

# dbops_with VAR CODE DESC ARGS...: dbops with the password in the
# variable named VAR as DBOPS_SECRET_RP, in the environment rather than on a
# command line a failed check would show.
dbops_with()
{
	local code=$2 desc=$3

	export DBOPS_SECRET_RP=${!1}
	shift 3
	check_exit "$desc" "$code" "$DBOPS" "$@" --dir "$spec" --no-color
	unset DBOPS_SECRET_RP
	printf '%s\n' "$T_OUT" >>"$ALL_OUT"
}

# plan_for ROLE VAR CODE DESC: dbops plans ROLE with the password in the
# variable named VAR and exits with CODE (0: nothing to do).
plan_for()
{
	local role=$1 var=$2 code=$3 desc=$4

	cat >"$spec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: saslprep
roles:
  members:
    - {name: $role, login: true, password: {env: DBOPS_SECRET_RP}}
YAML
	dbops_with "$var" "$code" "$desc" plan --detailed-exitcode
}

# ---- the server's verifier, recomputed by dbops
# name, password (UTF-8 bytes), what SASLprep does with it
cases=(
	soft_hyphen $'I\xc2\xadX-rp' "U+00AD mapped to nothing"
	umlauts $'p\xc3\xa4ssw\xc3\xb6rd-rp' "precomposed, kept"
	decomposed $'pa\xcc\x88ssword-rp' "a + U+0308 composed by NFKC"
	roman $'\xe2\x85\xa8-rp' "U+2168 to IX by NFKC"
	fullwidth $'\xef\xbc\xb0\xef\xbd\x81\xef\xbd\x93\xef\xbd\x93-rp' "fullwidth letters to ASCII by NFKC"
	nbsp $'a\xc2\xa0b-rp' "U+00A0 mapped to a space"
	cyrillic_cjk $'\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c-\xe6\x97\xa5\xe6\x9c\xac' "unchanged"
	bidi $'\xd8\xa7\x31-rp' "breaks the bidi rules: hashed raw"
	unassigned $'\xc3\xa9\xc8\xa1-rp' "U+0221 unassigned in Unicode 3.2: hashed raw"
	before_nfkc $'e\xcd\x80-rp' "U+0340 refused before NFKC: hashed raw"
)
for ((i = 0; i < ${#cases[@]}; i += 3)); do
	name=${cases[i]}
	PW=${cases[i + 1]}
	check "the server hashes the $name password" server_sets "rp_$name" PW ||
		continue
	check_eq "its verifier is SCRAM" \
		"$(psql_q "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'rp_$name'")" \
		'SCRAM-SHA-256$'
	plan_for "rp_$name" PW 0 "dbops finds the $name password equal (${cases[i + 2]})"
done

# normalisation makes two secrets one password; a different one differs
EQUIV=IX-rp
plan_for rp_soft_hyphen EQUIV 0 "IX-rp is the same password as I<U+00AD>X-rp"
OTHER=$'I\xc2\xadY-rp'
plan_for rp_soft_hyphen OTHER 2 "I<U+00AD>Y-rp is another password"
check_contains "planned as a changed password" "$T_OUT" \
	"password = (sensitive value changed)"
EQUIV=$'p\xc3\xa4ssword-rp'
plan_for rp_decomposed EQUIV 0 "the precomposed form is the same password"

# not UTF-8: hashed raw, by the server (through a SQL_ASCII database,
# where the bytes are accepted) and by dbops
RAW=$'rp-\xff\xfe-raw'
check "a SQL_ASCII database" psql_q \
	"CREATE DATABASE $ASCII_DB ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
check "the server hashes a password that is not UTF-8" \
	server_sets_bytes rp_raw RAW -d "$ASCII_DB"
plan_for rp_raw RAW 0 "dbops finds the raw password equal"

# ---- dbops sets a non-ASCII password: converges, and clients log in
HBA=$(psql_q "SHOW hba_file")
cp -p "$HBA" "$T_TMP/hba.orig"
restore_hba()
{
	cat "$T_TMP/hba.orig" >"$HBA" && psql_q "SELECT pg_reload_conf()" >/dev/null
}
on_exit restore_hba
{
	echo "host all rp_login 127.0.0.1/32 scram-sha-256"
	cat "$T_TMP/hba.orig"
} >"$HBA"
psql_q "SELECT pg_reload_conf()" >/dev/null
sleep 0.3

# login_with VAR: log in as rp_login over TCP with the password in the
# variable named VAR
login_with()
{
	PGPASSWORD=${!1} PGCONNECT_TIMEOUT=5 psql -X -A -t -q -w -h 127.0.0.1 \
		-U rp_login -d postgres -c "SELECT 1" >/dev/null 2>&1
}

LOGIN=$'I\xc2\xadX-\xe2\x85\xa8-login'
plan_for rp_login LOGIN 2 "a new role with a non-ASCII password"
dbops_with LOGIN 0 "apply it" apply --auto-approve
plan_for rp_login LOGIN 0 "the second pass plans nothing"
check_exit "a client logs in with the secret" 0 login_with LOGIN
NORMAL=IX-IX-login
check_exit "and with its SASLprep form" 0 login_with NORMAL
WRONG=IX-IX-logon
check_exit "not with another password" 2 login_with WRONG

# ---- no secret in dbops' output
secrets=$T_TMP/secrets
for ((i = 1; i < ${#cases[@]}; i += 3)); do
	printf '%s\n' "${cases[i]}"
done >"$secrets"
printf '%s\n' "$RAW" "$LOGIN" "$OTHER" >>"$secrets"
if grep -qFf "$secrets" "$ALL_OUT"; then
	not_ok "no secret in dbops' output"
	diag "a secret was found in $ALL_OUT (text withheld)"
else
	ok "no secret in dbops' output"
fi

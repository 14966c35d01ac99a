#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The trust boundary of planning unreviewed revisions. A fake PostgreSQL
# server that asks for a cleartext password records every byte it is
# sent; a pull request's spec points dbops at it together with a secret
# reference — for the connection password, a role password, a PgBouncer
# auth entry and a replica — and `dbops plan --trusted-rev main` must
# refuse before connecting anywhere, naming the keys that differ, with the
# fake server having received nothing. Secret references outside the
# allow-list are located errors whose value is never read; a literal
# password in a connection string is refused without being repeated;
# `--dir` follows no symbolic link.

. "$(dirname "$0")/lib.sh"

DB=dbops_t_trust2
new_db "$DB" || exit 1
on_exit "psql_q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' -d postgres >/dev/null"

# the fake server
python3 "$DBOPS_SRCDIR/tests/fixtures/fake_pg_server.py" "$T_TMP/fake.port" \
	"$T_TMP/fake.log" &
fake=$!
on_exit "kill $fake 2>/dev/null"
for _ in $(seq 1 100); do
	[ -s "$T_TMP/fake.port" ] && break
	sleep 0.05
done
FAKE_PORT=$(cat "$T_TMP/fake.port")
received() { wc -c <"$T_TMP/fake.log" | tr -d ' '; }

export DBOPS_SECRET_PW='pr-secret-must-stay-home'
export DBOPS_GIT_TOKEN='token-must-stay-home'
export DBOPS_SECRET_POOL='pool-secret-must-stay-home'

repo=$T_TMP/repo
mkdir -p "$repo"
cat >"$repo/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: trust
connection:
  conninfo: "host=$PGHOST port=$PGPORT dbname=postgres"
parameters:
  work_mem: 4MB
roles:
  members:
    - {name: trust_app, login: true}
YAML
make_repo "$repo"
check "main plans against the real cluster" \
	"$DBOPS" plan --repo "$repo" --rev main --trusted-rev main --no-color

# ---- a pull request that changes only the desired state plans
git -C "$repo" checkout -q -b pr-ok
sed -i 's/work_mem: 4MB/work_mem: 8MB/' "$repo/cluster.yaml"
commit_all "$repo" "more work_mem"
check "a change of desired state plans against the trusted revision" \
	"$DBOPS" plan --repo "$repo" --rev pr-ok --trusted-rev main --no-color
check_contains "showing the change" "$T_OUT" "parameters.work_mem"

# pr_branch NAME SED...: a branch from main with the spec edited
pr_branch()
{
	local name=$1

	shift
	git -C "$repo" checkout -q main
	git -C "$repo" checkout -q -b "$name"
	"$@" "$repo/cluster.yaml"
	commit_all "$repo" "$name"
}

refused()
{
	local what=$1 key=$2 rev=$3

	check_exit "$what: the plan is refused" 1 \
		"$DBOPS" plan --repo "$repo" --rev "$rev" --trusted-rev main --no-color
	check_contains "$what: naming the key" "$T_OUT" "$key"
	check_contains "$what: before any connection" "$T_OUT" "Nothing was connected to."
	check_not_contains "$what: the secret is not printed" "$T_OUT" "must-stay-home"
	check_eq "$what: the fake server received nothing" "$(received)" 0
}

# ---- the connection password
pr_branch pr-conn sed -i "s|conninfo: .*|conninfo: \"host=127.0.0.1 port=$FAKE_PORT dbname=postgres\"\n  password: {env: DBOPS_SECRET_PW}|"
refused "connection" "connection.conninfo (connection, changed)" pr-conn
check_contains "connection: and the new secret reference" "$T_OUT" \
	"connection.password (secret, new)"

# ---- a role password, on a host of the pull request's choosing
pr_branch pr-role sed -i "s|conninfo: .*|conninfo: \"host=127.0.0.1 port=$FAKE_PORT dbname=postgres\"|; s|{name: trust_app, login: true}|{name: trust_app, login: true, password: {env: DBOPS_SECRET_PW}}|"
refused "role password" "roles.members[0].password (secret, new)" pr-role

# ---- a PgBouncer auth entry and its console
pr_branch pr-pool sed -i "\$a pooler:\n  pgbouncer: {config_file: $T_TMP/pgbouncer.ini, admin: \"host=127.0.0.1 port=$FAKE_PORT dbname=pgbouncer\"}\n  auth_users:\n    - {name: trust_app, password: {env: DBOPS_SECRET_POOL}}"
refused "pooler" "pooler.pgbouncer.admin (connection, new)" pr-pool
check_contains "pooler: and its auth entry's secret" "$T_OUT" \
	"pooler.auth_users[0].password (secret, new)"

# ---- a replica on a host of the pull request's choosing
pr_branch pr-replica sed -i "\$a replicas:\n  members:\n    - {name: evil, host: 127.0.0.1, port: $FAKE_PORT, data_dir: $T_TMP/evil}"
refused "replica" "replicas.members[0].host (connection, new)" pr-replica

# ---- the trusted revision can come from the configuration file
cat >"$T_TMP/dbops.yaml" <<YAML
apiVersion: dbops/v1
trusted_rev: main
YAML
check_exit "trusted_rev in the configuration refuses the same" 1 \
	"$DBOPS" plan --repo "$repo" --rev pr-conn --config "$T_TMP/dbops.yaml" --no-color
check_contains "naming the trusted revision" "$T_OUT" 'trusted revision "main"'
check_eq "still nothing reached the fake server" "$(received)" 0

# ---- secret references the configuration does not allow
git -C "$repo" checkout -q main
sec=$T_TMP/sec
mkdir -p "$sec"
cat >"$sec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: trust
connection:
  conninfo: "host=127.0.0.1 port=$FAKE_PORT dbname=postgres"
  password: {env: DBOPS_GIT_TOKEN}
roles:
  members:
    - {name: a, login: true, password: {file: /etc/hostname}}
YAML
check_exit "an {env} reference outside the allow-list is refused" 1 \
	"$DBOPS" plan --dir "$sec" --no-color
check_contains "at its place" "$T_OUT" \
	"cluster.yaml:5:13: ERROR:  secret reference {env: DBOPS_GIT_TOKEN} is not allowed"
check_contains "a {file} reference too" "$T_OUT" \
	"secret reference {file: /etc/hostname} is not allowed"
check_not_contains "the values are never read" "$T_OUT" "must-stay-home"
check_eq "and nothing was connected to" "$(received)" 0
mkdir -p "$T_TMP/secrets"
printf 'file-secret-must-stay-home\n' >"$T_TMP/secrets/pw"
cat >"$T_TMP/allow.yaml" <<YAML
apiVersion: dbops/v1
secrets:
  env: [DBOPS_SECRET_*]
  files: [$T_TMP/secrets]
YAML
cat >"$sec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: trust
roles:
  members:
    - {name: a, login: true, password: {file: $T_TMP/secrets/pw}}
    - {name: b, login: true, password: {file: $T_TMP/secrets/../allow.yaml}}
YAML
check_exit "a file below an allowed directory passes, one outside does not" 1 \
	"$DBOPS" validate --dir "$sec" --config "$T_TMP/allow.yaml"
check_not_contains "the allowed one is accepted" "$T_OUT" "{file: $T_TMP/secrets/pw} is not allowed"
check_contains "\"..\" out of the directory is refused" "$T_OUT" \
	"{file: $T_TMP/secrets/../allow.yaml} is not allowed"

# ---- a literal password in a connection string
cat >"$sec/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: trust
connection:
  conninfo: "host=127.0.0.1 port=$FAKE_PORT password=literal-must-stay-home"
YAML
check_exit "a literal password in connection.conninfo is refused" 1 \
	"$DBOPS" validate --dir "$sec"
check_contains "located" "$T_OUT" "cluster.yaml:4:13: ERROR:  connection.conninfo holds a password"
check_not_contains "without repeating it" "$T_OUT" "literal-must-stay-home"
printf 'apiVersion: dbops/v1\ncluster: trust\nconnection:\n  conninfo: "postgresql://u:uri-must-stay-home@127.0.0.1/x"\n' \
	>"$sec/cluster.yaml"
check_exit "so is one in a URI" 1 "$DBOPS" validate --dir "$sec"
check_not_contains "also not repeated" "$T_OUT" "uri-must-stay-home"
check_eq "nothing ever reached the fake server" "$(received)" 0

# ---- --dir follows no symbolic link
dir=$T_TMP/linked
mkdir -p "$dir" "$T_TMP/outside/m"
printf 'CREATE TABLE evil (id int);\n' >"$T_TMP/outside/m/V1__evil.sql"
ln -s "$T_TMP/outside/m" "$dir/m"
cat >"$dir/cluster.yaml" <<YAML
apiVersion: dbops/v1
cluster: trust
migrations:
  databases:
    - database: $DB
      locations: [m]
YAML
check_exit "a migrations location through a symbolic link is refused" 1 \
	"$DBOPS" apply --dir "$dir" --auto-approve --no-color
check_contains "saying so" "$T_OUT" '"m" is, or passes through, a symbolic link'
check_eq "and nothing from outside ran" \
	"$(psql_q "SELECT count(*) FROM pg_tables WHERE tablename = 'evil'" -d "$DB")" 0

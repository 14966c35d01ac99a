#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# dbops under valgrind: validate, plan, apply, status and history of a
# small spec (a parameter, a role with a privilege, two migrations of a
# database of its own) read from a git repository, each run with --leak-check=full and
# --error-exitcode=9, so that a leak or an invalid read in dbops or a
# plugin (or a library it calls) fails the check with valgrind's report.
# Nothing is suppressed.
#
# needs-plain-build: valgrind cannot run a binary built with AddressSanitizer

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/params_lib.sh"

command -v valgrind >/dev/null || {
	not_ok "valgrind is installed (contrib/install-deps.sh installs it)"
	exit 1
}

reset_params
on_exit reset_params
drop_role()
{
	psql_q "DO \$\$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'vg_app') THEN DROP OWNED BY vg_app; DROP ROLE vg_app; END IF; END\$\$" >/dev/null
}
drop_role
on_exit drop_role
new_db vg_db || exit 1
on_exit 'psql_q "DROP DATABASE IF EXISTS vg_db WITH (FORCE)" -d postgres >/dev/null'

spec=$T_TMP/spec
repo=$T_TMP/repo
write_spec "$spec" <<'YAML'
apiVersion: dbops/v1
cluster: vg
parameters:
  work_mem: 12MB
roles:
  members:
    - {name: vg_app, login: true, connection_limit: 5}
  privileges:
    - {role: vg_app, database: postgres, grant: [CONNECT]}
migrations:
  databases:
    - {database: vg_db, locations: [migrations]}
YAML
mkdir -p "$spec/migrations"
cat >"$spec/migrations/V1__accounts.sql" <<'SQL'
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
SQL
cat >"$spec/migrations/V2__accounts_email.sql" <<'SQL'
CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);
SQL
make_repo "$repo" "$spec"

vg=(valgrind --leak-check=full --error-exitcode=9 --quiet
	--log-file="$T_TMP/valgrind.%p.log")

# check_vg DESC CODE DBOPS-ARGS...: run dbops under valgrind and expect
# exit status CODE; on failure, show valgrind's report too.
check_vg()
{
	local desc=$1 code=$2 f

	shift 2
	rm -f "$T_TMP"/valgrind.*.log
	if check_exit "$desc" "$code" "${vg[@]}" "$DBOPS" "$@"; then
		return 0
	fi
	for f in "$T_TMP"/valgrind.*.log; do
		[ -s "$f" ] && diag "$(cat "$f")"
	done
	return 1
}

cd "$T_TMP" || exit 1
check_vg "validate is clean under valgrind" 0 validate --repo "$repo"
check_contains "and the spec is valid" "$T_OUT" "is valid"
check_vg "plan is clean under valgrind" 2 plan --repo "$repo" --no-color \
	--detailed-exitcode
check_contains "and plans the role" "$T_OUT" "roles.role.vg_app will be created"
check_vg "apply is clean under valgrind" 0 apply --repo "$repo" --no-color \
	--auto-approve
check_contains "and applies" "$T_OUT" "Apply complete!"
check_eq "the migrations ran" \
	"$(psql_q "SELECT count(*) FROM accounts" -d vg_db)" 0
check_vg "status is clean under valgrind" 0 status --repo "$repo" --no-color
check_contains "and is healthy" "$T_OUT" "Status: healthy."
check_vg "history is clean under valgrind" 0 history --no-color
check_contains "and lists the run" "$T_OUT" "initial spec"

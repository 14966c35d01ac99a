#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# The command line: validate reports every problem of a spec in one run
# with file:line:column and changes nothing; apply refuses to run without
# confirmation when there is no terminal; secrets never appear in any
# output; every command has --help.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/params_lib.sh"

reset_params
on_exit reset_params

good=$T_TMP/good
write_spec "$good" <<'YAML'
apiVersion: dbops/v1
cluster: cli
parameters:
  work_mem: 10MB
YAML
check "validate a good spec" "$DBOPS" validate --dir "$good"
check_contains "it says it is valid" "$T_OUT" "The spec cluster.yaml is valid"

bad=$T_TMP/bad
write_spec "$bad" <<'YAML'
cluster: cli
conection:
  conninfo: "dbname=x"
parameters:
  work_mem: [1, 2]
  shared_buffers: 64MB
  shared_buffers: 128MB
YAML
check_exit "validate a spec with several problems" 1 "$DBOPS" validate --dir "$bad"
out=$T_OUT
check_contains "missing apiVersion" "$out" 'ERROR:  missing required key "apiVersion"'
check_contains "unknown key, located" "$out" \
	'cluster.yaml:2:1: ERROR:  unknown key "conection"'
check_contains "with a suggestion" "$out" 'HINT:  Did you mean "connection"?'
check_contains "a list where a value belongs, located" "$out" "cluster.yaml:5:13:"
check_contains "a duplicate key, located" "$out" "cluster.yaml:7:3:"
check_contains "all problems in one run" "$out" "errors found in the spec."

yamlbad=$T_TMP/yamlbad
write_spec "$yamlbad" <<'YAML'
apiVersion: dbops/v1
parameters:
  work_mem: "16MB
YAML
check_exit "a YAML syntax error" 1 "$DBOPS" validate --dir "$yamlbad"
check_contains "is reported with its location" "$T_OUT" "cluster.yaml:"
check_contains "as a YAML error" "$T_OUT" "could not parse YAML"

check_exit "apply without a terminal and without --auto-approve is refused" 1 \
	"$DBOPS" apply --dir "$good" </dev/null
check_contains "with a hint" "$T_OUT" "--auto-approve"
check_eq "nothing was applied" "$(psql_q 'SHOW work_mem')" 4MB

check_exit "no source given" 1 "$DBOPS" plan
check_contains "hints at --repo and --dir" "$T_OUT" "--repo PATH_OR_URL"
check_exit "an unknown command" 1 "$DBOPS" frobnicate
check_contains "says so" "$T_OUT" 'unknown command "frobnicate"'
for c in validate plan apply history version; do
	check "$c --help" "$DBOPS" "$c" --help
	check_contains "$c --help shows its usage" "$T_OUT" "Usage: dbops $c"
done
check "version lists the parameters plugin" "$DBOPS" version
check_contains "parameters plugin found" "$T_OUT" "parameters"

# secrets: the connection password comes from the environment and never
# shows; a literal secret is refused without being echoed
secret="s3cr3t-$(date +%N)"
sec=$T_TMP/sec
write_spec "$sec" <<'YAML'
apiVersion: dbops/v1
cluster: cli
connection:
  password: {env: DBOPS_SECRET_T_PASSWORD}
parameters:
  work_mem: 10MB
YAML
DBOPS_SECRET_T_PASSWORD=$secret check "plan with a password from the environment" \
	"$DBOPS" plan --dir "$sec" --no-color -v -v
all=$T_OUT
DBOPS_SECRET_T_PASSWORD=$secret check "apply with it" \
	"$DBOPS" apply --dir "$sec" --auto-approve --no-color -v -v
all="$all$T_OUT"
check "history" "$DBOPS" history --format json
all="$all$T_OUT"
check_not_contains "the secret appears in no output" "$all" "$secret"
check_eq "the secret is not in the run log" \
	"$(psql_q "SELECT count(*) FROM dbops.runs WHERE plan::text LIKE '%$secret%'")" 0
check_exit "an unset secret variable is an error" 1 \
	env -u DBOPS_SECRET_T_PASSWORD "$DBOPS" plan --dir "$sec" --no-color
check_contains "naming the variable" "$T_OUT" \
	'environment variable "DBOPS_SECRET_T_PASSWORD" is not set'

lit=$T_TMP/lit
write_spec "$lit" <<YAML
apiVersion: dbops/v1
connection:
  password: "$secret"
parameters:
  work_mem: 10MB
YAML
check_exit "a literal password is refused" 1 "$DBOPS" validate --dir "$lit"
check_contains "as a literal" "$T_OUT" "must be a secret reference, not a literal value"
check_not_contains "without echoing it" "$T_OUT" "$secret"

# make install honours PREFIX and DESTDIR, and the installed binary finds
# the installed plugins
inst=$T_TMP/inst
check "make install into a staging directory" \
	make -s -C "$DBOPS_SRCDIR" install DESTDIR="$inst" PREFIX=/usr
check "the installed binary runs" "$inst/usr/bin/dbops" version
check_contains "and loads the installed plugin" "$T_OUT" \
	"$inst/usr/lib/dbops/plugins/dbops_parameters.so"

# on a terminal, apply shows the plan and asks; only "yes" applies
reset_params
tty_apply()
{
	printf '%s\n' "$1" | script -qec "'$DBOPS' apply --dir '$good' --no-color" /dev/null
}
check_exit "answering no on a terminal" 1 tty_apply no
check_contains "shows the question" "$T_OUT" "Do you want to perform these actions?"
check_contains "and cancels" "$T_OUT" "Apply cancelled."
check_eq "nothing was applied" "$(psql_q 'SHOW work_mem')" 4MB
check "answering yes on a terminal" tty_apply yes
check_contains "applies" "$T_OUT" "Apply complete! Changes: 0 added, 1 changed, 0 destroyed."
wait_setting work_mem 10MB
check_eq "the change is live" "$(psql_q 'SHOW work_mem')" 10MB

# a pass opens only the plugins whose sections its spec has: a broken
# plugin file it does not need changes nothing
check "a plan of parameters alone" "$DBOPS" plan --dir "$good" --no-color -vv
check_contains "opens the parameters plugin" "$T_OUT" 'DEBUG:  loaded plugin "parameters"'
check_not_contains "and not the migrations plugin" "$T_OUT" 'loaded plugin "migrations"'
# nor libgit2, whose initialisation parses the system's CA bundle: the
# dynamic linker binds git_libgit2_init (lazily bound) only once called
bindings()
{
	LD_DEBUG=bindings "$@" 2>&1 >/dev/null | grep -c "symbol \`git_libgit2_init'"
}
t_repo=$T_TMP/initrepo
mkdir -p "$t_repo"
cp "$good/cluster.yaml" "$t_repo/"
git -C "$t_repo" init -q -b main && git -C "$t_repo" add -A &&
	git -C "$t_repo" -c user.name=t -c user.email=t@t.invalid commit -q -m t
check_eq "a git source initialises libgit2" \
	"$(bindings "$DBOPS" validate --repo "$t_repo" --no-color)" 1
check_eq "a directory source does not" \
	"$(bindings "$DBOPS" validate --dir "$good" --no-color)" 0
broken=$T_TMP/broken-plugins
mkdir -p "$broken"
printf 'not a shared object\n' >"$broken/dbops_zzbroken.so"
check "a broken plugin no section names is never opened" \
	env DBOPS_PLUGIN_PATH="$broken" "$DBOPS" plan --dir "$good" --no-color
write_spec "$T_TMP/needsbroken" <<YAML
apiVersion: dbops/v1
zzbroken: {}
YAML
check_exit "a spec with its section opens it, and fails" 1 \
	env DBOPS_PLUGIN_PATH="$broken" "$DBOPS" validate --dir "$T_TMP/needsbroken"
check_contains "saying why" "$T_OUT" 'could not load plugin'
check_exit "dbops version opens every plugin" 1 \
	env DBOPS_PLUGIN_PATH="$broken" "$DBOPS" version

check "status of a cluster whose plugins report nothing wrong" \
	"$DBOPS" status --dir "$good" --no-color
check_contains "says healthy" "$T_OUT" "Status: healthy."
check_exit "a command no plugin offers" 1 "$DBOPS" frobnicate --now
check_exit "a plugin without that command" 1 "$DBOPS" parameters frobnicate
check_contains "says so" "$T_OUT" 'plugin "parameters" has no command "frobnicate"'

# SPDX-License-Identifier: PostgreSQL
# shellcheck shell=bash
#
# params_lib.sh — shared by the scenarios that change server parameters of
# the shared sandbox: put every parameter back (ALTER SYSTEM RESET ALL and
# a reload) before and after the scenario, so scenarios do not see each
# other's settings.

reset_params()
{
	psql_q "ALTER SYSTEM RESET ALL" -d postgres >/dev/null &&
		psql_q "SELECT pg_reload_conf()" -d postgres >/dev/null
	# the reload is asynchronous: wait until new sessions see it
	local i
	for i in $(seq 1 50); do
		[ "$(psql_q "SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'")" = 0 ] &&
			[ "$(psql_q "SHOW work_mem")" = 4MB ] && return 0
		sleep 0.1
	done
	return 0
}

# wait_setting NAME VALUE: wait (up to 5 s) until new sessions show VALUE.
wait_setting()
{
	local i
	for i in $(seq 1 50); do
		[ "$(psql_q "SHOW $1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# json_get JSON SQL-PATH: a value out of a JSON document, read by
# PostgreSQL itself (e.g. json_get "$out" "->'changes'->0->>'address'").
json_get()
{
	printf "SELECT (:'j'::jsonb)%s\n" "$2" |
		psql -X -A -t -q -v ON_ERROR_STOP=1 -v j="$1" -d postgres
}

# write_spec DIR: a cluster.yaml from standard input into DIR.
write_spec()
{
	mkdir -p "$1" && cat >"$1/cluster.yaml"
}

# SPDX-License-Identifier: PostgreSQL
# shellcheck shell=bash
#
# lib.sh — what the benches share: the real psql binary as the floor, and
# commands timed alternately.
#
# The floor is PostgreSQL's own psql binary, from `pg_config --bindir`:
# the `psql` on Debian's PATH is pg_wrapper, a Perl script that costs 40
# to 50 ms per start before the real binary runs, which would flatter
# every ratio against it.
#
# hyperfine runs all the runs of one command before the next, and the load
# of a shared machine drifts within a run; bench_alternate runs short
# hyperfine rounds instead, the commands in turn (A B A B ...), keeps
# every measurement and reports each command's median, with its ratio to
# the first command (the floor).

# The real psql: PSQL, to use in every floor.
bench_find_psql()
{
	local dir

	dir=$(pg_config --bindir 2>/dev/null || true)
	for p in "$dir/psql" /usr/lib/postgresql/15/bin/psql; do
		if [ -x "$p" ] && ! head -c 2 "$p" | grep -q '#!'; then
			PSQL=$p
			return 0
		fi
	done
	echo "bench: no psql binary found (pg_config --bindir); the PATH's psql may be a wrapper" >&2
	return 1
}

# A peer is timed as its own native binary: dbmate's npm package installs
# a node script that starts the Go binary of @dbmate/<os>-<arch>, which
# would charge node's start-up to dbmate. DBMATE (a path), else the PATH's
# dbmate, else ./node_modules/.bin/dbmate; a script found is followed to
# the native binary beside it. Sets DBMATE, or returns 1 saying why.
bench_find_dbmate()
{
	local c real native

	for c in "${DBMATE:-}" "$(command -v dbmate 2>/dev/null || true)" \
		"$PWD/node_modules/.bin/dbmate"; do
		[ -n "$c" ] && [ -x "$c" ] || continue
		if ! head -c 2 "$c" | grep -q '#!'; then
			DBMATE=$c
			return 0
		fi
		real=$(readlink -f "$c")
		for native in "$(dirname "$real")"/../../@dbmate/*/bin/dbmate \
			"$(dirname "$real")"/../node_modules/@dbmate/*/bin/dbmate; do
			if [ -x "$native" ] && ! head -c 2 "$native" | grep -q '#!'; then
				DBMATE=$(readlink -f "$native")
				return 0
			fi
		done
	done
	echo "bench: no native dbmate binary (set DBMATE, or npm install dbmate); dbmate is left out" >&2
	return 1
}

# bench_alternate OUT ROUNDS RUNS [--prepare CMD] NAME CMD [NAME CMD...]
#   Time each CMD RUNS times per round, ROUNDS rounds, the commands in
#   turn. Writes OUT (one line per command: name, median, mean, min, max
#   in seconds, count) and prints a table with each median's ratio to the
#   first command's.
bench_alternate()
{
	local out=$1 rounds=$2 runs=$3 dir prep=() names=() cmds=() i r

	shift 3
	if [ "${1:-}" = --prepare ]; then
		prep=(--prepare "$2")
		shift 2
	fi
	while [ $# -gt 1 ]; do
		names+=("$1")
		cmds+=("$2")
		shift 2
	done
	dir=$(mktemp -d "${TMPDIR:-/tmp}/dbops-bench-alt.XXXXXX")
	for r in $(seq 1 "$rounds"); do
		for i in "${!cmds[@]}"; do
			hyperfine --style none --runs "$runs" "${prep[@]}" \
				--export-json "$dir/$r.$i.json" "${cmds[$i]}" \
				>/dev/null 2>&1 ||
				{ echo "bench: \"${names[$i]}\" failed" >&2; rm -rf "$dir"; return 1; }
		done
	done
	python3 - "$dir" "$out" "${names[@]}" <<'PY'
import glob, json, os, statistics, sys
d, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = []
for i, name in enumerate(names):
    t = []
    for f in sorted(glob.glob(os.path.join(d, "*.%d.json" % i))):
        t += json.load(open(f))["results"][0]["times"]
    rows.append((name, statistics.median(t), statistics.mean(t), min(t), max(t), len(t)))
with open(out, "w") as f:
    for r in rows:
        f.write("%s\t%.6f\t%.6f\t%.6f\t%.6f\t%d\n" % r)
floor = rows[0][1]
width = max(len(r[0]) for r in rows)
print("  %-*s %11s %11s %7s %7s" % (width, "command", "median", "min", "ratio", "runs"))
for r in rows:
    print("  %-*s %8.1f ms %8.1f ms %6.2fx %7d" % (width, r[0], r[1] * 1000, r[3] * 1000, r[1] / floor, r[5]))
PY
	rm -rf "$dir"
}

# bench_median OUT NAME: the median (seconds) of a command in OUT.
bench_median()
{
	awk -F '\t' -v n="$2" '$1 == n { print $2 }' "$1"
}

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# migrations_large.sh — what planning one 8 MiB migration costs, run by
# hand: the peak memory (GNU time's maximum resident set size) of a whole
# `dbops plan` against the file's size, and the time it takes, for three
# shapes of file under the 8 MiB limit:
#   inserts  ~110,000 one-row INSERT statements (a data migration);
#   bulk     one INSERT of ~400,000 rows (a bulk load, over what dbops
#            parses: split by the scanner only);
#   ddl      ~110,000 CREATE TABLE and CREATE INDEX statements (each
#            parsed and linted).
# and, for scale, `dbops version` (what the binary and its plugins cost
# before any file). Several runs of each, the median printed; asserts
# nothing. Targets: at most 10 times the file's size, under 2 s.
#
#   tests/bench/migrations_large.sh [--runs N]

set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd -P)
runs=5
[ "${1:-}" = --runs ] && runs=$2
[ -x /usr/bin/time ] || { echo "bench: GNU time is not installed (contrib/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/dbops-bench-large.XXXXXX")
chmod 0755 "$work"
cleanup()
{
	"$src/contrib/sandbox" destroy "$work/sandbox" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

eval "$("$src/contrib/sandbox" up "$work/sandbox" 2>/dev/null)"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@dbops.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@dbops.invalid

generate()
{
	python3 - "$1" "$2" <<'PY'
import sys
shape, path = sys.argv[1], sys.argv[2]
limit = 8 * 1024 * 1024 - 4096
out, n, i = [], 0, 0
if shape == "bulk":
    head = "INSERT INTO t (id, name, amount) VALUES\n"
    n = len(head)
    while True:
        row = "(%d, 'name %d', %d.%02d)" % (i, i, i * 3, i % 100)
        if n + len(row) + 3 > limit:
            break
        out.append(row)
        n += len(row) + 2
        i += 1
    text = head + ",\n".join(out) + ";\n"
else:
    while True:
        if shape == "inserts":
            line = "INSERT INTO t (id, name, amount) VALUES (%d, 'name %d', %d.%02d);\n" % (i, i, i * 3, i % 100)
        else:
            line = ("CREATE TABLE t%d (id bigint PRIMARY KEY, name text NOT NULL, "
                    "created timestamptz DEFAULT now());\nCREATE INDEX t%d_name ON t%d (name);\n") % (i, i, i)
        if n + len(line) > limit:
            break
        out.append(line)
        n += len(line)
        i += 1
    text = "".join(out)
open(path, "w").write(text)
PY
}

median()
{
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

printf '%-8s %10s %12s %8s %10s\n' shape "file MiB" "peak MiB" ratio seconds
for shape in inserts bulk ddl; do
	repo=$work/$shape
	mkdir -p "$repo/m"
	printf 'apiVersion: dbops/v1\ncluster: bench\nmigrations:\n  databases:\n    - database: postgres\n      locations: [m]\n' \
		>"$repo/cluster.yaml"
	generate "$shape" "$repo/m/V1__$shape.sql"
	git -C "$repo" init -q -b main
	git -C "$repo" add -A
	git -C "$repo" commit -q -m bench
	size=$(stat -c %s "$repo/m/V1__$shape.sql")
	"$src/build/dbops" plan --repo "$repo" --no-color >/dev/null 2>&1 ||
		{ echo "bench: the plan of $shape failed" >&2; exit 1; }
	rss=()
	secs=()
	for _ in $(seq 1 "$runs"); do
		/usr/bin/time -f '%M %e' -o "$work/time" \
			"$src/build/dbops" plan --repo "$repo" --no-color >/dev/null 2>&1
		read -r kb s <"$work/time"
		rss+=("$kb")
		secs+=("$s")
	done
	kb=$(printf '%s\n' "${rss[@]}" | median)
	s=$(printf '%s\n' "${secs[@]}" | median)
	awk -v shape="$shape" -v size="$size" -v kb="$kb" -v s="$s" 'BEGIN {
		printf "%-8s %10.2f %12.1f %7.1fx %10.2f\n", shape, size / 1048576,
		    kb / 1024, kb * 1024 / size, s }'
done
/usr/bin/time -f '%M' -o "$work/time" "$src/build/dbops" version >/dev/null
awk '{ printf "dbops version alone: %.1f MiB\n", $1 / 1024 }' "$work/time"

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# seeds.sh — derives the fuzzers' seed corpora from the tree, one seed
# file each, written into OUTDIR/yaml and OUTDIR/sql (made empty first):
# every YAML file under specs/ and tests/fixtures/specs/ and every ```yaml
# block of specs/README.md for the spec harnesses (a plugin harness takes
# its own section out of a whole spec), and every SQL file under specs/
# and tests/fixtures/ of up to 64 kB for the SQL harnesses. The seeds written by hand (and the
# inputs of fixed crashes) are committed beside this script in
# tests/fuzz/corpus/<harness>/ instead.
#
# Usage: tests/fuzz/seeds.sh OUTDIR

set -euo pipefail

[ $# -eq 1 ] || {
	echo "usage: tests/fuzz/seeds.sh OUTDIR" >&2
	exit 2
}
top=$(cd "$(dirname "$0")/../.." && pwd -P)
out=$1

mkdir -p "$out/yaml" "$out/sql"
find "$out/yaml" "$out/sql" -maxdepth 1 -type f -name 'seed-*' -delete

n=0
while IFS= read -r f; do
	n=$((n + 1))
	cp "$f" "$out/yaml/seed-file-$(printf '%03d' "$n")"
done < <(cd "$top" && find specs tests/fixtures/specs -type f \
	\( -name '*.yaml' -o -name '*.yml' \) | sort | sed "s|^|$top/|")

awk -v out="$out/yaml" '
/^```yaml[[:space:]]*$/ { inblock = 1; n++; file = sprintf("%s/seed-readme-%03d", out, n); next }
/^```/ && inblock { inblock = 0; close(file); next }
inblock { print > file }
' "$top/specs/README.md"

n=0
while IFS= read -r f; do
	n=$((n + 1))
	cp "$f" "$out/sql/seed-sql-$(printf '%04d' "$n")"
done < <(cd "$top" && find specs tests/fixtures -type f -name '*.sql' \
	-size -65k | sort | sed "s|^|$top/|")

echo "seeds.sh: $(find "$out/yaml" -maxdepth 1 -type f -name 'seed-*' | wc -l) spec seeds in $out/yaml, $(find "$out/sql" -maxdepth 1 -type f -name 'seed-*' | wc -l) SQL seeds in $out/sql"

#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# seeds.sh — derives the fuzzers' seed corpus from the specs of the tree:
# every YAML file under specs/ and tests/fixtures/specs/, and every ```yaml
# block of specs/README.md, one seed file each, written into OUTDIR (made
# empty first). Every harness gets the same seeds: a plugin harness takes
# its own section out of a whole spec. The seeds written by hand (and the
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

mkdir -p "$out"
find "$out" -maxdepth 1 -type f -name 'seed-*' -delete

n=0
while IFS= read -r f; do
	n=$((n + 1))
	cp "$f" "$out/seed-file-$(printf '%03d' "$n")"
done < <(cd "$top" && find specs tests/fixtures/specs -type f \
	\( -name '*.yaml' -o -name '*.yml' \) | sort | sed "s|^|$top/|")

awk -v out="$out" '
/^```yaml[[:space:]]*$/ { inblock = 1; n++; file = sprintf("%s/seed-readme-%03d", out, n); next }
/^```/ && inblock { inblock = 0; close(file); next }
inblock { print > file }
' "$top/specs/README.md"

echo "seeds.sh: $(find "$out" -maxdepth 1 -type f -name 'seed-*' | wc -l) seeds in $out"

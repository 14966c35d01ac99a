#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# checkstyle.sh — the house rules clang-format cannot check, over every C
# file of the tree (tracked, plus untracked files git does not ignore):
#
#   - an SPDX-License-Identifier on the first line;
#   - no // comments;
#   - none of the banned functions: strcpy, strcat, sprintf, vsprintf, gets,
#     strtok, atoi, atol, system, popen, tmpnam, alloca.
#
# Comments, string and character literals are blanked before the checks, so
# a banned name inside a message or a URL inside a comment is not reported.
# Prints "file:line: message" for each problem; exits 1 if there is any.
#
# Usage: contrib/checkstyle.sh [FILE...]   (default: every *.c and *.h)

set -euo pipefail

cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then
	files=("$@")
else
	mapfile -t files < <({
		git ls-files -- '*.c' '*.h'
		git ls-files --others --exclude-standard -- '*.c' '*.h'
	} | sort -u)
fi

existing=()
for f in "${files[@]}"; do
	[ -f "$f" ] && existing+=("$f")
done
[ ${#existing[@]} -gt 0 ] || exit 0

# The lexer keeps its state (inside a block comment, inside a string or
# character literal continued with a backslash) across lines of one file.
awk '
function report(msg) {
	printf "%s:%d: %s\n", FILENAME, FNR, msg
	problems++
}

FNR == 1 {
	in_comment = 0
	in_quote = ""
	if ($0 !~ /SPDX-License-Identifier: [A-Za-z0-9.+-]+/)
		report("the first line must carry an SPDX-License-Identifier")
}

{
	line = $0
	code = ""
	n = length(line)
	i = 1
	while (i <= n) {
		c = substr(line, i, 1)
		two = substr(line, i, 2)
		if (in_comment) {
			if (two == "*/") {
				in_comment = 0
				code = code "  "
				i += 2
			} else {
				code = code " "
				i++
			}
		} else if (in_quote != "") {
			if (c == "\\") {
				code = code "  "
				i += 2
			} else {
				if (c == in_quote) {
					in_quote = ""
					code = code c
				} else {
					code = code " "
				}
				i++
			}
		} else if (two == "/*") {
			in_comment = 1
			code = code "  "
			i += 2
		} else if (two == "//") {
			report("C++-style comment; use /* */")
			break
		} else if (c == "\"" || c == "\047") {
			in_quote = c
			code = code c
			i++
		} else {
			code = code c
			i++
		}
	}
	# A literal left open ends at the line unless continued by a backslash.
	if (in_quote != "" && substr(line, n, 1) != "\\")
		in_quote = ""

	rest = code
	while (match(rest, /(^|[^A-Za-z0-9_.>])(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|system|popen|tmpnam|alloca)[ \t]*\(/)) {
		hit = substr(rest, RSTART, RLENGTH)
		sub(/^[^A-Za-z_]/, "", hit)
		sub(/[ \t]*\($/, "", hit)
		report("use of banned function \"" hit "\"")
		rest = substr(rest, RSTART + RLENGTH)
	}
}

END {
	exit (problems > 0)
}
' "${existing[@]}"

#!/usr/bin/env bash
# Style check of Sources/ and Tests/ with the toolchain's swift-format and the project's .swift-format.
# Fails on rule findings (import order, one case per line, forEach, ...) and on lines over 140 characters.
# The pretty-printer's own findings (indentation, line breaks, spacing) are not checked: the code aligns
# continuation lines by hand, which swift-format's printer cannot express; `swift format -i FILE` remains
# available for new files written in its layout.
# usage: scripts/lint.sh [PATH...]     (default: Sources Tests)
set -uo pipefail
cd "$(dirname "$0")/.."
paths=("$@"); [ ${#paths[@]} -eq 0 ] && paths=(Sources Tests)
status=0
findings=$(swift format lint --configuration .swift-format -r "${paths[@]}" 2>&1 \
    | grep -E 'warning: \[' | grep -vE '\[(Indentation|AddLines|RemoveLine|Spacing|TrailingComma|LineLength|TrailingWhitespace)\]')
if [ -n "$findings" ]; then echo "$findings"; status=1; fi
long=$(find "${paths[@]}" -name '*.swift' -print0 | xargs -0 awk 'length > 140 { printf "%s:%d: line of %d characters (limit 140)\n", FILENAME, FNR, length }')
if [ -n "$long" ]; then echo "$long"; status=1; fi
n=$(printf '%s\n%s\n' "$findings" "$long" | grep -c . )
[ $status -eq 0 ] && echo "lint: clean" || echo "lint: $n findings"
exit $status

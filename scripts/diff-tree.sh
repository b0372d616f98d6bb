#!/usr/bin/env bash
# Compares every FITS file of two output trees (a demo, a production) HDU by HDU with `desispec diff`: the check
# that a refactoring left the data unchanged. Headers are not compared (dates and provenance differ run to run).
# usage: scripts/diff-tree.sh BEFORE_DIR AFTER_DIR [desispec binary]   (exit 0: every file equal, 3: some differ)
set -uo pipefail
before=${1:?usage: scripts/diff-tree.sh BEFORE_DIR AFTER_DIR [desispec binary]}
after=${2:?usage: scripts/diff-tree.sh BEFORE_DIR AFTER_DIR [desispec binary]}
bin=${3:-$(cd "$(dirname "$0")/.." && swift build -c release --show-bin-path)/desispec}
same=0; differ=0; missing=0
while IFS= read -r rel; do
    if [ ! -f "$after/$rel" ]; then echo "only in $before: $rel"; missing=$((missing + 1)); continue; fi
    if out=$("$bin" diff "$before/$rel" "$after/$rel" 2>&1); then same=$((same + 1))
    else differ=$((differ + 1)); echo "== $rel"; echo "$out" | grep -v ': same ' | head -20; fi
done < <(cd "$before" && find . -name '*.fits' -o -name '*.fits.fz' | sed 's|^\./||' | sort)
extra=$(comm -13 <(cd "$before" && find . -name '*.fits*' | sort) <(cd "$after" && find . -name '*.fits*' | sort) | wc -l)
echo "diff-tree: $same files equal, $differ differ, $missing missing in $after, $extra only in $after"
[ "$differ" -eq 0 ] && [ "$missing" -eq 0 ] && [ "$extra" -eq 0 ] || exit 3

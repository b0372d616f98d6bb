#!/bin/bash
# stdstars + fluxcalib, desispec-swift against desispec side by side on the reddened-standards case (issue 14):
# ten standards (real templates when $DESISPEC_TESTDATA has them), EBV 0.02-0.20, N and S photometry, two exposures
# of b0 r0 z0; desispec's desi_fit_stdstars (--ncpu 1) + desi_compute_fluxcalibration x 3 against our release binary.
# Prints the wall time of both chains and their ratio (and the accuracy table of scripts/compare_stdstars_case.py).
# Usage: scripts/bench/stdstars.sh [case-dir]   (needs /work/refenv or REFPY pointing at a python with desispec)
set -euo pipefail
cd "$(dirname "$0")/../.."
CASE=${1:-/tmp/desispec-bench-stdstars}
REFPY=${REFPY:-/work/refenv/bin/python}
export DESISPEC_TESTDATA=${DESISPEC_TESTDATA:-../shared/data}
swift build -c release --product desispec >/dev/null
swift build --build-tests >/dev/null
DESISPEC_STARS_CASE_DIR="$CASE" swift test --skip-build --filter ReddenedCaseWriter >/dev/null
"$REFPY" scripts/compare_stdstars_case.py --case "$CASE" --bin "$(swift build -c release --show-bin-path)/desispec" 2>/dev/null \
    | grep -v '^INFO\|^DEBUG\|^WARNING'

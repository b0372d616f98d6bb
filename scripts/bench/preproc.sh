#!/usr/bin/env bash
# Benchmark: preproc of one full-size camera (4128 x 4114 active pixels, raw 4192 x 4256) with bias, dark, pixel flat,
# mask and cosmic-ray rejection: our release build vs desispec (reference venv), timed in the same run.
# Usage: scripts/bench/preproc.sh [FIXTURE_DIR]   (env: REFPY=/work/refenv/bin/python, SCRATCH=.build-preproc, SKIP_BUILD=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${SCRATCH:-.build-preproc}
REFPY=${REFPY:-/work/refenv/bin/python}
FIX=${1:-/tmp/preproc-bench-fixture}
if [[ -z "${SKIP_BUILD:-}" ]]; then
    swift build -c release --scratch-path "$SCRATCH" --product desispec >/dev/null
fi
BIN="$SCRATCH/release/desispec"
if [[ ! -f "$FIX/desi-00001234.fits.fz" ]]; then
    echo "simulating a full-size raw exposure in $FIX (debug test fixture, ~1 min)"
    PREPROC_FIXTURE_DIR="$FIX" PREPROC_FIXTURE_SIZE=4128,4114 DESISPEC_TESTDATA="${DESISPEC_TESTDATA:-../shared/data}" \
        swift test --scratch-path "$SCRATCH" --filter PreprocTests.RawFixtureTests >/dev/null
fi
OUT=$(mktemp -d)
CAL=(--bias "$FIX/bias-r0.fits" --dark "$FIX/dark-r0.fits" --pixflat "$FIX/pixflat-r0.fits" --mask "$FIX/mask-r0.fits")
echo "cores: $(nproc)"
t0=$(date +%s.%N)
"$BIN" preproc -i "$FIX/desi-00001234.fits.fz" --cameras r0 -o "$OUT/ours.fits" "${CAL[@]}" --quiet
t1=$(date +%s.%N)
ours=$(echo "$t1 - $t0" | bc -l)
ref=$("$REFPY" scripts/bench/preproc_reference.py "$FIX/desi-00001234.fits.fz" r0 "$OUT/ref.fits" "${CAL[@]}" 2>/dev/null | grep "^desispec_seconds")
refs=$(echo "$ref" | awk '{print $2}')
printf "ours (desispec-swift, release, process incl. I/O): %.2f s\n" "$ours"
printf "desispec 0.70 (read + preproc + write): %.2f s   [%s]\n" "$refs" "$ref"
printf "ratio desispec/ours: %.2f\n" "$(echo "$refs / $ours" | bc -l)"
rm -rf "$OUT"

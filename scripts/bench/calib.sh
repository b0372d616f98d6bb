#!/usr/bin/env bash
# Fiber flat and sky benchmark, ours (release build) vs desispec (/work/refenv) in the same run:
# a simulated flat frame and science frame of 500 fibers x 2800 wavelengths (5800-8039.2 A at 0.8 A, Gaussian
# resolutions, 100 SKY fibers) are written by the SkyTests comparison writer, then
#   ours:     desispec fiberflat, desispec sky (with fiber flat applied, sframe written), then sky again with
#             desi_proc's --adjust-wavelength --adjust-lsf (compute_sky with adjust_wavelength, adjust_lsf)
#   desispec: compute_fiberflat, compute_sky (timed inside scripts/compare_*.py, which also compare results)
# Usage: scripts/bench/calib.sh [workdir]   (NSPEC / NWAVE env override the size)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-$(mktemp -d)}
PY=${REFENV:-/work/refenv}/bin/python
NSPEC=${NSPEC:-500}
NWAVE=${NWAVE:-2800}
# BIN may name an already built desispec (or any binary with the fiberflat and sky subcommands)
if [ -z "${BIN:-}" ]; then
  swift build -c release --scratch-path .build-calib-release --product desispec >/dev/null
  BIN=$(swift build -c release --scratch-path .build-calib-release --show-bin-path)/desispec
fi
if [ ! -f "$WORK/frame-r0-00000002.fits" ]; then
  swift build --scratch-path .build-calib --build-tests >/dev/null
  DESISPEC_TEST_OUT=$WORK DESISPEC_TEST_NSPEC=$NSPEC DESISPEC_TEST_NWAVE=$NWAVE \
    swift test --scratch-path .build-calib --skip-build --filter ComparisonFramesWriter >/dev/null
fi
timeit() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

echo "== fiber flat: $NSPEC fibers x $NWAVE wavelengths =="
T1=$(timeit "$BIN" fiberflat -i "$WORK/frame-r0-00000001.fits" -o "$WORK/fiberflat-ours.fits" --quiet)
OUT=$("$PY" scripts/compare_fiberflat.py --frame "$WORK/frame-r0-00000001.fits" --ours "$WORK/fiberflat-ours.fits" 2>/dev/null | grep -v -E "^(INFO|WARNING|DEBUG)" || true)
echo "$OUT"
R1=$(echo "$OUT" | sed -n 's/^desispec compute_fiberflat: \([0-9.]*\) s.*/\1/p')
echo "ours: $T1 s   desispec: $R1 s   ratio desispec/ours: $(echo "scale=1; $R1 / $T1" | bc)"

echo "== sky: $NSPEC fibers x $NWAVE wavelengths =="
T2=$(timeit "$BIN" sky -i "$WORK/frame-r0-00000002.fits" --fiberflat "$WORK/fiberflat-ours.fits" -o "$WORK/sky-ours.fits" \
     --sframe "$WORK/sframe-ours.fits" --quiet)
OUT=$("$PY" scripts/compare_sky.py --frame "$WORK/frame-r0-00000002.fits" --fiberflat "$WORK/fiberflat-ours.fits" \
      --ours-sky "$WORK/sky-ours.fits" --ours-sframe "$WORK/sframe-ours.fits" 2>/dev/null | grep -v -E "^(INFO|WARNING|DEBUG)" || true)
echo "$OUT"
R2=$(echo "$OUT" | sed -n 's/^desispec compute_sky: \([0-9.]*\) s.*/\1/p')
echo "ours: $T2 s (incl. reading, flat-fielding, writing sky and sframe)   desispec: $R2 s (compute_sky only)   ratio: $(echo "scale=1; $R2 / $T2" | bc)"

echo "== sky with desi_proc's --adjust-wavelength --adjust-lsf: $NSPEC fibers x $NWAVE wavelengths =="
T3=$(timeit "$BIN" sky -i "$WORK/frame-r0-00000002.fits" --fiberflat "$WORK/fiberflat-ours.fits" -o "$WORK/sky-ours-adj.fits" \
     --sframe "$WORK/sframe-ours-adj.fits" --adjust-wavelength --adjust-lsf --quiet)
OUT=$("$PY" scripts/compare_sky.py --frame "$WORK/frame-r0-00000002.fits" --fiberflat "$WORK/fiberflat-ours.fits" \
      --ours-sky "$WORK/sky-ours-adj.fits" --ours-sframe "$WORK/sframe-ours-adj.fits" --adjust-wavelength --adjust-lsf \
      2>/dev/null | grep -v -E "^(INFO|WARNING|DEBUG)" || true)
echo "$OUT"
R3=$(echo "$OUT" | sed -n 's/^desispec compute_sky: \([0-9.]*\) s.*/\1/p')
echo "ours: $T3 s (incl. reading, flat-fielding, writing sky and sframe)   desispec: $R3 s (compute_sky only)   ratio: $(echo "scale=1; $R3 / $T3" | bc)"

#!/usr/bin/env bash
# Extraction benchmark: release build, then
#   1. one bundle (25 fibers x 500 wavelengths) and
#   2. the full r camera (500 fibers, 5760-7620 A at 0.8 A)
# with the real PSF ../shared/data/psf/psf-r0-00051060.fits, on an image simulated by `desispec simulate --psf`.
# If specter is importable in /work/refenv, the same extraction runs there too and the ratio is printed.
# Usage: scripts/bench/extract.sh [workdir]
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DESISPEC_TESTDATA:-../shared/data}
PSF=$DATA/psf/psf-r0-00051060.fits
WORK=${1:-$(mktemp -d)}
PY=${REFENV:-/work/refenv}/bin/python
swift build -c release --product desispec >/dev/null
BIN=$(swift build -c release --show-bin-path)/desispec
IMG=$WORK/preproc-r0-00000001.fits
if [ ! -f "$IMG" ]; then
  if ! "$BIN" simulate --help >/dev/null 2>&1; then
    echo "desispec simulate is not available in this build: cannot make the input image" >&2; exit 1
  fi
  echo "simulating a full r0 image with the real PSF into $IMG ..."
  "$BIN" simulate --psf "$PSF" --camera r0 -o "$IMG"
fi

timeit() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

echo "== one bundle: 25 fibers x 500 wavelengths (6000.0-6399.2 A) =="
T1=$(timeit "$BIN" extract -i "$IMG" -p "$PSF" -o "$WORK/frame-bundle.fits" -w 6000,6399.2,0.8 -s 0 -n 25 --quiet)
echo "ours: $T1 s"
echo "== full frame: 500 fibers, 5760-7620 A at 0.8 A =="
T2=$(timeit "$BIN" extract -i "$IMG" -p "$PSF" -o "$WORK/frame-r0.fits" -w 5760,7620,0.8 --quiet)
echo "ours: $T2 s"
if "$PY" -c "import specter" 2>/dev/null; then
  echo "== desispec/specter on the same bundle =="
  "$PY" scripts/compare_extract.py --preproc "$IMG" --psf "$PSF" --ours "$WORK/frame-bundle.fits" \
      -w 6000,6399.2,0.8 --specmin 0 --nspec 25 | tee "$WORK/compare.txt"
  TS=$(grep "specter ex2d" "$WORK/compare.txt" | sed -E 's/.* in ([0-9.]+) s/\1/')
  echo "ratio specter/ours (one bundle): $(echo "scale=2; $TS / $T1" | bc)"
else
  echo "specter is not importable in $PY: no side-by-side timing"
fi

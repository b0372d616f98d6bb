#!/usr/bin/env bash
# Extraction benchmark with the real PSF $DESISPEC_TESTDATA/psf/psf-r0-00051060.fits (default ../shared/data):
#   0. makes a full r0 science image with that PSF: `desispec simulate --psf` then `desispec preproc`;
#   1. times one full r-camera frame end to end (500 fibers, 5760-7620 A at 0.8 A) with `desispec extract`;
#   2. times a sub-region (25 fibers x 500 wavelengths, 6000-6399.2 A) with ours and with desispec's
#      `desi_extract_spectra --use-specter` (DESI's specter, serial) side by side, prints the ratio, and checks
#      that both give the same spectra (scripts/compare_extract.py: median |flux diff| < 0.01 sigma, resolution
#      matrices within 1e-4);
#   3. scales desispec's time up to the full frame: desispec is also run on half the sub-region (25 fibers x
#      250 wavelengths), the two runs give its fixed cost (reading the image and PSF, start-up) and its cost per
#      extracted bin, and fixed + per bin x (500 x 2326) is its full-frame estimate, printed beside ours with
#      the ratio (desispec's own full frame would take ~30 min of CPU here).
# Timings are wall-clock seconds of the whole command (reading, extraction, writing), with CPU seconds and the
# load average beside them: on a shared machine the ratio of the two runs made one after the other is what counts.
# Usage: scripts/bench/extract.sh [workdir]
# Environment: NCPU (threads for ours, default 2), REFENV (Python venv with desispec and specter, default
# /work/refenv), SWIFT_SCRATCH (swift build scratch path, default .build), DESISPEC_TESTDATA.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DESISPEC_TESTDATA:-../shared/data}
PSF=$(cd "$(dirname "$DATA/psf/psf-r0-00051060.fits")" && pwd)/psf-r0-00051060.fits
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
NCPU=${NCPU:-2}
REFENV=${REFENV:-/work/refenv}
SCRATCH=${SWIFT_SCRATCH:-.build}
swift build -c release --scratch-path "$SCRATCH" --product desispec >/dev/null
BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/desispec

RAW=$WORK/raw/20250101/00000001
IMG=$WORK/preproc-r0-00000001.fits
if [ ! -f "$IMG" ]; then
  echo "simulating a full r0 science exposure with the real PSF (500 fibers, 4128x4114) into $WORK ..."
  "$BIN" simulate --night 20250101 --expid 1 --flavor science --cameras r0 --nspec 500 --ccd-size full \
      --psf "$PSF" --no-cosmics --outdir "$WORK/raw" --overwrite -q
  "$BIN" preproc -i "$RAW/desi-00000001.fits.fz" --cameras r0 --fibermap "$RAW/fibermap-00000001.fits" -o "$IMG" -q \
    --no-calib-config
fi

run_timed() {  # run_timed CMD...: runs CMD (output in $WORK/last.log), sets WALL and CPU (user + sys) seconds
  local t0 t1
  t0=$(date +%s.%N)
  if ! /usr/bin/env time -o "$WORK/time.txt" -f "%U %S" "$@" >"$WORK/last.log" 2>&1; then
    echo "$1 failed:"; tail -5 "$WORK/last.log"; exit 1
  fi
  t1=$(date +%s.%N)
  WALL=$(echo "$t1 - $t0" | bc)
  CPU=$(awk '{printf "%.2f", $1 + $2}' "$WORK/time.txt")
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; ours runs with --ncpu $NCPU"
echo "== full r0 frame: 500 fibers x 2326 wavelengths (5760-7620 A at 0.8 A), end to end =="
run_timed "$BIN" extract -i "$IMG" -p "$PSF" -o "$WORK/frame-r0-00000001.fits" -w 5760,7620,0.8 --ncpu "$NCPU"
T_FULL=$WALL; C_FULL=$CPU
echo "ours: ${WALL} s wall, ${CPU} s CPU   [$(grep -o 'wrote .*' "$WORK/last.log" | sed 's/^wrote [^ ]* in //')]"
echo "goal: under 60 s on a 2-core machine -> $(echo "$WALL < 60" | bc | sed 's/1/met/;s/0/NOT met at this load/')"

echo "== sub-region: 25 fibers x 500 wavelengths (6000.0-6399.2 A), end to end =="
run_timed "$BIN" extract -i "$IMG" -p "$PSF" -o "$WORK/frame-sub-ours.fits" -w 6000,6399.2,0.8 -s 0 -n 25 --ncpu "$NCPU"
T_OURS=$WALL; C_OURS=$CPU
echo "ours:     ${T_OURS} s wall, ${C_OURS} s CPU   [$(grep -o 'wrote .*' "$WORK/last.log" | sed 's/^wrote [^ ]* in //')]"
if [ -x "$REFENV/bin/desi_extract_spectra" ] && "$REFENV/bin/python" -c "import specter" 2>/dev/null; then
  # desispec's CPU path (specter ex2d) is serial; one BLAS thread is its fastest setting on a busy machine.
  export OMP_NUM_THREADS=${DESI_THREADS:-1} OPENBLAS_NUM_THREADS=${DESI_THREADS:-1} MKL_NUM_THREADS=${DESI_THREADS:-1}
  run_timed "$REFENV/bin/desi_extract_spectra" --use-specter -i "$IMG" -p "$PSF" -o "$WORK/frame-sub-desispec.fits" \
      -w 6000,6399.2,0.8 -s 0 -n 25
  echo "desispec: ${WALL} s wall, ${CPU} s CPU   (desi_extract_spectra --use-specter, ${OMP_NUM_THREADS} BLAS thread)"
  echo "ratio desispec/ours: $(echo "scale=1; $WALL / $T_OURS" | bc)x wall, $(echo "scale=1; $CPU / $C_OURS" | bc)x CPU   (goal >= 10x)"
  T_D500=$WALL; C_D500=$CPU
  run_timed "$REFENV/bin/desi_extract_spectra" --use-specter -i "$IMG" -p "$PSF" -o "$WORK/frame-half-desispec.fits" \
      -w 6000,6199.2,0.8 -s 0 -n 25
  T_D250=$WALL; C_D250=$CPU
  echo "desispec: ${WALL} s wall, ${CPU} s CPU on half the sub-region (25 fibers x 250 wavelengths)"
  # t = fixed + per_bin * bins through the two runs (12500 and 6250 bins); the full frame has 500 x 2326 bins
  T_DFULL=$(echo "scale=1; $T_D250 + ($T_D500 - $T_D250) * (500 * 2326 - 6250) / 6250" | bc)
  C_DFULL=$(echo "scale=1; $C_D250 + ($C_D500 - $C_D250) * (500 * 2326 - 6250) / 6250" | bc)
  echo "== full r0 frame, desispec scaled up from the two sub-regions (fixed $(echo "scale=1; 2 * $C_D250 - $C_D500" | bc) s + per bin) =="
  echo "desispec: ~${T_DFULL} s wall, ~${C_DFULL} s CPU (estimate, 1 BLAS thread)"
  echo "ours:      ${T_FULL} s wall, ${C_FULL} s CPU (measured above, --ncpu $NCPU)"
  echo "ratio desispec/ours, full frame: $(echo "scale=1; $T_DFULL / $T_FULL" | bc)x wall, $(echo "scale=1; $C_DFULL / $C_FULL" | bc)x CPU"
  echo "== agreement with desispec on the sub-region =="
  "$REFENV/bin/python" scripts/compare_extract.py --preproc "$IMG" --psf "$PSF" --ours "$WORK/frame-sub-ours.fits" \
      --reference "$WORK/frame-sub-desispec.fits" 2>&1 | grep -v '^INFO'
else
  echo "desispec/specter not found in $REFENV: no side-by-side timing"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Trace shifts, sky, flux calibration and cframe of one full-size science frame: ours (BIN, and OLD_BIN when given, e.g. the build
# before a change) and desispec (REFENV, its main only, imports excluded: exposure_reference.py) on the same files in
# the same run, one thread each; prints wall and CPU (user + sys) seconds and the ratio desispec / ours in CPU.
# Usage: scripts/bench/traceshift_sky_cframe.sh NIGHTDIR [EXPID] [CAMERA]
#   NIGHTDIR: a reduced demo night (NSPEC=500 CAMERAS=r0 scripts/bench/exposure.sh NIGHTDIR makes one); EXPID: the
#   science exposure (default 4); CAMERA (default r0). Environment: BIN (default: this checkout's release build),
#   OLD_BIN (optional), REFENV (/work/refenv), STEPS (traceshift,sky,cframe; fluxcalib may be added).
# The same options on both sides: traceshift as the night's science frames (--sky --degxx 2 --degxy 0 --degyx 2
# --degyy 0) on the night's preproc image and psfnight; sky with --adjust-wavelength --adjust-lsf (the night also
# fits the CCD sector offsets, which desispec reads from a DESI_SPECTRO_CALIB yaml the simulated night lacks);
# fluxcalib as the night's task (frame, fiber flat, sky, the spectrograph's stdstars models, --average-fluxcalib
# from the night's calib dir when there); desispec's side (exposure_reference.py) drops --average-fluxcalib and, when
# desimodel's fiber-acceptance table is not installed (pip's desimodel lacks it), sets its point-source corrections
# to 1 for every fiber, so desispec's time is slightly underestimated there;
# cframe as desispec's procexp --no-xtalk --no-tsnr.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
NIGHTDIR=$(cd "${1:?usage: traceshift_sky_cframe.sh NIGHTDIR [EXPID] [CAMERA]}" && pwd)
EXPID=$(printf "%08d" "${2:-4}")
CAM=${3:-r0}
REFENV=${REFENV:-/work/refenv}
STEPS=${STEPS:-traceshift,sky,cframe}
BIN=${BIN:-$ROOT/.build/release/desispec}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 DESISPEC_NCPU=1
REDUX=$NIGHTDIR/redux/demo
NIGHT=$(ls "$NIGHTDIR/raw" | grep -E '^[0-9]{8}$' | head -1)
EXP=$REDUX/exposures/$NIGHT/$EXPID
PRE=$REDUX/preproc/$NIGHT/$EXPID/preproc-$CAM-$EXPID.fits
PSFNIGHT=$REDUX/calibnight/$NIGHT/psfnight-$CAM-$NIGHT.fits
FLAT=$REDUX/calibnight/$NIGHT/fiberflatnight-$CAM-$NIGHT.fits
STDSTARS=$EXP/stdstars-${CAM:1}-$EXPID.fits
AVGCALIB=$NIGHTDIR/calib/fluxcalib-$CAM.fits
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

args_for() {   # STEP OUTPREFIX: the step's arguments, outputs under OUTPREFIX
  case "$1" in
    traceshift) echo "-i $PRE --psf $PSFNIGHT -o $2-psf.fits --sky --degxx 2 --degxy 0 --degyx 2 --degyy 0";;
    sky) echo "-i $EXP/frame-$CAM-$EXPID.fits --fiberflat $FLAT -o $2-sky.fits --adjust-wavelength --adjust-lsf";;
    fluxcalib) echo "-i $EXP/frame-$CAM-$EXPID.fits --fiberflat $FLAT --sky $EXP/sky-$CAM-$EXPID.fits \
--models $STDSTARS -o $2-fluxcalib.fits$( [ -f "$AVGCALIB" ] && echo " --average-fluxcalib $AVGCALIB")";;
    cframe) echo "-i $EXP/frame-$CAM-$EXPID.fits --fiberflat $FLAT --sky $EXP/sky-$CAM-$EXPID.fits \
--calib $EXP/fluxcalib-$CAM-$EXPID.fits -o $2-cframe.fits";;
  esac
}

ours() {   # NAME BINARY STEP: prints "wall cpu"
  local t; t=$OUT/$1-$3.time
  # shellcheck disable=SC2046
  /usr/bin/time -f "%e %U %S" -o "$t" "$2" "$3" $(args_for "$3" "$OUT/$1") -q
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$t"
}

echo "== $CAM exposure $EXPID of $NIGHTDIR, one thread each; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-11s %22s %22s %22s %9s\n" step "ours wall / cpu" "old wall / cpu" "desispec wall / cpu" "cpu ratio"
IFS=, read -r -a LIST <<< "$STEPS"
for step in "${LIST[@]}"; do
  read -r w c < <(ours new "$BIN" "$step")
  old="-"
  if [ -n "${OLD_BIN:-}" ]; then read -r ow oc < <(ours old "$OLD_BIN" "$step"); old="$ow s / $oc s"; fi
  # shellcheck disable=SC2046
  res=$("$REFENV/bin/python" "$ROOT/scripts/bench/exposure_reference.py" "$step" "$OUT/desispec" -- \
        $(args_for "$step" "$OUT/ref") 2>"$OUT/desispec-$step.log" | tail -1)
  case "$res" in
    seconds*) read -r _ rw _ rc _ _ <<< "$res"
      printf "%-11s %22s %22s %22s %8.1fx\n" "$step" "$w s / $c s" "$old" "$rw s / $rc s" "$(echo "$rc / $c" | bc -l)";;
    *) printf "%-11s %22s %22s   desispec %s\n" "$step" "$w s / $c s" "$old" "$res";;
  esac
  if [ -n "${OLD_BIN:-}" ]; then
    for f in "$OUT"/new-*.fits; do
      [ -f "$f" ] || continue
      g=${f/\/new-/\/old-}
      [ -f "$g" ] && echo "   desispec diff old new $(basename "$f" | sed 's/^new-//'): $("$BIN" diff "$g" "$f" | grep -vc 'same max|diff| 0 rms 0') HDUs/columns differ"
      rm -f "$f" "$g"
    done
  fi
done

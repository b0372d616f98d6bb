#!/usr/bin/env bash
# The independent-truth checks of the full PSF fit on several DESI PSFs (issue 11, "any DESI PSF"): for each case an
# arc drawn by DESI's specter from a true PSF, a fit by `desispec psf` from that PSF's Gaussian-only version with its
# traces moved by (+2.5, +6) pixels (the coarse scan's case), then scripts/psf_truth.py compare (trace rms, spot
# shape) and extract (chi2pix of a specter-drawn science image extracted with the fitted vs the true PSF).
# Cases (CASES="name ..." to choose):
#   r0-edge     psf-r0-00051060 fibers 475-499 (the far edge of the CCD)
#   r0-middle   psf-r0-00051060 fibers 225-274
#   gh8         psf-gausshermite-v2 (PSFVER 2, GH degree 8, HSIZE 14 x 8), its 25 fibers, whole CCD
#   b-like      psf-r0-00051060 made b-like (psf_truth.py camera --kind b), fibers 100-149
#   z-like      psf-r0-00051060 made z-like (--kind z: broad core, strong GH, a tail), fibers 100-149, --fit-tails
# Usage: scripts/psf_truth_cases.sh [workdir]   (default /tmp/psf-truth-cases; existing renders are reused)
# Environment: BIN (desispec; default the release build), REFENV (/work/refenv), DESISPEC_TESTDATA, PSF_ARGS,
#   EXTRACT=0 (skip the science render and the extraction: the slowest part, specter draws at 0.25 A).
# Prints one table row per case: trace rms x / y, spot shape median (p90) and the start's, chi2pix ratio, CPU s.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$(cd "${DESISPEC_TESTDATA:-../shared/data}" && pwd)
PY=${REFENV:-/work/refenv}/bin/python
BIN=${BIN:-$(swift build -c release --show-bin-path)/desispec}
WORK=${1:-/tmp/psf-truth-cases}
mkdir -p "$WORK"
R0=$DATA/psf/psf-r0-00051060.fits
LINES=$DATA/spectra/arc-lines-average-in-vacuum.fits
CASES=${CASES:-r0-edge r0-middle gh8 b-like z-like}

json() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$2"; }

echo "| case | trace rms x / y (px) | spot shape median (p90) | start's spot shape | chi2pix ratio | RCHI2 per bundle | CPU (s) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for c in $CASES; do
  D=$WORK/$c; mkdir -p "$D"
  extra=""
  case $c in
    r0-edge)   src=$R0; first=475; n=25 ;;
    r0-middle) src=$R0; first=225; n=50 ;;
    gh8)       src=$DATA/psf/psf-gausshermite-v2.fits; first=; n=25 ;;
    b-like)    src=$D/psf-b-like.fits; "$PY" scripts/psf_truth.py camera --kind b --psf "$R0" -o "$src" >/dev/null; first=100; n=50 ;;
    z-like)    src=$D/psf-z-like.fits; "$PY" scripts/psf_truth.py camera --kind z --psf "$R0" -o "$src" >/dev/null; first=100; n=50
               extra="--fit-tails" ;;
    *) echo "unknown case $c" >&2; exit 2 ;;
  esac
  if [ ! -f "$D/arc.fits" ]; then
    if [ -n "$first" ]; then   # the PSF cut to the fibers and the columns they cover, its arc drawn by specter
      "$PY" scripts/make_psffit_fixture.py --psf "$src" --lines "$LINES" -o "$D" --first-fiber "$first" --nfiber "$n" \
          --no-blank >/dev/null
    else
      cp "$src" "$D/psf-truth.fits"
      "$PY" scripts/psf_truth.py arc --psf "$D/psf-truth.fits" -o "$D/arc.fits" --specmin 0 --nspec "$n" >/dev/null
    fi
  fi
  T=$D/psf-truth.fits
  "$PY" scripts/psf_truth.py perturb --psf "$T" -o "$D/start.fits" --gaussian-only --dx 2.5 --dy 6 >/dev/null
  "$PY" scripts/psf_truth.py perturb --psf "$T" -o "$D/start-in-place.fits" --gaussian-only >/dev/null
  /usr/bin/env time -o "$D/time.txt" -f "%U %S" "$BIN" psf -i "$D/arc.fits" --psf "$D/start.fits" -o "$D/fit.fits" \
      --ncpu 2 $extra ${PSF_ARGS:-} >"$D/psf.log" 2>&1 || { echo "| $c | fit failed: $(tail -1 "$D/psf.log") |"; continue; }
  cpu=$(awk '{printf "%.1f", $1 + $2}' "$D/time.txt")
  "$PY" scripts/psf_truth.py compare --true "$T" --fit "$D/fit.fits" --specmin 0 --nspec "$n" --json "$D/compare.json" >/dev/null
  "$PY" scripts/psf_truth.py compare --true "$T" --fit "$D/start-in-place.fits" --specmin 0 --nspec "$n" \
      --json "$D/compare-start.json" >/dev/null
  ratio="-"
  if [ "${EXTRACT:-1}" = 1 ]; then
  if [ ! -f "$D/sci.fits" ]; then
    "$PY" scripts/psf_truth.py science --psf "$T" -o "$D/sci.fits" --specmin 0 --nspec "$n" >/dev/null
  fi
  wr=$("$PY" -c "from specter.psf import load_psf; p=load_psf('$T'); print(f'{p.wmin + 60:.0f},{p.wmax - 60:.0f},0.8')")
  "$PY" scripts/psf_truth.py extract --true "$T" --fit "$D/fit.fits" --image "$D/sci.fits" --bin "$BIN" -w "$wr" \
      --json "$D/extract.json" >/dev/null
  ratio=$(json "'%.4f' % d['chi2pix_ratio']" "$D/extract.json")
  fi
  rchi=$("$PY" -c "import fitsio; h=fitsio.read_header('$D/fit.fits','PSF'); print(' '.join(f'{h[k]:.3f}' for k in h.keys() if k.endswith('RCHI2') and k.startswith('B')))")
  trace=$(json "'%.4f / %.4f' % (d['trace_rms_x'], d['trace_rms_y'])" "$D/compare.json")
  spot=$(json "'%.2f %% (%.2f %%)' % (100 * d['spot_rms_median'], 100 * d['spot_rms_p90'])" "$D/compare.json")
  spot0=$(json "'%.2f %%' % (100 * d['spot_rms_median'])" "$D/compare-start.json")
  echo "| $c | $trace | $spot | $spot0 | $ratio | $rchi | $cpu |"
done

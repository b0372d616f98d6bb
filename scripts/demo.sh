#!/usr/bin/env bash
# The main job on built-in simulated data: simulate a small night (an arc, a flat, two science exposures of one
# tile; cameras b0, r0, z0) and reduce it end to end with `desispec demo`: preproc, PSF fit, trace shifts,
# extraction, fiber flats, sky, standard stars, flux calibration, cframes, spectra, coadds and QA.
# Prints where everything is and how well the coadds match the simulator's truth.
# Usage: scripts/demo.sh [OUTDIR] [extra desispec demo options, e.g. --nspec 25 --cameras b0,r0,z0,b1,r1,z1]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
out=${1:-demo-output}; shift || true
# Real DESI inputs (UVES sky, stellar templates, filter curves) when the shared data folder is there;
# otherwise the simulator falls back to its built-in spectra.
if [ -z "${DESISPEC_TESTDATA:-}" ] && [ -d ../shared/data ]; then export DESISPEC_TESTDATA=$(cd ../shared/data && pwd); fi
log="${TMPDIR:-/tmp}/desispec-demo-build.log"
echo "demo: building desispec (release; log: $log)"
swift build -c release --product desispec >"$log" 2>&1 || { tail -n 20 "$log" >&2; echo "demo: build failed (see $log)" >&2; exit 1; }
bin=$(swift build -c release --show-bin-path)/desispec
"$bin" demo --outdir "$out" "$@"

#!/usr/bin/env bash
# Where the PSF fit spends its time (issue 11's bench): `perf record` of `desispec psf` on one thread over a few
# bundles, then the functions with the most samples (self time) and with their callees.
# Usage: scripts/bench/psf_profile.sh ARC.fits START.fits [workdir]
#   e.g. the r0-middle case of scripts/psf_truth_cases.sh (fibers 225-274 of psf-r0-00051060 drawn by specter, two
#   bundles; Gaussian-only start moved (+2.5, +6)):
#   scripts/bench/psf_profile.sh /tmp/psf-truth-cases/r0-middle/arc.fits /tmp/psf-truth-cases/r0-middle/start.fits
# Environment: BIN (default: the release build), PSF_ARGS (extra options of desispec psf).
set -euo pipefail
cd "$(dirname "$0")/../.."
ARC=$1; START=$2; WORK=${3:-$(mktemp -d)}
mkdir -p "$WORK"
BIN=${BIN:-$(swift build -c release --show-bin-path)/desispec}
# shellcheck disable=SC2086
perf record -F 499 -g -o "$WORK/perf.data" -- "$BIN" psf -i "$ARC" --psf "$START" -o "$WORK/fit.fits" --ncpu 1 \
    ${PSF_ARGS:-} >"$WORK/psf.log" 2>&1
echo "== self time (top 25)"
perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25 \
    | swift demangle --simplified | cut -c1-160
echo "== with callees (top 25)"
perf report -i "$WORK/perf.data" --children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25 \
    | swift demangle --simplified | cut -c1-160

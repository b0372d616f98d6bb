#!/usr/bin/env bash
# Benchmark: preproc of one full-size camera (4128 x 4114 active pixels, raw 4192 x 4256, 4 amplifiers) with bias,
# dark, pixel flat, mask and cosmic-ray rejection: our release build vs desispec 0.70 (reference venv), timed in the
# same run. Prints wall-clock and CPU (user + sys, all threads) seconds of each and the ratios; ours is the best of
# REPEAT runs (whole process, /usr/bin/time), desispec's the best of REF_REPEAT runs, timed by preproc_reference.py
# around read raw + preproc + write (imports excluded: wall and CPU of that section); desispec's whole-process CPU
# (imports included) is printed too, with its ratio in brackets. On a shared machine the wall-clock ratio depends on
# the load (printed before and after); the CPU ratio much less: it is the figure to compare.
# Each run writes a new output file (the previous run's is deleted first, outside the timing, for both programs):
# replacing an existing 200 MB file makes the kernel free its pages inside the rename, 0.2 s on this VM's ext4,
# which would be timed for every run but a program's first.
# MODES: the modes timed, side by side (default "plain model-variance"; MODEL_VARIANCE=1 alone is MODES=model-variance):
#   plain: the calibration frames above; model-variance: the same plus the model variance on both sides (desispec
#   --model-variance), with the real PSF psf-r0-00051060.fits and a fiber flat named by a calibration yaml
#   (scripts/compare_preproc.py's write_mv_calibration, written before timing).
# BASELINE=BIN: another build of desispec-swift (e.g. main's) timed in the same run, its runs alternating with ours
#   (best of REPEAT each), printed as a third line per mode with desispec's ratio to it and its ratio to ours.
# Usage: scripts/bench/preproc.sh [FIXTURE_DIR]
#   env: REFPY=/work/refenv/bin/python  SCRATCH=.build-preproc  SKIP_BUILD=1  REPEAT=3  REF_REPEAT=1  MODES=...  BASELINE=BIN
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${SCRATCH:-.build-preproc}
REFPY=${REFPY:-/work/refenv/bin/python}
REPEAT=${REPEAT:-3}
REF_REPEAT=${REF_REPEAT:-1}
if [[ -n "${MODEL_VARIANCE:-}" ]]; then MODES=${MODES:-model-variance}; fi
MODES=${MODES:-plain model-variance}
FIX=${1:-/tmp/preproc-bench-fixture}
if [[ -z "${SKIP_BUILD:-}" ]]; then
    swift build -c release --scratch-path "$SCRATCH" --product desispec >/dev/null
fi
BIN="$SCRATCH/release/desispec"
if [[ ! -f "$FIX/desi-00001234.fits.fz" ]]; then
    echo "simulating a full-size raw exposure and its calibration frames in $FIX (debug test fixture, ~1 min)"
    PREPROC_FIXTURE_DIR="$FIX" PREPROC_FIXTURE_SIZE=4128,4114 DESISPEC_TESTDATA="${DESISPEC_TESTDATA:-../shared/data}" \
        swift test --scratch-path "$SCRATCH" --filter PreprocTests.RawFixtureTests >/dev/null
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
CAL=(--bias "$FIX/bias-r0.fits" --dark "$FIX/dark-r0.fits" --pixflat "$FIX/pixflat-r0.fits" --mask "$FIX/mask-r0.fits")
SUMMARY=()
for MODE in $MODES; do
    OURS_MV=(); REF_MV=()
    if [[ "$MODE" == model-variance ]]; then
        PSF="${DESISPEC_TESTDATA:-../shared/data}/psf/psf-r0-00051060.fits"
        YAML=$("$REFPY" -c "import sys; sys.path.insert(0, 'scripts'); import compare_preproc as c; \
print(c.write_mv_calibration('$OUT', '$FIX/desi-00001234.fits.fz', 'r0', '$PSF', mask='$FIX/mask-r0.fits'))" | tail -1)
        OURS_MV=(--model-variance --psf "$PSF" --calib-config "$YAML")
        REF_MV=(--model-variance "$YAML" "$PSF")
        echo "== model variance: PSF $PSF, calibration $YAML"
    elif [[ "$MODE" == plain ]]; then
        echo "== plain (no model variance)"
    else
        echo "unknown mode $MODE (plain, model-variance)" >&2; exit 1
    fi
    echo "cores: $(nproc)   load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    best_wall=""; best_cpu=""; base_wall=""; base_cpu=""
    # one timed run of BIN: sets wall and cpu
    timed() {
        rm -f "$OUT/ours.fits"
        /usr/bin/time -f "%e %U %S" -o "$OUT/time" "$1" preproc -i "$FIX/desi-00001234.fits.fz" --cameras r0 -o "$OUT/ours.fits" \
            "${CAL[@]}" "${OURS_MV[@]}" --quiet 2>/dev/null
        read -r wall user sys < "$OUT/time"
        cpu=$(echo "$user + $sys" | bc -l)
    }
    for i in $(seq "$REPEAT"); do
        timed "$BIN"
        echo "  ours run $i: wall $wall s, cpu $cpu s"
        if [[ -z "$best_wall" ]] || (( $(echo "$wall < $best_wall" | bc -l) )); then best_wall=$wall; fi
        if [[ -z "$best_cpu" ]] || (( $(echo "$cpu < $best_cpu" | bc -l) )); then best_cpu=$cpu; fi
        if [[ -n "${BASELINE:-}" ]]; then
            timed "$BASELINE"
            echo "  baseline run $i: wall $wall s, cpu $cpu s"
            if [[ -z "$base_wall" ]] || (( $(echo "$wall < $base_wall" | bc -l) )); then base_wall=$wall; fi
            if [[ -z "$base_cpu" ]] || (( $(echo "$cpu < $base_cpu" | bc -l) )); then base_cpu=$cpu; fi
        fi
    done
    ref_wall=""; ref_cpu=""; ref_proc=""
    for i in $(seq "$REF_REPEAT"); do
        rm -f "$OUT/ref.fits"
        /usr/bin/time -f "%e %U %S" -o "$OUT/rtime" "$REFPY" scripts/bench/preproc_reference.py "$FIX/desi-00001234.fits.fz" r0 \
            "$OUT/ref.fits" "${CAL[@]}" "${REF_MV[@]}" > "$OUT/ref.txt" 2>/dev/null
        line=$(grep "^desispec_seconds" "$OUT/ref.txt")
        w=$(echo "$line" | awk '{print $2}')
        c=$(echo "$line" | awk '{print $6}')
        read -r _ ru rs < "$OUT/rtime"
        pc=$(echo "$ru + $rs" | bc -l)
        echo "  desispec run $i: wall $w s, cpu $c s ($line); whole process cpu $pc s (imports included)"
        if [[ -z "$ref_wall" ]] || (( $(echo "$w < $ref_wall" | bc -l) )); then ref_wall=$w; fi
        if [[ -z "$ref_cpu" ]] || (( $(echo "$c < $ref_cpu" | bc -l) )); then ref_cpu=$c; fi
        if [[ -z "$ref_proc" ]] || (( $(echo "$pc < $ref_proc" | bc -l) )); then ref_proc=$pc; fi
    done
    printf "ours (desispec-swift, release, whole process incl. I/O): wall %.2f s, cpu %.2f s\n" "$best_wall" "$best_cpu"
    printf "desispec 0.70 (read + preproc + write): wall %.2f s, cpu %.2f s (whole process cpu %.2f s)\n" \
        "$ref_wall" "$ref_cpu" "$ref_proc"
    SUMMARY+=("$(printf "%-26s %9.2f %9.2f %9.2f %9.2f %8.2f %8.2f  (%.2f)" "$MODE" "$best_wall" "$best_cpu" "$ref_wall" \
        "$ref_cpu" "$(echo "$ref_wall / $best_wall" | bc -l)" "$(echo "$ref_cpu / $best_cpu" | bc -l)" \
        "$(echo "$ref_proc / $best_cpu" | bc -l)")")
    if [[ -n "${BASELINE:-}" ]]; then
        printf "baseline %s: wall %.2f s, cpu %.2f s; ours / baseline cpu %.3f\n" "$BASELINE" "$base_wall" "$base_cpu" \
            "$(echo "$best_cpu / $base_cpu" | bc -l)"
        SUMMARY+=("$(printf "%-26s %9.2f %9.2f %9.2f %9.2f %8.2f %8.2f  (%.2f)" "$MODE (baseline)" "$base_wall" "$base_cpu" \
            "$ref_wall" "$ref_cpu" "$(echo "$ref_wall / $base_wall" | bc -l)" "$(echo "$ref_cpu / $base_cpu" | bc -l)" \
            "$(echo "$ref_proc / $base_cpu" | bc -l)")")
    fi
done
echo
echo "one full-size camera (4128 x 4114 pixels, 4 amplifiers), seconds; ratios desispec / ours"
printf "%-26s %9s %9s %9s %9s %8s %8s  %s\n" mode "ours wall" "ours cpu" "ref wall" "ref cpu" "x wall" "x cpu" \
    "(x cpu, desispec whole process)"
for line in "${SUMMARY[@]}"; do echo "$line"; done
echo "(goal 10 in each mode; cpu = user + sys of all threads)   load after: $(cut -d' ' -f1-3 /proc/loadavg)"

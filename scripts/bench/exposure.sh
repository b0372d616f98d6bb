#!/usr/bin/env bash
# Full-size exposure benchmark (issue 16): one spectrograph's night simulated and reduced by the release build,
# every step timed per camera, projected to DESI's 30-frame exposure, side by side with desispec where practical.
#   1. `desispec demo --nspec NSPEC --cameras CAMERAS`: simulates the demo night (2 arcs, 1 flat, 2 science
#      exposures of one tile; CCDs as tall as DESI's, as wide as NSPEC fibers need: 500 fibers = a full CCD; the r
#      cameras with the real PSF $DATA/psf/psf-r0-00051060.fits when the data folder is there (DESISPEC_TESTDATA,
#      else ../shared/data; demo --psf rN=PATH), b and z with the simulator's own PSFs) and reduces it with the night's task graph (what `desispec run night` runs), JOBS
#      tasks at once on the cores, each task's threads given by the runner (DESISPEC_NCPU).
#   2. The table per step and camera from the task logs (their last line, written by the runner from the
#      subprocess's rusage): tasks, wall seconds (mean and sum), CPU seconds (sum), peak resident memory (max).
#   3. Per camera: all its tasks' wall and CPU; one science frame raw -> cframe (preproc, traceshift, extract, sky,
#      fluxcalib, cframe, and a third of the spectrograph's stdstars); the 30-frame projection: 10 x the three
#      cameras' frame CPU seconds shared by the cores (and the wall seconds of the frames run one after the other).
#   4. desispec (REFENV) on the same files for the steps in REF_STEPS, camera REF_CAMERA, the first science
#      exposure (flat for fiberflat, the first arc for arcshift), desispec's main only (imports excluded), and the ratio
#      desispec / ours (wall and CPU).
#      Extraction: scripts/bench/extract.sh times desispec on a sub-region with the real r0 PSF; not repeated here.
# Usage: scripts/bench/exposure.sh [WORKDIR]     (an existing WORKDIR is resumed: finished tasks are not rerun)
# Environment: NSPEC (500; at least 20: fewer fibers hold a single sky fiber), CAMERAS (b0,r0,z0), JOBS (cores),
#   BIN (a built desispec; default: the release build of this checkout), REFENV (/work/refenv),
#   REF_STEPS (preproc,arcshift,traceshift,fiberflat,sky,fluxcalib,cframe; empty: no desispec run), REF_CAMERA (r0),
#   RETIME (1: ours run again on each REF_STEPS task's arguments just before desispec, one thread (RETIME_NCPU), its
#   time in the table; 0: the task's time from the night), REPEAT (1: runs of ours per step, the one with the least
#   CPU kept), REF_REPEAT (1: the same for desispec), DESISPEC_TESTDATA (data folder given to the demo, when it exists; default ../shared/data), REAL_R_PSF (1; 0: the
#   simulator's PSF for r too).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
NSPEC=${NSPEC:-500}
CAMERAS=${CAMERAS:-b0,r0,z0}
CORES=$(nproc)
JOBS=${JOBS:-$CORES}
REFENV=${REFENV:-/work/refenv}
REF_STEPS=${REF_STEPS-preproc,arcshift,traceshift,fiberflat,sky,fluxcalib,cframe}
REF_CAMERA=${REF_CAMERA:-r0}
RETIME=${RETIME:-1}
RETIME_NCPU=${RETIME_NCPU:-1}
REPEAT=${REPEAT:-1}
REF_REPEAT=${REF_REPEAT:-1}
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
if [ -z "${BIN:-}" ]; then
  swift build -c release --product desispec >/dev/null
  BIN=$(swift build -c release --show-bin-path)/desispec
fi
DATA=${DESISPEC_TESTDATA:-$ROOT/../shared/data}
DATA_ARGS=()
if [ -d "$DATA" ]; then DATA=$(cd "$DATA" && pwd); DATA_ARGS=(--data-dir "$DATA"); fi
# the r cameras simulated with the real r0 PSF (the issue's "real PSF for r"), when the data folder has it
REAL_PSF=$DATA/psf/psf-r0-00051060.fits
PSF_MAP=""
if [ "${REAL_R_PSF:-1}" = 1 ] && [ -f "$REAL_PSF" ]; then
  IFS=, read -r -a CAMLIST <<< "$CAMERAS"
  for cam in "${CAMLIST[@]}"; do
    case "$cam" in r*) PSF_MAP="${PSF_MAP:+$PSF_MAP,}$cam=$REAL_PSF";; esac
  done
fi
[ -n "$PSF_MAP" ] && DATA_ARGS+=(--psf "$PSF_MAP")

echo "== desispec demo: $NSPEC fibers, cameras $CAMERAS, $JOBS tasks at once on $CORES cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$PSF_MAP" ]; then echo "   r cameras simulated with the real PSF $REAL_PSF"; else echo "   every camera with the simulator's PSF"; fi
T0=$(date +%s.%N)
if ! "$BIN" demo --outdir "$WORK" --nspec "$NSPEC" --cameras "$CAMERAS" --jobs "$JOBS" "${DATA_ARGS[@]}" >"$WORK/demo.log" 2>&1; then
  echo "the demo failed (see $WORK/demo.log):"; tail -5 "$WORK/demo.log"
fi
T1=$(date +%s.%N)
echo "demo (simulation + reduction): $(echo "$T1 - $T0" | bc) s wall; load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# One line per task with resources: TYPE CAMERA EXPID WALL CPU PEAKMB THREADS
TASKS=$WORK/task-resources.txt
: > "$TASKS"
while IFS= read -r log; do
  line=$(grep '^# resources:' "$log" | tail -1 || true)
  [ -n "$line" ] || continue
  name=$(basename "$log" .log)
  type=${name%%_*}; rest=${name#*_}; rest=${rest#*_}          # type, then drop the night
  unit=${rest##*_}; expid=${rest%_*}; [ "$expid" = "$rest" ] && expid=-
  echo "$line" | sed -E 's/.*threads ([0-9]+), wall ([0-9.]+) s, cpu ([0-9.]+) s, peak memory ([0-9.]+) MB.*/\1 \2 \3 \4/' |
    while read -r th wall cpu mb; do echo "$type $unit $expid $wall $cpu $mb $th"; done >> "$TASKS"
done < <(find "$WORK/redux" -name '*.log' -path '*/logs/*' | sort)
[ -s "$TASKS" ] || { echo "no task log with a resources line under $WORK/redux"; exit 1; }

ORDER="preproc arcshift psf psfnight traceshift extract fiberflat fiberflatnight sky stdstars fluxcalib cframe spectra coadd qa qaexposure qanight"
echo
echo "== per step and camera (wall and CPU seconds, peak resident memory of the largest task)"
printf "%-15s %-9s %5s %9s %9s %9s %9s\n" step unit tasks "wall mean" "wall sum" "cpu sum" "peak MB"
for step in $ORDER; do
  awk -v s="$step" '$1 == s || (s == "qa" && $1 == "qa-frame") { print $2 }' "$TASKS" | sort -u | while read -r unit; do
    awk -v s="$step" -v u="$unit" '$1 == s && $2 == u { n++; w += $4; c += $5; if ($6 > m) m = $6 }
      END { if (n) printf "%-15s %-9s %5d %9.1f %9.1f %9.1f %9.0f\n", s, u, n, w / n, w, c, m }' "$TASKS"
  done
done
echo
echo "== per camera"
IFS=, read -r -a CAMS <<< "$CAMERAS"
FRAME_CPU_ALL=0; FRAME_WALL_ALL=0
printf "%-6s %12s %12s %14s %14s %10s\n" camera "wall, all" "cpu, all" "frame wall" "frame cpu" "peak MB"
# mean wall and CPU of STEP on UNIT over the exposures in EXPIDS (space separated): "wall cpu" (0 0 if none)
mean_of() {
  awk -v s="$1" -v u="$2" -v list=" $3 " '$1 == s && $2 == u && index(list, " " $3 " ") { n++; w += $4; c += $5 }
    END { if (n) printf "%.3f %.3f\n", w / n, c / n; else print "0 0" }' "$TASKS"
}
for cam in "${CAMS[@]}"; do
  sp=sp${cam:1}
  read -r wall cpu peak < <(awk -v u="$cam" '$2 == u { w += $4; c += $5; if ($6 > m) m = $6 }
    END { printf "%.1f %.1f %.0f\n", w, c, m }' "$TASKS")
  # one science frame: the science exposures are those with a sky task; stdstars is shared by the spectrograph's cameras
  scis=$(awk -v u="$cam" '$1 == "sky" && $2 == u { printf "%s ", $3 }' "$TASKS")
  fwall=0; fcpu=0
  for step in preproc traceshift extract sky fluxcalib cframe; do
    read -r w c < <(mean_of "$step" "$cam" "$scis")
    fwall=$(echo "$fwall + $w" | bc -l); fcpu=$(echo "$fcpu + $c" | bc -l)
  done
  read -r w c < <(mean_of stdstars "$sp" "$scis")
  fwall=$(echo "$fwall + $w / ${#CAMS[@]}" | bc -l); fcpu=$(echo "$fcpu + $c / ${#CAMS[@]}" | bc -l)
  printf "%-6s %10.1f s %10.1f s %12.1f s %12.1f s %10.0f\n" "$cam" "$wall" "$cpu" "$fwall" "$fcpu" "$peak"
  FRAME_CPU_ALL=$(echo "$FRAME_CPU_ALL + $fcpu" | bc -l); FRAME_WALL_ALL=$(echo "$FRAME_WALL_ALL + $fwall" | bc -l)
done
PROJ_CPU=$(echo "10 * $FRAME_CPU_ALL / $CORES" | bc -l)
PROJ_WALL=$(echo "10 * $FRAME_WALL_ALL" | bc -l)
printf "30-frame exposure, raw -> cframe, projected from these %d cameras x 10 spectrographs:\n" "${#CAMS[@]}"
printf "  %.0f s = %.1f min with the CPU time shared by %d cores;  %.0f s = %.1f min with the frames run one after the other\n" \
  "$PROJ_CPU" "$(echo "$PROJ_CPU / 60" | bc -l)" "$CORES" "$PROJ_WALL" "$(echo "$PROJ_WALL / 60" | bc -l)"
echo "  goal: 15 min on 2 cores (900 s)"
if [ "$NSPEC" != 500 ]; then echo "  (NSPEC=$NSPEC: not a full-size exposure; the projection is for this size)"; fi
MAXMB=$(awk '{ if ($6 > m) m = $6 } END { printf "%.0f", m }' "$TASKS")
echo "largest peak resident memory of any task: $MAXMB MB (goal: under 1500 MB)"

# desispec side by side
if [ -z "$REF_STEPS" ]; then exit 0; fi
if [ ! -x "$REFENV/bin/python" ] || ! "$REFENV/bin/python" -c "import desispec" 2>/dev/null; then
  echo "desispec not found in $REFENV: no side-by-side timing"; exit 0
fi
echo
echo "== desispec on the same files, camera $REF_CAMERA (desispec's main only; one BLAS thread; load: $(cut -d' ' -f1 /proc/loadavg))"
if [ "$RETIME" = 1 ]; then echo "   ours run again just before desispec on the task's arguments (DESISPEC_NCPU=$RETIME_NCPU)"; fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
NIGHT=$(ls "$WORK/raw" | grep -E '^[0-9]{8}$' | head -1)
SCI=$(awk -v u="$REF_CAMERA" '$1 == "sky" && $2 == u { print $3 }' "$TASKS" | sort | head -1)
FLAT=$(awk -v u="$REF_CAMERA" '$1 == "fiberflat" && $2 == u { print $3 }' "$TASKS" | sort | head -1)
ARC=$(awk -v u="$REF_CAMERA" '$1 == "arcshift" && $2 == u { print $3 }' "$TASKS" | sort | head -1)
printf "%-12s %10s %12s %8s %10s %12s %8s %10s %14s\n" step "ours wall" "desispec wall" ratio "ours cpu" "desispec cpu" \
  ratio "ours peak" "desispec peak"
# run r's /usr/bin/time file ("%e %U %S %M"): ours, ourscpu and oursmb become that run's when it is the first (r = 0)
# or used less CPU than the one kept
keep_least_cpu() {
  local w u s kb c
  read -r w u s kb < <(tail -1 "$2")
  c=$(echo "$u + $s" | bc -l)
  if [ "$1" = 0 ] || (( $(echo "$c < $ourscpu" | bc -l) )); then
    ours=$w; ourscpu=$c; oursmb=$(echo "$kb / 1024" | bc -l)
  fi
}
IFS=, read -r -a STEPS <<< "$REF_STEPS"
for step in "${STEPS[@]}"; do
  expid=$SCI; [ "$step" = fiberflat ] && expid=$FLAT; [ "$step" = arcshift ] && expid=$ARC
  sub=$step; [ "$step" = arcshift ] && sub=traceshift   # the arcs' trace shifts (desi_proc's arc_traceshift)
  log=$(find "$WORK/redux" -path '*/logs/*' -name "${step}_${NIGHT}_${expid}_${REF_CAMERA}.log" | head -1)
  if [ -z "$log" ]; then printf "%-12s %10s\n" "$step" "no task"; continue; fi
  read -r ours ourscpu oursmb < <(awk -v s="$step" -v u="$REF_CAMERA" -v e="$expid" \
    '$1 == s && $2 == u && $3 == e { print $4, $5, $6 }' "$TASKS")
  read -r -a ARGS <<< "$(head -1 "$log" | sed 's/^# desispec [^ ]* //')"
  if [ "$RETIME" = 1 ] && [ "$step" != preproc ]; then
    # ours timed again here, with the task's arguments and its outputs moved into $WORK/desispec, so that both codes
    # are measured in the same run at the same load (the task's own time was taken inside the night, beside others)
    mkdir -p "$WORK/desispec"
    OURS=(); prev=""
    for a in "${ARGS[@]}"; do
      case "$prev" in -o|--outfile|--sframe|--outoffsets|--save-adjustments) a="$WORK/desispec/ours-$(basename "$a")";; esac
      OURS+=("$a"); prev=$a
    done
    for ((r = 0; r < REPEAT; r++)); do
      if /usr/bin/time -f "%e %U %S %M" -o "$WORK/ours-$step.time" env DESISPEC_NCPU="$RETIME_NCPU" "$BIN" "$sub" "${OURS[@]}" \
          2>"$WORK/ours-$step.log"; then
        keep_least_cpu "$r" "$WORK/ours-$step.time"
      else
        echo "$step: ours failed again on the task's arguments (see $WORK/ours-$step.log); the task's own time is used"
        break
      fi
    done
  fi
  if [ "$step" = preproc ]; then
    # desispec's side is the plain preproc (no model variance: that needs a calibration yaml and fiber flat the
    # simulated night lacks), so ours is timed again here the same way, on the same raw frame.
    raw=${ARGS[1]}; mkdir -p "$WORK/desispec"
    for ((r = 0; r < REPEAT; r++)); do
      rm -f "$WORK/desispec/ours-plain-preproc-$REF_CAMERA.fits"
      /usr/bin/time -f "%e %U %S %M" -o "$WORK/ours-preproc.time" "$BIN" preproc -i "$raw" --cameras "$REF_CAMERA" \
        -o "$WORK/desispec/ours-plain-preproc-$REF_CAMERA.fits" -q --no-calib-config 2>/dev/null
      keep_least_cpu "$r" "$WORK/ours-preproc.time"
    done
    ARGS=(-i "$raw" --cameras "$REF_CAMERA" -o "$WORK/desispec/preproc-$REF_CAMERA.fits")
  fi
  # desispec REF_REPEAT times: the run with the least CPU
  res=""
  for ((r = 0; r < REF_REPEAT; r++)); do
    one=$(cd "$WORK" && "$REFENV/bin/python" "$ROOT/scripts/bench/exposure_reference.py" "$sub" "$WORK/desispec" -- "${ARGS[@]}" \
          2>"$WORK/desispec-$step.log" | tail -1) || { res="failed: $(tail -1 "$WORK/desispec-$step.log")"; break; }
    case "$one" in
      seconds*) if [ -z "$res" ] || (( $(echo "$(echo "$one" | cut -d' ' -f4) < $(echo "$res" | cut -d' ' -f4)" | bc -l) )); then
                  res=$one; fi;;
      *) res=$one; break;;
    esac
  done
  case "$res" in
    seconds*) read -r _ t _ c _ refmb <<< "$res"
      printf "%-12s %8.2f s %11.2f s %7.1fx %8.2f s %10.2f s %7.1fx %7.0f MB %11.0f MB\n" "$step" "$ours" "$t" \
        "$(echo "$t / $ours" | bc -l)" "$ourscpu" "$c" "$(echo "$c / ($ourscpu + 0.005)" | bc -l)" "$oursmb" "$refmb";;
    *) printf "%-12s %8.2f s   desispec %s (log: %s)\n" "$step" "$ours" "$res" "$WORK/desispec-$step.log";;
  esac
done

#!/usr/bin/env bash
# Two builds of `desispec extract` side by side on one full r0 frame (500 fibers, 5760-7620 A at 0.8 A, the real
# PSF psf-r0-00051060.fits), with 2 and 1 threads, in turns (A, B, A, B) so that a changing machine load hits both
# alike: CPU time (user + sys), wall time and peak memory of each run; then `desispec diff` of the frames, A
# against B and 1 against 2 threads (speed work must leave every output the same).
# Usage: scripts/bench/extract_ab.sh A_BIN B_BIN PREPROC [WORKDIR]
#   PREPROC: e.g. the image scripts/bench/extract.sh simulates (WORKDIR/preproc-r0-00000001.fits there).
# Environment: DESISPEC_TESTDATA (default ../shared/data).
set -euo pipefail
if [ $# -lt 3 ]; then echo "usage: $0 A_BIN B_BIN PREPROC [WORKDIR]" >&2; exit 2; fi
A=$1; B=$2; IMG=$3; WORK=${4:-$(mktemp -d)}
mkdir -p "$WORK"
DATA=${DESISPEC_TESTDATA:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/data}
PSF=$DATA/psf/psf-r0-00051060.fits
for f in "$A" "$B" "$IMG" "$PSF"; do [ -e "$f" ] || { echo "$f: not found" >&2; exit 1; }; done
for nt in 2 1; do
  for side in A B; do
    bin=$A; [ $side = B ] && bin=$B
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/env time -o "$WORK/time.txt" -f "%U %S %e %M" "$bin" extract -i "$IMG" -p "$PSF" \
        -o "$WORK/frame-$side-$nt.fits" -w 5760,7620,0.8 --ncpu "$nt" -q
    read -r user sys wall rss < "$WORK/time.txt"
    printf "%s --ncpu %s: CPU %6.1f s (user %.1f + sys %.1f), wall %6.1f s, peak %d MB, load before %s\n" \
        "$side" "$nt" "$(echo "$user + $sys" | bc)" "$user" "$sys" "$wall" $((rss / 1024)) "$load"
  done
done
for pair in "A-2 B-2" "A-1 B-1" "B-1 B-2"; do
  set -- $pair
  n=$("$B" diff "$WORK/frame-$1.fits" "$WORK/frame-$2.fits" 2>&1 | grep -vc 'same max|diff| 0 rms 0' || true)
  echo "desispec diff frame-$1 frame-$2: $n HDU columns not identical (max|diff| 0 everywhere else)"
done

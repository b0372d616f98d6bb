#!/usr/bin/env bash
# A/B of two configurations on a reduced night's own tasks: for each STEP, the command of its first task log
# (`# desispec STEP ...`, the first line every task log starts with), its output (`-o PATH`) sent to a scratch folder,
# run with configuration A and B in turn, REPEAT times each, alternating (so that a change of the machine's load or
# memory state falls on both); prints per step the best CPU (user + sys, all threads) and wall seconds of each, and
# the ratio A / B, from /usr/bin/time. The night's own files are read, never written.
# Usage: scripts/bench/ab_tasks.sh WORKDIR STEP[,STEP...]
#   WORKDIR: a folder made by scripts/bench/exposure.sh (or any production: its run/logs/night/*/*.log are searched)
#   STEP: preproc, traceshift, extract, fiberflat, sky, stdstars, fluxcalib, cframe, psf, ... ; STEP@EXPID picks
#         that exposure's task (default: the step's first log in name order)
# Environment: A_BIN, B_BIN (default: this checkout's release build), A_ENV, B_ENV (words VAR=value put in the
#   command's environment, e.g. B_ENV="LD_PRELOAD=/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"),
#   REPEAT (3), DESISPEC_NCPU (1: the step on one thread, as the benchmark's RETIME runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:?usage: ab_tasks.sh WORKDIR STEP[,STEP...]}
STEPS=${2:?usage: ab_tasks.sh WORKDIR STEP[,STEP...]}
A_BIN=${A_BIN:-$PWD/.build/release/desispec}
B_BIN=${B_BIN:-$PWD/.build/release/desispec}
A_ENV=${A_ENV:-}
B_ENV=${B_ENV:-}
REPEAT=${REPEAT:-3}
export DESISPEC_NCPU=${DESISPEC_NCPU:-1}
for b in "$A_BIN" "$B_BIN"; do [[ -x "$b" ]] || { echo "ab_tasks: $b is not an executable" >&2; exit 1; }; done
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# the command line of STEP's task (words after "# desispec"), its -o value replaced by a scratch path
task_args() {
    local step=${1%@*} expid="" log
    [[ "$1" == *@* ]] && expid=$(printf '%08d' "${1#*@}")
    log=$(find "$WORK" -path "*/run/logs/night/*" -name "${step}_*${expid}*.log" | sort | head -1)
    [[ -n "$log" ]] || { echo "ab_tasks: no task log for $1 under $WORK" >&2; return 1; }
    local words out=() next=""
    read -r -a words < <(head -1 "$log")
    # (the subcommand is the step's, but for arcshift: traceshift)
    [[ "${words[0]}" == "#" && "${words[1]}" == "desispec" ]] \
        || { echo "ab_tasks: $log does not start with '# desispec'" >&2; return 1; }
    for w in "${words[@]:2}"; do
        if [[ "$next" == o ]]; then out+=("$SCRATCH/$(basename "$w")"); next=""; continue; fi
        [[ "$w" == "-o" ]] && next=o
        out+=("$w")
    done
    printf '%s\n' "${out[@]}"
}

# one timed run: prints "cpu wall"
timed() {
    local bin=$1 envwords=$2; shift 2
    rm -rf "${SCRATCH:?}"/*
    # shellcheck disable=SC2086
    if ! env $envwords /usr/bin/time -f "%U %S %e" "$bin" "$@" >/dev/null 2>"$SCRATCH/.stderr"; then
        echo "ab_tasks: run failed: $bin $*" >&2; tail -5 "$SCRATCH/.stderr" >&2; return 1
    fi
    local u s e
    read -r u s e < <(tail -1 "$SCRATCH/.stderr")
    echo "$(echo "$u + $s" | bc) $e"
}

echo "A: $A_BIN ${A_ENV:+(env $A_ENV)}"
echo "B: $B_BIN ${B_ENV:+(env $B_ENV)}"
echo "DESISPEC_NCPU=$DESISPEC_NCPU, best of $REPEAT each, alternating; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-16s %9s %9s %9s %9s %8s\n' step "A cpu" "B cpu" "A wall" "B wall" "A/B cpu"
IFS=',' read -r -a list <<<"$STEPS"
for step in "${list[@]}"; do
    argv=$(task_args "$step")
    mapfile -t args <<<"$argv"
    best=(9999 9999 9999 9999)
    for ((r = 0; r < REPEAT; r++)); do
        res=$(timed "$A_BIN" "$A_ENV" "${args[@]}"); read -r c w <<<"$res"
        (( $(echo "$c < ${best[0]}" | bc) )) && best[0]=$c
        (( $(echo "$w < ${best[2]}" | bc) )) && best[2]=$w
        res=$(timed "$B_BIN" "$B_ENV" "${args[@]}"); read -r c w <<<"$res"
        (( $(echo "$c < ${best[1]}" | bc) )) && best[1]=$c
        (( $(echo "$w < ${best[3]}" | bc) )) && best[3]=$w
    done
    printf '%-16s %9.2f %9.2f %9.2f %9.2f %8.3f\n' "$step" "${best[0]}" "${best[1]}" "${best[2]}" "${best[3]}" \
        "$(echo "scale=4; ${best[0]} / ${best[1]}" | bc)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

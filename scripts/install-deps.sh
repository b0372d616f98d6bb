#!/usr/bin/env bash
# Installs the system libraries desispec builds on (Debian). Idempotent: does nothing when they are present.
# usage: scripts/install-deps.sh [--with-slurm] [--with-browser]
#   --with-slurm  also Debian's slurm-wlm and munge, best effort, for the test that runs a night's batch scripts on a
#                 single-node Slurm (scripts/slurm-local.sh); that test is skipped where Slurm is absent.
#   --with-browser  also Debian's chromium and chromium-driver, best effort, quietly (apt's output goes to
#                 ${TMPDIR:-/tmp}/desispec-install-browser.log), for Tests/BrowserTests; skipped where they are absent.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
install() {
    local need=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
    [ ${#need[@]} -eq 0 ] && return 0
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
}
install libcfitsio-dev libopenblas-dev liblapacke-dev libsqlite3-dev libcairo2-dev fonts-dejavu-core pkg-config
for flag in "$@"; do
    case "$flag" in
    --with-slurm)
        install slurm-wlm munge || echo "install-deps: could not install slurm-wlm/munge: the Slurm test will be skipped" >&2 ;;
    --with-browser)
        log="${TMPDIR:-/tmp}/desispec-install-browser.log"
        if dpkg -s chromium chromium-driver >/dev/null 2>&1; then :
        elif echo "install-deps: chromium, chromium-driver (log: $log)" && install chromium chromium-driver >"$log" 2>&1; then :
        else echo "install-deps: could not install chromium/chromium-driver (see $log): the browser test will be skipped" >&2
        fi ;;
    *) echo "install-deps: unknown option $flag" >&2; exit 2 ;;
    esac
done
command -v swift >/dev/null || { echo "install-deps: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }

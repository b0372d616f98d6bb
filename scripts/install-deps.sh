#!/usr/bin/env bash
# Installs the system libraries desispec builds on (Debian). Idempotent: does nothing when they are present.
set -euo pipefail
need=()
for pkg in libcfitsio-dev libopenblas-dev liblapacke-dev libsqlite3-dev libcairo2-dev fonts-dejavu-core pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
command -v swift >/dev/null || { echo "install-deps: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }

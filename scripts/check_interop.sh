#!/usr/bin/env bash
# Opens every *.fits in DIR with desispec's own readers (chosen by DESI file-name prefix) through
# ../shared/tools/check_interop.py and the reference virtual environment. Exit 1 if any file fails.
# usage: scripts/check_interop.sh DIR      (env: REFENV, default /work/refenv; CHECK_INTEROP, the checker script)
set -euo pipefail
dir="${1:?usage: $0 DIR}"
here="$(cd "$(dirname "$0")" && pwd)"
refenv="${REFENV:-/work/refenv}"
checker="${CHECK_INTEROP:-$here/../../shared/tools/check_interop.py}"
[ -x "$refenv/bin/python" ] || { echo "error: no python in $refenv (set REFENV to a venv with desispec)" >&2; exit 2; }
[ -f "$checker" ] || { echo "error: $checker not found (set CHECK_INTEROP)" >&2; exit 2; }
shopt -s nullglob
files=("$dir"/*.fits)
[ ${#files[@]} -gt 0 ] || { echo "error: no *.fits in $dir" >&2; exit 2; }
exec "$refenv/bin/python" "$checker" "${files[@]}"

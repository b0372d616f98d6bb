#!/usr/bin/env bash
# The long fuzzing mode of issue 17: N damaged copies of every product type (truncations, flipped bytes in headers
# and data, edited structural keywords, swapped HDUs, duplicated EXTNAMEs) through every subcommand that reads them.
# Prints a table of counts per subcommand and outcome (ok, error, crash, hang, not-one-line, partial-output) and the
# inputs that crashed, hung or left output; exits non-zero if there is any.
# Usage: scripts/fuzz.sh N [SEED_FOLDER]
#   SEED_FOLDER: a `desispec demo` output to take the products from (default: small products that the test makes
#   with `desispec simulate`, `preproc`, `extract`, `cframe`, `spectra` and `coadd`).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:?usage: scripts/fuzz.sh N [SEED_FOLDER]}"
export DESISPEC_TESTDATA="${DESISPEC_TESTDATA:-$(cd .. && pwd)/shared/data}"
swift build --build-tests >/dev/null
swift build -c release --product desispec >/dev/null
export DESISPEC_BIN="$(swift build -c release --show-bin-path)/desispec"
export DESISPEC_FUZZ_COUNT="$N"
if [ -n "${2:-}" ]; then export DESISPEC_FUZZ_SEEDS="$(cd "$2" && pwd)"; fi
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
export DESISPEC_FUZZ_REPORT="$report"
status=0
swift test --skip-build --filter 'CLITests.FuzzTests/testLongFuzz' 2>&1 | grep --line-buffered '^fuzz:' || true
[ -s "$report" ] || { echo "fuzz.sh: the fuzzing test wrote no report (build or seed products failed?)" >&2; exit 2; }
cat "$report"
grep -qE '^(crash|hang|partial-output|not-one-line):' "$report" && status=1
exit $status

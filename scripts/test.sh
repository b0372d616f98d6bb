#!/usr/bin/env bash
# Installs what the tests need, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-slurm --with-browser
export DESISPEC_TESTDATA="${DESISPEC_TESTDATA:-$(cd .. && pwd)/shared/data}"
swift build --build-tests
# The end-to-end night tests (Tests/CLITests/NightPipelineTests) reduce a simulated night several times: they run
# the optimised binary.
swift build -c release --product desispec
export DESISPEC_RELEASE_BIN="$(swift build -c release --show-bin-path)/desispec"
swift test --skip-build "$@"

#!/usr/bin/env bash
# Installs what the tests need, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export DESISPEC_TESTDATA="${DESISPEC_TESTDATA:-$(cd .. && pwd)/shared/data}"
swift build --build-tests
swift test --skip-build "$@"

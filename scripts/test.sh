#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Loam and runs the whole test suite.
#   bash scripts/test.sh            # install deps, build, all tests
#   LOAM_SKIP_INSTALL=1 bash scripts/test.sh   # skip the apt step
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${LOAM_SKIP_INSTALL:-0}" = 1 ] || bash scripts/install-test-deps.sh
bash scripts/fetch-test-assets.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2

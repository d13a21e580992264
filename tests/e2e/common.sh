# Sourced by the e2e scripts (`source "$(dirname "$0")/common.sh"`): the
# binary and the source tree from the script's arguments (LOAM SOURCE_DIR), a
# scratch directory removed on exit, fail(), and the system Python (tools/
# scripts need Debian's python3 packages).
set -euo pipefail
loam=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
py=/usr/bin/python3

#!/usr/bin/env bash
# Keeps the fuzz targets alive in CI (CTest label slow): builds every
# fuzz/*_fuzz.cpp with clang (libFuzzer + ASan/UBSan) in a build directory of
# its own beside the normal build (BUILD/fuzz-build; only the libraries the
# targets link are built; the normal build's compiler does not matter), then
# runs each, one at a time, on a copy of its seed corpus for LOAM_FUZZ_SECONDS
# (default 15) seconds: nine targets, about 2.5 minutes after the build. A
# crash, sanitizer report, leak, timeout or out-of-memory fails the test and
# leaves the input in BUILD/fuzz-build/findings/ (add it to fuzz/corpus/NAME/
# as regression_* with the fix).
#   usage: fuzz_slow_test.sh LOAM SOURCE_DIR   (run from the build directory)
source "$(dirname "$0")/common.sh"
seconds=${LOAM_FUZZ_SECONDS:-15}
command -v clang++ >/dev/null || fail "clang++ is missing (bash scripts/install-test-deps.sh)"

fb=$PWD/fuzz-build
if [ ! -f "$fb/build.ninja" ]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  CC=clang CXX=clang++ cmake -S "$src" -B "$fb" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOAM_FUZZ=ON \
    -DLOAM_SANITIZE=ON -DBUILD_TESTING=OFF "${launcher[@]}" >/dev/null
fi
start=$(date +%s)
ninja -C "$fb" -j "${LOAM_FUZZ_JOBS:-2}" fuzz >"$fb/build.log" 2>&1 || { tail -40 "$fb/build.log"; fail "fuzz build"; }
echo "fuzz build: $(($(date +%s) - start)) s"

mkdir -p "$fb/findings"
for cpp in "$src"/fuzz/*_fuzz.cpp; do
  name=$(basename "$cpp" .cpp)
  corpus=${name%_fuzz}
  mkdir -p "$work/$corpus"
  [ -d "$src/fuzz/corpus/$corpus" ] && cp -r "$src/fuzz/corpus/$corpus/." "$work/$corpus/"
  # One worker; inputs bounded in time and memory; new inputs stay in the copy.
  if ! "$fb/fuzz/$name" "$work/$corpus" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
      -artifact_prefix="$fb/findings/$name-" -print_final_stats=1 >"$work/$name.log" 2>&1; then
    tail -60 "$work/$name.log"
    fail "$name found a problem (input saved under $fb/findings/)"
  fi
  echo "$name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$') runs in ${seconds}s"
done
echo "fuzz_slow_test: ok"

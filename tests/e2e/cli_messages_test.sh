#!/usr/bin/env bash
# End-to-end: what a new user reads. The hint for preference data names
# commands that exist; a tuned adapter records its base model as a path that
# resolves from anywhere.
#   usage: cli_messages_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 32 --layers 1 --heads 2 --kv-heads 1 --intermediate 64 >/dev/null

# Preference pairs given to tune sft: the hint names commands that exist.
set +e
$loam tune sft --source-model "$work/m" --train "$src/tests/data/datasets/preference.jsonl" --output "$work/p" \
  >/dev/null 2>"$work/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "preference data: exit $rc"
grep -qF "holds preference pairs" "$work/err" || fail "preference data: $(cat "$work/err")"
grep -qF "loam data validate FILE --task sft" "$work/err" || fail "hint: $(cat "$work/err")"
grep -qF "loam tune preference" "$work/err" || fail "hint names no preference command: $(cat "$work/err")"
# ... and the commands the hint names run.
$loam data validate "$src/tests/data/datasets/good_chat.jsonl" --task sft >/dev/null
# (into a file: `grep -q` closing the pipe early would fail the command under pipefail)
$loam tune preference --help > "$work/help" || fail "tune preference --help"
grep -q -- "--beta" "$work/help" || fail "tune preference --help names no --beta"

# base_model_name_or_path: the absolute model directory, though typed relative.
(cd "$work" && $loam tune sft --source-model ./m/ --train "$src/tests/data/datasets/good_chat.jsonl" --output run \
  --max-steps 1 --adapter-size 2 >/dev/null 2>"$work/tune.log") || { cat "$work/tune.log"; fail "tune sft"; }
base=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_model_name_or_path"])' "$work/run/adapter_config.json")
[ "$base" = "$work/m" ] || fail "base_model_name_or_path is '$base', expected '$work/m'"
# It resolves from another directory: merge finds the base through it.
(cd / && $loam merge --model "$base" --adapter "$work/run" --out "$work/merged" >/dev/null)
echo "cli_messages_test: ok"

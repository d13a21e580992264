#!/usr/bin/env bash
# End-to-end: `loam tune sft` refuses what would silently go wrong — values
# outside their range (0 is not "default"), a flag given twice, a reused
# output directory, a resume with other settings, an invalid --init-adapter
# (creating nothing) — and: --eval-strategy no, SIGINT exits 130, and
# pre-tokenized data trains on a model directory without tokenizer files.
#   usage: tune_guard_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 32 --layers 1 --heads 2 --kv-heads 1 --intermediate 64 >/dev/null
head -n 8 "$src/examples/support/instructions_train.jsonl" > "$work/train.jsonl"
sed -n '17,18p' "$src/examples/support/instructions_train.jsonl" > "$work/val.jsonl"
base0=(--source-model "$work/m" --train "$work/train.jsonl" --adapter-size 2 --batch-size 4)
base=("${base0[@]}" --max-steps 2)

# 1. Out-of-range values and repeated flags, named as flags, with the range.
expect_refused() {  # expect_refused PATTERN ARGS...
  local pattern=$1; shift
  if $loam tune sft "${base[@]}" --output "$work/never" "$@" 2> "$work/err.log"; then fail "accepted: $*"; fi
  grep -q -- "$pattern" "$work/err.log" || fail "for $*: expected '$pattern', got: $(cat "$work/err.log")"
  [ ! -e "$work/never" ] || fail "a refused run created its output ($*)"
}
expect_refused "--epochs: must be between 1 and 1000" --epochs 0
expect_refused "--learning-rate: must be in (0, 1)" --learning-rate 0
expect_refused "--lora-alpha: must be greater than 0" --lora-alpha 0
expect_refused "--threads: must be between 1 and 1024" --threads 0
expect_refused "--threads: must be between 1 and 1024" --threads -1
expect_refused "--batch-size: given 2 times (4, 2)" --batch-size 2
expect_refused "--init-adapter" --init-adapter "$work/no-such-adapter"
$loam tune sft --help > "$work/help.txt"
grep -q -- "--batch-size VALUE *Examples per micro-batch, 1..4096 \[default: 4\]" "$work/help.txt" || fail "no default in --help"

# 2. A run; the same output again is refused, --overwrite-output clears it.
$loam tune sft "${base[@]}" --output "$work/a" > /dev/null 2> "$work/a.log" || { cat "$work/a.log"; fail "first run"; }
if $loam tune sft "${base[@]}" --output "$work/a" 2> "$work/a2.log"; then fail "a used output directory was reused"; fi
grep -q -- "is not empty" "$work/a2.log" && grep -q -- "--overwrite-output" "$work/a2.log" || fail "$(cat "$work/a2.log")"
$loam tune sft "${base[@]}" --output "$work/a" --overwrite-output > /dev/null 2> "$work/a3.log" || { cat "$work/a3.log"; fail "overwrite"; }

# 3. A resume with another learning rate is refused, naming it with both values.
if $loam tune sft "${base[@]}" --learning-rate 0.001 --output "$work/a" --resume "$work/a" 2> "$work/r.log"; then
  fail "resumed with another learning rate"; fi
grep -q -- "--learning-rate: unset in the checkpoint, 0.001 now" "$work/r.log" || fail "$(cat "$work/r.log")"

# 4. --eval-strategy no: no validation at all, even at epoch ends.
$loam tune sft "${base[@]}" --validation "$work/val.jsonl" --eval-strategy no --output "$work/e" > /dev/null 2> "$work/e.log" \
  || { cat "$work/e.log"; fail "eval-strategy no"; }
if grep -q val_loss "$work/e/metrics.jsonl"; then fail "evaluated with --eval-strategy no"; fi
$loam tune sft "${base[@]}" --validation "$work/val.jsonl" --output "$work/e2" > /dev/null 2> /dev/null
grep -q val_loss "$work/e2/metrics.jsonl" || fail "no evaluation at the epoch end by default"

# 5. SIGINT: a checkpoint and exit status 130.
$loam tune sft "${base0[@]}" --epochs 1000 --output "$work/i" > "$work/i.json" 2> "$work/i.log" &
pid=$!
for _ in $(seq 1 600); do
  [ "$(wc -l 2>/dev/null < "$work/i/metrics.jsonl" || echo 0)" -ge 1 ] && break
  sleep 0.05
done
kill -INT $pid
rc=0; wait $pid || rc=$?
[ "$rc" = 130 ] || fail "SIGINT exited $rc, not 130"
grep -q "interrupted by SIGINT" "$work/i.log" || fail "$(tail -2 "$work/i.log")"

# 6. Pre-tokenized data on a model directory without tokenizer files.
mkdir "$work/bare"
cp "$work/m/config.json" "$work/m/model.safetensors" "$work/bare/"
printf '%s\n' '{"input_ids": [1, 5, 9, 11, 2], "labels": [-100, -100, 9, 11, 2]}' \
  '{"input_ids": [1, 7, 3, 4, 2], "labels": [-100, -100, -100, 4, 2]}' > "$work/ids.jsonl"
$loam tune sft --source-model "$work/bare" --train "$work/ids.jsonl" --adapter-size 2 --max-steps 2 --output "$work/t" \
  > "$work/t.json" 2> "$work/t.log" || { cat "$work/t.log"; fail "pre-tokenized data without a tokenizer"; }
grep -q '"status":"completed"' "$work/t.json" || fail "$(cat "$work/t.json")"
if $loam tune sft --source-model "$work/bare" --train "$work/train.jsonl" --output "$work/t2" 2> "$work/t2.log"; then
  fail "text data trained without a tokenizer"; fi
grep -q "train.jsonl:1" "$work/t2.log" && grep -q "tokenizer" "$work/t2.log" || fail "$(cat "$work/t2.log")"
echo "tune guard: all checks passed"

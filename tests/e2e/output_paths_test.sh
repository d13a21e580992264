#!/usr/bin/env bash
# End-to-end: no command writes over one of its own inputs, or writes two of
# its outputs to one file — paths compared as the file system resolves them
# (symlinks, hard links, "a/../b"). Each refusal leaves the inputs
# byte-identical and writes nothing. (merge --out D used to overwrite
# D/model.safetensors; convert --out D/model.safetensors wrote a GGUF over the
# weights; data split could overwrite its input or keep only one output.)
#   usage: output_paths_test.sh LOAM SOURCE_DIR
set -euo pipefail
loam=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# refused NAME PATTERN CMD...: exit 1 and stderr holds PATTERN (fixed string).
refused() {
  local name=$1 pattern=$2
  shift 2
  set +e
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  set -e
  [ $rc -eq 1 ] || { cat "$work/err" >&2; fail "$name: exit $rc (expected 1)"; }
  grep -qF -- "$pattern" "$work/err" || { cat "$work/err" >&2; fail "$name: stderr lacks: $pattern"; }
}
sums() { (cd "$work" && find m a data -type f -print0 | sort -z | xargs -0 sha256sum); }

cp -r "$src/tests/data/models/llama" "$work/m"
mv "$work/m/adapter" "$work/a"
mkdir "$work/data"
cp "$src/tests/data/datasets/good_chat.jsonl" "$work/data/in.jsonl"
ln -s "$work/m" "$work/m-link"
ln "$work/m/model.safetensors" "$work/hard.safetensors"
ln -s "$work/data/in.jsonl" "$work/data/link.jsonl"
before=$(sums)

# merge: into the model's own directory, by name, symlink or "x/../m"; into the adapter's.
refused "merge into model" "--out $work/m: is the same file as the input (the model directory $work/m)" \
  $loam merge --model "$work/m" --adapter "$work/a" --out "$work/m"
refused "merge via symlink" "is the same file as the input (the model directory $work/m)" \
  $loam merge --model "$work/m" --adapter "$work/a" --out "$work/m-link"
refused "merge via .." "is the same file as the input" \
  $loam merge --model "$work/m" --adapter "$work/a" --out "$work/a/../m"
refused "merge into adapter" "--out $work/a: is the same file as the input" \
  $loam merge --model "$work/m" --adapter "$work/a" --out "$work/a"

# convert: over the weights (by name or through a hard link), over config.json.
refused "convert over weights" "--out $work/m/model.safetensors: is the same file as the input" \
  $loam convert --model "$work/m" --out "$work/m/model.safetensors" --no-tokenizer
refused "convert over hard link" "--out $work/hard.safetensors: is the same file as the input" \
  $loam convert --model "$work/m" --out "$work/hard.safetensors" --no-tokenizer
refused "convert over config" "is the same file as the input (the model's file $work/m/config.json)" \
  $loam convert --model "$work/m" --out "$work/m-link/config.json" --no-tokenizer

# data split / prepare: over the input, through a symlink, or two outputs in one file.
refused "split over input" "--train $work/data/in.jsonl: is the same file as the input" \
  $loam data split "$work/data/in.jsonl" --train "$work/data/in.jsonl" --validation "$work/v.jsonl"
refused "split via symlink" "--validation $work/data/link.jsonl: is the same file as the input" \
  $loam data split "$work/data/in.jsonl" --train "$work/t.jsonl" --validation "$work/data/link.jsonl"
refused "split one output" "--validation $work/./t.jsonl: is the same file as the output --train $work/t.jsonl" \
  $loam data split "$work/data/in.jsonl" --train "$work/t.jsonl" --validation "$work/./t.jsonl"
refused "prepare over input" "--out $work/data/link.jsonl: is the same file as the input" \
  $loam data prepare "$work/data/in.jsonl" --out "$work/data/link.jsonl"

[ "$(sums)" = "$before" ] || fail "an input changed"
[ ! -e "$work/t.jsonl" ] && [ ! -e "$work/v.jsonl" ] || fail "a refused split wrote an output"
[ -z "$(find "$work" -name '*.tmp.*')" ] || fail "temporary files left: $(find "$work" -name '*.tmp.*')"

# The same commands with distinct outputs work, and again over their own earlier outputs.
for i in 1 2; do
  $loam merge --model "$work/m" --adapter "$work/a" --out "$work/merged" >/dev/null
  $loam convert --model "$work/m" --out "$work/m/model.gguf" --no-tokenizer >/dev/null
  $loam data split "$work/data/in.jsonl" --train "$work/t.jsonl" --validation "$work/v.jsonl" >/dev/null
done
[ -f "$work/merged/model.safetensors" ] && [ -f "$work/merged/config.json" ] || fail "merge output missing"
[ "$(($(wc -l <"$work/t.jsonl") + $(wc -l <"$work/v.jsonl")))" = "$(wc -l <"$work/data/in.jsonl")" ] || fail "split lost lines"
[ -z "$(find "$work" -name '*.tmp.*')" ] || fail "temporary files left: $(find "$work" -name '*.tmp.*')"
echo "output_paths_test: ok"

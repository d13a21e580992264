#!/usr/bin/env bash
# End-to-end: `loam generate --input prompts.jsonl` decodes many prompts as
# one batch; with --output json each line has the text, tokens, finish reason
# and timings, and greedy outputs equal each prompt generated alone. Bad lines
# are refused naming the file, line and field.
#   usage: generate_batch_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null

cat > "$work/p.jsonl" <<'EOF'
{"prompt": "The weather"}
{"prompt": "Once upon a time there was", "max_tokens": 5}
{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 7}

{"prompt": "Tomorrow", "max_tokens": 0}
{"prompt": "A sampled one", "temperature": 0.8, "seed": 3, "max_tokens": 6}
EOF
$loam generate --model "$work/m" --input "$work/p.jsonl" --max-tokens 9 --output json --batch 3 > "$work/out.jsonl"
[ "$(wc -l < "$work/out.jsonl")" = 5 ] || fail "expected 5 result lines: $(cat "$work/out.jsonl")"

# Each prompt alone, same settings.
alone() { $loam generate --model "$work/m" --output json "$@"; }
alone --prompt "The weather" --max-tokens 9 > "$work/a0.json"
alone --prompt "Once upon a time there was" --max-tokens 5 > "$work/a1.json"
alone --chat --prompt "Hi" --max-tokens 7 > "$work/a2.json"
alone --prompt "A sampled one" --temperature 0.8 --seed 3 --max-tokens 6 > "$work/a4.json"
text_alone=$($loam generate --model "$work/m" --prompt "The weather" --max-tokens 9)

$py - "$work" "$text_alone" <<'PY'
import json, sys
work, text_alone = sys.argv[1], sys.argv[2]
out = [json.loads(l) for l in open(f"{work}/out.jsonl")]
assert [o["index"] for o in out] == list(range(5)), out
for o in out:
    for k in ("text", "tokens", "finish_reason", "prompt_tokens", "completion_tokens", "prefill_seconds", "decode_seconds"):
        assert k in o, (k, o)
    assert o["completion_tokens"] == len(o["tokens"]), o
    assert o["finish_reason"] in ("eos", "stop", "length"), o
for i in (0, 1, 2, 4):
    a = json.load(open(f"{work}/a{i}.json"))
    assert out[i]["tokens"] == a["tokens"], (i, out[i], a)
    assert out[i]["text"] == a["text"], (i, out[i], a)
    assert out[i]["finish_reason"] == a["finish_reason"], (i, out[i], a)
assert len(out[1]["tokens"]) <= 5 and len(out[2]["tokens"]) <= 7 and len(out[0]["tokens"]) <= 9, out
assert out[3]["tokens"] == [] and out[3]["finish_reason"] == "length", out[3]
assert out[0]["text"] == text_alone, (out[0]["text"], text_alone)
PY

# Text output: one line per prompt, in input order.
$loam generate --model "$work/m" --input "$work/p.jsonl" --max-tokens 9 > "$work/out.txt"
[ "$(head -1 "$work/out.txt")" = "$text_alone" ] || fail "text output: $(head -1 "$work/out.txt") vs $text_alone"

# Bad input: named by file, line and field; nothing generated.
bad() {
  printf '%s\n' '{"prompt": "ok"}' "$1" > "$work/bad.jsonl"
  if $loam generate --model "$work/m" --input "$work/bad.jsonl" > "$work/bad.out" 2> "$work/err"; then fail "accepted: $1"; fi
  grep -q "bad.jsonl:2" "$work/err" || fail "error does not name the line for $1: $(cat "$work/err")"
  grep -q "$2" "$work/err" || fail "error does not name $2 for $1: $(cat "$work/err")"
  [ ! -s "$work/bad.out" ] || fail "output written for bad input $1"
}
bad '{"prompt": 3}' "prompt"
bad '{"max_tokens": 2}' "prompt and messages"
bad '{"prompt": "x", "max_tokens": -1}' "max_tokens"
bad '{"prompt": "x", "temperature": "hot"}' "temperature"
bad '{"prompt": "x", "seed": -2}' "seed"
bad '{"prompt": "x", "max_tokens": 100000}' "max_tokens"
bad 'not json' "bad.jsonl"
if $loam generate --model "$work/m" --prompt x --input "$work/p.jsonl" 2> "$work/err"; then fail "--prompt with --input accepted"; fi
if $loam generate --model "$work/m" --prompt x --output yaml 2> "$work/err"; then fail "--output yaml accepted"; fi
grep -q -- "--output" "$work/err" || fail "--output error: $(cat "$work/err")"
echo "generate batch e2e: ok"

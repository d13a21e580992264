#!/usr/bin/env bash
# End-to-end: the engine commands of the real `loam` binary on a checkpoint in
# the real Hugging Face layout (random weights, Mistral's real tokenizer), its
# GGUF conversions, and bad input.
#   usage: engine_cli_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null

# inspect: JSON with the facts a user asks for.
$loam inspect "$work/m" --json > "$work/inspect.json"
$py - "$work/inspect.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["architecture"] == "llama", j
assert j["layers"] == 2 and j["hidden_size"] == 64 and j["vocab_size"] == 32000, j
assert j["chat_template"] is True, j
assert j["parameters"] == 32000 * 64 + 2 * (64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 128 + 2 * 64) + 64, j["parameters"]
assert j["memory"]["weights_bytes"] > 0
PY

# tokenize: text and JSONL input, with and without special tokens.
out=$($loam tokenize --tokenizer "$work/m" --text "Hello world" --add-special-tokens)
[ "$out" = '{"ids":[1,22557,1526]}' ] || fail "tokenize gave $out"
printf '{"text": "Hello world"}\n{"text": ""}\n' > "$work/t.jsonl"
[ "$($loam tokenize --tokenizer "$work/m/tokenizer.json" --input "$work/t.jsonl" | wc -l)" = 2 ] || fail "tokenize --input"

# chat-template: the model's own template.
printf '%s\n' '{"messages":[{"role":"user","content":"Hi"}],"add_generation_prompt":true}' > "$work/c.jsonl"
out=$($loam chat-template --model "$work/m" --input "$work/c.jsonl")
[ "$out" = '{"rendered":"<s> [INST] Hi [/INST]"}' ] || fail "chat-template gave $out"
printf '%s\n' '{"messages":[{"role":"assistant","content":"Hi"}]}' > "$work/bad.jsonl"
if $loam chat-template --model "$work/m" --input "$work/bad.jsonl" 2> "$work/err"; then fail "template should raise"; fi
grep -q "bad.jsonl:1" "$work/err" || fail "template error does not name the line: $(cat "$work/err")"

# generate: deterministic greedy output, same from HF and from GGUF F32.
g1=$($loam generate --model "$work/m" --prompt "The weather" --max-tokens 12)
g2=$($loam generate --model "$work/m" --prompt "The weather" --max-tokens 12)
[ "$g1" = "$g2" ] || fail "greedy generation is not deterministic"
$loam convert --model "$work/m" --out "$work/m.gguf" --dtype f32 >/dev/null
g3=$($loam generate --model "$work/m.gguf" --prompt "The weather" --max-tokens 12)
[ "$g1" = "$g3" ] || fail "GGUF F32 generation differs: [$g1] vs [$g3]"
# A stop sequence taken from the greedy output cuts it right before the stop.
stop=$(printf '%s' "$g1" | $py -c 'import sys; t=sys.stdin.read(); print(t[len(t)//2:len(t)//2+3])')
g4=$($loam generate --model "$work/m" --prompt "The weather" --max-tokens 12 --stop "$stop" --stats 2> "$work/stop.err")
$py - "$g1" "$g4" "$stop" <<'PY'
import sys
full, cut, stop = sys.argv[1], sys.argv[2], sys.argv[3]
assert cut == full[:full.index(stop)], (full, cut, stop)
PY
grep -q "finish: stop" "$work/stop.err" || fail "stop sequence not reported: $(cat "$work/stop.err")"
# The GGUF file carries the tokenizer and chat template: same ids, same rendering.
t1=$($loam tokenize --tokenizer "$work/m" --text "Héllo wörld 😀 <s> code()" --add-special-tokens)
t2=$($loam tokenize --tokenizer "$work/m.gguf" --text "Héllo wörld 😀 <s> code()" --add-special-tokens)
[ "$t1" = "$t2" ] || fail "GGUF tokenizer differs: $t1 vs $t2"
[ "$($loam chat-template --model "$work/m.gguf" --input "$work/c.jsonl")" = '{"rendered":"<s> [INST] Hi [/INST]"}' ] || fail "GGUF chat template"
s1=$($loam generate --model "$work/m" --prompt "The weather" --max-tokens 12 --temperature 0.9 --top-p 0.9 --seed 7)
s2=$($loam generate --model "$work/m" --prompt "The weather" --max-tokens 12 --temperature 0.9 --top-p 0.9 --seed 7)
[ "$s1" = "$s2" ] || fail "seeded sampling is not reproducible"

# logits: .npy of shape [T, V], same from HF and GGUF (F32), close for Q8_0.
$loam logits --model "$work/m" --tokens 1,415,8086,349 --out "$work/a.npy" | grep -q "cross-entropy" || fail "logits"
$loam logits --model "$work/m.gguf" --tokens 1,415,8086,349 --out "$work/b.npy" >/dev/null
$loam convert --model "$work/m" --out "$work/q.gguf" --dtype q8_0 >/dev/null
$loam convert --model "$work/m" --out "$work/h.gguf" --dtype bf16 >/dev/null
$loam inspect "$work/q.gguf" --json | grep -q '"Q8_0"' || fail "inspect does not report Q8_0"
$loam logits --model "$work/q.gguf" --tokens 1,415,8086,349 --out "$work/q.npy" >/dev/null
$loam logits --model "$work/h.gguf" --tokens 1,415,8086,349 --out "$work/h.npy" >/dev/null
$py - "$work" <<'PY'
import sys, numpy as np
w = sys.argv[1]
a, b, q, h = (np.load(f"{w}/{n}.npy") for n in "abqh")
assert a.shape == (4, 32000) and a.dtype == np.float32, a.shape
assert np.abs(a - b).max() < 1e-5, np.abs(a - b).max()
assert np.abs(a - q).max() < 5e-2, np.abs(a - q).max()
assert np.abs(a - h).max() < 5e-2, np.abs(a - h).max()
PY

# bench: JSON with medians and spread.
$loam bench --model "$work/m.gguf" --prompt-tokens 32 --gen-tokens 8 --repetitions 2 --json > "$work/b.json"
$py -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['pp_tokens_per_s']>0 and j['tg_tokens_per_s']>0 and 'pp_stddev' in j" "$work/b.json"

# Bad input: clear errors naming the file, never a crash.
cp -r "$work/m" "$work/trunc"
head -c 100000 "$work/m/model.safetensors" > "$work/trunc/model.safetensors"
if $loam generate --model "$work/trunc" --prompt x 2> "$work/err"; then fail "truncated checkpoint accepted"; fi
grep -q "model.safetensors" "$work/err" || fail "no file named: $(cat "$work/err")"
cp -r "$work/m" "$work/notok" && rm "$work/notok/tokenizer.json"
if $loam generate --model "$work/notok" --prompt x 2> "$work/err"; then fail "missing tokenizer accepted"; fi
grep -q "tokenizer.json" "$work/err" || fail "missing tokenizer not named: $(cat "$work/err")"
sed 's/"LlamaForCausalLM"/"FalconForCausalLM"/; s/"llama"/"falcon"/' "$work/m/config.json" > "$work/cfg" && cp -r "$work/m" "$work/arch" && cp "$work/cfg" "$work/arch/config.json"
if $loam inspect "$work/arch" 2> "$work/err"; then fail "unknown architecture accepted"; fi
grep -q "supported" "$work/err" || fail "unsupported architecture error lists nothing: $(cat "$work/err")"
if $loam logits --model "$work/m" --tokens 1,99999999 --out "$work/x.npy" 2> "$work/err"; then fail "out-of-vocab id accepted"; fi
grep -q "vocabulary" "$work/err" || fail "bad token error: $(cat "$work/err")"
echo "engine CLI: all checks passed"

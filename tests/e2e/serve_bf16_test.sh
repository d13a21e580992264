#!/usr/bin/env bash
# `loam serve --precision bf16` on an fp32 checkpoint: the base is written
# once as a BF16 GGUF under <data dir>/cache/bf16/ and the replicas map that
# file; greedy answers keep their first token and its log-probability stays
# within 0.05 of the fp32 server's (BF16 rounding, not garbage).
#   usage: serve_bf16_test.sh LOAM SOURCE_DIR
set -euo pipefail
loam=$1
src=$2
work=$(mktemp -d)
server_pid=
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=; }
trap 'stop_server; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/serve*.log; do [ -f "$f" ] && tail -20 "$f" >&2; done; exit 1; }
py=/usr/bin/python3
data=$work/data
$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
$loam models import "$work/m" --display-name demo --data-dir "$data" --output json > /dev/null

start_server() {  # LOG_NAME EXTRA_ARGS...
  local log=$work/$1.log
  shift
  $loam serve --port 0 --data-dir "$data" --infer-threads 1 "$@" > "$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do grep -q "listening on" "$log" 2>/dev/null && break; sleep 0.05; done
  port=$(grep -o '127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2)
  [ -n "$port" ] || fail "server did not start"
  url=http://127.0.0.1:$port
}
ask() {  # OUT: 4 questions, greedy, 1 token with its logprob
  for q in "Where is my order?" "Cancel my plan" "Refund please" "Reset password"; do
    curl -s -H 'Content-Type: application/json' "$url/v1/chat/completions" \
      -d "{\"model\":\"demo\",\"temperature\":0,\"max_tokens\":1,\"logprobs\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$q\"}]}"
    echo
  done > "$1"
}
start_server serve_exact --precision exact
ask "$work/exact"
stop_server
start_server serve_bf16 --precision bf16
ask "$work/bf16"
ls "$data"/cache/bf16/*.gguf > /dev/null 2>&1 || fail "no BF16 copy under $data/cache/bf16"
pid=$(curl -s "$url/v1/inference/replicas" | $py -c "import json,sys; print(json.load(sys.stdin)['bases'][0]['replicas'][0]['pid'])")
grep -q "cache/bf16/.*\.gguf" "/proc/$pid/maps" || fail "the replica does not map the BF16 copy"
grep -q "models/.*/model.safetensors" "/proc/$pid/maps" && fail "the replica maps the fp32 checkpoint too"
$py - "$work/exact" "$work/bf16" <<'PY' || fail "BF16 answers drift from fp32"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
for x, y in zip(a, b):
    tx = x["choices"][0]["logprobs"]["content"][0]
    ty = y["choices"][0]["logprobs"]["content"][0]
    print(tx["token"], tx["logprob"], ty["token"], ty["logprob"])
    if tx["token"] != ty["token"] or abs(tx["logprob"] - ty["logprob"]) > 0.05:
        sys.exit("differs")
PY
echo ok

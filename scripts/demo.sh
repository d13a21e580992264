#!/usr/bin/env bash
# Loam's demo, end to end on a fresh Debian 12 machine:
#   install dependencies, build, make a small checkpoint (random weights in the
#   real Hugging Face layout, a real tokenizer), inspect it, tune it with LoRA
#   on the bundled support examples (4 held back), generate with the tuned
#   adapter, and evaluate base vs tuned on the held-back examples.
#   LOAM_SKIP_INSTALL=1 skips the apt step.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${LOAM_SKIP_INSTALL:-0}" = 1 ] || bash scripts/install-deps.sh
bash scripts/fetch-test-assets.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j2

work=demo-output
mkdir -p "$work"
model="$work/demo-model"
[ -f "$model/model.safetensors" ] || /usr/bin/python3 tools/make_demo_model.py "$model"

echo; echo "== loam inspect"
./build/loam inspect "$model"

echo; echo "== loam generate (base model: random weights, so expect noise)"
./build/loam generate --model "$model" --chat --prompt "How do I silence an alert during a maintenance window?" \
  --max-tokens 24 --stats

if ./build/loam tune --help >/dev/null 2>&1 && [ -f examples/support/tiny_train.jsonl ]; then
  # Hold back the last 4 answers for the evaluation below.
  head -n 16 examples/support/tiny_train.jsonl > "$work/train.jsonl"
  tail -n 4 examples/support/tiny_train.jsonl > "$work/heldout.jsonl"
  echo; echo "== loam tune sft (16 support answers, 4 held back; LoRA r=16)"
  ./build/loam tune sft --source-model "$model" --train "$work/train.jsonl" \
    --output "$work/tuned" --epochs 80 --adapter-size 16 --learning-rate 2e-3 --lora-dropout 0 \
    --batch-size 4 --warmup-ratio 0.05 --tuned-model-display-name beacon-support-demo
  prompt=$(head -n 1 examples/support/tiny_train.jsonl | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["input_text"])')
  echo; echo "== loam generate with the tuned adapter"
  echo "prompt: $prompt"
  ./build/loam generate --model "$model" --adapter "$work/tuned" --chat --prompt "$prompt" --max-tokens 64

  echo; echo "== loam eval: base vs tuned on the 4 held-back answers and 3 out-of-domain prompts"
  head -n 3 examples/support/out_of_domain.jsonl > "$work/probes.jsonl"
  ./build/loam eval --model "$model" --adapter "$work/tuned" --data "$work/heldout.jsonl" \
    --out-of-domain "$work/probes.jsonl" --max-tokens 48 --out "$work/eval"
fi

# The managed-service flow: a server over a data directory, the catalog, an
# imported model, a tuning job submitted through the REST API and followed
# to success, and the tuned model with its lineage.
echo; echo "== loam serve (REST API on a free loopback port)"
data="$PWD/$work/data"
mkdir -p "$data/buckets/demo"
cp examples/support/tiny_train.jsonl "$data/buckets/demo/train.jsonl"
./build/loam serve --port 0 --data-dir "$data" --allow-path "$PWD/$work" > "$work/serve.log" 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -1)
curl -sf "$url/health"; echo "  $url  (web console: open $url/ in a browser)"
export LOAM_SERVER=$url

echo; echo "== loam models list --filter 'labels.model_garden=true' (the catalog)"
./build/loam models list --filter 'labels.model_garden=true' --page-size 5

echo; echo "== loam models import (same files twice: same model)"
./build/loam models import "$model" --display-name demo-base --labels family=llama
./build/loam models import "$model" --output json | /usr/bin/python3 -c 'import json,sys; print("again:", json.load(sys.stdin)["name"])'

echo; echo "== POST /v1/projects/demo/locations/local/tuningJobs"
job=$(curl -sf -X POST "$url/v1/projects/demo/locations/local/tuningJobs" -d '{
  "baseModel": "demo-base",
  "supervisedTuningSpec": {"trainingDatasetUri": "gs://demo/train.jsonl",
    "hyperParameters": {"epochCount": 20, "adapterSize": "ADAPTER_SIZE_SIXTEEN", "learningRate": 0.002, "batchSize": 4}},
  "tunedModelDisplayName": "beacon-support-served"}' |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
echo "$job"
./build/loam jobs wait "${job##*/}" --timeout 1800

echo; echo "== the tuned model and its lineage"
./build/loam models get beacon-support-served

# Deploy the tuned model on an endpoint and ask it a support question through
# the OpenAI-compatible API and through generateContent.
echo; echo "== loam endpoints create / deploy"
ep=$(./build/loam endpoints create --display-name support --output json |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["response"]["name"].split("/")[-1])')
./build/loam endpoints deploy "$ep" --model beacon-support-served --min-replicas 1 --max-replicas 1
./build/loam endpoints get "$ep"

echo; echo "== POST /v1/chat/completions (model: the endpoint's display name)"
curl -sf "$url/v1/chat/completions" -d '{"model": "support", "temperature": 0, "max_tokens": 64,
  "messages": [{"role": "user", "content": "How do I reset my Beacon password?"}]}' |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["choices"][0]["message"]["content"])'

echo; echo "== POST .../endpoints/$ep:generateContent"
curl -sf "$url/v1/projects/demo/locations/local/endpoints/$ep:generateContent" -d '{
  "contents": [{"role": "user", "parts": [{"text": "Can I export my Beacon data?"}]}],
  "generationConfig": {"temperature": 0, "maxOutputTokens": 64}}' |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["candidates"][0]["content"]["parts"][0]["text"])'

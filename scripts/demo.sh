#!/usr/bin/env bash
# Loam's demo, end to end on a fresh Debian 12 machine:
#   install dependencies, build, make a small checkpoint (random weights in the
#   real Hugging Face layout, a real tokenizer), inspect it, tune it with LoRA
#   on the bundled support examples, and generate with the tuned adapter.
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
  echo; echo "== loam tune sft (20 support answers, LoRA r=16)"
  ./build/loam tune sft --source-model "$model" --train examples/support/tiny_train.jsonl \
    --output "$work/tuned" --epochs 80 --adapter-size 16 --learning-rate 2e-3 --lora-dropout 0 \
    --batch-size 4 --warmup-ratio 0.05 --tuned-model-display-name beacon-support-demo
  prompt=$(head -n 1 examples/support/tiny_train.jsonl | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["input_text"])')
  echo; echo "== loam generate with the tuned adapter"
  echo "prompt: $prompt"
  ./build/loam generate --model "$model" --adapter "$work/tuned" --chat --prompt "$prompt" --max-tokens 64
fi

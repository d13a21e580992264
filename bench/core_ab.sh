#!/bin/bash
# A/B of two loam builds (issue 8): prefill/decode tok/s per dtype and the
# training step, interleaved old/new, under chrt -f 10. Prints one line per run.
#   bench/core_ab.sh OLD_BUILD_DIR NEW_BUILD_DIR MODEL_PREFIX ROUNDS [engine|train|all]
# MODEL_PREFIX: made by tools/make_demo_model.py (dir) + loam convert (PREFIX-{f32,bf16,q8_0}.gguf).
set -u
old=$1 new=$2 model=$3 rounds=${4:-3} what=${5:-all}
field() { python3 -c "import json,sys; j=json.load(sys.stdin); print(' '.join(str(j[k]) for k in sys.argv[1:]))" "$@"; }
for r in $(seq "$rounds"); do
  if [ "$what" != train ]; then
    for d in f32 bf16 q8_0; do
      for side in old new; do
        dir=$old; [ $side = new ] && dir=$new
        out=$(chrt -f 10 "$dir/loam" bench --model "$model-$d.gguf" --prompt-tokens 512 --gen-tokens 64 --repetitions 3 --json)
        echo "round $r $d $side pp512 tg64: $(echo "$out" | field pp_tokens_per_s tg_tokens_per_s)"
      done
    done
  fi
  if [ "$what" != engine ]; then
    for p in exact bf16; do
      for side in old new; do
        dir=$old; [ $side = new ] && dir=$new
        out=$(chrt -f 10 "$dir/train_step_bench" "$model" --seq 512 --steps 3 --precision $p)
        echo "round $r train-$p $side tok/s: $(echo "$out" | field tokens_per_s)"
      done
    done
  fi
done

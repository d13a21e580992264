#!/usr/bin/env bash
# End-to-end: `loam tune sft` output layout, bit-exact resume after SIGKILL,
# clean stop on SIGTERM, bad data and plans above --max-memory refused before
# training, merge and debug grads — on a small checkpoint in the real Hugging
# Face layout.
#   usage: tune_resume_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
head -n 16 "$src/examples/support/instructions_train.jsonl" > "$work/train.jsonl"
sed -n '17,20p' "$src/examples/support/instructions_train.jsonl" > "$work/val.jsonl"
common=(--source-model "$work/m" --train "$work/train.jsonl" --validation "$work/val.jsonl"
      --adapter-size 4 --batch-size 2 --gradient-accumulation-steps 2 --learning-rate 1e-3 --save-steps 3
      --eval-steps 4 --lora-dropout 0.1 --seed 5)
args=("${common[@]}" --epochs 3)

# 1. An uninterrupted run, and its outputs.
$loam tune sft "${args[@]}" --output "$work/a" > "$work/a.json" 2> "$work/a.log" || { cat "$work/a.log"; fail "tune sft"; }
for f in adapter_config.json adapter_model.safetensors adapter.gguf metrics.jsonl summary.json training_format.json chat_template.jinja best/adapter_model.safetensors; do
  [ -s "$work/a/$f" ] || fail "missing output $f"
done
grep -q "tuning plan" "$work/a.log" || fail "no plan printed"
[ "$(ls -d "$work"/a/checkpoints/step-* | wc -l)" = 2 ] || fail "checkpoints not pruned to the newest 2: $(ls "$work/a/checkpoints")"
grep -q "estimated peak memory" "$work/a.log" || fail "no memory estimate"
$py - "$work/a" <<'PY'
import json, os, sys, struct
d = sys.argv[1]
lines = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
assert [l["step"] for l in lines] == list(range(1, len(lines) + 1)), "steps not consecutive"
for l in lines:
    for k in ("step", "epoch", "learning_rate", "loss", "token_accuracy", "tokens_per_s"):
        assert k in l, (k, l)
assert any("val_loss" in l and "val_token_accuracy" in l for l in lines), "no evaluation step"
assert lines[-1]["loss"] < lines[0]["loss"], "loss did not go down"
cfg = json.load(open(f"{d}/adapter_config.json"))
assert cfg["peft_type"] == "LORA" and cfg["r"] == 4 and set(cfg["target_modules"]) >= {"q_proj", "down_proj"}
hdr = open(f"{d}/adapter_model.safetensors", "rb").read()
n = struct.unpack("<Q", hdr[:8])[0]
names = json.loads(hdr[8:8 + n])
assert "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" in names
g = open(f"{d}/adapter.gguf", "rb").read(4)
assert g == b"GGUF", g
fmt = json.load(open(f"{d}/training_format.json"))
assert fmt["eos_token_ids"] == [2] and "[INST]" in fmt["chat_template"]
s = json.load(open(f"{d}/summary.json"))
if not os.environ.get("LOAM_SANITIZED"):  # ASan's shadow memory is not the program's
    assert 0 < s["peak_rss_bytes"] <= s["estimated_peak_memory_bytes"], ("memory estimate below the real peak", s)
    # Calibration (docs/PERFORMANCE.md): on small models the estimate is the
    # real peak plus at most 160 MB (its fixed allowance for the runtime).
    assert s["estimated_peak_memory_bytes"] - s["peak_rss_bytes"] <= 160e6, ("memory estimate far above the peak", s)
assert s["status"] == "completed" and s["steps"] == len(lines)
PY

# 2. The same run killed with SIGKILL between checkpoints, then resumed:
#    identical loss trajectory and a bit-identical adapter.
$loam tune sft "${args[@]}" --output "$work/b" > /dev/null 2> "$work/b.log" &
pid=$!
for _ in $(seq 1 600); do
  steps=$(wc -l 2>/dev/null < "$work/b/metrics.jsonl" || echo 0)
  [ "$steps" -ge 4 ] && break
  sleep 0.05
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
[ -f "$work/b/checkpoints/latest" ] || fail "no checkpoint before the kill"
ckpt=$(cat "$work/b/checkpoints/latest")
$loam tune sft "${args[@]}" --output "$work/b" --resume "$ckpt" > /dev/null 2> "$work/b2.log" || { cat "$work/b2.log"; fail "resume"; }
cmp "$work/a/adapter_model.safetensors" "$work/b/adapter_model.safetensors" || fail "resumed adapter differs"
$py - "$work/a/metrics.jsonl" "$work/b/metrics.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [x["loss"] for x in a] == [x["loss"] for x in b], "loss trajectories differ"
assert [x.get("val_loss") for x in a] == [x.get("val_loss") for x in b]
PY

# 3. SIGTERM: a checkpoint, exit status 143 (an interrupted run is not a
#    finished one), and a message saying how to resume.
$loam tune sft "${common[@]}" --epochs 50 --output "$work/c" > "$work/c.json" 2> "$work/c.log" &
pid=$!
for _ in $(seq 1 600); do
  [ "$(wc -l 2>/dev/null < "$work/c/metrics.jsonl" || echo 0)" -ge 2 ] && break
  sleep 0.05
done
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ "$rc" = 143 ] || fail "SIGTERM exited $rc, not 143"
grep -q '"status":"interrupted"' "$work/c.json" || fail "not reported as interrupted: $(cat "$work/c.json")"
grep -q -- "--resume $work/c" "$work/c.log" || fail "no resume hint: $(tail -3 "$work/c.log")"
# --resume OUT continues from its newest checkpoint, to the end.
$loam tune sft "${common[@]}" --epochs 50 --max-steps 4 --resume-allow max-steps --output "$work/c" --resume "$work/c" \
  > "$work/c2.json" 2> "$work/c2.log" || { cat "$work/c2.log"; fail "resume from the output directory"; }
grep -q "resumed from $work/c/checkpoints/step-" "$work/c2.log" || fail "not resumed from the newest checkpoint: $(cat "$work/c2.log")"
grep -q '"status":"completed"' "$work/c2.json" || fail "resumed run did not complete: $(cat "$work/c2.json")"

# 3b. Early stopping: with a learning rate far too high the validation loss
#     stops improving; the run ends early, keeps the best adapter and says so.
$loam tune sft --source-model "$work/m" --train "$work/train.jsonl" --validation "$work/val.jsonl" --epochs 20 \
  --learning-rate 0.5 --eval-steps 1 --early-stopping-patience 2 --batch-size 4 --output "$work/es" \
  > "$work/es.json" 2> "$work/es.log" || { cat "$work/es.log"; fail "early-stopping run"; }
grep -q '"status":"early_stopped"' "$work/es.json" || fail "did not stop early: $(cat "$work/es.json")"
[ -s "$work/es/best/adapter_model.safetensors" ] || fail "best adapter not kept"
$py - "$work/es/metrics.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) < 20 * 4, len(lines)  # stopped before the planned 80 steps
vals = [l["val_loss"] for l in lines if "val_loss" in l]
assert min(vals) < vals[-1] and min(vals) < vals[-2], vals  # the last two evaluations did not improve
PY

# 4. A bad line stops the run before training, naming file and line.
cp "$work/train.jsonl" "$work/bad.jsonl"
echo '{"input_text": "where is the config?", "output_txt": "typo"}' >> "$work/bad.jsonl"
if $loam tune sft --source-model "$work/m" --train "$work/bad.jsonl" --output "$work/d" 2> "$work/d.log"; then fail "bad data accepted"; fi
grep -q "bad.jsonl:17" "$work/d.log" || fail "bad line not named: $(cat "$work/d.log")"
[ ! -e "$work/d/metrics.jsonl" ] || fail "a job started on bad data"

# 5. A plan above the memory limit is refused before anything is written,
#    with what to change.
if $loam tune sft --source-model "$work/m" --train "$work/train.jsonl" --max-memory 1M --output "$work/e" \
    2> "$work/e.log"; then fail "a run above --max-memory started"; fi
grep -q "the limit is 1.0 MiB (--max-memory)" "$work/e.log" || fail "no memory refusal: $(cat "$work/e.log")"
grep -q -- "--gradient-checkpointing" "$work/e.log" || fail "refusal does not say what to change: $(cat "$work/e.log")"
[ ! -e "$work/e" ] || fail "a refused run wrote $work/e"
if $loam tune sft --source-model "$work/m" --train "$work/train.jsonl" --max-memory 8X 2> "$work/e.log"; then
  fail "--max-memory 8X accepted"; fi
grep -q -- "--max-memory" "$work/e.log" || fail "bad --max-memory not named: $(cat "$work/e.log")"

# 5. merge: the merged checkpoint gives the adapter's logits.
$loam merge --model "$work/m" --adapter "$work/a" --out "$work/merged" > /dev/null
$loam logits --model "$work/m" --adapter "$work/a" --tokens 1,415,8086,349,28705 --out "$work/l1.npy" > /dev/null
$loam logits --model "$work/merged" --tokens 1,415,8086,349,28705 --out "$work/l2.npy" > /dev/null
$py -c "import numpy as np,sys; a,b=np.load(sys.argv[1]),np.load(sys.argv[2]); d=abs(a-b).max(); assert d<1e-4, d" "$work/l1.npy" "$work/l2.npy"

# 6. debug grads: PEFT names, and the printed loss.
$loam debug grads --model "$work/m" --adapter "$work/a" --tokens 1,415,8086,349,28705,13 --prompt-len 2 --out "$work/g.safetensors" | grep -q "^loss " || fail "debug grads"
$py - "$work/g.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
assert "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight" in h
PY
echo "tune/resume: all checks passed"

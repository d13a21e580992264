#!/usr/bin/env bash
# Preference tuning end to end: `loam tune sft` on the support instructions,
# then `loam tune preference --tuned-model` on the support preference pairs
# (specific answers preferred over vague or wrong ones): reward accuracy on
# held-out pairs rises well above 50% and the margin grows; the tuned model's
# lineage records the SFT model, its adapter and both datasets; a second run
# reuses the cached reference log-probs. Then over HTTP: a preference job from
# @google/genai (PREFERENCE_TUNING, continuing from the SFT model) and one from
# openai (method dpo), both to success.
#   usage: tune_preference_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
dd=$work/dd
$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
head -n 24 "$src/examples/support/instructions_train.jsonl" > "$work/sft.jsonl"
head -n 48 "$src/examples/support/preference_train.jsonl" > "$work/pt.jsonl"
head -n 12 "$src/examples/support/preference_test.jsonl" > "$work/pv.jsonl"

$loam tune sft --source-model "$work/m" --train "$work/sft.jsonl" --epochs 1 --batch-size 4 --threads 2 \
  --output "$work/sft" --tuned-model-display-name support-sft --data-dir "$dd" > "$work/sft.json" 2> "$work/sft.log" \
  || { cat "$work/sft.log"; fail "tune sft"; }
sft_model=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['tuned_model'])" "$work/sft.json")

run_pref() {  # OUT [extra flags]
  local out=$1; shift
  $loam tune preference --tuned-model "$sft_model" --train "$work/pt.jsonl" --validation "$work/pv.jsonl" \
    --epochs 3 --batch-size 4 --learning-rate 0.003 --beta 0.1 --eval-steps 2 --threads 2 --max-seq-length 256 \
    --output "$work/$out" --data-dir "$dd" "$@" > "$work/$out.json" 2> "$work/$out.log" \
    || { cat "$work/$out.log"; fail "tune preference ($out)"; }
}
run_pref dpo
grep -q "reference log-probs computed (init" "$work/dpo.log" || fail "the reference was not the SFT adapter: $(cat "$work/dpo.log")"
$py - "$work/dpo/metrics.jsonl" <<'PY' || fail "reward accuracy/margin on held-out pairs"
import json, sys
v = [json.loads(l) for l in open(sys.argv[1])]
v = [x for x in v if "val_loss" in x]
first, last = v[0], v[-1]
print("held-out reward accuracy %.3f -> %.3f, margin %.4f -> %.4f" % (
    first["val_rewards/accuracies"], last["val_rewards/accuracies"], first["val_rewards/margins"], last["val_rewards/margins"]))
assert last["val_rewards/accuracies"] >= 0.75, last
assert last["val_rewards/margins"] > first["val_rewards/margins"] > 0, (first, last)
for k in ("rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen", "logps/rejected"):
    assert k in last and "val_" + k in last, k
PY
tuned=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['tuned_model'])" "$work/dpo.json")
$loam models get "$tuned" --data-dir "$dd" --output json > "$work/tuned.json"
$py - "$work/tuned.json" "$sft_model" "$work/sft" <<'PY' || fail "lineage"
import json, os, sys
m = json.load(open(sys.argv[1]))
lin = m["metadata"]["lineage"]
assert lin["method"] == "preference" and lin["preference"]["loss"] == "sigmoid", lin
assert lin["pre_tuned_model"] == sys.argv[2], lin
assert os.path.samefile(lin["init_adapter"], sys.argv[3]), lin
roles = sorted(d["role"] for d in lin["datasets"])
assert roles == ["training", "validation"], lin
PY
[ -f "$work/dpo/adapter.gguf" ] || fail "no GGUF adapter"
run_pref dpo2
grep -q "reference log-probs from the cache" "$work/dpo2.log" || fail "the second run recomputed the reference log-probs"

# Over HTTP with the official clients.
key=pref-key
$loam serve --port 0 --data-dir "$dd" --api-key $key --allow-path "$work" > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
[ -n "$port" ] || fail "server did not start"
mkdir -p "$dd/buckets/b"
cp "$work/pt.jsonl" "$dd/buckets/b/train.jsonl"
cp "$work/pv.jsonl" "$dd/buckets/b/val.jsonl"
# OpenAI's own preference format: input.messages / preferred_output / non_preferred_output.
$py - "$work/pt.jsonl" "$work/openai.jsonl" <<'PY'
import json, sys
with open(sys.argv[2], "w") as out:
    for line in list(open(sys.argv[1]))[:8]:
        r = json.loads(line)
        out.write(json.dumps({"input": {"messages": [{"role": "user", "content": r["input_text"]}]},
                              "preferred_output": [{"role": "assistant", "content": r["preferred_output"]}],
                              "non_preferred_output": [{"role": "assistant", "content": r["rejected_output"]}]}) + "\n")
PY
base_id=$($loam models get "$sft_model" --data-dir "$dd" --output json | $py -c "import json,sys; print(json.load(sys.stdin)['baseModelSource']['modelGardenSource']['publicModelName'].split('/')[-1].split('@')[0])")
node "$src/tests/e2e/preference_clients.cjs" "$src/tools" "http://127.0.0.1:$port" $key "$base_id" \
  "projects/demo-project/locations/us-central1/models/$sft_model" gs://b/train.jsonl gs://b/val.jsonl "$work/openai.jsonl" \
  > "$work/clients.json" 2> "$work/clients.err" || { cat "$work/clients.err"; tail -20 "$work/serve.log"; fail "preference through the clients"; }
$py - "$work/clients.json" <<'PY' || fail "client results"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["genai"]["state"] == "JOB_STATE_SUCCEEDED" and r["genai"]["tunedModel"]["model"], r["genai"]
assert r["openai"]["status"] == "succeeded" and r["openai"]["method"]["type"] == "dpo", r["openai"]
PY
echo "tune preference e2e: ok"

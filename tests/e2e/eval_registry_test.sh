#!/usr/bin/env bash
# End-to-end: evaluations in the registry. A run of `loam tune sft` registers
# its base and tuned model; `loam eval --tuned-model NAME` (and --compare NAME)
# resolves them through the registry and scores the same systems as the paths
# do; every evaluation is recorded, linked to the model version it scored,
# and read back over REST as ModelEvaluations (models/{id}/evaluations), with
# the metrics results.json has.
#   usage: eval_registry_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"
server_pid=
trap '[ -n "$server_pid" ] && kill $server_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
data=$work/data

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
head -n 4 "$src/examples/support/tiny_train.jsonl" > "$work/train.jsonl"
$loam tune sft --source-model "$work/m" --train "$work/train.jsonl" --output "$work/tuned" --data-dir "$data" \
  --tuned-model-display-name tuned-a --epochs 4 --adapter-size 4 --learning-rate 3e-3 --lora-dropout 0 --batch-size 4 \
  > "$work/tune.json" 2> "$work/tune.log" || { cat "$work/tune.log"; fail "tune sft"; }
tuned_id=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['tuned_model'])" "$work/tune.json")
[ -n "$tuned_id" ] || fail "no tuned model registered: $(cat "$work/tune.json")"

common=(--data "$work/train.jsonl" --max-tokens 6 --bootstrap 20 --data-dir "$data")
# 1. By name: the tuned model's adapter on its registered base.
$loam eval --tuned-model tuned-a "${common[@]}" --out "$work/byname" > /dev/null 2> "$work/byname.log" ||
  { cat "$work/byname.log"; fail "eval --tuned-model"; }
grep -q "recorded evaluation .* of model $tuned_id@1" "$work/byname.log" || fail "not recorded: $(cat "$work/byname.log")"
# 2. By paths: the same systems, the same scores.
$loam eval --model "$work/m" --adapter "$work/tuned" "${common[@]}" --out "$work/bypath" > /dev/null 2>&1 || fail "eval --adapter"
# 3. --compare with a registered name.
$loam eval --model "$work/m" --compare tuned-a "${common[@]}" --metrics rouge,perplexity --out "$work/compare" \
  > /dev/null 2>&1 || fail "eval --compare NAME"
# A name that is neither a path nor registered is a clear error.
if $loam eval --model "$work/m" --compare no-such-model "${common[@]}" --out "" 2> "$work/bad.err"; then fail "unknown name accepted"; fi
grep -q "no-such-model" "$work/bad.err" || fail "unknown-name message: $(cat "$work/bad.err")"
if $loam eval --tuned-model "$work/m" "${common[@]}" --out "" 2> "$work/notuned.err"; then fail "a base model accepted as --tuned-model"; fi

$py - "$work/byname/results.json" "$work/bypath/results.json" "$work/compare/results.json" <<'PY' || fail "results"
import json, sys
a, b, c = (json.load(open(p)) for p in sys.argv[1:])
assert [s["name"] for s in a["systems"]] == ["base", "tuned-a"], a["systems"]
assert [s["name"] for s in c["systems"]] == ["base", "tuned-a"], c["systems"]
for k in ("perplexity", "rougeL", "token_f1"):
    assert a["systems"][1]["metrics"][k]["value"] == b["systems"][1]["metrics"][k]["value"], k
    assert a["systems"][0]["metrics"][k]["value"] == b["systems"][0]["metrics"][k]["value"], k
assert c["systems"][1]["metrics"]["perplexity"]["value"] == a["systems"][1]["metrics"]["perplexity"]["value"]
assert a["systems"][1]["metrics"]["perplexity"]["value"] < a["systems"][0]["metrics"]["perplexity"]["value"]
PY

# 5. tune sft --evaluate: every checkpoint scored, the best by the metric exported.
$loam tune sft --source-model "$work/m" --train "$work/train.jsonl" --output "$work/tuned-eval" --data-dir "$data" \
  --tuned-model-display-name tuned-e --epochs 4 --adapter-size 4 --learning-rate 3e-3 --lora-dropout 0 --batch-size 4 \
  --save-total-limit 0 --evaluate "$work/train.jsonl" --evaluate-metric perplexity --evaluate-max-tokens 4 \
  > "$work/tune-e.json" 2> "$work/tune-e.log" || { cat "$work/tune-e.log"; fail "tune sft --evaluate"; }
grep -q "evaluated checkpoint 1 on .*perplexity" "$work/tune-e.log" || fail "no evaluation shown: $(cat "$work/tune-e.log")"
if $loam tune sft --source-model "$work/m" --train "$work/train.jsonl" --output "$work/bad-e" --data-dir "$data" \
  --evaluate "$work/train.jsonl" --evaluate-metric rougeX 2> "$work/bad-metric.err"; then fail "unknown metric accepted"; fi
grep -q -- "--evaluate-metric.*rougeX" "$work/bad-metric.err" || fail "metric error: $(cat "$work/bad-metric.err")"
best=$($py - "$work/tuned-eval" <<'PY' || fail "evaluation.json"
import json, sys
out = sys.argv[1]
r = json.load(open(out + "/evaluation.json"))
assert r["metric"] == "perplexity" and r["higher_is_better"] is False, r
vals = {c["step"]: c["value"] for c in r["checkpoints"]}
assert sorted(vals) == [1, 2, 3, 4], vals
assert r["best_step"] == min(vals, key=vals.get), (r["best_step"], vals)  # lower perplexity wins
lines = [json.loads(l) for l in open(out + "/metrics.jsonl")]
ev = {l["step"]: l["evaluation"]["perplexity"]["value"] for l in lines if "evaluation" in l}
assert ev == vals, (ev, vals)
print(r["best_step"], vals[r["best_step"]], vals[1])
PY
)
read -r best_step best_ppl first_ppl <<< "$best"
cmp "$work/tuned-eval/adapter_model.safetensors" "$work/tuned-eval/checkpoints/step-$best_step/adapter_model.safetensors" ||
  fail "the exported adapter is not checkpoint $best_step's"
# The recorded score of checkpoint 1 is what loam eval gives its adapter.
$loam eval --model "$work/m" --adapter "$work/tuned-eval/checkpoints/step-1" --data "$work/train.jsonl" --metrics perplexity \
  --bootstrap 0 --max-tokens 4 --data-dir "$work/other" --out "$work/step1" > /dev/null 2>&1 || fail "eval step-1"
$py -c "
import json,sys
got=json.load(open(sys.argv[1]))['systems'][1]['metrics']['perplexity']['value']
assert abs(got-float(sys.argv[2]))<=1e-6*got, (got, sys.argv[2])" "$work/step1/results.json" "$first_ppl" || fail "checkpoint 1's perplexity"
tuned_e=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['tuned_model'])" "$work/tune-e.json")
job_e=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['job'])" "$work/tune-e.json")

# 4. Over REST: three evaluations of the tuned model, three of the base.
$loam serve --port 0 --data-dir "$data" --allow-path "$work" > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
[ -n "$port" ] || fail "server did not start: $(cat "$work/serve.log")"
base=http://127.0.0.1:$port/v1/projects/p/locations/l
base_id=$(curl -sf "$base/models/$tuned_id" | $py -c "import json,sys; print(json.load(sys.stdin)['metadata']['lineage']['baseModel'].split('/')[-1].split('@')[0])")
curl -sf "$base/models/$tuned_id/evaluations" > "$work/tuned_evals.json" || fail "GET tuned evaluations"
curl -sf "$base/models/$base_id/evaluations" > "$work/base_evals.json" || fail "GET base evaluations"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/models/999/evaluations")
[ "$code" = 404 ] || fail "unknown model's evaluations: $code"
curl -sf "http://127.0.0.1:$port/openapi.json" | grep -q 'models/{model}/evaluations' || fail "route not in /openapi.json"
$py - "$work/tuned_evals.json" "$work/base_evals.json" "$work/byname/results.json" "$tuned_id" "$base_id" <<'PY' || fail "REST evaluations"
import json, sys
t, b, r = (json.load(open(p)) for p in sys.argv[1:4])
tuned_id, base_id = sys.argv[4:6]
te, be = t["modelEvaluations"], b["modelEvaluations"]
assert len(te) == 3 and len(be) == 3, (len(te), len(be))
for e in te:
    assert e["name"] == "projects/p/locations/l/models/%s/evaluations/%s" % (tuned_id, e["name"].split("/")[-1]), e["name"]
    assert e["createTime"] and e["metadata"]["modelVersionId"] == "1" and e["metadata"]["system"] in ("tuned-a", "tuned"), e
    assert e["metadata"]["tuningJob"].startswith("projects/p/locations/l/tuningJobs/"), e
assert all(e["metadata"]["system"] == "base" and "tuningJob" not in e["metadata"] for e in be), be
first = te[0]
for k in ("perplexity", "rougeL"):
    assert first["metrics"][k] == r["systems"][1]["metrics"][k]["value"], (k, first["metrics"], r["systems"][1])
assert first["metadata"]["intervals"]["perplexity"]["low"] <= first["metrics"]["perplexity"]
assert first["metadata"]["resultsUri"].endswith("byname/results.json"), first["metadata"]
assert sorted(te[2]["metrics"]) == ["perplexity", "rouge1", "rouge2", "rougeL"], te[2]["metrics"]
PY
# The tuning job's evaluations, and the tuned model's.
curl -sf "$base/tuningJobs/$job_e" > "$work/job_e.json" || fail "GET job"
curl -sf "$base/models/$tuned_e/evaluations" > "$work/tuned_e_evals.json" || fail "GET tuned-e evaluations"
$py - "$work/job_e.json" "$work/tuned_e_evals.json" "$best_step" <<'PY' || fail "job evaluations"
import json, sys
j, m = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
best = sys.argv[3]
res = j["evaluationResults"]
assert [e["metadata"]["checkpointId"] for e in res] == ["1", "2", "3", "4"], res
assert [r["checkpointId"] for r in j["evaluateDatasetRuns"]] == ["1", "2", "3", "4"], j["evaluateDatasetRuns"]
assert [r["evaluationRun"] for r in j["evaluateDatasetRuns"]] == [e["name"] for e in res]
assert [e["name"] for e in m["modelEvaluations"]] == [e["name"] for e in res], m
sel = [e["metadata"]["checkpointId"] for e in res if e["metadata"]["settings"]["selected"]]
assert sel == [best], (sel, best)
PY
# 6. preTunedModel {tunedModelName, checkpointId}: continues from that checkpoint.
#    With a learning rate of 1e-12 the new adapter is checkpoint 2's, not the exported one's.
body() { printf '{"preTunedModel":{"tunedModelName":"%s","checkpointId":"%s"},"supervisedTuningSpec":{"trainingDatasetUri":"%s","hyperParameters":{"epochCount":1,"learningRate":1e-12,"batchSize":4}}}' "$tuned_e" "$1" "$work/train.jsonl"; }
code=$(curl -s -o "$work/bad_ckpt.json" -w '%{http_code}' -X POST "$base/tuningJobs" -d "$(body 99)")
[ "$code" = 400 ] && grep -q "preTunedModel.checkpointId" "$work/bad_ckpt.json" || fail "unknown checkpoint: $code $(cat "$work/bad_ckpt.json")"
curl -sf -X POST "$base/tuningJobs" -d "$(body 2)" > "$work/cont.json" || fail "create from checkpoint"
cont=$($py -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['preTunedModel']['checkpointId']=='2', j; print(j['name'].split('/')[-1])" "$work/cont.json") || fail "preTunedModel echoed"
for _ in $(seq 1 600); do
  state=$(curl -sf "$base/tuningJobs/$cont" | $py -c "import json,sys; print(json.load(sys.stdin)['state'])")
  case $state in JOB_STATE_SUCCEEDED) break;; JOB_STATE_FAILED|JOB_STATE_CANCELLED) fail "continued job $state";; esac
  sleep 0.1
done
[ "$state" = JOB_STATE_SUCCEEDED ] || fail "continued job did not finish: $state"
cont_dir=$(curl -sf "$base/tuningJobs/$cont" | $py -c "import json,sys; print(json.load(sys.stdin)['tunedModel']['model'].split('/')[-1])" |
  xargs -I{} curl -sf "$base/models/{}" | $py -c "import json,sys; print(json.load(sys.stdin)['artifactUri'])")
$py - "$cont_dir/adapter_model.safetensors" "$work/tuned-eval/checkpoints/step-2/adapter_model.safetensors" \
  "$work/tuned-eval/checkpoints/step-4/adapter_model.safetensors" <<'PY' || fail "continued adapter"
import json, struct, sys
def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    out = {}
    for k, v in h.items():
        s, e = v["data_offsets"]
        raw = b[8 + n + s:8 + n + e]
        assert v["dtype"] == "F32", v
        out[k] = struct.unpack("<%df" % (len(raw) // 4), raw)
    return out
c, two, four = (load(p) for p in sys.argv[1:])
diff = lambda a, b: max(abs(x - y) for k in a for x, y in zip(a[k], b[k]))
assert sorted(c) == sorted(two)
assert diff(c, two) < 1e-6, diff(c, two)
assert diff(two, four) > 1e-4, diff(two, four)
PY
echo "eval_registry_test: ok"

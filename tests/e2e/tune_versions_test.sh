#!/usr/bin/env bash
# Every checkpoint of a tuning job is a version of its tuned model (issue 10),
# and the control plane's remaining tuning paths (issue 12):
#  - `tune sft` with 3 checkpoints kept: the tuned model has 4 versions (the
#    exported adapter as the default, then checkpoint-2/4/6) and the models
#    list still shows one model; `models versions` and REST :listVersions list
#    them; `generate --model ID@checkpoint-4` answers exactly as `generate
#    --adapter OUT/checkpoints/step-4`; REST models/ID@checkpoint-4 resolves
#    to that directory; the job's tunedModel.checkpoints name their versions;
#    an endpoint deploys a checkpoint version.
#  - pruned checkpoints (--save-total-limit 1) get no version; a checkpoint
#    directory removed after registration is refused by name.
#  - `tune preference --server` submits a preference job and follows it (a
#    trainer flag the request cannot carry is refused, not dropped); the
#    job's metrics series (REST and `jobs metrics`) carries the rewards and
#    log-probs per step and on validation, as metrics.jsonl does.
#  - `tune sft --server --evaluate` sends the evaluation (evaluationConfig):
#    every checkpoint scored, each evaluation linked to its version.
#   usage: tune_versions_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
dd=$work/dd
$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
head -n 8 "$src/examples/support/instructions_train.jsonl" > "$work/sft.jsonl"
head -n 8 "$src/examples/support/preference_train.jsonl" > "$work/pt.jsonl"
head -n 4 "$src/examples/support/preference_test.jsonl" > "$work/pv.jsonl"
sed -n 9,12p "$src/examples/support/instructions_train.jsonl" > "$work/test.jsonl"
json_of() { $py -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# --- three checkpoints kept: four versions -----------------------------------
$loam tune sft --source-model "$work/m" --train "$work/sft.jsonl" --epochs 3 --batch-size 4 --learning-rate 0.01 \
  --save-total-limit 0 --threads 2 --output "$work/a" --tuned-model-display-name vers-a --data-dir "$dd" \
  > "$work/a.json" 2> "$work/a.log" || { cat "$work/a.log"; fail "tune sft (a)"; }
id=$(json_of "$work/a.json" "d['tuned_model']")
job=$(json_of "$work/a.json" "d['job']")
$loam models versions "$id" --data-dir "$dd" --output json > "$work/versions.json"
$py - "$work/versions.json" "$work/a" <<'PY' || fail "versions of the tuned model"
import json, os, sys
vs = json.load(open(sys.argv[1]))["models"]
out = os.path.realpath(sys.argv[2])
assert [v["versionId"] for v in vs] == ["1", "2", "3", "4"], [v["versionId"] for v in vs]
assert "default" in vs[0]["versionAliases"] and os.path.realpath(vs[0]["artifactUri"]) == out, vs[0]
for v, step in zip(vs[1:], (2, 4, 6)):
    assert v["versionAliases"] == ["checkpoint-%d" % step], v["versionAliases"]
    assert os.path.realpath(v["artifactUri"]) == os.path.join(out, "checkpoints", "step-%d" % step), v["artifactUri"]
    assert v["metadata"]["lineage"]["checkpoint"]["step"] == step, v["metadata"]["lineage"]
    # The run ends at step 6: that checkpoint is the exported adapter, the others differ from it.
    same = v["metadata"]["contentDigest"] == vs[0]["metadata"]["contentDigest"]
    assert v["metadata"]["files"] and same == (step == 6), (step, v["metadata"])
PY
$loam models versions vers-a --data-dir "$dd" > "$work/versions.txt"
grep -q "checkpoint-4" "$work/versions.txt" || fail "models versions table: $(cat "$work/versions.txt")"
n=$($loam models list --data-dir "$dd" --output json | $py -c "import json,sys; print(sum(1 for m in json.load(sys.stdin)['models'] if m['displayName'] == 'vers-a'))")
[ "$n" = 1 ] || fail "models list shows vers-a $n times"

# Sampled at temperature 1 with a fixed seed: the tokens follow the adapter's
# logits closely, so another checkpoint's adapter gives other tokens.
gen() { $loam generate --prompt "How do I reset my password?" --max-tokens 24 --temperature 1 --seed 7 --threads 2 \
  --output json --data-dir "$dd" "$@" 2>&1; }
tokens() { out=$(gen "$@") || { echo "$out"; return 1; }; echo "$out" | $py -c "import json,sys; print(json.load(sys.stdin)['tokens'])"; }
by_version=$(tokens --model "vers-a@checkpoint-4") || fail "generate from vers-a@checkpoint-4: $by_version"
by_dir=$(tokens --model "$work/m" --adapter "$work/a/checkpoints/step-4") || fail "generate --adapter: $by_dir"
[ "$by_version" = "$by_dir" ] || fail "checkpoint version and its adapter differ: $by_version vs $by_dir"
other=$(tokens --model "$work/m" --adapter "$work/a/checkpoints/step-2") || fail "generate --adapter step-2: $other"
[ "$by_version" != "$other" ] || fail "checkpoints 2 and 4 answer alike: the comparison cannot tell adapters apart"
default=$(tokens --model "$id") || fail "generate from $id: $default"
by_out=$(tokens --model "$work/m" --adapter "$work/a") || fail "generate --adapter OUT: $by_out"
[ "$default" = "$by_out" ] || fail "default version and the exported adapter differ"
err=$(gen --model "$id@checkpoint-5") && fail "an alias that does not exist was taken"
echo "$err" | grep -q "no alias 'checkpoint-5'" || fail "unclear refusal: $err"
err=$(gen --model "$id@3" --adapter "$work/a") && fail "a tuned model with --adapter was taken"
echo "$err" | grep -q -- "--adapter" || fail "unclear refusal: $err"

# --- pruned checkpoints get no version; a removed one is refused by name -----
$loam tune sft --source-model "$work/m" --train "$work/sft.jsonl" --epochs 3 --batch-size 4 --save-total-limit 1 \
  --threads 2 --output "$work/b" --tuned-model-display-name vers-b --data-dir "$dd" > "$work/b.json" 2> "$work/b.log" \
  || { cat "$work/b.log"; fail "tune sft (b)"; }
aliases=$($loam models versions vers-b --data-dir "$dd" --output json | $py -c "import json,sys; print(' '.join(a for v in json.load(sys.stdin)['models'] for a in v['versionAliases']))")
[ "$aliases" = "default checkpoint-6" ] || fail "vers-b's versions: $aliases"
err=$(gen --model "vers-b@checkpoint-2") && fail "a pruned checkpoint was taken"
echo "$err" | grep -q "no alias 'checkpoint-2'" || fail "unclear refusal: $err"
rm -rf "$work/b/checkpoints/step-6"
err=$(gen --model "vers-b@checkpoint-6") && fail "a removed checkpoint was taken"
echo "$err" | grep -q "no longer on disk" || fail "unclear refusal: $err"

# --- over HTTP -----------------------------------------------------------------
$loam serve --port 0 --data-dir "$dd" --allow-path "$work" > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
[ -n "$port" ] || fail "server did not start"
url=http://127.0.0.1:$port
api=$url/v1/projects/p/locations/l
curl -sf "$api/models/$id:listVersions" > "$work/rest_versions.json" || fail "listVersions"
[ "$(json_of "$work/rest_versions.json" "len(d['models'])")" = 4 ] || fail "listVersions: $(cat "$work/rest_versions.json")"
curl -sf "$api/models/$id@checkpoint-4" > "$work/v.json" || fail "GET models/ID@checkpoint-4"
[ "$(json_of "$work/v.json" "d['versionId']")" = 3 ] || fail "models/ID@checkpoint-4: $(cat "$work/v.json")"
curl -sf "$api/tuningJobs/$job" > "$work/job.json" || fail "GET tuningJobs/$job"
$py - "$work/job.json" "$id" <<'PY' || fail "tunedModel.checkpoints"
import json, sys
cps = json.load(open(sys.argv[1]))["tunedModel"]["checkpoints"]
assert [c["checkpointId"] for c in cps] == ["2", "4", "6"], cps
assert [c["model"].split("/")[-1] for c in cps] == [sys.argv[2] + "@2", sys.argv[2] + "@3", sys.argv[2] + "@4"], cps
PY
# OpenAI's checkpoint list names each kept checkpoint as a model a request can use.
curl -sf "$url/v1/fine_tuning/jobs/ftjob-$job/checkpoints" > "$work/oc.json" || fail "OpenAI checkpoints"
names=$(json_of "$work/oc.json" "' '.join(c['fine_tuned_model_checkpoint'] for c in d['data'])")
[ "$names" = "vers-a@checkpoint-6 vers-a@checkpoint-4 vers-a@checkpoint-2" ] || fail "OpenAI checkpoint names: $names"
curl -sf "$url/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model": "vers-a@checkpoint-4", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}' > "$work/cc.json" \
  || fail "chat completion from a checkpoint: $(cat "$work/cc.json")"
[ "$(json_of "$work/cc.json" "d['object']")" = chat.completion ] || fail "chat completion: $(cat "$work/cc.json")"
ep=$($loam endpoints create --display-name vers-ep --server "$url" --output json | $py -c "import json,sys; print(json.load(sys.stdin)['response']['name'].split('/')[-1])")
$loam endpoints deploy "$ep" --model "$id@checkpoint-2" --server "$url" --output json > "$work/dep.json" \
  || fail "deploy a checkpoint version"
$py - "$work/dep.json" <<'PY' || fail "deployed version"
import json, sys
d = json.load(open(sys.argv[1]))["response"]["deployedModel"]
assert d["modelVersionId"] == "2", d
PY

# tune preference --server: submitted, followed, its metrics series carries the rewards.
$loam tune preference --server "$url" --tuned-model "vers-a" --train "$work/pt.jsonl" --validation "$work/pv.jsonl" \
  --epochs 2 --batch-size 4 --learning-rate 0.003 --beta 0.2 --loss ipo \
  > "$work/pref.out" 2> "$work/pref.err" || { cat "$work/pref.err"; tail -20 "$work/serve.log"; fail "tune preference --server"; }
pjob=$(head -1 "$work/pref.out")
$py - "$work/pref.out" <<'PY' || fail "the preference job"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
j = json.loads(lines[-1])
assert j["state"] == "JOB_STATE_SUCCEEDED", j
hp = j["preferenceOptimizationSpec"]["hyperParameters"]
assert abs(hp["beta"] - 0.2) < 1e-6 and hp["loss"] == "ipo", hp
PY
curl -sf "$url/v1/$pjob/metrics" > "$work/pm.json" || fail "preference job metrics"
$py - "$work/pm.json" <<'PY' || fail "rewards in the job's metrics series"
import json, sys
ms = json.load(open(sys.argv[1]))["metrics"]
names = {"rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected"}
assert ms and all(set(m["objectiveMetrics"]) == names for m in ms), ms[0]
val = [m for m in ms if "validationLoss" in m]
assert val and all(set(m["validationObjectiveMetrics"]) == names for m in val), val
for m in ms:
    o = m["objectiveMetrics"]
    assert abs(o["rewards/margins"] - (o["rewards/chosen"] - o["rewards/rejected"])) < 1e-9, o
PY
$loam jobs metrics "$pjob" --server "$url" > "$work/pm.txt"
head -1 "$work/pm.txt" | grep -q "rewards/margins.*val rewards/accuracies" || fail "jobs metrics columns: $(head -2 "$work/pm.txt")"

# tune sft --server --evaluate: the evaluation is sent and every checkpoint scored.
$loam tune sft --server "$url" --source-model "$work/m" --train "$work/sft.jsonl" --epochs 2 --batch-size 4 \
  --evaluate "$work/test.jsonl" --evaluate-metric token_f1 --evaluate-max-tokens 8 --tuned-model-display-name vers-e \
  > "$work/ev.out" 2> "$work/ev.err" || { cat "$work/ev.err"; tail -20 "$work/serve.log"; fail "tune sft --server --evaluate"; }
$py - "$work/ev.out" <<'PY' || fail "the evaluated job"
import json, sys
j = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert j["state"] == "JOB_STATE_SUCCEEDED", j
ec = j["supervisedTuningSpec"]["evaluationConfig"]
assert ec["metric"] == "token_f1" and ec["maxOutputTokens"] == 8 and ec["datasetUri"].endswith("test.jsonl"), ec
runs = j["evaluateDatasetRuns"]
assert sorted(r["checkpointId"] for r in runs) == ["2", "4"], runs
versions = {c["checkpointId"]: c["model"].split("@")[-1] for c in j["tunedModel"]["checkpoints"]}
for e in j["evaluationResults"]:
    assert e["metadata"]["modelVersionId"] == versions[e["metadata"]["checkpointId"]], (e["metadata"], versions)
    assert "token_f1" in e["metrics"], e
PY
err=$($loam tune preference --server "$url" --tuned-model vers-a --train "$work/pt.jsonl" --eval-steps 2 2>&1) \
  && fail "a flag the request cannot carry was dropped"
echo "$err" | grep -q -- "--eval-steps: is not sent to a server" || fail "unclear refusal: $err"
err=$($loam tune sft --server "$url" --source-model "$work/m" --train "$work/sft.jsonl" --evaluate "$work/nope.jsonl" 2>&1) \
  && fail "a missing test file was taken"
echo "$err" | grep -q "evaluationConfig.datasetUri" || fail "unclear refusal: $err"
echo "tune versions e2e: ok"

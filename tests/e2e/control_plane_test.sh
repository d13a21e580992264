#!/usr/bin/env bash
# End-to-end over real HTTP on loopback: `loam serve` with an API key; models
# imported through the CLI against the server (same files, same model); a
# tuning job created, followed and listed by the official @google/genai
# client in Vertex mode; pause/resume/cancel; every malformed-request class
# answered with the right 4xx; `loam tune sft` in-process recorded in the
# local registry. The official openai client drives /v1/files and
# /v1/fine_tuning/jobs.
#   usage: control_plane_test.sh LOAM SOURCE_DIR
set -euo pipefail
loam=$1
src=$2
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/serve.log" ] && tail -20 "$work/serve.log" >&2; exit 1; }
py=/usr/bin/python3
key=test-key-123
data=$work/data

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
mkdir -p "$data/buckets/b"
head -n 16 "$src/examples/support/instructions_train.jsonl" > "$data/buckets/b/train.jsonl"
sed -n '17,20p' "$src/examples/support/instructions_train.jsonl" > "$data/buckets/b/val.jsonl"

$loam serve --port 0 --data-dir "$data" --api-key $key --allow-path "$work/m" > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
[ -n "$port" ] || fail "server did not start"
url=http://127.0.0.1:$port
base=$url/v1/projects/p/locations/l
status() { curl -s -o "$work/body" -w '%{http_code}' "$@"; }
auth=(-H "Authorization: Bearer $key")

# Health needs no key; everything else does (Bearer or x-goog-api-key).
[ "$(status "$url/health")" = 200 ] || fail "health"
[ "$(status "$base/models")" = 401 ] || fail "no key accepted"
[ "$(status -H "Authorization: Bearer wrong" "$base/models")" = 401 ] || fail "wrong key accepted"
grep -q '"status":"UNAUTHENTICATED"' "$work/body" || fail "401 body: $(cat "$work/body")"
[ "$(status -H "x-goog-api-key: $key" "$base/models")" = 200 ] || fail "x-goog-api-key refused"

# Import through the CLI against the server, twice: the same model.
export LOAM_API_KEY=$key
id1=$($loam models import "$work/m" --display-name demo --labels family=demo --server "$url" --output json | $py -c "import json,sys; print(json.load(sys.stdin)['name'].split('/')[-1])")
id2=$($loam models import "$work/m" --server "$url" --output json | $py -c "import json,sys; print(json.load(sys.stdin)['name'].split('/')[-1])")
[ "$id1" = "$id2" ] || fail "importing the same files twice gave $id1 and $id2"
$loam models list --server "$url" --output json --filter 'labels.family=demo' > "$work/models.json"
$py -c "import json,sys; d=json.load(open(sys.argv[1])); assert [m['displayName'] for m in d['models']]==['demo'], d" "$work/models.json" || fail "models list"
# The model garden's catalog is listed with the registered models, through the full filter grammar.
$loam models list --server "$url" --output json --filter 'labels.model_garden=true AND (labels.family="gemma" OR labels.family="qwen")' --order-by 'display_name desc' > "$work/garden.json"
$py -c "
import json,sys
d=json.load(open(sys.argv[1]))['models']
names=[m['displayName'] for m in d]
assert len(names)>=8, names
assert names==sorted(names, reverse=True), names
assert all(m['labels']['family'] in ('gemma','qwen') and m['name'].startswith('publishers/hf/models/') for m in d), d
assert all(m['modelGarden']['memoryBytes']['tuneRank8']>m['modelGarden']['memoryBytes']['weights'] for m in d), d
" "$work/garden.json" || fail "model garden list"

# The open-model pipeline route: parameterValues in, a tuning job underneath,
# the adapter written to output_dir, accelerator fields recorded.
pipe=$(cat <<JSON
{"displayName": "pipe", "runtimeConfig": {"parameterValues": {"model_name": "demo", "train_data_uri": "gs://b/train.jsonl",
 "eval_data_uri": "gs://b/val.jsonl", "output_dir": "gs://b/pipe-out", "epochs": "2", "learning_rate": 0.001,
 "per_device_train_batch_size": 2, "gradient_accumulation_steps": 1, "lora_rank": 4, "lora_alpha": 8,
 "lora_dropout": 0.0, "max_seq_length": 256, "accelerator_type": "NVIDIA_L4", "accelerator_count": 4}}}
JSON
)
[ "$(status "${auth[@]}" -X POST "$base/pipelineJobs" -d "$pipe")" = 200 ] || fail "create pipeline job: $(cat "$work/body")"
pj=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['name'].split('/')[-1])" "$work/body")
for _ in $(seq 1 600); do
  status "${auth[@]}" "$base/pipelineJobs/$pj" >/dev/null
  grep -q '"PIPELINE_STATE_\(SUCCEEDED\|FAILED\|CANCELLED\)"' "$work/body" && break
  sleep 0.2
done
grep -q '"PIPELINE_STATE_SUCCEEDED"' "$work/body" || fail "pipeline job: $(cat "$work/body")"
[ -f "$data/buckets/b/pipe-out/adapter_model.safetensors" ] || fail "pipeline job wrote no adapter to output_dir"
$loam jobs get "$pj" --server "$url" --api-key "$key" --output json > "$work/pj.json"
$py -c "
import json,sys
j=json.load(open(sys.argv[1]))
h=j['supervisedTuningSpec']['hyperParameters']
assert int(h['epochCount'])==2 and int(h['batchSize'])==2 and h['adapterSize'] in (4,'ADAPTER_SIZE_FOUR'), j
" "$work/pj.json" || fail "pipeline job as a tuning job"

# The official client: tune, poll with get, list.
node "$src/tests/e2e/genai_tuning.cjs" "$src/tools" "$url" $key demo gs://b/train.jsonl gs://b/val.jsonl > "$work/genai.json" 2> "$work/genai.err" || { cat "$work/genai.err"; fail "genai client"; }
$py - "$work/genai.json" <<'PY' || fail "genai results"
import json, sys
r = json.load(open(sys.argv[1]))
j = r["job"]
assert j["state"] == "JOB_STATE_SUCCEEDED", j
assert j["tunedModel"]["model"].startswith("projects/demo-project/locations/us-central1/models/"), j
assert len(j["tunedModel"]["checkpoints"]) >= 2, j
assert j["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == "ADAPTER_SIZE_FOUR", j
assert j["name"] in r["listed"], r["listed"]
PY
job=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['job']['name'].split('/')[-1])" "$work/genai.json")
tuned=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['job']['tunedModel']['model'])" "$work/genai.json")
# The tuned model's lineage names its base, its job and its datasets with sha256.
[ "$(status "${auth[@]}" "$url/v1/$tuned")" = 200 ] || fail "get tuned model"
$py - "$work/body" "$id1" "$job" "$data/buckets/b/train.jsonl" <<'PY' || fail "lineage"
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
lin = m["metadata"]["lineage"]
assert lin["baseModel"].endswith("/models/" + sys.argv[2] + "@1"), lin
assert lin["tuningJob"].endswith("/tuningJobs/" + sys.argv[3]), lin
train = [d for d in lin["datasets"] if d["role"] == "training"][0]
assert train["sha256"] == hashlib.sha256(open(sys.argv[4], "rb").read()).hexdigest(), train
assert m["displayName"] == "genai-tuned"
PY
$loam jobs metrics "$job" --server "$url" --output json | $py -c "import json,sys; m=json.load(sys.stdin)['metrics']; assert len(m)==8 and all('loss' in x and 'tokensPerSecond' in x for x in m), m" || fail "metrics"

# The official openai client: files and fine_tuning.jobs.
node "$src/tests/e2e/openai_finetune.cjs" "$src/tools" "$url" $key demo "$data/buckets/b/train.jsonl" > "$work/openai.json" 2> "$work/openai.err" \
  || { cat "$work/openai.err"; fail "openai client"; }
ft=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['fine_tuned_model'])" "$work/openai.json")
$loam models get "$ft" --server "$url" --output json | $py -c "import json,sys; m=json.load(sys.stdin); assert m['metadata']['kind']=='tuned', m" \
  || fail "the fine_tuned_model is not a registered tuned model"

# Pause, resume and cancel a longer job.
long='{"baseModel":"demo","supervisedTuningSpec":{"trainingDatasetUri":"gs://b/train.jsonl","hyperParameters":{"epochCount":200,"batchSize":1}}}'
[ "$(status "${auth[@]}" -X POST "$base/tuningJobs" -d "$long")" = 200 ] || fail "create long job: $(cat "$work/body")"
lj=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['name'].split('/')[-1])" "$work/body")
state() { curl -s "${auth[@]}" "$base/tuningJobs/$lj" | $py -c "import json,sys; print(json.load(sys.stdin)['state'])"; }
wait_state() { for _ in $(seq 1 200); do [ "$(state)" = "$1" ] && return 0; sleep 0.05; done; fail "job $lj not $1 but $(state)"; }
wait_state JOB_STATE_RUNNING
if $loam models delete demo --server "$url" 2> "$work/del.err"; then fail "deleted a model a running job tunes"; fi
grep -q "uses it" "$work/del.err" || fail "delete refusal: $(cat "$work/del.err")"
for _ in $(seq 1 200); do n=$(curl -s "${auth[@]}" "$base/tuningJobs/$lj/metrics" | $py -c "import json,sys; print(len(json.load(sys.stdin)['metrics']))"); [ "$n" -ge 3 ] && break; sleep 0.05; done
$loam jobs pause "$lj" --server "$url" > /dev/null
wait_state JOB_STATE_PAUSED
$loam jobs resume "$lj" --server "$url" > /dev/null
wait_state JOB_STATE_RUNNING
grep -q . <(curl -s "${auth[@]}" "$base/tuningJobs/$lj/events" | grep "resuming from checkpoint") || fail "resume did not start from the checkpoint"
t0=$(date +%s.%N)
$loam jobs cancel "$lj" --server "$url" > /dev/null
wait_state JOB_STATE_CANCELLED
$py -c "import sys; d=float(sys.argv[2])-float(sys.argv[1]); assert d < 5, d" "$t0" "$(date +%s.%N)" || fail "cancel took 5 s or more"
ls "$data/jobs/$lj/output/checkpoints"/step-* > /dev/null || fail "checkpoints not kept after cancel"
[ "$(status "${auth[@]}" -X POST "$base/tuningJobs/$lj:resume" -d "{}")" = 400 ] || fail "resumed a cancelled job"
grep -q FAILED_PRECONDITION "$work/body" || fail "precondition body: $(cat "$work/body")"

# Malformed requests: each class gets its 4xx and names the field.
check() {  # expected-status grep-pattern curl-args...
  local want=$1 pat=$2; shift 2
  got=$(status "${auth[@]}" "$@")
  [ "$got" = "$want" ] || fail "$* -> $got, wanted $want: $(head -c 300 "$work/body")"
  grep -q -- "$pat" "$work/body" || fail "$* body lacks '$pat': $(head -c 300 "$work/body")"
}
check 400 "parameterValues.epochs" -X POST "$base/pipelineJobs" -d '{"runtimeConfig":{"parameterValues":{"model_name":"demo","train_data_uri":"gs://b/train.jsonl","epochs":"many"}}}'
check 400 "model_name" -X POST "$base/pipelineJobs" -d '{"runtimeConfig":{"parameterValues":{"train_data_uri":"gs://b/train.jsonl"}}}'
job_with() { echo "{\"baseModel\":\"demo\",\"supervisedTuningSpec\":{\"trainingDatasetUri\":\"$1\"${2:-}}${3:-}}"; }
check 400 "invalid JSON" -X POST "$base/tuningJobs" -d '{"baseModel":'
check 400 "epochCount" -X POST "$base/tuningJobs" -d "$(job_with gs://b/train.jsonl ',"hyperParameters":{"epochCount":"many"}')"
check 400 "tunedModelDisplayName" -X POST "$base/tuningJobs" -d "$(job_with gs://b/train.jsonl '' ',"tunedModelDisplayName":7')"
check 400 "colour" -X POST "$base/tuningJobs" -d "$(job_with gs://b/train.jsonl '' ',"colour":"red"')"
check 400 "trainingDatasetUri" -X POST "$base/tuningJobs" -d '{"baseModel":"demo","supervisedTuningSpec":{}}'
check 400 "adapterSize" -X POST "$base/tuningJobs" -d "$(job_with gs://b/train.jsonl ',"hyperParameters":{"adapterSize":"ADAPTER_SIZE_HUGE"}')"
check 400 "adapterSize" -X POST "$base/tuningJobs" -d "$(job_with gs://b/train.jsonl ',"hyperParameters":{"adapterSize":512}')"
check 403 "outside the data directory" -X POST "$base/tuningJobs" -d "$(job_with /etc/passwd)"
ln -s /etc "$data/buckets/b/etc"
check 403 "outside the data directory" -X POST "$base/tuningJobs" -d "$(job_with gs://b/etc/passwd)"
check 400 "\.\." -X POST "$base/tuningJobs" -d "$(job_with "$data/buckets/b/../../../etc/passwd")"
check 404 "no registered model" -X POST "$base/tuningJobs" -d '{"baseModel":"nope","supervisedTuningSpec":{"trainingDatasetUri":"gs://b/train.jsonl"}}'
echo '{"input_text": "q"}' > "$data/buckets/b/bad.jsonl"
check 400 "bad.jsonl:1" -X POST "$base/tuningJobs" -d "$(job_with gs://b/bad.jsonl)"
check 404 "no such tuning job" "$base/tuningJobs/123"
check 404 "no registered model" "$base/models/999"
check 404 "no route" "$url/v1/nothing"
check 400 "filter:1:2[0-9]" "$base/models?filter=labels.family%3Ddemo%20AND%20%3D%3D"
check 400 "pageToken" "$base/models?pageToken=zzz"
check 400 "pageSize" "$base/tuningJobs?pageSize=-3"
head -c 9000000 /dev/zero | tr '\0' 'a' > "$work/huge.json"
check 413 "too large\|above the limit" -X POST "$base/tuningJobs" -H "Content-Type: application/json" --data-binary @"$work/huge.json"

# pageSize/pageToken walk every job once.
$py - "$url" "$key" <<'PY' || fail "paging"
import json, sys, urllib.request
url, key = sys.argv[1], sys.argv[2]
def get(q):
    r = urllib.request.Request(url + "/v1beta1/projects/p/locations/l/tuningJobs" + q, headers={"Authorization": "Bearer " + key})
    return json.load(urllib.request.urlopen(r))
all_ids = [j["name"] for j in get("")["tuningJobs"]]
seen, tok = [], ""
while True:
    page = get("?pageSize=1" + ("&pageToken=" + tok if tok else ""))
    seen += [j["name"] for j in page["tuningJobs"]]
    tok = page.get("nextPageToken", "")
    if not tok: break
assert seen == all_ids and len(seen) == 5, (seen, all_ids)  # 4 tuning jobs and the pipeline job
PY

# OpenAPI: served, and the route table's paths are in it.
[ "$(status "${auth[@]}" "$url/openapi.json")" = 200 ] || fail "openapi"
grep -q '/v1beta1/projects/{project}/locations/{location}/tuningJobs/{id}:cancel' "$work/body" || fail "openapi paths"

# `loam tune sft` without a server records a job and its tuned model locally.
LOAM_API_KEY= $loam tune sft --data-dir "$work/local" --source-model "$work/m" --train "$data/buckets/b/train.jsonl" \
  --epochs 1 --adapter-size 2 --output "$work/out" --tuned-model-display-name cli-tuned > "$work/tune.json" 2> "$work/tune.log" \
  || { cat "$work/tune.log"; fail "tune sft"; }
$loam jobs list --data-dir "$work/local" --output json | $py -c "
import json,sys; j=json.load(sys.stdin)['tuningJobs']; assert len(j)==1 and j[0]['state']=='JOB_STATE_SUCCEEDED', j" || fail "local job"
$loam models get cli-tuned --data-dir "$work/local" --output json | $py -c "
import json,sys; m=json.load(sys.stdin); assert m['metadata']['kind']=='tuned' and m['metadata']['lineage']['hyperparameters']['adapter_size']==2, m" || fail "local tuned model"
echo "control plane: all checks passed"

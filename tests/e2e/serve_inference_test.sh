#!/usr/bin/env bash
# End-to-end inference over loopback HTTP: a base model and a model tuned
# from it, served by one `loam serve`. The official openai client drives
# /v1/models and chat/text completions (streaming, n, seed, stop, logprobs,
# enum output, a tuned model by name); an endpoint is created and both
# models deployed on it through REST (traffic split); the official
# @google/genai client in Vertex mode calls generateContent and
# streamGenerateContent on the endpoint; :predict answers; concurrent
# requests for the base and the adapter (batched together) give the same
# greedy text as alone; a disconnected stream leaves the batch; a full
# queue answers 429 with Retry-After; /metrics reports; after a restart the
# endpoint is still there and serving.
# A burst of 32 connections is queued by the kernel, not dropped.
#   usage: serve_inference_test.sh LOAM SOURCE_DIR
set -euo pipefail
loam=$1
src=$2
work=$(mktemp -d)
server_pid=
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=; }
trap 'stop_server; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/serve*.log; do [ -f "$f" ] && tail -20 "$f" >&2; done; exit 1; }
py=/usr/bin/python3
key=k-infer
data=$work/data
export LOAM_API_KEY=$key
auth=(-H "Authorization: Bearer $key")

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
mkdir -p "$data/buckets/b"
head -n 16 "$src/examples/support/instructions_train.jsonl" > "$data/buckets/b/train.jsonl"

start_server() {  # LOG_NAME EXTRA_ARGS...
  local log=$work/$1.log
  shift
  $loam serve --port 0 --data-dir "$data" --api-key $key --allow-path "$work/m" --infer-threads 2 "$@" > "$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do grep -q "listening on" "$log" 2>/dev/null && break; sleep 0.05; done
  port=$(grep -o '127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2)
  [ -n "$port" ] || fail "server did not start"
  url=http://127.0.0.1:$port
  base=$url/v1/projects/p/locations/l
}
status() { curl -s -o "$work/body" -w '%{http_code}' "${auth[@]}" "$@"; }
jq_py() { $py -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$work/body"; }

start_server serve1
# A burst of connections while the server cannot accept (stopped): the kernel
# queues them all (cpp-httplib's own backlog of 5 dropped the rest, whose
# clients then waited a second to retry).
queued=$($py - "$server_pid" "$port" 32 <<'PY'
import os, select, signal, socket, sys, time
pid, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
os.kill(pid, signal.SIGSTOP)
socks, done = [], set()
try:
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    deadline = time.time() + 1.0
    while time.time() < deadline and len(done) < n:
        _, w, _ = select.select([], [s for s in socks if s not in done], [], 0.05)
        done |= {s for s in w if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0}
finally:
    os.kill(pid, signal.SIGCONT)
    for s in socks:
        s.close()
print(len(done))
PY
)
[ "$queued" = 32 ] || fail "only $queued of 32 connections were queued while the server was busy"
[ "$(status "$url/health")" = 200 ] || fail "health after the burst"
$loam models import "$work/m" --display-name demo --server "$url" --output json > /dev/null
# A tuned model: a short supervised job through REST.
job='{"baseModel":"demo","tunedModelDisplayName":"demo-support","supervisedTuningSpec":{"trainingDatasetUri":"gs://b/train.jsonl","hyperParameters":{"epochCount":1,"batchSize":4,"adapterSize":4}}}'
[ "$(status -X POST "$base/tuningJobs" -d "$job")" = 200 ] || fail "tuning job: $(cat "$work/body")"
jid=$(jq_py "print(d['name'].split('/')[-1])")
for _ in $(seq 1 600); do
  status "$base/tuningJobs/$jid" >/dev/null
  grep -q '"JOB_STATE_\(SUCCEEDED\|FAILED\|CANCELLED\)"' "$work/body" && break
  sleep 0.2
done
grep -q JOB_STATE_SUCCEEDED "$work/body" || fail "tuning job did not succeed: $(cat "$work/body")"

# The openai client: a fresh server answers for every registered model (loaded on first use).
node "$src/tests/e2e/openai_inference.cjs" "$src/tools" "$url" $key demo demo-support > "$work/openai.json" 2> "$work/openai.err" \
  || { cat "$work/openai.err"; fail "openai client"; }

# Continuous batching: 6 concurrent greedy requests (base and adapter mixed)
# give exactly what each gives alone.
chat() {  # MODEL QUESTION OUT
  curl -s "${auth[@]}" "$url/v1/chat/completions" -d "{\"model\":\"$1\",\"temperature\":0,\"max_tokens\":16,\"ignore_eos\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}]}" \
    | $py -c "import json,sys; print(json.load(sys.stdin)['choices'][0]['message']['content'])" > "$3"
}
qs=("Where is my order?" "Cancel my plan" "Refund please" "Reset password" "Change email" "Invoice copy")
for i in 0 1 2 3 4 5; do m=demo; [ $((i % 2)) = 1 ] && m=demo-support; chat $m "${qs[$i]}" "$work/alone$i"; done
pids=()
for i in 0 1 2 3 4 5; do m=demo; [ $((i % 2)) = 1 ] && m=demo-support; chat $m "${qs[$i]}" "$work/together$i" & pids+=($!); done
wait "${pids[@]}"
for i in 0 1 2 3 4 5; do cmp -s "$work/alone$i" "$work/together$i" || fail "request $i batched: $(cat "$work/together$i") alone: $(cat "$work/alone$i")"; done

# 8 concurrent requests over 4 adapters (2 each, one batch of 4 adapters)
# give exactly what each adapter gives alone. Three more adapters: the same
# data at other learning rates.
adapters=(demo-support)
for lr in 30 60 100; do
  job="{\"baseModel\":\"demo\",\"tunedModelDisplayName\":\"demo-lr$lr\",\"supervisedTuningSpec\":{\"trainingDatasetUri\":\"gs://b/train.jsonl\",\"hyperParameters\":{\"epochCount\":1,\"batchSize\":4,\"adapterSize\":4,\"learningRateMultiplier\":$lr}}}"
  [ "$(status -X POST "$base/tuningJobs" -d "$job")" = 200 ] || fail "tuning job lr $lr: $(cat "$work/body")"
  j=$(jq_py "print(d['name'].split('/')[-1])")
  for _ in $(seq 1 600); do
    status "$base/tuningJobs/$j" >/dev/null
    grep -q '"JOB_STATE_\(SUCCEEDED\|FAILED\|CANCELLED\)"' "$work/body" && break
    sleep 0.2
  done
  grep -q JOB_STATE_SUCCEEDED "$work/body" || fail "tuning job lr $lr did not succeed: $(cat "$work/body")"
  adapters+=(demo-lr$lr)
done
# The demo model's greedy text hardly moves with an adapter; its
# log-probabilities do: each answer is its text and first 8 logprobs.
chatlp() {  # MODEL QUESTION OUT
  curl -s "${auth[@]}" "$url/v1/chat/completions" -d "{\"model\":\"$1\",\"temperature\":0,\"max_tokens\":8,\"ignore_eos\":true,\"logprobs\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}]}" \
    | $py -c "import json,sys; c=json.load(sys.stdin)['choices'][0]; print(json.dumps([c['message']['content'], [t['logprob'] for t in c['logprobs']['content']]]))" > "$3"
}
for i in 0 1 2 3 4 5 6 7; do chatlp "${adapters[$((i % 4))]}" "${qs[$((i / 4))]}" "$work/a_alone$i"; done
pids=()
for i in 0 1 2 3 4 5 6 7; do chatlp "${adapters[$((i % 4))]}" "${qs[$((i / 4))]}" "$work/a_together$i" & pids+=($!); done
wait "${pids[@]}"
$py - "$work" <<'PY' || fail "8 requests over 4 adapters in one batch differ from each alone"
import json, sys
w = sys.argv[1]
alone = [json.load(open(f"{w}/a_alone{i}")) for i in range(8)]
together = [json.load(open(f"{w}/a_together{i}")) for i in range(8)]
for i, (a, t) in enumerate(zip(alone, together)):
    if a[0] != t[0] or max(abs(x - y) for x, y in zip(a[1], t[1])) > 1e-4:
        sys.exit(f"request {i}: batched {t} alone {a}")
# The adapters must answer differently, or a mixed-up adapter would pass.
for i in range(1, 4):
    if max(abs(x - y) for x, y in zip(alone[0][1], alone[i][1])) < 1e-3:
        sys.exit(f"adapter {i} answers like adapter 0: {alone[i]}")
PY

# The tuning job's tunedModel.endpoint serves the tuned model.
tep=
for _ in $(seq 1 50); do
  status "$base/tuningJobs/$jid" > /dev/null
  tep=$(jq_py "print(d['tunedModel'].get('endpoint',''))")
  [ -n "$tep" ] && break
  sleep 0.2
done
[ -n "$tep" ] || fail "the succeeded job names no endpoint: $(cat "$work/body")"
[ "$(status "$url/v1/chat/completions" -d "{\"model\":\"$tep\",\"temperature\":0,\"max_tokens\":16,\"ignore_eos\":true,\"messages\":[{\"role\":\"user\",\"content\":\"${qs[1]}\"}]}")" = 200 ] || fail "chat via the job's endpoint: $(cat "$work/body")"
jq_py "import sys; sys.exit(0 if d['choices'][0]['message']['content']==open('$work/alone1').read().rstrip('\\n') else 1)" || fail "the job's endpoint does not serve the tuned model"

# Endpoints through REST: create, deploy base and tuned, traffic split.
[ "$(status -X POST "$base/endpoints" -d '{"displayName":"support"}')" = 200 ] || fail "create endpoint: $(cat "$work/body")"
ep=$(jq_py "print(d['response']['name'].split('/')[-1])")
[ "$(status -X POST "$base/endpoints/$ep:deployModel" -d '{"deployedModel":{"model":"demo-support","dedicatedResources":{"minReplicaCount":1,"maxReplicaCount":2}}}')" = 200 ] || fail "deploy: $(cat "$work/body")"
d_tuned=$(jq_py "print(d['response']['deployedModel']['id'])")
[ "$(status -X POST "$base/endpoints/$ep:deployModel" -d "{\"deployedModel\":{\"model\":\"demo\"},\"trafficSplit\":{\"0\":30,\"$d_tuned\":70}}")" = 200 ] || fail "deploy base: $(cat "$work/body")"
[ "$(status "$base/endpoints/$ep")" = 200 ] || fail "get endpoint"
jq_py "assert len(d['deployedModels'])==2 and sorted(d['trafficSplit'].values())==[30,70], d; assert d['deployedModels'][0]['dedicatedResources']['maxReplicaCount']==2, d" || fail "endpoint shape"
[ "$(status -X POST "$base/endpoints/$ep:deployModel" -d '{"deployedModel":{"model":"demo"},"trafficSplit":{"0":50}}')" = 400 ] || fail "split not summing to 100 accepted"
grep -q trafficSplit "$work/body" || fail "split error names no field: $(cat "$work/body")"
[ "$(status -X PATCH "$base/endpoints/$ep" -d "{\"trafficSplit\":{\"$d_tuned\":100}}")" = 200 ] || fail "set traffic: $(cat "$work/body")"

node "$src/tests/e2e/genai_inference.cjs" "$src/tools" "$url" $key "projects/p/locations/l/endpoints/$ep" > "$work/genai.json" 2> "$work/genai.err" \
  || { cat "$work/genai.err"; fail "genai client"; }
# All traffic on the tuned model: the endpoint answers as the adapter does.
[ "$(status "$url/v1/chat/completions" -d "{\"model\":\"support\",\"temperature\":0,\"max_tokens\":16,\"ignore_eos\":true,\"messages\":[{\"role\":\"user\",\"content\":\"${qs[1]}\"}]}")" = 200 ] || fail "chat via endpoint name"
jq_py "import sys; sys.exit(0 if d['choices'][0]['message']['content']==open('$work/alone1').read().rstrip('\n') else 1)" || fail "endpoint did not route to the tuned model"
[ "$(status -X POST "$base/endpoints/$ep:predict" -d '{"instances":[{"prompt":"Hello"},{"prompt":"Bye"}],"parameters":{"max_tokens":4,"temperature":0}}')" = 200 ] || fail "predict: $(cat "$work/body")"
jq_py "assert len(d['predictions'])==2 and all(isinstance(p,str) for p in d['predictions']) and d['deployedModelId']=='$d_tuned', d" || fail "predict shape"
[ "$(status -X POST "$base/endpoints/$ep:predict" -d '{"instances":[{"prompt":5}]}')" = 400 ] || fail "bad predict instance"
grep -q 'instances\[0\].prompt' "$work/body" || fail "predict error field: $(cat "$work/body")"
[ "$(status -X POST "$url/v1/chat/completions" -d '{"model":"demo","messages":')" = 400 ] || fail "malformed JSON"
$py -c "import json; print(json.dumps({'model':'demo','messages':[{'role':'user','content':'7'*7000}]}))" > "$work/big.json"
[ "$(status "$url/v1/chat/completions" -d @"$work/big.json")" = 400 ] || fail "a prompt longer than the context: $(cat "$work/body")"
grep -q 'messages: is [0-9]* tokens; the model.s context is' "$work/body" || fail "context error: $(cat "$work/body")"
[ "$(status "$url/v1/chat/completions" -d '{"model":"demo","max_tokens":100000,"messages":[{"role":"user","content":"hi"}]}')" = 400 ] || fail "max_tokens beyond the context"
grep -q 'max_tokens' "$work/body" || fail "max_tokens error: $(cat "$work/body")"

# A client that disconnects mid-stream leaves the batch.
curl -s -N --max-time 1 "${auth[@]}" "$url/v1/chat/completions" -d '{"model":"demo","stream":true,"ignore_eos":true,"max_tokens":1500,"messages":[{"role":"user","content":"Write a lot"}]}' > /dev/null || true
left=
for _ in $(seq 1 40); do
  status "$url/metrics" > /dev/null
  if grep -q '^loam_batch_size{.*} 0$' "$work/body"; then left=1; break; fi
  sleep 0.1
done
[ -n "$left" ] || fail "a disconnected stream kept running: $(grep batch_size "$work/body")"
for m in loam_requests_total loam_request_duration_seconds_bucket loam_time_to_first_token_seconds_count loam_tokens_out_total loam_queue_depth loam_adapters_loaded loam_replicas; do
  grep -q "^$m" "$work/body" || fail "metrics lack $m"
done
grep -q 'loam_requests_total{route="/v1/chat/completions",status="404"}' "$work/body" || fail "404s not counted"
# Requests addressed to the endpoint (by path, or by name as `model`) carry its id; others do not.
grep -q "^loam_requests_total{route=\":predict\",status=\"200\",endpoint=\"$ep\"} 1$" "$work/body" || fail "predict not counted per endpoint: $(grep predict "$work/body")"
grep -q "^loam_requests_total{route=\":predict\",status=\"400\",endpoint=\"$ep\"} 1$" "$work/body" || fail "a refused predict not counted per endpoint"
grep -q "^loam_requests_total{route=\"/v1/chat/completions\",status=\"200\",endpoint=\"$ep\"} 1$" "$work/body" || fail "chat naming the endpoint not counted per endpoint: $(grep chat "$work/body")"
grep -q "^loam_request_duration_seconds_count{route=\"/v1/chat/completions\",endpoint=\"$ep\"} 1$" "$work/body" || fail "no latency per endpoint"
grep -q '^loam_requests_total{route="/v1/chat/completions",status="400"} ' "$work/body" || fail "requests naming a model gained an endpoint label"

# Memory to tune and to serve a registered model, from its config: serving
# is the weights (its safetensors), an fp32 KV cache of min(context, 8192)
# tokens, fp32 logits and 200 MiB (docs/serve.md), recomputed here.
[ "$(status "$base/models/demo")" = 200 ] || fail "get model"
jq_py "
import glob, os
c = json.load(open('$work/m/config.json'))
w = sum(os.path.getsize(f) for f in glob.glob('$work/m/*.safetensors'))
kv_dim = c['num_key_value_heads'] * c.get('head_dim', c['hidden_size'] // c['num_attention_heads'])
serve = w + 2 * c['num_hidden_layers'] * kv_dim * 4 * min(c['max_position_embeddings'], 8192) + 4 * c['vocab_size'] + (200 << 20)
m = d['metadata']['memoryBytes']
assert m['weights'] == w and m['serve'] == serve and m['tuneRank8'] > w + (200 << 20), (m, w, serve)" || fail "model memory: $(head -c 800 "$work/body")"
[ "$(status "$base/models/demo-support")" = 200 ] || fail "get tuned model"
jq_py "m = d['metadata']['memoryBytes']; assert 'tuneRank8' not in m and m['serve'] > m['weights'] > 0, m" || fail "tuned model memory: $(head -c 800 "$work/body")"

# Restart with a one-slot queue: the endpoint comes back up; a full queue gets 429 with Retry-After.
stop_server
start_server serve2 --max-batch 1 --max-queue 2
for _ in $(seq 1 100); do grep -q "is up" "$work/serve2.log" && break; sleep 0.1; done
grep -q "endpoint support: deployed model .* is up" "$work/serve2.log" || fail "deployed models did not come back up"
long='{"model":"demo","ignore_eos":true,"max_tokens":400,"messages":[{"role":"user","content":"Long"}]}'
pids=()
for i in 1 2 3 4 5; do curl -s -o /dev/null -D "$work/h$i" "${auth[@]}" "$url/v1/chat/completions" -d "$long" & pids+=($!); done
wait "${pids[@]}"
grep -l "^HTTP/1.1 429" "$work"/h* > /dev/null || fail "no 429 with a full queue"
grep -qi "^Retry-After: 1" $(grep -l "^HTTP/1.1 429" "$work"/h* | head -1) || fail "429 without Retry-After"
grep -l "^HTTP/1.1 200" "$work"/h* > /dev/null || fail "nothing served while the queue was full"
node "$src/tests/e2e/genai_inference.cjs" "$src/tools" "$url" $key "projects/p/locations/l/endpoints/$ep" > /dev/null 2> "$work/genai2.err" \
  || { cat "$work/genai2.err"; fail "genai client after restart"; }

# The CLI, against the server and on the data directory: create, deploy with
# --traffic-percentage (the others keep their proportions), set-traffic, undeploy.
cli=(--server "$url")
ep2=$($loam endpoints create --display-name cli-ep "${cli[@]}" --output json | $py -c "import json,sys; print(json.load(sys.stdin)['response']['name'].split('/')[-1])")
$loam endpoints deploy "$ep2" --model demo --min-replicas 1 --max-replicas 3 "${cli[@]}" > /dev/null
$loam endpoints deploy cli-ep --model demo-support --traffic-percentage 40 "${cli[@]}" --output json > "$work/body"
d2=$(jq_py "print(d['response']['deployedModel']['id'])")
$loam endpoints get "$ep2" "${cli[@]}" --output json > "$work/body"
jq_py "s=d['trafficSplit']; assert s['$d2']==40 and sorted(s.values())==[40,60], s; assert d['deployedModels'][0]['dedicatedResources']['maxReplicaCount']==3, d" || fail "cli deploy split"
d1=$(jq_py "print([x['id'] for x in d['deployedModels'] if x['id']!='$d2'][0])")
$loam endpoints set-traffic "$ep2" "$d1=100,$d2=0" --data-dir "$data" --output json > "$work/body"
jq_py "assert d['trafficSplit']=={'$d1':100,'$d2':0}, d" || fail "set-traffic"
$loam endpoints set-traffic "$ep2" "$d1=90" --data-dir "$data" 2> "$work/err" && fail "a split summing to 90 accepted"
grep -q "trafficSplit" "$work/err" || fail "set-traffic error: $(cat "$work/err")"
$loam endpoints undeploy "$ep2" --deployed-model-id "$d2" "${cli[@]}" > /dev/null
$loam endpoints list "${cli[@]}" > "$work/list.txt"
grep -q "cli-ep" "$work/list.txt" && grep -q "support" "$work/list.txt" || fail "endpoints list: $(cat "$work/list.txt")"
$loam endpoints get cli-ep "${cli[@]}" --output json > "$work/body"
jq_py "assert [x['id'] for x in d['deployedModels']]==['$d1'] and d['trafficSplit']=={'$d1':100}, d" || fail "undeploy"
echo "ok"

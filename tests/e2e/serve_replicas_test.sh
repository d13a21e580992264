#!/usr/bin/env bash
# Replicas of a deployed model over loopback HTTP: replica processes come
# up to the deployed minimum; :mutateDeployedModel raises it; a burst of
# concurrent requests scales up towards the maximum and the idle replicas
# go after --scale-down-idle; the weights are mapped from the checkpoint
# file (shared page cache, no private copy) in every replica; a replica
# killed with SIGSEGV mid-request fails that request with 503 at once while
# the other replica keeps answering, and a new one replaces it; every step
# is an event (GET /v1/inference/replicas and <data dir>/replica_events.jsonl);
# /metrics counts the replicas per deployed model; replicas split the
# threads; undeployed, the model scales to zero and back on a request.
#   usage: serve_replicas_test.sh LOAM SOURCE_DIR
set -euo pipefail
loam=$1
src=$2
work=$(mktemp -d)
server_pid=
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=; }
trap 'stop_server; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/serve.log" ] && tail -30 "$work/serve.log" >&2; exit 1; }
py=/usr/bin/python3
data=$work/data

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
$loam serve --port 0 --data-dir "$data" --allow-path "$work/m" --infer-threads 1 --max-batch 2 --scale-down-idle 1 \
  > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
[ -n "$port" ] || fail "server did not start"
url=http://127.0.0.1:$port
base=$url/v1/projects/p/locations/l
status() { curl -s -o "$work/body" -w '%{http_code}' "$@"; }
jq_py() { $py -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$work/body"; }
# ready replicas of the only base, and their pids
ready() { curl -s "$url/v1/inference/replicas" | grep -o '"state":"ready"' | wc -l; }
wait_ready() {  # N SECONDS
  for _ in $(seq 1 $(($2 * 10))); do [ "$(ready)" = "$1" ] && return 0; sleep 0.1; done
  fail "expected $1 ready replicas, have $(ready): $(cat "$work/body")"
}
events() { status "$url/v1/inference/replicas" > /dev/null; jq_py "print(' '.join(e['kind'] for e in d['events']))"; }

$loam models import "$work/m" --display-name demo --data-dir "$data" --output json > /dev/null
[ "$(status -X POST "$base/endpoints" -d '{"displayName":"rep"}' -H 'Content-Type: application/json')" = 200 ] || fail "create endpoint"
ep=$(jq_py "print(d['response']['name'].split('/')[-1])")
[ "$(status -X POST "$base/endpoints/$ep:deployModel" -H 'Content-Type: application/json' \
  -d '{"deployedModel":{"model":"demo","dedicatedResources":{"minReplicaCount":1,"maxReplicaCount":3}}}')" = 200 ] || fail "deploy: $(cat "$work/body")"
dm=$(jq_py "print(d['response']['deployedModel']['id'])")
wait_ready 1 60

chat() {  # OUT MAX_TOKENS QUESTION -> writes the HTTP status to OUT.code, the body to OUT
  curl -s -o "$1" -w '%{http_code}' -H 'Content-Type: application/json' "$url/v1/chat/completions" \
    -d "{\"model\":\"rep\",\"temperature\":0,\"max_tokens\":$2,\"ignore_eos\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$3\"}]}" > "$1.code" || true
}
chat "$work/alone" 24 "Where is my order?"
[ "$(cat "$work/alone.code")" = 200 ] || fail "first request: $(cat "$work/alone")"

# A burst of 10 concurrent requests (2 per replica batch) scales up to the maximum of 3.
pids=()
for i in $(seq 1 10); do chat "$work/burst$i" 1800 "Question $i" & pids+=($!); done
most=1
for _ in $(seq 1 600); do
  n=$(ready); [ "$n" -gt "$most" ] && most=$n
  [ "$most" = 3 ] && break
  sleep 0.05
done
wait "${pids[@]}"
for i in $(seq 1 10); do [ "$(cat "$work/burst$i.code")" = 200 ] || fail "burst request $i: $(cat "$work/burst$i")"; done
[ "$most" = 3 ] || fail "a burst of 10 did not scale up to 3 replicas (at most $most): $(events)"
events | grep -q "scaled_up" || fail "no scaled_up event: $(events)"
# Same greedy text on another replica, in a batch or alone.
chat "$work/again" 24 "Where is my order?"
cmp -s <($py -c "import json;print(json.load(open('$work/alone'))['choices'][0]['message']['content'])") \
       <($py -c "import json;print(json.load(open('$work/again'))['choices'][0]['message']['content'])") \
  || fail "another replica answers differently"

# Idle replicas go after --scale-down-idle (1 s), down to the minimum of 1.
wait_ready 1 20
events | grep -q "scaled_down" || fail "no scaled_down event: $(events)"

# Prefix reuse: a second request with the same system prompt copies its KV
# (the decoder's unit test checks the tokens equal recomputing them).
reused() { curl -s "$url/metrics" | awk '/^loam_prefix_tokens_reused_total/ {print $2}'; }
before=$(reused)
for q in "Where is my order?" "Cancel my plan"; do
  curl -s -o /dev/null -H 'Content-Type: application/json' "$url/v1/chat/completions" -d "{\"model\":\"rep\",\"max_tokens\":4,\"messages\":[{\"role\":\"system\",\"content\":\"You are the support assistant of Acme Corporation. Answer briefly and politely, and never promise refunds.\"},{\"role\":\"user\",\"content\":\"$q\"}]}"
done
sleep 0.3  # replica stats come every 0.1 s
after=$(reused)
[ $((after - before)) -ge 15 ] || fail "a shared system prompt was not reused: $before -> $after prefix tokens"

# :mutateDeployedModel raises the minimum to 2: a second replica starts.
[ "$(status -X POST "$base/endpoints/$ep:mutateDeployedModel" -H 'Content-Type: application/json' \
  -d "{\"deployedModel\":{\"id\":\"$dm\",\"dedicatedResources\":{\"minReplicaCount\":2,\"maxReplicaCount\":2}}}")" = 200 ] \
  || fail "mutate: $(cat "$work/body")"
[ "$(status "$base/endpoints/$ep")" = 200 ] || fail "get endpoint"
jq_py "r=d['deployedModels'][0]['dedicatedResources']; assert (r['minReplicaCount'], r['maxReplicaCount'])==(2,2), r" || fail "mutate not stored"
wait_ready 2 60
status "$url/metrics" > /dev/null
grep -q "^loam_replicas{endpoint=\"$ep\",deployed_model=\"$dm\"} 2$" "$work/body" || fail "metrics: $(grep replicas "$work/body")"

# Prefix-aware routing: with two replicas, a long request and then a short
# one with the same system prompt both go where that prompt was seen (the
# survivor above has it cached), so both reuse it; routing by load alone
# would put one of them on the new replica, which has nothing to reuse.
before=$(reused)
sys_prompt="You are the support assistant of Acme Corporation. Answer briefly and politely, and never promise refunds."
curl -s -o /dev/null -H 'Content-Type: application/json' "$url/v1/chat/completions" \
  -d "{\"model\":\"rep\",\"max_tokens\":400,\"ignore_eos\":true,\"messages\":[{\"role\":\"system\",\"content\":\"$sys_prompt\"},{\"role\":\"user\",\"content\":\"Tell me everything\"}]}" &
long_pid=$!
sleep 0.3
curl -s -o /dev/null -H 'Content-Type: application/json' "$url/v1/chat/completions" \
  -d "{\"model\":\"rep\",\"max_tokens\":4,\"messages\":[{\"role\":\"system\",\"content\":\"$sys_prompt\"},{\"role\":\"user\",\"content\":\"Hi\"}]}"
wait "$long_pid"
sleep 0.3
after=$(reused)
[ $((after - before)) -ge 45 ] || fail "requests sharing a system prompt were not routed to its replica: $before -> $after prefix tokens"

# Weights are shared: both replicas (each has decoded, reading every
# matrix) map the checkpoint file with no anonymous (copied) page in that
# mapping, and their proportional shares of it add up to one copy, not two.
chat "$work/w1" 64 "One" & w1=$!
chat "$work/w2" 64 "Two" & w2=$!
wait $w1 $w2
status "$url/v1/inference/replicas" > /dev/null
pids_now=$(jq_py "print(' '.join(str(r['pid']) for b in d['bases'] for r in b['replicas'] if r['state']=='ready'))")
ckpt=$(jq_py "print(d['bases'][0]['base'])")
$py - "$ckpt" $pids_now <<'PY' || fail "weights are not shared by the replicas"
import os, re, sys
weights = os.path.realpath(os.path.join(sys.argv[1], "model.safetensors"))
pss = rss = 0
for pid in sys.argv[2:]:
    found = False
    cur = None
    for line in open(f"/proc/{pid}/smaps"):
        parts = line.split()
        if parts and re.fullmatch(r"[0-9a-f]+-[0-9a-f]+", parts[0]):  # a mapping's header line
            cur = os.path.realpath(parts[5]) if len(parts) >= 6 and parts[5].startswith("/") else None
            continue
        if cur != weights:
            continue
        found = True
        if parts[0] == "Anonymous:" and int(parts[1]) != 0:
            sys.exit(f"replica {pid}: {parts[1]} kB of its mapping of {weights} are private copies")
        if parts[0] == "Pss:":
            pss += int(parts[1])
        if parts[0] == "Rss:":
            rss = max(rss, int(parts[1]))
    if not found:
        sys.exit(f"replica {pid} does not map {weights}")
size = os.path.getsize(weights) // 1024
print(f"weights {size} kB; largest replica Rss {rss} kB; Pss summed over {len(sys.argv) - 2} replicas {pss} kB")
if len(sys.argv) - 2 < 2 or rss < size // 2 or pss > rss * 1.1:
    sys.exit("the replicas do not share one copy of the weights")
PY

# A replica crashes mid-request: that request gets 503 promptly; the other
# replica keeps answering; a new replica replaces the dead one.
chat "$work/victim" 1500 "Write a lot" &
victim_pid=$!
vpid=
for _ in $(seq 1 100); do
  status "$url/v1/inference/replicas" > /dev/null
  vpid=$(jq_py "print(next((str(r['pid']) for b in d['bases'] for r in b['replicas'] if r['running']>0), ''))")
  [ -n "$vpid" ] && break
  sleep 0.05
done
[ -n "$vpid" ] || fail "the long request never ran"
t0=$(date +%s.%N)
kill -SEGV "$vpid"
wait "$victim_pid"
t1=$(date +%s.%N)
[ "$(cat "$work/victim.code")" = 503 ] || fail "the request on the crashed replica got $(cat "$work/victim.code"): $(cat "$work/victim")"
grep -q "signal 11" "$work/victim" || fail "the 503 does not say why: $(cat "$work/victim")"
$py -c "import sys; sys.exit(0 if $t1 - $t0 < 3 else 1)" || fail "the 503 took $($py -c "print($t1 - $t0)") s"
chat "$work/during" 24 "Where is my order?"
[ "$(cat "$work/during.code")" = 200 ] || fail "the endpoint stopped serving after a crash: $(cat "$work/during")"
wait_ready 2 60
ev=$(events)
echo "$ev" | grep -q "crashed" && echo "$ev" | grep -q "restarted" || fail "crash and restart not recorded: $ev"
grep -q '"kind":"crashed"' "$data/replica_events.jsonl" || fail "events file lacks the crash"
kill -0 "$vpid" 2>/dev/null && fail "the crashed replica is still there"

# Replicas split the model's threads: --infer-threads 1 over at most 3 gives each 1.
status "$url/v1/inference/replicas" > /dev/null
jq_py "sys.exit(0 if all(r['threads'] == 1 for b in d['bases'] for r in b['replicas']) else 1)" \
  || fail "replica threads: $(cat "$work/body")"

# Undeployed, the model is on demand (0 to 1 replicas): its replicas go,
# down to none after --scale-down-idle; a request naming the model starts
# one again and is answered.
[ "$(status -X POST "$base/endpoints/$ep:undeployModel" -H 'Content-Type: application/json' \
  -d "{\"deployedModelId\":\"$dm\"}")" = 200 ] || fail "undeploy: $(cat "$work/body")"
for _ in $(seq 1 100); do
  status "$url/v1/inference/replicas" > /dev/null
  [ "$(jq_py "print(sum(len(b['replicas']) for b in d['bases']))")" = 0 ] && break
  sleep 0.1
done
jq_py "sys.exit(0 if all(len(b['replicas']) == 0 and b['minReplicaCount'] == 0 for b in d['bases']) else 1)" \
  || fail "not scaled to zero after undeploy: $(cat "$work/body")"
ups=$(events | tr ' ' '\n' | grep -c scaled_up)
curl -s -o "$work/again" -w '%{http_code}' -H 'Content-Type: application/json' "$url/v1/chat/completions" \
  -d '{"model":"demo","temperature":0,"max_tokens":8,"messages":[{"role":"user","content":"Where is my order?"}]}' > "$work/again.code"
[ "$(cat "$work/again.code")" = 200 ] || fail "request after scale to zero: $(cat "$work/again")"
[ "$(events | tr ' ' '\n' | grep -c scaled_up)" -gt "$ups" ] || fail "no scale-up from zero: $(events)"
echo "ok"

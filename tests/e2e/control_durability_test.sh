#!/usr/bin/env bash
# Durability: `loam serve` is SIGKILLed while a tuning job runs; its worker
# dies with it; restarted on the same data directory, the job resumes from
# its last checkpoint and finishes with an adapter bit-identical to an
# uninterrupted run of the same job, and every event and metric point
# recorded before the kill is still there, unchanged.
#   usage: control_durability_test.sh LOAM SOURCE_DIR
set -euo pipefail
loam=$1
src=$2
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -20 "$work"/serve*.log >&2 || true; exit 1; }
py=/usr/bin/python3
data=$work/data

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
mkdir -p "$data/buckets/b"
head -n 16 "$src/examples/support/instructions_train.jsonl" > "$data/buckets/b/train.jsonl"
sed -n '17,20p' "$src/examples/support/instructions_train.jsonl" > "$data/buckets/b/val.jsonl"
$loam models import "$work/m" --display-name demo --data-dir "$data" > /dev/null

start_server() {
  $loam serve --port 0 --data-dir "$data" > "$work/serve$1.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do grep -q "listening on" "$work/serve$1.log" 2>/dev/null && break; sleep 0.05; done
  port=$(grep -o '127.0.0.1:[0-9]*' "$work/serve$1.log" | head -1 | cut -d: -f2)
  [ -n "$port" ] || fail "server did not start"
  base=http://127.0.0.1:$port/v1/projects/p/locations/l
}
body='{"baseModel":"demo","supervisedTuningSpec":{"trainingDatasetUri":"gs://b/train.jsonl","validationDatasetUri":"gs://b/val.jsonl","hyperParameters":{"epochCount":12,"batchSize":2}}}'
create() { curl -sf -X POST "$base/tuningJobs" -d "$body" | $py -c "import json,sys; print(json.load(sys.stdin)['name'].split('/')[-1])"; }
job_field() { curl -sf "$base/tuningJobs/$1" | $py -c "import json,sys; j=json.load(sys.stdin); print($2)"; }
wait_done() {
  for _ in $(seq 1 1200); do
    s=$(job_field "$1" "j['state']")
    case $s in JOB_STATE_SUCCEEDED) return 0;; JOB_STATE_FAILED|JOB_STATE_CANCELLED) fail "job $1 $s";; esac
    sleep 0.1
  done
  fail "job $1 did not finish"
}

start_server 1
a=$(create)
wait_done "$a"
b=$(create)
# Let it pass its first checkpoint (epoch end at step 8), then kill the server mid-epoch, well before step 96 (a short job finished before the kill on a quiet machine).
for _ in $(seq 1 1200); do
  n=$(curl -sf "$base/tuningJobs/$b/metrics" | $py -c "import json,sys; print(len(json.load(sys.stdin)['metrics']))")
  [ "$n" -ge 11 ] && break
  sleep 0.05
done
curl -sf "$base/tuningJobs/$b/metrics" > "$work/metrics_before.json"
curl -sf "$base/tuningJobs/$b/events" > "$work/events_before.json"
worker=$(pgrep -f "job-worker --data-dir $data --job $b" || true)
kill -9 $server_pid
wait $server_pid 2>/dev/null || true
server_pid=
[ "$($py -c "import json,sys; print(len(json.load(open(sys.argv[1]))['metrics']))" "$work/metrics_before.json")" -lt 96 ] \
  || fail "the job finished before the kill; nothing was tested"
for _ in $(seq 1 100); do [ -z "$worker" ] || ! kill -0 "$worker" 2>/dev/null && break; sleep 0.05; done
[ -z "$worker" ] || ! kill -0 "$worker" 2>/dev/null || fail "the worker outlived the killed server"

start_server 2
wait_done "$b"
cmp "$data/jobs/$a/output/adapter_model.safetensors" "$data/jobs/$b/output/adapter_model.safetensors" \
  || fail "the resumed job's adapter differs from the uninterrupted one's"
curl -sf "$base/tuningJobs/$b/metrics" > "$work/metrics_after.json"
curl -sf "$base/tuningJobs/$b/events" > "$work/events_after.json"
curl -sf "$base/tuningJobs/$a/metrics" > "$work/metrics_a.json"
$py - "$work" <<'PY' || fail "records lost or changed"
import json, sys
w = sys.argv[1]
load = lambda n: json.load(open(f"{w}/{n}.json"))
before, after, a = load("metrics_before")["metrics"], load("metrics_after")["metrics"], load("metrics_a")["metrics"]
key = lambda m: (m["step"], m["loss"], m["tokenAccuracy"], m["learningRate"], m.get("validationLoss"))
after_by_step = {m["step"]: key(m) for m in after}
for m in before:
    assert after_by_step.get(m["step"]) == key(m), ("metric changed or lost", m, after_by_step.get(m["step"]))
assert [key(m) for m in after] == [key(m) for m in a], "the resumed job's metrics differ from the uninterrupted job's"
assert [m["step"] for m in after] == list(range(1, 97)), [m["step"] for m in after]
eb, ea = load("events_before")["events"], load("events_after")["events"]
ids_after = {e["id"]: e["message"] for e in ea}
for e in eb:
    assert ids_after.get(e["id"]) == e["message"], ("event lost", e)
assert any("server restarted" in e["message"] for e in ea), "no restart event"
assert any("resuming from checkpoint" in e["message"] for e in ea), "no resume event"
PY
echo "control durability: all checks passed"

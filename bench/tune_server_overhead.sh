#!/usr/bin/env bash
# Tokens/s of one tuning run in-process (`loam tune sft`) and the same run
# submitted to `loam serve` (`loam tune sft --server`: a job worker process
# that also persists a metric row, events and checkpoints to the registry).
# Same model, data, hyperparameters and seed; prints the median per-step
# tokens/s of each (the first step, which warms up, left out) and the ratio.
#   usage: bench/tune_server_overhead.sh LOAM [HIDDEN] [LAYERS]
set -euo pipefail
loam=$(realpath "$1")
hidden=${2:-256}
layers=${3:-4}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill $server_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
py=/usr/bin/python3
$py "$src/tools/make_demo_model.py" "$work/m" --hidden "$hidden" --layers "$layers" --heads 4 --kv-heads 2 \
  --intermediate $((hidden * 2)) >/dev/null
head -n 96 "$src/examples/support/instructions_train.jsonl" > "$work/train.jsonl"
flags=(--source-model "$work/m" --train "$work/train.jsonl" --epochs 1 --batch-size 4 --adapter-size 8 --learning-rate 1e-3)

"$loam" tune sft "${flags[@]}" --output "$work/inproc" --data-dir "$work/d1" > /dev/null 2> "$work/inproc.log"
$py -c "import json,sys; print(json.dumps([json.loads(l)['tokens_per_s'] for l in open(sys.argv[1]) if 'tokens_per_s' in l]))" \
  "$work/inproc/metrics.jsonl" > "$work/inproc.json"

"$loam" serve --port 0 --data-dir "$work/d2" --allow-path "$work" > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
url=http://127.0.0.1:$(grep -o '127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
"$loam" tune sft "${flags[@]}" --server "$url" > "$work/job.txt" 2> "$work/server.log"
job=$(head -1 "$work/job.txt")
curl -sf "$url/v1/$job/metrics" | $py -c "import json,sys; print(json.dumps([m['tokensPerSecond'] for m in json.load(sys.stdin)['metrics']]))" \
  > "$work/server.json"

$py - "$work/inproc.json" "$work/server.json" <<'PY'
import json, statistics, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert len(a) == len(b), (len(a), len(b))
ma, mb = statistics.median(a[1:]), statistics.median(b[1:])
print("in-process", [round(x) for x in a]); print("server", [round(x) for x in b])
print(f"steps {len(a)}  in-process {ma:.0f} tok/s  server job {mb:.0f} tok/s  server/in-process {mb / ma:.3f}")
PY

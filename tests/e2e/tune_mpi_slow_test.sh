#!/usr/bin/env bash
# End-to-end: data-parallel tuning under OpenMPI's mpirun over loopback.
#   1. Equality: 2 ranks x batch b == 1 process x batch b x accumulation 2 (SFT
#      and preference), adapters within 1e-6 relative.
#   2. Resume: a 2-rank run killed after a checkpoint resumes bit-exactly with
#      2 ranks; with 1 process it keeps the global batch (accumulation 2).
#   3. Failure: a rank killed with SIGKILL ends the job, named; a rank stopped
#      with SIGSTOP (a hang) ends it after LOAM_DIST_TIMEOUT, named.
#   4. The control plane: workerCount 2 on a server with --mpi-hostfile.
#   A plain run (no mpirun) prints nothing about MPI and records no world size.
#   usage: tune_mpi_slow_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"
command -v mpirun >/dev/null || fail "mpirun missing: scripts/install-deps.sh installs openmpi-bin"

# CI runs as root; OpenMPI refuses root without these. Loopback only.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun -np 2 --oversubscribe --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
head -n 16 "$src/examples/support/instructions_train.jsonl" > "$work/train.jsonl"
sed -n '17,20p' "$src/examples/support/instructions_train.jsonl" > "$work/val.jsonl"
common=(--source-model "$work/m" --train "$work/train.jsonl" --validation "$work/val.jsonl" --adapter-size 4
        --batch-size 2 --learning-rate 1e-3 --eval-steps 2 --lora-dropout 0.1 --seed 5 --threads 1)

# Largest |a - b| / max|a| over the tensors of two adapter files.
adapter_diff() {
  $py - "$1" "$2" <<'PY'
import json, struct, sys
import numpy as np
def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dtype=np.float32)
            for k, v in h.items() if k != "__metadata__"}
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys() and len(a) > 0
print(max(float(np.abs(a[k] - b[k]).max() / max(np.abs(a[k]).max(), 1e-30)) for k in a))
PY
}

# 1. Equality, SFT: 8 steps of 2 micro-batches each, evaluation every 2.
$loam tune sft "${common[@]}" --epochs 2 --gradient-accumulation-steps 2 --output "$work/one" \
  > "$work/one.json" 2> "$work/one.log" || { cat "$work/one.log"; fail "1 process"; }
if grep -qi "mpi\|rank" "$work/one.log"; then fail "a plain run talks about MPI: $(cat "$work/one.log")"; fi
grep -q "global batch .* 2 x 2 x 1 process = 4 examples" "$work/one.log" || fail "plan: $(cat "$work/one.log")"
"${mpi[@]}" $loam tune sft "${common[@]}" --epochs 2 --output "$work/two" > "$work/two.json" 2> "$work/two.log" \
  || { cat "$work/two.log"; fail "mpirun -np 2"; }
grep -q "global batch .* 2 x 1 x 2 processes = 4 examples" "$work/two.log" || fail "plan: $(cat "$work/two.log")"
grep -q "ranks 2  comm" "$work/two.log" || fail "progress line without the world size: $(cat "$work/two.log")"
[ "$(grep -c '"status":"completed"' "$work/two.json")" = 1 ] || fail "not one result line: $(cat "$work/two.json")"
d=$(adapter_diff "$work/one/adapter_model.safetensors" "$work/two/adapter_model.safetensors")
$py -c "import sys; d=float(sys.argv[1]); assert d < 1e-6, d" "$d" || fail "2 ranks differ from accumulation 2: $d"
$py - "$work/one/metrics.jsonl" "$work/two/metrics.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) == 8, (len(a), len(b))
for x, y in zip(a, b):
    assert abs(x["loss"] - y["loss"]) <= 1e-6 * abs(x["loss"]), (x, y)   # the loss of the same examples
    assert x["tokens"] == y["tokens"], (x, y)                            # the whole global batch's tokens
    assert ("val_loss" in x) == ("val_loss" in y)
    assert y["world_size"] == 2 and y["comm_s"] >= 0 and "world_size" not in x
PY
# Rank 0 alone writes: one run directory, one job in the registry.
[ "$(ls -d "$work"/two/checkpoints/step-* | wc -l)" -ge 1 ] || fail "no checkpoint"

# 1b. Equality, preference tuning (sigmoid DPO, reference log-probs sent by rank 0).
$py - "$work/pairs.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(12):
        f.write(json.dumps({"input_text": f"question {i}: what is {i} plus {i}?",
                            "preferred_output": f"It is {2 * i}.", "rejected_output": f"Maybe {i + 7}, or not."}) + "\n")
PY
pref=(--source-model "$work/m" --train "$work/pairs.jsonl" --adapter-size 4 --batch-size 2 --learning-rate 1e-3
      --lora-dropout 0 --seed 3 --epochs 1 --threads 1 --beta 0.1)
$loam tune preference "${pref[@]}" --gradient-accumulation-steps 2 --output "$work/p1" > /dev/null 2> "$work/p1.log" \
  || { cat "$work/p1.log"; fail "preference, 1 process"; }
"${mpi[@]}" $loam tune preference "${pref[@]}" --output "$work/p2" > /dev/null 2> "$work/p2.log" \
  || { cat "$work/p2.log"; fail "preference, 2 ranks"; }
d=$(adapter_diff "$work/p1/adapter_model.safetensors" "$work/p2/adapter_model.safetensors")
$py -c "import sys; d=float(sys.argv[1]); assert d < 1e-6, d" "$d" || fail "preference: 2 ranks differ: $d"

# 2. Resume. A 2-rank run of 3 epochs, killed (SIGKILL on rank 1) after its
#    4th step: mpirun ends the job and names the rank.
rank_pid() {  # the pid of rank $2 under mpirun $1
  for _ in $(seq 1 50); do
    for p in $(pgrep -P "$1"); do
      if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then echo "$p"; return; fi
    done
    sleep 0.1
  done
}
args=("${common[@]}" --epochs 6 --save-steps 3)
"${mpi[@]}" $loam tune sft "${args[@]}" --output "$work/full" > /dev/null 2> "$work/full.log" \
  || { cat "$work/full.log"; fail "uninterrupted 2-rank run"; }
"${mpi[@]}" $loam tune sft "${args[@]}" --output "$work/k" > /dev/null 2> "$work/k.log" &
mpid=$!
for _ in $(seq 1 1200); do
  [ "$(wc -l 2>/dev/null < "$work/k/metrics.jsonl" || echo 0)" -ge 4 ] && break
  sleep 0.05
done
r1=$(rank_pid $mpid 1)
[ -n "$r1" ] || fail "rank 1 not found under mpirun"
kill -9 "$r1"
start=$(date +%s)
rc=0; wait $mpid || rc=$?
[ "$rc" != 0 ] || fail "the job succeeded with a rank killed"
[ $(( $(date +%s) - start )) -le 60 ] || fail "the job took over 60 s to end after a rank died"
grep -qi "rank 1" "$work/k.log" || fail "the dead rank is not named: $(tail -20 "$work/k.log")"
ckpt=$(cat "$work/k/checkpoints/latest")
[ -d "$ckpt" ] || fail "no checkpoint before the kill"
cp -r "$work/k" "$work/kc"  # the 2-rank resume prunes old checkpoints; the 1-process one starts from this copy
# Same number of ranks: bit-exact.
"${mpi[@]}" $loam tune sft "${args[@]}" --output "$work/k" --resume "$ckpt" > /dev/null 2> "$work/k2.log" \
  || { cat "$work/k2.log"; fail "2-rank resume"; }
cmp "$work/full/adapter_model.safetensors" "$work/k/adapter_model.safetensors" || fail "2-rank resume not bit-exact"
# One process: the global batch is kept (accumulation 2), the same within 1e-6.
$loam tune sft "${args[@]}" --output "$work/k1" --resume "$work/kc/checkpoints/$(basename "$ckpt")" > /dev/null 2> "$work/k1.log" \
  || { cat "$work/k1.log"; fail "1-process resume of a 2-rank checkpoint"; }
grep -q "global batch is kept with 1 process: gradient accumulation 2 per process" "$work/k1.log" \
  && grep -q "global batch .* 2 x 2 x 1 process = 4 examples" "$work/k1.log" || fail "no word on the kept global batch: $(cat "$work/k1.log")"
d=$(adapter_diff "$work/full/adapter_model.safetensors" "$work/k1/adapter_model.safetensors")
$py -c "import sys; d=float(sys.argv[1]); assert d < 1e-6, d" "$d" || fail "1-process resume differs: $d"

# 3. A hung rank (SIGSTOP) ends the job after the deadline, named by rank 0.
LOAM_DIST_TIMEOUT=3 "${mpi[@]}" -x LOAM_DIST_TIMEOUT $loam tune sft "${common[@]}" --epochs 50 --output "$work/h" \
  > /dev/null 2> "$work/h.log" &
mpid=$!
for _ in $(seq 1 1200); do
  [ "$(wc -l 2>/dev/null < "$work/h/metrics.jsonl" || echo 0)" -ge 5 ] && break  # after the epoch-end checkpoint
  sleep 0.05
done
r1=$(rank_pid $mpid 1)
[ -n "$r1" ] || fail "rank 1 not found under mpirun"
kill -STOP "$r1"
start=$(date +%s)
rc=0; wait $mpid || rc=$?
[ "$rc" != 0 ] || fail "the job succeeded with a rank stopped"
[ $(( $(date +%s) - start )) -le 60 ] || fail "the job took over 60 s to end after a rank hung"
grep -q "rank 1 did not reach the .* within 3 s" "$work/h.log" || fail "the hung rank is not named: $(tail -20 "$work/h.log")"
kill -9 "$r1" 2>/dev/null || true
# Resume from its last checkpoint works.
"${mpi[@]}" $loam tune sft "${common[@]}" --epochs 50 --max-steps 16 --resume-allow max-steps --output "$work/h" \
  --resume "$work/h" > /dev/null 2> "$work/h2.log" || { cat "$work/h2.log"; fail "resume after a hang"; }
grep -q "resumed from $work/h/checkpoints/step-" "$work/h2.log" || fail "not resumed: $(cat "$work/h2.log")"
# 4. The control plane: a server with --mpi-hostfile runs a job with
#    workerCount 2 under mpirun (loopback through OMPI_MCA_* in its environment).
export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
echo "localhost slots=2" > "$work/hosts"
data=$work/data
mkdir -p "$data/buckets/b"
cp "$work/train.jsonl" "$data/buckets/b/train.jsonl"
$loam serve --port 0 --data-dir "$data" --allow-path "$work/m" --mpi-hostfile "$work/hosts" > "$work/serve.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
[ -n "$port" ] || fail "server did not start: $(cat "$work/serve.log")"
base=http://127.0.0.1:$port/v1/projects/p/locations/l
$loam models import "$work/m" --display-name demo --server "http://127.0.0.1:$port" > /dev/null
job='{"baseModel":"demo","workerCount":2,"supervisedTuningSpec":{"trainingDatasetUri":"gs://b/train.jsonl","hyperParameters":{"epochCount":1,"batchSize":2,"adapterSize":4}}}'
curl -s -X POST "$base/tuningJobs" -d "$job" > "$work/job.json"
jid=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['name'].split('/')[-1])" "$work/job.json") \
  || fail "create job: $(cat "$work/job.json")"
for _ in $(seq 1 600); do
  st=$(curl -s "$base/tuningJobs/$jid" | $py -c "import json,sys; print(json.load(sys.stdin)['state'])")
  case $st in JOB_STATE_SUCCEEDED|JOB_STATE_FAILED|JOB_STATE_CANCELLED) break;; esac
  sleep 0.2
done
[ "$st" = JOB_STATE_SUCCEEDED ] || fail "workerCount 2 job: $st; $(cat "$data/jobs/$jid/worker.log" 2>/dev/null | tail -20)"
curl -s "$base/tuningJobs/$jid/events" | grep -q "2 processes under mpirun --hostfile" || fail "not run under mpirun"
m=$(find "$data" -name metrics.jsonl | head -1)
[ -n "$m" ] && grep -q '"world_size":2' "$m" || fail "the job's metrics do not show 2 processes ($m)"
echo "ok"

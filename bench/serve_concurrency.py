#!/usr/bin/env python3
"""Aggregate decode throughput of `loam serve` (continuous batching, issue 13).

Starts `loam serve` on a loopback port over a fresh data directory, imports
MODEL_DIR, tunes 4 small adapters on it (1 step each, through the REST API),
then times greedy generations of --tokens tokens (ignore_eos) through
/v1/chat/completions:
  single      1 request on the bare base
  base8       8 concurrent requests on the bare base
  adapter8    8 concurrent requests on one adapter
  mixed8      8 concurrent requests, 2 on each of 4 adapters
Rounds are interleaved (single, base8, adapter8, mixed8, single, ...) and
the median of --rounds is reported as tokens/s (generated tokens / wall
time, prompts of ~30 tokens included), and as decode tokens/s (generated
tokens / the longest generation phase among the case's requests, from the
`timings` the server returns: prompt processing excluded, the "decode
tokens/s" of issue 13's targets); `steps` gives the server's mean decode step
time and rows per step. Prints one JSON line. Loam's server and llama.cpp
run at normal priority even when this script runs under `chrt -f 10` (see
normal_priority).

With --peer-gguf FILE (the same checkpoint through `loam convert MODEL_DIR
--dtype bf16 -o FILE`), two more cases send the raw prompt text to
/v1/completions (no chat template, as the peer gets it):
  completion1 / completion8   1 and 8 concurrent requests on the bare base
and, after Loam's server has stopped, bench/llamacpp_serve_bench.mjs runs
llama.cpp on FILE with 8 sequences decoding concurrently in one context
(llama-server's continuous batching) with the same --threads, --tokens and
--rounds; the line then carries llamacpp_tokens_per_s and
completion8_over_llamacpp8 (the issue's target: >= 1.3). --no-adapters
skips tuning the adapters (and the adapter8/mixed8 cases).

  python3 bench/serve_concurrency.py build/loam MODEL_DIR [--threads 2] [--tokens 64] [--rounds 3]
      [--precision bf16] [--peer-gguf MODEL.gguf] [--no-adapters]
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=3600) as r:
        return json.load(r)


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.load(r)


def normal_priority():
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("loam")
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--precision", default="auto", help="loam serve --precision (auto, exact, bf16)")
    ap.add_argument("--peer-gguf", help="also measure llama.cpp on this GGUF (8 concurrent sequences)")
    ap.add_argument("--no-adapters", action="store_true", help="skip the adapter cases")
    ap.add_argument("--dump-timings", action="store_true", help="print each chat request's server timings to stderr")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="loam-serve-bench-")
    data = os.path.join(work, "data")
    os.makedirs(os.path.join(data, "buckets", "b"))
    src = os.path.dirname(HERE)
    with open(os.path.join(src, "examples/support/instructions_train.jsonl")) as f:
        lines = f.readlines()[:4]
    with open(os.path.join(data, "buckets/b/train.jsonl"), "w") as f:
        f.writelines(lines)
    log = open(os.path.join(work, "serve.log"), "w+")
    # --prefix-cache 32: the cases repeat 22 distinct (adapter, prompt) pairs
    # (30 with --peer-gguf); with the default 16 kept prompts the least
    # recently used were evicted, and which case paid full prompts depended
    # on the case order (it was mixed8, whose requests then joined the batch
    # with a longer prefill).
    # The servers run at normal priority even when this script runs under
    # `chrt -f 10`: under SCHED_FIFO the replica's spinning OpenMP workers
    # keep the server's own threads (HTTP, the replica's reader) off the
    # cores, and concurrent requests then reach the batch one at a time.
    server = subprocess.Popen([a.loam, "serve", "--port", "0", "--data-dir", data, "--allow-path", os.path.abspath(a.model),
                               "--infer-threads", str(a.threads), "--max-batch", "16", "--precision", a.precision,
                               "--prefix-cache", "32"],
                              stdout=log, stderr=log, preexec_fn=normal_priority)
    peer = None
    try:
        url = None
        for _ in range(600):
            log.seek(0)
            m = re.search(r"http://127\.0\.0\.1:\d+", log.read())
            if m:
                url = m.group(0)
                break
            time.sleep(0.05)
        base = url + "/v1/projects/p/locations/l"
        subprocess.run([a.loam, "models", "import", os.path.abspath(a.model), "--display-name", "bench-base",
                        "--server", url], check=True, stdout=subprocess.DEVNULL)
        adapters = []
        for i in range(0 if a.no_adapters else 4):
            name = f"bench-a{i}"
            job = post(base + "/tuningJobs", {"baseModel": "bench-base", "tunedModelDisplayName": name,
                                              "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/train.jsonl",
                                                                       "hyperParameters": {"epochCount": 1, "batchSize": 4,
                                                                                           "adapterSize": 8}}})
            jid = job["name"].split("/")[-1]
            while True:
                st = get(f"{base}/tuningJobs/{jid}")["state"]
                if st in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
                    break
                time.sleep(0.5)
            if st != "JOB_STATE_SUCCEEDED":
                sys.exit(f"tuning {name}: {st}")
            adapters.append(name)

        def one(model, k):
            r = post(url + "/v1/chat/completions", {
                "model": model, "temperature": 0, "max_tokens": a.tokens, "ignore_eos": True,
                "messages": [{"role": "user", "content": f"Customer {k} asks how to change the billing address on the account."}]})
            if a.dump_timings:
                print(json.dumps({"model": model, "k": k, **r["timings"]}), file=sys.stderr)
            return r["usage"]["completion_tokens"], r["timings"]["predicted_ms"] / 1e3

        def one_completion(model, k):  # the raw text llamacpp_serve_bench.mjs sends
            r = post(url + "/v1/completions", {
                "model": model, "temperature": 0, "max_tokens": a.tokens, "ignore_eos": True,
                "prompt": f"Customer {k} asks how to change the billing address on the account."})
            return r["usage"]["completion_tokens"], r["timings"]["predicted_ms"] / 1e3

        def counters():  # decode steps and rows summed over steps, from /metrics
            with urllib.request.urlopen(url + "/metrics", timeout=60) as r:
                text = r.read().decode()
            got = {}
            for name in ("loam_decode_steps_total", "loam_decode_step_rows_total"):
                got[name] = sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(name))
            return got

        steps = {}  # case -> (wall s, steps, rows) of its last round
        decode = {}  # case -> decode-only tokens/s per round

        def run(models, case=None):
            fn = one
            if models and models[0] == "completion":
                fn, models = one_completion, ["bench-base"] * len(models)
            c0 = counters()
            t0 = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(len(models)) as ex:
                res = list(ex.map(fn, models, range(len(models))))
            wall = time.perf_counter() - t0
            n = sum(k for k, _ in res)
            # Decode alone: the tokens over the longest generation phase
            # (from a request's first step after its prompt to its end, as
            # the server's `timings` give it), prompts excluded.
            decode[case].append(n / max(d for _, d in res)) if case else None
            c1 = counters()
            if case:
                steps[case] = (wall, c1["loam_decode_steps_total"] - c0["loam_decode_steps_total"],
                               c1["loam_decode_step_rows_total"] - c0["loam_decode_step_rows_total"])
            return n / wall

        cases = {"single": ["bench-base"], "base8": ["bench-base"] * 8}
        if adapters:
            cases.update({"adapter8": [adapters[0]] * 8, "mixed8": [adapters[i // 2] for i in range(8)]})
        if a.peer_gguf:
            cases.update({"completion1": ["completion"], "completion8": ["completion"] * 8})
        run(["bench-base"] + adapters[:1])  # warm: loads the base and an adapter
        got = {k: [] for k in cases}
        decode.update({k: [] for k in cases})
        for _ in range(a.rounds):
            for k, models in cases.items():
                got[k].append(run(models, k))
        med = {k: statistics.median(v) for k, v in got.items()}
        dec = {k: statistics.median(v) for k, v in decode.items()}
        out = {"tokens_per_s": {k: round(v, 2) for k, v in med.items()},
               "base8_over_single": round(med["base8"] / med["single"], 2),
               "decode_tokens_per_s": {k: round(v, 2) for k, v in dec.items()},
               "decode_base8_over_single": round(dec["base8"] / dec["single"], 2),
               "threads": a.threads, "tokens": a.tokens, "rounds": a.rounds, "precision": a.precision}
        # Where the wall time goes: the server's decode steps (stats reach it
        # every 0.1 s, so the last steps of a case may count in the next).
        out["steps"] = {k: {"ms_per_step": round(1e3 * w / max(n, 1), 2), "rows_per_step": round(r / max(n, 1), 2)}
                        for k, (w, n, r) in steps.items()}
        if adapters:
            out["adapter8_over_base8"] = round(med["adapter8"] / med["base8"], 3)
            out["mixed8_over_adapter8"] = round(med["mixed8"] / med["adapter8"], 3)
            out["decode_adapter8_over_base8"] = round(dec["adapter8"] / dec["base8"], 3)
            out["decode_mixed8_over_adapter8"] = round(dec["mixed8"] / dec["adapter8"], 3)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    if a.peer_gguf:  # after Loam's server is gone: the two never share the cores
        r = subprocess.run(["node", os.path.join(HERE, "llamacpp_serve_bench.mjs"), a.peer_gguf, "--parallel", "8",
                            "--tokens", str(a.tokens), "--threads", str(a.threads), "--rounds", str(a.rounds)],
                           check=True, capture_output=True, text=True, preexec_fn=normal_priority)
        peer = json.loads(r.stdout.strip().splitlines()[-1])
        out["llamacpp"] = {"release": peer["llama_cpp"], "tokens_per_s": peer["tokens_per_s"]}
        out["completion8_over_llamacpp8"] = round(med["completion8"] / peer["tokens_per_s"]["parallel8"], 3)
        out["completion1_over_llamacpp1"] = round(med["completion1"] / peer["tokens_per_s"]["single"], 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

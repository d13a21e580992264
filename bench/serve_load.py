#!/usr/bin/env python3
"""Load test of `loam serve` (issue 13): C concurrent clients for D seconds
against one small base model and two adapters tuned from it, alternating
streaming and non-streaming chat completions with random lengths. Counts
errors (any non-200, any stream that does not end with a finish_reason and
`data: [DONE]`), and reports request latency p50/p99 and total generated
tokens/s. Prints one JSON line; exits 1 on any error.

  python3 bench/serve_load.py build/loam MODEL_DIR [--clients 32] [--seconds 60] [--threads 2]
"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_concurrency import get, post  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("loam")
    ap.add_argument("model")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    work = tempfile.mkdtemp(prefix="loam-load-")
    data = os.path.join(work, "data")
    os.makedirs(os.path.join(data, "buckets", "b"))
    with open(os.path.join(src, "examples/support/instructions_train.jsonl")) as f:
        lines = f.readlines()[:8]
    with open(os.path.join(data, "buckets/b/train.jsonl"), "w") as f:
        f.writelines(lines)
    log = open(os.path.join(work, "serve.log"), "w+")
    server = subprocess.Popen([a.loam, "serve", "--port", "0", "--data-dir", data, "--allow-path", os.path.abspath(a.model),
                               "--infer-threads", str(a.threads), "--max-batch", "32", "--max-queue", "256"],
                              stdout=log, stderr=log)
    try:
        port = None
        for _ in range(600):
            log.seek(0)
            m = re.search(r"http://127\.0\.0\.1:(\d+)", log.read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        base = url + "/v1/projects/p/locations/l"
        subprocess.run([a.loam, "models", "import", os.path.abspath(a.model), "--display-name", "load-base",
                        "--server", url], check=True, stdout=subprocess.DEVNULL)
        models = ["load-base"]
        for i in range(2):
            job = post(base + "/tuningJobs", {"baseModel": "load-base", "tunedModelDisplayName": f"load-a{i}",
                                              "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/train.jsonl",
                                                                       "hyperParameters": {"epochCount": 1, "batchSize": 4, "adapterSize": 4}}})
            jid = job["name"].split("/")[-1]
            while get(f"{base}/tuningJobs/{jid}")["state"] not in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
                time.sleep(0.3)
            models.append(f"load-a{i}")

        lat, errors, tokens, streams = [], [], [0], [0]
        mu = threading.Lock()
        deadline = time.time() + a.seconds

        def client(k):
            rng = random.Random(k)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            n = 0
            while time.time() < deadline:
                stream = (k + n) % 2 == 0
                body = {"model": models[(k + n) % 3], "temperature": 0.8, "seed": k * 1000 + n,
                        "max_tokens": rng.randint(8, 64), "stream": stream,
                        "messages": [{"role": "user", "content": f"Question {k}.{n}: how do I update my payment card?"}]}
                if stream:
                    body["stream_options"] = {"include_usage": True}
                n += 1
                t0 = time.perf_counter()
                try:
                    conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
                    r = conn.getresponse()
                    raw = r.read().decode()
                    if r.status != 200:
                        raise RuntimeError(f"HTTP {r.status}: {raw[:200]}")
                    if stream:
                        events = [l[6:] for l in raw.split("\n") if l.startswith("data: ")]
                        if not events or events[-1] != "[DONE]":
                            raise RuntimeError("stream without [DONE]")
                        chunks = [json.loads(e) for e in events[:-1]]
                        if any("error" in c for c in chunks):
                            raise RuntimeError("error event")
                        if not any(ch.get("finish_reason") for c in chunks for ch in c.get("choices", [])):
                            raise RuntimeError("stream without finish_reason")
                        got = chunks[-1]["usage"]["completion_tokens"]
                    else:
                        got = json.loads(raw)["usage"]["completion_tokens"]
                    with mu:
                        lat.append(time.perf_counter() - t0)
                        tokens[0] += got
                        streams[0] += stream
                except Exception as e:  # noqa: BLE001
                    with mu:
                        errors.append(str(e))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

        t0 = time.time()
        ts = [threading.Thread(target=client, args=(k,)) for k in range(a.clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        wall = time.time() - t0
        lat.sort()
        out = {"clients": a.clients, "seconds": round(wall, 1), "requests": len(lat), "streams_complete": streams[0],
               "errors": len(errors), "p50_s": round(statistics.median(lat), 3) if lat else None,
               "p99_s": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 3) if lat else None,
               "tokens_per_s": round(tokens[0] / wall, 1), "first_errors": errors[:3]}
        print(json.dumps(out))
        sys.exit(1 if errors else 0)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

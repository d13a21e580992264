#!/usr/bin/env python3
"""Load on `loam serve`'s control plane: N clients for T seconds, each
creating a tuning job, reading it, and listing jobs and models, over
loopback. One long job occupies the runner, so created jobs stay queued
(no training besides it). Checks: no error, and every created job appears
exactly once when all pages are walked. Prints requests/s and latency
percentiles per request kind.

  usage: control_plane_load.py LOAM [--clients 20] [--seconds 30]
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, threading, time, urllib.request

p = argparse.ArgumentParser()
p.add_argument("loam")
p.add_argument("--clients", type=int, default=20)
p.add_argument("--seconds", type=float, default=30)
a = p.parse_args()
src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = tempfile.mkdtemp()
data = f"{work}/data"
os.makedirs(f"{data}/buckets/b")
subprocess.run(["/usr/bin/python3", f"{src}/tools/make_demo_model.py", f"{work}/m", "--hidden", "64", "--layers", "2",
                "--heads", "4", "--kv-heads", "2", "--intermediate", "128"], check=True, capture_output=True)
shutil.copy(f"{src}/examples/support/tiny_train.jsonl", f"{data}/buckets/b/train.jsonl")
subprocess.run([a.loam, "models", "import", f"{work}/m", "--display-name", "demo", "--data-dir", data], check=True,
               capture_output=True)
log = open(f"{work}/serve.log", "w")
server = subprocess.Popen([a.loam, "serve", "--port", "0", "--data-dir", data], stderr=log, stdout=log)
try:
    for _ in range(200):
        m = re.search(r"127\.0\.0\.1:(\d+)", open(f"{work}/serve.log").read())
        if m: break
        time.sleep(0.05)
    base = f"http://127.0.0.1:{m.group(1)}/v1/projects/p/locations/l"

    def call(method, path, body=None):
        req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None)
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)

    job = lambda epochs: {"baseModel": "demo", "supervisedTuningSpec": {
        "trainingDatasetUri": "gs://b/train.jsonl", "hyperParameters": {"epochCount": epochs}}}
    long_job = call("POST", "/tuningJobs", job(1000))["name"].split("/")[-1]
    lat = {k: [] for k in ("create", "get", "list_jobs", "list_models")}
    created, errors, lock = [], [], threading.Lock()
    stop_at = time.time() + a.seconds

    def client():
        while time.time() < stop_at:
            try:
                t = time.perf_counter(); j = call("POST", "/tuningJobs", job(1)); t1 = time.perf_counter()
                jid = j["name"].split("/")[-1]
                g = call("GET", f"/tuningJobs/{jid}"); t2 = time.perf_counter()
                call("GET", "/tuningJobs?pageSize=10"); t3 = time.perf_counter()
                call("GET", "/models"); t4 = time.perf_counter()
                assert g["name"] == j["name"]
                with lock:
                    created.append(jid)
                    lat["create"].append(t1 - t); lat["get"].append(t2 - t1)
                    lat["list_jobs"].append(t3 - t2); lat["list_models"].append(t4 - t3)
            except Exception as e:  # noqa: BLE001 - every failure is counted and reported
                with lock: errors.append(repr(e))
    t0 = time.time()
    threads = [threading.Thread(target=client) for _ in range(a.clients)]
    for t in threads: t.start()
    for t in threads: t.join()
    elapsed = time.time() - t0
    listed, tok = [], ""
    while True:
        page = call("GET", "/tuningJobs?pageSize=1000" + (f"&pageToken={tok}" if tok else ""))
        listed += [j["name"].split("/")[-1] for j in page["tuningJobs"]]
        tok = page.get("nextPageToken", "")
        if not tok: break
    call("POST", f"/tuningJobs/{long_job}:cancel", {})
    n_req = sum(len(v) for v in lat.values())
    missing = set(created) - set(listed)
    dup = len(listed) - len(set(listed))
    print(f"clients {a.clients}, {elapsed:.1f} s, {n_req} requests, {n_req / elapsed:.0f} requests/s, "
          f"errors {len(errors)}, jobs created {len(created)}, missing {len(missing)}, duplicated {dup}")
    for k, v in lat.items():
        v.sort()
        if v:
            q = lambda f: v[min(len(v) - 1, int(f * len(v)))] * 1000
            print(f"  {k:12s} n={len(v):6d}  p50 {q(0.5):7.1f} ms  p99 {q(0.99):7.1f} ms  max {v[-1] * 1000:7.1f} ms")
    if errors: print("first errors:", errors[:3])
    sys.exit(1 if errors or missing or dup else 0)
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(work, ignore_errors=True)

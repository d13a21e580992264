#!/usr/bin/env bash
# End-to-end: `loam models pull` against a loopback stand-in for the Hugging
# Face hub (tests/registry/hf_hub_server.py, the hub's URL layout): the files
# arrive byte-exact even when the connection drops halfway through the
# weights, the model is registered with its architecture, a second pull
# downloads nothing and gives the same model, and an unknown repository is a
# clear error.
#   usage: models_pull_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"
server_pid=
trap '[ -n "$server_pid" ] && kill $server_pid 2>/dev/null; rm -rf "$work"' EXIT

repo="$work/hub/demo-org/tiny-llama"
$py "$src/tools/make_demo_model.py" "$repo" --hidden 32 --layers 1 --heads 2 --kv-heads 1 --intermediate 64 >/dev/null
$py "$src/tests/registry/hf_hub_server.py" --root "$work/hub" --port-file "$work/port" --log "$work/requests.log" \
  --drop model.safetensors &
server_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "hub server did not start"
export HF_ENDPOINT="http://127.0.0.1:$(cat "$work/port")"
data="$work/data"

$loam models pull demo-org/tiny-llama --data-dir "$data" --labels family=llama --output json > "$work/pulled.json" \
  2>"$work/pull.err" || { cat "$work/pull.err"; fail "pull"; }
for f in config.json model.safetensors tokenizer.json; do
  cmp "$repo/$f" "$data/downloads/demo-org/tiny-llama/main/$f" || fail "$f differs from the hub's"
done
grep -q "range=bytes=" "$work/requests.log" || fail "the dropped download was not resumed with a Range request"
$py - "$work/pulled.json" <<'PY' || fail "registered model"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["displayName"] == "demo-org/tiny-llama", m
assert m["labels"]["family"] == "llama", m
assert m["metadata"]["architecture"] == "llama", m
assert m["metadata"]["format"] == "hf", m
# The source is the hub repository at the commit main resolved to, not the download folder.
src = m["metadata"]["sourceUri"]
assert src.startswith("hf://demo-org/tiny-llama@"), src
assert len(src.split("@")[1]) >= 7 and "/downloads/" not in src, src
PY

# Again: nothing downloaded, the same model.
$loam models pull demo-org/tiny-llama --data-dir "$data" --output json > "$work/again.json" 2>"$work/again.err"
grep -q "0 B downloaded\|, 0 bytes downloaded\|(.* files, 0" "$work/again.err" || fail "second pull downloaded again: $(cat "$work/again.err")"
$py -c "import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); assert a['name']==b['name'], (a['name'], b['name'])" \
  "$work/pulled.json" "$work/again.json" || fail "second pull made another model"

# An unknown repository names itself.
if $loam models pull demo-org/missing --data-dir "$data" 2>"$work/missing.err"; then fail "missing repo accepted"; fi
grep -q "demo-org/missing" "$work/missing.err" || fail "404 message: $(cat "$work/missing.err")"
echo "models_pull_test: ok"

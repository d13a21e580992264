#!/usr/bin/env bash
# The web console in a real browser (Debian's chromium, headless, driven by
# puppeteer-core) against `loam serve --api-key` on a loopback port: the key
# prompt, the model garden with a hostile display name shown as text, a bad
# dataset's lines named and the bundled dataset validated with rendered
# samples, a tuning job from the form whose loss chart gains points while it
# runs, the tuned model's lineage, a deployment, an answer in the
# playground and an evaluation. Screenshots land in
# <build>/console-screenshots/. Any console error or failed request fails it.
#   usage: console_browser_test.sh LOAM SOURCE_DIR
set -euo pipefail
loam=$1
src=$2
work=$(mktemp -d)
server_pid=
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=; }
trap 'stop_server; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/serve.log" ] && tail -30 "$work/serve.log" >&2; exit 1; }
py=/usr/bin/python3
key=k-console
xss='<img src=x onerror=alert(1)>'
shots=$PWD/console-screenshots

[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is not installed (apt-get install chromium)"
[ -d "$src/web/node_modules/puppeteer-core" ] || fail "web/node_modules is missing: run scripts/build-web.sh"

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
cp "$src/examples/support/tiny_train.jsonl" "$work/support.jsonl"
tail -n 4 "$src/examples/support/tiny_train.jsonl" > "$work/heldout.jsonl"
# Line 1 valid (its text is markup), line 2 not JSON, line 3 without output_text.
printf '%s\n' "{\"input_text\": \"what does $xss do?\", \"output_text\": \"It is shown as text.\"}" \
  '{"input_text": "broken' '{"input_text": "no answer"}' > "$work/bad.jsonl"

$loam serve --port 0 --data-dir "$work/data" --api-key $key --allow-path "$work" --infer-threads 2 > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
[ -n "$port" ] || fail "server did not start"
url=http://127.0.0.1:$port

# The console needs no key to load, and says it is not built when it is not.
code=$(curl -s -o "$work/index.html" -w '%{http_code}' "$url/")
[ "$code" = 200 ] || fail "GET / without a key: $code $(head -c 300 "$work/index.html")"
grep -q '<script type="module" src="/console/app.js">' "$work/index.html" || fail "the console page"
# ... while the API still does.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/files")" = 401 ] || fail "the API answers without a key"

LOAM_API_KEY=$key $loam models import "$work/m" --display-name demo --server "$url" --output json > "$work/import.json"
mid=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['name'].split('/')[-1])" "$work/import.json")
# A hostile display name: the console must show it as text.
curl -sf -X PATCH -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  "$url/v1/projects/local/locations/local/models/$mid" -d "{\"displayName\": \"$xss\"}" > /dev/null || fail "PATCH displayName"

# The console's REST routes, as a script calls them.
api=$url/v1/projects/local/locations/local
post() { curl -s -o "$work/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$api/$1" -d "$2"; }
check() { $py -c "import json,sys; d=json.load(open(sys.argv[1])); assert $1, d" "$work/body" || fail "$2: $(head -c 600 "$work/body")"; }
[ "$(post datasets:inspect "{\"datasetUri\": \"$work/bad.jsonl\", \"model\": \"$mid\", \"maxSeqLength\": 16}")" = 200 ] || fail "inspect"
check "not d['ok'] and d['examples'] == 1 and [(i['line'], i.get('field', '')) for i in d['issues']] == [(2, ''), (3, 'output_text')]" "inspect names each bad line"
check "d['tokens']['examples'] == 1 and d['tokens']['examples_over_max_seq_length'] == 1 and '<img src=x' in d['samples'][0]['rendered']" "inspect's token statistics and rendered sample"
[ "$(post datasets:inspect '{"model": "demo"}')" = 400 ] || fail "inspect without datasetUri"
check "'datasetUri' in d['error']['message']" "the error names the field"
[ "$(post datasets:inspect "{\"datasetUri\": \"/etc/passwd\"}")" = 403 ] || fail "inspect outside the data roots: $(cat "$work/body")"
[ "$(post datasets:split "{\"datasetUri\": \"$work/support.jsonl\", \"validationFraction\": 0.25, \"seed\": 3}")" = 200 ] || fail "split"
check "d['train']['examples'] == 15 and d['validation']['examples'] == 5 and d['train']['id'].startswith('file-')" "split 15/5"
plan="{\"baseModel\": \"$mid\", \"supervisedTuningSpec\": {\"trainingDatasetUri\": \"$work/support.jsonl\", \"hyperParameters\": {\"epochCount\": 2, \"batchSize\": 4}}}"
[ "$(post tuningJobs:plan "$plan")" = 200 ] || fail "plan"
check "d['trainExamples'] == 20 and d['epochs'] == 2 and d['totalSteps'] == 2 * d['stepsPerEpoch'] > 0 and d['peakMemoryBytes'] > 0 and d['fits']" "the plan"
[ "$(post tuningJobs:plan '{"baseModel": "demo", "supervisedTuningSpec": {"trainingDatasetUri": "x.jsonl", "bogus": 1}}')" = 400 ] || fail "plan with an unknown field"
check "'bogus' in d['error']['message']" "the plan's error names the field"
curl -sf -H "Authorization: Bearer $key" "$api/tuningJobs" | grep -q '"tuningJobs":\[\]' || fail "a plan creates no job"

rm -rf "$shots"
timeout 600 node "$src/tests/e2e/console_browser.cjs" "$src/web" "$url" "$key" "$shots" \
  "$work/support.jsonl" "$work/bad.jsonl" "$work/heldout.jsonl" "$xss" > "$work/browser.json" 2> "$work/browser.err" ||
  fail "browser: $(cat "$work/browser.err")"
cat "$work/browser.json"
for s in 01-api-key 02-model-garden 03b-dataset 04-new-job 05-job 06-tuned-model 07-endpoints 08-playground 09-evaluation; do
  [ -s "$shots/$s.png" ] || fail "no screenshot $s.png"
done
echo "console browser test passed; screenshots in $shots"

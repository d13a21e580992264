#!/usr/bin/env bash
# End-to-end: `loam eval` on a small checkpoint in the real Hugging Face layout
# and a LoRA adapter tuned on it: model mode (text metrics, perplexity,
# out-of-domain refusals), classification with invalid answers, predictions
# mode with several systems, the report rendered by headless Chromium
# (tables checked in the DOM, a screenshot kept in the build directory), and
# bad input.
#   usage: eval_cli_test.sh LOAM SOURCE_DIR
source "$(dirname "$0")/common.sh"

$py "$src/tools/make_demo_model.py" "$work/m" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 128 >/dev/null
head -n 4 "$src/examples/support/tiny_train.jsonl" > "$work/train.jsonl"
$loam tune sft --source-model "$work/m" --train "$work/train.jsonl" --validation "$work/train.jsonl" --output "$work/tuned" \
  --epochs 8 --adapter-size 8 --learning-rate 3e-3 --lora-dropout 0 --batch-size 4 > /dev/null 2> "$work/tune.log" ||
  { cat "$work/tune.log"; fail "tune sft"; }
head -n 3 "$src/examples/support/out_of_domain.jsonl" > "$work/probes.jsonl"

# 1. Model mode: base vs tuned on the examples the adapter saw.
$loam eval --model "$work/m" --adapter "$work/tuned" --data "$work/train.jsonl" --out-of-domain "$work/probes.jsonl" \
  --max-tokens 8 --bootstrap 200 --out "$work/out" > "$work/summary.txt" 2> "$work/progress.txt" ||
  { cat "$work/progress.txt"; fail "eval (model mode)"; }
grep -q "tuned: generating: 4/4" "$work/progress.txt" || fail "no progress: $(cat "$work/progress.txt")"
grep -q "^perplexity" "$work/summary.txt" || fail "no summary table: $(cat "$work/summary.txt")"
grep -q "report:  $work/out/report.html" "$work/summary.txt" || fail "report path not printed"
$py - "$work/out/results.json" "$work/tuned/metrics.jsonl" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))
names = ["exact_match", "exact_match_normalized", "token_f1", "rouge1", "rouge2", "rougeL", "bleu", "chrf",
         "perplexity", "refusal_rate"]
assert [s["name"] for s in r["systems"]] == ["base", "tuned"], r["systems"]
for s in r["systems"]:
    assert sorted(s["metrics"]) == sorted(names), sorted(s["metrics"])
    for k, m in s["metrics"].items():
        assert m["low"] <= m["value"] + 1e-9 and m["value"] <= m["high"] + 1e-9, (k, m)
    assert s["metrics"]["refusal_rate"]["n"] == 3 and s["metrics"]["token_f1"]["n"] == 4
c = r["comparisons"][0]
assert c["system"] == "tuned" and c["baseline"] == "base" and sorted(c["metrics"]) == sorted(names)
for m in c["metrics"].values():
    assert 0 < m["p_value"] <= 1
assert len(r["examples"]) == 4
for e in r["examples"]:
    assert set(e["outputs"]) == {"base", "tuned"} and set(e["scores"]["tuned"]) >= {"token_f1", "perplexity"}
    assert e["reference"] and e["prompt"]
assert len(r["out_of_domain"]) == 3 and set(r["out_of_domain"][0]["answers"]) == {"base", "tuned"}
# The adapter was tuned on these answers: their perplexity must drop, and match
# the trainer's own validation loss on the same file (same masking, same adapter).
base = r["systems"][0]["metrics"]["perplexity"]["value"]
tuned = r["systems"][1]["metrics"]["perplexity"]["value"]
assert tuned < base, (tuned, base)
val = [json.loads(l) for l in open(sys.argv[2]) if "val_loss" in l][-1]["val_loss"]
assert abs(math.log(tuned) - val) < 1e-3, (math.log(tuned), val)
PY

# 1b. The pairwise judge (the random model as judge: its replies are no verdicts,
#     so every example is a tie; both orders are asked and recorded).
$loam eval --model "$work/m" --adapter "$work/tuned" --data "$work/train.jsonl" --judge "$work/m" --metrics token_f1 \
  --max-tokens 4 --bootstrap 50 --out "$work/judge" > "$work/judge.txt" 2>/dev/null || fail "eval --judge"
grep -q "judge: tuned vs base" "$work/judge.txt" || fail "no judge line: $(cat "$work/judge.txt")"
$py - "$work/judge/results.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["judge"]
c = j["comparisons"][0]
assert c["system"] == "tuned" and c["baseline"] == "base" and len(c["examples"]) == 4
rates = c["win_rate"]["value"] + c["tie_rate"]["value"] + c["loss_rate"]["value"]
assert abs(rates - 1) < 1e-9, rates
assert all("reply_baseline_first" in e and "reply_system_first" in e for e in c["examples"])
PY

# 2. Classification: labels from --labels; a random model's answers are invalid.
head -n 6 "$src/examples/support/tickets_test.jsonl" > "$work/tickets.jsonl"
labels=$($py -c 'import json,sys; print(",".join(sorted({json.loads(l)["label"] for l in open(sys.argv[1])})))' "$src/examples/support/tickets_train.jsonl")
$loam eval --model "$work/m" --data "$work/tickets.jsonl" --labels "$labels" --max-tokens 3 --bootstrap 50 \
  --out "$work/cls" --output json > "$work/cls.json" 2>/dev/null || fail "eval (classification)"
$py - "$work/cls.json" "$work/cls/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r == json.load(open(sys.argv[2])), "--output json differs from results.json"
s = r["systems"][0]
assert sorted(s["metrics"]) == ["accuracy", "macro_f1", "perplexity", "weighted_f1"], sorted(s["metrics"])
c = s["classification"]
assert len(c["confusion"]) == len(c["labels"]) == 8 and all(len(row) == 9 for row in c["confusion"])
assert sum(map(sum, c["confusion"])) == 6
assert c["invalid"] == sum(row[-1] for row in c["confusion"]) == len(c["invalid_examples"])
PY

# 3. Predictions mode, two systems, hostile strings: the report escapes them.
$py - "$work/preds.jsonl" <<'PY'
import json, sys
rows = [("base", "Paris", "Paris"), ("base", "<script>alert(1)</script>", "the cat"), ("base", "", "dog & co"),
        ("tuned", "Paris", "Paris"), ("tuned", "the cat", "the cat"), ("tuned", "dog & co", "dog & co")]
with open(sys.argv[1], "w") as f:
    for m, p, r in rows:
        f.write(json.dumps({"model": m, "prediction": p, "reference": r, "prompt": "q <b>bold</b>"}) + "\n")
PY
$loam eval --predictions "$work/preds.jsonl" --bootstrap 100 --out "$work/p" > /dev/null || fail "eval --predictions"
grep -q "<script>alert" "$work/p/report.html" && fail "report does not escape predictions"
grep -q "&lt;script&gt;alert(1)&lt;/script&gt;" "$work/p/report.html" || fail "escaped prediction missing"
if grep -qE "(src|href)=\"(https?:)?//" "$work/p/report.html"; then fail "report fetches from the network"; fi

# 4. The report as a browser renders it.
chromium=$(command -v chromium || true)
[ -n "$chromium" ] || fail "chromium not installed (scripts/install-deps.sh)"
browse() { timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --user-data-dir="$work/chrome" "$@" 2>/dev/null; }
browse --dump-dom "file://$work/p/report.html" > "$work/dom.html"
browse --dump-dom "file://$work/cls/report.html" > "$work/cls_dom.html"
browse --screenshot="$PWD/eval_report.png" --window-size=1280,1800 "file://$work/out/report.html" >/dev/null
[ -s "$PWD/eval_report.png" ] || fail "no screenshot"
$py - "$work/dom.html" "$work/cls_dom.html" <<'PY'
import sys
from html.parser import HTMLParser

class Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.stack, self.svgs, self.scripts = {}, [], 0, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.stack.append(a.get("id", ""))
            self.tables.setdefault(self.stack[-1], [])
        elif tag == "tr" and self.stack:
            self.tables[self.stack[-1]].append([])
        elif tag in ("td", "th") and self.stack and self.tables[self.stack[-1]]:
            self.tables[self.stack[-1]][-1].append("")
        elif tag == "svg":
            self.svgs += 1
        elif tag == "script":
            self.scripts += 1
    def handle_endtag(self, tag):
        if tag == "table" and self.stack:
            self.stack.pop()
    def handle_data(self, data):
        if self.stack and self.tables[self.stack[-1]] and self.tables[self.stack[-1]][-1]:
            self.tables[self.stack[-1]][-1][-1] += data

p = Tables(); p.feed(open(sys.argv[1]).read())
t = p.tables
assert p.scripts == 0, "a script element rendered"
metrics = [row[0] for row in t["metrics"][1:]]
assert metrics == ["exact_match", "exact_match_normalized", "token_f1", "rouge1", "rouge2", "rougeL", "bleu", "chrf"], metrics
assert t["metrics"][0][1:] == ["base", "tuned"], t["metrics"][0]
assert p.svgs == len(metrics), p.svgs
assert len(t["comparison"]) == 1 + len(metrics)
tf1 = [row for row in t["comparison"] if row[2] == "token_f1"][0]
assert tf1[0] == "tuned" and tf1[1] == "base" and tf1[3].startswith("+"), tf1
assert len(t["examples"]) == 4 and "<script>alert(1)</script>" in t["examples"][2][3], t["examples"]
wins = t["wins"][1:]
assert [row[0] for row in wins] == ["2", "3"], wins  # biggest gain (0 -> 1) first; example 1 is a tie
assert len(t["regressions"]) == 1
c = Tables(); c.feed(open(sys.argv[2]).read())
conf = c.tables["confusion-0"]
assert conf[0][-1] == "invalid" and len(conf) == 9, conf
PY

# 5. Bad input: named file, line and field; nothing written.
printf '%s\n' '{"prediction": "a", "reference": "a"}' '{"prediction": "b"}' > "$work/bad.jsonl"
if $loam eval --predictions "$work/bad.jsonl" --out "$work/bad" 2> "$work/err"; then fail "missing reference accepted"; fi
grep -q "bad.jsonl:2: field reference" "$work/err" || fail "error does not name the line: $(cat "$work/err")"
[ ! -e "$work/bad/results.json" ] || fail "results written for bad input"
if $loam eval --model "$work/m" --data "$src/examples/support/preference_test.jsonl" --out "" 2> "$work/err"; then fail "preference data accepted"; fi
grep -q "preference_test.jsonl:1" "$work/err" || fail "error does not name the file: $(cat "$work/err")"
if $loam eval --predictions "$work/preds.jsonl" --metrics bleu,nope 2> "$work/err"; then fail "unknown metric accepted"; fi
grep -q -- "--metrics" "$work/err" || fail "unknown metric error: $(cat "$work/err")"
echo "eval e2e ok"

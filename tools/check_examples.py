#!/usr/bin/env python3
"""Validate the bundled support datasets in examples/support/.

What it checks (stdlib only, no Loam needed):
  * every line is UTF-8, one JSON object, with exactly the fields its format
    needs, all non-empty strings (chat turns: known roles, alternating,
    ending on the model/assistant turn);
  * classification labels are in the allowed set, and how balanced they are;
  * out-of-domain answers use one of the fixed decline phrasings;
  * tiny_train.jsonl has exactly 20 short pairs, all taken from
    instructions_train.jsonl;
  * no exact duplicates inside a file, and no near-duplicates between a test
    split and the training data a model tuned for that task would see
    (difflib ratio > 0.8 on normalized text, or word-trigram Jaccard > 0.5).

Prints a summary; exit status 1 when anything is wrong.
Usage: python3 tools/check_examples.py [EXAMPLES_DIR]
"""

import collections
import difflib
import json
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "..", "examples", "support")

LABELS = {
    "billing", "bug_report", "feature_request", "integration",
    "alerting", "account_access", "performance", "data_ingestion",
}

# The out-of-domain answers must use one of these, word for word, so that a
# tuned model can learn them and an evaluation can score refusals exactly.
DECLINES = {
    "Sorry, I can only help with questions about Beacon, the infrastructure "
    "monitoring service. Is there anything about Beacon I can help you with?",
    "Sorry, I can only help with questions about Beacon, the infrastructure "
    "monitoring service. For anything else, please use a general-purpose "
    "resource.",
}

# file name -> (format, minimum lines, maximum lines)
FILES = {
    "instructions_train.jsonl": ("instruction", 180, 260),
    "instructions_test.jsonl": ("instruction", 35, 60),
    "instructions_chat_train.jsonl": ("contents", 35, 60),
    "instructions_messages_train.jsonl": ("messages", 18, 40),
    "tickets_train.jsonl": ("classification", 180, 260),
    "tickets_test.jsonl": ("classification", 45, 70),
    "preference_train.jsonl": ("preference", 90, 140),
    "preference_test.jsonl": ("preference", 22, 40),
    "out_of_domain.jsonl": ("ood", 35, 60),
    "tiny_train.jsonl": ("instruction", 20, 20),
}

FIELDS = {
    "instruction": ("input_text", "output_text"),
    "ood": ("input_text", "output_text"),
    "classification": ("text", "label"),
    "preference": ("input_text", "preferred_output", "rejected_output"),
}

# test file -> training files whose prompts must not nearly repeat it.
SPLITS = {
    "instructions_test.jsonl": [
        "instructions_train.jsonl", "instructions_chat_train.jsonl",
        "instructions_messages_train.jsonl", "preference_train.jsonl"],
    "tickets_test.jsonl": ["tickets_train.jsonl"],
    "preference_test.jsonl": [
        "preference_train.jsonl", "instructions_train.jsonl",
        "instructions_chat_train.jsonl", "instructions_messages_train.jsonl"],
}

SEQ_RATIO_MAX = 0.8
TRIGRAM_JACCARD_MAX = 0.5
TINY_MAX_WORDS = 25


class Report:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def warn(self, where, msg):
        self.warnings.append(f"{where}: {msg}")


def check_string(rep, where, obj, field):
    value = obj.get(field)
    if not isinstance(value, str):
        rep.error(where, f"field '{field}' missing or not a string")
        return False
    if not value.strip():
        rep.error(where, f"field '{field}' is empty")
        return False
    if value != value.strip():
        rep.warn(where, f"field '{field}' has leading/trailing whitespace")
    return True


def check_exact_fields(rep, where, obj, fields):
    for f in fields:
        check_string(rep, where, obj, f)
    extra = set(obj) - set(fields)
    if extra:
        rep.error(where, f"unexpected fields {sorted(extra)}")


def check_turns(rep, where, turns, first, second, text_of):
    """Turns must alternate first/second, start with first, end with second."""
    if not isinstance(turns, list) or not turns:
        rep.error(where, "conversation missing or empty")
        return []
    texts = []
    for i, turn in enumerate(turns):
        w = f"{where}:turn {i}"
        if not isinstance(turn, dict):
            rep.error(w, "turn is not an object")
            continue
        want = first if i % 2 == 0 else second
        if turn.get("role") != want:
            rep.error(w, f"role is {turn.get('role')!r}, expected {want!r}")
        text = text_of(rep, w, turn)
        if text is not None:
            texts.append((turn.get("role"), text))
    if len(turns) % 2 != 0:
        rep.error(where, f"conversation must end on a '{second}' turn")
    return texts


def contents_text(rep, where, turn):
    parts = turn.get("parts")
    if set(turn) - {"role", "parts"}:
        rep.error(where, f"unexpected fields {sorted(set(turn) - {'role', 'parts'})}")
    if not isinstance(parts, list) or len(parts) != 1 or not isinstance(parts[0], dict):
        rep.error(where, "'parts' must be a list with one {\"text\": ...} object")
        return None
    return parts[0].get("text") if check_string(rep, where, parts[0], "text") else None


def messages_text(rep, where, turn):
    if set(turn) - {"role", "content"}:
        rep.error(where, f"unexpected fields {sorted(set(turn) - {'role', 'content'})}")
    return turn.get("content") if check_string(rep, where, turn, "content") else None


def check_contents(rep, where, obj):
    extra = set(obj) - {"systemInstruction", "contents"}
    if extra:
        rep.error(where, f"unexpected fields {sorted(extra)}")
    sysi = obj.get("systemInstruction")
    if sysi is not None:
        ok = (isinstance(sysi, dict) and isinstance(sysi.get("parts"), list)
              and sysi["parts"] and isinstance(sysi["parts"][0], dict))
        if not ok:
            rep.error(where, "systemInstruction must be {\"parts\": [{\"text\": ...}]}")
        else:
            check_string(rep, where + ":systemInstruction", sysi["parts"][0], "text")
    return check_turns(rep, where, obj.get("contents"), "user", "model", contents_text)


def check_messages(rep, where, obj):
    if set(obj) != {"messages"}:
        rep.error(where, f"expected only 'messages', got {sorted(obj)}")
    msgs = obj.get("messages")
    if isinstance(msgs, list) and msgs and isinstance(msgs[0], dict) \
            and msgs[0].get("role") == "system":
        messages_text(rep, where + ":system", msgs[0])
        msgs = msgs[1:]
    return check_turns(rep, where, msgs, "user", "assistant", messages_text)


def read_jsonl(rep, path, name):
    rows = []
    with open(path, "rb") as f:
        raw = f.read()
    if raw.startswith(b"\xef\xbb\xbf"):
        rep.warn(name, "file starts with a UTF-8 BOM")
        raw = raw[3:]
    if raw and not raw.endswith(b"\n"):
        rep.warn(name, "no newline at end of file")
    for n, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        where = f"{name}:{n}"
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            rep.error(where, f"invalid UTF-8 at byte {e.start}")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            rep.error(where, f"invalid JSON at column {e.colno}: {e.msg}")
            continue
        if not isinstance(obj, dict):
            rep.error(where, "line is not a JSON object")
            continue
        rows.append((where, obj))
    return rows


def normalize(text):
    text = text.lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def trigrams(norm):
    words = norm.split()
    if len(words) < 3:
        return {tuple(words)}
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def similar(a_norm, b_norm, a_tri, b_tri):
    """Returns a description when two normalized texts are near-duplicates."""
    union = a_tri | b_tri
    jac = len(a_tri & b_tri) / len(union) if union else 1.0
    if jac > TRIGRAM_JACCARD_MAX:
        return f"trigram Jaccard {jac:.2f}"
    sm = difflib.SequenceMatcher(None, a_norm, b_norm, autojunk=False)
    if sm.real_quick_ratio() > SEQ_RATIO_MAX and sm.quick_ratio() > SEQ_RATIO_MAX:
        r = sm.ratio()
        if r > SEQ_RATIO_MAX:
            return f"difflib ratio {r:.2f}"
    return None


def prompts_of(fmt, rows):
    """(where, prompt text) pairs: the text a model is given for each example."""
    out = []
    for where, obj in rows:
        if fmt in ("instruction", "ood", "preference"):
            t = obj.get("input_text")
            if isinstance(t, str):
                out.append((where, t))
        elif fmt == "classification":
            t = obj.get("text")
            if isinstance(t, str):
                out.append((where, t))
        elif fmt in ("contents", "messages"):
            for role, text in obj.get("_turns", []):
                if role == "user":
                    out.append((where, text))
    return out


def check_near_duplicates(rep, test_name, test_prompts, train_prompts):
    prepared = [(w, normalize(t)) for w, t in train_prompts]
    prepared = [(w, n, trigrams(n)) for w, n in prepared]
    for where, text in test_prompts:
        n = normalize(text)
        tri = trigrams(n)
        for twhere, tn, ttri in prepared:
            why = similar(n, tn, tri, ttri)
            if why:
                rep.error(where, f"near-duplicate of {twhere} ({why})")


def check_within_file(rep, name, prompts):
    seen = {}
    for where, text in prompts:
        n = normalize(text)
        if n in seen:
            rep.error(where, f"duplicate prompt of {seen[n]}")
        else:
            seen[n] = where
    prepared = [(w, normalize(t)) for w, t in prompts]
    prepared = [(w, n, trigrams(n)) for w, n in prepared]
    for i in range(len(prepared)):
        for j in range(i + 1, len(prepared)):
            if prepared[i][1] == prepared[j][1]:
                continue
            why = similar(prepared[i][1], prepared[j][1], prepared[i][2], prepared[j][2])
            if why:
                rep.warn(prepared[j][0], f"close to {prepared[i][0]} within {name} ({why})")


def words(text):
    return len(text.split())


def check_file(rep, directory, name, fmt, lo, hi):
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        rep.error(name, "file missing")
        return []
    rows = read_jsonl(rep, path, name)
    for where, obj in rows:
        if fmt in FIELDS:
            check_exact_fields(rep, where, obj, FIELDS[fmt])
        elif fmt == "contents":
            obj["_turns"] = check_contents(rep, where, obj)
        elif fmt == "messages":
            obj["_turns"] = check_messages(rep, where, obj)
        if fmt == "classification" and obj.get("label") not in LABELS:
            rep.error(where, f"label {obj.get('label')!r} not in {sorted(LABELS)}")
        if fmt == "ood" and obj.get("output_text") not in DECLINES:
            rep.error(where, "output_text is not one of the fixed decline phrasings")
        if fmt == "preference" and obj.get("preferred_output") == obj.get("rejected_output"):
            rep.error(where, "preferred_output equals rejected_output")
    if not lo <= len(rows) <= hi:
        rep.error(name, f"{len(rows)} examples, expected {lo}..{hi}")
    check_within_file(rep, name, prompts_of(fmt, rows))
    return rows


def summarize(name, fmt, rows):
    line = f"  {name:36s} {len(rows):4d}"
    if fmt in ("instruction", "ood"):
        lens = [words(o["output_text"]) for _, o in rows if isinstance(o.get("output_text"), str)]
        if lens:
            line += f"   answer words median {statistics.median(lens):.0f}, max {max(lens)}"
    elif fmt == "preference":
        p = [words(o.get("preferred_output", "")) for _, o in rows]
        r = [words(o.get("rejected_output", "")) for _, o in rows]
        if p:
            line += (f"   preferred words median {statistics.median(p):.0f},"
                     f" rejected median {statistics.median(r):.0f}")
    elif fmt in ("contents", "messages"):
        multi = sum(1 for _, o in rows if len(o.get("_turns", [])) > 2)
        line += f"   multi-turn {multi}"
    elif fmt == "classification":
        counts = collections.Counter(o.get("label") for _, o in rows)
        line += "   " + ", ".join(f"{k} {counts[k]}" for k in sorted(counts))
    print(line)


def check_balance(rep, name, rows):
    counts = collections.Counter(o.get("label") for _, o in rows)
    missing = LABELS - set(counts)
    if missing:
        rep.error(name, f"labels never used: {sorted(missing)}")
    if counts:
        most, least = max(counts.values()), min(counts.values())
        if least and most / least > 2.0:
            rep.warn(name, f"label imbalance: largest class {most}, smallest {least}")


def check_tiny(rep, tiny_rows, train_rows):
    train_pairs = {(o.get("input_text"), o.get("output_text")) for _, o in train_rows}
    for where, obj in tiny_rows:
        if (obj.get("input_text"), obj.get("output_text")) not in train_pairs:
            rep.error(where, "pair is not in instructions_train.jsonl")
        out = obj.get("output_text")
        if isinstance(out, str) and words(out) > TINY_MAX_WORDS:
            rep.error(where, f"answer has {words(out)} words, limit {TINY_MAX_WORDS}")


def main(argv):
    directory = argv[1] if len(argv) > 1 else DEFAULT_DIR
    rep = Report()
    data = {}
    for name, (fmt, lo, hi) in FILES.items():
        data[name] = check_file(rep, directory, name, fmt, lo, hi)
    for name in ("tickets_train.jsonl", "tickets_test.jsonl"):
        check_balance(rep, name, data[name])
    check_tiny(rep, data["tiny_train.jsonl"], data["instructions_train.jsonl"])
    for test, trains in SPLITS.items():
        test_prompts = prompts_of(FILES[test][0], data[test])
        train_prompts = []
        for t in trains:
            train_prompts += prompts_of(FILES[t][0], data[t])
        check_near_duplicates(rep, test, test_prompts, train_prompts)

    print(f"Examples in {os.path.normpath(directory)}:")
    for name, (fmt, _, _) in FILES.items():
        summarize(name, fmt, data[name])
    for w in rep.warnings:
        print("warning:", w)
    for e in rep.errors:
        print("error:", e)
    print(f"{len(rep.errors)} error(s), {len(rep.warnings)} warning(s)")
    return 1 if rep.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

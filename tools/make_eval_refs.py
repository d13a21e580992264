#!/usr/bin/python3
"""Reference values for Loam's evaluation metrics (tests/eval/metrics_test.cpp).

Writes tests/data/eval/refs.json: for a fixed set of prediction/reference
pairs (Unicode, HTML entities, empty and whitespace-only predictions,
punctuation-only text, numbers, very long lines) and several systems, every
metric `loam eval` computes.

Where the reference comes from:
  - Porter stemming: Debian's python3-nltk (nltk.stem.porter.PorterStemmer(),
    the NLTK_EXTENSIONS mode rouge-score uses).
  - Classification: Debian's python3-sklearn (accuracy_score,
    precision_recall_fscore_support, f1_score with labels= and
    zero_division=0, confusion_matrix).
  - BLEU: a faithful reimplementation of sacreBLEU 2.x's BLEU() defaults
    (Debian has no sacrebleu package), cross-checked against nltk's
    corpus_bleu on the same 13a tokens over the segments of at least 4
    tokens when all four n-gram orders match (where the definitions agree).
  - chrF: a faithful reimplementation of sacreBLEU 2.x's CHRF() defaults.
  - ROUGE: a faithful reimplementation of rouge-score's tokenize/score
    (Debian has no rouge-score package), with nltk's PorterStemmer.
  - Exact match / token F1: the SQuAD evaluation script's definitions
    (normalize_answer; v2.0's rule that two empty answers have F1 = 1).
  - Bootstrap: the resampling loam documents in src/eval/bootstrap.h
    (splitmix64 % n, numpy.percentile), so intervals can be compared exactly.
The reimplementations follow the packages' source line by line; they use the
same Python primitives (str.lower, str.split, re) whose Unicode semantics the
C++ code must match.

Usage: /usr/bin/python3 tools/make_eval_refs.py [out.json]
"""
import collections
import json
import math
import re
import string
import sys

import numpy as np
from nltk.stem.porter import PorterStemmer
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score,
                             precision_recall_fscore_support)

STEMMER = PorterStemmer()

# --------------------------------------------------------------- SQuAD

def squad_normalize(s):
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def exact_match(p, r):
    return float(p.strip() == r.strip())


def exact_match_normalized(p, r):
    return float(squad_normalize(p) == squad_normalize(r))


def token_f1(p, r):
    pt = squad_normalize(p).split()
    rt = squad_normalize(r).split()
    if len(pt) == 0 or len(rt) == 0:
        return float(pt == rt)
    common = collections.Counter(pt) & collections.Counter(rt)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pt)
    recall = same / len(rt)
    return 2 * precision * recall / (precision + recall)

# --------------------------------------------------------------- rouge-score

def rouge_tokenize(text, stem):
    text = text.lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    tokens = re.split(r"\s+", text)
    if stem:
        tokens = [STEMMER.stem(x) if len(x) > 3 else x for x in tokens]
    return [x for x in tokens if re.match(r"^[a-z0-9]+$", x)]


def _fmeasure(p, r):
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _ngrams(tokens, n):
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _rouge_n(target, prediction, n):
    t, p = _ngrams(target, n), _ngrams(prediction, n)
    inter = sum(min(t[g], p[g]) for g in t)
    precision = inter / max(sum(p.values()), 1)
    recall = inter / max(sum(t.values()), 1)
    return _fmeasure(precision, recall)


def _rouge_l(target, prediction):
    if not target or not prediction:
        return 0.0
    table = [[0] * (len(prediction) + 1) for _ in range(len(target) + 1)]
    for i in range(1, len(target) + 1):
        for j in range(1, len(prediction) + 1):
            if target[i - 1] == prediction[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    lcs = table[-1][-1]
    return _fmeasure(lcs / len(prediction), lcs / len(target))


def rouge(prediction, reference, stem):
    t = rouge_tokenize(reference, stem)
    p = rouge_tokenize(prediction, stem)
    return {"rouge1": _rouge_n(t, p, 1), "rouge2": _rouge_n(t, p, 2), "rougeL": _rouge_l(t, p)}

# --------------------------------------------------------------- sacreBLEU

_RE13A = [
    (re.compile(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])'), r' \1 '),
    (re.compile(r'([^0-9])([\.,])'), r'\1 \2 '),
    (re.compile(r'([\.,])([^0-9])'), r' \1 \2'),
    (re.compile(r'([0-9])(-)'), r'\1 \2 '),
]


def tokenize_13a(line):
    line = line.replace('<skipped>', '')
    line = line.replace('-\n', '')
    line = line.replace('\n', ' ')
    if '&' in line:
        line = line.replace('&quot;', '"')
        line = line.replace('&amp;', '&')
        line = line.replace('&lt;', '<')
        line = line.replace('&gt;', '>')
    line = f' {line} '
    for rx, repl in _RE13A:
        line = rx.sub(repl, line)
    return ' '.join(line.split())


def bleu_stats(hyp, ref):
    h = tokenize_13a(hyp.rstrip()).split()
    r = tokenize_13a(ref.rstrip()).split()
    correct, total = [0] * 4, [0] * 4
    for n in range(1, 5):
        hc = collections.Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
        rc = collections.Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
        for g, c in hc.items():
            total[n - 1] += c
            if g in rc:
                correct[n - 1] += min(c, rc[g])
    return [len(h), len(r)] + correct + total


def bleu_from_stats(stats):
    sys_len, ref_len = stats[0], stats[1]
    correct, total = list(stats[2:6]), list(stats[6:10])
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    else:
        bp = 1.0
    precisions = [0.0] * 4
    if not any(correct):
        return 0.0
    smooth = 1.0
    for n in range(1, 5):
        if total[n - 1] == 0:
            break
        if correct[n - 1] == 0:
            smooth *= 2
            precisions[n - 1] = 100. / (smooth * total[n - 1])
        else:
            precisions[n - 1] = 100. * correct[n - 1] / total[n - 1]
    my_log = lambda x: -9999999999 if x == 0 else math.log(x)
    return bp * math.exp(sum(my_log(p) for p in precisions) / 4)


def chrf_stats(hyp, ref):
    h = ''.join(hyp.split())
    r = ''.join(ref.split())
    out = []
    for n in range(1, 7):
        hc = collections.Counter(h[i:i + n] for i in range(len(h) - n + 1))
        rc = collections.Counter(r[i:i + n] for i in range(len(r) - n + 1))
        match = sum(min(c, rc[g]) for g, c in hc.items() if g in rc)
        out += [sum(hc.values()) if rc else 0, sum(rc.values()), match]
    return out


def chrf_from_stats(stats, beta=2):
    factor = beta ** 2
    avg_prec = avg_rec = 0.0
    eff = 0
    for i in range(6):
        n_hyp, n_ref, n_match = stats[3 * i:3 * i + 3]
        if n_hyp > 0 and n_ref > 0:
            avg_prec += n_match / n_hyp
            avg_rec += n_match / n_ref
            eff += 1
    if eff == 0:
        return 0.0
    avg_prec /= eff
    avg_rec /= eff
    if avg_prec + avg_rec:
        return 100 * (1 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec)
    return 0.0


def sum_stats(rows):
    return [sum(col) for col in zip(*rows)]

# --------------------------------------------------------------- bootstrap

MASK = (1 << 64) - 1


def resamples(n, count, seed):
    state = seed
    out = []
    for _ in range(count):
        r = []
        for _ in range(n):
            state = (state + 0x9E3779B97F4A7C15) & MASK
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            z = z ^ (z >> 31)
            r.append(z % n)
        out.append(r)
    return out


def interval(fn, n, rs):
    vals = [fn(r) for r in rs]
    return {"value": fn(list(range(n))), "low": float(np.percentile(vals, 2.5)),
            "high": float(np.percentile(vals, 97.5))}


def paired(base, tuned, n, rs):
    delta = tuned(list(range(n))) - base(list(range(n)))
    d = np.array([tuned(r) - base(r) for r in rs])
    extreme = int((np.abs(d - d.mean()) >= abs(delta)).sum())
    return {"delta": delta, "low": float(np.percentile(d, 2.5)), "high": float(np.percentile(d, 97.5)),
            "p_value": (1 + extreme) / (len(rs) + 1)}

# --------------------------------------------------------------- data

def long_line(seed, words):
    vocab = ("alert agent host metric dashboard the a an of rule window maintenance silence "
             "notify channel latency 99.9 2,048 p95 error-rate SLO status-page on-call").split()
    rng = np.random.default_rng(seed)
    return ' '.join(vocab[i] for i in rng.integers(0, len(vocab), words))


REFERENCES = [
    "The agent config is /etc/beacon/agent.yaml.",
    "Silence the alert during the maintenance window.",
    "Run sudo dnf upgrade beacon-agent; the service restarts itself.",
    "Café crème costs €3.50 — naïve résumé",
    "İstanbul KELVIN \u212a sign",
    "AT&amp;T &lt;tag&gt; said &quot;yes&quot;",
    "Numbers: 3.14, 1,000 and 5-6 (approx.)",
    "東京タワーは333メートルです。",
    "line one\r\nline two\u00a0with\u2003spaces",
    "An apple a day keeps the doctor away",
    "?!...",
    "The quick brown fox jumps over the lazy dog",
    "relational conditional hopefulness generalization controlling dying skies",
    "Use the API key from Settings > API keys.",
    "no",
    long_line(1, 1500),
    "trailing hyphen-\nated words <skipped> here",
    "👍 great job 👍",
]

SYSTEMS = {
    "tuned": [
        "The agent config is /etc/beacon/agent.yaml",
        "silence the alert during the maintenance window",
        "Run sudo dnf upgrade beacon-agent. The service restarts.",
        "Cafe creme costs €3.50 - naive resume",
        "istanbul kelvin k sign",
        "AT&T <tag> said \"yes\"",
        "Numbers: 3.14 , 1,000 and 5 - 6 (approx)",
        "東京タワーは333メートル",
        "line one line two with spaces",
        "an apple a day keeps a doctor away",
        "?!...",
        "The quick brown fox jumped over the lazy dogs",
        "relate condition hopeful general control die sky",
        "Use the API key from Settings > API keys.",
        "No.",
        long_line(1, 1400),
        "trailing hyphenated words here",
        "great job",
    ],
    "base": [
        "",
        "Please wait.",
        " \u00a0\t",
        "Café crème costs €3.50 — naïve résumé",
        "Istanbul",
        "AT&amp;T said yes",
        "3.14 1,000 5-6",
        "東京",
        "line one\nline two\u00a0with\u2003spaces",
        "the the the",
        "",
        "a quick brown dog",
        "relational",
        "use the api key",
        "yes",
        long_line(2, 800),
        "hyphen ated",
        "👍👍",
    ],
    "empty": [""] * len(REFERENCES),
}

STEM_WORDS = sorted(set(
    "caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized "
    "hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational valenci "
    "hesitanci digitizer conformabli radicalli differentli vileli analogousli vietnamization predication "
    "operator feudalism decisiveness hopefulness callousness formaliti sensitiviti sensibiliti triplicate "
    "formative formalize electriciti electrical hopeful goodness revival allowance inference airliner "
    "gyroscopic adjustable defensible irritant replacement adjustment dependent adoption homologou "
    "communism activate angulariti homologous effective bowdlerize probate rate cease controll roll "
    "dying lying tying news innings outings cannings howe proceed exceed succeed skies spied tried flies "
    "enjoy enjoyment spy fly try ties dies lies generously fully logically archaeology analogies "
    "generalizations agent agents configuration configured upgrading restarts maintenance silencing "
    "alerts notifications dashboards monitoring latency bly ied eed ing sses abli alli bli ogi "
    "happiness ability abilities national nationalism agreement agreements operational 2048 p95 "
    "aaaa yyyy syzygy toy trouble oats trees ivy troubles private oaten orrery".split()))

TOKENIZE_13A = [
    "Hello, world!", "AT&amp;T &lt;b&gt;bold&lt;/b&gt; &quot;quoted&quot; &amp;lt;",
    "3.14 and 1,000.5 and 5-6 and a-b", "end. Start,middle", "(parens) [brackets] {braces} ~tilde`",
    "it's o'clock", "x-\ny", "a\nb", "<skipped>kept", "“smart” quotes — dash", "Ünïcödé… ellipsis",
    "  leading and trailing \u00a0", "e.g. U.S.A.", "1.5.2", ".5 ,5 5. 5,", "$100/hour @home #tag",
]

SQUAD = [
    ("The Cat!", "cat"), ("an apple", "apple"), ("thé a", "the"), ("éa", "a"), ("", ""), ("", "x"),
    ("a an the", ""), ("Hello\u00a0 world", "hello world"), ("ÀB", "àb"), ("under_score", "underscore"),
    ("“quoted”", "quoted"), ("a1 the2 an_", "1 2"), ("X\u2003Y", "x y"), ("The the THE", ""),
]

LABELS = ["billing", "bug", "feature", "how-to"]
CLASSIFICATION = {
    "truth": ["billing", "bug", "bug", "feature", "how-to", "billing", "how-to", "bug", "feature", "billing"],
    "predicted": ["billing", "bug", "feature", "feature", "invalid", "bug", "how-to", "invalid", "feature",
                  "billing"],
}


def support_words():
    """Every distinct rouge token of the bundled support examples (real text)."""
    import glob
    import os
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "support")
    words = set()
    for path in sorted(glob.glob(os.path.join(root, "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            words.update(rouge_tokenize(f.read(), False))
    return sorted(words - set(STEM_WORDS))


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/eval/refs.json"
    n = len(REFERENCES)
    systems = {}
    for name, preds in SYSTEMS.items():
        assert len(preds) == n
        per = []
        for p, r in zip(preds, REFERENCES):
            row = {"exact_match": exact_match(p, r), "exact_match_normalized": exact_match_normalized(p, r),
                   "token_f1": token_f1(p, r)}
            row.update(rouge(p, r, False))
            row.update({k + "_stem": v for k, v in rouge(p, r, True).items()})
            row["bleu_stats"] = bleu_stats(p, r)
            row["chrf_stats"] = chrf_stats(p, r)
            per.append(row)
        bleu = bleu_from_stats(sum_stats([row["bleu_stats"] for row in per]))
        chrf = chrf_from_stats(sum_stats([row["chrf_stats"] for row in per]))
        sysd = {"predictions": preds, "per_example": per, "bleu": bleu, "chrf": chrf}
        # Cross-check with nltk's corpus_bleu on the same 13a tokens, over the
        # segments where the definitions coincide: nltk counts a denominator
        # of 1 for an order a segment is too short for, sacreBLEU 0.
        keep = [i for i in range(n) if len(tokenize_13a(preds[i].rstrip()).split()) >= 4]
        stats = sum_stats([per[i]["bleu_stats"] for i in keep])
        if keep and all(c > 0 for c in stats[2:6]):
            hyps = [tokenize_13a(preds[i].rstrip()).split() for i in keep]
            refs = [[tokenize_13a(REFERENCES[i].rstrip()).split()] for i in keep]
            nb = 100 * nltk_corpus_bleu(refs, hyps)
            assert abs(nb - bleu_from_stats(stats)) < 1e-9, (name, nb, bleu_from_stats(stats))
            sysd["bleu_nltk_crosscheck"] = {"segments": keep, "bleu": nb}
        for k in ("exact_match", "exact_match_normalized", "token_f1", "rouge1", "rouge2", "rougeL"):
            sysd[k] = float(np.mean([row[k] for row in per]))
        systems[name] = sysd

    # Bootstrap over the tuned and base systems (B = 200, seed 7).
    rs = resamples(n, 200, 7)
    mean_fn = lambda name, key: (lambda idx: float(np.mean([systems[name]["per_example"][i][key] for i in idx])))
    bleu_fn = lambda name: (lambda idx: bleu_from_stats(sum_stats([systems[name]["per_example"][i]["bleu_stats"]
                                                                    for i in idx])))
    chrf_fn = lambda name: (lambda idx: chrf_from_stats(sum_stats([systems[name]["per_example"][i]["chrf_stats"]
                                                                    for i in idx])))
    bootstrap = {
        "n_resamples": 200, "seed": 7, "first_resample": rs[0],
        "token_f1_tuned": interval(mean_fn("tuned", "token_f1"), n, rs),
        "bleu_tuned": interval(bleu_fn("tuned"), n, rs),
        "chrf_base": interval(chrf_fn("base"), n, rs),
        "paired_token_f1": paired(mean_fn("base", "token_f1"), mean_fn("tuned", "token_f1"), n, rs),
        "paired_bleu": paired(bleu_fn("base"), bleu_fn("tuned"), n, rs),
        "paired_same": paired(mean_fn("tuned", "rougeL"), mean_fn("tuned", "rougeL"), n, rs),
    }

    truth, pred = CLASSIFICATION["truth"], CLASSIFICATION["predicted"]
    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=LABELS, zero_division=0)
    classification = {
        "labels": LABELS, "truth": truth, "predicted": pred,
        "accuracy": accuracy_score(truth, pred),
        "macro_f1": f1_score(truth, pred, labels=LABELS, average="macro", zero_division=0),
        "weighted_f1": f1_score(truth, pred, labels=LABELS, average="weighted", zero_division=0),
        "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist(),
        "confusion": confusion_matrix(truth, pred, labels=LABELS + ["invalid"]).tolist(),
    }

    refs = {
        "references": REFERENCES, "systems": systems, "bootstrap": bootstrap, "classification": classification,
        "porter": {w: STEMMER.stem(w) for w in STEM_WORDS + support_words()},
        "tokenize_13a": {s: tokenize_13a(s) for s in TOKENIZE_13A},
        "squad": [{"prediction": a, "reference": b, "normalized_prediction": squad_normalize(a),
                   "exact_match_normalized": exact_match_normalized(a, b), "token_f1": token_f1(a, b)}
                  for a, b in SQUAD],
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(refs, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

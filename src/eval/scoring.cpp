#include "eval/scoring.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "eval/bleu.h"
#include "eval/chrf.h"
#include "eval/exact_match.h"
#include "eval/rouge.h"

namespace loam {

namespace {

const std::vector<std::string>& known_groups() {
  static const std::vector<std::string> g = {"exact_match", "token_f1", "rouge",      "bleu",
                                             "chrf",        "classification", "perplexity", "refusal"};
  return g;
}

// One metric of one system: per-example scores and the aggregate over any
// multiset of examples (what the bootstrap resamples).
struct Series {
  std::string name;
  std::vector<double> per_example;
  MetricFn aggregate;
  size_t n = 0;
};

MetricFn mean_of(std::vector<double> v) {
  return [v = std::move(v)](const std::vector<size_t>& idx) {
    double s = 0;
    for (size_t i : idx) s += v[i];
    return idx.empty() ? 0.0 : s / static_cast<double>(idx.size());
  };
}

std::vector<Series> system_series(const EvalInputs& in, const SystemOutputs& sys, const ScoreOptions& o,
                                  const EvalScores& shared, SystemScores& out) {
  std::vector<Series> series;
  const size_t n = in.examples.size();
  auto add_mean = [&](const std::string& name, std::vector<double> v) {
    Series s{name, v, mean_of(v), v.size()};
    series.push_back(std::move(s));
  };
  auto per = [&](auto fn) {
    std::vector<double> v(n);
    for (size_t i = 0; i < n; i++) v[i] = fn(sys.predictions[i], in.examples[i].reference);
    return v;
  };
  if (score_has_group(o, "exact_match")) {
    add_mean("exact_match", per([](const std::string& p, const std::string& r) { return exact_match(p, r); }));
    add_mean("exact_match_normalized",
             per([](const std::string& p, const std::string& r) { return exact_match_normalized(p, r); }));
  }
  if (score_has_group(o, "token_f1"))
    add_mean("token_f1", per([](const std::string& p, const std::string& r) { return token_f1(p, r); }));
  if (score_has_group(o, "rouge")) {
    std::vector<double> r1(n), r2(n), rl(n);
    for (size_t i = 0; i < n; i++) {
      RougeScores r = rouge_score(sys.predictions[i], in.examples[i].reference, o.rouge_stemmer);
      r1[i] = r.rouge1, r2[i] = r.rouge2, rl[i] = r.rougeL;
    }
    add_mean("rouge1", r1);
    add_mean("rouge2", r2);
    add_mean("rougeL", rl);
  }
  if (score_has_group(o, "bleu")) {
    std::vector<BleuStats> st(n);
    std::vector<double> sentence(n);
    for (size_t i = 0; i < n; i++) {
      st[i] = bleu_segment_stats(sys.predictions[i], in.examples[i].reference);
      sentence[i] = bleu_from_stats(st[i]);
    }
    series.push_back({"bleu", sentence, [st](const std::vector<size_t>& idx) {
                        BleuStats t;
                        for (size_t i : idx) t += st[i];
                        return bleu_from_stats(t);
                      }, n});
  }
  if (score_has_group(o, "chrf")) {
    std::vector<ChrfStats> st(n);
    std::vector<double> sentence(n);
    for (size_t i = 0; i < n; i++) {
      st[i] = chrf_segment_stats(sys.predictions[i], in.examples[i].reference);
      sentence[i] = chrf_from_stats(st[i]);
    }
    series.push_back({"chrf", sentence, [st](const std::vector<size_t>& idx) {
                        ChrfStats t;
                        for (size_t i : idx) t += st[i];
                        return chrf_from_stats(t);
                      }, n});
  }
  if (score_has_group(o, "classification")) {
    out.predicted_labels.resize(n);
    std::vector<double> correct(n);
    for (size_t i = 0; i < n; i++) {
      out.predicted_labels[i] = label_match(sys.predictions[i], shared.labels);
      correct[i] = out.predicted_labels[i] == shared.true_labels[i] ? 1.0 : 0.0;
    }
    out.classification = classification_report(shared.true_labels, out.predicted_labels, shared.labels);
    auto report = [truth = shared.true_labels, pred = out.predicted_labels, labels = shared.labels](
                      const std::vector<size_t>& idx) { return classification_report(truth, pred, labels, &idx); };
    series.push_back({"accuracy", correct, [report](const std::vector<size_t>& idx) { return report(idx).accuracy; }, n});
    series.push_back({"macro_f1", {}, [report](const std::vector<size_t>& idx) { return report(idx).macro_f1; }, n});
    series.push_back({"weighted_f1", {}, [report](const std::vector<size_t>& idx) { return report(idx).weighted_f1; }, n});
  }
  if (score_has_group(o, "perplexity") && sys.nll.size() == n) {
    std::vector<double> ppl(n);
    for (size_t i = 0; i < n; i++)
      ppl[i] = sys.nll[i].n_tokens ? std::exp(sys.nll[i].nll_sum / static_cast<double>(sys.nll[i].n_tokens)) : 0.0;
    series.push_back({"perplexity", ppl, [nll = sys.nll](const std::vector<size_t>& idx) {
                        double s = 0;
                        int64_t t = 0;
                        for (size_t i : idx) s += nll[i].nll_sum, t += nll[i].n_tokens;
                        return t ? std::exp(s / static_cast<double>(t)) : 0.0;
                      }, n});
  }
  if (score_has_group(o, "refusal") && !sys.probe_answers.empty()) {
    std::vector<double> refused(sys.probe_answers.size());
    for (size_t i = 0; i < refused.size(); i++) {
      out.refusal_matches.push_back(refusal_match(sys.probe_answers[i], o.refusal));
      refused[i] = out.refusal_matches.back().empty() ? 0.0 : 1.0;
    }
    add_mean("refusal_rate", refused);
  }
  return series;
}

}  // namespace

void score_options_check(const ScoreOptions& o) {
  for (const std::string& g : o.metric_groups)
    if (std::find(known_groups().begin(), known_groups().end(), g) == known_groups().end())
      throw Error("--metrics", "unknown metric '" + g + "'",
                  "one of exact_match, token_f1, rouge, bleu, chrf, classification, perplexity, refusal");
}

bool score_has_group(const ScoreOptions& o, const std::string& group) {
  return std::find(o.metric_groups.begin(), o.metric_groups.end(), group) != o.metric_groups.end();
}

EvalScores eval_score(const EvalInputs& in, const ScoreOptions& o) {
  score_options_check(o);
  EvalScores scores;
  const size_t n = in.examples.size();
  if (score_has_group(o, "classification")) {
    scores.labels = o.labels;
    if (scores.labels.empty()) {
      std::set<std::string> seen;
      for (const EvalExample& e : in.examples) seen.insert(e.reference);
      scores.labels.assign(seen.begin(), seen.end());
    }
    for (const EvalExample& e : in.examples) {
      auto it = std::find(scores.labels.begin(), scores.labels.end(), e.reference);
      if (it == scores.labels.end())
        throw Error("line " + std::to_string(e.line), "reference label '" + e.reference + "' is not one of --labels");
      scores.true_labels.push_back(static_cast<int>(it - scores.labels.begin()));
    }
  }
  const auto resamples = bootstrap_resamples(n, o.bootstrap);
  const auto probe_resamples = bootstrap_resamples(in.probes.size(), o.bootstrap);
  std::vector<std::vector<Series>> all;
  for (const SystemOutputs& sys : in.systems) {
    if (sys.predictions.size() != n)
      throw Error(sys.name, std::to_string(sys.predictions.size()) + " predictions for " + std::to_string(n) + " examples");
    SystemScores ss;
    ss.name = sys.name;
    all.push_back(system_series(in, sys, o, scores, ss));
    for (const Series& s : all.back()) {
      const auto& rs = s.name == "refusal_rate" ? probe_resamples : resamples;
      ss.metrics.push_back({s.name, bootstrap_interval(s.aggregate, s.n, rs), s.n});
      if (!s.per_example.empty()) ss.per_example[s.name] = s.per_example;
    }
    scores.systems.push_back(std::move(ss));
  }
  for (size_t k = 1; k < all.size(); k++) {
    SystemComparison c{in.systems[k].name, in.systems[0].name, {}};
    for (const Series& s : all[k]) {
      auto base = std::find_if(all[0].begin(), all[0].end(), [&](const Series& b) { return b.name == s.name; });
      if (base == all[0].end() || base->n != s.n) continue;
      const auto& rs = s.name == "refusal_rate" ? probe_resamples : resamples;
      c.metrics.push_back({s.name, paired_bootstrap(base->aggregate, s.aggregate, s.n, rs)});
    }
    scores.comparisons.push_back(std::move(c));
  }
  for (const JudgeRun& j : in.judgments) {
    auto share = [&](int want) {
      std::vector<double> v;
      for (int x : j.outcome) v.push_back(x == want ? 1.0 : 0.0);
      return bootstrap_interval(mean_of(v), v.size(), resamples);
    };
    scores.judge.push_back({j.system, j.baseline, share(1), share(0), share(-1)});
  }
  for (const char* m : {"accuracy", "token_f1", "rougeL", "chrf", "exact_match", "perplexity"}) {
    if (!scores.systems.empty() && scores.systems[0].per_example.count(m)) {
      scores.primary_metric = m;
      break;
    }
  }
  return scores;
}

}  // namespace loam

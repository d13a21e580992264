#include "eval/checkpoint_eval.h"

#include <algorithm>

#include "core/error.h"

namespace loam {

using nlohmann::json;

namespace {

std::vector<std::string> task_groups(const std::string& task, bool probes) {
  std::vector<std::string> g = task == "classification"
                                   ? std::vector<std::string>{"classification", "perplexity"}
                                   : std::vector<std::string>{"exact_match", "token_f1", "rouge", "bleu", "chrf", "perplexity"};
  if (probes) g.push_back("refusal");
  return g;
}

std::vector<std::string> task_metrics(const std::string& task, bool probes) {
  std::vector<std::string> m = task == "classification"
                                   ? std::vector<std::string>{"accuracy", "macro_f1", "weighted_f1", "perplexity"}
                                   : std::vector<std::string>{"exact_match", "exact_match_normalized", "token_f1", "rouge1",
                                                              "rouge2", "rougeL", "bleu", "chrf", "perplexity"};
  if (probes) m.push_back("refusal_rate");
  return m;
}

}  // namespace

const std::vector<std::string>& eval_metric_names() {
  static const std::vector<std::string> names = {"exact_match", "exact_match_normalized", "token_f1", "rouge1",
                                                 "rouge2", "rougeL", "bleu", "chrf", "accuracy", "macro_f1",
                                                 "weighted_f1", "perplexity", "refusal_rate"};
  return names;
}

bool eval_metric_higher_is_better(const std::string& name) { return name != "perplexity"; }

void eval_metric_check(const std::string& name, const std::string& field) {
  const auto& n = eval_metric_names();
  if (std::find(n.begin(), n.end(), name) != n.end()) return;
  std::string all;
  for (const auto& x : n) all += (all.empty() ? "" : ", ") + x;
  throw Error(field, "unknown metric '" + name + "'", "one of " + all);
}

CheckpointScorer::CheckpointScorer(const Model& model, const ModelText& text, CheckpointEvalOptions o,
                                   const std::string& metric_field)
    : model_(model), text_(text), o_(std::move(o)), task_(eval_task_load(o_.data, o_.probes)) {
  metric_ = o_.metric.empty() ? (task_.task == "classification" ? "accuracy" : "rougeL") : o_.metric;
  eval_metric_check(metric_, metric_field);
  const auto have = task_metrics(task_.task, !task_.probes.empty());
  if (std::find(have.begin(), have.end(), metric_) == have.end())
    throw Error(metric_field, "metric '" + metric_ + "' does not apply to " + o_.data + " (" + task_.task + " data" +
                                  (task_.probes.empty() ? ", no out-of-domain prompts" : "") + ")",
                metric_ == "refusal_rate" ? "give out-of-domain prompts to score refusals"
                                          : "choose a metric of the task");
}

json CheckpointScorer::score(const LoraAdapter& adapter) const {
  EvalInputs in;
  in.task = task_.task;
  in.examples = task_.examples;
  in.probes = task_.probes;
  in.systems.push_back(eval_system_run(model_, text_, &adapter, task_, o_.decode, true, "checkpoint", nullptr));
  ScoreOptions so;
  so.metric_groups = task_groups(task_.task, !task_.probes.empty());
  so.bootstrap.n_resamples = 0;
  EvalScores s = eval_score(in, so);
  json out = json::object();
  for (const MetricValue& m : s.systems[0].metrics) out[m.name] = {{"value", m.value.value}, {"n", m.n}};
  return out;
}

bool CheckpointScorer::better(double a, double b) const {
  return eval_metric_higher_is_better(metric_) ? a > b : a < b;
}

}  // namespace loam

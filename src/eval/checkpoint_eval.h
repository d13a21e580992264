// Scoring a tuning run's checkpoints on a test file with `loam eval`'s
// machinery (eval_task_load, eval_system_run, eval_score): the test data is
// loaded once, and each adapter handed in is answered greedily and scored.
// The tuning job calls it from its checkpoint sink (jobs/sft_job.cpp), never
// from inside the training loop, and keeps the checkpoint whose selected
// metric is best.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/eval_run.h"

namespace loam {

// The metric names eval_score reports (scoring.h), each once.
const std::vector<std::string>& eval_metric_names();
// perplexity: lower is better; every other metric (refusal_rate too: a tuned
// model should decline prompts outside its task) higher.
bool eval_metric_higher_is_better(const std::string& name);
// Throws Error naming `field` when `name` is not one of eval_metric_names().
void eval_metric_check(const std::string& name, const std::string& field);

struct CheckpointEvalOptions {
  std::string data;     // test file (any SFT or classification format)
  std::string probes;   // out-of-domain prompts ("" = none; refusal_rate needs them)
  std::string metric;   // picks the best checkpoint; "" = rougeL (sft) or accuracy (classification)
  DecodeSettings decode;
};

class CheckpointScorer {
 public:
  // Loads the test data; throws Error naming the file and line on bad data,
  // and naming `metric_field` when the metric does not apply to its task.
  CheckpointScorer(const Model& model, const ModelText& text, CheckpointEvalOptions o,
                   const std::string& metric_field);
  // Every metric of the task for the base model plus `adapter`:
  // {name: {"value", "n"}}.
  nlohmann::json score(const LoraAdapter& adapter) const;
  const std::string& metric() const { return metric_; }
  bool better(double a, double b) const;  // a beats b on the selected metric
  const std::string& data() const { return o_.data; }

 private:
  const Model& model_;
  const ModelText& text_;
  CheckpointEvalOptions o_;
  EvalTask task_;
  std::string metric_;
};

}  // namespace loam

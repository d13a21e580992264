// Scoring an evaluation: every requested metric for every system, with its
// bootstrap interval, the paired comparison of each system against the first
// (the baseline), and per-example scores.
//
// Metric names (results.json, --output json): exact_match,
// exact_match_normalized, token_f1, rouge1, rouge2, rougeL, bleu, chrf,
// accuracy, macro_f1, weighted_f1, perplexity, refusal_rate. --metrics groups
// them: exact_match (both exact-match scores), token_f1, rouge (the three),
// bleu, chrf, classification (accuracy, macro_f1, weighted_f1), perplexity,
// refusal (refusal_rate).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eval/bootstrap.h"
#include "eval/classification.h"
#include "eval/refusal.h"

namespace loam {

struct NllStats {  // teacher-forced loss of one reference output
  double nll_sum = 0;
  int64_t n_tokens = 0;
};

struct ScoreOptions {
  std::vector<std::string> metric_groups;  // see above; validated by score_options_check
  bool rouge_stemmer = false;              // Porter-stem ROUGE tokens (rouge-score's use_stemmer)
  std::vector<std::string> labels;         // classification labels; empty = the references' labels, sorted
  RefusalRule refusal;
  BootstrapOptions bootstrap;
};

// Throws Error naming --metrics on an unknown group.
void score_options_check(const ScoreOptions& o);
bool score_has_group(const ScoreOptions& o, const std::string& group);

struct EvalExample {
  std::string prompt;     // as shown to people (the last user turn, or the whole chat)
  std::string reference;  // expected output (or label)
  size_t line = 0;        // in the data file
};

struct SystemOutputs {
  std::string name;
  std::vector<std::string> predictions;  // one per example
  std::vector<NllStats> nll;             // one per example, or empty (no perplexity)
  std::vector<std::string> probe_answers;  // one per probe, or empty
};

struct JudgeRun {  // --judge: one system judged against the baseline, both orders
  std::string system, baseline;
  std::vector<std::string> reply_baseline_first, reply_system_first;  // raw judge replies per example
  std::vector<int> outcome;  // per example: +1 system wins, 0 tie, -1 loss (see judge.h)
  size_t n_no_verdict = 0;   // replies without a verdict (counted as ties)
};

struct EvalInputs {
  std::string task;                    // "sft" or "classification" (model mode); "" for predictions
  std::vector<EvalExample> examples;
  std::vector<std::string> probes;     // out-of-domain prompts
  std::vector<SystemOutputs> systems;  // systems[0] is the baseline of comparisons
  std::string judge_model;             // "" = no pairwise judging
  std::vector<JudgeRun> judgments;
};

struct MetricValue {
  std::string name;
  Interval value;
  size_t n = 0;  // examples (or probes) it is computed over
};

struct SystemScores {
  std::string name;
  std::vector<MetricValue> metrics;
  std::map<std::string, std::vector<double>> per_example;  // metric -> score per example
  std::optional<ClassificationReport> classification;
  std::vector<int> predicted_labels;    // classification: label index or kInvalidLabel
  std::vector<std::string> refusal_matches;  // per probe: the phrase, "" when it answered
};

struct MetricComparison {
  std::string name;
  PairedResult result;
};

struct SystemComparison {
  std::string system, baseline;
  std::vector<MetricComparison> metrics;
};

struct JudgeScores {
  std::string system, baseline;
  Interval win_rate, tie_rate, loss_rate;  // shares of examples, with bootstrap intervals
};

struct EvalScores {
  std::vector<std::string> labels;  // classification
  std::vector<int> true_labels;
  std::vector<SystemScores> systems;
  std::vector<SystemComparison> comparisons;  // systems[i>0] − systems[0]
  std::vector<JudgeScores> judge;
  std::string primary_metric;  // per-example metric used to rank wins/regressions
};

// Throws Error when a reference is not among --labels.
EvalScores eval_score(const EvalInputs& in, const ScoreOptions& o);

}  // namespace loam

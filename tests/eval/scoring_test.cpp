// eval_score (aggregation, comparisons, classification labels), the refusal
// rule, predictions files and the report's escaping, on small hand-made
// inputs whose answers are worked out in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "core/error.h"
#include "eval/eval_run.h"
#include "eval/refusal.h"
#include "eval/report_html.h"
#include "eval/scoring.h"

namespace loam {
namespace {

const MetricValue* metric(const SystemScores& s, const std::string& name) {
  for (const MetricValue& m : s.metrics)
    if (m.name == name) return &m;
  return nullptr;
}

EvalInputs two_systems() {
  EvalInputs in;
  in.examples = {{"q1", "Paris", 1}, {"q2", "the cat", 2}, {"q3", "blue", 3}};
  in.systems = {{"base", {"London", "a cat", "red"}, {}, {}}, {"tuned", {"Paris", "the cat", "blue"}, {}, {}}};
  return in;
}

TEST(Scoring, MeansIntervalsAndComparisons) {
  ScoreOptions o;
  o.metric_groups = {"exact_match", "token_f1"};
  o.bootstrap.n_resamples = 300;
  EvalScores s = eval_score(two_systems(), o);
  ASSERT_EQ(s.systems.size(), 2u);
  // base: only "a cat" vs "the cat" matches after SQuAD normalization.
  EXPECT_DOUBLE_EQ(metric(s.systems[0], "exact_match_normalized")->value.value, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(metric(s.systems[1], "exact_match")->value.value, 1.0);
  const Interval& iv = metric(s.systems[0], "token_f1")->value;
  EXPECT_LE(iv.low, iv.value);
  EXPECT_GE(iv.high, iv.value);
  EXPECT_LT(iv.low, iv.high);  // resampling 3 examples of scores {0, 1, 0} moves the mean
  ASSERT_EQ(s.comparisons.size(), 1u);
  EXPECT_EQ(s.comparisons[0].system, "tuned");
  EXPECT_EQ(s.comparisons[0].metrics.size(), 3u);
  EXPECT_NEAR(s.comparisons[0].metrics[0].result.delta.value, 1.0, 1e-12);  // exact_match 0 -> 1
  EXPECT_EQ(s.primary_metric, "token_f1");
  EXPECT_EQ(s.systems[1].per_example.at("token_f1"), (std::vector<double>{1, 1, 1}));
}

TEST(Scoring, PerplexityPoolsTokensAcrossExamples) {
  EvalInputs in = two_systems();
  in.systems.resize(1);
  in.systems[0].nll = {{2.0, 1}, {3.0, 3}, {1.0, 4}};
  ScoreOptions o;
  o.metric_groups = {"perplexity"};
  o.bootstrap.n_resamples = 0;
  EvalScores s = eval_score(in, o);
  // exp(total NLL / total tokens) = exp(6 / 8), not the mean of exp(2), exp(1), exp(0.25).
  EXPECT_NEAR(metric(s.systems[0], "perplexity")->value.value, std::exp(6.0 / 8.0), 1e-12);
}

TEST(Scoring, ClassificationLabelsAndUnknownReference) {
  EvalInputs in;
  in.examples = {{"t1", "bug", 1}, {"t2", "billing", 2}, {"t3", "bug", 3}};
  in.systems = {{"m", {"Bug.", "refund please", "billing"}, {}, {}}};
  ScoreOptions o;
  o.metric_groups = {"classification"};
  o.bootstrap.n_resamples = 0;
  EvalScores s = eval_score(in, o);
  EXPECT_EQ(s.labels, (std::vector<std::string>{"billing", "bug"}));  // from the references, sorted
  EXPECT_EQ(s.systems[0].predicted_labels, (std::vector<int>{1, kInvalidLabel, 0}));
  EXPECT_NEAR(metric(s.systems[0], "accuracy")->value.value, 1.0 / 3.0, 1e-12);
  EXPECT_EQ(s.systems[0].classification->n_invalid, 1);
  o.labels = {"bug", "feature"};
  EXPECT_THROW(eval_score(in, o), Error);  // "billing" is not among --labels
}

TEST(Scoring, UnknownMetricGroupIsAnError) {
  ScoreOptions o;
  o.metric_groups = {"bleu", "meteor"};
  EXPECT_THROW(score_options_check(o), Error);
}

TEST(Refusal, DefaultPhrasesAndFolding) {
  RefusalRule rule;
  EXPECT_EQ(refusal_match("Sorry, I can only help with questions about Beacon.", rule), "i can only help with");
  EXPECT_NE(refusal_match("I\u2019m  unable to\nanswer that", rule), "");  // typographic apostrophe, whitespace
  EXPECT_EQ(refusal_match("Run sudo dnf upgrade beacon-agent.", rule), "");
  RefusalRule custom;
  custom.phrases = {"Not My Department"};
  EXPECT_EQ(refusal_match("that is not my   department", custom), "Not My Department");
}

TEST(Predictions, SystemsMustShareReferences) {
  const std::string path = testing::TempDir() + "/preds_" + std::to_string(getpid()) + ".jsonl";
  {
    std::ofstream f(path);
    f << R"({"model":"a","prediction":"x","reference":"r1"})" << "\n"
      << R"({"model":"b","prediction":"y","reference":"r1"})" << "\n"
      << R"({"model":"a","prediction":"x","reference":"r2"})" << "\n"
      << R"({"model":"b","prediction":"y","reference":"other"})" << "\n";
  }
  try {
    eval_read_predictions(path);
    FAIL() << "mismatched references accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":4: field reference"), std::string::npos) << e.what();
  }
  {
    std::ofstream f(path);
    f << R"({"prediction":"x","reference":"r1"})" << "\n\n" << R"({"prediction":"","reference":"r2","prompt":"p"})" << "\n";
  }
  EvalInputs in = eval_read_predictions(path);
  ASSERT_EQ(in.systems.size(), 1u);
  EXPECT_EQ(in.systems[0].name, "predictions");
  EXPECT_EQ(in.examples.size(), 2u);
  EXPECT_EQ(in.examples[1].line, 3u);
  std::remove(path.c_str());
}

TEST(Report, EscapesEverythingFromData) {
  EvalInputs in = two_systems();
  in.examples[0].prompt = "<img src=x onerror=alert(1)>";
  in.systems[1].name = "tuned\"><script>";
  in.systems[1].predictions[2] = "a & b </td>";
  ScoreOptions o;
  o.metric_groups = {"token_f1"};
  o.bootstrap.n_resamples = 10;
  EvalScores s = eval_score(in, o);
  const std::string html = eval_report_html(in, s, {{"data", "<x>.jsonl"}});
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("</td>\""), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("a &amp; b &lt;/td&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;x&gt;.jsonl"), std::string::npos);
  EXPECT_NE(html.find("id=\"wins\""), std::string::npos);
}

}  // namespace
}  // namespace loam

// Every metric against tests/data/eval/refs.json, made by
// tools/make_eval_refs.py from nltk, scikit-learn and line-by-line
// reimplementations of sacreBLEU and rouge-score (see that script).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "eval/bleu.h"
#include "eval/bootstrap.h"
#include "eval/chrf.h"
#include "eval/classification.h"
#include "eval/exact_match.h"
#include "eval/porter_stemmer.h"
#include "eval/rouge.h"
#include "eval/text_normalize.h"
#include "eval/tokenizer_13a.h"

namespace loam {
namespace {

using nlohmann::json;
constexpr double kTol = 1e-6;

const json& refs() {
  static const json j = [] {
    std::ifstream in(std::string(LOAM_TEST_DATA) + "/eval/refs.json");
    return json::parse(in);
  }();
  return j;
}

std::vector<std::string> strings(const json& a) { return a.get<std::vector<std::string>>(); }

TEST(PorterStemmer, MatchesNltk) {
  int n = 0;
  for (const auto& [word, stem] : refs()["porter"].items()) {
    EXPECT_EQ(porter_stem(word), stem.get<std::string>()) << word;
    n++;
  }
  EXPECT_GT(n, 1000);  // the curated words plus the support examples' vocabulary
}

TEST(Tokenizer13a, MatchesSacrebleu) {
  for (const auto& [line, tokens] : refs()["tokenize_13a"].items())
    EXPECT_EQ(tokenize_13a(line), tokens.get<std::string>()) << line;
}

TEST(Squad, NormalizationExactMatchAndF1) {
  for (const json& c : refs()["squad"]) {
    const std::string p = c["prediction"], r = c["reference"];
    EXPECT_EQ(squad_normalize(p), c["normalized_prediction"].get<std::string>()) << p;
    EXPECT_EQ(exact_match_normalized(p, r), c["exact_match_normalized"].get<double>()) << p << " | " << r;
    EXPECT_NEAR(token_f1(p, r), c["token_f1"].get<double>(), kTol) << p << " | " << r;
  }
}

TEST(PerExample, AllTextMetricsMatch) {
  const auto references = strings(refs()["references"]);
  for (const auto& [name, sys] : refs()["systems"].items()) {
    const auto preds = strings(sys["predictions"]);
    ASSERT_EQ(preds.size(), references.size());
    for (size_t i = 0; i < preds.size(); i++) {
      const json& want = sys["per_example"][i];
      const std::string where = name + " #" + std::to_string(i);
      EXPECT_EQ(exact_match(preds[i], references[i]), want["exact_match"].get<double>()) << where;
      EXPECT_EQ(exact_match_normalized(preds[i], references[i]), want["exact_match_normalized"].get<double>()) << where;
      EXPECT_NEAR(token_f1(preds[i], references[i]), want["token_f1"].get<double>(), kTol) << where;
      RougeScores r = rouge_score(preds[i], references[i], false);
      EXPECT_NEAR(r.rouge1, want["rouge1"].get<double>(), kTol) << where;
      EXPECT_NEAR(r.rouge2, want["rouge2"].get<double>(), kTol) << where;
      EXPECT_NEAR(r.rougeL, want["rougeL"].get<double>(), kTol) << where;
      RougeScores s = rouge_score(preds[i], references[i], true);
      EXPECT_NEAR(s.rouge1, want["rouge1_stem"].get<double>(), kTol) << where;
      EXPECT_NEAR(s.rouge2, want["rouge2_stem"].get<double>(), kTol) << where;
      EXPECT_NEAR(s.rougeL, want["rougeL_stem"].get<double>(), kTol) << where;
      BleuStats b = bleu_segment_stats(preds[i], references[i]);
      std::vector<int64_t> bv = {b.sys_len, b.ref_len};
      bv.insert(bv.end(), b.correct.begin(), b.correct.end());
      bv.insert(bv.end(), b.total.begin(), b.total.end());
      EXPECT_EQ(bv, want["bleu_stats"].get<std::vector<int64_t>>()) << where;
      ChrfStats c = chrf_segment_stats(preds[i], references[i]);
      EXPECT_EQ(std::vector<int64_t>(c.v.begin(), c.v.end()), want["chrf_stats"].get<std::vector<int64_t>>()) << where;
    }
  }
}

TEST(Corpus, BleuAndChrfAreCorpusLevel) {
  const auto references = strings(refs()["references"]);
  std::vector<std::string_view> rv(references.begin(), references.end());
  for (const auto& [name, sys] : refs()["systems"].items()) {
    const auto preds = strings(sys["predictions"]);
    std::vector<std::string_view> pv(preds.begin(), preds.end());
    EXPECT_NEAR(corpus_bleu(pv, rv), sys["bleu"].get<double>(), kTol) << name;
    EXPECT_NEAR(corpus_chrf(pv, rv), sys["chrf"].get<double>(), kTol) << name;
  }
}

TEST(Classification, MatchesSklearn) {
  const json& c = refs()["classification"];
  const auto labels = strings(c["labels"]);
  std::vector<int> truth, pred;
  for (const auto& t : strings(c["truth"])) truth.push_back(label_match(t, labels));
  for (const auto& p : strings(c["predicted"])) pred.push_back(label_match(p, labels));
  ClassificationReport r = classification_report(truth, pred, labels);
  EXPECT_NEAR(r.accuracy, c["accuracy"].get<double>(), kTol);
  EXPECT_NEAR(r.macro_f1, c["macro_f1"].get<double>(), kTol);
  EXPECT_NEAR(r.weighted_f1, c["weighted_f1"].get<double>(), kTol);
  for (size_t k = 0; k < labels.size(); k++) {
    EXPECT_NEAR(r.classes[k].precision, c["precision"][k].get<double>(), kTol) << labels[k];
    EXPECT_NEAR(r.classes[k].recall, c["recall"][k].get<double>(), kTol) << labels[k];
    EXPECT_NEAR(r.classes[k].f1, c["f1"][k].get<double>(), kTol) << labels[k];
    EXPECT_EQ(r.classes[k].support, c["support"][k].get<int64_t>()) << labels[k];
    for (size_t q = 0; q <= labels.size(); q++) EXPECT_EQ(r.confusion[k][q], c["confusion"][k][q].get<int64_t>());
  }
  EXPECT_EQ(r.n_invalid, 2);
}

TEST(Classification, LabelNormalization) {
  const std::vector<std::string> labels = {"billing", "how-to"};
  EXPECT_EQ(label_match(" Billing.\n", labels), 0);
  EXPECT_EQ(label_match("\"HOW-TO\"", labels), 1);
  EXPECT_EQ(label_match("billing\nbecause the invoice", labels), 0);
  EXPECT_EQ(label_match("it is billing", labels), kInvalidLabel);
  EXPECT_EQ(label_match("", labels), kInvalidLabel);
}

TEST(Bootstrap, ResamplesIntervalsAndPairedTest) {
  const json& b = refs()["bootstrap"];
  const auto references = strings(refs()["references"]);
  const size_t n = references.size();
  BootstrapOptions o{b["n_resamples"].get<int>(), b["seed"].get<uint64_t>()};
  auto rs = bootstrap_resamples(n, o);
  ASSERT_EQ(rs.size(), 200u);
  EXPECT_EQ(rs[0], b["first_resample"].get<std::vector<size_t>>());

  auto per = [&](const char* sys, const char* key) {
    std::vector<double> v;
    for (const json& e : refs()["systems"][sys]["per_example"]) v.push_back(e[key].get<double>());
    return v;
  };
  auto mean_fn = [&](std::vector<double> v) {
    return MetricFn([v](const std::vector<size_t>& idx) {
      double s = 0;
      for (size_t i : idx) s += v[i];
      return s / static_cast<double>(idx.size());
    });
  };
  auto corpus_fn = [&](const char* sys, bool bleu) {
    const auto preds = strings(refs()["systems"][sys]["predictions"]);
    std::vector<BleuStats> bs;
    std::vector<ChrfStats> cs;
    for (size_t i = 0; i < n; i++) {
      bs.push_back(bleu_segment_stats(preds[i], references[i]));
      cs.push_back(chrf_segment_stats(preds[i], references[i]));
    }
    return MetricFn([=](const std::vector<size_t>& idx) {
      BleuStats tb;
      ChrfStats tc;
      for (size_t i : idx) tb += bs[i], tc += cs[i];
      return bleu ? bleu_from_stats(tb) : chrf_from_stats(tc);
    });
  };
  auto expect_interval = [](const Interval& got, const json& want, const char* what) {
    EXPECT_NEAR(got.value, want["value"].get<double>(), kTol) << what;
    EXPECT_NEAR(got.low, want["low"].get<double>(), kTol) << what;
    EXPECT_NEAR(got.high, want["high"].get<double>(), kTol) << what;
  };
  expect_interval(bootstrap_interval(mean_fn(per("tuned", "token_f1")), n, rs), b["token_f1_tuned"], "token_f1");
  expect_interval(bootstrap_interval(corpus_fn("tuned", true), n, rs), b["bleu_tuned"], "bleu");
  expect_interval(bootstrap_interval(corpus_fn("base", false), n, rs), b["chrf_base"], "chrf");

  auto expect_paired = [](const PairedResult& got, const json& want, const char* what) {
    EXPECT_NEAR(got.delta.value, want["delta"].get<double>(), kTol) << what;
    EXPECT_NEAR(got.delta.low, want["low"].get<double>(), kTol) << what;
    EXPECT_NEAR(got.delta.high, want["high"].get<double>(), kTol) << what;
    EXPECT_NEAR(got.p_value, want["p_value"].get<double>(), kTol) << what;
  };
  expect_paired(paired_bootstrap(mean_fn(per("base", "token_f1")), mean_fn(per("tuned", "token_f1")), n, rs),
                b["paired_token_f1"], "paired token_f1");
  expect_paired(paired_bootstrap(corpus_fn("base", true), corpus_fn("tuned", true), n, rs), b["paired_bleu"],
                "paired bleu");
  PairedResult same = paired_bootstrap(mean_fn(per("tuned", "rougeL")), mean_fn(per("tuned", "rougeL")), n, rs);
  EXPECT_EQ(same.p_value, 1.0);
  EXPECT_LT(b["paired_token_f1"]["p_value"].get<double>(), 0.05);  // the data make tuned clearly better
}

TEST(TextNormalize, PythonWhitespaceAndLowercase) {
  EXPECT_EQ(text_strip("\u00a0\r\n x \u3000"), "x");
  EXPECT_EQ(text_split("a\u2003b\u200bc").size(), 2u);  // U+200B is not whitespace
  EXPECT_EQ(text_lower("\u0130"), "i\u0307");
  EXPECT_EQ(text_lower("ÀÉ"), "àé");
}

}  // namespace
}  // namespace loam

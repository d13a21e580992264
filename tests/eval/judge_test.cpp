// The judge's verdict parsing and prompt, and how both orders combine.
#include <gtest/gtest.h>

#include "eval/judge.h"
#include "eval/scoring.h"

namespace loam {
namespace {

TEST(Judge, ParsesVerdicts) {
  EXPECT_EQ(judge_parse("A"), JudgeVerdict::A);
  EXPECT_EQ(judge_parse(" **B**\nbecause it is specific"), JudgeVerdict::B);
  EXPECT_EQ(judge_parse("Answer A."), JudgeVerdict::A);
  EXPECT_EQ(judge_parse("Verdict: tie"), JudgeVerdict::Tie);
  EXPECT_EQ(judge_parse("\"b\""), JudgeVerdict::B);
  EXPECT_EQ(judge_parse("Both are fine"), JudgeVerdict::None);  // 'B' followed by a letter is a word
  EXPECT_EQ(judge_parse("Absolutely A"), JudgeVerdict::None);
  EXPECT_EQ(judge_parse(""), JudgeVerdict::None);
}

TEST(Judge, PromptCarriesBothAnswersInOrder) {
  const std::string p = judge_prompt("Q?", "ref", "first answer", "second answer");
  const size_t a = p.find("Answer A:\nfirst answer"), b = p.find("Answer B:\nsecond answer");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_NE(p.find("Reference answer:\nref"), std::string::npos);
  EXPECT_NE(p.find("A, B, or TIE"), std::string::npos);
}

TEST(Judge, WinRatesWithIntervals) {
  EvalInputs in;
  in.examples = {{"q1", "r", 1}, {"q2", "r", 2}, {"q3", "r", 3}, {"q4", "r", 4}};
  in.systems = {{"base", {"a", "b", "c", "d"}, {}, {}}, {"tuned", {"a", "b", "c", "d"}, {}, {}}};
  in.judge_model = "judge";
  in.judgments.push_back({"tuned", "base", {"B", "A", "tie", "?"}, {"A", "A", "tie", "?"}, {1, 0, 0, 0}, 2});
  ScoreOptions o;
  o.metric_groups = {"exact_match"};
  o.bootstrap.n_resamples = 200;
  EvalScores s = eval_score(in, o);
  ASSERT_EQ(s.judge.size(), 1u);
  EXPECT_DOUBLE_EQ(s.judge[0].win_rate.value, 0.25);
  EXPECT_DOUBLE_EQ(s.judge[0].tie_rate.value, 0.75);
  EXPECT_DOUBLE_EQ(s.judge[0].loss_rate.value, 0.0);
  EXPECT_LE(s.judge[0].win_rate.low, 0.25);
  EXPECT_GE(s.judge[0].win_rate.high, 0.25);
}

}  // namespace
}  // namespace loam

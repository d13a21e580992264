// InferTicket keeps a stream's tokens apart: each sampled token is one
// piece (its final text and its log-probability), however many pile up
// before the reader comes back.
#include "serve/infer_engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace loam {
namespace {

TokenLogprob lp_of(int32_t token, float logprob) {
  TokenLogprob lp;
  lp.token = token;
  lp.logprob = logprob;
  return lp;
}

TEST(InferTicket, PiecesStayOnePerTokenWhenTheReaderIsLate) {
  InferTicket t;
  // As the decoder calls it: a token's log-probability, then its text if any.
  t.push_logprobs(lp_of(5, -0.5f));
  t.push_text("Hel");
  t.push_logprobs(lp_of(6, -1.0f));  // text held back (a partial character)
  t.push_logprobs(lp_of(7, -1.5f));
  t.push_text("lo");
  t.push_text("!");  // a token streamed without log-probabilities
  std::vector<StreamPiece> got;
  EXPECT_FALSE(t.wait(std::chrono::milliseconds(0), got));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].text, "Hel");
  ASSERT_EQ(got[0].logprobs.size(), 1u);
  EXPECT_EQ(got[0].logprobs[0].token, 5);
  EXPECT_EQ(got[1].text, "");
  ASSERT_EQ(got[1].logprobs.size(), 1u);
  EXPECT_EQ(got[1].logprobs[0].token, 6);
  EXPECT_EQ(got[2].text, "lo");
  ASSERT_EQ(got[2].logprobs.size(), 1u);
  EXPECT_EQ(got[2].logprobs[0].token, 7);
  EXPECT_EQ(got[3].text, "!");
  EXPECT_TRUE(got[3].logprobs.empty());

  // Taken pieces are gone; text after a taken piece opens a new one.
  got.clear();
  t.push_text("a");
  t.push_text("b");
  EXPECT_FALSE(t.wait(std::chrono::milliseconds(0), got));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].text, "a");
  EXPECT_EQ(got[1].text, "b");
}

TEST(InferTicket, WholePiecesKeepTheirBoundariesAndTheEndFollowsThem) {
  InferTicket t;
  t.push_piece({"x", {lp_of(1, -0.1f)}});
  t.push_piece({"", {lp_of(2, -0.2f)}});
  GenerateResult r;
  r.text = "x";
  t.finish(r);
  std::vector<StreamPiece> got;
  EXPECT_TRUE(t.wait(std::chrono::milliseconds(0), got));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].text, "x");
  EXPECT_EQ(got[1].logprobs[0].token, 2);
  EXPECT_EQ(t.result().text, "x");
}

}  // namespace
}  // namespace loam

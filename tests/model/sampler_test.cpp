// Sampling and streaming: greedy, the filters in Hugging Face's order, seeded
// reproducibility, UTF-8-safe streaming and stop sequences.
#include "model/sampler.h"

#include <gtest/gtest.h>

#include <map>

#include "model/generate.h"

namespace loam {
namespace {

TEST(Sampler, GreedyTakesArgmax) {
  Sampler s(SamplingParams{});
  std::vector<float> z = {0.1f, 2.0f, -1.0f, 1.9f};
  EXPECT_EQ(s.sample(z.data(), 4, {}), 1);
}

TEST(Sampler, RepetitionPenaltyFollowsCtrl) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  Sampler s(p);
  std::vector<float> z = {0.1f, 2.0f, -1.0f, 1.5f};
  // token 1 seen: 2.0 / 2 = 1.0 < 1.5, so greedy moves to token 3.
  EXPECT_EQ(s.sample(z.data(), 4, {1}), 3);
  EXPECT_FLOAT_EQ(z[1], 1.0f);
  std::vector<float> n = {-1.0f, -0.5f};
  Sampler s2(p);
  s2.sample(n.data(), 2, {1});
  EXPECT_FLOAT_EQ(n[1], -1.0f);  // negative logits are multiplied
}

std::map<int32_t, int> histogram(SamplingParams p, std::vector<float> z, int n) {
  Sampler s(p);
  std::map<int32_t, int> h;
  for (int i = 0; i < n; i++) {
    auto zz = z;
    h[s.sample(zz.data(), static_cast<int64_t>(zz.size()), {})]++;
  }
  return h;
}

TEST(Sampler, TopKKeepsOnlyKMostLikely) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 2;
  auto h = histogram(p, {3.0f, 2.9f, 2.8f, 0.0f}, 2000);
  EXPECT_EQ(h.count(2) + h.count(3), 0u);
  EXPECT_GT(h[0], 0);
  EXPECT_GT(h[1], 0);
}

TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 0.5f;  // probabilities ~0.665, 0.245, 0.09: the first alone reaches 0.5
  auto h = histogram(p, {2.0f, 1.0f, 0.0f}, 500);
  EXPECT_EQ(h[0], 500);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.min_p = 0.3f;  // keeps p >= 0.3 * p_max: exp(-1) = 0.37 stays, exp(-2) = 0.14 goes
  auto h = histogram(p, {2.0f, 1.0f, 0.0f}, 2000);
  EXPECT_EQ(h.count(2), 0u);
  EXPECT_GT(h[1], 0);
}

TEST(Sampler, TemperatureSamplingMatchesSoftmaxAndSeedReproduces) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 42;
  auto a = histogram(p, {1.0f, 0.0f}, 20000), b = histogram(p, {1.0f, 0.0f}, 20000);
  EXPECT_EQ(a, b);
  const double frac = a[0] / 20000.0, want = std::exp(1.0) / (std::exp(1.0) + 1.0);
  EXPECT_NEAR(frac, want, 0.015);
}

TEST(Utf8, CompletePrefixNeverSplitsACharacter) {
  const std::string euro = "a\xE2\x82\xAC";  // a€
  EXPECT_EQ(utf8_complete_prefix(euro), 4u);
  EXPECT_EQ(utf8_complete_prefix(euro.substr(0, 3)), 1u);
  EXPECT_EQ(utf8_complete_prefix(euro.substr(0, 2)), 1u);
  const std::string emoji = "\xF0\x9F\x98\x80";  // 😀
  EXPECT_EQ(utf8_complete_prefix(emoji.substr(0, 3)), 0u);
  EXPECT_EQ(utf8_complete_prefix(emoji), 4u);
  EXPECT_EQ(utf8_complete_prefix("plain"), 5u);
}

}  // namespace
}  // namespace loam

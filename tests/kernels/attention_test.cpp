#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/gradcheck.h"

namespace loam {
namespace {

// Plain double-precision attention for one query row range.
std::vector<double> naive_attention(const std::vector<float>& q, const std::vector<float>& k,
                                    const std::vector<float>& v, const std::vector<int32_t>& b,
                                    const std::vector<int32_t>& e, int64_t n_q, const AttentionDims& d) {
  const int64_t hd = d.head_dim, group = d.n_heads / d.n_kv_heads;
  std::vector<double> out(n_q * d.n_heads * hd, 0.0);
  for (int64_t i = 0; i < n_q; i++)
    for (int64_t h = 0; h < d.n_heads; h++) {
      const int64_t kh = h / group;
      std::vector<double> s;
      double mx = -1e300;
      for (int64_t j = b[i]; j < e[i]; j++) {
        double dot = 0;
        for (int64_t x = 0; x < hd; x++)
          dot += double(q[(i * d.n_heads + h) * hd + x]) * k[(j * d.n_kv_heads + kh) * hd + x];
        dot *= d.scale;
        if (d.softcap > 0) dot = d.softcap * std::tanh(dot / d.softcap);
        s.push_back(dot);
        mx = std::max(mx, dot);
      }
      double sum = 0;
      for (double& x : s) sum += x = std::exp(x - mx);
      for (int64_t j = b[i]; j < e[i]; j++)
        for (int64_t x = 0; x < hd; x++)
          out[(i * d.n_heads + h) * hd + x] += s[j - b[i]] / sum * v[(j * d.n_kv_heads + kh) * hd + x];
    }
  return out;
}

struct Case {
  int64_t n_q, n_heads, n_kv, hd;
  float softcap;
  int window;
};

class AttentionTest : public ::testing::TestWithParam<Case> {};

TEST_P(AttentionTest, ForwardMatchesNaiveAndBackwardMatchesFiniteDifferences) {
  const Case cs = GetParam();
  AttentionDims d{cs.n_heads, cs.n_kv, cs.hd, 1.0f / std::sqrt(float(cs.hd)), cs.softcap};
  const int64_t nk = cs.n_q;
  auto q = test::random_vec(cs.n_q * cs.n_heads * cs.hd, 1);
  auto k = test::random_vec(nk * cs.n_kv * cs.hd, 2);
  auto v = test::random_vec(nk * cs.n_kv * cs.hd, 3);
  std::vector<int32_t> b(cs.n_q), e(cs.n_q);
  for (int64_t i = 0; i < cs.n_q; i++) {
    e[i] = int32_t(i + 1);
    b[i] = cs.window > 0 ? std::max<int32_t>(0, e[i] - cs.window) : 0;
  }
  std::vector<float> out(q.size()), lse(cs.n_q * cs.n_heads);
  attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), b.data(), e.data(), cs.n_q, d);
  auto ref = naive_attention(q, k, v, b, e, cs.n_q, d);
  for (size_t i = 0; i < out.size(); i++) ASSERT_NEAR(out[i], ref[i], 1e-5) << i;

  auto r = test::random_vec(out.size(), 4);
  std::vector<float> dq(q.size()), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), out.data(), lse.data(), q.data(), k.data(),
                     v.data(), b.data(), e.data(), cs.n_q, nk, d);
  auto loss_of = [&](const std::vector<float>& qq, const std::vector<float>& kk, const std::vector<float>& vv) {
    auto o = naive_attention(qq, kk, vv, b, e, cs.n_q, d);
    double s = 0;
    for (size_t i = 0; i < o.size(); i++) s += o[i] * r[i];
    return s;
  };
  auto dir = test::random_vec(q.size(), 5);
  double fq = test::fd_directional([&](const std::vector<float>& x) { return loss_of(x, k, v); }, q, dir, 1e-3f);
  EXPECT_NEAR(test::dot(dq, dir), fq, 2e-3 * std::max(1.0, std::fabs(fq)));
  auto dirk = test::random_vec(k.size(), 6);
  double fk = test::fd_directional([&](const std::vector<float>& x) { return loss_of(q, x, v); }, k, dirk, 1e-3f);
  EXPECT_NEAR(test::dot(dk, dirk), fk, 2e-3 * std::max(1.0, std::fabs(fk)));
  auto dirv = test::random_vec(v.size(), 7);
  double fv = test::fd_directional([&](const std::vector<float>& x) { return loss_of(q, k, x); }, v, dirv, 1e-3f);
  EXPECT_NEAR(test::dot(dv, dirv), fv, 2e-3 * std::max(1.0, std::fabs(fv)));
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTest,
                         ::testing::Values(Case{7, 4, 2, 16, 0.0f, 0}, Case{9, 4, 1, 32, 0.0f, 3},
                                           Case{6, 2, 2, 8, 5.0f, 0}, Case{5, 6, 3, 20, 0.0f, 0}));

// A serving batch: sequences in their own ranges of a shared KV pool, with
// unfilled gaps between them (rows reserved for tokens still to come), one
// decoding query each, and one sequence prefilling a chunk of 11 queries.
TEST(Attention, DecodeBatchOverASharedKvPoolMatchesNaive) {
  for (int64_t hd : {16, 64}) {
    AttentionDims d{6, 2, hd, 1.0f / std::sqrt(float(hd)), 0.0f};
    const int64_t n_k = 300;
    std::vector<int32_t> b, e;
    for (int s = 0; s < 9; s++) {  // sequence s: rows [30 s + 3, 30 s + 3 + len), len 1..17
      const int32_t begin = 30 * s + 3, len = 1 + (s * 7) % 17;
      b.push_back(begin);
      e.push_back(begin + len);
    }
    for (int32_t i = 0; i < 11; i++) {  // the prefill: rows [280, 291), causal
      b.push_back(280);
      e.push_back(281 + i);
    }
    const int64_t n_q = static_cast<int64_t>(b.size());
    auto q = test::random_vec(n_q * d.n_heads * hd, 11);
    auto k = test::random_vec(n_k * d.n_kv_heads * hd, 12);
    auto v = test::random_vec(n_k * d.n_kv_heads * hd, 13);
    std::vector<float> out(q.size()), lse(n_q * d.n_heads);
    attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), b.data(), e.data(), n_q, d);
    auto ref = naive_attention(q, k, v, b, e, n_q, d);
    for (size_t i = 0; i < out.size(); i++) ASSERT_NEAR(out[i], ref[i], 1e-5) << "hd " << hd << " at " << i;
  }
}

TEST(Attention, EmptyKeyRangeGivesZeros) {
  AttentionDims d{2, 1, 4, 0.5f, 0.0f};
  std::vector<float> q(8, 1.0f), k(4, 1.0f), v(4, 1.0f), out(8, 7.0f);
  int32_t b = 0, e = 0;
  attention_forward(out.data(), nullptr, q.data(), k.data(), v.data(), &b, &e, 1, d);
  for (float x : out) EXPECT_EQ(x, 0.0f);
}

}  // namespace
}  // namespace loam

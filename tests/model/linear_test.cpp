// The LoRA choke point with per-segment adapters against plain loops in
// double: forward (rows on no adapter get the base product exactly; B = 0
// gives the base exactly) and backward (dx, dA, dB per segment), for decode-
// sized and prefill-sized segments.
#include "model/linear.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace loam {
namespace {

LoraMatrix random_lora(int64_t in, int64_t out, int64_t r, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 0.3f);
  LoraMatrix m;
  m.in = in, m.out = out, m.rank = r;
  m.a.resize(r * in);
  m.b.resize(out * r);
  for (float& x : m.a) x = nd(rng);
  for (float& x : m.b) x = nd(rng);
  return m;
}

struct Case {
  int64_t n, in = 64, out = 48;
  std::vector<float> w, x, dy;
  LoraMatrix l1, l2;
  std::vector<LoraSegment> segs;
};

// Rows [0, s) on l1 (rank 4), [s, 2s) on nothing, [2s, n) on l2 (rank 8).
Case make_case(int64_t seg_rows, uint64_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Case c;
  c.n = 3 * seg_rows;
  c.w.resize(c.out * c.in);
  c.x.resize(c.n * c.in);
  c.dy.resize(c.n * c.out);
  for (float& v : c.w) v = nd(rng) * 0.1f;
  for (float& v : c.x) v = nd(rng);
  for (float& v : c.dy) v = nd(rng);
  c.l1 = random_lora(c.in, c.out, 4, rng);
  c.l2 = random_lora(c.in, c.out, 8, rng);
  c.segs = {{0, seg_rows, &c.l1, 0.5f, nullptr}, {2 * seg_rows, c.n, &c.l2, 2.0f, nullptr}};
  return c;
}

const LoraSegment* segment_of(const Case& c, int64_t t) {
  for (const LoraSegment& s : c.segs)
    if (t >= s.begin && t < s.end) return &s;
  return nullptr;
}

class LinearSegments : public ::testing::TestWithParam<int64_t> {};

TEST_P(LinearSegments, ForwardMatchesPlainLoops) {
  Case c = make_case(GetParam(), 1);
  const WeightView w{DType::F32, c.w.data(), c.out, c.in};
  std::vector<float> y(c.n * c.out), base(c.n * c.out);
  linear_forward(y.data(), c.x.data(), w, nullptr, c.segs, c.n, {}, nullptr);
  linear_forward(base.data(), c.x.data(), w, nullptr, {}, c.n, {}, nullptr);
  for (int64_t t = 0; t < c.n; t++) {
    const LoraSegment* s = segment_of(c, t);
    for (int64_t o = 0; o < c.out; o++) {
      double want = 0.0;
      for (int64_t i = 0; i < c.in; i++) want += static_cast<double>(c.w[o * c.in + i]) * c.x[t * c.in + i];
      if (s) {
        const LoraMatrix& m = *s->lora;
        for (int64_t j = 0; j < m.rank; j++) {
          double u = 0.0;
          for (int64_t i = 0; i < c.in; i++) u += static_cast<double>(m.a[j * c.in + i]) * c.x[t * c.in + i];
          want += s->scale * u * m.b[o * m.rank + j];
        }
      } else {
        EXPECT_EQ(y[t * c.out + o], base[t * c.out + o]) << "row " << t << " has no adapter";
      }
      EXPECT_NEAR(y[t * c.out + o], want, 1e-4 * (1.0 + std::fabs(want))) << "row " << t << " out " << o;
    }
  }
  // B = 0 gives the base product exactly (PEFT's initial state).
  std::fill(c.l1.b.begin(), c.l1.b.end(), 0.0f);
  std::fill(c.l2.b.begin(), c.l2.b.end(), 0.0f);
  linear_forward(y.data(), c.x.data(), w, nullptr, c.segs, c.n, {}, nullptr);
  EXPECT_EQ(y, base);
}

TEST_P(LinearSegments, BackwardMatchesPlainLoops) {
  Case c = make_case(GetParam(), 2);
  const WeightView w{DType::F32, c.w.data(), c.out, c.in};
  LoraMatrix g1 = c.l1, g2 = c.l2;
  std::fill(g1.a.begin(), g1.a.end(), 0.0f), std::fill(g1.b.begin(), g1.b.end(), 0.0f);
  std::fill(g2.a.begin(), g2.a.end(), 0.0f), std::fill(g2.b.begin(), g2.b.end(), 0.0f);
  c.segs[0].grad = &g1;
  c.segs[1].grad = &g2;
  LoraActs acts;
  std::vector<float> y(c.n * c.out), dx(c.n * c.in, 0.0f);
  linear_forward(y.data(), c.x.data(), w, nullptr, c.segs, c.n, {}, &acts);
  linear_backward(dx.data(), c.dy.data(), c.x.data(), w, c.segs, c.n, {}, acts);
  std::vector<double> want_dx(c.n * c.in, 0.0);
  std::vector<double> want_da1(g1.a.size(), 0.0), want_db1(g1.b.size(), 0.0), want_da2(g2.a.size(), 0.0),
      want_db2(g2.b.size(), 0.0);
  for (int64_t t = 0; t < c.n; t++) {
    for (int64_t i = 0; i < c.in; i++)
      for (int64_t o = 0; o < c.out; o++) want_dx[t * c.in + i] += static_cast<double>(c.dy[t * c.out + o]) * c.w[o * c.in + i];
    const LoraSegment* s = segment_of(c, t);
    if (!s) continue;
    const LoraMatrix& m = *s->lora;
    auto& da = s->lora == &c.l1 ? want_da1 : want_da2;
    auto& db = s->lora == &c.l1 ? want_db1 : want_db2;
    for (int64_t j = 0; j < m.rank; j++) {
      double u = 0.0, du = 0.0;
      for (int64_t i = 0; i < c.in; i++) u += static_cast<double>(m.a[j * c.in + i]) * c.x[t * c.in + i];
      for (int64_t o = 0; o < c.out; o++) {
        db[o * m.rank + j] += s->scale * u * c.dy[t * c.out + o];
        du += s->scale * static_cast<double>(c.dy[t * c.out + o]) * m.b[o * m.rank + j];
      }
      for (int64_t i = 0; i < c.in; i++) {
        da[j * c.in + i] += du * c.x[t * c.in + i];
        want_dx[t * c.in + i] += du * m.a[j * c.in + i];
      }
    }
  }
  auto near = [](const std::vector<float>& got, const std::vector<double>& want, const char* name) {
    for (size_t i = 0; i < got.size(); i++)
      ASSERT_NEAR(got[i], want[i], 1e-3 * (1.0 + std::fabs(want[i]))) << name << "[" << i << "]";
  };
  near(dx, want_dx, "dx");
  near(g1.a, want_da1, "dA1");
  near(g1.b, want_db1, "dB1");
  near(g2.a, want_da2, "dA2");
  near(g2.b, want_db2, "dB2");
}

// 2-row segments take the decode path (B read in place), 20-row ones the
// prefill path (Bᵀ streamed by rank_expand).
INSTANTIATE_TEST_SUITE_P(SegmentRows, LinearSegments, ::testing::Values(int64_t{2}, int64_t{20}));

}  // namespace
}  // namespace loam

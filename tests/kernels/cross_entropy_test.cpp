#include "kernels/cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/gradcheck.h"

namespace loam {
namespace {

TEST(VecExp, MatchesLibmAcrossRange) {
  std::vector<float> x, y;
  for (float v = -100.0f; v <= 88.0f; v += 0.37f) x.push_back(v);
  y.resize(x.size());
  vec_exp(y.data(), x.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); i++) {
    const double want = std::exp(static_cast<double>(x[i]));
    if (want < 1e-37) continue;  // below float's normal range
    EXPECT_NEAR(y[i] / want, 1.0, 1e-6) << x[i];
  }
}

TEST(CrossEntropyRow, LossArgmaxAndGradientMatchDoubleSoftmax) {
  const int64_t V = 1003;  // not a multiple of 16
  auto z = test::random_vec(V, 11, 3.0f);
  const int32_t target = 417;
  double mx = -1e300;
  int64_t arg = 0;
  for (int64_t v = 0; v < V; v++)
    if (z[v] > mx) mx = z[v], arg = v;
  double sum = 0;
  for (int64_t v = 0; v < V; v++) sum += std::exp(z[v] - mx);
  const double loss = mx + std::log(sum) - z[target];
  auto g = z;
  CrossEntropyRow r = cross_entropy_row(g.data(), V, target, 0.5f, true);
  EXPECT_NEAR(r.loss, loss, 1e-5);
  EXPECT_EQ(r.argmax, arg);
  for (int64_t v = 0; v < V; v++) {
    const double p = std::exp(z[v] - mx) / sum;
    EXPECT_NEAR(g[v], 0.5 * (p - (v == target)), 1e-7) << v;
  }
}

}  // namespace
}  // namespace loam

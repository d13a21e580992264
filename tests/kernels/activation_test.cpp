#include "kernels/activation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/gradcheck.h"

namespace loam {
namespace {

double silu(double x) { return x / (1 + std::exp(-x)); }
double gelu_tanh(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }

class GluTest : public ::testing::TestWithParam<Activation> {};

TEST_P(GluTest, ForwardAndBackward) {
  const Activation act = GetParam();
  const int64_t n = 50;
  auto g = test::random_vec(n, 1, 2.0f), u = test::random_vec(n, 2), r = test::random_vec(n, 3);
  std::vector<float> out(n), dg(n), du(n);
  glu_forward(out.data(), g.data(), u.data(), n, act);
  for (int64_t i = 0; i < n; i++) {
    double a = act == Activation::Silu ? silu(g[i]) : gelu_tanh(g[i]);
    EXPECT_NEAR(out[i], a * u[i], 1e-5);
  }
  glu_backward(dg.data(), du.data(), r.data(), g.data(), u.data(), n, act);
  auto loss_g = [&](const std::vector<float>& gg) {
    std::vector<float> o(n);
    glu_forward(o.data(), gg.data(), u.data(), n, act);
    return test::dot(o, r);
  };
  auto d = test::random_vec(n, 4);
  double fd = test::fd_directional(loss_g, g, d, 1e-2f);
  EXPECT_NEAR(test::dot(dg, d), fd, 1e-3 * std::max(1.0, std::fabs(fd)));
  for (int64_t i = 0; i < n; i++) EXPECT_NEAR(du[i], r[i] * out[i] / u[i], 1e-4 * (1 + std::fabs(du[i])));
}

INSTANTIATE_TEST_SUITE_P(Acts, GluTest, ::testing::Values(Activation::Silu, Activation::GeluTanh));

TEST(Softcap, BoundsAndIdentityNearZero) {
  std::vector<float> x = {0.0f, 1e-3f, 100.0f, -1000.0f};
  softcap_forward(x.data(), 4, 30.0f);
  EXPECT_EQ(x[0], 0.0f);
  EXPECT_NEAR(x[1], 1e-3f, 1e-9);
  EXPECT_LE(x[2], 30.0f);
  EXPECT_GT(x[2], 29.0f);
  EXPECT_GE(x[3], -30.0f);
}

}  // namespace
}  // namespace loam

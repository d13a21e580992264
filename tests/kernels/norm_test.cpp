#include "kernels/norm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/gradcheck.h"

namespace loam {
namespace {

TEST(RmsNorm, ForwardMatchesDefinition) {
  const int64_t T = 3, D = 37;
  auto x = test::random_vec(T * D, 1), w = test::random_vec(D, 2);
  std::vector<float> y(T * D), rstd(T);
  rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), T, D, 1e-5f);
  for (int64_t t = 0; t < T; t++) {
    double ss = 0;
    for (int64_t i = 0; i < D; i++) ss += double(x[t * D + i]) * x[t * D + i];
    double r = 1.0 / std::sqrt(ss / D + 1e-5);
    EXPECT_NEAR(rstd[t], r, 1e-6 * r);
    for (int64_t i = 0; i < D; i++) EXPECT_NEAR(y[t * D + i], x[t * D + i] * r * w[i], 1e-5);
  }
}

TEST(RmsNorm, BackwardMatchesFiniteDifferences) {
  const int64_t T = 4, D = 24;
  auto x = test::random_vec(T * D, 3), w = test::random_vec(D, 4), r = test::random_vec(T * D, 5);
  std::vector<float> y(T * D), rstd(T), dx(T * D, 1.0f);
  rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), T, D, 1e-6f);
  rmsnorm_backward(dx.data(), r.data(), x.data(), w.data(), rstd.data(), T, D, /*accumulate=*/false);
  auto loss = [&](const std::vector<float>& xx) {
    std::vector<float> yy(T * D);
    rmsnorm_forward(yy.data(), nullptr, xx.data(), w.data(), T, D, 1e-6f);
    return test::dot(yy, r);
  };
  auto d = test::random_vec(T * D, 6);
  double fd = test::fd_directional(loss, x, d, 1e-2f);
  EXPECT_NEAR(test::dot(dx, d), fd, 1e-3 * std::max(1.0, std::fabs(fd)));
  // accumulate adds to what is there
  std::vector<float> acc(T * D, 1.0f);
  rmsnorm_backward(acc.data(), r.data(), x.data(), w.data(), rstd.data(), T, D, true);
  for (int64_t i = 0; i < T * D; i++) EXPECT_NEAR(acc[i], dx[i] + 1.0f, 1e-6);
}

}  // namespace
}  // namespace loam

#include "kernels/low_rank.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/dtype.h"
#include "kernels/gradcheck.h"
#include "kernels/threading.h"

namespace loam {
namespace {

// (n tokens, width, rank, threads): widths off the 16/32-lane grid, ranks
// off the 8-row tile and above the 256-row slice, an odd token count.
class LowRank : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, int>> {
 protected:
  void SetUp() override { kernels_set_threads(std::get<3>(GetParam())); }
  void TearDown() override { kernels_set_threads(0); }
  int64_t n() const { return std::get<0>(GetParam()); }
  int64_t w() const { return std::get<1>(GetParam()); }
  int64_t r() const { return std::get<2>(GetParam()); }
};

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); i++)
    ASSERT_NEAR(got[i], want[i], 1e-4 * std::max(1.0, std::fabs(want[i]))) << what << " element " << i;
}

TEST_P(LowRank, ProjectIsScaledXTimesPTransposed) {
  const int64_t N = n(), K = w(), R = r();
  auto x = test::random_vec(N * K, 1), p = test::random_vec(R * K, 2);
  std::vector<float> u(N * R, 99.0f);  // overwritten
  rank_project(u.data(), x.data(), p.data(), N, K, R, 0.5f);
  std::vector<double> want(N * R);
  for (int64_t t = 0; t < N; t++)
    for (int64_t j = 0; j < R; j++) {
      double s = 0;
      for (int64_t i = 0; i < K; i++) s += double(x[t * K + i]) * p[j * K + i];
      want[t * R + j] = 0.5 * s;
    }
  expect_close(u, want, "u");
}

TEST_P(LowRank, ExpandAddsScaledUTimesP) {
  const int64_t N = n(), M = w(), R = r();
  auto u = test::random_vec(N * R, 3), p = test::random_vec(R * M, 4), y = test::random_vec(N * M, 5);
  std::vector<double> want(y.begin(), y.end());
  for (int64_t t = 0; t < N; t++)
    for (int64_t c = 0; c < M; c++) {
      double s = 0;
      for (int64_t j = 0; j < R; j++) s += double(u[t * R + j]) * p[j * M + c];
      want[t * M + c] += -2.0 * s;
    }
  rank_expand(y.data(), u.data(), p.data(), N, R, M, -2.0f);
  expect_close(y, want, "y");
}

TEST_P(LowRank, OuterAddsScaledUTransposedTimesY) {
  const int64_t N = n(), M = w(), R = r();
  auto u = test::random_vec(N * R, 6), y = test::random_vec(N * M, 7), g = test::random_vec(R * M, 8);
  std::vector<double> want(g.begin(), g.end());
  for (int64_t j = 0; j < R; j++)
    for (int64_t c = 0; c < M; c++) {
      double s = 0;
      for (int64_t t = 0; t < N; t++) s += double(u[t * R + j]) * y[t * M + c];
      want[j * M + c] += 0.25 * s;
    }
  rank_outer(g.data(), u.data(), y.data(), N, R, M, 0.25f);
  expect_close(g, want, "g");
}

// The serial pieces with bf16 factors (a serving adapter's copies) read
// each entry as the fp32 value it stands for: against a double reference
// over those values, output columns [o0, o1) only.
TEST_P(LowRank, SerialPiecesReadBf16Factors) {
  const int64_t N = n(), K = w(), R = std::min<int64_t>(r(), 64);  // the serial expansion's ranks
  auto x = test::random_vec(N * K, 9), pf = test::random_vec(R * K, 10);
  std::vector<uint16_t> ph(pf.size());
  for (size_t i = 0; i < pf.size(); i++) ph[i] = f32_to_bf16(pf[i]);
  std::vector<float> u(N * R, 99.0f);
  rank_project_serial(u.data(), x.data(), ph.data(), N, K, R, 0.5f);
  std::vector<double> want(N * R);
  for (int64_t t = 0; t < N; t++)
    for (int64_t j = 0; j < R; j++) {
      double s = 0;
      for (int64_t i = 0; i < K; i++) s += double(x[t * K + i]) * bf16_to_f32(ph[j * K + i]);
      want[t * R + j] = 0.5 * s;
    }
  expect_close(u, want, "u");

  const int64_t M = K, o0 = M / 3, o1 = M - M / 5;  // a column range off the lane grid
  auto bt = test::random_vec(R * M, 11), y = test::random_vec(N * M, 12);
  std::vector<uint16_t> bth(bt.size());
  for (size_t i = 0; i < bt.size(); i++) bth[i] = f32_to_bf16(bt[i]);
  std::vector<double> wy(y.begin(), y.end());
  for (int64_t t = 0; t < N; t++)
    for (int64_t c = o0; c < o1; c++) {
      double s = 0;
      for (int64_t j = 0; j < R; j++) s += double(u[t * R + j]) * bf16_to_f32(bth[j * M + c]);
      wy[t * M + c] += 1.5 * s;
    }
  rank_expand_rows_serial_t(y.data(), M, u.data(), bth.data(), M, N, R, o0, o1, 1.5f);
  expect_close(y, wy, "y");
}

INSTANTIATE_TEST_SUITE_P(Shapes, LowRank,
                         ::testing::Values(std::make_tuple(1, 5, 1, 1), std::make_tuple(7, 37, 3, 2),
                                           std::make_tuple(64, 192, 8, 2), std::make_tuple(33, 576, 8, 1),
                                           std::make_tuple(129, 100, 13, 2), std::make_tuple(9, 48, 64, 2),
                                           std::make_tuple(5, 33, 300, 2)));

}  // namespace
}  // namespace loam

// Matrix products against a naive double-precision loop over independently
// decoded weights, for every stored dtype, both precisions, odd shapes, the
// accumulate flag, and the thread counts 1 and 2.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "kernels/gradcheck.h"
#include "kernels/quantize.h"
#include "kernels/threading.h"

namespace loam {
namespace {

// A weight stored in `dtype`, plus its exact fp32 values decoded here with the
// core scalar conversions (not the kernels' vector code).
struct StoredWeight {
  DType dtype;
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // (n_rows, n_cols) as the kernels must see them
  int64_t n_rows, n_cols;
  WeightView view() const { return WeightView{dtype, bytes.data(), n_rows, n_cols}; }
};

StoredWeight make_weight(DType dtype, int64_t n_rows, int64_t n_cols, uint64_t seed) {
  auto src = test::random_vec(n_rows * n_cols, seed, 0.5f);
  StoredWeight w{dtype, {}, std::vector<float>(src.size()), n_rows, n_cols};
  w.bytes.resize(dtype_bytes(dtype, n_rows * n_cols));
  for (int64_t i = 0; i < n_rows * n_cols; i++) {
    uint16_t h;
    switch (dtype) {
      case DType::F32: std::memcpy(&w.bytes[4 * i], &src[i], 4); w.values[i] = src[i]; break;
      case DType::BF16: h = f32_to_bf16(src[i]); std::memcpy(&w.bytes[2 * i], &h, 2); w.values[i] = bf16_to_f32(h); break;
      case DType::F16: h = f32_to_f16(src[i]); std::memcpy(&w.bytes[2 * i], &h, 2); w.values[i] = f16_to_f32(h); break;
      default: break;
    }
  }
  if (dtype == DType::Q8_0) {
    for (int64_t r = 0; r < n_rows; r++)
      q8_0_quantize_row(&src[r * n_cols], n_cols, &w.bytes[r * n_cols / 32 * 34]);
    for (int64_t b = 0; b < n_rows * n_cols / 32; b++) {
      uint16_t dh;
      std::memcpy(&dh, &w.bytes[b * 34], 2);
      for (int i = 0; i < 32; i++) w.values[b * 32 + i] = f16_to_f32(dh) * static_cast<int8_t>(w.bytes[b * 34 + 2 + i]);
    }
  }
  return w;
}

float round_bf16(float v) { return bf16_to_f32(f32_to_bf16(v)); }

// y = x·Wᵀ in double; err_scale = sum |x||w| per output (the fp32 error bound's scale).
void naive_forward(const StoredWeight& w, const std::vector<float>& x, int64_t T, bool bf16_x,
                   std::vector<double>& y, std::vector<double>& scale) {
  const int64_t N = w.n_rows, K = w.n_cols;
  y.assign(T * N, 0.0);
  scale.assign(T * N, 0.0);
  for (int64_t t = 0; t < T; t++)
    for (int64_t r = 0; r < N; r++)
      for (int64_t k = 0; k < K; k++) {
        double xv = bf16_x ? round_bf16(x[t * K + k]) : x[t * K + k];
        y[t * N + r] += xv * w.values[r * K + k];
        scale[t * N + r] += std::fabs(xv * w.values[r * K + k]);
      }
}

void naive_backward(const StoredWeight& w, const std::vector<float>& dy, int64_t T, bool bf16_x,
                    std::vector<double>& dx, std::vector<double>& scale) {
  const int64_t N = w.n_rows, K = w.n_cols;
  dx.assign(T * K, 0.0);
  scale.assign(T * K, 0.0);
  for (int64_t t = 0; t < T; t++)
    for (int64_t r = 0; r < N; r++) {
      double g = bf16_x ? round_bf16(dy[t * N + r]) : dy[t * N + r];
      for (int64_t k = 0; k < K; k++) {
        dx[t * K + k] += g * w.values[r * K + k];
        scale[t * K + k] += std::fabs(g * w.values[r * K + k]);
      }
    }
}

struct Shape { int64_t T, N, K; };
// Odd token counts, rows not multiples of 16, the tile edges of the GEMM paths.
const Shape kShapes[] = {{1, 1, 32},   {1, 37, 64},   {2, 50, 96},   {3, 17, 32},  {5, 100, 160},
                         {7, 33, 224}, {12, 21, 160}, {16, 64, 128}, {17, 47, 96},  {31, 130, 288}, {64, 96, 320},
                         {100, 75, 576}, {129, 200, 64}, {33, 40, 1344},
                         // K not a multiple of 32 (odd, and past one K-block): not for Q8_0
                         {3, 19, 37}, {20, 33, 45}, {12, 40, 651}, {1, 5, 1}};

class MatmulTest : public ::testing::TestWithParam<std::tuple<DType, MatmulPrecision, int>> {
 protected:
  void SetUp() override {
    matmul_set_precision(std::get<1>(GetParam()));
    kernels_set_threads(std::get<2>(GetParam()));
  }
  void TearDown() override {
    matmul_set_precision(MatmulPrecision::Exact);
    kernels_set_threads(0);
  }
  // Rounded activations when the fast bf16 path is in use.
  bool bf16_x() const {
    return std::get<1>(GetParam()) == MatmulPrecision::Bf16 && std::get<0>(GetParam()) == DType::BF16;
  }
};

double worst_error(const std::vector<float>& got, const std::vector<double>& want,
                   const std::vector<double>& scale, const std::vector<float>& base) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); i++) {
    double err = std::fabs(got[i] - (want[i] + base[i])) / (scale[i] + std::fabs(base[i]) + 1e-30);
    worst = std::max(worst, err);
  }
  return worst;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                  const std::vector<double>& scale, const std::vector<float>& base, const char* what,
                  const Shape& s) {
  EXPECT_LT(worst_error(got, want, scale, base), 1e-5) << what << " T=" << s.T << " N=" << s.N << " K=" << s.K;
}

TEST_P(MatmulTest, ForwardMatchesNaiveDouble) {
  const DType dt = std::get<0>(GetParam());
  for (const Shape& s : kShapes) {
    if (dt == DType::Q8_0 && s.K % 32) continue;
    auto w = make_weight(dt, s.N, s.K, 100 + s.N);
    auto x = test::random_vec(s.T * s.K, 200 + s.T);
    // Bf16 mode may round x to bf16 (it does from 4 tokens on) or keep the
    // exact products (decode): each output set must match one of the two.
    std::vector<double> want, scale, want_exact, scale_exact;
    naive_forward(w, x, s.T, bf16_x(), want, scale);
    naive_forward(w, x, s.T, false, want_exact, scale_exact);
    auto check = [&](const std::vector<float>& got, const std::vector<float>& base, const char* what) {
      double err = worst_error(got, want, scale, base);
      if (bf16_x()) err = std::min(err, worst_error(got, want_exact, scale_exact, base));
      EXPECT_LT(err, 1e-5) << what << " T=" << s.T << " N=" << s.N << " K=" << s.K;
    };
    std::vector<float> y(s.T * s.N, NAN), zero(s.T * s.N, 0.0f);
    matmul_forward(y.data(), x.data(), w.view(), s.T);
    check(y, zero, "forward");
    auto base = test::random_vec(s.T * s.N, 300);
    std::vector<float> acc = base;
    matmul_forward(acc.data(), x.data(), w.view(), s.T, /*accumulate=*/true);
    check(acc, base, "forward accumulate");
  }
}

TEST_P(MatmulTest, BackwardInputMatchesNaiveDouble) {
  const DType dt = std::get<0>(GetParam());
  for (const Shape& s : kShapes) {
    if (dt == DType::Q8_0 && s.K % 32) continue;
    auto w = make_weight(dt, s.N, s.K, 400 + s.N);
    auto dy = test::random_vec(s.T * s.N, 500 + s.T);
    std::vector<double> want, scale;
    naive_backward(w, dy, s.T, bf16_x(), want, scale);
    std::vector<float> dx(s.T * s.K, NAN), zero(s.T * s.K, 0.0f);
    matmul_backward_input(dx.data(), dy.data(), w.view(), s.T);
    expect_close(dx, want, scale, zero, "backward", s);
    auto base = test::random_vec(s.T * s.K, 600);
    std::vector<float> acc = base;
    matmul_backward_input(acc.data(), dy.data(), w.view(), s.T, /*accumulate=*/true);
    expect_close(acc, want, scale, base, "backward accumulate", s);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllDtypes, MatmulTest,
    ::testing::Combine(::testing::Values(DType::F32, DType::BF16, DType::F16, DType::Q8_0),
                       ::testing::Values(MatmulPrecision::Exact, MatmulPrecision::Bf16),
                       ::testing::Values(1, 2)),
    [](const auto& info) {
      return std::string(dtype_name(std::get<0>(info.param))) +
             (std::get<1>(info.param) == MatmulPrecision::Exact ? "_Exact" : "_Bf16") + "_threads" +
             std::to_string(std::get<2>(info.param));
    });

TEST(MatmulPlain, MatchesNaiveDouble) {
  for (DType dt : {DType::F32, DType::BF16, DType::F16, DType::Q8_0}) {
    Shape s{5, 37, 96};
    auto w = make_weight(dt, s.N, s.K, 7);
    auto x = test::random_vec(s.T * s.K, 8);
    std::vector<double> want, scale;
    naive_forward(w, x, s.T, false, want, scale);
    std::vector<float> y(s.T * s.N), zero(s.T * s.N, 0.0f);
    matmul_forward_plain(y.data(), x.data(), w.view(), s.T);
    expect_close(y, want, scale, zero, "plain forward", s);
    auto dy = test::random_vec(s.T * s.N, 9);
    naive_backward(w, dy, s.T, false, want, scale);
    std::vector<float> dx(s.T * s.K), zk(s.T * s.K, 0.0f);
    matmul_backward_input_plain(dx.data(), dy.data(), w.view(), s.T);
    expect_close(dx, want, scale, zk, "plain backward", s);
  }
}

TEST(Matmul, BackwardIsTheAdjointOfForward) {
  // <dy, x·Wᵀ> == <dy·W, x> for the fast paths at a prefill-sized shape.
  for (DType dt : {DType::F32, DType::BF16, DType::Q8_0}) {
    const int64_t T = 70, N = 192, K = 576;
    auto w = make_weight(dt, N, K, 11);
    auto x = test::random_vec(T * K, 12), dy = test::random_vec(T * N, 13);
    std::vector<float> y(T * N), dx(T * K);
    matmul_forward(y.data(), x.data(), w.view(), T);
    matmul_backward_input(dx.data(), dy.data(), w.view(), T);
    double a = test::dot(dy, y), b = test::dot(dx, x);
    EXPECT_NEAR(a, b, 1e-4 * std::fabs(a) + 1e-2) << dtype_name(dt);
  }
}

TEST(Matmul, WeightRowToF32DecodesEachDtype) {
  for (DType dt : {DType::F32, DType::BF16, DType::F16, DType::Q8_0}) {
    auto w = make_weight(dt, 9, 96, 21);
    std::vector<float> row(96);
    for (int64_t r : {0, 4, 8}) {
      weight_row_to_f32(w.view(), r, row.data());
      for (int64_t k = 0; k < 96; k++) ASSERT_EQ(row[k], w.values[r * 96 + k]) << dtype_name(dt);
    }
  }
}

TEST(Matmul, EmptyReductionGivesZerosOrKeepsAccumulator) {
  std::vector<float> y(6, 5.0f);
  WeightView w{DType::F32, nullptr, 3, 0};
  matmul_forward(y.data(), nullptr, w, 2, /*accumulate=*/true);
  for (float v : y) EXPECT_EQ(v, 5.0f);
  matmul_forward(y.data(), nullptr, w, 2);
  for (float v : y) EXPECT_EQ(v, 0.0f);
  std::vector<float> dx(8, 5.0f);
  WeightView wb{DType::F32, nullptr, 0, 4};
  matmul_backward_input(dx.data(), nullptr, wb, 2);
  for (float v : dx) EXPECT_EQ(v, 0.0f);
}

// Several weights over one x give exactly what one call per weight gives:
// every dtype, decode-sized and Bf16-mode token counts, the GEMM fallback,
// row counts that do not split evenly over the threads.
TEST(Matmul, ForwardMultiEqualsOneCallPerWeight) {
  const int64_t K = 96, rows[] = {40, 7, 7};
  for (DType dt : {DType::F32, DType::BF16, DType::F16, DType::Q8_0})
    for (MatmulPrecision p : {MatmulPrecision::Exact, MatmulPrecision::Bf16})
      for (int64_t T : {1, 3, 5, 20}) {
        matmul_set_precision(p);
        StoredWeight w[3] = {make_weight(dt, rows[0], K, 31), make_weight(dt, rows[1], K, 32),
                             make_weight(dt, rows[2], K, 33)};
        const auto x = test::random_vec(T * K, 34);
        WeightView views[3];
        std::vector<float> multi[3], single[3];
        float* ys[3];
        for (int i = 0; i < 3; i++) {
          views[i] = w[i].view();
          multi[i].assign(T * rows[i], -7.0f);  // overwritten
          single[i].assign(T * rows[i], 0.0f);
          ys[i] = multi[i].data();
          matmul_forward(single[i].data(), x.data(), views[i], T);
        }
        matmul_forward_multi(ys, x.data(), views, 3, T);
        for (int i = 0; i < 3; i++)
          for (size_t j = 0; j < multi[i].size(); j++)
            ASSERT_EQ(multi[i][j], single[i][j]) << dtype_name(dt) << " T=" << T << " weight " << i << " at " << j;
      }
  matmul_set_precision(MatmulPrecision::Exact);
}

TEST(Matmul, PrecisionSwitchIsProcessWide) {
  EXPECT_EQ(matmul_precision(), MatmulPrecision::Exact);
  matmul_set_precision(MatmulPrecision::Bf16);
  EXPECT_EQ(matmul_precision(), MatmulPrecision::Bf16);
  matmul_set_precision(MatmulPrecision::Exact);
}

}  // namespace
}  // namespace loam

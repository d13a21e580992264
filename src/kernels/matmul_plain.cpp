// The plain matrix products: the oracle for the fast kernels (matmul.cpp)
// and the baseline in bench/matmul_bench.cpp. One weight row at a time is
// converted to fp32, then simple loops. Single-threaded; allocates.
#include <cstring>
#include <vector>

#include "kernels/matmul.h"

namespace loam {

void matmul_forward_plain(float* y, const float* x, const WeightView& w, int64_t n_tokens,
                          bool accumulate) {
  const int64_t N = w.n_rows, K = w.n_cols;
  std::vector<float> row(K);
  for (int64_t r = 0; r < N; r++) {
    weight_row_to_f32(w, r, row.data());
    for (int64_t t = 0; t < n_tokens; t++) {
      const float* xt = x + t * K;
      float s = 0.0f;
      for (int64_t k = 0; k < K; k++) s += xt[k] * row[k];
      y[t * N + r] = accumulate ? y[t * N + r] + s : s;
    }
  }
}

void matmul_backward_input_plain(float* dx, const float* dy, const WeightView& w,
                                 int64_t n_tokens, bool accumulate) {
  const int64_t N = w.n_rows, K = w.n_cols;
  if (!accumulate) std::memset(dx, 0, sizeof(float) * n_tokens * K);
  std::vector<float> row(K);
  for (int64_t r = 0; r < N; r++) {
    weight_row_to_f32(w, r, row.data());
    for (int64_t t = 0; t < n_tokens; t++) {
      const float g = dy[t * N + r];
      float* dxt = dx + t * K;
      for (int64_t k = 0; k < K; k++) dxt[k] += g * row[k];
    }
  }
}

}  // namespace loam

#include "model/linear.h"

#include <cblas.h>

#include <vector>

namespace loam {

void linear_forward(float* y, const float* x, const WeightView& w, const std::vector<float>& bias,
                    const LoraMatrix* lora, float lora_scale, int64_t n, float* xa) {
  matmul_forward(y, x, w, n, /*accumulate=*/false);
  const int64_t out = w.n_rows, in = w.n_cols;
  if (!bias.empty()) {
    for (int64_t t = 0; t < n; t++)
      for (int64_t o = 0; o < out; o++) y[t * out + o] += bias[o];
  }
  if (lora && lora->active()) {
    const int64_t r = static_cast<int64_t>(lora->a.size()) / in;
    thread_local std::vector<float> scratch;
    float* u = xa;
    if (!u) {
      scratch.resize(static_cast<size_t>(n * r));
      u = scratch.data();
    }
    // u = x Aᵀ (n, r); y += scale · u Bᵀ
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, r, in, 1.0f, x, in, lora->a.data(), in,
                0.0f, u, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, r, lora_scale, u, r,
                lora->b.data(), r, 1.0f, y, out);
  }
}

}  // namespace loam

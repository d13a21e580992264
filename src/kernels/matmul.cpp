// Matrix products with frozen weights: precision switch, dispatch, and the
// row conversion used by embedding lookups (see matmul.h).
#include "kernels/matmul.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "kernels/quantize.h"
#include "kernels/threading.h"
#include "kernels/vec.h"

namespace loam {
namespace {

std::atomic<MatmulPrecision> g_precision{MatmulPrecision::Exact};

std::vector<float>& scratch_f32(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf;
}

// x rounded to bf16 (kept as fp32) when the Bf16 mode applies to w, else x.
const float* activations_for(const float* x, int64_t n, const WeightView& w) {
  if (!(matmul_precision() == MatmulPrecision::Bf16 && w.dtype == DType::BF16)) return x;
  thread_local std::vector<float> xr;
  thread_local std::vector<uint16_t> xh;
  if (xr.size() < static_cast<size_t>(n)) { xr.resize(n); xh.resize(n); }
  f32_to_bf16_row(x, n, xh.data());
  bf16_to_f32_row(xh.data(), n, xr.data());
  return xr.data();
}

}  // namespace

void matmul_set_precision(MatmulPrecision p) { g_precision.store(p); }
MatmulPrecision matmul_precision() { return g_precision.load(); }

void weight_row_to_f32(const WeightView& w, int64_t row, float* out) {
  const int64_t K = w.n_cols;
  switch (w.dtype) {
    case DType::F32:
      std::memcpy(out, static_cast<const float*>(w.data) + row * K, sizeof(float) * K);
      return;
    case DType::BF16:
      bf16_to_f32_row(static_cast<const uint16_t*>(w.data) + row * K, K, out);
      return;
    case DType::F16:
      f16_to_f32_row(static_cast<const uint16_t*>(w.data) + row * K, K, out);
      return;
    case DType::Q8_0:
      q8_0_dequantize_row(static_cast<const uint8_t*>(w.data) + row * (K / kQ8BlockSize) * kQ8BlockBytes,
                          K, out);
      return;
    default:
      std::memset(out, 0, sizeof(float) * K);  // unsupported: loaders reject these dtypes
      return;
  }
}

void matmul_forward(float* y, const float* x, const WeightView& w, int64_t n_tokens, bool accumulate) {
  const int64_t N = w.n_rows, K = w.n_cols;
  x = activations_for(x, n_tokens * K, w);
#pragma omp parallel num_threads(kernels_threads())
  {
    float* row = scratch_f32(K).data();
#pragma omp for schedule(static)
    for (int64_t r = 0; r < N; r++) {
      weight_row_to_f32(w, r, row);
      for (int64_t t = 0; t < n_tokens; t++) {
        float s = vec_dot(x + t * K, row, K);
        y[t * N + r] = accumulate ? y[t * N + r] + s : s;
      }
    }
  }
}

void matmul_backward_input(float* dx, const float* dy, const WeightView& w, int64_t n_tokens,
                           bool accumulate) {
  const int64_t N = w.n_rows, K = w.n_cols;
  const int nth = kernels_threads();
  dy = activations_for(dy, n_tokens * N, w);
  // Split over columns of dx (in chunks of 64) so that threads never share outputs.
  const int64_t chunk = 64, n_chunks = (K + chunk - 1) / chunk;
#pragma omp parallel num_threads(nth)
  {
    float* row = scratch_f32(K).data();
    int tid = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t c0 = n_chunks * tid / nt * chunk, c1 = std::min(K, n_chunks * (tid + 1) / nt * chunk);
    if (c0 < c1) {
      if (!accumulate)
        for (int64_t t = 0; t < n_tokens; t++) std::memset(dx + t * K + c0, 0, sizeof(float) * (c1 - c0));
      for (int64_t r = 0; r < N; r++) {
        weight_row_to_f32(w, r, row);
        for (int64_t t = 0; t < n_tokens; t++)
          vec_axpy(dx + t * K + c0, dy[t * N + r], row + c0, c1 - c0);
      }
    }
  }
}

}  // namespace loam

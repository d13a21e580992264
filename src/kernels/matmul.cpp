// Matrix products with frozen weights: precision switch, dispatch, and the
// row conversion used by embedding lookups (see matmul.h).
#include "kernels/matmul.h"

#include <cstring>

#include "kernels/matmul_kernels.h"
#include "kernels/quantize.h"

namespace loam {
namespace {

thread_local MatmulPrecision t_precision = MatmulPrecision::Exact;  // the calling thread's (compute_scope.h)

// The AVX512-BF16 products apply to BF16 weights in Bf16 mode only.
bool use_bf16(const WeightView& w) {
  return w.dtype == DType::BF16 && matmul_precision() == MatmulPrecision::Bf16;
}

}  // namespace

void matmul_set_precision(MatmulPrecision p) { t_precision = p; }
MatmulPrecision matmul_precision() { return t_precision; }

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
  if (n_tokens <= 0 || w.n_rows <= 0) return;
  if (w.n_cols <= 0) {
    if (!accumulate) std::memset(y, 0, sizeof(float) * n_tokens * w.n_rows);
    return;
  }
  const bool bf16 = use_bf16(w);
  if (n_tokens <= kGemvMaxTokens) gemv_forward(y, x, w, n_tokens, accumulate, bf16);
  else gemm_forward(y, x, w, n_tokens, accumulate, bf16);
}

namespace {

// One pass over all views' rows fits: a decode-sized batch, the same n_cols
// and the same product mode for every view.
bool one_pass(const WeightView* ws, int n_views, int64_t n_tokens) {
  bool ok = n_tokens > 0 && n_tokens <= kGemvMaxTokens && n_views > 0;
  for (int i = 0; ok && i < n_views; i++)
    ok = ws[i].n_rows > 0 && ws[i].n_cols == ws[0].n_cols && ws[0].n_cols > 0 && use_bf16(ws[i]) == use_bf16(ws[0]);
  return ok;
}

}  // namespace

void matmul_forward_multi(float* const* ys, const float* x, const WeightView* ws, int n_views, int64_t n_tokens) {
  if (!one_pass(ws, n_views, n_tokens)) {
    for (int i = 0; i < n_views; i++) matmul_forward(ys[i], x, ws[i], n_tokens);
    return;
  }
  gemv_forward_multi(ys, x, ws, n_views, n_tokens, /*accumulate=*/false, use_bf16(ws[0]));
}

bool matmul_forward_multi_lowrank(float* const* ys, const float* x, const WeightView* ws, int n_views,
                                  int64_t n_tokens, const float* const* biases, const LowRankAdd* const* adds,
                                  const int* n_adds) {
  if (!one_pass(ws, n_views, n_tokens)) return false;
  for (int i = 0; i < n_views; i++)
    for (int j = 0; j < n_adds[i]; j++)
      if (adds[i][j].r > kLowRankAddMaxRank || adds[i][j].t_begin < 0 || adds[i][j].t_end > n_tokens) return false;
  gemv_forward_multi(ys, x, ws, n_views, n_tokens, /*accumulate=*/false, use_bf16(ws[0]), biases, adds, n_adds);
  return true;
}

void matmul_backward_input(float* dx, const float* dy, const WeightView& w, int64_t n_tokens,
                           bool accumulate) {
  if (n_tokens <= 0 || w.n_cols <= 0) return;
  if (w.n_rows <= 0) {
    if (!accumulate) std::memset(dx, 0, sizeof(float) * n_tokens * w.n_cols);
    return;
  }
  gemm_backward_input(dx, dy, w, n_tokens, accumulate, use_bf16(w));
}

}  // namespace loam

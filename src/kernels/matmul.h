// Matrix products with frozen weights: the model's linear layers (forward)
// and their backward to the activations (training with frozen base weights).
//
// Weights stay in their stored type (F32, F16, BF16, Q8_0) and are read in
// place; kernels convert on the fly and accumulate in fp32. Work is split over
// kernels_threads() OpenMP threads (see threading.h). Kernels never throw and
// never allocate on the hot path (thread_local scratch grows once).
//
// Shapes (row-major): x, y, dx, dy as named below; W is [n_rows, n_cols] =
// [out_features, in_features], the HF nn.Linear layout.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace loam {

// A frozen weight matrix as stored: row-major [n_rows = out_features, n_cols = in_features]
// (the HF nn.Linear layout). Q8_0: each row is n_cols/32 blocks of 34 bytes. Non-owning.
struct WeightView {
  DType dtype;  // F32, F16, BF16 or Q8_0
  const void* data;
  int64_t n_rows;
  int64_t n_cols;
};

// Exact: fp32 products of the stored weights (converted exactly to fp32; Q8_0
//        dequantized as d*q) with fp32 activations, fp32 accumulation. This is
//        the mode checked against references.
// Bf16:  for BF16 weights, activations are rounded to bf16 (RNE) and the
//        products done by AVX512-BF16 (vdpbf16ps) with fp32 accumulation —
//        except for 1-3 tokens (decode), which is memory-bound and keeps the
//        exact products. Other weight types compute as in Exact.
enum class MatmulPrecision { Exact, Bf16 };

// The calling thread's; default Exact. Models set it per call (compute_scope.h).
void matmul_set_precision(MatmulPrecision p);
MatmulPrecision matmul_precision();

// y[n_tokens, n_rows] = x[n_tokens, n_cols] · Wᵀ   (accumulate: y += ...)
// REQUIRES: y does not alias x; W.dtype is F32, F16, BF16 or Q8_0 (n_cols % 32 == 0).
void matmul_forward(float* y, const float* x, const WeightView& w, int64_t n_tokens,
                    bool accumulate = false);

// ys[i][n_tokens, ws[i].n_rows] = x · ws[i]ᵀ for several weights that read
// the same x (q/k/v, gate/up). Same results as one matmul_forward each; for
// decode-sized n_tokens it is one pass over all their rows, so the threads
// start and stop once instead of once per weight.
void matmul_forward_multi(float* const* ys, const float* x, const WeightView* ws, int n_views, int64_t n_tokens);

// A low-rank term added to a product's output for the token rows
// [t_begin, t_end): y[t] += scale · (x[t] Aᵀ) Bᵀ, with A (r, n_cols) and
// B (n_rows, r) fp32 row-major, as a LoRA adapter stores them; bt, when
// not null, is Bᵀ (r, n_rows), read in place instead of transposing B.
// a_bf16 and bt_bf16, when not null, are bf16 copies of A and Bᵀ read
// instead (half the bytes: a decode step over several adapters streams
// each one's factors from memory, as it streams the weights).
struct LowRankAdd {
  int64_t t_begin, t_end;
  const float* a;
  const float* b;
  const float* bt;
  int64_t r;
  float scale;
  const uint16_t* a_bf16 = nullptr;
  const uint16_t* bt_bf16 = nullptr;
};
constexpr int64_t kLowRankAddMaxRank = 64;

// matmul_forward_multi plus, for view i, its bias biases[i] (null: none;
// n_rows floats) and then the terms adds[i][0 .. n_adds[i]) added to ys[i]
// inside the same pass over the weights: each thread forms x Aᵀ itself and
// adds the term to the output rows it has just computed, so a decode step's
// adapters cost no parallel region of their own. Returns false, computing
// nothing, for a batch above the one-pass kernel's size or a rank above
// kLowRankAddMaxRank: the caller then does the products itself.
bool matmul_forward_multi_lowrank(float* const* ys, const float* x, const WeightView* ws, int n_views,
                                  int64_t n_tokens, const float* const* biases, const LowRankAdd* const* adds,
                                  const int* n_adds);

// dx[n_tokens, n_cols] = dy[n_tokens, n_rows] · W   (accumulate: dx += ...)
// The backward to the activations of matmul_forward for a frozen W.
void matmul_backward_input(float* dx, const float* dy, const WeightView& w, int64_t n_tokens,
                           bool accumulate = false);

// Row `row` of W as fp32 (embedding lookup); out has n_cols floats.
void weight_row_to_f32(const WeightView& w, int64_t row, float* out);

// The plain implementations: simple loops, no blocking, single-threaded. They
// are the oracle the fast kernels are tested against and the baseline in
// bench/; the model never calls them. Same contracts as above (Exact mode).
void matmul_forward_plain(float* y, const float* x, const WeightView& w, int64_t n_tokens,
                          bool accumulate = false);
void matmul_backward_input_plain(float* dx, const float* dy, const WeightView& w,
                                 int64_t n_tokens, bool accumulate = false);

}  // namespace loam

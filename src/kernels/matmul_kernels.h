// Internal to the matmul kernels (not for other layers): the fast paths that
// matmul.cpp dispatches to, and the scratch they share. Contracts as in
// matmul.h; `bf16` selects the AVX512-BF16 products (BF16 weights only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "kernels/matmul.h"

namespace loam {

// Packed-panel GEMM (matmul_gemm.cpp): the prefill and training path.
void gemm_forward(float* y, const float* x, const WeightView& w, int64_t n_tokens, bool accumulate,
                  bool bf16);
void gemm_backward_input(float* dx, const float* dy, const WeightView& w, int64_t n_tokens,
                         bool accumulate, bool bf16);

// Dot-product GEMV over weights read in place (matmul_gemv.cpp): decode and
// small batches. REQUIRES: n_tokens <= kGemvMaxTokens. With bf16, fewer than 4
// tokens still use exact products (memory-bound; see matmul_gemv.cpp).
constexpr int64_t kGemvMaxTokens = 16;
void gemv_forward(float* y, const float* x, const WeightView& w, int64_t n_tokens, bool accumulate,
                  bool bf16);
// ys[i] (+)= x · ws[i]ᵀ for n_views weights of the same n_cols, in one
// parallel region over all their rows; with biases and adds, view i's bias
// and then its low-rank terms adds[i][0 .. n_adds[i]) are added to the rows
// as they are computed (matmul.h, LowRankAdd; ranks <= kLowRankAddMaxRank).
void gemv_forward_multi(float* const* ys, const float* x, const WeightView* ws, int n_views, int64_t n_tokens,
                        bool accumulate, bool bf16, const float* const* biases = nullptr,
                        const LowRankAdd* const* adds = nullptr, const int* n_adds = nullptr);

// A 64-byte aligned buffer that grows and never shrinks: the kernels keep one
// per thread (thread_local), so steady-state calls do not allocate.
template <typename T>
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { std::free(p_); }
  T* get(size_t n) {
    if (n > n_) {
      std::free(p_);
      size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
      p_ = static_cast<T*>(std::aligned_alloc(64, bytes));
      n_ = n;
    }
    return p_;
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace loam

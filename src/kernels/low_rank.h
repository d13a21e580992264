// Products with one skinny factor: the r-column matrices of a LoRA adapter
// (r = 1 ... 256) against token activations. A general GEMM spends most of
// its time packing here; these kernels stream the wide operand once and keep
// the skinny one in L1. All three split their work over the kernel threads.
//
// Row-major throughout. n tokens, k and m widths, r the rank.
#pragma once

#include <cstdint>

namespace loam {

// u (n, r) = scale · x (n, k) · Pᵀ, with P (r, k). Overwrites u.
void rank_project(float* u, const float* x, const float* p, int64_t n, int64_t k, int64_t r, float scale);

// y (n, m) += scale · u (n, r) · P, with P (r, m).
void rank_expand(float* y, const float* u, const float* p, int64_t n, int64_t r, int64_t m, float scale);

// g (r, m) += scale · uᵀ · y, with u (n, r) and y (n, m).
void rank_outer(float* g, const float* u, const float* y, int64_t n, int64_t r, int64_t m, float scale);

// Single-threaded pieces for callers already inside a parallel region (the
// GEMV's fused low-rank terms, matmul.h LowRankAdd):
// u (n, r) = scale · x (n, k) · Pᵀ, P (r, k), on the calling thread only.
void rank_project_serial(float* u, const float* x, const float* p, int64_t n, int64_t k, int64_t r, float scale);
// The same with P in bf16 (a serving adapter's copy, lora.h), widened
// exactly; the products and sums stay fp32.
void rank_project_serial(float* u, const float* x, const uint16_t* p, int64_t n, int64_t k, int64_t r, float scale);
// y[t, o] += scale · Σ_j u[t, j] · b[o, j] for t < n and o in [o0, o1),
// with b (m, r) row-major (a LoRA B) and y's rows ldy apart; r <= 64.
void rank_expand_rows_serial(float* y, int64_t ldy, const float* u, const float* b, int64_t n, int64_t r,
                             int64_t o0, int64_t o1, float scale);
// The same with Bᵀ (r, m) given: bt[j * m + o] = b[o, j].
void rank_expand_rows_serial_t(float* y, int64_t ldy, const float* u, const float* bt, int64_t m, int64_t n,
                               int64_t r, int64_t o0, int64_t o1, float scale);
// The same with Bᵀ in bf16.
void rank_expand_rows_serial_t(float* y, int64_t ldy, const float* u, const uint16_t* bt, int64_t m, int64_t n,
                               int64_t r, int64_t o0, int64_t o1, float scale);

}  // namespace loam

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

}  // namespace loam

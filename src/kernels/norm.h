// RMSNorm, forward and backward.
//
// Shapes: x, out, dx, dout are (n_tokens, dim) row-major; w is (dim).
// out = x / sqrt(mean(x^2) + eps) * w. Callers fold reference quirks into w
// (Gemma's "(1 + w)" is passed as a precomputed 1+w). Kernels never throw.
#pragma once

#include <cstdint>

namespace loam {

// rstd (n_tokens) receives 1/sqrt(mean(x^2)+eps) per row when non-null (saved for backward).
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w,
                     int64_t n_tokens, int64_t dim, float eps);

// dx (+)= d(out)/dx · dout, from the rstd saved by the forward. w is frozen.
void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w,
                      const float* rstd, int64_t n_tokens, int64_t dim, bool accumulate);

}  // namespace loam

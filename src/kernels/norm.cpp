#include "kernels/norm.h"

#include <cmath>

namespace loam {

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w,
                     int64_t n_tokens, int64_t dim, float eps) {
#pragma omp parallel for schedule(static) if (n_tokens > 4)
  for (int64_t t = 0; t < n_tokens; t++) {
    const float* xr = x + t * dim;
    float* yr = out + t * dim;
    double ss = 0.0;  // double: the reference accumulates in fp32 via mean(); this is closer to exact
    for (int64_t i = 0; i < dim; i++) ss += static_cast<double>(xr[i]) * xr[i];
    float r = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
    if (rstd) rstd[t] = r;
    for (int64_t i = 0; i < dim; i++) yr[i] = xr[i] * r * w[i];
  }
}

void rmsnorm_backward(float* dx, const float* dout, const float* x, const float* w,
                      const float* rstd, int64_t n_tokens, int64_t dim, bool accumulate) {
  // y_i = x_i r w_i, r = (mean(x^2)+eps)^-1/2
  // dx_j = r w_j dy_j - r^3 x_j / dim * sum_i(dy_i w_i x_i)
#pragma omp parallel for schedule(static) if (n_tokens > 4)
  for (int64_t t = 0; t < n_tokens; t++) {
    const float* xr = x + t * dim;
    const float* dy = dout + t * dim;
    float* dxr = dx + t * dim;
    const float r = rstd[t];
    double dot = 0.0;
    for (int64_t i = 0; i < dim; i++) dot += static_cast<double>(dy[i]) * w[i] * xr[i];
    const float c = static_cast<float>(dot * r * r * r / static_cast<double>(dim));
    for (int64_t i = 0; i < dim; i++) {
      float g = r * w[i] * dy[i] - c * xr[i];
      dxr[i] = accumulate ? dxr[i] + g : g;
    }
  }
}

}  // namespace loam

#include "kernels/activation.h"

#include <cmath>

namespace loam {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

inline float gelu_tanh(float x) {
  float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.0f + std::tanh(u));
}

}  // namespace

void glu_forward(float* out, const float* gate, const float* up, int64_t n, Activation act) {
  if (act == Activation::Silu) {
#pragma omp parallel for schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; i++) out[i] = silu(gate[i]) * up[i];
  } else {
#pragma omp parallel for schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; i++) out[i] = gelu_tanh(gate[i]) * up[i];
  }
}

void glu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                  int64_t n, Activation act) {
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; i++) {
    float g = gate[i];
    float a, da;
    if (act == Activation::Silu) {
      float s = 1.0f / (1.0f + std::exp(-g));
      a = g * s;
      da = s * (1.0f + g * (1.0f - s));
    } else {
      float u = kSqrt2OverPi * (g + 0.044715f * g * g * g);
      float th = std::tanh(u);
      a = 0.5f * g * (1.0f + th);
      float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * g * g);
      da = 0.5f * (1.0f + th) + 0.5f * g * (1.0f - th * th) * du;
    }
    dgate[i] = dout[i] * up[i] * da;
    dup[i] = dout[i] * a;
  }
}

void softcap_forward(float* x, int64_t n, float cap) {
  const float inv = 1.0f / cap;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; i++) x[i] = cap * std::tanh(x[i] * inv);
}

}  // namespace loam

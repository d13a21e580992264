#include "kernels/activation.h"

#include <algorithm>
#include <cmath>

#include "kernels/cross_entropy.h"

namespace loam {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;

}  // namespace

void glu_forward(float* out, const float* gate, const float* up, int64_t n, Activation act) {
  // Chunks of 256: exponentials by the vectorized vec_exp, then elementwise.
  //   silu(g) = g / (1 + e^-g);  gelu_tanh(g) = g · e^{2u} / (e^{2u} + 1), u = √(2/π)(g + 0.044715 g³)
  constexpr int64_t kChunk = 256;
  const int64_t n_chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t c = 0; c < n_chunks; c++) {
    const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
    float e[kChunk];
    if (act == Activation::Silu) {
      for (int64_t i = 0; i < len; i++) e[i] = -gate[i0 + i];
      vec_exp(e, e, len);
      for (int64_t i = 0; i < len; i++) out[i0 + i] = gate[i0 + i] / (1.0f + e[i]) * up[i0 + i];
    } else {
      for (int64_t i = 0; i < len; i++) {
        const float g = gate[i0 + i];
        e[i] = std::min(2.0f * kSqrt2OverPi * (g + 0.044715f * g * g * g), 80.0f);
      }
      vec_exp(e, e, len);
      for (int64_t i = 0; i < len; i++) out[i0 + i] = gate[i0 + i] * (e[i] / (e[i] + 1.0f)) * up[i0 + i];
    }
  }
}

void glu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                  int64_t n, Activation act) {
  // Same chunking as the forward: the exponentials vectorized, then
  //   silu:      s = σ(g), a = g·s, a' = s·(1 + g·(1 − s))
  //   gelu_tanh: th = tanh(u) = (e^{2u} − 1)/(e^{2u} + 1), a = ½g(1 + th),
  //              a' = ½(1 + th) + ½g(1 − th²)·u'
  constexpr int64_t kChunk = 256;
  const int64_t n_chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t c = 0; c < n_chunks; c++) {
    const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
    float e[kChunk];
    if (act == Activation::Silu) {
      for (int64_t i = 0; i < len; i++) e[i] = -gate[i0 + i];
      vec_exp(e, e, len);
      for (int64_t i = 0; i < len; i++) {
        const float g = gate[i0 + i], s = 1.0f / (1.0f + e[i]);
        const float a = g * s, da = s * (1.0f + g * (1.0f - s));
        dgate[i0 + i] = dout[i0 + i] * up[i0 + i] * da;
        dup[i0 + i] = dout[i0 + i] * a;
      }
    } else {
      for (int64_t i = 0; i < len; i++) {
        const float g = gate[i0 + i];
        e[i] = std::clamp(2.0f * kSqrt2OverPi * (g + 0.044715f * g * g * g), -80.0f, 80.0f);
      }
      vec_exp(e, e, len);
      for (int64_t i = 0; i < len; i++) {
        const float g = gate[i0 + i], th = (e[i] - 1.0f) / (e[i] + 1.0f);
        const float a = 0.5f * g * (1.0f + th);
        const float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * g * g);
        const float da = 0.5f * (1.0f + th) + 0.5f * g * (1.0f - th * th) * du;
        dgate[i0 + i] = dout[i0 + i] * up[i0 + i] * da;
        dup[i0 + i] = dout[i0 + i] * a;
      }
    }
  }
}

void softcap_forward(float* x, int64_t n, float cap) {
  const float inv = 1.0f / cap;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; i++) x[i] = cap * std::tanh(x[i] * inv);
}

}  // namespace loam

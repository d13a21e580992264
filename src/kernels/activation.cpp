#include "kernels/activation.h"

#include <algorithm>
#include <cmath>

#include "kernels/cross_entropy.h"

namespace loam {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;

// GLU over n elements in chunks of kChunk (parallel when large): the
// exponentials of a chunk by the vectorized vec_exp, then `finish` per element.
//   silu:      e = e^-g,   σ(g) = 1 / (1 + e)
//   gelu_tanh: e = e^{2u}, tanh(u) = (e − 1) / (e + 1), u = √(2/π)(g + 0.044715 g³)
constexpr int64_t kChunk = 256;

template <typename Finish>
void glu_chunks(const float* gate, int64_t n, Activation act, Finish finish) {
  const int64_t n_chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t c = 0; c < n_chunks; c++) {
    const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
    float e[kChunk];
    for (int64_t i = 0; i < len; i++) {
      const float g = gate[i0 + i];
      e[i] = act == Activation::Silu ? -g
                                     : std::clamp(2.0f * kSqrt2OverPi * (g + 0.044715f * g * g * g), -80.0f, 80.0f);
    }
    vec_exp(e, e, len);
    for (int64_t i = 0; i < len; i++) finish(i0 + i, e[i]);
  }
}

}  // namespace

void glu_forward(float* out, const float* gate, const float* up, int64_t n, Activation act) {
  //   silu(g) = g · σ(g);  gelu_tanh(g) = g · e^{2u} / (e^{2u} + 1)
  if (act == Activation::Silu)
    glu_chunks(gate, n, act, [&](int64_t i, float e) { out[i] = gate[i] / (1.0f + e) * up[i]; });
  else
    glu_chunks(gate, n, act, [&](int64_t i, float e) { out[i] = gate[i] * (e / (e + 1.0f)) * up[i]; });
}

void glu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                  int64_t n, Activation act) {
  //   silu:      s = σ(g), a = g·s, a' = s·(1 + g·(1 − s))
  //   gelu_tanh: th = tanh(u), a = ½g(1 + th), a' = ½(1 + th) + ½g(1 − th²)·u'
  if (act == Activation::Silu)
    glu_chunks(gate, n, act, [&](int64_t i, float e) {
      const float g = gate[i], s = 1.0f / (1.0f + e);
      const float a = g * s, da = s * (1.0f + g * (1.0f - s));
      dgate[i] = dout[i] * up[i] * da;
      dup[i] = dout[i] * a;
    });
  else
    glu_chunks(gate, n, act, [&](int64_t i, float e) {
      const float g = gate[i], th = (e - 1.0f) / (e + 1.0f);
      const float a = 0.5f * g * (1.0f + th);
      const float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * g * g);
      const float da = 0.5f * (1.0f + th) + 0.5f * g * (1.0f - th * th) * du;
      dgate[i] = dout[i] * up[i] * da;
      dup[i] = dout[i] * a;
    });
}

void softcap_forward(float* x, int64_t n, float cap) {
  const float inv = 1.0f / cap;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; i++) x[i] = cap * std::tanh(x[i] * inv);
}

}  // namespace loam

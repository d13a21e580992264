#include "kernels/rope.h"

#include <cmath>
#include <vector>

namespace loam {
namespace {

void rope_apply(float* x, const int32_t* positions, const float* inv_freq, int64_t n_tokens,
                int64_t n_heads, int64_t head_dim, RopePairing pairing, float sign) {
  const int64_t half = head_dim / 2;
#pragma omp parallel for schedule(static) if (n_tokens > 4)
  for (int64_t t = 0; t < n_tokens; t++) {
    float cs[512], sn[512];  // head_dim <= 1024
    for (int64_t i = 0; i < half; i++) {
      // The reference forms freqs = pos * inv_freq in fp32, then cos/sin.
      float angle = static_cast<float>(positions[t]) * inv_freq[i];
      cs[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sn[i] = sign * static_cast<float>(std::sin(static_cast<double>(angle)));
    }
    for (int64_t h = 0; h < n_heads; h++) {
      float* v = x + (t * n_heads + h) * head_dim;
      for (int64_t i = 0; i < half; i++) {
        int64_t a = pairing == RopePairing::Half ? i : 2 * i;
        int64_t b = pairing == RopePairing::Half ? i + half : 2 * i + 1;
        float x0 = v[a], x1 = v[b];
        v[a] = x0 * cs[i] - x1 * sn[i];
        v[b] = x1 * cs[i] + x0 * sn[i];
      }
    }
  }
}

}  // namespace

void rope_forward(float* x, const int32_t* positions, const float* inv_freq, int64_t n_tokens,
                  int64_t n_heads, int64_t head_dim, RopePairing pairing) {
  rope_apply(x, positions, inv_freq, n_tokens, n_heads, head_dim, pairing, 1.0f);
}

void rope_backward(float* dx, const int32_t* positions, const float* inv_freq, int64_t n_tokens,
                   int64_t n_heads, int64_t head_dim, RopePairing pairing) {
  rope_apply(dx, positions, inv_freq, n_tokens, n_heads, head_dim, pairing, -1.0f);
}

}  // namespace loam

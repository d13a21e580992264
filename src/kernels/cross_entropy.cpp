#include "kernels/cross_entropy.h"

#include <cmath>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace loam {

#if defined(__AVX512F__)
namespace {

// exp(x) = 2^k · exp(r), x = k ln2 + r, |r| <= ln2/2; exp(r) by a degree-6
// polynomial (Cephes coefficients); inputs clamped to the float range.
inline __m512 exp512(__m512 x) {
  const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-87.3365447504f);
  const __mmask16 normal = _mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ);  // below: the result flushes to 0
  x = _mm512_max_ps(_mm512_min_ps(x, hi), lo);
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_maskz_mov_ps(normal, _mm512_scalef_ps(p, k));
}

}  // namespace
#endif

void vec_exp(float* out, const float* x, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, exp512(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(out + i, m, exp512(_mm512_maskz_loadu_ps(m, x + i)));
    i = n;
  }
#endif
  for (; i < n; i++) out[i] = std::exp(x[i]);
}

CrossEntropyRow cross_entropy_row(float* z, int64_t V, int32_t target, float grad_scale, bool write_grad) {
  int64_t arg = 0;
  for (int64_t v = 1; v < V; v++)
    if (z[v] > z[arg]) arg = v;
  const float mx = z[arg];
  const float zt = z[target];
  // Shift, exponentiate in place, sum in double.
  for (int64_t v = 0; v < V; v++) z[v] -= mx;
  vec_exp(z, z, V);
  double sum = 0.0;
  for (int64_t v = 0; v < V; v++) sum += z[v];
  const double lse = static_cast<double>(mx) + std::log(sum);
  if (write_grad) {
    const float inv = static_cast<float>(grad_scale / sum);
    for (int64_t v = 0; v < V; v++) z[v] *= inv;
    z[target] -= grad_scale;
  }
  return {lse - zt, arg};
}

}  // namespace loam

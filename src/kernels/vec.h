// Small vector primitives shared by the attention and loss kernels.
// AVX-512 where the build targets it, plain loops otherwise; same results up
// to float summation order.
#pragma once

#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace loam {

#if defined(__AVX512F__)
// Sum of the 16 lanes. Zero-masked shuffles instead of _mm512_reduce_add_ps,
// whose "undefined" operands trip GCC 12's -Wuninitialized (PR 105593).
inline float lane_sum(__m512 v) {
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(0xFFFF, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(0xFFFF, v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  __m128 x = _mm512_maskz_extractf32x4_ps(0xF, v, 0);
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}
#endif

inline float vec_dot(const float* a, const float* b, int64_t n) {
#if defined(__AVX512F__)
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16)
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  float s = lane_sum(_mm512_add_ps(acc0, acc1));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
#else
  float s = 0.0f;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
#endif
}

// y += a * x
inline void vec_axpy(float* y, float a, const float* x, int64_t n) {
#if defined(__AVX512F__)
  __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  for (; i < n; i++) y[i] += a * x[i];
#else
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
#endif
}

}  // namespace loam

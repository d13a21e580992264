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

// The 16 lane sums of a[0..15], in order, as one vector: a transposing tree
// of adds (45 instructions instead of 16 lane_sums). Masked forms for the
// same GCC 12 reason as above.
inline __m512 sums16(const __m512 (&a)[16]) {
  __m512 l1[8], l2[4], l3[2];
  for (int i = 0; i < 8; i++)  // per 128-bit lane: [even part, odd part, even, odd]
    l1[i] = _mm512_add_ps(_mm512_maskz_unpacklo_ps(0xFFFF, a[2 * i], a[2 * i + 1]),
                          _mm512_maskz_unpackhi_ps(0xFFFF, a[2 * i], a[2 * i + 1]));
  for (int i = 0; i < 4; i++) {  // per lane: partial sums of a[4i .. 4i+3]
    const __m512d p = _mm512_castps_pd(l1[2 * i]), q = _mm512_castps_pd(l1[2 * i + 1]);
    l2[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, p, q)),
                          _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, p, q)));
  }
  for (int i = 0; i < 2; i++)  // lanes 0-1: a[8i .. 8i+3], lanes 2-3: a[8i+4 .. 8i+7]
    l3[i] = _mm512_add_ps(_mm512_maskz_shuffle_f32x4(0xFFFF, l2[2 * i], l2[2 * i + 1], 0x88),
                          _mm512_maskz_shuffle_f32x4(0xFFFF, l2[2 * i], l2[2 * i + 1], 0xdd));
  return _mm512_add_ps(_mm512_maskz_shuffle_f32x4(0xFFFF, l3[0], l3[1], 0x88),
                       _mm512_maskz_shuffle_f32x4(0xFFFF, l3[0], l3[1], 0xdd));
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

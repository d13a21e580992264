// Row conversions between fp32 and stored weight formats (see quantize.h).
#include "kernels/quantize.h"

#include <cmath>
#include <cstring>

#include "core/dtype.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace loam {

void q8_0_quantize_row(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kQ8BlockSize; b++) {
    const float* xb = x + b * kQ8BlockSize;
    uint8_t* ob = out + b * kQ8BlockBytes;
    float amax = 0.0f;
    for (int i = 0; i < kQ8BlockSize; i++) amax = std::fmax(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;  // llama.cpp scales by 1/d of the fp32 d
    const uint16_t dh = f32_to_f16(d);
    std::memcpy(ob, &dh, 2);
    for (int i = 0; i < kQ8BlockSize; i++)
      ob[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(xb[i] * id)));
  }
}

void q8_0_dequantize_row(const uint8_t* in, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQ8BlockSize; b++) {
    const uint8_t* ib = in + b * kQ8BlockBytes;
    uint16_t dh;
    std::memcpy(&dh, ib, 2);
    const float d = f16_to_f32(dh);
    float* ob = out + b * kQ8BlockSize;
#if defined(__AVX512F__)
    const __m512 vd = _mm512_set1_ps(d);
    for (int h = 0; h < 2; h++) {
      __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ib + 2 + 16 * h));
      _mm512_storeu_ps(ob + 16 * h, _mm512_mul_ps(vd, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q))));
    }
#else
    for (int i = 0; i < kQ8BlockSize; i++) ob[i] = d * static_cast<float>(static_cast<int8_t>(ib[2 + i]));
#endif
  }
}

void f32_to_bf16_row(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
#if defined(__AVX512F__)
  // Integer RNE (same bits as f32_to_bf16, NaN quieted) rather than
  // vcvtneps2bf16, which flushes denormals.
  const __m512i round = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  for (; i + 16 <= n; i += 16) {
    __m512i u = _mm512_loadu_si512(x + i);
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(round, _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs_mask), inf);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x00400000)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16)));
  }
#endif
  for (; i < n; i++) out[i] = f32_to_bf16(x[i]);
}

void bf16_to_f32_row(const uint16_t* x, int64_t n, float* out) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    _mm512_storeu_si512(out + i, _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
#endif
  for (; i < n; i++) out[i] = bf16_to_f32(x[i]);
}

void f16_to_f32_row(const uint16_t* x, int64_t n, float* out) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
#endif
  for (; i < n; i++) out[i] = f16_to_f32(x[i]);
}

}  // namespace loam

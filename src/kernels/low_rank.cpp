#include "kernels/low_rank.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "core/dtype.h"
#include "kernels/vec.h"

namespace loam {

namespace {

// Below this many multiply-adds a call stays on one thread (fork/join ~3 µs).
constexpr int64_t kParallelWork = 1 << 15;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

#if defined(__AVX512F__)

__mmask16 tail_mask(int64_t left) { return left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1); }

// Sixteen factor entries as fp32, from fp32 or bf16 storage (masked-off
// lanes zero): a bf16 value is the high half of its fp32.
inline __m512 load_w(__mmask16 m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
inline __m512 load_w(__mmask16 m, const uint16_t* p) {
#if defined(__AVX512BW__) && defined(__AVX512VL__)
  const __m256i h = _mm256_maskz_loadu_epi16(m, p);
#else
  alignas(32) uint16_t tmp[16] = {};
  for (int i = 0; i < 16; i++)
    if (m >> i & 1) tmp[i] = p[i];
  const __m256i h = _mm256_load_si256(reinterpret_cast<const __m256i*>(tmp));
#endif
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Two token rows against JN rows of P: JN dot products each, over k.
template <int JN, typename W>
void project_tile(const float* x0, const float* x1, const W* p, int64_t k, float* u0, float* u1, float scale) {
  __m512 a0[JN], a1[JN];
  #pragma GCC unroll 8
  for (int j = 0; j < JN; j++) a0[j] = a1[j] = _mm512_setzero_ps();
  for (int64_t i = 0; i < k; i += 16) {
    const __mmask16 mk = tail_mask(k - i);
    const __m512 v0 = _mm512_maskz_loadu_ps(mk, x0 + i), v1 = _mm512_maskz_loadu_ps(mk, x1 + i);
    #pragma GCC unroll 8
    for (int j = 0; j < JN; j++) {
      const __m512 w = load_w(mk, p + j * k + i);
      a0[j] = _mm512_fmadd_ps(v0, w, a0[j]);
      a1[j] = _mm512_fmadd_ps(v1, w, a1[j]);
    }
  }
  #pragma GCC unroll 8
  for (int j = 0; j < JN; j++) {
    u0[j] = scale * lane_sum(a0[j]);
    u1[j] = scale * lane_sum(a1[j]);
  }
}

template <typename W>
using ProjectFn = void (*)(const float*, const float*, const W*, int64_t, float*, float*, float);
template <typename W>
constexpr ProjectFn<W> kProjectW[9] = {nullptr,
                                       project_tile<1, W>, project_tile<2, W>, project_tile<3, W>, project_tile<4, W>,
                                       project_tile<5, W>, project_tile<6, W>, project_tile<7, W>, project_tile<8, W>};
constexpr const ProjectFn<float>* kProject = kProjectW<float>;

// TN token rows of y += su · P, where su (TN, r) is already scaled.
template <int TN>
void expand_tile(float* y, const float* su, const float* p, int64_t r, int64_t m) {
  for (int64_t i = 0; i < m; i += 32) {
    const __mmask16 m0 = tail_mask(m - i), m1 = tail_mask(std::max<int64_t>(0, m - i - 16));
    __m512 acc[TN][2];
    #pragma GCC unroll 8
    for (int t = 0; t < TN; t++) {
      acc[t][0] = _mm512_maskz_loadu_ps(m0, y + t * m + i);
      acc[t][1] = _mm512_maskz_loadu_ps(m1, y + t * m + i + 16);
    }
    for (int64_t j = 0; j < r; j++) {
      const __m512 w0 = _mm512_maskz_loadu_ps(m0, p + j * m + i), w1 = _mm512_maskz_loadu_ps(m1, p + j * m + i + 16);
      #pragma GCC unroll 8
      for (int t = 0; t < TN; t++) {
        const __m512 b = _mm512_set1_ps(su[t * r + j]);
        acc[t][0] = _mm512_fmadd_ps(b, w0, acc[t][0]);
        acc[t][1] = _mm512_fmadd_ps(b, w1, acc[t][1]);
      }
    }
    #pragma GCC unroll 8
    for (int t = 0; t < TN; t++) {
      _mm512_mask_storeu_ps(y + t * m + i, m0, acc[t][0]);
      _mm512_mask_storeu_ps(y + t * m + i + 16, m1, acc[t][1]);
    }
  }
}

using ExpandFn = void (*)(float*, const float*, const float*, int64_t, int64_t);
constexpr ExpandFn kExpand[5] = {nullptr, expand_tile<1>, expand_tile<2>, expand_tile<3>, expand_tile<4>};

// Rows j0 ... j0+JN of g, columns c0 ... c0+32, over tn token rows:
// g += Σ_t su[t, j] y[t, :], with su (tn, r) already scaled.
template <int JN>
void outer_tile(float* g, const float* su, const float* y, int64_t tn, int64_t r, int64_t m, int64_t j0, int64_t c0) {
  const __mmask16 m0 = tail_mask(m - c0), m1 = tail_mask(std::max<int64_t>(0, m - c0 - 16));
  __m512 acc[JN][2];
  #pragma GCC unroll 8
  for (int j = 0; j < JN; j++) {
    acc[j][0] = _mm512_maskz_loadu_ps(m0, g + (j0 + j) * m + c0);
    acc[j][1] = _mm512_maskz_loadu_ps(m1, g + (j0 + j) * m + c0 + 16);
  }
  for (int64_t t = 0; t < tn; t++) {
    const __m512 y0 = _mm512_maskz_loadu_ps(m0, y + t * m + c0), y1 = _mm512_maskz_loadu_ps(m1, y + t * m + c0 + 16);
    #pragma GCC unroll 8
    for (int j = 0; j < JN; j++) {
      const __m512 b = _mm512_set1_ps(su[t * r + j0 + j]);
      acc[j][0] = _mm512_fmadd_ps(b, y0, acc[j][0]);
      acc[j][1] = _mm512_fmadd_ps(b, y1, acc[j][1]);
    }
  }
  #pragma GCC unroll 8
  for (int j = 0; j < JN; j++) {
    _mm512_mask_storeu_ps(g + (j0 + j) * m + c0, m0, acc[j][0]);
    _mm512_mask_storeu_ps(g + (j0 + j) * m + c0 + 16, m1, acc[j][1]);
  }
}

using OuterFn = void (*)(float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t);
constexpr OuterFn kOuter[9] = {nullptr,       outer_tile<1>, outer_tile<2>, outer_tile<3>, outer_tile<4>,
                               outer_tile<5>, outer_tile<6>, outer_tile<7>, outer_tile<8>};

#endif

}  // namespace

void rank_project(float* u, const float* x, const float* p, int64_t n, int64_t k, int64_t r, float scale) {
  const int64_t pairs = ceil_div(n, 2);
#pragma omp parallel for schedule(static) if (n * k * r > kParallelWork)
  for (int64_t q = 0; q < pairs; q++) {
    const int64_t t0 = 2 * q, t1 = std::min(t0 + 1, n - 1);  // an odd last row is computed twice
#if defined(__AVX512F__)
    float tmp[8];
    for (int64_t j0 = 0; j0 < r; j0 += 8) {
      const int jn = static_cast<int>(std::min<int64_t>(8, r - j0));
      float* u1 = t1 != t0 ? u + t1 * r + j0 : tmp;
      kProject[jn](x + t0 * k, x + t1 * k, p + j0 * k, k, u + t0 * r + j0, u1, scale);
    }
#else
    for (int64_t t = t0; t <= t1; t++)
      for (int64_t j = 0; j < r; j++) u[t * r + j] = scale * vec_dot(x + t * k, p + j * k, k);
#endif
  }
}

void rank_expand(float* y, const float* u, const float* p, int64_t n, int64_t r, int64_t m, float scale) {
  constexpr int64_t kRows = 4;
  const int64_t groups = ceil_div(n, kRows);
#pragma omp parallel for schedule(static) if (n * m * r > kParallelWork)
  for (int64_t q = 0; q < groups; q++) {
    const int64_t t0 = q * kRows, tn = std::min(kRows, n - t0);
#if defined(__AVX512F__)
    float su[kRows * 256];  // ranks above 256 go in slices
    for (int64_t j0 = 0; j0 < r; j0 += 256) {
      const int64_t rj = std::min<int64_t>(256, r - j0);
      for (int64_t t = 0; t < tn; t++)
        for (int64_t j = 0; j < rj; j++) su[t * rj + j] = scale * u[(t0 + t) * r + j0 + j];
      kExpand[tn](y + t0 * m, su, p + j0 * m, rj, m);
    }
#else
    for (int64_t t = t0; t < t0 + tn; t++)
      for (int64_t j = 0; j < r; j++) vec_axpy(y + t * m, scale * u[t * r + j], p + j * m, m);
#endif
  }
}

void rank_outer(float* g, const float* u, const float* y, int64_t n, int64_t r, int64_t m, float scale) {
  // Each thread owns a contiguous range of g's columns and walks the token
  // rows in order, a block at a time, so y streams row by row (a column
  // strip per pass over all rows waited on memory at every row).
  constexpr int64_t kCols = 32, kRows = 16;
  const int64_t blocks = ceil_div(m, kCols);
#pragma omp parallel if (n * m * r > kParallelWork)
  {
    const int nth = omp_get_num_threads(), tid = omp_get_thread_num();
    const int64_t b0 = blocks * tid / nth, b1 = blocks * (tid + 1) / nth;
    const int64_t rs = std::min<int64_t>(r, 256);
    float su[kRows * 256];  // the row block's u times scale, for ranks above 256 in slices
    for (int64_t t0 = 0; t0 < n; t0 += kRows) {
      const int64_t tn = std::min(kRows, n - t0);
      for (int64_t s0 = 0; s0 < r; s0 += rs) {
        const int64_t sn = std::min(rs, r - s0);
        for (int64_t t = 0; t < tn; t++)
          for (int64_t j = 0; j < sn; j++) su[t * sn + j] = scale * u[(t0 + t) * r + s0 + j];
        for (int64_t b = b0; b < b1; b++) {
#if defined(__AVX512F__)
          for (int64_t j0 = 0; j0 < sn; j0 += 8)
            kOuter[std::min<int64_t>(8, sn - j0)](g + s0 * m, su, y + t0 * m, tn, sn, m, j0, b * kCols);
#else
          const int64_t c0 = b * kCols, cn = std::min(kCols, m - c0);
          for (int64_t t = 0; t < tn; t++)
            for (int64_t j = 0; j < sn; j++) vec_axpy(g + (s0 + j) * m + c0, su[t * sn + j], y + (t0 + t) * m + c0, cn);
#endif
        }
      }
    }
  }
}

void rank_expand_rows_serial(float* y, int64_t ldy, const float* u, const float* b, int64_t n, int64_t r,
                             int64_t o0, int64_t o1, float scale) {
  constexpr int64_t kCols = 32;
  float bt[64 * kCols];  // Bᵀ of a block of outputs: (r, kCols)
  for (int64_t c0 = o0; c0 < o1; c0 += kCols) {
    const int64_t nb = std::min(kCols, o1 - c0);
    for (int64_t c = 0; c < nb; c++)
      for (int64_t j = 0; j < r; j++) bt[j * kCols + c] = b[(c0 + c) * r + j];
#if defined(__AVX512F__)
    const __mmask16 m0 = tail_mask(nb), m1 = tail_mask(std::max<int64_t>(0, nb - 16));
    for (int64_t t = 0; t < n; t++) {
      float* yt = y + t * ldy + c0;
      __m512 a0 = _mm512_maskz_loadu_ps(m0, yt), a1 = _mm512_maskz_loadu_ps(m1, yt + 16);
      for (int64_t j = 0; j < r; j++) {
        const __m512 c = _mm512_set1_ps(scale * u[t * r + j]);
        a0 = _mm512_fmadd_ps(c, _mm512_loadu_ps(bt + j * kCols), a0);
        a1 = _mm512_fmadd_ps(c, _mm512_loadu_ps(bt + j * kCols + 16), a1);
      }
      _mm512_mask_storeu_ps(yt, m0, a0);
      _mm512_mask_storeu_ps(yt + 16, m1, a1);
    }
#else
    for (int64_t t = 0; t < n; t++)
      for (int64_t j = 0; j < r; j++) vec_axpy(y + t * ldy + c0, scale * u[t * r + j], bt + j * kCols, nb);
#endif
  }
}

#if defined(__AVX512F__)
// TN (<= 8) rows of y, columns [c0, c1): y[t, c] += Σ_j su[t, j] · bt[j, c],
// each 32-column block of bt loaded once for all TN rows.
template <int TN, typename W>
void expand_cols(float* y, int64_t ldy, const float* su, int64_t r, const W* bt, int64_t ldb, int64_t c0,
                 int64_t c1) {
  for (int64_t c = c0; c < c1; c += 32) {
    const __mmask16 m0 = tail_mask(c1 - c), m1 = tail_mask(std::max<int64_t>(0, c1 - c - 16));
    __m512 acc[TN][2];
    #pragma GCC unroll 8
    for (int t = 0; t < TN; t++) {
      acc[t][0] = _mm512_maskz_loadu_ps(m0, y + t * ldy + c);
      acc[t][1] = _mm512_maskz_loadu_ps(m1, y + t * ldy + c + 16);
    }
    for (int64_t j = 0; j < r; j++) {
      const __m512 w0 = load_w(m0, bt + j * ldb + c), w1 = load_w(m1, bt + j * ldb + c + 16);
      #pragma GCC unroll 8
      for (int t = 0; t < TN; t++) {
        const __m512 b = _mm512_set1_ps(su[t * r + j]);
        acc[t][0] = _mm512_fmadd_ps(b, w0, acc[t][0]);
        acc[t][1] = _mm512_fmadd_ps(b, w1, acc[t][1]);
      }
    }
    #pragma GCC unroll 8
    for (int t = 0; t < TN; t++) {
      _mm512_mask_storeu_ps(y + t * ldy + c, m0, acc[t][0]);
      _mm512_mask_storeu_ps(y + t * ldy + c + 16, m1, acc[t][1]);
    }
  }
}

template <typename W>
using ExpandColsFn = void (*)(float*, int64_t, const float*, int64_t, const W*, int64_t, int64_t, int64_t);
template <typename W>
constexpr ExpandColsFn<W> kExpandCols[9] = {nullptr,           expand_cols<1, W>, expand_cols<2, W>,
                                            expand_cols<3, W>, expand_cols<4, W>, expand_cols<5, W>,
                                            expand_cols<6, W>, expand_cols<7, W>, expand_cols<8, W>};
#endif

namespace {

inline float w_at(const float* p, int64_t i) { return p[i]; }
inline float w_at(const uint16_t* p, int64_t i) { return bf16_to_f32(p[i]); }

template <typename W>
void expand_rows_t(float* y, int64_t ldy, const float* u, const W* bt, int64_t m, int64_t n, int64_t r, int64_t o0,
                   int64_t o1, float scale) {
#if defined(__AVX512F__)
  float su[8 * 64];  // a group of rows' u times scale (r <= 64)
  for (int64_t t0 = 0; t0 < n; t0 += 8) {
    const int64_t tn = std::min<int64_t>(8, n - t0);
    for (int64_t i = 0; i < tn * r; i++) su[i] = scale * u[t0 * r + i];
    kExpandCols<W>[tn](y + t0 * ldy, ldy, su, r, bt, m, o0, o1);
  }
#else
  for (int64_t t = 0; t < n; t++)
    for (int64_t j = 0; j < r; j++)
      for (int64_t o = o0; o < o1; o++) y[t * ldy + o] += scale * u[t * r + j] * w_at(bt, j * m + o);
#endif
}

template <typename W>
void project_rows(float* u, const float* x, const W* p, int64_t n, int64_t k, int64_t r, float scale) {
  for (int64_t t0 = 0; t0 < n; t0 += 2) {
    const int64_t t1 = std::min(t0 + 1, n - 1);
#if defined(__AVX512F__)
    float tmp[8];
    for (int64_t j0 = 0; j0 < r; j0 += 8) {
      const int jn = static_cast<int>(std::min<int64_t>(8, r - j0));
      float* u1 = t1 != t0 ? u + t1 * r + j0 : tmp;
      kProjectW<W>[jn](x + t0 * k, x + t1 * k, p + j0 * k, k, u + t0 * r + j0, u1, scale);
    }
#else
    for (int64_t t = t0; t <= t1; t++)
      for (int64_t j = 0; j < r; j++) {
        float acc = 0.0f;
        for (int64_t i = 0; i < k; i++) acc += x[t * k + i] * w_at(p, j * k + i);
        u[t * r + j] = scale * acc;
      }
#endif
  }
}

}  // namespace

void rank_expand_rows_serial_t(float* y, int64_t ldy, const float* u, const float* bt, int64_t m, int64_t n,
                               int64_t r, int64_t o0, int64_t o1, float scale) {
  expand_rows_t(y, ldy, u, bt, m, n, r, o0, o1, scale);
}

void rank_expand_rows_serial_t(float* y, int64_t ldy, const float* u, const uint16_t* bt, int64_t m, int64_t n,
                               int64_t r, int64_t o0, int64_t o1, float scale) {
  expand_rows_t(y, ldy, u, bt, m, n, r, o0, o1, scale);
}

void rank_project_serial(float* u, const float* x, const float* p, int64_t n, int64_t k, int64_t r, float scale) {
  project_rows(u, x, p, n, k, r, scale);
}

void rank_project_serial(float* u, const float* x, const uint16_t* p, int64_t n, int64_t k, int64_t r, float scale) {
  project_rows(u, x, p, n, k, r, scale);
}

}  // namespace loam

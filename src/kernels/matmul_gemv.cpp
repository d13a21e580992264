// Dot-product GEMV for the matmul kernels: y[t][n] (+)= <x[t], W[n]> for a
// handful of tokens (decode and small batches), reading the weights in place.
//
// Each call streams W once from memory, so the aim is to run at memory
// bandwidth: rows are read one after the other (one sequential stream per
// thread), each 16-wide weight vector is converted once to fp32 and used for
// all tokens of a tile (T x U zmm accumulators), then reduced horizontally.
// Rows are handed to the threads in chunks.
// Exact mode: weights are widened exactly (bf16 by a shift, f16 by vcvtph2ps,
// Q8_0 as d*q), fp32 FMAs. Bf16 mode (BF16 weights): x rounded to bf16 once per
// call, vdpbf16ps on 32 weights at a time.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "kernels/low_rank.h"
#include "kernels/matmul_kernels.h"
#include "kernels/vec.h"
#include "kernels/quantize.h"
#include "kernels/threading.h"

#include <immintrin.h>
#include <omp.h>

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 false positive in avx512 headers

namespace loam {
namespace {

// Software prefetch of the weight stream this far ahead, into L2: measured
// +20-25% GB/s over the hardware prefetchers alone for 2-thread decode here
// (rows are contiguous, so reading ahead runs into the next rows).
constexpr int64_t kPrefetchBytes = 8192;
constexpr int64_t kGemvBf16MinTokens = 4;

// Prefetch the n bytes (a multiple of 64) that follow p + kPrefetchBytes.
inline void prefetch_ahead(const char* p, int n) {
  for (int i = 0; i < n; i += 64) _mm_prefetch(p + kPrefetchBytes + i, _MM_HINT_T2);
}

// 16 weights of row `row` from column k as fp32 (mask: the valid lanes).
struct LoadF32 {
  static constexpr int kBytes = 4;
  const float* w;
  int64_t K;
  const char* at(int64_t row, int64_t k) const { return reinterpret_cast<const char*>(w + row * K + k); }
  __m512 operator()(int64_t row, int64_t k, __mmask16 m) const {
    return _mm512_maskz_loadu_ps(m, w + row * K + k);
  }
};
struct LoadBf16 {
  static constexpr int kBytes = 2;
  const uint16_t* w;
  int64_t K;
  const char* at(int64_t row, int64_t k) const { return reinterpret_cast<const char*>(w + row * K + k); }
  __m512 operator()(int64_t row, int64_t k, __mmask16 m) const {
    __m256i h = _mm256_maskz_loadu_epi16(m, w + row * K + k);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
};
struct LoadF16 {
  static constexpr int kBytes = 2;
  const uint16_t* w;
  int64_t K;
  const char* at(int64_t row, int64_t k) const { return reinterpret_cast<const char*>(w + row * K + k); }
  __m512 operator()(int64_t row, int64_t k, __mmask16 m) const {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + row * K + k));
  }
};

template <int T, int U>
void store_sums(__m512 (&acc)[T][U], float* y, int64_t ldy, bool accumulate) {
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++) {
    __m512 v = acc[t][0];
    #pragma GCC unroll 8
    for (int u = 1; u < U; u++) v = _mm512_add_ps(v, acc[t][u]);
    const float s = lane_sum(v);
    y[t * ldy] = accumulate ? y[t * ldy] + s : s;
  }
}

// One row against T tokens; U independent accumulator chains along k.
template <int T, int U, typename Load>
void row_dense(const Load load, int64_t row, const float* x, int64_t K, float* y, int64_t ldy,
               bool accumulate) {
  __m512 acc[T][U];
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++)
    #pragma GCC unroll 8
    for (int u = 0; u < U; u++) acc[t][u] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 * U <= K; k += 16 * U) {
    prefetch_ahead(load.at(row, k), 16 * U * Load::kBytes);
    #pragma GCC unroll 8
    for (int u = 0; u < U; u++) {
      const __m512 wv = load(row, k + 16 * u, 0xffff);
      #pragma GCC unroll 8
      for (int t = 0; t < T; t++)
        acc[t][u] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + t * K + k + 16 * u), acc[t][u]);
    }
  }
  for (; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? 0xffff : static_cast<__mmask16>((1u << (K - k)) - 1);
    const __m512 wv = load(row, k, m);
    #pragma GCC unroll 8
    for (int t = 0; t < T; t++)
      acc[t][0] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + t * K + k), acc[t][0]);
  }
  store_sums<T, U>(acc, y, ldy, accumulate);
}

// Q8_0 row: per 32-block, q widened to fp32 and scaled by d, then FMAs;
// U/2 blocks per step.
template <int T, int U>
void row_q8(const uint8_t* w, int64_t row, const float* x, int64_t K, float* y, int64_t ldy,
            bool accumulate) {
  static_assert(U % 2 == 0);
  const int64_t n_blocks = K / kQ8BlockSize;
  const uint8_t* wr = w + row * n_blocks * kQ8BlockBytes;
  __m512 acc[T][U];
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++)
    #pragma GCC unroll 8
    for (int u = 0; u < U; u++) acc[t][u] = _mm512_setzero_ps();
  auto block = [&](int64_t b, int u0) {
    const uint8_t* blk = wr + b * kQ8BlockBytes;
    uint16_t dh;
    std::memcpy(&dh, blk, 2);
    const __m512 d = _mm512_set1_ps(_cvtsh_ss(dh));
    // Two 16-byte loads fold into vpmovsxbd (one 32-byte load would need an extract).
    const __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2))));
    const __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 18))));
    if constexpr (T == 1) {
      // One token: d * (q·x) per block, one multiply fewer than (d*q)·x.
      const __m512 s = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x + b * 32 + 16), _mm512_mul_ps(q0, _mm512_loadu_ps(x + b * 32)));
      acc[0][u0] = _mm512_fmadd_ps(s, d, acc[0][u0]);
    } else {
      const __m512 w0 = _mm512_mul_ps(d, q0), w1 = _mm512_mul_ps(d, q1);
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        acc[t][u0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + t * K + b * 32), acc[t][u0]);
        acc[t][u0 + 1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + t * K + b * 32 + 16), acc[t][u0 + 1]);
      }
    }
  };
  int64_t b = 0;
  for (; b + U / 2 <= n_blocks; b += U / 2) {
    prefetch_ahead(reinterpret_cast<const char*>(wr + b * kQ8BlockBytes), (U / 2 * kQ8BlockBytes + 63) / 64 * 64);
    #pragma GCC unroll 8
    for (int u = 0; u < U / 2; u++) block(b + u, 2 * u);
  }
  for (; b < n_blocks; b++) block(b, 0);
  store_sums<T, U>(acc, y, ldy, accumulate);
}

// Bf16 mode: xh is x rounded to bf16, rows padded to Kp (multiple of 32, zeros).
template <int T, int U>
void row_bf16dot(const uint16_t* w, int64_t row, const uint16_t* xh, int64_t K, int64_t Kp,
                 float* y, int64_t ldy, bool accumulate) {
  const uint16_t* wr = w + row * K;
  __m512 acc[T][U];
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++)
    #pragma GCC unroll 8
    for (int u = 0; u < U; u++) acc[t][u] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 * U <= K; k += 32 * U) {
    prefetch_ahead(reinterpret_cast<const char*>(wr + k), 64 * U);
    #pragma GCC unroll 8
    for (int u = 0; u < U; u++) {
      const __m512bh wv = (__m512bh)_mm512_loadu_si512(wr + k + 32 * u);
      #pragma GCC unroll 8
      for (int t = 0; t < T; t++)
        acc[t][u] = _mm512_dpbf16_ps(acc[t][u], wv, (__m512bh)_mm512_load_si512(xh + t * Kp + k + 32 * u));
    }
  }
  for (; k < K; k += 32) {
    const __mmask32 m = K - k >= 32 ? 0xffffffffu : static_cast<__mmask32>((1u << (K - k)) - 1);
    const __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(m, wr + k);
    #pragma GCC unroll 8
    for (int t = 0; t < T; t++)
      acc[t][0] = _mm512_dpbf16_ps(acc[t][0], wv, (__m512bh)_mm512_load_si512(xh + t * Kp + k));
  }
  store_sums<T, U>(acc, y, ldy, accumulate);
}

// Bf16 mode, R <= 4 rows x T <= 4 tokens at a time: each x vector loaded
// once for R rows and each weight vector once for T tokens (a row at a time
// needed a load per vdpbf16ps: 5 loads for 4), and one transposing
// reduction for all R x T sums.
template <int R, int T>
void rows_bf16dot(const uint16_t* w, int64_t row, const uint16_t* xh, int64_t K, int64_t Kp, float* y,
                  int64_t ldy, bool accumulate) {
  __m512 acc[16];  // acc[4 t + r]
  #pragma GCC unroll 16
  for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
  const uint16_t* wr[R];
  #pragma GCC unroll 4
  for (int r = 0; r < R; r++) wr[r] = w + (row + r) * K;
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh wv[R];
    #pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      prefetch_ahead(reinterpret_cast<const char*>(wr[r] + k), 64);
      wv[r] = (__m512bh)_mm512_loadu_si512(wr[r] + k);
    }
    #pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
      const __m512bh xv = (__m512bh)_mm512_load_si512(xh + t * Kp + k);
      #pragma GCC unroll 4
      for (int r = 0; r < R; r++) acc[4 * t + r] = _mm512_dpbf16_ps(acc[4 * t + r], wv[r], xv);
    }
  }
  if (k < K) {
    const __mmask32 m = static_cast<__mmask32>((1u << (K - k)) - 1);
    __m512bh wv[R];
    #pragma GCC unroll 4
    for (int r = 0; r < R; r++) wv[r] = (__m512bh)_mm512_maskz_loadu_epi16(m, wr[r] + k);
    #pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
      const __m512bh xv = (__m512bh)_mm512_load_si512(xh + t * Kp + k);
      #pragma GCC unroll 4
      for (int r = 0; r < R; r++) acc[4 * t + r] = _mm512_dpbf16_ps(acc[4 * t + r], wv[r], xv);
    }
  }
  alignas(64) float sums[16];
  _mm512_store_ps(sums, sums16(acc));
  #pragma GCC unroll 4
  for (int t = 0; t < T; t++)
    #pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      float& o = y[t * ldy + r];
      o = accumulate ? o + sums[4 * t + r] : sums[4 * t + r];
    }
}

template <int R>
void rows_bf16dot_tokens(const uint16_t* w, int64_t row, const uint16_t* xh, int64_t T, int64_t K, int64_t Kp,
                         float* y, int64_t ldy, bool accumulate) {
  for (int64_t t0 = 0; t0 < T; t0 += 4) {
    const uint16_t* x = xh + t0 * Kp;
    float* yt = y + t0 * ldy;
    switch (std::min<int64_t>(4, T - t0)) {
      case 1: rows_bf16dot<R, 1>(w, row, x, K, Kp, yt, ldy, accumulate); break;
      case 2: rows_bf16dot<R, 2>(w, row, x, K, Kp, yt, ldy, accumulate); break;
      case 3: rows_bf16dot<R, 3>(w, row, x, K, Kp, yt, ldy, accumulate); break;
      default: rows_bf16dot<R, 4>(w, row, x, K, Kp, yt, ldy, accumulate); break;
    }
  }
}

struct GemvArgs {
  const WeightView* w;
  const float* x;
  const uint16_t* xh;  // Bf16 mode only
  int64_t Kp;
  float* y;
  bool accumulate;
};

// Row n for tokens [t0, t0 + T).
template <int T, int U>
void row_any(const GemvArgs& a, int64_t n, int64_t t0) {
  const WeightView& w = *a.w;
  const int64_t K = w.n_cols, N = w.n_rows;
  const float* x = a.x + t0 * K;
  float* y = a.y + t0 * N + n;
  switch (w.dtype) {
    case DType::F32: row_dense<T, U>(LoadF32{static_cast<const float*>(w.data), K}, n, x, K, y, N, a.accumulate); return;
    case DType::F16: row_dense<T, U>(LoadF16{static_cast<const uint16_t*>(w.data), K}, n, x, K, y, N, a.accumulate); return;
    case DType::Q8_0: row_q8<T, U>(static_cast<const uint8_t*>(w.data), n, x, K, y, N, a.accumulate); return;
    case DType::BF16:
      if (a.xh) row_bf16dot<T, U>(static_cast<const uint16_t*>(w.data), n, a.xh + t0 * a.Kp, K, a.Kp, y, N, a.accumulate);
      else row_dense<T, U>(LoadBf16{static_cast<const uint16_t*>(w.data), K}, n, x, K, y, N, a.accumulate);
      return;
    default: return;
  }
}

// Rows [r0, r1) one after the other (a single sequential stream through W
// measured ~1.6x faster than interleaving 8 rows); within a row, token tiles
// of at most 4 reuse the row from L1.
void rows_all_tokens(const GemvArgs& a, int64_t T, int64_t r0, int64_t r1) {
  if (a.xh && a.w->dtype == DType::BF16) {  // Bf16 mode: 4 rows at a time
    const auto* w = static_cast<const uint16_t*>(a.w->data);
    const int64_t K = a.w->n_cols, N = a.w->n_rows;
    int64_t n = r0;
    for (; n + 4 <= r1; n += 4) rows_bf16dot_tokens<4>(w, n, a.xh, T, K, a.Kp, a.y + n, N, a.accumulate);
    switch (r1 - n) {
      case 1: rows_bf16dot_tokens<1>(w, n, a.xh, T, K, a.Kp, a.y + n, N, a.accumulate); break;
      case 2: rows_bf16dot_tokens<2>(w, n, a.xh, T, K, a.Kp, a.y + n, N, a.accumulate); break;
      case 3: rows_bf16dot_tokens<3>(w, n, a.xh, T, K, a.Kp, a.y + n, N, a.accumulate); break;
      default: break;
    }
    return;
  }
  for (int64_t n = r0; n < r1; n++)
    for (int64_t t0 = 0; t0 < T; t0 += 4) {
      switch (std::min<int64_t>(4, T - t0)) {
        case 1: row_any<1, 4>(a, n, t0); break;
        case 2: row_any<2, 2>(a, n, t0); break;
        case 3: row_any<3, 2>(a, n, t0); break;
        default: row_any<4, 2>(a, n, t0); break;
      }
    }
}

// Asks for the cache lines of [begin, end).
void prefetch_lines(const void* begin, const void* end) {
  const uintptr_t last = reinterpret_cast<uintptr_t>(end) - 1;
  for (uintptr_t p = reinterpret_cast<uintptr_t>(begin) & ~uintptr_t{63}; p <= last; p += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
}

// Asks for the block of Bᵀ (columns [r0, r1) of its r rows) that a chunk's
// low-rank term will read once the chunk's rows are computed: r rows far
// apart in memory, which the hardware prefetcher does not follow, and whose
// misses cost more than the expansion's arithmetic (profiled: most of its
// time on the first use of each loaded line).
void prefetch_expansion(const LowRankAdd& t, int64_t n, int64_t r0, int64_t r1) {
  for (int64_t j = 0; j < t.r; j++) {
    if (t.bt_bf16) prefetch_lines(t.bt_bf16 + j * n + r0, t.bt_bf16 + j * n + r1);
    else if (t.bt) prefetch_lines(t.bt + j * n + r0, t.bt + j * n + r1);
  }
}

}  // namespace

void gemv_forward(float* y, const float* x, const WeightView& w, int64_t n_tokens, bool accumulate,
                  bool bf16) {
  gemv_forward_multi(&y, x, &w, 1, n_tokens, accumulate, bf16);
}

void gemv_forward_multi(float* const* ys, const float* x, const WeightView* ws, int n_views, int64_t n_tokens,
                        bool accumulate, bool bf16, const float* const* biases, const LowRankAdd* const* adds,
                        const int* n_adds) {
  const int64_t K = ws[0].n_cols;
  int64_t N = 0;  // rows of all views, one after the other
  for (int i = 0; i < n_views; i++) N += ws[i].n_rows;
  const uint16_t* xh = nullptr;
  int64_t Kp = 0;
  // Decode (1-3 tokens) is memory-bound: the exact widening is as fast as
  // vdpbf16ps there (measured faster, no rounding pass over x), so Bf16 mode
  // rounds the activations only from 4 tokens on.
  if (bf16 && n_tokens >= kGemvBf16MinTokens) {
    thread_local ScratchBuffer<uint16_t> xh_scratch;
    Kp = (K + 31) / 32 * 32;
    uint16_t* buf = xh_scratch.get(static_cast<size_t>(n_tokens * Kp));
    for (int64_t t = 0; t < n_tokens; t++) {
      f32_to_bf16_row(x + t * K, K, buf + t * Kp);
      std::memset(buf + t * Kp + K, 0, sizeof(uint16_t) * (Kp - K));
    }
    xh = buf;
  }
  // Low-rank terms: term (i, j) = term first_term[i] + j, its x Aᵀ at
  // u + u_at[term]. Each thread first forms the terms it owns (term % threads
  // = its number) and flags them; a chunk that adds a term another thread
  // owns waits for that flag (set before that thread takes any chunk, so
  // never long), which is one product per term instead of one per thread.
  // The caller's thread_local scratch; the region reads it through plain
  // pointers (inside it, a thread_local name is each thread's own).
  thread_local std::vector<int64_t> u_at_v;
  thread_local std::vector<int> first_term_v;
  thread_local std::vector<std::pair<int, int>> term_view_v;  // (i, j) of each term
  thread_local std::vector<std::atomic<int>> u_ready_v;
  std::vector<int64_t>& u_at = u_at_v;
  std::vector<int>& first_term = first_term_v;
  std::vector<std::pair<int, int>>& term_view = term_view_v;
  u_at.clear();
  first_term.clear();
  term_view.clear();
  int64_t u_size = 0;
  if (adds) {
    first_term.assign(static_cast<size_t>(n_views) + 1, 0);
    for (int i = 0; i < n_views; i++) {
      first_term[i + 1] = first_term[i] + n_adds[i];
      for (int j = 0; j < n_adds[i]; j++) {
        u_at.push_back(u_size);
        term_view.push_back({i, j});
        u_size += (adds[i][j].t_end - adds[i][j].t_begin) * adds[i][j].r;
      }
    }
  }
  const int n_terms = static_cast<int>(term_view.size());
  thread_local ScratchBuffer<float> u_scratch;  // the calling thread's, shared by the region
  float* u = u_size > 0 ? u_scratch.get(static_cast<size_t>(u_size)) : nullptr;
  if (static_cast<int>(u_ready_v.size()) < n_terms) u_ready_v = std::vector<std::atomic<int>>(static_cast<size_t>(n_terms));
  std::atomic<int>* u_ready = u_ready_v.data();
  for (int t = 0; t < n_terms; t++) u_ready[t].store(0, std::memory_order_relaxed);
  auto form_u = [&](int term) {
    const auto [i, j] = term_view[term];
    const LowRankAdd& t = adds[i][j];
    if (t.a_bf16) rank_project_serial(u + u_at[term], x + t.t_begin * K, t.a_bf16, t.t_end - t.t_begin, K, t.r, 1.0f);
    else rank_project_serial(u + u_at[term], x + t.t_begin * K, t.a, t.t_end - t.t_begin, K, t.r, 1.0f);
    u_ready[term].store(1, std::memory_order_release);
  };
  // Rows [g0, g1) of the concatenation, view by view.
  auto run_rows = [&](int64_t g0, int64_t g1) {
    int64_t base = 0;
    for (int i = 0; i < n_views && g0 < g1; i++) {
      const int64_t n = ws[i].n_rows;
      if (g0 < base + n) {
        const int64_t r0 = g0 - base, r1 = std::min(g1, base + n) - base;
        for (int j = 0; adds && j < n_adds[i]; j++) prefetch_expansion(adds[i][j], n, r0, r1);
        rows_all_tokens(GemvArgs{&ws[i], x, xh, Kp, ys[i], accumulate}, n_tokens, r0, r1);
        if (biases && biases[i])
          for (int64_t t = 0; t < n_tokens; t++)
            for (int64_t o = r0; o < r1; o++) ys[i][t * n + o] += biases[i][o];
        for (int j = 0; adds && j < n_adds[i]; j++) {
          const LowRankAdd& t = adds[i][j];
          const int term = first_term[i] + j;
          while (!u_ready[term].load(std::memory_order_acquire)) _mm_pause();
          const float* ut = u + u_at[term];
          const int64_t rows = t.t_end - t.t_begin;
          if (t.bt_bf16) rank_expand_rows_serial_t(ys[i] + t.t_begin * n, n, ut, t.bt_bf16, n, rows, t.r, r0, r1, t.scale);
          else if (t.bt) rank_expand_rows_serial_t(ys[i] + t.t_begin * n, n, ut, t.bt, n, rows, t.r, r0, r1, t.scale);
          else rank_expand_rows_serial(ys[i] + t.t_begin * n, n, ut, t.b, rows, t.r, r0, r1, t.scale);
        }
        g0 = base + r1;
      }
      base += n;
    }
  };
  // Chunks of up to 1024 rows handed out dynamically (a busy core takes
  // fewer of the LM head's), their count a multiple of the threads (192 rows
  // in 3 chunks of 64 would leave one thread twice the work of the other).
  // Longer runs of rows keep each thread's stream through the weights
  // sequential: against 64-row chunks, a decode step of SmolLM2-135M's shape
  // on 2 threads measured 9% faster with 8 rows and 18% with one (bench/
  // batch_lora_bench, docs/PERFORMANCE.md).
  constexpr int64_t kRowsPerChunk = 1024;
  const int nth = static_cast<int>(std::min<int64_t>(kernels_threads(), N));
  const int64_t n_chunks = nth * ((N + kRowsPerChunk * nth - 1) / (kRowsPerChunk * nth));
  const int64_t chunk = (N + n_chunks - 1) / n_chunks;
#pragma omp parallel num_threads(nth)
  {
    const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
    // The factors A of this thread's terms: asked for all at once, so their
    // misses overlap (each is read for a few token rows only, at once).
    for (int term = tid; term < n_terms; term += nt) {
      const auto [i, j] = term_view[term];
      const LowRankAdd& t = adds[i][j];
      if (t.a_bf16) prefetch_lines(t.a_bf16, t.a_bf16 + t.r * K);
      else prefetch_lines(t.a, t.a + t.r * K);
    }
    for (int term = tid; term < n_terms; term += nt) form_u(term);
#pragma omp for schedule(dynamic, 1)
    for (int64_t c = 0; c < n_chunks; c++)
      if (c * chunk < N) run_rows(c * chunk, std::min(N, (c + 1) * chunk));
  }
}

}  // namespace loam

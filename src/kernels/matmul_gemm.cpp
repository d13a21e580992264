// Packed-panel GEMM for the matmul kernels: C[M, N] (+)= A[M, K] · B[K, N]
// with A the fp32 activations (row-major, leading dimension lda) and B a
// frozen weight read transposed (forward: B = Wᵀ, M = tokens, N = W rows) or
// as is (backward to the input: B = W, N = W columns).
//
// Blocking (BLIS-style, sized for Zen 4: 32 KB L1d and 1 MB L2 per core):
//  - K is cut into blocks of at most kMaxKc. Per K-block all threads pack A
//    together into tiles of MR rows interleaved along k ([tile][k][MR]).
//  - The 32-column panels of C are cut into groups (sized for the best
//    makespan over the threads, handed out dynamically; threads never share
//    outputs). A thread packs B
//    for its group ([panel][k][32], at most kBBlockBytes, stays in L2), then
//    for each A tile (stays in L1) runs the micro-kernel over the group.
//  - Micro-kernel: MR x 32 outputs in 2*MR zmm accumulators; per k two loads
//    of B and MR broadcasts of A. MR <= 14 is chosen per call so that equal
//    tiles cover M (M=512 -> 14, M=16 -> 8, M=9 -> 9).
//  - BF16 variant (MatmulPrecision::Bf16 with BF16 weights): A (rounded RNE)
//    and B hold bf16 pairs along k, products by vdpbf16ps into fp32.
// Weights of every dtype are converted exactly to fp32 while packing B, so the
// fp32 path is the Exact mode for F32, F16, BF16 and Q8_0.
#include <algorithm>
#include <climits>
#include <cstring>

#include "core/dtype.h"
#include "kernels/matmul_kernels.h"
#include "kernels/quantize.h"
#include "kernels/threading.h"

#include <immintrin.h>

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 false positive in avx512 headers

namespace loam {
namespace {

constexpr int kNr = 32;                      // columns per panel (two zmm)
constexpr int kMaxMr = 14;                   // 28 accumulators + 2 B registers
constexpr int64_t kMaxKc = 640;              // K up to this is a single block
constexpr int64_t kBBlockBytes = 384 << 10;  // packed B of one panel group

// Where B comes from. Forward: B[k][n] = W[n][k]; backward: B[k][n] = W[k][n].
struct BSource {
  const WeightView* w;
  bool transposed;
  bool bf16;  // pack bf16 pairs along k (BF16 weights only)
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Columns [c0, c0 + n) of row `row` of W as fp32. Q8_0: c0 % 32 == 0, n % 32 == 0.
void weight_segment_to_f32(const WeightView& w, int64_t row, int64_t c0, int64_t n, float* out) {
  const int64_t K = w.n_cols;
  switch (w.dtype) {
    case DType::F32:
      std::memcpy(out, static_cast<const float*>(w.data) + row * K + c0, sizeof(float) * n);
      return;
    case DType::BF16:
      bf16_to_f32_row(static_cast<const uint16_t*>(w.data) + row * K + c0, n, out);
      return;
    case DType::F16:
      f16_to_f32_row(static_cast<const uint16_t*>(w.data) + row * K + c0, n, out);
      return;
    case DType::Q8_0:
      q8_0_dequantize_row(static_cast<const uint8_t*>(w.data) +
                              (row * (K / kQ8BlockSize) + c0 / kQ8BlockSize) * kQ8BlockBytes,
                          n, out);
      return;
    default:
      std::memset(out, 0, sizeof(float) * n);
      return;
  }
}

uint32_t bf16_pair(uint16_t lo, uint16_t hi) { return lo | (static_cast<uint32_t>(hi) << 16); }

// ---- packing B: np panels starting at column n0, k in [k0, k0 + kc) ----

// In-register transpose of 16 rows of 16 32-bit lanes: afterwards r[c] holds column c.
void transpose16x16(__m512i (&r)[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
  }
}

// dst[k * ld + i] = rows[i][k] for i < n_rows (<= 16) and k < n 32-bit words;
// a null row reads as zeros.
void transpose_rows(const uint32_t* const (&rows)[16], int n_rows, int64_t n, uint32_t* dst,
                    int64_t ld) {
  const __mmask16 lanes = static_cast<__mmask16>((1u << n_rows) - 1);
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    __m512i r[16];
    for (int i = 0; i < 16; i++)
      r[i] = i < n_rows && rows[i] ? _mm512_loadu_si512(rows[i] + k) : _mm512_setzero_si512();
    transpose16x16(r);
    if (n_rows == 16)
      for (int c = 0; c < 16; c++) _mm512_storeu_si512(dst + (k + c) * ld, r[c]);
    else
      for (int c = 0; c < 16; c++) _mm512_mask_storeu_epi32(dst + (k + c) * ld, lanes, r[c]);
  }
  for (; k < n; k++)
    for (int i = 0; i < n_rows; i++) dst[k * ld + i] = rows[i] ? rows[i][k] : 0;
}

// Forward, fp32: panel p, row k, lane j = W[n0 + 32p + j][k0 + k].
// row_tmp holds 16 * kc floats (rows widened to fp32 when W is not F32).
void pack_b_forward_f32(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, int64_t np,
                        float* bp, float* row_tmp) {
  const int64_t N = w.n_rows;
  for (int64_t p = 0; p < np; p++)
    for (int h = 0; h < 2; h++) {
      const uint32_t* rows[16];
      for (int i = 0; i < 16; i++) {
        const int64_t n = n0 + p * kNr + h * 16 + i;
        if (n >= N) {
          rows[i] = nullptr;
        } else if (w.dtype == DType::F32) {
          rows[i] = static_cast<const uint32_t*>(w.data) + n * w.n_cols + k0;
        } else {
          weight_segment_to_f32(w, n, k0, kc, row_tmp + i * kc);
          rows[i] = reinterpret_cast<const uint32_t*>(row_tmp + i * kc);
        }
      }
      transpose_rows(rows, 16, kc, reinterpret_cast<uint32_t*>(bp + p * kc * kNr + h * 16), kNr);
    }
}

// Forward, bf16 pairs: panel p, pair kp, lane j = W[n][k0+2kp], W[n][k0+2kp+1].
// An odd K reads its last pair through row_tmp (16 * kc words) padded with zero.
void pack_b_forward_bf16(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, int64_t np,
                         uint32_t* bp, uint32_t* row_tmp) {
  const int64_t N = w.n_rows, K = w.n_cols, kcp = ceil_div(kc, 2);
  const uint16_t* W = static_cast<const uint16_t*>(w.data);
  for (int64_t p = 0; p < np; p++)
    for (int h = 0; h < 2; h++) {
      const uint32_t* rows[16];
      for (int i = 0; i < 16; i++) {
        const int64_t n = n0 + p * kNr + h * 16 + i;
        const uint16_t* src = W + n * K + k0;
        if (n >= N) {
          rows[i] = nullptr;
        } else if (kc % 2 == 0 && (n * K + k0) % 2 == 0) {
          rows[i] = reinterpret_cast<const uint32_t*>(src);
        } else {
          uint32_t* t = row_tmp + i * kcp;
          for (int64_t kp = 0; kp < kcp; kp++)
            t[kp] = bf16_pair(src[2 * kp], 2 * kp + 1 < kc ? src[2 * kp + 1] : 0);
          rows[i] = t;
        }
      }
      transpose_rows(rows, 16, kcp, bp + p * kcp * kNr + h * 16, kNr);
    }
}

// Backward, fp32: panel p, row k, lane j = W[k0 + k][n0 + 32p + j].
void pack_b_backward_f32(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, int64_t np,
                         float* bp) {
  const int64_t Ncols = w.n_cols;
  for (int64_t p = 0; p < np; p++) {
    float* dst = bp + p * kc * kNr;
    const int64_t c0 = n0 + p * kNr, nc = std::min<int64_t>(kNr, Ncols - c0);
    for (int64_t k = 0; k < kc; k++) {
      weight_segment_to_f32(w, k0 + k, c0, nc, dst + k * kNr);
      for (int64_t j = nc; j < kNr; j++) dst[k * kNr + j] = 0.0f;
    }
  }
}

// Backward, bf16 pairs: panel p, pair kp, lane j = W[k0+2kp][c], W[k0+2kp+1][c]
// (two rows interleaved word by word).
void pack_b_backward_bf16(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, int64_t np,
                          uint32_t* bp) {
  const int64_t Ncols = w.n_cols, kcp = ceil_div(kc, 2);
  const uint16_t* W = static_cast<const uint16_t*>(w.data);
  alignas(64) static constexpr uint16_t kIdx[2][32] = {
      {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
       8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47},
      {16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
       24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63}};
  const __m512i lo_idx = _mm512_load_si512(kIdx[0]), hi_idx = _mm512_load_si512(kIdx[1]);
  for (int64_t p = 0; p < np; p++) {
    uint32_t* dst = bp + p * kcp * kNr;
    const int64_t c0 = n0 + p * kNr, nc = std::min<int64_t>(kNr, Ncols - c0);
    const __mmask32 m = nc >= 32 ? 0xffffffffu : static_cast<__mmask32>((1u << nc) - 1);
    for (int64_t kp = 0; kp < kcp; kp++) {
      const uint16_t* r0 = W + (k0 + 2 * kp) * Ncols + c0;
      const __m512i a = _mm512_maskz_loadu_epi16(m, r0);
      const __m512i b = 2 * kp + 1 < kc ? _mm512_maskz_loadu_epi16(m, r0 + Ncols) : _mm512_setzero_si512();
      _mm512_store_si512(dst + kp * kNr, _mm512_permutex2var_epi16(a, lo_idx, b));
      _mm512_store_si512(dst + kp * kNr + 16, _mm512_permutex2var_epi16(a, hi_idx, b));
    }
  }
}

// ---- packing A: tiles of mr rows, [tile][k][mr], zero past M and K ----

void pack_a_f32(const float* a, int64_t lda, int64_t M, int64_t k0, int64_t kc, int mr,
                int64_t tile, float* ap) {
  const uint32_t* rows[16] = {};
  for (int i = 0; i < mr; i++) {
    const int64_t m = tile * mr + i;
    rows[i] = m < M ? reinterpret_cast<const uint32_t*>(a + m * lda + k0) : nullptr;
  }
  transpose_rows(rows, mr, kc, reinterpret_cast<uint32_t*>(ap + tile * kc * mr), mr);
}

// row_tmp: kMaxMr * (kc + 2) bf16 words for the rounded rows.
void pack_a_bf16(const float* a, int64_t lda, int64_t M, int64_t k0, int64_t kc, int mr,
                 int64_t tile, uint32_t* ap, uint16_t* row_tmp) {
  const int64_t kcp = ceil_div(kc, 2);
  const uint32_t* rows[16] = {};
  for (int i = 0; i < mr; i++) {
    const int64_t m = tile * mr + i;
    if (m >= M) continue;
    uint16_t* t = row_tmp + i * 2 * kcp;
    f32_to_bf16_row(a + m * lda + k0, kc, t);
    if (kc % 2) t[kc] = 0;
    rows[i] = reinterpret_cast<const uint32_t*>(t);
  }
  transpose_rows(rows, mr, kcp, ap + tile * kcp * mr, mr);
}

// ---- micro-kernels: C[rows < m_valid][cols < n_valid] (+)= Ap tile · Bp panel ----

template <int MR>
void store_tile(__m512 (&acc)[MR][2], float* c, int64_t ldc, int m_valid, int n_valid, bool add) {
  const __mmask16 m0 = n_valid >= 16 ? 0xffff : static_cast<__mmask16>((1u << n_valid) - 1);
  const __mmask16 m1 = n_valid >= 32 ? 0xffff : n_valid <= 16 ? 0 : static_cast<__mmask16>((1u << (n_valid - 16)) - 1);
#pragma GCC unroll 14
  for (int i = 0; i < MR; i++) {
    if (i >= m_valid) break;
    float* ci = c + i * ldc;
    __m512 v0 = acc[i][0], v1 = acc[i][1];
    if (add) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, ci));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, ci + 16));
    }
    _mm512_mask_storeu_ps(ci, m0, v0);
    _mm512_mask_storeu_ps(ci + 16, m1, v1);
  }
}

template <int MR>
void kernel_f32(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int m_valid,
                int n_valid, bool add) {
  __m512 acc[MR][2];
#pragma GCC unroll 14
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(bp + k * kNr), b1 = _mm512_load_ps(bp + k * kNr + 16);
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      const __m512 a = _mm512_set1_ps(ap[k * MR + i]);
      acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
    }
  }
  store_tile<MR>(acc, c, ldc, m_valid, n_valid, add);
}

template <int MR>
void kernel_bf16(int64_t kcp, const uint32_t* ap, const uint32_t* bp, float* c, int64_t ldc,
                 int m_valid, int n_valid, bool add) {
  __m512 acc[MR][2];
#pragma GCC unroll 14
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t kp = 0; kp < kcp; kp++) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(bp + kp * kNr);
    const __m512bh b1 = (__m512bh)_mm512_load_si512(bp + kp * kNr + 16);
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(ap[kp * MR + i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
    }
  }
  store_tile<MR>(acc, c, ldc, m_valid, n_valid, add);
}

// All A tiles against np packed panels (columns n0 ...).
struct TileJob {
  const void* ap;
  const void* bp;
  float* c;
  int64_t ldc, M, N, n0, np, kc, n_tiles;
  bool add;
};

template <int MR>
void run_tiles(const TileJob& j, bool bf16) {
  const int64_t kdepth = bf16 ? ceil_div(j.kc, 2) : j.kc;
  for (int64_t t = 0; t < j.n_tiles; t++) {
    const int m_valid = static_cast<int>(std::min<int64_t>(MR, j.M - t * MR));
    for (int64_t p = 0; p < j.np; p++) {
      const int64_t col = j.n0 + p * kNr;
      const int n_valid = static_cast<int>(std::min<int64_t>(kNr, j.N - col));
      float* c = j.c + t * MR * j.ldc + col;
      if (bf16)
        kernel_bf16<MR>(kdepth, static_cast<const uint32_t*>(j.ap) + t * kdepth * MR,
                        static_cast<const uint32_t*>(j.bp) + p * kdepth * kNr, c, j.ldc, m_valid,
                        n_valid, j.add);
      else
        kernel_f32<MR>(kdepth, static_cast<const float*>(j.ap) + t * kdepth * MR,
                       static_cast<const float*>(j.bp) + p * kdepth * kNr, c, j.ldc, m_valid,
                       n_valid, j.add);
    }
  }
}

using RunTilesFn = void (*)(const TileJob&, bool);
constexpr RunTilesFn kRunTiles[kMaxMr + 1] = {
    nullptr,         run_tiles<1>,  run_tiles<2>,  run_tiles<3>,  run_tiles<4>,
    run_tiles<5>,    run_tiles<6>,  run_tiles<7>,  run_tiles<8>,  run_tiles<9>,
    run_tiles<10>,   run_tiles<11>, run_tiles<12>, run_tiles<13>, run_tiles<14>};

void pack_b(const BSource& b, int64_t k0, int64_t kc, int64_t n0, int64_t np, void* bp,
            float* row_tmp) {
  if (b.transposed) {
    if (b.bf16) pack_b_forward_bf16(*b.w, k0, kc, n0, np, static_cast<uint32_t*>(bp), reinterpret_cast<uint32_t*>(row_tmp));
    else pack_b_forward_f32(*b.w, k0, kc, n0, np, static_cast<float*>(bp), row_tmp);
  } else {
    if (b.bf16) pack_b_backward_bf16(*b.w, k0, kc, n0, np, static_cast<uint32_t*>(bp));
    else pack_b_backward_f32(*b.w, k0, kc, n0, np, static_cast<float*>(bp));
  }
}

void gemm_run(const float* a, int64_t lda, float* c, int64_t ldc, int64_t M, int64_t N, int64_t K,
              const BSource& b, bool accumulate) {
  const int64_t n_tiles = ceil_div(M, kMaxMr);
  const int mr = static_cast<int>(ceil_div(M, n_tiles));
  const int64_t kc_step = ceil_div(ceil_div(K, ceil_div(K, kMaxKc)), 32) * 32;  // even; Q8_0 blocks
  const int64_t n_panels = ceil_div(N, kNr);
  const int64_t elem = b.bf16 ? 2 : 4;
  const int nth = static_cast<int>(std::min<int64_t>(kernels_threads(), n_panels));
  // Panel groups, handed out dynamically (balances a busy core): the largest
  // group whose packed B fits kBBlockBytes among those with the best makespan.
  const int64_t max_group = std::max<int64_t>(1, kBBlockBytes / (kc_step * kNr * elem));
  int64_t group = 1, best = INT64_MAX;
  for (int64_t g = 1; g <= std::min(max_group, n_panels); g++) {
    const int64_t makespan = ceil_div(ceil_div(n_panels, g), nth) * g;
    if (makespan <= best) best = makespan, group = g;
  }
  const int64_t n_groups = ceil_div(n_panels, group);
  const size_t a_words = static_cast<size_t>(n_tiles * mr * kc_step);  // f32 or bf16 pairs
  thread_local ScratchBuffer<float> a_scratch;
  void* ap = a_scratch.get(a_words);
#pragma omp parallel num_threads(nth)
  {
    thread_local ScratchBuffer<float> b_scratch, row_scratch;
    void* bp = b_scratch.get(static_cast<size_t>(group * kc_step * kNr));
    float* row_tmp = row_scratch.get(static_cast<size_t>(16 * kc_step));
    thread_local ScratchBuffer<uint16_t> a_row_scratch;
    uint16_t* a_tmp = a_row_scratch.get(static_cast<size_t>(kMaxMr * (kc_step + 2)));
    for (int64_t k0 = 0; k0 < K; k0 += kc_step) {
      const int64_t kc = std::min(kc_step, K - k0);
#pragma omp for schedule(dynamic, 4)
      for (int64_t t = 0; t < n_tiles; t++) {
        if (b.bf16) pack_a_bf16(a, lda, M, k0, kc, mr, t, static_cast<uint32_t*>(ap), a_tmp);
        else pack_a_f32(a, lda, M, k0, kc, mr, t, static_cast<float*>(ap));
      }
      // The implicit barrier of each loop keeps A's packing and use apart.
#pragma omp for schedule(dynamic, 1)
      for (int64_t g = 0; g < n_groups; g++) {
        const int64_t pg = g * group, np = std::min(group, n_panels - pg);
        pack_b(b, k0, kc, pg * kNr, np, bp, row_tmp);
        TileJob job{ap, bp, c, ldc, M, N, pg * kNr, np, kc, n_tiles, accumulate || k0 > 0};
        kRunTiles[mr](job, b.bf16);
      }
    }
  }
}

}  // namespace

void gemm_forward(float* y, const float* x, const WeightView& w, int64_t n_tokens, bool accumulate,
                  bool bf16) {
  BSource b{&w, /*transposed=*/true, bf16};
  gemm_run(x, w.n_cols, y, w.n_rows, n_tokens, w.n_rows, w.n_cols, b, accumulate);
}

void gemm_backward_input(float* dx, const float* dy, const WeightView& w, int64_t n_tokens,
                         bool accumulate, bool bf16) {
  BSource b{&w, /*transposed=*/false, bf16};
  gemm_run(dy, w.n_rows, dx, w.n_cols, n_tokens, w.n_cols, w.n_rows, b, accumulate);
}

}  // namespace loam

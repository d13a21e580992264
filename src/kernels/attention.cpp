#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <omp.h>
#include <vector>

#include "kernels/cross_entropy.h"
#include "kernels/vec.h"

namespace loam {
namespace {

inline float score_of(float dot, const AttentionDims& d) {
  float s = dot * d.scale;
  if (d.softcap > 0.0f) s = d.softcap * std::tanh(s / d.softcap);
  return s;
}

}  // namespace

namespace {

// Any head_dim: one query at a time, scores then weighted sum.
void attention_forward_generic(float* out, float* lse, const float* q, const float* k, const float* v,
                               const int32_t* key_begin, const int32_t* key_end, int64_t n_q,
                               const AttentionDims& d) {
  const int64_t hd = d.head_dim, group = d.n_heads / d.n_kv_heads;
  const int64_t q_stride = d.n_heads * hd, kv_stride = d.n_kv_heads * hd;
#pragma omp parallel
  {
    std::vector<float> scores;
#pragma omp for collapse(2) schedule(dynamic, 4)
    for (int64_t i = 0; i < n_q; i++) {
      for (int64_t h = 0; h < d.n_heads; h++) {
        const float* qi = q + i * q_stride + h * hd;
        float* oi = out + i * q_stride + h * hd;
        const int64_t kh = h / group, b = key_begin[i], e = key_end[i];
        std::memset(oi, 0, sizeof(float) * hd);
        if (e <= b) {
          if (lse) lse[i * d.n_heads + h] = -std::numeric_limits<float>::infinity();
          continue;
        }
        scores.resize(e - b);
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t j = b; j < e; j++) {
          float s = score_of(vec_dot(qi, k + j * kv_stride + kh * hd, hd), d);
          scores[j - b] = s;
          mx = std::max(mx, s);
        }
        double sum = 0.0;
        for (int64_t j = b; j < e; j++) {
          float p = std::exp(scores[j - b] - mx);
          scores[j - b] = p;
          sum += p;
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = b; j < e; j++) vec_axpy(oi, scores[j - b] * inv, v + j * kv_stride + kh * hd, hd);
        if (lse) lse[i * d.n_heads + h] = mx + static_cast<float>(std::log(sum));
      }
    }
  }
}

#if defined(__AVX512F__)
// head_dim = 16·NV (<= 256): flash-style online softmax over blocks of 16
// keys. The key block is transposed so the scores of 8 queries × 16 keys are
// 8 independent 16-wide FMA chains; each query's output row lives in NV
// registers while the block's values are added in.
constexpr int kQBlock = 8;   // queries per task
constexpr int kKBlock = 16;  // keys per step

// Keys transposed once per call for every (KV head, aligned block of 16
// keys) some query block reads: element [x][j] of block kb of head kh at
// ((kh·n_kb + kb)·hd + x)·16 + j. Rows past n_k repeat the last key (they
// are always masked). Blocks no query reads (other sequences' gaps in a
// shared KV pool) are skipped.
void keys_transpose(float* kt_all, const float* k, int64_t n_k, const AttentionDims& d,
                    const std::vector<int64_t>& kbs) {
  const int64_t hd = d.head_dim, kv_stride = d.n_kv_heads * hd, n_kb = (n_k + kKBlock - 1) / kKBlock;
  const int64_t n_used = static_cast<int64_t>(kbs.size());
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t kh = 0; kh < d.n_kv_heads; kh++)
    for (int64_t u = 0; u < n_used; u++) {
      const int64_t kb = kbs[u];
      float* dst = kt_all + (kh * n_kb + kb) * hd * kKBlock;
      for (int64_t j = 0; j < kKBlock; j++) {
        const float* kj = k + std::min<int64_t>(kb * kKBlock + j, n_k - 1) * kv_stride + kh * hd;
        for (int64_t x = 0; x < hd; x++) dst[x * kKBlock + j] = kj[x];
      }
    }
}

void keys_transpose(float* kt_all, const float* k, int64_t n_k, const AttentionDims& d) {
  std::vector<int64_t> all((n_k + kKBlock - 1) / kKBlock);
  for (size_t i = 0; i < all.size(); i++) all[i] = static_cast<int64_t>(i);
  keys_transpose(kt_all, k, n_k, d, all);
}

template <int NV>
void attention_block(float* out, float* lse, const float* q, const float* k, const float* kt_all, int64_t n_kb,
                     const float* v, const int32_t* key_begin, const int32_t* key_end, int64_t i0, int64_t i1, int64_t h,
                     const AttentionDims& d) {
  constexpr int64_t hd = 16 * NV;
  const int64_t group = d.n_heads / d.n_kv_heads, kh = h / group;
  const int64_t q_stride = d.n_heads * hd, kv_stride = d.n_kv_heads * hd;
  const int64_t nqb = i1 - i0;
  alignas(64) float acc[kQBlock * hd];  // (queries, hd) unnormalized output
  alignas(64) float sc[kQBlock][kKBlock];
  float m[kQBlock], l[kQBlock];
  const float* qrow[kQBlock];
  int64_t b = INT64_MAX, e = 0;
  for (int64_t qi = 0; qi < kQBlock; qi++) {
    const int64_t i = i0 + std::min<int64_t>(qi, nqb - 1);
    qrow[qi] = q + i * q_stride + h * hd;
    b = std::min<int64_t>(b, key_begin[i]);
    e = std::max<int64_t>(e, key_end[i]);
    m[qi] = -std::numeric_limits<float>::infinity();
    l[qi] = 0.0f;
  }
  std::memset(acc, 0, sizeof(acc));
  const __m512 scale = _mm512_set1_ps(d.scale);
  for (int64_t j0 = b / kKBlock * kKBlock; j0 < e; j0 += kKBlock) {
    const int64_t nk = std::min<int64_t>(kKBlock, e - j0);
    __m512 s[kQBlock];
    if (nqb == 1) {  // one query (a decode row): 16 dot products straight from the key rows
      __m512 dots[16];
      for (int64_t j = 0; j < kKBlock; j++) {
        const float* kj = k + std::min<int64_t>(j0 + j, e - 1) * kv_stride + kh * hd;  // rows past e: masked
        __m512 a = _mm512_mul_ps(_mm512_loadu_ps(qrow[0]), _mm512_loadu_ps(kj));
        for (int c = 1; c < NV; c++) a = _mm512_fmadd_ps(_mm512_loadu_ps(qrow[0] + 16 * c), _mm512_loadu_ps(kj + 16 * c), a);
        dots[j] = a;
      }
      s[0] = sums16(dots);
    } else {
      const float* kt = kt_all + (kh * n_kb + j0 / kKBlock) * hd * kKBlock;
      for (int qi = 0; qi < kQBlock; qi++) s[qi] = _mm512_setzero_ps();
      for (int64_t x = 0; x < hd; x++) {
        const __m512 kx = _mm512_loadu_ps(kt + x * kKBlock);
        for (int qi = 0; qi < kQBlock; qi++) s[qi] = _mm512_fmadd_ps(_mm512_set1_ps(qrow[qi][x]), kx, s[qi]);
      }
    }
    for (int64_t qi = 0; qi < nqb; qi++) {
      const int64_t i = i0 + qi, lo = key_begin[i], hi = key_end[i];
      if (j0 + nk <= lo || j0 >= hi) continue;  // no key of this block is visible to this query
      _mm512_store_ps(sc[qi], _mm512_mul_ps(s[qi], scale));
      if (d.softcap > 0.0f)
        for (int64_t j = 0; j < kKBlock; j++) sc[qi][j] = d.softcap * std::tanh(sc[qi][j] / d.softcap);
      float bm = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < kKBlock; j++) {
        const int64_t key = j0 + j;
        if (j >= nk || key < lo || key >= hi) sc[qi][j] = -std::numeric_limits<float>::infinity();
        bm = std::max(bm, sc[qi][j]);
      }
      const float m_new = std::max(m[qi], bm);
      const float corr = std::exp(m[qi] - m_new);
      for (int64_t j = 0; j < kKBlock; j++) sc[qi][j] -= m_new;
      vec_exp(sc[qi], sc[qi], kKBlock);
      float psum = 0.0f;
      for (int64_t j = 0; j < kKBlock; j++) psum += sc[qi][j];
      l[qi] = l[qi] * corr + psum;
      m[qi] = m_new;
      float* a = acc + qi * hd;
      __m512 r[NV];
      const __m512 vc = _mm512_set1_ps(corr);
      for (int c = 0; c < NV; c++) r[c] = _mm512_mul_ps(_mm512_load_ps(a + 16 * c), vc);
      for (int64_t j = 0; j < nk; j++) {
        if (sc[qi][j] == 0.0f) continue;
        const __m512 p = _mm512_set1_ps(sc[qi][j]);
        const float* vj = v + (j0 + j) * kv_stride + kh * hd;
        for (int c = 0; c < NV; c++) r[c] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vj + 16 * c), r[c]);
      }
      for (int c = 0; c < NV; c++) _mm512_store_ps(a + 16 * c, r[c]);
    }
  }
  for (int64_t qi = 0; qi < nqb; qi++) {
    const int64_t i = i0 + qi;
    float* oi = out + i * q_stride + h * hd;
    if (l[qi] == 0.0f) {
      std::memset(oi, 0, sizeof(float) * hd);
      if (lse) lse[i * d.n_heads + h] = -std::numeric_limits<float>::infinity();
      continue;
    }
    const float inv = 1.0f / l[qi];
    for (int64_t x = 0; x < hd; x++) oi[x] = acc[qi * hd + x] * inv;
    if (lse) lse[i * d.n_heads + h] = m[qi] + std::log(l[qi]);
  }
}

using BlockFn = void (*)(float*, float*, const float*, const float*, const float*, int64_t, const float*, const int32_t*,
                         const int32_t*, int64_t, int64_t, int64_t, const AttentionDims&);

// Query blocks: runs of at most kQBlock consecutive queries, a new block
// wherever a query's key range does not overlap the previous query's (the
// next sequence of a batch: in a decode batch every row is its own
// sequence, and one block over all of them would score each query against
// every other sequence's keys).
std::vector<std::pair<int64_t, int64_t>> query_blocks(const int32_t* key_begin, const int32_t* key_end, int64_t n_q) {
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t i0 = 0;
  for (int64_t i = 1; i <= n_q; i++) {
    const bool cut = i == n_q || i - i0 == kQBlock || key_begin[i] >= key_end[i - 1] ||
                     key_end[i] <= key_begin[i - 1];
    if (cut) {
      out.push_back({i0, i});
      i0 = i;
    }
  }
  return out;
}

BlockFn attention_block_for(int64_t head_dim) {
  switch (head_dim / 16) {
    case 1: return attention_block<1>;
    case 2: return attention_block<2>;
    case 3: return attention_block<3>;
    case 4: return attention_block<4>;
    case 5: return attention_block<5>;
    case 6: return attention_block<6>;
    case 8: return attention_block<8>;
    case 16: return attention_block<16>;
    default: return nullptr;
  }
}

void attention_forward_avx512(BlockFn fn, float* out, float* lse, const float* q, const float* k, const float* v,
                              const int32_t* key_begin, const int32_t* key_end, int64_t n_q,
                              const AttentionDims& d) {
  const auto blocks = query_blocks(key_begin, key_end, n_q);
  const int64_t n_blocks = static_cast<int64_t>(blocks.size());
  int64_t n_k = 0;
  for (int64_t i = 0; i < n_q; i++) n_k = std::max<int64_t>(n_k, key_end[i]);
  if (n_k == 0) n_k = 1;
  const int64_t n_kb = (n_k + kKBlock - 1) / kKBlock;
  // The key blocks the query blocks read, each once.
  thread_local std::vector<char> used;
  thread_local std::vector<int64_t> kbs;
  used.assign(static_cast<size_t>(n_kb), 0);
  kbs.clear();
  for (const auto& [i0, i1] : blocks) {
    if (i1 - i0 == 1) continue;  // a single query reads the key rows themselves
    int64_t b = INT64_MAX, e = 0;
    for (int64_t i = i0; i < i1; i++) {
      b = std::min<int64_t>(b, key_begin[i]);
      e = std::max<int64_t>(e, key_end[i]);
    }
    for (int64_t kb = b / kKBlock; kb * kKBlock < e; kb++)
      if (!used[kb]) used[kb] = 1, kbs.push_back(kb);
  }
  thread_local std::vector<float> kt_all;  // grows once; reused across calls
  const size_t kt_size = static_cast<size_t>(d.n_kv_heads * n_kb * d.head_dim * kKBlock);
  if (kt_all.size() < kt_size) kt_all.resize(kt_size);
  if (!kbs.empty()) keys_transpose(kt_all.data(), k, n_k, d, kbs);
  const float* kt = kt_all.data();
#pragma omp parallel for collapse(2) schedule(dynamic, 1)
  for (int64_t h = 0; h < d.n_heads; h++)
    for (int64_t blk = 0; blk < n_blocks; blk++)
      fn(out, lse, q, k, kt, n_kb, v, key_begin, key_end, blocks[blk].first, blocks[blk].second, h, d);
}

// Backward for one (query head, block of 8 queries) over blocks of 16 keys,
// the forward's layout again: scores and dO·Vᵀ as 8 independent 16-wide FMA
// chains over transposed K and V blocks; dQ rows in registers; dK, dV rows
// accumulated into the caller's (thread-private) buffers.
template <int NV>
void attention_backward_block(float* dq, float* pdk, float* pdv, const float* dout, const float* out,
                              const float* lse, const float* q, const float* k, const float* v,
                              const float* kt_all, const float* vt_all, int64_t n_kb,
                              const int32_t* key_begin, const int32_t* key_end, int64_t n_q, int64_t h,
                              int64_t i0, const AttentionDims& d) {
  constexpr int64_t hd = 16 * NV;
  const int64_t group = d.n_heads / d.n_kv_heads, kh = h / group;
  const int64_t q_stride = d.n_heads * hd, kv_stride = d.n_kv_heads * hd;
  const int64_t i1 = std::min<int64_t>(n_q, i0 + kQBlock), nqb = i1 - i0;
  alignas(64) float dqa[kQBlock * hd];
  alignas(64) float p[kQBlock][kKBlock], ds[kQBlock][kKBlock];
  const float* qrow[kQBlock];
  const float* dorow[kQBlock];
  float big_d[kQBlock], l[kQBlock];
  int64_t b = INT64_MAX, e = 0;
  for (int64_t qi = 0; qi < kQBlock; qi++) {
    const int64_t i = i0 + std::min<int64_t>(qi, nqb - 1);
    qrow[qi] = q + i * q_stride + h * hd;
    dorow[qi] = dout + i * q_stride + h * hd;
    big_d[qi] = vec_dot(dorow[qi], out + i * q_stride + h * hd, hd);  // Σ_j p_j (dO·v_j) = dO·O
    l[qi] = lse[i * d.n_heads + h];
    if (qi < nqb && key_end[i] > key_begin[i]) {
      b = std::min<int64_t>(b, key_begin[i]);
      e = std::max<int64_t>(e, key_end[i]);
    }
  }
  std::memset(dqa, 0, sizeof(dqa));
  for (int64_t j0 = (b == INT64_MAX ? 0 : b / kKBlock * kKBlock); j0 < e; j0 += kKBlock) {
    const int64_t nk = std::min<int64_t>(kKBlock, e - j0);
    const float* kt = kt_all + (kh * n_kb + j0 / kKBlock) * hd * kKBlock;
    const float* vt = vt_all + (kh * n_kb + j0 / kKBlock) * hd * kKBlock;
    __m512 s[kQBlock], dp[kQBlock];
    for (int qi = 0; qi < kQBlock; qi++) s[qi] = dp[qi] = _mm512_setzero_ps();
    for (int64_t x = 0; x < hd; x++) {
      const __m512 kx = _mm512_loadu_ps(kt + x * kKBlock), vx = _mm512_loadu_ps(vt + x * kKBlock);
      for (int qi = 0; qi < kQBlock; qi++) {
        s[qi] = _mm512_fmadd_ps(_mm512_set1_ps(qrow[qi][x]), kx, s[qi]);
        dp[qi] = _mm512_fmadd_ps(_mm512_set1_ps(dorow[qi][x]), vx, dp[qi]);
      }
    }
    for (int64_t qi = 0; qi < kQBlock; qi++) {
      alignas(64) float sv[kKBlock], dpv[kKBlock];
      _mm512_store_ps(sv, _mm512_mul_ps(s[qi], _mm512_set1_ps(d.scale)));
      _mm512_store_ps(dpv, dp[qi]);
      const int64_t i = i0 + qi;
      const bool live = qi < nqb;
      const int64_t lo = live ? key_begin[i] : 0, hi = live ? key_end[i] : 0;
      for (int64_t j = 0; j < kKBlock; j++) {
        float dcap = 1.0f;
        if (d.softcap > 0.0f) {
          const float th = std::tanh(sv[j] / d.softcap);
          sv[j] = d.softcap * th;
          dcap = 1.0f - th * th;
        }
        const int64_t key = j0 + j;
        const bool visible = live && j < nk && key >= lo && key < hi;
        sv[j] = visible ? sv[j] - l[qi] : -std::numeric_limits<float>::infinity();
        ds[qi][j] = dcap;  // temporarily the soft-cap derivative
        (void)dpv;
      }
      vec_exp(p[qi], sv, kKBlock);  // masked keys give exactly 0
      for (int64_t j = 0; j < kKBlock; j++) ds[qi][j] = p[qi][j] * (dpv[j] - big_d[qi]) * ds[qi][j] * d.scale;
    }
    // dQ += dS · K
    for (int64_t qi = 0; qi < nqb; qi++) {
      __m512 r[NV];
      float* a = dqa + qi * hd;
      for (int c = 0; c < NV; c++) r[c] = _mm512_load_ps(a + 16 * c);
      for (int64_t j = 0; j < nk; j++) {
        if (ds[qi][j] == 0.0f) continue;
        const __m512 w = _mm512_set1_ps(ds[qi][j]);
        const float* kj = k + (j0 + j) * kv_stride + kh * hd;
        for (int c = 0; c < NV; c++) r[c] = _mm512_fmadd_ps(w, _mm512_loadu_ps(kj + 16 * c), r[c]);
      }
      for (int c = 0; c < NV; c++) _mm512_store_ps(a + 16 * c, r[c]);
    }
    // dK_j += Σ_q dS[q][j] Q_q ;  dV_j += Σ_q P[q][j] dO_q
    for (int64_t j = 0; j < nk; j++) {
      float* dkj = pdk + (j0 + j) * kv_stride + kh * hd;
      float* dvj = pdv + (j0 + j) * kv_stride + kh * hd;
      __m512 rk[NV], rv[NV];
      for (int c = 0; c < NV; c++) {
        rk[c] = _mm512_loadu_ps(dkj + 16 * c);
        rv[c] = _mm512_loadu_ps(dvj + 16 * c);
      }
      for (int64_t qi = 0; qi < nqb; qi++) {
        if (p[qi][j] == 0.0f) continue;
        const __m512 wk = _mm512_set1_ps(ds[qi][j]), wv = _mm512_set1_ps(p[qi][j]);
        for (int c = 0; c < NV; c++) {
          rk[c] = _mm512_fmadd_ps(wk, _mm512_loadu_ps(qrow[qi] + 16 * c), rk[c]);
          rv[c] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(dorow[qi] + 16 * c), rv[c]);
        }
      }
      for (int c = 0; c < NV; c++) {
        _mm512_storeu_ps(dkj + 16 * c, rk[c]);
        _mm512_storeu_ps(dvj + 16 * c, rv[c]);
      }
    }
  }
  for (int64_t qi = 0; qi < nqb; qi++) std::memcpy(dq + (i0 + qi) * q_stride + h * hd, dqa + qi * hd, sizeof(float) * hd);
}

using BackwardBlockFn = void (*)(float*, float*, float*, const float*, const float*, const float*, const float*,
                                 const float*, const float*, const float*, const float*, int64_t, const int32_t*,
                                 const int32_t*, int64_t, int64_t, int64_t, const AttentionDims&);

BackwardBlockFn attention_backward_block_for(int64_t head_dim) {
  if (head_dim % 16 != 0) return nullptr;
  switch (head_dim / 16) {
    case 1: return attention_backward_block<1>;
    case 2: return attention_backward_block<2>;
    case 3: return attention_backward_block<3>;
    case 4: return attention_backward_block<4>;
    case 5: return attention_backward_block<5>;
    case 6: return attention_backward_block<6>;
    case 8: return attention_backward_block<8>;
    case 16: return attention_backward_block<16>;
    default: return nullptr;
  }
}
#endif

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* key_begin, const int32_t* key_end, int64_t n_q,
                       const AttentionDims& d) {
#if defined(__AVX512F__)
  if (d.head_dim % 16 == 0) {
    if (BlockFn fn = attention_block_for(d.head_dim)) {
      attention_forward_avx512(fn, out, lse, q, k, v, key_begin, key_end, n_q, d);
      return;
    }
  }
#endif
  attention_forward_generic(out, lse, q, k, v, key_begin, key_end, n_q, d);
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const int32_t* key_begin, const int32_t* key_end, int64_t n_q,
                        int64_t n_k, const AttentionDims& d) {
  const int64_t hd = d.head_dim, group = d.n_heads / d.n_kv_heads;
  const int64_t q_stride = d.n_heads * hd, kv_stride = d.n_kv_heads * hd;
  // Work units are (query head, block of queries); dq rows belong to one
  // unit, dk/dv rows are shared, so each thread accumulates them privately
  // and the copies are summed at the end in a fixed order (deterministic).
  constexpr int64_t kBlock = 32;
  const int64_t n_blocks = (n_q + kBlock - 1) / kBlock;
  const int64_t kv_size = n_k * kv_stride;
  std::vector<std::vector<float>> priv_dk, priv_dv;
#if defined(__AVX512F__)
  const BackwardBlockFn fast = attention_backward_block_for(hd);
  const int64_t n_kb = (std::max<int64_t>(n_k, 1) + kKBlock - 1) / kKBlock;
  std::vector<float> kt_all, vt_all;
  if (fast) {
    kt_all.resize(static_cast<size_t>(d.n_kv_heads * n_kb * hd * kKBlock));
    vt_all.resize(kt_all.size());
    keys_transpose(kt_all.data(), k, std::max<int64_t>(n_k, 1), d);
    keys_transpose(vt_all.data(), v, std::max<int64_t>(n_k, 1), d);
  }
#endif
#pragma omp parallel
  {
#pragma omp single
    {
      priv_dk.assign(omp_get_num_threads(), {});
      priv_dv.assign(omp_get_num_threads(), {});
    }
    const int tid = omp_get_thread_num();
    std::vector<float>& pdk = priv_dk[tid];
    std::vector<float>& pdv = priv_dv[tid];
    pdk.assign(kv_size, 0.0f);
    pdv.assign(kv_size, 0.0f);
#pragma omp for collapse(2) schedule(static)
    for (int64_t h = 0; h < d.n_heads; h++) {
      for (int64_t blk = 0; blk < n_blocks; blk++) {
#if defined(__AVX512F__)
        if (fast) {
          for (int64_t i0 = blk * kBlock; i0 < std::min(n_q, (blk + 1) * kBlock); i0 += kQBlock)
            fast(dq, pdk.data(), pdv.data(), dout, out, lse, q, k, v, kt_all.data(), vt_all.data(), n_kb,
                 key_begin, key_end, n_q, h, i0, d);
          continue;
        }
#endif
        const int64_t kh = h / group;
        for (int64_t i = blk * kBlock; i < std::min(n_q, (blk + 1) * kBlock); i++) {
          const float* qi = q + i * q_stride + h * hd;
          const float* doi = dout + i * q_stride + h * hd;
          const float* oi = out + i * q_stride + h * hd;
          float* dqi = dq + i * q_stride + h * hd;
          std::memset(dqi, 0, sizeof(float) * hd);
          const int64_t b = key_begin[i], e = key_end[i];
          if (e <= b) continue;
          const float l = lse[i * d.n_heads + h];
          const float big_d = vec_dot(doi, oi, hd);  // sum_j p_j (dout · v_j) = dout · out
          for (int64_t j = b; j < e; j++) {
            const float* kj = k + j * kv_stride + kh * hd;
            const float* vj = v + j * kv_stride + kh * hd;
            float raw = vec_dot(qi, kj, hd) * d.scale;
            float s = raw, dcap = 1.0f;
            if (d.softcap > 0.0f) {
              float th = std::tanh(raw / d.softcap);
              s = d.softcap * th;
              dcap = 1.0f - th * th;
            }
            float p = std::exp(s - l);
            vec_axpy(pdv.data() + j * kv_stride + kh * hd, p, doi, hd);
            float ds = p * (vec_dot(doi, vj, hd) - big_d) * dcap * d.scale;
            vec_axpy(dqi, ds, kj, hd);
            vec_axpy(pdk.data() + j * kv_stride + kh * hd, ds, qi, hd);
          }
        }
      }
    }
    // Sum the private copies into dk, dv: each thread owns a slice of rows.
#pragma omp for schedule(static)
    for (int64_t r = 0; r < n_k; r++)
      for (size_t t = 0; t < priv_dk.size(); t++) {
        vec_axpy(dk + r * kv_stride, 1.0f, priv_dk[t].data() + r * kv_stride, kv_stride);
        vec_axpy(dv + r * kv_stride, 1.0f, priv_dv[t].data() + r * kv_stride, kv_stride);
      }
  }
}

}  // namespace loam

#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/vec.h"

namespace loam {
namespace {

inline float score_of(float dot, const AttentionDims& d) {
  float s = dot * d.scale;
  if (d.softcap > 0.0f) s = d.softcap * std::tanh(s / d.softcap);
  return s;
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
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

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const int32_t* key_begin, const int32_t* key_end, int64_t n_q,
                        int64_t n_k, const AttentionDims& d) {
  const int64_t hd = d.head_dim, group = d.n_heads / d.n_kv_heads;
  const int64_t q_stride = d.n_heads * hd, kv_stride = d.n_kv_heads * hd;
  // dk/dv rows are shared across queries and across the query heads of a
  // group: each thread owns whole KV heads, so it loops over its heads' queries.
#pragma omp parallel
  {
    std::vector<float> probs;
#pragma omp for schedule(dynamic, 1)
    for (int64_t kh = 0; kh < d.n_kv_heads; kh++) {
      for (int64_t h = kh * group; h < (kh + 1) * group; h++) {
        for (int64_t i = 0; i < n_q; i++) {
          const float* qi = q + i * q_stride + h * hd;
          const float* doi = dout + i * q_stride + h * hd;
          const float* oi = out + i * q_stride + h * hd;
          float* dqi = dq + i * q_stride + h * hd;
          std::memset(dqi, 0, sizeof(float) * hd);
          const int64_t b = key_begin[i], e = key_end[i];
          if (e <= b) continue;
          const float l = lse[i * d.n_heads + h];
          // D = sum_j p_j (dout · v_j) = dout · out
          const float big_d = vec_dot(doi, oi, hd);
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
            vec_axpy(dv + j * kv_stride + kh * hd, p, doi, hd);
            float ds = p * (vec_dot(doi, vj, hd) - big_d) * dcap * d.scale;
            vec_axpy(dqi, ds, kj, hd);
            vec_axpy(dk + j * kv_stride + kh * hd, ds, qi, hd);
          }
        }
      }
    }
  }
  (void)n_k;
}

}  // namespace loam

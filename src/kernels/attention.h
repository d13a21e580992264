// Causal multi-head attention with grouped KV heads, forward and backward.
//
// Shapes (row-major):
//   q, out, dq, dout: (n_q, n_heads, head_dim)
//   k, v, dk, dv:     (n_k, n_kv_heads, head_dim)   key/value rows
//   key_begin, key_end: (n_q) — query i attends key rows [key_begin[i], key_end[i]).
//   lse: (n_q, n_heads) log-sum-exp of the (scaled, soft-capped) scores, saved
//        by the forward for the backward.
// The caller encodes causality, KV-cache offsets, packed-sequence boundaries
// and sliding windows in the key ranges. Query head h reads KV head
// h / (n_heads / n_kv_heads) (Hugging Face repeat_kv).
// Score = softcap(scale * q·k) with softcap(x) = c tanh(x/c) when c > 0.
#pragma once

#include <cstdint>

namespace loam {

struct AttentionDims {
  int64_t n_heads;
  int64_t n_kv_heads;
  int64_t head_dim;
  float scale;    // usually 1/sqrt(head_dim); Gemma 2/3: query_pre_attn_scalar^-1/2
  float softcap;  // 0 = off (Gemma 2: 50)
};

// lse may be null. Rows with an empty key range give zeros.
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* key_begin, const int32_t* key_end, int64_t n_q,
                       const AttentionDims& dims);

// dq = ∂L/∂q (overwritten); dk, dv accumulate (+=) so that several query
// blocks can share keys. Uses the forward's lse to recompute probabilities.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const int32_t* key_begin, const int32_t* key_end, int64_t n_q,
                        int64_t n_k, const AttentionDims& dims);

}  // namespace loam

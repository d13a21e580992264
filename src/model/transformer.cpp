#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "model/linear.h"

namespace loam {
namespace {

const LoraMatrix* lora_of(const LoraAdapter* lora, int layer, LoraTarget t) {
  if (!lora) return nullptr;
  const LoraMatrix& m = lora->layers[layer][static_cast<int>(t)];
  return m.active() ? &m : nullptr;
}

// Scratch buffers of one forward call, sized for T tokens.
struct Scratch {
  std::vector<float> x, xn, q, k, v, att, o, gate, up, mlp;  // (T, ·)
  std::vector<int32_t> pos, kbeg, kend;                    // (T)
  void resize(const ModelConfig& c, int64_t T) {
    x.resize(T * c.hidden); xn.resize(T * c.hidden); o.resize(T * c.hidden); mlp.resize(T * c.hidden);
    q.resize(T * c.q_dim()); att.resize(T * c.q_dim());
    k.resize(T * c.kv_dim()); v.resize(T * c.kv_dim());
    gate.resize(T * c.intermediate); up.resize(T * c.intermediate);
    pos.resize(T); kbeg.resize(T); kend.resize(T);
  }
};

}  // namespace

void model_forward(const Model& m, const LoraAdapter* lora, KvCache& cache, const int32_t* tokens,
                   int64_t T, float* logits, int64_t n_logits) {
  const ModelConfig& c = m.config;
  const ModelWeights& w = m.weights;
  const int64_t H = c.hidden, I = c.intermediate, KV = c.kv_dim(), P = cache.size();
  const float ls = lora ? lora->config.scale() : 0.0f;
  thread_local Scratch s;
  s.resize(c, T);
  for (int64_t t = 0; t < T; t++) s.pos[t] = static_cast<int32_t>(P + t);

  // Embeddings (Gemma: times sqrt(H), the normalizer rounded to fp32 as in HF).
  const float emb_scale = c.embed_scale ? static_cast<float>(std::sqrt(static_cast<double>(H))) : 1.0f;
  for (int64_t t = 0; t < T; t++) {
    weight_row_to_f32(w.embed, tokens[t], s.x.data() + t * H);
    if (c.embed_scale)
      for (int64_t i = 0; i < H; i++) s.x[t * H + i] *= emb_scale;
  }

  for (int l = 0; l < c.n_layers; l++) {
    const LayerWeights& L = w.layers[l];
    const bool sliding = c.layer_sliding[l] && c.sliding_window > 0;
    // --- attention ---
    rmsnorm_forward(s.xn.data(), nullptr, s.x.data(), L.attn_norm.data(), T, H, c.rms_eps);
    const LinearOut qkv[] = {{s.q.data(), &L.wq, &L.bq, lora_of(lora, l, LoraTarget::Q)},
                             {s.k.data(), &L.wk, &L.bk, lora_of(lora, l, LoraTarget::K)},
                             {s.v.data(), &L.wv, &L.bv, lora_of(lora, l, LoraTarget::V)}};
    linear_forward_multi(qkv, 3, s.xn.data(), ls, T);
    if (c.qk_norm) {
      rmsnorm_forward(s.q.data(), nullptr, s.q.data(), L.q_norm.data(), T * c.n_heads, c.head_dim, c.rms_eps);
      rmsnorm_forward(s.k.data(), nullptr, s.k.data(), L.k_norm.data(), T * c.n_kv_heads, c.head_dim, c.rms_eps);
    }
    const std::vector<float> inv_freq = rope_inv_freq(c, c.layer_sliding[l]);
    rope_forward(s.q.data(), s.pos.data(), inv_freq.data(), T, c.n_heads, c.head_dim, c.rope_pairing);
    rope_forward(s.k.data(), s.pos.data(), inv_freq.data(), T, c.n_kv_heads, c.head_dim, c.rope_pairing);
    std::copy(s.k.begin(), s.k.begin() + T * KV, cache.k(l) + P * KV);
    std::copy(s.v.begin(), s.v.begin() + T * KV, cache.v(l) + P * KV);
    for (int64_t t = 0; t < T; t++) {
      s.kend[t] = static_cast<int32_t>(P + t + 1);
      s.kbeg[t] = sliding ? std::max<int32_t>(0, s.kend[t] - c.sliding_window) : 0;
    }
    AttentionDims dims{c.n_heads, c.n_kv_heads, c.head_dim, c.attn_scale, c.attn_softcap};
    attention_forward(s.att.data(), nullptr, s.q.data(), cache.k(l), cache.v(l), s.kbeg.data(),
                      s.kend.data(), T, dims);
    linear_forward(s.o.data(), s.att.data(), L.wo, L.bo, lora_of(lora, l, LoraTarget::O), ls, T);
    if (c.sandwich_norms)
      rmsnorm_forward(s.o.data(), nullptr, s.o.data(), L.attn_post_norm.data(), T, H, c.rms_eps);
    for (int64_t i = 0; i < T * H; i++) s.x[i] += s.o[i];
    // --- MLP ---
    rmsnorm_forward(s.xn.data(), nullptr, s.x.data(), L.ffn_norm.data(), T, H, c.rms_eps);
    const LinearOut gate_up[] = {{s.gate.data(), &L.w_gate, nullptr, lora_of(lora, l, LoraTarget::Gate)},
                                 {s.up.data(), &L.w_up, nullptr, lora_of(lora, l, LoraTarget::Up)}};
    linear_forward_multi(gate_up, 2, s.xn.data(), ls, T);
    glu_forward(s.gate.data(), s.gate.data(), s.up.data(), T * I, c.activation);
    linear_forward(s.mlp.data(), s.gate.data(), L.w_down, {}, lora_of(lora, l, LoraTarget::Down), ls, T);
    if (c.sandwich_norms)
      rmsnorm_forward(s.mlp.data(), nullptr, s.mlp.data(), L.ffn_post_norm.data(), T, H, c.rms_eps);
    for (int64_t i = 0; i < T * H; i++) s.x[i] += s.mlp[i];
  }
  cache.set_size(P + T);

  if (n_logits <= 0) return;
  const float* last = s.x.data() + (T - n_logits) * H;
  rmsnorm_forward(s.xn.data(), nullptr, last, w.final_norm.data(), n_logits, H, c.rms_eps);
  matmul_forward(logits, s.xn.data(), w.lm_head, n_logits);
  if (c.final_softcap > 0.0f) softcap_forward(logits, n_logits * c.vocab, c.final_softcap);
}

}  // namespace loam

#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/compute_scope.h"
#include "kernels/norm.h"
#include "kernels/rope.h"

namespace loam {

void ForwardBatch::clear() {
  tokens.clear();
  positions.clear();
  kv_row.clear();
  kv_begin.clear();
  slot.clear();
}

void ForwardBatch::add_sequence(const int32_t* ids, int64_t n, int32_t pos0, int32_t kv_base, int32_t s) {
  for (int64_t i = 0; i < n; i++) {
    tokens.push_back(ids[i]);
    positions.push_back(pos0 + static_cast<int32_t>(i));
    kv_row.push_back(kv_base + pos0 + static_cast<int32_t>(i));
    kv_begin.push_back(kv_base);
    slot.push_back(s);
  }
}

void embed_forward(const Model& m, const int32_t* ids, int64_t n, float* x) {
  const ModelConfig& c = m.config;
  const int64_t H = c.hidden;
  const float scale = c.embed_scale ? static_cast<float>(std::sqrt(static_cast<double>(H))) : 1.0f;
  for (int64_t t = 0; t < n; t++) {
    weight_row_to_f32(m.weights.embed, ids[t], x + t * H);
    if (c.embed_scale)
      for (int64_t i = 0; i < H; i++) x[t * H + i] *= scale;
  }
}

namespace {

// Everything a layer step reads besides its activations.
struct StepCtx {
  const Model& m;
  const AdapterList& adapters;
  const GradList& grads;
  const ForwardBatch& b;
  KvCache* kv;  // null: the batch's own keys
  const ForwardOptions& opt;
  ForwardWorkspace& ws;
};

LoraDropout drop_of(const ForwardOptions& opt, int layer, LoraTarget t) {
  if (opt.dropout <= 0.0f) return {};
  const uint64_t lt = static_cast<uint64_t>(layer) * 16 + static_cast<uint64_t>(t);
  return {opt.dropout, mix_bits(opt.dropout_seed ^ mix_bits(lt))};
}

void build_segments(const StepCtx& C, int layer) {
  for (int t = 0; t < kLoraTargets; t++)
    lora_segments_build(C.ws.segs[t], C.ws.runs, C.adapters, C.grads, layer, static_cast<LoraTarget>(t));
}

template <typename V>
void grow(V& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
}

// One layer's forward: x_out = layer(x_in) (x_out may alias x_in when not
// saving). With save, a keeps what layer_backward needs.
void layer_forward(const StepCtx& C, int l, LayerActs& a, const float* x_in, float* x_out, bool save) {
  const ModelConfig& c = C.m.config;
  const LayerWeights& L = C.m.weights.layers[l];
  const ForwardWorkspace& ws = C.ws;
  const int64_t N = C.b.size(), H = c.hidden, Q = c.q_dim(), KV = c.kv_dim(), I = c.intermediate;
  auto seg = [&](LoraTarget t) { return &ws.segs[static_cast<int>(t)]; };
  auto lin = [&](LoraTarget t) { return save ? &a.lin[static_cast<int>(t)] : nullptr; };
  auto drop = [&](LoraTarget t) { return drop_of(C.opt, l, t); };
  grow(a.xn1, N * H); grow(a.rstd1, N); grow(a.q, N * Q); grow(a.k, N * KV); grow(a.v, N * KV);
  grow(a.att, N * Q); grow(a.lse, N * c.n_heads); grow(a.o_pre, N * H); grow(a.rstd_o, N);
  grow(a.x_mid, N * H); grow(a.xn2, N * H); grow(a.rstd2, N); grow(a.gate, N * I); grow(a.up, N * I);
  grow(a.act, N * I); grow(a.mlp_pre, N * H); grow(a.rstd_m, N);

  // --- attention: x_mid = x_in + post(o(attn(rope(norm(q)), rope(norm(k)), v))) ---
  rmsnorm_forward(a.xn1.data(), a.rstd1.data(), x_in, L.attn_norm.data(), N, H, c.rms_eps);
  const LinearOut qkv[] = {{a.q.data(), &L.wq, &L.bq, seg(LoraTarget::Q), drop(LoraTarget::Q), lin(LoraTarget::Q)},
                           {a.k.data(), &L.wk, &L.bk, seg(LoraTarget::K), drop(LoraTarget::K), lin(LoraTarget::K)},
                           {a.v.data(), &L.wv, &L.bv, seg(LoraTarget::V), drop(LoraTarget::V), lin(LoraTarget::V)}};
  linear_forward_multi(qkv, 3, a.xn1.data(), N);
  if (c.qk_norm) {
    if (save) {
      grow(a.rstd_q, N * c.n_heads);
      grow(a.rstd_k, N * c.n_kv_heads);
      a.q_pre.assign(a.q.begin(), a.q.begin() + N * Q);
      a.k_pre.assign(a.k.begin(), a.k.begin() + N * KV);
    }
    rmsnorm_forward(a.q.data(), save ? a.rstd_q.data() : nullptr, save ? a.q_pre.data() : a.q.data(),
                    L.q_norm.data(), N * c.n_heads, c.head_dim, c.rms_eps);
    rmsnorm_forward(a.k.data(), save ? a.rstd_k.data() : nullptr, save ? a.k_pre.data() : a.k.data(),
                    L.k_norm.data(), N * c.n_kv_heads, c.head_dim, c.rms_eps);
  }
  const bool sliding = c.layer_sliding[l] && c.sliding_window > 0;
  const std::vector<float> inv_freq = rope_inv_freq(c, c.layer_sliding[l]);
  rope_forward(a.q.data(), C.b.positions.data(), inv_freq.data(), N, c.n_heads, c.head_dim, c.rope_pairing);
  rope_forward(a.k.data(), C.b.positions.data(), inv_freq.data(), N, c.n_kv_heads, c.head_dim, c.rope_pairing);
  const float *keys = a.k.data(), *vals = a.v.data();
  if (C.kv) {
    float *kd = C.kv->k(l), *vd = C.kv->v(l);
    for (int64_t i = 0; i < N; i++) {
      std::memcpy(kd + static_cast<int64_t>(C.b.kv_row[i]) * KV, a.k.data() + i * KV, sizeof(float) * KV);
      std::memcpy(vd + static_cast<int64_t>(C.b.kv_row[i]) * KV, a.v.data() + i * KV, sizeof(float) * KV);
    }
    keys = kd;
    vals = vd;
  }
  const AttentionDims dims{c.n_heads, c.n_kv_heads, c.head_dim, c.attn_scale, c.attn_softcap};
  const int32_t* kbeg = sliding ? ws.kbeg_sliding.data() : C.b.kv_begin.data();
  attention_forward(a.att.data(), save ? a.lse.data() : nullptr, a.q.data(), keys, vals, kbeg, ws.kend.data(), N, dims);
  linear_forward(a.o_pre.data(), a.att.data(), L.wo, &L.bo, *seg(LoraTarget::O), N, drop(LoraTarget::O), lin(LoraTarget::O));
  const float* o = a.o_pre.data();
  if (c.sandwich_norms) {
    grow(a.o_post, N * H);
    rmsnorm_forward(a.o_post.data(), a.rstd_o.data(), a.o_pre.data(), L.attn_post_norm.data(), N, H, c.rms_eps);
    o = a.o_post.data();
  }
  for (int64_t i = 0; i < N * H; i++) a.x_mid[i] = x_in[i] + o[i];

  // --- MLP: x_out = x_mid + post(down(glu(gate(xn2), up(xn2)))) ---
  rmsnorm_forward(a.xn2.data(), a.rstd2.data(), a.x_mid.data(), L.ffn_norm.data(), N, H, c.rms_eps);
  const LinearOut gate_up[] = {
      {a.gate.data(), &L.w_gate, nullptr, seg(LoraTarget::Gate), drop(LoraTarget::Gate), lin(LoraTarget::Gate)},
      {a.up.data(), &L.w_up, nullptr, seg(LoraTarget::Up), drop(LoraTarget::Up), lin(LoraTarget::Up)}};
  linear_forward_multi(gate_up, 2, a.xn2.data(), N);
  glu_forward(a.act.data(), a.gate.data(), a.up.data(), N * I, c.activation);
  linear_forward(a.mlp_pre.data(), a.act.data(), L.w_down, nullptr, *seg(LoraTarget::Down), N, drop(LoraTarget::Down),
                 lin(LoraTarget::Down));
  const float* mo = a.mlp_pre.data();
  if (c.sandwich_norms) {
    grow(a.mlp_post, N * H);
    rmsnorm_forward(a.mlp_post.data(), a.rstd_m.data(), a.mlp_pre.data(), L.ffn_post_norm.data(), N, H, c.rms_eps);
    mo = a.mlp_post.data();
  }
  for (int64_t i = 0; i < N * H; i++) x_out[i] = a.x_mid[i] + mo[i];
}

// One layer's backward, the forward's steps in reverse. dx (N, H): in, the
// gradient at the layer's output; out, the gradient at its input.
void layer_backward(const StepCtx& C, int l, const LayerActs& a, std::vector<float>& dx) {
  const ModelConfig& c = C.m.config;
  const LayerWeights& L = C.m.weights.layers[l];
  const ForwardWorkspace& ws = C.ws;
  const int64_t N = C.b.size(), H = c.hidden, Q = c.q_dim(), KV = c.kv_dim(), I = c.intermediate;
  auto seg = [&](LoraTarget t) -> const std::vector<LoraSegment>& { return ws.segs[static_cast<int>(t)]; };
  auto lin = [&](LoraTarget t) -> const LoraActs& { return a.lin[static_cast<int>(t)]; };
  auto drop = [&](LoraTarget t) { return drop_of(C.opt, l, t); };
  thread_local std::vector<float> d_pre, d_act, d_gate, d_up, d_xn, d_att, dq, dk, dv, tmp;
  d_pre.resize(N * H); d_act.assign(N * I, 0.0f); d_gate.resize(N * I); d_up.resize(N * I);
  d_xn.assign(N * H, 0.0f); d_att.assign(N * Q, 0.0f); dq.resize(N * Q); dk.assign(N * KV, 0.0f);
  dv.assign(N * KV, 0.0f);

  // --- MLP ---
  const float* dmo = dx.data();
  if (c.sandwich_norms) {
    rmsnorm_backward(d_pre.data(), dx.data(), a.mlp_pre.data(), L.ffn_post_norm.data(), a.rstd_m.data(), N, H, false);
    dmo = d_pre.data();
  }
  linear_backward(d_act.data(), dmo, a.act.data(), L.w_down, seg(LoraTarget::Down), N, drop(LoraTarget::Down), lin(LoraTarget::Down));
  glu_backward(d_gate.data(), d_up.data(), d_act.data(), a.gate.data(), a.up.data(), N * I, c.activation);
  linear_backward(d_xn.data(), d_gate.data(), a.xn2.data(), L.w_gate, seg(LoraTarget::Gate), N, drop(LoraTarget::Gate), lin(LoraTarget::Gate));
  linear_backward(d_xn.data(), d_up.data(), a.xn2.data(), L.w_up, seg(LoraTarget::Up), N, drop(LoraTarget::Up), lin(LoraTarget::Up));
  rmsnorm_backward(dx.data(), d_xn.data(), a.x_mid.data(), L.ffn_norm.data(), a.rstd2.data(), N, H, /*accumulate=*/true);

  // --- attention ---
  const float* dop = dx.data();
  if (c.sandwich_norms) {
    rmsnorm_backward(d_pre.data(), dx.data(), a.o_pre.data(), L.attn_post_norm.data(), a.rstd_o.data(), N, H, false);
    dop = d_pre.data();
  }
  linear_backward(d_att.data(), dop, a.att.data(), L.wo, seg(LoraTarget::O), N, drop(LoraTarget::O), lin(LoraTarget::O));
  const bool sliding = c.layer_sliding[l] && c.sliding_window > 0;
  const int32_t* kbeg = sliding ? ws.kbeg_sliding.data() : C.b.kv_begin.data();
  const AttentionDims dims{c.n_heads, c.n_kv_heads, c.head_dim, c.attn_scale, c.attn_softcap};
  attention_backward(dq.data(), dk.data(), dv.data(), d_att.data(), a.att.data(), a.lse.data(), a.q.data(), a.k.data(),
                     a.v.data(), kbeg, ws.kend.data(), N, N, dims);
  const std::vector<float> inv_freq = rope_inv_freq(c, c.layer_sliding[l]);
  rope_backward(dq.data(), C.b.positions.data(), inv_freq.data(), N, c.n_heads, c.head_dim, c.rope_pairing);
  rope_backward(dk.data(), C.b.positions.data(), inv_freq.data(), N, c.n_kv_heads, c.head_dim, c.rope_pairing);
  if (c.qk_norm) {
    tmp.resize(N * Q);
    rmsnorm_backward(tmp.data(), dq.data(), a.q_pre.data(), L.q_norm.data(), a.rstd_q.data(), N * c.n_heads, c.head_dim, false);
    std::copy(tmp.begin(), tmp.begin() + N * Q, dq.begin());
    tmp.resize(N * KV);
    rmsnorm_backward(tmp.data(), dk.data(), a.k_pre.data(), L.k_norm.data(), a.rstd_k.data(), N * c.n_kv_heads, c.head_dim, false);
    std::copy(tmp.begin(), tmp.begin() + N * KV, dk.begin());
  }
  std::fill(d_xn.begin(), d_xn.end(), 0.0f);
  linear_backward(d_xn.data(), dq.data(), a.xn1.data(), L.wq, seg(LoraTarget::Q), N, drop(LoraTarget::Q), lin(LoraTarget::Q));
  linear_backward(d_xn.data(), dk.data(), a.xn1.data(), L.wk, seg(LoraTarget::K), N, drop(LoraTarget::K), lin(LoraTarget::K));
  linear_backward(d_xn.data(), dv.data(), a.xn1.data(), L.wv, seg(LoraTarget::V), N, drop(LoraTarget::V), lin(LoraTarget::V));
  rmsnorm_backward(dx.data(), d_xn.data(), a.x_in.data(), L.attn_norm.data(), a.rstd1.data(), N, H, /*accumulate=*/true);
}

// Key ranges and adapter runs of the batch (the same for every layer).
void batch_setup(const ModelConfig& c, const ForwardBatch& b, ForwardWorkspace& ws) {
  const int64_t N = b.size();
  ws.kend.resize(N);
  ws.kbeg_sliding.resize(N);
  for (int64_t i = 0; i < N; i++) {
    ws.kend[i] = b.kv_row[i] + 1;
    ws.kbeg_sliding[i] = c.sliding_window > 0 ? std::max<int32_t>(b.kv_begin[i], ws.kend[i] - c.sliding_window)
                                              : b.kv_begin[i];
  }
  ws.runs.clear();
  for (int64_t i = 0; i < N; i++) {
    if (!ws.runs.empty() && ws.runs.back().slot == b.slot[i]) ws.runs.back().end = i + 1;
    else ws.runs.push_back({i, i + 1, b.slot[i]});
  }
}

const GradList kNoGrads;

}  // namespace

void model_forward_hidden(const Model& m, const AdapterList& adapters, const ForwardBatch& b, KvCache* kv,
                          const ForwardOptions& opt, ForwardWorkspace& ws) {
  const ComputeScope scope(m.compute);
  const ModelConfig& c = m.config;
  const int64_t N = b.size(), H = c.hidden;
  ws.head_grad_ready = false;
  if (N == 0) return;
  batch_setup(c, b, ws);
  const StepCtx C{m, adapters, kNoGrads, b, kv, opt, ws};
  const bool save = opt.save && !kv;
  const bool keep_all = save && !opt.gradient_checkpointing;
  ws.acts.resize(keep_all ? c.n_layers : std::max<size_t>(ws.acts.size(), 1));
  if (save && !keep_all) ws.inputs.resize(c.n_layers);
  ws.x.resize(static_cast<size_t>(N * H));
  embed_forward(m, b.tokens.data(), N, ws.x.data());
  for (int l = 0; l < c.n_layers; l++) {
    LayerActs& a = ws.acts[keep_all ? l : 0];
    build_segments(C, l);
    if (save) {
      a.x_in.assign(ws.x.begin(), ws.x.begin() + N * H);
      layer_forward(C, l, a, a.x_in.data(), ws.x.data(), true);
      if (!keep_all) ws.inputs[l] = a.x_in;
    } else {
      layer_forward(C, l, a, ws.x.data(), ws.x.data(), false);
    }
  }
  ws.xf.resize(N * H);
  ws.rstd_f.resize(N);
  rmsnorm_forward(ws.xf.data(), ws.rstd_f.data(), ws.x.data(), m.weights.final_norm.data(), N, H, c.rms_eps);
}

void model_backward_hidden(const Model& m, const AdapterList& adapters, const GradList& grads,
                           const ForwardBatch& b, const ForwardOptions& opt, ForwardWorkspace& ws) {
  const ComputeScope scope(m.compute);
  const ModelConfig& c = m.config;
  const int64_t N = b.size(), H = c.hidden;
  if (N == 0) return;
  const StepCtx C{m, adapters, grads, b, nullptr, opt, ws};
  const bool keep_all = !opt.gradient_checkpointing;
  ws.dx.resize(N * H);
  rmsnorm_backward(ws.dx.data(), ws.dxf.data(), ws.x.data(), m.weights.final_norm.data(), ws.rstd_f.data(), N, H, false);
  ws.scratch_out.resize(N * H);
  for (int l = c.n_layers - 1; l >= 0; l--) {
    build_segments(C, l);
    if (keep_all) {
      layer_backward(C, l, ws.acts[l], ws.dx);
    } else {  // recompute this layer's activations from its saved input
      ws.acts[0].x_in = ws.inputs[l];
      layer_forward(C, l, ws.acts[0], ws.acts[0].x_in.data(), ws.scratch_out.data(), true);
      layer_backward(C, l, ws.acts[0], ws.dx);
    }
  }
}

void model_logits(const Model& m, ForwardWorkspace& ws, const int64_t* rows, int64_t n_rows, float* logits) {
  const ComputeScope scope(m.compute);
  const ModelConfig& c = m.config;
  const int64_t H = c.hidden;
  if (n_rows <= 0) return;
  ws.head_in.resize(static_cast<size_t>(n_rows * H));
  for (int64_t j = 0; j < n_rows; j++) std::memcpy(&ws.head_in[j * H], &ws.xf[rows[j] * H], sizeof(float) * H);
  matmul_forward(logits, ws.head_in.data(), m.weights.lm_head, n_rows);
  if (c.final_softcap > 0.0f) softcap_forward(logits, n_rows * c.vocab, c.final_softcap);
}

void model_forward(const Model& m, const LoraAdapter* lora, KvCache& cache, const int32_t* tokens, int64_t T,
                   float* logits, int64_t n_logits) {
  thread_local ForwardWorkspace ws;
  thread_local ForwardBatch b;
  const int64_t P = cache.size();
  b.clear();
  b.add_sequence(tokens, T, static_cast<int32_t>(P), 0, lora ? 0 : kNoAdapter);
  const AdapterList adapters{lora};
  model_forward_hidden(m, adapters, b, &cache, ForwardOptions{}, ws);
  cache.set_size(P + T);
  if (n_logits <= 0) return;
  thread_local std::vector<int64_t> rows;
  rows.resize(n_logits);
  for (int64_t j = 0; j < n_logits; j++) rows[j] = T - n_logits + j;
  model_logits(m, ws, rows.data(), n_logits, logits);
}

}  // namespace loam

#include "model/transformer_train.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/cross_entropy.h"
#include "kernels/low_rank.h"
#include "kernels/matmul.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "model/linear.h"

namespace loam {

void TrainBatch::append(const std::vector<int32_t>& ids, const std::vector<int32_t>& row_targets) {
  const int32_t start = static_cast<int32_t>(tokens.size());
  for (size_t i = 0; i < ids.size(); i++) {
    tokens.push_back(ids[i]);
    positions.push_back(static_cast<int32_t>(i));
    seq_start.push_back(start);
    targets.push_back(i < row_targets.size() ? row_targets[i] : kIgnoreIndex);
  }
}

int64_t loss_head_chunk_rows(int64_t vocab) {
  // As many rows as keep the chunk's logits near 64 MB: every chunk re-packs
  // the whole LM head for its two products, so small chunks cost time.
  return std::clamp<int64_t>((int64_t{64} << 20) / (4 * std::max<int64_t>(vocab, 1)), 32, 512);
}

LoraAdapter lora_zeros_like(const LoraAdapter& lora) {
  LoraAdapter g;
  g.config = lora.config;
  g.names = lora.names;
  g.layers.resize(lora.layers.size());
  for (size_t l = 0; l < lora.layers.size(); l++)
    for (int t = 0; t < kLoraTargets; t++) {
      const LoraMatrix& s = lora.layers[l][t];
      LoraMatrix& d = g.layers[l][t];
      d.in = s.in;
      d.out = s.out;
      d.a.assign(s.a.size(), 0.0f);
      d.b.assign(s.b.size(), 0.0f);
    }
  return g;
}

namespace {

// Saved inputs of one LoRA path: u = src Aᵀ, with src = dropout(x) or x.
struct LinearActs {
  std::vector<float> u;   // (N, r)
  std::vector<float> xd;  // (N, in) dropped-out input; empty without dropout
};

// Activations of one layer saved by the forward for the backward.
struct LayerActs {
  std::vector<float> x_in;                        // (N, H) residual stream entering the layer
  std::vector<float> xn1, rstd1;                  // (N, H), (N) attention-norm output and its 1/rms
  std::vector<float> q_pre, k_pre, rstd_q, rstd_k;  // (N, Q), (N, KV), (N*heads), (N*kv_heads) before qk_norm
  std::vector<float> q, k, v;                     // (N, Q), (N, KV), (N, KV) after qk_norm and RoPE
  std::vector<float> att, lse;                    // (N, Q), (N*heads)
  std::vector<float> o_pre, rstd_o;               // (N, H), (N) attention output before its post-norm
  std::vector<float> x_mid;                       // (N, H) residual after attention
  std::vector<float> xn2, rstd2;                  // (N, H), (N) MLP-norm output
  std::vector<float> gate, up, act;               // (N, I) pre-activation gate/up and GLU output
  std::vector<float> mlp_pre, rstd_m;             // (N, H), (N) MLP output before its post-norm
  std::array<LinearActs, kLoraTargets> lin;
};

}  // namespace

struct TrainWorkspace::Buffers {
  std::vector<LayerActs> acts;              // one per layer, or one reused by every layer (no grads / checkpointing)
  std::vector<std::vector<float>> inputs;   // layer inputs kept under checkpointing
  std::vector<float> x, xf, rstd_f, dxf, dx, scratch_out;  // residual stream, final norm, their gradients
  std::vector<float> head_in, head_logits, head_dx;        // one chunk of the loss head
};

TrainWorkspace::TrainWorkspace() : buffers_(std::make_unique<Buffers>()) {}
TrainWorkspace::~TrainWorkspace() = default;

namespace {

// Everything about the batch that does not depend on the layer.
struct BatchCtx {
  int64_t n;
  const int32_t* positions;
  std::vector<int32_t> kbeg_full, kbeg_sliding, kend;  // (N) key ranges
};

BatchCtx batch_ctx(const ModelConfig& c, const TrainBatch& b) {
  BatchCtx ctx;
  ctx.n = b.size();
  ctx.positions = b.positions.data();
  ctx.kbeg_full = b.seq_start;
  ctx.kbeg_sliding.resize(ctx.n);
  ctx.kend.resize(ctx.n);
  for (int64_t i = 0; i < ctx.n; i++) {
    ctx.kend[i] = static_cast<int32_t>(i + 1);
    ctx.kbeg_sliding[i] = c.sliding_window > 0 ? std::max<int32_t>(b.seq_start[i], ctx.kend[i] - c.sliding_window)
                                               : b.seq_start[i];
  }
  return ctx;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Inverted dropout, deterministic in (seed, layer, target, element) so that
// recomputation under gradient checkpointing reproduces the same mask.
void dropout_apply(float* out, const float* x, int64_t n, float p, uint64_t seed) {
  const float keep_scale = 1.0f / (1.0f - p);
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(p) * 18446744073709551615.0);
  for (int64_t i = 0; i < n; i++)
    out[i] = splitmix64(seed ^ (static_cast<uint64_t>(i) * 0xd1b54a32d192ed03ULL)) < threshold ? 0.0f : x[i] * keep_scale;
}

struct LinearSpec {
  const WeightView* w;
  const std::vector<float>* bias;
  const LoraMatrix* lora;  // null when this target has no adapter
  LoraMatrix* grad;        // null in forward-only runs
};

void lora_linear_forward(float* y, const float* x, const LinearSpec& s, float scale, int64_t n, LinearActs& a,
                         float dropout, uint64_t seed) {
  matmul_forward(y, x, *s.w, n);
  const int64_t out = s.w->n_rows, in = s.w->n_cols;
  if (s.bias && !s.bias->empty())
    for (int64_t t = 0; t < n; t++)
      for (int64_t o = 0; o < out; o++) y[t * out + o] += (*s.bias)[o];
  if (!s.lora) return;
  const int64_t r = static_cast<int64_t>(s.lora->a.size()) / in;
  const float* src = x;
  if (dropout > 0.0f) {
    a.xd.resize(static_cast<size_t>(n * in));
    dropout_apply(a.xd.data(), x, n * in, dropout, seed);
    src = a.xd.data();
  }
  a.u.resize(static_cast<size_t>(n * r));
  lora_add(y, src, *s.lora, scale, n, a.u.data());
}

// dx += ∂/∂x; LoRA grads accumulate into s.grad. dx must be initialized.
void lora_linear_backward(float* dx, const float* dy, const float* x, const LinearSpec& s, float scale, int64_t n,
                          const LinearActs& a, float dropout, uint64_t seed) {
  matmul_backward_input(dx, dy, *s.w, n, /*accumulate=*/true);
  if (!s.lora) return;
  const int64_t out = s.w->n_rows, in = s.w->n_cols;
  const int64_t r = static_cast<int64_t>(s.lora->a.size()) / in;
  const float* src = dropout > 0.0f ? a.xd.data() : x;
  thread_local std::vector<float> du, dsrc, bt, dbt;
  du.resize(static_cast<size_t>(n * r));
  lora_b_transposed(*s.lora, bt);
  // dBᵀ = s · uᵀ dy ; du = s · dy B ; dA += duᵀ src ; dsrc = du A
  dbt.assign(static_cast<size_t>(r * out), 0.0f);
  rank_outer(dbt.data(), a.u.data(), dy, n, r, out, scale);
  for (int64_t o = 0; o < out; o++)
    for (int64_t j = 0; j < r; j++) s.grad->b[o * r + j] += dbt[j * out + o];
  rank_project(du.data(), dy, bt.data(), n, out, r, scale);
  rank_outer(s.grad->a.data(), du.data(), src, n, r, in, 1.0f);
  if (dropout <= 0.0f) {
    rank_expand(dx, du.data(), s.lora->a.data(), n, r, in, 1.0f);
    return;
  }
  dsrc.assign(static_cast<size_t>(n * in), 0.0f);
  rank_expand(dsrc.data(), du.data(), s.lora->a.data(), n, r, in, 1.0f);
  // The dropout mask is where xd == 0 although it was drawn as dropped: redraw it.
  std::vector<float> ones(static_cast<size_t>(n * in), 1.0f), mask(static_cast<size_t>(n * in));
  dropout_apply(mask.data(), ones.data(), n * in, dropout, seed);
  for (int64_t i = 0; i < n * in; i++) dx[i] += mask[i] * dsrc[i];
}

struct LayerRefs {
  const Model& m;
  const LoraAdapter* lora;
  LoraAdapter* grads;
  int layer;
  LinearSpec spec(LoraTarget t, const WeightView& w, const std::vector<float>* bias) const {
    const int i = static_cast<int>(t);
    const LoraMatrix* lm = lora && lora->layers[layer][i].active() ? &lora->layers[layer][i] : nullptr;
    LoraMatrix* gm = lm && grads ? &grads->layers[layer][i] : nullptr;
    return LinearSpec{&w, bias, lm, gm};
  }
};

uint64_t lin_seed(uint64_t base, int layer, int target) {
  return splitmix64(base ^ splitmix64(static_cast<uint64_t>(layer) * 16 + static_cast<uint64_t>(target)));
}

// One layer's forward: x_out = layer(a.x_in), saving what the backward needs.
void layer_forward(const LayerRefs& R, const BatchCtx& ctx, LayerActs& a, float* x_out, const TrainStepOptions& opt) {
  const ModelConfig& c = R.m.config;
  const LayerWeights& L = R.m.weights.layers[R.layer];
  const int64_t N = ctx.n, H = c.hidden, Q = c.q_dim(), KV = c.kv_dim(), I = c.intermediate;
  const float s = R.lora ? R.lora->config.scale() : 0.0f;
  auto seed = [&](LoraTarget t) { return lin_seed(opt.dropout_seed, R.layer, static_cast<int>(t)); };
  auto& lin = a.lin;
  auto resize = [](std::vector<float>& v, int64_t n) { v.resize(static_cast<size_t>(n)); };
  resize(a.xn1, N * H); resize(a.rstd1, N); resize(a.q, N * Q); resize(a.k, N * KV); resize(a.v, N * KV);
  resize(a.att, N * Q); resize(a.lse, N * c.n_heads); resize(a.o_pre, N * H); resize(a.rstd_o, N);
  resize(a.x_mid, N * H); resize(a.xn2, N * H); resize(a.rstd2, N); resize(a.gate, N * I); resize(a.up, N * I);
  resize(a.act, N * I); resize(a.mlp_pre, N * H); resize(a.rstd_m, N);

  rmsnorm_forward(a.xn1.data(), a.rstd1.data(), a.x_in.data(), L.attn_norm.data(), N, H, c.rms_eps);
  lora_linear_forward(a.q.data(), a.xn1.data(), R.spec(LoraTarget::Q, L.wq, &L.bq), s, N, lin[0], opt.dropout, seed(LoraTarget::Q));
  lora_linear_forward(a.k.data(), a.xn1.data(), R.spec(LoraTarget::K, L.wk, &L.bk), s, N, lin[1], opt.dropout, seed(LoraTarget::K));
  lora_linear_forward(a.v.data(), a.xn1.data(), R.spec(LoraTarget::V, L.wv, &L.bv), s, N, lin[2], opt.dropout, seed(LoraTarget::V));
  if (c.qk_norm) {
    a.q_pre = a.q;
    a.k_pre = a.k;
    resize(a.rstd_q, N * c.n_heads);
    resize(a.rstd_k, N * c.n_kv_heads);
    rmsnorm_forward(a.q.data(), a.rstd_q.data(), a.q_pre.data(), L.q_norm.data(), N * c.n_heads, c.head_dim, c.rms_eps);
    rmsnorm_forward(a.k.data(), a.rstd_k.data(), a.k_pre.data(), L.k_norm.data(), N * c.n_kv_heads, c.head_dim, c.rms_eps);
  }
  const bool sliding = c.layer_sliding[R.layer] && c.sliding_window > 0;
  const std::vector<float> inv_freq = rope_inv_freq(c, c.layer_sliding[R.layer]);
  rope_forward(a.q.data(), ctx.positions, inv_freq.data(), N, c.n_heads, c.head_dim, c.rope_pairing);
  rope_forward(a.k.data(), ctx.positions, inv_freq.data(), N, c.n_kv_heads, c.head_dim, c.rope_pairing);
  const AttentionDims dims{c.n_heads, c.n_kv_heads, c.head_dim, c.attn_scale, c.attn_softcap};
  const int32_t* kbeg = sliding ? ctx.kbeg_sliding.data() : ctx.kbeg_full.data();
  attention_forward(a.att.data(), a.lse.data(), a.q.data(), a.k.data(), a.v.data(), kbeg, ctx.kend.data(), N, dims);
  lora_linear_forward(a.o_pre.data(), a.att.data(), R.spec(LoraTarget::O, L.wo, &L.bo), s, N, lin[3], opt.dropout, seed(LoraTarget::O));
  const float* o = a.o_pre.data();
  std::vector<float> o_post;
  if (c.sandwich_norms) {
    o_post.resize(N * H);
    rmsnorm_forward(o_post.data(), a.rstd_o.data(), a.o_pre.data(), L.attn_post_norm.data(), N, H, c.rms_eps);
    o = o_post.data();
  }
  for (int64_t i = 0; i < N * H; i++) a.x_mid[i] = a.x_in[i] + o[i];

  rmsnorm_forward(a.xn2.data(), a.rstd2.data(), a.x_mid.data(), L.ffn_norm.data(), N, H, c.rms_eps);
  lora_linear_forward(a.gate.data(), a.xn2.data(), R.spec(LoraTarget::Gate, L.w_gate, nullptr), s, N, lin[4], opt.dropout, seed(LoraTarget::Gate));
  lora_linear_forward(a.up.data(), a.xn2.data(), R.spec(LoraTarget::Up, L.w_up, nullptr), s, N, lin[5], opt.dropout, seed(LoraTarget::Up));
  glu_forward(a.act.data(), a.gate.data(), a.up.data(), N * I, c.activation);
  lora_linear_forward(a.mlp_pre.data(), a.act.data(), R.spec(LoraTarget::Down, L.w_down, nullptr), s, N, lin[6], opt.dropout, seed(LoraTarget::Down));
  const float* mo = a.mlp_pre.data();
  std::vector<float> m_post;
  if (c.sandwich_norms) {
    m_post.resize(N * H);
    rmsnorm_forward(m_post.data(), a.rstd_m.data(), a.mlp_pre.data(), L.ffn_post_norm.data(), N, H, c.rms_eps);
    mo = m_post.data();
  }
  for (int64_t i = 0; i < N * H; i++) x_out[i] = a.x_mid[i] + mo[i];
}

// One layer's backward, the forward's steps in reverse. dx (N, H): in, the
// gradient at the layer's output; out, the gradient at its input.
void layer_backward(const LayerRefs& R, const BatchCtx& ctx, const LayerActs& a, std::vector<float>& dx,
                    const TrainStepOptions& opt) {
  const ModelConfig& c = R.m.config;
  const LayerWeights& L = R.m.weights.layers[R.layer];
  const int64_t N = ctx.n, H = c.hidden, Q = c.q_dim(), KV = c.kv_dim(), I = c.intermediate;
  const float s = R.lora ? R.lora->config.scale() : 0.0f;
  auto seed = [&](LoraTarget t) { return lin_seed(opt.dropout_seed, R.layer, static_cast<int>(t)); };
  const auto& lin = a.lin;
  thread_local std::vector<float> d_pre, d_act, d_gate, d_up, d_xn, d_att, dq, dk, dv, tmp;
  d_pre.resize(N * H); d_act.assign(N * I, 0.0f); d_gate.resize(N * I); d_up.resize(N * I);
  d_xn.assign(N * H, 0.0f); d_att.assign(N * Q, 0.0f); dq.resize(N * Q); dk.assign(N * KV, 0.0f);
  dv.assign(N * KV, 0.0f);

  // --- MLP: x_out = x_mid + post(down(glu(gate(xn2), up(xn2)))) ---
  const float* dmo = dx.data();
  if (c.sandwich_norms) {
    rmsnorm_backward(d_pre.data(), dx.data(), a.mlp_pre.data(), L.ffn_post_norm.data(), a.rstd_m.data(), N, H, false);
    dmo = d_pre.data();
  }
  lora_linear_backward(d_act.data(), dmo, a.act.data(), R.spec(LoraTarget::Down, L.w_down, nullptr), s, N, lin[6], opt.dropout, seed(LoraTarget::Down));
  glu_backward(d_gate.data(), d_up.data(), d_act.data(), a.gate.data(), a.up.data(), N * I, c.activation);
  lora_linear_backward(d_xn.data(), d_gate.data(), a.xn2.data(), R.spec(LoraTarget::Gate, L.w_gate, nullptr), s, N, lin[4], opt.dropout, seed(LoraTarget::Gate));
  lora_linear_backward(d_xn.data(), d_up.data(), a.xn2.data(), R.spec(LoraTarget::Up, L.w_up, nullptr), s, N, lin[5], opt.dropout, seed(LoraTarget::Up));
  rmsnorm_backward(dx.data(), d_xn.data(), a.x_mid.data(), L.ffn_norm.data(), a.rstd2.data(), N, H, /*accumulate=*/true);

  // --- attention: x_mid = x_in + post(o(attn(rope(norm(q)), rope(norm(k)), v))) ---
  const float* dop = dx.data();
  if (c.sandwich_norms) {
    rmsnorm_backward(d_pre.data(), dx.data(), a.o_pre.data(), L.attn_post_norm.data(), a.rstd_o.data(), N, H, false);
    dop = d_pre.data();
  }
  lora_linear_backward(d_att.data(), dop, a.att.data(), R.spec(LoraTarget::O, L.wo, &L.bo), s, N, lin[3], opt.dropout, seed(LoraTarget::O));
  const bool sliding = c.layer_sliding[R.layer] && c.sliding_window > 0;
  const int32_t* kbeg = sliding ? ctx.kbeg_sliding.data() : ctx.kbeg_full.data();
  const AttentionDims dims{c.n_heads, c.n_kv_heads, c.head_dim, c.attn_scale, c.attn_softcap};
  attention_backward(dq.data(), dk.data(), dv.data(), d_att.data(), a.att.data(), a.lse.data(), a.q.data(), a.k.data(),
                     a.v.data(), kbeg, ctx.kend.data(), N, N, dims);
  const std::vector<float> inv_freq = rope_inv_freq(c, c.layer_sliding[R.layer]);
  rope_backward(dq.data(), ctx.positions, inv_freq.data(), N, c.n_heads, c.head_dim, c.rope_pairing);
  rope_backward(dk.data(), ctx.positions, inv_freq.data(), N, c.n_kv_heads, c.head_dim, c.rope_pairing);
  if (c.qk_norm) {
    tmp.resize(N * Q);
    rmsnorm_backward(tmp.data(), dq.data(), a.q_pre.data(), L.q_norm.data(), a.rstd_q.data(), N * c.n_heads, c.head_dim, false);
    std::copy(tmp.begin(), tmp.begin() + N * Q, dq.begin());
    tmp.resize(N * KV);
    rmsnorm_backward(tmp.data(), dk.data(), a.k_pre.data(), L.k_norm.data(), a.rstd_k.data(), N * c.n_kv_heads, c.head_dim, false);
    std::copy(tmp.begin(), tmp.begin() + N * KV, dk.begin());
  }
  std::fill(d_xn.begin(), d_xn.end(), 0.0f);
  lora_linear_backward(d_xn.data(), dq.data(), a.xn1.data(), R.spec(LoraTarget::Q, L.wq, &L.bq), s, N, lin[0], opt.dropout, seed(LoraTarget::Q));
  lora_linear_backward(d_xn.data(), dk.data(), a.xn1.data(), R.spec(LoraTarget::K, L.wk, &L.bk), s, N, lin[1], opt.dropout, seed(LoraTarget::K));
  lora_linear_backward(d_xn.data(), dv.data(), a.xn1.data(), R.spec(LoraTarget::V, L.wv, &L.bv), s, N, lin[2], opt.dropout, seed(LoraTarget::V));
  rmsnorm_backward(dx.data(), d_xn.data(), a.x_in.data(), L.attn_norm.data(), a.rstd1.data(), N, H, /*accumulate=*/true);
}

void embed(const Model& m, const TrainBatch& b, std::vector<float>& x) {
  const ModelConfig& c = m.config;
  const int64_t H = c.hidden;
  x.resize(static_cast<size_t>(b.size() * H));
  const float scale = c.embed_scale ? static_cast<float>(std::sqrt(static_cast<double>(H))) : 1.0f;
  for (int64_t t = 0; t < b.size(); t++) {
    weight_row_to_f32(m.weights.embed, b.tokens[t], x.data() + t * H);
    if (c.embed_scale)
      for (int64_t i = 0; i < H; i++) x[t * H + i] *= scale;
  }
}

// Cross-entropy head over the scored rows, in chunks. Returns stats; when
// dxf is non-null, writes grad_scale · ∂loss_sum/∂xf into it (N, H).
LossStats loss_head(const Model& m, const std::vector<float>& xf, const TrainBatch& b, float grad_scale, float* dxf,
                    TrainWorkspace::Buffers& ws) {
  const ModelConfig& c = m.config;
  const int64_t H = c.hidden, V = c.vocab;
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < b.size(); i++)
    if (b.targets[i] != kIgnoreIndex) rows.push_back(i);
  LossStats st;
  const int64_t kChunk = loss_head_chunk_rows(V);
  std::vector<float>&xin = ws.head_in, &logits = ws.head_logits, &dxin = ws.head_dx;
  xin.resize(kChunk * H);
  logits.resize(kChunk * V);
  dxin.resize(kChunk * H);
  for (size_t r0 = 0; r0 < rows.size(); r0 += kChunk) {
    const int64_t n = std::min<int64_t>(kChunk, static_cast<int64_t>(rows.size() - r0));
    for (int64_t j = 0; j < n; j++) std::memcpy(&xin[j * H], &xf[rows[r0 + j] * H], sizeof(float) * H);
    matmul_forward(logits.data(), xin.data(), m.weights.lm_head, n);
    double loss_chunk = 0.0;
    int64_t correct = 0;
#pragma omp parallel for reduction(+ : loss_chunk, correct) schedule(static)
    for (int64_t j = 0; j < n; j++) {
      float* z = logits.data() + j * V;
      thread_local std::vector<float> capped;
      if (c.final_softcap > 0.0f) {
        softcap_forward(z, V, c.final_softcap);
        if (dxf) capped.assign(z, z + V);
      }
      const int32_t target = b.targets[rows[r0 + j]];
      CrossEntropyRow ce = cross_entropy_row(z, V, target, grad_scale, dxf != nullptr);
      loss_chunk += ce.loss;
      correct += ce.argmax == target;
      if (dxf && c.final_softcap > 0.0f)  // d/dx c·tanh(x/c) = 1 − tanh²
        for (int64_t v = 0; v < V; v++) {
          const float th = capped[v] / c.final_softcap;
          z[v] *= 1.0f - th * th;
        }
    }
    st.loss_sum += loss_chunk;
    st.n_correct += correct;
    st.n_scored += n;
    if (!dxf) continue;
    matmul_backward_input(dxin.data(), logits.data(), m.weights.lm_head, n, false);
    for (int64_t j = 0; j < n; j++) std::memcpy(dxf + rows[r0 + j] * H, &dxin[j * H], sizeof(float) * H);
  }
  return st;
}

LossStats run(const Model& m, const LoraAdapter* lora, LoraAdapter* grads, const TrainBatch& b, float grad_scale,
              const TrainStepOptions& opt, TrainWorkspace::Buffers& ws) {
  const ModelConfig& c = m.config;
  const int64_t N = b.size(), H = c.hidden;
  if (N == 0) return {};
  const BatchCtx ctx = batch_ctx(c, b);
  const bool keep_all = grads && !opt.gradient_checkpointing;
  std::vector<LayerActs>& acts = ws.acts;
  acts.resize(keep_all ? c.n_layers : std::max<size_t>(acts.size(), 1));
  std::vector<std::vector<float>>& inputs = ws.inputs;
  if (grads && !keep_all) inputs.resize(c.n_layers);
  std::vector<float>& x = ws.x;
  embed(m, b, x);
  for (int l = 0; l < c.n_layers; l++) {
    LayerActs& a = acts[keep_all ? l : 0];
    a.x_in = x;
    layer_forward(LayerRefs{m, lora, grads, l}, ctx, a, x.data(), opt);
    if (grads && !keep_all) inputs[l] = a.x_in;
  }
  std::vector<float>&xf = ws.xf, &rstd_f = ws.rstd_f;
  xf.resize(N * H);
  rstd_f.resize(N);
  rmsnorm_forward(xf.data(), rstd_f.data(), x.data(), m.weights.final_norm.data(), N, H, c.rms_eps);
  if (!grads) return loss_head(m, xf, b, 0.0f, nullptr, ws);

  std::vector<float>&dxf = ws.dxf, &dx = ws.dx, &scratch_out = ws.scratch_out;
  dxf.assign(N * H, 0.0f);
  dx.resize(N * H);
  LossStats st = loss_head(m, xf, b, grad_scale, dxf.data(), ws);
  rmsnorm_backward(dx.data(), dxf.data(), x.data(), m.weights.final_norm.data(), rstd_f.data(), N, H, false);
  scratch_out.resize(N * H);
  for (int l = c.n_layers - 1; l >= 0; l--) {
    LayerRefs R{m, lora, grads, l};
    if (keep_all) {
      layer_backward(R, ctx, acts[l], dx, opt);
    } else {  // recompute this layer's activations from its saved input
      acts[0].x_in = inputs[l];
      layer_forward(R, ctx, acts[0], scratch_out.data(), opt);
      layer_backward(R, ctx, acts[0], dx, opt);
    }
  }
  return st;
}

}  // namespace

LossStats model_train_step(const Model& m, const LoraAdapter& lora, LoraAdapter& grads, const TrainBatch& batch,
                           float grad_scale, const TrainStepOptions& opt, TrainWorkspace* ws) {
  if (ws) return run(m, &lora, &grads, batch, grad_scale, opt, ws->buffers());
  TrainWorkspace local;
  return run(m, &lora, &grads, batch, grad_scale, opt, local.buffers());
}

LossStats model_eval_loss(const Model& m, const LoraAdapter* lora, const TrainBatch& batch, TrainWorkspace* ws) {
  if (ws) return run(m, lora, nullptr, batch, 0.0f, TrainStepOptions{}, ws->buffers());
  TrainWorkspace local;
  return run(m, lora, nullptr, batch, 0.0f, TrainStepOptions{}, local.buffers());
}

}  // namespace loam

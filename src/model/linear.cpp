#include "model/linear.h"

#include <algorithm>
#include <vector>

#include "kernels/low_rank.h"
#include "kernels/vec.h"

namespace loam {

uint64_t mix_bits(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void lora_b_transposed(const LoraMatrix& lora, std::vector<float>& bt) {
  const int64_t out = lora.out, r = lora.rank;
  bt.resize(static_cast<size_t>(r * out));
  for (int64_t o = 0; o < out; o++)
    for (int64_t j = 0; j < r; j++) bt[j * out + o] = lora.b[o * r + j];
}

void lora_segments_build(std::vector<LoraSegment>& out, const std::vector<SlotRun>& runs,
                         const std::vector<const LoraAdapter*>& adapters, const std::vector<LoraAdapter*>& grads,
                         int layer, LoraTarget target) {
  out.clear();
  const int t = static_cast<int>(target);
  for (const SlotRun& run : runs) {
    if (run.slot < 0) continue;
    const LoraAdapter* a = adapters[run.slot];
    if (!a || layer >= static_cast<int>(a->layers.size())) continue;
    const LoraMatrix& m = a->layers[layer][t];
    if (!m.active()) continue;
    LoraAdapter* g = run.slot < static_cast<int32_t>(grads.size()) ? grads[run.slot] : nullptr;
    out.push_back({run.begin, run.end, &m, a->config.scale(), g ? &g->layers[layer][t] : nullptr});
  }
}

namespace {

// Inverted dropout of rows [begin, end) of an (n, in) input; element i of the
// batch draws from (seed, i), whatever the segment.
void dropout_rows(float* out, const float* x, int64_t begin, int64_t end, int64_t in, const LoraDropout& d) {
  const float keep_scale = 1.0f / (1.0f - d.p);
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(d.p) * 18446744073709551615.0);
  for (int64_t i = begin * in; i < end * in; i++)
    out[i] = mix_bits(d.seed ^ (static_cast<uint64_t>(i) * 0xd1b54a32d192ed03ULL)) < threshold ? 0.0f
                                                                                           : x[i] * keep_scale;
}

// The LoRA term of one segment: u = src Aᵀ (rows, r), y += scale · u Bᵀ.
void segment_forward(float* y, const float* src, const LoraSegment& s, int64_t rows, float* u) {
  const LoraMatrix& m = *s.lora;
  const int64_t in = m.in, out = m.out, r = m.rank;
  rank_project(u, src, m.a.data(), rows, in, r, 1.0f);
  if (rows < 16 && r <= 64) {  // decode: B read in place, a block of outputs at a time
    constexpr int64_t kBlock = 32;
    float bt_block[64 * kBlock];  // Bᵀ of this block: (r, kBlock)
    for (int64_t o0 = 0; o0 < out; o0 += kBlock) {
      const int64_t nb = std::min(kBlock, out - o0);
      for (int64_t i = 0; i < nb; i++)
        for (int64_t j = 0; j < r; j++) bt_block[j * kBlock + i] = m.b[(o0 + i) * r + j];
      for (int64_t t = 0; t < rows; t++) {
        float* yt = y + t * out + o0;
        for (int64_t j = 0; j < r; j++) {
          const float c = s.scale * u[t * r + j];
          const float* bj = bt_block + j * kBlock;
          for (int64_t i = 0; i < nb; i++) yt[i] += c * bj[i];
        }
      }
    }
    return;
  }
  thread_local std::vector<float> bt;
  lora_b_transposed(m, bt);
  rank_expand(y, u, bt.data(), rows, r, out, s.scale);
}

void bias_add(const LinearOut& o, int64_t n) {
  if (!o.bias || o.bias->empty()) return;
  const int64_t out = o.w->n_rows;
  for (int64_t t = 0; t < n; t++)
    for (int64_t j = 0; j < out; j++) o.y[t * out + j] += (*o.bias)[j];
}

// y += the LoRA terms of x (per segment), keeping what the backward needs in save.
void lora_add(float* y, const float* x, int64_t out, const std::vector<LoraSegment>* segs, int64_t n,
              const LoraDropout& drop, LoraActs* save) {
  if (!segs || segs->empty()) return;
  const int64_t in = segs->front().lora->in;
  int64_t u_size = 0;
  for (const LoraSegment& s : *segs) u_size += (s.end - s.begin) * s.lora->rank;
  thread_local LoraActs scratch;
  LoraActs& a = save ? *save : scratch;
  a.u.resize(static_cast<size_t>(u_size));
  const float* src = x;
  if (drop.p > 0.0f) {
    a.xd.resize(static_cast<size_t>(n * in));
    for (const LoraSegment& s : *segs) dropout_rows(a.xd.data(), x, s.begin, s.end, in, drop);
    src = a.xd.data();
  }
  float* u = a.u.data();
  for (const LoraSegment& s : *segs) {
    const int64_t rows = s.end - s.begin;
    segment_forward(y + s.begin * out, src + s.begin * in, s, rows, u);
    u += rows * s.lora->rank;
  }
}


// Inference on a decode-sized batch: every output's LoRA terms inside the
// one pass over the weights (matmul.h, LowRankAdd), after the biases as in
// the general path (same results, bit for bit). False,
// computing nothing, where training needs the per-term path (saved
// activations, dropout) or the batch is too large for that pass.
bool forward_fused(const LinearOut* outs, int n_outs, const float* x, int64_t n) {
  constexpr int kMax = 4;
  if (n_outs > kMax) return false;
  thread_local std::vector<LowRankAdd> adds[kMax];
  const LowRankAdd* add_ptrs[kMax];
  int n_adds[kMax];
  float* ys[kMax];
  WeightView ws[kMax];
  const float* biases[kMax];
  for (int i = 0; i < n_outs; i++) {
    biases[i] = outs[i].bias && !outs[i].bias->empty() ? outs[i].bias->data() : nullptr;
    if (outs[i].save || outs[i].drop.p > 0.0f) return false;
    adds[i].clear();
    if (outs[i].segs)
      for (const LoraSegment& s : *outs[i].segs)
        adds[i].push_back({s.begin, s.end, s.lora->a.data(), s.lora->b.data(),
                           s.lora->bt.size() == s.lora->b.size() ? s.lora->bt.data() : nullptr, s.lora->rank, s.scale,
                           s.lora->a_bf16, s.lora->bt_bf16});
    add_ptrs[i] = adds[i].data();
    n_adds[i] = static_cast<int>(adds[i].size());
    ys[i] = outs[i].y;
    ws[i] = *outs[i].w;
  }
  return matmul_forward_multi_lowrank(ys, x, ws, n_outs, n, biases, add_ptrs, n_adds);
}

void outputs_finish(const LinearOut* outs, int n_outs, const float* x, int64_t n) {
  for (int i = 0; i < n_outs; i++) {
    bias_add(outs[i], n);
    lora_add(outs[i].y, x, outs[i].w->n_rows, outs[i].segs, n, outs[i].drop, outs[i].save);
  }
}

}  // namespace

void linear_forward(float* y, const float* x, const WeightView& w, const std::vector<float>* bias,
                    const std::vector<LoraSegment>& segs, int64_t n, const LoraDropout& drop, LoraActs* save) {
  const LinearOut o{y, &w, bias, &segs, drop, save};
  if (forward_fused(&o, 1, x, n)) return;
  matmul_forward(y, x, w, n, /*accumulate=*/false);
  outputs_finish(&o, 1, x, n);
}

void linear_forward_multi(const LinearOut* outs, int n_outs, const float* x, int64_t n) {
  if (forward_fused(outs, n_outs, x, n)) return;
  constexpr int kMax = 4;
  float* ys[kMax];
  WeightView ws[kMax];
  for (int done = 0; done < n_outs; done += kMax) {
    const int k = std::min(kMax, n_outs - done);
    for (int i = 0; i < k; i++) ys[i] = outs[done + i].y, ws[i] = *outs[done + i].w;
    matmul_forward_multi(ys, x, ws, k, n);
  }
  outputs_finish(outs, n_outs, x, n);
}

void linear_backward(float* dx, const float* dy, const float* x, const WeightView& w,
                     const std::vector<LoraSegment>& segs, int64_t n, const LoraDropout& drop,
                     const LoraActs& saved) {
  matmul_backward_input(dx, dy, w, n, /*accumulate=*/true);
  if (segs.empty()) return;
  const int64_t out = w.n_rows, in = w.n_cols;
  const float* src = drop.p > 0.0f ? saved.xd.data() : x;
  thread_local std::vector<float> du, dsrc, bt, dbt, mask, ones;
  const float* u = saved.u.data();
  for (const LoraSegment& s : segs) {
    const LoraMatrix& m = *s.lora;
    const int64_t rows = s.end - s.begin, r = m.rank;
    const float* dy_s = dy + s.begin * out;
    const float* src_s = src + s.begin * in;
    float* dx_s = dx + s.begin * in;
    du.resize(static_cast<size_t>(rows * r));
    lora_b_transposed(m, bt);
    // dBᵀ = s · uᵀ dy ; du = s · dy B ; dA += duᵀ src ; dsrc = du A
    if (s.grad) {
      dbt.assign(static_cast<size_t>(r * out), 0.0f);
      rank_outer(dbt.data(), u, dy_s, rows, r, out, s.scale);
      for (int64_t o = 0; o < out; o++)
        for (int64_t j = 0; j < r; j++) s.grad->b[o * r + j] += dbt[j * out + o];
    }
    rank_project(du.data(), dy_s, bt.data(), rows, out, r, s.scale);
    if (s.grad) rank_outer(s.grad->a.data(), du.data(), src_s, rows, r, in, 1.0f);
    u += rows * r;
    if (drop.p <= 0.0f) {
      rank_expand(dx_s, du.data(), m.a.data(), rows, r, in, 1.0f);
      continue;
    }
    dsrc.assign(static_cast<size_t>(rows * in), 0.0f);
    rank_expand(dsrc.data(), du.data(), m.a.data(), rows, r, in, 1.0f);
    // The dropout mask, redrawn (xd == 0 cannot tell a dropped element from a zero input).
    ones.assign(static_cast<size_t>(n * in), 1.0f);
    mask.resize(static_cast<size_t>(n * in));
    dropout_rows(mask.data(), ones.data(), s.begin, s.end, in, drop);
    for (int64_t i = 0; i < rows * in; i++) dx_s[i] += mask[s.begin * in + i] * dsrc[i];
  }
}

}  // namespace loam

#include "model/linear.h"

#include <algorithm>
#include <vector>

#include "kernels/low_rank.h"
#include "kernels/vec.h"

namespace loam {

void lora_b_transposed(const LoraMatrix& lora, std::vector<float>& bt) {
  const int64_t out = lora.out, r = static_cast<int64_t>(lora.b.size()) / std::max<int64_t>(out, 1);
  bt.resize(static_cast<size_t>(r * out));
  for (int64_t o = 0; o < out; o++)
    for (int64_t j = 0; j < r; j++) bt[j * out + o] = lora.b[o * r + j];
}

void lora_add(float* y, const float* src, const LoraMatrix& lora, float lora_scale, int64_t n, float* u) {
  const int64_t in = lora.in, out = lora.out, r = static_cast<int64_t>(lora.a.size()) / in;
  rank_project(u, src, lora.a.data(), n, in, r, 1.0f);
  if (n < 16) {  // decode: a few dot products of length r per output, B read in place
    for (int64_t t = 0; t < n; t++)
      for (int64_t o = 0; o < out; o++) y[t * out + o] += lora_scale * vec_dot(u + t * r, lora.b.data() + o * r, r);
    return;
  }
  thread_local std::vector<float> bt;
  lora_b_transposed(lora, bt);
  rank_expand(y, u, bt.data(), n, r, out, lora_scale);
}

namespace {

void add_bias_and_lora(float* y, const float* x, const WeightView& w, const std::vector<float>* bias,
                       const LoraMatrix* lora, float lora_scale, int64_t n, float* xa) {
  const int64_t out = w.n_rows;
  if (bias && !bias->empty())
    for (int64_t t = 0; t < n; t++)
      for (int64_t o = 0; o < out; o++) y[t * out + o] += (*bias)[o];
  if (!lora || !lora->active()) return;
  const int64_t r = static_cast<int64_t>(lora->a.size()) / lora->in;
  thread_local std::vector<float> scratch;
  float* u = xa;
  if (!u) {
    scratch.resize(static_cast<size_t>(n * r));
    u = scratch.data();
  }
  lora_add(y, x, *lora, lora_scale, n, u);
}

}  // namespace

void linear_forward(float* y, const float* x, const WeightView& w, const std::vector<float>& bias,
                    const LoraMatrix* lora, float lora_scale, int64_t n, float* xa) {
  matmul_forward(y, x, w, n, /*accumulate=*/false);
  add_bias_and_lora(y, x, w, &bias, lora, lora_scale, n, xa);
}

void linear_forward_multi(const LinearOut* outs, int n, const float* x, float lora_scale, int64_t n_tokens) {
  constexpr int kMax = 4;
  float* ys[kMax];
  WeightView ws[kMax];
  for (int done = 0; done < n; done += kMax) {
    const int k = std::min(kMax, n - done);
    for (int i = 0; i < k; i++) ys[i] = outs[done + i].y, ws[i] = *outs[done + i].w;
    matmul_forward_multi(ys, x, ws, k, n_tokens);
  }
  for (int i = 0; i < n; i++)
    add_bias_and_lora(outs[i].y, x, *outs[i].w, outs[i].bias, outs[i].lora, lora_scale, n_tokens, nullptr);
}

}  // namespace loam

#include "model/logprobs.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "kernels/activation.h"
#include "kernels/compute_scope.h"
#include "kernels/cross_entropy.h"
#include "kernels/matmul.h"

namespace loam {

int64_t loss_head_chunk_rows(int64_t vocab) {
  // As many rows as keep the chunk's logits near 64 MB: every chunk re-packs
  // the whole LM head for its two products, so small chunks cost time.
  return std::clamp<int64_t>((int64_t{64} << 20) / (4 * std::max<int64_t>(vocab, 1)), 32, 512);
}

namespace {

// The head over the scored rows of ws.xf, in chunks: logp and argmax into
// out (when non-null); with weights, ws.dxf = ∂(Σ w·logp)/∂xf.
void head_run(const Model& m, const int32_t* targets, int64_t N, const float* weights, Logprobs* out,
              ForwardWorkspace& ws) {
  const ModelConfig& c = m.config;
  const int64_t H = c.hidden, V = c.vocab;
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < N; i++)
    if (targets[i] != kIgnoreIndex) rows.push_back(i);
  const int64_t kChunk = loss_head_chunk_rows(V);
  std::vector<float>&xin = ws.head_in, &logits = ws.head_logits, &dxin = ws.head_dx;
  xin.resize(kChunk * H);
  logits.resize(kChunk * V);
  dxin.resize(kChunk * H);
  const bool grad = weights != nullptr;
  if (grad) ws.dxf.assign(N * H, 0.0f);
  for (size_t r0 = 0; r0 < rows.size(); r0 += kChunk) {
    const int64_t n = std::min<int64_t>(kChunk, static_cast<int64_t>(rows.size() - r0));
    for (int64_t j = 0; j < n; j++) std::memcpy(&xin[j * H], &ws.xf[rows[r0 + j] * H], sizeof(float) * H);
    matmul_forward(logits.data(), xin.data(), m.weights.lm_head, n);
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; j++) {
      float* z = logits.data() + j * V;
      thread_local std::vector<float> capped;
      if (c.final_softcap > 0.0f) {
        softcap_forward(z, V, c.final_softcap);
        if (grad) capped.assign(z, z + V);
      }
      const int64_t row = rows[r0 + j];
      const int32_t target = targets[row];
      // cross_entropy_row's gradient is g·(softmax − onehot) = ∂(−g·logp)/∂z: g = −w.
      const CrossEntropyRow ce = cross_entropy_row(z, V, target, grad ? -weights[row] : 0.0f, grad);
      if (out) {
        out->logp[row] = -ce.loss;
        out->argmax[row] = static_cast<int32_t>(ce.argmax);
      }
      if (grad && c.final_softcap > 0.0f)  // d/dx c·tanh(x/c) = 1 − tanh²
        for (int64_t v = 0; v < V; v++) {
          const float th = capped[v] / c.final_softcap;
          z[v] *= 1.0f - th * th;
        }
    }
    if (!grad) continue;
    matmul_backward_input(dxin.data(), logits.data(), m.weights.lm_head, n, false);
    for (int64_t j = 0; j < n; j++) std::memcpy(&ws.dxf[rows[r0 + j] * H], &dxin[j * H], sizeof(float) * H);
  }
}

}  // namespace

Logprobs model_logprobs(const Model& m, const AdapterList& adapters, const ForwardBatch& b, const int32_t* targets,
                        const ForwardOptions& opt, ForwardWorkspace& ws, const float* weights) {
  const int64_t N = b.size();
  Logprobs out;
  out.logp.assign(N, 0.0);
  out.argmax.assign(N, -1);
  out.seq_of_row.resize(N);
  std::map<int32_t, int32_t> seq_index;  // kv_begin -> sequence
  for (int64_t i = 0; i < N; i++) {
    auto [it, added] = seq_index.emplace(b.kv_begin[i], static_cast<int32_t>(seq_index.size()));
    out.seq_of_row[i] = it->second;
  }
  out.seq_sum.assign(seq_index.size(), 0.0);
  if (N == 0) return out;
  model_forward_hidden(m, adapters, b, nullptr, opt, ws);
  {
    const ComputeScope scope(m.compute);
    head_run(m, targets, N, opt.save ? weights : nullptr, &out, ws);
  }
  ws.head_grad_ready = opt.save && weights;
  for (int64_t i = 0; i < N; i++)
    if (targets[i] != kIgnoreIndex) {
      out.seq_sum[out.seq_of_row[i]] += out.logp[i];
      out.n_scored++;
    }
  return out;
}

void model_logprobs_backward(const Model& m, const AdapterList& adapters, const GradList& grads,
                             const ForwardBatch& b, const int32_t* targets, const float* weights,
                             const ForwardOptions& opt, ForwardWorkspace& ws) {
  if (b.size() == 0) return;
  if (weights) {
    const ComputeScope scope(m.compute);
    head_run(m, targets, b.size(), weights, nullptr, ws);
  }
  model_backward_hidden(m, adapters, grads, b, opt, ws);
  ws.head_grad_ready = false;
}

}  // namespace loam

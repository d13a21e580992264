#include "model/transformer_train.h"

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

ForwardBatch forward_batch_of(const TrainBatch& b, int32_t slot) {
  ForwardBatch f;
  f.tokens = b.tokens;
  f.positions = b.positions;
  f.kv_begin = b.seq_start;
  f.kv_row.resize(b.tokens.size());
  for (size_t i = 0; i < f.kv_row.size(); i++) f.kv_row[i] = static_cast<int32_t>(i);
  f.slot.assign(b.tokens.size(), slot);
  return f;
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
      d.rank = s.rank;
      d.a.assign(s.a.size(), 0.0f);
      d.b.assign(s.b.size(), 0.0f);
    }
  return g;
}

namespace {

LossStats stats_of(const Logprobs& lp, const TrainBatch& b) {
  LossStats st;
  for (int64_t i = 0; i < b.size(); i++) {
    if (b.targets[i] == kIgnoreIndex) continue;
    st.loss_sum -= lp.logp[i];
    st.n_correct += lp.argmax[i] == b.targets[i];
  }
  st.n_scored = lp.n_scored;
  return st;
}

LossStats train_step(const Model& m, const LoraAdapter& lora, LoraAdapter& grads, const TrainBatch& batch,
                     float grad_scale, const TrainStepOptions& o, ForwardWorkspace& ws) {
  const ForwardBatch b = forward_batch_of(batch, 0);
  // Cross-entropy: every scored row weighs −grad_scale on its log-probability.
  std::vector<float> weights(batch.size());
  for (int64_t i = 0; i < batch.size(); i++) weights[i] = batch.targets[i] == kIgnoreIndex ? 0.0f : -grad_scale;
  const ForwardOptions opt{true, o.gradient_checkpointing, o.dropout, o.dropout_seed};
  const AdapterList adapters{&lora};
  const Logprobs lp = model_logprobs(m, adapters, b, batch.targets.data(), opt, ws, weights.data());
  model_logprobs_backward(m, adapters, GradList{&grads}, b, batch.targets.data(), nullptr, opt, ws);
  return stats_of(lp, batch);
}

LossStats eval_loss(const Model& m, const LoraAdapter* lora, const TrainBatch& batch, ForwardWorkspace& ws) {
  const ForwardBatch b = forward_batch_of(batch, lora ? 0 : kNoAdapter);
  const Logprobs lp = model_logprobs(m, AdapterList{lora}, b, batch.targets.data(), ForwardOptions{}, ws);
  return stats_of(lp, batch);
}

}  // namespace

LossStats model_train_step(const Model& m, const LoraAdapter& lora, LoraAdapter& grads, const TrainBatch& batch,
                           float grad_scale, const TrainStepOptions& opt, TrainWorkspace* ws) {
  if (ws) return train_step(m, lora, grads, batch, grad_scale, opt, *ws);
  TrainWorkspace local;
  return train_step(m, lora, grads, batch, grad_scale, opt, local);
}

LossStats model_eval_loss(const Model& m, const LoraAdapter* lora, const TrainBatch& batch, TrainWorkspace* ws) {
  if (ws) return eval_loss(m, lora, batch, *ws);
  TrainWorkspace local;
  return eval_loss(m, lora, batch, local);
}

}  // namespace loam

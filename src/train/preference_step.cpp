#include "train/preference_step.h"

#include "core/error.h"

namespace loam {
namespace {

void append_sequence(TrainBatch& b, const std::vector<int32_t>& prompt, const std::vector<int32_t>& completion) {
  std::vector<int32_t> ids = prompt;
  ids.insert(ids.end(), completion.begin(), completion.end());
  // Row t predicts ids[t + 1]; only completion tokens are scored.
  std::vector<int32_t> targets(ids.size(), kIgnoreIndex);
  for (size_t t = prompt.empty() ? 0 : prompt.size() - 1; t + 1 < ids.size(); t++) targets[t] = ids[t + 1];
  b.append(ids, targets);
}

// Per pair k: sequence 2k is chosen, 2k+1 rejected (model_logprobs numbers
// sequences in order of their first row).
std::vector<PairLogps> pair_logps_of(const Logprobs& lp, const std::vector<PreferencePair>& pairs,
                                     const std::vector<int64_t>& indices) {
  std::vector<PairLogps> out(indices.size());
  for (size_t k = 0; k < indices.size(); k++) {
    const PreferencePair& p = pairs[indices[k]];
    out[k].chosen = lp.seq_sum[2 * k];
    out[k].rejected = lp.seq_sum[2 * k + 1];
    out[k].n_chosen = static_cast<int64_t>(p.chosen.size());
    out[k].n_rejected = static_cast<int64_t>(p.rejected.size());
  }
  return out;
}

}  // namespace

TrainBatch preference_batch(const std::vector<PreferencePair>& pairs, const std::vector<int64_t>& indices) {
  TrainBatch b;
  for (int64_t i : indices) {
    const PreferencePair& p = pairs[i];
    if (p.chosen.empty() || p.rejected.empty())
      throw Error(ErrorKind::DataError, "pair " + std::to_string(i), "a completion has no tokens");
    append_sequence(b, p.prompt, p.chosen);
    append_sequence(b, p.prompt, p.rejected);
  }
  return b;
}

std::vector<PairLogps> preference_logps(const Model& m, const LoraAdapter* adapter,
                                        const std::vector<PreferencePair>& pairs, const std::vector<int64_t>& indices,
                                        ForwardWorkspace& ws) {
  const TrainBatch batch = preference_batch(pairs, indices);
  const ForwardBatch b = forward_batch_of(batch, adapter ? 0 : kNoAdapter);
  const Logprobs lp = model_logprobs(m, AdapterList{adapter}, b, batch.targets.data(), ForwardOptions{}, ws);
  return pair_logps_of(lp, pairs, indices);
}

PreferenceStepStats preference_step(const Model& m, const LoraAdapter& lora, LoraAdapter& grads,
                                    const std::vector<PreferencePair>& pairs, const std::vector<int64_t>& indices,
                                    const std::vector<PairLogps>& ref, const PreferenceLossConfig& c,
                                    double pair_scale, double nll_scale, const TrainStepOptions& o,
                                    ForwardWorkspace& ws) {
  const TrainBatch batch = preference_batch(pairs, indices);
  const ForwardBatch b = forward_batch_of(batch, 0);
  const ForwardOptions opt{true, o.gradient_checkpointing, o.dropout, o.dropout_seed};
  const AdapterList adapters{&lora};
  // 1. Forward: the policy's sums per sequence (the weights depend on them,
  //    so the head's gradient waits for the backward).
  const Logprobs lp = model_logprobs(m, adapters, b, batch.targets.data(), opt, ws);
  PreferenceStepStats st;
  st.policy = pair_logps_of(lp, pairs, indices);
  // 2. The objective per pair, and ∂(step loss)/∂(each sequence's sum).
  const double nll_weight = c.sft_weight + (c.type == PreferenceLossType::Orpo ? 1.0 : 0.0);
  std::vector<double> d_seq(2 * indices.size());
  for (size_t k = 0; k < indices.size(); k++) {
    st.losses.push_back(preference_pair_loss(c, st.policy[k], ref.empty() ? PairLogps{} : ref[k]));
    d_seq[2 * k] = pair_scale * st.losses[k].d_chosen - nll_weight * nll_scale;
    d_seq[2 * k + 1] = pair_scale * st.losses[k].d_rejected;
    st.nll_sum -= st.policy[k].chosen;
    st.n_chosen_tokens += st.policy[k].n_chosen;
  }
  // 3. Backward of Σ w·logp with w = the sequence's derivative on its scored rows.
  std::vector<float> weights(batch.size(), 0.0f);
  for (int64_t i = 0; i < batch.size(); i++)
    if (batch.targets[i] != kIgnoreIndex) weights[i] = static_cast<float>(d_seq[lp.seq_of_row[i]]);
  model_logprobs_backward(m, adapters, GradList{&grads}, b, batch.targets.data(), weights.data(), opt, ws);
  return st;
}

}  // namespace loam

// One micro-batch of preference pairs through the model: the policy's
// forward and backward for a preference objective (train/preference_loss.h),
// and the reference policy's log-probs.
//
// A pair is two sequences, prompt+chosen and prompt+rejected, packed into
// one batch together with the micro-batch's other pairs (one forward, one
// backward for all of them: the two completions of a pair share the batch,
// not yet the prompt's rows, since a row attends one contiguous key range).
// Log-probs are summed over the completion tokens only; the prompt is
// context. The backward weighs each completion token by ∂L/∂(its sequence's
// sum), so one model_logprobs_backward gives the gradient of the step loss.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.h"
#include "model/transformer_train.h"
#include "train/preference_loss.h"

namespace loam {

struct PreferencePair {
  std::vector<int32_t> prompt;    // the prompt with the generation prompt (context only)
  std::vector<int32_t> chosen;    // completion tokens, scored
  std::vector<int32_t> rejected;  // completion tokens, scored
  int64_t tokens() const { return static_cast<int64_t>(2 * prompt.size() + chosen.size() + rejected.size()); }
};

// The two sequences of each pair in `indices`, in order: rows of pair k's
// chosen sequence, then its rejected sequence. REQUIRES: completions non-empty.
TrainBatch preference_batch(const std::vector<PreferencePair>& pairs, const std::vector<int64_t>& indices);

// Σ log-probs of each listed pair's completions under `adapter` (null: the
// bare base model), forward only.
std::vector<PairLogps> preference_logps(const Model& m, const LoraAdapter* adapter,
                                        const std::vector<PreferencePair>& pairs, const std::vector<int64_t>& indices,
                                        ForwardWorkspace& ws);

struct PreferenceStepStats {
  std::vector<PairLogps> policy;  // per listed pair
  std::vector<PairLoss> losses;   // per listed pair
  double nll_sum = 0;             // −Σ log p over the chosen tokens
  int64_t n_chosen_tokens = 0;
};

// Forward and backward of one micro-batch: accumulates into grads the
// gradient of
//   pair_scale · Σ_pairs L  +  nll_weight · nll_scale · (−Σ chosen-token log p)
// where nll_weight = c.sft_weight (+1 for ORPO). With pair_scale = 1/(pairs in
// the optimizer step) and nll_scale = 1/(chosen tokens in the step) this is
// the step loss of preference_loss.h. `ref` holds the listed pairs'
// reference log-probs (ignored by reference-free losses).
PreferenceStepStats preference_step(const Model& m, const LoraAdapter& lora, LoraAdapter& grads,
                                    const std::vector<PreferencePair>& pairs, const std::vector<int64_t>& indices,
                                    const std::vector<PairLogps>& ref, const PreferenceLossConfig& c,
                                    double pair_scale, double nll_scale, const TrainStepOptions& opt,
                                    ForwardWorkspace& ws);

}  // namespace loam

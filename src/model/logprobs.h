// Log-probabilities: the interface between the model and every objective.
//
// The forward returns, for each row with a target, log p(target | the row's
// sequence up to and including the row), and their sums per sequence; the
// backward takes a weight per row and accumulates the adapter gradients of
//   Σᵢ wᵢ · logpᵢ.
// SFT's mean cross-entropy is the weighting wᵢ = −1/(scored tokens); DPO's
// per-sequence sigmoid terms are another; the reference policy is the same
// forward with the adapter slot set to kNoAdapter or to a frozen adapter.
//
// Shapes: N rows (ForwardBatch), V vocab. targets (N): token id or
// kIgnoreIndex (not scored).
#pragma once

#include <cstdint>
#include <vector>

#include "model/transformer.h"

namespace loam {

constexpr int32_t kIgnoreIndex = -100;  // a target that is not scored (HF convention)

struct Logprobs {
  std::vector<double> logp;       // (N) log p(targets[i]); 0 where not scored
  std::vector<int32_t> argmax;    // (N) argmax of the row's logits; -1 where not scored
  std::vector<int32_t> seq_of_row;  // (N) index into seq_sum of the row's sequence
  std::vector<double> seq_sum;    // (S) Σ logp over each sequence's scored rows, sequences
                                  //     (rows sharing kv_begin) in order of first row
  int64_t n_scored = 0;
};

// Forward over the batch (own keys: kv_row[i] == i). With opt.save the
// workspace keeps what model_logprobs_backward needs. With weights (N) given
// here as well, the head's gradient is formed in the same pass (one LM-head
// product instead of two: what SFT does, its weights being known upfront).
Logprobs model_logprobs(const Model& m, const AdapterList& adapters, const ForwardBatch& b, const int32_t* targets,
                        const ForwardOptions& opt, ForwardWorkspace& ws, const float* weights = nullptr);

// Accumulates ∂(Σᵢ weights[i] · logp[i])/∂θ into grads (per slot; null
// entries frozen) after model_logprobs with opt.save on the same ws, b,
// targets and opt. weights null: those given to the forward (REQUIRES the
// forward had them). Otherwise the head's logits are recomputed (one more
// LM-head product).
void model_logprobs_backward(const Model& m, const AdapterList& adapters, const GradList& grads,
                             const ForwardBatch& b, const int32_t* targets, const float* weights,
                             const ForwardOptions& opt, ForwardWorkspace& ws);

// Rows of the head's chunks: its logits (rows × vocab floats) are the
// largest buffer of a step after the saved activations.
int64_t loss_head_chunk_rows(int64_t vocab);

}  // namespace loam

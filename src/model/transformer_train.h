// SFT's view of the model: packed training batches and the cross-entropy
// step, as thin wrappers over the log-probability interface (logprobs.h):
// cross-entropy is the weighting wᵢ = −grad_scale of every scored row.
//
// Batches are padding-free: sequences are concatenated into one row of N
// tokens; each token carries its position in its own sequence and the row
// where that sequence starts, so attention and RoPE never leak between
// packed examples.
#pragma once

#include <cstdint>
#include <vector>

#include "model/logprobs.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/transformer.h"

namespace loam {

struct TrainBatch {
  std::vector<int32_t> tokens;     // (N) input ids
  std::vector<int32_t> positions;  // (N) position within the token's own sequence
  std::vector<int32_t> seq_start;  // (N) index in the batch where the token's sequence begins
  std::vector<int32_t> targets;    // (N) id the logits at this row must predict, or kIgnoreIndex
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  // Appends one sequence; targets[i] is the label for row i (already shifted).
  void append(const std::vector<int32_t>& ids, const std::vector<int32_t>& row_targets);
};

// The rows of a TrainBatch for the layer step (own keys), all on `slot`.
ForwardBatch forward_batch_of(const TrainBatch& b, int32_t slot);

struct TrainStepOptions {
  float dropout = 0.0f;             // LoRA dropout on the adapter input (0 = off)
  uint64_t dropout_seed = 0;        // mask stream; derive from (run seed, step) for reproducibility
  bool gradient_checkpointing = false;  // keep only each layer's input; recompute in backward
};

struct LossStats {
  double loss_sum = 0.0;   // sum of token cross-entropies over scored rows
  int64_t n_scored = 0;    // rows with a target
  int64_t n_correct = 0;   // scored rows whose argmax equals the target
};

// The buffers a step keeps for the next one (see transformer.h).
using TrainWorkspace = ForwardWorkspace;

// Forward + backward. Accumulates grad_scale · ∂(loss_sum)/∂θ into grads
// (same layout as the adapter; caller zeroes it per optimizer step). With
// grad_scale = 1 / (scored tokens in the whole optimizer step) the gradient
// is that of the step's mean cross-entropy.
LossStats model_train_step(const Model& m, const LoraAdapter& lora, LoraAdapter& grads, const TrainBatch& batch,
                           float grad_scale, const TrainStepOptions& opt, TrainWorkspace* ws = nullptr);

// Forward only (no dropout): loss and accuracy over the scored rows.
LossStats model_eval_loss(const Model& m, const LoraAdapter* lora, const TrainBatch& batch,
                          TrainWorkspace* ws = nullptr);

// A zeroed gradient buffer shaped like `lora`.
LoraAdapter lora_zeros_like(const LoraAdapter& lora);

}  // namespace loam

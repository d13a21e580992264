// Training forward and backward of the transformer with LoRA adapters.
//
// The base model is frozen: gradients flow to activations and LoRA A/B
// only, never to base weights. Batches are padding-free: sequences are
// concatenated into one row of N tokens; each token carries its position in
// its own sequence and the row where that sequence starts, so attention and
// RoPE never leak between packed examples.
//
// Shape legend: N tokens in the batch, H hidden, Q = heads*head_dim,
// KV = kv_heads*head_dim, I intermediate, V vocab, r LoRA rank.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/lora.h"
#include "model/model.h"

namespace loam {

constexpr int32_t kIgnoreIndex = -100;  // a target that is not scored (HF convention)

struct TrainBatch {
  std::vector<int32_t> tokens;     // (N) input ids
  std::vector<int32_t> positions;  // (N) position within the token's own sequence
  std::vector<int32_t> seq_start;  // (N) index in the batch where the token's sequence begins
  std::vector<int32_t> targets;    // (N) id the logits at this row must predict, or kIgnoreIndex
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  // Appends one sequence; targets[i] is the label for row i (already shifted).
  void append(const std::vector<int32_t>& ids, const std::vector<int32_t>& row_targets);
};

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

// Buffers a training step keeps for the next one: the saved activations of
// every layer and the gradients flowing through them (about 1.2 MB per token
// and layer at SmolLM2-135M's shape). Allocating them afresh each step cost
// a fifth of the step in page faults and zero-filling on one core. Holds no
// results: any workspace may be passed to any step, or none.
class TrainWorkspace {
 public:
  TrainWorkspace();
  ~TrainWorkspace();
  TrainWorkspace(const TrainWorkspace&) = delete;
  TrainWorkspace& operator=(const TrainWorkspace&) = delete;
  struct Buffers;
  Buffers& buffers() { return *buffers_; }

 private:
  std::unique_ptr<Buffers> buffers_;
};

// Forward + backward. Accumulates grad_scale · ∂(loss_sum)/∂θ into grads
// (same layout as the adapter; caller zeroes it per optimizer step). With
// grad_scale = 1 / (scored tokens in the whole optimizer step) the gradient
// is that of the step's mean cross-entropy.
LossStats model_train_step(const Model& m, const LoraAdapter& lora, LoraAdapter& grads, const TrainBatch& batch,
                           float grad_scale, const TrainStepOptions& opt, TrainWorkspace* ws = nullptr);

// Forward only (no dropout): loss and accuracy over the scored rows.
LossStats model_eval_loss(const Model& m, const LoraAdapter* lora, const TrainBatch& batch,
                          TrainWorkspace* ws = nullptr);

// Rows of the loss head's chunks: its logits (rows × vocab floats) are the
// largest buffer of a step after the saved activations.
int64_t loss_head_chunk_rows(int64_t vocab);

// A zeroed gradient buffer shaped like `lora`.
LoraAdapter lora_zeros_like(const LoraAdapter& lora);

}  // namespace loam

// The one choke point for every linear layer of the transformer, forward and
// backward, with per-row-segment LoRA:
//   y[rows of s] = x Wᵀ (+ b) + s.scale · (src Aₛᵀ) Bₛᵀ   for each segment s,
//   src = dropout(x) in training with dropout, else x.
// A batch may mix adapters: each segment (a run of rows) names its own
// matrix; rows in no segment get the bare base product and cost nothing
// more. The scale of a segment comes from lora_segments_build, the only
// place that computes it (LoraConfig::scale()).
// Shapes: x (n, in), y (n, out), W (out, in), b (out), A (r, in), B (out, r).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/matmul.h"
#include "model/lora.h"

namespace loam {

// Rows [begin, end) of a batch that use one adapter matrix.
struct LoraSegment {
  int64_t begin = 0, end = 0;
  const LoraMatrix* lora = nullptr;  // active (a, b non-empty)
  float scale = 0.0f;                // alpha / r (rsLoRA: alpha / sqrt(r))
  LoraMatrix* grad = nullptr;        // gradient accumulator, or null (no gradient)
};

// Inverted LoRA dropout on the adapter input, deterministic in (seed,
// element index in the batch) so a recomputed forward draws the same mask.
struct LoraDropout {
  float p = 0.0f;     // 0 = off
  uint64_t seed = 0;  // per (step, layer, target)
};

// What a LoRA forward keeps for its backward.
struct LoraActs {
  std::vector<float> u;   // Σₛ (rowsₛ, rₛ): src Aₛᵀ, segment after segment
  std::vector<float> xd;  // (n, in) dropped-out input; empty without dropout
};

// A run of batch rows sharing an adapter slot (slot < 0: none).
struct SlotRun {
  int64_t begin, end;
  int32_t slot;
};

// The segments of (layer, target) for a batch: one per run whose slot's
// adapter has that matrix. grads (may be empty) parallels adapters.
void lora_segments_build(std::vector<LoraSegment>& out, const std::vector<SlotRun>& runs,
                         const std::vector<const LoraAdapter*>& adapters, const std::vector<LoraAdapter*>& grads,
                         int layer, LoraTarget target);

// y = x Wᵀ + b + LoRA of each segment. save (may be null) receives what
// linear_backward needs.
void linear_forward(float* y, const float* x, const WeightView& w, const std::vector<float>* bias,
                    const std::vector<LoraSegment>& segs, int64_t n, const LoraDropout& drop, LoraActs* save);

// Several linear layers reading the same x (q/k/v, gate/up), their base
// products in one call (see matmul_forward_multi): outs[i].y = layer i of x.
struct LinearOut {
  float* y;
  const WeightView* w;
  const std::vector<float>* bias;         // null or empty: none
  const std::vector<LoraSegment>* segs;   // null or empty: no adapter
  LoraDropout drop;
  LoraActs* save;                         // null: not saved
};
void linear_forward_multi(const LinearOut* outs, int n_outs, const float* x, int64_t n);

// The backward to the input of a frozen W with LoRA: dx += dy W + LoRA terms
// (dx must be initialized); each segment's grad (if any) accumulates dA, dB.
// x and saved are the forward's input and save.
void linear_backward(float* dx, const float* dy, const float* x, const WeightView& w,
                     const std::vector<LoraSegment>& segs, int64_t n, const LoraDropout& drop,
                     const LoraActs& saved);

// Bᵀ (r, out) of a LoRA matrix into bt: the rows the rank_expand/rank_project
// kernels stream.
void lora_b_transposed(const LoraMatrix& lora, std::vector<float>& bt);

// splitmix64: the bit mixer behind dropout masks and derived seeds.
uint64_t mix_bits(uint64_t x);

}  // namespace loam

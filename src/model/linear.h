// The one choke point for every linear layer of the transformer:
//   y = x Wᵀ (+ b) (+ scale · (x Aᵀ) Bᵀ when a LoRA matrix is active).
// Shapes: x (n, in), y (n, out), W (out, in), b (out), A (r, in), B (out, r).
// The LoRA scale is computed here and nowhere else.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/matmul.h"
#include "model/lora.h"

namespace loam {

// xa (n, r) receives x Aᵀ when non-null and LoRA is active (saved for backward).
void linear_forward(float* y, const float* x, const WeightView& w, const std::vector<float>& bias,
                    const LoraMatrix* lora, float lora_scale, int64_t n, float* xa = nullptr);

// Several linear layers reading the same x (q/k/v, gate/up), their matrix
// products in one call (see matmul_forward_multi): out[i].y = layer i of x.
struct LinearOut {
  float* y;
  const WeightView* w;
  const std::vector<float>* bias;  // null or empty: none
  const LoraMatrix* lora;          // null or inactive: none
};
void linear_forward_multi(const LinearOut* outs, int n, const float* x, float lora_scale, int64_t n_tokens);

// Bᵀ (r, out) of a LoRA matrix into bt: the rows the rank_expand/rank_project
// kernels stream.
void lora_b_transposed(const LoraMatrix& lora, std::vector<float>& bt);

// The LoRA term alone: u = src Aᵀ (n, r) into u, then y += scale · u Bᵀ.
void lora_add(float* y, const float* src, const LoraMatrix& lora, float lora_scale, int64_t n, float* u);

}  // namespace loam

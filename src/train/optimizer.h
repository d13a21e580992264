// AdamW over the LoRA parameters, with fp32 state, as torch.optim.AdamW:
//   p ← p · (1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²
//   p ← p − lr/(1−β1ᵗ) · m / (sqrt(v)/sqrt(1−β2ᵗ) + ε)
// plus global gradient-norm clipping (torch.nn.utils.clip_grad_norm_).
#pragma once

#include <cstdint>
#include <vector>

#include "model/lora.h"

namespace loam {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
};

struct AdamWState {
  int64_t step = 0;                 // optimizer steps taken
  std::vector<std::vector<float>> m, v;  // one buffer per parameter tensor, adapter order (layer, target, A then B)
};

AdamWState adamw_init(const LoraAdapter& params);

// Global L2 norm of all gradients.
double grad_global_norm(const LoraAdapter& grads);

// Scales grads so their global norm is at most max_norm (no-op when
// max_norm <= 0 or the norm is smaller). Returns the norm before clipping.
double grad_clip(LoraAdapter& grads, double max_norm);

void adamw_step(LoraAdapter& params, const LoraAdapter& grads, AdamWState& st, const AdamWConfig& cfg, float lr);

// Visits each parameter tensor of an adapter in the fixed order used by the
// optimizer state and checkpoints.
template <class Adapter, class Fn>
void lora_for_each_tensor(Adapter& a, Fn&& fn) {
  for (auto& layer : a.layers)
    for (auto& m : layer) {
      if (!m.active()) continue;
      fn(m.a);
      fn(m.b);
    }
}

}  // namespace loam

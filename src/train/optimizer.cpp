#include "train/optimizer.h"

#include <cmath>

namespace loam {

AdamWState adamw_init(const LoraAdapter& params) {
  AdamWState st;
  lora_for_each_tensor(params, [&](const std::vector<float>& p) {
    st.m.emplace_back(p.size(), 0.0f);
    st.v.emplace_back(p.size(), 0.0f);
  });
  return st;
}

double grad_global_norm(const LoraAdapter& grads) {
  double ss = 0.0;
  lora_for_each_tensor(grads, [&](const std::vector<float>& g) {
    for (float x : g) ss += static_cast<double>(x) * x;
  });
  return std::sqrt(ss);
}

double grad_clip(LoraAdapter& grads, double max_norm) {
  const double norm = grad_global_norm(grads);
  if (max_norm > 0.0 && norm > max_norm) {
    // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when < 1.
    const float coef = static_cast<float>(max_norm / (norm + 1e-6));
    lora_for_each_tensor(grads, [&](std::vector<float>& g) {
      for (float& x : g) x *= coef;
    });
  }
  return norm;
}

void adamw_step(LoraAdapter& params, const LoraAdapter& grads, AdamWState& st, const AdamWConfig& cfg, float lr) {
  st.step++;
  const double bc1 = 1.0 - std::pow(static_cast<double>(cfg.beta1), static_cast<double>(st.step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(cfg.beta2), static_cast<double>(st.step));
  const float step_size = static_cast<float>(lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  std::vector<const std::vector<float>*> gs;
  lora_for_each_tensor(grads, [&](const std::vector<float>& g) { gs.push_back(&g); });
  size_t k = 0;
  lora_for_each_tensor(params, [&](std::vector<float>& p) {
    const std::vector<float>& g = *gs[k];
    std::vector<float>& m = st.m[k];
    std::vector<float>& v = st.v[k];
    const float decay = 1.0f - lr * cfg.weight_decay;
    for (size_t i = 0; i < p.size(); i++) {
      if (cfg.weight_decay != 0.0f) p[i] *= decay;
      m[i] = cfg.beta1 * m[i] + (1.0f - cfg.beta1) * g[i];
      v[i] = cfg.beta2 * v[i] + (1.0f - cfg.beta2) * g[i] * g[i];
      const float denom = std::sqrt(v[i]) / bc2_sqrt + cfg.eps;
      p[i] -= step_size * m[i] / denom;
    }
    k++;
  });
}

}  // namespace loam

#include "model/config.h"

#include <cmath>

#include "core/error.h"

namespace loam {

const std::vector<HfTensorLayout>& hf_tensor_layouts() {
  static const std::vector<HfTensorLayout> all = {
      {"model", "lm_head.weight"},
      {"language_model.model", "language_model.lm_head.weight"},
      {"model.language_model", "lm_head.weight"},
  };
  return all;
}

std::vector<float> rope_inv_freq(const ModelConfig& c, bool sliding_layer) {
  const int half = c.head_dim / 2;
  const bool local = sliding_layer && c.rope_local_theta > 0.0f;
  const double theta = local ? c.rope_local_theta : c.rope_theta;
  std::vector<float> inv(half);
  for (int i = 0; i < half; i++) {
    // HF: 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)) in fp32.
    float expo = static_cast<float>(2 * i) / static_cast<float>(c.head_dim);
    inv[i] = static_cast<float>(1.0 / std::pow(theta, static_cast<double>(expo)));
  }
  if (local) return inv;  // Gemma 3 local layers use the default rope
  if (!c.rope_freq_factors.empty()) {
    for (int i = 0; i < half && i < static_cast<int>(c.rope_freq_factors.size()); i++)
      inv[i] = inv[i] / c.rope_freq_factors[i];
    return inv;
  }
  const RopeScaling& s = c.rope_scaling;
  if (s.type == RopeScalingType::Linear) {
    for (float& f : inv) f = f / s.factor;
  } else if (s.type == RopeScalingType::Llama3) {
    const double low_wavelen = s.original_max_position / s.low_freq_factor;
    const double high_wavelen = s.original_max_position / s.high_freq_factor;
    for (float& f : inv) {
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f = f / s.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (s.original_max_position / wavelen - s.low_freq_factor) /
                              (s.high_freq_factor - s.low_freq_factor);
        f = static_cast<float>((1.0 - smooth) * f / s.factor + smooth * f);
      }
    }
  }
  return inv;
}

void model_config_check(const ModelConfig& c, const std::string& origin) {
  auto need = [&](bool ok, const char* field, const std::string& msg) {
    if (!ok) throw Error(origin + ": field " + field, msg);
  };
  need(c.n_layers > 0, "num_hidden_layers", "must be positive");
  need(c.hidden > 0, "hidden_size", "must be positive");
  need(c.n_heads > 0, "num_attention_heads", "must be positive");
  need(c.n_kv_heads > 0 && c.n_heads % c.n_kv_heads == 0, "num_key_value_heads",
       "must be positive and divide num_attention_heads (" + std::to_string(c.n_heads) + ")");
  need(c.head_dim > 0 && c.head_dim % 2 == 0 && c.head_dim <= 1024, "head_dim",
       "must be even and at most 1024");
  need(c.intermediate > 0, "intermediate_size", "must be positive");
  need(c.vocab > 0, "vocab_size", "must be positive");
  need(c.rms_eps > 0, "rms_norm_eps", "must be positive");
  need(c.rope_theta > 0, "rope_theta", "must be positive");
  need(static_cast<int>(c.layer_sliding.size()) == c.n_layers, "layer_types",
       "needs one entry per layer");
  need(c.sliding_window >= 0, "sliding_window", "must not be negative");
  need(c.max_position > 0, "max_position_embeddings", "must be positive (the model's context length)");
  const std::string vocab_range = "outside the vocabulary [0, " + std::to_string(c.vocab) + ") of vocab_size";
  need(c.bos_id < c.vocab && c.bos_id >= -1, "bos_token_id", "id " + std::to_string(c.bos_id) + " is " + vocab_range);
  for (int id : c.eos_ids)
    need(id >= 0 && id < c.vocab, "eos_token_id", "id " + std::to_string(id) + " is " + vocab_range);
}

}  // namespace loam

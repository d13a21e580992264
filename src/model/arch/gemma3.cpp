// Gemma 3 text models (Gemma3ForCausalLM, model_type gemma3_text): Gemma 2's
// sandwich norms plus RMSNorm (1 + w) over each head of q and k; local
// (sliding) layers interleaved with global ones — every
// sliding_window_pattern-th layer is global — each kind with its own RoPE
// base (rope_local_base_freq for local, rope_theta + rope_scaling for global).
#include <cmath>

#include "model/arch.h"
#include "model/gguf_config.h"
#include "model/hf_config.h"

namespace loam {

void gemma2_read_hf_common(const HfConfigReader& r, ModelConfig& c);  // gemma2.cpp

namespace {

void read_hf(const HfConfigReader& r, ModelConfig& c) {
  gemma2_read_hf_common(r, c);
  c.qk_norm = true;
  c.rope_local_theta = r.get_float("rope_local_base_freq", 10000.0f);
  if (!hf_read_layer_types(r, c)) {
    const int pattern = r.get_int("sliding_window_pattern", 6);
    if (pattern <= 0) r.fail("sliding_window_pattern", "must be positive");
    for (int i = 0; i < c.n_layers; i++) c.layer_sliding[i] = (i + 1) % pattern != 0;
  }
}

void read_gguf(const GgufConfigReader& r, ModelConfig& c) {
  c.embed_scale = true;
  c.sandwich_norms = true;
  c.qk_norm = true;
  c.activation = Activation::GeluTanh;
  c.sliding_window = static_cast<int>(r.get_int("attention.sliding_window").value_or(4096));
  c.rope_local_theta = 10000.0f;
  for (int i = 0; i < c.n_layers; i++) c.layer_sliding[i] = (i + 1) % 6 != 0;
  if (auto k = r.get_int("attention.key_length")) c.attn_scale = 1.0f / std::sqrt(static_cast<float>(*k));
}

}  // namespace

extern const Arch kArchGemma3 = {
    "gemma3", {"Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"}, {"gemma3_text", "gemma3"}, {"gemma3"},
    read_hf, read_gguf,
};

}  // namespace loam

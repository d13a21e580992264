// Gemma 3 text models (Gemma3ForCausalLM, model_type gemma3_text): Gemma 2's
// sandwich norms plus RMSNorm (1 + w) over each head of q and k; local
// (sliding) layers interleaved with global ones — every
// sliding_window_pattern-th layer is global — each kind with its own RoPE
// base (rope_local_base_freq for local, rope_theta + rope_scaling for global).
// The multimodal Gemma3ForConditionalGeneration (4B and up) is read as its
// text model: its text_config, whose omitted fields take Gemma3TextConfig's
// defaults (kDefaults), and its language-model tensors (HfTensorLayout).
#include <cmath>

#include "model/arch.h"
#include "model/gguf_config.h"
#include "model/hf_config.h"

namespace loam {

void gemma2_read_hf_common(const HfConfigReader& r, ModelConfig& c);  // gemma2.cpp
float gemma2_gguf_attn_scale(const GgufConfigReader& r, const ModelConfig& c, int layers_27b);

namespace {

// transformers' Gemma3TextConfig.__init__ defaults (models/gemma3/
// configuration_gemma3.py), the fields Loam reads. Real wrapper configs rely
// on them: google/gemma-3-4b-it's text_config gives only hidden_size,
// intermediate_size, num_hidden_layers, rope_scaling and sliding_window.
// null = None (soft-capping and rope scaling off).
constexpr const char* kDefaults = R"({
  "vocab_size": 262208, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
  "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
  "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 131072, "rms_norm_eps": 1e-6,
  "eos_token_id": 1, "bos_token_id": 2, "tie_word_embeddings": true,
  "rope_theta": 1000000.0, "rope_scaling": null, "rope_local_base_freq": 10000.0,
  "query_pre_attn_scalar": 256, "sliding_window": 4096, "sliding_window_pattern": 6,
  "final_logit_softcapping": null, "attn_logit_softcapping": null
})";

// transformers v5 writes the two ropes as rope_parameters.full_attention and
// .sliding_attention (each with its rope_theta) instead of rope_theta,
// rope_scaling and rope_local_base_freq.
void read_rope_parameters(const HfConfigReader& r, ModelConfig& c) {
  if (!r.has("rope_parameters")) return;
  const HfConfigReader p = r.object("rope_parameters");
  if (p.has("full_attention")) hf_read_rope_params(p.object("full_attention"), c.rope_theta, c.rope_scaling);
  if (p.has("sliding_attention")) {
    RopeScaling local;
    hf_read_rope_params(p.object("sliding_attention"), c.rope_local_theta, local);
    if (local.type != RopeScalingType::None)
      p.fail("sliding_attention.rope_type", "local (sliding) layers take the default rope only");
  }
}

void read_hf(const HfConfigReader& r, ModelConfig& c) {
  gemma2_read_hf_common(r, c);
  c.qk_norm = true;
  c.rope_local_theta = r.require_float("rope_local_base_freq");
  read_rope_parameters(r, c);
  if (!hf_read_layer_types(r, c)) {
    const int pattern = r.require_int("sliding_window_pattern");
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
  c.attn_scale = gemma2_gguf_attn_scale(r, c, 62);
}

}  // namespace

extern const Arch kArchGemma3 = {
    "gemma3", {"Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"}, {"gemma3_text", "gemma3"}, {"gemma3"},
    read_hf, read_gguf, kDefaults,
};

}  // namespace loam

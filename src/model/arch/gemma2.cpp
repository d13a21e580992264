// Gemma 2 (Gemma2ForCausalLM): Gemma plus attention-logit and final-logit
// soft-capping, norms after attention and MLP outputs and before the MLP
// ("sandwich"), query scale query_pre_attn_scalar^-1/2, and sliding-window
// attention on even layers (layer i slides when i % 2 == 0).
#include <cmath>

#include "model/arch.h"
#include "model/gguf_config.h"
#include "model/hf_config.h"

namespace loam {

// The fields Gemma 2 and Gemma 3 share in config.json (gemma3.cpp uses it too).
void gemma2_read_hf_common(const HfConfigReader& r, ModelConfig& c) {
  c.norm_plus_one = true;
  c.embed_scale = true;
  c.sandwich_norms = true;
  c.tie_embeddings = r.get_bool("tie_word_embeddings", true);
  c.activation = Activation::GeluTanh;
  c.attn_softcap = r.get_float("attn_logit_softcapping", 0.0f);
  c.final_softcap = r.get_float("final_logit_softcapping", 0.0f);
  c.attn_scale = 1.0f / std::sqrt(r.get_float("query_pre_attn_scalar", static_cast<float>(c.head_dim)));
  c.sliding_window = r.get_int("sliding_window", 4096);
}

// The softmax scale of a Gemma 2/3 GGUF file (gemma3.cpp uses it too):
// "attention.scale" where Loam wrote it (query_pre_attn_scalar^-1/2, any
// value); otherwise as llama.cpp derives it, for its converter stores no
// query_pre_attn_scalar: (hidden / heads)^-1/2 for the 27B model (the one
// with `layers_27b` layers), else key_length (= head_dim)^-1/2.
float gemma2_gguf_attn_scale(const GgufConfigReader& r, const ModelConfig& c, int layers_27b) {
  if (auto s = r.get_float("attention.scale")) return static_cast<float>(*s);
  if (c.n_layers == layers_27b) return 1.0f / std::sqrt(static_cast<float>(c.hidden / c.n_heads));
  if (auto k = r.get_int("attention.key_length")) return 1.0f / std::sqrt(static_cast<float>(*k));
  return 0.0f;  // 1/sqrt(head_dim), set by model_config_from_gguf
}

namespace {

// transformers' Gemma2Config defaults (models/gemma2/configuration_gemma2.py)
// for the fields Loam reads: a config.json that omits the soft-caps gets
// 50 / 30 there, not "off" (null in a config does turn them off).
constexpr const char* kDefaults = R"({
  "vocab_size": 256000, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
  "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
  "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 8192, "rms_norm_eps": 1e-6,
  "eos_token_id": 1, "bos_token_id": 2, "tie_word_embeddings": true, "rope_theta": 10000.0,
  "query_pre_attn_scalar": 256, "sliding_window": 4096,
  "final_logit_softcapping": 30.0, "attn_logit_softcapping": 50.0
})";

void read_hf(const HfConfigReader& r, ModelConfig& c) {
  gemma2_read_hf_common(r, c);
  if (!hf_read_layer_types(r, c))
    for (int i = 0; i < c.n_layers; i++) c.layer_sliding[i] = i % 2 == 0;
}

void read_gguf(const GgufConfigReader& r, ModelConfig& c) {
  c.embed_scale = true;
  c.sandwich_norms = true;
  c.activation = Activation::GeluTanh;
  c.attn_softcap = static_cast<float>(r.get_float("attn_logit_softcapping").value_or(0.0));
  c.final_softcap = static_cast<float>(r.get_float("final_logit_softcapping").value_or(0.0));
  c.sliding_window = static_cast<int>(r.get_int("attention.sliding_window").value_or(4096));
  for (int i = 0; i < c.n_layers; i++) c.layer_sliding[i] = i % 2 == 0;
  c.attn_scale = gemma2_gguf_attn_scale(r, c, 46);
}

}  // namespace

extern const Arch kArchGemma2 = {
    "gemma2", {"Gemma2ForCausalLM"}, {"gemma2"}, {"gemma2"}, read_hf, read_gguf, kDefaults,
};

}  // namespace loam

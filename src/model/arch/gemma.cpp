// Gemma (GemmaForCausalLM): RMSNorm scales by (1 + w), GeGLU with tanh GELU,
// embeddings times sqrt(hidden), tied LM head, explicit head_dim.
// In GGUF files the converter has already added 1 to every norm weight.
#include "model/arch.h"
#include "model/gguf_config.h"
#include "model/hf_config.h"

namespace loam {
namespace {

void read_hf(const HfConfigReader& r, ModelConfig& c) {
  c.norm_plus_one = true;
  c.embed_scale = true;
  c.tie_embeddings = r.get_bool("tie_word_embeddings", true);
  // Gemma's config says hidden_act "gelu" but the reference uses the tanh
  // approximation unless hidden_activation says otherwise.
  c.activation = Activation::GeluTanh;
}

void read_gguf(const GgufConfigReader&, ModelConfig& c) {
  c.embed_scale = true;
  c.activation = Activation::GeluTanh;
}

}  // namespace

extern const Arch kArchGemma = {
    "gemma", {"GemmaForCausalLM"}, {"gemma"}, {"gemma"}, read_hf, read_gguf,
};

}  // namespace loam

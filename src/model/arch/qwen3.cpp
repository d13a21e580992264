// Qwen3 (Qwen3ForCausalLM): RMSNorm over each head of q and k before RoPE,
// explicit head_dim, optional attention bias (off in released models).
#include "model/arch.h"
#include "model/gguf_config.h"
#include "model/hf_config.h"

namespace loam {

void qwen_read_sliding(const HfConfigReader& r, ModelConfig& c);  // qwen2.cpp

namespace {

void read_hf(const HfConfigReader& r, ModelConfig& c) {
  c.qk_norm = true;
  c.qkv_bias = r.get_bool("attention_bias", false);
  qwen_read_sliding(r, c);
}

void read_gguf(const GgufConfigReader&, ModelConfig& c) { c.qk_norm = true; }

}  // namespace

extern const Arch kArchQwen3 = {
    "qwen3", {"Qwen3ForCausalLM"}, {"qwen3"}, {"qwen3"}, read_hf, read_gguf,
};

}  // namespace loam

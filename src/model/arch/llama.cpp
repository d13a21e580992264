// Llama 1/2/3.x (LlamaForCausalLM): RMSNorm, SwiGLU, rotate_half RoPE with
// optional linear or llama3 frequency scaling, GQA, optional attention bias.
// GGUF files of this family have Q/K rows permuted for interleaved RoPE.
#include "model/arch.h"
#include "model/gguf_config.h"
#include "model/hf_config.h"

namespace loam {
namespace {

void read_hf(const HfConfigReader& r, ModelConfig& c) {
  c.qkv_bias = r.get_bool("attention_bias", false);
  if (r.get_bool("mlp_bias", false)) r.fail("mlp_bias", "MLP biases are not supported");
}

void read_gguf(const GgufConfigReader& r, ModelConfig& c) {
  c.rope_pairing = RopePairing::Interleaved;
  // Mistral checkpoints convert to the llama architecture; keep their window.
  if (auto w = r.get_int("attention.sliding_window"); w && *w > 0) {
    c.sliding_window = static_cast<int>(*w);
    c.layer_sliding.assign(c.n_layers, true);
  }
}

}  // namespace

extern const Arch kArchLlama = {
    "llama", {"LlamaForCausalLM"}, {"llama"}, {"llama"}, read_hf, read_gguf,
};

}  // namespace loam

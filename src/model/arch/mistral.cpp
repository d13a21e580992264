// Mistral (MistralForCausalLM): Llama's block with sliding-window attention on
// every layer when `sliding_window` is set (each token sees itself and the
// sliding_window - 1 tokens before it).
#include "model/arch.h"
#include "model/gguf_config.h"
#include "model/hf_config.h"

namespace loam {
namespace {

void read_hf(const HfConfigReader& r, ModelConfig& c) {
  c.sliding_window = r.get_int("sliding_window", 0);
  if (c.sliding_window > 0) c.layer_sliding.assign(c.n_layers, true);
}

void read_gguf(const GgufConfigReader& r, ModelConfig& c) {
  c.rope_pairing = RopePairing::Interleaved;
  if (auto w = r.get_int("attention.sliding_window")) {
    c.sliding_window = static_cast<int>(*w);
    c.layer_sliding.assign(c.n_layers, c.sliding_window > 0);
  }
}

}  // namespace

extern const Arch kArchMistral = {
    "mistral", {"MistralForCausalLM"}, {"mistral"}, {"mistral"}, read_hf, read_gguf,
};

}  // namespace loam

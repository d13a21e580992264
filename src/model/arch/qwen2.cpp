// Qwen2 / Qwen2.5 (Qwen2ForCausalLM): Llama's block with biases on q, k, v.
// Sliding window only when use_sliding_window, on layers >= max_window_layers.
#include "model/arch.h"
#include "model/gguf_config.h"
#include "model/hf_config.h"

namespace loam {

void qwen_read_sliding(const HfConfigReader& r, ModelConfig& c) {
  if (hf_read_layer_types(r, c)) {
    c.sliding_window = r.get_int("sliding_window", 0);
    return;
  }
  if (!r.get_bool("use_sliding_window", false)) return;
  c.sliding_window = r.get_int("sliding_window", 0);
  const int first = r.get_int("max_window_layers", c.n_layers);
  for (int i = 0; i < c.n_layers; i++) c.layer_sliding[i] = c.sliding_window > 0 && i >= first;
}

namespace {

void read_hf(const HfConfigReader& r, ModelConfig& c) {
  c.qkv_bias = true;
  qwen_read_sliding(r, c);
}

void read_gguf(const GgufConfigReader&, ModelConfig& c) { c.qkv_bias = true; }

}  // namespace

extern const Arch kArchQwen2 = {
    "qwen2", {"Qwen2ForCausalLM"}, {"qwen2"}, {"qwen2"}, read_hf, read_gguf,
};

}  // namespace loam

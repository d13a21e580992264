#include "model/gguf_config.h"

#include <cmath>

#include "core/error.h"
#include "core/escape.h"
#include "formats/gguf.h"
#include "formats/tensor_ref.h"
#include "model/arch.h"

namespace loam {

std::optional<int64_t> GgufConfigReader::get_int(const std::string& key) const {
  return g_.get_int(prefix_ + key);
}
std::optional<double> GgufConfigReader::get_float(const std::string& key) const {
  return g_.get_float(prefix_ + key);
}
std::optional<bool> GgufConfigReader::get_bool(const std::string& key) const {
  return g_.get_bool(prefix_ + key);
}
std::optional<std::string> GgufConfigReader::get_string(const std::string& key) const {
  return g_.get_string(prefix_ + key);
}
int64_t GgufConfigReader::require_int(const std::string& key) const {
  auto v = get_int(key);
  if (!v) fail(key, "missing");
  return *v;
}
void GgufConfigReader::fail(const std::string& key, const std::string& message) const {
  throw Error(g_.path() + ": metadata " + prefix_ + key, message);
}

ModelConfig model_config_from_gguf(const GgufFile& g) {
  auto arch_name = g.get_string("general.architecture");
  if (!arch_name) throw Error(g.path() + ": metadata general.architecture", "missing");
  const Arch& arch = arch_find_gguf(*arch_name, g.path());
  GgufConfigReader r(g, *arch_name + ".");
  ModelConfig c;
  c.arch = arch.name;
  c.hf_architecture = arch.hf_architectures.front();
  auto as_int = [&](const std::string& key) {
    int64_t v = r.require_int(key);
    if (v <= 0 || v > (1 << 30)) r.fail(key, "out of range");
    return static_cast<int>(v);
  };
  c.n_layers = as_int("block_count");
  c.hidden = as_int("embedding_length");
  c.intermediate = as_int("feed_forward_length");
  c.n_heads = as_int("attention.head_count");
  c.n_kv_heads = static_cast<int>(r.get_int("attention.head_count_kv").value_or(c.n_heads));
  c.head_dim = static_cast<int>(r.get_int("attention.key_length").value_or(c.hidden / c.n_heads));
  c.max_position = static_cast<int>(r.get_int("context_length").value_or(2048));
  c.rms_eps = static_cast<float>(r.get_float("attention.layer_norm_rms_epsilon").value_or(1e-6));
  c.rope_theta = static_cast<float>(r.get_float("rope.freq_base").value_or(10000.0));
  if (auto type = r.get_string("rope.scaling.type"); type && *type != "none") {
    if (*type != "linear") r.fail("rope.scaling.type", "unsupported rope scaling \"" + error_escape(*type) + "\"");
    c.rope_scaling.type = RopeScalingType::Linear;
    c.rope_scaling.factor = static_cast<float>(r.get_float("rope.scaling.factor").value_or(1.0));
  }
  const TensorRef* embd = g.find("token_embd.weight");
  if (!embd || embd->shape.size() != 2) throw Error(g.path() + ": tensor token_embd.weight", "missing");
  c.vocab = static_cast<int>(embd->shape[0]);
  c.tie_embeddings = g.find("output.weight") == nullptr;
  if (const TensorRef* rf = g.find("rope_freqs.weight")) {
    if (rf->dtype != DType::F32 || rf->n_elements() != c.head_dim / 2)
      throw Error(g.path() + ": tensor rope_freqs.weight", "expected head_dim/2 F32 values");
    c.rope_freq_factors.assign(reinterpret_cast<const float*>(rf->data),
                               reinterpret_cast<const float*>(rf->data) + c.head_dim / 2);
  }
  c.layer_sliding.assign(c.n_layers, false);
  if (auto b = g.get_int("tokenizer.ggml.bos_token_id")) c.bos_id = static_cast<int>(*b);
  if (auto e = g.get_int("tokenizer.ggml.eos_token_id")) c.eos_ids.push_back(static_cast<int>(*e));
  if (auto e = g.get_int("tokenizer.ggml.eot_token_id"))
    if (c.eos_ids.empty() || c.eos_ids[0] != *e) c.eos_ids.push_back(static_cast<int>(*e));
  arch.read_gguf(r, c);
  if (c.attn_scale == 0.0f) c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  model_config_check(c, g.path());
  return c;
}

}  // namespace loam

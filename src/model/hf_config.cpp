#include "model/hf_config.h"

#include <cmath>

#include "core/error.h"
#include "model/arch.h"

namespace loam {

bool HfConfigReader::has(const std::string& key) const {
  return j_.contains(key) && !j_.at(key).is_null();
}

void HfConfigReader::fail(const std::string& key, const std::string& message) const {
  throw Error(origin_ + ": field " + key, message);
}

int HfConfigReader::get_int(const std::string& key, int fallback) const {
  if (!has(key)) return fallback;
  const auto& v = j_.at(key);
  if (!v.is_number_integer()) fail(key, "expected an integer, got " + std::string(v.type_name()));
  int64_t x = v.get<int64_t>();
  if (x < INT32_MIN || x > INT32_MAX) fail(key, "out of range");
  return static_cast<int>(x);
}

int HfConfigReader::require_int(const std::string& key) const {
  if (!has(key)) fail(key, "missing");
  return get_int(key, 0);
}

float HfConfigReader::get_float(const std::string& key, float fallback) const {
  if (!has(key)) return fallback;
  const auto& v = j_.at(key);
  if (!v.is_number()) fail(key, "expected a number, got " + std::string(v.type_name()));
  return v.get<float>();
}

bool HfConfigReader::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = j_.at(key);
  if (!v.is_boolean()) fail(key, "expected true or false, got " + std::string(v.type_name()));
  return v.get<bool>();
}

std::string HfConfigReader::get_string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const auto& v = j_.at(key);
  if (!v.is_string()) fail(key, "expected a string, got " + std::string(v.type_name()));
  return v.get<std::string>();
}

bool hf_read_layer_types(const HfConfigReader& r, ModelConfig& c) {
  if (!r.has("layer_types")) return false;
  const auto& lt = r.raw().at("layer_types");
  if (!lt.is_array() || static_cast<int>(lt.size()) != c.n_layers)
    r.fail("layer_types", "expected an array of " + std::to_string(c.n_layers) + " strings");
  c.layer_sliding.assign(c.n_layers, false);
  for (int i = 0; i < c.n_layers; i++) {
    const auto& v = lt[i];
    if (v == "sliding_attention") c.layer_sliding[i] = true;
    else if (v != "full_attention")
      r.fail("layer_types[" + std::to_string(i) + "]",
             "expected \"sliding_attention\" or \"full_attention\"");
  }
  return true;
}

namespace {

void read_rope_scaling(const HfConfigReader& r, ModelConfig& c) {
  if (!r.has("rope_scaling")) return;
  const auto& rs = r.raw().at("rope_scaling");
  if (!rs.is_object()) r.fail("rope_scaling", "expected an object or null");
  HfConfigReader s(rs, r.origin());
  std::string type = s.get_string("rope_type", s.get_string("type", "default"));
  auto sub = [&](const std::string& k) { return "rope_scaling." + k; };
  if (type == "default") return;
  if (type == "linear") {
    c.rope_scaling.type = RopeScalingType::Linear;
  } else if (type == "llama3") {
    c.rope_scaling.type = RopeScalingType::Llama3;
    c.rope_scaling.low_freq_factor = s.get_float("low_freq_factor", 1.0f);
    c.rope_scaling.high_freq_factor = s.get_float("high_freq_factor", 4.0f);
    c.rope_scaling.original_max_position = s.get_int("original_max_position_embeddings", 8192);
    if (c.rope_scaling.high_freq_factor <= c.rope_scaling.low_freq_factor)
      r.fail(sub("high_freq_factor"), "must exceed low_freq_factor");
  } else {
    r.fail(sub("rope_type"), "unsupported rope scaling \"" + type +
                                 "\" (supported: default, linear, llama3)");
  }
  c.rope_scaling.factor = s.get_float("factor", 1.0f);
  if (!(c.rope_scaling.factor > 0)) r.fail(sub("factor"), "must be positive");
}

std::vector<int> read_token_ids(const HfConfigReader& r, const std::string& key) {
  std::vector<int> ids;
  if (!r.has(key)) return ids;
  const auto& v = r.raw().at(key);
  if (v.is_number_integer()) {
    ids.push_back(v.get<int>());
  } else if (v.is_array()) {
    for (const auto& x : v) {
      if (!x.is_number_integer()) r.fail(key, "expected integers");
      ids.push_back(x.get<int>());
    }
  } else {
    r.fail(key, "expected an integer or a list of integers");
  }
  return ids;
}

}  // namespace

ModelConfig model_config_from_hf(const nlohmann::json& config, const std::string& origin) {
  if (!config.is_object()) throw Error(origin, "expected a JSON object");
  const Arch& arch = arch_find_hf(config, origin);
  // Multimodal wrappers (e.g. Gemma 3) nest the language model's fields.
  const nlohmann::json& j =
      config.contains("text_config") && config.at("text_config").is_object() ? config.at("text_config") : config;
  HfConfigReader r(j, origin);
  ModelConfig c;
  c.arch = arch.name;
  if (config.contains("architectures") && config["architectures"].is_array() &&
      !config["architectures"].empty() && config["architectures"][0].is_string())
    c.hf_architecture = config["architectures"][0].get<std::string>();
  c.n_layers = r.require_int("num_hidden_layers");
  c.hidden = r.require_int("hidden_size");
  c.n_heads = r.require_int("num_attention_heads");
  c.n_kv_heads = r.get_int("num_key_value_heads", c.n_heads);
  c.head_dim = r.get_int("head_dim", c.n_heads > 0 ? c.hidden / c.n_heads : 0);
  c.intermediate = r.require_int("intermediate_size");
  c.vocab = r.require_int("vocab_size");
  c.max_position = r.get_int("max_position_embeddings", 2048);
  c.rms_eps = r.get_float("rms_norm_eps", 1e-6f);
  c.rope_theta = r.get_float("rope_theta", 10000.0f);
  c.tie_embeddings = r.get_bool("tie_word_embeddings", false);
  std::string act = r.get_string("hidden_activation", r.get_string("hidden_act", "silu"));
  if (act == "silu" || act == "swish") c.activation = Activation::Silu;
  else if (act == "gelu_pytorch_tanh" || act == "gelu_tanh") c.activation = Activation::GeluTanh;
  else r.fail(r.has("hidden_activation") ? "hidden_activation" : "hidden_act",
              "unsupported activation \"" + act + "\" (supported: silu, gelu_pytorch_tanh)");
  read_rope_scaling(r, c);
  c.bos_id = r.get_int("bos_token_id", -1);
  c.eos_ids = read_token_ids(r, "eos_token_id");
  if (c.n_layers > 0 && c.n_layers < 100000) c.layer_sliding.assign(c.n_layers, false);
  arch.read_hf(r, c);
  if (c.attn_scale == 0.0f && c.head_dim > 0) c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  model_config_check(c, origin);
  return c;
}

}  // namespace loam

#include "model/hf_config.h"

#include <cmath>

#include "core/error.h"
#include "model/arch.h"

namespace loam {

bool HfConfigReader::has(const std::string& key) const {
  return j_.contains(key) && !j_.at(key).is_null();
}

void HfConfigReader::fail(const std::string& key, const std::string& message) const {
  throw Error(origin_ + ": field " + prefix_ + key, message);
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

float HfConfigReader::require_float(const std::string& key) const {
  if (!has(key)) fail(key, "missing");
  return get_float(key, 0.0f);
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

HfConfigReader HfConfigReader::object(const std::string& key) const {
  if (!has(key) || !j_.at(key).is_object()) fail(key, "expected an object");
  return HfConfigReader(j_.at(key), origin_, prefix_ + key + ".");
}

void hf_read_rope_params(const HfConfigReader& s, float& theta, RopeScaling& scaling) {
  theta = s.get_float("rope_theta", theta);
  const std::string type_key = s.has("rope_type") ? "rope_type" : "type";
  const std::string type = s.get_string(type_key, "default");
  RopeScaling rs;
  if (type == "linear") {
    rs.type = RopeScalingType::Linear;
  } else if (type == "llama3") {
    rs.type = RopeScalingType::Llama3;
    rs.low_freq_factor = s.get_float("low_freq_factor", 1.0f);
    rs.high_freq_factor = s.get_float("high_freq_factor", 4.0f);
    rs.original_max_position = s.get_int("original_max_position_embeddings", 8192);
    if (rs.high_freq_factor <= rs.low_freq_factor) s.fail("high_freq_factor", "must exceed low_freq_factor");
  } else if (type != "default") {
    s.fail(type_key, "unsupported rope scaling \"" + type + "\" (supported: default, linear, llama3)");
  }
  if (rs.type != RopeScalingType::None) rs.factor = s.get_float("factor", 1.0f);
  if (!(rs.factor > 0)) s.fail("factor", "must be positive");
  scaling = rs;
}

namespace {

// rope_theta and rope_scaling, or transformers v5's rope_parameters that
// holds both (per layer type for Gemma 3: its Arch reads that form).
void read_rope(const HfConfigReader& r, ModelConfig& c) {
  c.rope_theta = r.get_float("rope_theta", 10000.0f);
  if (r.has("rope_parameters")) {
    const HfConfigReader p = r.object("rope_parameters");
    if (!p.has("full_attention") && !p.has("sliding_attention")) hf_read_rope_params(p, c.rope_theta, c.rope_scaling);
  }
  if (r.has("rope_scaling")) {
    float theta = c.rope_theta;  // rope_scaling does not move the base
    hf_read_rope_params(r.object("rope_scaling"), theta, c.rope_scaling);
  }
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

// A multimodal wrapper: the language model's fields are nested.
bool has_text_config(const nlohmann::json& config) {
  return config.contains("text_config") && config.at("text_config").is_object();
}

// The fields the text model is read from (see model_config_from_hf).
nlohmann::json text_fields(const nlohmann::json& config, const Arch& arch) {
  const bool wrapped = has_text_config(config);
  const nlohmann::json& text = wrapped ? config.at("text_config") : config;
  nlohmann::json j = arch.hf_defaults ? nlohmann::json::parse(arch.hf_defaults) : nlohmann::json::object();
  for (const auto& [key, value] : text.items()) j[key] = value;
  if (!wrapped) return j;
  for (const char* key : {"bos_token_id", "eos_token_id"})
    if (config.contains(key) && !config.at(key).is_null()) j[key] = config.at(key);
  if (!text.contains("tie_word_embeddings") && config.contains("tie_word_embeddings"))
    j["tie_word_embeddings"] = config.at("tie_word_embeddings");
  return j;
}

}  // namespace

ModelConfig model_config_from_hf(const nlohmann::json& config, const std::string& origin) {
  if (!config.is_object()) throw Error(origin, "expected a JSON object");
  const Arch& arch = arch_find_hf(config, origin);
  const nlohmann::json j = text_fields(config, arch);
  HfConfigReader r(j, origin, has_text_config(config) ? "text_config." : "");
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
  c.tie_embeddings = r.get_bool("tie_word_embeddings", false);
  std::string act = r.get_string("hidden_activation", r.get_string("hidden_act", "silu"));
  if (act == "silu" || act == "swish") c.activation = Activation::Silu;
  else if (act == "gelu_pytorch_tanh" || act == "gelu_tanh") c.activation = Activation::GeluTanh;
  else r.fail(r.has("hidden_activation") ? "hidden_activation" : "hidden_act",
              "unsupported activation \"" + act + "\" (supported: silu, gelu_pytorch_tanh)");
  read_rope(r, c);
  c.bos_id = r.get_int("bos_token_id", -1);
  c.eos_ids = read_token_ids(r, "eos_token_id");
  if (c.n_layers > 0 && c.n_layers < 100000) c.layer_sliding.assign(c.n_layers, false);
  arch.read_hf(r, c);
  if (c.attn_scale == 0.0f && c.head_dim > 0) c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  model_config_check(c, origin);
  return c;
}

}  // namespace loam

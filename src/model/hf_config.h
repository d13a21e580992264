// Reading Hugging Face config.json into ModelConfig.
//
// HfConfigReader gives typed access to fields with errors that name the file
// and the field ("config.json: field rope_scaling.factor: expected a number").
// model_config_from_hf reads the fields every family shares, then lets the
// family's Arch fill in the rest.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "model/config.h"

namespace loam {

class HfConfigReader {
 public:
  // `field_prefix` is prepended to field names in errors ("text_config.").
  HfConfigReader(const nlohmann::json& j, std::string origin, std::string field_prefix = "")
      : j_(j), origin_(std::move(origin)), prefix_(std::move(field_prefix)) {}

  bool has(const std::string& key) const;  // present and not null
  int get_int(const std::string& key, int fallback) const;
  int require_int(const std::string& key) const;
  float get_float(const std::string& key, float fallback) const;
  float require_float(const std::string& key) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  const nlohmann::json& raw() const { return j_; }
  // A reader of the object field `key` (errors name "key.<field>"); fails
  // unless it is an object.
  HfConfigReader object(const std::string& key) const;
  const std::string& origin() const { return origin_; }
  const std::string& field_prefix() const { return prefix_; }
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

 private:
  const nlohmann::json& j_;
  std::string origin_;
  std::string prefix_;
};

// `config` is the parsed config.json; `origin` names it in errors. A
// multimodal wrapper (Gemma3ForConditionalGeneration) is read as its text
// model: the fields of its `text_config`, over the family's Arch::hf_defaults
// for those it omits (as transformers' config class fills them), with the
// wrapper's own bos/eos ids winning over the text config's (transformers'
// GenerationConfig.from_model_config reads the outer config first) and its
// tie_word_embeddings used when text_config has none.
ModelConfig model_config_from_hf(const nlohmann::json& config, const std::string& origin);

// One RoPE parameter object — rope_scaling, or transformers v5's
// rope_parameters ({"rope_type", "factor", ..., "rope_theta"}) — as the
// reference reads it: sets `scaling` (None for "default"), and `theta` when
// the object has rope_theta. Fails on types Loam cannot compute.
void hf_read_rope_params(const HfConfigReader& s, float& theta, RopeScaling& scaling);

// Sliding layers from config.json's `layer_types` ("sliding_attention" /
// "full_attention") when present; returns false when absent.
bool hf_read_layer_types(const HfConfigReader& r, ModelConfig& c);

}  // namespace loam

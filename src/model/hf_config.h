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
  HfConfigReader(const nlohmann::json& j, std::string origin) : j_(j), origin_(std::move(origin)) {}

  bool has(const std::string& key) const;  // present and not null
  int get_int(const std::string& key, int fallback) const;
  int require_int(const std::string& key) const;
  float get_float(const std::string& key, float fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  const nlohmann::json& raw() const { return j_; }
  const std::string& origin() const { return origin_; }
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

 private:
  const nlohmann::json& j_;
  std::string origin_;
};

// `config` is the parsed config.json; `origin` names it in errors.
ModelConfig model_config_from_hf(const nlohmann::json& config, const std::string& origin);

// Sliding layers from config.json's `layer_types` ("sliding_attention" /
// "full_attention") when present; returns false when absent.
bool hf_read_layer_types(const HfConfigReader& r, ModelConfig& c);

}  // namespace loam

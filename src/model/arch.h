// The registry of supported architectures.
//
// Each family lives in one file under model/arch/ that defines its Arch
// record: the names it goes by (HF `architectures` / `model_type`, GGUF
// `general.architecture`) and how its config fields map onto ModelConfig.
// Adding a family = one file there + one line in arch_registry().
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/config.h"

namespace loam {

class HfConfigReader;  // model/hf_config.h
class GgufConfigReader;  // model/gguf_config.h

struct Arch {
  std::string name;                            // "llama"
  std::vector<std::string> hf_architectures;   // "LlamaForCausalLM", ...
  std::vector<std::string> model_types;        // "llama", ...
  std::vector<std::string> gguf_archs;         // "llama", ...
  // Sets family-specific fields after the common ones were read from config.json.
  void (*read_hf)(const HfConfigReader& r, ModelConfig& c);
  // Sets family-specific fields from GGUF metadata ("<arch>.<key>").
  void (*read_gguf)(const GgufConfigReader& r, ModelConfig& c);
  // transformers' config-class defaults (a JSON object) for the fields a
  // config.json, or a multimodal wrapper's text_config, may omit; nullptr
  // when the family's readers carry their own fallbacks.
  const char* hf_defaults = nullptr;
};

const std::vector<const Arch*>& arch_registry();

// Finds the family of a config.json (by architectures[0], then model_type);
// throws Error naming the file and listing the supported names.
const Arch& arch_find_hf(const nlohmann::json& config, const std::string& origin);
const Arch& arch_find_gguf(const std::string& gguf_arch, const std::string& origin);
const Arch& arch_find_name(const std::string& name);

// One line per family for error messages and `loam inspect --help`.
std::string arch_supported_list();

}  // namespace loam

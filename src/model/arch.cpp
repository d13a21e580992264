#include "model/arch.h"

#include <algorithm>

#include "core/error.h"
#include "core/escape.h"

namespace loam {

extern const Arch kArchLlama;
extern const Arch kArchMistral;
extern const Arch kArchQwen2;
extern const Arch kArchQwen3;
extern const Arch kArchGemma;
extern const Arch kArchGemma2;
extern const Arch kArchGemma3;

const std::vector<const Arch*>& arch_registry() {
  static const std::vector<const Arch*> all = {
      &kArchLlama, &kArchMistral, &kArchQwen2, &kArchQwen3, &kArchGemma, &kArchGemma2, &kArchGemma3,
  };
  return all;
}

std::string arch_supported_list() {
  std::string s;
  for (const Arch* a : arch_registry()) {
    if (!s.empty()) s += ", ";
    s += a->name + " (";
    for (size_t i = 0; i < a->hf_architectures.size(); i++) s += (i ? "/" : "") + a->hf_architectures[i];
    s += ")";
  }
  return s;
}

namespace {
bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
}  // namespace

const Arch& arch_find_hf(const nlohmann::json& config, const std::string& origin) {
  std::string named;
  if (config.contains("architectures") && config["architectures"].is_array() &&
      !config["architectures"].empty() && config["architectures"][0].is_string()) {
    named = config["architectures"][0].get<std::string>();
    for (const Arch* a : arch_registry())
      if (contains(a->hf_architectures, named)) return *a;
  }
  std::string model_type;
  if (config.contains("model_type") && config["model_type"].is_string()) {
    model_type = config["model_type"].get<std::string>();
    for (const Arch* a : arch_registry())
      if (contains(a->model_types, model_type)) return *a;
  }
  std::string what = !named.empty() ? "architecture \"" + named + "\""
                     : !model_type.empty() ? "model_type \"" + model_type + "\""
                                           : "no architectures or model_type field";
  throw Error(origin + ": field architectures", "unsupported " + what,
              "supported: " + arch_supported_list());
}

const Arch& arch_find_gguf(const std::string& gguf_arch, const std::string& origin) {
  for (const Arch* a : arch_registry())
    if (contains(a->gguf_archs, gguf_arch)) return *a;
  throw Error(origin + ": general.architecture", "unsupported architecture \"" + error_escape(gguf_arch) + "\"",
              "supported: " + arch_supported_list());
}

const Arch& arch_find_name(const std::string& name) {
  for (const Arch* a : arch_registry())
    if (a->name == name) return *a;
  throw Error("architecture", "unknown family \"" + name + "\"", "supported: " + arch_supported_list());
}

}  // namespace loam

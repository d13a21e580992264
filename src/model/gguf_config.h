// Reading a GGUF file's metadata into ModelConfig.
//
// GGUF stores hyperparameters as "<arch>.<key>" (llama.cpp's names, e.g.
// "llama.attention.head_count"). GgufConfigReader hides the prefix and the
// integer width; model_config_from_gguf reads the shared fields and lets the
// family's Arch add its own.
#pragma once

#include <optional>
#include <string>

#include "model/config.h"

namespace loam {

class GgufFile;

class GgufConfigReader {
 public:
  GgufConfigReader(const GgufFile& g, std::string arch_prefix) : g_(g), prefix_(std::move(arch_prefix)) {}
  // Keys are relative to the architecture prefix ("attention.head_count").
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  int64_t require_int(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  const GgufFile& file() const { return g_; }

 private:
  const GgufFile& g_;
  std::string prefix_;
};

ModelConfig model_config_from_gguf(const GgufFile& g);

}  // namespace loam

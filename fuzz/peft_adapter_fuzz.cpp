// libFuzzer target: loading a PEFT adapter directory for a small Llama.
// Input: a 4-byte little-endian length n, n bytes of adapter_config.json, then
// adapter_model.safetensors. Both are written to a scratch directory (one per
// process) and loaded with lora_load; any input must give an adapter of the
// model's shapes or a loam::Error.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/hf_config.h"
#include "model/lora.h"

namespace {

const loam::ModelConfig& model_config() {
  static const loam::ModelConfig c = loam::model_config_from_hf(nlohmann::json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "vocab_size": 256, "bos_token_id": 1, "eos_token_id": 2})"),
                                                                 "fuzz/config.json");
  return c;
}

const std::string& scratch_dir() {
  static const std::string d = [] {
    std::string p = (std::filesystem::temp_directory_path() / ("loam_peft_fuzz_" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(p);
    return p;
  }();
  return d;
}

void write(const std::string& path, const uint8_t* p, size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (n) std::fwrite(p, 1, n, f);
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  size_t n = data[0] | data[1] << 8 | data[2] << 16 | static_cast<size_t>(data[3]) << 24;
  if (n > size - 4) n = size - 4;
  const std::string& dir = scratch_dir();
  write(dir + "/adapter_config.json", data + 4, n);
  write(dir + "/adapter_model.safetensors", data + 4 + n, size - 4 - n);
  try {
    loam::LoraAdapter a = loam::lora_load(dir, model_config());
    if (static_cast<int>(a.layers.size()) != model_config().n_layers) __builtin_trap();
  } catch (const loam::Error&) {
  }
  return 0;
}

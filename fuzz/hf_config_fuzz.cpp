// libFuzzer target: a Hugging Face config.json into a ModelConfig. Any JSON
// must give a config that passes model_config_check or a loam::Error naming
// the field — never a crash or another exception type.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    loam::ModelConfig c = loam::model_config_from_hf(j, "fuzz/config.json");
    if (c.vocab <= 0 || c.n_layers <= 0 || c.max_position <= 0) __builtin_trap();  // the check let it through
  } catch (const loam::Error&) {
  }
  return 0;
}

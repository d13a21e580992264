// Memory to tune and to serve a registered model, from its checkpoint's
// config with the model garden's formula (registry/catalog.h:
// memory_estimate, the estimate `loam tune sft` prints), so registered
// models and catalog entries are compared on the same terms.
#include <filesystem>

#include "core/json_file.h"
#include "formats/gguf.h"
#include "model/gguf_config.h"
#include "model/hf_config.h"
#include "registry/catalog.h"
#include "serve/control_api.h"

namespace loam {

using nlohmann::json;

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The config and the bytes its weights take as stored (the safetensors or
// GGUF files, as the trainer maps them).
std::pair<ModelConfig, int64_t> checkpoint_shape(const ModelRecord& m) {
  if (m.format == "gguf") {
    const GgufFile g = GgufFile::open(m.artifact_path);
    return {model_config_from_gguf(g), m.size_bytes};
  }
  const std::string cfg = m.artifact_path + "/config.json";
  int64_t weights = 0;
  for (const ModelFile& f : m.files)
    if (ends_with(f.path, ".safetensors")) weights += f.size;
  return {model_config_from_hf(json_read_file(cfg), cfg), weights};
}

}  // namespace

json model_memory_rest(ControlContext& c, const ModelRecord& m) {
  try {
    if (m.kind == "tuned") {
      // Serving a tuned model: its base plus the adapter; it is not tuned again.
      auto base = c.store.model_get(m.base_model_id, m.base_version_id);
      if (!base || base->kind == "tuned") return nullptr;
      const auto [cfg, weights] = checkpoint_shape(*base);
      const CatalogMemory e = memory_estimate(cfg, weights, cfg.max_position);
      return {{"weights", weights}, {"serve", e.serve_bytes + m.size_bytes}};
    }
    if (m.format != "hf" && m.format != "gguf") return nullptr;
    const auto [cfg, weights] = checkpoint_shape(m);
    const CatalogMemory e = memory_estimate(cfg, weights, cfg.max_position);
    return {{"weights", weights}, {"tuneRank8", e.tune_rank8_bytes}, {"serve", e.serve_bytes}};
  } catch (const std::exception&) {
    return nullptr;  // files gone or unreadable: the figure is unknown, the model still lists
  }
}

}  // namespace loam

#include "registry/model_ref.h"

#include <filesystem>

#include "registry/errors.h"
#include "registry/model_import.h"

namespace loam {
namespace {

std::optional<ModelRecord> get_selected(Store& store, const std::string& id, const std::string& sel,
                                        const std::string& field) {
  if (sel.empty()) return store.model_get(id, 0);
  if (sel.find_first_not_of("0123456789") == std::string::npos) {
    auto m = store.model_get(id, std::stoi(sel.substr(0, 9)));
    if (!m) throw error_not_found(field, "model " + id + " has no version " + sel);
    return m;
  }
  std::optional<int> v = store.model_alias(id, sel);
  if (!v) {
    if (!store.model_get(id, 0)) return std::nullopt;
    throw error_not_found(field, "model " + id + " has no alias '" + sel + "'");
  }
  return store.model_get(id, *v);
}

}  // namespace

ModelRef model_ref_parse(const std::string& ref) {
  ModelRef r;
  std::string name = ref;
  if (size_t at = name.rfind('@'); at != std::string::npos && name.find('/', at) == std::string::npos) {
    r.selector = name.substr(at + 1);
    name = name.substr(0, at);
  }
  const std::string marker = "/models/";
  if (name.rfind("projects/", 0) == 0) {
    size_t m = name.find(marker);
    if (m != std::string::npos) {
      r.id = name.substr(m + marker.size());
      return r;
    }
  }
  if (name.rfind("models/", 0) == 0) name = name.substr(7);
  r.id = name;
  return r;
}

ModelRecord model_resolve(Store& store, const std::string& ref, const std::string& field,
                          const std::function<std::string(const std::string&)>& path_of) {
  if (ref.empty()) throw error_invalid(field, "is required");
  ModelRef r = model_ref_parse(ref);
  if (auto m = get_selected(store, r.id, r.selector, field)) return *m;
  // A display name (unique among the models' default versions).
  std::vector<ModelRecord> hits;
  for (auto& m : store.model_list())
    if (m.display_name == r.id) hits.push_back(m);
  if (hits.size() > 1) {
    std::string ids;
    for (auto& h : hits) ids += (ids.empty() ? "" : ", ") + h.id;
    throw error_invalid(field, "display name '" + r.id + "' names several models (" + ids + "); use an id");
  }
  if (hits.size() == 1) {
    if (auto m = get_selected(store, hits[0].id, r.selector, field)) return *m;
  }
  const bool looks_like_path = ref.find('/') != std::string::npos || ref.rfind(".", 0) == 0 ||
                               ref.find("://") != std::string::npos || ref.size() > 5 && ref.substr(ref.size() - 5) == ".gguf";
  if (path_of && looks_like_path && ref.rfind("projects/", 0) != 0) {
    std::string path = path_of(ref);
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      ModelImportRequest req;
      req.path = path;
      req.source_uri = ref;
      return model_import(store, req).model;
    }
  }
  throw error_not_found(field, "no registered model or checkpoint named '" + ref + "'");
}

void model_artifact_check(const ModelRecord& m, const std::string& field) {
  std::error_code ec;
  const std::string need = m.kind == "tuned" ? m.artifact_path + "/adapter_model.safetensors" : m.artifact_path;
  if (std::filesystem::exists(need, ec)) return;
  std::string what = "model " + m.id + "@" + std::to_string(m.version_id);
  if (m.lineage.contains("checkpoint"))
    throw error_precondition(field, what + " is checkpoint " + m.lineage["checkpoint"].value("checkpointId", "") +
                                        " of its tuning job, and " + m.artifact_path +
                                        " is no longer on disk (pruned or removed); use another version "
                                        "(`loam models versions " + m.id + "`)");
  throw error_precondition(field, what + ": " + need + " is no longer on disk");
}

std::string model_resource_name(const ModelRecord& m, const std::string& project, const std::string& location) {
  return "projects/" + project + "/locations/" + location + "/models/" + m.id;
}

}  // namespace loam

// Model operations of the control API (control_api.h).
#include <filesystem>

#include "registry/errors.h"
#include "registry/catalog.h"
#include "registry/model_import.h"
#include "registry/model_ref.h"
#include "serve/control_api.h"
#include "serve/request_fields.h"

namespace loam {

using nlohmann::json;

namespace {

Labels labels_of(const json& obj, const std::string& path) {
  const json* l = field_object(obj, "labels", path);
  Labels out;
  if (!l) return out;
  for (auto it = l->begin(); it != l->end(); ++it) {
    if (!it->is_string()) throw error_invalid(field_path(path, "labels") + "." + it.key(), "must be a string");
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

}  // namespace

// The model garden's entry as a list item: a publisher model, as the managed
// service lists its garden (publishers/{publisher}/models/{id}).
json catalog_to_rest(const CatalogEntry& e) {
  const CatalogMemory mem = e.memory;
  return {{"name", "publishers/hf/models/" + e.id},
          {"displayName", e.display_name},
          {"description", e.notes},
          {"labels", e.labels},
          {"versionId", "1"},
          {"metadata", {{"kind", "garden"}, {"architecture", e.architecture},
                        {"sizeBytes", std::to_string(mem.weight_bytes)}}},
          {"modelGarden",
           {{"huggingFaceId", e.id}, {"family", e.family}, {"architecture", e.architecture},
            {"license", e.license}, {"parameters", e.parameters}, {"contextLength", e.context_length},
            {"gated", e.gated}, {"tunable", e.tunable}, {"modelCard", e.model_card},
            {"recommendedLora", {{"rank", e.lora.rank}, {"alpha", e.lora.alpha}, {"learningRate", e.lora.learning_rate}}},
            {"memoryBytes", {{"weights", mem.weight_bytes}, {"tuneRank8", mem.tune_rank8_bytes}, {"serve", mem.serve_bytes}}}}}};
}

json api_models_list(ControlContext& c, const ApiScope& s, const ListParams& p) {
  // Registered models (imported and tuned), then the model garden's catalog.
  std::vector<ModelRecord> all = c.store.model_list();
  const Catalog& garden = catalog_builtin();
  std::vector<ListItemFields> fields;
  for (const auto& m : all) fields.push_back({m.display_name, m.create_time, m.update_time, "", m.labels});
  for (const auto& e : garden.entries) fields.push_back({e.display_name, "", "", "", Labels(e.labels.begin(), e.labels.end())});
  std::string next;
  json models = json::array();
  for (size_t i : list_select(fields, p, next))
    if (i < all.size()) {
      models.push_back(model_to_rest(all[i], s));
      models.back()["metadata"]["memoryBytes"] = model_memory_rest(c, all[i]);
    } else {
      models.push_back(catalog_to_rest(garden.entries[i - all.size()]));
    }
  json r = {{"models", models}};
  if (!next.empty()) r["nextPageToken"] = next;
  return r;
}

json api_model_get(ControlContext& c, const ApiScope& s, const std::string& name) {
  const ModelRecord m = model_resolve(c.store, name, "name");
  json r = model_to_rest(m, s);
  r["metadata"]["chatTemplate"] = m.chat_template;  // the one model's page shows it (lists leave it out)
  r["metadata"]["memoryBytes"] = model_memory_rest(c, m);
  return r;
}

json api_model_upload(ControlContext& c, const ApiScope& s, const json& body) {
  fields_allow(body, {"model", "parentModel", "modelId", "serviceAccount"}, "");
  const json* m = field_object(body, "model", "");
  if (!m) throw error_invalid("model", "is required");
  fields_allow(*m, {"displayName", "description", "labels", "artifactUri", "containerSpec", "metadata",
                    "versionAliases", "versionDescription"}, "model");
  auto uri = field_string(*m, "artifactUri", "model");
  if (!uri) throw error_invalid("model.artifactUri", "is required");
  ModelImportRequest req;
  req.path = c.paths.resolve(*uri, "model.artifactUri");
  req.source_uri = *uri;
  req.display_name = field_string(*m, "displayName", "model").value_or("");
  req.description = field_string(*m, "description", "model").value_or("");
  req.labels = labels_of(*m, "model");
  ModelImportResult r = model_import(c.store, req);
  const std::string name = s.prefix() + "/models/" + r.model.id;
  return {{"name", name + "/operations/" + id_new()},
          {"done", true},
          {"metadata", {{"@type", "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelOperationMetadata"}}},
          {"response", {{"@type", "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse"},
                        {"model", name},
                        {"modelVersionId", std::to_string(r.model.version_id)}}}};
}

json api_model_patch(ControlContext& c, const ApiScope& s, const std::string& name, const json& body) {
  fields_allow(body, {"displayName", "description", "labels", "removeLabels"}, "");
  ModelRecord m = model_resolve(c.store, name, "name");
  if (auto d = field_string(body, "displayName", "")) m.display_name = *d;
  if (auto d = field_string(body, "description", "")) m.description = *d;
  for (auto& [k, v] : labels_of(body, "")) m.labels[k] = v;
  if (body.contains("removeLabels")) {
    if (!body["removeLabels"].is_array()) throw error_invalid("removeLabels", "must be a list of keys");
    for (const auto& k : body["removeLabels"]) {
      if (!k.is_string()) throw error_invalid("removeLabels", "must be a list of keys");
      m.labels.erase(k.get<std::string>());
    }
  }
  m.update_time = time_now_rfc3339();
  c.store.model_update(m);
  return model_to_rest(*c.store.model_get(m.id, m.version_id), s);
}

json api_model_delete(ControlContext& c, const ApiScope& s, const std::string& name, bool force) {
  ModelRecord m = model_resolve(c.store, name, "name");
  std::vector<std::string> jobs = c.store.model_active_jobs(m.id);
  if (!jobs.empty() && !force)
    throw error_precondition("model " + m.id, "tuning job " + jobs[0] + " uses it; delete with force to remove anyway");
  c.store.model_delete(m.id);
  // Imported files are ours (links or copies); a tuned model's adapter stays with its job.
  if (m.kind == "imported") {
    std::error_code ec;
    std::filesystem::remove_all(c.store.data_dir() + "/models/" + m.id, ec);
  }
  return {{"name", s.prefix() + "/models/" + m.id + "/operations/" + id_new()}, {"done", true}};
}

}  // namespace loam

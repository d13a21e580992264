#include "serve/endpoints.h"

#include <cstdio>
#include <random>

#include "registry/errors.h"
#include "registry/model_ref.h"
#include "serve/infer_api.h"
#include "serve/infer_engine.h"
#include "serve/request_fields.h"

namespace loam {

using nlohmann::json;

namespace {

const char* kOpMeta = "type.googleapis.com/google.cloud.aiplatform.v1.GenericOperationMetadata";

std::string last_segment(const std::string& ref) {
  const size_t at = ref.find("/endpoints/");
  return at == std::string::npos ? ref : ref.substr(at + 11);
}

EndpointRecord endpoint_need(Store& store, const std::string& ref) {
  auto e = endpoint_find(store, ref);
  if (!e) throw error_not_found("endpoint " + ref, "no such endpoint");
  return *e;
}

json operation(const ApiScope& s, const EndpointRecord& e, const char* response_type, json response) {
  response["@type"] = std::string("type.googleapis.com/google.cloud.aiplatform.v1.") + response_type;
  return {{"name", s.prefix() + "/endpoints/" + e.id + "/operations/" + id_new()},
          {"done", true},
          {"metadata", {{"@type", kOpMeta}}},
          {"response", response}};
}

json deployed_to_rest(const DeployedModelRecord& d, const ApiScope& s) {
  return {{"id", d.id},
          {"model", s.prefix() + "/models/" + d.model_id},
          {"modelVersionId", std::to_string(d.model_version_id)},
          {"displayName", d.display_name},
          {"createTime", d.create_time},
          {"dedicatedResources",
           {{"machineSpec", {{"machineType", "cpu"}}}, {"minReplicaCount", d.min_replicas}, {"maxReplicaCount", d.max_replicas}}}};
}

// Reads {"id": percent, ...}; `zero_id` maps "0" (the model being deployed).
std::map<std::string, int> split_parse(const json& j, const std::string& field, const EndpointRecord& e,
                                       const std::string& zero_id) {
  if (!j.is_object()) throw error_invalid(field, "must be an object of deployed model id to percent");
  std::map<std::string, int> out;
  int sum = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string id = it.key() == "0" && !zero_id.empty() ? zero_id : it.key();
    bool known = id == zero_id;
    for (const auto& d : e.deployed) known = known || d.id == id;
    if (!known) throw error_invalid(field + "." + it.key(), "is not a model deployed on this endpoint");
    if (!it->is_number_integer() || it->get<int>() < 0 || it->get<int>() > 100)
      throw error_invalid(field + "." + it.key(), "must be an integer percent between 0 and 100");
    out[id] = it->get<int>();
    sum += out[id];
  }
  if (!out.empty() && sum != 100) throw error_invalid(field, "percentages sum to " + std::to_string(sum) + ", not 100");
  return out;
}

void replicas_read(const json& dm, const std::string& path, DeployedModelRecord& d) {
  const json* res = field_object(dm, "dedicatedResources", path);
  if (!res) res = field_object(dm, "automaticResources", path);
  if (!res) return;
  const std::string p = path + ".dedicatedResources";
  if (auto v = field_int(*res, "minReplicaCount", p)) d.min_replicas = static_cast<int>(*v);
  if (auto v = field_int(*res, "maxReplicaCount", p)) d.max_replicas = static_cast<int>(*v);
  if (d.min_replicas < 0 || d.min_replicas > 64) throw error_invalid(p + ".minReplicaCount", "must be between 0 and 64");
  if (d.max_replicas < std::max(1, d.min_replicas) || d.max_replicas > 64)
    throw error_invalid(p + ".maxReplicaCount", "must be at least minReplicaCount (and 1), at most 64");
}

// A tuned model must fit its base: adapter shapes, chat template, eos ids.
void deploy_check(ControlContext& c, const ModelRecord& m) {
  model_artifact_check(m, "model " + m.id + "@" + std::to_string(m.version_id));
  if (m.kind != "tuned") {
    if (c.engine) c.engine->base(m.artifact_path);
    return;
  }
  auto base = c.store.model_get(m.base_model_id, m.base_version_id);
  if (!base) throw error_precondition("model " + m.id, "its base model " + m.base_model_id + " is no longer registered");
  if (!m.chat_template.empty() && !base->chat_template.empty() && m.chat_template != base->chat_template)
    throw error_precondition("model " + m.id, "was tuned with a chat template other than its base's (" + base->id +
                                                  "); it would be prompted wrongly");
  if (!c.engine) return;
  const InferBase& b = c.engine->base(base->artifact_path);
  const json eos = m.lineage.value("eos_token_ids", json::array());
  for (const json& id : eos)
    if (id.is_number_integer() && std::find(b.eos_ids.begin(), b.eos_ids.end(), id.get<int>()) == b.eos_ids.end())
      throw error_precondition("model " + m.id, "was tuned to end turns with token " + std::to_string(id.get<int>()) +
                                                    ", which is not an end-of-sequence token of its base");
  c.engine->adapter_check(base->artifact_path, m.artifact_path);
}

}  // namespace

std::optional<EndpointRecord> endpoint_find(Store& store, const std::string& ref) {
  const std::string id = last_segment(ref);
  if (auto e = store.endpoint_get(id)) return e;
  std::optional<EndpointRecord> hit;
  for (EndpointRecord& e : store.endpoint_list())
    if (e.display_name == ref) {
      if (hit) throw error_invalid("endpoint " + ref, "more than one endpoint has this display name; use its id");
      hit = std::move(e);
    }
  return hit;
}

DeployedModelRecord endpoint_route(const EndpointRecord& e, uint64_t seed, const std::string& field) {
  // splitmix64: nearby seeds spread over the whole range.
  uint64_t z = seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  const int pick = static_cast<int>(z % 100);
  int acc = 0;
  for (const DeployedModelRecord& d : e.deployed) {
    auto it = e.traffic_split.find(d.id);
    acc += it == e.traffic_split.end() ? 0 : it->second;
    if (pick < acc) return d;
  }
  throw error_precondition(field, "endpoint " + e.id + " has no deployed model taking traffic");
}

json endpoint_to_rest(const EndpointRecord& e, const ApiScope& s) {
  json deployed = json::array();
  for (const auto& d : e.deployed) deployed.push_back(deployed_to_rest(d, s));
  json split = json::object();
  for (const auto& [id, p] : e.traffic_split) split[id] = p;
  return {{"name", s.prefix() + "/endpoints/" + e.id},
          {"displayName", e.display_name},
          {"description", e.description},
          {"labels", e.labels},
          {"deployedModels", deployed},
          {"trafficSplit", split},
          {"createTime", e.create_time},
          {"updateTime", e.update_time}};
}

json api_endpoint_create(ControlContext& c, const ApiScope& s, const json& body) {
  fields_allow(body, {"displayName", "description", "labels"}, "");
  EndpointRecord e;
  e.id = id_new();
  e.display_name = field_string(body, "displayName", "").value_or("");
  if (e.display_name.empty()) throw error_invalid("displayName", "is required");
  e.description = field_string(body, "description", "").value_or("");
  if (const json* l = field_object(body, "labels", ""))
    for (auto it = l->begin(); it != l->end(); ++it) {
      if (!it->is_string()) throw error_invalid("labels." + it.key(), "must be a string");
      e.labels[it.key()] = it->get<std::string>();
    }
  e.create_time = e.update_time = time_now_rfc3339();
  c.store.endpoint_put(e);
  return operation(s, e, "Endpoint", endpoint_to_rest(e, s));
}

json api_endpoint_get(ControlContext& c, const ApiScope& s, const std::string& ref) {
  return endpoint_to_rest(endpoint_need(c.store, ref), s);
}

json api_endpoint_list(ControlContext& c, const ApiScope& s) {
  json out = json::array();
  for (const EndpointRecord& e : c.store.endpoint_list()) out.push_back(endpoint_to_rest(e, s));
  return {{"endpoints", out}};
}

json api_endpoint_delete(ControlContext& c, const ApiScope& s, const std::string& ref) {
  EndpointRecord e = endpoint_need(c.store, ref);
  if (!e.deployed.empty())
    throw error_precondition("endpoint " + e.id, "still has " + std::to_string(e.deployed.size()) +
                                                     " deployed model(s); undeploy them first");
  c.store.endpoint_delete(e.id);
  return {{"name", s.prefix() + "/endpoints/" + e.id + "/operations/" + id_new()}, {"done", true}};
}

json api_endpoint_deploy(ControlContext& c, const ApiScope& s, const std::string& ref, const json& body) {
  fields_allow(body, {"deployedModel", "trafficSplit"}, "");
  EndpointRecord e = endpoint_need(c.store, ref);
  const json* dm = field_object(body, "deployedModel", "");
  if (!dm) throw error_invalid("deployedModel", "is required");
  fields_allow(*dm, {"model", "displayName", "dedicatedResources", "automaticResources", "id", "modelVersionId",
                     "enableAccessLogging", "disableContainerLogging"},
               "deployedModel");
  const std::string model_ref = field_string(*dm, "model", "deployedModel").value_or("");
  if (model_ref.empty()) throw error_invalid("deployedModel.model", "is required");
  ModelRecord m = model_resolve(c.store, model_ref, "deployedModel.model");
  deploy_check(c, m);
  DeployedModelRecord d;
  d.id = field_string(*dm, "id", "deployedModel").value_or(id_new().substr(0, 12));
  for (const auto& x : e.deployed)
    if (x.id == d.id) throw error_exists("deployedModel.id", d.id + " is already deployed on this endpoint");
  d.model_id = m.id;
  d.model_version_id = m.version_id;
  d.display_name = field_string(*dm, "displayName", "deployedModel").value_or(m.display_name);
  d.create_time = time_now_rfc3339();
  replicas_read(*dm, "deployedModel", d);
  if (body.contains("trafficSplit")) {
    e.traffic_split = split_parse(body["trafficSplit"], "trafficSplit", e, d.id);
  } else if (e.traffic_split.empty()) {
    e.traffic_split[d.id] = 100;
  }
  e.deployed.push_back(d);
  e.update_time = time_now_rfc3339();
  c.store.endpoint_put(e);
  endpoints_replicas_sync(c);
  return operation(s, e, "DeployModelResponse", {{"deployedModel", deployed_to_rest(d, s)}});
}

json api_endpoint_undeploy(ControlContext& c, const ApiScope& s, const std::string& ref, const json& body) {
  fields_allow(body, {"deployedModelId", "trafficSplit"}, "");
  EndpointRecord e = endpoint_need(c.store, ref);
  const std::string id = field_string(body, "deployedModelId", "").value_or("");
  if (id.empty()) throw error_invalid("deployedModelId", "is required");
  auto it = std::find_if(e.deployed.begin(), e.deployed.end(), [&](const auto& d) { return d.id == id; });
  if (it == e.deployed.end()) throw error_not_found("deployedModelId", id + " is not deployed on this endpoint");
  e.deployed.erase(it);
  e.traffic_split.erase(id);
  if (body.contains("trafficSplit")) {
    e.traffic_split = split_parse(body["trafficSplit"], "trafficSplit", e, "");
  } else {
    int sum = 0;
    for (const auto& [k, p] : e.traffic_split) sum += p;
    if (sum > 0 && sum != 100) {  // scale the rest back to 100, remainder to the first
      int total = 0;
      for (auto& [k, p] : e.traffic_split) total += p = p * 100 / sum;
      e.traffic_split.begin()->second += 100 - total;
    } else if (sum == 0 && !e.deployed.empty()) {
      e.traffic_split.clear();
      e.traffic_split[e.deployed.front().id] = 100;
    }
  }
  e.update_time = time_now_rfc3339();
  c.store.endpoint_put(e);
  endpoints_replicas_sync(c);
  return operation(s, e, "UndeployModelResponse", json::object());
}

json api_endpoint_mutate(ControlContext& c, const ApiScope& s, const std::string& ref, const json& body) {
  fields_allow(body, {"deployedModel", "updateMask"}, "");
  EndpointRecord e = endpoint_need(c.store, ref);
  const json* dm = field_object(body, "deployedModel", "");
  if (!dm) throw error_invalid("deployedModel", "is required");
  const std::string id = field_string(*dm, "id", "deployedModel").value_or("");
  auto it = std::find_if(e.deployed.begin(), e.deployed.end(), [&](const auto& d) { return d.id == id; });
  if (it == e.deployed.end()) throw error_not_found("deployedModel.id", "'" + id + "' is not deployed on this endpoint");
  replicas_read(*dm, "deployedModel", *it);
  if (auto n = field_string(*dm, "displayName", "deployedModel")) it->display_name = *n;
  e.update_time = time_now_rfc3339();
  c.store.endpoint_put(e);
  endpoints_replicas_sync(c);
  return operation(s, e, "MutateDeployedModelResponse", {{"deployedModel", deployed_to_rest(*it, s)}});
}

json api_endpoint_patch(ControlContext& c, const ApiScope& s, const std::string& ref, const json& body) {
  fields_allow(body, {"displayName", "description", "labels", "trafficSplit", "name", "deployedModels"}, "");
  EndpointRecord e = endpoint_need(c.store, ref);
  if (auto n = field_string(body, "displayName", "")) e.display_name = *n;
  if (auto d = field_string(body, "description", "")) e.description = *d;
  if (const json* l = field_object(body, "labels", "")) {
    e.labels.clear();
    for (auto it = l->begin(); it != l->end(); ++it) {
      if (!it->is_string()) throw error_invalid("labels." + it.key(), "must be a string");
      e.labels[it.key()] = it->get<std::string>();
    }
  }
  if (body.contains("trafficSplit")) e.traffic_split = split_parse(body["trafficSplit"], "trafficSplit", e, "");
  e.update_time = time_now_rfc3339();
  c.store.endpoint_put(e);
  return endpoint_to_rest(e, s);
}

int endpoints_for_tuned_jobs(ControlContext& c, const std::string& since) {
  int made = 0;
  std::vector<EndpointRecord> eps;
  bool listed = false;
  for (const JobRecord& j : c.store.job_list()) {
    if (j.state != "JOB_STATE_SUCCEEDED" || j.tuned_model_id.empty() || j.end_time < since) continue;
    if (!listed) eps = c.store.endpoint_list(), listed = true;
    bool has = false;
    for (const EndpointRecord& e : eps)
      if (auto it = e.labels.find("tuning_job"); it != e.labels.end() && it->second == j.id) has = true;
    if (has) continue;
    auto m = c.store.model_get(j.tuned_model_id);
    if (!m) continue;
    EndpointRecord e;
    e.id = id_new();
    e.display_name = (m->display_name.empty() ? m->id : m->display_name) + "-endpoint";
    e.labels["tuning_job"] = j.id;
    e.create_time = e.update_time = time_now_rfc3339();
    try {
      deploy_check(c, *m);
      DeployedModelRecord d;
      d.id = id_new().substr(0, 12);
      d.model_id = m->id;
      d.model_version_id = m->version_id;
      d.display_name = e.display_name;
      d.create_time = e.create_time;
      e.deployed.push_back(d);
      e.traffic_split[d.id] = 100;
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "loam serve: tuning job %s: its model cannot be served: %s\n", j.id.c_str(), ex.what());
      e.description = std::string("not deployed: ") + ex.what();
    }
    c.store.endpoint_put(e);
    eps.push_back(e);
    made++;
  }
  if (made > 0) endpoints_replicas_sync(c);
  return made;
}

void endpoints_restore(ControlContext& c) {
  if (!c.engine) return;
  for (const EndpointRecord& e : c.store.endpoint_list())
    for (const DeployedModelRecord& d : e.deployed) {
      try {
        auto m = c.store.model_get(d.model_id, d.model_version_id);
        if (!m) throw error_not_found("model " + d.model_id, "no longer registered");
        InferTarget t = infer_target_resolve(c, m->id + "@" + std::to_string(m->version_id), "model");
        c.engine->base(t.base_path);
        std::fprintf(stderr, "loam serve: endpoint %s: deployed model %s (%s) is up\n", e.display_name.c_str(),
                     d.id.c_str(), t.name.c_str());
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "loam serve: endpoint %s: deployed model %s cannot be served: %s\n", e.display_name.c_str(),
                     d.id.c_str(), ex.what());
      }
    }
  try {
    endpoints_replicas_sync(c);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "loam serve: replicas of deployed models: %s\n", ex.what());
  }
}

void endpoints_replicas_sync(ControlContext& c) {
  if (!c.engine) return;
  std::map<std::string, std::pair<int, int>> bounds;  // base path -> (min, max)
  for (const EndpointRecord& e : c.store.endpoint_list())
    for (const DeployedModelRecord& d : e.deployed) {
      auto m = c.store.model_get(d.model_id, d.model_version_id);
      if (!m) continue;
      InferTarget t;
      try {
        t = infer_target_resolve(c, m->id + "@" + std::to_string(m->version_id), "model");
      } catch (const Error&) {
        continue;  // reported when it was deployed or restored
      }
      auto [it, fresh] = bounds.try_emplace(t.base_path, d.min_replicas, d.max_replicas);
      if (!fresh) it->second = {std::max(it->second.first, d.min_replicas), std::max(it->second.second, d.max_replicas)};
    }
  c.engine->replicas_bounds(bounds);
}

}  // namespace loam

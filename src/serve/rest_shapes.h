// Registry records as the managed service's JSON resources (camelCase,
// int64 as strings as proto3 JSON writes them). One shape per resource,
// used by the HTTP routes and by `--output json` of the CLI alike.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "registry/records.h"
#include "registry/store.h"

namespace loam {

struct ApiScope {  // how the caller addressed us: projects/{project}/locations/{location}
  std::string project = "local", location = "local";
  std::string prefix() const { return "projects/" + project + "/locations/" + location; }
};

nlohmann::json model_to_rest(const ModelRecord& m, const ApiScope& scope);
nlohmann::json tuning_job_to_rest(Store& store, const JobRecord& j, const ApiScope& scope);
nlohmann::json event_to_rest(const JobEventRecord& e);
nlohmann::json metric_to_rest(const MetricPoint& p);
// ModelEvaluation: metrics {name: value}; intervals, system, data, job and
// checkpoint in metadata.
nlohmann::json evaluation_to_rest(const EvaluationRecord& e, const ApiScope& scope);

// ADAPTER_SIZE_FOUR <-> 4.
std::string adapter_size_enum(int rank);
int adapter_size_parse(const nlohmann::json& v, const std::string& field);  // enum name or number

}  // namespace loam

// The control plane's operations as JSON in, JSON out, in the managed
// service's shapes: the HTTP routes call these, and so does the CLI on a
// local data directory, so `--output json` prints what the REST API returns.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "jobs/job_service.h"
#include "registry/store.h"
#include "serve/list_query.h"
#include "serve/rest_shapes.h"

namespace loam {

class InferenceEngine;
class ServeMetrics;

struct ControlContext {
  Store& store;
  PathPolicy paths;
  std::function<void()> on_job_change;  // wakes the runner; may be empty
  InferenceEngine* engine = nullptr;    // the server's inference engine; null in the CLI's local mode
  ServeMetrics* metrics = nullptr;      // what /metrics reports; may be null
  bool api_key_required = false;        // /health says so, for the web console's key prompt
};

// Models: list ({"models": [...], "nextPageToken"}), get, upload (import by
// artifactUri; returns a finished long-running operation naming the model),
// patch (displayName, description, labels), delete (refused while a job
// uses the model unless force).
nlohmann::json api_models_list(ControlContext& c, const ApiScope& s, const ListParams& p);
nlohmann::json api_model_get(ControlContext& c, const ApiScope& s, const std::string& name);
nlohmann::json api_model_upload(ControlContext& c, const ApiScope& s, const nlohmann::json& body);
nlohmann::json api_model_patch(ControlContext& c, const ApiScope& s, const std::string& name, const nlohmann::json& body);
nlohmann::json api_model_delete(ControlContext& c, const ApiScope& s, const std::string& name, bool force);

// Memory to tune (rank-8 LoRA, `loam tune sft` defaults) and to serve a
// registered model, estimated from its config as the catalog's figures are
// (registry/catalog.h: memory_estimate): {"weights", "tuneRank8", "serve"}
// in bytes; a tuned model has no tuneRank8 and serves as its base plus the
// adapter. null when the checkpoint cannot be read.
nlohmann::json model_memory_rest(ControlContext& c, const ModelRecord& m);

// A model's versions, oldest first: {"models": [Model...], "nextPageToken"}
// (list filter, order and pages as models list).
nlohmann::json api_model_versions(ControlContext& c, const ApiScope& s, const std::string& name, const ListParams& p);

// A model's evaluations, every version: {"modelEvaluations": [ModelEvaluation...]}.
nlohmann::json api_model_evaluations(ControlContext& c, const ApiScope& s, const std::string& model);

// Tuning jobs: create (the TuningJob body), get, list ({"tuningJobs": [...]}),
// cancel/pause/resume, events ({"events": [...]}), metrics ({"metrics": [...]}).
nlohmann::json api_tuning_create(ControlContext& c, const ApiScope& s, const nlohmann::json& body);
// The same from a parsed request (what other API shapes build).
nlohmann::json api_tuning_create_request(ControlContext& c, const ApiScope& s, TuningJobRequest r);
// The request a TuningJob body (api_tuning.cpp) or a PipelineJob body
// (api_pipeline.cpp) asks for, checked field by field; creates nothing.
TuningJobRequest tuning_request_parse(const nlohmann::json& body);
TuningJobRequest pipeline_request_parse(const nlohmann::json& body);
nlohmann::json api_tuning_get(ControlContext& c, const ApiScope& s, const std::string& id);

// PipelineJobs (api_pipeline.cpp): the open-model tuning route; create from
// runtimeConfig.parameterValues, get. Each is a tuning job underneath.
nlohmann::json api_pipeline_create(ControlContext& c, const ApiScope& s, const nlohmann::json& body);
nlohmann::json api_pipeline_get(ControlContext& c, const ApiScope& s, const std::string& id);
nlohmann::json api_tuning_list(ControlContext& c, const ApiScope& s, const ListParams& p);
nlohmann::json api_tuning_cancel(ControlContext& c, const ApiScope& s, const std::string& id);
nlohmann::json api_tuning_pause(ControlContext& c, const ApiScope& s, const std::string& id);
nlohmann::json api_tuning_resume(ControlContext& c, const ApiScope& s, const std::string& id);
nlohmann::json api_tuning_events(ControlContext& c, const std::string& id, int64_t after_id);
nlohmann::json api_tuning_metrics(ControlContext& c, const std::string& id);

// "projects/p/locations/l/tuningJobs/123", "tuningJobs/123" or "123" -> "123".
std::string tuning_job_id_of(const std::string& name);

}  // namespace loam

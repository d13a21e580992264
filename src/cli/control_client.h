// How the registry commands reach the control plane: the local data
// directory (the control API called in-process) or a server (--server URL,
// env LOAM_SERVER) over its REST API. Both answer the same JSON, so
// `--output json` prints what the REST API returns either way.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "serve/list_query.h"

namespace loam::cli {

struct ControlOptions {
  std::string data_dir;  // --data-dir
  std::string server;    // --server / LOAM_SERVER
  std::string api_key;   // --api-key / LOAM_API_KEY (for --server)
  std::string output = "table";  // --output table|json
};

class ControlClient {
 public:
  virtual ~ControlClient() = default;
  virtual nlohmann::json models_list(const ListParams& p) = 0;
  virtual nlohmann::json model_get(const std::string& name) = 0;
  virtual nlohmann::json model_upload(const nlohmann::json& body) = 0;
  virtual nlohmann::json model_patch(const std::string& name, const nlohmann::json& body) = 0;
  virtual nlohmann::json model_delete(const std::string& name, bool force) = 0;
  virtual nlohmann::json model_versions(const std::string& name) = 0;  // every version, oldest first
  virtual nlohmann::json jobs_list(const ListParams& p) = 0;
  virtual nlohmann::json job_get(const std::string& id) = 0;
  virtual nlohmann::json job_create(const nlohmann::json& body) = 0;
  virtual nlohmann::json job_action(const std::string& id, const std::string& action) = 0;  // cancel|pause|resume
  virtual nlohmann::json job_events(const std::string& id, int64_t after_id) = 0;
  virtual nlohmann::json job_metrics(const std::string& id) = 0;
};

// Resolves the options (env fallbacks) and connects to one or the other.
std::unique_ptr<ControlClient> control_client_open(ControlOptions o);

}  // namespace loam::cli

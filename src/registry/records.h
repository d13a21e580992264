// The plain records the registry stores: models (one per version),
// datasets, tuning jobs and what a job records while it runs. Times are
// RFC 3339 UTC strings with microseconds ("2026-12-04T16:51:48.123456Z"),
// which sort as text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loam {

using Labels = std::map<std::string, std::string>;

struct ModelFile {
  std::string path;     // relative to the artifact directory
  int64_t size = 0;
  std::string sha256;   // hex
};

struct ModelRecord {
  std::string id;
  int version_id = 1;
  std::string display_name, description;
  std::string kind;            // "imported" | "tuned"
  std::string format;          // "hf" | "gguf" | "adapter"
  std::string source_uri;      // what was imported, or the job that made it
  std::string artifact_path;   // under the data directory
  std::string architecture;    // "llama", "gemma2", ...
  int64_t size_bytes = 0;
  std::string content_digest;  // sha256 over the sorted (file, sha256) list: same files, same model
  std::vector<ModelFile> files;
  std::string chat_template;
  Labels labels;
  std::vector<std::string> aliases;  // filled on read
  // Lineage of a tuned model: the base it adapts, the job that made it, and
  // the job's datasets (id, uri, sha256), hyperparameters and eos.
  std::string base_model_id;
  int base_version_id = 0;
  std::string job_id;
  nlohmann::json lineage = nlohmann::json::object();
  std::string create_time, update_time;
};

struct DatasetRecord {
  std::string id;        // "file-<digits>"
  std::string filename;  // as uploaded
  std::string purpose;   // "fine-tune", "training", ...
  std::string path;      // under the data directory
  std::string sha256;
  int64_t size_bytes = 0;
  std::string create_time;
};

struct JobRecord {
  std::string id;
  std::string api;     // how it was created: "vertex" | "openai" | "pipeline" | "cli"
  std::string state;   // "JOB_STATE_QUEUED", ... (jobs/job_state.h)
  bool pause_requested = false;
  std::string display_name;  // tuned model display name
  std::string description;
  Labels labels;
  std::string base_model;    // model id
  int base_version_id = 1;
  nlohmann::json spec = nlohmann::json::object();  // the validated tuning request (jobs/tuning_spec.h)
  std::string output_dir;
  std::string error_code, error_message;
  std::string tuned_model_id;
  int64_t worker_pid = 0;
  int attempts = 0;
  std::string create_time, start_time, end_time, update_time;
};

struct JobEventRecord {
  int64_t id = 0;
  std::string job_id, time, level, message;  // level: "info" | "warning" | "error"
};

struct MetricPoint {
  std::string job_id;
  int64_t step = 0;
  std::string time;
  double epoch = 0, loss = 0, token_accuracy = 0, learning_rate = 0, tokens_per_s = 0;
  std::optional<double> val_loss, val_token_accuracy;
  // The objective's own figures by name (preference tuning: "rewards/chosen",
  // "rewards/rejected", "rewards/margins", "rewards/accuracies",
  // "logps/chosen", "logps/rejected"), of the step and of the validation
  // pass that ran at it (empty when none).
  std::map<std::string, double> metrics, val_metrics;
};

struct CheckpointRecord {
  std::string job_id;
  int64_t step = 0;
  int epoch = 0;
  std::string path;
  nlohmann::json metrics = nlohmann::json::object();
  std::string create_time;
};

// One system's scores from one evaluation (`loam eval`, or a tuning job
// evaluating its checkpoints): the managed service's ModelEvaluation, a child
// of the model version it scored.
struct EvaluationRecord {
  std::string id;
  std::string display_name;
  std::string model_id;      // "" when what was scored is not a registered model
  int model_version_id = 0;
  std::string job_id;        // the tuning job that ran it, or ""
  std::string checkpoint_id; // the job's checkpoint it scored (its step), or ""
  std::string system;        // the system's name in the evaluation ("base", "tuned", ...)
  std::string data_uri;      // the test data
  // metric name -> {"value", "low", "high", "n"} (eval/scoring.h names).
  nlohmann::json metrics = nlohmann::json::object();
  nlohmann::json settings = nlohmann::json::object();  // decoding, metric groups, the selected metric
  std::string results_path;  // results.json, or ""
  std::string create_time;
};

// An endpoint and what it serves. The deployed models and the traffic split
// are stored with it as one JSON document (they change together).
struct DeployedModelRecord {
  std::string id;               // unique within the endpoint (digits)
  std::string model_id;         // a base or tuned model
  int model_version_id = 0;
  std::string display_name;
  int min_replicas = 1, max_replicas = 1;
  std::string create_time;
};

struct EndpointRecord {
  std::string id;
  std::string display_name, description;
  Labels labels;
  std::vector<DeployedModelRecord> deployed;
  std::map<std::string, int> traffic_split;  // deployed model id -> percent (sums to 100 when any)
  std::string create_time, update_time;
};

}  // namespace loam

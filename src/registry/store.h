// The registry's one narrow interface: everything above (jobs, serve, cli)
// reads and writes models, datasets and jobs through Store, and nothing
// above knows SQL. store_open() gives the embedded SQLite implementation;
// a server database can implement the same class later.
//
// Thread-safety: every method may be called from any thread. Several
// processes (the server and its job workers) may open the same data
// directory at once.
// Failures: Error (kinds from registry/errors.h) naming what was missing.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry/records.h"

namespace loam {

class Store {
 public:
  virtual ~Store() = default;
  virtual const std::string& data_dir() const = 0;

  // Models. model_get with version 0 gives the default version (alias
  // "default", else the newest). Lists give each model's default version,
  // oldest first.
  virtual void model_insert(const ModelRecord& m) = 0;  // also points "default" at it
  virtual std::optional<ModelRecord> model_get(const std::string& id, int version = 0) = 0;
  virtual std::optional<int> model_alias(const std::string& id, const std::string& alias) = 0;
  virtual std::optional<ModelRecord> model_by_digest(const std::string& digest) = 0;
  virtual std::vector<ModelRecord> model_list() = 0;
  virtual std::vector<ModelRecord> model_versions(const std::string& id) = 0;
  virtual void model_update(const ModelRecord& m) = 0;  // display name, description, labels of one version
  virtual void model_delete(const std::string& id) = 0;  // every version and alias
  // Jobs not finished that tune this model (delete refuses while any exist).
  virtual std::vector<std::string> model_active_jobs(const std::string& id) = 0;

  // Datasets (uploaded files and the training data of jobs).
  virtual void dataset_insert(const DatasetRecord& d) = 0;
  virtual std::optional<DatasetRecord> dataset_get(const std::string& id) = 0;
  virtual std::optional<DatasetRecord> dataset_by_sha256(const std::string& sha256) = 0;
  virtual std::vector<DatasetRecord> dataset_list() = 0;
  virtual void dataset_delete(const std::string& id) = 0;

  // Jobs, oldest first (FIFO). job_update writes every mutable field of j
  // only if the stored state still equals expected_state, and says whether
  // it did (compare-and-set: two writers never both win a transition).
  // job_update_with_model does the same and inserts the tuned model in the
  // same transaction: m as its default version, then each of `versions`
  // (same id, higher version ids) with the aliases it carries (a job's
  // checkpoints, "checkpoint-<step>").
  virtual void job_insert(const JobRecord& j) = 0;
  virtual std::optional<JobRecord> job_get(const std::string& id) = 0;
  virtual std::vector<JobRecord> job_list() = 0;
  virtual bool job_update(const JobRecord& j, const std::string& expected_state) = 0;
  virtual bool job_update_with_model(const JobRecord& j, const std::string& expected_state,
                                     const ModelRecord& m, const std::vector<ModelRecord>& versions = {}) = 0;

  // What a job records while it runs. A metric point replaces the point of
  // the same step (a resumed run recomputes the same values).
  virtual int64_t event_append(const std::string& job_id, const std::string& level, const std::string& message) = 0;
  virtual std::vector<JobEventRecord> events(const std::string& job_id, int64_t after_id = 0) = 0;
  virtual void metric_put(const MetricPoint& p) = 0;
  virtual std::vector<MetricPoint> metrics(const std::string& job_id) = 0;
  virtual void checkpoint_put(const CheckpointRecord& c) = 0;
  virtual std::vector<CheckpointRecord> checkpoints(const std::string& job_id) = 0;

  // Evaluations, oldest first: of every version of a model, or run by a job.
  // Deleting a model deletes its evaluations.
  virtual void evaluation_insert(const EvaluationRecord& e) = 0;
  virtual std::vector<EvaluationRecord> evaluations_of_model(const std::string& model_id) = 0;
  virtual std::vector<EvaluationRecord> evaluations_of_job(const std::string& job_id) = 0;
  // Endpoints, oldest first. endpoint_put inserts or replaces one whole.
  virtual void endpoint_put(const EndpointRecord& e) = 0;
  virtual std::optional<EndpointRecord> endpoint_get(const std::string& id) = 0;
  virtual std::vector<EndpointRecord> endpoint_list() = 0;
  virtual void endpoint_delete(const std::string& id) = 0;  // NotFound when absent
};

// Opens (creating, migrating) <data_dir>/registry.db.
std::unique_ptr<Store> store_open(const std::string& data_dir);

// "2026-12-04T16:51:48.123456Z", now.
std::string time_now_rfc3339();
// A new random numeric id (18 digits), as the managed service's ids look.
std::string id_new();

}  // namespace loam

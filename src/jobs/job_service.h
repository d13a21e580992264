// Creating and steering tuning jobs: the one place the API shapes and the
// CLI go through. create() validates everything a job needs before it is
// queued (the model exists and can be tuned, the datasets pass the dataset
// validator, hyperparameters in range) and registers the datasets (copied
// under the data directory by id, hashed) for lineage. State changes go
// through the state table (jobs/job_state.h) with compare-and-set, so the
// server, its runner and the workers never lose each other's updates.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "jobs/job_state.h"
#include "jobs/tuning_spec.h"
#include "registry/records.h"
#include "registry/store.h"

namespace loam {

// Where request paths may point. roots empty: unconfined (the local CLI).
struct PathPolicy {
  std::string bucket_root;
  std::vector<std::string> roots;
  std::string resolve(const std::string& location, const std::string& field) const;
};

struct TuningJobRequest {
  std::string api = "cli";       // vertex | openai | pipeline | cli
  std::string base_model;        // a model reference (model_ref.h) or a path
  std::string pre_tuned_model;   // continued tuning: a tuned model reference
  std::string pre_tuned_checkpoint;  // ... from this checkpoint of its job (its step); "" = the model's adapter
  TuningSpec spec;               // URIs set; paths are resolved by create()
  std::string display_name, description;
  Labels labels;
  std::string output_dir;        // "" = <data dir>/jobs/<id>/output
};

JobRecord job_create(Store& store, const PathPolicy& paths, const TuningJobRequest& req);

JobRecord job_get_or_throw(Store& store, const std::string& id);  // NotFound naming the job

// Applies `event` to the job's stored state (retrying on a concurrent
// change); `mutate` may set other fields of the record it is given. Throws
// FailedPrecondition naming the state when the table refuses the pair.
JobRecord job_apply(Store& store, const std::string& id, JobEvent event,
                    const std::function<void(JobRecord&)>& mutate = nullptr);

// The user's requests, with an event recorded for each.
JobRecord job_cancel(Store& store, const std::string& id);
JobRecord job_pause(Store& store, const std::string& id);
JobRecord job_resume(Store& store, const std::string& id);

}  // namespace loam

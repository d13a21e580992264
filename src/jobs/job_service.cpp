#include "jobs/job_service.h"

#include <filesystem>

#include "core/uri.h"
#include "data/validate.h"
#include "registry/data_dir.h"
#include "registry/digest.h"
#include "registry/errors.h"
#include "registry/model_ref.h"

namespace loam {
namespace {

namespace fs = std::filesystem;

// Validates the dataset and registers it (by content) for lineage.
void register_dataset(Store& store, const std::string& path, const std::string& uri, const std::string& field,
                      std::string& dataset_id, std::string& sha, bool preference) {
  DatasetOptions opt;
  opt.max_issues = 10;
  ValidationReport r;
  try {
    r = dataset_validate(path, opt);
  } catch (const Error& e) {
    throw error_invalid(field, e.what());
  }
  if (!r.ok()) {
    std::string msg = std::to_string(r.n_errors) + " invalid record(s) in " + uri + ":";
    for (const auto& i : r.issues)
      if (i.severity == Severity::Error) msg += "\n  " + issue_format(i);
    throw error_invalid(field, msg);
  }
  if (preference && (!r.task() || *r.task() != Task::Preference))
    throw Error(ErrorKind::DataError, field, uri + " holds no preference pairs",
                "preference tuning needs chosen/rejected pairs (input_text/preferred_output/rejected_output, "
                "prompt/chosen/rejected, ...); check a file with: loam data validate FILE --task preference");
  if (!preference && r.task() && *r.task() == Task::Preference)
    throw Error(ErrorKind::DataError, field, uri + " holds preference pairs",
                "supervised tuning needs prompt/response examples (input_text/output_text, contents or messages); "
                "check a file with: loam data validate FILE --task sft; tune on pairs with: loam tune preference");
  sha = sha256_file(path);
  if (auto d = store.dataset_by_sha256(sha)) {
    dataset_id = d->id;
    return;
  }
  DatasetRecord d;
  d.id = "file-" + id_new();
  d.filename = fs::path(path).filename().string();
  d.purpose = "fine-tune";
  d.sha256 = sha;
  d.size_bytes = static_cast<int64_t>(fs::file_size(path));
  d.create_time = time_now_rfc3339();
  const std::string dir = store.data_dir() + "/datasets";
  dir_make_all(dir);
  d.path = dir + "/" + d.id + ".jsonl";
  file_link_or_copy(path, d.path + ".tmp");
  fs::rename(d.path + ".tmp", d.path);
  store.dataset_insert(d);
  dataset_id = d.id;
}

}  // namespace

std::string PathPolicy::resolve(const std::string& location, const std::string& field) const {
  if (roots.empty()) {
    try {
      return uri_resolve(location, bucket_root);
    } catch (const Error& e) {
      throw error_invalid(field, e.message());
    }
  }
  return path_confine(location, bucket_root, roots, field);
}

JobRecord job_create(Store& store, const PathPolicy& paths, const TuningJobRequest& req) {
  auto path_of = [&](const std::string& ref) { return paths.resolve(ref, "baseModel"); };
  TuningSpec spec = req.spec;
  ModelRecord base;
  if (!req.pre_tuned_model.empty()) {
    ModelRecord tuned = model_resolve(store, req.pre_tuned_model, "preTunedModel.tunedModelName");
    if (tuned.kind != "tuned")
      throw error_invalid("preTunedModel.tunedModelName", "model " + tuned.id + " is not a tuned model");
    model_artifact_check(tuned, "preTunedModel.tunedModelName");
    auto b = store.model_get(tuned.base_model_id, tuned.base_version_id);
    if (!b) throw error_precondition("preTunedModel.tunedModelName", "the base of model " + tuned.id + " is gone");
    base = *b;
    spec.init_adapter = tuned.artifact_path;
    spec.pre_tuned_model = tuned.id;
    if (!req.pre_tuned_checkpoint.empty()) {
      std::string have;
      bool found = false;
      for (const CheckpointRecord& c : store.checkpoints(tuned.job_id)) {
        have += (have.empty() ? "" : ", ") + std::to_string(c.step);
        if (std::to_string(c.step) != req.pre_tuned_checkpoint) continue;
        std::error_code ec;
        if (!fs::exists(c.path + "/adapter_model.safetensors", ec))
          throw error_precondition("preTunedModel.checkpointId", "checkpoint " + c.path + " is no longer on disk");
        spec.init_adapter = c.path;
        found = true;
      }
      if (!found)
        throw error_invalid("preTunedModel.checkpointId", "model " + tuned.id + " has no checkpoint '" +
                                                              req.pre_tuned_checkpoint + "' (its checkpoints: " +
                                                              (have.empty() ? "none" : have) + ")");
      spec.extra["pre_tuned_checkpoint"] = req.pre_tuned_checkpoint;
    }
  } else {
    base = model_resolve(store, req.base_model, "baseModel", path_of);
  }
  if (base.kind == "tuned")
    throw error_invalid("baseModel", "model " + base.id + " is a tuned model; continue tuning it with preTunedModel");
  if (base.format != "hf" && base.format != "gguf")
    throw error_invalid("baseModel", "model " + base.id + " (" + base.format + ") cannot be tuned");

  // A preference job carries its settings in spec.extra["preference"].
  const bool preference = spec.extra.contains("preference");
  const std::string part = preference ? "preferenceOptimizationSpec" : "supervisedTuningSpec";
  if (spec.train_uri.empty()) throw error_invalid(part + ".trainingDatasetUri", "is required");
  spec.train_path = paths.resolve(spec.train_uri, part + ".trainingDatasetUri");
  register_dataset(store, spec.train_path, spec.train_uri, part + ".trainingDatasetUri", spec.train_dataset_id,
                   spec.train_sha256, preference);
  if (!spec.validation_uri.empty()) {
    spec.validation_path = paths.resolve(spec.validation_uri, part + ".validationDatasetUri");
    register_dataset(store, spec.validation_path, spec.validation_uri, part + ".validationDatasetUri",
                     spec.validation_dataset_id, spec.validation_sha256, preference);
  }
  if (!spec.evaluate_uri.empty()) {
    spec.evaluate_path = paths.resolve(spec.evaluate_uri, "evaluate");
    std::error_code ec;
    if (!fs::is_regular_file(spec.evaluate_path, ec))
      throw error_invalid("evaluate", "no such test file: " + spec.evaluate_uri);
  }
  if (!spec.output_uri.empty()) spec.output_path = paths.resolve(spec.output_uri, "outputUri");
  tuning_spec_check(spec);

  JobRecord j;
  j.id = id_new();
  j.api = req.api;
  j.state = job_state_name(JobState::Queued);
  j.display_name = req.display_name;
  j.description = req.description;
  j.labels = req.labels;
  j.base_model = base.id;
  j.base_version_id = base.version_id;
  j.spec = tuning_spec_to_json(spec);
  j.output_dir = req.output_dir.empty() ? store.data_dir() + "/jobs/" + j.id + "/output" : req.output_dir;
  j.create_time = j.update_time = time_now_rfc3339();
  store.job_insert(j);
  store.event_append(j.id, "info", "job created: tune " + base.display_name + " (" + base.id + ") on " + spec.train_uri);
  return j;
}

JobRecord job_get_or_throw(Store& store, const std::string& id) {
  auto j = store.job_get(id);
  if (!j) throw error_not_found("tuning job " + id, "no such tuning job");
  return *j;
}

JobRecord job_apply(Store& store, const std::string& id, JobEvent event,
                    const std::function<void(JobRecord&)>& mutate) {
  for (int attempt = 0; attempt < 100; attempt++) {
    JobRecord j = job_get_or_throw(store, id);
    const std::string before = j.state;
    std::optional<JobState> next = job_transition(job_state_parse(before), event);
    if (!next)
      throw error_precondition("tuning job " + id, std::string("cannot ") + job_event_name(event) +
                                                       " a job in state " + before);
    j.state = job_state_name(*next);
    if (job_state_terminal(*next) && j.end_time.empty()) j.end_time = time_now_rfc3339();
    if (mutate) mutate(j);
    if (store.job_update(j, before)) return j;
  }
  throw error_precondition("tuning job " + id, "the job kept changing while being updated");
}

JobRecord job_cancel(Store& store, const std::string& id) {
  JobRecord j = job_apply(store, id, JobEvent::Cancel);
  store.event_append(id, "info", j.state == job_state_name(JobState::Cancelled)
                                     ? "cancelled" : "cancel requested: the worker checkpoints and stops");
  return j;
}

JobRecord job_pause(Store& store, const std::string& id) {
  JobRecord j = job_apply(store, id, JobEvent::Pause, [](JobRecord& r) { r.pause_requested = true; });
  store.event_append(id, "info", j.state == job_state_name(JobState::Paused)
                                     ? "paused" : "pause requested: the worker checkpoints and stops");
  return j;
}

JobRecord job_resume(Store& store, const std::string& id) {
  JobRecord j = job_apply(store, id, JobEvent::Resume, [](JobRecord& r) { r.pause_requested = false; });
  store.event_append(id, "info", "resumed: queued to continue from its last checkpoint");
  return j;
}

}  // namespace loam

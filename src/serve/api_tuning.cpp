// Tuning-job operations of the control API (control_api.h), in the managed
// service's TuningJob shape.
#include <algorithm>

#include "registry/errors.h"
#include "registry/model_ref.h"
#include "serve/control_api.h"
#include "serve/request_fields.h"
#include "train/preference_loss.h"

namespace loam {

using nlohmann::json;

namespace {

void notify(ControlContext& c) {
  if (c.on_job_change) c.on_job_change();
}

// Loam's further preference settings beside beta (what `loam tune
// preference` flags set): loss (sigmoid, ipo, hinge, robust, simpo, orpo),
// labelSmoothing, sftWeight, simpoGamma, reference ("base" or "init"; an
// adapter directory is a path on the server, not taken here). Checked when
// the job is created (jobs/job_service.h).
void preference_extras_parse(const json& hp, const std::string& path, json& pref) {
  if (auto v = field_string(hp, "loss", path)) pref["loss"] = preference_loss_name(preference_loss_parse(*v, path + ".loss"));
  if (auto v = field_number(hp, "labelSmoothing", path)) {
    if (!(*v >= 0 && *v < 0.5)) throw error_invalid(path + ".labelSmoothing", "must be in [0, 0.5)");
    pref["label_smoothing"] = *v;
  }
  if (auto v = field_number(hp, "sftWeight", path)) {
    if (!(*v >= 0)) throw error_invalid(path + ".sftWeight", "must be >= 0");
    pref["sft_weight"] = *v;
  }
  if (auto v = field_number(hp, "simpoGamma", path)) pref["simpo_gamma"] = *v;
  if (auto v = field_string(hp, "reference", path)) {
    if (*v != "base" && *v != "init") throw error_invalid(path + ".reference", "must be base or init");
    pref["reference"] = *v;
  }
}

// evaluationConfig: every checkpoint scored on a test file as `loam eval`
// scores (as `tune sft --evaluate`), the best by `metric` exported.
// Loam's fields: datasetUri (required), metric (eval/checkpoint_eval.h
// names; default by task), maxOutputTokens (default 128).
void evaluation_config_parse(const json& ev, const std::string& path, TuningSpec& s) {
  fields_allow(ev, {"datasetUri", "metric", "maxOutputTokens"}, path);
  s.evaluate_uri = field_string(ev, "datasetUri", path).value_or("");
  if (s.evaluate_uri.empty()) throw error_invalid(path + ".datasetUri", "is required (the test data to score checkpoints on)");
  s.evaluate_metric = field_string(ev, "metric", path).value_or("");
  if (auto v = field_int(ev, "maxOutputTokens", path)) s.evaluate_max_tokens = static_cast<int>(std::clamp<int64_t>(*v, -1, 1 << 20));
}

TuningJobRequest parse_create(const json& body) {
  fields_allow(body, {"baseModel", "preTunedModel", "supervisedTuningSpec", "preferenceOptimizationSpec",
                      "tunedModelDisplayName", "description",
                      "labels", "outputUri", "serviceAccount", "encryptionSpec", "experiment", "workerCount"}, "");
  TuningJobRequest r;
  r.api = "vertex";
  r.base_model = field_string(body, "baseModel", "").value_or("");
  if (const json* p = field_object(body, "preTunedModel", "")) {
    fields_allow(*p, {"tunedModelName", "checkpointId"}, "preTunedModel");
    r.pre_tuned_model = field_string(*p, "tunedModelName", "preTunedModel").value_or("");
    if (r.pre_tuned_model.empty()) throw error_invalid("preTunedModel.tunedModelName", "is required");
    r.pre_tuned_checkpoint = field_string(*p, "checkpointId", "preTunedModel").value_or("");
  }
  if (r.base_model.empty() && r.pre_tuned_model.empty()) throw error_invalid("baseModel", "is required");
  r.display_name = field_string(body, "tunedModelDisplayName", "").value_or("");
  r.description = field_string(body, "description", "").value_or("");
  if (const json* l = field_object(body, "labels", ""))
    for (auto it = l->begin(); it != l->end(); ++it) {
      if (!it->is_string()) throw error_invalid("labels." + it.key(), "must be a string");
      r.labels[it.key()] = it->get<std::string>();
    }
  TuningSpec& s = r.spec;
  s.output_uri = field_string(body, "outputUri", "").value_or("");
  // Loam's own: processes the job runs on (data-parallel under mpirun).
  if (body.contains("workerCount")) {
    if (!body["workerCount"].is_number_integer()) throw error_invalid("workerCount", "must be an integer");
    s.worker_count = body["workerCount"].get<int>();
  }
  // One of supervisedTuningSpec and preferenceOptimizationSpec (DPO); the
  // latter's hyperParameters add beta.
  const json* sup = field_object(body, "supervisedTuningSpec", "");
  const json* pref = field_object(body, "preferenceOptimizationSpec", "");
  if (sup && pref) throw error_invalid("preferenceOptimizationSpec", "give it or supervisedTuningSpec, not both");
  if (!sup && !pref) throw error_invalid("supervisedTuningSpec", "is required (or preferenceOptimizationSpec)");
  const json* st = sup ? sup : pref;
  const std::string sp = sup ? "supervisedTuningSpec" : "preferenceOptimizationSpec";
  fields_allow(*st, {"trainingDatasetUri", "validationDatasetUri", "hyperParameters", "exportLastCheckpointOnly",
                     "tuningMode", "evaluationConfig"}, sp);
  if (pref) s.extra["preference"] = {{"loss", "sigmoid"}, {"beta", 0.1}};
  s.train_uri = field_string(*st, "trainingDatasetUri", sp).value_or("");
  if (s.train_uri.empty()) throw error_invalid(sp + ".trainingDatasetUri", "is required");
  s.validation_uri = field_string(*st, "validationDatasetUri", sp).value_or("");
  s.export_last_checkpoint_only = field_bool(*st, "exportLastCheckpointOnly", sp).value_or(false);
  if (const json* hp = field_object(*st, "hyperParameters", sp)) {
    const std::string hpp = sp + ".hyperParameters";
    if (pref)
      fields_allow(*hp, {"epochCount", "adapterSize", "learningRateMultiplier", "learningRate", "batchSize", "beta",
                         "loss", "labelSmoothing", "sftWeight", "simpoGamma", "reference"}, hpp);
    else
      fields_allow(*hp, {"epochCount", "adapterSize", "learningRateMultiplier", "learningRate", "batchSize"}, hpp);
    if (auto v = field_number(*hp, "beta", hpp); v && pref) {
      if (!(*v > 0)) throw error_invalid(hpp + ".beta", "must be > 0");
      s.extra["preference"]["beta"] = *v;
    }
    if (pref) preference_extras_parse(*hp, hpp, s.extra["preference"]);
    if (auto v = field_int(*hp, "epochCount", hpp)) s.epochs = static_cast<int>(std::clamp<int64_t>(*v, -1, 100000));
    if (hp->contains("adapterSize") && !(*hp)["adapterSize"].is_null())
      s.adapter_size = adapter_size_parse((*hp)["adapterSize"], hpp + ".adapterSize");
    if (auto v = field_number(*hp, "learningRateMultiplier", hpp)) s.learning_rate_multiplier = static_cast<float>(*v);
    if (auto v = field_number(*hp, "learningRate", hpp)) s.learning_rate = static_cast<float>(*v);
    if (auto v = field_int(*hp, "batchSize", hpp)) s.batch_size = static_cast<int>(std::clamp<int64_t>(*v, -1, 100000));
    if (s.epochs < 1 && hp->contains("epochCount")) throw error_invalid(hpp + ".epochCount", "must be at least 1");
  }
  if (const json* ev = field_object(*st, "evaluationConfig", sp)) evaluation_config_parse(*ev, sp + ".evaluationConfig", s);
  s.extra["base_model_ref"] = r.base_model.empty() ? r.pre_tuned_model : r.base_model;
  return r;
}

// The job spec's evaluate_* fields as the request named them.
std::string evaluation_field_of(const std::string& where) {
  if (where == "evaluate") return "evaluationConfig.datasetUri";
  if (where == "evaluate_metric") return "evaluationConfig.metric";
  if (where == "evaluate_max_tokens") return "evaluationConfig.maxOutputTokens";
  return where;
}

}  // namespace

TuningJobRequest tuning_request_parse(const json& body) { return parse_create(body); }

std::string tuning_job_id_of(const std::string& name) {
  const std::string marker = "tuningJobs/";
  size_t p = name.rfind(marker);
  return p == std::string::npos ? name : name.substr(p + marker.size());
}

json api_tuning_create(ControlContext& c, const ApiScope& s, const json& body) {
  TuningJobRequest r = parse_create(body);
  const std::string spec = body.contains("preferenceOptimizationSpec") ? "preferenceOptimizationSpec" : "supervisedTuningSpec";
  try {
    return api_tuning_create_request(c, s, std::move(r));
  } catch (const Error& e) {  // the job's evaluate_* fields as this request named them
    const std::string field = evaluation_field_of(e.where());
    if (field == e.where()) throw;
    throw Error(e.kind(), spec + "." + field, e.message(), e.hint());
  }
}

json api_tuning_create_request(ControlContext& c, const ApiScope& s, TuningJobRequest r) {
  // The client libraries send a resource name as preTunedModel; naming a base
  // (not tuned) model that way tunes the base.
  if (!r.pre_tuned_model.empty()) {
    ModelRecord m = model_resolve(c.store, r.pre_tuned_model, "preTunedModel.tunedModelName");
    if (m.kind != "tuned") {
      if (!r.pre_tuned_checkpoint.empty())
        throw error_invalid("preTunedModel.checkpointId", "model " + m.id + " is not a tuned model; it has no checkpoints");
      r.base_model = r.pre_tuned_model;
      r.pre_tuned_model.clear();
    }
  }
  JobRecord j = job_create(c.store, c.paths, r);
  notify(c);
  return tuning_job_to_rest(c.store, j, s);
}

json api_tuning_get(ControlContext& c, const ApiScope& s, const std::string& id) {
  return tuning_job_to_rest(c.store, job_get_or_throw(c.store, tuning_job_id_of(id)), s);
}

json api_tuning_list(ControlContext& c, const ApiScope& s, const ListParams& p) {
  std::vector<JobRecord> all = c.store.job_list();
  std::reverse(all.begin(), all.end());  // newest first, as the managed service lists
  std::vector<ListItemFields> fields;
  for (const auto& j : all) fields.push_back({j.display_name, j.create_time, j.update_time, j.state, j.labels});
  std::string next;
  json jobs = json::array();
  for (size_t i : list_select(fields, p, next)) jobs.push_back(tuning_job_to_rest(c.store, all[i], s));
  json r = {{"tuningJobs", jobs}};
  if (!next.empty()) r["nextPageToken"] = next;
  return r;
}

json api_tuning_cancel(ControlContext& c, const ApiScope& s, const std::string& id) {
  JobRecord j = job_cancel(c.store, tuning_job_id_of(id));
  notify(c);
  return tuning_job_to_rest(c.store, j, s);
}

json api_tuning_pause(ControlContext& c, const ApiScope& s, const std::string& id) {
  JobRecord j = job_pause(c.store, tuning_job_id_of(id));
  notify(c);
  return tuning_job_to_rest(c.store, j, s);
}

json api_tuning_resume(ControlContext& c, const ApiScope& s, const std::string& id) {
  JobRecord j = job_resume(c.store, tuning_job_id_of(id));
  notify(c);
  return tuning_job_to_rest(c.store, j, s);
}

json api_tuning_events(ControlContext& c, const std::string& id, int64_t after_id) {
  const std::string jid = tuning_job_id_of(id);
  job_get_or_throw(c.store, jid);
  json a = json::array();
  for (const auto& e : c.store.events(jid, after_id)) a.push_back(event_to_rest(e));
  return {{"events", a}};
}

json api_tuning_metrics(ControlContext& c, const std::string& id) {
  const std::string jid = tuning_job_id_of(id);
  job_get_or_throw(c.store, jid);
  json a = json::array();
  for (const auto& m : c.store.metrics(jid)) a.push_back(metric_to_rest(m));
  return {{"metrics", a}};
}

}  // namespace loam

#include "serve/rest_shapes.h"

#include <map>

#include "jobs/tuning_spec.h"
#include "registry/errors.h"

namespace loam {

using nlohmann::json;

namespace {

const std::pair<int, const char*> kAdapterSizes[] = {{1, "ADAPTER_SIZE_ONE"},     {2, "ADAPTER_SIZE_TWO"},
                                                     {4, "ADAPTER_SIZE_FOUR"},    {8, "ADAPTER_SIZE_EIGHT"},
                                                     {16, "ADAPTER_SIZE_SIXTEEN"}, {32, "ADAPTER_SIZE_THIRTY_TWO"}};

int http_code_of_status(const std::string& s) {
  if (s == "CANCELLED") return 1;
  if (s == "INVALID_ARGUMENT") return 3;
  if (s == "FAILED_PRECONDITION") return 9;
  return 13;  // INTERNAL
}

}  // namespace

std::string adapter_size_enum(int rank) {
  for (auto& [r, name] : kAdapterSizes)
    if (r == rank) return name;
  return std::to_string(rank);
}

int adapter_size_parse(const json& v, const std::string& field) {
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    for (auto& [r, name] : kAdapterSizes)
      if (s == name) return r;
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 6) return std::stoi(s);
    throw error_invalid(field, "unknown adapter size '" + s + "' (ADAPTER_SIZE_ONE ... ADAPTER_SIZE_THIRTY_TWO or a number)");
  }
  throw error_invalid(field, "must be an enum name or a number");
}

json model_to_rest(const ModelRecord& m, const ApiScope& scope) {
  json files = json::array();
  for (const auto& f : m.files) files.push_back({{"path", f.path}, {"sizeBytes", std::to_string(f.size)}, {"sha256", f.sha256}});
  json meta = {{"kind", m.kind}, {"format", m.format}, {"architecture", m.architecture},
               {"sizeBytes", std::to_string(m.size_bytes)}, {"contentDigest", m.content_digest}, {"files", files},
               {"sourceUri", m.source_uri}, {"hasChatTemplate", !m.chat_template.empty()}};
  if (m.kind == "tuned") {
    json lineage = m.lineage;
    lineage["baseModel"] = scope.prefix() + "/models/" + m.base_model_id + "@" + std::to_string(m.base_version_id);
    lineage["tuningJob"] = scope.prefix() + "/tuningJobs/" + m.job_id;
    meta["lineage"] = lineage;
  }
  json r = {{"name", scope.prefix() + "/models/" + m.id},
            {"displayName", m.display_name},
            {"description", m.description},
            {"versionId", std::to_string(m.version_id)},
            {"versionAliases", m.aliases},
            {"labels", m.labels},
            {"artifactUri", m.artifact_path},
            {"createTime", m.create_time},
            {"updateTime", m.update_time},
            {"versionCreateTime", m.create_time},
            {"versionUpdateTime", m.update_time},
            {"metadata", meta}};
  if (m.kind == "tuned") {
    r["baseModelSource"] = {{"modelGardenSource", {{"publicModelName", r["metadata"]["lineage"]["baseModel"]}}}};
  }
  return r;
}

json tuning_job_to_rest(Store& store, const JobRecord& j, const ApiScope& scope) {
  const TuningSpec s = tuning_spec_from_json(j.spec);
  json hp = {{"adapterSize", adapter_size_enum(s.adapter_size)},
             {"learningRateMultiplier", s.learning_rate_multiplier},
             {"batchSize", std::to_string(s.batch_size)}};
  if (s.epochs > 0) hp["epochCount"] = std::to_string(s.epochs);
  if (s.learning_rate > 0) hp["learningRate"] = s.learning_rate;
  json sts = {{"trainingDatasetUri", s.train_uri}, {"hyperParameters", hp},
              {"exportLastCheckpointOnly", s.export_last_checkpoint_only}};
  if (!s.validation_uri.empty()) sts["validationDatasetUri"] = s.validation_uri;
  const bool preference = s.extra.contains("preference");
  if (preference) {
    const json& pref = s.extra["preference"];
    json& php = sts["hyperParameters"];
    php["beta"] = pref.value("beta", 0.1);
    php["loss"] = pref.value("loss", "sigmoid");
    if (pref.contains("label_smoothing")) php["labelSmoothing"] = pref["label_smoothing"];
    if (pref.contains("sft_weight")) php["sftWeight"] = pref["sft_weight"];
    if (pref.contains("simpo_gamma")) php["simpoGamma"] = pref["simpo_gamma"];
    if (pref.contains("reference") && !pref["reference"].get<std::string>().empty()) php["reference"] = pref["reference"];
  }
  if (!s.evaluate_uri.empty()) {
    sts["evaluationConfig"] = {{"datasetUri", s.evaluate_uri}, {"maxOutputTokens", s.evaluate_max_tokens}};
    if (!s.evaluate_metric.empty()) sts["evaluationConfig"]["metric"] = s.evaluate_metric;
  }
  json r = {{"name", scope.prefix() + "/tuningJobs/" + j.id},
            {"baseModel", s.extra.value("base_model_ref", j.base_model)},
            {preference ? "preferenceOptimizationSpec" : "supervisedTuningSpec", sts},
            {"state", j.state},
            {"createTime", j.create_time},
            {"updateTime", j.update_time},
            {"labels", j.labels},
            {"description", j.description}};
  if (!j.display_name.empty()) r["tunedModelDisplayName"] = j.display_name;
  if (!s.output_uri.empty()) r["outputUri"] = s.output_uri;
  if (!s.pre_tuned_model.empty()) {
    r["preTunedModel"] = {{"tunedModelName", scope.prefix() + "/models/" + s.pre_tuned_model}};
    if (s.extra.contains("pre_tuned_checkpoint")) r["preTunedModel"]["checkpointId"] = s.extra["pre_tuned_checkpoint"];
  }
  if (!j.start_time.empty()) r["startTime"] = j.start_time;
  if (!j.end_time.empty()) r["endTime"] = j.end_time;
  if (!j.error_message.empty())
    r["error"] = {{"code", http_code_of_status(j.error_code)}, {"message", j.error_message}};
  // Each checkpoint the finished job kept is a version of its tuned model
  // (alias checkpoint-<step>): "model" names it as models/{id}@{version}.
  std::map<std::string, int> version_of;  // alias -> version
  if (!j.tuned_model_id.empty())
    for (const ModelRecord& v : store.model_versions(j.tuned_model_id))
      for (const std::string& a : v.aliases) version_of[a] = v.version_id;
  json cps = json::array();
  for (const auto& c : store.checkpoints(j.id)) {
    json cp = {{"checkpointId", std::to_string(c.step)}, {"epoch", std::to_string(c.epoch)},
               {"step", std::to_string(c.step)}};
    if (auto it = version_of.find("checkpoint-" + std::to_string(c.step)); it != version_of.end())
      cp["model"] = scope.prefix() + "/models/" + j.tuned_model_id + "@" + std::to_string(it->second);
    cps.push_back(cp);
  }
  if (!j.tuned_model_id.empty() || !cps.empty()) {
    json tm = {{"checkpoints", cps}};
    if (!j.tuned_model_id.empty()) tm["model"] = scope.prefix() + "/models/" + j.tuned_model_id;
    for (const EndpointRecord& e : store.endpoint_list())  // the endpoint serving it (serve/endpoints.h)
      if (auto it = e.labels.find("tuning_job"); it != e.labels.end() && it->second == j.id)
        tm["endpoint"] = scope.prefix() + "/endpoints/" + e.id;
    r["tunedModel"] = tm;
  }
  // The job's evaluations (checkpoints scored on the test data): in full, and
  // as the managed service's evaluateDatasetRuns.
  auto evs = store.evaluations_of_job(j.id);
  if (!evs.empty()) {
    json full = json::array(), runs = json::array();
    for (const auto& e : evs) {
      full.push_back(evaluation_to_rest(e, scope));
      json run = {{"evaluationRun", full.back()["name"]}};
      if (!e.checkpoint_id.empty()) run["checkpointId"] = e.checkpoint_id;
      runs.push_back(run);
    }
    r["evaluationResults"] = full;
    r["evaluateDatasetRuns"] = runs;
  }
  auto ms = store.metrics(j.id);
  if (!ms.empty())
    r["tuningDataStats"] = {{"supervisedTuningDataStats", {{"tuningStepCount", std::to_string(ms.back().step)}}}};
  return r;
}

json evaluation_to_rest(const EvaluationRecord& e, const ApiScope& scope) {
  json metrics = json::object(), intervals = json::object();
  for (auto it = e.metrics.begin(); it != e.metrics.end(); ++it) {
    metrics[it.key()] = it->value("value", 0.0);
    intervals[it.key()] = {{"low", it->value("low", 0.0)}, {"high", it->value("high", 0.0)}, {"n", it->value("n", 0)}};
  }
  const std::string parent = e.model_id.empty() ? scope.prefix() : scope.prefix() + "/models/" + e.model_id;
  json meta = {{"system", e.system}, {"dataUri", e.data_uri}, {"intervals", intervals}, {"settings", e.settings}};
  if (!e.model_id.empty()) {
    meta["model"] = scope.prefix() + "/models/" + e.model_id + "@" + std::to_string(e.model_version_id);
    meta["modelVersionId"] = std::to_string(e.model_version_id);
  }
  if (!e.job_id.empty()) meta["tuningJob"] = scope.prefix() + "/tuningJobs/" + e.job_id;
  if (!e.checkpoint_id.empty()) meta["checkpointId"] = e.checkpoint_id;
  if (!e.results_path.empty()) meta["resultsUri"] = e.results_path;
  return {{"name", parent + "/evaluations/" + e.id}, {"displayName", e.display_name}, {"metrics", metrics},
          {"createTime", e.create_time}, {"metadata", meta}};
}

json event_to_rest(const JobEventRecord& e) {
  return {{"id", std::to_string(e.id)}, {"time", e.time}, {"level", e.level}, {"message", e.message}};
}

json metric_to_rest(const MetricPoint& p) {
  json r = {{"step", p.step},         {"time", p.time},         {"epoch", p.epoch},
            {"loss", p.loss},         {"tokenAccuracy", p.token_accuracy}, {"learningRate", p.learning_rate},
            {"tokensPerSecond", p.tokens_per_s}};
  if (p.val_loss) r["validationLoss"] = *p.val_loss;
  if (p.val_token_accuracy) r["validationTokenAccuracy"] = *p.val_token_accuracy;
  // The objective's own figures by name (preference tuning's rewards and log-probs).
  if (!p.metrics.empty()) r["objectiveMetrics"] = p.metrics;
  if (!p.val_metrics.empty()) r["validationObjectiveMetrics"] = p.val_metrics;
  return r;
}

}  // namespace loam

// The seed's open-model tuning route: POST …/pipelineJobs whose
// runtimeConfig.parameterValues carry the tuning parameters (model_name,
// train_data_uri, eval_data_uri, output_dir, epochs, learning_rate,
// per_device_train_batch_size, gradient_accumulation_steps, lora_rank,
// lora_alpha, lora_dropout, max_seq_length). It runs as an ordinary tuning job
// (same validation, runner, registry and tuned model), shown in the
// PipelineJob shape; other parameters (accelerator_type, accelerator_count,
// machine_type, …) are accepted and recorded with the job.
#include <string>

#include "registry/errors.h"
#include "serve/control_api.h"

namespace loam {

using nlohmann::json;

namespace {

const std::string kParams = "runtimeConfig.parameterValues";

// The pipeline SDKs send parameters as given: numbers, or strings of them.
double number_param(const json& v, const std::string& key) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    size_t used = 0;
    try {
      const double d = std::stod(s, &used);
      if (used == s.size()) return d;
    } catch (const std::exception&) {
    }
  }
  throw error_invalid(kParams + "." + key, "must be a number");
}

std::string string_param(const json& v, const std::string& key) {
  if (!v.is_string() || v.get<std::string>().empty()) throw error_invalid(kParams + "." + key, "must be a non-empty string");
  return v.get<std::string>();
}

int int_param(const json& v, const std::string& key) {
  const double d = number_param(v, key);
  if (d != static_cast<double>(static_cast<int>(d))) throw error_invalid(kParams + "." + key, "must be an integer");
  return static_cast<int>(d);
}

json pipeline_of(const json& tuning, const json& runtime_config) {
  std::string state = tuning.value("state", "");
  if (state.rfind("JOB_STATE_", 0) == 0) state = "PIPELINE_STATE_" + state.substr(10);
  std::string name = tuning.value("name", "");
  if (size_t at = name.rfind("/tuningJobs/"); at != std::string::npos) name.replace(at, 12, "/pipelineJobs/");
  json p = {{"name", name},
            {"displayName", tuning.value("tunedModelDisplayName", "")},
            {"state", state},
            {"runtimeConfig", runtime_config},
            {"jobDetail", {{"tuningJob", tuning.value("name", "")}}}};
  for (const char* k : {"createTime", "startTime", "endTime", "updateTime", "error", "tunedModel"})
    if (tuning.contains(k)) p[k] = tuning[k];
  return p;
}

}  // namespace

TuningJobRequest pipeline_request_parse(const json& body) {
  if (!body.is_object()) throw error_invalid("body", "must be a JSON object");
  const json* rc = body.contains("runtimeConfig") ? &body["runtimeConfig"] : nullptr;
  if (!rc || !rc->is_object()) throw error_invalid("runtimeConfig", "is required");
  if (!rc->contains("parameterValues") || !(*rc)["parameterValues"].is_object())
    throw error_invalid(kParams, "is required (an object of the tuning parameters)");
  const json& pv = (*rc)["parameterValues"];
  TuningJobRequest r;
  r.api = "pipeline";
  TuningSpec& spec = r.spec;
  for (auto it = pv.begin(); it != pv.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "model_name") r.base_model = string_param(v, k);
    else if (k == "train_data_uri") spec.train_uri = string_param(v, k);
    else if (k == "eval_data_uri") spec.validation_uri = string_param(v, k);
    else if (k == "output_dir") spec.output_uri = string_param(v, k);
    else if (k == "epochs") spec.epochs = int_param(v, k);
    else if (k == "learning_rate") spec.learning_rate = static_cast<float>(number_param(v, k));
    else if (k == "per_device_train_batch_size") spec.batch_size = int_param(v, k);
    else if (k == "gradient_accumulation_steps") spec.gradient_accumulation_steps = int_param(v, k);
    else if (k == "lora_rank") spec.adapter_size = int_param(v, k);
    else if (k == "lora_alpha") spec.lora_alpha = static_cast<float>(number_param(v, k));
    else if (k == "lora_dropout") spec.lora_dropout = static_cast<float>(number_param(v, k));
    else if (k == "max_seq_length") spec.max_seq_length = int_param(v, k);
    else if (k == "accelerator_count") {  // on CPU: the processes the job runs on (data parallel)
      spec.worker_count = int_param(v, k);
      spec.extra[k] = v;
    }
    else spec.extra[k] = v;  // accelerator_type, machine_type, …: recorded
  }
  if (r.base_model.empty()) throw error_invalid(kParams + ".model_name", "is required");
  if (spec.train_uri.empty()) throw error_invalid(kParams + ".train_data_uri", "is required");
  r.display_name = body.value("displayName", "");
  spec.extra["pipeline_runtime_config"] = *rc;
  return r;
}

json api_pipeline_create(ControlContext& c, const ApiScope& s, const json& body) {
  TuningJobRequest r = pipeline_request_parse(body);
  const json rc = r.spec.extra["pipeline_runtime_config"];
  const json tuning = api_tuning_create_request(c, s, r);
  return pipeline_of(tuning, rc);
}

json api_pipeline_get(ControlContext& c, const ApiScope& s, const std::string& id) {
  const json tuning = api_tuning_get(c, s, id);
  JobRecord j = job_get_or_throw(c.store, tuning_job_id_of(id));
  const TuningSpec spec = tuning_spec_from_json(j.spec);
  return pipeline_of(tuning, spec.extra.value("pipeline_runtime_config", json::object()));
}

}  // namespace loam

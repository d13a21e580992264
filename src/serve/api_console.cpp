// What the web console needs beyond the managed service's API, as ordinary
// REST routes any script may call (the console has no other way in):
//   datasets:inspect   validation with every problem named, token statistics
//                      at a max sequence length, rendered training examples
//   datasets:split     a reproducible train/validation split into two files
//   tuningJobs:plan    the trainer's plan (steps, memory, time) for a job body
//                      before it is submitted
//   models/{m}:evaluate  base vs tuned on a small test file, synchronously,
//                      recorded as the model's evaluations
// Each reuses the code behind the CLI (src/data, train's sft_plan, src/eval).
#include "serve/api_console.h"

#include <filesystem>

#include "core/file_io.h"
#include "core/system.h"
#include "data/split.h"
#include "data/stats.h"
#include "data/validate.h"
#include "eval/eval_run.h"
#include "eval/results_json.h"
#include "eval/scoring.h"
#include "jobs/sft_job.h"
#include "jobs/tuning_spec.h"
#include "model/model.h"
#include "registry/data_dir.h"
#include "registry/digest.h"
#include "registry/errors.h"
#include "registry/model_ref.h"
#include "serve/request_fields.h"
#include "tokenizer/model_text.h"
#include "train/sft_data.h"

namespace loam {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A dataset named by an uploaded file's id ("file-…") or a location the
// server may read (path, file://, gs://).
std::string dataset_path(ControlContext& c, const std::string& uri, const std::string& field) {
  if (uri.empty()) throw error_invalid(field, "is required");
  if (uri.rfind("file-", 0) == 0) {
    auto d = c.store.dataset_get(uri);
    if (!d) throw error_not_found(field, "no such file '" + uri + "'");
    return d->path;
  }
  const std::string p = c.paths.resolve(uri, field);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) throw error_invalid(field, "no such file: " + uri);
  return p;
}

// The directory of a registered model's weights and tokenizer (a tuned
// model's base).
std::string model_dir(ControlContext& c, const std::string& ref, const std::string& field) {
  ModelRecord m = model_resolve(c.store, ref, field);
  if (m.kind != "tuned") return m.artifact_path;
  auto base = c.store.model_get(m.base_model_id, m.base_version_id);
  if (!base) throw error_precondition(field, "the base of model " + m.id + " is no longer registered");
  return base->artifact_path;
}

json file_json(const DatasetRecord& d) {
  return {{"id", d.id}, {"filename", d.filename}, {"bytes", d.size_bytes}, {"path", d.path},
          {"createTime", d.create_time}};
}

DatasetRecord dataset_register(ControlContext& c, const std::string& path, const std::string& filename) {
  const std::string bytes = file_read_all(path);
  DatasetRecord d;
  d.id = fs::path(path).stem().string();
  d.filename = filename;
  d.purpose = "fine-tune";
  d.sha256 = sha256_string(bytes);
  d.size_bytes = static_cast<int64_t>(bytes.size());
  d.create_time = time_now_rfc3339();
  d.path = path;
  c.store.dataset_insert(d);
  return d;
}

}  // namespace

json api_dataset_inspect(ControlContext& c, const json& body) {
  fields_allow(body, {"datasetUri", "model", "maxSeqLength", "sampleCount", "task"}, "");
  const std::string uri = field_string(body, "datasetUri", "").value_or("");
  const std::string path = dataset_path(c, uri, "datasetUri");
  const std::string model = field_string(body, "model", "").value_or("");
  const int64_t max_seq = field_int(body, "maxSeqLength", "").value_or(0);
  if (max_seq < 0 || max_seq > (1 << 24)) throw error_invalid("maxSeqLength", "must be between 0 and 16777216");
  const int64_t n_samples = field_int(body, "sampleCount", "").value_or(3);
  if (n_samples < 0 || n_samples > 50) throw error_invalid("sampleCount", "must be between 0 and 50");
  DatasetOptions d;
  if (auto t = field_string(body, "task", ""); t && !t->empty()) {
    d.task = task_from_name(*t);
    if (!d.task) throw error_invalid("task", "must be sft, classification or preference");
  }
  std::optional<ModelText> text;
  std::unique_ptr<TokenStatsAccumulator> acc;
  if (!model.empty()) {
    text = model_text_load(model_dir(c, model, "model"));
    d.vocab_size = text->tokenizer.vocab_size();
    acc = std::make_unique<TokenStatsAccumulator>(*text, static_cast<int>(max_seq));
  }
  json samples = json::array();
  json template_issues = json::array();
  const std::string shown = uri.rfind("file-", 0) == 0 ? uri : path;
  ValidationReport r = dataset_validate(path, d, [&](Example&& e, std::string_view, bool) {
    if (!acc) return;
    try {
      acc->add(e);
    } catch (const Error& err) {  // the template rejects this example: a data problem too
      if (template_issues.size() < 100)
        template_issues.push_back({{"severity", "error"}, {"file", shown}, {"line", e.line}, {"field", "chat template"},
                                   {"message", err.what()}});
      else
        template_issues.push_back(nullptr);
      return;
    }
    if (static_cast<int64_t>(samples.size()) >= n_samples || !text->chat_template || e.turns.empty()) return;
    json s = {{"line", e.line}, {"messages", turns_to_messages(e.turns)}};
    try {
      s["rendered"] = model_text_render(*text, s["messages"], false);
    } catch (const Error& err) {
      s["renderError"] = err.what();
    }
    samples.push_back(s);
  });
  json j = validation_report_to_json(r);
  size_t n_template_errors = 0;
  for (const json& i : template_issues) {
    n_template_errors++;
    if (!i.is_null()) j["issues"].push_back(i);
  }
  if (j.contains("file")) j["file"] = shown;
  for (json& i : j["issues"])
    if (i.contains("file")) i["file"] = shown;
  j["datasetUri"] = uri;
  j["path"] = path;
  j["templateErrors"] = n_template_errors;
  j["ok"] = r.ok() && n_template_errors == 0;
  if (acc) j["tokens"] = token_stats_to_json(acc->finish());
  j["samples"] = samples;
  return j;
}

json api_dataset_split(ControlContext& c, const json& body) {
  fields_allow(body, {"datasetUri", "validationFraction", "seed"}, "");
  const std::string uri = field_string(body, "datasetUri", "").value_or("");
  const std::string path = dataset_path(c, uri, "datasetUri");
  SplitOptions o;
  o.validation_fraction = field_number(body, "validationFraction", "").value_or(0.1);
  if (!(o.validation_fraction > 0 && o.validation_fraction < 1))
    throw error_invalid("validationFraction", "must be between 0 and 1 (exclusive)");
  o.seed = static_cast<uint64_t>(field_int(body, "seed", "").value_or(0));
  dir_make_all(c.store.data_dir() + "/datasets");
  const std::string train = c.store.data_dir() + "/datasets/file-" + id_new() + ".jsonl";
  const std::string val = c.store.data_dir() + "/datasets/file-" + id_new() + ".jsonl";
  SplitResult r = dataset_split(path, train, val, DatasetOptions{}, o);
  if (!r.report.ok())
    throw error_invalid("datasetUri", std::to_string(r.report.n_errors) + " error(s) in " + uri +
                                          "; nothing written (inspect it with datasets:inspect)");
  const std::string stem = fs::path(path).stem().string();
  const DatasetRecord t = dataset_register(c, train, stem + "-train.jsonl");
  const DatasetRecord v = dataset_register(c, val, stem + "-validation.jsonl");
  json labels = json::object();
  for (const auto& [label, n] : r.labels) labels[label] = {{"train", n.first}, {"validation", n.second}};
  json tj = file_json(t), vj = file_json(v);
  tj["examples"] = r.n_train;
  vj["examples"] = r.n_validation;
  return {{"train", tj}, {"validation", vj}, {"duplicatesRemoved", r.n_duplicates_removed}, {"labels", labels},
          {"seed", o.seed}, {"validationFraction", o.validation_fraction}};
}

json api_tuning_plan(ControlContext& c, const json& body) {
  TuningJobRequest r = body.is_object() && body.contains("runtimeConfig") ? pipeline_request_parse(body)
                                                                           : tuning_request_parse(body);
  if (r.spec.extra.contains("preference"))
    throw error_invalid("preferenceOptimizationSpec", "plans are made for supervised tuning only");
  ModelRecord base;
  if (!r.pre_tuned_model.empty()) {
    ModelRecord tuned = model_resolve(c.store, r.pre_tuned_model, "preTunedModel.tunedModelName");
    auto b = c.store.model_get(tuned.base_model_id, tuned.base_version_id);
    if (!b) throw error_precondition("preTunedModel.tunedModelName", "the base of model " + tuned.id + " is gone");
    base = tuned.kind == "tuned" ? *b : tuned;
  } else {
    base = model_resolve(c.store, r.base_model, "baseModel");
  }
  if (base.kind == "tuned" || (base.format != "hf" && base.format != "gguf"))
    throw error_invalid("baseModel", "model " + base.id + " cannot be tuned");
  TuningSpec spec = r.spec;
  spec.train_path = dataset_path(c, spec.train_uri, "supervisedTuningSpec.trainingDatasetUri");
  if (!spec.validation_uri.empty())
    spec.validation_path = dataset_path(c, spec.validation_uri, "supervisedTuningSpec.validationDatasetUri");
  tuning_spec_check(spec);
  JobRecord j;  // never stored: the plan of the job this body would create
  j.id = "plan";
  j.display_name = r.display_name;
  j.base_model = base.id;
  j.base_version_id = base.version_id;
  j.spec = tuning_spec_to_json(spec);
  j.output_dir = c.store.data_dir() + "/jobs/plan/output";
  SftConfig cfg = sft_job_config(c.store, j, base);
  sft_config_check(cfg);
  Model m = model_load(cfg.job.source_model);
  ModelText text = model_text_load(cfg.job.source_model);
  SftData data = sft_data_load(cfg, &text, m.config.vocab);
  const SftPlan p = sft_plan(m, data, cfg);
  const int64_t available = cfg.runtime.max_memory_bytes ? *cfg.runtime.max_memory_bytes : system_memory_available();
  json out = {{"baseModel", base.id},
              {"trainExamples", p.n_train},
              {"validationExamples", p.n_validation},
              {"trainTokens", p.train_tokens},
              {"scoredTokens", p.scored_tokens},
              {"truncatedExamples", data.n_truncated},
              {"epochs", p.epochs},
              {"stepsPerEpoch", p.steps_per_epoch},
              {"totalSteps", p.total_steps},
              {"warmupSteps", p.warmup_steps},
              {"maxBatchTokens", p.max_batch_tokens},
              {"learningRate", p.learning_rate},
              {"maxSeqLength", cfg.hyperparameters.max_seq_length},
              {"peakMemoryBytes", p.peak_memory_bytes},
              {"peakMemory", human_bytes(p.peak_memory_bytes)},
              {"memoryAvailableBytes", available},
              {"estimatedSeconds", p.estimated_seconds}};
  try {
    sft_check_memory(p, cfg, available);
    out["fits"] = true;
  } catch (const Error& e) {
    out["fits"] = false;
    out["memoryProblem"] = e.what();
  }
  return out;
}

json api_model_evaluate(ControlContext& c, const ApiScope& s, const std::string& model, const json& body) {
  fields_allow(body, {"datasetUri", "maxTokens", "bootstrap"}, "");
  const std::string uri = field_string(body, "datasetUri", "").value_or("");
  const std::string path = dataset_path(c, uri, "datasetUri");
  const int64_t max_tokens = field_int(body, "maxTokens", "").value_or(64);
  if (max_tokens < 1 || max_tokens > 4096) throw error_invalid("maxTokens", "must be between 1 and 4096");
  const int64_t bootstrap = field_int(body, "bootstrap", "").value_or(1000);
  if (bootstrap < 0 || bootstrap > 100000) throw error_invalid("bootstrap", "must be between 0 and 100000");
  ModelRecord m = model_resolve(c.store, model, "model");
  // Systems: a tuned model is compared with its base (the base first, the
  // baseline of every comparison); another model is scored alone.
  std::vector<ModelRecord> records;
  ModelEvalOptions mo;
  if (m.kind == "tuned") {
    auto base = c.store.model_get(m.base_model_id, m.base_version_id);
    if (!base) throw error_precondition("model", "the base of model " + m.id + " is no longer registered");
    mo.systems.push_back({"base", base->artifact_path, ""});
    mo.systems.push_back({"tuned", base->artifact_path, m.artifact_path});
    records = {*base, m};
  } else {
    mo.systems.push_back({"base", m.artifact_path, ""});
    records = {m};
  }
  mo.data = path;
  mo.decode.max_tokens = static_cast<int>(max_tokens);
  mo.perplexity = true;
  EvalInputs in = eval_run_models(mo, [](const std::string&, size_t, size_t) {});
  ScoreOptions score;
  score.metric_groups = in.task == "classification" ? std::vector<std::string>{"classification"}
                                                    : std::vector<std::string>{"exact_match", "token_f1", "rouge",
                                                                               "bleu", "chrf"};
  score.metric_groups.push_back("perplexity");
  score.bootstrap = {static_cast<int>(bootstrap), 12345};
  EvalScores scores = eval_score(in, score);
  json systems = json::array();
  for (const SystemSpec& sp : mo.systems) systems.push_back({{"name", sp.name}, {"model", sp.model}, {"adapter", sp.adapter}});
  json settings = {{"data", path}, {"systems", systems}, {"max_tokens", max_tokens}, {"temperature", 0},
                   {"metrics", score.metric_groups}, {"bootstrap", {{"resamples", bootstrap}, {"seed", 12345}}}};
  json results = eval_results_json(in, scores, settings);
  const std::string dir = c.store.data_dir() + "/evaluations/" + id_new();
  dir_make_all(dir);
  file_write_atomic(dir + "/results.json", results.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  json names = json::array();
  const std::string now = time_now_rfc3339();
  for (size_t i = 0; i < scores.systems.size() && i < records.size(); i++) {
    EvaluationRecord e;
    e.id = id_new();
    e.system = scores.systems[i].name;
    e.data_uri = uri;
    e.settings = settings;
    e.results_path = dir + "/results.json";
    e.create_time = now;
    for (const MetricValue& v : scores.systems[i].metrics)
      e.metrics[v.name] = {{"value", v.value.value}, {"low", v.value.low}, {"high", v.value.high}, {"n", v.n}};
    e.model_id = records[i].id;
    e.model_version_id = records[i].version_id;
    if (records[i].kind == "tuned") e.job_id = records[i].job_id;
    e.display_name = e.system + " on " + fs::path(path).filename().string();
    c.store.evaluation_insert(e);
    names.push_back(s.prefix() + "/models/" + e.model_id + "/evaluations/" + e.id);
  }
  results["evaluations"] = names;
  return results;
}

}  // namespace loam

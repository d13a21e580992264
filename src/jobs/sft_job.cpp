#include "jobs/sft_job.h"

#include <filesystem>

#include <fstream>
#include <map>
#include <memory>

#include "core/file_io.h"
#include "eval/checkpoint_eval.h"
#include "model/lora_gguf.h"
#include "core/json_file.h"
#include "core/system.h"
#include "jobs/job_service.h"
#include "jobs/tuning_spec.h"
#include "kernels/matmul.h"
#include "kernels/threading.h"
#include "model/model.h"
#include "tokenizer/model_text.h"
#include "model/transformer_train.h"
#include "registry/data_dir.h"
#include "registry/digest.h"
#include "registry/errors.h"
#include "train/dist.h"
#include "train/dist_share.h"
#include "train/sft_data.h"

namespace loam {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The adapter files of m.artifact_path, their size and the content digest.
void adapter_files_record(ModelRecord& m) {
  m.files.clear();
  m.size_bytes = 0;
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors"}) {
    const std::string p = m.artifact_path + "/" + f;
    if (!fs::exists(p)) continue;
    m.files.push_back({f, static_cast<int64_t>(fs::file_size(p)), sha256_file(p)});
    m.size_bytes += m.files.back().size;
  }
  std::string listing;
  for (const auto& f : m.files) listing += f.path + '\0' + f.sha256 + '\n';
  m.content_digest = sha256_string("adapter\n" + listing);
}

ModelRecord tuned_model_record(Store& store, const JobRecord& job, const ModelRecord& base, const SftConfig& cfg,
                               const SftResult& r, const std::optional<PreferenceOptions>& pref) {
  const TuningSpec spec = tuning_spec_from_json(job.spec);
  ModelRecord m;
  m.id = id_new();
  m.display_name = job.display_name.empty() ? base.display_name + "-tuned-" + job.id.substr(0, 6) : job.display_name;
  m.description = job.description;
  m.kind = "tuned";
  m.format = "adapter";
  m.source_uri = "tuningJobs/" + job.id;
  m.artifact_path = fs::absolute(r.output_dir).string();
  m.architecture = base.architecture;
  adapter_files_record(m);
  json format = json::object();
  if (fs::exists(m.artifact_path + "/training_format.json")) format = json_read_file(m.artifact_path + "/training_format.json");
  m.chat_template = format.value("chat_template", "");
  m.labels = job.labels;
  m.base_model_id = base.id;
  m.base_version_id = base.version_id;
  m.job_id = job.id;
  json datasets = json::array();
  datasets.push_back({{"role", "training"}, {"id", spec.train_dataset_id}, {"uri", spec.train_uri}, {"sha256", spec.train_sha256}});
  if (!spec.validation_dataset_id.empty())
    datasets.push_back({{"role", "validation"}, {"id", spec.validation_dataset_id}, {"uri", spec.validation_uri},
                        {"sha256", spec.validation_sha256}});
  m.lineage = {{"base_model", base.id + "@" + std::to_string(base.version_id)},
               {"job", job.id},
               {"datasets", datasets},
               {"hyperparameters", {{"epochs", cfg.hyperparameters.epochs ? json(*cfg.hyperparameters.epochs) : json()},
                                    {"adapter_size", cfg.lora.rank},
                                    {"learning_rate", sft_learning_rate(cfg)},
                                    {"learning_rate_multiplier", cfg.hyperparameters.learning_rate_multiplier},
                                    {"batch_size", cfg.hyperparameters.batch_size},
                                    {"lora_alpha", sft_lora_config(cfg).alpha},
                                    {"lora_dropout", cfg.lora.dropout},
                                    {"max_seq_length", cfg.hyperparameters.max_seq_length},
                                    {"seed", cfg.hyperparameters.seed}, {"steps", r.steps}}},
               {"eos_token_ids", format.value("eos_token_ids", json::array())},
               {"final_loss", r.final_loss}};
  if (!spec.pre_tuned_model.empty()) m.lineage["pre_tuned_model"] = spec.pre_tuned_model;
  if (!cfg.job.init_adapter.empty()) m.lineage["init_adapter"] = fs::absolute(cfg.job.init_adapter).string();
  m.lineage["method"] = pref ? "preference" : "supervised";
  if (pref) {
    PreferenceConfig pc{cfg, *pref};
    m.lineage["preference"] = {{"loss", preference_loss_name(pref->loss.type)}, {"beta", pref->loss.beta},
                               {"label_smoothing", pref->loss.label_smoothing}, {"sft_weight", pref->loss.sft_weight},
                               {"reference", preference_reference(pc)}};
  }
  m.create_time = m.update_time = time_now_rfc3339();
  return m;
}

// Every checkpoint of the job still on disk as a further version of the
// tuned model (the exported adapter is the default version): alias
// "checkpoint-<step>", its own adapter directory, the lineage of the job plus
// which checkpoint it is. A checkpoint pruned during the run (save_total_limit)
// gets no version.
std::vector<ModelRecord> checkpoint_versions(Store& store, const std::string& job_id, const ModelRecord& tuned) {
  std::vector<ModelRecord> out;
  int version = tuned.version_id;
  for (const CheckpointRecord& c : store.checkpoints(job_id)) {
    if (!fs::exists(c.path + "/adapter_model.safetensors")) continue;
    ModelRecord v = tuned;
    v.version_id = ++version;
    v.artifact_path = c.path;
    adapter_files_record(v);
    v.aliases = {"checkpoint-" + std::to_string(c.step)};
    v.lineage["checkpoint"] = {{"checkpointId", std::to_string(c.step)}, {"step", c.step}, {"epoch", c.epoch},
                               {"metrics", c.metrics}};
    v.lineage.erase("final_loss");
    out.push_back(std::move(v));
  }
  return out;
}

// OUT/evaluations.jsonl: one line per scored checkpoint {"step", "metric",
// "value", "metrics"}; a checkpoint scored twice (a resumed run) keeps its
// last line.
struct CheckpointScore {
  int64_t step = 0;
  double value = 0;
  json metrics;
};

std::vector<CheckpointScore> evaluations_read(const std::string& path, const std::string& metric) {
  std::map<int64_t, CheckpointScore> by_step;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("metric", "") != metric) continue;  // torn or another metric's
    by_step[j.value("step", int64_t{0})] = {j.value("step", int64_t{0}), j.value("value", 0.0), j.value("metrics", json::object())};
  }
  std::vector<CheckpointScore> out;
  for (auto& [step, s] : by_step) out.push_back(s);
  return out;
}

void line_append(const std::string& path, const json& j) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw Error(ErrorKind::Internal, path, "cannot open for appending");
  const std::string text = j.dump() + "\n";
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

void copy_adapter(const std::string& from, const std::string& to) {
  dir_make_all(to);
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "adapter.gguf", "training_format.json"}) {
    if (!fs::exists(from + "/" + f)) continue;
    file_write_atomic(to + "/" + f, file_read_all(from + "/" + f));
  }
}

// A preference job's settings, recorded in its spec by whoever created it
// (tune preference, preferenceOptimizationSpec, OpenAI's method dpo).
std::optional<PreferenceOptions> preference_of_spec(const TuningSpec& s, const std::string& data_dir) {
  if (!s.extra.contains("preference")) return std::nullopt;
  const json& p = s.extra["preference"];
  PreferenceOptions o;
  o.loss.type = preference_loss_parse(p.value("loss", "sigmoid"), "preference.loss");
  o.loss.beta = p.value("beta", 0.1);
  o.loss.label_smoothing = p.value("label_smoothing", 0.0);
  o.loss.sft_weight = p.value("sft_weight", 0.0);
  o.loss.simpo_gamma = p.value("simpo_gamma", 0.5);
  o.reference = p.value("reference", "");
  o.cache_dir = p.value("cache_dir", data_dir + "/cache/reference_logps");
  return o;
}

}  // namespace

// The job's spec as the trainer's config. The spec keeps the REST API's
// "0 = choose for me" where the API has it; the trainer's config says unset.
SftConfig sft_job_config(const Store& store, const JobRecord& job, const ModelRecord& base) {
  const TuningSpec s = tuning_spec_from_json(job.spec);
  SftConfig c;
  c.job.source_model = base.artifact_path;
  c.job.train = s.train_path;
  c.job.validation = s.validation_path;
  c.job.output = job.output_dir;
  c.job.display_name = job.display_name;
  c.job.init_adapter = s.init_adapter;
  c.job.overwrite_output = true;  // the job's own output directory (resumed through checkpoints/latest)
  c.lora.rank = s.adapter_size;
  if (s.lora_alpha > 0) c.lora.alpha = s.lora_alpha;
  c.lora.dropout = s.lora_dropout;
  SftHyperparameters& h = c.hyperparameters;
  if (s.epochs > 0) h.epochs = s.epochs;
  h.learning_rate_multiplier = s.learning_rate_multiplier;
  if (s.learning_rate > 0) h.learning_rate = s.learning_rate;
  h.batch_size = s.batch_size;
  h.gradient_accumulation_steps = s.gradient_accumulation_steps;
  h.max_seq_length = s.max_seq_length;
  h.seed = s.seed;
  if (s.max_steps > 0) h.max_steps = s.max_steps;
  h.save_steps = s.save_steps;
  h.eval_steps = s.eval_steps;
  h.save_total_limit = s.export_last_checkpoint_only ? 1 : 0;  // every checkpoint is kept (usable as a version)
  if (s.threads > 0) c.runtime.threads = s.threads;
  c.runtime.precision = s.precision;
  return c;
}

SftJobOutcome sft_job_run(Store& store, const std::string& job_id, SftConfig cfg, const std::atomic<bool>* stop,
                          const SftJobHooks& hooks, SftResult* result) {
  const TrainCallbacks& display = hooks.display;
  JobRecord job = job_get_or_throw(store, job_id);
  const std::optional<PreferenceOptions> preference =
      hooks.preference ? hooks.preference : preference_of_spec(tuning_spec_from_json(job.spec), store.data_dir());
  auto base = store.model_get(job.base_model, job.base_version_id);
  if (!base) throw error_precondition("baseModel", "model " + job.base_model + " is no longer registered");
  const std::string latest = cfg.job.output + "/checkpoints/latest";
  if (hooks.auto_resume && cfg.job.resume.empty() && fs::exists(latest)) {
    std::string dir = file_read_all(latest);
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
    if (fs::exists(dir)) {
      cfg.job.resume = dir;
      store.event_append(job_id, "info", "resuming from checkpoint " + dir);
    }
  }
  sft_config_check(cfg);
  // A checkpoint of a run with another number of processes keeps its global
  // batch: the accumulation changes, and the plan says so.
  cfg.hyperparameters.gradient_accumulation_steps = train_resume_accumulation(cfg);
  Model m = model_load(cfg.job.source_model);
  m.compute = {cfg.runtime.precision == "bf16" ? MatmulPrecision::Bf16 : MatmulPrecision::Exact,
               cfg.runtime.threads.value_or(dist_threads_default())};
  if (cfg.runtime.precision == "bf16") model_matrices_to_bf16(m);
  // Pre-tokenized data trains on a directory without tokenizer files.
  std::optional<ModelText> text;
  if (!(fs::is_directory(cfg.job.source_model) && !fs::exists(cfg.job.source_model + "/tokenizer.json")))
    text = model_text_load(cfg.job.source_model);
  const ModelText* tp = text ? &*text : nullptr;
  SftData data;
  PreferenceData pdata;
  std::optional<PreferenceConfig> pcfg;
  if (preference) {
    pcfg = PreferenceConfig{cfg, *preference};
    preference_config_check(*pcfg);
    pdata = preference_data_load(cfg, tp, m.config.vocab);
  } else {
    data = sft_data_load(cfg, tp, m.config.vocab);
  }
  // Under mpirun: the other ranks get this configuration and the tokenized
  // data (train/dist_share.h), and train in step with this one.
  if (dist_world_size() > 1) {
    std::optional<PreferenceOptions> shared = preference;
    dist_run_share(cfg, shared, data, pdata);
  }
  // --evaluate: every checkpoint scored on the test file by the scorer
  // (loam eval's machinery), from this sink, never inside the training loop.
  const TuningSpec job_spec = tuning_spec_from_json(job.spec);
  std::unique_ptr<CheckpointScorer> scorer;
  if (!job_spec.evaluate_path.empty()) {
    if (!text) throw error_precondition("evaluate", "the model has no tokenizer files to generate answers with");
    CheckpointEvalOptions eo;
    eo.data = job_spec.evaluate_path;
    eo.metric = job_spec.evaluate_metric;
    eo.decode.max_tokens = job_spec.evaluate_max_tokens;
    scorer = std::make_unique<CheckpointScorer>(m, *text, eo, "evaluate_metric");
  }
  const std::string evaluations_path = cfg.job.output + "/evaluations.jsonl";
  SftPlan plan = pcfg ? preference_plan(m, pdata, *pcfg) : sft_plan(m, data, cfg);
  if (hooks.on_plan) hooks.on_plan(cfg, plan, pcfg ? pdata.n_truncated : data.n_truncated);
  sft_check_memory(plan, cfg, cfg.runtime.max_memory_bytes ? *cfg.runtime.max_memory_bytes : system_memory_available());
  store.event_append(job_id, "info",
                     "training: " + std::to_string(plan.n_train) + " examples, " + std::to_string(plan.epochs) +
                         " epochs, " + std::to_string(plan.total_steps) + " steps");

  int last_epoch = 0;
  std::optional<double> last_loss, last_val;
  TrainCallbacks cb;
  cb.stop = stop;
  cb.on_step = [&](const TrainProgress& p) {
    MetricPoint point{job_id, p.step, time_now_rfc3339(), p.epoch_progress, p.loss, p.token_accuracy, p.learning_rate,
                      p.tokens_per_s, p.val_loss, p.val_token_accuracy};
    point.metrics.insert(p.metrics.begin(), p.metrics.end());
    if (p.val_loss) point.val_metrics.insert(p.val_metrics.begin(), p.val_metrics.end());
    store.metric_put(point);
    last_epoch = p.epoch;
    last_loss = p.loss;
    if (p.val_loss) last_val = p.val_loss;
    if (display.on_step) display.on_step(p);
  };
  cb.on_log = [&](const std::string& s) {
    store.event_append(job_id, "info", s);
    if (display.on_log) display.on_log(s);
  };
  // The run-directory writer has saved the checkpoint when this runs.
  cb.on_checkpoint = [&](const TrainCheckpoint& k) {
    const std::string dir = fs::absolute(cfg.job.output + "/checkpoints/step-" + std::to_string(k.step)).string();
    CheckpointRecord c{job_id, k.step, last_epoch, dir, json::object(), time_now_rfc3339()};
    if (last_loss) c.metrics["loss"] = *last_loss;
    if (last_val) c.metrics["val_loss"] = *last_val;
    store.checkpoint_put(c);
    store.event_append(job_id, "info", "checkpoint " + dir + " (" + k.reason + ")");
    if (!scorer || k.reason == "interrupted") return;
    const json scores = scorer->score(*k.adapter);
    const std::string& metric = scorer->metric();
    const double value = scores.at(metric).at("value").get<double>();
    std::vector<CheckpointScore> earlier = evaluations_read(evaluations_path, metric);
    bool best = true;
    for (const CheckpointScore& e : earlier)
      if (e.step != k.step && !scorer->better(value, e.value)) best = false;
    if (best) lora_save(cfg.job.output + "/best_evaluated", *k.adapter);
    line_append(evaluations_path, {{"step", k.step}, {"metric", metric}, {"value", value}, {"metrics", scores}});
    line_append(cfg.job.output + "/metrics.jsonl", {{"step", k.step}, {"evaluation", scores}});
    const std::string msg = "evaluated checkpoint " + std::to_string(k.step) + " on " + job_spec.evaluate_uri + ": " +
                            metric + " " + std::to_string(value) + (best ? " (best so far)" : "");
    store.event_append(job_id, "info", msg);
    if (display.on_log) display.on_log(msg);
  };
  const SftFormat format = text ? sft_format_of(*text) : SftFormat{};
  SftResult r = pcfg ? preference_train(m, pdata, *pcfg, format, cb) : sft_train(m, data, cfg, format, cb);
  if (result) *result = r;
  if (r.status == TrainStatus::Interrupted) return SftJobOutcome::Interrupted;

  const TuningSpec& spec = job_spec;
  // --evaluate: the best checkpoint by the metric is what is exported.
  std::vector<CheckpointScore> scored;
  int64_t best_step = -1;
  if (scorer) {
    scored = evaluations_read(evaluations_path, scorer->metric());
    const CheckpointScore* best = nullptr;
    for (const CheckpointScore& e : scored)
      if (!best || scorer->better(e.value, best->value)) best = &e;
    if (best) {
      best_step = best->step;
      LoraAdapter a = lora_load(cfg.job.output + "/best_evaluated", m.config);
      lora_save(cfg.job.output, a);
      adapter_gguf_write(cfg.job.output + "/adapter.gguf", a, m.config);
      json report = {{"metric", scorer->metric()}, {"higher_is_better", eval_metric_higher_is_better(scorer->metric())},
                     {"data", spec.evaluate_uri}, {"best_step", best->step}, {"best_value", best->value},
                     {"checkpoints", json::array()}};
      for (const CheckpointScore& e : scored)
        report["checkpoints"].push_back({{"step", e.step}, {"value", e.value}, {"metrics", e.metrics}});
      file_write_atomic(cfg.job.output + "/evaluation.json", report.dump(2) + "\n");
      store.event_append(job_id, "info", "exported checkpoint " + std::to_string(best->step) + ", best by " +
                                             scorer->metric() + " (" + std::to_string(best->value) + ")");
    }
  }
  if (!spec.output_path.empty()) copy_adapter(r.output_dir, spec.output_path);
  ModelRecord tuned = tuned_model_record(store, job, *base, cfg, r, preference);
  for (int attempt = 0; attempt < 100; attempt++) {
    JobRecord j = job_get_or_throw(store, job_id);
    const std::string before = j.state;
    std::optional<JobState> next = job_transition(job_state_parse(before), JobEvent::Succeed);
    if (!next) throw error_precondition("tuning job " + job_id, "finished training in state " + before);
    j.state = job_state_name(*next);
    j.end_time = time_now_rfc3339();
    j.tuned_model_id = tuned.id;
    const std::vector<ModelRecord> versions = checkpoint_versions(store, job_id, tuned);
    if (store.job_update_with_model(j, before, tuned, versions)) {
      for (const CheckpointScore& e : scored) {
        EvaluationRecord ev;
        ev.id = id_new();
        ev.display_name = "checkpoint " + std::to_string(e.step) + " on " + fs::path(spec.evaluate_uri).filename().string();
        ev.model_id = tuned.id;
        ev.model_version_id = tuned.version_id;  // the checkpoint's own version when it has one
        for (const ModelRecord& v : versions)
          if (v.lineage["checkpoint"]["step"].get<int64_t>() == e.step) ev.model_version_id = v.version_id;
        ev.job_id = job_id;
        ev.checkpoint_id = std::to_string(e.step);
        ev.system = "checkpoint-" + std::to_string(e.step);
        ev.data_uri = spec.evaluate_uri;
        for (auto it = e.metrics.begin(); it != e.metrics.end(); ++it) {
          const double v = it->value("value", 0.0);
          ev.metrics[it.key()] = {{"value", v}, {"low", v}, {"high", v}, {"n", it->value("n", 0)}};
        }
        ev.settings = {{"metric", scorer->metric()}, {"selected", e.step == best_step},
                       {"max_tokens", spec.evaluate_max_tokens}};
        ev.create_time = time_now_rfc3339();
        store.evaluation_insert(ev);
      }
      store.event_append(job_id, "info", "succeeded: tuned model " + tuned.id + " (" + tuned.display_name + ")" +
                                             (versions.empty() ? "" : ", " + std::to_string(versions.size()) +
                                                                          " checkpoint versions"));
      return SftJobOutcome::Succeeded;
    }
  }
  throw error_precondition("tuning job " + job_id, "the job kept changing while finishing");
}

}  // namespace loam

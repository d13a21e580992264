#include "jobs/sft_job.h"

#include <filesystem>

#include "core/file_io.h"
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
#include "train/sft_data.h"

namespace loam {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// "checkpoint /out/checkpoints/step-12 (save steps)" -> the directory.
std::string checkpoint_dir_of(const std::string& log) {
  const std::string prefix = "checkpoint ";
  if (log.rfind(prefix, 0) != 0) return "";
  size_t end = log.find(" (", prefix.size());
  return log.substr(prefix.size(), end == std::string::npos ? std::string::npos : end - prefix.size());
}

ModelRecord tuned_model_record(Store& store, const JobRecord& job, const ModelRecord& base, const SftConfig& cfg,
                               const SftResult& r) {
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
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors"}) {
    const std::string p = m.artifact_path + "/" + f;
    if (!fs::exists(p)) continue;
    m.files.push_back({f, static_cast<int64_t>(fs::file_size(p)), sha256_file(p)});
    m.size_bytes += m.files.back().size;
  }
  std::string listing;
  for (const auto& f : m.files) listing += f.path + '\0' + f.sha256 + '\n';
  m.content_digest = sha256_string("adapter\n" + listing);
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
               {"hyperparameters", {{"epochs", cfg.epochs}, {"adapter_size", cfg.adapter_size},
                                    {"learning_rate", sft_learning_rate(cfg)},
                                    {"learning_rate_multiplier", cfg.learning_rate_multiplier},
                                    {"batch_size", cfg.batch_size}, {"lora_alpha", sft_lora_config(cfg).alpha},
                                    {"lora_dropout", cfg.lora_dropout}, {"max_seq_length", cfg.max_seq_length},
                                    {"seed", cfg.seed}, {"steps", r.steps}}},
               {"eos_token_ids", format.value("eos_token_ids", json::array())},
               {"final_loss", r.final_loss}};
  if (!spec.pre_tuned_model.empty()) m.lineage["pre_tuned_model"] = spec.pre_tuned_model;
  m.create_time = m.update_time = time_now_rfc3339();
  return m;
}

void copy_adapter(const std::string& from, const std::string& to) {
  dir_make_all(to);
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "adapter.gguf", "training_format.json"}) {
    if (!fs::exists(from + "/" + f)) continue;
    file_write_atomic(to + "/" + f, file_read_all(from + "/" + f));
  }
}

}  // namespace

SftConfig sft_job_config(const Store& store, const JobRecord& job, const ModelRecord& base) {
  const TuningSpec s = tuning_spec_from_json(job.spec);
  SftConfig c;
  c.source_model = base.artifact_path;
  c.train_path = s.train_path;
  c.validation_path = s.validation_path;
  c.output_dir = job.output_dir;
  c.display_name = job.display_name;
  c.epochs = s.epochs;
  c.adapter_size = s.adapter_size;
  c.learning_rate_multiplier = s.learning_rate_multiplier;
  c.learning_rate = s.learning_rate;
  c.batch_size = s.batch_size;
  c.gradient_accumulation_steps = s.gradient_accumulation_steps;
  c.max_seq_length = s.max_seq_length;
  c.lora_alpha = s.lora_alpha;
  c.lora_dropout = s.lora_dropout;
  c.seed = s.seed;
  c.max_steps = s.max_steps;
  c.save_steps = s.save_steps;
  c.eval_steps = s.eval_steps;
  c.save_total_limit = s.export_last_checkpoint_only ? 1 : 0;  // every checkpoint is kept (usable as a version)
  c.init_adapter = s.init_adapter;
  c.threads = s.threads;
  c.precision = s.precision;
  return c;
}

SftJobOutcome sft_job_run(Store& store, const std::string& job_id, SftConfig cfg, const std::atomic<bool>* stop,
                          const SftJobHooks& hooks, SftResult* result) {
  const TrainCallbacks& display = hooks.display;
  JobRecord job = job_get_or_throw(store, job_id);
  auto base = store.model_get(job.base_model, job.base_version_id);
  if (!base) throw error_precondition("baseModel", "model " + job.base_model + " is no longer registered");
  const std::string latest = cfg.output_dir + "/checkpoints/latest";
  if (hooks.auto_resume && cfg.resume.empty() && fs::exists(latest)) {
    std::string dir = file_read_all(latest);
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
    if (fs::exists(dir)) {
      cfg.resume = dir;
      store.event_append(job_id, "info", "resuming from checkpoint " + dir);
    }
  }
  sft_config_check(cfg);
  if (cfg.threads > 0) kernels_set_threads(cfg.threads);
  matmul_set_precision(cfg.precision == "bf16" ? MatmulPrecision::Bf16 : MatmulPrecision::Exact);
  Model m = model_load(cfg.source_model);
  if (cfg.precision == "bf16") model_matrices_to_bf16(m);
  ModelText text = model_text_load(cfg.source_model);
  SftData data = sft_data_load(cfg, text, m.config.vocab);
  SftPlan plan = sft_plan(m, data, cfg);
  if (hooks.on_plan) hooks.on_plan(cfg, plan, data);
  sft_check_memory(plan, cfg, cfg.max_memory_bytes > 0 ? cfg.max_memory_bytes : system_memory_available());
  store.event_append(job_id, "info",
                     "training: " + std::to_string(plan.n_train) + " examples, " + std::to_string(plan.epochs) +
                         " epochs, " + std::to_string(plan.total_steps) + " steps");

  int last_epoch = 0;
  std::optional<double> last_loss, last_val;
  TrainCallbacks cb;
  cb.stop = stop;
  cb.on_step = [&](const TrainProgress& p) {
    store.metric_put({job_id, p.step, time_now_rfc3339(), p.epoch_progress, p.loss, p.token_accuracy, p.learning_rate,
                      p.tokens_per_s, p.val_loss, p.val_token_accuracy});
    last_epoch = p.epoch;
    last_loss = p.loss;
    if (p.val_loss) last_val = p.val_loss;
    if (display.on_step) display.on_step(p);
  };
  cb.on_log = [&](const std::string& s) {
    store.event_append(job_id, "info", s);
    const std::string dir = checkpoint_dir_of(s);
    if (!dir.empty()) {
      const std::string name = fs::path(dir).filename().string();
      CheckpointRecord c{job_id, 0, last_epoch, dir, json::object(), time_now_rfc3339()};
      if (name.rfind("step-", 0) == 0) c.step = std::stoll(name.substr(5));
      if (last_loss) c.metrics["loss"] = *last_loss;
      if (last_val) c.metrics["val_loss"] = *last_val;
      store.checkpoint_put(c);
    }
    if (display.on_log) display.on_log(s);
  };
  SftResult r = sft_train(m, data, cfg, sft_format_of(text), cb);
  if (result) *result = r;
  if (r.status == TrainStatus::Interrupted) return SftJobOutcome::Interrupted;

  const TuningSpec spec = tuning_spec_from_json(job.spec);
  if (!spec.output_path.empty()) copy_adapter(r.output_dir, spec.output_path);
  ModelRecord tuned = tuned_model_record(store, job, *base, cfg, r);
  for (int attempt = 0; attempt < 100; attempt++) {
    JobRecord j = job_get_or_throw(store, job_id);
    const std::string before = j.state;
    std::optional<JobState> next = job_transition(job_state_parse(before), JobEvent::Succeed);
    if (!next) throw error_precondition("tuning job " + job_id, "finished training in state " + before);
    j.state = job_state_name(*next);
    j.end_time = time_now_rfc3339();
    j.tuned_model_id = tuned.id;
    if (store.job_update_with_model(j, before, tuned)) {
      store.event_append(job_id, "info", "succeeded: tuned model " + tuned.id + " (" + tuned.display_name + ")");
      return SftJobOutcome::Succeeded;
    }
  }
  throw error_precondition("tuning job " + job_id, "the job kept changing while finishing");
}

}  // namespace loam

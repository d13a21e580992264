#include "train/run_dir.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_io.h"
#include "core/system.h"
#include "model/lora.h"
#include "model/lora_gguf.h"
#include "train/checkpoint.h"

namespace loam {

namespace fs = std::filesystem;

namespace {

// What a run writes into its output directory (and --overwrite-output removes).
const char* const kRunEntries[] = {"checkpoints", "best", "metrics.jsonl", "summary.json", "adapter_config.json",
                                   "adapter_model.safetensors", "adapter.gguf", "training_format.json",
                                   "chat_template.jinja", "best_evaluated", "evaluations.jsonl", "evaluation.json"};

bool dir_is_empty(const std::string& dir) {
  std::error_code ec;
  return !fs::exists(dir, ec) || (fs::is_directory(dir, ec) && fs::directory_iterator(dir, ec) == fs::directory_iterator());
}

// Keeps metrics.jsonl lines up to `step` (a resumed run rewrites the rest).
void metrics_truncate(const std::string& path, int64_t step) {
  if (!file_exists(path)) {
    file_write_atomic(path, "");
    return;
  }
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    try {
      if (nlohmann::json::parse(line).at("step").get<int64_t>() <= step) kept += line + "\n";
    } catch (const std::exception&) {
      break;  // a torn last line from a crash
    }
  }
  file_write_atomic(path, kept);
}

// The step-N checkpoints under dir, oldest first.
std::vector<std::pair<int64_t, fs::path>> checkpoints_in(const std::string& dir) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("step-", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
    try {
      size_t used = 0;
      const int64_t n = std::stoll(name.substr(5), &used);
      if (used == name.size() - 5) found.emplace_back(n, e.path());
    } catch (const std::exception&) {
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

// Keeps the `keep` newest step-N checkpoints (0 = all); the one just written
// is always among them.
void checkpoints_prune(const std::string& dir, int keep) {
  if (keep <= 0) return;
  const auto found = checkpoints_in(dir);
  std::error_code ec;
  for (size_t i = 0; i + static_cast<size_t>(keep) < found.size(); i++) fs::remove_all(found[i].second, ec);
}

// Removes "*.tmp" / "*.tmp.<pid>" leftovers of a killed run in dir.
void remove_tmp_leftovers(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> gone;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".tmp") || name.find(".tmp.") != std::string::npos) gone.push_back(e.path());
  }
  for (const fs::path& p : gone) fs::remove_all(p, ec);
}

}  // namespace

void sft_output_check(const std::string& out, const std::string& resume_checkpoint, bool overwrite) {
  if (dir_is_empty(out)) return;
  std::error_code ec;
  if (!fs::is_directory(out, ec)) throw Error(ErrorKind::AlreadyExists, "job.output", out + " exists and is not a directory");
  if (!resume_checkpoint.empty()) {
    // This run's: the checkpoint lies in OUT/checkpoints.
    fs::path ckpt = fs::path(resume_checkpoint).lexically_normal();
    if (ckpt.filename().empty()) ckpt = ckpt.parent_path();  // "step-3/"
    if (fs::equivalent(ckpt.parent_path(), fs::path(out) / "checkpoints", ec)) return;
  }
  if (!overwrite)
    throw Error(ErrorKind::AlreadyExists, "job.output",
                out + " is not empty and holds no checkpoint of this run",
                "choose a new output directory, resume that run with job.resume, or pass job.overwrite_output to "
                "remove what an earlier run left there");
  for (const char* name : kRunEntries) fs::remove_all(fs::path(out) / name, ec);
}

std::string sft_resume_checkpoint(const std::string& path) {
  if (file_exists(path + "/trainer_state.json")) return path;
  const std::string dir = path + "/checkpoints";
  if (dir_exists(dir)) {
    const auto found = checkpoints_in(dir);
    for (auto it = found.rbegin(); it != found.rend(); ++it)
      if (file_exists((it->second / "trainer_state.json").string())) return it->second.string();
    throw Error(ErrorKind::NotFound, "job.resume", path + " holds no checkpoint (checkpoints/ is empty)",
                "start the run without job.resume");
  }
  throw Error(ErrorKind::NotFound, "job.resume",
              path + " is neither a checkpoint (trainer_state.json is missing) nor a run's output directory",
              "pass OUT or a directory under OUT/checkpoints/ of an earlier run");
}

SftRunWriter::SftRunWriter(std::string out, const ModelConfig& model, const SftConfig& cfg, const SftFormat& format,
                           int64_t n_truncated, nlohmann::json run_config)
    : out_(std::move(out)), model_(model), cfg_(cfg), format_(format), run_config_(std::move(run_config)),
      n_truncated_(n_truncated) {
  cb_.on_step = [this](const TrainProgress& p) {
    nlohmann::json line = {{"step", p.step}, {"epoch", p.epoch_progress}, {"learning_rate", p.learning_rate},
                           {"loss", p.loss}, {"token_accuracy", p.token_accuracy}, {"grad_norm", p.grad_norm},
                           {"tokens", p.tokens}, {"tokens_per_s", p.tokens_per_s}};
    if (p.val_loss) {
      line["val_loss"] = *p.val_loss;
      line["val_token_accuracy"] = *p.val_token_accuracy;
      for (const auto& [name, value] : p.val_metrics) line["val_" + name] = value;
    }
    for (const auto& [name, value] : p.metrics) line[name] = value;
    if (p.world_size > 1) {  // data parallel: the processes and this step's all-reduce time
      line["world_size"] = p.world_size;
      line["comm_s"] = p.comm_s;
    }
    const std::string text = line.dump() + "\n";
    std::fwrite(text.data(), 1, text.size(), metrics_);
    std::fflush(metrics_);
  };
  cb_.on_best = [this](int64_t, double, const LoraAdapter& a) { lora_save(out_ + "/best", a); };
  cb_.on_checkpoint = [this](const TrainCheckpoint& c) {
    const std::string dir = out_ + "/checkpoints/step-" + std::to_string(c.step);
    checkpoint_save(dir, *c.adapter, *c.optimizer, *c.state, run_config_, checkpoint_files_);
    file_write_atomic(out_ + "/checkpoints/latest", dir + "\n");
    last_checkpoint_ = dir;
    checkpoints_prune(out_ + "/checkpoints", cfg_.hyperparameters.save_total_limit);
  };
  cb_.on_finished = [this](const TrainFinished& f) {
    const SftResult& res = *f.result;
    const SftPlan& plan = *f.plan;
    lora_save(out_, *f.adapter);
    adapter_gguf_write(out_ + "/adapter.gguf", *f.adapter, model_);
    nlohmann::json fmt = {{"chat_template", format_.chat_template}, {"eos_token_ids", format_.eos_ids},
                          {"bos_token", format_.bos_token}, {"eos_token", format_.eos_token},
                          {"base_model", cfg_.job.source_model}};
    file_write_atomic(out_ + "/training_format.json", fmt.dump(2) + "\n");
    if (!format_.chat_template.empty()) file_write_atomic(out_ + "/chat_template.jinja", format_.chat_template);
    nlohmann::json summary = {
        {"status", train_status_name(res.status)}, {"display_name", cfg_.job.display_name}, {"steps", res.steps},
        {"epochs", plan.epochs}, {"train_examples", plan.n_train}, {"validation_examples", plan.n_validation},
        {"truncated_examples", n_truncated_}, {"train_tokens", plan.train_tokens},
        {"scored_tokens", plan.scored_tokens}, {"final_loss", res.final_loss},
        {"best_val_loss", res.best_val_loss ? nlohmann::json(*res.best_val_loss) : nlohmann::json(nullptr)},
        {"best_step", res.best_step}, {"learning_rate", plan.learning_rate}, {"seconds", f.seconds},
        {"estimated_peak_memory_bytes", plan.peak_memory_bytes}, {"peak_rss_bytes", process_peak_rss()},
        {"config", run_config_},
    };
    file_write_atomic(out_ + "/summary.json", summary.dump(2) + "\n");
  };
}

SftRunWriter::~SftRunWriter() {
  if (metrics_) std::fclose(metrics_);
}

void SftRunWriter::begin(bool resuming, int64_t resumed_step) {
  fs::create_directories(out_ + "/checkpoints");
  const std::string metrics_path = out_ + "/metrics.jsonl";
  if (resuming) {
    for (const std::string& d : {out_, out_ + "/checkpoints", out_ + "/best"})
      if (dir_exists(d)) remove_tmp_leftovers(d);
    metrics_truncate(metrics_path, resumed_step);
  } else {
    file_write_atomic(metrics_path, "");
  }
  metrics_ = std::fopen(metrics_path.c_str(), "ab");
  if (!metrics_) throw Error(ErrorKind::Internal, metrics_path, "cannot open for writing");
}

}  // namespace loam

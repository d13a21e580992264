// Tuning commands: tune sft, merge, debug grads. Flags bind to SftConfig
// fields here and nowhere else (one table, sft_flags(), which also maps the
// field names in the lower layers' errors back to flags); the trainer reports through callbacks and this file
// decides how progress looks on a terminal or in a log.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <csignal>
#include <cstdio>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/control_client.h"
#include "cli/progress_line.h"
#include "cli/token_list.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/system.h"
#include "core/uri.h"
#include "jobs/job_service.h"
#include "jobs/sft_job.h"
#include "registry/data_dir.h"
#include "registry/model_ref.h"
#include "registry/store.h"
#include "formats/safetensors.h"
#include "kernels/matmul.h"
#include "kernels/threading.h"
#include "model/lora.h"
#include "model/merge.h"
#include "model/model.h"
#include "model/transformer_train.h"
#include "tokenizer/model_text.h"
#include "train/dist.h"
#include "train/dist_share.h"
#include "train/sft_data.h"
#include "train/preference_trainer.h"
#include "train/sft_trainer.h"

namespace loam::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
extern "C" void on_stop_signal(int sig) {
  g_signal.store(sig);
  g_stop.store(true);
}

std::string human_seconds(double s) {
  char buf[64];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%.0fs", s);
  return buf;
}

// --- flags <-> SftConfig fields: the one table ---------------------------

int64_t parse_integer(const std::string& v, const char* flag) {
  size_t used = 0;
  long long x = 0;
  try {
    x = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size()) throw Error(flag, "expected an integer, got \"" + v + "\"");
  return x;
}

int parse_int(const std::string& v, const char* flag) {
  const int64_t x = parse_integer(v, flag);
  if (x < INT32_MIN || x > INT32_MAX) throw Error(flag, "\"" + v + "\" is out of range");
  return static_cast<int>(x);
}

float parse_float(const std::string& v, const char* flag) {
  size_t used = 0;
  float x = 0;
  try {
    x = std::stof(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size() || !std::isfinite(x)) throw Error(flag, "expected a number, got \"" + v + "\"");
  return x;
}

std::vector<std::string> split_commas(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v.size()) {
    const size_t end = std::min(v.find(',', start), v.size());
    if (end > start) out.push_back(v.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

struct SftFlag {
  const char* flag;    // "--epochs"
  const char* field;   // "hyperparameters.epochs"
  const char* help;
  std::string shown_default;  // in --help ("" = none)
  bool is_switch = false;     // takes no value
  std::function<void(SftConfig&, const std::string&)> set;  // value (switches: "")
};

const std::vector<SftFlag>& sft_flags() {
  static const SftConfig d;
  static const std::vector<SftFlag> flags = {
      {"--source-model", "job.source_model", "Base model directory or .gguf (required)", "", false,
       [](SftConfig& c, const std::string& v) { c.job.source_model = v; }},
      {"--train", "job.train", "Training data (JSONL; path, file:// or gs:// URI) (required)", "", false,
       [](SftConfig& c, const std::string& v) { c.job.train = v; }},
      {"--validation", "job.validation", "Validation data", "none", false,
       [](SftConfig& c, const std::string& v) { c.job.validation = v; }},
      {"--output", "job.output", "Output directory", "tuned/<display name>", false,
       [](SftConfig& c, const std::string& v) { c.job.output = v; }},
      {"--tuned-model-display-name", "job.display_name", "Name of the tuned model", "sft-run", false,
       [](SftConfig& c, const std::string& v) { c.job.display_name = v; }},
      {"--init-adapter", "job.init_adapter", "Start from an existing PEFT adapter", "none", false,
       [](SftConfig& c, const std::string& v) { c.job.init_adapter = v; }},
      {"--resume", "job.resume", "Resume a run: its output directory (newest checkpoint) or a checkpoint directory",
       "none", false, [](SftConfig& c, const std::string& v) { c.job.resume = v; }},
      {"--resume-allow", "job.resume_allow",
       "Flags a resumed run may change: epochs, max-steps, eval-strategy, eval-steps, early-stopping-patience, "
       "validation, precision (comma-separated)",
       "none", false, nullptr},  // bound in run_tune_sft: needs the table itself
      {"--overwrite-output", "job.overwrite_output", "Remove an earlier run's files from a non-empty --output", "off",
       true, [](SftConfig& c, const std::string&) { c.job.overwrite_output = true; }},
      {"--adapter-size", "lora.rank", "LoRA rank r, 1..256", std::to_string(d.lora.rank), false,
       [](SftConfig& c, const std::string& v) { c.lora.rank = parse_int(v, "--adapter-size"); }},
      {"--lora-alpha", "lora.alpha", "LoRA alpha, > 0", "2 x rank", false,
       [](SftConfig& c, const std::string& v) { c.lora.alpha = parse_float(v, "--lora-alpha"); }},
      {"--lora-dropout", "lora.dropout", "Dropout on the adapter input, [0, 1)", "0.05", false,
       [](SftConfig& c, const std::string& v) { c.lora.dropout = parse_float(v, "--lora-dropout"); }},
      {"--use-rslora", "lora.use_rslora", "Scale by alpha/sqrt(r) (rsLoRA)", "off", true,
       [](SftConfig& c, const std::string&) { c.lora.use_rslora = true; }},
      {"--target-modules", "lora.target_modules",
       "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj or all-linear", "all-linear", false,
       [](SftConfig& c, const std::string& v) { c.lora.target_modules = split_commas(v); }},
      {"--epochs", "hyperparameters.epochs", "Passes over the data, 1..1000", "from the dataset size (about 1000 examples seen, 1..10)",
       false, [](SftConfig& c, const std::string& v) { c.hyperparameters.epochs = parse_int(v, "--epochs"); }},
      {"--learning-rate", "hyperparameters.learning_rate", "Peak learning rate, (0, 1) (overrides the multiplier)",
       "2e-4 x multiplier", false,
       [](SftConfig& c, const std::string& v) { c.hyperparameters.learning_rate = parse_float(v, "--learning-rate"); }},
      {"--learning-rate-multiplier", "hyperparameters.learning_rate_multiplier",
       "Scales the default learning rate 2e-4, (0, 100]", "1", false,
       [](SftConfig& c, const std::string& v) {
         c.hyperparameters.learning_rate_multiplier = parse_float(v, "--learning-rate-multiplier");
       }},
      {"--batch-size", "hyperparameters.batch_size", "Examples per micro-batch, 1..4096",
       std::to_string(d.hyperparameters.batch_size), false,
       [](SftConfig& c, const std::string& v) { c.hyperparameters.batch_size = parse_int(v, "--batch-size"); }},
      {"--gradient-accumulation-steps", "hyperparameters.gradient_accumulation_steps",
       "Micro-batches per optimizer step, 1..4096", std::to_string(d.hyperparameters.gradient_accumulation_steps), false,
       [](SftConfig& c, const std::string& v) {
         c.hyperparameters.gradient_accumulation_steps = parse_int(v, "--gradient-accumulation-steps");
       }},
      {"--max-seq-length", "hyperparameters.max_seq_length", "Longer examples are truncated, 8..1048576",
       std::to_string(d.hyperparameters.max_seq_length), false,
       [](SftConfig& c, const std::string& v) { c.hyperparameters.max_seq_length = parse_int(v, "--max-seq-length"); }},
      {"--warmup-ratio", "hyperparameters.warmup_ratio", "Fraction of steps warming up, [0, 1)", "0.03", false,
       [](SftConfig& c, const std::string& v) { c.hyperparameters.warmup_ratio = parse_float(v, "--warmup-ratio"); }},
      {"--lr-scheduler", "hyperparameters.lr_scheduler", "cosine, linear or constant",
       lr_schedule_name(d.hyperparameters.lr_scheduler), false,
       [](SftConfig& c, const std::string& v) { c.hyperparameters.lr_scheduler = lr_schedule_parse(v); }},
      {"--weight-decay", "hyperparameters.weight_decay", "AdamW weight decay, [0, 1)", "0", false,
       [](SftConfig& c, const std::string& v) { c.hyperparameters.weight_decay = parse_float(v, "--weight-decay"); }},
      {"--max-grad-norm", "hyperparameters.max_grad_norm", "Global gradient-norm clip (0 = off)", "1", false,
       [](SftConfig& c, const std::string& v) { c.hyperparameters.max_grad_norm = parse_float(v, "--max-grad-norm"); }},
      {"--eval-strategy", "hyperparameters.eval_strategy", "When to evaluate on --validation: steps, epoch or no",
       "steps with --eval-steps, else epoch", false,
       [](SftConfig& c, const std::string& v) { c.hyperparameters.eval_strategy = eval_strategy_parse(v); }},
      {"--eval-steps", "hyperparameters.eval_steps", "Evaluate every N steps (eval strategy steps)", "none", false,
       [](SftConfig& c, const std::string& v) { c.hyperparameters.eval_steps = parse_int(v, "--eval-steps"); }},
      {"--save-steps", "hyperparameters.save_steps", "Checkpoint every N steps (and at epoch ends)", "epoch ends only",
       false, [](SftConfig& c, const std::string& v) { c.hyperparameters.save_steps = parse_int(v, "--save-steps"); }},
      {"--save-total-limit", "hyperparameters.save_total_limit", "Newest checkpoints kept (0 = all)",
       std::to_string(d.hyperparameters.save_total_limit), false,
       [](SftConfig& c, const std::string& v) {
         c.hyperparameters.save_total_limit = parse_int(v, "--save-total-limit");
       }},
      {"--early-stopping-patience", "hyperparameters.early_stopping_patience",
       "Stop after K evaluations without improvement (0 = off)", "0", false,
       [](SftConfig& c, const std::string& v) {
         c.hyperparameters.early_stopping_patience = parse_int(v, "--early-stopping-patience");
       }},
      {"--seed", "hyperparameters.seed", "Seed for shuffling, initialization and dropout",
       std::to_string(d.hyperparameters.seed), false,
       [](SftConfig& c, const std::string& v) {
         const int64_t x = parse_integer(v, "--seed");
         if (x < 0) throw Error("hyperparameters.seed", "must be 0 or more");
         c.hyperparameters.seed = static_cast<uint64_t>(x);
       }},
      {"--max-steps", "hyperparameters.max_steps", "Stop after N optimizer steps, >= 1", "epochs decide", false,
       [](SftConfig& c, const std::string& v) { c.hyperparameters.max_steps = parse_integer(v, "--max-steps"); }},
      {"--packing", "hyperparameters.packing", "Pack examples into micro-batches of batch-size x max-seq-length tokens",
       "off", true, [](SftConfig& c, const std::string&) { c.hyperparameters.packing = true; }},
      {"--gradient-checkpointing", "runtime.gradient_checkpointing", "Recompute activations to save memory", "off", true,
       [](SftConfig& c, const std::string&) { c.runtime.gradient_checkpointing = true; }},
      {"--threads", "runtime.threads", "CPU threads, 1..1024", "all cores", false,
       [](SftConfig& c, const std::string& v) { c.runtime.threads = parse_int(v, "--threads"); }},
      {"--precision", "runtime.precision", "exact (fp32) or bf16 matrix products", d.runtime.precision, false,
       [](SftConfig& c, const std::string& v) { c.runtime.precision = v; }},
      {"--max-memory", "runtime.max_memory", "Refuse runs estimated above this (e.g. 8G)", "the memory available",
       false, [](SftConfig& c, const std::string& v) { c.runtime.max_memory_bytes = parse_byte_size(v, "--max-memory"); }},
  };
  return flags;
}

// --- preference flags <-> PreferenceOptions (tune preference adds these) --

struct PreferenceFlag {
  const char* flag;
  const char* field;
  const char* help;
  std::string shown_default;
  std::function<void(PreferenceOptions&, const std::string&)> set;
};

const std::vector<PreferenceFlag>& preference_flags() {
  static const std::vector<PreferenceFlag> flags = {
      {"--loss", "preference.loss", "sigmoid (DPO), ipo, hinge, robust, simpo or orpo", "sigmoid",
       [](PreferenceOptions& o, const std::string& v) { o.loss.type = preference_loss_parse(v, "--loss"); }},
      {"--beta", "preference.beta", "DPO's beta (ORPO: the odds-ratio weight), > 0", "0.1",
       [](PreferenceOptions& o, const std::string& v) { o.loss.beta = parse_float(v, "--beta"); }},
      {"--label-smoothing", "preference.label_smoothing", "Label noise for sigmoid/robust/simpo (cDPO), [0, 0.5)", "0",
       [](PreferenceOptions& o, const std::string& v) { o.loss.label_smoothing = parse_float(v, "--label-smoothing"); }},
      {"--sft-weight", "preference.sft_weight", "Weight of the chosen answer's NLL added to the loss, >= 0", "0",
       [](PreferenceOptions& o, const std::string& v) { o.loss.sft_weight = parse_float(v, "--sft-weight"); }},
      {"--simpo-gamma", "preference.simpo_gamma", "SimPO's target reward margin", "0.5",
       [](PreferenceOptions& o, const std::string& v) { o.loss.simpo_gamma = parse_float(v, "--simpo-gamma"); }},
      {"--reference", "preference.reference",
       "Reference policy: base (adapter off), init (frozen --init-adapter) or an adapter directory",
       "init with --init-adapter, else base", [](PreferenceOptions& o, const std::string& v) { o.reference = v; }},
      {"--reference-cache", "preference.cache_dir", "Directory caching reference log-probs across runs",
       "<data dir>/cache/reference_logps", [](PreferenceOptions& o, const std::string& v) { o.cache_dir = v; }},
  };
  return flags;
}

// Field names in an error from the lower layers, as the flags a user typed.
std::string fields_to_flags(std::string text) {
  std::vector<const SftFlag*> by_length;
  for (const SftFlag& f : sft_flags()) by_length.push_back(&f);
  std::sort(by_length.begin(), by_length.end(),
            [](const SftFlag* a, const SftFlag* b) { return std::strlen(a->field) > std::strlen(b->field); });
  for (const SftFlag* f : by_length)
    for (size_t at = text.find(f->field); at != std::string::npos; at = text.find(f->field, at))
      text.replace(at, std::strlen(f->field), f->flag);
  for (const PreferenceFlag& f : preference_flags())
    for (size_t at = text.find(f.field); at != std::string::npos; at = text.find(f.field, at))
      text.replace(at, std::strlen(f.field), f.flag);
  return text;
}

Error error_with_flags(const Error& e) {
  return Error(e.kind(), fields_to_flags(e.where()), fields_to_flags(e.message()), fields_to_flags(e.hint()));
}

// What the command line gave, before it is bound to a config.
struct SftArgs {
  std::vector<std::vector<std::string>> values;  // per flag of sft_flags(), in the order given
  std::vector<int> switches;                     // per flag: times given
};

SftConfig bind_sft_flags(const SftArgs& a) {
  SftConfig c;
  const auto& flags = sft_flags();
  for (size_t i = 0; i < flags.size(); i++) {
    const SftFlag& f = flags[i];
    const size_t n = f.is_switch ? static_cast<size_t>(a.switches[i]) : a.values[i].size();
    if (n > 1) {
      std::string msg = "given " + std::to_string(n) + " times";
      if (!f.is_switch) {
        msg += " (";
        for (size_t k = 0; k < n; k++) msg += (k ? ", " : "") + a.values[i][k];
        msg += ")";
      }
      throw Error(f.flag, msg, "give it once");
    }
    if (n == 0) continue;
    if (std::string(f.field) == "job.resume_allow") {
      for (std::string name : split_commas(a.values[i][0])) {
        if (name.rfind("--", 0) != 0) name = "--" + name;
        const SftFlag* hit = nullptr;
        for (const SftFlag& g : flags)
          if (name == g.flag) hit = &g;
        if (!hit) throw Error(f.flag, "unknown flag \"" + name + "\"");
        c.job.resume_allow.push_back(hit->field);
      }
      continue;
    }
    f.set(c, f.is_switch ? std::string() : a.values[i][0]);
  }
  return c;
}

void print_plan(const SftConfig& cfg, const SftPlan& p, int64_t n_truncated) {
  std::fprintf(stderr, "tuning plan\n");
  std::fprintf(stderr, "  %-28s %lld (%lld truncated to %d tokens)\n", "training examples",
               static_cast<long long>(p.n_train), static_cast<long long>(n_truncated),
               cfg.hyperparameters.max_seq_length);
  std::fprintf(stderr, "  %-28s %lld\n", "validation examples", static_cast<long long>(p.n_validation));
  std::fprintf(stderr, "  %-28s %lld (%lld scored)\n", "tokens per epoch", static_cast<long long>(p.train_tokens),
               static_cast<long long>(p.scored_tokens));
  std::fprintf(stderr, "  %-28s %d x %lld steps = %lld (warmup %lld)\n", "epochs x steps", p.epochs,
               static_cast<long long>(p.steps_per_epoch), static_cast<long long>(p.total_steps),
               static_cast<long long>(p.warmup_steps));
  std::fprintf(stderr, "  %-28s %d x %d x %d process%s = %lld examples per step\n", "global batch",
               cfg.hyperparameters.batch_size, p.gradient_accumulation_steps, p.world_size,
               p.world_size == 1 ? "" : "es",
               static_cast<long long>(cfg.hyperparameters.batch_size) * p.gradient_accumulation_steps * p.world_size);
  std::fprintf(stderr, "  %-28s %g (%s)\n", "learning rate", p.learning_rate,
               lr_schedule_name(cfg.hyperparameters.lr_scheduler));
  std::fprintf(stderr, "  %-28s r=%d alpha=%g dropout=%g\n", "LoRA", cfg.lora.rank, sft_lora_config(cfg).alpha,
               cfg.lora.dropout);
  std::fprintf(stderr, "  %-28s %s (largest micro-batch %lld tokens)\n", "estimated peak memory",
               human_bytes(p.peak_memory_bytes).c_str(), static_cast<long long>(p.max_batch_tokens));
  std::fprintf(stderr, "  %-28s %s\n", "estimated time", human_seconds(p.estimated_seconds).c_str());
}

// The model's tokenizer files, or none when the directory has none (then
// only pre-tokenized data can be trained on).
std::optional<ModelText> text_if_any(const std::string& model) {
  if (dir_exists(model) && !file_exists(model + "/tokenizer.json")) return std::nullopt;
  return model_text_load(model);
}

struct TuneTarget {
  std::string data_dir, server, api_key;
  bool detach = false;
  // --evaluate: score every checkpoint on a test file, export the best.
  std::string evaluate, evaluate_metric;
  int evaluate_max_tokens = 128;
};

// The run is recorded as a job (and its tuned model) in the data
// directory's registry, exactly as a job run by `loam serve` is.
// Returns the exit status: 0, or 128 + the signal that interrupted the run.
// `preference`: a preference tuning run (tune preference); `tuned_model`:
// its --tuned-model, a registered tuned model to continue from.
int run_tune_sft(SftConfig cfg, const TuneTarget& t, std::optional<PreferenceOptions> preference = std::nullopt,
                 const std::string& tuned_model = "") {
  // Under mpirun the ranks other than 0 take rank 0's run and data and
  // train in step with it, touching neither the registry nor the output.
  if (dist_rank() > 0) {
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const SftResult r = dist_follow(&g_stop);
    return r.status == TrainStatus::Interrupted ? 128 + (g_signal.load() ? g_signal.load() : SIGTERM) : 0;
  }
  const std::string data_dir = data_dir_resolve(t.data_dir);
  auto store = store_open(data_dir);
  std::string pre_tuned;
  if (!tuned_model.empty()) {  // its adapter starts the policy; its base is the source model unless given
    const ModelRecord tm = model_resolve(*store, tuned_model, "--tuned-model");
    if (tm.kind != "tuned") throw Error("--tuned-model", tuned_model + " is not a tuned model (kind " + tm.kind + ")");
    if (!cfg.job.init_adapter.empty()) throw Error("--tuned-model", "give --tuned-model or --init-adapter, not both");
    cfg.job.init_adapter = tm.artifact_path;
    pre_tuned = tm.id;
    if (cfg.job.source_model.empty()) {
      const auto base = store->model_get(tm.base_model_id, tm.base_version_id);
      if (!base) throw Error("--tuned-model", "its base model " + tm.base_model_id + " is no longer registered");
      cfg.job.source_model = base->artifact_path;
    }
  }
  if (cfg.job.source_model.empty()) throw Error("--source-model", "is required");
  const std::string run_name = preference ? "preference-run" : "sft-run";
  if (cfg.job.output.empty())
    cfg.job.output = "tuned/" + (cfg.job.display_name.empty() ? run_name : cfg.job.display_name);
  if (preference) {
    if (preference->cache_dir.empty()) preference->cache_dir = data_dir + "/cache/reference_logps";
    preference_config_check({cfg, *preference});
  } else {
    sft_config_check(cfg);
  }
  const SftHyperparameters& h = cfg.hyperparameters;
  TuningJobRequest req;
  req.api = "cli";
  req.base_model = cfg.job.source_model;
  req.display_name = cfg.job.display_name;
  req.output_dir = std::filesystem::absolute(cfg.job.output).string();
  req.spec.train_uri = cfg.job.train;
  req.spec.validation_uri = cfg.job.validation;
  req.spec.epochs = h.epochs.value_or(0);
  req.spec.adapter_size = cfg.lora.rank;
  req.spec.learning_rate_multiplier = h.learning_rate_multiplier;
  req.spec.learning_rate = h.learning_rate.value_or(0.0f);
  req.spec.batch_size = h.batch_size;
  req.spec.gradient_accumulation_steps = h.gradient_accumulation_steps;
  req.spec.max_seq_length = h.max_seq_length;
  req.spec.lora_alpha = cfg.lora.alpha.value_or(0.0f);
  req.spec.lora_dropout = cfg.lora.dropout;
  req.spec.seed = h.seed;
  req.spec.max_steps = h.max_steps.value_or(0);
  req.spec.precision = cfg.runtime.precision;
  req.spec.extra["base_model_ref"] = cfg.job.source_model;
  req.spec.evaluate_uri = t.evaluate;
  req.spec.evaluate_metric = t.evaluate_metric;
  req.spec.evaluate_max_tokens = t.evaluate_max_tokens;
  if (!t.evaluate_metric.empty() && t.evaluate.empty()) throw Error("--evaluate-metric", "needs --evaluate TEST_FILE");
  req.spec.pre_tuned_model = pre_tuned;
  req.spec.init_adapter = cfg.job.init_adapter;
  if (preference)
    req.spec.extra["preference"] = {{"loss", preference_loss_name(preference->loss.type)},
                                    {"beta", preference->loss.beta},
                                    {"label_smoothing", preference->loss.label_smoothing},
                                    {"sft_weight", preference->loss.sft_weight},
                                    {"reference", preference_reference({cfg, *preference})}};
  PathPolicy local{bucket_root_default(), {}};
  JobRecord job;
  try {
    job = job_create(*store, local, req);
  } catch (const Error& e) {  // the job's field names as this command's flags
    std::string where = e.where();
    for (auto [field, flag] : {std::pair{"evaluate_metric", "--evaluate-metric"}, {"evaluate_max_tokens", "--evaluate-max-tokens"},
                               {"evaluate", "--evaluate"}})
      if (where == field) where = flag;
    throw Error(e.kind(), where, e.message(), e.hint());
  }
  job_apply(*store, job.id, JobEvent::Claim);
  job_apply(*store, job.id, JobEvent::Start, [](JobRecord& j) { j.start_time = time_now_rfc3339(); });
  std::fprintf(stderr, "tuning job %s\n", job.id.c_str());

  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const bool tty = isatty(fileno(stderr));
  SftJobHooks hooks;
  hooks.auto_resume = false;
  hooks.on_plan = [](const SftConfig& c, const SftPlan& p, int64_t n_truncated) { print_plan(c, p, n_truncated); };
  hooks.preference = preference;
  TrainCallbacks& cb = hooks.display;
  cb.on_log = [tty](const std::string& s) { std::fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", s.c_str()); };
  cb.on_step = [tty](const TrainProgress& p) {
    char line[320];
    int n = std::snprintf(line, sizeof line, "step %lld/%lld  epoch %d  loss %.4f  acc %.3f  lr %.2e  %.0f tok/s  ETA %s",
                          static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.epoch, p.loss,
                          p.token_accuracy, p.learning_rate, p.tokens_per_s, human_seconds(p.eta_s).c_str());
    if (p.world_size > 1 && n > 0 && n < static_cast<int>(sizeof line))  // data parallel: ranks, all-reduce time
      n += std::snprintf(line + n, sizeof line - n, "  ranks %d  comm %.0f ms", p.world_size, p.comm_s * 1e3);
    for (const auto& [name, value] : p.metrics)
      if (name == "rewards/margins" && n > 0 && n < static_cast<int>(sizeof line))
        std::snprintf(line + n, sizeof line - n, "  margin %.4f", value);
    if (tty) std::fprintf(stderr, "\r\033[K%s", line);
    else std::fprintf(stderr, "%s\n", line);
    if (p.val_loss)
      std::fprintf(stderr, "%sstep %lld  val_loss %.4f  val_acc %.3f\n", tty ? "\n" : "",
                   static_cast<long long>(p.step), *p.val_loss, *p.val_token_accuracy);
  };
  SftResult r;
  SftJobOutcome outcome;
  try {
    outcome = sft_job_run(*store, job.id, cfg, &g_stop, hooks, &r);
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    job_apply(*store, job.id, JobEvent::Fail, [&](JobRecord& j) {
      j.error_code = "FAILED_PRECONDITION";
      j.error_message = msg;
    });
    throw;
  }
  if (tty) std::fprintf(stderr, "\n");
  std::string tuned;
  if (outcome == SftJobOutcome::Interrupted) {
    job_apply(*store, job.id, JobEvent::Pause, [](JobRecord& j) { j.pause_requested = true; });
    job_apply(*store, job.id, JobEvent::Paused);
  } else {
    tuned = job_get_or_throw(*store, job.id).tuned_model_id;
  }
  std::printf("%s\n", nlohmann::json{{"status", train_status_name(r.status)}, {"steps", r.steps},
                                     {"final_loss", r.final_loss}, {"output", r.output_dir},
                                     {"checkpoint", r.last_checkpoint},
                                     {"best_val_loss", r.best_val_loss ? nlohmann::json(*r.best_val_loss) : nullptr},
                                     {"peak_rss_bytes", process_peak_rss()},
                                     {"job", job.id}, {"tuned_model", tuned}}.dump().c_str());
  if (r.status != TrainStatus::Interrupted) return 0;
  const int sig = g_signal.load() ? g_signal.load() : SIGTERM;
  std::fprintf(stderr, "interrupted by %s at step %lld (checkpoint %s): resume with the same flags and --resume %s\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM", static_cast<long long>(r.steps), r.last_checkpoint.c_str(),
               r.output_dir.c_str());
  return 128 + sig;
}

// --server carries what the REST request has fields for; any other trainer
// flag given is refused by name rather than dropped.
void server_flags_check(const SftArgs& a) {
  static const char* const sent[] = {"--source-model", "--train", "--validation", "--tuned-model-display-name",
                                     "--adapter-size", "--epochs", "--learning-rate", "--learning-rate-multiplier",
                                     "--batch-size", "--init-adapter"};  // --init-adapter: refused with its own reason
  const auto& flags = sft_flags();
  for (size_t i = 0; i < flags.size(); i++) {
    const bool given = flags[i].is_switch ? a.switches[i] > 0 : !a.values[i].empty();
    if (!given || std::any_of(std::begin(sent), std::end(sent), [&](const char* f) { return flags[i].flag == std::string(f); }))
      continue;
    throw Error(flags[i].flag, "is not sent to a server: a tuning job's request carries the data, --epochs, "
                               "--adapter-size, --learning-rate(-multiplier) and --batch-size (and the preference "
                               "and --evaluate settings)",
                "leave it out to take the server's default, or run without --server");
  }
}

// --server: the same tuning job submitted to a loam server, then followed.
// `preference`: a preference job (preferenceOptimizationSpec with Loam's
// loss settings); `tuned_model`: --tuned-model, sent as preTunedModel (its
// adapter starts the policy; NAME@checkpoint-<step> starts from a checkpoint).
// What names a path on this machine only (--init-adapter, --reference DIR,
// --reference-cache) is refused: the server reads its own files.
void submit_tune_sft(const SftConfig& cfg, const TuneTarget& t, const std::optional<PreferenceOptions>& preference = std::nullopt,
                     const std::string& tuned_model = "") {
  auto abs_uri = [](const std::string& u) {
    return u.empty() || u.find("://") != std::string::npos ? u : std::filesystem::absolute(u).string();
  };
  nlohmann::json hp = {{"adapterSize", cfg.lora.rank}, {"learningRateMultiplier", cfg.hyperparameters.learning_rate_multiplier},
                       {"batchSize", cfg.hyperparameters.batch_size}};
  if (cfg.hyperparameters.epochs) hp["epochCount"] = *cfg.hyperparameters.epochs;
  if (cfg.hyperparameters.learning_rate) hp["learningRate"] = *cfg.hyperparameters.learning_rate;
  if (!cfg.job.init_adapter.empty())
    throw Error("--init-adapter", "names a directory on this machine, which a server does not read",
                "register the adapter's model on the server and pass --tuned-model NAME, or run without --server");
  if (preference) {
    const PreferenceOptions& p = *preference;
    if (!p.reference.empty() && p.reference != "base" && p.reference != "init")
      throw Error("--reference", "an adapter directory is not sent to a server", "use base or init, or run without --server");
    if (!p.cache_dir.empty()) throw Error("--reference-cache", "is the server's to choose", "run without --server");
    hp["beta"] = p.loss.beta;
    hp["loss"] = preference_loss_name(p.loss.type);
    hp["labelSmoothing"] = p.loss.label_smoothing;
    hp["sftWeight"] = p.loss.sft_weight;
    hp["simpoGamma"] = p.loss.simpo_gamma;
    if (!p.reference.empty()) hp["reference"] = p.reference;
  }
  nlohmann::json spec = {{"trainingDatasetUri", abs_uri(cfg.job.train)}, {"hyperParameters", hp}};
  if (!cfg.job.validation.empty()) spec["validationDatasetUri"] = abs_uri(cfg.job.validation);
  if (!t.evaluate.empty()) {
    spec["evaluationConfig"] = {{"datasetUri", abs_uri(t.evaluate)}, {"maxOutputTokens", t.evaluate_max_tokens}};
    if (!t.evaluate_metric.empty()) spec["evaluationConfig"]["metric"] = t.evaluate_metric;
  } else if (!t.evaluate_metric.empty()) {
    throw Error("--evaluate-metric", "needs --evaluate TEST_FILE");
  }
  nlohmann::json body = {{preference ? "preferenceOptimizationSpec" : "supervisedTuningSpec", spec}};
  if (!cfg.job.source_model.empty()) {
    const bool is_path = std::filesystem::exists(cfg.job.source_model);
    body["baseModel"] = is_path ? abs_uri(cfg.job.source_model) : cfg.job.source_model;
  }
  if (!tuned_model.empty()) body["preTunedModel"] = {{"tunedModelName", tuned_model}};
  if (!body.contains("baseModel") && tuned_model.empty()) throw Error("--source-model", "is required");
  if (!cfg.job.display_name.empty()) body["tunedModelDisplayName"] = cfg.job.display_name;
  auto c = control_client_open({"", t.server, t.api_key, "json"});
  nlohmann::json job = c->job_create(body);
  const std::string name = job["name"];
  std::printf("%s\n", name.c_str());
  std::fflush(stdout);
  if (t.detach) return;
  int64_t seen = 0;
  for (;;) {
    for (const auto& e : c->job_events(name, seen)["events"]) {
      std::fprintf(stderr, "%s\n", e.value("message", "").c_str());
      seen = std::stoll(e.value("id", "0"));
    }
    job = c->job_get(name);
    const std::string st = job["state"];
    if (st == "JOB_STATE_SUCCEEDED" || st == "JOB_STATE_FAILED" || st == "JOB_STATE_CANCELLED") {
      std::printf("%s\n", job.dump().c_str());
      if (st != "JOB_STATE_SUCCEEDED") throw Error("job " + name, "finished in state " + st);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

struct DebugGradsOptions {
  std::string model, adapter, tokens, out;
  int prompt_len = 0;
};

void run_debug_grads(const DebugGradsOptions& o) {
  Model m = model_load(o.model);
  LoraAdapter lora = lora_load(o.adapter, m.config);
  std::vector<int32_t> ids = parse_token_list(o.tokens, "--tokens");
  const int64_t T = static_cast<int64_t>(ids.size());
  for (int32_t id : ids)
    if (id < 0 || id >= m.config.vocab) throw Error("--tokens", "token id " + std::to_string(id) + " outside the vocabulary");
  if (o.prompt_len < 1 || o.prompt_len >= T)
    throw Error("--prompt-len", "must be between 1 and the number of tokens minus 1 (" + std::to_string(T - 1) + ")");
  std::vector<int32_t> targets(T, kIgnoreIndex);
  for (int64_t i = o.prompt_len - 1; i + 1 < T; i++) targets[i] = ids[i + 1];
  TrainBatch b;
  b.append(ids, targets);
  const int64_t scored = T - o.prompt_len;
  LoraAdapter grads = lora_zeros_like(lora);
  TrainStepOptions opt;  // no dropout
  LossStats st = model_train_step(m, lora, grads, b, 1.0f / static_cast<float>(scored), opt);
  std::vector<TensorToWrite> ts;
  for (size_t l = 0; l < grads.layers.size(); l++)
    for (int t = 0; t < kLoraTargets; t++) {
      const LoraMatrix& g = grads.layers[l][t];
      if (!g.active()) continue;
      const auto tt = static_cast<LoraTarget>(t);
      const int64_t r = lora.config.rank;
      ts.push_back({lora_tensor_name(lora.names, static_cast<int>(l), tt, 'A'), DType::F32, {r, g.in}, g.a.data()});
      ts.push_back({lora_tensor_name(lora.names, static_cast<int>(l), tt, 'B'), DType::F32, {g.out, r}, g.b.data()});
    }
  safetensors_write(o.out, ts, {{"loss", std::to_string(st.loss_sum / static_cast<double>(scored))}});
  std::printf("loss %.8f\n", st.loss_sum / static_cast<double>(scored));
}


// The trainer flags of sft_flags() on a subcommand (tune sft and tune
// preference share them), given values collected into `args`.
void add_trainer_flags(CLI::App* s, SftArgs& args) {
  const auto& flags = sft_flags();
  args.values.resize(flags.size());
  args.switches.assign(flags.size(), 0);
  for (size_t i = 0; i < flags.size(); i++) {
    const SftFlag& f = flags[i];
    const std::string help = std::string(f.help) + (f.shown_default.empty() ? "" : " [default: " + f.shown_default + "]");
    if (f.is_switch) {
      s->add_flag(f.flag, args.switches[i], help);
    } else {
      s->add_option(f.flag, args.values[i], help)
          ->expected(1)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
          ->type_name("VALUE");
    }
  }
}

void add_target_flags(CLI::App* s, TuneTarget& target) {
  s->add_option("--data-dir", target.data_dir, "Registry the run is recorded in (env LOAM_DATA_DIR, default ~/.loam)");
  s->add_option("--server", target.server, "Submit to this loam server instead (env LOAM_SERVER)");
  s->add_option("--api-key", target.api_key, "API key for --server (env LOAM_API_KEY)");
  s->add_flag("--detach", target.detach, "With --server: print the job name and return at once");
  s->add_option("--evaluate", target.evaluate,
                "Score every checkpoint on this test file (as loam eval does) and export the best one");
  s->add_option("--evaluate-metric", target.evaluate_metric,
                "Metric that picks the best checkpoint (exact_match, exact_match_normalized, token_f1, rouge1, rouge2, "
                "rougeL, bleu, chrf, accuracy, macro_f1, weighted_f1, perplexity, refusal_rate) [default: rougeL, "
                "accuracy for classification]");
  s->add_option("--evaluate-max-tokens", target.evaluate_max_tokens, "New tokens per answer when evaluating")
      ->capture_default_str();
}

void exit_on_interrupt(int status) {
  if (status == 0) return;
  std::fflush(stdout);
  std::fflush(stderr);
  dist_finalize();  // every rank of an interrupted data-parallel run stops at the same step
  std::exit(status);
}

void register_tune_preference(CLI::App* tune) {
  static SftArgs args;
  static std::vector<std::string> values[16];
  static std::string tuned_model;
  static TuneTarget target;
  auto* s = tune->add_subcommand("preference", "Preference tuning (DPO and variants) on chosen/rejected pairs");
  add_trainer_flags(s, args);
  const auto& flags = preference_flags();
  for (size_t i = 0; i < flags.size(); i++) {
    const PreferenceFlag& f = flags[i];
    s->add_option(f.flag, values[i], std::string(f.help) + " [default: " + f.shown_default + "]")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
        ->type_name("VALUE");
  }
  s->add_option("--tuned-model", tuned_model,
                "A registered tuned model to continue from (its adapter; its base unless --source-model)");
  add_target_flags(s, target);
  s->callback([] {
    try {
      const SftConfig c = bind_sft_flags(args);
      PreferenceOptions p;
      const auto& flags = preference_flags();
      for (size_t i = 0; i < flags.size(); i++)
        if (!values[i].empty()) flags[i].set(p, values[i].back());
      if (c.job.train.empty()) throw Error("--train", "is required");
      if (target.server.empty())
        if (const char* e = std::getenv("LOAM_SERVER"); e && *e) target.server = e;
      if (!target.server.empty()) {
        if (dist_launched()) throw Error("--server", "submits a job; it is not run under mpirun", "run without mpirun");
        server_flags_check(args);
        submit_tune_sft(c, target, p, tuned_model);
        return;
      }
      exit_on_interrupt(run_tune_sft(c, target, p, tuned_model));
    } catch (const Error& e) {
      throw error_with_flags(e);
    }
  });
}

}  // namespace

void register_tune_commands(CLI::App& app) {
  auto* tune = app.add_subcommand("tune", "Fine-tune a model with LoRA adapters");
  tune->require_subcommand(1);
  static SftArgs args;
  auto* s = tune->add_subcommand("sft", "Supervised tuning on prompt/response examples");
  add_trainer_flags(s, args);
  static TuneTarget target;
  add_target_flags(s, target);
  register_tune_preference(tune);
  s->callback([] {
    try {
      const SftConfig c = bind_sft_flags(args);
      if (c.job.source_model.empty()) throw Error("--source-model", "is required");
      if (c.job.train.empty()) throw Error("--train", "is required");
      if (target.server.empty())
        if (const char* e = std::getenv("LOAM_SERVER"); e && *e) target.server = e;
      if (!target.server.empty()) {
        if (dist_launched()) throw Error("--server", "submits a job; it is not run under mpirun", "run without mpirun");
        server_flags_check(args);
        submit_tune_sft(c, target);
        return;
      }
      exit_on_interrupt(run_tune_sft(c, target));
    } catch (const Error& e) {
      throw error_with_flags(e);
    }
  });

  static std::string merge_model, merge_adapter, merge_out, merge_output = "text";
  auto* mg = app.add_subcommand("merge", "Merge a LoRA adapter into its base model (writes a HF checkpoint)");
  mg->add_option("--model", merge_model, "Base model directory")->required();
  mg->add_option("--adapter", merge_adapter, "PEFT adapter directory")->required();
  mg->add_option("--out", merge_out, "Output directory (not the model's or the adapter's)")->required();
  mg->add_option("--output", merge_output, "What to print: text or json")->check(CLI::IsMember({"text", "json"}));
  mg->callback([] {
    std::vector<NamedPath> inputs = model_input_files(merge_model);
    for (NamedPath p : model_input_files(merge_adapter)) inputs.push_back({"the adapter's file", p.path});
    check_outputs_distinct(inputs, {{"--out", merge_out}});
    Model m = model_load(merge_model);
    LoraAdapter a = lora_load(merge_adapter, m.config);
    int n_merged = 0;
    {
      ProgressLine progress("merge");
      n_merged = model_merge_lora(m, a, merge_out, [&](int done, int total) { progress.update("layer", done, total); });
    }
    if (merge_output == "json")
      std::printf("%s\n", nlohmann::json{{"model", merge_model}, {"adapter", merge_adapter}, {"out", merge_out},
                                         {"weights", merge_out + "/model.safetensors"},
                                         {"matrices_merged", n_merged}}.dump().c_str());
    else
      std::printf("merged %s into %s -> %s\n", merge_adapter.c_str(), merge_model.c_str(), merge_out.c_str());
  });

  auto* debug = app.add_subcommand("debug", "Diagnostics for checking ports");
  debug->require_subcommand(1);
  static DebugGradsOptions dg;
  auto* g = debug->add_subcommand("grads", "Write LoRA gradients of the mean cross-entropy as safetensors");
  g->add_option("--model", dg.model, "Model directory or .gguf")->required();
  g->add_option("--adapter", dg.adapter, "PEFT adapter directory")->required();
  g->add_option("--tokens", dg.tokens, "Comma-separated token ids")->required();
  g->add_option("--prompt-len", dg.prompt_len, "Leading tokens not scored")->required();
  g->add_option("--out", dg.out, "Output .safetensors")->required();
  g->callback([] { run_debug_grads(dg); });
}

}  // namespace loam::cli

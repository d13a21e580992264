#include "train/sft_config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace loam {
namespace {

void need(bool ok, const char* field, const std::string& msg) {
  if (!ok) throw Error(field, msg);
}

}  // namespace

const char* eval_strategy_name(EvalStrategy s) {
  switch (s) {
    case EvalStrategy::Steps: return "steps";
    case EvalStrategy::Epoch: return "epoch";
    case EvalStrategy::No: return "no";
  }
  return "?";
}

EvalStrategy eval_strategy_parse(const std::string& name) {
  for (EvalStrategy s : {EvalStrategy::Steps, EvalStrategy::Epoch, EvalStrategy::No})
    if (name == eval_strategy_name(s)) return s;
  throw Error("hyperparameters.eval_strategy", "unknown strategy \"" + name + "\"", "choose steps, epoch or no");
}

void sft_job_check(const SftJob& j) {
  need(!j.source_model.empty(), "job.source_model", "is required");
  need(!j.train.empty(), "job.train", "is required");
  for (const std::string& f : j.resume_allow)
    need(std::find(sft_resume_overridable().begin(), sft_resume_overridable().end(), f) !=
             sft_resume_overridable().end(),
         "job.resume_allow", "\"" + f + "\" may not change on resume");
}

void sft_lora_check(const SftLoraSpec& l) {
  need(l.rank >= 1 && l.rank <= 256, "lora.rank", "must be between 1 and 256");
  need(!l.alpha || (*l.alpha > 0 && std::isfinite(*l.alpha)), "lora.alpha", "must be greater than 0");
  need(l.dropout >= 0 && l.dropout < 1, "lora.dropout", "must be in [0, 1)");
  need(!l.target_modules.empty(), "lora.target_modules", "must name at least one module");
}

void sft_hyperparameters_check(const SftHyperparameters& h) {
  need(!h.epochs || (*h.epochs >= 1 && *h.epochs <= 1000), "hyperparameters.epochs", "must be between 1 and 1000");
  need(!h.learning_rate || (*h.learning_rate > 0 && *h.learning_rate < 1), "hyperparameters.learning_rate",
       "must be in (0, 1)");
  need(h.learning_rate_multiplier > 0 && h.learning_rate_multiplier <= 100, "hyperparameters.learning_rate_multiplier",
       "must be in (0, 100]");
  need(h.batch_size >= 1 && h.batch_size <= 4096, "hyperparameters.batch_size", "must be between 1 and 4096");
  need(h.gradient_accumulation_steps >= 1 && h.gradient_accumulation_steps <= 4096,
       "hyperparameters.gradient_accumulation_steps", "must be between 1 and 4096");
  need(h.max_seq_length >= 8 && h.max_seq_length <= (1 << 20), "hyperparameters.max_seq_length",
       "must be between 8 and 1048576");
  need(h.warmup_ratio >= 0 && h.warmup_ratio < 1, "hyperparameters.warmup_ratio", "must be in [0, 1)");
  need(h.weight_decay >= 0 && h.weight_decay < 1, "hyperparameters.weight_decay", "must be in [0, 1)");
  need(h.max_grad_norm >= 0 && std::isfinite(h.max_grad_norm), "hyperparameters.max_grad_norm",
       "must be 0 (no clipping) or more");
  need(h.eval_steps >= 0, "hyperparameters.eval_steps", "must be 1 or more");
  need(!(h.eval_strategy == EvalStrategy::Steps && h.eval_steps == 0), "hyperparameters.eval_steps",
       "is required (1 or more) with hyperparameters.eval_strategy steps");
  need(h.save_steps >= 0, "hyperparameters.save_steps", "must be 0 (epoch ends only) or more");
  need(h.save_total_limit >= 0, "hyperparameters.save_total_limit", "must be 0 (keep all) or more");
  need(h.early_stopping_patience >= 0, "hyperparameters.early_stopping_patience", "must be 0 (off) or more");
  need(!h.max_steps || *h.max_steps >= 1, "hyperparameters.max_steps", "must be 1 or more");
}

void sft_runtime_check(const SftRuntime& r) {
  need(!r.threads || (*r.threads >= 1 && *r.threads <= 1024), "runtime.threads", "must be between 1 and 1024");
  need(r.precision == "exact" || r.precision == "bf16", "runtime.precision", "must be exact or bf16");
  need(!r.max_memory_bytes || *r.max_memory_bytes >= 1, "runtime.max_memory", "must be 1 byte or more");
}

void sft_config_check(const SftConfig& c) {
  sft_job_check(c.job);
  sft_lora_check(c.lora);
  sft_hyperparameters_check(c.hyperparameters);
  sft_runtime_check(c.runtime);
  const SftHyperparameters& h = c.hyperparameters;
  need(h.early_stopping_patience == 0 || !c.job.validation.empty(), "hyperparameters.early_stopping_patience",
       "needs job.validation data to watch");
  need(h.early_stopping_patience == 0 || sft_eval_strategy(c) != EvalStrategy::No,
       "hyperparameters.early_stopping_patience", "needs evaluations (hyperparameters.eval_strategy is no)");
  sft_lora_config(c);  // validates the target modules
}

LoraConfig sft_lora_config(const SftConfig& c) {
  const SftLoraSpec& l = c.lora;
  LoraConfig lc;
  lc.rank = l.rank;
  lc.alpha = l.alpha ? *l.alpha : 2.0f * static_cast<float>(l.rank);
  lc.dropout = l.dropout;
  lc.use_rslora = l.use_rslora;
  lc.base_model = c.job.source_model;
  lc.targets.fill(false);
  for (const std::string& m : l.target_modules) {
    if (m == "all-linear" || m == "all") {
      lc.targets.fill(true);
      continue;
    }
    bool found = false;
    for (int t = 0; t < kLoraTargets; t++)
      if (m == lora_target_module(static_cast<LoraTarget>(t))) lc.targets[t] = found = true;
    if (!found)
      throw Error("lora.target_modules", "unknown module \"" + m + "\"",
                  "choose from q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj or all-linear");
  }
  return lc;
}

float sft_learning_rate(const SftConfig& c) {
  const SftHyperparameters& h = c.hyperparameters;
  return h.learning_rate ? *h.learning_rate : 2e-4f * h.learning_rate_multiplier;
}

int sft_epochs(const SftConfig& c, int64_t n) {
  if (c.hyperparameters.epochs) return *c.hyperparameters.epochs;
  // Aim for about 1000 examples seen, between 1 and 10 passes.
  const double e = std::round(1000.0 / static_cast<double>(std::max<int64_t>(1, n)));
  return static_cast<int>(std::clamp(e, 1.0, 10.0));
}

EvalStrategy sft_eval_strategy(const SftConfig& c) {
  const SftHyperparameters& h = c.hyperparameters;
  if (h.eval_strategy) return *h.eval_strategy;
  return h.eval_steps > 0 ? EvalStrategy::Steps : EvalStrategy::Epoch;
}

nlohmann::json sft_run_config_json(const SftConfig& c, int rank, const SftDataHashes& hashes) {
  const SftHyperparameters& h = c.hyperparameters;
  // Unset values are written as 0, as earlier runs did.
  return {{"source_model", c.job.source_model}, {"train", c.job.train}, {"validation", c.job.validation},
          {"epochs", h.epochs.value_or(0)}, {"adapter_size", rank}, {"lora_alpha", c.lora.alpha.value_or(0.0f)},
          {"lora_dropout", c.lora.dropout}, {"use_rslora", c.lora.use_rslora},
          {"target_modules", c.lora.target_modules}, {"learning_rate", h.learning_rate.value_or(0.0f)},
          {"learning_rate_multiplier", h.learning_rate_multiplier}, {"batch_size", h.batch_size},
          {"gradient_accumulation_steps", h.gradient_accumulation_steps}, {"max_seq_length", h.max_seq_length},
          {"warmup_ratio", h.warmup_ratio}, {"lr_scheduler", lr_schedule_name(h.lr_scheduler)},
          {"weight_decay", h.weight_decay}, {"max_grad_norm", h.max_grad_norm}, {"eval_steps", h.eval_steps},
          {"eval_strategy", eval_strategy_name(sft_eval_strategy(c))}, {"save_steps", h.save_steps},
          {"save_total_limit", h.save_total_limit}, {"early_stopping_patience", h.early_stopping_patience},
          {"seed", h.seed}, {"max_steps", h.max_steps.value_or(0)}, {"init_adapter", c.job.init_adapter},
          {"gradient_checkpointing", c.runtime.gradient_checkpointing}, {"packing", h.packing},
          {"precision", c.runtime.precision}, {"display_name", c.job.display_name},
          {"train_sha256", hashes.train_sha256}, {"validation_sha256", hashes.validation_sha256}};
}

namespace {

// How each saved key may differ on resume.
enum class OnResume { Free, Overridable, Refused };
struct ResumeField {
  const char* key;    // in the saved run config
  const char* field;  // the config field it comes from
  OnResume rule;
};
const ResumeField kResumeFields[] = {
    {"source_model", "job.source_model", OnResume::Free},  // the weights are compared through the adapter's shapes
    {"train", "job.train", OnResume::Free},                // the bytes are compared through train_sha256
    {"train_sha256", "job.train (sha256 of its bytes)", OnResume::Refused},
    {"validation", "job.validation", OnResume::Free},
    {"validation_sha256", "job.validation (sha256 of its bytes)", OnResume::Overridable},
    {"epochs", "hyperparameters.epochs", OnResume::Overridable},
    {"adapter_size", "lora.rank", OnResume::Refused},
    {"lora_alpha", "lora.alpha", OnResume::Refused},
    {"lora_dropout", "lora.dropout", OnResume::Refused},
    {"use_rslora", "lora.use_rslora", OnResume::Refused},
    {"target_modules", "lora.target_modules", OnResume::Refused},
    {"learning_rate", "hyperparameters.learning_rate", OnResume::Refused},
    {"learning_rate_multiplier", "hyperparameters.learning_rate_multiplier", OnResume::Refused},
    {"batch_size", "hyperparameters.batch_size", OnResume::Refused},
    {"gradient_accumulation_steps", "hyperparameters.gradient_accumulation_steps", OnResume::Refused},
    {"max_seq_length", "hyperparameters.max_seq_length", OnResume::Refused},
    {"warmup_ratio", "hyperparameters.warmup_ratio", OnResume::Refused},
    {"lr_scheduler", "hyperparameters.lr_scheduler", OnResume::Refused},
    {"weight_decay", "hyperparameters.weight_decay", OnResume::Refused},
    {"max_grad_norm", "hyperparameters.max_grad_norm", OnResume::Refused},
    {"eval_steps", "hyperparameters.eval_steps", OnResume::Overridable},
    {"eval_strategy", "hyperparameters.eval_strategy", OnResume::Overridable},
    {"save_steps", "hyperparameters.save_steps", OnResume::Free},
    {"save_total_limit", "hyperparameters.save_total_limit", OnResume::Free},
    {"early_stopping_patience", "hyperparameters.early_stopping_patience", OnResume::Overridable},
    {"seed", "hyperparameters.seed", OnResume::Refused},
    {"max_steps", "hyperparameters.max_steps", OnResume::Overridable},
    {"init_adapter", "job.init_adapter", OnResume::Free},  // the checkpoint holds the adapter
    {"gradient_checkpointing", "runtime.gradient_checkpointing", OnResume::Free},
    {"packing", "hyperparameters.packing", OnResume::Refused},
    {"precision", "runtime.precision", OnResume::Overridable},
    {"display_name", "job.display_name", OnResume::Free},
};

// Keys whose 0 in a saved config means "unset" (choose for me).
bool zero_means_unset(const std::string& key) {
  return key == "epochs" || key == "max_steps" || key == "learning_rate" || key == "lora_alpha";
}

std::string value_text(const std::string& key, const nlohmann::json& v) {
  if (v.is_null()) return "(none)";
  if (zero_means_unset(key) && v.is_number() && v.get<double>() == 0) return "unset";
  if (v.is_string()) return v.get<std::string>().empty() ? "(none)" : v.get<std::string>();
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
  }
  return v.dump();
}

}  // namespace

const std::vector<std::string>& sft_resume_overridable() {
  static const std::vector<std::string> fields = [] {
    std::vector<std::string> f;
    for (const ResumeField& r : kResumeFields)
      if (r.rule == OnResume::Overridable && std::string(r.key).find("sha256") == std::string::npos)
        f.push_back(r.field);
    return f;
  }();
  return fields;
}

void sft_resume_check(const nlohmann::json& saved, const nlohmann::json& now, const std::vector<std::string>& allow) {
  std::vector<std::string> refused;
  for (const ResumeField& r : kResumeFields) {
    if (r.rule == OnResume::Free) continue;
    // A checkpoint of an older Loam may lack a key: nothing to compare.
    if (!saved.contains(r.key) || !now.contains(r.key)) continue;
    const nlohmann::json& a = saved[r.key];
    const nlohmann::json& b = now[r.key];
    const bool same = a.is_number() && b.is_number() ? a.get<double>() == b.get<double>() : a == b;
    if (same) continue;
    // The validation data's hash goes with the validation field.
    std::string field = r.field;
    const std::string allow_as = std::string(r.key) == "validation_sha256" ? "job.validation" : field;
    if (r.rule == OnResume::Overridable && std::find(allow.begin(), allow.end(), allow_as) != allow.end()) continue;
    std::string line = field + ": " + value_text(r.key, a) + " in the checkpoint, " + value_text(r.key, b) + " now";
    if (r.rule == OnResume::Overridable) line += " (allow with job.resume_allow " + allow_as + ")";
    refused.push_back(line);
  }
  if (refused.empty()) return;
  std::string msg = "the run's configuration differs from the checkpoint's:";
  for (const std::string& s : refused) msg += "\n  " + s;
  throw Error(ErrorKind::FailedPrecondition, "job.resume", msg,
              "resume with the settings the run started with, or start a new run in another output directory");
}

int64_t parse_byte_size(const std::string& text, const std::string& field) {
  const std::string bad = "expected a size such as 512M or 8G, got \"" + text + "\"";
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw Error(field, bad);
  }
  // The unit, in either case: "", "B", or K/M/G/T optionally followed by "B" or "iB".
  std::string unit;
  for (char ch : text.substr(used)) unit += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (const std::string suffix : {"IB", "B"})
    if (unit.size() > suffix.size() && unit.ends_with(suffix)) unit.resize(unit.size() - suffix.size());
  const std::string prefixes = "KMGT";
  double scale = 1;
  if (unit.size() == 1 && prefixes.find(unit[0]) != std::string::npos)
    scale = std::pow(1024.0, static_cast<double>(prefixes.find(unit[0]) + 1));
  else if (!unit.empty() && unit != "B")
    throw Error(field, bad);
  const double bytes = v * scale;
  if (!(bytes >= 1) || bytes > 9e18) throw Error(field, bad);
  return static_cast<int64_t>(bytes);
}

}  // namespace loam

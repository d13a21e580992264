#include "train/sft_config.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"

namespace loam {

void sft_config_check(const SftConfig& c) {
  auto need = [](bool ok, const char* flag, const std::string& msg) {
    if (!ok) throw Error(flag, msg);
  };
  need(!c.source_model.empty(), "--source-model", "is required");
  need(!c.train_path.empty(), "--train", "is required");
  need(c.epochs >= 0 && c.epochs <= 1000, "--epochs", "must be between 1 and 1000");
  need(c.adapter_size >= 1 && c.adapter_size <= 256, "--adapter-size", "must be between 1 and 256");
  need(c.lora_alpha >= 0, "--lora-alpha", "must be positive");
  need(c.lora_dropout >= 0 && c.lora_dropout < 1, "--lora-dropout", "must be in [0, 1)");
  need(c.learning_rate >= 0 && c.learning_rate < 1, "--learning-rate", "must be in (0, 1)");
  need(c.learning_rate_multiplier > 0 && c.learning_rate_multiplier <= 100, "--learning-rate-multiplier",
       "must be in (0, 100]");
  need(c.batch_size >= 1 && c.batch_size <= 4096, "--batch-size", "must be between 1 and 4096");
  need(c.gradient_accumulation_steps >= 1 && c.gradient_accumulation_steps <= 4096, "--gradient-accumulation-steps",
       "must be between 1 and 4096");
  need(c.max_seq_length >= 8 && c.max_seq_length <= (1 << 20), "--max-seq-length", "must be between 8 and 1048576");
  need(c.warmup_ratio >= 0 && c.warmup_ratio < 1, "--warmup-ratio", "must be in [0, 1)");
  need(c.weight_decay >= 0 && c.weight_decay < 1, "--weight-decay", "must be in [0, 1)");
  need(c.max_grad_norm >= 0, "--max-grad-norm", "must not be negative");
  need(c.eval_steps >= 0, "--eval-steps", "must not be negative");
  need(c.save_steps >= 0, "--save-steps", "must not be negative");
  need(c.save_total_limit >= 0, "--save-total-limit", "must not be negative");
  need(c.early_stopping_patience >= 0, "--early-stopping-patience", "must not be negative");
  need(c.max_steps >= 0, "--max-steps", "must not be negative");
  need(c.precision == "exact" || c.precision == "bf16", "--precision", "must be exact or bf16");
  need(c.early_stopping_patience == 0 || !c.validation_path.empty(), "--early-stopping-patience",
       "needs --validation data to watch");
  sft_lora_config(c);  // validates --target-modules
}

LoraConfig sft_lora_config(const SftConfig& c) {
  LoraConfig lc;
  lc.rank = c.adapter_size;
  lc.alpha = c.lora_alpha > 0 ? c.lora_alpha : 2.0f * static_cast<float>(c.adapter_size);
  lc.dropout = c.lora_dropout;
  lc.use_rslora = c.use_rslora;
  lc.base_model = c.source_model;
  lc.targets.fill(false);
  for (const std::string& m : c.target_modules) {
    if (m == "all-linear" || m == "all") {
      lc.targets.fill(true);
      continue;
    }
    bool found = false;
    for (int t = 0; t < kLoraTargets; t++)
      if (m == lora_target_module(static_cast<LoraTarget>(t))) lc.targets[t] = found = true;
    if (!found)
      throw Error("--target-modules", "unknown module \"" + m + "\"",
                  "choose from q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj or all-linear");
  }
  return lc;
}

float sft_learning_rate(const SftConfig& c) {
  return c.learning_rate > 0 ? c.learning_rate : 2e-4f * c.learning_rate_multiplier;
}

int sft_epochs(const SftConfig& c, int64_t n) {
  if (c.epochs > 0) return c.epochs;
  // Aim for about 1000 examples seen, between 1 and 10 passes.
  const double e = std::round(1000.0 / static_cast<double>(std::max<int64_t>(1, n)));
  return static_cast<int>(std::clamp(e, 1.0, 10.0));
}

int64_t parse_byte_size(const std::string& text, const std::string& flag) {
  const std::string bad = "expected a size such as 512M or 8G, got \"" + text + "\"";
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw Error(flag, bad);
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
    throw Error(flag, bad);
  const double bytes = v * scale;
  if (!(bytes >= 1) || bytes > 9e18) throw Error(flag, bad);
  return static_cast<int64_t>(bytes);
}

}  // namespace loam

#include "jobs/tuning_spec.h"

#include "eval/checkpoint_eval.h"

#include "registry/errors.h"

namespace loam {

using nlohmann::json;

json tuning_spec_to_json(const TuningSpec& s) {
  return {{"train_uri", s.train_uri}, {"validation_uri", s.validation_uri}, {"train_path", s.train_path},
          {"validation_path", s.validation_path}, {"train_dataset_id", s.train_dataset_id},
          {"validation_dataset_id", s.validation_dataset_id}, {"train_sha256", s.train_sha256},
          {"validation_sha256", s.validation_sha256}, {"epochs", s.epochs}, {"adapter_size", s.adapter_size},
          {"learning_rate_multiplier", s.learning_rate_multiplier}, {"learning_rate", s.learning_rate},
          {"batch_size", s.batch_size}, {"gradient_accumulation_steps", s.gradient_accumulation_steps},
          {"max_seq_length", s.max_seq_length}, {"lora_alpha", s.lora_alpha}, {"lora_dropout", s.lora_dropout},
          {"seed", s.seed}, {"max_steps", s.max_steps}, {"save_steps", s.save_steps}, {"eval_steps", s.eval_steps},
          {"export_last_checkpoint_only", s.export_last_checkpoint_only}, {"output_uri", s.output_uri},
          {"output_path", s.output_path}, {"init_adapter", s.init_adapter}, {"pre_tuned_model", s.pre_tuned_model},
          {"threads", s.threads}, {"worker_count", s.worker_count}, {"precision", s.precision}, {"extra", s.extra},
          {"evaluate_uri", s.evaluate_uri}, {"evaluate_path", s.evaluate_path}, {"evaluate_metric", s.evaluate_metric},
          {"evaluate_max_tokens", s.evaluate_max_tokens}};
}

TuningSpec tuning_spec_from_json(const json& j) {
  TuningSpec s;
  auto get = [&](const char* k, auto& v) {
    if (j.contains(k)) j.at(k).get_to(v);
  };
  get("train_uri", s.train_uri);
  get("evaluate_uri", s.evaluate_uri);
  get("evaluate_path", s.evaluate_path);
  get("evaluate_metric", s.evaluate_metric);
  get("evaluate_max_tokens", s.evaluate_max_tokens);
  get("validation_uri", s.validation_uri);
  get("train_path", s.train_path);
  get("validation_path", s.validation_path);
  get("train_dataset_id", s.train_dataset_id);
  get("validation_dataset_id", s.validation_dataset_id);
  get("train_sha256", s.train_sha256);
  get("validation_sha256", s.validation_sha256);
  get("epochs", s.epochs);
  get("adapter_size", s.adapter_size);
  get("learning_rate_multiplier", s.learning_rate_multiplier);
  get("learning_rate", s.learning_rate);
  get("batch_size", s.batch_size);
  get("gradient_accumulation_steps", s.gradient_accumulation_steps);
  get("max_seq_length", s.max_seq_length);
  get("lora_alpha", s.lora_alpha);
  get("lora_dropout", s.lora_dropout);
  get("seed", s.seed);
  get("max_steps", s.max_steps);
  get("save_steps", s.save_steps);
  get("eval_steps", s.eval_steps);
  get("export_last_checkpoint_only", s.export_last_checkpoint_only);
  get("output_uri", s.output_uri);
  get("output_path", s.output_path);
  get("init_adapter", s.init_adapter);
  get("pre_tuned_model", s.pre_tuned_model);
  get("threads", s.threads);
  get("worker_count", s.worker_count);
  get("precision", s.precision);
  if (j.contains("extra")) s.extra = j.at("extra");
  return s;
}

void tuning_spec_check(const TuningSpec& s) {
  auto range = [](bool ok, const char* field, const std::string& what) {
    if (!ok) throw error_invalid(field, what);
  };
  if (!s.evaluate_metric.empty()) {
    try {
      eval_metric_check(s.evaluate_metric, "evaluate_metric");
    } catch (const Error& e) {
      throw error_invalid("evaluate_metric", e.message() + " (" + e.hint() + ")");
    }
  }
  range(s.evaluate_max_tokens >= 1 && s.evaluate_max_tokens <= 65536, "evaluate_max_tokens", "must be between 1 and 65536");
  range(s.epochs >= 0 && s.epochs <= 1000, "hyperParameters.epochCount", "must be between 1 and 1000");
  range(s.adapter_size >= 1 && s.adapter_size <= 256, "hyperParameters.adapterSize", "must be between 1 and 256");
  range(s.learning_rate_multiplier > 0 && s.learning_rate_multiplier <= 100, "hyperParameters.learningRateMultiplier",
        "must be above 0 and at most 100");
  range(s.learning_rate >= 0 && s.learning_rate < 1, "hyperParameters.learningRate", "must be in [0, 1)");
  range(s.batch_size >= 1 && s.batch_size <= 4096, "hyperParameters.batchSize", "must be between 1 and 4096");
  range(s.worker_count >= 1 && s.worker_count <= 1024, "workerCount", "must be between 1 and 1024");
  range(s.gradient_accumulation_steps >= 1 && s.gradient_accumulation_steps <= 4096, "gradient_accumulation_steps",
        "must be between 1 and 4096");
  range(s.max_seq_length >= 8 && s.max_seq_length <= 1 << 20, "max_seq_length", "must be between 8 and 1048576");
  range(s.lora_dropout >= 0 && s.lora_dropout < 1, "lora_dropout", "must be in [0, 1)");
  range(s.lora_alpha >= 0, "lora_alpha", "must not be negative");
  range(s.max_steps >= 0, "max_steps", "must not be negative");
  range(s.precision == "exact" || s.precision == "bf16", "precision", "must be exact or bf16");
}

}  // namespace loam

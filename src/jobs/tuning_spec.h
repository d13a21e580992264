// What a supervised tuning job was asked to do, normalized from any of the
// API shapes (managed service, OpenAI, pipeline parameters, CLI flags) and
// stored as the job's spec JSON. Paths here are already resolved and
// confined; the URIs are kept as the user wrote them.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace loam {

struct TuningSpec {
  std::string train_uri, validation_uri;    // as given
  std::string train_path, validation_path;  // resolved local files
  std::string train_dataset_id, validation_dataset_id;  // registered datasets (lineage)
  std::string train_sha256, validation_sha256;
  int epochs = 0;                      // 0 = chosen from the dataset size
  int adapter_size = 8;                // LoRA rank
  float learning_rate_multiplier = 1.0f;
  float learning_rate = 0.0f;          // 0 = 2e-4 x multiplier
  int batch_size = 4;
  int gradient_accumulation_steps = 1;
  int max_seq_length = 1024;
  float lora_alpha = 0.0f;             // 0 = 2 x rank
  float lora_dropout = 0.05f;
  uint64_t seed = 42;
  int64_t max_steps = 0;
  int save_steps = 0, eval_steps = 0;
  bool export_last_checkpoint_only = false;
  std::string output_uri, output_path;  // optional: the final adapter is also copied here
  std::string init_adapter;            // continued tuning: the tuned model's adapter directory
  std::string pre_tuned_model;         // its id (lineage)
  int threads = 0;
  // Processes the job runs on (data-parallel, under mpirun with the
  // server's --mpi-hostfile): workerCount, or the pipeline's accelerator_count.
  int worker_count = 1;
  std::string precision = "exact";
  // Checkpoint evaluation (`tune sft --evaluate`): every checkpoint is scored
  // on this test file and the best by evaluate_metric is exported.
  std::string evaluate_uri, evaluate_path;  // "" = none
  std::string evaluate_metric;              // eval/checkpoint_eval.h names; "" = by task
  int evaluate_max_tokens = 128;
  nlohmann::json extra = nlohmann::json::object();  // accepted and recorded (accelerator fields, suffix, ...)
};

nlohmann::json tuning_spec_to_json(const TuningSpec& s);
TuningSpec tuning_spec_from_json(const nlohmann::json& j);

// Range checks with the managed service's field names; throws
// InvalidArgument naming the field.
void tuning_spec_check(const TuningSpec& s);

}  // namespace loam

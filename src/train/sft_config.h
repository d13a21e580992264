// SftConfig: every knob of a supervised LoRA tuning run, bound to the
// command-line flags of `loam tune sft` in cli/tune_commands.cpp and
// validated in sft_config_check. Defaults follow what users of managed tuning
// services and PEFT/TRL expect; 0 means "choose for me" where noted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/lora.h"
#include "train/schedule.h"

namespace loam {

struct SftConfig {
  std::string source_model;          // --source-model: model directory or .gguf
  std::string train_path;            // --train: dataset URI
  std::string validation_path;       // --validation: optional dataset URI
  std::string output_dir;            // --output: where the adapter and logs go
  std::string display_name;          // --tuned-model-display-name
  int epochs = 0;                    // --epochs; 0 = chosen from the dataset size
  int adapter_size = 8;              // --adapter-size: LoRA rank r (1..256)
  float lora_alpha = 0.0f;           // --lora-alpha; 0 = 2 * r
  float lora_dropout = 0.05f;        // --lora-dropout
  bool use_rslora = false;           // --use-rslora: scale alpha/sqrt(r)
  std::vector<std::string> target_modules = {"all-linear"};  // --target-modules
  float learning_rate = 0.0f;        // --learning-rate; 0 = 2e-4 * multiplier
  float learning_rate_multiplier = 1.0f;  // --learning-rate-multiplier
  int batch_size = 4;                // --batch-size: examples per micro-batch
  int gradient_accumulation_steps = 1;    // --gradient-accumulation-steps
  int max_seq_length = 1024;         // --max-seq-length: longer examples are truncated
  float warmup_ratio = 0.03f;        // --warmup-ratio of total optimizer steps
  LrSchedule lr_scheduler = LrSchedule::Cosine;  // --lr-scheduler
  float weight_decay = 0.0f;         // --weight-decay (AdamW, decoupled)
  float max_grad_norm = 1.0f;        // --max-grad-norm; 0 = no clipping
  int eval_steps = 0;                // --eval-steps; 0 = at epoch ends only
  int save_steps = 0;                // --save-steps; 0 = at epoch ends only
  int save_total_limit = 2;          // --save-total-limit: newest checkpoints kept (0 = all)
  int early_stopping_patience = 0;   // --early-stopping-patience (evaluations); 0 = off
  uint64_t seed = 42;                // --seed: shuffling, LoRA init, dropout
  int64_t max_steps = 0;             // --max-steps; 0 = epochs decide
  std::string init_adapter;          // --init-adapter: continue from a PEFT adapter
  std::string resume;                // --resume: a checkpoint directory of an interrupted run
  bool gradient_checkpointing = false;  // --gradient-checkpointing
  bool packing = false;              // --packing: fill micro-batches up to batch_size * max_seq_length tokens
  int threads = 0;                   // --threads; 0 = all cores
  std::string precision = "exact";   // --precision exact|bf16 (matrix products)
  int64_t max_memory_bytes = 0;      // --max-memory: refuse plans above it; 0 = what the system has available
};

// "512M", "8G", "1.5GiB", "1073741824": bytes (K/M/G/T are powers of 1024).
// Throws Error naming `flag` on anything else.
int64_t parse_byte_size(const std::string& text, const std::string& flag);

// Throws Error naming the flag for out-of-range values.
void sft_config_check(const SftConfig& c);

// The LoRA configuration a run uses (rank, alpha, dropout, targets).
LoraConfig sft_lora_config(const SftConfig& c);

// Effective learning rate and epochs.
float sft_learning_rate(const SftConfig& c);
int sft_epochs(const SftConfig& c, int64_t n_examples);

}  // namespace loam

// SftConfig: a supervised LoRA tuning run, in four parts that each validate
// in one function and name their fields in errors ("hyperparameters.epochs",
// never a command-line flag; cli/tune_commands.cpp binds flags to these
// fields in one table and maps field names back to flags in its messages):
//   job              what to tune, on what data, where the result goes
//   lora             the adapter's shape (resolves to model/lora.h LoraConfig)
//   hyperparameters  everything that changes the trained weights
//   runtime          how the run uses the machine (never changes the result,
//                    except precision)
// std::optional marks "unset, choose for me"; a set value is always checked
// against its documented range (0 is not a synonym for unset).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/lora.h"
#include "train/schedule.h"

namespace loam {

struct SftJob {
  std::string source_model;     // job.source_model: model directory or .gguf
  std::string train;            // job.train: dataset URI
  std::string validation;       // job.validation: optional dataset URI
  std::string output;           // job.output: where the adapter and logs go
  std::string display_name;     // job.display_name
  std::string init_adapter;     // job.init_adapter: continue from a PEFT adapter
  std::string resume;           // job.resume: a checkpoint directory, or the output directory of a run
  bool overwrite_output = false;         // job.overwrite_output: clear a non-empty output of another run
  std::vector<std::string> resume_allow;  // job.resume_allow: fields a resumed run may change (sft_resume_overridable)
};

struct SftLoraSpec {
  int rank = 8;                  // lora.rank (1..256)
  std::optional<float> alpha;    // lora.alpha (> 0); unset = 2 * rank
  float dropout = 0.05f;         // lora.dropout [0, 1)
  bool use_rslora = false;       // lora.use_rslora: scale alpha/sqrt(r)
  std::vector<std::string> target_modules = {"all-linear"};  // lora.target_modules
};

enum class EvalStrategy { Steps, Epoch, No };
const char* eval_strategy_name(EvalStrategy s);
EvalStrategy eval_strategy_parse(const std::string& name);  // throws Error naming hyperparameters.eval_strategy

struct SftHyperparameters {
  std::optional<int> epochs;              // hyperparameters.epochs (1..1000); unset = from the dataset size
  std::optional<float> learning_rate;     // hyperparameters.learning_rate (0, 1); unset = 2e-4 * multiplier
  float learning_rate_multiplier = 1.0f;  // hyperparameters.learning_rate_multiplier (0, 100]
  int batch_size = 4;                     // hyperparameters.batch_size: examples per micro-batch
  int gradient_accumulation_steps = 1;    // hyperparameters.gradient_accumulation_steps
  int max_seq_length = 1024;              // hyperparameters.max_seq_length: longer examples are truncated
  float warmup_ratio = 0.03f;             // hyperparameters.warmup_ratio of total optimizer steps
  LrSchedule lr_scheduler = LrSchedule::Cosine;  // hyperparameters.lr_scheduler
  float weight_decay = 0.0f;              // hyperparameters.weight_decay (AdamW, decoupled)
  float max_grad_norm = 1.0f;             // hyperparameters.max_grad_norm; 0 = no clipping
  // hyperparameters.eval_strategy: unset = steps when eval_steps is set, else epoch.
  std::optional<EvalStrategy> eval_strategy;
  int eval_steps = 0;                     // hyperparameters.eval_steps (strategy steps)
  int save_steps = 0;                     // hyperparameters.save_steps; 0 = at epoch ends only
  int save_total_limit = 2;               // hyperparameters.save_total_limit: newest checkpoints kept (0 = all)
  int early_stopping_patience = 0;        // hyperparameters.early_stopping_patience (evaluations); 0 = off
  uint64_t seed = 42;                     // hyperparameters.seed: shuffling, LoRA init, dropout
  std::optional<int64_t> max_steps;       // hyperparameters.max_steps (>= 1); unset = epochs decide
  bool packing = false;                   // hyperparameters.packing: fill micro-batches up to batch_size * max_seq_length tokens
};

struct SftRuntime {
  std::optional<int> threads;             // runtime.threads (1..1024); unset = all cores
  std::string precision = "exact";        // runtime.precision exact|bf16 (matrix products)
  std::optional<int64_t> max_memory_bytes;  // runtime.max_memory: refuse plans above it; unset = what the system has
  bool gradient_checkpointing = false;    // runtime.gradient_checkpointing
};

struct SftConfig {
  SftJob job;
  SftLoraSpec lora;
  SftHyperparameters hyperparameters;
  SftRuntime runtime;
};

// "512M", "8G", "1.5GiB", "1073741824": bytes (K/M/G/T are powers of 1024).
// Throws Error naming `field` on anything else.
int64_t parse_byte_size(const std::string& text, const std::string& field);

// Each throws Error naming the field ("hyperparameters.epochs") and its range.
void sft_job_check(const SftJob& j);
void sft_lora_check(const SftLoraSpec& l);
void sft_hyperparameters_check(const SftHyperparameters& h);
void sft_runtime_check(const SftRuntime& r);
// All four, plus the checks across parts (early stopping needs validation data).
void sft_config_check(const SftConfig& c);

// The LoRA configuration a run uses (rank, alpha, dropout, targets).
LoraConfig sft_lora_config(const SftConfig& c);

// Effective learning rate, epochs and evaluation strategy.
float sft_learning_rate(const SftConfig& c);
int sft_epochs(const SftConfig& c, int64_t n_examples);
EvalStrategy sft_eval_strategy(const SftConfig& c);

// The run configuration saved with every checkpoint and in summary.json
// (flat keys, as earlier runs wrote them). `rank` is the adapter's real
// rank (an --init-adapter or a resumed checkpoint decides it).
struct SftDataHashes {
  std::string train_sha256, validation_sha256;  // of the files' bytes; "" when there is none
};
nlohmann::json sft_run_config_json(const SftConfig& c, int rank, const SftDataHashes& hashes);

// A resumed run against the configuration its checkpoint saved: every
// difference that changes the result is refused, each named with both values
// ("hyperparameters.learning_rate: 0.0002 in the checkpoint, 0.001 now"),
// unless the field is overridable and listed in job.resume_allow. Fields that
// never change the trained weights (output, display name, threads, memory
// limit, gradient checkpointing, save schedule) may always differ. Throws
// Error (FailedPrecondition) listing them all.
void sft_resume_check(const nlohmann::json& saved, const nlohmann::json& now, const std::vector<std::string>& allow);
// The fields job.resume_allow may name: epochs, max_steps, eval_strategy,
// eval_steps, early_stopping_patience, validation data, precision.
const std::vector<std::string>& sft_resume_overridable();

}  // namespace loam

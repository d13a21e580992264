// Supervised fine-tuning with LoRA: the training loop, written out top to
// bottom (batch, forward, loss, backward, accumulate, clip, step, schedule,
// log, evaluate, checkpoint).
//
// The loop never prints, exits or writes files: it reports through callbacks
// (steps, evaluations, checkpoints due, a new best adapter, the end) and
// returns a result; the run-directory writer (train/run_dir.h) persists
// them, and the CLI or the job runner adds its own sinks. Interruption: when
// *stop becomes true the loop finishes the current optimizer step, reports a
// checkpoint ("interrupted") and returns Interrupted.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/model.h"
#include "train/sft_config.h"

namespace loam {

// One tokenized training sequence; labels follow the Hugging Face
// convention (unshifted, -100 = not scored): labels[i] is the token at i
// when it is trained on.
struct SftSequence {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> labels;
};

struct SftData {
  std::vector<SftSequence> train, validation;
  int64_t n_truncated = 0;   // examples cut to --max-seq-length
};

// What serving needs to reproduce training's formatting.
struct SftFormat {
  std::string chat_template;          // the template used to render examples
  std::vector<int32_t> eos_ids;       // ids that end a turn
  std::string bos_token, eos_token;
};

// Named figures an objective reports beside its loss (preference tuning:
// "rewards/chosen", "rewards/margins", ...), in a fixed order.
using TrainMetrics = std::vector<std::pair<std::string, double>>;

struct TrainProgress {
  int64_t step = 0, total_steps = 0;
  int epoch = 0;                 // 1-based for display
  double epoch_progress = 0;     // fractional epochs completed
  double loss = 0, token_accuracy = 0, learning_rate = 0, grad_norm = 0;
  int64_t tokens = 0;            // tokens in this optimizer step
  double tokens_per_s = 0, elapsed_s = 0, eta_s = 0;  // elapsed/ETA: this process only
  int world_size = 1;            // processes sharing each step (mpirun -np N)
  double comm_s = 0;             // this step's seconds in the all-reduce (waiting for slower ranks included)
  std::optional<double> val_loss, val_token_accuracy;
  TrainMetrics metrics, val_metrics;  // the objective's own figures (val_: with val_loss)
};

struct TrainState;
struct AdamWState;
struct SftResult;
struct SftPlan;

// A validation pass (before the step's on_step, whose progress carries it too).
struct TrainEvaluation {
  int64_t step = 0;
  double loss = 0, token_accuracy = 0;
  bool best = false;          // the best so far (on_best follows)
  int64_t best_step = -1;     // the best so far, including this one
  double best_loss = 0;
};

// A checkpoint is due: a sink that persists writes adapter, optimizer and
// state (the run-directory writer writes OUT/checkpoints/step-N).
struct TrainCheckpoint {
  int64_t step = 0;
  std::string reason;         // "save steps", "epoch end", "early stop", "interrupted"
  const LoraAdapter* adapter = nullptr;
  const AdamWState* optimizer = nullptr;
  const TrainState* state = nullptr;
};

// The run ended normally (completed or early-stopped); an interrupted run
// ends with its checkpoint event instead, a failed one with an exception.
struct TrainFinished {
  const SftResult* result = nullptr;
  const SftPlan* plan = nullptr;
  const LoraAdapter* adapter = nullptr;  // the final adapter
  double seconds = 0;                    // this process's training time
};

// Every member is optional. sft_train calls its own run-directory writer
// first, then these; a job runner adds its sinks here.
struct TrainCallbacks {
  std::function<void(const TrainProgress&)> on_step;  // after every optimizer step
  std::function<void(const std::string&)> on_log;     // notable events (eval, checkpoint, early stop)
  std::function<void(const TrainEvaluation&)> on_evaluation;
  std::function<void(const TrainCheckpoint&)> on_checkpoint;
  std::function<void(int64_t step, double val_loss, const LoraAdapter&)> on_best;  // a new best adapter
  std::function<void(const TrainFinished&)> on_finished;
  const std::atomic<bool>* stop = nullptr;            // set to request a checkpoint and a clean stop
};

enum class TrainStatus { Completed, EarlyStopped, Interrupted };
const char* train_status_name(TrainStatus s);

struct SftPlan {
  int64_t n_train = 0, n_validation = 0, train_tokens = 0, scored_tokens = 0;
  int epochs = 0;
  int64_t steps_per_epoch = 0, total_steps = 0, warmup_steps = 0;
  int64_t max_batch_tokens = 0;
  int64_t micro_batches_per_epoch = 0;
  int world_size = 1;              // processes sharing each step (train/dist.h)
  // micro-batches each process runs per optimizer step: the global batch is
  // batch_size x gradient_accumulation_steps x world_size examples
  int gradient_accumulation_steps = 1;
  float learning_rate = 0;
  int64_t peak_memory_bytes = 0;   // estimate
  double estimated_seconds = 0;    // estimate
};

SftPlan sft_plan(const Model& m, const SftData& data, const SftConfig& cfg);
// The same from what batching sees: each training example's tokens, the
// scored tokens of an epoch and the validation examples (preference tuning
// plans its pairs with it).
SftPlan train_plan(const Model& m, const std::vector<int64_t>& example_tokens, int64_t scored_tokens,
                   int64_t n_validation, const SftConfig& cfg);

// The peak-memory estimate sft_plan reports, from a config alone: weights of
// `weight_bytes` (model_weight_bytes), saved activations of a micro-batch of
// max_batch_tokens tokens, the chunked LM head, LoRA parameters, gradients
// and Adam moments, and a fixed 200 MiB. The catalog and job fit checks use
// it before a checkpoint is loaded.
int64_t sft_peak_memory_bytes(const ModelConfig& c, int64_t weight_bytes, int64_t max_batch_tokens,
                              const SftConfig& cfg);

// Refuses a plan whose estimated peak memory is above limit_bytes (what the
// system has available, or --max-memory): throws Error with the amounts and
// what to change. A limit <= 0 (unknown) accepts every plan.
void sft_check_memory(const SftPlan& plan, const SftConfig& cfg, int64_t limit_bytes);

struct SftResult {
  TrainStatus status = TrainStatus::Completed;
  int64_t steps = 0;
  double final_loss = 0;
  std::optional<double> best_val_loss;
  int64_t best_step = -1;
  std::string output_dir;
  std::string last_checkpoint;
};

// Runs (or resumes, when cfg.job.resume is set) a tuning run and writes the
// output directory through the run-directory writer (train/run_dir.h), then
// reports to `cb`. Every input (config, data, --init-adapter, the checkpoint
// and its saved configuration, the output directory) is validated before
// anything is created. Throws Error on bad input, and on a non-finite loss or
// gradient (naming the step; the last checkpoint written stays the last good
// one).
SftResult sft_train(const Model& m, const SftData& data, const SftConfig& cfg, const SftFormat& format,
                    const TrainCallbacks& cb);

// What the loop trains: SFT's mean cross-entropy, or a preference objective
// (train/preference_trainer.h). The loop owns batching, accumulation,
// clipping, the schedule, AdamW, evaluation, early stopping, checkpoints and
// events; an objective owns its forward and backward.
//
// Data parallelism (train/dist.h): each process runs its share of a step's
// micro-batches and the loop sums gradients and stats over the processes,
// so a step's figures are shares: each is this process's part of the
// step's figure (a mean over the step's examples or tokens divided by the
// step's count, not by the share's), and their sum over the processes is
// the figure.
struct ObjectiveStats {
  double loss = 0;       // the step's (or validation pass's) loss
  double accuracy = 0;   // token accuracy (SFT), reward accuracy (preference)
  int64_t tokens = 0;    // tokens run through the model
  bool finite = true;    // false: the loss is NaN/Inf
  TrainMetrics metrics;  // the objective's own figures
};
struct TrainObjective {
  std::vector<int64_t> train_tokens;  // (examples) tokens of each training example: batching and packing
  // One optimizer step over its micro-batches (indices into the training
  // data), of which this process runs [begin, end): accumulates that share
  // of ∂(step loss)/∂θ into grads (zeroed by the loop) and returns its share
  // of the stats (above). Micro-batch i's dropout stream is
  // train_seed_mix(step_seed, i), i counted over the whole step.
  std::function<ObjectiveStats(const std::vector<std::vector<int64_t>>& micro_batches, size_t begin, size_t end,
                               const LoraAdapter& lora, LoraAdapter& grads, uint64_t step_seed)>
      step;
  // The validation pass; null when there is no validation data.
  std::function<ObjectiveStats(const LoraAdapter& lora)> evaluate;
};

// The loop's seeds: a stateless mix of two words (shuffles, dropout).
uint64_t train_seed_mix(uint64_t a, uint64_t b);

// The loop over any objective (see sft_train_loop), with its plan.
SftResult train_loop(const Model& m, const TrainObjective& objective, const SftPlan& plan, const SftConfig& cfg,
                     LoraAdapter& adapter, AdamWState& optimizer, TrainState& state,
                     const std::vector<const TrainCallbacks*>& sinks, const std::atomic<bool>* stop);

// Data parallel (train/dist.h): the micro-batches each process runs per
// step when cfg.job.resume is resumed with dist_world_size() processes. The
// checkpoint's global batch is kept: with its own number of processes, cfg's
// accumulation (checked against the checkpoint's as ever); with another, its
// (accumulation x processes) / processes, whatever cfg says. Throws Error
// when that does not divide evenly. Without a resume: cfg's accumulation.
int train_resume_accumulation(const SftConfig& cfg);

// What a run of another objective adds to sft_train's set-up (train_run).
struct TrainRunExtras {
  int64_t n_truncated = 0;                 // examples cut to max_seq_length (summary.json)
  nlohmann::json objective_config;         // saved with checkpoints; a resumed run must match it exactly
  // Files written into every checkpoint (name, bytes): what a resumed run
  // reads back instead of recomputing (preference: reference log-probs).
  std::vector<std::pair<std::string, std::string>> checkpoint_files;
};

// sft_train's set-up, validation, state (fresh, --init-adapter or resumed),
// run directory and error handling around train_loop, for any objective.
SftResult train_run(const Model& m, const TrainObjective& objective, const SftPlan& plan, const SftConfig& cfg,
                    const SftFormat& format, const TrainRunExtras& extras, const TrainCallbacks& cb);

// The loop alone, persisting nothing itself: it starts from `adapter`,
// `optimizer` and `state` (all updated in place) and reports every event to
// each sink in order. sft_train is this plus validation and the writer.
SftResult sft_train_loop(const Model& m, const SftData& data, const SftConfig& cfg, LoraAdapter& adapter,
                         AdamWState& optimizer, TrainState& state, const std::vector<const TrainCallbacks*>& sinks,
                         const std::atomic<bool>* stop);

}  // namespace loam

// The run directory of a tuning run, written by one sink of the training
// loop's events (sft_train installs it first; a job runner may add others):
//   OUT/metrics.jsonl               one line per optimizer step
//   OUT/checkpoints/step-N/         resumable checkpoints (train/checkpoint.h),
//   OUT/checkpoints/latest          the newest one's path
//   OUT/best/                       the adapter with the best validation loss
//   OUT/adapter_config.json, adapter_model.safetensors  the final adapter (PEFT)
//   OUT/adapter.gguf                the same for llama.cpp
//   OUT/training_format.json, chat_template.jinja       formatting for serving
//   OUT/summary.json                status, counts, losses, the run config
// and, from a tuning job's --evaluate sink (jobs/sft_job.cpp), not this writer:
//   OUT/evaluations.jsonl, OUT/evaluation.json, OUT/best_evaluated/  per-checkpoint
//   scores, the choice, the best adapter by the metric (then exported as OUT's adapter)
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/sft_trainer.h"

namespace loam {

// Refuses (Error naming job.output) a non-empty output directory that is not
// the run being resumed (`resume_checkpoint` empty: a new run), unless
// `overwrite`: then the files an earlier run left there (checkpoints, best,
// metrics, adapter, summary) are removed. Creates nothing.
void sft_output_check(const std::string& out, const std::string& resume_checkpoint, bool overwrite);

// --resume PATH: a checkpoint directory, or a run's output directory (its
// newest checkpoint). Throws Error (job.resume) when there is none.
std::string sft_resume_checkpoint(const std::string& path);

class SftRunWriter {
 public:
  SftRunWriter(std::string out, const ModelConfig& model, const SftConfig& cfg, const SftFormat& format,
               int64_t n_truncated, nlohmann::json run_config);
  ~SftRunWriter();
  SftRunWriter(const SftRunWriter&) = delete;
  SftRunWriter& operator=(const SftRunWriter&) = delete;

  // Creates OUT and OUT/checkpoints; a resumed run (resumed_step > 0 or
  // `resuming`) removes the *.tmp* leftovers of a killed run and keeps
  // metrics.jsonl up to resumed_step, a new run starts it empty.
  void begin(bool resuming, int64_t resumed_step);
  // The sink: writes on steps, checkpoints, best and the end.
  const TrainCallbacks& callbacks() const { return cb_; }
  const std::string& last_checkpoint() const { return last_checkpoint_; }
  // Files (name, bytes) written into every checkpoint beside its state.
  void set_checkpoint_files(std::vector<std::pair<std::string, std::string>> files) {
    checkpoint_files_ = std::move(files);
  }

 private:
  std::string out_;
  const ModelConfig& model_;
  const SftConfig& cfg_;
  const SftFormat& format_;
  int64_t n_truncated_ = 0;
  std::vector<std::pair<std::string, std::string>> checkpoint_files_;
  nlohmann::json run_config_;
  std::FILE* metrics_ = nullptr;
  std::string last_checkpoint_;
  TrainCallbacks cb_;
};

}  // namespace loam

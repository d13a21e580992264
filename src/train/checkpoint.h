// Training checkpoints: everything needed to continue a run bit-exactly.
//
// Layout of a checkpoint directory (e.g. OUT/checkpoints/step-120/):
//   adapter_config.json, adapter_model.safetensors  the adapter (PEFT layout)
//   optimizer.safetensors                           AdamW m and v, one pair per LoRA tensor
//   trainer_state.json                              step, epoch, position in the epoch,
//                                                   best validation loss, patience, seed
// Shuffling and dropout masks are pure functions of (seed, epoch, step), so
// these fields are the whole RNG state. A checkpoint is written into
// "<dir>.tmp", fsynced, then renamed into place: a crash leaves either the
// old checkpoint or the new one, never a half-written one.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/lora.h"
#include "train/optimizer.h"

namespace loam {

struct TrainState {
  int64_t global_step = 0;       // optimizer steps completed
  int epoch = 0;                 // current epoch (0-based)
  int64_t step_in_epoch = 0;     // optimizer steps completed within `epoch`
  double best_val_loss = 0.0;    // valid when best_step >= 0
  int64_t best_step = -1;
  int evals_without_improvement = 0;
  uint64_t seed = 0;
};

// `files` (name, bytes) are written into the checkpoint too (an objective's
// own state, e.g. cached reference log-probs).
void checkpoint_save(const std::string& dir, const LoraAdapter& adapter, const AdamWState& opt,
                     const TrainState& state, const nlohmann::json& run_config,
                     const std::vector<std::pair<std::string, std::string>>& files = {});

// Restores adapter (shaped for `model_config`), optimizer state and train
// state, and the run configuration it was saved with when `run_config` is
// given; throws Error naming the file when anything is missing or mismatched.
void checkpoint_load(const std::string& dir, const ModelConfig& model_config, LoraAdapter& adapter,
                     AdamWState& opt, TrainState& state, nlohmann::json* run_config = nullptr);

}  // namespace loam

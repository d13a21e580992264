// What the processes of a data-parallel run (train/dist.h) send each other.
// Rank 0 reads and tokenizes the data, reads the checkpoint or the init
// adapter and computes preference reference log-probs; every other rank
// receives them, so the other hosts need neither the dataset nor shared
// storage (only the base model, at the path rank 0 loads it from).
//
// The bytes are a wire format between processes of one binary (native
// endianness, never stored): a parse of anything else throws Error.
//
// The order of a run's collectives, every rank in step:
//   1. dist_run_share      rank 0's config and tokenized data (sft_job_run, dist_follow)
//   2. preference only:    the reference log-probs (preference_train)
//   3. train_run:          the starting adapter, optimizer, state and accumulation
//   4. train_loop, per step: gradients and stats summed; rank 0's validation result
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "train/optimizer.h"
#include "train/checkpoint.h"
#include "train/preference_trainer.h"
#include "train/sft_trainer.h"

namespace loam {

std::string objective_stats_bytes(const ObjectiveStats& s);
ObjectiveStats objective_stats_parse(const std::string& bytes);

// The state a run starts from and each process's micro-batches per step.
std::string train_state_bytes(const LoraAdapter& adapter, const AdamWState& opt, const TrainState& st, int accum);
void train_state_parse(const std::string& bytes, LoraAdapter& adapter, AdamWState& opt, TrainState& st, int& accum);

// Rank 0's run, sent to every rank: on rank 0 the arguments are sent, on
// the others replaced. `preference` set: a preference run (pairs), else
// supervised (sft). cfg.runtime.threads travels only when it is set.
void dist_run_share(SftConfig& cfg, std::optional<PreferenceOptions>& preference, SftData& sft, PreferenceData& pairs);

// A rank > 0's whole part in a run: receives the run (1.), loads the base
// model from rank 0's path, trains in step with the other ranks and writes
// nothing. `stop` (a signal) is agreed with the others at the next step.
// Throws Error like the trainer does; the caller aborts the job.
SftResult dist_follow(const std::atomic<bool>* stop);

}  // namespace loam

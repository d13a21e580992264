// Running a supervised tuning job: the one file that turns a job's spec
// into the trainer's SftConfig and persists what the trainer reports
// (metrics per step, events, checkpoints) into the registry. Used by the
// job worker process and by `loam tune sft` in-process.
//
// The run resumes from <output>/checkpoints/latest when it exists (the
// trainer's resume is bit-exact), so a job restarted after a crash or a
// pause finishes with the adapter an uninterrupted run writes. On success
// the tuned model is registered and the job marked SUCCEEDED in one
// transaction: the exported adapter as version 1 (default), and each
// checkpoint still on disk as a further version, alias "checkpoint-<step>".
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "registry/records.h"
#include "registry/store.h"
#include "train/sft_config.h"
#include "train/preference_trainer.h"
#include "train/sft_trainer.h"

namespace loam {

enum class SftJobOutcome { Succeeded, Interrupted };

// The trainer's configuration for a job created through the API.
SftConfig sft_job_config(const Store& store, const JobRecord& job, const ModelRecord& base);

// REQUIRES: the job is RUNNING. `display` gets the trainer's callbacks too
// (the CLI prints progress); stop requests a checkpoint and a clean stop.
// Throws Error when the run fails (the caller marks the job FAILED).
// auto_resume: continue from <output>/checkpoints/latest when it exists (the
// worker; the CLI resumes only when told with --resume). on_plan sees the
// plan before the memory check.
// preference: run preference tuning (train/preference_trainer.h) on the
// same job machinery instead of supervised tuning; the tuned model's
// lineage then records the method, its settings and the init adapter.
struct SftJobHooks {
  TrainCallbacks display;
  std::function<void(const SftConfig&, const SftPlan&, int64_t n_truncated)> on_plan;
  bool auto_resume = true;
  std::optional<PreferenceOptions> preference;
};
SftJobOutcome sft_job_run(Store& store, const std::string& job_id, SftConfig cfg, const std::atomic<bool>* stop,
                          const SftJobHooks& hooks, SftResult* result = nullptr);

}  // namespace loam

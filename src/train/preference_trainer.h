// Preference tuning (DPO and variants) with LoRA: the SFT loop
// (train_loop, with its checkpoints, bit-exact resume, metrics and events)
// over the preference objective of train/preference_step.h.
//
// The reference policy is the same network: with the adapter switched off
// ("base"), or a frozen adapter ("init": the --init-adapter the policy
// starts from; or a directory). Its log-probs are computed once per pair
// before the first step, saved in every checkpoint (a resumed run reads them
// back) and, with a cache directory, on disk under a key of the model, the
// reference adapter and the tokenized pairs, so a second run on the same
// data reuses them. No step runs a second forward for the reference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/model_text.h"
#include "train/preference_loss.h"
#include "train/preference_step.h"
#include "train/sft_config.h"
#include "train/sft_trainer.h"

namespace loam {

struct PreferenceOptions {
  PreferenceLossConfig loss;  // preference.loss, .beta, .label_smoothing, .sft_weight, .simpo_gamma
  // preference.reference: "base", "init" or a PEFT adapter directory; ""
  // = init when job.init_adapter is set, else base.
  std::string reference;
  std::string cache_dir;      // preference.cache_dir: reference log-prob cache ("" = none)
};

struct PreferenceConfig {
  SftConfig sft;              // job, lora, hyperparameters, runtime: as `tune sft`
  PreferenceOptions preference;
};

// Throws Error naming the field (preference.beta > 0, label_smoothing in
// [0, 0.5), sft_weight >= 0, reference init needs job.init_adapter).
void preference_config_check(const PreferenceConfig& c);
// "base", "init" or the directory the run's reference resolves to.
std::string preference_reference(const PreferenceConfig& c);

struct PreferenceData {
  std::vector<PreferencePair> train, validation;
  int64_t n_truncated = 0;
};

// Every preference format the dataset reader accepts, rendered through the
// chat template (`text` may be null for pre-tokenized pairs). Throws Error
// naming FILE:LINE for bad data or a file that holds no preference pairs.
PreferenceData preference_data_load(const SftConfig& cfg, const ModelText* text, int32_t vocab_size);

SftPlan preference_plan(const Model& m, const PreferenceData& data, const PreferenceConfig& cfg);

// Runs (or resumes) a preference tuning run into cfg.sft.job.output, as
// sft_train does. Metrics per step and validation: loss, reward accuracy
// (accuracy), rewards/chosen, rewards/rejected, rewards/margins,
// logps/chosen, logps/rejected (means over the step's pairs).
SftResult preference_train(const Model& m, const PreferenceData& data, const PreferenceConfig& cfg,
                           const SftFormat& format, const TrainCallbacks& cb);

}  // namespace loam

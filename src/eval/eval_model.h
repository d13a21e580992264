// The two places evaluation touches a model, each behind one function so the
// engine under it can change without touching the rest of evaluation:
//   - eval_generate: prompts -> generated texts, through the batched decoder
//     (model/decoder.h) that `loam generate` and serving use.
//   - eval_reference_nll: teacher-forced loss of each reference output
//     (perplexity), through model_eval_loss one example per batch.
// Every system in one evaluation gets the same DecodeSettings (greedy by
// default) and eos handling: the model's generation_config eos ids plus the
// tokenizer's.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/example.h"
#include "eval/scoring.h"
#include "model/generate.h"
#include "model/lora.h"
#include "model/model.h"
#include "tokenizer/model_text.h"

namespace loam {

struct DecodeSettings {
  int max_tokens = 256;             // new tokens per answer
  SamplingParams sampling;          // temperature 0 = greedy
  std::vector<std::string> stop;    // stop sequences
  int batch_size = 8;               // sequences decoded together
};

struct Generation {
  std::string text;  // valid UTF-8 (invalid bytes replaced)
  int n_tokens = 0;
  FinishReason finish = FinishReason::Length;
};

using GenerateProgress = std::function<void(size_t done, size_t total)>;

// Prompt token ids for an example: its turns up to (not including) the final
// assistant turn, rendered with the chat template and add_generation_prompt
// (a model without a template gets sft_tokenize's plain layout).
std::vector<int32_t> eval_prompt_ids(const ModelText& text, const std::vector<Turn>& prompt_turns);

std::vector<Generation> eval_generate(const Model& model, const ModelText& text,
                                      const std::vector<std::vector<int32_t>>& prompts, const LoraAdapter* lora,
                                      const DecodeSettings& settings, const GenerateProgress& progress = {});

// examples: conversations ending on the reference assistant turn; only that
// turn (and its end-of-turn token, as SFT trains it) is scored.
std::vector<NllStats> eval_reference_nll(const Model& model, const ModelText& text, const std::vector<Example>& examples,
                                         const LoraAdapter* lora);

}  // namespace loam

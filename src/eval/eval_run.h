// Gathering what an evaluation scores: either the outputs of models run here
// (model mode) or predictions another system wrote (predictions mode).
//
// Model mode: every example of the data file (any SFT or classification
// format the dataset reader accepts) becomes a prompt (its turns up to the
// final assistant turn) and a reference (that turn's text, or the label);
// each system (a model, or the base model plus a PEFT adapter) answers every
// prompt with the same DecodeSettings; perplexity scores the references
// teacher-forced; out-of-domain probes (any SFT format; only the prompts are
// used) are answered the same way for the refusal rate.
//
// Predictions mode: JSONL lines {"prediction", "reference"[, "model"][,
// "prompt"]}; lines with the same "model" form one system (in order of first
// appearance; no "model" = one system "predictions"); every system must list
// the same references in the same order.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "eval/eval_model.h"
#include "eval/scoring.h"

namespace loam {

struct SystemSpec {
  std::string name;     // shown in tables and results.json
  std::string model;    // model directory or .gguf
  std::string adapter;  // PEFT adapter directory, or ""
};

struct ModelEvalOptions {
  std::vector<SystemSpec> systems;  // systems[0] is the baseline
  std::string data;                 // test file
  std::string probes;               // out-of-domain prompts ("" = none)
  DecodeSettings decode;
  bool perplexity = false;
  std::string judge;                // pairwise autorater model ("" = none); see judge.h
};

// phase: "base: generating" etc.; done/total in examples.
using EvalProgress = std::function<void(const std::string& phase, size_t done, size_t total)>;

// The test data (and out-of-domain probes) split into prompts and
// references, loaded once and answered by any number of systems.
struct EvalTask {
  std::string task;                          // "sft" or "classification"
  std::vector<EvalExample> examples;         // shown prompt, reference, line
  std::vector<Example> conversations;        // whole examples (perplexity)
  std::vector<std::vector<Turn>> prompts;    // turns up to the answer
  std::vector<std::string> probes;           // out-of-domain prompts as shown
  std::vector<std::vector<Turn>> probe_prompts;
};
// Throws Error naming the file and line on bad data (preference or
// pre-tokenized examples have no text reference); probes "" = none.
EvalTask eval_task_load(const std::string& data, const std::string& probes);

// One system's answers to the task: generation through eval_generate, the
// references' perplexity when asked, the probes' answers when there are any.
SystemOutputs eval_system_run(const Model& model, const ModelText& text, const LoraAdapter* lora, const EvalTask& t,
                              const DecodeSettings& decode, bool perplexity, const std::string& name,
                              const EvalProgress& progress);

// Throws Error naming the file and line on bad data (preference or
// pre-tokenized examples have no text reference).
EvalInputs eval_run_models(const ModelEvalOptions& o, const EvalProgress& progress);
EvalInputs eval_read_predictions(const std::string& path);

// "base" for the model, the adapter directory's name for an adapter, the
// model's name for another model; made unique with "-2", "-3"...
std::vector<SystemSpec> system_specs(const std::string& model, const std::string& adapter,
                                     const std::vector<std::string>& compare);

}  // namespace loam

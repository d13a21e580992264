// REST operations the web console uses that the managed service's API has no
// shape for (api_console.cpp): dataset inspection and split, a tuning job's
// plan before it is submitted, and a synchronous evaluation of a model.
// Routes in routes_console.cpp; documented in docs/serve.md.
#pragma once

#include <nlohmann/json.hpp>

#include "serve/control_api.h"

namespace loam {

// {datasetUri (file id or path), model?, maxSeqLength?, sampleCount?, task?}
// -> the validation report (issues with file, line, field, message), token
// statistics under the model's chat template, rendered samples, the path.
nlohmann::json api_dataset_inspect(ControlContext& c, const nlohmann::json& body);
// {datasetUri, validationFraction?, seed?} -> two new files (train, validation).
nlohmann::json api_dataset_split(ControlContext& c, const nlohmann::json& body);
// A TuningJob body (or a PipelineJob body) -> the trainer's plan: examples,
// steps, peak memory and whether it fits, estimated seconds. Creates nothing.
nlohmann::json api_tuning_plan(ControlContext& c, const nlohmann::json& body);
// {datasetUri, maxTokens?, bootstrap?} -> results.json (base vs tuned for a
// tuned model), recorded as the models' evaluations.
nlohmann::json api_model_evaluate(ControlContext& c, const ApiScope& s, const std::string& model,
                                  const nlohmann::json& body);

}  // namespace loam

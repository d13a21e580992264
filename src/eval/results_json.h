// results.json: everything an evaluation found, for machines (and
// `--output json`). Layout (version 1):
//   {"version": 1, "settings": {...as given...},
//    "systems": [{"name", "metrics": {NAME: {"value","low","high","n"}},
//                 "classification"?: {"labels", "per_class": [{"label","precision","recall","f1","support"}],
//                                      "confusion": [[...]] (rows true, columns predicted + "invalid"),
//                                      "invalid": count, "invalid_examples": [index...]}}],
//    "comparisons": [{"system","baseline","metrics": {NAME: {"delta","low","high","p_value"}}}],
//    "examples": [{"index","line","prompt","reference","outputs": {SYSTEM: text},
//                  "scores": {SYSTEM: {NAME: value}}}],
//    "out_of_domain": [{"prompt", "answers": {SYSTEM: {"text","refused","phrase"}}}],
//    "judge"?: {"model", "comparisons": [{"system","baseline","win_rate","tie_rate","loss_rate" (intervals),
//               "no_verdict", "examples": [{"outcome","reply_baseline_first","reply_system_first"}]}]}}
// Intervals are bootstrap 95% intervals (see bootstrap.h).
#pragma once

#include <nlohmann/json.hpp>

#include "eval/scoring.h"

namespace loam {

nlohmann::json eval_results_json(const EvalInputs& in, const EvalScores& s, const nlohmann::json& settings);

}  // namespace loam

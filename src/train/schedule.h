// Learning-rate schedules with linear warmup, as transformers'
// get_{constant,linear,cosine}_schedule_with_warmup: the multiplier for
// optimizer step s (0-based) of total steps, warmup steps w:
//   s < w:  s / w
//   then constant: 1; linear: (total − s) / (total − w);
//   cosine: 0.5 · (1 + cos(π · (s − w) / (total − w))).
#pragma once

#include <cstdint>
#include <string>

namespace loam {

enum class LrSchedule { Constant, Linear, Cosine };

LrSchedule lr_schedule_parse(const std::string& name);  // throws Error listing the choices
const char* lr_schedule_name(LrSchedule s);

double lr_multiplier(LrSchedule s, int64_t step, int64_t total_steps, int64_t warmup_steps);

}  // namespace loam

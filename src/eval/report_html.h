// report.html: one self-contained page a person reads (inline CSS and SVG,
// no scripts, nothing fetched): metrics per system with 95% intervals and
// bar charts, the difference of each system from the baseline with its
// paired-bootstrap p-value, per-class scores and the confusion matrix for
// classification, the biggest wins and regressions by the primary metric,
// every example, and the out-of-domain answers. Every string that comes from
// data or models is HTML-escaped.
//
// Element ids tests rely on: table#metrics, table#comparison,
// table#confusion-<system index>, table#wins, table#regressions,
// table#examples, table#out-of-domain, table#judge; svg.chart per metric.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "eval/scoring.h"

namespace loam {

std::string html_escape(std::string_view s);
std::string eval_report_html(const EvalInputs& in, const EvalScores& s, const nlohmann::json& settings);

}  // namespace loam

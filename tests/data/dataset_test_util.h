// Helpers for the data-layer tests: validate text held in memory.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "data/validate.h"

namespace loam::testing {

struct Scan {
  ValidationReport report;
  std::vector<Example> examples;
  std::vector<std::string> issues;  // issue_format() of each
};

inline Scan scan_text(std::string_view text, DatasetOptions options = {}, FileKind kind = FileKind::Jsonl,
                      const std::string& name = "t.jsonl") {
  Scan s;
  auto source = RecordSource::from_memory(text, name, kind, options.reader);
  s.report = dataset_scan(*source, name, options,
                          [&](Example&& e, std::string_view, bool) { s.examples.push_back(std::move(e)); });
  for (const Issue& i : s.report.issues) s.issues.push_back(issue_format(i));
  return s;
}

}  // namespace loam::testing

// `loam data prepare`: any supported container (JSONL, CSV/TSV with a header,
// a JSON array) in any supported format -> canonical JSONL (example_to_json:
// `messages` for SFT, `text`/`label`, `prompt`/`chosen`/`rejected` message
// lists for preference, ids as read for pre-tokenized data).
//
// The input is validated as it streams; OUT is written through a temporary
// file and renamed only when the whole input is valid, so OUT is never left
// half-written and a previous OUT survives a failed run.
#pragma once

#include <string>

#include "data/validate.h"

namespace loam {

struct PrepareResult {
  ValidationReport report;  // of the input
  size_t n_written = 0;     // 0 when the input had errors (nothing written)
};

// Throws Error for I/O failures (unreadable input, unwritable OUT).
PrepareResult dataset_prepare(const std::string& in_uri, const std::string& out_uri, const DatasetOptions& options);

}  // namespace loam

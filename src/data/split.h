// `loam data split`: a reproducible train/validation split of a valid dataset.
//
// Exact duplicates (same content after parsing, see example_hash) are removed
// and counted first. The shuffle is SplitMix64-seeded Fisher-Yates written
// out here, so a seed gives the same split on every platform and library.
// Classification data is stratified: each label contributes its share of the
// validation set (largest-remainder rounding), so rare labels appear in both
// sides when they have at least two examples. Records are written verbatim
// (JSONL input) or as JSON objects (CSV/TSV rows); outputs are JSONL, each
// written atomically and renamed into place together. Nothing is written when
// the input has errors, or when an output is the input or both outputs are one
// file (compared as resolved paths: symlinks and hard links count).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "data/validate.h"

namespace loam {

struct SplitOptions {
  double validation_fraction = 0.1;  // in (0, 1); at least one example goes to each side
  uint64_t seed = 0;                 // same seed and input -> same split
};

struct SplitResult {
  ValidationReport report;  // of the input
  size_t n_train = 0, n_validation = 0;
  size_t n_duplicates_removed = 0;
  std::map<std::string, std::pair<size_t, size_t>> labels;  // classification: label -> (train, validation)
};

// Throws Error for a bad fraction, fewer than 2 unique examples, or I/O failures.
SplitResult dataset_split(const std::string& in_uri, const std::string& train_uri, const std::string& validation_uri,
                          const DatasetOptions& options, const SplitOptions& split);

// Deterministic 64-bit generator used by the split (exposed for tests).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

}  // namespace loam

// Classification metrics as scikit-learn computes them with
// labels=<the known labels> and zero_division=0: accuracy (an invalid
// prediction is simply wrong), per-class precision/recall/F1, macro F1 (plain
// mean over the known labels, including ones without support) and weighted
// F1 (weighted by each label's support), plus the confusion matrix with an
// extra `invalid` column for predictions that are not a known label.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace loam {

constexpr int kInvalidLabel = -1;

// A generated label's normal form: its first line, lower-cased, stripped of
// surrounding whitespace, quotes and ASCII punctuation ("Billing." and
// " billing\n" both give "billing").
std::string label_normalize(std::string_view text);
// Index of the known label whose normal form equals text's, or kInvalidLabel.
int label_match(std::string_view text, const std::vector<std::string>& labels);

struct ClassReport {
  std::string label;
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;
};

struct ClassificationReport {
  double accuracy = 0, macro_f1 = 0, weighted_f1 = 0;
  std::vector<ClassReport> classes;          // in label order
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted], last column = invalid
  int64_t n_invalid = 0;
};

// truth[i] in [0, labels.size()), predicted[i] a label index or kInvalidLabel.
// idx (optional) picks the examples to use (with repeats, for the bootstrap).
ClassificationReport classification_report(const std::vector<int>& truth, const std::vector<int>& predicted,
                                           const std::vector<std::string>& labels,
                                           const std::vector<size_t>* idx = nullptr);

}  // namespace loam

// Token statistics of a dataset under a model's tokenizer and chat template:
// tokens per example (min / median / p95 / max, before truncation), examples
// over max_seq_length, training tokens after truncation and how many of them
// carry loss. Lengths are kept (4 bytes per example), examples are not.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "data/example.h"
#include "tokenizer/model_text.h"

namespace loam {

struct TokenStats {
  size_t n_examples = 0;
  size_t min = 0, median = 0, p95 = 0, max = 0;  // tokens per example after the chat template
  int max_seq_length = 0;      // 0: no limit given
  size_t n_over_max = 0;       // examples longer than max_seq_length (truncated when training)
  size_t total_tokens = 0;     // after truncation: what one epoch feeds the model
  size_t scored_tokens = 0;    // of those, tokens with loss
};

class TokenStatsAccumulator {
 public:
  // model must outlive the accumulator.
  TokenStatsAccumulator(const ModelText& model, int max_seq_length) : model_(model), max_seq_length_(max_seq_length) {}
  // Tokenizes e (sft_tokenize / preference_tokenize). Throws Error when the
  // chat template rejects the example.
  void add(const Example& e);
  TokenStats finish() const;

 private:
  const ModelText& model_;
  int max_seq_length_;
  std::vector<uint32_t> lengths_;
  size_t n_over_ = 0, total_ = 0, scored_ = 0;
};

nlohmann::json token_stats_to_json(const TokenStats& s);

}  // namespace loam

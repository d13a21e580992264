#include "data/stats.h"

#include <algorithm>
#include <cmath>

#include "data/sft_tokenize.h"

namespace loam {

void TokenStatsAccumulator::add(const Example& e) {
  size_t full = 0, kept = 0, scored = 0;
  bool truncated = false;
  if (e.task() == Task::Preference) {
    TokenizedPreference t = preference_tokenize(e, model_, max_seq_length_);
    full = t.n_tokens_full;
    kept = t.prompt_ids.size() + t.chosen_ids.size() + t.rejected_ids.size();
    scored = t.chosen_ids.size() + t.rejected_ids.size();
    truncated = t.truncated;
  } else {
    TokenizedExample t = sft_tokenize(e, model_, max_seq_length_);
    full = t.n_tokens_full;
    kept = t.input_ids.size();
    scored = t.n_scored();
    truncated = t.truncated;
  }
  lengths_.push_back(uint32_t(std::min<size_t>(full, UINT32_MAX)));
  n_over_ += truncated;
  total_ += kept;
  scored_ += scored;
}

TokenStats TokenStatsAccumulator::finish() const {
  TokenStats s;
  s.n_examples = lengths_.size();
  s.max_seq_length = max_seq_length_ > 0 ? max_seq_length_ : 0;
  s.n_over_max = n_over_;
  s.total_tokens = total_;
  s.scored_tokens = scored_;
  if (lengths_.empty()) return s;
  std::vector<uint32_t> sorted = lengths_;
  std::sort(sorted.begin(), sorted.end());
  auto rank = [&](double q) {  // nearest-rank percentile
    size_t r = size_t(std::ceil(q * double(sorted.size())));
    return size_t(sorted[std::clamp<size_t>(r, 1, sorted.size()) - 1]);
  };
  s.min = sorted.front();
  s.max = sorted.back();
  s.median = rank(0.5);
  s.p95 = rank(0.95);
  return s;
}

nlohmann::json token_stats_to_json(const TokenStats& s) {
  nlohmann::json j = {{"examples", s.n_examples},
                      {"tokens_per_example", {{"min", s.min}, {"median", s.median}, {"p95", s.p95}, {"max", s.max}}},
                      {"total_training_tokens", s.total_tokens},
                      {"scored_tokens", s.scored_tokens}};
  if (s.max_seq_length > 0) {
    j["max_seq_length"] = s.max_seq_length;
    j["examples_over_max_seq_length"] = s.n_over_max;
  }
  return j;
}

}  // namespace loam

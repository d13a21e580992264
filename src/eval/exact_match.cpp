#include "eval/exact_match.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "eval/text_normalize.h"

namespace loam {

double exact_match(std::string_view prediction, std::string_view reference) {
  return text_strip(prediction) == text_strip(reference) ? 1.0 : 0.0;
}

double exact_match_normalized(std::string_view prediction, std::string_view reference) {
  return squad_normalize(prediction) == squad_normalize(reference) ? 1.0 : 0.0;
}

double token_f1(std::string_view prediction, std::string_view reference) {
  const std::vector<std::string> pred = text_split(squad_normalize(prediction));
  const std::vector<std::string> ref = text_split(squad_normalize(reference));
  if (pred.empty() || ref.empty()) return pred.empty() && ref.empty() ? 1.0 : 0.0;
  std::map<std::string, int> ref_counts;
  for (const std::string& t : ref) ref_counts[t]++;
  std::map<std::string, int> pred_counts;
  for (const std::string& t : pred) pred_counts[t]++;
  int same = 0;
  for (const auto& [tok, n] : pred_counts) {
    auto it = ref_counts.find(tok);
    if (it != ref_counts.end()) same += std::min(n, it->second);
  }
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / static_cast<double>(pred.size());
  const double recall = static_cast<double>(same) / static_cast<double>(ref.size());
  return 2.0 * precision * recall / (precision + recall);
}

}  // namespace loam

#include "eval/rouge.h"

#include <algorithm>
#include <map>

#include "eval/porter_stemmer.h"
#include "eval/text_normalize.h"

namespace loam {

std::vector<std::string> rouge_tokenize(std::string_view text, bool stem) {
  const std::string lowered = text_lower(text);
  std::vector<std::string> tokens;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    std::string t = stem && cur.size() > 3 ? porter_stem(cur) : cur;
    if (!t.empty()) tokens.push_back(std::move(t));
    cur.clear();
  };
  for (char c : lowered) {  // bytes >= 0x80 are never [a-z0-9]: they separate
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
      cur.push_back(c);
    else
      flush();
  }
  flush();
  return tokens;
}

namespace {

double fmeasure(double precision, double recall) {
  return precision + recall > 0 ? 2.0 * precision * recall / (precision + recall) : 0.0;
}

double rouge_n(const std::vector<std::string>& pred, const std::vector<std::string>& ref, size_t n) {
  auto ngrams = [n](const std::vector<std::string>& toks) {
    std::map<std::vector<std::string>, int> counts;
    for (size_t i = 0; i + n <= toks.size(); i++) counts[std::vector<std::string>(toks.begin() + i, toks.begin() + i + n)]++;
    return counts;
  };
  auto p = ngrams(pred), r = ngrams(ref);
  int overlap = 0, n_pred = 0, n_ref = 0;
  for (const auto& [g, c] : r) {
    n_ref += c;
    auto it = p.find(g);
    if (it != p.end()) overlap += std::min(c, it->second);
  }
  for (const auto& [g, c] : p) n_pred += c;
  const double precision = static_cast<double>(overlap) / std::max(n_pred, 1);
  const double recall = static_cast<double>(overlap) / std::max(n_ref, 1);
  return fmeasure(precision, recall);
}

double rouge_l(const std::vector<std::string>& pred, const std::vector<std::string>& ref) {
  if (pred.empty() || ref.empty()) return 0.0;
  std::vector<int> prev(pred.size() + 1, 0), cur(pred.size() + 1, 0);
  for (size_t i = 1; i <= ref.size(); i++) {
    for (size_t j = 1; j <= pred.size(); j++)
      cur[j] = ref[i - 1] == pred[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  const double lcs = prev[pred.size()];
  return fmeasure(lcs / static_cast<double>(pred.size()), lcs / static_cast<double>(ref.size()));
}

}  // namespace

RougeScores rouge_score(std::string_view prediction, std::string_view reference, bool stem) {
  const std::vector<std::string> pred = rouge_tokenize(prediction, stem);
  const std::vector<std::string> ref = rouge_tokenize(reference, stem);
  return {rouge_n(pred, ref, 1), rouge_n(pred, ref, 2), rouge_l(pred, ref)};
}

}  // namespace loam

#include "eval/chrf.h"

#include <algorithm>
#include <map>
#include <string>

#include "eval/text_normalize.h"

namespace loam {

ChrfStats& ChrfStats::operator+=(const ChrfStats& o) {
  for (size_t i = 0; i < v.size(); i++) v[i] += o.v[i];
  return *this;
}

namespace {

std::map<std::u32string_view, int64_t> char_ngrams(const std::u32string& s, size_t n) {
  std::map<std::u32string_view, int64_t> counts;
  for (size_t i = 0; i + n <= s.size(); i++) counts[std::u32string_view(s).substr(i, n)]++;
  return counts;
}

}  // namespace

ChrfStats chrf_segment_stats(std::string_view prediction, std::string_view reference) {
  const std::u32string hyp = text_remove_space(utf8_to_u32(prediction));
  const std::u32string ref = text_remove_space(utf8_to_u32(reference));
  ChrfStats s;
  for (int n = 1; n <= kChrfOrder; n++) {
    auto h = char_ngrams(hyp, static_cast<size_t>(n)), r = char_ngrams(ref, static_cast<size_t>(n));
    int64_t n_hyp = 0, n_ref = 0, n_match = 0;
    for (const auto& [g, c] : h) {
      n_hyp += c;
      auto it = r.find(g);
      if (it != r.end()) n_match += std::min(c, it->second);
    }
    for (const auto& [g, c] : r) n_ref += c;
    const int i = (n - 1) * 3;
    s.v[i] = r.empty() ? 0 : n_hyp;  // sacreBLEU counts no hypothesis n-grams without reference ones
    s.v[i + 1] = n_ref;
    s.v[i + 2] = n_match;
  }
  return s;
}

double chrf_from_stats(const ChrfStats& s) {
  double avg_p = 0, avg_r = 0;
  int effective = 0;
  for (int n = 0; n < kChrfOrder; n++) {
    const int64_t n_hyp = s.v[n * 3], n_ref = s.v[n * 3 + 1], n_match = s.v[n * 3 + 2];
    if (n_hyp > 0 && n_ref > 0) {
      avg_p += static_cast<double>(n_match) / static_cast<double>(n_hyp);
      avg_r += static_cast<double>(n_match) / static_cast<double>(n_ref);
      effective++;
    }
  }
  if (effective == 0) return 0.0;
  avg_p /= effective;
  avg_r /= effective;
  if (avg_p + avg_r == 0.0) return 0.0;
  const double b2 = kChrfBeta * kChrfBeta;
  return 100.0 * (1 + b2) * avg_p * avg_r / (b2 * avg_p + avg_r);
}

double corpus_chrf(const std::vector<std::string_view>& predictions, const std::vector<std::string_view>& references) {
  ChrfStats total;
  for (size_t i = 0; i < predictions.size() && i < references.size(); i++)
    total += chrf_segment_stats(predictions[i], references[i]);
  return chrf_from_stats(total);
}

}  // namespace loam

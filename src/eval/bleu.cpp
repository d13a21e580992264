#include "eval/bleu.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "eval/text_normalize.h"
#include "eval/tokenizer_13a.h"

namespace loam {

BleuStats& BleuStats::operator+=(const BleuStats& o) {
  sys_len += o.sys_len;
  ref_len += o.ref_len;
  for (int n = 0; n < kBleuOrder; n++) {
    correct[n] += o.correct[n];
    total[n] += o.total[n];
  }
  return *this;
}

namespace {

std::vector<std::string> bleu_tokens(std::string_view text) {
  std::vector<std::string> toks;
  std::string tokenized = tokenize_13a(text_rstrip(text));
  size_t pos = 0;
  while (pos < tokenized.size()) {
    size_t sp = tokenized.find(' ', pos);
    if (sp == std::string::npos) sp = tokenized.size();
    if (sp > pos) toks.push_back(tokenized.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return toks;
}

// n-gram (tokens joined by ' ', unambiguous as tokens hold no spaces) -> count.
std::map<std::string, int64_t> ngram_counts(const std::vector<std::string>& toks, size_t n) {
  std::map<std::string, int64_t> counts;
  for (size_t i = 0; i + n <= toks.size(); i++) {
    std::string key = toks[i];
    for (size_t k = 1; k < n; k++) key += ' ' + toks[i + k];
    counts[key]++;
  }
  return counts;
}

}  // namespace

BleuStats bleu_segment_stats(std::string_view prediction, std::string_view reference) {
  const std::vector<std::string> hyp = bleu_tokens(prediction), ref = bleu_tokens(reference);
  BleuStats s;
  s.sys_len = static_cast<int64_t>(hyp.size());
  s.ref_len = static_cast<int64_t>(ref.size());
  for (int n = 1; n <= kBleuOrder; n++) {
    auto h = ngram_counts(hyp, static_cast<size_t>(n)), r = ngram_counts(ref, static_cast<size_t>(n));
    for (const auto& [g, c] : h) {
      s.total[n - 1] += c;
      auto it = r.find(g);
      if (it != r.end()) s.correct[n - 1] += std::min(c, it->second);
    }
  }
  return s;
}

double bleu_from_stats(const BleuStats& s) {
  double bp = 1.0;
  if (s.sys_len < s.ref_len) bp = s.sys_len > 0 ? std::exp(1.0 - static_cast<double>(s.ref_len) / s.sys_len) : 0.0;
  bool any = false;
  for (int64_t c : s.correct) any = any || c > 0;
  if (!any) return 0.0;
  std::array<double, kBleuOrder> precision{};
  double smooth = 1.0;
  for (int n = 0; n < kBleuOrder; n++) {
    if (s.total[n] == 0) break;  // later orders keep precision 0
    if (s.correct[n] == 0) {
      smooth *= 2.0;
      precision[n] = 100.0 / (smooth * static_cast<double>(s.total[n]));
    } else {
      precision[n] = 100.0 * static_cast<double>(s.correct[n]) / static_cast<double>(s.total[n]);
    }
  }
  double log_sum = 0.0;
  for (double p : precision) log_sum += p == 0.0 ? -9999999999.0 : std::log(p);  // sacreBLEU's my_log
  return bp * std::exp(log_sum / kBleuOrder);
}

double corpus_bleu(const std::vector<std::string_view>& predictions, const std::vector<std::string_view>& references) {
  BleuStats total;
  for (size_t i = 0; i < predictions.size() && i < references.size(); i++)
    total += bleu_segment_stats(predictions[i], references[i]);
  return bleu_from_stats(total);
}

}  // namespace loam

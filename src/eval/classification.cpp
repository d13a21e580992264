#include "eval/classification.h"

#include "eval/text_normalize.h"

namespace loam {

std::string label_normalize(std::string_view text) {
  const std::string stripped = text_strip(text);
  std::string_view first = stripped;
  if (size_t nl = first.find('\n'); nl != std::string_view::npos) first = first.substr(0, nl);
  std::u32string u = utf8_to_u32(text_lower(first));
  auto trim_char = [](char32_t c) {
    return py_is_space(c) || (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) ||
           c == U'\u2018' || c == U'\u2019' || c == U'\u201C' || c == U'\u201D';
  };
  size_t b = 0, e = u.size();
  while (b < e && trim_char(u[b])) b++;
  while (e > b && trim_char(u[e - 1])) e--;
  return u32_to_utf8(std::u32string_view(u).substr(b, e - b));
}

int label_match(std::string_view text, const std::vector<std::string>& labels) {
  const std::string t = label_normalize(text);
  for (size_t i = 0; i < labels.size(); i++)
    if (label_normalize(labels[i]) == t) return static_cast<int>(i);
  return kInvalidLabel;
}

ClassificationReport classification_report(const std::vector<int>& truth, const std::vector<int>& predicted,
                                           const std::vector<std::string>& labels, const std::vector<size_t>* idx) {
  const size_t k = labels.size();
  ClassificationReport r;
  r.confusion.assign(k, std::vector<int64_t>(k + 1, 0));
  const size_t n = idx ? idx->size() : truth.size();
  int64_t correct = 0;
  for (size_t j = 0; j < n; j++) {
    const size_t i = idx ? (*idx)[j] : j;
    const int t = truth[i], p = predicted[i];
    if (p == kInvalidLabel) r.n_invalid++;
    r.confusion[static_cast<size_t>(t)][p == kInvalidLabel ? k : static_cast<size_t>(p)]++;
    correct += t == p;
  }
  r.accuracy = n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  int64_t total_support = 0;
  double weighted = 0, macro = 0;
  for (size_t c = 0; c < k; c++) {
    int64_t tp = r.confusion[c][c], support = 0, predicted_c = 0;
    for (size_t q = 0; q <= k; q++) support += r.confusion[c][q];
    for (size_t t = 0; t < k; t++) predicted_c += r.confusion[t][c];
    ClassReport cr;
    cr.label = labels[c];
    cr.support = support;
    cr.precision = predicted_c ? static_cast<double>(tp) / static_cast<double>(predicted_c) : 0.0;
    cr.recall = support ? static_cast<double>(tp) / static_cast<double>(support) : 0.0;
    cr.f1 = cr.precision + cr.recall > 0 ? 2 * cr.precision * cr.recall / (cr.precision + cr.recall) : 0.0;
    macro += cr.f1;
    weighted += cr.f1 * static_cast<double>(support);
    total_support += support;
    r.classes.push_back(cr);
  }
  r.macro_f1 = k ? macro / static_cast<double>(k) : 0.0;
  r.weighted_f1 = total_support ? weighted / static_cast<double>(total_support) : 0.0;
  return r;
}

}  // namespace loam

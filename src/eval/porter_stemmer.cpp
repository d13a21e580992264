#include "eval/porter_stemmer.h"

#include <functional>
#include <map>
#include <vector>

namespace loam {
namespace {

using Word = std::string;

bool is_consonant(const Word& w, size_t i) {
  const char c = w[i];
  if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') return false;
  if (c == 'y') return i == 0 ? true : !is_consonant(w, i - 1);
  return true;
}

// m in [C](VC){m}[V]: the number of vowel->consonant transitions.
int measure(const Word& stem) {
  int m = 0;
  for (size_t i = 1; i < stem.size(); i++)
    if (!is_consonant(stem, i - 1) && is_consonant(stem, i)) m++;
  return m;
}

bool contains_vowel(const Word& stem) {
  for (size_t i = 0; i < stem.size(); i++)
    if (!is_consonant(stem, i)) return true;
  return false;
}

bool ends_double_consonant(const Word& w) {
  return w.size() >= 2 && w[w.size() - 1] == w[w.size() - 2] && is_consonant(w, w.size() - 1);
}

// *o: ends consonant-vowel-consonant, the last not w/x/y; NLTK also counts a
// two-letter vowel-consonant word.
bool ends_cvc(const Word& w) {
  const size_t n = w.size();
  if (n >= 3 && is_consonant(w, n - 3) && !is_consonant(w, n - 2) && is_consonant(w, n - 1) && w[n - 1] != 'w' &&
      w[n - 1] != 'x' && w[n - 1] != 'y')
    return true;
  return n == 2 && !is_consonant(w, 0) && is_consonant(w, 1);
}

bool ends_with(const Word& w, std::string_view suffix) {
  return w.size() >= suffix.size() && w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Word drop(const Word& w, size_t n) { return w.substr(0, w.size() - n); }

struct Rule {
  std::string suffix;       // "*d": the word ends in a double consonant (drops both)
  std::string replacement;
  std::function<bool(const Word& stem)> condition;  // empty: unconditional
};

// The first rule whose suffix matches decides: applied when its condition
// holds, else the word is returned unchanged.
Word apply_rules(const Word& w, const std::vector<Rule>& rules) {
  for (const Rule& r : rules) {
    if (r.suffix == "*d" && ends_double_consonant(w)) {
      Word stem = drop(w, 2);
      return !r.condition || r.condition(stem) ? stem + r.replacement : w;
    }
    if (ends_with(w, r.suffix)) {
      Word stem = drop(w, r.suffix.size());
      return !r.condition || r.condition(stem) ? stem + r.replacement : w;
    }
  }
  return w;
}

bool positive_measure(const Word& stem) { return measure(stem) > 0; }
bool measure_gt_1(const Word& stem) { return measure(stem) > 1; }

Word step1a(const Word& w) {
  if (ends_with(w, "ies") && w.size() == 4) return drop(w, 3) + "ie";
  return apply_rules(w, {{"sses", "ss", {}}, {"ies", "i", {}}, {"ss", "ss", {}}, {"s", "", {}}});
}

Word step1b(const Word& w) {
  if (ends_with(w, "ied")) return drop(w, 3) + (w.size() == 4 ? "ie" : "i");
  if (ends_with(w, "eed")) {
    Word stem = drop(w, 3);
    return measure(stem) > 0 ? stem + "ee" : w;
  }
  Word stem;
  bool removed = false;
  for (std::string_view suffix : {"ed", "ing"}) {
    if (ends_with(w, std::string(suffix))) {
      stem = drop(w, suffix.size());
      if (contains_vowel(stem)) {
        removed = true;
        break;
      }
    }
  }
  if (!removed) return w;
  const char last = stem.empty() ? '\0' : stem.back();
  return apply_rules(stem, {{"at", "ate", {}},
                            {"bl", "ble", {}},
                            {"iz", "ize", {}},
                            {"*d", std::string(1, last), [last](const Word&) { return last != 'l' && last != 's' && last != 'z'; }},
                            {"", "e", [](const Word& s) { return measure(s) == 1 && ends_cvc(s); }}});
}

Word step1c(const Word& w) {
  return apply_rules(w, {{"y", "i", [](const Word& s) { return s.size() > 1 && is_consonant(s, s.size() - 1); }}});
}

Word step2(const Word& w) {
  if (ends_with(w, "alli") && positive_measure(drop(w, 4))) return step2(drop(w, 4) + "al");
  auto pm = positive_measure;
  return apply_rules(w, {{"ational", "ate", pm}, {"tional", "tion", pm}, {"enci", "ence", pm}, {"anci", "ance", pm},
                         {"izer", "ize", pm},     {"bli", "ble", pm},     {"alli", "al", pm},    {"entli", "ent", pm},
                         {"eli", "e", pm},        {"ousli", "ous", pm},   {"ization", "ize", pm}, {"ation", "ate", pm},
                         {"ator", "ate", pm},     {"alism", "al", pm},    {"iveness", "ive", pm}, {"fulness", "ful", pm},
                         {"ousness", "ous", pm},  {"aliti", "al", pm},    {"iviti", "ive", pm},  {"biliti", "ble", pm},
                         {"fulli", "ful", pm},
                         // NLTK: the measure is taken on the word less "ogi" (the 'l' stays).
                         {"logi", "log", [w](const Word&) { return positive_measure(drop(w, 3)); }}});
}

Word step3(const Word& w) {
  auto pm = positive_measure;
  return apply_rules(w, {{"icate", "ic", pm}, {"ative", "", pm}, {"alize", "al", pm}, {"iciti", "ic", pm},
                         {"ical", "ic", pm},  {"ful", "", pm},   {"ness", "", pm}});
}

Word step4(const Word& w) {
  auto m1 = measure_gt_1;
  return apply_rules(w, {{"al", "", m1},   {"ance", "", m1}, {"ence", "", m1}, {"er", "", m1},   {"ic", "", m1},
                         {"able", "", m1}, {"ible", "", m1}, {"ant", "", m1},  {"ement", "", m1}, {"ment", "", m1},
                         {"ent", "", m1},
                         {"ion", "", [](const Word& s) { return measure(s) > 1 && !s.empty() && (s.back() == 's' || s.back() == 't'); }},
                         {"ou", "", m1},   {"ism", "", m1},  {"ate", "", m1},  {"iti", "", m1},  {"ous", "", m1},
                         {"ive", "", m1},  {"ize", "", m1}});
}

Word step5a(const Word& w) {
  if (!ends_with(w, "e")) return w;
  Word stem = drop(w, 1);
  const int m = measure(stem);
  if (m > 1) return stem;
  if (m == 1 && !ends_cvc(stem)) return stem;
  return w;
}

Word step5b(const Word& w) {
  return apply_rules(w, {{"ll", "l", [w](const Word&) { return measure(drop(w, 1)) > 1; }}});
}

const std::map<std::string, std::string>& irregular_forms() {
  static const std::map<std::string, std::string> pool = {
      {"sky", "sky"},         {"skies", "sky"},     {"dying", "die"},        {"lying", "lie"},
      {"tying", "tie"},       {"news", "news"},     {"innings", "inning"},   {"inning", "inning"},
      {"outings", "outing"},  {"outing", "outing"}, {"cannings", "canning"}, {"canning", "canning"},
      {"howe", "howe"},       {"proceed", "proceed"}, {"exceed", "exceed"},  {"succeed", "succeed"},
  };
  return pool;
}

}  // namespace

std::string porter_stem(std::string_view word) {
  Word w(word);
  auto it = irregular_forms().find(w);
  if (it != irregular_forms().end()) return it->second;
  if (w.size() <= 2) return w;
  w = step1a(w);
  w = step1b(w);
  w = step1c(w);
  w = step2(w);
  w = step3(w);
  w = step4(w);
  w = step5a(w);
  w = step5b(w);
  return w;
}

}  // namespace loam

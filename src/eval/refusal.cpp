#include "eval/refusal.h"

#include <fstream>

#include "core/error.h"
#include "eval/text_normalize.h"

namespace loam {

std::vector<std::string> RefusalRule::default_phrases() {
  return {"i can only help with", "i can't help", "i cannot help", "i can't answer", "i cannot answer",
          "i'm not able to", "i am not able to", "i'm unable to", "i am unable to", "i don't have information",
          "i do not have information", "i don't know", "i do not know", "outside the scope", "out of scope",
          "outside my", "not something i can help", "i'm sorry, but", "i am sorry, but", "sorry, i can"};
}

namespace {

std::string refusal_fold(std::string_view text) {
  std::u32string u = utf8_to_u32(text_lower(text));
  std::u32string out;
  bool space = false;
  for (char32_t c : u) {
    if (c == U'\u2019' || c == U'\u2018') c = U'\'';
    if (py_is_space(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(U' ');
    space = false;
    out.push_back(c);
  }
  return u32_to_utf8(out);
}

}  // namespace

std::string refusal_match(std::string_view answer, const RefusalRule& rule) {
  const std::string folded = refusal_fold(answer);
  for (const std::string& p : rule.phrases) {
    const std::string fp = refusal_fold(p);
    if (!fp.empty() && folded.find(fp) != std::string::npos) return p;
  }
  return "";
}

RefusalRule refusal_rule_load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path, "cannot read the refusal phrases file");
  RefusalRule rule;
  rule.phrases.clear();
  std::string line;
  while (std::getline(in, line)) {
    std::string p = text_strip(line);
    if (p.empty() || p[0] == '#') continue;
    rule.phrases.push_back(p);
  }
  if (rule.phrases.empty()) throw Error(path, "holds no refusal phrase", "one phrase per line; '#' starts a comment");
  return rule;
}

}  // namespace loam

// Out-of-domain refusal: does an answer decline? The rule is plain and
// documented so a reader can check each verdict: the answer is lower-cased
// (full Unicode), typographic apostrophes (U+2019, U+2018) become ', runs of
// whitespace become one space; it is a refusal when it contains any of the
// phrases (compared the same way). The phrases are configurable
// (--refusal-phrases FILE, one per line; blank lines and lines starting with
// '#' are skipped).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace loam {

struct RefusalRule {
  std::vector<std::string> phrases = default_phrases();
  static std::vector<std::string> default_phrases();
};

// The phrase that matched, or "" when the answer does not decline.
std::string refusal_match(std::string_view answer, const RefusalRule& rule);
// Throws Error naming the file when it cannot be read or holds no phrase.
RefusalRule refusal_rule_load(const std::string& path);

}  // namespace loam

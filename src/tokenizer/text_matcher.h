// Finds a TextPattern (literal or regex) in text: the one place the tokenizer
// calls PCRE2. Regexes compile in UTF + UCP mode (\p{L}, \s, \w are Unicode)
// and are JIT-compiled. To match Oniguruma (which HF tokenizers uses), \s also
// matches U+0085 (NEL), which PCRE2's \s does not.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace loam {

struct RegexCode;  // owns the pcre2_code

class TextMatcher {
 public:
  TextMatcher() = default;
  // Throws loam::Error at `where` when the regex does not compile.
  TextMatcher(const TextPattern& pattern, const std::string& where);

  // Appends the non-overlapping matches in `text`, left to right, as byte
  // ranges [begin, end). Empty matches are skipped. REQUIRES: valid UTF-8.
  // Thread-safe.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

  bool empty() const { return !code_ && literal_.empty(); }

 private:
  std::string literal_;
  std::shared_ptr<const RegexCode> code_;
};

// Rewrites \s (and \S outside classes) so PCRE2 matches U+0085 like Oniguruma.
std::string regex_onig_compat(std::string_view pattern);

}  // namespace loam

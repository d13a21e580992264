// The pre-tokenizer chain (HF `pre_tokenizer`): splits a normalized piece of
// text into the words the BPE model merges separately. Split (literal/regex,
// every SplitDelimiterBehavior, invert), ByteLevel (GPT-2 regex, prefix
// space, byte-to-char map), Metaspace and Digits.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/text_matcher.h"
#include "tokenizer/tokenizer.h"

namespace loam {

// A word and whether it begins at byte 0 of the encoded input (Metaspace's
// prepend_scheme "first" needs that).
struct PreToken {
  std::string text;
  bool at_origin = false;
};

class PreTokenizer {
 public:
  PreTokenizer() = default;
  // Compiles patterns; throws loam::Error at `where` for bad ones.
  PreTokenizer(const std::vector<PreTokenizerStep>& steps, const std::string& where);

  // Appends the non-empty words of `piece` to `out`. Thread-safe.
  void apply(PreToken piece, std::vector<PreToken>& out) const;

 private:
  struct Step {
    PreTokenizerStep spec;
    TextMatcher matcher;  // Split pattern, GPT-2 regex, Metaspace replacement, or \p{N}
  };
  void apply_step(const Step& step, PreToken word, std::vector<PreToken>& out) const;
  std::vector<Step> steps_;
};

// The byte ranges a Split keeps, given the pattern's matches in a text of
// `size` bytes (HF NormalizedString::split).
std::vector<std::pair<size_t, size_t>> split_ranges(
    size_t size, const std::vector<std::pair<size_t, size_t>>& matches, SplitBehavior behavior,
    bool invert);

}  // namespace loam

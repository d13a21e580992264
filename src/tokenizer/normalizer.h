// The normalizer chain (HF `normalizer`): Unicode normal forms and lowercase
// through ICU, Prepend, Replace, Strip. Applied to each piece of text between
// added tokens, as HF does.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/text_matcher.h"
#include "tokenizer/tokenizer.h"

namespace loam {

class Normalizer {
 public:
  Normalizer() = default;
  // Compiles the Replace patterns; throws loam::Error at `where` for bad ones.
  Normalizer(const std::vector<NormalizerStep>& steps, const std::string& where);

  // REQUIRES: valid UTF-8. Thread-safe.
  std::string apply(std::string text) const;
  bool empty() const { return steps_.empty(); }

 private:
  struct Step {
    NormalizerStep spec;
    TextMatcher matcher;
  };
  std::vector<Step> steps_;
};

// Replaces every match of `matcher` in `text` by `content`.
std::string text_replace_all(const std::string& text, const TextMatcher& matcher,
                             const std::string& content);

}  // namespace loam

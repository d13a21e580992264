// The decoder chain (HF `decoder`): token strings in, text out. Replace,
// ByteFallback (<0xNN> runs to UTF-8, U+FFFD per byte when invalid), Fuse,
// Strip, ByteLevel (chars back to bytes, lossy UTF-8) and Metaspace.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/text_matcher.h"
#include "tokenizer/tokenizer.h"

namespace loam {

class Decoder {
 public:
  Decoder() = default;
  // Compiles Replace patterns; throws loam::Error at `where` for bad ones.
  Decoder(const std::vector<DecoderStep>& steps, const std::string& where);

  // Runs every step over the token list and joins the result ("" between
  // tokens; " " when there are no steps, as HF). Thread-safe.
  std::string apply(std::vector<std::string> tokens) const;

 private:
  struct Step {
    DecoderStep spec;
    TextMatcher matcher;
    char32_t strip_char = 0;        // Strip
    char32_t replacement_char = 0;  // Metaspace
  };
  std::vector<Step> steps_;
};

}  // namespace loam

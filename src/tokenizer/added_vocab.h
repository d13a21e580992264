// Finds added tokens in text the way HF's AddedVocabulary does: leftmost-
// longest matches (a byte trie standing in for its Aho-Corasick automaton),
// then single_word / lstrip / rstrip adjustments. The tokenizer keeps two of
// these: tokens matched in the raw text (normalized=false) and tokens matched
// after normalization (normalized=true, contents normalized).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace loam {

// A run of text [begin, end); token_id >= 0 when it is an added token.
struct TextSegment {
  size_t begin;
  size_t end;
  int32_t token_id;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `patterns[i]` is what is searched for `tokens[i]` (its content, or its
  // normalized content). Empty patterns are ignored; on duplicates the first wins.
  AddedTokenMatcher(std::vector<AddedToken> tokens, const std::vector<std::string>& patterns);

  // Splits `text` into segments covering it; "" gives one empty text segment.
  // REQUIRES: valid UTF-8. Thread-safe.
  std::vector<TextSegment> split(std::string_view text) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int32_t token = -1;  // index into tokens_ when a pattern ends here
  };
  // Longest pattern starting at `pos`: returns its token index and end, or -1.
  int32_t longest_at(std::string_view text, size_t pos, size_t& end) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_;  // nodes_[0] is the root
};

}  // namespace loam

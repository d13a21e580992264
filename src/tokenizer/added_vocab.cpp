#include "tokenizer/added_vocab.h"

#include <unicode/uchar.h>

#include "tokenizer/utf8.h"

namespace loam {
namespace {

// Rust regex's Unicode \w: Alphabetic, marks, decimal digits, connector
// punctuation, join controls.
bool is_word_char(char32_t c) {
  const UChar32 u = static_cast<UChar32>(c);
  if (u_hasBinaryProperty(u, UCHAR_ALPHABETIC) || u_hasBinaryProperty(u, UCHAR_JOIN_CONTROL)) return true;
  return (U_GET_GC_MASK(u) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

bool is_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }

// Start of the code point that ends right before `pos`.
size_t prev_char_start(std::string_view s, size_t pos) {
  size_t i = pos - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

bool ends_with_word(std::string_view s, size_t pos) {
  if (pos == 0) return false;
  size_t i = prev_char_start(s, pos);
  return is_word_char(utf8_next(s, i));
}

bool starts_with_word(std::string_view s, size_t pos) {
  if (pos >= s.size()) return false;
  return is_word_char(utf8_next(s, pos));
}

// Where the whitespace run ending at `pos` begins.
size_t space_run_start(std::string_view s, size_t pos) {
  while (pos > 0) {
    size_t i = prev_char_start(s, pos), j = i;
    if (!is_space(utf8_next(s, j))) break;
    pos = i;
  }
  return pos;
}

// Where the whitespace run starting at `pos` ends.
size_t space_run_end(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    size_t j = pos;
    if (!is_space(utf8_next(s, j))) break;
    pos = j;
  }
  return pos;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens, const std::vector<std::string>& patterns)
    : tokens_(std::move(tokens)) {
  nodes_.emplace_back();
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& p = patterns[t];
    if (p.empty()) continue;
    int32_t node = 0;
    for (char ch : p) {
      const auto c = static_cast<unsigned char>(ch);
      int32_t child = -1;
      for (auto [k, v] : nodes_[node].children)
        if (k == c) child = v;
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_[node].children.emplace_back(c, child);
        nodes_.emplace_back();
      }
      node = child;
    }
    if (nodes_[node].token < 0) nodes_[node].token = static_cast<int32_t>(t);
  }
}

int32_t AddedTokenMatcher::longest_at(std::string_view text, size_t pos, size_t& end) const {
  int32_t node = 0, found = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    int32_t child = -1;
    for (auto [k, v] : nodes_[node].children)
      if (k == c) { child = v; break; }
    if (child < 0) break;
    node = child;
    if (nodes_[node].token >= 0) {
      found = nodes_[node].token;
      end = i + 1;
    }
  }
  return found;
}

std::vector<TextSegment> AddedTokenMatcher::split(std::string_view text) const {
  if (text.empty()) return {{0, 0, -1}};
  std::vector<TextSegment> out;
  size_t start_offset = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t stop = 0;
    const int32_t t = nodes_[0].children.empty() ? -1 : longest_at(text, pos, stop);
    if (t < 0) {
      ++pos;
      continue;
    }
    size_t start = pos;
    pos = stop;  // the automaton resumes after the raw match, even if rstrip ate more
    const AddedToken& tok = tokens_[t];
    if (tok.single_word) {
      const bool start_space = start == 0 || !ends_with_word(text, start);
      const bool stop_space = stop == text.size() || !starts_with_word(text, stop);
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) start = std::max(space_run_start(text, start), start_offset);
    if (tok.rstrip) stop = space_run_end(text, stop);
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, tok.id});
    start_offset = stop;
  }
  if (start_offset != text.size()) out.push_back({start_offset, text.size(), -1});
  return out;
}

}  // namespace loam

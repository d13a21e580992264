// UTF-8 primitives the tokenizer needs: stepping through code points,
// appending them, and Rust-compatible lossy repair of invalid bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace loam {

// Length of the UTF-8 sequence a lead byte starts (1 for invalid leads).
inline size_t utf8_char_len(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// REQUIRES: s is valid UTF-8 and i < s.size(). Returns the code point at i and
// moves i past it.
char32_t utf8_next(std::string_view s, size_t& i);

void utf8_append(std::string& out, char32_t cp);

bool utf8_valid(std::string_view bytes);

// As Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes
// one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

}  // namespace loam

#include "core/escape.h"

namespace loam {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (0 if invalid).
size_t utf8_length(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  size_t n = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

}  // namespace

std::string error_escape(std::string_view s) {
  constexpr size_t kMax = 200;
  std::string out;
  size_t i = 0;
  for (; i < s.size() && i < kMax;) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b == '\\') {
      out += "\\\\";
      i++;
    } else if (b >= 0x20 && b < 0x7F) {
      out += static_cast<char>(b);
      i++;
    } else if (size_t n = b >= 0x80 ? utf8_length(s, i) : 0; n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 15];
      i++;
    }
  }
  if (i < s.size()) out += "...";
  return out;
}

}  // namespace loam

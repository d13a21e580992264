#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace loam {
namespace {

struct ByteLevelTables {
  std::array<std::string, 256> encoded;  // byte -> UTF-8 of its char
  std::array<int, 324> byte_of;          // code point (< 324) -> byte, -1 none

  ByteLevelTables() {
    byte_of.fill(-1);
    // Printable Latin-1 bytes map to themselves; the rest to 256, 257, ...
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const int cp = printable ? b : next++;
      utf8_append(encoded[b], static_cast<char32_t>(cp));
      byte_of[cp] = b;
    }
  }
};

const ByteLevelTables& tables() {
  static const ByteLevelTables t;
  return t;
}

}  // namespace

std::string byte_level_encode(std::string_view bytes) {
  const auto& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += t.encoded[static_cast<unsigned char>(c)];
  return out;
}

int byte_level_byte_of(char32_t cp) {
  return cp < 324 ? tables().byte_of[cp] : -1;
}

}  // namespace loam

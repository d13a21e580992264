// GPT-2's byte-to-char map (bytes_to_unicode): every byte becomes a printable
// code point, so byte-level BPE vocabularies are plain strings ("Ġ" = space).
#pragma once

#include <string>
#include <string_view>

namespace loam {

// The mapped form of every byte of `bytes`, as UTF-8.
std::string byte_level_encode(std::string_view bytes);

// The byte a mapped code point stands for, or -1 if it is not in the map.
int byte_level_byte_of(char32_t cp);

}  // namespace loam

// Text handling shared by the metrics, with the semantics of the Python
// reference implementations they are checked against (sacreBLEU,
// rouge-score, the SQuAD script):
//   - "whitespace" is Python's str.isspace() set (Unicode Zs plus the
//     bidirectional WS/B/S classes: \t \n \v \f \r \x1c-\x1f, U+0085, U+00A0,
//     U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), which
//     is what str.split(), str.strip() and re's \s use;
//   - lower-casing is full Unicode case mapping (Python's str.lower(), e.g.
//     U+0130 becomes "i" + U+0307), done by ICU's root locale.
// Inputs are UTF-8; invalid bytes are read as U+FFFD.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace loam {

bool py_is_space(char32_t c);
// Python's \w for str patterns: letters (L*), numerics (Nd/Nl/No and other
// Numeric_Type values) and '_'.
bool py_is_word(char32_t c);

std::u32string utf8_to_u32(std::string_view s);
std::string u32_to_utf8(std::u32string_view s);

std::string text_strip(std::string_view s);               // str.strip()
std::string text_rstrip(std::string_view s);              // str.rstrip()
std::vector<std::string> text_split(std::string_view s);  // str.split()
std::u32string text_remove_space(std::u32string_view s);  // "".join(s.split())
std::string text_lower(std::string_view s);               // str.lower()

// SQuAD v1.1 normalize_answer: lower-case, delete ASCII punctuation
// (string.punctuation), replace the words a/an/the (between Unicode word
// boundaries) by a space, collapse whitespace.
std::string squad_normalize(std::string_view s);

}  // namespace loam

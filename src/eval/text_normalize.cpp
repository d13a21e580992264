#include "eval/text_normalize.h"

#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include "tokenizer/utf8.h"

namespace loam {

bool py_is_space(char32_t c) {
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool py_is_word(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  const UChar32 u = static_cast<UChar32>(c);
  return u_isalpha(u) || u_getIntPropertyValue(u, UCHAR_NUMERIC_TYPE) != U_NT_NONE;
}

std::u32string utf8_to_u32(std::string_view s) {
  const std::string clean = utf8_valid(s) ? std::string(s) : utf8_lossy(s);
  std::u32string out;
  out.reserve(clean.size());
  for (size_t i = 0; i < clean.size();) out.push_back(utf8_next(clean, i));
  return out;
}

std::string u32_to_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) utf8_append(out, c);
  return out;
}

namespace {

std::string strip_impl(std::string_view s, bool left) {
  std::u32string u = utf8_to_u32(s);
  size_t b = 0, e = u.size();
  if (left)
    while (b < e && py_is_space(u[b])) b++;
  while (e > b && py_is_space(u[e - 1])) e--;
  return u32_to_utf8(std::u32string_view(u).substr(b, e - b));
}

}  // namespace

std::string text_strip(std::string_view s) { return strip_impl(s, true); }
std::string text_rstrip(std::string_view s) { return strip_impl(s, false); }

std::vector<std::string> text_split(std::string_view s) {
  std::vector<std::string> out;
  std::u32string u = utf8_to_u32(s);
  std::u32string cur;
  for (char32_t c : u) {
    if (py_is_space(c)) {
      if (!cur.empty()) out.push_back(u32_to_utf8(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(u32_to_utf8(cur));
  return out;
}

std::u32string text_remove_space(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s)
    if (!py_is_space(c)) out.push_back(c);
  return out;
}

std::string text_lower(std::string_view s) {
  bool ascii = true;
  for (char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    std::string out(s);
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
  }
  // UTF-8 -> UTF-16 -> lower (full mapping, root locale) -> UTF-8.
  const std::string clean = utf8_valid(s) ? std::string(s) : utf8_lossy(s);
  UErrorCode err = U_ZERO_ERROR;
  int32_t n16 = 0;
  u_strFromUTF8(nullptr, 0, &n16, clean.data(), static_cast<int32_t>(clean.size()), &err);
  err = U_ZERO_ERROR;
  std::u16string src(static_cast<size_t>(n16), u'\0');
  u_strFromUTF8(src.data(), n16, nullptr, clean.data(), static_cast<int32_t>(clean.size()), &err);
  std::u16string dst(src.size() * 3 + 4, u'\0');
  err = U_ZERO_ERROR;
  int32_t nl = u_strToLower(dst.data(), static_cast<int32_t>(dst.size()), src.data(), n16, "", &err);
  dst.resize(static_cast<size_t>(nl));
  std::string out(dst.size() * 3 + 4, '\0');
  int32_t n8 = 0;
  err = U_ZERO_ERROR;
  u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &n8, dst.data(), nl, &err);
  out.resize(static_cast<size_t>(n8));
  return out;
}

namespace {

bool ascii_punct(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

// Length of the article (a, an, the) at u[i] between word boundaries, or 0.
// Python tries the alternatives in order a|an|the; 'a' fails its trailing
// boundary when 'an' would match, so the first that fits wins.
size_t article_at(const std::u32string& u, size_t i) {
  if (i > 0 && py_is_word(u[i - 1])) return 0;
  auto fits = [&](std::u32string_view w) {
    if (u.compare(i, w.size(), w) != 0) return false;
    return i + w.size() == u.size() || !py_is_word(u[i + w.size()]);
  };
  for (std::u32string_view w : {std::u32string_view(U"a"), std::u32string_view(U"an"), std::u32string_view(U"the")})
    if (fits(w)) return w.size();
  return 0;
}

}  // namespace

std::string squad_normalize(std::string_view s) {
  std::u32string lowered = utf8_to_u32(text_lower(s));
  std::u32string no_punct;
  for (char32_t c : lowered)
    if (!ascii_punct(c)) no_punct.push_back(c);
  std::u32string no_articles;
  for (size_t i = 0; i < no_punct.size();) {
    size_t n = article_at(no_punct, i);
    if (n > 0) {
      no_articles.push_back(U' ');
      i += n;
    } else {
      no_articles.push_back(no_punct[i++]);
    }
  }
  std::string joined;
  for (const std::string& w : text_split(u32_to_utf8(no_articles))) {
    if (!joined.empty()) joined += ' ';
    joined += w;
  }
  return joined;
}

}  // namespace loam

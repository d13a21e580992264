// Text operations of the chat-template interpreter; see jinja_string.h.
#include "tokenizer/jinja/jinja_string.h"

#include <locale.h>
#include <wctype.h>

namespace loam::jinja {
namespace {

locale_t utf8_locale() {
  static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(0));
  return loc;
}

bool ascii_word(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
         cp == '_';
}

template <class F>
std::string map_code_points(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  for (const CodePoint& cp : utf8_code_points(s)) {
    if (cp.value == 0xFFFD && cp.length == 1) {  // invalid byte: pass through
      out += s[cp.offset];
    } else {
      utf8_append(out, f(cp.value));
    }
  }
  return out;
}

}  // namespace

std::vector<CodePoint> utf8_code_points(std::string_view s) {
  std::vector<CodePoint> cps;
  cps.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (!ok) {
      cps.push_back({0xFFFD, i, 1});
      ++i;
      continue;
    }
    char32_t v = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) v = (v << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    cps.push_back({v, i, len});
    i += len;
  }
  return cps;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool js_space(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
    case 0xFEFF:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string text_trim(std::string_view s, bool left, bool right) {
  std::vector<CodePoint> cps = utf8_code_points(s);
  size_t b = 0, e = cps.size();
  if (left) {
    while (b < e && js_space(cps[b].value)) ++b;
  }
  if (right) {
    while (e > b && js_space(cps[e - 1].value)) --e;
  }
  if (b == e) return "";
  size_t from = cps[b].offset;
  size_t to = cps[e - 1].offset + cps[e - 1].length;
  return std::string(s.substr(from, to - from));
}

std::string text_upper(std::string_view s) {
  return map_code_points(s, [](char32_t c) {
    return c < 0x80 ? (c >= 'a' && c <= 'z' ? c - 32 : c)
                    : static_cast<char32_t>(towupper_l(static_cast<wint_t>(c), utf8_locale()));
  });
}

std::string text_lower(std::string_view s) {
  return map_code_points(s, [](char32_t c) {
    return c < 0x80 ? (c >= 'A' && c <= 'Z' ? c + 32 : c)
                    : static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), utf8_locale()));
  });
}

std::string text_title(std::string_view s) {
  std::string out(s);
  bool prev_word = false;
  for (char& ch : out) {
    unsigned char c = static_cast<unsigned char>(ch);
    bool word = ascii_word(c);
    if (word && !prev_word && c >= 'a' && c <= 'z') ch = static_cast<char>(c - 32);
    prev_word = word;
  }
  return out;
}

std::string text_capitalize(std::string_view s) {
  std::vector<CodePoint> cps = utf8_code_points(s);
  if (cps.empty()) return "";
  std::string first = text_upper(s.substr(0, cps[0].length));
  return first + std::string(s.substr(cps[0].length));
}

std::vector<std::string> text_split(std::string_view s, const std::optional<std::string>& sep,
                                    int64_t maxsplit) {
  std::vector<std::string> parts;
  if (!sep) {
    std::vector<CodePoint> cps = utf8_code_points(s);
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && js_space(cps[i].value)) ++i;
      if (i == cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
        parts.emplace_back(s.substr(cps[i].offset));
        break;
      }
      size_t j = i;
      while (j < cps.size() && !js_space(cps[j].value)) ++j;
      size_t end = j < cps.size() ? cps[j].offset : s.size();
      parts.emplace_back(s.substr(cps[i].offset, end - cps[i].offset));
      i = j;
    }
    return parts;
  }
  size_t start = 0;
  while (true) {
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) break;
    size_t at = s.find(*sep, start);
    if (at == std::string_view::npos) break;
    parts.emplace_back(s.substr(start, at - start));
    start = at + sep->size();
  }
  parts.emplace_back(s.substr(start));
  return parts;
}

std::string text_replace(std::string_view s, std::string_view from, std::string_view to,
                         int64_t count) {
  if (count == 0) return std::string(s);
  std::string out;
  int64_t left = count < 0 ? INT64_MAX : count;
  if (from.empty()) {  // insert between code points, as Python and the reference do
    std::vector<CodePoint> cps = utf8_code_points(s);
    for (const CodePoint& cp : cps) {
      if (left > 0) {
        out += to;
        --left;
      }
      out += s.substr(cp.offset, cp.length);
    }
    if (left > 0) out += to;
    return out;
  }
  size_t start = 0;
  while (left > 0) {
    size_t at = s.find(from, start);
    if (at == std::string_view::npos) break;
    out += s.substr(start, at - start);
    out += to;
    start = at + from.size();
    --left;
  }
  out += s.substr(start);
  return out;
}

std::string text_escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace loam::jinja

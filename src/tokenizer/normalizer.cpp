#include "tokenizer/normalizer.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace loam {
namespace {

bool is_ascii(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

std::u16string to_utf16(const std::string& s) {
  std::u16string out(s.size() + 1, u'\0');
  int32_t len = 0;
  UErrorCode err = U_ZERO_ERROR;
  u_strFromUTF8(reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()), &len,
                s.data(), static_cast<int32_t>(s.size()), &err);
  if (U_FAILURE(err)) throw Error("tokenizer", std::string("UTF-8 to UTF-16 failed: ") + u_errorName(err));
  out.resize(len);
  return out;
}

std::string to_utf8(const std::u16string& s) {
  std::string out(s.size() * 3 + 1, '\0');
  int32_t len = 0;
  UErrorCode err = U_ZERO_ERROR;
  u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &len,
              reinterpret_cast<const UChar*>(s.data()), static_cast<int32_t>(s.size()), &err);
  if (U_FAILURE(err)) throw Error("tokenizer", std::string("UTF-16 to UTF-8 failed: ") + u_errorName(err));
  out.resize(len);
  return out;
}

const UNormalizer2* icu_normalizer(NormalizerType type) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* n = nullptr;
  switch (type) {
    case NormalizerType::Nfc: n = unorm2_getNFCInstance(&err); break;
    case NormalizerType::Nfd: n = unorm2_getNFDInstance(&err); break;
    case NormalizerType::Nfkc: n = unorm2_getNFKCInstance(&err); break;
    case NormalizerType::Nfkd: n = unorm2_getNFKDInstance(&err); break;
    default: break;
  }
  if (U_FAILURE(err) || !n) throw Error("tokenizer", std::string("ICU normalizer unavailable: ") + u_errorName(err));
  return n;
}

std::string unicode_normalize(const std::string& text, NormalizerType type) {
  if (is_ascii(text)) return text;  // ASCII is invariant under every normal form
  const UNormalizer2* n = icu_normalizer(type);
  const std::u16string src = to_utf16(text);
  UErrorCode err = U_ZERO_ERROR;
  const auto* usrc = reinterpret_cast<const UChar*>(src.data());
  if (unorm2_isNormalized(n, usrc, static_cast<int32_t>(src.size()), &err) && U_SUCCESS(err)) return text;
  err = U_ZERO_ERROR;
  std::u16string dst(src.size() * 4 + 16, u'\0');
  int32_t len = unorm2_normalize(n, usrc, static_cast<int32_t>(src.size()),
                                 reinterpret_cast<UChar*>(dst.data()), static_cast<int32_t>(dst.size()), &err);
  if (U_FAILURE(err)) throw Error("tokenizer", std::string("ICU normalization failed: ") + u_errorName(err));
  dst.resize(len);
  return to_utf8(dst);
}

// Full Unicode lowercase (root locale), as Rust's str::to_lowercase.
std::string unicode_lowercase(const std::string& text) {
  if (is_ascii(text)) {
    std::string out = text;
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
  }
  const std::u16string src = to_utf16(text);
  std::u16string dst(src.size() * 3 + 16, u'\0');
  UErrorCode err = U_ZERO_ERROR;
  int32_t len = u_strToLower(reinterpret_cast<UChar*>(dst.data()), static_cast<int32_t>(dst.size()),
                             reinterpret_cast<const UChar*>(src.data()), static_cast<int32_t>(src.size()), "", &err);
  if (U_FAILURE(err)) throw Error("tokenizer", std::string("ICU lowercase failed: ") + u_errorName(err));
  dst.resize(len);
  return to_utf8(dst);
}

// Trims Unicode White_Space (Rust's char::is_whitespace) from either end.
std::string unicode_strip(const std::string& text, bool left, bool right) {
  size_t begin = 0, end = text.size();
  if (left) {
    size_t i = 0;
    while (i < text.size()) {
      size_t j = i;
      if (!u_isUWhiteSpace(static_cast<UChar32>(utf8_next(text, j)))) break;
      i = j;
    }
    begin = i;
  }
  if (right) {
    // Walk forward remembering where the trailing whitespace run starts.
    size_t i = begin, run_start = text.size();
    bool in_run = false;
    while (i < text.size()) {
      size_t j = i;
      const bool ws = u_isUWhiteSpace(static_cast<UChar32>(utf8_next(text, j)));
      if (ws && !in_run) run_start = i;
      in_run = ws;
      i = j;
    }
    end = in_run ? run_start : text.size();
  }
  return text.substr(begin, end - begin);
}

}  // namespace

std::string text_replace_all(const std::string& text, const TextMatcher& matcher,
                             const std::string& content) {
  std::vector<std::pair<size_t, size_t>> matches;
  matcher.find_all(text, matches);
  if (matches.empty()) return text;
  std::string out;
  out.reserve(text.size() + matches.size() * content.size());
  size_t prev = 0;
  for (auto [b, e] : matches) {
    out.append(text, prev, b - prev);
    out += content;
    prev = e;
  }
  out.append(text, prev, std::string::npos);
  return out;
}

Normalizer::Normalizer(const std::vector<NormalizerStep>& steps, const std::string& where) {
  for (size_t i = 0; i < steps.size(); ++i) {
    Step s{steps[i], {}};
    if (s.spec.type == NormalizerType::Replace)
      s.matcher = TextMatcher(s.spec.pattern, where + "[" + std::to_string(i) + "].pattern");
    steps_.push_back(std::move(s));
  }
}

std::string Normalizer::apply(std::string text) const {
  for (const Step& s : steps_) {
    switch (s.spec.type) {
      case NormalizerType::Prepend:
        if (!text.empty()) text = s.spec.prepend + text;
        break;
      case NormalizerType::Replace:
        text = text_replace_all(text, s.matcher, s.spec.content);
        break;
      case NormalizerType::Nfc:
      case NormalizerType::Nfd:
      case NormalizerType::Nfkc:
      case NormalizerType::Nfkd:
        text = unicode_normalize(text, s.spec.type);
        break;
      case NormalizerType::Lowercase:
        text = unicode_lowercase(text);
        break;
      case NormalizerType::Strip:
        text = unicode_strip(text, s.spec.strip_left, s.spec.strip_right);
        break;
    }
  }
  return text;
}

}  // namespace loam

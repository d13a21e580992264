#include "tokenizer/decoder.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/utf8.h"

namespace loam {
namespace {

char32_t first_char(const std::string& s) {
  size_t i = 0;
  return s.empty() ? 0 : utf8_next(s, i);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "<0xNN>" -> NN, else -1.
int byte_token_value(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  const int hi = hex_value(t[3]), lo = hex_value(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::vector<std::string> byte_fallback(std::vector<std::string> tokens) {
  std::vector<std::string> out;
  std::string bytes;
  auto flush = [&] {
    if (bytes.empty()) return;
    if (utf8_valid(bytes)) out.push_back(bytes);
    else
      for (size_t i = 0; i < bytes.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
    bytes.clear();
  };
  for (std::string& t : tokens) {
    const int b = byte_token_value(t);
    if (b >= 0) {
      bytes.push_back(static_cast<char>(b));
      continue;
    }
    flush();
    out.push_back(std::move(t));
  }
  flush();
  return out;
}

// Chars of the byte-level map become their bytes; other chars stay UTF-8.
std::string byte_level_decode(const std::vector<std::string>& tokens) {
  std::string bytes;
  for (const std::string& t : tokens) {
    std::string mapped;
    bool all_mapped = true;
    for (size_t i = 0; i < t.size();) {
      const int b = byte_level_byte_of(utf8_next(t, i));
      if (b < 0) { all_mapped = false; break; }
      mapped.push_back(static_cast<char>(b));
    }
    bytes += all_mapped ? mapped : t;
  }
  return utf8_lossy(bytes);
}

std::string strip_token(const std::string& t, char32_t c, int32_t start, int32_t stop) {
  std::vector<size_t> starts;  // byte offset of each char, plus the end
  for (size_t i = 0; i < t.size();) {
    starts.push_back(i);
    utf8_next(t, i);
  }
  const size_t n = starts.size();
  starts.push_back(t.size());
  auto char_at = [&](size_t k) {
    size_t i = starts[k];
    return utf8_next(t, i);
  };
  size_t cut_begin = 0, cut_end = n;
  for (size_t k = 0; k < n && k < static_cast<size_t>(start); ++k) {
    if (char_at(k) != c) break;
    cut_begin = k + 1;
  }
  for (size_t k = 0; k < static_cast<size_t>(stop) && k < n; ++k) {
    const size_t idx = n - k - 1;
    if (char_at(idx) != c) break;
    cut_end = idx;
  }
  if (cut_end <= cut_begin) return "";
  return t.substr(starts[cut_begin], starts[cut_end] - starts[cut_begin]);
}

std::string metaspace_token(const std::string& t, char32_t rep, bool drop) {
  std::string out;
  for (size_t i = 0; i < t.size();) {
    const size_t b = i;
    const char32_t c = utf8_next(t, i);
    if (c == rep) {
      if (!drop) out.push_back(' ');
    } else {
      out.append(t, b, i - b);
    }
  }
  return out;
}

}  // namespace

Decoder::Decoder(const std::vector<DecoderStep>& steps, const std::string& where) {
  for (size_t i = 0; i < steps.size(); ++i) {
    Step s{steps[i], {}, 0, 0};
    if (s.spec.type == DecoderType::Replace)
      s.matcher = TextMatcher(s.spec.pattern, where + "[" + std::to_string(i) + "].pattern");
    s.strip_char = first_char(s.spec.content);
    s.replacement_char = first_char(s.spec.replacement);
    steps_.push_back(std::move(s));
  }
}

std::string Decoder::apply(std::vector<std::string> tokens) const {
  if (steps_.empty()) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const Step& s : steps_) {
    switch (s.spec.type) {
      case DecoderType::Replace:
        for (std::string& t : tokens) t = text_replace_all(t, s.matcher, s.spec.content);
        break;
      case DecoderType::ByteFallback:
        tokens = byte_fallback(std::move(tokens));
        break;
      case DecoderType::Fuse: {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens.assign(1, std::move(all));
        break;
      }
      case DecoderType::Strip:
        for (std::string& t : tokens) t = strip_token(t, s.strip_char, s.spec.start, s.spec.stop);
        break;
      case DecoderType::ByteLevel:
        tokens.assign(1, byte_level_decode(tokens));
        break;
      case DecoderType::Metaspace:
        for (size_t i = 0; i < tokens.size(); ++i)
          tokens[i] = metaspace_token(tokens[i], s.replacement_char,
                                      i == 0 && s.spec.prepend_scheme != PrependScheme::Never);
        break;
    }
  }
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

}  // namespace loam

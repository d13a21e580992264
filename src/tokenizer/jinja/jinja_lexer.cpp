// Lexer of the chat-template interpreter; see jinja_lexer.h.
//
// The preprocessing passes are textual, like the reference's regex
// replacements; each keeps, for every output byte, the offset it had in the
// original template so that errors can name the original line:column.
#include "tokenizer/jinja/jinja_lexer.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "tokenizer/jinja/jinja_string.h"

namespace loam::jinja {
namespace {

// Text with the original offset of each byte (at.size() == s.size() + 1:
// the last entry is the end of the original text).
struct Mapped {
  std::string s;
  std::vector<uint32_t> at;

  void push(char c, uint32_t from) {
    s += c;
    at.push_back(from);
  }
};

Mapped mapped_from(std::string_view src) {
  Mapped m;
  m.s.assign(src);
  m.at.resize(src.size() + 1);
  for (size_t k = 0; k <= src.size(); ++k) m.at[k] = static_cast<uint32_t>(k);
  return m;
}

Mapped finish(Mapped out, const Mapped& in) {
  out.at.push_back(in.at.back());
  return out;
}

bool ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

bool line_start(const std::string& s, size_t k) {
  if (k == 0) return true;
  char p = s[k - 1];
  if (p == '\n' || p == '\r') return true;
  // U+2028 / U+2029 (E2 80 A8/A9) end lines in JS regexes too.
  return k >= 3 && static_cast<unsigned char>(s[k - 3]) == 0xE2 &&
         static_cast<unsigned char>(s[k - 2]) == 0x80 &&
         (static_cast<unsigned char>(p) == 0xA8 || static_cast<unsigned char>(p) == 0xA9);
}

// lstrip_blocks: /^[ \t]*({[#%-])/gm -> "$1".
Mapped pass_lstrip_blocks(const Mapped& in) {
  Mapped out;
  const std::string& s = in.s;
  size_t k = 0;
  while (k < s.size()) {
    if (line_start(s, k)) {
      size_t j = k;
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
      if (j > k && j + 1 < s.size() && s[j] == '{' &&
          (s[j + 1] == '#' || s[j + 1] == '%' || s[j + 1] == '-')) {
        k = j;
      }
    }
    out.push(s[k], in.at[k]);
    ++k;
  }
  return finish(std::move(out), in);
}

// trim_blocks: /([#%-]})\n/g -> "$1".
Mapped pass_trim_blocks(const Mapped& in) {
  Mapped out;
  const std::string& s = in.s;
  size_t k = 0;
  while (k < s.size()) {
    if (k + 2 < s.size() && (s[k] == '#' || s[k] == '%' || s[k] == '-') && s[k + 1] == '}' &&
        s[k + 2] == '\n') {
      out.push(s[k], in.at[k]);
      out.push(s[k + 1], in.at[k + 1]);
      k += 3;
      continue;
    }
    out.push(s[k], in.at[k]);
    ++k;
  }
  return finish(std::move(out), in);
}

// If a `{%-? (end)?generation -?%}` tag starts at k, returns its end and the
// two strip flags.
bool match_generation(const std::string& s, size_t k, size_t* end, bool* lstrip, bool* rstrip) {
  if (s.compare(k, 2, "{%") != 0) return false;
  size_t j = k + 2;
  *lstrip = j < s.size() && s[j] == '-';
  if (*lstrip) ++j;
  while (j < s.size() && ascii_space(s[j])) ++j;
  if (s.compare(j, 3, "end") == 0) j += 3;
  if (s.compare(j, 10, "generation") != 0) return false;
  j += 10;
  while (j < s.size() && ascii_space(s[j])) ++j;
  *rstrip = j < s.size() && s[j] == '-';
  if (*rstrip) ++j;
  if (s.compare(j, 2, "%}") != 0) return false;
  *end = j + 2;
  return true;
}

// /(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs: the tag vanishes; the
// whitespace around it goes too on the side that has a '-'.
Mapped pass_generation(const Mapped& in) {
  Mapped out;
  const std::string& s = in.s;
  size_t protect = 0;  // output before this was consumed by an earlier match
  size_t k = 0;
  while (k < s.size()) {
    size_t end = 0;
    bool lstrip = false, rstrip = false;
    if (s[k] == '{' && match_generation(s, k, &end, &lstrip, &rstrip)) {
      if (lstrip) {
        while (out.s.size() > protect && ascii_space(out.s.back())) {
          out.s.pop_back();
          out.at.pop_back();
        }
      }
      k = end;
      size_t ws_end = k;
      while (ws_end < s.size() && ascii_space(s[ws_end])) ++ws_end;
      if (!rstrip) {
        for (size_t j = k; j < ws_end; ++j) out.push(s[j], in.at[j]);
      }
      k = ws_end;
      protect = out.s.size();
      continue;
    }
    out.push(s[k], in.at[k]);
    ++k;
  }
  return finish(std::move(out), in);
}

bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

struct Symbol {
  const char* text;
  Tok type;
};

// Order matters: longer sequences first where they share a prefix.
const Symbol kSymbols[] = {
    {"{%", Tok::OpenStmt},  {"%}", Tok::CloseStmt},   {"{{", Tok::OpenExpr},
    {"}}", Tok::CloseExpr}, {"(", Tok::LParen},       {")", Tok::RParen},
    {"{", Tok::LBrace},     {"}", Tok::RBrace},       {"[", Tok::LBracket},
    {"]", Tok::RBracket},   {",", Tok::Comma},        {".", Tok::Dot},
    {":", Tok::Colon},      {"|", Tok::Pipe},         {"<=", Tok::Comparison},
    {">=", Tok::Comparison}, {"==", Tok::Comparison}, {"!=", Tok::Comparison},
    {"<", Tok::Comparison}, {">", Tok::Comparison},   {"+", Tok::Additive},
    {"-", Tok::Additive},   {"~", Tok::Additive},     {"**", Tok::Power},
    {"*", Tok::Multiplicative}, {"//", Tok::Multiplicative}, {"/", Tok::Multiplicative},
    {"%", Tok::Multiplicative}, {"=", Tok::Equals},
};

class Lexer {
 public:
  Lexer(std::string_view source, const std::string& origin, Mapped text)
      : source_(source), origin_(origin), m_(std::move(text)), s_(m_.s) {
  }

  std::vector<Token> run();

 private:
  // Tokens come in source order, so positions advance from the last one:
  // linear in the template size overall.
  Pos pos_of(size_t k) const {
    size_t off = m_.at[std::min(k, s_.size())];
    if (off < cache_off_) {
      cache_off_ = 0;
      cache_pos_ = Pos{};
    }
    for (size_t j = cache_off_; j < off; ++j) {
      if (source_[j] == '\n') {
        ++cache_pos_.line;
        cache_pos_.col = 1;
      } else if ((static_cast<unsigned char>(source_[j]) & 0xC0) != 0x80) {
        ++cache_pos_.col;
      }
    }
    cache_off_ = off;
    return cache_pos_;
  }
  [[noreturn]] void error(size_t k, const std::string& message) const {
    throw Error(pos_where(origin_, pos_of(k)), message);
  }
  bool at(std::string_view seq) const { return s_.compare(c_, seq.size(), seq) == 0; }
  Tok last() const { return tokens_.empty() ? Tok::Text : tokens_.back().type; }
  void push(Tok type, std::string value, size_t start) {
    tokens_.push_back(Token{type, std::move(value), pos_of(start)});
  }
  void strip_trailing_text();
  void skip_space() {
    while (c_ < s_.size() && ascii_space(s_[c_])) ++c_;
  }
  bool lex_text();
  void lex_comment();
  std::string lex_string(char quote);
  void lex_number(size_t start, std::string prefix);
  void lex_escape(std::string& out);

  std::string_view source_;
  const std::string& origin_;
  Mapped m_;
  const std::string& s_;
  mutable size_t cache_off_ = 0;  // pos_of's last offset and its position
  mutable Pos cache_pos_;
  std::vector<Token> tokens_;
  size_t c_ = 0;
  int brace_depth_ = 0;  // `{` open inside an expression: `}}` closes dicts
};

void Lexer::strip_trailing_text() {
  if (!tokens_.empty() && tokens_.back().type == Tok::Text) {
    tokens_.back().value = text_trim(tokens_.back().value, false, true);
    if (tokens_.back().value.empty()) tokens_.pop_back();
  }
}

// Text runs until the next `{%`, `{{` or `{#`.
bool Lexer::lex_text() {
  size_t start = c_;
  while (c_ < s_.size() &&
         !(s_[c_] == '{' && c_ + 1 < s_.size() &&
           (s_[c_ + 1] == '%' || s_[c_ + 1] == '{' || s_[c_ + 1] == '#'))) {
    ++c_;
  }
  if (c_ == start) return false;
  push(Tok::Text, s_.substr(start, c_ - start), start);
  return true;
}

void Lexer::lex_comment() {
  size_t start = c_;
  c_ += 2;
  bool strip_before = c_ < s_.size() && s_[c_] == '-';
  if (strip_before) ++c_;
  size_t body = c_;
  size_t end = s_.find("#}", c_);
  if (end == std::string::npos) error(start, "unterminated comment: missing '#}'");
  std::string text = s_.substr(body, end - body);
  bool strip_after = !text.empty() && text.back() == '-';
  if (strip_after) text.pop_back();
  if (strip_before) strip_trailing_text();
  push(Tok::Comment, std::move(text), start);
  c_ = end + 2;
  if (strip_after) skip_space();
}

void Lexer::lex_escape(std::string& out) {
  size_t start = c_;
  ++c_;  // backslash
  if (c_ >= s_.size()) error(start, "unterminated string literal");
  char e = s_[c_++];
  switch (e) {
    case 'n': out += '\n'; return;
    case 't': out += '\t'; return;
    case 'r': out += '\r'; return;
    case 'b': out += '\b'; return;
    case 'f': out += '\f'; return;
    case 'v': out += '\v'; return;
    case '\'': out += '\''; return;
    case '"': out += '"'; return;
    case '\\': out += '\\'; return;
    case 'x':
    case 'u': {
      size_t len = e == 'x' ? 2 : 4;
      if (c_ + len > s_.size()) error(start, "invalid escape sequence");
      std::string hex = s_.substr(c_, len);
      if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        error(start, "invalid escape sequence '\\" + std::string(1, e) + hex + "'");
      }
      utf8_append(out, static_cast<char32_t>(std::stoul(hex, nullptr, 16)));
      c_ += len;
      return;
    }
    case '\n':  // line continuation, as Python's unicode-escape (the reference rejects it)
      return;
    default:
      // The reference rejects unknown escapes; Python keeps them verbatim.
      out += '\\';
      out += e;
  }
}

std::string Lexer::lex_string(char quote) {
  size_t start = c_;
  ++c_;
  std::string out;
  while (true) {
    if (c_ >= s_.size()) error(start, "unterminated string literal");
    char ch = s_[c_];
    if (ch == quote) break;
    if (ch == '\\') {
      lex_escape(out);
      continue;
    }
    out += ch;
    ++c_;
  }
  ++c_;
  return out;
}

void Lexer::lex_number(size_t start, std::string prefix) {
  std::string num = std::move(prefix);
  while (c_ < s_.size() && is_digit(s_[c_])) num += s_[c_++];
  bool after_dot = last() == Tok::Dot && !tokens_.empty();
  if (!after_dot && c_ + 1 < s_.size() && s_[c_] == '.' && is_digit(s_[c_ + 1])) {
    num += s_[c_++];
    while (c_ < s_.size() && is_digit(s_[c_])) num += s_[c_++];
  }
  push(Tok::Number, std::move(num), start);
}

std::vector<Token> Lexer::run() {
  while (c_ < s_.size()) {
    Tok prev = last();
    bool outside = tokens_.empty() || prev == Tok::CloseStmt || prev == Tok::CloseExpr ||
                   prev == Tok::Comment;
    if (outside && lex_text()) continue;
    if (at("{#")) {
      lex_comment();
      continue;
    }
    if (at("{%-") || at("{{-")) {
      strip_trailing_text();
      bool stmt = s_[c_ + 1] == '%';
      push(stmt ? Tok::OpenStmt : Tok::OpenExpr, stmt ? "{%" : "{{", c_);
      c_ += 3;
      continue;
    }
    skip_space();
    if (c_ >= s_.size()) error(c_, "unexpected end of template inside a tag");
    if (at("-%}") || at("-}}")) {
      bool stmt = s_[c_ + 1] == '%';
      push(stmt ? Tok::CloseStmt : Tok::CloseExpr, stmt ? "%}" : "}}", c_);
      c_ += 3;
      skip_space();
      continue;
    }
    char ch = s_[c_];
    if (ch == '-' || ch == '+') {
      if (tokens_.empty() || prev == Tok::Text) {
        error(c_, std::string("unexpected character '") + ch + "'");
      }
      bool binary = prev == Tok::Name || prev == Tok::Number || prev == Tok::String ||
                    prev == Tok::RParen || prev == Tok::RBracket;
      if (!binary) {
        size_t start = c_++;
        if (c_ < s_.size() && is_digit(s_[c_])) {
          lex_number(start, std::string(1, ch));
        } else {
          push(Tok::Unary, std::string(1, ch), start);
        }
        continue;
      }
    }
    bool matched = false;
    for (const Symbol& sym : kSymbols) {
      if (sym.type == Tok::CloseExpr && brace_depth_ > 0) continue;
      if (!at(sym.text)) continue;
      push(sym.type, sym.text, c_);
      if (sym.type == Tok::OpenExpr) brace_depth_ = 0;
      if (sym.type == Tok::LBrace) ++brace_depth_;
      if (sym.type == Tok::RBrace) --brace_depth_;
      c_ += std::strlen(sym.text);
      matched = true;
      break;
    }
    if (matched) continue;
    size_t start = c_;
    if (ch == '\'' || ch == '"') {
      push(Tok::String, lex_string(ch), start);
    } else if (is_digit(ch)) {
      lex_number(start, "");
    } else if (is_word(ch)) {
      while (c_ < s_.size() && is_word(s_[c_])) ++c_;
      push(Tok::Name, s_.substr(start, c_ - start), start);
    } else {
      std::vector<CodePoint> cp = utf8_code_points(std::string_view(s_).substr(c_, 4));
      error(c_, "unexpected character '" + s_.substr(c_, cp.empty() ? 1 : cp[0].length) + "'");
    }
  }
  return std::move(tokens_);
}

}  // namespace

std::string pos_where(const std::string& origin, Pos pos) {
  return origin + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.col);
}

std::vector<Token> jinja_tokenize(std::string_view source, const std::string& origin) {
  Mapped text = mapped_from(source);
  if (!text.s.empty() && text.s.back() == '\n') {
    text.s.pop_back();
    text.at.erase(text.at.end() - 2);
  }
  text = pass_lstrip_blocks(text);
  text = pass_trim_blocks(text);
  text = pass_generation(text);
  Lexer lexer(source, origin, std::move(text));
  return lexer.run();
}

}  // namespace loam::jinja

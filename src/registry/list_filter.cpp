// AIP-160 list filters and orderBy: a context-sensitive lexer (a word after a
// comparator may hold ':' so bare timestamps lex whole), a recursive-descent
// parser with the spec's precedence, and an evaluator over FilterRecord.
#include "registry/list_filter.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <optional>

#include "core/error.h"

namespace loam {
namespace {

constexpr int kMaxDepth = 64;

enum class Tok { End, LParen, RParen, Op, Minus, String, Word };

struct Token {
  Tok kind = Tok::End;
  size_t pos = 0;        // byte offset in the text
  std::string text;      // Word: as written; String: unescaped; Op: the operator
  FilterOp op = FilterOp::Eq;
};

// "filter:LINE:COL" for a byte offset.
std::string location(const std::string& what, const std::string& text, size_t pos) {
  int line = 1, col = 1;
  for (size_t i = 0; i < pos && i < text.size(); i++) {
    if (text[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  return what + ":" + std::to_string(line) + ":" + std::to_string(col);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_op_char(char c) { return c == '=' || c == '!' || c == '<' || c == '>' || c == ':'; }

class Lexer {
 public:
  Lexer(const std::string& text, const std::string& what) : s_(text), what_(what) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    bool value_position = false;  // the previous token was a comparator
    for (;;) {
      while (i_ < s_.size() && is_space(s_[i_])) i_++;
      Token t;
      t.pos = i_;
      if (i_ >= s_.size()) {
        out.push_back(t);
        return out;
      }
      const char c = s_[i_];
      if (c == '(' || c == ')') {
        t.kind = c == '(' ? Tok::LParen : Tok::RParen;
        i_++;
      } else if (c == '"' || c == '\'') {
        t.kind = Tok::String;
        t.text = quoted();
      } else if (is_op_char(c)) {
        t.kind = Tok::Op;
        t.op = op();
        t.text = s_.substr(t.pos, i_ - t.pos);
      } else if (c == '-' && !value_position && i_ + 1 < s_.size() && !is_space(s_[i_ + 1])) {
        t.kind = Tok::Minus;
        i_++;
      } else {
        t.kind = Tok::Word;
        while (i_ < s_.size() && !is_space(s_[i_]) && s_[i_] != '(' && s_[i_] != ')' && s_[i_] != '"' &&
               s_[i_] != '\'' && (value_position || !is_op_char(s_[i_])))
          i_++;
        t.text = s_.substr(t.pos, i_ - t.pos);
      }
      value_position = t.kind == Tok::Op;
      out.push_back(std::move(t));
    }
  }

 private:
  [[noreturn]] void fail(size_t pos, const std::string& msg) { throw Error(location(what_, s_, pos), msg); }

  FilterOp op() {
    const size_t start = i_;
    const char c = s_[i_++];
    const bool eq_next = i_ < s_.size() && s_[i_] == '=';
    switch (c) {
      case '=': return FilterOp::Eq;
      case ':': return FilterOp::Has;
      case '!':
        if (!eq_next) fail(start, "expected '=' after '!'");
        i_++;
        return FilterOp::Ne;
      case '<':
        if (eq_next) i_++;
        return eq_next ? FilterOp::Le : FilterOp::Lt;
      default:  // '>'
        if (eq_next) i_++;
        return eq_next ? FilterOp::Ge : FilterOp::Gt;
    }
  }

  std::string quoted() {
    const size_t start = i_;
    const char q = s_[i_++];
    std::string v;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\') {
        if (i_ + 1 >= s_.size()) break;
        const char e = s_[i_ + 1];
        switch (e) {
          case '"': case '\'': case '\\': case '*': v += e; break;
          case 'n': v += '\n'; break;
          case 't': v += '\t'; break;
          default: fail(i_, std::string("unknown escape '\\") + e + "' in a quoted string");
        }
        i_ += 2;
      } else {
        v += s_[i_++];
      }
    }
    if (i_ >= s_.size()) fail(start, std::string("unterminated string (no closing ") + q + ")");
    i_++;
    return v;
  }

  const std::string& s_;
  const std::string& what_;
  size_t i_ = 0;
};

const char* op_text(FilterOp op) {
  switch (op) {
    case FilterOp::Eq: return "=";
    case FilterOp::Ne: return "!=";
    case FilterOp::Lt: return "<";
    case FilterOp::Le: return "<=";
    case FilterOp::Gt: return ">";
    case FilterOp::Ge: return ">=";
    case FilterOp::Has: return ":";
  }
  return "?";
}

bool is_time_field(const std::string& member) {
  return member.rfind("labels.", 0) != 0 && member.size() > 5 && member.compare(member.size() - 5, 5, "_time") == 0;
}

std::string field_list(const ListFilterFields& fields) {
  std::string s;
  for (const auto& n : fields.names) s += n + ", ";
  return s + "labels.<key>";
}

// Checks a member name; returns an error message or "".
std::string member_problem(const std::string& m, const ListFilterFields& fields, bool has_op) {
  if (m == "labels") return has_op ? "" : "'labels' needs a key: labels.<key> or labels:<key>";
  if (m.rfind("labels.", 0) == 0) return m.size() > 7 ? "" : "expected a label key after 'labels.'";
  if (std::find(fields.names.begin(), fields.names.end(), m) != fields.names.end()) return "";
  return "unknown field '" + m + "' (fields: " + field_list(fields) + ")";
}

class Parser {
 public:
  Parser(const std::string& text, const ListFilterFields& fields)
      : text_(text), fields_(fields), toks_(Lexer(text, "filter").run()) {}

  std::unique_ptr<FilterNode> run() {
    if (peek().kind == Tok::End) return nullptr;
    auto root = std::make_unique<FilterNode>(expression(0));
    if (peek().kind != Tok::End) {
      if (peek().kind == Tok::RParen) fail(peek(), "unexpected ')' (no matching '(')");
      fail(peek(), "expected AND, OR or the end of the filter, found " + describe(peek()));
    }
    return root;
  }

 private:
  const Token& peek() const { return toks_[k_]; }
  const Token& next() { return toks_[k_ < toks_.size() - 1 ? k_++ : k_]; }
  bool is_keyword(const Token& t, const char* kw) const { return t.kind == Tok::Word && t.text == kw; }

  [[noreturn]] void fail(const Token& t, const std::string& msg) const {
    throw Error(location("filter", text_, t.pos), msg);
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::End: return "the end of the filter";
      case Tok::LParen: return "'('";
      case Tok::RParen: return "')'";
      case Tok::Op: return "'" + t.text + "'";
      case Tok::Minus: return "'-'";
      case Tok::String: return "a quoted string";
      case Tok::Word: return "'" + t.text + "'";
    }
    return "?";
  }

  bool starts_term(const Token& t) const {
    if (t.kind == Tok::LParen || t.kind == Tok::Minus || t.kind == Tok::String) return true;
    return t.kind == Tok::Word && t.text != "AND" && t.text != "OR";
  }

  static FilterNode join(FilterNode::Kind kind, std::vector<FilterNode> parts) {
    if (parts.size() == 1) return std::move(parts[0]);
    FilterNode n;
    n.kind = kind;
    n.children = std::move(parts);
    return n;
  }

  FilterNode expression(int depth) {
    if (depth > kMaxDepth) fail(peek(), "filter nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
    std::vector<FilterNode> parts;
    parts.push_back(sequence(depth));
    while (is_keyword(peek(), "AND")) {
      const Token& and_tok = next();
      if (!starts_term(peek())) fail(peek(), "expected a restriction after AND (at column " +
                                                 std::to_string(and_tok.pos + 1) + "), found " + describe(peek()));
      parts.push_back(sequence(depth));
    }
    return join(FilterNode::Kind::And, std::move(parts));
  }

  FilterNode sequence(int depth) {
    std::vector<FilterNode> parts;
    parts.push_back(factor(depth));
    while (starts_term(peek())) parts.push_back(factor(depth));
    return join(FilterNode::Kind::And, std::move(parts));
  }

  FilterNode factor(int depth) {
    std::vector<FilterNode> parts;
    parts.push_back(term(depth));
    while (is_keyword(peek(), "OR")) {
      next();
      if (!starts_term(peek())) fail(peek(), "expected a restriction after OR, found " + describe(peek()));
      parts.push_back(term(depth));
    }
    return join(FilterNode::Kind::Or, std::move(parts));
  }

  FilterNode term(int depth) {
    if (peek().kind == Tok::Minus || is_keyword(peek(), "NOT")) {
      const Token& neg = next();
      if (depth + 1 > kMaxDepth) fail(neg, "filter nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
      if (!starts_term(peek())) fail(peek(), "expected a restriction after " + describe(neg) + ", found " + describe(peek()));
      FilterNode n;
      n.kind = FilterNode::Kind::Not;
      n.children.push_back(term(depth + 1));
      return n;
    }
    if (peek().kind == Tok::LParen) {
      const Token& open = next();
      if (peek().kind == Tok::RParen) fail(peek(), "expected a restriction inside '()'");
      FilterNode inner = expression(depth + 1);
      if (peek().kind != Tok::RParen)
        fail(peek(), "expected ')' to close the '(' at column " + std::to_string(open.pos + 1) + ", found " +
                         describe(peek()));
      next();
      return inner;
    }
    return restriction();
  }

  FilterNode restriction() {
    const Token& lhs = next();
    if (lhs.kind != Tok::Word && lhs.kind != Tok::String)
      fail(lhs, "expected a restriction, found " + describe(lhs));
    if (lhs.kind == Tok::Word && (lhs.text == "AND" || lhs.text == "OR" || lhs.text == "NOT"))
      fail(lhs, "expected a restriction, found '" + lhs.text + "'");
    FilterNode n;
    if (peek().kind != Tok::Op) {  // global restriction: a bare word or string
      n.kind = FilterNode::Kind::Global;
      n.value = lhs.text;
      return n;
    }
    const Token& op = next();
    if (lhs.kind == Tok::String) fail(lhs, "expected a field name before '" + op.text + "', found a quoted string");
    const std::string problem = member_problem(lhs.text, fields_, true);
    if (!problem.empty()) fail(lhs, problem);
    if (lhs.text == "labels" && op.op != FilterOp::Has) fail(op, "compare a label as labels.<key>, not labels");
    const Token& val = peek();
    if (val.kind != Tok::Word && val.kind != Tok::String)
      fail(val, "expected a value after '" + op.text + "'");
    if (val.kind == Tok::Word && (val.text == "AND" || val.text == "OR" || val.text == "NOT"))
      fail(val, "expected a value after '" + op.text + "', found '" + val.text + "' (quote it to use it as a value)");
    next();
    n.member = lhs.text;
    n.op = op.op;
    n.value = val.text;
    if (is_time_field(n.member) && !(n.op == FilterOp::Has && n.value == "*")) {
      int64_t ns = 0;
      if (!rfc3339_parse(n.value, &ns))
        fail(val, "'" + n.value + "' is not an RFC 3339 timestamp (like \"2026-01-31T12:00:00Z\") for " + n.member);
    }
    return n;
  }

  const std::string& text_;
  const ListFilterFields& fields_;
  std::vector<Token> toks_;
  size_t k_ = 0;
};

std::optional<std::string> lookup(const std::string& member, const FilterRecord& r) {
  if (member.rfind("labels.", 0) == 0) {
    auto it = r.labels.find(member.substr(7));
    if (it == r.labels.end()) return std::nullopt;
    return it->second;
  }
  auto it = r.fields.find(member);
  if (it == r.fields.end()) return std::nullopt;
  return it->second;
}

bool parse_number(const std::string& s, double* out) {
  if (s.empty() || is_space(s[0])) return false;
  errno = 0;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size();
}

// -1, 0, 1: times as instants, numbers as numbers, else bytes.
int compare_values(const std::string& member, const std::string& a, const std::string& b) {
  if (is_time_field(member)) {
    int64_t x = 0, y = 0;
    if (rfc3339_parse(a, &x) && rfc3339_parse(b, &y)) return x < y ? -1 : x > y ? 1 : 0;
  }
  double x = 0, y = 0;
  if (parse_number(a, &x) && parse_number(b, &y)) return x < y ? -1 : x > y ? 1 : 0;
  const int c = a.compare(b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool contains_ci(const std::string& hay, const std::string& needle) {
  return lower(hay).find(lower(needle)) != std::string::npos;
}

// '*' matches any run of characters (iterative, linear-ish backtracking).
bool glob_match(const std::string& pat, const std::string& s) {
  size_t p = 0, i = 0, star = std::string::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] != '*' && pat[p] == s[i]) {
      p++;
      i++;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (star != std::string::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') p++;
  return p == pat.size();
}

bool eval_compare(const FilterNode& n, const FilterRecord& r) {
  if (n.member == "labels") return r.labels.count(n.value) > 0;  // labels:key
  const std::optional<std::string> v = lookup(n.member, r);
  if (!v) return n.op == FilterOp::Ne;
  const bool wildcard = n.value.find('*') != std::string::npos && !is_time_field(n.member);
  switch (n.op) {
    case FilterOp::Has: return n.value == "*" || contains_ci(*v, n.value);
    case FilterOp::Eq: return wildcard ? glob_match(n.value, *v) : compare_values(n.member, *v, n.value) == 0;
    case FilterOp::Ne: return wildcard ? !glob_match(n.value, *v) : compare_values(n.member, *v, n.value) != 0;
    case FilterOp::Lt: return compare_values(n.member, *v, n.value) < 0;
    case FilterOp::Le: return compare_values(n.member, *v, n.value) <= 0;
    case FilterOp::Gt: return compare_values(n.member, *v, n.value) > 0;
    case FilterOp::Ge: return compare_values(n.member, *v, n.value) >= 0;
  }
  return false;
}

bool eval(const FilterNode& n, const FilterRecord& r) {
  switch (n.kind) {
    case FilterNode::Kind::And:
      for (const auto& c : n.children)
        if (!eval(c, r)) return false;
      return true;
    case FilterNode::Kind::Or:
      for (const auto& c : n.children)
        if (eval(c, r)) return true;
      return false;
    case FilterNode::Kind::Not: return !eval(n.children[0], r);
    case FilterNode::Kind::Compare: return eval_compare(n, r);
    case FilterNode::Kind::Global:
      for (const auto& [k, v] : r.fields)
        if (contains_ci(v, n.value)) return true;
      for (const auto& [k, v] : r.labels)
        if (contains_ci(v, n.value)) return true;
      return false;
  }
  return false;
}

std::string quote(const std::string& v) {
  std::string s = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') s += '\\';
    if (c == '\n') {
      s += "\\n";
      continue;
    }
    if (c == '\t') {
      s += "\\t";
      continue;
    }
    s += c;
  }
  return s + "\"";
}

std::string format(const FilterNode& n) {
  switch (n.kind) {
    case FilterNode::Kind::And:
    case FilterNode::Kind::Or: {
      std::string s = "(";
      for (size_t i = 0; i < n.children.size(); i++) {
        if (i) s += n.kind == FilterNode::Kind::And ? " AND " : " OR ";
        s += format(n.children[i]);
      }
      return s + ")";
    }
    case FilterNode::Kind::Not: return "NOT " + format(n.children[0]);
    case FilterNode::Kind::Compare: return n.member + " " + op_text(n.op) + " " + quote(n.value);
    case FilterNode::Kind::Global: return quote(n.value);
  }
  return "";
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {  // proleptic Gregorian
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

bool rfc3339_parse(const std::string& s, int64_t* ns_since_epoch) {
  auto digits = [&](size_t at, size_t n, int* out) {
    if (at + n > s.size()) return false;
    int v = 0;
    for (size_t i = at; i < at + n; i++) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int Y, M, D, h, m, sec;
  if (!digits(0, 4, &Y) || s.size() < 20 || s[4] != '-' || !digits(5, 2, &M) || s[7] != '-' || !digits(8, 2, &D))
    return false;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
  if (!digits(11, 2, &h) || s[13] != ':' || !digits(14, 2, &m) || s[16] != ':' || !digits(17, 2, &sec)) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
  if (M < 1 || M > 12 || D < 1 || D > kDays[M - 1] + (M == 2 && leap) || h > 23 || m > 59 || sec > 60) return false;
  size_t i = 19;
  int64_t frac_ns = 0;
  if (i < s.size() && s[i] == '.') {
    i++;
    const size_t start = i;
    int64_t scale = 100000000;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      frac_ns += (s[i] - '0') * scale;
      scale /= 10;
      i++;
    }
    if (i == start) return false;
  }
  int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits(i + 1, 2, &oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(i + 4, 2, &om) || oh > 23 || om > 59)
      return false;
    offset_s = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  const int64_t secs = days_from_civil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D)) * 86400 + h * 3600 +
                       m * 60 + sec - offset_s;
  // Nanoseconds since 1970 fit int64 for 1677-09-21..2262-04-11 only; a
  // time outside that is refused rather than wrapped (found by list_filter_fuzz).
  constexpr int64_t kMaxSecs = std::numeric_limits<int64_t>::max() / 1000000000 - 1;
  if (secs < -kMaxSecs || secs > kMaxSecs) return false;
  *ns_since_epoch = secs * 1000000000 + frac_ns;
  return true;
}

ListFilter list_filter_parse(const std::string& text, const ListFilterFields& fields) {
  ListFilter f;
  f.text = text;
  f.root = Parser(text, fields).run();
  return f;
}

bool list_filter_matches(const ListFilter& f, const FilterRecord& r) { return !f.root || eval(*f.root, r); }

std::string list_filter_format(const ListFilter& f) { return f.root ? format(*f.root) : ""; }

OrderBy order_by_parse(const std::string& text, const ListFilterFields& fields) {
  OrderBy out;
  size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && is_space(text[i])) i++;
  };
  auto word = [&] {
    const size_t start = i;
    while (i < text.size() && !is_space(text[i]) && text[i] != ',') i++;
    return text.substr(start, i - start);
  };
  skip();
  if (i == text.size()) return out;
  for (;;) {
    skip();
    const size_t at = i;
    const std::string member = word();
    if (member.empty()) throw Error(location("order_by", text, at), "expected a field name");
    const std::string problem = member_problem(member, fields, false);
    if (!problem.empty()) throw Error(location("order_by", text, at), problem);
    OrderKey key{member, false};
    skip();
    if (i < text.size() && text[i] != ',') {
      const size_t dir_at = i;
      const std::string dir = word();
      if (dir == "desc") {
        key.descending = true;
      } else if (dir != "asc") {
        throw Error(location("order_by", text, dir_at), "expected 'asc', 'desc' or ',' after " + member + ", found '" + dir + "'");
      }
      skip();
    }
    out.push_back(key);
    if (i == text.size()) return out;
    if (text[i] != ',') throw Error(location("order_by", text, i), "expected ',' between sort keys");
    i++;
  }
}

bool order_by_less(const OrderBy& order, const FilterRecord& a, const FilterRecord& b) {
  for (const OrderKey& k : order) {
    const auto x = lookup(k.member, a), y = lookup(k.member, b);
    int c = 0;
    if (!x || !y) {
      c = x ? 1 : y ? -1 : 0;
    } else {
      c = compare_values(k.member, *x, *y);
    }
    if (c != 0) return k.descending ? c > 0 : c < 0;
  }
  return false;
}

}  // namespace loam

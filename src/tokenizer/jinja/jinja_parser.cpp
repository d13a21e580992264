// Parser of the chat-template interpreter; see jinja_parser.h.
#include "tokenizer/jinja/jinja_parser.h"

#include <cstdlib>
#include <initializer_list>
#include <set>
#include <string_view>

#include "core/error.h"
#include "tokenizer/jinja/jinja_filters.h"

namespace loam::jinja {
namespace {

const char* tok_name(Tok t) {
  switch (t) {
    case Tok::Text: return "text";
    case Tok::Number: return "number";
    case Tok::String: return "string";
    case Tok::Name: return "name";
    case Tok::Comment: return "comment";
    default: return nullptr;
  }
}

std::string describe(const Token& t) {
  const char* n = tok_name(t.type);
  if (n && t.type != Tok::Text && t.type != Tok::Comment) return std::string(n) + " '" + t.value + "'";
  if (n) return n;
  return "'" + t.value + "'";
}

NodePtr make(NodeKind kind, Pos pos) {
  auto n = std::make_unique<Node>();
  n->kind = kind;
  n->pos = pos;
  return n;
}

// Does any Name node in the subtree read `name`? (kwargs/varargs in macros)
bool reads_name(const Node* n, std::string_view name) {
  if (!n) return false;
  if (n->kind == NodeKind::Name && n->str == name) return true;
  for (const Node* child : {n->a.get(), n->b.get(), n->c.get()}) {
    if (reads_name(child, name)) return true;
  }
  for (const auto* list : {&n->items, &n->body, &n->alt}) {
    for (const NodePtr& child : *list) {
      if (reads_name(child.get(), name)) return true;
    }
  }
  return false;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& origin)
      : t_(tokens), origin_(origin) {}

  std::vector<NodePtr> program() {
    std::vector<NodePtr> body;
    while (cur_ < t_.size()) push_any(body);
    return body;
  }

 private:
  enum class Mode { Call, Params };

  bool at_end() const { return cur_ >= t_.size(); }
  bool is(Tok type, size_t k = 0) const {
    return cur_ + k < t_.size() && t_[cur_ + k].type == type;
  }
  bool is_name(std::string_view v, size_t k = 0) const {
    return is(Tok::Name, k) && t_[cur_ + k].value == v;
  }
  bool is_stmt(std::initializer_list<std::string_view> names) const {
    if (!is(Tok::OpenStmt) || !is(Tok::Name, 1)) return false;
    for (std::string_view n : names) {
      if (t_[cur_ + 1].value == n) return true;
    }
    return false;
  }
  Pos here() const {
    if (!at_end()) return t_[cur_].pos;
    return t_.empty() ? Pos{} : t_.back().pos;
  }
  [[noreturn]] void error(Pos pos, const std::string& message) const {
    throw Error(pos_where(origin_, pos), message);
  }
  const Token& expect(Tok type, const char* what) {
    if (!is(type)) {
      error(here(), std::string("expected ") + what + ", found " +
                        (at_end() ? std::string("end of template") : describe(t_[cur_])));
    }
    return t_[cur_++];
  }
  void expect_end_tag(const char* name, Pos opened) {
    if (at_end()) error(opened, std::string("missing {% ") + name + " %} for this block");
    expect(Tok::OpenStmt, "'{%'");
    if (!is_name(name)) error(here(), std::string("expected '") + name + "'");
    ++cur_;
    expect(Tok::CloseStmt, "'%}'");
  }
  // Parses nodes into `out` until one of the tags `ends` (not consumed).
  void block_until(std::vector<NodePtr>& out, std::initializer_list<std::string_view> ends,
                   const char* missing, Pos opened) {
    while (!is_stmt(ends)) {
      if (at_end()) error(opened, std::string("missing {% ") + missing + " %} for this block");
      push_any(out);
    }
  }

  void push_any(std::vector<NodePtr>& out);
  NodePtr statement();
  NodePtr set_statement(Pos pos);
  NodePtr if_statement(Pos pos);
  NodePtr for_statement(Pos pos);
  NodePtr macro_statement(Pos pos);
  NodePtr call_block(Pos pos);
  NodePtr filter_block(Pos pos);

  NodePtr expression();
  NodePtr sequence(bool primary_only);
  NodePtr logical_or();
  NodePtr logical_and();
  NodePtr logical_not();
  NodePtr comparison();
  NodePtr additive();
  NodePtr multiplicative();
  NodePtr power();
  NodePtr test();
  NodePtr filter();
  NodePtr unary();
  NodePtr call_member();
  NodePtr call(NodePtr callee);
  NodePtr member(NodePtr object);
  NodePtr subscript(Pos pos);
  NodePtr primary();
  std::vector<NodePtr> args(Mode mode);

  const std::vector<Token>& t_;
  const std::string& origin_;
  size_t cur_ = 0;
  int loop_depth_ = 0;
  int depth_ = 0;  // nesting of blocks and sub-expressions, bounded to protect the stack
};

// Bounds recursion: real templates nest a few levels; a hostile one could
// nest thousands and overflow the stack.
class Nesting {
 public:
  static constexpr int kMax = 200;
  Nesting(int& depth, bool too_deep_is_error) : depth_(depth) {
    if (++depth_ > kMax && too_deep_is_error) too_deep_ = true;
  }
  ~Nesting() { --depth_; }
  bool too_deep() const { return too_deep_; }

 private:
  int& depth_;
  bool too_deep_ = false;
};

void Parser::push_any(std::vector<NodePtr>& out) {
  const Token& tok = t_[cur_];
  switch (tok.type) {
    case Tok::Comment:
      ++cur_;
      return;
    case Tok::Text: {
      NodePtr n = make(NodeKind::Text, tok.pos);
      n->str = tok.value;
      ++cur_;
      out.push_back(std::move(n));
      return;
    }
    case Tok::OpenStmt:
      out.push_back(statement());
      return;
    case Tok::OpenExpr: {
      ++cur_;
      out.push_back(expression());
      expect(Tok::CloseExpr, "'}}'");
      return;
    }
    default:
      error(tok.pos, "unexpected " + describe(tok));
  }
}

NodePtr Parser::statement() {
  Nesting nesting(depth_, true);
  if (nesting.too_deep()) error(here(), "template nested too deeply");
  Pos open = t_[cur_].pos;
  ++cur_;  // {%
  if (!is(Tok::Name)) error(here(), "expected a tag name after '{%'");
  const std::string name = t_[cur_].value;
  Pos pos = t_[cur_].pos;
  ++cur_;
  if (name == "set") return set_statement(pos);
  if (name == "if") {
    NodePtr n = if_statement(pos);
    expect_end_tag("endif", open);
    return n;
  }
  if (name == "for") {
    NodePtr n = for_statement(pos);
    expect_end_tag("endfor", open);
    return n;
  }
  if (name == "macro") {
    NodePtr n = macro_statement(pos);
    expect_end_tag("endmacro", open);
    return n;
  }
  if (name == "call") return call_block(pos);
  if (name == "filter") return filter_block(pos);
  if (name == "break" || name == "continue") {
    if (loop_depth_ == 0) error(pos, "'" + name + "' outside a for loop");
    expect(Tok::CloseStmt, "'%}'");
    return make(name == "break" ? NodeKind::Break : NodeKind::Continue, pos);
  }
  static const std::set<std::string, std::less<>> kClosers = {
      "endif", "elif", "else", "endfor", "endset", "endmacro", "endcall", "endfilter"};
  if (kClosers.count(name)) error(pos, "unexpected '{% " + name + " %}'");
  error(pos, "unsupported tag '" + name + "'");
}

NodePtr Parser::set_statement(Pos pos) {
  NodePtr n = make(NodeKind::Set, pos);
  n->a = sequence(false);
  const Node& target = *n->a;
  bool ok = target.kind == NodeKind::Name ||
            (target.kind == NodeKind::Member && target.b->kind == NodeKind::Str);
  if (target.kind == NodeKind::Tuple) {
    ok = true;
    for (const NodePtr& e : target.items) ok = ok && e->kind == NodeKind::Name;
  }
  if (!ok) error(target.pos, "cannot assign to this expression");
  if (is(Tok::Equals)) {
    ++cur_;
    n->b = sequence(false);
    expect(Tok::CloseStmt, "'%}'");
    return n;
  }
  expect(Tok::CloseStmt, "'=' or '%}'");
  block_until(n->body, {"endset"}, "endset", pos);
  expect_end_tag("endset", pos);
  return n;
}

NodePtr Parser::if_statement(Pos pos) {
  NodePtr n = make(NodeKind::If, pos);
  n->a = expression();
  expect(Tok::CloseStmt, "'%}'");
  block_until(n->body, {"elif", "else", "endif"}, "endif", pos);
  if (is_stmt({"elif"})) {
    Pos elif_pos = t_[cur_ + 1].pos;
    cur_ += 2;
    n->alt.push_back(if_statement(elif_pos));
  } else if (is_stmt({"else"})) {
    cur_ += 2;
    expect(Tok::CloseStmt, "'%}'");
    block_until(n->alt, {"endif"}, "endif", pos);
  }
  return n;
}

NodePtr Parser::for_statement(Pos pos) {
  NodePtr n = make(NodeKind::For, pos);
  n->a = sequence(true);
  bool ok = n->a->kind == NodeKind::Name;
  if (n->a->kind == NodeKind::Tuple) {
    ok = true;
    for (const NodePtr& e : n->a->items) ok = ok && e->kind == NodeKind::Name;
  }
  if (!ok) error(n->a->pos, "expected a name or names as the loop variable");
  if (!is_name("in")) error(here(), "expected 'in' after the loop variable");
  ++cur_;
  NodePtr iterable = expression();
  if (iterable->kind == NodeKind::Select) {  // `for x in xs if cond`
    n->b = std::move(iterable->a);
    n->c = std::move(iterable->b);
  } else {
    n->b = std::move(iterable);
  }
  if (is_name("recursive")) error(here(), "unsupported loop modifier 'recursive'");
  expect(Tok::CloseStmt, "'%}'");
  ++loop_depth_;
  block_until(n->body, {"endfor", "else"}, "endfor", pos);
  --loop_depth_;
  if (is_stmt({"else"})) {
    cur_ += 2;
    expect(Tok::CloseStmt, "'%}'");
    block_until(n->alt, {"endfor"}, "endfor", pos);
  }
  return n;
}

NodePtr Parser::macro_statement(Pos pos) {
  NodePtr n = make(NodeKind::Macro, pos);
  n->str = expect(Tok::Name, "a macro name").value;
  n->items = args(Mode::Params);
  expect(Tok::CloseStmt, "'%}'");
  int saved = loop_depth_;
  loop_depth_ = 0;
  block_until(n->body, {"endmacro"}, "endmacro", pos);
  loop_depth_ = saved;
  for (const NodePtr& stmt : n->body) {
    if (reads_name(stmt.get(), "kwargs")) n->i |= 1;
    if (reads_name(stmt.get(), "varargs")) n->i |= 2;
  }
  return n;
}

NodePtr Parser::call_block(Pos pos) {
  NodePtr n = make(NodeKind::CallBlock, pos);
  if (is(Tok::LParen)) n->items = args(Mode::Params);
  const Token& callee = expect(Tok::Name, "a macro name");
  NodePtr c = make(NodeKind::Call, callee.pos);
  NodePtr name = make(NodeKind::Name, callee.pos);
  name->str = callee.value;
  c->a = std::move(name);
  c->items = args(Mode::Call);
  n->a = std::move(c);
  expect(Tok::CloseStmt, "'%}'");
  block_until(n->body, {"endcall"}, "endcall", pos);
  expect_end_tag("endcall", pos);
  return n;
}

NodePtr Parser::filter_block(Pos pos) {
  NodePtr n = make(NodeKind::FilterBlock, pos);
  const Token& name = expect(Tok::Name, "a filter name");
  if (!filter_exists(name.value)) error(name.pos, "unsupported filter '" + name.value + "'");
  n->str = name.value;
  n->pos = name.pos;
  if (is(Tok::LParen)) n->items = args(Mode::Call);
  expect(Tok::CloseStmt, "'%}'");
  block_until(n->body, {"endfilter"}, "endfilter", pos);
  expect_end_tag("endfilter", pos);
  return n;
}

NodePtr Parser::expression() {
  Nesting nesting(depth_, true);
  if (nesting.too_deep()) error(here(), "template nested too deeply");
  NodePtr value = logical_or();
  if (!is_name("if")) return value;
  Pos pos = t_[cur_].pos;
  ++cur_;
  NodePtr cond = logical_or();
  if (is_name("else")) {
    ++cur_;
    NodePtr n = make(NodeKind::Ternary, pos);
    n->a = std::move(cond);
    n->b = std::move(value);
    n->c = expression();
    return n;
  }
  NodePtr n = make(NodeKind::Select, pos);
  n->a = std::move(value);
  n->b = std::move(cond);
  return n;
}

NodePtr Parser::sequence(bool primary_only) {
  NodePtr first = primary_only ? primary() : expression();
  if (!is(Tok::Comma)) return first;
  NodePtr tuple = make(NodeKind::Tuple, first->pos);
  tuple->items.push_back(std::move(first));
  while (is(Tok::Comma)) {
    ++cur_;
    tuple->items.push_back(primary_only ? primary() : expression());
  }
  return tuple;
}

NodePtr binary(std::string op, Pos pos, NodePtr left, NodePtr right) {
  NodePtr n = make(NodeKind::Binary, pos);
  n->str = std::move(op);
  n->a = std::move(left);
  n->b = std::move(right);
  return n;
}

NodePtr Parser::logical_or() {
  NodePtr left = logical_and();
  while (is_name("or")) {
    Pos pos = t_[cur_++].pos;
    left = binary("or", pos, std::move(left), logical_and());
  }
  return left;
}

NodePtr Parser::logical_and() {
  NodePtr left = logical_not();
  while (is_name("and")) {
    Pos pos = t_[cur_++].pos;
    left = binary("and", pos, std::move(left), logical_not());
  }
  return left;
}

NodePtr Parser::logical_not() {
  Nesting nesting(depth_, true);
  if (nesting.too_deep()) error(here(), "template nested too deeply");
  if (!is_name("not")) return comparison();
  NodePtr n = make(NodeKind::Unary, t_[cur_++].pos);
  n->str = "not";
  n->a = logical_not();
  return n;
}

NodePtr Parser::comparison() {
  NodePtr left = additive();
  while (true) {
    std::string op;
    Pos pos = here();
    if (is_name("not") && is_name("in", 1)) {
      op = "not in";
      cur_ += 2;
    } else if (is_name("in") || is(Tok::Comparison)) {
      op = t_[cur_++].value;
    } else {
      return left;
    }
    left = binary(op, pos, std::move(left), additive());
  }
}

NodePtr Parser::additive() {
  NodePtr left = multiplicative();
  while (is(Tok::Additive)) {
    const Token& op = t_[cur_++];
    left = binary(op.value, op.pos, std::move(left), multiplicative());
  }
  return left;
}

NodePtr Parser::multiplicative() {
  NodePtr left = power();
  while (is(Tok::Multiplicative)) {
    const Token& op = t_[cur_++];
    left = binary(op.value, op.pos, std::move(left), power());
  }
  return left;
}

NodePtr Parser::power() {
  NodePtr left = test();
  while (is(Tok::Power)) {
    const Token& op = t_[cur_++];
    left = binary(op.value, op.pos, std::move(left), test());
  }
  return left;
}

NodePtr Parser::test() {
  NodePtr operand = filter();
  while (is_name("is")) {
    ++cur_;
    bool negate = is_name("not");
    if (negate) ++cur_;
    const Token& name = expect(Tok::Name, "a test name after 'is'");
    if (!test_exists(name.value)) error(name.pos, "unsupported test '" + name.value + "'");
    NodePtr n = make(NodeKind::Test, name.pos);
    n->str = name.value;
    n->flag = negate;
    n->a = std::move(operand);
    if (is(Tok::LParen)) {
      n->items = args(Mode::Call);
    } else if (is(Tok::Number) || is(Tok::String)) {  // jinja2: `x is divisibleby 3`
      n->items.push_back(primary());
    }
    operand = std::move(n);
  }
  return operand;
}

NodePtr Parser::filter() {
  NodePtr operand = unary();
  while (is(Tok::Pipe)) {
    ++cur_;
    const Token& name = expect(Tok::Name, "a filter name after '|'");
    if (!filter_exists(name.value)) error(name.pos, "unsupported filter '" + name.value + "'");
    NodePtr n = make(NodeKind::Filter, name.pos);
    n->str = name.value;
    n->a = std::move(operand);
    if (is(Tok::LParen)) n->items = args(Mode::Call);
    operand = std::move(n);
  }
  return operand;
}

NodePtr Parser::unary() {
  Nesting nesting(depth_, true);
  if (nesting.too_deep()) error(here(), "template nested too deeply");
  if ((is(Tok::Unary) || is(Tok::Additive)) &&
      (t_[cur_].value == "-" || t_[cur_].value == "+")) {
    const Token& op = t_[cur_++];
    NodePtr n = make(NodeKind::Unary, op.pos);
    n->str = op.value;
    n->a = unary();
    return n;
  }
  return call_member();
}

NodePtr Parser::call_member() {
  NodePtr m = member(primary());
  if (is(Tok::LParen)) return call(std::move(m));
  return m;
}

NodePtr Parser::call(NodePtr callee) {
  NodePtr n = make(NodeKind::Call, callee->pos);
  n->a = std::move(callee);
  n->items = args(Mode::Call);
  NodePtr m = member(std::move(n));
  if (is(Tok::LParen)) return call(std::move(m));
  return m;
}

NodePtr Parser::member(NodePtr object) {
  while (is(Tok::Dot) || is(Tok::LBracket)) {
    const Token& op = t_[cur_++];
    NodePtr n = make(NodeKind::Member, op.pos);
    n->a = std::move(object);
    if (op.type == Tok::LBracket) {
      n->b = subscript(op.pos);
      expect(Tok::RBracket, "']'");
    } else if (is(Tok::Name)) {
      n->b = make(NodeKind::Str, t_[cur_].pos);
      n->b->str = t_[cur_++].value;
      n->pos = n->b->pos;
    } else if (is(Tok::Number) && t_[cur_].value.find('.') == std::string::npos) {
      n->b = make(NodeKind::Int, t_[cur_].pos);
      n->b->i = std::strtoll(t_[cur_++].value.c_str(), nullptr, 10);
    } else {
      error(here(), "expected a name or an integer after '.'");
    }
    object = std::move(n);
  }
  return object;
}

NodePtr Parser::subscript(Pos pos) {
  std::vector<NodePtr> parts;
  bool is_slice = false;
  while (!is(Tok::RBracket)) {
    if (at_end()) error(pos, "missing ']'");
    if (is(Tok::Colon)) {
      parts.push_back(nullptr);
      ++cur_;
      is_slice = true;
    } else {
      parts.push_back(expression());
      if (is(Tok::Colon)) {
        ++cur_;
        is_slice = true;
      }
    }
  }
  if (parts.empty()) error(pos, "expected an index or a slice inside '[]'");
  if (!is_slice) return std::move(parts[0]);
  if (parts.size() > 3) error(pos, "a slice takes at most 3 parts");
  NodePtr n = make(NodeKind::Slice, pos);
  parts.resize(3);
  n->a = std::move(parts[0]);
  n->b = std::move(parts[1]);
  n->c = std::move(parts[2]);
  return n;
}

NodePtr Parser::primary() {
  if (at_end()) error(here(), "unexpected end of template in an expression");
  const Token& tok = t_[cur_++];
  switch (tok.type) {
    case Tok::Number: {
      if (tok.value.find('.') != std::string::npos) {
        NodePtr n = make(NodeKind::Float, tok.pos);
        n->f = std::strtod(tok.value.c_str(), nullptr);
        return n;
      }
      NodePtr n = make(NodeKind::Int, tok.pos);
      n->i = std::strtoll(tok.value.c_str(), nullptr, 10);
      return n;
    }
    case Tok::String: {
      NodePtr n = make(NodeKind::Str, tok.pos);
      n->str = tok.value;
      while (is(Tok::String)) n->str += t_[cur_++].value;  // 'a' 'b' concatenates
      return n;
    }
    case Tok::Name: {
      const std::string& v = tok.value;
      if (v == "true" || v == "True" || v == "false" || v == "False") {
        NodePtr n = make(NodeKind::Bool, tok.pos);
        n->flag = v == "true" || v == "True";
        return n;
      }
      if (v == "none" || v == "None") return make(NodeKind::None, tok.pos);
      NodePtr n = make(NodeKind::Name, tok.pos);
      n->str = v;
      return n;
    }
    case Tok::LParen: {
      NodePtr n = sequence(false);
      expect(Tok::RParen, "')'");
      return n;
    }
    case Tok::LBracket: {
      NodePtr n = make(NodeKind::List, tok.pos);
      while (!is(Tok::RBracket)) {
        n->items.push_back(expression());
        if (is(Tok::Comma)) {
          ++cur_;
        } else if (!is(Tok::RBracket)) {
          expect(Tok::RBracket, "',' or ']'");
        }
      }
      ++cur_;
      return n;
    }
    case Tok::LBrace: {
      NodePtr n = make(NodeKind::Dict, tok.pos);
      while (!is(Tok::RBrace)) {
        n->items.push_back(expression());
        expect(Tok::Colon, "':' between a dict key and its value");
        n->items.push_back(expression());
        if (is(Tok::Comma)) {
          ++cur_;
        } else if (!is(Tok::RBrace)) {
          expect(Tok::RBrace, "',' or '}'");
        }
      }
      ++cur_;
      return n;
    }
    default:
      error(tok.pos, "unexpected " + describe(tok) + " in an expression");
  }
}

std::vector<NodePtr> Parser::args(Mode mode) {
  expect(Tok::LParen, "'('");
  std::vector<NodePtr> out;
  std::set<std::string> names;
  bool seen_keyword = false;
  while (!is(Tok::RParen)) {
    if (at_end()) error(here(), "missing ')'");
    bool kw_spread = is(Tok::Power);
    bool spread = is(Tok::Multiplicative) && t_[cur_].value == "*";
    if (mode == Mode::Params && (kw_spread || spread)) {
      error(here(), "argument unpacking is not allowed in parameter lists");
    }
    NodePtr arg;
    if (kw_spread || spread) {
      arg = make(kw_spread ? NodeKind::KwSpread : NodeKind::Spread, t_[cur_++].pos);
      arg->a = expression();
      if (kw_spread) seen_keyword = true;
    } else {
      arg = expression();
      if (is(Tok::Equals)) {
        ++cur_;
        if (arg->kind != NodeKind::Name) error(arg->pos, "expected a name before '='");
        NodePtr kw = make(NodeKind::Kwarg, arg->pos);
        kw->str = arg->str;
        kw->a = expression();
        arg = std::move(kw);
        seen_keyword = true;
      } else if (seen_keyword) {
        error(arg->pos, mode == Mode::Call ? "positional argument after a keyword argument"
                                           : "parameter without default after one with a default");
      }
      if (mode == Mode::Params) {
        if (arg->kind != NodeKind::Name && arg->kind != NodeKind::Kwarg) {
          error(arg->pos, "expected a parameter name");
        }
        if (!names.insert(arg->str).second) error(arg->pos, "duplicate parameter '" + arg->str + "'");
      }
    }
    out.push_back(std::move(arg));
    if (is(Tok::Comma)) {
      ++cur_;
    } else if (!is(Tok::RParen)) {
      expect(Tok::RParen, "',' or ')'");
    }
  }
  ++cur_;
  return out;
}

}  // namespace

std::vector<NodePtr> jinja_parse(const std::vector<Token>& tokens, const std::string& origin) {
  return Parser(tokens, origin).program();
}

}  // namespace loam::jinja

// Syntax tree of the chat-template interpreter.
//
// One node type with a kind; which fields a kind uses is listed below. The
// tree is immutable after parsing and shared by every copy of a ChatTemplate
// (and by concurrent renders).
//
//   kind         fields
//   Text         str = literal text
//   If           a = test, body = then-block, alt = else-block (elif nests an If)
//   For          a = target (Name or Tuple of Names), b = iterable,
//                c = inline `if` condition or null, body, alt = else-block
//   Set          a = target (Name, Tuple of Names, or Member for ns.attr),
//                b = value, or null for a block set whose text is `body`
//   Macro        str = name, items = parameters (Name, or Kwarg with default),
//                i = bit 1: body reads `kwargs`, bit 2: body reads `varargs`
//   CallBlock    a = Call of the macro, items = caller parameters, body
//   FilterBlock  str = filter name, items = filter arguments, body
//   Break, Continue
//   Int          i            Float   f          Str   str
//   Bool         flag         None
//   List, Tuple  items        Dict    items = key, value, key, value, ...
//   Name         str
//   Member       a = object, b = key expression (a Str for `x.name`) or Slice
//   Slice        a = start, b = stop, c = step (each may be null)
//   Call         a = callee, items = arguments (expressions, Kwarg, Spread, KwSpread)
//   Kwarg        str = name, a = value      Spread, KwSpread   a = value
//   Unary        str = "not" | "-" | "+", a
//   Binary       str = operator, a, b
//   Filter       str = filter name, a = operand, items = arguments
//   Test         str = test name, a = operand, flag = negated, items = arguments
//   Select       a = value, b = condition (`a if b` without else)
//   Ternary      a = condition, b = value if true, c = value if false
//
// Any expression may also appear in a block: it is printed (`{{ ... }}`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/jinja/jinja_lexer.h"

namespace loam::jinja {

enum class NodeKind {
  Text, If, For, Set, Macro, CallBlock, FilterBlock, Break, Continue,
  Int, Float, Str, Bool, None, List, Tuple, Dict, Name, Member, Slice, Call, Kwarg,
  Spread, KwSpread, Unary, Binary, Filter, Test, Select, Ternary
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Node {
  NodeKind kind;
  Pos pos;
  std::string str;
  int64_t i = 0;
  double f = 0;
  bool flag = false;
  NodePtr a, b, c;
  std::vector<NodePtr> items;
  std::vector<NodePtr> body, alt;
};

}  // namespace loam::jinja

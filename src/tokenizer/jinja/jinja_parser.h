// Parser of the chat-template interpreter: tokens -> syntax tree.
//
// The grammar and operator precedence follow @huggingface/jinja (loosest
// first): `a if b else c`, or, and, not, comparisons and `in`, + - ~,
// * / // %, **, `is` tests, `|` filters, unary + -, calls/members/subscripts.
// Unknown tags, filters and tests are rejected here (as jinja2 does at
// compile time) with the construct's name and line:column.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/jinja/jinja_ast.h"
#include "tokenizer/jinja/jinja_lexer.h"

namespace loam::jinja {

// Throws loam::Error("<origin>:<line>:<col>", ...) on a syntax error.
std::vector<NodePtr> jinja_parse(const std::vector<Token>& tokens, const std::string& origin);

}  // namespace loam::jinja

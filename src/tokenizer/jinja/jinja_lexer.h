// Lexer of the chat-template interpreter.
//
// Mirrors @huggingface/jinja's tokenizer, including how Hugging Face
// configures it: one trailing newline of the template is dropped,
// lstrip_blocks (spaces/tabs before a `{%`/`{#` that starts a line are
// removed), trim_blocks (the newline after `%}`/`#}` is removed), whitespace
// control (`{%-`, `-%}`, `{{-`, `-}}`, `{#-`, `-#}`), and
// `{% generation %}`/`{% endgeneration %}` removed as if absent.
// Every token carries its line:column in the original template text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace loam::jinja {

struct Pos {
  int line = 1;  // 1-based
  int col = 1;   // 1-based, in code points
};

enum class Tok {
  Text, Number, String, Name, Equals, LParen, RParen, OpenStmt, CloseStmt, OpenExpr,
  CloseExpr, LBracket, RBracket, LBrace, RBrace, Comma, Dot, Colon, Pipe,
  Additive,        // + - ~
  Multiplicative,  // * / // %
  Power,           // **
  Comparison,      // < > <= >= == !=
  Unary,           // + - before an operand
  Comment
};

struct Token {
  Tok type;
  std::string value;  // text, literal (escapes resolved), name or operator
  Pos pos;
};

// Throws loam::Error("<origin>:<line>:<col>", ...) on malformed input.
std::vector<Token> jinja_tokenize(std::string_view source, const std::string& origin);

// "<origin>:<line>:<col>", the `where` of every template error.
std::string pos_where(const std::string& origin, Pos pos);

}  // namespace loam::jinja

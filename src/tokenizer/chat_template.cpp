// Chat templates; see chat_template.h.
#include "tokenizer/chat_template.h"

#include "tokenizer/jinja/jinja_ast.h"
#include "tokenizer/jinja/jinja_eval.h"
#include "tokenizer/jinja/jinja_filters.h"
#include "tokenizer/jinja/jinja_lexer.h"
#include "tokenizer/jinja/jinja_parser.h"
#include "tokenizer/jinja/jinja_value.h"

namespace loam {

struct ChatTemplate::Parsed {
  std::string source;
  std::string origin;
  std::vector<jinja::NodePtr> program;
};

ChatTemplate ChatTemplate::parse(std::string_view source, std::string origin) {
  auto parsed = std::make_shared<Parsed>();
  parsed->source.assign(source);
  parsed->origin = std::move(origin);
  std::vector<jinja::Token> tokens = jinja::jinja_tokenize(parsed->source, parsed->origin);
  parsed->program = jinja::jinja_parse(tokens, parsed->origin);
  ChatTemplate t;
  t.parsed_ = std::move(parsed);
  return t;
}

namespace {

template <class Json>
std::string render_with(const std::vector<jinja::NodePtr>& program, const std::string& origin,
                        const Json& context) {
  jinja::Scope globals(nullptr);
  jinja::globals_install(globals);
  if (context.is_object()) {
    for (auto it = context.begin(); it != context.end(); ++it) {
      globals.set(it.key(), jinja::value_from_json(it.value()));
    }
  }
  jinja::Evaluator evaluator(origin);
  return evaluator.render(program, globals);
}

}  // namespace

std::string ChatTemplate::render(const nlohmann::json& context) const {
  return render_with(parsed_->program, parsed_->origin, context);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& context) const {
  return render_with(parsed_->program, parsed_->origin, context);
}

const std::string& ChatTemplate::source() const { return parsed_->source; }
const std::string& ChatTemplate::origin() const { return parsed_->origin; }

}  // namespace loam

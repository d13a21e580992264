// Chat templates: the Jinja `chat_template` of a model's tokenizer_config.json
// (or GGUF `tokenizer.chat_template`), rendered as Hugging Face renders it.
//
// The interpreter (jinja_*.cpp) implements the Jinja subset real chat
// templates use, with the semantics of @huggingface/jinja (the reference our
// tests compare against; it mirrors transformers' jinja2 setup:
// trim_blocks, lstrip_blocks, raise_exception, strftime_now). Divergences
// from Python jinja2 are listed in tests/data/chat_templates/README.md.
//
// Thread safety: a ChatTemplate is immutable after parse(); copies share the
// syntax tree, and render() may run concurrently on one object.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace loam {

namespace jinja {
struct Node;
}

class ChatTemplate {
 public:
  // Parses once; throws loam::Error("<origin>:<line>:<col>", ...) on syntax
  // errors and on unknown tags, filters and tests.
  static ChatTemplate parse(std::string_view source, std::string origin = "chat_template");

  // context: {"messages": [...], "add_generation_prompt": bool, "bos_token": "...",
  // "eos_token": "...", ...extra template kwargs...}. Throws loam::Error on
  // raise_exception (message = the template's text) or a runtime error, with
  // where = "<origin>:<line>:<col>".
  // Dict order: nlohmann::json sorts object keys, which shows in `tojson`
  // output (e.g. tool schemas); pass an ordered_json to keep source order.
  std::string render(const nlohmann::json& context) const;
  std::string render(const nlohmann::ordered_json& context) const;

  const std::string& source() const;
  const std::string& origin() const;

 private:
  ChatTemplate() = default;  // only parse() makes one: never empty
  struct Parsed;
  std::shared_ptr<const Parsed> parsed_;
};

}  // namespace loam

// Single-exchange formats: instruction pairs and classification. Each becomes
// a user turn and an assistant turn.
#include "data/format_parse.h"

namespace loam {

void parse_instruction(Format f, const nlohmann::json& obj, FieldCheck& check, Example& out) {
  std::optional<std::string> prompt, answer;
  if (f == Format::InputTextOutputText || f == Format::PromptCompletion) {
    const char* in_key = f == Format::InputTextOutputText ? "input_text" : "prompt";
    const char* out_key = f == Format::InputTextOutputText ? "output_text" : "completion";
    if (const auto* v = check.require(obj, in_key, "")) prompt = check.text(*v, in_key);
    if (const auto* v = check.require(obj, out_key, "")) answer = check.text(*v, out_key);
  } else {
    // Alpaca style: the prompt is the instruction, then the input when present.
    if (const auto* v = check.require(obj, "instruction", "")) prompt = check.text(*v, "instruction");
    if (const auto* v = FieldCheck::optional(obj, "input")) {
      std::optional<std::string> input = check.text(*v, "input", /*allow_empty=*/true);
      if (prompt && input && !input->empty()) *prompt += "\n\n" + *input;
    }
    if (const auto* v = check.require(obj, "output", "")) answer = check.text(*v, "output");
  }
  if (prompt && answer) {
    out.turns.push_back({Role::User, std::move(*prompt), true});
    out.turns.push_back({Role::Assistant, std::move(*answer), true});
  }
}

void parse_text_label(const nlohmann::json& obj, FieldCheck& check, Example& out) {
  std::optional<std::string> text, label;
  if (const auto* v = check.require(obj, "text", "")) text = check.text(*v, "text");
  if (const auto* v = check.require(obj, "label", "")) {
    if (v->is_number_integer()) {  // {"label": 3} is common; it tunes as the text "3"
      label = v->dump();
    } else {
      label = check.text(*v, "label");
    }
  }
  if (text && label) {
    out.label = *label;
    out.turns.push_back({Role::User, std::move(*text), true});
    out.turns.push_back({Role::Assistant, std::move(*label), true});
  }
}

}  // namespace loam

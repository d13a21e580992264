#include <string_view>
#include <vector>

#include "data/format_parse.h"

namespace loam {
namespace {

bool has(const nlohmann::json& obj, std::string_view key) { return obj.find(key) != obj.end(); }

using Fields = std::vector<std::string_view>;

const Fields& format_fields(Format f) {
  // Indexed by Format, in declaration order.
  static const Fields table[] = {
      {"input_text", "output_text"},
      {"prompt", "completion"},
      {"instruction", "input", "output"},
      {"text", "label"},
      {"systemInstruction", "contents"},
      {"messages"},
      {"input_text", "preferred_output", "rejected_output"},
      {"prompt", "chosen", "rejected"},
      {"input", "preferred_output", "non_preferred_output"},
      {"systemInstruction", "contents", "completions"},
      {"input_ids", "labels", "attention_mask"},
      {"prompt_ids", "chosen_ids", "rejected_ids"},
  };
  return table[static_cast<int>(f)];
}

}  // namespace

std::optional<Format> format_detect(const nlohmann::json& obj) {
  if (!obj.is_object()) return std::nullopt;
  if (has(obj, "input_ids")) return Format::TokensSft;
  if (has(obj, "prompt_ids") || has(obj, "chosen_ids") || has(obj, "rejected_ids")) return Format::TokensPreference;
  if (has(obj, "completions")) return Format::PrefContentsCompletions;
  if (has(obj, "contents")) return Format::ChatContents;
  if (has(obj, "messages")) return Format::ChatMessages;
  auto in = obj.find("input");
  auto pref = obj.find("preferred_output");
  if (has(obj, "non_preferred_output") || (in != obj.end() && in->is_object()) ||
      (pref != obj.end() && pref->is_array()))
    return Format::PrefInputMessages;
  if (pref != obj.end() || has(obj, "rejected_output")) return Format::PrefInputText;
  if (has(obj, "chosen") || has(obj, "rejected")) return Format::PrefPromptChosen;
  if (has(obj, "instruction") || has(obj, "output")) return Format::InstructionInputOutput;
  if (has(obj, "input_text") || has(obj, "output_text")) return Format::InputTextOutputText;
  if (has(obj, "prompt") || has(obj, "completion")) return Format::PromptCompletion;
  if (has(obj, "text") || has(obj, "label")) return Format::TextLabel;
  if (has(obj, "input")) return Format::InstructionInputOutput;
  return std::nullopt;
}

bool format_shares_fields(Format f, const nlohmann::json& obj) {
  for (std::string_view k : format_fields(f))
    if (has(obj, k)) return true;
  return false;
}

std::string format_summary() {
  return "instruction {input_text, output_text} | {prompt, completion} | {instruction, input, output}; "
         "classification {text, label}; chat {contents} | {messages}; preference "
         "{input_text, preferred_output, rejected_output} | {prompt, chosen, rejected} | "
         "{input.messages, preferred_output, non_preferred_output} | {contents, completions}; "
         "pre-tokenized {input_ids, labels} | {prompt_ids, chosen_ids, rejected_ids}";
}

bool format_parse(Format f, const nlohmann::json& obj, FieldCheck& check, Example& out, const ParseOptions& options) {
  size_t before = check.n_errors();
  switch (f) {
    case Format::InputTextOutputText:
    case Format::PromptCompletion:
    case Format::InstructionInputOutput: parse_instruction(f, obj, check, out); break;
    case Format::TextLabel: parse_text_label(obj, check, out); break;
    case Format::ChatContents:
    case Format::ChatMessages: parse_chat(f, obj, check, out); break;
    case Format::PrefInputText:
    case Format::PrefPromptChosen:
    case Format::PrefInputMessages:
    case Format::PrefContentsCompletions: parse_preference(f, obj, check, out); break;
    case Format::TokensSft:
    case Format::TokensPreference: parse_tokens(f, obj, check, out, options); break;
  }
  check.unknown_fields(obj, format_fields(f), "");
  return check.n_errors() == before;
}

}  // namespace loam

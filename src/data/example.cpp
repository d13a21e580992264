#include "data/example.h"

namespace loam {

const char* role_name(Role r) {
  switch (r) {
    case Role::System: return "system";
    case Role::User: return "user";
    case Role::Assistant: return "assistant";
  }
  return "?";
}

const char* task_name(Task t) {
  switch (t) {
    case Task::Sft: return "sft";
    case Task::Classification: return "classification";
    case Task::Preference: return "preference";
  }
  return "?";
}

std::optional<Task> task_from_name(std::string_view name) {
  if (name == "sft") return Task::Sft;
  if (name == "classification") return Task::Classification;
  if (name == "preference") return Task::Preference;
  return std::nullopt;
}

const char* format_name(Format f) {
  switch (f) {
    case Format::InputTextOutputText: return "input_text/output_text";
    case Format::PromptCompletion: return "prompt/completion";
    case Format::InstructionInputOutput: return "instruction/input/output";
    case Format::TextLabel: return "text/label";
    case Format::ChatContents: return "contents";
    case Format::ChatMessages: return "messages";
    case Format::PrefInputText: return "input_text/preferred_output/rejected_output";
    case Format::PrefPromptChosen: return "prompt/chosen/rejected";
    case Format::PrefInputMessages: return "input.messages/preferred_output/non_preferred_output";
    case Format::PrefContentsCompletions: return "contents/completions";
    case Format::TokensSft: return "input_ids/labels";
    case Format::TokensPreference: return "prompt_ids/chosen_ids/rejected_ids";
  }
  return "?";
}

Task format_task(Format f) {
  switch (f) {
    case Format::TextLabel: return Task::Classification;
    case Format::PrefInputText:
    case Format::PrefPromptChosen:
    case Format::PrefInputMessages:
    case Format::PrefContentsCompletions:
    case Format::TokensPreference: return Task::Preference;
    default: return Task::Sft;
  }
}

bool format_is_pretokenized(Format f) { return f == Format::TokensSft || f == Format::TokensPreference; }

nlohmann::json turns_to_messages(const std::vector<Turn>& turns) {
  nlohmann::json out = nlohmann::json::array();
  for (const Turn& t : turns) out.push_back({{"role", role_name(t.role)}, {"content", t.text}});
  return out;
}

nlohmann::json example_to_json(const Example& e) {
  using nlohmann::json;
  switch (e.format) {
    case Format::TokensSft: return {{"input_ids", e.input_ids}, {"labels", e.labels}};
    case Format::TokensPreference:
      return {{"prompt_ids", e.prompt_ids}, {"chosen_ids", e.chosen_ids}, {"rejected_ids", e.rejected_ids}};
    case Format::TextLabel: return {{"text", e.turns.at(0).text}, {"label", e.label}};
    default: break;
  }
  if (e.task() == Task::Preference) {
    return {{"prompt", turns_to_messages(e.turns)},
            {"chosen", turns_to_messages(e.chosen)},
            {"rejected", turns_to_messages(e.rejected)}};
  }
  json messages = json::array();
  for (const Turn& t : e.turns) {
    json m = {{"role", role_name(t.role)}, {"content", t.text}};
    if (t.role == Role::Assistant && !t.trained) m["weight"] = 0;
    messages.push_back(std::move(m));
  }
  return {{"messages", std::move(messages)}};
}

}  // namespace loam

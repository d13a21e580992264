// The canonical in-memory training example, whatever file format it came in.
//
// Every dataset format (issue 3) parses into an Example:
//   - SFT (instruction pairs and chats): `turns` is the whole conversation
//     (optional leading system turn, then user/assistant alternating, ending
//     on an assistant turn); assistant turns with trained == false carry no
//     loss (`"weight": 0`).
//   - Classification: `turns` is {user: text, assistant: label} and `label`
//     holds the label, so it tunes like an instruction pair.
//   - Preference: `turns` is the prompt (ends on a user turn); `chosen` and
//     `rejected` are the two completions (assistant turns).
//   - Pre-tokenized: ids only (input_ids+labels, or prompt/chosen/rejected).
// Examples are plain values; nothing here knows files or tokenizers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loam {

enum class Role { System, User, Assistant };

// "system", "user", "assistant" (the names chat templates expect).
const char* role_name(Role r);

struct Turn {
  Role role = Role::User;
  std::string text;
  bool trained = true;  // assistant turns only: false = excluded from the loss
};

// The task a dataset trains; each format belongs to exactly one task.
enum class Task { Sft, Classification, Preference };
const char* task_name(Task t);                       // "sft", "classification", "preference"
std::optional<Task> task_from_name(std::string_view name);

// Dataset formats (one per file), named by their distinguishing fields.
enum class Format {
  InputTextOutputText,     // {"input_text","output_text"}
  PromptCompletion,        // {"prompt","completion"}
  InstructionInputOutput,  // {"instruction","input"?,"output"}
  TextLabel,               // {"text","label"}
  ChatContents,            // {"systemInstruction"?,"contents":[{role user|model, parts}]}
  ChatMessages,            // {"messages":[{role system|user|assistant, content, weight?}]}
  PrefInputText,           // {"input_text","preferred_output","rejected_output"}
  PrefPromptChosen,        // {"prompt","chosen","rejected"} strings or message lists
  PrefInputMessages,       // {"input":{"messages"},"preferred_output":[..],"non_preferred_output":[..]}
  PrefContentsCompletions, // {"contents":[..],"completions":[{"score","completion"}]}
  TokensSft,               // {"input_ids","labels"}
  TokensPreference,        // {"prompt_ids","chosen_ids","rejected_ids"}
};
const char* format_name(Format f);  // e.g. "input_text/output_text", "messages"
Task format_task(Format f);
bool format_is_pretokenized(Format f);

struct Example {
  Format format = Format::InputTextOutputText;
  size_t line = 0;           // where it starts in its file (1-based)
  std::vector<Turn> turns;   // conversation (SFT, classification) or prompt (preference)
  std::string label;         // classification
  std::vector<Turn> chosen, rejected;           // preference completions
  std::vector<int32_t> input_ids, labels;       // TokensSft (labels: -100 = not scored)
  std::vector<int32_t> prompt_ids, chosen_ids, rejected_ids;  // TokensPreference

  Task task() const { return format_task(format); }
};

// Renders turns as chat-template messages: [{"role","content"}, ...].
nlohmann::json turns_to_messages(const std::vector<Turn>& turns);

// The canonical JSONL record `loam data prepare` writes:
//   SFT          {"messages":[{"role","content"[,"weight":0]}...]}
//   classification {"text","label"}
//   preference   {"prompt":[messages],"chosen":[messages],"rejected":[messages]}
//   pre-tokenized  as read ({"input_ids","labels"} / {"prompt_ids",...}).
nlohmann::json example_to_json(const Example& e);

}  // namespace loam

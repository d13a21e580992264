// Dataset formats: detection from a record's fields, and parsing of one JSON
// record into an Example with every problem reported through FieldCheck.
//
// One format per file: the first record that looks like a known format sets
// it; later records are parsed as that format when they share any of its
// fields (so a typo reports "missing field", not "different format"), and
// reported as a different format otherwise.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/example.h"
#include "data/field_check.h"

namespace loam {

struct ParseOptions {
  int32_t vocab_size = 0;  // > 0: pre-tokenized ids must be below it
};

// The format a record's fields indicate, or nullopt when none fits.
std::optional<Format> format_detect(const nlohmann::json& obj);
// True when obj has at least one field that belongs to format f.
bool format_shares_fields(Format f, const nlohmann::json& obj);
// One line per format listing its fields, for hints.
std::string format_summary();

// Parses obj (a JSON object) as format f into out (out.format and out.line
// set by the caller). Returns true when no errors were reported.
bool format_parse(Format f, const nlohmann::json& obj, FieldCheck& check, Example& out, const ParseOptions& options);

// --- per family (format_instruction.cpp, format_chat.cpp, format_preference.cpp, format_tokens.cpp)
void parse_instruction(Format f, const nlohmann::json& obj, FieldCheck& check, Example& out);
void parse_text_label(const nlohmann::json& obj, FieldCheck& check, Example& out);
void parse_chat(Format f, const nlohmann::json& obj, FieldCheck& check, Example& out);
void parse_preference(Format f, const nlohmann::json& obj, FieldCheck& check, Example& out);
void parse_tokens(Format f, const nlohmann::json& obj, FieldCheck& check, Example& out, const ParseOptions& options);

// Shared by chat and preference parsers.
// messages: [{"role": system|user|assistant, "content": string or [{"type":"text","text"}], "weight"?}]
// Appends to turns; returns false after reporting problems.
bool parse_messages(const nlohmann::json& v, const std::string& path, FieldCheck& check, std::vector<Turn>& turns,
                    std::vector<std::string>& turn_paths);
// contents: [{"role": user|model, "parts": [{"text"}]}]
bool parse_contents(const nlohmann::json& v, const std::string& path, FieldCheck& check, std::vector<Turn>& turns,
                    std::vector<std::string>& turn_paths);
// Checks order: optional system first, then user/assistant alternating from
// user, ending on `last` (Assistant for SFT, User for preference prompts).
// `roles` names the roles as the format spells them ("assistant" / "model").
void check_turn_order(const std::vector<Turn>& turns, const std::vector<std::string>& turn_paths, Role last,
                      const char* assistant_name, const std::string& list_path, FieldCheck& check);

}  // namespace loam

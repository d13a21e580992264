// Problems found in a dataset, and typed access to a record's JSON fields
// that reports each problem with its file, line and field path.
//
// Field paths read like the JSON they point at: `output_text`,
// `contents[2].parts[0].text`, `input.messages[1].role`. Every accessor
// reports its own problem (missing, wrong type, empty) and returns null /
// nullopt, so parsers read as straight lists of fields and report every
// problem in a record, not just the first.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace loam {

enum class Severity { Error, Warning };

struct Issue {
  Severity severity = Severity::Error;
  std::string file;   // as the user named it
  size_t line = 0;    // 1-based; 0 = the whole file
  std::string field;  // JSON path; empty when the problem is the line itself
  std::string message;
};

// "FILE:LINE:FIELD: message", "FILE:LINE: message" without a field, and
// "FILE: message" for the whole file; warnings say "warning: " before the
// message.
std::string issue_format(const Issue& issue);

// "a" + "b" -> "a.b"; "" + "b" -> "b"; path_index("a", 2) -> "a[2]".
std::string path_join(const std::string& prefix, std::string_view key);
std::string path_index(const std::string& prefix, size_t index);

// "a string", "a number (42)", "an array" ... for type errors.
std::string json_type_phrase(const nlohmann::json& v);

class FieldCheck {
 public:
  FieldCheck(std::string file, size_t line, std::vector<Issue>& out) : file_(std::move(file)), line_(line), out_(out) {}

  void error(std::string field, std::string message);
  void warning(std::string field, std::string message);
  size_t n_errors() const { return n_errors_; }

  // obj[key] or null after reporting "missing required field".
  const nlohmann::json* require(const nlohmann::json& obj, std::string_view key, const std::string& prefix);
  // obj[key] or null (absent or JSON null: no report).
  static const nlohmann::json* optional(const nlohmann::json& obj, std::string_view key);
  // A string value; reports wrong types and (unless allow_empty) empty or
  // whitespace-only text.
  std::optional<std::string> text(const nlohmann::json& v, const std::string& path, bool allow_empty = false);
  // v if it is an array (non-empty unless allow_empty), else null after reporting.
  const nlohmann::json* array(const nlohmann::json& v, const std::string& path, bool allow_empty = false);
  const nlohmann::json* object(const nlohmann::json& v, const std::string& path);
  // Warns about keys of obj not in `known` (with a "did you mean" for typos).
  void unknown_fields(const nlohmann::json& obj, const std::vector<std::string_view>& known,
                      const std::string& prefix);

 private:
  std::string file_;
  size_t line_;
  std::vector<Issue>& out_;
  size_t n_errors_ = 0;
};

}  // namespace loam

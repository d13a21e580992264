#include "data/field_check.h"

#include <algorithm>

#include "data/jsonl_reader.h"

namespace loam {

std::string issue_format(const Issue& issue) {
  std::string s = issue.file;
  if (issue.line > 0) s += ":" + std::to_string(issue.line);
  if (!issue.field.empty()) s += ":" + issue.field;
  s += ": ";
  if (issue.severity == Severity::Warning) s += "warning: ";
  return s + issue.message;
}

std::string path_join(const std::string& prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  return prefix + "." + std::string(key);
}

std::string path_index(const std::string& prefix, size_t index) {
  return prefix + "[" + std::to_string(index) + "]";
}

std::string json_type_phrase(const nlohmann::json& v) {
  auto preview = [&] {
    return " (" + utf8_clean(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 40) + ")";
  };
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean" + preview();
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return "a number" + preview();
    case nlohmann::json::value_t::string: return "a string" + preview();
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

void FieldCheck::error(std::string field, std::string message) {
  ++n_errors_;
  out_.push_back({Severity::Error, file_, line_, std::move(field), std::move(message)});
}

void FieldCheck::warning(std::string field, std::string message) {
  out_.push_back({Severity::Warning, file_, line_, std::move(field), std::move(message)});
}

const nlohmann::json* FieldCheck::require(const nlohmann::json& obj, std::string_view key, const std::string& prefix) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    error(path_join(prefix, key), it == obj.end() ? "missing required field" : "is null");
    return nullptr;
  }
  return &*it;
}

const nlohmann::json* FieldCheck::optional(const nlohmann::json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> FieldCheck::text(const nlohmann::json& v, const std::string& path, bool allow_empty) {
  if (!v.is_string()) {
    error(path, "expected a string, got " + json_type_phrase(v));
    return std::nullopt;
  }
  const std::string& s = v.get_ref<const std::string&>();
  if (!allow_empty && s.find_first_not_of(" \t\r\n") == std::string::npos) {
    error(path, s.empty() ? "is empty" : "is only whitespace");
    return std::nullopt;
  }
  return s;
}

const nlohmann::json* FieldCheck::array(const nlohmann::json& v, const std::string& path, bool allow_empty) {
  if (!v.is_array()) {
    error(path, "expected an array, got " + json_type_phrase(v));
    return nullptr;
  }
  if (!allow_empty && v.empty()) {
    error(path, "is an empty array");
    return nullptr;
  }
  return &v;
}

const nlohmann::json* FieldCheck::object(const nlohmann::json& v, const std::string& path) {
  if (!v.is_object()) {
    error(path, "expected an object, got " + json_type_phrase(v));
    return nullptr;
  }
  return &v;
}

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

void FieldCheck::unknown_fields(const nlohmann::json& obj, const std::vector<std::string_view>& known,
                                const std::string& prefix) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string msg = "unknown field, ignored";
    for (std::string_view k : known) {
      if (key.size() < 64 && edit_distance(key, k) <= 2 && obj.find(k) == obj.end()) {
        msg += " (did you mean \"" + std::string(k) + "\"?)";
        break;
      }
    }
    warning(path_join(prefix, key), msg);
  }
}

}  // namespace loam

// Strict reading of request JSON: a field of the wrong type or one the API
// does not define is refused with InvalidArgument naming its path
// ("supervisedTuningSpec.hyperParameters.epochCount").
#pragma once

#include <initializer_list>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace loam {

nlohmann::json body_parse(const std::string& text);  // must be a JSON object
void fields_allow(const nlohmann::json& obj, std::initializer_list<const char*> allowed, const std::string& path);
const nlohmann::json* field_object(const nlohmann::json& obj, const char* key, const std::string& path);
std::optional<std::string> field_string(const nlohmann::json& obj, const char* key, const std::string& path);
// int64 fields accept a number or a decimal string (proto3 JSON).
std::optional<int64_t> field_int(const nlohmann::json& obj, const char* key, const std::string& path);
std::optional<double> field_number(const nlohmann::json& obj, const char* key, const std::string& path);
std::optional<bool> field_bool(const nlohmann::json& obj, const char* key, const std::string& path);
std::string field_path(const std::string& path, const char* key);

}  // namespace loam

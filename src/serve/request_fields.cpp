#include "serve/request_fields.h"

#include "registry/errors.h"

namespace loam {

using nlohmann::json;

std::string field_path(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }

json body_parse(const std::string& text) {
  json j;
  try {
    j = json::parse(text.empty() ? std::string("{}") : text);
  } catch (const json::parse_error& e) {
    throw error_invalid("request body", std::string("invalid JSON at byte ") + std::to_string(e.byte));
  }
  if (!j.is_object()) throw error_invalid("request body", "must be a JSON object");
  return j;
}

void fields_allow(const json& obj, std::initializer_list<const char*> allowed, const std::string& path) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) throw error_invalid(field_path(path, it.key().c_str()), "unknown field");
  }
}

const json* field_object(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  if (!it->is_object()) throw error_invalid(field_path(path, key), "must be an object");
  return &*it;
}

std::optional<std::string> field_string(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw error_invalid(field_path(path, key), "must be a string");
  return it->get<std::string>();
}

std::optional<int64_t> field_int(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string s = it->get<std::string>();
    if (!s.empty() && s.size() < 18 && s.find_first_not_of("0123456789") == std::string::npos) return std::stoll(s);
  }
  throw error_invalid(field_path(path, key), "must be an integer");
}

std::optional<double> field_number(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw error_invalid(field_path(path, key), "must be a number");
  return it->get<double>();
}

std::optional<bool> field_bool(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw error_invalid(field_path(path, key), "must be true or false");
  return it->get<bool>();
}

}  // namespace loam

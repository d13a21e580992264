// Runtime values of the chat-template interpreter (a Jinja subset).
//
// Semantics mirror @huggingface/jinja, the reference our tests compare
// against (it is what the Hugging Face JS stack runs, and it mirrors the
// transformers/jinja2 rendering of chat templates): booleans print as
// "true"/"false", none and undefined print as "", floats print JS-style
// ("1.0", "0.5"), lists and dicts print as JSON, `==` is JS loose equality.
// Where the reference has no behaviour (it raises) we follow Python jinja2.
//
// Lists and dicts are shared by reference (like JS/Python objects): copying a
// Value copies a pointer. Only namespaces (`set ns.x = ...`) and
// `list.append` mutate. A Value graph belongs to one render call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace loam::jinja {

// Thrown by value helpers, filters and methods; the evaluator turns it into
// a loam::Error naming the template's line:column.
struct Failure {
  std::string message;
  std::string hint;
};
[[noreturn]] void fail(std::string message, std::string hint = "");

enum class Kind : uint8_t {
  Undefined, Null, Bool, Int, Float, String, Array, Tuple, Object, Namespace, Function
};

struct Value;
struct Object;
struct Function;
class Scope;
using Array = std::vector<Value>;

struct Value {
  Kind kind = Kind::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<Array> arr;           // Array, Tuple
  std::shared_ptr<Object> obj;          // Object, Namespace
  std::shared_ptr<const Function> fn;   // Function

  static Value undefined() { return Value(); }
  static Value null();
  static Value boolean(bool v);
  static Value integer(int64_t v);
  static Value number(double v);  // Float
  static Value string(std::string v);
  static Value array(Array items, Kind kind = Kind::Array);
  static Value object(Object o, Kind kind = Kind::Object);
  static Value function(std::string name,
                        std::function<Value(const struct CallArgs&, Scope&)> call);

  bool is(Kind k) const { return kind == k; }
  bool is_none() const { return kind == Kind::Null || kind == Kind::Undefined; }
  bool is_list() const { return kind == Kind::Array || kind == Kind::Tuple; }
  bool is_dict() const { return kind == Kind::Object || kind == Kind::Namespace; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float; }
  double as_double() const { return kind == Kind::Float ? f : kind == Kind::Bool ? b : double(i); }
};

// Insertion-ordered string-keyed map (dicts keep their order, as in Python).
struct Object {
  std::vector<std::pair<std::string, Value>> items;

  const Value* get(std::string_view key) const;
  void set(const std::string& key, Value v);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  const Value* kw(std::string_view name) const;
  // positional[index] if given, else the keyword `name`, else nullptr.
  const Value* arg(size_t index, std::string_view name) const;
};

struct Function {
  std::string name;
  std::function<Value(const CallArgs&, Scope&)> call;
};

// "string", "integer", "list", ... for error messages.
const char* kind_name(Kind k);
// The same with an article: "a string", "an integer", "none", "an undefined value".
std::string a_kind(Kind k);

bool value_truthy(const Value& v);
// What `{{ v }}` prints (none/undefined print nothing; callers skip them).
std::string value_display(const Value& v);
// JS `x.value.toString()`: what `~` and string `+` concatenate (1.0 -> "1").
std::string value_primitive_string(const Value& v);
// JS Number.prototype.toString.
std::string js_number(double v);

struct JsonOptions {
  int indent = 0;  // 0: one line with ", " and ": "
  bool ensure_ascii = false;
  bool sort_keys = false;
  std::optional<std::pair<std::string, std::string>> separators;  // (item, key)
};
// The reference's tojson: no HTML escaping, non-ASCII kept, numbers JS-style.
std::string value_to_json(const Value& v, const JsonOptions& options = {},
                          bool undefined_as_null = true);
std::string json_quote(std::string_view s, bool ensure_ascii);

// JS `a.value == b.value` (loose) and `===` (strict; used by `in`, unique).
bool value_loose_equals(const Value& a, const Value& b);
bool value_strict_equals(const Value& a, const Value& b);
// -1/0/1 for sort and dictsort; fails on mixed or unordered types.
int value_compare(const Value& a, const Value& b, bool case_sensitive);
// Binary operators other than and/or: + - * / // % ** ~ == != < > <= >= in, not in.
Value value_binary(std::string_view op, const Value& a, const Value& b);

// JSON -> Value. Whole-valued floats become integers (JSON.parse does the
// same in the reference). Works for nlohmann::json and ordered_json; only
// the latter keeps the dict order of the source text.
template <class Json>
Value value_from_json(const Json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::null();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return Value::integer(static_cast<int64_t>(j.template get<uint64_t>()));
    case nlohmann::json::value_t::number_float: {
      double d = j.template get<double>();
      if (d == static_cast<double>(static_cast<int64_t>(d)) && d > -9.1e15 && d < 9.1e15) {
        return Value::integer(static_cast<int64_t>(d));
      }
      return Value::number(d);
    }
    case nlohmann::json::value_t::string: return Value::string(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      Array items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(value_from_json(e));
      return Value::array(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Object o;
      o.items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) {
        o.items.emplace_back(it.key(), value_from_json(it.value()));
      }
      return Value::object(std::move(o));
    }
    default: return Value::undefined();  // binary, discarded
  }
}

}  // namespace loam::jinja

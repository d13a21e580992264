// Runtime values of the chat-template interpreter; see jinja_value.h.
#include "tokenizer/jinja/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tokenizer/jinja/jinja_string.h"

namespace loam::jinja {

void fail(std::string message, std::string hint) {
  throw Failure{std::move(message), std::move(hint)};
}

Value Value::null() {
  Value v;
  v.kind = Kind::Null;
  return v;
}
Value Value::boolean(bool x) {
  Value v;
  v.kind = Kind::Bool;
  v.b = x;
  return v;
}
Value Value::integer(int64_t x) {
  Value v;
  v.kind = Kind::Int;
  v.i = x;
  return v;
}
Value Value::number(double x) {
  Value v;
  v.kind = Kind::Float;
  v.f = x;
  return v;
}
Value Value::string(std::string x) {
  Value v;
  v.kind = Kind::String;
  v.s = std::move(x);
  return v;
}
Value Value::array(Array items, Kind kind) {
  Value v;
  v.kind = kind;
  v.arr = std::make_shared<Array>(std::move(items));
  return v;
}
Value Value::object(Object o, Kind kind) {
  Value v;
  v.kind = kind;
  v.obj = std::make_shared<Object>(std::move(o));
  return v;
}
Value Value::function(std::string name, std::function<Value(const CallArgs&, Scope&)> call) {
  Value v;
  v.kind = Kind::Function;
  v.fn = std::make_shared<const Function>(Function{std::move(name), std::move(call)});
  return v;
}

const Value* Object::get(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Object::set(const std::string& key, Value v) {
  for (auto& [k, old] : items) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  items.emplace_back(key, std::move(v));
}

const Value* CallArgs::kw(std::string_view name) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  return nullptr;
}

const Value* CallArgs::arg(size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  return kw(name);
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Undefined: return "undefined";
    case Kind::Null: return "none";
    case Kind::Bool: return "boolean";
    case Kind::Int: return "integer";
    case Kind::Float: return "float";
    case Kind::String: return "string";
    case Kind::Array: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Object: return "dict";
    case Kind::Namespace: return "namespace";
    case Kind::Function: return "function";
  }
  return "?";
}

std::string a_kind(Kind k) {
  if (k == Kind::Null) return "none";
  if (k == Kind::Undefined) return "an undefined value";
  if (k == Kind::Int) return "an integer";
  return std::string("a ") + kind_name(k);
}

bool value_truthy(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::Null: return false;
    case Kind::Bool: return v.b;
    case Kind::Int: return v.i != 0;
    case Kind::Float: return v.f != 0 && !std::isnan(v.f);
    case Kind::String: return !v.s.empty();
    case Kind::Array:
    case Kind::Tuple: return !v.arr->empty();
    case Kind::Object: return !v.obj->items.empty();
    case Kind::Namespace:  // the reference tests the Map object itself: always true
    case Kind::Function: return true;
  }
  return false;
}

std::string js_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v < 0 ? "-Infinity" : "Infinity";
  if (v == 0) return "0";
  std::string sign = v < 0 ? "-" : "";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  size_t e = sci.find('e');
  int exp = std::atoi(sci.c_str() + e + 1);
  std::string digits;
  for (size_t k = 0; k < e; ++k) {
    if (sci[k] != '.') digits += sci[k];
  }
  int k = static_cast<int>(digits.size());
  int n = exp + 1;
  if (k <= n && n <= 21) return sign + digits + std::string(n - k, '0');
  if (0 < n && n <= 21) return sign + digits.substr(0, n) + "." + digits.substr(n);
  if (-6 < n && n <= 0) return sign + "0." + std::string(-n, '0') + digits;
  std::string es = std::string(n - 1 >= 0 ? "+" : "-") + std::to_string(std::abs(n - 1));
  if (k == 1) return sign + digits + "e" + es;
  return sign + digits.substr(0, 1) + "." + digits.substr(1) + "e" + es;
}

namespace {

std::string float_display(double f) {
  if (f == 0 && std::signbit(f)) return "-0.0";
  if (std::isfinite(f) && std::floor(f) == f && std::fabs(f) < 1e21) return js_number(f) + ".0";
  return js_number(f);
}

// JS Number(string): whitespace-trimmed decimal, "" -> 0, otherwise NaN.
double js_to_number(const std::string& s) {
  std::string t = text_trim(s, true, true);
  if (t.empty()) return 0;
  if (t == "Infinity" || t == "+Infinity") return INFINITY;
  if (t == "-Infinity") return -INFINITY;
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return NAN;
  return d;
}

bool numeric_like(const Value& v) {
  return v.kind == Kind::Int || v.kind == Kind::Float || v.kind == Kind::Bool;
}

bool is_reference(const Value& v) {
  return v.is_list() || v.is_dict() || v.kind == Kind::Function;
}

bool same_reference(const Value& a, const Value& b) {
  if (a.is_list() && b.is_list()) return a.arr == b.arr;
  if (a.is_dict() && b.is_dict()) return a.obj == b.obj;
  if (a.kind == Kind::Function && b.kind == Kind::Function) return a.fn == b.fn;
  return false;
}

void append_hex4(std::string& out, unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", v & 0xFFFFu);
  out += buf;
}

}  // namespace

std::string value_display(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::Null: return "";
    case Kind::Bool: return v.b ? "true" : "false";
    case Kind::Int: return std::to_string(v.i);
    case Kind::Float: return float_display(v.f);
    case Kind::String: return v.s;
    case Kind::Array:
    case Kind::Tuple:
    case Kind::Object:
    case Kind::Namespace: return value_to_json(v, {}, false);
    case Kind::Function: return "<function " + v.fn->name + ">";
  }
  return "";
}

std::string value_primitive_string(const Value& v) {
  switch (v.kind) {
    case Kind::Float: return js_number(v.f);
    case Kind::Array:
    case Kind::Tuple: {
      std::string out;
      for (size_t k = 0; k < v.arr->size(); ++k) {
        if (k) out += ',';
        const Value& e = (*v.arr)[k];
        out += e.is_none() ? "undefined" : value_display(e);
      }
      return out;
    }
    case Kind::Object:
    case Kind::Namespace: return "[object Map]";
    default: return value_display(v);
  }
}

std::string json_quote(std::string_view s, bool ensure_ascii) {
  std::string out = "\"";
  for (const CodePoint& cp : utf8_code_points(s)) {
    char32_t c = cp.value;
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (c < 0x20) {
      append_hex4(out, c);
    } else if (ensure_ascii && c >= 0x7F && !(c == 0xFFFD && cp.length == 1)) {
      if (c >= 0x10000) {
        append_hex4(out, 0xD800 + ((c - 0x10000) >> 10));
        append_hex4(out, 0xDC00 + ((c - 0x10000) & 0x3FF));
      } else {
        append_hex4(out, c);
      }
    } else {
      out += s.substr(cp.offset, cp.length);
    }
  }
  out += '"';
  return out;
}

namespace {

bool locale_less(const std::string& a, const std::string& b) {
  // Approximates String.localeCompare: case-insensitive first, lower case first on ties.
  std::string la = text_lower(a), lb = text_lower(b);
  if (la != lb) return la < lb;
  return a > b;
}

void json_write(std::string& out, const Value& v, const JsonOptions& o, int depth,
                bool undefined_as_null) {
  std::string item_sep = o.separators ? o.separators->first : o.indent ? "," : ", ";
  std::string key_sep = o.separators ? o.separators->second : ": ";
  std::string unit(o.indent > 0 ? o.indent : 0, ' ');
  std::string base_pad = "\n";
  for (int d = 0; d < depth; ++d) base_pad += unit;
  std::string child_pad = base_pad + unit;
  switch (v.kind) {
    case Kind::Null: out += "null"; return;
    case Kind::Undefined: out += undefined_as_null ? "null" : "undefined"; return;
    case Kind::Bool: out += v.b ? "true" : "false"; return;
    case Kind::Int: out += std::to_string(v.i); return;
    case Kind::Float: out += std::isfinite(v.f) ? js_number(v.f) : "null"; return;
    case Kind::String: out += json_quote(v.s, o.ensure_ascii); return;
    case Kind::Function: fail("cannot convert a function to JSON");
    case Kind::Array:
    case Kind::Tuple: {
      out += '[';
      for (size_t k = 0; k < v.arr->size(); ++k) {
        if (k) out += item_sep;
        if (o.indent > 0) out += child_pad;
        json_write(out, (*v.arr)[k], o, depth + 1, undefined_as_null);
      }
      if (o.indent > 0 && !v.arr->empty()) out += base_pad;
      out += ']';
      return;
    }
    case Kind::Object:
    case Kind::Namespace: {
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& e : v.obj->items) entries.push_back(&e);
      if (o.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* x, auto* y) { return locale_less(x->first, y->first); });
      }
      out += '{';
      for (size_t k = 0; k < entries.size(); ++k) {
        if (k) out += item_sep;
        if (o.indent > 0) out += child_pad;
        out += json_quote(entries[k]->first, o.ensure_ascii);
        out += key_sep;
        json_write(out, entries[k]->second, o, depth + 1, undefined_as_null);
      }
      if (o.indent > 0 && !entries.empty()) out += base_pad;
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string value_to_json(const Value& v, const JsonOptions& options, bool undefined_as_null) {
  std::string out;
  json_write(out, v, options, 0, undefined_as_null);
  return out;
}

bool value_loose_equals(const Value& a, const Value& b) {
  if (a.is_none() || b.is_none()) return a.is_none() && b.is_none();
  if (numeric_like(a) && numeric_like(b)) return a.as_double() == b.as_double();
  if (a.kind == Kind::String && b.kind == Kind::String) return a.s == b.s;
  if (a.kind == Kind::String && numeric_like(b)) return js_to_number(a.s) == b.as_double();
  if (numeric_like(a) && b.kind == Kind::String) return a.as_double() == js_to_number(b.s);
  if (is_reference(a) && is_reference(b)) return same_reference(a, b);
  // One object, one primitive: JS compares the object's string form.
  if (is_reference(a)) return value_loose_equals(Value::string(value_primitive_string(a)), b);
  return value_loose_equals(a, Value::string(value_primitive_string(b)));
}

bool value_strict_equals(const Value& a, const Value& b) {
  if (a.is_none() || b.is_none()) return a.is_none() && b.is_none();
  if (a.is_number() && b.is_number()) return a.as_double() == b.as_double();
  if (a.kind == Kind::Bool && b.kind == Kind::Bool) return a.b == b.b;
  if (a.kind == Kind::String && b.kind == Kind::String) return a.s == b.s;
  return same_reference(a, b);
}

int value_compare(const Value& a, const Value& b, bool case_sensitive) {
  if (a.kind == Kind::Null && b.kind == Kind::Null) return 0;
  if (a.kind == Kind::Undefined && b.kind == Kind::Undefined) return 0;
  if (numeric_like(a) && numeric_like(b)) {
    double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind == Kind::String && b.kind == Kind::String) {
    const std::string x = case_sensitive ? a.s : text_lower(a.s);
    const std::string y = case_sensitive ? b.s : text_lower(b.s);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  fail(std::string("cannot compare ") + kind_name(a.kind) + " with " + kind_name(b.kind));
}

namespace {

Value arithmetic(std::string_view op, const Value& a, const Value& b) {
  bool is_float = a.kind == Kind::Float || b.kind == Kind::Float;
  if (op == "<") return Value::boolean(a.as_double() < b.as_double());
  if (op == ">") return Value::boolean(a.as_double() > b.as_double());
  if (op == "<=") return Value::boolean(a.as_double() <= b.as_double());
  if (op == ">=") return Value::boolean(a.as_double() >= b.as_double());
  if (op == "/") {
    if (b.as_double() == 0) fail("division by zero");
    return Value::number(a.as_double() / b.as_double());
  }
  if (is_float) {
    double x = a.as_double(), y = b.as_double();
    if (op == "+") return Value::number(x + y);
    if (op == "-") return Value::number(x - y);
    if (op == "*") return Value::number(x * y);
    if (y == 0) fail("division by zero");
    if (op == "//") return Value::number(std::floor(x / y));
    if (op == "%") return Value::number(std::fmod(x, y));  // JS: sign of the dividend
  } else {
    int64_t x = a.i, y = b.i;
    if (op == "+") return Value::integer(x + y);
    if (op == "-") return Value::integer(x - y);
    if (op == "*") return Value::integer(x * y);
    if (y == 0) fail("division by zero");
    if (op == "//") {
      int64_t q = x / y;
      if (x % y != 0 && ((x < 0) != (y < 0))) --q;
      return Value::integer(q);
    }
    if (op == "%") return Value::integer(x % y);  // JS: sign of the dividend
  }
  fail("unsupported operator '" + std::string(op) + "' between numbers");
}

Value power(const Value& a, const Value& b) {
  double x = a.as_double(), y = b.as_double();
  if (x == 0 && y < 0) fail("0.0 cannot be raised to a negative power");
  double r = std::pow(x, y);
  if (!std::isfinite(r)) fail("exponentiation result is not a finite real number");
  if (a.kind == Kind::Float || b.kind == Kind::Float || y < 0) return Value::number(r);
  return Value::integer(static_cast<int64_t>(std::llround(r)));
}

bool list_contains(const Value& list, const Value& x) {
  for (const Value& e : *list.arr) {
    if (value_strict_equals(e, x)) return true;
  }
  return false;
}

}  // namespace

Value value_binary(std::string_view op, const Value& a, const Value& b) {
  if (op == "==") return Value::boolean(value_loose_equals(a, b));
  if (op == "!=") return Value::boolean(!value_loose_equals(a, b));
  bool membership = op == "in" || op == "not in";
  std::string ops(op);
  if (a.kind == Kind::Undefined || b.kind == Kind::Undefined) {
    if (b.kind == Kind::Undefined && membership) return Value::boolean(op == "not in");
    fail("cannot apply '" + ops + "' to an undefined value");
  }
  if (a.kind == Kind::Null || b.kind == Kind::Null) fail("cannot apply '" + ops + "' to none");
  if (op == "~") return Value::string(value_primitive_string(a) + value_primitive_string(b));
  if (op == "**" && numeric_like(a) && numeric_like(b)) return power(a, b);
  if (a.is_number() && b.is_number() && !membership) return arithmetic(op, a, b);
  if (a.is_list() && b.is_list() && op == "+") {
    Array joined = *a.arr;
    joined.insert(joined.end(), b.arr->begin(), b.arr->end());
    return Value::array(std::move(joined));
  }
  if (b.is_list() && membership) return Value::boolean(list_contains(b, a) == (op == "in"));
  if ((a.kind == Kind::String || b.kind == Kind::String) && op == "+") {
    return Value::string(value_primitive_string(a) + value_primitive_string(b));
  }
  if (a.kind == Kind::String && b.kind == Kind::String) {
    if (membership) return Value::boolean((b.s.find(a.s) != std::string::npos) == (op == "in"));
    // Extension (the reference only orders numbers): jinja2 orders strings.
    if (op == "<") return Value::boolean(a.s < b.s);
    if (op == ">") return Value::boolean(a.s > b.s);
    if (op == "<=") return Value::boolean(a.s <= b.s);
    if (op == ">=") return Value::boolean(a.s >= b.s);
  }
  if (a.kind == Kind::String && b.kind == Kind::Object && membership) {
    return Value::boolean((b.obj->get(a.s) != nullptr) == (op == "in"));
  }
  fail("unsupported operator '" + ops + "' between " + kind_name(a.kind) + " and " +
       kind_name(b.kind));
}

}  // namespace loam::jinja

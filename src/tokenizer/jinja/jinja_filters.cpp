// Filters and tests of the chat-template interpreter; see jinja_filters.h.
#include "tokenizer/jinja/jinja_filters.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "tokenizer/jinja/jinja_eval.h"
#include "tokenizer/jinja/jinja_string.h"

namespace loam::jinja {
namespace {

using FilterFn = Value (*)(Evaluator&, std::string_view, const Value&, const CallArgs&, Scope&);

[[noreturn]] void bad_operand(std::string_view filter, const Value& v) {
  fail("filter '" + std::string(filter) + "' does not apply to " + a_kind(v.kind));
}

bool arg_bool(const CallArgs& a, size_t index, std::string_view name, bool fallback) {
  const Value* v = a.arg(index, name);
  if (!v || v->is_none()) return fallback;
  if (v->kind != Kind::Bool) fail(std::string(name) + " must be a boolean");
  return v->b;
}

const Value* arg_value(const CallArgs& a, size_t index, std::string_view name) {
  const Value* v = a.arg(index, name);
  return v && !v->is(Kind::Undefined) ? v : nullptr;
}

std::string arg_string(const CallArgs& a, size_t index, std::string_view name,
                       const std::string& fallback) {
  const Value* v = arg_value(a, index, name);
  if (!v) return fallback;
  if (v->kind != Kind::String) fail(std::string(name) + " must be a string");
  return v->s;
}

// The reference's getAttributeValue: a dotted path through dicts and lists.
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v.is_dict()) {
      const Value* e = v.obj->get(part);
      v = e ? *e : Value::undefined();
    } else if (v.is_list()) {
      char* end = nullptr;
      long long k = std::strtoll(part.c_str(), &end, 10);
      if (part.empty() || *end || k < 0 || static_cast<size_t>(k) >= v.arr->size()) {
        return Value::undefined();
      }
      v = (*v.arr)[static_cast<size_t>(k)];
    } else {
      return Value::undefined();
    }
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

Array string_chars(const std::string& s) {
  Array out;
  for (const CodePoint& cp : utf8_code_points(s)) out.push_back(Value::string(s.substr(cp.offset, cp.length)));
  return out;
}

// JS parseInt(s, 10) / parseFloat(s): the longest numeric prefix after spaces.
std::optional<double> js_parse_number(const std::string& s, bool integer) {
  std::string t = text_trim(s, true, false);
  const char* p = t.c_str();
  char* end = nullptr;
  double v = integer ? static_cast<double>(std::strtoll(p, &end, 10)) : std::strtod(p, &end);
  if (end == p) return std::nullopt;
  if (!integer && (t.rfind("0x", 0) == 0 || t.rfind("0X", 0) == 0)) return 0.0;  // parseFloat stops at x
  return v;
}

Value f_safe(Evaluator&, std::string_view, const Value& v, const CallArgs&, Scope&) { return v; }

Value f_tojson(Evaluator&, std::string_view, const Value& v, const CallArgs& a, Scope&) {
  JsonOptions o;
  if (const Value* indent = arg_value(a, 0, "indent"); indent && !indent->is_none()) {
    if (indent->kind != Kind::Int) fail("indent must be an integer");
    o.indent = static_cast<int>(indent->i);
  }
  o.ensure_ascii = arg_bool(a, 99, "ensure_ascii", false);
  o.sort_keys = arg_bool(a, 99, "sort_keys", false);
  if (const Value* sep = arg_value(a, 99, "separators"); sep && !sep->is_none()) {
    if (!sep->is_list() || sep->arr->size() != 2 || (*sep->arr)[0].kind != Kind::String ||
        (*sep->arr)[1].kind != Kind::String) {
      fail("separators must be a pair of strings");
    }
    o.separators = std::make_pair((*sep->arr)[0].s, (*sep->arr)[1].s);
  }
  return Value::string(value_to_json(v, o));
}

Value f_default(Evaluator&, std::string_view, const Value& v, const CallArgs& a, Scope&) {
  const Value* fallback = a.arg(0, "default_value");
  bool boolean = arg_bool(a, 1, "boolean", false);
  if (v.is(Kind::Undefined) || (boolean && !value_truthy(v))) {
    return fallback ? *fallback : Value::string("");
  }
  return v;
}

Value f_length(Evaluator&, std::string_view name, const Value& v, const CallArgs&, Scope&) {
  switch (v.kind) {
    case Kind::Array:
    case Kind::Tuple: return Value::integer(static_cast<int64_t>(v.arr->size()));
    case Kind::String: return Value::integer(static_cast<int64_t>(utf8_length(v.s)));
    case Kind::Object: return Value::integer(static_cast<int64_t>(v.obj->items.size()));
    case Kind::Undefined: return Value::integer(0);
    default: bad_operand(name, v);
  }
}

Value f_list(Evaluator&, std::string_view name, const Value& v, const CallArgs&, Scope&) {
  switch (v.kind) {
    case Kind::Array: return v;
    case Kind::Tuple: return Value::array(*v.arr);
    case Kind::String: return Value::array(string_chars(v.s));
    case Kind::Object: {
      Array keys;
      for (const auto& [k, _] : v.obj->items) keys.push_back(Value::string(k));
      return Value::array(std::move(keys));
    }
    case Kind::Undefined: return Value::array({});
    default: bad_operand(name, v);
  }
}

// The items a sequence filter walks: a list's elements, or a string's
// characters (held in `chars`).
const Array& list_items(std::string_view filter, const Value& v, Array& chars) {
  if (v.is_list()) return *v.arr;
  if (v.kind != Kind::String) bad_operand(filter, v);
  chars = string_chars(v.s);
  return chars;
}

Value f_first_last(Evaluator&, std::string_view name, const Value& v, const CallArgs&, Scope&) {
  Array chars;
  const Array* items = &list_items(name, v, chars);
  if (items->empty()) return Value::undefined();
  return name == "first" ? items->front() : items->back();
}

Value f_reverse(Evaluator&, std::string_view name, const Value& v, const CallArgs&, Scope&) {
  if (v.is_list()) {
    Array out(v.arr->rbegin(), v.arr->rend());
    return Value::array(std::move(out));
  }
  if (v.kind == Kind::String) {
    std::vector<CodePoint> cps = utf8_code_points(v.s);
    std::string out;
    for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += v.s.substr(it->offset, it->length);
    return Value::string(std::move(out));
  }
  bad_operand(name, v);
}

Value f_sort(Evaluator&, std::string_view name, const Value& v, const CallArgs& a, Scope&) {
  if (!v.is_list()) bad_operand(name, v);
  bool reverse = arg_bool(a, 0, "reverse", false);
  bool case_sensitive = arg_bool(a, 1, "case_sensitive", false);
  const Value* attr = arg_value(a, 2, "attribute");
  std::optional<std::string> path;
  if (attr && !attr->is_none()) {
    if (attr->kind == Kind::Int) {
      path = std::to_string(attr->i);
    } else if (attr->kind == Kind::String) {
      path = attr->s;
    } else {
      fail("attribute must be a string or an integer");
    }
  }
  auto key = [&](const Value& x) { return path ? attribute_path(x, *path) : x; };
  Array out = *v.arr;
  std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
    int c = value_compare(key(x), key(y), case_sensitive);
    return reverse ? c > 0 : c < 0;
  });
  return Value::array(std::move(out));
}

std::string join_piece(const Value& e) { return e.is_none() ? "" : value_primitive_string(e); }

Value f_join(Evaluator&, std::string_view name, const Value& v, const CallArgs& a, Scope&) {
  std::string sep = arg_string(a, 0, "d", "");
  if (const Value* s = a.kw("separator")) sep = s->kind == Kind::String ? s->s : sep;
  const Value* attr = arg_value(a, 1, "attribute");
  Array chars;
  const Array* items = &list_items(name, v, chars);
  std::string out;
  for (size_t k = 0; k < items->size(); ++k) {
    if (k) out += sep;
    const Value& e = (*items)[k];
    out += join_piece(attr && attr->kind == Kind::String ? attribute_path(e, attr->s) : e);
  }
  return Value::string(std::move(out));
}

Value f_string(Evaluator&, std::string_view, const Value& v, const CallArgs&, Scope&) {
  if (v.kind == Kind::Null) return Value::string("None");  // jinja2; the reference has none
  return Value::string(value_display(v));
}

Value f_unique(Evaluator&, std::string_view name, const Value& v, const CallArgs&, Scope&) {
  if (!v.is_list()) bad_operand(name, v);
  Array out;
  for (const Value& e : *v.arr) {
    bool seen = std::any_of(out.begin(), out.end(), [&](const Value& o) { return value_strict_equals(o, e); });
    if (!seen) out.push_back(e);
  }
  return Value::array(std::move(out));
}

Value f_selectattr(Evaluator&, std::string_view name, const Value& v, const CallArgs& a, Scope&) {
  if (!v.is_list()) bad_operand(name, v);
  if (a.positional.empty() || a.positional[0].kind != Kind::String) {
    fail(std::string(name) + " needs an attribute name");
  }
  const std::string& attr = a.positional[0].s;
  std::string test = a.positional.size() > 1 ? arg_string(a, 1, "test", "") : "";
  if (!test.empty() && !test_exists(test)) fail("unsupported test '" + test + "'");
  CallArgs test_args;
  test_args.positional.assign(a.positional.begin() + std::min<size_t>(2, a.positional.size()),
                              a.positional.end());
  bool select = name == "selectattr";
  Array out;
  for (const Value& item : *v.arr) {
    if (!item.is_dict()) fail(std::string(name) + " applies to a list of dicts");
    Value field = attribute_path(item, attr);
    bool result = !field.is(Kind::Undefined) &&
                  (test.empty() ? value_truthy(field) : test_apply(test, field, test_args));
    if (result == select) out.push_back(item);
  }
  return Value::array(std::move(out));
}

Value f_select(Evaluator&, std::string_view name, const Value& v, const CallArgs& a, Scope&) {
  if (!v.is_list()) bad_operand(name, v);
  std::string test = arg_string(a, 0, "test", "");
  if (!test.empty() && !test_exists(test)) fail("unsupported test '" + test + "'");
  CallArgs test_args;
  if (a.positional.size() > 1) test_args.positional.assign(a.positional.begin() + 1, a.positional.end());
  bool select = name == "select";
  Array out;
  for (const Value& item : *v.arr) {
    bool result = test.empty() ? value_truthy(item) : test_apply(test, item, test_args);
    if (result == select) out.push_back(item);
  }
  return Value::array(std::move(out));
}

Value f_map(Evaluator& ev, std::string_view name, const Value& v, const CallArgs& a, Scope& scope) {
  if (!v.is_list()) bad_operand(name, v);
  Array out;
  if (const Value* attr = a.kw("attribute")) {
    if (attr->kind != Kind::String && attr->kind != Kind::Int) fail("attribute must be a string");
    std::string path = attr->kind == Kind::Int ? std::to_string(attr->i) : attr->s;
    const Value* fallback = a.kw("default");
    for (const Value& item : *v.arr) {
      if (!item.is_dict()) fail("map(attribute=...) applies to a list of dicts");
      Value e = attribute_path(item, path);
      out.push_back(e.is(Kind::Undefined) && fallback ? *fallback : e);
    }
    return Value::array(std::move(out));
  }
  if (a.positional.empty() || a.positional[0].kind != Kind::String) {
    fail("map needs attribute=... or a filter name");
  }
  const std::string& filter = a.positional[0].s;
  if (!filter_exists(filter)) fail("unsupported filter '" + filter + "'");
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const Value& item : *v.arr) out.push_back(filter_apply(ev, filter, item, rest, scope));
  return Value::array(std::move(out));
}

Value pair(const std::string& k, const Value& v) { return Value::array({Value::string(k), v}); }

Value f_items(Evaluator&, std::string_view name, const Value& v, const CallArgs&, Scope&) {
  if (v.is(Kind::Undefined)) return Value::array({});
  if (!v.is_dict()) bad_operand(name, v);
  Array out;
  for (const auto& [k, e] : v.obj->items) out.push_back(pair(k, e));
  return Value::array(std::move(out));
}

}  // namespace

// Shared with dict.dictsort() in jinja_builtins.cpp.
Value dict_sorted(const Value& v, const CallArgs& a) {
  bool case_sensitive = arg_bool(a, 0, "case_sensitive", false);
  std::string by = arg_string(a, 1, "by", "key");
  if (by != "key" && by != "value") fail("by must be 'key' or 'value'");
  bool reverse = arg_bool(a, 2, "reverse", false);
  Array out;
  for (const auto& [k, e] : v.obj->items) out.push_back(pair(k, e));
  size_t index = by == "key" ? 0 : 1;
  std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
    int c = value_compare((*x.arr)[index], (*y.arr)[index], case_sensitive);
    return reverse ? c > 0 : c < 0;
  });
  return Value::array(std::move(out));
}

namespace {

Value f_dictsort(Evaluator&, std::string_view name, const Value& v, const CallArgs& a, Scope&) {
  if (v.kind != Kind::Object) bad_operand(name, v);
  return dict_sorted(v, a);
}

Value f_case(Evaluator&, std::string_view name, const Value& v, const CallArgs&, Scope&) {
  if (v.kind != Kind::String) bad_operand(name, v);
  if (name == "upper") return Value::string(text_upper(v.s));
  if (name == "lower") return Value::string(text_lower(v.s));
  if (name == "title") return Value::string(text_title(v.s));
  return Value::string(text_capitalize(v.s));
}

std::string strip_chars(const std::string& s, const std::string& chars) {
  std::vector<CodePoint> set = utf8_code_points(chars), cps = utf8_code_points(s);
  auto in_set = [&](char32_t c) {
    return std::any_of(set.begin(), set.end(), [&](const CodePoint& x) { return x.value == c; });
  };
  size_t b = 0, e = cps.size();
  while (b < e && in_set(cps[b].value)) ++b;
  while (e > b && in_set(cps[e - 1].value)) --e;
  if (b == e) return "";
  return s.substr(cps[b].offset, cps[e - 1].offset + cps[e - 1].length - cps[b].offset);
}

Value f_trim(Evaluator&, std::string_view name, const Value& v, const CallArgs& a, Scope&) {
  if (v.kind != Kind::String) bad_operand(name, v);
  if (const Value* chars = arg_value(a, 0, "chars"); chars && chars->kind == Kind::String) {
    return Value::string(strip_chars(v.s, chars->s));  // jinja2's trim(chars)
  }
  return Value::string(text_trim(v.s, true, true));
}

Value f_indent(Evaluator&, std::string_view name, const Value& v, const CallArgs& a, Scope&) {
  if (v.kind != Kind::String) bad_operand(name, v);
  std::string unit(4, ' ');
  if (const Value* w = arg_value(a, 0, "width")) {
    if (w->kind == Kind::Int) {
      unit.assign(static_cast<size_t>(std::max<int64_t>(w->i, 0)), ' ');
    } else if (w->kind == Kind::String) {
      unit = w->s;
    } else {
      fail("width must be a number");
    }
  }
  bool first = arg_bool(a, 1, "first", false);
  bool blank = arg_bool(a, 2, "blank", false);
  std::string out;
  size_t start = 0, line = 0;
  while (true) {
    size_t nl = v.s.find('\n', start);
    std::string piece = v.s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    bool skip = (!first && line == 0) || (!blank && piece.empty());
    if (line) out += '\n';
    if (!skip) out += unit;
    out += piece;
    if (nl == std::string::npos) break;
    start = nl + 1;
    ++line;
  }
  return Value::string(std::move(out));
}

Value f_int_float(Evaluator&, std::string_view name, const Value& v, const CallArgs& a, Scope&) {
  bool to_int = name == "int";
  const Value* fallback = arg_value(a, 0, "default");
  Value dflt = fallback ? *fallback : to_int ? Value::integer(0) : Value::number(0);
  switch (v.kind) {
    case Kind::String: {
      std::optional<double> d = js_parse_number(v.s, to_int);
      if (!d) return dflt;
      return to_int ? Value::integer(static_cast<int64_t>(*d)) : Value::number(*d);
    }
    case Kind::Int: return to_int ? v : Value::number(static_cast<double>(v.i));
    case Kind::Float: return to_int ? Value::integer(static_cast<int64_t>(std::floor(v.f))) : v;
    case Kind::Bool: return to_int ? Value::integer(v.b) : Value::number(v.b);
    case Kind::Null:
    case Kind::Undefined: return dflt;
    default: bad_operand(name, v);
  }
}

Value f_abs(Evaluator&, std::string_view name, const Value& v, const CallArgs&, Scope&) {
  if (v.kind == Kind::Int) return Value::integer(v.i < 0 ? -v.i : v.i);
  if (v.kind == Kind::Float) return Value::number(std::fabs(v.f));
  bad_operand(name, v);
}

Value f_round(Evaluator&, std::string_view name, const Value& v, const CallArgs& a, Scope&) {
  if (!v.is_number()) bad_operand(name, v);
  const Value* p = arg_value(a, 0, "precision");
  int64_t precision = p && p->kind == Kind::Int ? p->i : 0;
  std::string method = arg_string(a, 1, "method", "common");
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_double() * scale;
  double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::round(x);
  if (method != "common" && method != "ceil" && method != "floor") {
    fail("method must be 'common', 'ceil' or 'floor'");
  }
  return Value::number(r / scale);
}

Value f_wordcount(Evaluator&, std::string_view name, const Value& v, const CallArgs&, Scope&) {
  if (v.kind != Kind::String) bad_operand(name, v);
  int64_t n = 0;
  bool in_word = false;
  for (const CodePoint& cp : utf8_code_points(v.s)) {
    char32_t c = cp.value;
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || (c >= 0x80 && !js_space(c));
    if (word && !in_word) ++n;
    in_word = word;
  }
  return Value::integer(n);
}

Value f_escape(Evaluator&, std::string_view, const Value& v, const CallArgs&, Scope&) {
  return Value::string(text_escape_html(v.kind == Kind::String ? v.s : value_display(v)));
}

Value f_replace(Evaluator&, std::string_view name, const Value& v, const CallArgs& a, Scope&) {
  if (v.kind != Kind::String) bad_operand(name, v);
  if (a.positional.size() < 2 || a.positional[0].kind != Kind::String ||
      a.positional[1].kind != Kind::String) {
    fail("replace needs two strings");
  }
  const Value* count = arg_value(a, 2, "count");
  int64_t n = count && count->kind == Kind::Int ? count->i : -1;
  return Value::string(text_replace(v.s, a.positional[0].s, a.positional[1].s, n));
}

Value f_bool(Evaluator&, std::string_view, const Value& v, const CallArgs&, Scope&) {
  return Value::boolean(value_truthy(v));
}

const std::unordered_map<std::string_view, FilterFn>& filters() {
  static const std::unordered_map<std::string_view, FilterFn> table = {
      {"safe", f_safe},        {"tojson", f_tojson},       {"default", f_default},
      {"d", f_default},        {"length", f_length},       {"count", f_length},
      {"list", f_list},        {"first", f_first_last},    {"last", f_first_last},
      {"reverse", f_reverse},  {"sort", f_sort},           {"join", f_join},
      {"string", f_string},    {"unique", f_unique},       {"selectattr", f_selectattr},
      {"rejectattr", f_selectattr}, {"select", f_select},  {"reject", f_select},
      {"map", f_map},          {"items", f_items},         {"dictsort", f_dictsort},
      {"upper", f_case},       {"lower", f_case},          {"title", f_case},
      {"capitalize", f_case},  {"trim", f_trim},           {"indent", f_indent},
      {"int", f_int_float},    {"float", f_int_float},     {"abs", f_abs},
      {"round", f_round},      {"wordcount", f_wordcount}, {"escape", f_escape},
      {"e", f_escape},         {"replace", f_replace},     {"bool", f_bool},
  };
  return table;
}

bool t_compare(std::string_view name, const Value& v, const CallArgs& a) {
  if (a.positional.empty()) fail("test '" + std::string(name) + "' needs an argument");
  const Value& other = a.positional[0];
  if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") {
    return value_strict_equals(v, other);
  }
  if (name == "ne" || name == "!=") return !value_strict_equals(v, other);
  if (name == "in") {
    if (other.is_list()) {
      return std::any_of(other.arr->begin(), other.arr->end(),
                         [&](const Value& e) { return value_strict_equals(e, v); });
    }
    return value_truthy(value_binary("in", v, other));
  }
  if (name == "divisibleby") {
    if (v.kind != Kind::Int || other.kind != Kind::Int || other.i == 0) fail("divisibleby needs integers");
    return v.i % other.i == 0;
  }
  int c = value_compare(v, other, true);
  if (name == "gt" || name == ">") return c > 0;
  if (name == "ge" || name == ">=") return c >= 0;
  if (name == "lt" || name == "<") return c < 0;
  return c <= 0;  // le, <=
}

}  // namespace

bool filter_exists(std::string_view name) { return filters().count(name) > 0; }

Value filter_apply(Evaluator& ev, std::string_view name, const Value& operand, const CallArgs& args,
                   Scope& scope) {
  auto it = filters().find(name);
  if (it == filters().end()) fail("unsupported filter '" + std::string(name) + "'");
  return it->second(ev, name, operand, args, scope);
}

bool test_exists(std::string_view name) {
  static const char* const kTests[] = {
      "boolean", "callable", "odd", "even", "false", "true", "none", "string", "number",
      "integer", "float", "iterable", "mapping", "sequence", "lower", "upper", "defined",
      "undefined", "equalto", "eq", "ne", "sameas", "divisibleby", "in", "gt", "ge", "lt", "le",
      "==", "!=", ">", ">=", "<", "<="};
  return std::any_of(std::begin(kTests), std::end(kTests), [&](const char* t) { return name == t; });
}

bool test_apply(std::string_view name, const Value& v, const CallArgs& a) {
  if (name == "defined") return !v.is(Kind::Undefined);
  if (name == "undefined") return v.is(Kind::Undefined);
  if (name == "none") return v.is(Kind::Null);
  if (name == "boolean") return v.is(Kind::Bool);
  if (name == "true") return v.is(Kind::Bool) && v.b;
  if (name == "false") return v.is(Kind::Bool) && !v.b;
  if (name == "string") return v.is(Kind::String);
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is(Kind::Int);
  if (name == "float") return v.is(Kind::Float);
  if (name == "callable") return v.is(Kind::Function);
  if (name == "iterable") return v.is_list() || v.is(Kind::String);
  if (name == "mapping") return v.is(Kind::Object);
  if (name == "sequence") return v.is_list() || v.is(Kind::Object) || v.is(Kind::String);
  if (name == "lower") return v.is(Kind::String) && v.s == text_lower(v.s);
  if (name == "upper") return v.is(Kind::String) && v.s == text_upper(v.s);
  if (name == "odd" || name == "even") {
    if (!v.is(Kind::Int)) fail("test '" + std::string(name) + "' needs an integer, got " + a_kind(v.kind));
    return (v.i % 2 != 0) == (name == "odd");
  }
  if (!test_exists(name)) fail("unsupported test '" + std::string(name) + "'");
  return t_compare(name, v, a);
}

}  // namespace loam::jinja

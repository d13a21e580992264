// Members, methods and globals of the chat-template interpreter; see
// jinja_filters.h. String methods follow the reference (JavaScript-backed):
// strip/lstrip/rstrip ignore a `chars` argument and trim all whitespace.
#include <ctime>

#include "tokenizer/jinja/jinja_eval.h"
#include "tokenizer/jinja/jinja_filters.h"
#include "tokenizer/jinja/jinja_string.h"

namespace loam::jinja {
namespace {


const Value& need_string(const CallArgs& a, size_t k, const char* method, const char* what) {
  if (k >= a.positional.size() || a.positional[k].kind != Kind::String) {
    fail(std::string(method) + "() needs a string " + what);
  }
  return a.positional[k];
}

Value m_case(const Value& self, std::string_view name) {
  if (name == "upper") return Value::string(text_upper(self.s));
  if (name == "lower") return Value::string(text_lower(self.s));
  if (name == "title") return Value::string(text_title(self.s));
  return Value::string(text_capitalize(self.s));
}

Value m_affix(const Value& self, const CallArgs& a, bool prefix) {
  const char* name = prefix ? "startswith" : "endswith";
  if (a.positional.empty()) fail(std::string(name) + "() needs an argument");
  auto test = [&](const Value& p) {
    if (p.kind != Kind::String) fail(std::string(name) + "() needs strings");
    if (p.s.size() > self.s.size()) return false;
    return prefix ? self.s.compare(0, p.s.size(), p.s) == 0
                  : self.s.compare(self.s.size() - p.s.size(), p.s.size(), p.s) == 0;
  };
  const Value& p = a.positional[0];
  if (p.is_list()) {
    for (const Value& e : *p.arr) {
      if (test(e)) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  return Value::boolean(test(p));
}

Value m_split(const Value& self, const CallArgs& a) {
  const Value* sep = a.arg(0, "sep");
  const Value* maxsplit = a.arg(1, "maxsplit");
  std::optional<std::string> s;
  if (sep && !sep->is_none()) {
    if (sep->kind != Kind::String) fail("split() separator must be a string or none");
    if (sep->s.empty()) fail("split(): empty separator");
    s = sep->s;
  }
  int64_t n = -1;
  if (maxsplit && !maxsplit->is_none()) {
    if (maxsplit->kind != Kind::Int) fail("split() maxsplit must be an integer");
    n = maxsplit->i;
  }
  Array out;
  for (std::string& part : text_split(self.s, s, n)) out.push_back(Value::string(std::move(part)));
  return Value::array(std::move(out));
}

Value m_replace(const Value& self, const CallArgs& a) {
  const Value& from = need_string(a, 0, "replace", "to find");
  const Value& to = need_string(a, 1, "replace", "replacement");
  const Value* count = a.arg(2, "count");
  int64_t n = -1;
  if (count && !count->is_none()) {
    if (count->kind != Kind::Int) fail("replace() count must be an integer");
    n = count->i;
  }
  return Value::string(text_replace(self.s, from.s, to.s, n));
}

Value m_join(const Value& self, const CallArgs& a) {  // Python str.join (jinja2)
  if (a.positional.empty() || !a.positional[0].is_list()) fail("join() needs a list");
  std::string out;
  const Array& items = *a.positional[0].arr;
  for (size_t k = 0; k < items.size(); ++k) {
    if (k) out += self.s;
    if (items[k].kind != Kind::String) fail("join() needs a list of strings");
    out += items[k].s;
  }
  return Value::string(std::move(out));
}

Value string_method(const Value& self, const std::string& name) {
  auto bind = [&](auto fn) {
    return Value::function(name, [self, fn](const CallArgs& a, Scope&) { return fn(self, a); });
  };
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    return Value::function(name, [self, name](const CallArgs&, Scope&) { return m_case(self, name); });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool left = name != "rstrip", right = name != "lstrip";
    return Value::function(name, [self, left, right](const CallArgs&, Scope&) {
      return Value::string(text_trim(self.s, left, right));
    });
  }
  if (name == "startswith") return bind([](const Value& s, const CallArgs& a) { return m_affix(s, a, true); });
  if (name == "endswith") return bind([](const Value& s, const CallArgs& a) { return m_affix(s, a, false); });
  if (name == "split") return bind(m_split);
  if (name == "replace") return bind(m_replace);
  if (name == "join") return bind(m_join);
  if (name == "length") return Value::integer(static_cast<int64_t>(utf8_length(self.s)));
  return Value::undefined();
}

Value dict_method(const Value& self, const std::string& name) {
  auto bind = [&](Value (*fn)(const Value&, const CallArgs&)) {
    return Value::function(name, [self, fn](const CallArgs& a, Scope&) { return fn(self, a); });
  };
  if (name == "get") {
    return bind([](const Value& d, const CallArgs& a) {
      if (a.positional.empty() || a.positional[0].kind != Kind::String) fail("get() needs a string key");
      const Value* v = d.obj->get(a.positional[0].s);
      if (v) return *v;
      return a.positional.size() > 1 ? a.positional[1] : Value::null();
    });
  }
  if (name == "items" || name == "keys" || name == "values") {
    int which = name == "items" ? 0 : name == "keys" ? 1 : 2;
    return Value::function(name, [self, which](const CallArgs&, Scope&) {
      Array out;
      for (const auto& [k, v] : self.obj->items) {
        if (which == 0) out.push_back(Value::array({Value::string(k), v}));
        if (which == 1) out.push_back(Value::string(k));
        if (which == 2) out.push_back(v);
      }
      return Value::array(std::move(out));
    });
  }
  if (name == "dictsort") return bind(dict_sorted);
  return Value::undefined();
}

Value list_method(const Value& self, const std::string& name) {
  if (name == "length") return Value::integer(static_cast<int64_t>(self.arr->size()));
  if (name == "append" && self.kind == Kind::Array) {  // Python list.append (jinja2)
    return Value::function(name, [self](const CallArgs& a, Scope&) {
      if (a.positional.size() != 1) fail("append() takes exactly one argument");
      self.arr->push_back(a.positional[0]);
      return Value::null();
    });
  }
  return Value::undefined();
}

Value index_of(const Value& self, int64_t k) {
  if (self.is_list()) {
    int64_t n = static_cast<int64_t>(self.arr->size());
    if (k < 0) k += n;
    return k >= 0 && k < n ? (*self.arr)[static_cast<size_t>(k)] : Value::undefined();
  }
  std::vector<CodePoint> cps = utf8_code_points(self.s);
  int64_t n = static_cast<int64_t>(cps.size());
  if (k < 0) k += n;
  if (k < 0 || k >= n) return Value::undefined();
  const CodePoint& cp = cps[static_cast<size_t>(k)];
  return Value::string(self.s.substr(cp.offset, cp.length));
}

}  // namespace

Value member_get(const Value& object, const Value& key) {
  if (object.is_dict()) {
    if (key.kind != Kind::String) {
      fail(std::string("cannot index ") + a_kind(object.kind) + " with " + a_kind(key.kind));
    }
    if (const Value* v = object.obj->get(key.s)) return *v;
    return object.kind == Kind::Object ? dict_method(object, key.s) : Value::undefined();
  }
  if (object.is_list() || object.kind == Kind::String) {
    if (key.kind == Kind::Int) return index_of(object, key.i);
    if (key.kind == Kind::String) {
      return object.is_list() ? list_method(object, key.s) : string_method(object, key.s);
    }
    fail(std::string("cannot index ") + a_kind(object.kind) + " with " + a_kind(key.kind));
  }
  if (key.kind != Kind::String) {
    fail(std::string("cannot index ") + a_kind(object.kind) + " with " + a_kind(key.kind));
  }
  return Value::undefined();
}

namespace {

Value g_range(const CallArgs& a, Scope&) {
  for (const Value& v : a.positional) {
    if (v.kind != Kind::Int) fail("range() needs integers");
  }
  if (a.positional.empty() || a.positional.size() > 3) fail("range() takes 1 to 3 integers");
  int64_t start = 0, stop = 0, step = 1;
  if (a.positional.size() == 1) {
    stop = a.positional[0].i;
  } else {
    start = a.positional[0].i;
    stop = a.positional[1].i;
    if (a.positional.size() == 3) step = a.positional[2].i;
  }
  if (step == 0) fail("range() step must not be zero");
  Array out;
  for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
    if (out.size() >= 1000000) fail("range() is too long");
    out.push_back(Value::integer(k));
  }
  return Value::array(std::move(out));
}

Value g_namespace(const CallArgs& a, Scope&) {
  if (a.positional.size() > 1) fail("namespace() takes at most one positional argument");
  Object o;
  if (!a.positional.empty()) {
    const Value& src = a.positional[0];
    if (src.kind == Kind::Object) {
      o = *src.obj;
    } else if (src.is_list()) {
      for (const Value& p : *src.arr) {
        if (!p.is_list() || p.arr->size() != 2 || (*p.arr)[0].kind != Kind::String) {
          fail("namespace() needs a dict or a list of [key, value] pairs");
        }
        o.set((*p.arr)[0].s, (*p.arr)[1]);
      }
    } else {
      fail(std::string("namespace() cannot take ") + a_kind(src.kind));
    }
  }
  for (const auto& [k, v] : a.keyword) o.set(k, v);
  return Value::object(std::move(o), Kind::Namespace);
}

Value g_dict(const CallArgs& a, Scope&) {
  Object o;
  if (!a.positional.empty()) {
    if (a.positional[0].kind != Kind::Object) fail("dict() takes a dict or keyword arguments");
    o = *a.positional[0].obj;
  }
  for (const auto& [k, v] : a.keyword) o.set(k, v);
  return Value::object(std::move(o));
}

Value g_raise(const CallArgs& a, Scope&) {
  std::string message = a.positional.empty() ? "raise_exception() called" : value_display(a.positional[0]);
  fail(message, "raised by the chat template itself (raise_exception)");
}

Value g_strftime_now(const CallArgs& a, Scope&) {
  if (a.positional.empty() || a.positional[0].kind != Kind::String) fail("strftime_now() needs a format string");
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[256];
  size_t n = std::strftime(buf, sizeof buf, a.positional[0].s.c_str(), &local);
  return Value::string(std::string(buf, n));
}

}  // namespace

void globals_install(Scope& scope) {
  scope.set("range", Value::function("range", g_range));
  scope.set("namespace", Value::function("namespace", g_namespace));
  scope.set("dict", Value::function("dict", g_dict));
  scope.set("raise_exception", Value::function("raise_exception", g_raise));
  scope.set("strftime_now", Value::function("strftime_now", g_strftime_now));
}

}  // namespace loam::jinja

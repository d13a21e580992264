// Evaluator of the chat-template interpreter; see jinja_eval.h.
#include "tokenizer/jinja/jinja_eval.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/jinja/jinja_filters.h"
#include "tokenizer/jinja/jinja_string.h"

namespace loam::jinja {

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent_) {
    auto it = s->vars_.find(name);
    if (it != s->vars_.end()) return &it->second;
  }
  return nullptr;
}

void Evaluator::fail_at(const Node& n, const std::string& message) const {
  throw Error(pos_where(origin_, n.pos), message);
}

void Evaluator::step() {
  if (++steps_ > kMaxRenderSteps)
    fail("the template did not finish within " + std::to_string(kMaxRenderSteps) + " steps (loops over huge ranges?)",
         "chat template evaluation is bounded so a hostile template cannot stall the process");
}

void Evaluator::append(std::string& out, std::string_view s) {
  if (out.size() + s.size() > kMaxRenderBytes)
    fail("the template's output exceeds " + std::to_string(kMaxRenderBytes >> 20) + " MiB",
         "chat template evaluation is bounded so a hostile template cannot exhaust memory");
  out += s;
}

void Evaluator::check_size(const Value& v) {
  size_t bytes = v.kind == Kind::String ? v.s.size() : 0;
  if (v.is_list()) {  // its items and their strings (one level: what concatenation copies)
    bytes = v.arr->size() * 32;
    for (const Value& e : *v.arr)
      if (e.kind == Kind::String) bytes += e.s.size();
  }
  if (bytes > kMaxRenderBytes)
    fail(std::string("a ") + kind_name(v.kind) + " value exceeds the render limit of " +
             std::to_string(kMaxRenderBytes >> 20) + " MiB",
         "chat template evaluation is bounded so a hostile template cannot exhaust memory");
}

std::string Evaluator::render(const std::vector<NodePtr>& program, Scope& globals) {
  std::string out;
  exec_block(program, globals, out);
  return out;
}

Evaluator::Flow Evaluator::exec_block(const std::vector<NodePtr>& body, Scope& scope,
                                      std::string& out) {
  for (const NodePtr& n : body) {
    Flow f = exec(*n, scope, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::exec(const Node& n, Scope& scope, std::string& out) {
  try {
    step();
    switch (n.kind) {
      case NodeKind::Text:
        append(out, n.str);
        return Flow::Normal;
      case NodeKind::If:
        return exec_block(value_truthy(eval(*n.a, scope)) ? n.body : n.alt, scope, out);
      case NodeKind::For:
        exec_for(n, scope, out);
        return Flow::Normal;
      case NodeKind::Set:
        exec_set(n, scope);
        return Flow::Normal;
      case NodeKind::Macro:
        exec_macro(n, scope);
        return Flow::Normal;
      case NodeKind::CallBlock:
        exec_call_block(n, scope, out);
        return Flow::Normal;
      case NodeKind::FilterBlock: {
        std::string inner;
        exec_block(n.body, scope, inner);
        CallArgs args = eval_args(n.items, scope);
        Value v = filter_apply(*this, n.str, Value::string(std::move(inner)), args, scope);
        if (!v.is_none()) append(out, value_display(v));
        return Flow::Normal;
      }
      case NodeKind::Break: return Flow::Break;
      case NodeKind::Continue: return Flow::Continue;
      default: {
        Value v = eval(n, scope);
        if (!v.is_none()) append(out, value_display(v));
        return Flow::Normal;
      }
    }
  } catch (const Failure& f) {
    throw Error(pos_where(origin_, n.pos), f.message, f.hint);
  }
}

namespace {

Array iteration_items(const Value& v) {
  switch (v.kind) {
    case Kind::Array:
    case Kind::Tuple: return *v.arr;
    case Kind::Object: {
      Array keys;
      for (const auto& [k, _] : v.obj->items) keys.push_back(Value::string(k));
      return keys;
    }
    case Kind::String: {  // jinja2 iterates characters (the reference rejects strings)
      Array chars;
      for (const CodePoint& cp : utf8_code_points(v.s)) {
        chars.push_back(Value::string(v.s.substr(cp.offset, cp.length)));
      }
      return chars;
    }
    case Kind::Undefined: return {};  // jinja2: an undefined iterates as empty
    default: fail(std::string("cannot iterate over ") + a_kind(v.kind));
  }
}

void bind_target(const Node& target, const Value& item, Scope& scope) {
  if (target.kind == NodeKind::Name) {
    scope.set(target.str, item);
    return;
  }
  if (!item.is_list()) fail(std::string("cannot unpack ") + a_kind(item.kind));
  size_t want = target.items.size(), have = item.arr->size();
  if (want != have) {
    fail(std::string("too ") + (want > have ? "few" : "many") + " items to unpack (expected " +
         std::to_string(want) + ", got " + std::to_string(have) + ")");
  }
  for (size_t k = 0; k < want; ++k) scope.set(target.items[k]->str, (*item.arr)[k]);
}

Value loop_object(const Array& items, size_t k) {
  size_t n = items.size();
  Object loop;
  loop.items.reserve(10);
  loop.items.emplace_back("index", Value::integer(static_cast<int64_t>(k + 1)));
  loop.items.emplace_back("index0", Value::integer(static_cast<int64_t>(k)));
  loop.items.emplace_back("revindex", Value::integer(static_cast<int64_t>(n - k)));
  loop.items.emplace_back("revindex0", Value::integer(static_cast<int64_t>(n - k - 1)));
  loop.items.emplace_back("first", Value::boolean(k == 0));
  loop.items.emplace_back("last", Value::boolean(k + 1 == n));
  loop.items.emplace_back("length", Value::integer(static_cast<int64_t>(n)));
  loop.items.emplace_back("previtem", k > 0 ? items[k - 1] : Value::undefined());
  loop.items.emplace_back("nextitem", k + 1 < n ? items[k + 1] : Value::undefined());
  loop.items.emplace_back("cycle", Value::function("cycle", [k](const CallArgs& a, Scope&) {
    if (a.positional.empty()) fail("loop.cycle() needs at least one argument");
    return a.positional[k % a.positional.size()];
  }));
  return Value::object(std::move(loop));
}

}  // namespace

void Evaluator::exec_for(const Node& n, Scope& scope, std::string& out) {
  Scope loop_scope(&scope);
  Value iterable = eval(*n.b, loop_scope);
  Array all;
  try {
    all = iteration_items(iterable);
  } catch (const Failure& f) {
    fail_at(*n.b, f.message);
  }
  Array items;
  if (n.c) {  // `for x in xs if cond`: filter first, so loop.* count the kept items
    for (const Value& item : all) {
      step();
      Scope test_scope(&loop_scope);
      bind_target(*n.a, item, test_scope);
      if (value_truthy(eval(*n.c, test_scope))) items.push_back(item);
    }
  } else {
    items = std::move(all);
  }
  bool none_completed = true;
  for (size_t k = 0; k < items.size(); ++k) {
    step();
    loop_scope.set("loop", loop_object(items, k));
    bind_target(*n.a, items[k], loop_scope);
    std::string text;
    Flow f = exec_block(n.body, loop_scope, text);
    if (f == Flow::Continue) continue;
    if (f == Flow::Break) break;
    append(out, text);
    none_completed = false;
  }
  if (none_completed) exec_block(n.alt, loop_scope, out);
}

void Evaluator::exec_set(const Node& n, Scope& scope) {
  Value v;
  if (n.b) {
    v = eval(*n.b, scope);
  } else {
    std::string text;
    exec_block(n.body, scope, text);
    v = Value::string(std::move(text));
  }
  const Node& target = *n.a;
  if (target.kind == NodeKind::Member) {
    Value object = eval(*target.a, scope);
    if (object.kind != Kind::Namespace) {
      fail_at(target, std::string("cannot set an attribute of ") + a_kind(object.kind) +
                          " (only of a namespace())");
    }
    object.obj->set(target.b->str, std::move(v));
    return;
  }
  bind_target(target, v, scope);
}

void Evaluator::bind_params(const Node& def, const std::vector<NodePtr>& params,
                            const CallArgs& args, Scope& scope) {
  std::string name = def.kind == NodeKind::Macro ? "macro '" + def.str + "'" : "caller";
  std::vector<std::pair<std::string, Value>> keyword = args.keyword;
  std::vector<const Node*> pending;
  for (size_t k = 0; k < params.size(); ++k) {
    const Node& p = *params[k];
    const Value* v = k < args.positional.size() ? &args.positional[k] : nullptr;
    Value taken;
    if (!v) {
      auto it = std::find_if(keyword.begin(), keyword.end(),
                             [&](const auto& kv) { return kv.first == p.str; });
      if (it != keyword.end()) {
        taken = std::move(it->second);
        keyword.erase(it);
        v = &taken;
      }
    }
    if (!v && p.kind == NodeKind::Kwarg) pending.push_back(&p);
    scope.set(p.str, v ? *v : Value::undefined());
  }
  if (def.i & 1) {
    Object kw;
    for (auto& [k, v] : keyword) kw.items.emplace_back(k, v);
    scope.set("kwargs", Value::object(std::move(kw)));
  } else if (!keyword.empty()) {
    fail(name + " has no parameter '" + keyword.front().first + "'");
  }
  if (def.i & 2) {
    Array rest;
    for (size_t k = params.size(); k < args.positional.size(); ++k) rest.push_back(args.positional[k]);
    scope.set("varargs", Value::array(std::move(rest)));
  } else if (args.positional.size() > params.size()) {
    fail(name + " takes at most " + std::to_string(params.size()) + " argument(s)");
  }
  for (const Node* p : pending) scope.set(p->str, eval(*p->a, scope));
}

void Evaluator::exec_macro(const Node& n, Scope& scope) {
  const Node* def = &n;
  scope.set(n.str, Value::function(n.str, [this, def](const CallArgs& args, Scope& caller) {
    Scope body_scope(&caller);  // dynamic scoping, as the reference
    bind_params(*def, def->items, args, body_scope);
    std::string text;
    exec_block(def->body, body_scope, text);
    return Value::string(std::move(text));
  }));
}

void Evaluator::exec_call_block(const Node& n, Scope& scope, std::string& out) {
  const Node* def = &n;
  Scope* env = &scope;
  Value caller = Value::function("caller", [this, def, env](const CallArgs& args, Scope&) {
    Scope body_scope(env);
    bind_params(*def, def->items, args, body_scope);
    std::string text;
    exec_block(def->body, body_scope, text);
    return Value::string(std::move(text));
  });
  const Node& call = *n.a;
  CallArgs args = eval_args(call.items, scope);
  Value fn = eval(*call.a, scope);
  if (fn.kind != Kind::Function) fail_at(call, "'" + call.a->str + "' is not a macro");
  Scope with_caller(&scope);
  with_caller.set("caller", caller);
  Value v;
  try {
    v = call_value(fn, args, with_caller);
  } catch (const Failure& f) {
    fail_at(call, f.message);
  }
  if (!v.is_none()) append(out, value_display(v));
}

Value Evaluator::eval(const Node& n, Scope& scope) {
  try {
    step();
    Value v = eval_node(n, scope);
    // Only operations make new values; a name or member is an existing one.
    if (n.kind == NodeKind::Binary || n.kind == NodeKind::Filter || n.kind == NodeKind::Call ||
        n.kind == NodeKind::List || n.kind == NodeKind::Tuple)
      check_size(v);
    return v;
  } catch (const Failure& f) {
    throw Error(pos_where(origin_, n.pos), f.message, f.hint);
  }
}

Value Evaluator::eval_node(const Node& n, Scope& scope) {
  switch (n.kind) {
    case NodeKind::Int: return Value::integer(n.i);
    case NodeKind::Float: return Value::number(n.f);
    case NodeKind::Str: return Value::string(n.str);
    case NodeKind::Bool: return Value::boolean(n.flag);
    case NodeKind::None: return Value::null();
    case NodeKind::List:
    case NodeKind::Tuple: {
      Array items;
      items.reserve(n.items.size());
      for (const NodePtr& e : n.items) items.push_back(eval(*e, scope));
      return Value::array(std::move(items), n.kind == NodeKind::List ? Kind::Array : Kind::Tuple);
    }
    case NodeKind::Dict: {
      Object o;
      for (size_t k = 0; k + 1 < n.items.size(); k += 2) {
        Value key = eval(*n.items[k], scope);
        if (key.kind != Kind::String) fail_at(*n.items[k], "dict keys must be strings");
        o.set(key.s, eval(*n.items[k + 1], scope));
      }
      return Value::object(std::move(o));
    }
    case NodeKind::Name: {
      const Value* v = scope.find(n.str);
      return v ? *v : Value::undefined();
    }
    case NodeKind::Member: return eval_member(n, scope);
    case NodeKind::Call: return eval_call(n, scope);
    case NodeKind::Unary: return eval_unary(n, scope);
    case NodeKind::Binary: {
      Value left = eval(*n.a, scope);
      if (n.str == "and") return value_truthy(left) ? eval(*n.b, scope) : left;
      if (n.str == "or") return value_truthy(left) ? left : eval(*n.b, scope);
      return value_binary(n.str, left, eval(*n.b, scope));
    }
    case NodeKind::Filter: {
      Value operand = eval(*n.a, scope);
      CallArgs args = eval_args(n.items, scope);
      return filter_apply(*this, n.str, operand, args, scope);
    }
    case NodeKind::Test: {
      Value operand = eval(*n.a, scope);
      CallArgs args = eval_args(n.items, scope);
      return Value::boolean(test_apply(n.str, operand, args) != n.flag);
    }
    case NodeKind::Select:
      return value_truthy(eval(*n.b, scope)) ? eval(*n.a, scope) : Value::undefined();
    case NodeKind::Ternary:
      return value_truthy(eval(*n.a, scope)) ? eval(*n.b, scope) : eval(*n.c, scope);
    default: fail("this expression is not allowed here");
  }
}

Value Evaluator::eval_member(const Node& n, Scope& scope) {
  Value object = eval(*n.a, scope);
  if (n.b->kind == NodeKind::Slice) return eval_slice(object, *n.b, scope);
  return member_get(object, eval(*n.b, scope));
}

namespace {

// The reference's slice(): Python-like bounds, except that an explicit stop
// of -1 with a negative step means "through the first element".
std::vector<size_t> slice_indices(int64_t len, std::optional<int64_t> start,
                                  std::optional<int64_t> stop, int64_t step) {
  std::vector<size_t> out;
  if (step > 0) {
    int64_t b = !start ? 0 : *start < 0 ? std::max<int64_t>(len + *start, 0) : std::min(*start, len);
    int64_t e = !stop ? len : *stop < 0 ? std::max<int64_t>(len + *stop, 0) : std::min(*stop, len);
    for (int64_t k = b; k < e; k += step) out.push_back(static_cast<size_t>(k));
  } else {
    int64_t b = !start ? len - 1
                : *start < 0 ? std::max<int64_t>(len + *start, -1) : std::min(*start, len - 1);
    int64_t e = !stop ? -1 : *stop < -1 ? std::max<int64_t>(len + *stop, -1) : std::min(*stop, len - 1);
    for (int64_t k = b; k > e; k += step) out.push_back(static_cast<size_t>(k));
  }
  return out;
}

}  // namespace

Value Evaluator::eval_slice(const Value& object, const Node& slice, Scope& scope) {
  if (!object.is_list() && object.kind != Kind::String) {
    fail(std::string("cannot slice ") + a_kind(object.kind));
  }
  auto bound = [&](const NodePtr& part, const char* what) -> std::optional<int64_t> {
    if (!part) return std::nullopt;
    Value v = eval(*part, scope);
    if (v.is_none()) return std::nullopt;
    if (v.kind != Kind::Int) fail(std::string("slice ") + what + " must be an integer");
    return v.i;
  };
  std::optional<int64_t> start = bound(slice.a, "start"), stop = bound(slice.b, "stop");
  int64_t step = bound(slice.c, "step").value_or(1);
  if (step == 0) fail("slice step cannot be zero");
  if (object.is_list()) {
    Array out;
    for (size_t k : slice_indices(static_cast<int64_t>(object.arr->size()), start, stop, step)) {
      out.push_back((*object.arr)[k]);
    }
    return Value::array(std::move(out));
  }
  std::vector<CodePoint> cps = utf8_code_points(object.s);
  std::string out;
  for (size_t k : slice_indices(static_cast<int64_t>(cps.size()), start, stop, step)) {
    out += object.s.substr(cps[k].offset, cps[k].length);
  }
  return Value::string(std::move(out));
}

CallArgs Evaluator::eval_args(const std::vector<NodePtr>& args, Scope& scope) {
  CallArgs out;
  auto add_keyword = [&](const Node& at, const std::string& key, Value v) {
    if (out.kw(key)) fail_at(at, "got multiple values for keyword argument '" + key + "'");
    out.keyword.emplace_back(key, std::move(v));
  };
  for (const NodePtr& a : args) {
    if (a->kind == NodeKind::Kwarg) {
      add_keyword(*a, a->str, eval(*a->a, scope));
    } else if (a->kind == NodeKind::Spread) {
      Value v = eval(*a->a, scope);
      if (!v.is_list()) fail_at(*a, std::string("cannot unpack ") + a_kind(v.kind) + " with *");
      out.positional.insert(out.positional.end(), v.arr->begin(), v.arr->end());
    } else if (a->kind == NodeKind::KwSpread) {
      Value v = eval(*a->a, scope);
      if (v.kind != Kind::Object) fail_at(*a, "the argument after ** must be a dict");
      for (const auto& [k, e] : v.obj->items) add_keyword(*a, k, e);
    } else {
      out.positional.push_back(eval(*a, scope));
    }
  }
  return out;
}

Value Evaluator::eval_call(const Node& n, Scope& scope) {
  CallArgs args = eval_args(n.items, scope);
  const Node& callee = *n.a;
  Value fn;
  if (callee.kind == NodeKind::Member && callee.b->kind != NodeKind::Slice) {
    Value object = eval(*callee.a, scope);
    Value key = eval(*callee.b, scope);
    fn = member_get(object, key);
    if (fn.kind != Kind::Function) {
      std::string name = key.kind == Kind::String ? key.s : value_display(key);
      if (object.is_dict() && !fn.is(Kind::Undefined)) fail("'" + name + "' is not callable");
      fail("unsupported method '" + name + "' on " + kind_name(object.kind));
    }
  } else {
    fn = eval(callee, scope);
    if (fn.kind != Kind::Function) {
      if (callee.kind == NodeKind::Name) {
        fail("'" + callee.str + (fn.is(Kind::Undefined) ? "' is undefined" : "' is not callable"));
      }
      fail(std::string("cannot call ") + a_kind(fn.kind));
    }
  }
  return call_value(fn, args, scope);
}

Value Evaluator::call_value(const Value& fn, const CallArgs& args, Scope& scope) {
  if (fn.kind != Kind::Function) fail(std::string("cannot call ") + a_kind(fn.kind));
  if (call_depth_ >= 100) fail("calls nested too deeply (recursive macro?)");
  ++call_depth_;
  struct Leave {
    int& depth;
    ~Leave() { --depth; }
  } leave{call_depth_};
  return fn.fn->call(args, scope);
}

Value Evaluator::eval_unary(const Node& n, Scope& scope) {
  Value v = eval(*n.a, scope);
  if (n.str == "not") return Value::boolean(!value_truthy(v));
  bool neg = n.str == "-";
  switch (v.kind) {
    case Kind::Int: return Value::integer(neg ? -v.i : v.i);
    case Kind::Float: return Value::number(neg ? -v.f : v.f);
    case Kind::Bool: return Value::integer(neg ? -int64_t(v.b) : int64_t(v.b));
    default: fail("unsupported operand for unary " + n.str + ": " + kind_name(v.kind));
  }
}

}  // namespace loam::jinja

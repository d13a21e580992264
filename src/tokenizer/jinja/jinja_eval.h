// Evaluator of the chat-template interpreter: syntax tree + context -> text.
//
// Scoping follows @huggingface/jinja: `set` writes the innermost scope; a for
// loop opens one scope for the whole loop (so `set` inside a loop is not seen
// after it; use a namespace); macros run in a child of the *calling* scope.
// `break`/`continue` drop the text the current iteration rendered before them
// and a for-else block runs when no iteration completed (reference quirks).
//
// One Evaluator serves one render call; it is not shared between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/jinja/jinja_ast.h"
#include "tokenizer/jinja/jinja_value.h"

namespace loam::jinja {

class Scope {
 public:
  explicit Scope(Scope* parent) : parent_(parent) {}
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  // The innermost binding of `name`, or nullptr.
  const Value* find(const std::string& name) const;
  void set(const std::string& name, Value v) { vars_[name] = std::move(v); }

 private:
  Scope* parent_;
  std::unordered_map<std::string, Value> vars_;
};

// Bounds on one render, so that a hostile template (nested loops over large
// ranges, a string doubled in a loop) fails with an error instead of running
// for hours or exhausting memory. Real chat templates stay far below both:
// a step is one statement or expression evaluated.
inline constexpr int64_t kMaxRenderSteps = 2'000'000;
inline constexpr size_t kMaxRenderBytes = size_t{32} << 20;  // output, and any one string value

class Evaluator {
 public:
  explicit Evaluator(const std::string& origin) : origin_(origin) {}

  // Renders a parsed template. Throws loam::Error naming line:column.
  std::string render(const std::vector<NodePtr>& program, Scope& globals);

  Value eval(const Node& n, Scope& scope);
  Value call_value(const Value& fn, const CallArgs& args, Scope& scope);

 private:
  enum class Flow { Normal, Break, Continue };

  Flow exec_block(const std::vector<NodePtr>& body, Scope& scope, std::string& out);
  Flow exec(const Node& n, Scope& scope, std::string& out);
  void exec_for(const Node& n, Scope& scope, std::string& out);
  void exec_set(const Node& n, Scope& scope);
  void exec_macro(const Node& n, Scope& scope);
  void exec_call_block(const Node& n, Scope& scope, std::string& out);
  void bind_params(const Node& def, const std::vector<NodePtr>& params, const CallArgs& args,
                   Scope& scope);

  Value eval_node(const Node& n, Scope& scope);
  Value eval_member(const Node& n, Scope& scope);
  Value eval_slice(const Value& object, const Node& slice, Scope& scope);
  Value eval_call(const Node& n, Scope& scope);
  Value eval_unary(const Node& n, Scope& scope);
  CallArgs eval_args(const std::vector<NodePtr>& args, Scope& scope);

  [[noreturn]] void fail_at(const Node& n, const std::string& message) const;
  // Counts one step; fails past kMaxRenderSteps.
  void step();
  // out += s, failing when out would exceed kMaxRenderBytes.
  void append(std::string& out, std::string_view s);
  // Fails when a value is larger than a render may produce.
  void check_size(const Value& v);

  const std::string& origin_;
  int call_depth_ = 0;  // macro calls in progress; bounded to protect the stack
  int64_t steps_ = 0;   // statements and expressions evaluated so far
};

}  // namespace loam::jinja

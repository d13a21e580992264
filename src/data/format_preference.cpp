// Preference formats: a prompt (ending on a user turn) and two completions,
// preferred and rejected, which must differ.
#include "data/format_parse.h"

namespace loam {
namespace {

// A completion: a string, or (when lists are allowed) assistant messages.
bool completion_read(const nlohmann::json& v, const std::string& path, bool allow_string, FieldCheck& check,
                     std::vector<Turn>& out) {
  if (v.is_string() && allow_string) {
    std::optional<std::string> s = check.text(v, path);
    if (s) out.push_back({Role::Assistant, std::move(*s), true});
    return s.has_value();
  }
  if (!v.is_array()) {
    check.error(path, std::string("expected ") + (allow_string ? "a string or " : "") +
                          "a list of assistant messages, got " + json_type_phrase(v));
    return false;
  }
  std::vector<std::string> paths;
  size_t before = check.n_errors();
  parse_messages(v, path, check, out, paths);
  if (check.n_errors() != before) return false;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].role != Role::Assistant) {
      check.error(path_join(paths[i], "role"), std::string("a completion holds only assistant messages, got ") +
                                                  role_name(out[i].role));
      return false;
    }
    out[i].trained = true;
  }
  return true;
}

// A prompt: a string (one user turn) or a message list ending on a user turn.
void prompt_read(const nlohmann::json& v, const std::string& path, FieldCheck& check, Example& out) {
  if (v.is_string()) {
    std::optional<std::string> s = check.text(v, path);
    if (s) out.turns.push_back({Role::User, std::move(*s), true});
    return;
  }
  if (!v.is_array()) {
    check.error(path, "expected a string or a list of messages, got " + json_type_phrase(v));
    return;
  }
  std::vector<std::string> paths;
  if (parse_messages(v, path, check, out.turns, paths))
    check_turn_order(out.turns, paths, Role::User, "assistant", path, check);
}

bool same_text(const std::vector<Turn>& a, const std::vector<Turn>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].text != b[i].text) return false;
  return true;
}

void completions_read(const nlohmann::json& obj, FieldCheck& check, Example& out) {
  const auto* c = check.require(obj, "completions", "");
  if (!c || !check.array(*c, "completions")) return;
  if (c->size() != 2) {
    check.error("completions", "must hold exactly 2 completions (score 1 = preferred, score 0 = rejected), got " +
                                   std::to_string(c->size()));
    return;
  }
  size_t before = check.n_errors();
  double scores[2] = {0, 0};
  std::vector<Turn> texts[2];
  for (size_t i = 0; i < 2; ++i) {
    std::string p = path_index("completions", i);
    if (!check.object((*c)[i], p)) return;
    const auto* s = check.require((*c)[i], "score", p);
    if (s && !s->is_number()) check.error(path_join(p, "score"), "expected a number, got " + json_type_phrase(*s));
    else if (s) scores[i] = s->get<double>();
    const auto* comp = check.require((*c)[i], "completion", p);
    if (!comp || !check.object(*comp, path_join(p, "completion"))) continue;
    const auto* role = check.require(*comp, "role", path_join(p, "completion"));
    if (role && (!role->is_string() || *role != "model"))
      check.error(path_join(p, "completion.role"), "a completion's role must be \"model\", got " + json_type_phrase(*role));
    const auto* parts = check.require(*comp, "parts", path_join(p, "completion"));
    if (!parts || !check.array(*parts, path_join(p, "completion.parts"))) continue;
    std::string joined;
    for (size_t k = 0; k < parts->size(); ++k) {
      std::string pp = path_index(path_join(p, "completion.parts"), k);
      const auto* t = (*parts)[k].is_object() ? check.require((*parts)[k], "text", pp) : nullptr;
      if (!(*parts)[k].is_object()) check.object((*parts)[k], pp);
      std::optional<std::string> s2 = t ? check.text(*t, path_join(pp, "text"), true) : std::nullopt;
      if (s2) joined += *s2;
    }
    if (joined.find_first_not_of(" \t\r\n") == std::string::npos)
      check.error(path_join(p, "completion.parts"), "is empty");
    else
      texts[i].push_back({Role::Assistant, std::move(joined), true});
  }
  if (check.n_errors() != before || texts[0].empty() || texts[1].empty()) return;
  if (scores[0] == scores[1]) {
    check.error("completions[1].score", "both completions have the same score; the preferred one needs the higher");
    return;
  }
  int best = scores[0] > scores[1] ? 0 : 1;
  out.chosen = std::move(texts[best]);
  out.rejected = std::move(texts[1 - best]);
}

}  // namespace

void parse_preference(Format f, const nlohmann::json& obj, FieldCheck& check, Example& out) {
  size_t before = check.n_errors();
  std::string chosen_key, rejected_key;
  switch (f) {
    case Format::PrefInputText:
    case Format::PrefPromptChosen: {
      bool lists = f == Format::PrefPromptChosen;
      const char* prompt_key = lists ? "prompt" : "input_text";
      chosen_key = lists ? "chosen" : "preferred_output";
      rejected_key = lists ? "rejected" : "rejected_output";
      if (const auto* p = check.require(obj, prompt_key, "")) {
        if (lists) prompt_read(*p, prompt_key, check, out);
        else if (auto s = check.text(*p, prompt_key)) out.turns.push_back({Role::User, std::move(*s), true});
      }
      if (const auto* c = check.require(obj, chosen_key, "")) {
        if (!lists && !c->is_string()) check.text(*c, chosen_key);
        else completion_read(*c, chosen_key, true, check, out.chosen);
      }
      if (const auto* r = check.require(obj, rejected_key, "")) {
        if (!lists && !r->is_string()) check.text(*r, rejected_key);
        else completion_read(*r, rejected_key, true, check, out.rejected);
      }
      break;
    }
    case Format::PrefInputMessages: {
      chosen_key = "preferred_output";
      rejected_key = "non_preferred_output";
      if (const auto* in = check.require(obj, "input", ""); in && check.object(*in, "input")) {
        if (const auto* m = check.require(*in, "messages", "input")) {
          std::vector<std::string> paths;
          if (parse_messages(*m, "input.messages", check, out.turns, paths))
            check_turn_order(out.turns, paths, Role::User, "assistant", "input.messages", check);
        }
        check.unknown_fields(*in, {"messages", "tools", "parallel_tool_calls"}, "input");
      }
      if (const auto* c = check.require(obj, chosen_key, "")) completion_read(*c, chosen_key, false, check, out.chosen);
      if (const auto* r = check.require(obj, rejected_key, ""))
        completion_read(*r, rejected_key, false, check, out.rejected);
      break;
    }
    case Format::PrefContentsCompletions: {
      chosen_key = "completions[0]";
      rejected_key = "completions[1]";
      std::vector<std::string> paths;
      if (const auto* s = FieldCheck::optional(obj, "systemInstruction")) {
        nlohmann::json as_contents = nlohmann::json::array();
        if (check.object(*s, "systemInstruction")) {
          const auto* parts = check.require(*s, "parts", "systemInstruction");
          if (parts && check.array(*parts, "systemInstruction.parts")) {
            std::string joined;
            for (const auto& part : *parts)
              if (part.is_object() && part.contains("text") && part["text"].is_string())
                joined += part["text"].get<std::string>();
            if (!joined.empty()) {
              out.turns.push_back({Role::System, joined, true});
              paths.push_back("systemInstruction");
            }
          }
        }
      }
      if (const auto* c = check.require(obj, "contents", "")) {
        if (parse_contents(*c, "contents", check, out.turns, paths))
          check_turn_order(out.turns, paths, Role::User, "model", "contents", check);
      }
      completions_read(obj, check, out);
      break;
    }
    default: break;
  }
  if (check.n_errors() == before && same_text(out.chosen, out.rejected))
    check.error(rejected_key, "is identical to " + chosen_key + "; a preference pair needs two different answers");
}

}  // namespace loam

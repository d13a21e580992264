// Chat formats: Gemini-style `contents`/`parts` (roles user|model, optional
// systemInstruction) and OpenAI-style `messages` (system|user|assistant,
// optional per-assistant `weight` 0|1). Also the message-list readers and the
// turn-order check the preference formats share.
#include "data/format_parse.h"

namespace loam {
namespace {

// content: a string, or [{"type":"text","text":...}] parts joined together.
std::optional<std::string> message_content(const nlohmann::json& v, const std::string& path, FieldCheck& check) {
  if (!v.is_array()) return check.text(v, path);
  if (!check.array(v, path)) return std::nullopt;
  std::string joined;
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = path_index(path, i);
    const auto& part = v[i];
    if (!check.object(part, p)) {
      ok = false;
      continue;
    }
    const auto* type = FieldCheck::optional(part, "type");
    if (type && (!type->is_string() || *type != "text")) {
      check.error(path_join(p, "type"), "only text parts are supported, got " + json_type_phrase(*type));
      ok = false;
      continue;
    }
    const auto* t = check.require(part, "text", p);
    std::optional<std::string> s = t ? check.text(*t, path_join(p, "text"), true) : std::nullopt;
    if (s) joined += *s; else ok = false;
  }
  if (!ok) return std::nullopt;
  if (joined.find_first_not_of(" \t\r\n") == std::string::npos) {
    check.error(path, "is empty");
    return std::nullopt;
  }
  return joined;
}

// parts: [{"text": ...}, ...] joined together.
std::optional<std::string> parts_text(const nlohmann::json& obj, const std::string& prefix, FieldCheck& check) {
  const auto* parts = check.require(obj, "parts", prefix);
  std::string path = path_join(prefix, "parts");
  if (!parts || !check.array(*parts, path)) return std::nullopt;
  std::string joined;
  bool ok = true;
  for (size_t i = 0; i < parts->size(); ++i) {
    std::string p = path_index(path, i);
    const auto& part = (*parts)[i];
    if (!check.object(part, p)) {
      ok = false;
      continue;
    }
    const auto* t = FieldCheck::optional(part, "text");
    if (!t) {
      std::string what = part.empty() ? "" : " (got \"" + part.begin().key() + "\")";
      check.error(path_join(p, "text"), "missing required field; only text parts are supported" + what);
      ok = false;
      continue;
    }
    std::optional<std::string> s = check.text(*t, path_join(p, "text"), true);
    if (s) joined += *s; else ok = false;
  }
  if (!ok) return std::nullopt;
  if (joined.find_first_not_of(" \t\r\n") == std::string::npos) {
    check.error(parts->size() == 1 ? path_join(path_index(path, 0), "text") : path, "is empty");
    return std::nullopt;
  }
  return joined;
}

// "a model", "an assistant".
std::string article(const std::string& noun) {
  return (std::string("aeiou").find(noun.empty() ? 'x' : noun[0]) != std::string::npos ? "an " : "a ") + noun;
}

}  // namespace

bool parse_messages(const nlohmann::json& v, const std::string& path, FieldCheck& check, std::vector<Turn>& turns,
                    std::vector<std::string>& turn_paths) {
  size_t before = check.n_errors();
  if (!check.array(v, path)) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = path_index(path, i);
    const auto& m = v[i];
    if (!check.object(m, p)) continue;
    Turn turn;
    bool ok = true;
    if (const auto* r = check.require(m, "role", p)) {
      std::optional<std::string> role = check.text(*r, path_join(p, "role"));
      if (role == "system") turn.role = Role::System;
      else if (role == "user") turn.role = Role::User;
      else if (role == "assistant") turn.role = Role::Assistant;
      else {
        if (role) check.error(path_join(p, "role"), "unknown role \"" + *role + "\" (expected system, user or assistant)");
        ok = false;
      }
    } else {
      ok = false;
    }
    std::optional<std::string> content;
    if (const auto* c = check.require(m, "content", p)) content = message_content(*c, path_join(p, "content"), check);
    if (const auto* w = FieldCheck::optional(m, "weight")) {
      if (!w->is_number() || (*w != 0 && *w != 1)) {
        check.error(path_join(p, "weight"), "must be 0 or 1, got " + json_type_phrase(*w));
      } else if (ok && turn.role != Role::Assistant) {
        check.error(path_join(p, "weight"), "weight applies only to assistant messages");
      } else {
        turn.trained = *w == 1;
      }
    }
    check.unknown_fields(m, {"role", "content", "weight", "name"}, p);
    if (ok && content) {
      turn.text = std::move(*content);
      turns.push_back(std::move(turn));
      turn_paths.push_back(p);
    }
  }
  return check.n_errors() == before;
}

bool parse_contents(const nlohmann::json& v, const std::string& path, FieldCheck& check, std::vector<Turn>& turns,
                    std::vector<std::string>& turn_paths) {
  size_t before = check.n_errors();
  if (!check.array(v, path)) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = path_index(path, i);
    const auto& c = v[i];
    if (!check.object(c, p)) continue;
    Turn turn;
    bool ok = true;
    if (const auto* r = check.require(c, "role", p)) {
      std::optional<std::string> role = check.text(*r, path_join(p, "role"));
      if (role == "user") turn.role = Role::User;
      else if (role == "model") turn.role = Role::Assistant;
      else {
        if (role) check.error(path_join(p, "role"), "unknown role \"" + *role + "\" (expected user or model)");
        ok = false;
      }
    } else {
      ok = false;
    }
    std::optional<std::string> text = parts_text(c, p, check);
    check.unknown_fields(c, {"role", "parts"}, p);
    if (ok && text) {
      turn.text = std::move(*text);
      turns.push_back(std::move(turn));
      turn_paths.push_back(p);
    }
  }
  return check.n_errors() == before;
}

void check_turn_order(const std::vector<Turn>& turns, const std::vector<std::string>& turn_paths, Role last,
                      const char* assistant_name, const std::string& list_path, FieldCheck& check) {
  size_t n_dialog = 0;  // non-system turns so far
  for (size_t i = 0; i < turns.size(); ++i) {
    const std::string role_path = path_join(turn_paths[i], "role");
    if (turns[i].role == Role::System) {
      if (i > 0) {
        check.error(role_path, "a system message is only allowed as the first message");
        return;
      }
      continue;
    }
    Role expected = n_dialog % 2 == 0 ? Role::User : Role::Assistant;
    if (turns[i].role != expected) {
      auto name = [&](Role r) { return r == Role::User ? std::string("user") : std::string(assistant_name); };
      check.error(role_path, "turns out of order: expected " + article(name(expected)) + " turn, got " +
                                 name(turns[i].role) + " (turns alternate user, " + assistant_name +
                                 ", starting with user)");
      return;
    }
    ++n_dialog;
  }
  if (n_dialog == 0) {
    check.error(list_path, "has no user turn");
    return;
  }
  Role final_role = turns.back().role;
  if (final_role != last) {
    if (last == Role::Assistant)
      check.error(list_path, std::string("the conversation ends on a user turn; a training example must end on ") +
                                 article(assistant_name) + " turn");
    else
      check.error(list_path, std::string("the prompt ends on ") + article(assistant_name) +
                                 " turn; a preference prompt must end on a user turn");
  }
}

void parse_chat(Format f, const nlohmann::json& obj, FieldCheck& check, Example& out) {
  std::vector<std::string> paths;
  size_t before = check.n_errors();
  std::string list_path = f == Format::ChatMessages ? "messages" : "contents";
  if (f == Format::ChatContents) {
    if (const auto* s = FieldCheck::optional(obj, "systemInstruction")) {
      if (check.object(*s, "systemInstruction")) {
        std::optional<std::string> text = parts_text(*s, "systemInstruction", check);
        if (text) {
          out.turns.push_back({Role::System, std::move(*text), true});
          paths.push_back("systemInstruction");
        }
        check.unknown_fields(*s, {"role", "parts"}, "systemInstruction");
      }
    }
    if (const auto* c = check.require(obj, "contents", "")) parse_contents(*c, "contents", check, out.turns, paths);
  } else {
    if (const auto* m = check.require(obj, "messages", "")) parse_messages(*m, "messages", check, out.turns, paths);
  }
  if (check.n_errors() != before) return;
  const char* assistant_name = f == Format::ChatMessages ? "assistant" : "model";
  check_turn_order(out.turns, paths, Role::Assistant, assistant_name, list_path, check);
  bool any_trained = false;
  for (const Turn& t : out.turns) any_trained |= t.role == Role::Assistant && t.trained;
  if (check.n_errors() == before && !any_trained)
    check.error(list_path, "every assistant turn has weight 0, so nothing would be trained");
}

}  // namespace loam

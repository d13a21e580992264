// The OpenAI-compatible inference dialect: chat completions, completions,
// models. Request fields are checked strictly (wrong types and unknown
// fields are refused naming the field); ignore_eos, top_k and
// repetition_penalty are accepted as extensions, as other servers do.
#include <ctime>
#include <random>

#include "registry/errors.h"
#include "serve/api_generate.h"
#include "serve/endpoints.h"
#include "serve/request_fields.h"
#include "tokenizer/utf8.h"

namespace loam {

using nlohmann::json;

namespace {

uint64_t random_seed() {
  static std::mt19937_64 rng(std::random_device{}());
  static std::mutex mu;
  std::lock_guard<std::mutex> lk(mu);
  return rng() & 0x7fffffffffffull;
}

std::string safe_text(const std::string& s) { return utf8_valid(s) ? s : utf8_lossy(s); }

std::vector<std::string> stop_parse(const json& body) {
  auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return {};
  if (it->is_string()) return {it->get<std::string>()};
  if (!it->is_array() || it->size() > 4) throw error_invalid("stop", "must be a string or an array of up to 4 strings");
  std::vector<std::string> out;
  for (const json& s : *it) {
    if (!s.is_string() || s.get<std::string>().empty()) throw error_invalid("stop", "each stop sequence must be a non-empty string");
    out.push_back(s.get<std::string>());
  }
  return out;
}

// response_format {type: json_schema, json_schema: {schema: {type: string, enum: [...]}}}.
std::vector<std::string> response_format_enum(const json& body) {
  const json* rf = field_object(body, "response_format", "");
  if (!rf) return {};
  const std::string type = field_string(*rf, "type", "response_format").value_or("text");
  if (type == "text") return {};
  if (type != "json_schema")
    throw error_invalid("response_format.type", "'" + type + "' is not supported (text, or json_schema with a string enum)");
  const json* js = field_object(*rf, "json_schema", "response_format");
  const json* schema = js ? field_object(*js, "schema", "response_format.json_schema") : nullptr;
  if (!schema) throw error_invalid("response_format.json_schema.schema", "is required");
  const std::string p = "response_format.json_schema.schema";
  if (schema->value("type", "") != "string" || !schema->contains("enum"))
    throw error_invalid(p, "only a string enum ({\"type\": \"string\", \"enum\": [...]}) is supported");
  const json& e = (*schema)["enum"];
  if (!e.is_array() || e.empty()) throw error_invalid(p + ".enum", "must be a non-empty array of strings");
  std::vector<std::string> out;
  for (const json& v : e) {
    if (!v.is_string() || v.get<std::string>().empty()) throw error_invalid(p + ".enum", "each value must be a non-empty string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::string content_text(const json& content, const std::string& path) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_null()) return "";
  if (!content.is_array()) throw error_invalid(path, "must be a string or an array of text parts");
  std::string s;
  for (const json& part : content) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
      throw error_invalid(path, "only {\"type\": \"text\", \"text\": ...} parts are supported");
    s += part["text"].get<std::string>();
  }
  return s;
}

void common_parse(const json& body, GenRequest& r) {
  r.model = field_string(body, "model", "").value_or("");
  if (r.model.empty()) throw error_invalid("model", "is required");
  GenerationSpec& g = r.spec;
  g.sampling.temperature = 1.0f;
  if (auto t = field_number(body, "temperature", "")) {
    if (*t < 0 || *t > 2) throw error_invalid("temperature", "must be between 0 and 2");
    g.sampling.temperature = static_cast<float>(*t);
  }
  if (auto p = field_number(body, "top_p", "")) {
    if (*p <= 0 || *p > 1) throw error_invalid("top_p", "must be in (0, 1]");
    g.sampling.top_p = static_cast<float>(*p);
  }
  if (auto k = field_int(body, "top_k", "")) {
    if (*k < 0) throw error_invalid("top_k", "must not be negative");
    g.sampling.top_k = static_cast<int>(*k);
  }
  if (auto rp = field_number(body, "repetition_penalty", "")) {
    if (*rp <= 0) throw error_invalid("repetition_penalty", "must be positive");
    g.sampling.repetition_penalty = static_cast<float>(*rp);
  }
  for (const char* k : {"frequency_penalty", "presence_penalty"})
    if (auto v = field_number(body, k, ""); v && *v != 0) throw error_invalid(k, "is not supported (only 0)");
  for (const char* k : {"max_tokens", "max_completion_tokens"})
    if (auto v = field_int(body, k, "")) {
      if (*v < 1) throw error_invalid(k, "must be at least 1");
      g.max_tokens = static_cast<int>(std::min<int64_t>(*v, 1 << 20));
      r.max_tokens_field = k;
    }
  if (auto s = field_int(body, "seed", "")) {
    g.sampling.seed = static_cast<uint64_t>(*s);
    r.seed_given = true;
  } else {
    g.sampling.seed = random_seed();
  }
  if (auto n = field_int(body, "n", "")) {
    if (*n < 1 || *n > 16) throw error_invalid("n", "must be between 1 and 16");
    g.n = static_cast<int>(*n);
  }
  g.stop = stop_parse(body);
  g.ignore_eos = field_bool(body, "ignore_eos", "").value_or(false);
  r.stream = field_bool(body, "stream", "").value_or(false);
  if (const json* so = field_object(body, "stream_options", "")) {
    fields_allow(*so, {"include_usage"}, "stream_options");
    r.include_usage = field_bool(*so, "include_usage", "stream_options").value_or(false);
  }
  g.enum_labels = response_format_enum(body);
}

std::string token_piece(const Tokenizer& tok, int32_t id) { return safe_text(tok.decode(std::vector<int32_t>{id})); }

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char ch : s) b.push_back(static_cast<int>(ch));
  return b;
}

json chat_logprobs(const std::vector<TokenLogprob>& lps, const Tokenizer& tok) {
  json content = json::array();
  for (const TokenLogprob& lp : lps) {
    const std::string t = token_piece(tok, lp.token);
    json top = json::array();
    for (const auto& [id, p] : lp.top) {
      const std::string s = token_piece(tok, id);
      top.push_back({{"token", s}, {"logprob", p}, {"bytes", bytes_of(s)}});
    }
    content.push_back({{"token", t}, {"logprob", lp.logprob}, {"bytes", bytes_of(t)}, {"top_logprobs", top}});
  }
  return {{"content", content}, {"refusal", nullptr}};
}

json completion_logprobs(const std::vector<TokenLogprob>& v, const Tokenizer& tok, size_t& at) {
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  for (const TokenLogprob& lp : v) {
    const std::string t = token_piece(tok, lp.token);
    tokens.push_back(t);
    lps.push_back(lp.logprob);
    json top = json::object();
    for (const auto& [id, p] : lp.top) top[token_piece(tok, id)] = p;
    tops.push_back(top);
    offsets.push_back(at);
    at += t.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

int64_t now_s() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

void gen_request_tokenize(GenRequest& r, const InferBase& b) {
  r.spec.prompt = r.chat ? infer_chat_prompt(b, r.messages) : infer_text_prompt(b, r.prompt);
}

GenRequest openai_chat_parse(const json& body) {
  fields_allow(body, {"model", "messages", "temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens", "stop",
                      "seed", "n", "logprobs", "top_logprobs", "stream", "stream_options", "response_format",
                      "ignore_eos", "user", "frequency_penalty", "presence_penalty", "repetition_penalty", "store",
                      "metadata"},
               "");
  GenRequest r;
  common_parse(body, r);
  r.logprobs = field_bool(body, "logprobs", "").value_or(false);
  if (auto k = field_int(body, "top_logprobs", "")) {
    if (*k < 0 || *k > 20) throw error_invalid("top_logprobs", "must be between 0 and 20");
    if (!r.logprobs) throw error_invalid("top_logprobs", "needs logprobs: true");
    r.spec.top_logprobs = static_cast<int>(*k);
  } else if (r.logprobs) {
    r.spec.top_logprobs = 0;
  }
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty()) throw error_invalid("messages", "must be a non-empty array");
  r.messages = json::array();
  for (size_t i = 0; i < it->size(); i++) {
    const json& m = (*it)[i];
    const std::string p = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw error_invalid(p, "must be an object with role and content");
    std::string role = field_string(m, "role", p).value_or("");
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant")
      throw error_invalid(p + ".role", "must be system, developer, user or assistant");
    if (!m.contains("content")) throw error_invalid(p + ".content", "is required");
    r.messages.push_back({{"role", role}, {"content", content_text(m["content"], p + ".content")}});
  }
  return r;
}

GenRequest openai_completion_parse(const json& body) {
  fields_allow(body, {"model", "prompt", "temperature", "top_p", "top_k", "max_tokens", "stop", "seed", "n", "logprobs",
                      "stream", "stream_options", "ignore_eos", "user", "frequency_penalty", "presence_penalty",
                      "repetition_penalty", "echo", "best_of", "suffix", "response_format"},
               "");
  GenRequest r;
  r.chat = false;
  r.prompt_field = "prompt";
  common_parse(body, r);
  if (r.spec.max_tokens < 0) r.spec.max_tokens = 16;  // OpenAI's default for completions
  if (auto k = field_int(body, "logprobs", "")) {
    if (*k < 0 || *k > 5) throw error_invalid("logprobs", "must be between 0 and 5");
    r.logprobs = true;
    r.spec.top_logprobs = static_cast<int>(*k);
  }
  if (field_bool(body, "echo", "").value_or(false)) throw error_invalid("echo", "is not supported");
  auto it = body.find("prompt");
  if (it == body.end() || !(it->is_string() || (it->is_array() && it->size() == 1 && (*it)[0].is_string())))
    throw error_invalid("prompt", "must be a string");
  r.prompt = it->is_string() ? it->get<std::string>() : (*it)[0].get<std::string>();
  return r;
}

json openai_usage(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

// llama.cpp's server's `timings` (clients ignore what they do not know):
// prompt processing and generation of the first choice, as the batch saw them.
static json openai_timings(const std::vector<Completion>& cs) {
  if (cs.empty()) return json();
  const Completion& c = cs[0];
  return {{"prompt_n", c.n_prompt},
          {"prompt_ms", 1e3 * c.prefill_s},
          {"predicted_n", c.n_generated},
          {"predicted_ms", 1e3 * c.decode_s},
          {"predicted_per_second", c.decode_s > 0 ? static_cast<double>(c.n_generated) / c.decode_s : 0.0}};
}

json openai_chat_response(const GenRequest& r, const std::string& id, const std::string& model,
                          const std::vector<Completion>& cs, const Tokenizer& tok) {
  json choices = json::array();
  int64_t n_out = 0;
  for (size_t i = 0; i < cs.size(); i++) {
    choices.push_back({{"index", i},
                       {"message", {{"role", "assistant"}, {"content", safe_text(cs[i].text)}, {"refusal", nullptr}}},
                       {"logprobs", r.logprobs ? chat_logprobs(cs[i].logprobs, tok) : json()},
                       {"finish_reason", finish_reason_openai(cs[i].finish)}});
    n_out += cs[i].n_generated;
  }
  return {{"id", id},          {"object", "chat.completion"}, {"created", now_s()},
          {"model", model},    {"choices", choices},          {"usage", openai_usage(cs.empty() ? 0 : cs[0].n_prompt, n_out)},
          {"system_fingerprint", "loam"}, {"timings", openai_timings(cs)}};
}

json openai_completion_response(const GenRequest& r, const std::string& id, const std::string& model,
                                const std::vector<Completion>& cs, const Tokenizer& tok) {
  json choices = json::array();
  int64_t n_out = 0;
  for (size_t i = 0; i < cs.size(); i++) {
    size_t at = 0;
    choices.push_back({{"index", i},
                       {"text", safe_text(cs[i].text)},
                       {"logprobs", r.logprobs ? completion_logprobs(cs[i].logprobs, tok, at) : json()},
                       {"finish_reason", finish_reason_openai(cs[i].finish)}});
    n_out += cs[i].n_generated;
  }
  return {{"id", id},       {"object", "text_completion"}, {"created", now_s()},
          {"model", model}, {"choices", choices},          {"usage", openai_usage(cs.empty() ? 0 : cs[0].n_prompt, n_out)},
          {"timings", openai_timings(cs)}};
}

json openai_chunk(bool chat, const std::string& id, const std::string& model, size_t index, const std::string& text,
                  const char* finish_reason, bool first) {
  json choice = {{"index", index}, {"logprobs", nullptr}, {"finish_reason", finish_reason ? json(finish_reason) : json()}};
  if (chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (!finish_reason && !first)) delta["content"] = safe_text(text);
    else if (first) delta["content"] = "";
    choice["delta"] = delta;
  } else {
    choice["text"] = safe_text(text);
  }
  return {{"id", id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", now_s()},
          {"model", model},
          {"choices", json::array({choice})}};
}

json openai_logprobs_json(bool chat, const std::vector<TokenLogprob>& lps, const Tokenizer& tok, size_t& text_offset) {
  return chat ? chat_logprobs(lps, tok) : completion_logprobs(lps, tok, text_offset);
}

json openai_models_list(ControlContext& c) {
  json data = json::array();
  std::map<std::string, std::string> names;  // id -> display name
  const auto models = c.store.model_list();
  for (const ModelRecord& m : models) names[m.id] = m.display_name.empty() ? m.id : m.display_name;
  for (const ModelRecord& m : models) {
    json o = {{"id", names[m.id]}, {"object", "model"}, {"created", 0}, {"owned_by", "loam"}, {"loam_id", m.id}};
    if (m.kind == "tuned") {
      auto it = names.find(m.base_model_id);
      o["parent"] = it == names.end() ? m.base_model_id : it->second;
      o["root"] = o["parent"];
    } else {
      o["root"] = names[m.id];
    }
    data.push_back(o);
  }
  for (const EndpointRecord& e : c.store.endpoint_list())
    data.push_back({{"id", e.display_name}, {"object", "model"}, {"created", 0}, {"owned_by", "loam"},
                    {"loam_endpoint", "endpoints/" + e.id}});
  return {{"object", "list"}, {"data", data}};
}

}  // namespace loam

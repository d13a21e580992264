// The generateContent dialect (:generateContent, :streamGenerateContent)
// and :predict, in the managed service's shapes. Roles are user/model;
// systemInstruction becomes the system turn; generationConfig maps onto the
// same GenerationSpec the OpenAI dialect fills.
#include <random>

#include "registry/errors.h"
#include "serve/api_generate.h"
#include "serve/request_fields.h"
#include "tokenizer/utf8.h"

namespace loam {

using nlohmann::json;

namespace {

std::string parts_text(const json& content, const std::string& path) {
  const json* parts = content.is_object() && content.contains("parts") ? &content["parts"] : nullptr;
  if (!parts || !parts->is_array()) throw error_invalid(path + ".parts", "must be an array of {text} parts");
  std::string s;
  for (size_t i = 0; i < parts->size(); i++) {
    const json& p = (*parts)[i];
    const std::string pp = path + ".parts[" + std::to_string(i) + "]";
    if (!p.is_object() || !p.contains("text")) throw error_invalid(pp, "only text parts are supported");
    if (!p["text"].is_string()) throw error_invalid(pp + ".text", "must be a string");
    s += p["text"].get<std::string>();
  }
  return s;
}

std::vector<std::string> schema_enum(const json& schema, const std::string& path) {
  if (!schema.is_object()) throw error_invalid(path, "must be an object");
  const std::string type = schema.value("type", "");
  if ((type != "STRING" && type != "string") || !schema.contains("enum"))
    throw error_invalid(path, "text/x.enum needs {\"type\": \"STRING\", \"enum\": [...]}");
  const json& e = schema["enum"];
  if (!e.is_array() || e.empty()) throw error_invalid(path + ".enum", "must be a non-empty array of strings");
  std::vector<std::string> out;
  for (const json& v : e) {
    if (!v.is_string() || v.get<std::string>().empty()) throw error_invalid(path + ".enum", "each value must be a non-empty string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

void generation_config_parse(const json* gc, GenRequest& r) {
  GenerationSpec& g = r.spec;
  g.sampling.temperature = 1.0f;
  g.sampling.seed = std::random_device{}();
  r.max_tokens_field = "generationConfig.maxOutputTokens";
  if (!gc) return;
  const std::string p = "generationConfig";
  fields_allow(*gc, {"temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "candidateCount", "seed",
                     "responseMimeType", "responseSchema", "presencePenalty", "frequencyPenalty", "responseLogprobs",
                     "logprobs"},
               p);
  if (auto t = field_number(*gc, "temperature", p)) {
    if (*t < 0 || *t > 2) throw error_invalid(p + ".temperature", "must be between 0 and 2");
    g.sampling.temperature = static_cast<float>(*t);
  }
  if (auto t = field_number(*gc, "topP", p)) {
    if (*t <= 0 || *t > 1) throw error_invalid(p + ".topP", "must be in (0, 1]");
    g.sampling.top_p = static_cast<float>(*t);
  }
  if (auto k = field_number(*gc, "topK", p)) {
    if (*k < 0) throw error_invalid(p + ".topK", "must not be negative");
    g.sampling.top_k = static_cast<int>(*k);
  }
  if (auto m = field_int(*gc, "maxOutputTokens", p)) {
    if (*m < 1) throw error_invalid(p + ".maxOutputTokens", "must be at least 1");
    g.max_tokens = static_cast<int>(std::min<int64_t>(*m, 1 << 20));
  }
  if (auto it = gc->find("stopSequences"); it != gc->end() && !it->is_null()) {
    if (!it->is_array()) throw error_invalid(p + ".stopSequences", "must be an array of strings");
    for (const json& s : *it) {
      if (!s.is_string() || s.get<std::string>().empty())
        throw error_invalid(p + ".stopSequences", "each must be a non-empty string");
      g.stop.push_back(s.get<std::string>());
    }
  }
  if (auto n = field_int(*gc, "candidateCount", p)) {
    if (*n < 1 || *n > 8) throw error_invalid(p + ".candidateCount", "must be between 1 and 8");
    g.n = static_cast<int>(*n);
  }
  if (auto s = field_int(*gc, "seed", p)) {
    g.sampling.seed = static_cast<uint64_t>(*s);
    r.seed_given = true;
  }
  for (const char* k : {"presencePenalty", "frequencyPenalty"})
    if (auto v = field_number(*gc, k, p); v && *v != 0) throw error_invalid(p + "." + k, "is not supported (only 0)");
  const std::string mime = field_string(*gc, "responseMimeType", p).value_or("text/plain");
  if (mime == "text/x.enum") {
    if (!gc->contains("responseSchema")) throw error_invalid(p + ".responseSchema", "is required with text/x.enum");
    g.enum_labels = schema_enum((*gc)["responseSchema"], p + ".responseSchema");
  } else if (mime != "text/plain") {
    throw error_invalid(p + ".responseMimeType", "'" + mime + "' is not supported (text/plain or text/x.enum)");
  }
}

json usage_of(const std::vector<Completion>& cs) {
  int64_t out = 0;
  for (const auto& c : cs) out += c.n_generated;
  const int64_t in = cs.empty() ? 0 : cs[0].n_prompt;
  return {{"promptTokenCount", in}, {"candidatesTokenCount", out}, {"totalTokenCount", in + out}};
}

std::string safe_text(const std::string& s) { return utf8_valid(s) ? s : utf8_lossy(s); }

}  // namespace

const char* genai_finish(FinishReason f) { return f == FinishReason::Length ? "MAX_TOKENS" : "STOP"; }

GenRequest genai_parse(const json& body, const std::string& model) {
  fields_allow(body, {"contents", "systemInstruction", "generationConfig", "safetySettings", "labels", "model"}, "");
  GenRequest r;
  r.model = model;
  r.prompt_field = "contents";
  r.messages = json::array();
  if (const json* si = field_object(body, "systemInstruction", ""))
    r.messages.push_back({{"role", "system"}, {"content", parts_text(*si, "systemInstruction")}});
  auto it = body.find("contents");
  if (it == body.end() || !it->is_array() || it->empty()) throw error_invalid("contents", "must be a non-empty array");
  for (size_t i = 0; i < it->size(); i++) {
    const json& c = (*it)[i];
    const std::string p = "contents[" + std::to_string(i) + "]";
    if (!c.is_object()) throw error_invalid(p, "must be an object with role and parts");
    const std::string role = field_string(c, "role", p).value_or("user");
    if (role != "user" && role != "model") throw error_invalid(p + ".role", "must be user or model");
    r.messages.push_back({{"role", role == "model" ? "assistant" : "user"}, {"content", parts_text(c, p)}});
  }
  generation_config_parse(field_object(body, "generationConfig", ""), r);
  return r;
}

json genai_response(const GenRequest&, const std::string& model, const std::vector<Completion>& cs, bool) {
  json cands = json::array();
  for (size_t i = 0; i < cs.size(); i++)
    cands.push_back({{"content", {{"role", "model"}, {"parts", json::array({{{"text", safe_text(cs[i].text)}}})}}},
                     {"finishReason", genai_finish(cs[i].finish)},
                     {"index", i}});
  return {{"candidates", cands}, {"usageMetadata", usage_of(cs)}, {"modelVersion", model}, {"createTime", time_now_rfc3339()}};
}

json genai_chunk(const std::string& model, size_t index, const std::string& text, const char* finish) {
  json cand = {{"content", {{"role", "model"}, {"parts", json::array({{{"text", safe_text(text)}}})}}}, {"index", index}};
  if (finish) cand["finishReason"] = finish;
  return {{"candidates", json::array({cand})}, {"modelVersion", model}};
}

std::vector<GenRequest> predict_parse(const json& body, const std::string& model) {
  fields_allow(body, {"instances", "parameters"}, "");
  auto it = body.find("instances");
  if (it == body.end() || !it->is_array() || it->empty()) throw error_invalid("instances", "must be a non-empty array");
  if (it->size() > 64) throw error_invalid("instances", "at most 64 per request");
  json gc = json::object();
  if (const json* p = field_object(body, "parameters", "")) {
    for (auto k = p->begin(); k != p->end(); ++k) {  // snake_case and camelCase both, as model servers accept
      const std::string key = k.key();
      if (key == "max_tokens" || key == "maxOutputTokens" || key == "max_output_tokens") gc["maxOutputTokens"] = *k;
      else if (key == "temperature") gc["temperature"] = *k;
      else if (key == "top_p" || key == "topP") gc["topP"] = *k;
      else if (key == "top_k" || key == "topK") gc["topK"] = *k;
      else if (key == "seed") gc["seed"] = *k;
      else if (key == "stop" || key == "stopSequences") gc["stopSequences"] = k->is_string() ? json::array({*k}) : *k;
      else throw error_invalid("parameters." + key, "unknown parameter");
    }
  }
  std::vector<GenRequest> out;
  for (size_t i = 0; i < it->size(); i++) {
    const json& inst = (*it)[i];
    const std::string p = "instances[" + std::to_string(i) + "]";
    GenRequest r;
    r.model = model;
    if (!inst.is_object()) throw error_invalid(p, "must be an object with prompt or messages");
    if (inst.contains("messages")) {
      json body2 = {{"model", model}, {"messages", inst["messages"]}};
      r = openai_chat_parse(body2);
      r.prompt_field = p + ".messages";
    } else {
      auto pr = inst.find("prompt");
      if (pr == inst.end()) pr = inst.find("inputs");
      if (pr == inst.end() || !pr->is_string()) throw error_invalid(p + ".prompt", "must be a string");
      r.chat = false;
      r.prompt = pr->get<std::string>();
      r.prompt_field = p + ".prompt";
    }
    GenRequest cfg;
    generation_config_parse(&gc, cfg);
    r.spec = cfg.spec;
    r.seed_given = cfg.seed_given;
    r.max_tokens_field = "parameters.max_tokens";
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace loam

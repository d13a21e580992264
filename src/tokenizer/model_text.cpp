#include "tokenizer/model_text.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/escape.h"
#include "core/file_io.h"
#include "core/json_file.h"
#include "formats/gguf.h"

namespace loam {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// tokenizer_config.json writes special tokens as "text" or {"content": "text", ...}.
std::string token_string(const json& cfg, const char* key) {
  if (!cfg.contains(key) || cfg[key].is_null()) return "";
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

void add_eos_ids(std::vector<int32_t>& ids, const json& v) {
  auto add = [&](int64_t id) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(static_cast<int32_t>(id));
  };
  if (v.is_number_integer()) add(v.get<int64_t>());
  else if (v.is_array())
    for (const json& x : v)
      if (x.is_number_integer()) add(x.get<int64_t>());
}

std::optional<std::string> template_from_config(const json& cfg, const std::string& origin) {
  if (!cfg.contains("chat_template") || cfg["chat_template"].is_null()) return std::nullopt;
  const json& t = cfg["chat_template"];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array()) {  // named templates: [{"name": "default", "template": "..."}, ...]
    for (const json& e : t)
      if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
        return e["template"].get<std::string>();
    throw Error(origin + ": field chat_template", "no template named \"default\"");
  }
  throw Error(origin + ": field chat_template", "expected a string or a list of named templates");
}

// config.json's vocab_size (top level or text_config), when it states one.
std::optional<int64_t> config_vocab_size(const std::string& dir) {
  const std::string p = dir + "/config.json";
  if (!file_exists(p)) return std::nullopt;
  json j = json_read_file(p);
  if (!j.is_object()) return std::nullopt;
  const json& text = j.contains("text_config") && j["text_config"].is_object() ? j["text_config"] : j;
  if (text.contains("vocab_size") && text["vocab_size"].is_number_integer() && text["vocab_size"].get<int64_t>() > 0)
    return text["vocab_size"].get<int64_t>();
  return std::nullopt;
}

void check_eos_ids(const json& v, int64_t n_vocab, const std::string& where, const std::string& what) {
  if (v.is_number_integer() && (v.get<int64_t>() < 0 || v.get<int64_t>() >= n_vocab))
    throw Error(where, "id " + std::to_string(v.get<int64_t>()) + " is outside " + what);
  if (v.is_array())
    for (const json& x : v) check_eos_ids(x, n_vocab, where, what);
}

ModelText load_from_dir(const std::string& dir) {
  const std::string tok_path = dir + "/tokenizer.json";
  if (!file_exists(tok_path))
    throw Error(ErrorKind::NotFound, dir, "missing tokenizer.json", "Loam reads the Hugging Face fast-tokenizer file; download it with the model");
  ModelText t{Tokenizer::from_file(tok_path), std::nullopt, "", "", {}, false};
  const std::string cfg_path = dir + "/tokenizer_config.json";
  std::optional<std::string> tmpl;
  if (file_exists(cfg_path)) {
    json cfg = json_read_file(cfg_path);
    t.bos_token = token_string(cfg, "bos_token");
    t.eos_token = token_string(cfg, "eos_token");
    tmpl = template_from_config(cfg, cfg_path);
  }
  if (!tmpl && file_exists(dir + "/chat_template.jinja")) tmpl = file_read_all(dir + "/chat_template.jinja");
  if (tmpl) t.chat_template = ChatTemplate::parse(*tmpl, tmpl->empty() ? "chat_template" : cfg_path + ": chat_template");
  const std::optional<int64_t> n_model_vocab = config_vocab_size(dir);
  const int64_t n_vocab = n_model_vocab ? *n_model_vocab : t.tokenizer.vocab_size();
  const std::string vocab_what = n_model_vocab
      ? "the model's vocabulary [0, " + std::to_string(n_vocab) + ") (vocab_size in config.json)"
      : "the tokenizer's vocabulary [0, " + std::to_string(n_vocab) + ")";
  for (const char* f : {"generation_config.json", "config.json"}) {
    const std::string p = dir + "/" + f;
    if (file_exists(p)) {
      json j = json_read_file(p);
      if (j.is_object() && j.contains("eos_token_id")) {
        check_eos_ids(j["eos_token_id"], n_vocab, p + ": field eos_token_id", vocab_what);
        add_eos_ids(t.eos_ids, j["eos_token_id"]);
      }
    }
  }
  if (!t.eos_token.empty())
    if (auto id = t.tokenizer.token_id(t.eos_token)) add_eos_ids(t.eos_ids, json(*id));
  t.add_bos = !t.tokenizer.spec().prefix_ids.empty();
  if (n_model_vocab) model_text_check_vocab(t, *n_model_vocab, dir + "/config.json: vocab_size");
  return t;
}

ModelText load_from_gguf(const std::string& path) {
  GgufFile g = GgufFile::open(path);
  auto model = g.get_string("tokenizer.ggml.model");
  if (!model) throw Error(path + ": metadata tokenizer.ggml.model", "missing: the file has no tokenizer");
  TokenizerSpec spec;
  std::vector<std::string> pre_regexes;
  if (*model == "gpt2") {
    spec.kind = TokenizerKind::ByteLevelBpe;
    pre_regexes = tokenizer_pre_regexes_for_gguf(g.get_string("tokenizer.ggml.pre").value_or("default"));
  } else if (*model == "llama") {
    spec.kind = TokenizerKind::SentencePieceBpe;
    spec.byte_fallback = true;
  } else {
    throw Error(path + ": metadata tokenizer.ggml.model", "unsupported tokenizer \"" + error_escape(*model) + "\"",
                "supported: gpt2 (byte-level BPE), llama (SentencePiece BPE)");
  }
  auto tokens = g.get_string_array("tokenizer.ggml.tokens");
  if (!tokens || tokens->empty()) throw Error(path + ": metadata tokenizer.ggml.tokens", "missing or empty");
  spec.vocab = *tokens;
  if (auto merges = g.get_string_array("tokenizer.ggml.merges"))
    for (const std::string& m : *merges) {
      size_t sp = m.find(' ', 1);
      if (sp == std::string::npos) throw Error(path + ": metadata tokenizer.ggml.merges", "bad merge \"" + m + "\"");
      spec.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    }
  if (auto scores = g.get_float_array("tokenizer.ggml.scores")) spec.scores = *scores;
  auto types = g.get_int_array("tokenizer.ggml.token_type");
  if (types)
    for (size_t i = 0; i < types->size() && i < spec.vocab.size(); i++) {
      const int64_t ty = (*types)[i];
      if (ty == 2) spec.unk_id = static_cast<int32_t>(i);
      if (ty == 3 || ty == 4) {
        AddedToken a;
        a.id = static_cast<int32_t>(i);
        a.content = spec.vocab[i];
        a.special = ty == 3;
        a.normalized = ty == 4;
        spec.added_tokens.push_back(a);
      }
    }
  const auto bos = g.get_int("tokenizer.ggml.bos_token_id");
  const auto eos = g.get_int("tokenizer.ggml.eos_token_id");
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"})
    if (auto id = g.get_int(key); id && (*id < 0 || *id >= static_cast<int64_t>(tokens->size())))
      throw Error(path + ": metadata " + key, "id " + std::to_string(*id) + " is outside the vocabulary of " +
                                                  std::to_string(tokens->size()) + " tokens");
  const bool add_bos = g.get_bool("tokenizer.ggml.add_bos_token").value_or(spec.kind == TokenizerKind::SentencePieceBpe);
  if (add_bos && bos) spec.prefix_ids.push_back(static_cast<int32_t>(*bos));
  tokenizer_spec_fill_pipeline(spec, pre_regexes, g.get_bool("tokenizer.ggml.add_space_prefix").value_or(true));
  ModelText t{Tokenizer(std::move(spec)), std::nullopt, "", "", {}, add_bos};
  if (bos && *bos >= 0 && *bos < static_cast<int64_t>(tokens->size())) t.bos_token = (*tokens)[*bos];
  if (eos && *eos >= 0 && *eos < static_cast<int64_t>(tokens->size())) {
    t.eos_token = (*tokens)[*eos];
    t.eos_ids.push_back(static_cast<int32_t>(*eos));
  }
  if (auto eot = g.get_int("tokenizer.ggml.eot_token_id"))
    if (std::find(t.eos_ids.begin(), t.eos_ids.end(), *eot) == t.eos_ids.end()) t.eos_ids.push_back(static_cast<int32_t>(*eot));
  if (auto tmpl = g.get_string("tokenizer.chat_template"))
    t.chat_template = ChatTemplate::parse(*tmpl, path + ": tokenizer.chat_template");
  // The embedding's rows are the model's vocabulary (a file without one holds only a tokenizer).
  if (const TensorRef* embd = g.find("token_embd.weight"); embd && embd->shape.size() == 2)
    model_text_check_vocab(t, embd->shape[0], path + ": tensor token_embd.weight");
  return t;
}

}  // namespace

ModelText model_text_load(const std::string& path) {
  if (dir_exists(path)) return load_from_dir(path);
  if (fs::path(path).extension() == ".gguf") return load_from_gguf(path);
  if (fs::path(path).filename() == "tokenizer.json") {
    const std::string dir = fs::path(path).parent_path().string();
    if (file_exists(dir + "/tokenizer_config.json")) return load_from_dir(dir.empty() ? "." : dir);
    ModelText t{Tokenizer::from_file(path), std::nullopt, "", "", {}, false};
    t.add_bos = !t.tokenizer.spec().prefix_ids.empty();
    return t;
  }
  if (!file_exists(path)) throw Error(ErrorKind::NotFound, path, "no such file or directory");
  throw Error(path, "not a tokenizer", "pass a tokenizer.json, a model directory or a .gguf file");
}

void model_text_check_vocab(const ModelText& t, int64_t n_vocab, const std::string& vocab_origin) {
  const TokenizerSpec& spec = t.tokenizer.spec();
  const std::string outside = " is outside the model's vocabulary of " + std::to_string(n_vocab) + " ids (" + vocab_origin + ")";
  const std::string hint = "the tokenizer files belong to another model: use the ones that came with these weights";
  for (size_t id = static_cast<size_t>(n_vocab); id < spec.vocab.size(); id++)
    if (!spec.vocab[id].empty())
      throw Error(spec.origin + ": model.vocab[\"" + spec.vocab[id] + "\"]", "token id " + std::to_string(id) + outside, hint);
  for (const AddedToken& a : spec.added_tokens)
    if (a.id >= n_vocab)
      throw Error(spec.origin + ": added_tokens", "token \"" + a.content + "\" has id " + std::to_string(a.id) + ", which" + outside, hint);
  for (const auto* ids : {&spec.prefix_ids, &spec.suffix_ids})
    for (int32_t id : *ids)
      if (id < 0 || id >= n_vocab)
        throw Error(spec.origin + ": post_processor", "special token id " + std::to_string(id) + outside, hint);
  if (spec.unk_id && *spec.unk_id >= n_vocab)
    throw Error(spec.origin + ": model.unk_token", "id " + std::to_string(*spec.unk_id) + outside, hint);
  for (int32_t id : t.eos_ids)
    if (id < 0 || id >= n_vocab)
      throw Error(spec.origin + ": eos token", "id " + std::to_string(id) + outside, hint);
}

std::string model_text_render(const ModelText& t, const json& messages, bool add_generation_prompt,
                              const json& template_kwargs) {
  if (!t.chat_template)
    throw Error("chat template", "this model has no chat template",
                "add chat_template to tokenizer_config.json or use a plain prompt");
  json ctx = template_kwargs.is_object() ? template_kwargs : json::object();
  ctx["messages"] = messages;
  ctx["add_generation_prompt"] = add_generation_prompt;
  ctx["bos_token"] = t.bos_token;
  ctx["eos_token"] = t.eos_token;
  return t.chat_template->render(ctx);
}

std::vector<int32_t> model_text_encode_rendered(const ModelText& t, const std::string& rendered) {
  return t.tokenizer.encode(rendered, /*add_special_tokens=*/false);
}

}  // namespace loam

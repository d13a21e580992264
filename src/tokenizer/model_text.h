// The text side of a model: its tokenizer, chat template and special tokens,
// loaded from a model directory (tokenizer.json, tokenizer_config.json,
// chat_template.jinja, generation_config.json) or a GGUF file's metadata.
//
// Chat rendering follows transformers' apply_chat_template: the template sees
// messages, add_generation_prompt, bos_token, eos_token and any extra kwargs;
// the rendered text is tokenized without adding special tokens (the template
// already wrote them).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace loam {

struct ModelText {
  Tokenizer tokenizer;
  std::optional<ChatTemplate> chat_template;  // absent when the model has none
  std::string bos_token, eos_token;           // strings the template sees ("" when none)
  std::vector<int32_t> eos_ids;               // generation stops at any of these
  bool add_bos = false;                       // encode(text, add_special_tokens=true) prepends bos
};

// model_path: a model directory (needs tokenizer.json; config.json optional),
// a tokenizer.json file, or a .gguf file. Throws Error naming the file.
ModelText model_text_load(const std::string& model_path);

// Refuses a tokenizer that can produce an id the model has no embedding for
// (a tokenizer copied from another model): every vocab entry, added token,
// post-processor special token, unk and eos id must be below n_vocab.
// vocab_origin names where n_vocab came from ("m/config.json: vocab_size").
// model_text_load already does this for a directory whose config.json states
// vocab_size and for a GGUF file with token_embd.weight; callers holding a
// Model call it too, with model.config.vocab.
// Throws Error naming the token and the file.
void model_text_check_vocab(const ModelText& t, int64_t n_vocab, const std::string& vocab_origin);

// Renders messages ([{"role": ..., "content": ...}, ...]) with the model's
// template. Throws Error when the model has no template or the template
// raises (e.g. a role it does not support).
std::string model_text_render(const ModelText& t, const nlohmann::json& messages, bool add_generation_prompt,
                              const nlohmann::json& template_kwargs = nlohmann::json::object());

// Tokenizes a rendered chat (special tokens in the text become their ids;
// nothing is added).
std::vector<int32_t> model_text_encode_rendered(const ModelText& t, const std::string& rendered);

}  // namespace loam

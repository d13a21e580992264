// The inference dialects' JSON: each reads its request into a GenRequest
// (a model reference, a prompt in chat or text form, a GenerationSpec) and
// writes completions back in its own shape. The routes
// (routes_inference.cpp) run them on the engine through infer_api.h.
//   OpenAI:           /v1/chat/completions, /v1/completions, /v1/models
//   generateContent:  :generateContent, :streamGenerateContent, :predict
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/infer_api.h"

namespace loam {

struct GenRequest {
  std::string model;              // as named in the request (or the path)
  bool chat = true;               // messages (chat) or a raw text prompt
  nlohmann::json messages;        // [{role: system|user|assistant, content: string}]
  std::string prompt;             // when !chat
  std::string prompt_field = "messages", max_tokens_field = "max_tokens";
  GenerationSpec spec;            // .prompt filled once the base is known
  bool seed_given = false;
  bool stream = false, include_usage = false, logprobs = false;
};

// Fills spec.prompt from messages/prompt with the target's base.
void gen_request_tokenize(GenRequest& r, const InferBase& b);

// ---- OpenAI (api_generate_openai.cpp)
GenRequest openai_chat_parse(const nlohmann::json& body);
GenRequest openai_completion_parse(const nlohmann::json& body);
nlohmann::json openai_chat_response(const GenRequest& r, const std::string& id, const std::string& model,
                                    const std::vector<Completion>& cs, const Tokenizer& tok);
nlohmann::json openai_completion_response(const GenRequest& r, const std::string& id, const std::string& model,
                                          const std::vector<Completion>& cs, const Tokenizer& tok);
// One streamed chunk: a delta of choice `index` (role on the first), or its
// finish; usage chunks have no choices.
nlohmann::json openai_chunk(bool chat, const std::string& id, const std::string& model, size_t index,
                            const std::string& text, const char* finish_reason, bool first);
// The logprobs of a whole completion in a chunk's shape (chat: {content:
// [...]}; completions: {tokens, token_logprobs, ...}): a stream sends them
// with the completion's finishing chunk.
// The logprobs object of a streamed chunk for these tokens; a completion's
// text_offset continues from *text_offset, which advances past them.
nlohmann::json openai_logprobs_json(bool chat, const std::vector<TokenLogprob>& lps, const Tokenizer& tok,
                                    size_t& text_offset);
nlohmann::json openai_usage(int64_t prompt_tokens, int64_t completion_tokens);
nlohmann::json openai_models_list(ControlContext& c);

// ---- generateContent (api_generate_content.cpp)
GenRequest genai_parse(const nlohmann::json& body, const std::string& model);
nlohmann::json genai_response(const GenRequest& r, const std::string& model, const std::vector<Completion>& cs,
                              bool final_chunk = true);
nlohmann::json genai_chunk(const std::string& model, size_t index, const std::string& text, const char* finish);
// :predict: {instances: [{prompt} | {messages}...], parameters: {...}} -> one
// GenRequest per instance; predictions [{content}].
std::vector<GenRequest> predict_parse(const nlohmann::json& body, const std::string& model);
const char* genai_finish(FinishReason f);  // "STOP" | "MAX_TOKENS"

}  // namespace loam

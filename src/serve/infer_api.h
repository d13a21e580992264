// What every inference dialect (OpenAI chat/completions, generateContent,
// :predict) shares, below the JSON: which model a request names, its
// prompt, its generation settings, and running it on the engine. Each
// dialect's file only translates its JSON to and from these structs.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/control_api.h"
#include "serve/infer_engine.h"

namespace loam {

// A request's model: the base the engine serves it on and the adapter of a
// tuned model ("" = the bare base).
struct InferTarget {
  std::string name;         // what responses echo as the model
  std::string base_path;    // base checkpoint (directory or .gguf)
  std::string adapter_dir;  // tuned model's PEFT directory, or ""
  std::string model_id;     // registry id of the model named
  std::string parent;       // display name of the base, for a tuned model
};

// `ref` names a tuned or base model (id, display name, resource name, with
// @version/@alias) or an endpoint (id, display name, resource name: its
// traffic split picks the deployed model with `seed`). Throws NotFound
// naming `field`.
InferTarget infer_target_resolve(ControlContext& c, const std::string& ref, const std::string& field, uint64_t seed = 0);

struct GenerationSpec {
  std::vector<int32_t> prompt;
  int max_tokens = -1;                 // -1: the default (min(512, what fits the context))
  SamplingParams sampling;
  std::vector<std::string> stop;
  int n = 1;                           // completions per request (seeds seed, seed+1, ...)
  int top_logprobs = -1;               // -1: none
  bool ignore_eos = false;
  std::vector<std::string> enum_labels;  // non-empty: the output is exactly one of them
  bool stream = true;                  // false: the text arrives with the result, not piece by piece
};

struct Completion {
  std::string text;
  FinishReason finish = FinishReason::Length;
  int64_t n_prompt = 0, n_generated = 0;
  std::vector<TokenLogprob> logprobs;
  double prefill_s = 0, decode_s = 0;  // the batch forward that took its prompt; every step after
};

// A chat prompt ([{role, content}] with roles system/user/assistant) as the
// base's chat template renders it with the generation prompt; a base
// without a template gets the plain layout SFT trains ("text\n\n" per turn).
std::vector<int32_t> infer_chat_prompt(const InferBase& b, const nlohmann::json& messages);
std::vector<int32_t> infer_text_prompt(const InferBase& b, const std::string& text);  // with the tokenizer's bos

// Checks limits (prompt + max_tokens within the context: InvalidArgument
// naming prompt_field or max_tokens_field) and queues spec.n jobs. Throws
// ResourceExhausted when the queue is full (nothing stays queued).
struct InferCall {
  std::vector<std::shared_ptr<InferTicket>> tickets;
  ~InferCall();  // cancels whatever still runs
};
std::unique_ptr<InferCall> infer_submit(InferenceEngine& e, const InferTarget& t, GenerationSpec spec,
                                        const std::string& prompt_field, const std::string& max_tokens_field);

// Waits for every completion. on_text(i, text, lps) gets completion i's
// stream one sampled token at a time (a StreamPiece): the text that token
// made final and its log-probability (streaming requests with logprobs);
// either may be empty, not both. Returning false means the client is gone, and so does
// client_gone() returning true: the call is cancelled (KV freed at the next
// step) and Cancelled is thrown. Any completion's error is rethrown.
using PieceFn = std::function<bool(size_t, std::string_view, const std::vector<TokenLogprob>&)>;
std::vector<Completion> infer_collect(InferCall& call, const PieceFn& on_text, const std::function<bool()>& client_gone);

std::string finish_reason_openai(FinishReason f);  // "stop" | "length"

// Restricts decoding to exactly one of `labels` (then one of `eos`).
// Throws InvalidArgument naming `field` for an empty label or no eos.
GenerateRequest::Constrain infer_enum_constraint(const Tokenizer& tok, const std::vector<std::string>& labels,
                                                 const std::vector<int>& eos, const std::string& field);

}  // namespace loam

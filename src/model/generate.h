// Text generation: prefill the prompt, then decode token by token with a KV
// cache, streaming text as it becomes final.
//
// Streaming never splits a UTF-8 character and holds back text that could be
// the start of a stop sequence; on a stop sequence the text before it is
// emitted and generation ends. Generation also ends at any eos id (not
// emitted) or after max_tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model/lora.h"
#include "model/model.h"
#include "model/sampler.h"
#include "tokenizer/tokenizer.h"

namespace loam {

struct GenerateRequest {
  std::vector<int32_t> prompt;       // token ids, special tokens included
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;     // stop sequences (text)
  std::vector<int> eos_ids;          // stop tokens
  const LoraAdapter* lora = nullptr;
};

enum class FinishReason { Eos, Stop, Length };
const char* finish_reason_name(FinishReason r);  // "eos", "stop", "length"

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (eos excluded)
  std::string text;             // generated text (up to a stop sequence)
  FinishReason finish = FinishReason::Length;
  int64_t n_prompt = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

// on_text (may be empty) receives each newly final piece of text.
GenerateResult generate(const Model& m, const Tokenizer& tok, const GenerateRequest& req,
                        const std::function<void(std::string_view)>& on_text);

// Length of the longest prefix of s that ends on a UTF-8 character boundary
// (an incomplete trailing sequence is excluded).
size_t utf8_complete_prefix(std::string_view s);

}  // namespace loam

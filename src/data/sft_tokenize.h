// Examples -> token ids with a per-token loss mask, through the model's chat
// template (what the trainers consume).
//
// SFT: input_ids is the whole conversation as the template renders it
// (add_generation_prompt=false), tokenized once. labels has the same length:
// labels[i] = input_ids[i] where the token is a target and -100 elsewhere
// (unshifted, as Hugging Face: the trainer predicts token i from tokens < i).
// Targets are exactly the tokens of each trained assistant turn: from the end
// of the prefix rendered with add_generation_prompt=true to the end of the
// conversation rendered through that turn, minus trailing whitespace. So the
// end-of-turn token after an assistant message (<|im_end|>, <end_of_turn>,
// <|eot_id|>, </s>) is scored and the newline after it is not. When the
// template writes no special token after the final assistant turn, the eos
// id is appended and scored so the tuned model learns to stop.
// Boundaries: tokenization of the rendered prefix when it is a prefix of the
// full ids, else the smallest token prefix that decodes to at least as many
// characters. Instruction and classification examples are one user ->
// assistant exchange. A model without a chat template uses a plain layout:
// each turn's text followed by "\n\n", the assistant's followed by eos.
//
// Throws Error when the template fails on the messages (e.g. a template that
// rejects a system turn) or the example is not an SFT / preference example.
#pragma once

#include <cstdint>
#include <vector>

#include "data/example.h"
#include "tokenizer/model_text.h"

namespace loam {

constexpr int32_t kLabelIgnore = -100;

struct TokenizedExample {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> labels;  // kLabelIgnore where not scored
  bool truncated = false;       // cut to max_seq_length
  size_t n_tokens_full = 0;     // length before truncation
  size_t n_scored() const;
};

// max_seq_length <= 0: no limit; else input_ids keeps the first
// max_seq_length tokens.
TokenizedExample sft_tokenize(const Example& e, const ModelText& model, int max_seq_length);
// The same for a pre-tokenized (input_ids, labels) example, which needs no
// tokenizer; throws Error for any other format.
TokenizedExample sft_tokenize_ids(const Example& e, int max_seq_length);

struct TokenizedPreference {
  std::vector<int32_t> prompt_ids;    // the prompt with the generation prompt
  std::vector<int32_t> chosen_ids;    // completion tokens incl. the end-of-turn token
  std::vector<int32_t> rejected_ids;
  bool truncated = false;             // prompt cut from the left / completions from the right
  size_t n_tokens_full = 0;           // prompt + longer completion, before truncation
};

// max_seq_length bounds prompt + each completion; a prompt longer than half
// of it keeps its last max_seq_length/2 tokens.
TokenizedPreference preference_tokenize(const Example& e, const ModelText& model, int max_seq_length);
// The same for a pre-tokenized (prompt_ids, chosen_ids, rejected_ids)
// example, which needs no tokenizer; throws Error for any other format.
TokenizedPreference preference_tokenize_ids(const Example& e, int max_seq_length);

}  // namespace loam

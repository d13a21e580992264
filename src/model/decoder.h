// BatchDecoder: batched generation over one model. It holds several
// sequences, each with its own prompt, sampling settings, adapter, stop
// sequences, eos ids and max tokens, and its own range of one KV pool.
// Sequences are added and removed between steps; each step runs the prompts
// of newly added sequences and the next token of every running one as ONE
// batch through the layer step (transformer.h), rows grouped by adapter.
//
// Prefix reuse: a sequence whose prompt starts like the prompt of another
// sequence on the same adapter (running, or finished and kept in the prefix
// cache) copies that prefix's K/V rows instead of computing them (K/V at a
// position depend only on the tokens up to it, the adapter and the model);
// at least its last prompt token is computed. The prompts of the last
// `set_prefix_cache(n)` finished sequences keep their KV rows for this.
// Off by default (n = 0).
//
// Streaming never splits a UTF-8 character and holds back text that could be
// the start of a stop sequence; on a stop sequence the text before it is
// emitted and the sequence ends. A sequence also ends at any eos id (not
// emitted) or after max_tokens.
//
// One thread owns a decoder; the Model, Tokenizer and adapters must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/kv_cache.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/sampler.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

namespace loam {

struct GenerateRequest {
  std::vector<int32_t> prompt;       // token ids, special tokens included
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;     // stop sequences (text)
  std::vector<int> eos_ids;          // stop tokens
  const LoraAdapter* lora = nullptr; // null: the bare base
  // -1: no log-probabilities; k >= 0: each generated token's log p under the
  // model (raw logits, before penalties, temperature and the constraint)
  // and its k most likely alternatives.
  int top_logprobs = -1;
  // Empty: none. Else called before each draw with the tokens generated so
  // far; it may set logits to -inf to forbid tokens (constrained output).
  using Constrain = std::function<void(const std::vector<int32_t>& generated, float* logits, int64_t n_vocab)>;
  Constrain constrain;
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // most likely first
};

enum class FinishReason { Eos, Stop, Length };
const char* finish_reason_name(FinishReason r);  // "eos", "stop", "length"

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (eos excluded)
  std::string text;             // generated text (up to a stop sequence)
  FinishReason finish = FinishReason::Length;
  int64_t n_prompt = 0;
  std::vector<TokenLogprob> logprobs;  // one per generated token when req.top_logprobs >= 0
  double prefill_seconds = 0, decode_seconds = 0;  // wall time of the steps it took part in
};

using TextSink = std::function<void(std::string_view)>;
using LogprobSink = std::function<void(const TokenLogprob&)>;

class BatchDecoder {
 public:
  BatchDecoder(const Model& m, const Tokenizer& tok);
  ~BatchDecoder();

  // Adds a sequence (prefilled by the next step) and returns its id. on_text
  // (may be empty) receives its newly final text; on_logprob (may be empty;
  // with req.top_logprobs >= 0) each token's log-probabilities as it is
  // sampled, before that token's text. Throws Error on an empty prompt or a
  // token id outside the vocabulary.
  int64_t add(const GenerateRequest& req, TextSink on_text = {}, LogprobSink on_logprob = {});
  // Drops a sequence, running or finished, and frees its KV rows.
  void remove(int64_t id);
  // At most n prompt tokens of one sequence per step (0 = whole prompts):
  // a long prompt is prefilled over several steps, so the running
  // sequences keep decoding meanwhile.
  void set_prefill_chunk(int64_t n) { prefill_chunk_ = n; }
  // Reuse prefixes, keeping the prompt KV of up to n finished sequences
  // (0 = no reuse at all, the default).
  void set_prefix_cache(int n);
  // Drops cached prefixes computed with adapter `a` (call before freeing it).
  void forget_adapter(const LoraAdapter* a);
  // Prompt tokens whose KV was copied rather than computed, since construction.
  int64_t n_prefix_reused() const { return n_prefix_reused_; }
  // One batched step. Returns the ids of the sequences that finished in it.
  std::vector<int64_t> step();
  // Sequences still generating.
  int64_t n_running() const;
  bool finished(int64_t id) const;
  // The result of a finished sequence; removes it. REQUIRES finished(id).
  GenerateResult take(int64_t id);

 private:
  struct Seq;
  int64_t kv_alloc(int64_t rows);
  void kv_free(int64_t begin);
  bool advance(Seq& s, float* logits_row);
  void prefix_reuse(Seq& s);
  void prefix_keep(Seq& s);
  struct Prefix {
    std::vector<int32_t> tokens;  // the prompt whose KV rows are kept
    const LoraAdapter* lora = nullptr;
    int64_t kv_base = 0;
    uint64_t last_use = 0;
  };

  const Model& m_;
  const Tokenizer& tok_;
  KvCache pool_;
  std::map<int64_t, int64_t> kv_used_;  // begin row -> rows, of live sequences
  std::map<int64_t, std::unique_ptr<Seq>> seqs_;
  int64_t next_id_ = 0;
  int64_t prefill_chunk_ = 0;
  int prefix_cache_max_ = 0;
  std::vector<Prefix> prefixes_;  // kept prompt KV of finished sequences
  uint64_t prefix_clock_ = 0;
  int64_t n_prefix_reused_ = 0;
  ForwardWorkspace ws_;
  ForwardBatch batch_;
  std::vector<float> logits_;
};

// Length of the longest prefix of s that ends on a UTF-8 character boundary
// (an incomplete trailing sequence is excluded).
size_t utf8_complete_prefix(std::string_view s);

}  // namespace loam

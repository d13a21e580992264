#include "model/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "model/kv_cache.h"
#include "model/transformer.h"

namespace loam {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Eos: return "eos";
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
  }
  return "?";
}

size_t utf8_complete_prefix(std::string_view s) {
  size_t n = s.size();
  // Walk back over at most 3 continuation bytes to the last lead byte.
  size_t i = n;
  int back = 0;
  while (i > 0 && back < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) {
    i--;
    back++;
  }
  if (i == 0) return back == 0 ? 0 : n;  // only continuation bytes: malformed, pass through
  unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  int need = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
  return (back + 1 >= need) ? n : i - 1;
}

namespace {

// How many trailing bytes of `text` could begin one of the stop sequences.
size_t stop_holdback(std::string_view text, const std::vector<std::string>& stops) {
  size_t hold = 0;
  for (const std::string& s : stops)
    for (size_t k = std::min(s.size() - 1, text.size()); k > hold; k--)
      if (text.substr(text.size() - k) == std::string_view(s).substr(0, k)) {
        hold = k;
        break;
      }
  return hold;
}

}  // namespace

GenerateResult generate(const Model& m, const Tokenizer& tok, const GenerateRequest& req,
                        const std::function<void(std::string_view)>& on_text) {
  using clock = std::chrono::steady_clock;
  GenerateResult res;
  res.n_prompt = static_cast<int64_t>(req.prompt.size());
  if (req.prompt.empty()) throw Error("prompt", "empty prompt", "give at least one token");
  const int64_t V = m.config.vocab;
  for (int32_t id : req.prompt)
    if (id < 0 || id >= V) throw Error("prompt", "token id " + std::to_string(id) + " outside the vocabulary");
  const int64_t capacity = res.n_prompt + std::max(0, req.max_tokens);
  KvCache cache(m.config, capacity);
  std::vector<float> logits(V);
  std::vector<int32_t> history = req.prompt;
  Sampler sampler(req.sampling);

  auto t0 = clock::now();
  model_forward(m, req.lora, cache, req.prompt.data(), res.n_prompt, logits.data(), 1);
  res.prefill_seconds = std::chrono::duration<double>(clock::now() - t0).count();

  std::string decoded;   // decode(res.tokens)
  size_t emitted = 0;    // bytes of `decoded` already passed to on_text
  auto t1 = clock::now();
  for (int step = 0; step < req.max_tokens; step++) {
    int32_t next = sampler.sample(logits.data(), V, history);
    if (std::find(req.eos_ids.begin(), req.eos_ids.end(), next) != req.eos_ids.end()) {
      res.finish = FinishReason::Eos;
      break;
    }
    res.tokens.push_back(next);
    history.push_back(next);
    decoded = tok.decode(res.tokens, /*skip_special_tokens=*/false);
    bool stopped = false;
    for (const std::string& s : req.stop) {
      size_t at = decoded.find(s, emitted > s.size() ? emitted - s.size() : 0);
      if (!s.empty() && at != std::string::npos) {
        decoded.resize(at);
        stopped = true;
      }
    }
    size_t ready = stopped ? decoded.size()
                           : std::min(utf8_complete_prefix(decoded), decoded.size() - stop_holdback(decoded, req.stop));
    if (ready > emitted) {
      if (on_text) on_text(std::string_view(decoded).substr(emitted, ready - emitted));
      emitted = ready;
    }
    if (stopped) {
      res.finish = FinishReason::Stop;
      break;
    }
    if (step + 1 == req.max_tokens) break;
    model_forward(m, req.lora, cache, &next, 1, logits.data(), 1);
  }
  if (res.finish != FinishReason::Stop && emitted < decoded.size() && on_text)
    on_text(std::string_view(decoded).substr(emitted));
  res.text = decoded;
  res.decode_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return res;
}

}  // namespace loam

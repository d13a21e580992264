#include "model/decoder.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"

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

// log-softmax of `logits` at `token`, and the k most likely tokens.
TokenLogprob token_logprob(const float* logits, int64_t V, int32_t token, int k) {
  float mx = logits[0];
  for (int64_t v = 1; v < V; v++) mx = std::max(mx, logits[v]);
  double sum = 0.0;
  for (int64_t v = 0; v < V; v++) sum += std::exp(static_cast<double>(logits[v] - mx));
  const float lse = mx + static_cast<float>(std::log(sum));
  TokenLogprob out;
  out.token = token;
  out.logprob = logits[token] - lse;
  if (k > 0) {
    std::vector<int32_t> idx(static_cast<size_t>(V));
    for (int64_t v = 0; v < V; v++) idx[v] = static_cast<int32_t>(v);
    const size_t n = std::min<size_t>(static_cast<size_t>(k), idx.size());
    std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), [logits](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    for (size_t i = 0; i < n; i++) out.top.push_back({idx[i], logits[idx[i]] - lse});
  }
  return out;
}

}  // namespace

struct BatchDecoder::Seq {
  GenerateRequest req;
  TextSink on_text;
  LogprobSink on_logprob;
  Sampler sampler;
  std::vector<int32_t> history;  // prompt and generated tokens
  std::vector<int32_t> pending;  // tokens to feed in the next step
  int64_t kv_base = 0;           // first row of its KV range
  int64_t n_cached = 0;          // rows of its range filled
  bool prefilled = false, done = false;
  std::string decoded;           // decode(result.tokens)
  size_t emitted = 0;            // bytes of `decoded` passed to on_text
  GenerateResult result;
  Seq(const GenerateRequest& r, TextSink sink) : req(r), on_text(std::move(sink)), sampler(r.sampling) {}
};

// Rows of address space the KV pool sets aside (kv_cache.h: touched only
// where written, capped in bytes there), so that admitting sequences never
// copies the pool.
constexpr int64_t kPoolReserveRows = int64_t{1} << 20;

BatchDecoder::BatchDecoder(const Model& m, const Tokenizer& tok) : m_(m), tok_(tok), pool_(m.config, 0, kPoolReserveRows) {}
BatchDecoder::~BatchDecoder() = default;

int64_t BatchDecoder::kv_alloc(int64_t rows) {
  int64_t at = 0;
  for (const auto& [begin, n] : kv_used_) {  // first fit
    if (begin - at >= rows) break;
    at = begin + n;
  }
  if (at + rows > pool_.capacity()) pool_.grow(std::max(at + rows, 2 * pool_.capacity()));
  kv_used_[at] = rows;
  return at;
}

void BatchDecoder::kv_free(int64_t begin) { kv_used_.erase(begin); }

void BatchDecoder::set_prefix_cache(int n) {
  prefix_cache_max_ = std::max(0, n);
  while (static_cast<int>(prefixes_.size()) > prefix_cache_max_) {
    kv_free(prefixes_.front().kv_base);
    prefixes_.erase(prefixes_.begin());
  }
}

void BatchDecoder::forget_adapter(const LoraAdapter* a) {
  for (auto it = prefixes_.begin(); it != prefixes_.end();) {
    if (it->lora == a) {
      kv_free(it->kv_base);
      it = prefixes_.erase(it);
    } else {
      ++it;
    }
  }
}

// Copies the longest prompt prefix (same adapter) whose KV rows exist, from
// a running sequence or a kept prompt, into s's rows; s then feeds the rest.
void BatchDecoder::prefix_reuse(Seq& s) {
  if (prefix_cache_max_ == 0) return;  // off unless asked for
  const std::vector<int32_t>& p = s.req.prompt;
  const int64_t limit = static_cast<int64_t>(p.size()) - 1;  // the last token is computed: its logits are needed
  auto common = [&](const std::vector<int32_t>& q, int64_t filled) {
    int64_t n = 0;
    const int64_t most = std::min({limit, static_cast<int64_t>(q.size()), filled});
    while (n < most && p[n] == q[n]) n++;
    return n;
  };
  int64_t best = 0, from = 0;
  Prefix* kept = nullptr;
  for (auto& [id, o] : seqs_)
    if (!o->done && o->req.lora == s.req.lora) {
      const int64_t n = common(o->req.prompt, o->n_cached);
      if (n > best) best = n, from = o->kv_base, kept = nullptr;
    }
  for (Prefix& k : prefixes_)
    if (k.lora == s.req.lora) {
      const int64_t n = common(k.tokens, static_cast<int64_t>(k.tokens.size()));
      if (n > best) best = n, from = k.kv_base, kept = &k;
    }
  if (best == 0) return;
  if (kept) kept->last_use = ++prefix_clock_;
  const int64_t d = pool_.kv_dim();
  for (int l = 0; l < m_.config.n_layers; l++) {
    std::copy_n(pool_.k(l) + from * d, best * d, pool_.k(l) + s.kv_base * d);
    std::copy_n(pool_.v(l) + from * d, best * d, pool_.v(l) + s.kv_base * d);
  }
  s.n_cached = best;
  s.pending.assign(p.begin() + best, p.end());
  n_prefix_reused_ += best;
}

// A finished sequence: its prompt's rows stay as a kept prefix (the least
// recently used one goes beyond the limit), the rest of its range is freed.
void BatchDecoder::prefix_keep(Seq& s) {
  const int64_t n_prompt = s.result.n_prompt;
  bool dup = prefix_cache_max_ == 0 || n_prompt < 2;
  for (Prefix& k : prefixes_)
    if (k.lora == s.req.lora && k.tokens == s.req.prompt) dup = true, k.last_use = ++prefix_clock_;
  if (dup) {
    kv_free(s.kv_base);
    return;
  }
  kv_used_[s.kv_base] = n_prompt;  // shrink the range to the prompt's rows
  prefixes_.push_back({s.req.prompt, s.req.lora, s.kv_base, ++prefix_clock_});
  if (static_cast<int>(prefixes_.size()) > prefix_cache_max_) {
    auto lru = std::min_element(prefixes_.begin(), prefixes_.end(),
                                [](const Prefix& a, const Prefix& b) { return a.last_use < b.last_use; });
    kv_free(lru->kv_base);
    prefixes_.erase(lru);
  }
}

int64_t BatchDecoder::add(const GenerateRequest& req, TextSink on_text, LogprobSink on_logprob) {
  if (req.prompt.empty()) throw Error("prompt", "empty prompt", "give at least one token");
  const int64_t V = m_.config.vocab;
  for (int32_t id : req.prompt)
    if (id < 0 || id >= V) throw Error("prompt", "token id " + std::to_string(id) + " outside the vocabulary");
  auto s = std::make_unique<Seq>(req, std::move(on_text));
  s->on_logprob = std::move(on_logprob);
  s->history = req.prompt;
  s->pending = req.prompt;
  s->result.n_prompt = static_cast<int64_t>(req.prompt.size());
  s->kv_base = kv_alloc(s->result.n_prompt + std::max(0, req.max_tokens));
  prefix_reuse(*s);
  const int64_t id = next_id_++;
  seqs_[id] = std::move(s);
  return id;
}

void BatchDecoder::remove(int64_t id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  if (!it->second->done) kv_free(it->second->kv_base);
  seqs_.erase(it);
}

int64_t BatchDecoder::n_running() const {
  int64_t n = 0;
  for (const auto& [id, s] : seqs_) n += !s->done;
  return n;
}

bool BatchDecoder::finished(int64_t id) const {
  auto it = seqs_.find(id);
  return it != seqs_.end() && it->second->done;
}

GenerateResult BatchDecoder::take(int64_t id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end() || !it->second->done) throw Error(ErrorKind::FailedPrecondition, "decoder", "sequence " + std::to_string(id) + " is not finished");
  GenerateResult r = std::move(it->second->result);
  seqs_.erase(it);
  return r;
}

// Samples s's next token from its logits row (modified); returns true when s is done.
bool BatchDecoder::advance(Seq& s, float* logits_row) {
  GenerateResult& res = s.result;
  const GenerateRequest& req = s.req;
  if (static_cast<int>(res.tokens.size()) >= req.max_tokens) return true;  // max_tokens == 0
  const int64_t V = m_.config.vocab;
  std::vector<float> raw;
  if (req.top_logprobs >= 0) raw.assign(logits_row, logits_row + V);
  if (req.constrain) req.constrain(res.tokens, logits_row, V);
  const int32_t next = s.sampler.sample(logits_row, V, s.history);
  if (req.top_logprobs >= 0) {
    res.logprobs.push_back(token_logprob(raw.data(), V, next, req.top_logprobs));
    if (s.on_logprob) s.on_logprob(res.logprobs.back());
  }
  if (std::find(req.eos_ids.begin(), req.eos_ids.end(), next) != req.eos_ids.end()) {
    res.finish = FinishReason::Eos;
    return true;
  }
  res.tokens.push_back(next);
  s.history.push_back(next);
  s.decoded = tok_.decode(res.tokens, /*skip_special_tokens=*/false);
  bool stopped = false;
  for (const std::string& stop : req.stop) {
    size_t at = s.decoded.find(stop, s.emitted > stop.size() ? s.emitted - stop.size() : 0);
    if (!stop.empty() && at != std::string::npos) {
      s.decoded.resize(at);
      stopped = true;
    }
  }
  const size_t ready = stopped ? s.decoded.size()
                               : std::min(utf8_complete_prefix(s.decoded), s.decoded.size() - stop_holdback(s.decoded, req.stop));
  if (ready > s.emitted) {
    if (s.on_text) s.on_text(std::string_view(s.decoded).substr(s.emitted, ready - s.emitted));
    s.emitted = ready;
  }
  if (stopped) {
    res.finish = FinishReason::Stop;
    return true;
  }
  if (static_cast<int>(res.tokens.size()) >= req.max_tokens) return true;
  s.pending.assign(1, next);
  return false;
}

std::vector<int64_t> BatchDecoder::step() {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  // The running sequences, grouped by adapter so each adapter is one run of rows.
  std::vector<std::pair<int64_t, Seq*>> live;
  for (auto& [id, s] : seqs_)
    if (!s->done) live.push_back({id, s.get()});
  std::stable_sort(live.begin(), live.end(), [](const auto& a, const auto& b) {
    return std::less<const LoraAdapter*>()(a.second->req.lora, b.second->req.lora);
  });
  if (live.empty()) return {};
  AdapterList adapters;
  batch_.clear();
  std::vector<int64_t> logit_rows;
  std::vector<int64_t> n_fed(live.size()), logit_of(live.size(), -1);  // per live sequence
  for (size_t i = 0; i < live.size(); i++) {
    Seq* s = live[i].second;
    int32_t slot = kNoAdapter;
    if (s->req.lora) {
      if (adapters.empty() || adapters.back() != s->req.lora) adapters.push_back(s->req.lora);
      slot = static_cast<int32_t>(adapters.size() - 1);
    }
    int64_t n = static_cast<int64_t>(s->pending.size());
    if (prefill_chunk_ > 0) n = std::min(n, prefill_chunk_);
    n_fed[i] = n;
    batch_.add_sequence(s->pending.data(), n, static_cast<int32_t>(s->n_cached), static_cast<int32_t>(s->kv_base), slot);
    if (n == static_cast<int64_t>(s->pending.size())) {  // its last pending token: sample from it
      logit_of[i] = static_cast<int64_t>(logit_rows.size());
      logit_rows.push_back(batch_.size() - 1);
    }
  }
  model_forward_hidden(m_, adapters, batch_, &pool_, ForwardOptions{}, ws_);
  const int64_t V = m_.config.vocab;
  logits_.resize(static_cast<size_t>(logit_rows.size() * V));
  if (!logit_rows.empty())
    model_logits(m_, ws_, logit_rows.data(), static_cast<int64_t>(logit_rows.size()), logits_.data());
  const auto t_fwd = clock::now();
  std::vector<int64_t> finished;
  std::vector<bool> was_prefill(live.size());
  for (size_t i = 0; i < live.size(); i++) {
    Seq& s = *live[i].second;
    s.n_cached += n_fed[i];
    if (logit_of[i] < 0) {  // a prompt chunk: the rest comes in the next steps
      s.pending.erase(s.pending.begin(), s.pending.begin() + n_fed[i]);
      continue;
    }
    was_prefill[i] = !s.prefilled;
    s.prefilled = true;
    s.done = advance(s, logits_.data() + logit_of[i] * V);
    if (s.done) {
      if (s.result.finish != FinishReason::Stop && s.emitted < s.decoded.size() && s.on_text)
        s.on_text(std::string_view(s.decoded).substr(s.emitted));
      s.result.text = s.decoded;
      prefix_keep(s);
      finished.push_back(live[i].first);
    }
  }
  // A prefill's time is the batch's forward; sampling and every later step count as decode.
  const auto t_end = clock::now();
  for (size_t i = 0; i < live.size(); i++) {
    GenerateResult& r = live[i].second->result;
    if (was_prefill[i]) {
      r.prefill_seconds = std::chrono::duration<double>(t_fwd - t0).count();
      r.decode_seconds += std::chrono::duration<double>(t_end - t_fwd).count();
    } else {
      r.decode_seconds += std::chrono::duration<double>(t_end - t0).count();
    }
  }
  return finished;
}

}  // namespace loam

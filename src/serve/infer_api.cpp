#include "serve/infer_api.h"

#include <algorithm>
#include <thread>

#include "registry/errors.h"
#include "registry/model_ref.h"
#include "serve/endpoints.h"

namespace loam {

using nlohmann::json;

namespace {

InferTarget target_of_model(Store& store, const ModelRecord& m) {
  InferTarget t;
  t.name = m.display_name.empty() ? m.id : m.display_name;
  t.model_id = m.id;
  if (m.kind == "tuned") {
    auto base = store.model_get(m.base_model_id, m.base_version_id);
    if (!base) throw error_not_found("model " + t.name, "its base model " + m.base_model_id + " is no longer registered");
    t.base_path = base->artifact_path;
    t.adapter_dir = m.artifact_path;
    t.parent = base->display_name.empty() ? base->id : base->display_name;
  } else {
    t.base_path = m.artifact_path;
  }
  return t;
}

}  // namespace

InferTarget infer_target_resolve(ControlContext& c, const std::string& ref, const std::string& field, uint64_t seed) {
  if (ref.empty()) throw error_invalid(field, "is required (a model or an endpoint)");
  if (auto ep = endpoint_find(c.store, ref)) {
    const DeployedModelRecord d = endpoint_route(*ep, seed, field);
    auto m = c.store.model_get(d.model_id, d.model_version_id);
    if (!m) throw error_not_found(field, "endpoint " + ref + " serves model " + d.model_id + ", which is no longer registered");
    InferTarget t = target_of_model(c.store, *m);
    t.name = ref;
    return t;
  }
  return target_of_model(c.store, model_resolve(c.store, ref, field));
}

std::vector<int32_t> infer_chat_prompt(const InferBase& b, const json& messages) {
  if (b.text.chat_template) return model_text_encode_rendered(b.text, model_text_render(b.text, messages, true));
  std::string s;
  for (const json& m : messages) s += m.value("content", "") + "\n\n";
  return b.text.tokenizer.encode(s, /*add_special_tokens=*/true);
}

std::vector<int32_t> infer_text_prompt(const InferBase& b, const std::string& text) {
  return b.text.tokenizer.encode(text, /*add_special_tokens=*/true);
}

// Only a token continuing some label's tokenization is allowed, and eos
// only once a whole label has been generated.
GenerateRequest::Constrain infer_enum_constraint(const Tokenizer& tok, const std::vector<std::string>& labels,
                                           const std::vector<int>& eos, const std::string& field) {
  std::vector<std::vector<int32_t>> seqs;
  for (const std::string& l : labels) {
    if (l.empty()) throw error_invalid(field, "an enum value is empty");
    seqs.push_back(tok.encode(l, false));
  }
  if (eos.empty()) throw error_invalid(field, "the model has no end-of-sequence token to end an enum value");
  const int32_t end = eos.front();
  return [seqs, end](const std::vector<int32_t>& gen, float* logits, int64_t V) {
    std::vector<char> ok(static_cast<size_t>(V), 0);
    for (const auto& s : seqs) {
      if (s.size() < gen.size() || !std::equal(gen.begin(), gen.end(), s.begin())) continue;
      const int32_t next = s.size() == gen.size() ? end : s[gen.size()];
      if (next >= 0 && next < V) ok[static_cast<size_t>(next)] = 1;
    }
    for (int64_t v = 0; v < V; v++)
      if (!ok[static_cast<size_t>(v)]) logits[v] = -INFINITY;
  };
}

InferCall::~InferCall() {
  for (auto& t : tickets) t->cancel();
}

std::unique_ptr<InferCall> infer_submit(InferenceEngine& e, const InferTarget& t, GenerationSpec spec,
                                        const std::string& prompt_field, const std::string& max_tokens_field) {
  const InferBase& b = e.base(t.base_path);
  const int64_t ctx = b.model.config.max_position;
  const int64_t n_prompt = static_cast<int64_t>(spec.prompt.size());
  if (n_prompt == 0) throw error_invalid(prompt_field, "is empty");
  if (n_prompt >= ctx)
    throw error_invalid(prompt_field, "is " + std::to_string(n_prompt) + " tokens; the model's context is " +
                                          std::to_string(ctx) + " tokens");
  if (spec.max_tokens < 0) spec.max_tokens = static_cast<int>(std::min<int64_t>(512, ctx - n_prompt));
  if (n_prompt + spec.max_tokens > ctx)
    throw error_invalid(max_tokens_field, std::to_string(spec.max_tokens) + " more tokens after a prompt of " +
                                              std::to_string(n_prompt) + " exceed the model's context of " +
                                              std::to_string(ctx));
  if (spec.n < 1 || spec.n > 16) throw error_invalid("n", "must be between 1 and 16");
  InferJob job;
  job.adapter_dir = t.adapter_dir;
  job.stream = spec.stream;
  job.gen.prompt = std::move(spec.prompt);
  job.gen.max_tokens = spec.max_tokens;
  job.gen.sampling = spec.sampling;
  job.gen.stop = spec.stop;
  job.gen.eos_ids = spec.ignore_eos ? std::vector<int>{} : b.eos_ids;
  job.gen.top_logprobs = spec.top_logprobs;
  if (!spec.enum_labels.empty()) {
    job.gen.constrain = infer_enum_constraint(b.text.tokenizer, spec.enum_labels, b.eos_ids, "responseSchema.enum");
    job.enum_labels = spec.enum_labels;  // a replica rebuilds the constraint from them
    job.gen.eos_ids = b.eos_ids;
  }
  auto call = std::make_unique<InferCall>();
  for (int i = 0; i < spec.n; i++) {
    InferJob j = job;
    j.gen.sampling.seed = spec.sampling.seed + static_cast<uint64_t>(i);
    call->tickets.push_back(e.submit(t.base_path, std::move(j)));  // a full queue throws; the destructor cancels the rest
  }
  return call;
}

std::vector<Completion> infer_collect(InferCall& call, const PieceFn& on_text, const std::function<bool()>& client_gone) {
  const size_t n = call.tickets.size();
  std::vector<bool> ended(n, false);
  size_t n_ended = 0;
  std::vector<StreamPiece> pieces;
  auto cancel_all = [&] {
    for (auto& t : call.tickets) t->cancel();
    throw Error(ErrorKind::Cancelled, "request", "the client disconnected");
  };
  while (n_ended < n) {
    for (size_t i = 0; i < n; i++) {
      if (ended[i]) continue;
      pieces.clear();
      const bool end = call.tickets[i]->wait(std::chrono::milliseconds(n == 1 ? 50 : 5), pieces);
      for (const StreamPiece& p : pieces)
        if ((!p.text.empty() || !p.logprobs.empty()) && on_text && !on_text(i, p.text, p.logprobs)) cancel_all();
      if (end) {
        ended[i] = true;
        n_ended++;
        if (call.tickets[i]->error()) std::rethrow_exception(call.tickets[i]->error());
      }
    }
    if (client_gone && client_gone()) cancel_all();
  }
  std::vector<Completion> out;
  for (auto& t : call.tickets) {
    const GenerateResult& r = t->result();
    out.push_back({r.text, r.finish, r.n_prompt, static_cast<int64_t>(r.tokens.size()), r.logprobs, r.prefill_seconds,
                   r.decode_seconds});
  }
  return out;
}

std::string finish_reason_openai(FinishReason f) { return f == FinishReason::Length ? "length" : "stop"; }

}  // namespace loam

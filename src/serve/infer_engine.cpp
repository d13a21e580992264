#include "serve/infer_engine.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <list>

#include "kernels/compute_scope.h"
#include "kernels/matmul.h"
#include "model/gguf_export.h"
#include "serve/infer_replica.h"
#include "model/lora.h"
#include "registry/errors.h"

namespace loam {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// A base deployed nowhere (a model named in a request): 0 to 1 replicas,
// started by the first request, gone after --scale-down-idle.
constexpr std::pair<int, int> kOnDemand{0, 1};

// ---------------------------------------------------------------- ticket

bool InferTicket::wait(std::chrono::milliseconds d, std::vector<StreamPiece>& out) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, d, [&] { return ended_ || !pieces_.empty(); });
  for (StreamPiece& p : pieces_) out.push_back(std::move(p));
  pieces_.clear();
  return ended_;
}

void InferTicket::push_logprobs(TokenLogprob lp) {
  std::lock_guard<std::mutex> lk(mu_);
  pieces_.push_back({"", {std::move(lp)}});
}

double InferTicket::since_submit() const {
  return std::chrono::duration<double>(clock_type::now() - submitted_).count();
}

void InferTicket::push_text(std::string_view t) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (first_token_s < 0) first_token_s = since_submit();
    if (pieces_.empty() || !pieces_.back().text.empty()) pieces_.emplace_back();
    pieces_.back().text.append(t);
    cv_.notify_all();
  }
  if (on_event) on_event();
}

void InferTicket::push_piece(StreamPiece p) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (first_token_s < 0 && !p.text.empty()) first_token_s = since_submit();
    pieces_.push_back(std::move(p));
    cv_.notify_all();
  }
  if (on_event) on_event();
}

void InferTicket::finish(GenerateResult r) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (first_token_s < 0) first_token_s = since_submit();
    result_ = std::move(r);
    ended_ = true;
    cv_.notify_all();
  }
  if (on_event) on_event();
}

void InferTicket::fail(std::exception_ptr e) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (ended_) return;  // the first end wins (a replica's result racing a server-side timeout)
    error_ = std::move(e);
    ended_ = true;
    cv_.notify_all();
  }
  if (on_event) on_event();
}

// ---------------------------------------------------------------- worker

InferBase infer_base_load(const std::string& path, const InferSettings& s) {
  InferBase b{path, model_load(path), model_text_load(path), {}};
  b.model.compute.threads = s.threads;
  const bool bf16_weights = b.model.weights.layers.at(0).wq.dtype == DType::BF16;
  if (s.precision == "bf16" || (s.precision == "auto" && bf16_weights)) {
    b.model.compute.precision = MatmulPrecision::Bf16;
    if (!bf16_weights) model_matrices_to_bf16(b.model);
  }
  model_text_check_vocab(b.text, b.model.config.vocab, path + ": vocab_size");
  b.eos_ids = b.model.generation.eos_ids;
  for (int32_t id : b.text.eos_ids)
    if (std::find(b.eos_ids.begin(), b.eos_ids.end(), id) == b.eos_ids.end()) b.eos_ids.push_back(id);
  return b;
}

InferWorker::InferWorker(const std::string& path, const InferSettings& s) : s_(s), base_(infer_base_load(path, s)) {
  thread_ = std::thread([this] { run(); });
}

InferWorker::~InferWorker() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<InferTicket> InferWorker::submit(InferJob job, std::function<void()> on_event) {
  auto t = std::make_shared<InferTicket>();
  t->on_event = std::move(on_event);
  const double timeout = job.timeout_s >= 0 ? job.timeout_s : s_.timeout_s;
  t->deadline = clock_type::now() + std::chrono::microseconds(static_cast<int64_t>(timeout * 1e6));
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stop_) throw Error(ErrorKind::Unavailable, "model", "the server is shutting down");
    if (static_cast<int>(queue_.size()) >= s_.max_queue)
      throw Error(ErrorKind::ResourceExhausted, "model " + base_.path,
                  "the queue is full (" + std::to_string(queue_.size()) + " requests waiting)", "retry later");
    queue_.push_back({std::move(job), t});
  }
  cv_.notify_all();
  return t;
}

InferStats InferWorker::stats() {
  std::lock_guard<std::mutex> lk(mu_);
  InferStats st = stats_;
  st.base = base_.path;
  st.queued = static_cast<int64_t>(queue_.size());
  return st;
}

// Scheduler thread only.
std::shared_ptr<const LoraAdapter> InferWorker::adapter_get(const std::string& dir) {
  auto it = adapters_.find(dir);
  if (it != adapters_.end()) {
    it->second.last_use = ++use_clock_;
    return it->second.adapter;
  }
  LoraAdapter loaded = lora_load(dir, base_.model.config);
  lora_prepare_decode(loaded, base_.model.compute.precision == MatmulPrecision::Bf16);
  auto a = std::make_shared<const LoraAdapter>(std::move(loaded));
  // Evict the least recently used adapters no running sequence holds.
  while (static_cast<int>(adapters_.size()) >= std::max(1, s_.max_loaded_adapters)) {
    auto victim = adapters_.end();
    for (auto j = adapters_.begin(); j != adapters_.end(); ++j)
      if (j->second.adapter.use_count() == 1 && (victim == adapters_.end() || j->second.last_use < victim->second.last_use))
        victim = j;
    if (victim == adapters_.end()) break;  // all in use: go above the limit until they finish
    if (dec_) dec_->forget_adapter(victim->second.adapter.get());  // its cached prefixes go with it
    adapters_.erase(victim);
  }
  adapters_[dir] = {a, ++use_clock_};
  return a;
}

void InferWorker::admit(BatchDecoder& dec, std::deque<Waiting>& batch_in) {
  for (Waiting& w : batch_in) {
    try {
      if (w.ticket->cancelled()) throw Error(ErrorKind::Cancelled, "request", "cancelled before it started");
      Running r{w.ticket, nullptr, static_cast<int64_t>(w.job.gen.prompt.size()) + w.job.gen.max_tokens};
      if (!w.job.adapter_dir.empty()) r.adapter = adapter_get(w.job.adapter_dir);
      w.job.gen.lora = r.adapter.get();
      InferTicket* t = w.ticket.get();
      TextSink sink = [t](std::string_view piece) { t->push_text(piece); };
      if (!w.job.stream)  // the first piece only: it times the first token; the result carries the text
        sink = [t, first = true](std::string_view piece) mutable {
          if (first) t->push_text(piece);
          first = false;
        };
      LogprobSink lp_sink;  // a streaming request's log-probabilities go out with its text
      if (w.job.stream && w.job.gen.top_logprobs >= 0) lp_sink = [t](const TokenLogprob& lp) { t->push_logprobs(lp); };
      const int64_t id = dec.add(w.job.gen, std::move(sink), std::move(lp_sink));
      w.ticket->queued_s = std::chrono::duration<double>(clock_type::now() - w.ticket->submitted_).count();
      running_[id] = std::move(r);
      std::lock_guard<std::mutex> lk(mu_);
      stats_.tokens_in += static_cast<int64_t>(w.job.gen.prompt.size());
    } catch (...) {
      w.ticket->fail(std::current_exception());
    }
  }
  batch_in.clear();
}

void InferWorker::run() {
  BatchDecoder dec(base_.model, base_.text.tokenizer);
  dec.set_prefill_chunk(s_.prefill_chunk);
  dec.set_prefix_cache(s_.prefix_cache);
  dec_ = &dec;
  ComputeScope scope(base_.model.compute);
  std::deque<Waiting> batch_in;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty() || !running_.empty(); });
      if (stop_) break;
      while (!queue_.empty() && static_cast<int>(running_.size() + batch_in.size()) < s_.max_batch) {
        batch_in.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    admit(dec, batch_in);
    // Cancelled (client gone) or past their deadline: out before the step.
    const auto now = clock_type::now();
    for (auto it = running_.begin(); it != running_.end();) {
      InferTicket& t = *it->second.ticket;
      if (t.cancelled() || now > t.deadline) {
        dec.remove(it->first);
        t.fail(std::make_exception_ptr(
            t.cancelled() ? Error(ErrorKind::Cancelled, "request", "cancelled (client disconnected)")
                          : Error(ErrorKind::Unavailable, "request",
                                  "timed out after " + std::to_string(static_cast<int>(s_.timeout_s)) + " s")));
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
    if (running_.empty()) {
      std::lock_guard<std::mutex> lk(mu_);
      stats_.running = stats_.kv_rows = 0;
      continue;
    }
    std::vector<int64_t> done;
    try {
      done = dec.step();
    } catch (...) {  // a failed step fails the batch, not the server
      auto e = std::current_exception();
      for (auto& [id, r] : running_) {
        dec.remove(id);
        r.ticket->fail(e);
      }
      running_.clear();
      continue;
    }
    int64_t out = 0;
    for (int64_t id : done) {
      auto it = running_.find(id);
      GenerateResult res = dec.take(id);
      out += static_cast<int64_t>(res.tokens.size());
      it->second.ticket->finish(std::move(res));
      running_.erase(it);
    }
    std::lock_guard<std::mutex> lk(mu_);
    stats_.tokens_out += out;
    stats_.steps++;
    stats_.step_rows += static_cast<int64_t>(running_.size() + done.size());
    stats_.running = static_cast<int64_t>(running_.size());
    stats_.kv_rows = 0;
    for (const auto& [id, r] : running_) stats_.kv_rows += r.kv_rows;
    stats_.adapters_loaded = static_cast<int64_t>(adapters_.size());
    stats_.prefix_tokens_reused = dec.n_prefix_reused();
  }
  dec_ = nullptr;
  std::lock_guard<std::mutex> lk(mu_);
  auto down = std::make_exception_ptr(Error(ErrorKind::Unavailable, "model", "the server is shutting down"));
  for (auto& [id, r] : running_) r.ticket->fail(down);
  for (Waiting& w : queue_) w.ticket->fail(down);
  queue_.clear();
}

// ---------------------------------------------------------------- engine

// A base as the server holds it: its weights mmap'd but never computed
// with here (the tokenizer and config answer requests), and its replicas.
struct InferenceEngine::Loaded {
  InferBase base;
  std::unique_ptr<ReplicaPool> pool;
};

InferenceEngine::InferenceEngine(const InferSettings& s) : settings_(s) {}
InferenceEngine::~InferenceEngine() {
  std::lock_guard<std::mutex> lk(mu_);
  loaded_.clear();
}

InferenceEngine::Loaded& InferenceEngine::loaded(const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = loaded_.find(path);
  if (it != loaded_.end()) return *it->second;
  InferSettings server_side = settings_;
  server_side.precision = "exact";  // the server only tokenizes: no BF16 copy here
  auto l = std::unique_ptr<Loaded>(new Loaded{infer_base_load(path, server_side), nullptr});
  auto b = bounds_.find(path);
  const auto [lo, hi] = b == bounds_.end() ? kOnDemand : b->second;
  l->pool = std::make_unique<ReplicaPool>(path, replica_checkpoint(l->base), settings_, lo, hi,
                                          [this](const ReplicaEvent& e) { event_record(e); });
  Loaded& ref = *l;
  loaded_[path] = std::move(l);
  return ref;
}

// What the replicas of `b` load. For BF16 products on an fp32/fp16
// checkpoint, a BF16 GGUF written once under cache_dir (keyed by the
// checkpoint's path, size and time), so that every replica maps the same
// BF16 file instead of each holding its own converted copy.
std::string InferenceEngine::replica_checkpoint(const InferBase& b) {
  const std::string dtype = dtype_name(b.model.weights.layers.at(0).wq.dtype);
  if (settings_.precision != "bf16" || dtype == "BF16" || settings_.cache_dir.empty()) return b.path;
  std::string key = b.path;
  for (const NamedPath& f : model_input_files(b.path)) {
    std::error_code ec;
    if (!fs::is_regular_file(f.path, ec)) continue;
    key += "|" + f.path + ":" + std::to_string(fs::file_size(f.path, ec)) + ":" +
           std::to_string(fs::last_write_time(f.path, ec).time_since_epoch().count());
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(key));
  const std::string out = settings_.cache_dir + "/bf16/" + hex + ".gguf";
  if (!fs::exists(out)) {
    fs::create_directories(settings_.cache_dir + "/bf16");
    std::fprintf(stderr, "loam serve: %s: writing its BF16 copy for the replicas to %s\n", b.path.c_str(), out.c_str());
    model_export_gguf(b.model, &b.text, DType::BF16, out);
  }
  return out;
}

const InferBase& InferenceEngine::base(const std::string& path) { return loaded(path).base; }

std::shared_ptr<InferTicket> InferenceEngine::submit(const std::string& base_path, InferJob job) {
  return loaded(base_path).pool->submit(std::move(job));
}

void InferenceEngine::adapter_check(const std::string& base_path, const std::string& adapter_dir) {
  const InferBase& b = base(base_path);
  try {
    lora_load(adapter_dir, b.model.config);
  } catch (const Error& e) {
    throw error_invalid("adapter " + adapter_dir, std::string("does not fit base ") + base_path + ": " + e.what());
  }
}

std::vector<InferStats> InferenceEngine::stats() {
  std::vector<ReplicaPool*> ps;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [p, l] : loaded_) ps.push_back(l->pool.get());
  }
  std::vector<InferStats> out;
  for (ReplicaPool* p : ps) out.push_back(p->stats());
  return out;
}

std::vector<std::string> InferenceEngine::loaded_bases() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::string> out;
  for (auto& [p, l] : loaded_) out.push_back(p);
  return out;
}

void InferenceEngine::replicas_bounds(const std::map<std::string, std::pair<int, int>>& bounds) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    bounds_ = bounds;
  }
  for (const auto& [path, b] : bounds) loaded(path);
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [path, l] : loaded_) {
    auto b = bounds_.find(path);
    if (b == bounds_.end()) l->pool->bounds_set(kOnDemand.first, kOnDemand.second);
    else l->pool->bounds_set(b->second.first, b->second.second);
  }
}

std::vector<ReplicaPoolInfo> InferenceEngine::replicas() {
  std::vector<ReplicaPool*> ps;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [p, l] : loaded_) ps.push_back(l->pool.get());
  }
  std::vector<ReplicaPoolInfo> out;
  for (ReplicaPool* p : ps) out.push_back(p->info());
  return out;
}

void InferenceEngine::event_record(const ReplicaEvent& e) {
  std::fprintf(stderr, "loam serve: base %s: replica %d (pid %ld): %s: %s\n", e.base.c_str(), e.replica,
               static_cast<long>(e.pid), e.kind.c_str(), e.message.c_str());
  if (!settings_.events_path.empty()) {
    if (FILE* f = std::fopen(settings_.events_path.c_str(), "a")) {
      const std::string line = replica_event_json(e).dump() + "\n";
      std::fwrite(line.data(), 1, line.size(), f);
      std::fclose(f);
    }
  }
  std::lock_guard<std::mutex> lk(events_mu_);
  events_.push_back(e);
  if (events_.size() > 1000) events_.pop_front();
}

std::vector<ReplicaEvent> InferenceEngine::replica_events() {
  std::lock_guard<std::mutex> lk(events_mu_);
  return {events_.begin(), events_.end()};
}

}  // namespace loam

#include "serve/infer_engine.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <list>

#include "kernels/compute_scope.h"
#include "model/lora.h"
#include "registry/errors.h"

namespace loam {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// ---------------------------------------------------------------- ticket

bool InferTicket::wait(std::chrono::milliseconds d, std::string& text) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, d, [this] { return ended_ || !text_.empty(); });
  text += text_;
  text_.clear();
  return ended_;
}

void InferTicket::push_text(std::string_view t) {
  std::lock_guard<std::mutex> lk(mu_);
  if (first_token_s < 0) first_token_s = std::chrono::duration<double>(clock_type::now() - submitted_).count();
  text_.append(t);
  cv_.notify_all();
}

void InferTicket::finish(GenerateResult r) {
  std::lock_guard<std::mutex> lk(mu_);
  if (first_token_s < 0) first_token_s = std::chrono::duration<double>(clock_type::now() - submitted_).count();
  result_ = std::move(r);
  ended_ = true;
  cv_.notify_all();
}

void InferTicket::fail(std::exception_ptr e) {
  std::lock_guard<std::mutex> lk(mu_);
  error_ = std::move(e);
  ended_ = true;
  cv_.notify_all();
}

// ---------------------------------------------------------------- worker

// One base model and the thread that owns its decoder.
class InferWorker {
 public:
  InferWorker(const std::string& path, const InferSettings& s)
      : s_(s), base_{path, model_load(path), model_text_load(path), {}} {
    base_.model.compute.threads = s.threads;
    model_text_check_vocab(base_.text, base_.model.config.vocab, path + ": vocab_size");
    base_.eos_ids = base_.model.generation.eos_ids;
    for (int32_t id : base_.text.eos_ids)
      if (std::find(base_.eos_ids.begin(), base_.eos_ids.end(), id) == base_.eos_ids.end()) base_.eos_ids.push_back(id);
    thread_ = std::thread([this] { run(); });
  }
  ~InferWorker() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  const InferBase& base() const { return base_; }

  std::shared_ptr<InferTicket> submit(InferJob job) {
    auto t = std::make_shared<InferTicket>();
    t->deadline = clock_type::now() + std::chrono::microseconds(static_cast<int64_t>(s_.timeout_s * 1e6));
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

  InferStats stats() {
    std::lock_guard<std::mutex> lk(mu_);
    InferStats st = stats_;
    st.base = base_.path;
    st.queued = static_cast<int64_t>(queue_.size());
    return st;
  }

 private:
  struct Waiting {
    InferJob job;
    std::shared_ptr<InferTicket> ticket;
  };
  struct Running {
    std::shared_ptr<InferTicket> ticket;
    std::shared_ptr<const LoraAdapter> adapter;  // keeps it loaded while the sequence runs
    int64_t kv_rows = 0;                         // prompt + max tokens, reserved in the pool
  };
  struct AdapterSlot {
    std::shared_ptr<const LoraAdapter> adapter;
    uint64_t last_use = 0;
  };

  // Scheduler thread only.
  std::shared_ptr<const LoraAdapter> adapter_get(const std::string& dir) {
    auto it = adapters_.find(dir);
    if (it != adapters_.end()) {
      it->second.last_use = ++use_clock_;
      return it->second.adapter;
    }
    auto a = std::make_shared<const LoraAdapter>(lora_load(dir, base_.model.config));
    // Evict the least recently used adapters no running sequence holds.
    while (static_cast<int>(adapters_.size()) >= std::max(1, s_.max_loaded_adapters)) {
      auto victim = adapters_.end();
      for (auto j = adapters_.begin(); j != adapters_.end(); ++j)
        if (j->second.adapter.use_count() == 1 && (victim == adapters_.end() || j->second.last_use < victim->second.last_use))
          victim = j;
      if (victim == adapters_.end()) break;  // all in use: go above the limit until they finish
      adapters_.erase(victim);
    }
    adapters_[dir] = {a, ++use_clock_};
    return a;
  }

  void admit(BatchDecoder& dec, std::deque<Waiting>& batch_in) {
    for (Waiting& w : batch_in) {
      try {
        if (w.ticket->cancelled()) throw Error(ErrorKind::Cancelled, "request", "cancelled before it started");
        Running r{w.ticket, nullptr, static_cast<int64_t>(w.job.gen.prompt.size()) + w.job.gen.max_tokens};
        if (!w.job.adapter_dir.empty()) r.adapter = adapter_get(w.job.adapter_dir);
        w.job.gen.lora = r.adapter.get();
        InferTicket* t = w.ticket.get();
        const int64_t id = dec.add(w.job.gen, [t](std::string_view piece) { t->push_text(piece); });
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

  void run() {
    BatchDecoder dec(base_.model, base_.text.tokenizer);
    dec.set_prefill_chunk(s_.prefill_chunk);
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
    }
    std::lock_guard<std::mutex> lk(mu_);
    auto down = std::make_exception_ptr(Error(ErrorKind::Unavailable, "model", "the server is shutting down"));
    for (auto& [id, r] : running_) r.ticket->fail(down);
    for (Waiting& w : queue_) w.ticket->fail(down);
    queue_.clear();
  }

  const InferSettings s_;
  InferBase base_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Waiting> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;          // GUARDED_BY(mu_)
  InferStats stats_;           // GUARDED_BY(mu_)
  // Scheduler thread only:
  std::map<int64_t, Running> running_;
  std::map<std::string, AdapterSlot> adapters_;
  uint64_t use_clock_ = 0;
  std::thread thread_;
};

// ---------------------------------------------------------------- engine

InferenceEngine::InferenceEngine(const InferSettings& s) : settings_(s) {}
InferenceEngine::~InferenceEngine() {
  std::lock_guard<std::mutex> lk(mu_);
  workers_.clear();
}

InferWorker& InferenceEngine::worker(const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = workers_.find(path);
  if (it != workers_.end()) return *it->second;
  auto w = std::make_unique<InferWorker>(path, settings_);
  InferWorker& ref = *w;
  workers_[path] = std::move(w);
  return ref;
}

const InferBase& InferenceEngine::base(const std::string& path) { return worker(path).base(); }

std::shared_ptr<InferTicket> InferenceEngine::submit(const std::string& base_path, InferJob job) {
  return worker(base_path).submit(std::move(job));
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
  std::vector<InferWorker*> ws;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [p, w] : workers_) ws.push_back(w.get());
  }
  std::vector<InferStats> out;
  for (InferWorker* w : ws) out.push_back(w->stats());
  return out;
}

std::vector<std::string> InferenceEngine::loaded_bases() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::string> out;
  for (auto& [p, w] : workers_) out.push_back(p);
  return out;
}

}  // namespace loam

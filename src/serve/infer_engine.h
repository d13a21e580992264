// The inference engine of `loam serve`. Each loaded base model is served
// by a pool of replica processes (serve/infer_replica.h); each replica runs
// one InferWorker: a scheduler thread running a BatchDecoder
// (model/decoder.h) with continuous batching. Requests wait in a bounded queue and join the running batch
// between decode steps; each row carries its own adapter (every tuned model
// on a base is served from the one copy of the base weights, which are
// mmap'd once per base); prompts are prefilled in chunks so running
// sequences keep decoding; a cancelled or timed-out request leaves the batch
// and frees its KV rows at the next step boundary.
//
// Threads: HTTP handler threads call submit() and then wait on their
// InferTicket; in a replica, only the scheduler thread touches its decoder
// and its adapters (loaded on first use, least recently used evicted beyond
// max_loaded_adapters when no running sequence holds them).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "model/decoder.h"
#include "model/model.h"
#include "tokenizer/model_text.h"

namespace loam {

struct InferSettings {
  int max_batch = 16;              // --max-batch: sequences decoded together per base
  int max_queue = 64;              // --max-queue: waiting requests per base beyond it get 429
  int max_loaded_adapters = 8;     // --max-loaded-adapters: adapters kept in memory per base
  int64_t prefill_chunk = 256;     // prompt tokens of one sequence per step
  int prefix_cache = 16;           // --prefix-cache: finished prompts whose KV is kept for prefix reuse (0 = none)
  double timeout_s = 600;          // --request-timeout: a request running longer ends with 503
  int threads = 0;                 // --infer-threads: kernel threads of a model's replicas together (0 = all
                                   // cores); each of up to maxReplicaCount replicas takes threads / max (>= 1)
  double start_timeout_s = 600;    // --replica-start-timeout: a replica not ready by then is killed
  double scale_down_idle_s = 300;  // --scale-down-idle: a replica idle this long goes (down to the minimum)
  std::string precision = "auto";  // --precision: auto (BF16 products for BF16 weights), exact, bf16
  std::string cache_dir;           // where an fp32 checkpoint's BF16 copy is written once for --precision bf16
  std::string replica_binary;      // the `loam` executable replicas run (`loam serve-replica`)
  std::string events_path;         // replica events are appended here as JSON lines ("" = none)
};

// A base model as the engine holds it: weights (mmap'd), text side, stops.
struct InferBase {
  std::string path;
  Model model;
  ModelText text;
  std::vector<int> eos_ids;  // generation_config's and the tokenizer's
};

// One generation as a handler submits it.
struct InferJob {
  GenerateRequest gen;       // .lora is ignored; the engine sets it from adapter_dir
  std::string adapter_dir;   // PEFT directory of a tuned model; "" = the bare base
  std::vector<std::string> enum_labels;  // non-empty: gen.constrain restricts output to one of them
  double timeout_s = -1;     // -1: InferSettings::timeout_s
  bool stream = true;        // false: only the first piece of text is pushed (time to first token),
                             // the rest comes with the result: no frame and no wake-up per token
};

// One sampled token's part of a stream: the text it made final (empty
// while held back: a partial UTF-8 character, a possible stop sequence) and,
// when asked for, its log-probability. A stream goes out piece by piece, as
// OpenAI's and the managed service's do, never coalesced by a slow reader.
struct StreamPiece {
  std::string text;
  std::vector<TokenLogprob> logprobs;
};

// What a handler thread holds while its request runs. The scheduler appends
// pieces and finishes it; the handler waits, reads, and may cancel.
class InferTicket {
 public:
  // Waits up to `d` for new pieces or the end. Moves the pieces not yet
  // taken, in order, onto `out`; returns true when the request has ended
  // (result() or error() then set).
  bool wait(std::chrono::milliseconds d, std::vector<StreamPiece>& out);
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  const GenerateResult& result() const { return result_; }   // after the end, when no error
  const std::exception_ptr& error() const { return error_; }  // after the end
  std::chrono::steady_clock::time_point deadline;
  double queued_s = 0, first_token_s = -1;  // seconds from submit to admission / to the first text
  double since_submit() const;
  // Called (from the thread that changed it, no lock held) after new text or the end.
  std::function<void()> on_event;

  // Scheduler side.
  // A token's log-probability opens a new piece (without waking the reader:
  // its text, if any, follows at once); text joins the newest piece not yet
  // taken when that piece has none, else opens its own.
  void push_logprobs(TokenLogprob lp);
  void push_text(std::string_view t);
  void push_piece(StreamPiece p);  // a whole piece, as a replica's frame brings it
  void finish(GenerateResult r);
  void fail(std::exception_ptr e);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StreamPiece> pieces_;  // not yet taken by wait()
  bool ended_ = false;
  GenerateResult result_;
  std::exception_ptr error_;
  std::atomic<bool> cancelled_{false};
  std::chrono::steady_clock::time_point submitted_ = std::chrono::steady_clock::now();
  friend class InferWorker;
};

struct InferStats {  // for /metrics, per base
  std::string base;
  int64_t queued = 0, running = 0, adapters_loaded = 0, kv_rows = 0;
  int64_t tokens_in = 0, tokens_out = 0, steps = 0, step_rows = 0;
  int64_t replicas = 0;  // replica processes up (ready) for this base
  int64_t prefix_tokens_reused = 0;  // prompt tokens whose KV was copied from a shared prefix
};

// Loads the base at `path` (weights mmap'd; BF16 copies of fp32/fp16
// matrices in memory when precision is "bf16"), its text side and its stop ids.
InferBase infer_base_load(const std::string& path, const InferSettings& s);

// One base model and the scheduler thread that owns its decoder: what a
// replica process runs.
class InferWorker {
 public:
  InferWorker(const std::string& path, const InferSettings& s);
  ~InferWorker();  // stops the scheduler; running requests fail with Unavailable
  const InferBase& base() const { return base_; }
  // Throws ResourceExhausted when max_queue requests wait. on_event becomes
  // the ticket's (set before the scheduler can see it).
  std::shared_ptr<InferTicket> submit(InferJob job, std::function<void()> on_event = {});
  InferStats stats();

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
  std::shared_ptr<const LoraAdapter> adapter_get(const std::string& dir);
  void admit(BatchDecoder& dec, std::deque<Waiting>& batch_in);
  void run();

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
  BatchDecoder* dec_ = nullptr;  // the scheduler's, while it runs
  std::thread thread_;
};

class ReplicaPool;
struct ReplicaPoolInfo;
struct ReplicaEvent;

class InferenceEngine {
 public:
  explicit InferenceEngine(const InferSettings& s);
  ~InferenceEngine();  // stops every replica; running requests fail with Unavailable

  // The base at `path`, loading it (weights mmap'd: the server reads its
  // config and tokenizer) and starting its replica pool on first use. Thread-safe.
  const InferBase& base(const std::string& path);
  // Queues a job on the base at `path`. Throws ResourceExhausted (429) when
  // that base's queue is full; Unavailable after shutdown.
  std::shared_ptr<InferTicket> submit(const std::string& base_path, InferJob job);
  // Adapters checked against a base before use: loads it (not kept) and
  // throws InvalidArgument with the reason when it does not fit.
  void adapter_check(const std::string& base_path, const std::string& adapter_dir);
  std::vector<InferStats> stats();
  std::vector<std::string> loaded_bases();
  const InferSettings& settings() const { return settings_; }

  // Replica bounds per base path (min, max); loaded bases not named get
  // (1, 1). Bases named but not loaded yet are loaded.
  void replicas_bounds(const std::map<std::string, std::pair<int, int>>& bounds);
  std::vector<ReplicaPoolInfo> replicas();
  std::vector<ReplicaEvent> replica_events();  // the latest (at most 1000), oldest first

 private:
  struct Loaded;
  Loaded& loaded(const std::string& path);
  std::string replica_checkpoint(const InferBase& b);
  void event_record(const ReplicaEvent& e);
  InferSettings settings_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Loaded>> loaded_;  // GUARDED_BY(mu_)
  std::map<std::string, std::pair<int, int>> bounds_;       // GUARDED_BY(mu_)
  std::mutex events_mu_;
  std::deque<ReplicaEvent> events_;  // GUARDED_BY(events_mu_)
};

}  // namespace loam

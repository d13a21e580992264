// The inference engine of `loam serve`: one scheduler thread per loaded
// base model, running a BatchDecoder (model/decoder.h) with continuous
// batching. Requests wait in a bounded queue and join the running batch
// between decode steps; each row carries its own adapter (every tuned model
// on a base is served from the one copy of the base weights, which are
// mmap'd once per base); prompts are prefilled in chunks so running
// sequences keep decoding; a cancelled or timed-out request leaves the batch
// and frees its KV rows at the next step boundary.
//
// Threads: HTTP handler threads call submit() and then wait on their
// InferTicket; only the base's scheduler thread touches its decoder and
// its adapters (loaded on first use, least recently used evicted beyond
// max_loaded_adapters when no running sequence holds them).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
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
  double timeout_s = 600;          // --request-timeout: a request running longer ends with 503
  int threads = 0;                 // --infer-threads: kernel threads per base (0 = all cores)
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
};

// What a handler thread holds while its request runs. The scheduler appends
// text and finishes it; the handler waits, reads, and may cancel.
class InferTicket {
 public:
  // Waits up to `d` for new text or the end. Moves new text into `text`;
  // returns true when the request has ended (result() or error() then set).
  bool wait(std::chrono::milliseconds d, std::string& text);
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  const GenerateResult& result() const { return result_; }   // after the end, when no error
  const std::exception_ptr& error() const { return error_; }  // after the end
  std::chrono::steady_clock::time_point deadline;
  double queued_s = 0, first_token_s = -1;  // seconds from submit to admission / to the first text

  // Scheduler side.
  void push_text(std::string_view t);
  void finish(GenerateResult r);
  void fail(std::exception_ptr e);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;     // not yet taken by wait()
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
};

class InferWorker;

class InferenceEngine {
 public:
  explicit InferenceEngine(const InferSettings& s);
  ~InferenceEngine();  // stops every scheduler; running requests fail with Unavailable

  // The base at `path`, loading it (weights mmap'd) on first use. Thread-safe.
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

 private:
  InferWorker& worker(const std::string& path);
  InferSettings settings_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<InferWorker>> workers_;  // GUARDED_BY(mu_)
};

}  // namespace loam

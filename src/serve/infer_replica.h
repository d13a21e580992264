// Replicas: each base model the server serves runs in one or more replica
// processes (`loam serve-replica`, started by fork+exec), each an
// InferWorker with its own scheduler and KV cache. Replicas of one base
// mmap the same checkpoint file, so the weights sit once in the page cache
// however many replicas run (docs/serve.md says how that was checked).
//
// The server talks to a replica over a socketpair (the child's fd 3):
// frames of a 4-byte little-endian length and a MessagePack map (text as
// raw bytes). Server -> replica: submit {id, job}, cancel {id}, exit.
// Replica -> server: ready, text {id, bytes}, done {id, result},
// error {id, kind, where, message}, stats.
//
// ReplicaPool (server side, one per base): requests wait in the pool's
// queue (--max-queue, 429 beyond) and go to the ready replica with the
// fewest running, at most --max-batch each. A manager thread keeps between
// min and max replicas: one more while requests wait and none is starting,
// one fewer after a replica sat idle --scale-down-idle seconds (never below
// min). A replica that dies (crash, kill) is noticed by its reader thread
// (the socket closes; waitpid says why): its requests fail at once with
// Unavailable (503), and a new replica replaces it. Every start, scale
// step, crash and restart is an event (InferenceEngine::replica_events,
// GET /v1/inference/replicas, and the --data-dir's replica_events.jsonl).
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/infer_engine.h"

namespace loam {

struct ReplicaEvent {
  std::string time;     // RFC 3339
  std::string base;     // base checkpoint path
  int replica = 0;      // number within its pool (1, 2, ...; never reused)
  long pid = 0;
  std::string kind;     // started | ready | scaled_up | scaled_down | crashed | restarted | failed_to_start | stopped
  std::string message;
};
nlohmann::json replica_event_json(const ReplicaEvent& e);

struct ReplicaInfo {
  int replica = 0;
  long pid = 0;
  std::string state;    // starting | ready | stopping
  int running = 0;      // requests it holds
  int threads = 0;      // kernel threads it was started with
  std::string start_time;
};

struct ReplicaPoolInfo {
  std::string base;
  int min_replicas = 1, max_replicas = 1;
  int queued = 0;
  std::vector<ReplicaInfo> replicas;
};

class ReplicaPool {
 public:
  // Starts min replicas (asynchronously). on_event is called from the
  // pool's threads.
  // `checkpoint` is what replicas load (the base itself, or its BF16 copy).
  ReplicaPool(const std::string& base_path, const std::string& checkpoint, const InferSettings& s, int min_replicas,
              int max_replicas,
              std::function<void(const ReplicaEvent&)> on_event);
  ~ReplicaPool();  // stops the replicas; waiting and running requests fail with Unavailable

  // Throws ResourceExhausted when max_queue requests wait; Unavailable after shutdown.
  std::shared_ptr<InferTicket> submit(InferJob job);
  void bounds_set(int min_replicas, int max_replicas);
  InferStats stats();
  ReplicaPoolInfo info();

 private:
  struct Replica;
  struct Pending {
    InferJob job;
    std::shared_ptr<InferTicket> ticket;
  };
  void dispatch_locked();                     // REQUIRES mu_: queue -> free replica slots
  void spawn(const std::string& kind, const std::string& why);  // manager thread
  void read_loop(Replica* r);                 // a replica's reader thread
  void manage();                              // the manager thread
  void expire_locked();                       // REQUIRES mu_ (manager): cancelled and overdue requests
  void scale_locked();                        // REQUIRES mu_ (manager): start, restart, stop replicas
  void event(const Replica* r, const std::string& kind, const std::string& message);

  const std::string base_;
  const std::string checkpoint_;
  const InferSettings s_;
  std::function<void(const ReplicaEvent&)> on_event_;
  std::mutex mu_;
  std::condition_variable cv_;  // wakes the manager
  std::deque<Pending> queue_;                        // GUARDED_BY(mu_)
  std::map<int, std::unique_ptr<Replica>> replicas_;  // GUARDED_BY(mu_)
  int min_ = 1, max_ = 1;                            // GUARDED_BY(mu_)
  int next_replica_ = 1;                             // GUARDED_BY(mu_)
  int64_t next_request_ = 1;                         // GUARDED_BY(mu_)
  int restarts_owed_ = 0;                            // GUARDED_BY(mu_): crashed replicas to replace
  InferStats retired_;                               // GUARDED_BY(mu_): counters of replicas gone
  double start_failed_at_ = -1e9;                    // GUARDED_BY(mu_): for a back-off
  bool stop_ = false;                                // GUARDED_BY(mu_)
  bool manager_exit_ = false;                        // GUARDED_BY(mu_)
  std::thread manager_;
};

// The body of `loam serve-replica`: loads the base, then serves the frames
// on `fd` until it closes or says exit. Returns the exit code.
int infer_replica_main(const std::string& base_path, const InferSettings& s, int fd);

}  // namespace loam

#include "serve/infer_replica.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <unordered_set>

#include "registry/errors.h"
#include "registry/store.h"
#include "serve/infer_api.h"

namespace loam {

using nlohmann::json;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------- frames

bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool frame_write(int fd, const json& j) {
  const std::vector<uint8_t> body = json::to_msgpack(j);
  const uint32_t n = static_cast<uint32_t>(body.size());
  const uint8_t len[4] = {static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n >> 16),
                          static_cast<uint8_t>(n >> 24)};
  std::vector<uint8_t> all(len, len + 4);
  all.insert(all.end(), body.begin(), body.end());
  return write_all(fd, all.data(), all.size());
}

// False at end of stream (or a malformed frame: the peer is treated as gone).
bool frame_read(int fd, json& j) {
  uint8_t len[4];
  if (!read_all(fd, len, 4)) return false;
  const uint32_t n = len[0] | (len[1] << 8) | (len[2] << 16) | (static_cast<uint32_t>(len[3]) << 24);
  if (n > (256u << 20)) return false;
  std::vector<uint8_t> body(n);
  if (!read_all(fd, body.data(), n)) return false;
  try {
    j = json::from_msgpack(body);
  } catch (const std::exception&) {
    return false;
  }
  return j.is_object();
}

// ---------------------------------------------------------------- wire shapes

json job_to_wire(const InferJob& j, int64_t id, double timeout_s) {
  const SamplingParams& p = j.gen.sampling;
  return {{"op", "submit"},
          {"id", id},
          {"prompt", j.gen.prompt},
          {"max_tokens", j.gen.max_tokens},
          {"sampling", {p.temperature, p.top_k, p.top_p, p.min_p, p.repetition_penalty, p.seed}},
          {"stop", j.gen.stop},
          {"eos", j.gen.eos_ids},
          {"top_logprobs", j.gen.top_logprobs},
          {"enum", j.enum_labels},
          {"adapter", j.adapter_dir},
          {"timeout_s", timeout_s},
          {"stream", j.stream}};
}

InferJob job_from_wire(const json& w) {
  InferJob j;
  j.gen.prompt = w.at("prompt").get<std::vector<int32_t>>();
  j.gen.max_tokens = w.at("max_tokens").get<int>();
  const json& p = w.at("sampling");
  j.gen.sampling = {p.at(0).get<float>(), p.at(1).get<int>(), p.at(2).get<float>(),
                    p.at(3).get<float>(), p.at(4).get<float>(), p.at(5).get<uint64_t>()};
  j.gen.stop = w.at("stop").get<std::vector<std::string>>();
  j.gen.eos_ids = w.at("eos").get<std::vector<int>>();
  j.gen.top_logprobs = w.at("top_logprobs").get<int>();
  j.enum_labels = w.at("enum").get<std::vector<std::string>>();
  j.adapter_dir = w.at("adapter").get<std::string>();
  j.timeout_s = w.at("timeout_s").get<double>();
  j.stream = w.value("stream", true);
  return j;
}

json logprobs_to_wire(const std::vector<TokenLogprob>& v) {
  json lps = json::array();
  for (const TokenLogprob& t : v) {
    json top = json::array();
    for (const auto& [tok, lp] : t.top) top.push_back({tok, lp});
    lps.push_back({t.token, t.logprob, top});
  }
  return lps;
}

std::vector<TokenLogprob> logprobs_from_wire(const json& w) {
  std::vector<TokenLogprob> out;
  for (const json& t : w) {
    TokenLogprob lp{t.at(0).get<int32_t>(), t.at(1).get<float>(), {}};
    for (const json& a : t.at(2)) lp.top.emplace_back(a.at(0).get<int32_t>(), a.at(1).get<float>());
    out.push_back(std::move(lp));
  }
  return out;
}

json result_to_wire(const GenerateResult& r) {
  return {{"tokens", r.tokens}, {"text", r.text}, {"finish", static_cast<int>(r.finish)}, {"n_prompt", r.n_prompt},
          {"logprobs", logprobs_to_wire(r.logprobs)}, {"prefill_s", r.prefill_seconds}, {"decode_s", r.decode_seconds}};
}

GenerateResult result_from_wire(const json& w) {
  GenerateResult r;
  r.tokens = w.at("tokens").get<std::vector<int32_t>>();
  r.text = w.at("text").get<std::string>();
  r.finish = static_cast<FinishReason>(w.at("finish").get<int>());
  r.n_prompt = w.at("n_prompt").get<int64_t>();
  r.logprobs = logprobs_from_wire(w.at("logprobs"));
  r.prefill_seconds = w.at("prefill_s").get<double>();
  r.decode_seconds = w.at("decode_s").get<double>();
  return r;
}

json error_to_wire(int64_t id, std::exception_ptr e) {
  json j = {{"op", "error"}, {"id", id}, {"kind", static_cast<int>(ErrorKind::Internal)}, {"where", "replica"}};
  try {
    std::rethrow_exception(e);
  } catch (const Error& x) {
    j["kind"] = static_cast<int>(x.kind());
    j["where"] = x.where();
    j["message"] = x.message();
    j["hint"] = x.hint();
  } catch (const std::exception& x) {
    j["message"] = x.what();
  } catch (...) {
    j["message"] = "unknown error";
  }
  return j;
}

std::exception_ptr error_from_wire(const json& j) {
  return std::make_exception_ptr(Error(static_cast<ErrorKind>(j.value("kind", static_cast<int>(ErrorKind::Internal))),
                                       j.value("where", "replica"), j.value("message", ""), j.value("hint", "")));
}

std::string exit_reason(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

json replica_event_json(const ReplicaEvent& e) {
  return {{"time", e.time}, {"base", e.base}, {"replica", e.replica}, {"pid", e.pid}, {"kind", e.kind},
          {"message", e.message}};
}

// ---------------------------------------------------------------- server side

struct ReplicaPool::Replica {
  enum class State { Starting, Ready, Stopping, Dead };
  int n = 0;
  pid_t pid = -1;
  int fd = -1;
  State state = State::Starting;                              // GUARDED_BY(pool mu_)
  std::map<int64_t, std::shared_ptr<InferTicket>> running;    // GUARDED_BY(pool mu_)
  std::map<int64_t, bool> cancel_sent;                        // GUARDED_BY(pool mu_)
  InferStats last;                                            // GUARDED_BY(pool mu_): its latest report
  double idle_since = 0;                                      // GUARDED_BY(pool mu_)
  double started_at = 0;                                      // now_s() at spawn
  std::unordered_set<uint64_t> prefixes;  // GUARDED_BY(pool mu_): prompt block hashes routed here (cleared when full)
  int threads = 0;
  std::string start_time;
  std::mutex write_mu;
  std::thread reader;

  bool send(const json& j) {
    std::lock_guard<std::mutex> lk(write_mu);
    return frame_write(fd, j);
  }
};

static const char* state_name(int s) {
  static const char* names[] = {"starting", "ready", "stopping", "dead"};
  return names[s];
}

ReplicaPool::ReplicaPool(const std::string& base_path, const std::string& checkpoint, const InferSettings& s,
                         int min_replicas, int max_replicas, std::function<void(const ReplicaEvent&)> on_event)
    : base_(base_path), checkpoint_(checkpoint), s_(s), on_event_(std::move(on_event)), min_(min_replicas), max_(max_replicas) {
  if (s_.replica_binary.empty()) throw Error(ErrorKind::Internal, "inference", "no executable to run replicas with");
  manager_ = std::thread([this] { manage(); });
}

ReplicaPool::~ReplicaPool() {
  std::deque<Pending> waiting;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    waiting.swap(queue_);
    for (auto& [n, r] : replicas_)
      if (r->state != Replica::State::Dead) {
        r->state = Replica::State::Stopping;
        r->send({{"op", "exit"}});
      }
  }
  cv_.notify_all();
  auto down = std::make_exception_ptr(Error(ErrorKind::Unavailable, "model", "the server is shutting down"));
  for (Pending& p : waiting) p.ticket->fail(down);
  // Replicas finish (failing what they run) and close; a stuck one is killed after 3 s.
  const double until = now_s() + 3;
  for (;;) {
    bool alive = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (auto& [n, r] : replicas_) alive |= r->state != Replica::State::Dead;
    }
    if (!alive || now_s() > until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Only now: the manager thread forked the replicas, and its end kills
  // them (PR_SET_PDEATHSIG is per thread).
  {
    std::lock_guard<std::mutex> lk(mu_);
    manager_exit_ = true;
  }
  cv_.notify_all();
  if (manager_.joinable()) manager_.join();
  std::map<int, std::unique_ptr<Replica>> all;
  {
    std::lock_guard<std::mutex> lk(mu_);
    all.swap(replicas_);
    for (auto& [n, r] : all)
      if (r->state != Replica::State::Dead) kill(r->pid, SIGKILL);
  }
  for (auto& [n, r] : all) {
    if (r->reader.joinable()) r->reader.join();
    close(r->fd);
  }
}

void ReplicaPool::event(const Replica* r, const std::string& kind, const std::string& message) {
  if (on_event_) on_event_({time_now_rfc3339(), base_, r ? r->n : 0, r ? static_cast<long>(r->pid) : 0, kind, message});
}

std::shared_ptr<InferTicket> ReplicaPool::submit(InferJob job) {
  auto t = std::make_shared<InferTicket>();
  const double timeout = job.timeout_s >= 0 ? job.timeout_s : s_.timeout_s;
  t->deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout * 1e6));
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stop_) throw Error(ErrorKind::Unavailable, "model", "the server is shutting down");
    queue_.push_back({std::move(job), t});
    dispatch_locked();
    if (static_cast<int>(queue_.size()) > s_.max_queue) {
      queue_.pop_back();  // this request: the others were there first
      throw Error(ErrorKind::ResourceExhausted, "model " + base_,
                  "the queue is full (" + std::to_string(queue_.size()) + " requests waiting)", "retry later");
    }
  }
  cv_.notify_all();
  return t;
}

// Hashes of a prompt's leading blocks of kPrefixBlock tokens, each covering
// everything before it (and the adapter): equal hashes, equal prefixes.
static constexpr size_t kPrefixBlock = 16;
static std::vector<uint64_t> prefix_hashes(const InferJob& job) {
  std::vector<uint64_t> out;
  uint64_t h = std::hash<std::string>{}(job.adapter_dir);
  const auto& p = job.gen.prompt;
  for (size_t b = 0; b + kPrefixBlock <= p.size(); b += kPrefixBlock) {
    for (size_t i = b; i < b + kPrefixBlock; i++) h = (h ^ static_cast<uint32_t>(p[i])) * 0x100000001b3ULL;
    out.push_back(h);
  }
  return out;
}

// Prefix-aware routing: among the ready replicas with room, the one that
// last saw the longest leading part of this prompt (its KV may still be
// there to reuse: a running sequence or a cached finished prompt), unless
// it is busier than the least busy by more than kPrefixSlack requests;
// otherwise the least busy.
void ReplicaPool::dispatch_locked() {
  constexpr size_t kPrefixSlack = 4, kPrefixesKept = 1 << 14;
  while (!queue_.empty()) {
    Replica* least = nullptr;
    for (auto& [n, r] : replicas_)
      if (r->state == Replica::State::Ready && static_cast<int>(r->running.size()) < s_.max_batch &&
          (!least || r->running.size() < least->running.size()))
        least = r.get();
    if (!least) return;
    const std::vector<uint64_t> blocks = prefix_hashes(queue_.front().job);
    Replica* best = least;
    size_t best_len = 0;
    for (auto& [n, r] : replicas_) {
      if (r->state != Replica::State::Ready || static_cast<int>(r->running.size()) >= s_.max_batch ||
          r->running.size() > least->running.size() + kPrefixSlack)
        continue;
      size_t len = 0;
      while (len < blocks.size() && r->prefixes.count(blocks[len])) len++;
      if (len > best_len) best = r.get(), best_len = len;
    }
    if (best->prefixes.size() + blocks.size() > kPrefixesKept) best->prefixes.clear();
    best->prefixes.insert(blocks.begin(), blocks.end());
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    const double left =
        std::chrono::duration<double>(p.ticket->deadline - std::chrono::steady_clock::now()).count();
    if (p.ticket->cancelled()) {
      p.ticket->fail(std::make_exception_ptr(Error(ErrorKind::Cancelled, "request", "cancelled before it started")));
      continue;
    }
    if (left <= 0) {
      p.ticket->fail(std::make_exception_ptr(Error(ErrorKind::Unavailable, "request", "timed out waiting in the queue")));
      continue;
    }
    const int64_t id = next_request_++;
    p.ticket->queued_s = p.ticket->since_submit();
    best->running[id] = p.ticket;
    if (!best->send(job_to_wire(p.job, id, left))) {  // it is dying: its reader fails the rest
      best->running.erase(id);
      p.ticket->fail(std::make_exception_ptr(
          Error(ErrorKind::Unavailable, "replica", "replica " + std::to_string(best->n) + " of the model went away", "retry")));
    }
  }
}

// Replicas of one model share the cores: each of up to max takes an equal
// share of the threads (spinning OpenMP workers of two replicas on the
// same cores would stall each other at every barrier).
static int replica_threads(int threads, int max_replicas) {
  const int total = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  return std::max(1, total / std::max(1, max_replicas));
}

void ReplicaPool::spawn(const std::string& kind, const std::string& why) {
  const int threads = replica_threads(s_.threads, max_);
  std::vector<std::string> args = {s_.replica_binary,  "serve-replica",
                                   "--base",           checkpoint_,
                                   "--fd",             "3",
                                   "--max-batch",      std::to_string(s_.max_batch),
                                   "--max-loaded-adapters", std::to_string(s_.max_loaded_adapters),
                                   "--prefill-chunk",  std::to_string(s_.prefill_chunk),
                                   "--prefix-cache",   std::to_string(s_.prefix_cache),
                                   "--infer-threads",  std::to_string(threads),
                                   "--precision",      s_.precision};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    event(nullptr, "failed_to_start", std::string("socketpair: ") + strerror(errno));
    start_failed_at_ = now_s();
    return;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);  // the server blocks SIGTERM for its sigwait thread
    setpgid(0, 0);                            // a terminal's Ctrl-C reaches the server, which stops replicas
    prctl(PR_SET_PDEATHSIG, SIGKILL);         // and a replica never outlives the server
    if (getppid() != parent) _exit(1);
    if (sv[1] == 3) fcntl(3, F_SETFD, 0);
    else dup2(sv[1], 3);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    event(nullptr, "failed_to_start", std::string("fork: ") + strerror(errno));
    start_failed_at_ = now_s();
    return;
  }
  auto r = std::make_unique<Replica>();
  r->n = next_replica_++;
  r->pid = pid;
  r->fd = sv[0];
  r->start_time = time_now_rfc3339();
  r->idle_since = r->started_at = now_s();
  r->threads = threads;
  Replica* rp = r.get();
  replicas_[r->n] = std::move(r);
  rp->reader = std::thread([this, rp] { read_loop(rp); });
  event(rp, kind, why);
}

void ReplicaPool::read_loop(Replica* r) {
  json m;
  while (frame_read(r->fd, m)) {
    const std::string op = m.value("op", "");
    if (op == "stats") {
      std::lock_guard<std::mutex> lk(mu_);
      InferStats& st = r->last;
      st.queued = m.value("queued", 0);
      st.running = m.value("running", 0);
      st.adapters_loaded = m.value("adapters_loaded", 0);
      st.kv_rows = m.value("kv_rows", 0);
      st.tokens_in = m.value("tokens_in", 0);
      st.tokens_out = m.value("tokens_out", 0);
      st.steps = m.value("steps", 0);
      st.step_rows = m.value("step_rows", 0);
      st.prefix_tokens_reused = m.value("prefix_reused", 0);
      continue;
    }
    if (op == "ready") {
      std::lock_guard<std::mutex> lk(mu_);
      if (r->state == Replica::State::Starting) r->state = Replica::State::Ready;
      r->idle_since = now_s();
      event(r, "ready", "loaded and serving");
      dispatch_locked();
      continue;
    }
    const int64_t id = m.value("id", int64_t{-1});
    std::shared_ptr<InferTicket> t;
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = r->running.find(id);
      if (it == r->running.end()) continue;  // failed here already (server-side deadline)
      t = it->second;
      if (op == "done" || op == "error") {
        r->running.erase(it);
        r->cancel_sent.erase(id);
        if (r->running.empty()) r->idle_since = now_s();
        dispatch_locked();
      }
    }
    if (op == "text") {
      StreamPiece p{m.at("text").get<std::string>(), {}};
      if (auto lps = m.find("lps"); lps != m.end()) p.logprobs = logprobs_from_wire(*lps);
      t->push_piece(std::move(p));
    }
    else if (op == "done") t->finish(result_from_wire(m.at("result")));
    else if (op == "error") t->fail(error_from_wire(m));
  }
  // The socket closed: the replica exited (asked to, or crashed).
  int status = 0;
  waitpid(r->pid, &status, 0);
  const std::string why = exit_reason(status);
  std::map<int64_t, std::shared_ptr<InferTicket>> lost;
  {
    std::lock_guard<std::mutex> lk(mu_);
    const Replica::State was = r->state;
    r->state = Replica::State::Dead;
    lost.swap(r->running);
    retired_.tokens_in += r->last.tokens_in;
    retired_.tokens_out += r->last.tokens_out;
    retired_.steps += r->last.steps;
    retired_.step_rows += r->last.step_rows;
    retired_.prefix_tokens_reused += r->last.prefix_tokens_reused;
    if (was == Replica::State::Stopping) {
      event(r, "stopped", why);
    } else if (was == Replica::State::Starting) {
      event(r, "failed_to_start", why + " before it was ready (its log is the server's stderr)");
      start_failed_at_ = now_s();
    } else {
      event(r, "crashed", why + (lost.empty() ? "" : "; " + std::to_string(lost.size()) + " requests failed"));
      restarts_owed_++;
    }
  }
  for (auto& [id, t] : lost)
    t->fail(std::make_exception_ptr(Error(ErrorKind::Unavailable, "replica",
                                          "replica " + std::to_string(r->n) + " (pid " + std::to_string(r->pid) +
                                              ") of the model " + why + " while running this request",
                                          "retry: the endpoint is still serving")));
  cv_.notify_all();
}

void ReplicaPool::manage() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!manager_exit_) {
    cv_.wait_for(lk, std::chrono::milliseconds(100));
    if (stop_) continue;  // shutting down: the destructor waits for the replicas
    // Reap replicas that are gone (their reader threads have ended).
    std::vector<std::unique_ptr<Replica>> dead;
    for (auto it = replicas_.begin(); it != replicas_.end();) {
      if (it->second->state == Replica::State::Dead) {
        dead.push_back(std::move(it->second));
        it = replicas_.erase(it);
      } else {
        ++it;
      }
    }
    if (!dead.empty()) {
      lk.unlock();
      for (auto& r : dead) {
        if (r->reader.joinable()) r->reader.join();
        close(r->fd);
      }
      lk.lock();
      if (stop_) continue;
    }
    expire_locked();
    // A replica that does not come up in time (a load that hangs) is
    // killed; its reader then records it as stopped.
    for (auto& [n, r] : replicas_)
      if (r->state == Replica::State::Starting && now_s() - r->started_at > s_.start_timeout_s) {
        event(r.get(), "start_timeout",
              "not ready after " + std::to_string(static_cast<int>(s_.start_timeout_s)) + " s; killed");
        r->state = Replica::State::Stopping;
        ::kill(r->pid, SIGKILL);
        start_failed_at_ = now_s();
      }
    scale_locked();
  }
}

// Cancelled and expired requests: out of the queue; cancels forwarded; a
// replica that overruns a deadline by 5 s is not waited for.
void ReplicaPool::expire_locked() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = queue_.begin(); it != queue_.end();) {
    InferTicket& t = *it->ticket;
    if (t.cancelled() || now > t.deadline) {
      t.fail(std::make_exception_ptr(t.cancelled() ? Error(ErrorKind::Cancelled, "request", "cancelled while waiting")
                                                   : Error(ErrorKind::Unavailable, "request",
                                                           "timed out waiting for a replica")));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [n, r] : replicas_)
    for (auto it = r->running.begin(); it != r->running.end();) {
      InferTicket& t = *it->second;
      const bool overdue = now > t.deadline + std::chrono::seconds(5);
      if ((t.cancelled() || overdue) && !r->cancel_sent[it->first]) {
        r->cancel_sent[it->first] = true;
        r->send({{"op", "cancel"}, {"id", it->first}});
      }
      if (overdue) {
        t.fail(std::make_exception_ptr(Error(ErrorKind::Unavailable, "request", "the replica did not answer in time")));
        r->cancel_sent.erase(it->first);
        it = r->running.erase(it);
      } else {
        ++it;
      }
    }
}

// Replaces crashed replicas, keeps the minimum, scales up while requests
// wait and down after --scale-down-idle (or at once above the maximum).
void ReplicaPool::scale_locked() {
  int live = 0, starting = 0;
  for (auto& [n, r] : replicas_) {
    live += r->state == Replica::State::Starting || r->state == Replica::State::Ready;
    starting += r->state == Replica::State::Starting;
  }
  const bool backoff = now_s() - start_failed_at_ < 2;
  if (restarts_owed_ > 0 && live >= max_) restarts_owed_ = 0;
  if (restarts_owed_ > 0 && !backoff) {
    restarts_owed_--;
    spawn("restarted", "replacing a replica that died");
  } else if (live < min_ && !backoff) {
    spawn("started", "keeping the minimum of " + std::to_string(min_));
  } else if (!queue_.empty() && starting == 0 && live < max_ && !backoff) {
    spawn("scaled_up", std::to_string(queue_.size()) + " requests waiting; " + std::to_string(live + 1) + " of at most " +
                           std::to_string(max_) + " replicas");
  } else if (live > min_ && queue_.empty()) {
    Replica* idlest = nullptr;
    for (auto& [n, r] : replicas_)
      if (r->state == Replica::State::Ready && r->running.empty() && (!idlest || r->idle_since < idlest->idle_since))
        idlest = r.get();
    if (idlest && (live > max_ || now_s() - idlest->idle_since >= s_.scale_down_idle_s)) {
      idlest->state = Replica::State::Stopping;
      idlest->send({{"op", "exit"}});
      event(idlest, "scaled_down", live > max_ ? "above the maximum of " + std::to_string(max_)
                                               : "idle for " + std::to_string(static_cast<int>(s_.scale_down_idle_s)) +
                                                     " s; " + std::to_string(live - 1) + " replicas left");
    }
  }
}

void ReplicaPool::bounds_set(int min_replicas, int max_replicas) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    min_ = min_replicas;
    max_ = std::max(1, max_replicas);
  }
  cv_.notify_all();
}

InferStats ReplicaPool::stats() {
  std::lock_guard<std::mutex> lk(mu_);
  InferStats st = retired_;
  st.base = base_;
  st.queued = static_cast<int64_t>(queue_.size());
  for (auto& [n, r] : replicas_) {
    if (r->state == Replica::State::Dead) continue;
    st.replicas += r->state == Replica::State::Ready;
    st.queued += r->last.queued;
    st.running += r->last.running;
    st.adapters_loaded += r->last.adapters_loaded;
    st.kv_rows += r->last.kv_rows;
    st.tokens_in += r->last.tokens_in;
    st.tokens_out += r->last.tokens_out;
    st.steps += r->last.steps;
    st.step_rows += r->last.step_rows;
    st.prefix_tokens_reused += r->last.prefix_tokens_reused;
  }
  return st;
}

ReplicaPoolInfo ReplicaPool::info() {
  std::lock_guard<std::mutex> lk(mu_);
  ReplicaPoolInfo out{base_, min_, max_, static_cast<int>(queue_.size()), {}};
  for (auto& [n, r] : replicas_)
    if (r->state != Replica::State::Dead)
      out.replicas.push_back({r->n, static_cast<long>(r->pid), state_name(static_cast<int>(r->state)),
                              static_cast<int>(r->running.size()), r->threads, r->start_time});
  return out;
}

// ---------------------------------------------------------------- replica side

namespace {

// A replica process's side of the socket: the reader (the main thread)
// submits requests and forwards cancels; the forwarder thread sends back
// new text, ends and stats.
class ReplicaSide {
 public:
  ReplicaSide(int fd, std::unique_ptr<InferWorker> w) : fd_(fd), w_(std::move(w)) {}

  void run() {
    send({{"op", "ready"}});
    std::thread forwarder([this] { forward(); });
    json m;
    while (frame_read(fd_, m)) {
      const std::string op = m.value("op", "");
      if (op == "exit") break;
      const int64_t id = m.value("id", int64_t{-1});
      if (op == "cancel") {
        std::lock_guard<std::mutex> lk(mu_);
        if (auto it = live_.find(id); it != live_.end()) it->second->cancel();
        continue;
      }
      if (op == "submit") submit(id, m);
    }
    {
      std::lock_guard<std::mutex> lk(w_mu_);
      w_.reset();  // fails what still runs (Unavailable), which the forwarder reports
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_ = true;
    }
    cv_.notify_one();
    forwarder.join();
  }

 private:
  void send(const json& j) {
    std::lock_guard<std::mutex> lk(send_mu_);
    frame_write(fd_, j);
  }

  void notify() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      changed_ = true;
    }
    cv_.notify_one();
  }

  void submit(int64_t id, const json& m) {
    try {
      InferJob job = job_from_wire(m);
      if (!job.enum_labels.empty())
        job.gen.constrain = infer_enum_constraint(w_->base().text.tokenizer, job.enum_labels, w_->base().eos_ids,
                                                  "responseSchema.enum");
      auto t = w_->submit(std::move(job), [this] { notify(); });
      {
        std::lock_guard<std::mutex> lk(mu_);
        live_[id] = t;
      }
      notify();  // it may have ended before it was in live_
    } catch (...) {
      send(error_to_wire(id, std::current_exception()));
    }
  }

  void forward() {
    double last_stats = 0;
    std::vector<StreamPiece> pieces;
    for (;;) {
      std::vector<std::pair<int64_t, std::shared_ptr<InferTicket>>> snap;
      bool finishing;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait_for(lk, std::chrono::milliseconds(100), [&] { return changed_ || done_; });
        changed_ = false;
        finishing = done_;
        snap.assign(live_.begin(), live_.end());
      }
      for (auto& [id, t] : snap) {
        pieces.clear();
        const bool end = t->wait(std::chrono::milliseconds(0), pieces);
        for (const StreamPiece& p : pieces) {  // a frame per token: the server streams them as they were made
          json frame{{"op", "text"}, {"id", id}, {"text", p.text}};
          if (!p.logprobs.empty()) frame["lps"] = logprobs_to_wire(p.logprobs);
          send(frame);
        }
        if (!end) continue;
        if (t->error()) send(error_to_wire(id, t->error()));
        else send({{"op", "done"}, {"id", id}, {"result", result_to_wire(t->result())}});
        std::lock_guard<std::mutex> lk(mu_);
        live_.erase(id);
      }
      if (now_s() - last_stats > 0.1) {
        last_stats = now_s();
        send_stats();
      }
      if (finishing) {
        std::lock_guard<std::mutex> lk(mu_);
        if (live_.empty()) break;
      }
    }
  }

  void send_stats() {
    InferStats st;
    {
      std::lock_guard<std::mutex> lk(w_mu_);
      if (!w_) return;  // shutting down
      st = w_->stats();
    }
    send({{"op", "stats"}, {"queued", st.queued}, {"running", st.running}, {"adapters_loaded", st.adapters_loaded},
          {"kv_rows", st.kv_rows}, {"tokens_in", st.tokens_in}, {"tokens_out", st.tokens_out}, {"steps", st.steps},
          {"step_rows", st.step_rows}, {"prefix_reused", st.prefix_tokens_reused}});
  }

  const int fd_;
  std::mutex w_mu_;  // w_'s lifetime, for the forwarder's stats
  std::unique_ptr<InferWorker> w_;
  std::mutex send_mu_;  // frames out: the forwarder and the reader (submit errors)
  std::mutex mu_;
  std::condition_variable cv_;
  bool changed_ = false, done_ = false;                    // GUARDED_BY(mu_)
  std::map<int64_t, std::shared_ptr<InferTicket>> live_;  // GUARDED_BY(mu_)
};

}  // namespace

int infer_replica_main(const std::string& base_path, const InferSettings& s, int fd) {
  InferSettings rs = s;
  rs.max_queue = 1 << 20;  // the pool bounds what it sends
  std::unique_ptr<InferWorker> w;
  try {
    w = std::make_unique<InferWorker>(base_path, rs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loam serve-replica: %s: %s\n", base_path.c_str(), e.what());
    return 1;
  }
  ReplicaSide(fd, std::move(w)).run();
  return 0;
}

}  // namespace loam

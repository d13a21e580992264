#include "jobs/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "jobs/job_service.h"
#include "jobs/job_state.h"
#include "jobs/tuning_spec.h"
#include "jobs/worker.h"
#include "registry/data_dir.h"

namespace loam {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string exit_reason(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    std::string s = "the worker was killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
    if (sig == SIGKILL) s += "; out of memory?";
    return s;
  }
  return "the worker exited with status " + std::to_string(WEXITSTATUS(status));
}

// Starts `loam job-worker` for the job, its output appended to the job's log file.
// A job on several processes runs under mpirun (its rank 0 is the worker
// proper; the others take their data from it).
pid_t spawn_worker(const RunnerConfig& cfg, const std::string& job_id, int workers) {
  const std::string dir = cfg.data_dir + "/jobs/" + job_id;
  dir_make_all(dir);
  const std::string log = dir + "/worker.log";
  std::vector<std::string> args;
  if (workers > 1) {
    args = {cfg.mpirun, "-np", std::to_string(workers)};
    if (!cfg.mpi_hostfile.empty()) {
      args.push_back("--hostfile");
      args.push_back(cfg.mpi_hostfile);
    }
  }
  for (const std::string& a : {cfg.loam_binary, std::string("job-worker"), std::string("--data-dir"), cfg.data_dir,
                               std::string("--job"), job_id})
    args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);  // the server blocks SIGTERM for its sigwait thread
    setpgid(0, 0);  // a terminal's Ctrl-C reaches the server, which stops workers itself
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

JobRunner::JobRunner(Store& store, RunnerConfig cfg) : store_(store), cfg_(std::move(cfg)) {}

JobRunner::~JobRunner() { stop(); }

void JobRunner::start() {
  recover();
  thread_ = std::thread([this] { loop(); });
}

void JobRunner::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

int JobRunner::running() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(workers_.size());
}

void JobRunner::recover() {
  for (const JobRecord& j : store_.job_list()) {
    const JobState s = job_state_parse(j.state);
    try {
      if (s == JobState::Cancelling) {
        job_apply(store_, j.id, JobEvent::Stopped);
        store_.event_append(j.id, "info", "cancelled (the server restarted while cancelling)");
      } else if (s == JobState::Running && j.pause_requested) {
        job_apply(store_, j.id, JobEvent::Paused);
        store_.event_append(j.id, "info", "paused (the server restarted while pausing)");
      } else if (s == JobState::Pending || s == JobState::Running) {
        job_apply(store_, j.id, JobEvent::Requeue, [](JobRecord& r) { r.worker_pid = 0; });
        store_.event_append(j.id, "warning", "the server restarted; the job resumes from its last checkpoint");
      }
    } catch (const Error&) {
      // Changed under us by another process: its new state is what counts.
    }
  }
}

void JobRunner::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::duration<double>(cfg_.poll_seconds), [this] { return stopping_ || poked_; });
      poked_ = false;
      if (stopping_) break;
    }
    try {
      reap();
      signal_workers();
      start_queued();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "job runner: %s\n", e.what());  // the store is busy or failing; try again
    }
  }
  // Shutting down: workers checkpoint and stop; their jobs resume on the next start.
  std::map<std::string, Worker> ws;
  {
    std::lock_guard lock(mu_);
    ws = workers_;
  }
  for (auto& [id, w] : ws) kill(w.pid, SIGTERM);
  for (auto& [id, w] : ws) {
    int status = 0;
    waitpid(w.pid, &status, 0);
  }
}

void JobRunner::reap() {
  std::map<std::string, Worker> ws;
  {
    std::lock_guard lock(mu_);
    ws = workers_;
  }
  for (auto& [id, w] : ws) {
    int status = 0;
    if (waitpid(w.pid, &status, WNOHANG) != w.pid) continue;
    {
      std::lock_guard lock(mu_);
      workers_.erase(id);
    }
    on_worker_exit(id, status);
  }
}

void JobRunner::on_worker_exit(const std::string& job_id, int status) {
  auto j = store_.job_get(job_id);
  if (!j) return;
  const JobState s = job_state_parse(j->state);
  if (job_state_terminal(s) || s == JobState::Paused || s == JobState::Queued) return;  // the worker recorded it
  try {
    if (s == JobState::Cancelling) {
      job_apply(store_, job_id, JobEvent::Stopped, [](JobRecord& r) { r.worker_pid = 0; });
      store_.event_append(job_id, "info", "cancelled; checkpoints kept");
    } else if (s == JobState::Running && j->pause_requested &&
               !(WIFEXITED(status) && WEXITSTATUS(status) == kWorkerFailed)) {
      // Stopped at a checkpoint, or killed after the grace period: either
      // way resume continues from the newest checkpoint on disk.
      job_apply(store_, job_id, JobEvent::Paused, [](JobRecord& r) { r.worker_pid = 0; });
      store_.event_append(job_id, "info", "paused; resume continues from the last checkpoint");
    } else {
      const std::string why = WIFEXITED(status) && WEXITSTATUS(status) == 0
                                  ? "the worker exited without finishing the job" : exit_reason(status);
      job_apply(store_, job_id, JobEvent::Fail, [&](JobRecord& r) {
        r.error_code = "INTERNAL";
        r.error_message = why;
        r.worker_pid = 0;
      });
      store_.event_append(job_id, "error", "failed: " + why);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "job runner: job %s: %s\n", job_id.c_str(), e.what());
  }
}

void JobRunner::signal_workers() {
  std::lock_guard lock(mu_);
  for (auto& [id, w] : workers_) {
    auto j = store_.job_get(id);
    if (!j) continue;
    const bool cancel = j->state == job_state_name(JobState::Cancelling);
    if (!cancel && !j->pause_requested) continue;
    // A cancel must finish within 5 s; a pause waits longer for its checkpoint.
    const double grace = cancel ? 3.0 : 60.0;
    if (w.term_sent_at == 0) {
      kill(w.pid, SIGTERM);
      w.term_sent_at = now_s();
    } else if (now_s() - w.term_sent_at > grace) {
      kill(w.pid, SIGKILL);  // a step longer than the cancel deadline: earlier checkpoints stay
    }
  }
}

void JobRunner::start_queued() {
  for (const JobRecord& j : store_.job_list()) {
    {
      std::lock_guard lock(mu_);
      if (static_cast<int>(workers_.size()) >= cfg_.max_concurrent) return;
    }
    if (j.state != job_state_name(JobState::Queued)) continue;
    try {
      job_apply(store_, j.id, JobEvent::Claim, [](JobRecord& r) { r.attempts++; });
    } catch (const Error&) {
      continue;  // cancelled or paused meanwhile
    }
    // Several processes only on a server given --mpi-hostfile; elsewhere
    // the job runs as one process and says so.
    const int asked = tuning_spec_from_json(j.spec).worker_count;
    const int workers = cfg_.mpi_hostfile.empty() ? 1 : asked;
    if (asked > 1 && workers == 1)
      store_.event_append(j.id, "warning", "workerCount " + std::to_string(asked) +
                                               " runs as 1 process: the server was started without --mpi-hostfile");
    const pid_t pid = spawn_worker(cfg_, j.id, workers);
    if (pid < 0) {
      job_apply(store_, j.id, JobEvent::Fail, [](JobRecord& r) {
        r.error_code = "INTERNAL";
        r.error_message = std::string("cannot start a worker: ") + std::strerror(errno);
      });
      continue;
    }
    store_.event_append(j.id, "info", "worker started (pid " + std::to_string(pid) +
                                          (workers > 1 ? ", " + std::to_string(workers) + " processes under mpirun" +
                                                             " --hostfile " + cfg_.mpi_hostfile
                                                       : std::string()) + ")");
    std::lock_guard lock(mu_);
    workers_[j.id] = {pid, 0};
  }
}

}  // namespace loam

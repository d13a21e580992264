// The job runner inside `loam serve`: one thread that starts queued jobs in
// FIFO order, each in a worker process (fork + exec of the loam binary's
// hidden `job-worker` subcommand), at most max_concurrent at once; signals
// workers whose job is being cancelled or paused (SIGTERM, then SIGKILL
// after 3 s so a cancel takes under 5 s even on a loaded machine); and reaps them, marking a job
// FAILED with the reason when its worker crashed or was killed (a worker's
// death never touches the server).
//
// On start it recovers what a killed server left: PENDING/RUNNING jobs go
// back to QUEUED and resume from their last checkpoint; CANCELLING ones
// become CANCELLED; RUNNING ones with a pause requested become PAUSED.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "registry/store.h"

namespace loam {

struct RunnerConfig {
  int max_concurrent = 1;      // --max-concurrent-jobs
  std::string loam_binary;     // what to exec (/proc/self/exe)
  std::string data_dir;
  double poll_seconds = 0.2;   // how often the store is looked at without a poke
  // Jobs with worker_count > 1 run as `mpirun -np N [--hostfile H] loam
  // job-worker ...` (data-parallel tuning; train/dist.h). "" = no
  // hostfile: every job runs as one process (a warning event says so).
  std::string mpi_hostfile;    // --mpi-hostfile
  std::string mpirun = "mpirun";
};

class JobRunner {
 public:
  JobRunner(Store& store, RunnerConfig cfg);
  ~JobRunner();  // stops the thread; workers are sent SIGTERM and waited for
  void start();
  void stop();
  void poke();   // something changed (a job created, cancelled, paused)
  int running() const;

 private:
  struct Worker {
    pid_t pid = 0;
    double term_sent_at = 0;  // monotonic seconds; 0 = not signalled
  };
  void loop();
  void recover();
  void reap();
  void signal_workers();
  void start_queued();
  void on_worker_exit(const std::string& job_id, int status);

  Store& store_;
  RunnerConfig cfg_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                  // GUARDED_BY(mu_)
  bool poked_ = false;                     // GUARDED_BY(mu_)
  std::map<std::string, Worker> workers_;  // job id -> worker; GUARDED_BY(mu_)
};

}  // namespace loam

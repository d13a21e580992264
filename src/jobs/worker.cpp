#include "jobs/worker.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "jobs/job_service.h"
#include "jobs/sft_job.h"
#include "registry/errors.h"
#include "registry/store.h"
#include "train/dist.h"
#include "train/dist_share.h"

namespace loam {
namespace {

std::atomic<bool> g_worker_stop{false};
extern "C" void on_worker_stop(int) { g_worker_stop.store(true); }

}  // namespace

int job_worker_main(const std::string& data_dir, const std::string& job_id) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return kWorkerFailed;  // the server died before we got here
  std::signal(SIGTERM, on_worker_stop);
  std::signal(SIGINT, SIG_IGN);
  // Under mpirun (a job with workerCount > 1) the ranks other than 0 take
  // the run from rank 0 and need neither the data directory nor the data.
  if (dist_rank() > 0) {
    try {
      dist_follow(&g_worker_stop);
    } catch (const std::exception& e) {
      dist_abort(std::string("job ") + job_id + ": " + e.what(), kWorkerFailed);
      return kWorkerFailed;
    }
    dist_finalize();
    return 0;
  }
  auto store = store_open(data_dir);
  try {
    job_apply(*store, job_id, JobEvent::Start, [](JobRecord& j) {
      if (j.start_time.empty()) j.start_time = time_now_rfc3339();
      j.worker_pid = getpid();
    });
  } catch (const Error& e) {
    std::fprintf(stderr, "job %s not started: %s\n", job_id.c_str(), e.what());
    return 0;  // cancelled or paused meanwhile
  }
  try {
    JobRecord job = job_get_or_throw(*store, job_id);
    auto base = store->model_get(job.base_model, job.base_version_id);
    if (!base) throw error_precondition("baseModel", "model " + job.base_model + " is no longer registered");
    SftJobOutcome o = sft_job_run(*store, job_id, sft_job_config(*store, job, *base), &g_worker_stop, SftJobHooks{});
    dist_finalize();
    return o == SftJobOutcome::Interrupted ? kWorkerInterrupted : 0;
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    store->event_append(job_id, "error", msg);
    try {
      job_apply(*store, job_id, JobEvent::Fail, [&](JobRecord& j) {
        j.error_code = "FAILED_PRECONDITION";
        j.error_message = msg;
      });
    } catch (const Error&) {
    }
    if (dist_world_size() > 1) dist_abort("job " + job_id + ": " + msg, kWorkerFailed);  // ends the other ranks
    return kWorkerFailed;
  }
}

}  // namespace loam

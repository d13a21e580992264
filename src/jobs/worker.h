// The job worker: the body of the hidden `loam job-worker` subcommand, run
// in its own process per job by the runner. It dies with its parent
// (PR_SET_PDEATHSIG), so a killed server never leaves a trainer writing
// behind a restarted one. SIGTERM asks it to checkpoint and stop.
//
// Exit status: 0 finished (succeeded, or the job was no longer runnable),
// kWorkerFailed the run failed (the job is marked FAILED with the reason),
// kWorkerInterrupted stopped at a checkpoint on request (the runner decides
// CANCELLED or PAUSED from the job's state).
#pragma once

#include <string>

namespace loam {

constexpr int kWorkerFailed = 2;
constexpr int kWorkerInterrupted = 3;

int job_worker_main(const std::string& data_dir, const std::string& job_id);

}  // namespace loam

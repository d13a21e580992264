// A tuning job's life as one state table: state x event -> state.
//
//   QUEUED --claim--> PENDING --start--> RUNNING --succeed--> SUCCEEDED
//   any unfinished --fail--> FAILED (CANCELLING --fail--> CANCELLED)
//   QUEUED/PENDING/PAUSED --cancel--> CANCELLED; RUNNING --cancel--> CANCELLING
//   CANCELLING --stopped--> CANCELLED; RUNNING --paused--> PAUSED
//   QUEUED/PENDING --pause--> PAUSED; RUNNING --pause--> RUNNING (the worker
//   checkpoints, then "paused" moves it); PAUSED --resume--> QUEUED
//   PENDING/RUNNING --requeue--> QUEUED (the server restarted under it)
// Every other pair is refused (nullopt): the caller answers
// FailedPrecondition naming the state.
#pragma once

#include <optional>
#include <string>

namespace loam {

enum class JobState { Queued, Pending, Running, Succeeded, Failed, Cancelling, Cancelled, Paused };
enum class JobEvent { Claim, Start, Succeed, Fail, Cancel, Stopped, Pause, Paused, Resume, Requeue };

constexpr int kJobStates = 8;
constexpr int kJobEvents = 10;

std::optional<JobState> job_transition(JobState s, JobEvent e);
bool job_state_terminal(JobState s);  // SUCCEEDED, FAILED, CANCELLED

const char* job_state_name(JobState s);  // "JOB_STATE_QUEUED", ...
const char* job_event_name(JobEvent e);  // "cancel", ...
JobState job_state_parse(const std::string& name);  // throws Error on an unknown name

}  // namespace loam

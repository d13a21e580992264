#include "jobs/job_state.h"

#include "core/error.h"

namespace loam {

std::optional<JobState> job_transition(JobState s, JobEvent e) {
  using S = JobState;
  using E = JobEvent;
  switch (e) {
    case E::Claim: return s == S::Queued ? std::optional(S::Pending) : std::nullopt;
    case E::Start: return s == S::Pending ? std::optional(S::Running) : std::nullopt;
    case E::Succeed: return s == S::Running ? std::optional(S::Succeeded) : std::nullopt;
    case E::Fail:
      if (s == S::Cancelling) return S::Cancelled;
      if (s == S::Queued || s == S::Pending || s == S::Running || s == S::Paused) return S::Failed;
      return std::nullopt;
    case E::Cancel:
      if (s == S::Queued || s == S::Pending || s == S::Paused) return S::Cancelled;
      if (s == S::Running || s == S::Cancelling) return S::Cancelling;
      return std::nullopt;
    case E::Stopped: return s == S::Cancelling ? std::optional(S::Cancelled) : std::nullopt;
    case E::Pause:
      if (s == S::Queued || s == S::Pending || s == S::Paused) return S::Paused;
      if (s == S::Running) return S::Running;
      return std::nullopt;
    case E::Paused: return s == S::Running ? std::optional(S::Paused) : std::nullopt;
    case E::Resume: return s == S::Paused ? std::optional(S::Queued) : std::nullopt;
    case E::Requeue: return (s == S::Pending || s == S::Running) ? std::optional(S::Queued) : std::nullopt;
  }
  return std::nullopt;
}

bool job_state_terminal(JobState s) {
  return s == JobState::Succeeded || s == JobState::Failed || s == JobState::Cancelled;
}

const char* job_state_name(JobState s) {
  switch (s) {
    case JobState::Queued: return "JOB_STATE_QUEUED";
    case JobState::Pending: return "JOB_STATE_PENDING";
    case JobState::Running: return "JOB_STATE_RUNNING";
    case JobState::Succeeded: return "JOB_STATE_SUCCEEDED";
    case JobState::Failed: return "JOB_STATE_FAILED";
    case JobState::Cancelling: return "JOB_STATE_CANCELLING";
    case JobState::Cancelled: return "JOB_STATE_CANCELLED";
    case JobState::Paused: return "JOB_STATE_PAUSED";
  }
  return "JOB_STATE_UNSPECIFIED";
}

const char* job_event_name(JobEvent e) {
  static const char* names[] = {"claim", "start", "succeed", "fail", "cancel", "stopped", "pause", "paused", "resume", "requeue"};
  return names[static_cast<int>(e)];
}

JobState job_state_parse(const std::string& name) {
  for (int i = 0; i < kJobStates; i++)
    if (name == job_state_name(static_cast<JobState>(i))) return static_cast<JobState>(i);
  throw Error("state", "unknown job state '" + name + "'");
}

}  // namespace loam

// Every (state, event) pair of the job state table against the table as the
// issue and the managed service describe it, written out here by hand.
#include <gtest/gtest.h>

#include "jobs/job_state.h"

namespace loam {
namespace {

TEST(JobState, EveryPairMatchesTheSpecifiedTable) {
  // Rows: states in enum order; columns: Claim Start Succeed Fail Cancel Stopped Pause Paused Resume Requeue.
  // Q=QUEUED P=PENDING R=RUNNING S=SUCCEEDED F=FAILED g=CANCELLING C=CANCELLED z=PAUSED, '-' refused.
  const char* table[kJobStates] = {
      /* QUEUED     */ "P--FC-z---",
      /* PENDING    */ "-R-FC-z--Q",
      /* RUNNING    */ "--SFg-Rz-Q",
      /* SUCCEEDED  */ "----------",
      /* FAILED     */ "----------",
      /* CANCELLING */ "---CgC----",
      /* CANCELLED  */ "----------",
      /* PAUSED     */ "---FC-z-Q-",
  };
  auto code = [](std::optional<JobState> s) -> char {
    if (!s) return '-';
    return "QPRSFgCz"[static_cast<int>(*s)];
  };
  int checked = 0;
  for (int s = 0; s < kJobStates; s++)
    for (int e = 0; e < kJobEvents; e++) {
      const auto got = job_transition(static_cast<JobState>(s), static_cast<JobEvent>(e));
      EXPECT_EQ(code(got), table[s][e]) << job_state_name(static_cast<JobState>(s)) << " x "
                                        << job_event_name(static_cast<JobEvent>(e));
      checked++;
    }
  EXPECT_EQ(checked, 80);
}

TEST(JobState, NamesRoundTripAndTerminalStatesAreFinal) {
  for (int s = 0; s < kJobStates; s++) {
    const auto st = static_cast<JobState>(s);
    EXPECT_EQ(job_state_parse(job_state_name(st)), st);
    if (job_state_terminal(st))
      for (int e = 0; e < kJobEvents; e++) EXPECT_FALSE(job_transition(st, static_cast<JobEvent>(e)).has_value());
  }
  EXPECT_STREQ(job_state_name(JobState::Cancelling), "JOB_STATE_CANCELLING");
  EXPECT_THROW(job_state_parse("JOB_STATE_DONE"), std::exception);
}

}  // namespace
}  // namespace loam

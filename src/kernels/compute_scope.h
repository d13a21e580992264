// How the kernels compute: the matmul precision and the thread count. They
// belong to a loaded model or a call, not to the process: each thread has
// its own current settings (default: Exact, all cores), and a ComputeScope
// sets them for the duration of one call on that thread, so two models (or
// two requests) with different settings can run in one process, even at once
// on different threads.
#pragma once

#include "kernels/matmul.h"

namespace loam {

struct ComputeSettings {
  MatmulPrecision precision = MatmulPrecision::Exact;  // see matmul.h
  int threads = 0;                                     // kernel threads; 0 = all cores
};

// The calling thread's current settings.
ComputeSettings compute_settings();

// Applies s to the calling thread until destroyed, then restores what was
// there. Scopes nest. Not movable; lives on the stack of the calling thread.
class ComputeScope {
 public:
  explicit ComputeScope(const ComputeSettings& s);
  ~ComputeScope();
  ComputeScope(const ComputeScope&) = delete;
  ComputeScope& operator=(const ComputeScope&) = delete;

 private:
  ComputeSettings saved_;
};

}  // namespace loam

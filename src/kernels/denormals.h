// Flush-to-zero / denormals-are-zero for training.
//
// When a preference loss saturates, its per-sequence weights underflow and
// the backward multiplies long runs of subnormal floats; x86 handles each
// subnormal operand in microcode, and a step was measured ~10x slower
// (docs/PERFORMANCE.md, "Preference tuning"). Training sets MXCSR's FTZ and
// DAZ bits (aarch64: FPCR.FZ) on its thread and on every OpenMP thread of
// that thread's pool: subnormal inputs read as 0 and subnormal results are
// written as 0. Normal-range arithmetic is unchanged bit for bit, so
// fp32 reference comparisons (gradients vs PyTorch) hold.
//
// Threads OpenMP creates later inherit the floating-point environment of the
// thread that creates them (the pool's master, flushed here), so a team that
// grows after the scope starts is covered too.
#pragma once

namespace loam {

// Sets FTZ|DAZ on the calling thread and its OpenMP pool until destroyed,
// then restores the calling thread's previous mode on both. Lives on the
// stack of the thread that runs the training loop; scopes nest.
class DenormalsFlush {
 public:
  DenormalsFlush();
  ~DenormalsFlush();
  DenormalsFlush(const DenormalsFlush&) = delete;
  DenormalsFlush& operator=(const DenormalsFlush&) = delete;

 private:
  bool was_flushing_;
};

// Whether the calling thread flushes denormals now.
bool denormals_flushing();

}  // namespace loam

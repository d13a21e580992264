// Kernel thread count and the per-thread compute settings (see threading.h,
// compute_scope.h).
#include "kernels/threading.h"

#include <cblas.h>
#include <omp.h>

#include "kernels/compute_scope.h"

namespace loam {
namespace {

int default_threads() {
  int n = omp_get_num_procs();
  return n > 0 ? n : 1;
}

thread_local int t_threads = 0;  // 0 = not set on this thread: default

// OpenBLAS only serves the small LoRA products (n x r, r <= 256), which are
// called from code that OpenMP already spreads over the cores; its own
// threads would spin against OpenMP's (measured: 40% of a training step in
// sched_yield). Keep it single-threaded from the start.
const int kBlasSingleThread = (openblas_set_num_threads(1), 0);

}  // namespace

void kernels_set_threads(int n) {
  if (n <= 0) n = default_threads();
  t_threads = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(1);
  (void)kBlasSingleThread;
}

int kernels_threads() {
  return t_threads > 0 ? t_threads : default_threads();
}

ComputeSettings compute_settings() { return {matmul_precision(), t_threads}; }

namespace {

// The calling thread's count as set (0 = default), touching OpenMP only on change.
void threads_switch(int set) {
  const int before = kernels_threads();
  t_threads = set;
  if (kernels_threads() != before) omp_set_num_threads(kernels_threads());
}

}  // namespace

ComputeScope::ComputeScope(const ComputeSettings& s) : saved_(compute_settings()) {
  matmul_set_precision(s.precision);
  threads_switch(s.threads > 0 ? s.threads : 0);
}

ComputeScope::~ComputeScope() {
  matmul_set_precision(saved_.precision);
  threads_switch(saved_.threads);
}

}  // namespace loam

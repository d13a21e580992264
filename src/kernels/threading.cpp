// Kernel thread count (see threading.h for the OpenMP/OpenBLAS decision).
#include "kernels/threading.h"

#include <cblas.h>
#include <omp.h>

#include <atomic>

namespace loam {
namespace {

int default_threads() {
  int n = omp_get_num_procs();
  return n > 0 ? n : 1;
}

std::atomic<int> g_threads{0};  // 0 = not set yet: default

// OpenBLAS only serves the small LoRA products (n x r, r <= 256), which are
// called from code that OpenMP already spreads over the cores; its own
// threads would spin against OpenMP's (measured: 40% of a training step in
// sched_yield). Keep it single-threaded from the start.
const int kBlasSingleThread = (openblas_set_num_threads(1), 0);

}  // namespace

void kernels_set_threads(int n) {
  if (n <= 0) n = default_threads();
  g_threads.store(n);
  omp_set_num_threads(n);
  openblas_set_num_threads(1);
  (void)kBlasSingleThread;
}

int kernels_threads() {
  int n = g_threads.load();
  return n > 0 ? n : default_threads();
}

}  // namespace loam

// Kernel thread count (see compute_scope.h for per-model settings).
//
// Decision: all parallelism in kernels is OpenMP (one parallel region per
// kernel call, split over output rows/columns). OpenBLAS, where a kernel still
// calls it, is called from outside OpenMP regions with the same thread count,
// so the two pools never nest. The count is the calling thread's (OpenMP's
// nthreads ICV is per thread): a thread running one model's work does not
// change another's.
#pragma once

namespace loam {

// Sets the calling thread's OpenMP thread count; n <= 0 means the default,
// the number of hardware cores.
void kernels_set_threads(int n);
int kernels_threads();

}  // namespace loam

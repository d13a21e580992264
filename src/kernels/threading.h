// Thread count of the compute kernels.
//
// Decision: all parallelism in kernels is OpenMP (one parallel region per
// kernel call, split over output rows/columns). OpenBLAS, where a kernel still
// calls it, is called from outside OpenMP regions with the same thread count,
// so the two pools never nest. Call from the owning thread, not concurrently
// with running kernels.
#pragma once

namespace loam {

// Sets the OpenMP and OpenBLAS thread counts; n <= 0 means the default, the
// number of hardware cores.
void kernels_set_threads(int n);
int kernels_threads();

}  // namespace loam

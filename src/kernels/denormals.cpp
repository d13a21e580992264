#include "kernels/denormals.h"

#include <omp.h>

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "kernels/threading.h"

namespace loam {
namespace {

#if defined(__x86_64__) || defined(__i386__)
constexpr unsigned kFtzDaz = 0x8040;  // MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero
bool thread_flushing() { return (_mm_getcsr() & kFtzDaz) == kFtzDaz; }
void thread_set(bool on) { _mm_setcsr(on ? (_mm_getcsr() | kFtzDaz) : (_mm_getcsr() & ~kFtzDaz)); }
#elif defined(__aarch64__)
constexpr unsigned long kFz = 1ul << 24;  // FPCR.FZ
unsigned long fpcr_get() {
  unsigned long v;
  asm volatile("mrs %0, fpcr" : "=r"(v));
  return v;
}
bool thread_flushing() { return (fpcr_get() & kFz) != 0; }
void thread_set(bool on) {
  const unsigned long v = on ? (fpcr_get() | kFz) : (fpcr_get() & ~kFz);
  asm volatile("msr fpcr, %0" : : "r"(v));
}
#else
bool thread_flushing() { return false; }
void thread_set(bool) {}
#endif

// The calling thread and every thread its OpenMP pool may hand out: a team
// as large as any the kernels ask for (the pool keeps the threads of its
// largest team so far).
void pool_set(bool on) {
  thread_set(on);
  const int n = std::max({omp_get_num_procs(), omp_get_max_threads(), kernels_threads()});
#pragma omp parallel num_threads(n)
  thread_set(on);
}

}  // namespace

DenormalsFlush::DenormalsFlush() : was_flushing_(thread_flushing()) {
  if (!was_flushing_) pool_set(true);
}

DenormalsFlush::~DenormalsFlush() {
  if (!was_flushing_) pool_set(false);
}

bool denormals_flushing() { return thread_flushing(); }

}  // namespace loam

#include "kernels/denormals.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <vector>

#include "kernels/threading.h"

namespace loam {
namespace {

// x * 1 with a subnormal x, on each thread of a team of n: nonzero unless
// that thread flushes denormals (DAZ reads x as 0, FTZ writes 0).
std::vector<float> products_per_thread(int n) {
  std::vector<float> out(static_cast<size_t>(n), -1.0f);
#pragma omp parallel num_threads(n)
  {
    volatile float x = 1e-40f;  // subnormal (FLT_MIN is 1.18e-38)
    volatile float one = 1.0f;
    out[static_cast<size_t>(omp_get_thread_num())] = x * one;
  }
  return out;
}

TEST(Denormals, FlushedOnEveryPoolThreadOnlyInsideTheScope) {
  const int n = std::max(2, kernels_threads());
  for (float v : products_per_thread(n)) EXPECT_GT(v, 0.0f) << "a thread flushes before the scope";
  EXPECT_FALSE(denormals_flushing());
  {
    DenormalsFlush flush;
    EXPECT_TRUE(denormals_flushing());
    std::vector<float> got = products_per_thread(n);
    for (size_t i = 0; i < got.size(); i++) EXPECT_EQ(got[i], 0.0f) << "pool thread " << i << " kept a denormal";
    volatile float x = 1e-40f, one = 1.0f;
    EXPECT_EQ(x * one, 0.0f) << "the calling thread kept a denormal";
    // A team larger than any before: new threads inherit the master's mode.
    for (float v : products_per_thread(n + 3)) EXPECT_EQ(v, 0.0f);
    {
      DenormalsFlush nested;  // nesting keeps the outer scope's mode
    }
    EXPECT_TRUE(denormals_flushing());
  }
  EXPECT_FALSE(denormals_flushing());
  for (float v : products_per_thread(n + 3)) EXPECT_GT(v, 0.0f) << "a thread still flushes after the scope";
}

TEST(Denormals, NormalRangeArithmeticIsUnchanged) {
  volatile float a = 1.17549435e-38f * 3.0f, b = 0.7f;  // normal operands, normal result
  const float plain = a * b;
  DenormalsFlush flush;
  EXPECT_EQ(a * b, plain);
}

}  // namespace
}  // namespace loam

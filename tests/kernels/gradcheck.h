// Directional finite-difference checks for the kernels' backward passes.
// L(x) = sum(f(x) * r) for a fixed random r; compare <dL/dx, d> from the
// backward with (L(x + e d) - L(x - e d)) / 2e in double accumulation.
#pragma once

#include <functional>
#include <random>
#include <vector>

namespace loam::test {

inline std::vector<float> random_vec(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

inline double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// loss(x) must be deterministic. Returns the FD directional derivative along d.
inline double fd_directional(const std::function<double(const std::vector<float>&)>& loss,
                             const std::vector<float>& x, const std::vector<float>& d, float eps) {
  std::vector<float> xp = x, xm = x;
  for (size_t i = 0; i < x.size(); i++) {
    xp[i] += eps * d[i];
    xm[i] -= eps * d[i];
  }
  return (loss(xp) - loss(xm)) / (2.0 * eps);
}

}  // namespace loam::test

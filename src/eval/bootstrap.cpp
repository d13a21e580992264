#include "eval/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace loam {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::vector<size_t> all_indices(size_t n) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  return idx;
}

}  // namespace

std::vector<std::vector<size_t>> bootstrap_resamples(size_t n, const BootstrapOptions& o) {
  std::vector<std::vector<size_t>> out;
  if (n == 0) return out;
  uint64_t state = o.seed;
  out.resize(static_cast<size_t>(std::max(o.n_resamples, 0)));
  for (auto& r : out) {
    r.resize(n);
    for (size_t& i : r) i = static_cast<size_t>(splitmix64(state) % n);
  }
  return out;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

Interval bootstrap_interval(const MetricFn& f, size_t n, const std::vector<std::vector<size_t>>& resamples) {
  Interval iv;
  iv.value = f(all_indices(n));
  iv.low = iv.high = iv.value;
  if (resamples.empty()) return iv;
  std::vector<double> v;
  v.reserve(resamples.size());
  for (const auto& r : resamples) v.push_back(f(r));
  iv.low = percentile(v, 2.5);
  iv.high = percentile(v, 97.5);
  return iv;
}

PairedResult paired_bootstrap(const MetricFn& base, const MetricFn& tuned, size_t n,
                              const std::vector<std::vector<size_t>>& resamples) {
  PairedResult pr;
  const std::vector<size_t> all = all_indices(n);
  pr.delta.value = tuned(all) - base(all);
  pr.delta.low = pr.delta.high = pr.delta.value;
  if (resamples.empty()) return pr;
  std::vector<double> d;
  d.reserve(resamples.size());
  for (const auto& r : resamples) d.push_back(tuned(r) - base(r));
  const double mean = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(d.size());
  size_t extreme = 0;
  for (double x : d) extreme += std::fabs(x - mean) >= std::fabs(pr.delta.value);
  pr.p_value = static_cast<double>(1 + extreme) / static_cast<double>(d.size() + 1);
  pr.delta.low = percentile(d, 2.5);
  pr.delta.high = percentile(d, 97.5);
  return pr;
}

}  // namespace loam

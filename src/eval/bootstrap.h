// Bootstrap confidence intervals and the paired bootstrap test.
//
// Resampling: B resamples of n example indices drawn with replacement; index
// j of a resample is splitmix64(state) % n, the state starting at `seed` (the
// generator is written out so tools/make_eval_refs.py reproduces the same
// resamples). A metric is recomputed on each resample from per-example
// statistics (corpus metrics such as BLEU re-sum their statistics, as
// sacreBLEU's bootstrap does). The 95% interval is the 2.5th and 97.5th
// percentiles of the B values, linearly interpolated (numpy.percentile's
// default).
//
// Paired test (tuned − base): both systems are scored on the same resamples;
// with δ_b the resample differences and δ the observed one, the two-sided
// p-value is (1 + #{b : |δ_b − mean(δ_b)| ≥ |δ|}) / (B + 1), sacreBLEU's
// paired-bootstrap rule (the distribution is centred to act as the null).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace loam {

// A metric over a multiset of example indices.
using MetricFn = std::function<double(const std::vector<size_t>& idx)>;

struct BootstrapOptions {
  int n_resamples = 1000;  // B (0 = no intervals)
  uint64_t seed = 12345;
};

struct Interval {
  double value = 0, low = 0, high = 0;
};

struct PairedResult {
  Interval delta;   // tuned − base, with its interval
  double p_value = 1;
};

// The resamples (each n indices) for n examples.
std::vector<std::vector<size_t>> bootstrap_resamples(size_t n, const BootstrapOptions& o);
// p-th percentile (0-100) with linear interpolation. REQUIRES: !v.empty().
double percentile(std::vector<double> v, double p);

Interval bootstrap_interval(const MetricFn& f, size_t n, const std::vector<std::vector<size_t>>& resamples);
PairedResult paired_bootstrap(const MetricFn& base, const MetricFn& tuned, size_t n,
                              const std::vector<std::vector<size_t>>& resamples);

}  // namespace loam

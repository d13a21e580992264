#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace loam {

Sampler::Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

int32_t Sampler::sample(float* logits, int64_t V, const std::vector<int32_t>& history) {
  if (p_.repetition_penalty != 1.0f) {
    std::unordered_set<int32_t> seen(history.begin(), history.end());
    for (int32_t id : seen) {
      if (id < 0 || id >= V) continue;
      float& x = logits[id];
      x = x > 0 ? x / p_.repetition_penalty : x * p_.repetition_penalty;
    }
  }
  if (p_.temperature <= 0.0f) return static_cast<int32_t>(std::max_element(logits, logits + V) - logits);

  cand_.resize(V);
  for (int64_t i = 0; i < V; i++) cand_[i] = {logits[i] / p_.temperature, static_cast<int32_t>(i)};
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first; };
  size_t n = cand_.size();
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) {
    std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), by_logit);
    n = p_.top_k;
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  // Softmax over the survivors (sorted, descending).
  const float mx = cand_[0].first;
  double sum = 0.0;
  std::vector<double> prob(n);
  for (size_t i = 0; i < n; i++) sum += prob[i] = std::exp(static_cast<double>(cand_[i].first - mx));
  for (double& q : prob) q /= sum;
  if (p_.top_p < 1.0f) {  // smallest prefix with mass >= top_p (at least one token)
    double acc = 0.0;
    size_t keep = n;
    for (size_t i = 0; i < n; i++) {
      acc += prob[i];
      if (acc >= p_.top_p) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
  }
  if (p_.min_p > 0.0f) {
    size_t keep = 1;
    while (keep < n && prob[keep] >= p_.min_p * prob[0]) keep++;
    n = keep;
  }
  double total = 0.0;
  for (size_t i = 0; i < n; i++) total += prob[i];
  double u = std::uniform_real_distribution<double>(0.0, total)(rng_);
  for (size_t i = 0; i < n; i++) {
    u -= prob[i];
    if (u <= 0.0) return cand_[i].second;
  }
  return cand_[n - 1].second;
}

}  // namespace loam

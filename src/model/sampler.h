// Next-token sampling over one row of logits, in Hugging Face's order:
// repetition penalty, temperature, top-k, top-p, min-p, then a draw.
// temperature <= 0 means greedy (argmax after the repetition penalty).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace loam {

struct SamplingParams {
  float temperature = 0.0f;        // 0 = greedy
  int top_k = 0;                   // 0 = off
  float top_p = 1.0f;              // 1 = off
  float min_p = 0.0f;              // 0 = off; keep tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f; // 1 = off; HF/CTRL: logit/θ if > 0 else logit·θ, over seen tokens
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& p);
  // logits (n_vocab) may be modified. history: the prompt and tokens so far.
  int32_t sample(float* logits, int64_t n_vocab, const std::vector<int32_t>& history);

 private:
  SamplingParams p_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> cand_;
};

}  // namespace loam

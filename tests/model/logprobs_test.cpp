// Log-probabilities against the PyTorch reference logits; the weighted
// backward against finite differences; a batch mixing adapters (and rows with
// none) against each sequence run alone, forward and backward.
#include "model/logprobs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/dtype.h"
#include "model/lora.h"
#include "model/reference_case.h"
#include "model/transformer_train.h"

namespace loam {
namespace {

// log_softmax(z)[target] in double.
double log_softmax_at(const float* z, int64_t V, int32_t target) {
  double mx = z[0];
  for (int64_t v = 1; v < V; v++) mx = std::max(mx, static_cast<double>(z[v]));
  double sum = 0.0;
  for (int64_t v = 0; v < V; v++) sum += std::exp(z[v] - mx);
  return z[target] - mx - std::log(sum);
}

class ReferenceLogprobs : public ::testing::TestWithParam<std::string> {};

// logp of every scored row equals log_softmax of PyTorch's logits at the target.
TEST_P(ReferenceLogprobs, MatchPyTorchLogSoftmax) {
  const std::string dir = test::model_case_dir(GetParam());
  Model m = model_load(dir);
  SafetensorsFile ref = SafetensorsFile::open(dir + "/reference.safetensors");
  const TrainBatch tb = test::reference_train_batch(ref);
  const int64_t V = m.config.vocab;
  std::unique_ptr<LoraAdapter> lora;
  if (ref.find("logits_lora")) lora = std::make_unique<LoraAdapter>(lora_load(dir + "/adapter", m.config));
  std::vector<const LoraAdapter*> runs{nullptr};
  if (lora) runs.push_back(lora.get());
  for (const LoraAdapter* a : runs) {
    const std::vector<float> want = test::tensor_f32(test::ref_tensor(ref, a ? "logits_lora" : "logits"));
    ASSERT_EQ(want.size(), static_cast<size_t>(tb.size() * V));
    ForwardWorkspace ws;
    const Logprobs lp = model_logprobs(m, AdapterList{a}, forward_batch_of(tb, a ? 0 : kNoAdapter), tb.targets.data(),
                                       ForwardOptions{}, ws);
    double worst = 0.0;
    int64_t scored = 0;
    std::vector<double> seq(lp.seq_sum.size(), 0.0);
    for (int64_t i = 0; i < tb.size(); i++) {
      if (tb.targets[i] == kIgnoreIndex) {
        EXPECT_EQ(lp.logp[i], 0.0);
        continue;
      }
      const double w = log_softmax_at(want.data() + i * V, V, tb.targets[i]);
      worst = std::max(worst, std::fabs(lp.logp[i] - w));
      seq[lp.seq_of_row[i]] += w;
      scored++;
    }
    EXPECT_EQ(lp.n_scored, scored);
    EXPECT_LE(worst, 1e-4) << GetParam() << (a ? " (LoRA)" : "") << " maxdiff " << worst;
    for (size_t s = 0; s < seq.size(); s++) EXPECT_NEAR(lp.seq_sum[s], seq[s], 1e-3) << GetParam() << " sequence " << s;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ReferenceLogprobs, ::testing::ValuesIn(test::model_case_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// Σ w·logp in double for the batch under `lora`.
double weighted_sum(const Model& m, const LoraAdapter& lora, const ForwardBatch& b, const std::vector<int32_t>& targets,
                    const std::vector<float>& w) {
  ForwardWorkspace ws;
  const Logprobs lp = model_logprobs(m, AdapterList{&lora}, b, targets.data(), ForwardOptions{}, ws);
  double f = 0.0;
  for (size_t i = 0; i < w.size(); i++) f += w[i] * lp.logp[i];
  return f;
}

// Two short sequences with random targets (some unscored) and random weights of either sign.
struct WeightedCase {
  TrainBatch tb;
  std::vector<float> w;
};

WeightedCase weighted_case(const Model& m, uint64_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(m.config.vocab - 1));
  std::uniform_real_distribution<float> wd(-1.0f, 1.0f);
  WeightedCase c;
  for (int len : {9, 6}) {
    std::vector<int32_t> ids(len), targets(len);
    for (int i = 0; i < len; i++) ids[i] = tok(rng), targets[i] = i < 2 ? kIgnoreIndex : tok(rng);
    c.tb.append(ids, targets);
  }
  for (int64_t i = 0; i < c.tb.size(); i++) c.w.push_back(c.tb.targets[i] == kIgnoreIndex ? 0.0f : wd(rng));
  return c;
}

class WeightedBackward : public ::testing::TestWithParam<std::string> {};

// ∂(Σ w·logp)/∂θ from model_logprobs_backward equals central differences,
// for the largest-gradient entry of A and of B of every target in the first
// and last layer; the head recomputed in the backward equals the fused one.
TEST_P(WeightedBackward, MatchesFiniteDifferences) {
  const std::string dir = test::model_case_dir(GetParam());
  Model m = model_load(dir);
  LoraAdapter lora = lora_load(dir + "/adapter", m.config);
  const WeightedCase wc = weighted_case(m, 7);
  const ForwardBatch b = forward_batch_of(wc.tb, 0);
  const ForwardOptions opt{true, false, 0.0f, 0};
  LoraAdapter g = lora_zeros_like(lora), g_fused = lora_zeros_like(lora);
  ForwardWorkspace ws;
  model_logprobs(m, AdapterList{&lora}, b, wc.tb.targets.data(), opt, ws);
  model_logprobs_backward(m, AdapterList{&lora}, GradList{&g}, b, wc.tb.targets.data(), wc.w.data(), opt, ws);
  model_logprobs(m, AdapterList{&lora}, b, wc.tb.targets.data(), opt, ws, wc.w.data());
  model_logprobs_backward(m, AdapterList{&lora}, GradList{&g_fused}, b, wc.tb.targets.data(), nullptr, opt, ws);
  int checked = 0;
  for (int l : {0, m.config.n_layers - 1})
    for (int t = 0; t < kLoraTargets; t++) {
      LoraMatrix& lm = lora.layers[l][t];
      if (!lm.active()) continue;
      for (int which = 0; which < 2; which++) {
        std::vector<float>& p = which ? lm.b : lm.a;
        const std::vector<float>& gp = which ? g.layers[l][t].b : g.layers[l][t].a;
        const std::vector<float>& gf = which ? g_fused.layers[l][t].b : g_fused.layers[l][t].a;
        for (size_t i = 0; i < gp.size(); i++) EXPECT_NEAR(gp[i], gf[i], 1e-5 + 1e-4 * std::fabs(gp[i]));
        size_t at = 0;
        for (size_t i = 1; i < gp.size(); i++)
          if (std::fabs(gp[i]) > std::fabs(gp[at])) at = i;
        const float keep = p[at], eps = 2e-3f;
        p[at] = keep + eps;
        const double fp = weighted_sum(m, lora, b, wc.tb.targets, wc.w);
        p[at] = keep - eps;
        const double fm = weighted_sum(m, lora, b, wc.tb.targets, wc.w);
        p[at] = keep;
        const double fd = (fp - fm) / (2.0 * eps);
        EXPECT_NEAR(gp[at], fd, 2e-3 + 2e-2 * std::fabs(fd))
            << GetParam() << " layer " << l << " target " << t << (which ? " B" : " A") << "[" << at << "]";
        checked++;
      }
    }
  EXPECT_GT(checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Cases, WeightedBackward, ::testing::Values("llama", "gemma2", "qwen3"));

// A second adapter for the same model, with nonzero B.
LoraAdapter other_adapter(const Model& m, const LoraAdapter& like, uint64_t seed) {
  LoraConfig lc = like.config;
  lc.rank = 4;
  lc.alpha = 8.0f;
  LoraAdapter a = lora_init(m.config, lc, seed);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.05f);
  for (auto& layer : a.layers)
    for (LoraMatrix& lm : layer)
      for (float& x : lm.b) x = nd(rng);
  return a;
}

// Sequences on adapter A, on none, and on adapter B (ranks 8 and 4) in one
// packed batch give each sequence's log-probs and each adapter's gradients
// as when run alone.
TEST(MixedAdapters, BatchEqualsEachAlone) {
  Model m = model_load(test::model_case_dir("llama"));
  const LoraAdapter a = lora_load(test::model_case_dir("llama") + "/adapter", m.config);
  const LoraAdapter b = other_adapter(m, a, 3);
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> tok(0, 255);
  std::uniform_real_distribution<float> wd(-1.0f, 1.0f);
  const int32_t slots[] = {0, kNoAdapter, 1, 0};
  const AdapterList adapters{&a, &b};
  ForwardBatch mixed;
  std::vector<int32_t> targets;
  std::vector<float> w;
  std::vector<ForwardBatch> alone(4);
  std::vector<std::vector<int32_t>> alone_targets(4);
  std::vector<std::vector<float>> alone_w(4);
  for (int s = 0; s < 4; s++) {
    const int len = 5 + 3 * s;
    std::vector<int32_t> ids(len);
    for (int& x : ids) x = tok(rng);
    mixed.add_sequence(ids.data(), len, 0, static_cast<int32_t>(mixed.size()), slots[s]);
    alone[s].add_sequence(ids.data(), len, 0, 0, slots[s] == kNoAdapter ? kNoAdapter : 0);
    for (int i = 0; i < len; i++) {
      const int32_t t = tok(rng);
      const float wi = wd(rng);
      targets.push_back(t), w.push_back(wi);
      alone_targets[s].push_back(t), alone_w[s].push_back(wi);
    }
  }
  const ForwardOptions opt{true, false, 0.0f, 0};
  ForwardWorkspace ws;
  LoraAdapter ga = lora_zeros_like(a), gb = lora_zeros_like(b);
  const Logprobs lp = model_logprobs(m, adapters, mixed, targets.data(), opt, ws, w.data());
  model_logprobs_backward(m, adapters, GradList{&ga, &gb}, mixed, targets.data(), nullptr, opt, ws);

  LoraAdapter ga1 = lora_zeros_like(a), gb1 = lora_zeros_like(b);
  int64_t row = 0;
  for (int s = 0; s < 4; s++) {
    const LoraAdapter* ad = slots[s] == 0 ? &a : slots[s] == 1 ? &b : nullptr;
    LoraAdapter* gd = slots[s] == 0 ? &ga1 : slots[s] == 1 ? &gb1 : nullptr;
    ForwardWorkspace ws1;
    const Logprobs l1 = model_logprobs(m, AdapterList{ad}, alone[s], alone_targets[s].data(), opt, ws1, alone_w[s].data());
    if (gd) model_logprobs_backward(m, AdapterList{ad}, GradList{gd}, alone[s], alone_targets[s].data(), nullptr, opt, ws1);
    for (int64_t i = 0; i < alone[s].size(); i++, row++)
      EXPECT_NEAR(lp.logp[row], l1.logp[i], 1e-5) << "sequence " << s << " row " << i;
    EXPECT_NEAR(lp.seq_sum[s], l1.seq_sum[0], 1e-4);
  }
  auto expect_same = [](const LoraAdapter& x, const LoraAdapter& y, const char* name) {
    double worst = 0.0, scale = 0.0;
    for (size_t l = 0; l < x.layers.size(); l++)
      for (int t = 0; t < kLoraTargets; t++)
        for (int which = 0; which < 2; which++) {
          const auto& p = which ? x.layers[l][t].b : x.layers[l][t].a;
          const auto& q = which ? y.layers[l][t].b : y.layers[l][t].a;
          for (size_t i = 0; i < p.size(); i++) {
            worst = std::max(worst, std::fabs(static_cast<double>(p[i]) - q[i]));
            scale = std::max(scale, std::fabs(static_cast<double>(q[i])));
          }
        }
    EXPECT_GT(scale, 0.0) << name;
    EXPECT_LE(worst, 1e-5 * std::max(1.0, scale)) << name << " maxdiff " << worst;
  };
  expect_same(ga, ga1, "adapter A");
  expect_same(gb, gb1, "adapter B");
}

// A decode-sized batch (<= 16 rows) that saves nothing takes the fused path
// (each LoRA term added inside the pass over the weights, matmul.h
// LowRankAdd); the training forward, which saves, takes the per-term path.
// Both give the same log-probs for sequences on two adapters and on none, on
// a model with biases (qwen2) and one without, and B transposed in advance
// (lora_prepare_decode, what serving does) gives the same again.
TEST(MixedAdapters, DecodeBatchFusedEqualsPerTermPath) {
  for (const char* arch : {"llama", "qwen2"}) {
    Model m = model_load(test::model_case_dir(arch));
    LoraAdapter a = lora_load(test::model_case_dir(arch) + "/adapter", m.config);
    LoraAdapter b = other_adapter(m, a, 5);
    std::mt19937 rng(13);
    std::uniform_int_distribution<int32_t> tok(0, 255);
    ForwardBatch batch;
    std::vector<int32_t> targets;
    const int32_t slots[] = {0, kNoAdapter, 1};
    for (int s = 0; s < 3; s++) {
      std::vector<int32_t> ids(4 + s);
      for (int& x : ids) x = tok(rng);
      batch.add_sequence(ids.data(), static_cast<int64_t>(ids.size()), 0, static_cast<int32_t>(batch.size()), slots[s]);
      for (size_t i = 0; i < ids.size(); i++) targets.push_back(tok(rng));
    }
    ASSERT_LE(batch.size(), 16);
    ForwardWorkspace ws1, ws2, ws3;
    const Logprobs per_term = model_logprobs(m, AdapterList{&a, &b}, batch, targets.data(), ForwardOptions{true}, ws1);
    const Logprobs fused = model_logprobs(m, AdapterList{&a, &b}, batch, targets.data(), ForwardOptions{}, ws2);
    lora_prepare_decode(a);
    lora_prepare_decode(b);
    const Logprobs prepared = model_logprobs(m, AdapterList{&a, &b}, batch, targets.data(), ForwardOptions{}, ws3);
    double moved = 0.0;  // the adapters do change the answer
    ForwardWorkspace ws4;
    const Logprobs bare = model_logprobs(m, AdapterList{nullptr, nullptr}, batch, targets.data(), ForwardOptions{}, ws4);
    for (int64_t i = 0; i < batch.size(); i++) {
      EXPECT_NEAR(fused.logp[i], per_term.logp[i], 1e-5) << arch << " row " << i;
      EXPECT_NEAR(prepared.logp[i], fused.logp[i], 1e-6) << arch << " row " << i;
      moved = std::max(moved, std::fabs(per_term.logp[i] - bare.logp[i]));
    }
    EXPECT_GT(moved, 1e-3) << arch;

    // With bf16 copies (serving under --precision bf16), the fused path reads
    // them: the same as the fp32 path on factors rounded to bf16 beforehand.
    auto rounded = [](LoraAdapter x) {
      for (auto& layer : x.layers)
        for (LoraMatrix& mm : layer) {
          for (float& v : mm.a) v = bf16_to_f32(f32_to_bf16(v));
          for (float& v : mm.b) v = bf16_to_f32(f32_to_bf16(v));
        }
      lora_prepare_decode(x);
      return x;
    };
    const LoraAdapter ar = rounded(a), br = rounded(b);
    lora_prepare_decode(a, /*bf16=*/true);
    lora_prepare_decode(b, /*bf16=*/true);
    ForwardWorkspace ws5, ws6;
    const Logprobs halves = model_logprobs(m, AdapterList{&a, &b}, batch, targets.data(), ForwardOptions{}, ws5);
    const Logprobs want = model_logprobs(m, AdapterList{&ar, &br}, batch, targets.data(), ForwardOptions{}, ws6);
    double rounding = 0.0;  // what the rounding moves, so the comparison can tell the paths apart
    for (int64_t i = 0; i < batch.size(); i++) {
      EXPECT_NEAR(halves.logp[i], want.logp[i], 1e-6) << arch << " row " << i;
      rounding = std::max(rounding, std::fabs(want.logp[i] - prepared.logp[i]));
    }
    EXPECT_GT(rounding, 1e-5) << arch;
  }
}

// SFT's step is the weighting w = −grad_scale: the wrapper's loss and
// gradients equal the log-probability calls made directly.
TEST(CrossEntropy, IsOneWeighting) {
  Model m = model_load(test::model_case_dir("llama"));
  const LoraAdapter a = lora_load(test::model_case_dir("llama") + "/adapter", m.config);
  const WeightedCase wc = weighted_case(m, 5);
  int64_t scored = 0;
  for (int32_t t : wc.tb.targets) scored += t != kIgnoreIndex;
  const float gs = 1.0f / static_cast<float>(scored);
  LoraAdapter g1 = lora_zeros_like(a), g2 = lora_zeros_like(a);
  const LossStats st = model_train_step(m, a, g1, wc.tb, gs, TrainStepOptions{});
  std::vector<float> w(wc.tb.size());
  for (int64_t i = 0; i < wc.tb.size(); i++) w[i] = wc.tb.targets[i] == kIgnoreIndex ? 0.0f : -gs;
  const ForwardBatch b = forward_batch_of(wc.tb, 0);
  const ForwardOptions opt{true, false, 0.0f, 0};
  ForwardWorkspace ws;
  const Logprobs lp = model_logprobs(m, AdapterList{&a}, b, wc.tb.targets.data(), opt, ws);
  model_logprobs_backward(m, AdapterList{&a}, GradList{&g2}, b, wc.tb.targets.data(), w.data(), opt, ws);
  double sum = 0.0;
  for (double x : lp.logp) sum += x;
  EXPECT_NEAR(st.loss_sum, -sum, 1e-6 * std::fabs(sum));
  EXPECT_EQ(st.n_scored, scored);
  for (size_t l = 0; l < a.layers.size(); l++)
    for (int t = 0; t < kLoraTargets; t++)
      for (size_t i = 0; i < g1.layers[l][t].a.size(); i++)
        EXPECT_NEAR(g1.layers[l][t].a[i], g2.layers[l][t].a[i], 1e-7 + 1e-5 * std::fabs(g2.layers[l][t].a[i]));
}

}  // namespace
}  // namespace loam

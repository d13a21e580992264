// AdamW steps against torch.optim.AdamW in the PyTorch reference: the
// adapter after 1 and 3 steps on the same batch (tests/data/models/*).
#include "train/optimizer.h"

#include <gtest/gtest.h>

#include "../model/reference_case.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/transformer_train.h"
#include "train/schedule.h"

namespace loam {
namespace {


// Largest |ours - reference| over all adapter tensors after a step, ignoring
// entries whose reference gradient is ill-conditioned (|g| < 1e-6), where
// Adam's normalized step may flip sign (reference.json documents them).
double adapter_diff(const LoraAdapter& a, const SafetensorsFile& ref, const std::string& prefix) {
  double worst = 0;
  for (size_t l = 0; l < a.layers.size(); l++)
    for (int t = 0; t < kLoraTargets; t++) {
      const LoraMatrix& m = a.layers[l][t];
      if (!m.active()) continue;
      for (char which : {'A', 'B'}) {
        const std::string name = lora_tensor_name(static_cast<int>(l), static_cast<LoraTarget>(t), which);
        auto want = test::tensor_f32(test::ref_tensor(ref, prefix + name));
        auto grad = test::tensor_f32(test::ref_tensor(ref, "grad." + name));
        const auto& got = which == 'A' ? m.a : m.b;
        for (size_t i = 0; i < want.size(); i++)
          if (std::fabs(grad[i]) >= 1e-6) worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
      }
    }
  return worst;
}

struct AdamCase {
  const char* prefix;  // "" or "adamw_wd."
  float weight_decay;
  double max_norm;
};

class AdamWReference : public ::testing::TestWithParam<std::tuple<std::string, AdamCase>> {};

TEST_P(AdamWReference, ThreeStepsMatchTorch) {
  const auto& [name, ac] = GetParam();
  const std::string dir = test::model_case_dir(name);
  SafetensorsFile ref = SafetensorsFile::open(dir + "/reference.safetensors");
  Model m = model_load(dir);
  LoraAdapter lora = lora_load(dir + "/adapter", m.config);
  TrainBatch batch = test::reference_train_batch(ref);
  int64_t scored = 0;
  for (int32_t t : batch.targets) scored += t != kIgnoreIndex;
  AdamWState st = adamw_init(lora);
  const AdamWConfig cfg{0.9f, 0.999f, 1e-8f, ac.weight_decay};
  auto losses = test::tensor_f32(test::ref_tensor(ref, std::string(ac.prefix) + "losses"));
  for (int step = 1; step <= 3; step++) {
    LoraAdapter grads = lora_zeros_like(lora);
    LossStats ls = model_train_step(m, lora, grads, batch, 1.0f / scored, TrainStepOptions{});
    EXPECT_NEAR(ls.loss_sum / scored, losses[step - 1], 2e-5) << name << " step " << step;
    grad_clip(grads, ac.max_norm);
    adamw_step(lora, grads, st, cfg, 1e-3f);
    if (step == 1 || step == 3) {
      double d = adapter_diff(lora, ref, std::string(ac.prefix) + "step" + std::to_string(step) + ".");
      EXPECT_LE(d, 1e-5) << name << " " << ac.prefix << "step" << step << " maxdiff " << d;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, AdamWReference,
                         ::testing::Combine(::testing::Values("llama", "qwen3", "gemma2", "mistral"),
                                            ::testing::Values(AdamCase{"", 0.0f, 0.0}, AdamCase{"adamw_wd.", 0.01f, 1.0})));

TEST(Schedule, WarmupThenCosineLikeTransformers) {
  EXPECT_DOUBLE_EQ(lr_multiplier(LrSchedule::Cosine, 0, 100, 10), 0.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(LrSchedule::Cosine, 5, 100, 10), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(LrSchedule::Cosine, 10, 100, 10), 1.0);
  EXPECT_NEAR(lr_multiplier(LrSchedule::Cosine, 55, 100, 10), 0.5, 1e-12);
  EXPECT_NEAR(lr_multiplier(LrSchedule::Linear, 55, 100, 10), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(lr_multiplier(LrSchedule::Constant, 99, 100, 10), 1.0);
}

TEST(GradClip, ScalesToMaxNorm) {
  LoraAdapter g;
  g.layers.resize(1);
  g.layers[0][0].in = 2;
  g.layers[0][0].a = {3.0f, 0.0f};
  g.layers[0][0].b = {4.0f};
  EXPECT_NEAR(grad_clip(g, 1.0), 5.0, 1e-9);
  EXPECT_NEAR(grad_global_norm(g), 1.0, 1e-5);
  EXPECT_NEAR(grad_clip(g, 0.0), 1.0, 1e-5);  // 0 disables clipping
}

}  // namespace
}  // namespace loam

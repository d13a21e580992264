// LoRA gradients of every supported architecture against the independent
// PyTorch reference (float64 autograd), and training invariants.
#include "model/transformer_train.h"

#include <gtest/gtest.h>

#include <optional>

#include "kernels/denormals.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/reference_case.h"

namespace loam {
namespace {

// The reference batch as a packed TrainBatch: logits[b,t] predicts labels[b,t+1].

class ReferenceGrads : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceGrads, LossAndLoraGradientsMatchPyTorch) {
  const std::string dir = test::model_case_dir(GetParam());
  SafetensorsFile ref = SafetensorsFile::open(dir + "/reference.safetensors");
  if (!ref.find("loss")) GTEST_FAIL() << "reference has no loss";
  Model m = model_load(dir);
  LoraAdapter lora = lora_load(dir + "/adapter", m.config);
  TrainBatch batch = test::reference_train_batch(ref);
  int64_t scored = 0;
  for (int32_t t : batch.targets) scored += t != kIgnoreIndex;
  // Also with denormals flushed on every kernel thread, as the training loop
  // runs (kernels/denormals.h): the reference still holds.
  for (int run = 0; run < 3; run++) {
    const bool checkpointing = run == 1;
    std::optional<DenormalsFlush> flush;
    if (run == 2) flush.emplace();
    LoraAdapter grads = lora_zeros_like(lora);
    TrainStepOptions opt;
    opt.gradient_checkpointing = checkpointing;
    LossStats st = model_train_step(m, lora, grads, batch, 1.0f / static_cast<float>(scored), opt);
    ASSERT_EQ(st.n_scored, scored);
    const double want_loss = test::tensor_f32(test::ref_tensor(ref, "loss"))[0];
    EXPECT_NEAR(st.loss_sum / st.n_scored, want_loss, 1e-5) << GetParam();
    for (size_t l = 0; l < grads.layers.size(); l++)
      for (int t = 0; t < kLoraTargets; t++) {
        const LoraMatrix& g = grads.layers[l][t];
        if (!g.active()) continue;
        for (char which : {'A', 'B'}) {
          const std::string name = lora_tensor_name(lora.names, static_cast<int>(l), static_cast<LoraTarget>(t), which);
          auto want = test::tensor_f32(test::ref_tensor(ref, "grad." + name));
          const auto& got = which == 'A' ? g.a : g.b;
          ASSERT_EQ(got.size(), want.size()) << name;
          double rel = test::max_abs_diff(got.data(), want.data(), want.size()) / std::max(1e-12, test::max_abs(want));
          EXPECT_LE(rel, 1e-4) << GetParam() << " " << name << " rel maxdiff " << rel
                               << (checkpointing ? " (checkpointing)" : "") << (flush ? " (denormals flushed)" : "");
        }
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ReferenceGrads, ::testing::ValuesIn(test::model_case_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// PEFT invariant: B = 0 gives exactly the base model's loss.
TEST(TrainInvariants, ZeroBGivesBaseLoss) {
  const std::string dir = test::model_case_dir("llama");
  Model m = model_load(dir);
  SafetensorsFile ref = SafetensorsFile::open(dir + "/reference.safetensors");
  LoraConfig lc;
  lc.rank = 4;
  LoraAdapter lora = lora_init(m.config, lc, 7);
  TrainBatch batch = test::reference_train_batch(ref);
  LossStats with = model_eval_loss(m, &lora, batch), without = model_eval_loss(m, nullptr, batch);
  EXPECT_EQ(with.loss_sum, without.loss_sum);
  EXPECT_EQ(with.n_correct, without.n_correct);
}

// Packing two sequences must give each the loss it has alone: no attention or
// position leakage between packed examples.
TEST(TrainInvariants, PackingDoesNotLeak) {
  const std::string dir = test::model_case_dir("mistral");
  Model m = model_load(dir);
  std::vector<int32_t> a = {5, 9, 13, 2, 7, 11, 3, 1, 4, 8}, b = {6, 10, 12, 14, 15, 16, 17};
  auto targets_of = [](const std::vector<int32_t>& s) {
    std::vector<int32_t> t(s.size(), kIgnoreIndex);
    for (size_t i = 0; i + 1 < s.size(); i++) t[i] = s[i + 1];
    return t;
  };
  TrainBatch ba, bb, both;
  ba.append(a, targets_of(a));
  bb.append(b, targets_of(b));
  both.append(a, targets_of(a));
  both.append(b, targets_of(b));
  LossStats la = model_eval_loss(m, nullptr, ba), lb = model_eval_loss(m, nullptr, bb), lab = model_eval_loss(m, nullptr, both);
  EXPECT_NEAR(lab.loss_sum, la.loss_sum + lb.loss_sum, 1e-4);
  EXPECT_EQ(lab.n_scored, la.n_scored + lb.n_scored);
}

}  // namespace
}  // namespace loam

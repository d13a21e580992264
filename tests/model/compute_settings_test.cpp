// Precision and threads belong to a loaded model: two models with different
// settings run in one process, alternately and at once on two threads, each
// giving exactly what it gives alone, and the caller's thread settings stay.
#include <gtest/gtest.h>

#include <thread>

#include "kernels/compute_scope.h"
#include "kernels/threading.h"
#include "model/reference_case.h"
#include "model/transformer.h"

namespace loam {
namespace {

std::vector<float> prefill_logits(const Model& m, const std::vector<int32_t>& ids) {
  const int64_t T = static_cast<int64_t>(ids.size());
  KvCache cache(m.config, T);
  std::vector<float> logits(static_cast<size_t>(T * m.config.vocab));
  model_forward(m, nullptr, cache, ids.data(), T, logits.data(), T);
  return logits;
}

TEST(ComputeSettings, TwoModelsCoexist) {
  const std::string dir = test::model_case_dir("llama");
  Model exact = model_load(dir);
  exact.compute = {MatmulPrecision::Exact, 1};
  Model bf16 = model_load(dir);
  model_matrices_to_bf16(bf16);
  bf16.compute = {MatmulPrecision::Bf16, 2};
  std::vector<int32_t> ids(24);
  for (size_t i = 0; i < ids.size(); i++) ids[i] = static_cast<int32_t>((i * 37 + 5) % 256);

  const ComputeSettings before = compute_settings();
  const std::vector<float> want_exact = prefill_logits(exact, ids), want_bf16 = prefill_logits(bf16, ids);
  EXPECT_EQ(compute_settings().precision, before.precision);
  EXPECT_EQ(compute_settings().threads, before.threads);
  // The same BF16 weights in Exact mode give other logits: the setting is in effect.
  Model bf16_exact = model_load(dir);
  model_matrices_to_bf16(bf16_exact);
  EXPECT_NE(prefill_logits(bf16_exact, ids), want_bf16);

  for (int round = 0; round < 3; round++) {  // alternately on one thread
    EXPECT_EQ(prefill_logits(bf16, ids), want_bf16);
    EXPECT_EQ(prefill_logits(exact, ids), want_exact);
  }
  int bad_exact = 0, bad_bf16 = 0;
  std::thread t1([&] {
    for (int i = 0; i < 20; i++) bad_exact += prefill_logits(exact, ids) != want_exact;
  });
  std::thread t2([&] {
    for (int i = 0; i < 20; i++) bad_bf16 += prefill_logits(bf16, ids) != want_bf16;
  });
  t1.join();
  t2.join();
  EXPECT_EQ(bad_exact, 0);
  EXPECT_EQ(bad_bf16, 0);
}

TEST(ComputeSettings, ScopeRestores) {
  kernels_set_threads(7);
  matmul_set_precision(MatmulPrecision::Exact);
  {
    const ComputeScope s({MatmulPrecision::Bf16, 1});
    EXPECT_EQ(kernels_threads(), 1);
    EXPECT_EQ(matmul_precision(), MatmulPrecision::Bf16);
    {
      const ComputeScope inner({MatmulPrecision::Exact, 2});
      EXPECT_EQ(kernels_threads(), 2);
      EXPECT_EQ(matmul_precision(), MatmulPrecision::Exact);
    }
    EXPECT_EQ(kernels_threads(), 1);
  }
  EXPECT_EQ(kernels_threads(), 7);
  EXPECT_EQ(matmul_precision(), MatmulPrecision::Exact);
  int other = 0;
  std::thread([&] { other = kernels_threads(); }).join();  // another thread keeps its own (default)
  EXPECT_NE(other, 7);
  kernels_set_threads(0);
}

}  // namespace
}  // namespace loam

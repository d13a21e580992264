// Logits of every supported architecture against the independent PyTorch
// reference (tests/data/models, made by tools/make_model_refs.py).
#include "model/transformer.h"

#include <gtest/gtest.h>

#include "model/kv_cache.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/reference_case.h"

namespace loam {
namespace {

class ReferenceLogits : public ::testing::TestWithParam<std::string> {};

// Runs row b of input_ids through the model: prefill `split` tokens, then the
// rest one at a time; returns (T, V) logits.
std::vector<float> run_row(const Model& m, const LoraAdapter* lora, const std::vector<int64_t>& ids, int64_t b,
                           int64_t T, int64_t split) {
  const int64_t V = m.config.vocab;
  std::vector<int32_t> row(T);
  for (int64_t t = 0; t < T; t++) row[t] = static_cast<int32_t>(ids[b * T + t]);
  KvCache cache(m.config, T);
  std::vector<float> logits(T * V);
  model_forward(m, lora, cache, row.data(), split, logits.data(), split);
  for (int64_t t = split; t < T; t++) model_forward(m, lora, cache, &row[t], 1, logits.data() + t * V, 1);
  return logits;
}

TEST_P(ReferenceLogits, MatchPyTorch) {
  const std::string dir = test::model_case_dir(GetParam());
  Model m = model_load(dir);
  SafetensorsFile ref = SafetensorsFile::open(dir + "/reference.safetensors");
  const TensorRef& ids_t = test::ref_tensor(ref, "input_ids");
  const int64_t B = ids_t.shape[0], T = ids_t.shape[1], V = m.config.vocab;
  auto ids = test::tensor_i64(ids_t);
  auto want = test::tensor_f32(test::ref_tensor(ref, "logits"));
  ASSERT_EQ(want.size(), static_cast<size_t>(B * T * V));
  for (int64_t b = 0; b < B; b++) {
    // Whole-prompt prefill, and prefill of half followed by token-by-token decode.
    for (int64_t split : {T, T / 2}) {
      auto got = run_row(m, nullptr, ids, b, T, split);
      double d = test::max_abs_diff(got.data(), want.data() + b * T * V, T * V);
      EXPECT_LE(d, 1e-4) << GetParam() << " row " << b << " split " << split << " maxdiff " << d;
    }
  }
  if (const TensorRef* lt = ref.find("logits_lora")) {
    LoraAdapter lora = lora_load(dir + "/adapter", m.config);
    auto want_l = test::tensor_f32(*lt);
    for (int64_t b = 0; b < B; b++) {
      auto got = run_row(m, &lora, ids, b, T, T);
      double d = test::max_abs_diff(got.data(), want_l.data() + b * T * V, T * V);
      EXPECT_LE(d, 1e-4) << GetParam() << " (LoRA) row " << b << " maxdiff " << d;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ReferenceLogits, ::testing::ValuesIn(test::model_case_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(ReferenceCases, AllArchitecturesPresent) {
  auto names = test::model_case_names();
  for (const char* want : {"llama", "llama3", "tied", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3",
                           "gemma3-mm", "bf16"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << "missing reference case " << want;
}

}  // namespace
}  // namespace loam

namespace loam {
namespace {

// A sharded checkpoint (model.safetensors.index.json) gives the same logits.
TEST(ShardedCheckpoint, SameLogitsAsSingleFile) {
  Model single = model_load(test::model_case_dir("llama"));
  Model sharded = model_load(test::model_case_dir("llama-sharded"));
  std::vector<int32_t> ids = {1, 5, 9, 200, 17};
  const int64_t T = 5, V = single.config.vocab;
  std::vector<float> a(T * V), b(T * V);
  KvCache ca(single.config, T), cb(sharded.config, T);
  model_forward(single, nullptr, ca, ids.data(), T, a.data(), T);
  model_forward(sharded, nullptr, cb, ids.data(), T, b.data(), T);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace loam

namespace loam {
namespace {

// BF16 re-storage of fp32 matrices: every matrix becomes BF16 and logits stay
// within bf16 rounding of the fp32 reference (documented bound 2e-2 here).
TEST(MatricesToBf16, LogitsStayCloseToReference) {
  const std::string dir = test::model_case_dir("llama");
  Model m = model_load(dir);
  model_matrices_to_bf16(m);
  EXPECT_EQ(m.weights.layers[0].wq.dtype, DType::BF16);
  EXPECT_EQ(m.weights.lm_head.dtype, DType::BF16);
  SafetensorsFile ref = SafetensorsFile::open(dir + "/reference.safetensors");
  auto ids = test::tensor_i64(test::ref_tensor(ref, "input_ids"));
  auto want = test::tensor_f32(test::ref_tensor(ref, "logits"));
  const int64_t T = test::ref_tensor(ref, "input_ids").shape[1], V = m.config.vocab;
  std::vector<int32_t> row(ids.begin(), ids.begin() + T);
  KvCache cache(m.config, T);
  std::vector<float> got(T * V);
  model_forward(m, nullptr, cache, row.data(), T, got.data(), T);
  const double d = test::max_abs_diff(got.data(), want.data(), T * V);
  EXPECT_LE(d, 2e-2) << d;
  EXPECT_GT(d, 0.0);  // it really is a different (rounded) model
}

}  // namespace
}  // namespace loam

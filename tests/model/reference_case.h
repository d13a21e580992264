// Access to the PyTorch reference cases in tests/data/models/<case>/ written
// by tools/make_model_refs.py (see tests/data/models/README.md).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "formats/safetensors.h"
#include "formats/tensor_ref.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/transformer.h"
#include "model/transformer_train.h"

namespace loam::test {

inline std::string model_case_dir(const std::string& name) {
  return std::string(LOAM_TEST_DATA) + "/models/" + name;
}

inline std::vector<std::string> model_case_names() {
  std::vector<std::string> names;
  const std::string root = std::string(LOAM_TEST_DATA) + "/models";
  if (!std::filesystem::exists(root)) return names;
  for (const auto& e : std::filesystem::directory_iterator(root))
    if (e.is_directory() && std::filesystem::exists(e.path() / "reference.safetensors"))
      names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

inline std::vector<float> tensor_f32(const TensorRef& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  if (t.dtype == DType::F32) {
    std::memcpy(v.data(), t.data, v.size() * 4);
  } else if (t.dtype == DType::F64) {
    for (size_t i = 0; i < v.size(); i++) {
      double d;
      std::memcpy(&d, t.data + 8 * i, 8);
      v[i] = static_cast<float>(d);
    }
  } else {
    ADD_FAILURE() << t.name << ": expected F32";
  }
  return v;
}

inline std::vector<int64_t> tensor_i64(const TensorRef& t) {
  std::vector<int64_t> v(static_cast<size_t>(t.n_elements()));
  EXPECT_EQ(t.dtype, DType::I64) << t.name;
  std::memcpy(v.data(), t.data, v.size() * 8);
  return v;
}

inline const TensorRef& ref_tensor(const SafetensorsFile& f, const std::string& name) {
  const TensorRef* t = f.find(name);
  if (!t) throw std::runtime_error("reference tensor missing: " + name);
  return *t;
}

inline double max_abs_diff(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

inline double max_abs(const std::vector<float>& a) {
  double m = 0;
  for (float x : a) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

// The reference batch (input_ids, labels) as a packed TrainBatch:
// logits[b,t] predicts labels[b,t+1] (the Hugging Face shift).
inline TrainBatch reference_train_batch(const SafetensorsFile& ref) {
  const TensorRef& ids_t = ref_tensor(ref, "input_ids");
  const int64_t B = ids_t.shape[0], T = ids_t.shape[1];
  auto ids = tensor_i64(ids_t);
  auto labels = tensor_i64(ref_tensor(ref, "labels"));
  TrainBatch batch;
  for (int64_t b = 0; b < B; b++) {
    std::vector<int32_t> row(T), targets(T, kIgnoreIndex);
    for (int64_t t = 0; t < T; t++) row[t] = static_cast<int32_t>(ids[b * T + t]);
    for (int64_t t = 0; t + 1 < T; t++)
      if (labels[b * T + t + 1] != -100) targets[t] = static_cast<int32_t>(labels[b * T + t + 1]);
    batch.append(row, targets);
  }
  return batch;
}

// A fresh, empty directory under the test temp dir.
inline std::string scratch_dir(const std::string& tag) {
  const std::filesystem::path d =
      std::filesystem::path(::testing::TempDir()) / ("loam_" + tag + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

// Largest |logits - reference tensor `name`| ("logits" or "logits_lora") over
// the reference batch, each row prefilled whole.
inline double reference_logits_maxdiff(const Model& m, const LoraAdapter* lora, const SafetensorsFile& ref,
                                       const std::string& name) {
  const TensorRef& ids_t = ref_tensor(ref, "input_ids");
  const int64_t B = ids_t.shape[0], T = ids_t.shape[1], V = m.config.vocab;
  auto ids = tensor_i64(ids_t);
  auto want = tensor_f32(ref_tensor(ref, name));
  if (want.size() != static_cast<size_t>(B * T * V)) throw std::runtime_error(name + ": unexpected size");
  double worst = 0;
  for (int64_t b = 0; b < B; b++) {
    std::vector<int32_t> row(ids.begin() + b * T, ids.begin() + (b + 1) * T);
    KvCache cache(m.config, T);
    std::vector<float> got(T * V);
    model_forward(m, lora, cache, row.data(), T, got.data(), T);
    worst = std::max(worst, max_abs_diff(got.data(), want.data() + b * T * V, T * V));
  }
  return worst;
}

}  // namespace loam::test

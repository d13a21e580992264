// Access to the PyTorch reference cases in tests/data/models/<case>/ written
// by tools/make_model_refs.py (see tests/data/models/README.md).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "formats/safetensors.h"
#include "formats/tensor_ref.h"

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

}  // namespace loam::test
